// Builds an update rule from its name and hyperparameters.
#pragma once

#include <memory>
#include <string>

#include "adagrad.hpp"
#include "adam.hpp"
#include "adamw.hpp"
#include "momentum.hpp"
#include "nesterov.hpp"
#include "optimizer.hpp"
#include "rmsprop.hpp"
#include "sgd.hpp"

namespace fastml {

// Hyperparameters of every update rule. Each rule reads only its own fields:
//   sgd       momentum, nesterov (as torch.optim.SGD: momentum > 0 selects the
//             heavy-ball rule, nesterov = true the Nesterov rule)
//   momentum  momentum
//   nesterov  momentum
//   adagrad   epsilon, initial_accumulator_value
//   rmsprop   rho, epsilon
//   adam      beta1, beta2, epsilon
//   adamw     beta1, beta2, epsilon, weight_decay
// The first four fields keep their order, because callers build the struct
// by aggregate initialization.
struct OptimizerConfig {
    std::string name = "sgd";
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
    double momentum = 0.0;
    bool nesterov = false;
    double rho = 0.99;
    double weight_decay = 0.01;
    double initial_accumulator_value = 0.0;
};

template <typename T>
std::unique_ptr<Optimizer<T>> make_sgd_family(const OptimizerConfig& config) {
    if (config.nesterov) {
        if (!(config.momentum > 0)) {
            throw_invalid_argument("make_optimizer: nesterov = true requires momentum in (0, 1); got ",
                                   config.momentum);
        }
        return std::make_unique<Nesterov<T>>(config.momentum);
    }
    if (config.momentum == 0) return std::make_unique<SGD<T>>();
    return std::make_unique<Momentum<T>>(config.momentum);
}

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config) {
    const std::string& name = config.name;
    if (name == "sgd") return make_sgd_family<T>(config);
    if (name == "momentum") {
        if (config.nesterov) {
            throw_invalid_argument("make_optimizer: 'momentum' is the heavy-ball rule and takes no "
                                   "nesterov = true; use the name 'nesterov'");
        }
        return std::make_unique<Momentum<T>>(config.momentum);
    }
    if (name == "nesterov") return std::make_unique<Nesterov<T>>(config.momentum);
    if (name == "adagrad") {
        return std::make_unique<AdaGrad<T>>(config.epsilon, config.initial_accumulator_value);
    }
    if (name == "rmsprop") return std::make_unique<RMSprop<T>>(config.rho, config.epsilon);
    if (name == "adam") return std::make_unique<Adam<T>>(config.beta1, config.beta2, config.epsilon);
    if (name == "adamw") {
        return std::make_unique<AdamW<T>>(config.beta1, config.beta2, config.epsilon,
                                          config.weight_decay);
    }
    throw_invalid_argument("make_optimizer: unknown optimizer '", name,
                           "'; expected one of 'sgd', 'momentum', 'nesterov', 'adagrad', "
                           "'rmsprop', 'adam', 'adamw'");
}

}  // namespace fastml
