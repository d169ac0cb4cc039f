// Builds an update rule from its name and hyperparameters.
#pragma once

#include <memory>
#include <string>

#include "adam.hpp"
#include "optimizer.hpp"
#include "sgd.hpp"

namespace fastml {

struct OptimizerConfig {
    std::string name = "sgd";
    double beta1 = 0.9;
    double beta2 = 0.999;
    double epsilon = 1e-8;
};

template <typename T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerConfig& config) {
    if (config.name == "sgd") return std::make_unique<SGD<T>>();
    if (config.name == "adam") return std::make_unique<Adam<T>>(config.beta1, config.beta2, config.epsilon);
    throw_invalid_argument("make_optimizer: unknown optimizer '", config.name, "'; expected one of: 'sgd', 'adam'");
}

}  // namespace fastml
