// Learning-rate schedules, evaluated once per epoch.
//
// The rate for epoch e (counted from 0) is the rate that a torch.optim
// scheduler gives after e calls of scheduler.step(), one at the end of each
// epoch. Every step of epoch e uses that rate. With lr0 the base rate:
//   constant      lr0
//   step          lr0 * gamma^floor(e / step_size)               (torch StepLR)
//   exponential   lr0 * gamma^e                                  (torch ExponentialLR)
//   inverse_time  lr0 / (1 + decay_rate * e)
//   cosine        min_lr + (lr0 - min_lr) * (1 + cos(pi * e / t_max)) / 2  for e <= t_max,
//                 min_lr for e > t_max                           (torch CosineAnnealingLR)
// torch's CosineAnnealingLR rises again after t_max. fastml keeps min_lr there,
// because an estimator that trains past t_max should not speed up again.
#pragma once

#include <cmath>
#include <string>

#include "common.hpp"

namespace fastml {

// A schedule and its parameters. Each schedule reads only its own fields:
// step reads step_size and gamma, exponential reads gamma, inverse_time reads
// decay_rate, and cosine reads t_max and min_learning_rate.
struct ScheduleConfig {
    std::string name = "constant";
    int step_size = 10;
    double gamma = 0.1;
    double decay_rate = 1.0;
    int t_max = 100;
    double min_learning_rate = 0.0;
};

// Throws std::invalid_argument unless `config` names a schedule with valid
// parameters for the base rate `base_rate`.
inline void check_schedule(const ScheduleConfig& config, double base_rate) {
    const char* where = "scheduled_learning_rate";
    if (!(std::isfinite(base_rate) && base_rate > 0)) {
        throw_invalid_argument(where, ": base_rate must be finite and > 0; got ", base_rate);
    }
    const std::string& name = config.name;
    if (name == "constant") return;
    if (name == "step") {
        if (config.step_size < 1) throw_invalid_argument(where, ": step_size must be >= 1; got ", config.step_size);
    }
    if (name == "step" || name == "exponential") {
        if (!(config.gamma > 0 && config.gamma <= 1)) {
            throw_invalid_argument(where, ": gamma must be in (0, 1]; got ", config.gamma);
        }
        return;
    }
    if (name == "inverse_time") {
        if (!(std::isfinite(config.decay_rate) && config.decay_rate >= 0)) {
            throw_invalid_argument(where, ": decay_rate must be finite and >= 0; got ", config.decay_rate);
        }
        return;
    }
    if (name == "cosine") {
        if (config.t_max < 1) throw_invalid_argument(where, ": t_max must be >= 1; got ", config.t_max);
        if (!(config.min_learning_rate >= 0 && config.min_learning_rate <= base_rate)) {
            throw_invalid_argument(where, ": min_learning_rate must be in [0, base_rate = ", base_rate,
                                   "]; got ", config.min_learning_rate);
        }
        return;
    }
    throw_invalid_argument(where, ": unknown schedule '", name,
                           "'; expected one of 'constant', 'step', 'exponential', 'inverse_time', "
                           "'cosine'");
}

// Returns the learning rate of epoch `epoch` (0 for the first epoch).
inline double scheduled_learning_rate(const ScheduleConfig& config, double base_rate, int epoch) {
    check_schedule(config, base_rate);
    if (epoch < 0) throw_invalid_argument("scheduled_learning_rate: epoch must be >= 0; got ", epoch);

    const std::string& name = config.name;
    const double e = epoch;
    if (name == "step") return base_rate * std::pow(config.gamma, double(epoch / config.step_size));
    if (name == "exponential") return base_rate * std::pow(config.gamma, e);
    if (name == "inverse_time") return base_rate / (1.0 + config.decay_rate * e);
    if (name == "cosine") {
        if (epoch >= config.t_max) return config.min_learning_rate;
        const double pi = std::acos(-1.0);
        const double cosine = (1.0 + std::cos(pi * e / config.t_max)) / 2.0;
        return config.min_learning_rate + (base_rate - config.min_learning_rate) * cosine;
    }
    return base_rate;
}

}  // namespace fastml
