// Hidden-layer activations of dense networks, each with its derivative, and
// the fused bias-plus-activation step of a dense layer's forward pass.
//
// Activations of a block of rows are stored row-major, (rows x width). Every
// derivative is written in terms of the activation's output a = f(z), so the
// backward pass needs only the stored outputs, not the pre-activations.
#pragma once

#include <string>

#include "../activations.hpp"
#include "../common.hpp"

namespace fastml {

enum class Activation { kSigmoid, kTanh, kRelu, kLeakyRelu, kLinear };

// Slope of leaky ReLU for negative inputs, the same as the default
// negative_slope of torch.nn.LeakyReLU.
constexpr double kLeakyReluSlope = 0.01;

inline Activation parse_activation(const std::string& name) {
    if (name == "sigmoid" || name == "logistic") return Activation::kSigmoid;
    if (name == "tanh") return Activation::kTanh;
    if (name == "relu") return Activation::kRelu;
    if (name == "leaky_relu") return Activation::kLeakyRelu;
    if (name == "linear" || name == "identity") return Activation::kLinear;
    throw_invalid_argument("parse_activation: unknown activation '", name,
                           "'; expected 'sigmoid', 'tanh', 'relu', 'leaky_relu' or 'linear'");
}

// He initialization suits the ReLU family, Glorot the activations that are
// symmetric around 0 and close to linear there.
inline bool uses_he_initialization(Activation activation) {
    return activation == Activation::kRelu || activation == Activation::kLeakyRelu;
}

// z <- sigmoid(z) for a block of pre-activations. With e = exp(-|z|),
// sigmoid(z) is 1 / (1 + e) for z >= 0 and e / (1 + e) for z < 0, so exp
// never overflows. Eigen's vectorized exp is inaccurate past
// exp_vectorized_limit, so a block holding such a value is computed with
// std::exp, which rounds sigmoid(-710) to 4.5e-309 and sigmoid(-1000) to 0.
template <typename Block>
void sigmoid_in_place(Block& Z) {
    using T = typename Block::Scalar;
    if (Z.size() > 0 && Z.abs().maxCoeff() > exp_vectorized_limit<T>()) {
        for (Index i = 0; i < Z.rows(); ++i) {
            for (Index j = 0; j < Z.cols(); ++j) {
                const T e = std::exp(-std::abs(Z(i, j)));
                Z(i, j) = Z(i, j) >= T(0) ? T(1) / (T(1) + e) : e / (T(1) + e);
            }
        }
        return;
    }
    Z = (Z >= T(0)).select(T(1) / (T(1) + (-Z.abs()).exp()),
                           (-Z.abs()).exp() / (T(1) + (-Z.abs()).exp()));
}

// z <- f(z + b) for every row of a (rows x width) block, in one pass.
template <typename T>
void add_bias_and_activate(T* z, const T* bias, Index rows, Index width, Activation activation) {
    Eigen::Map<RowArray<T>> Z(z, rows, width);
    Eigen::Map<const Eigen::Array<T, 1, Eigen::Dynamic>> b(bias, width);
    const T slope = T(kLeakyReluSlope);
    switch (activation) {
        case Activation::kLinear:
            Z.rowwise() += b;
            break;
        case Activation::kRelu:
            Z = (Z.rowwise() + b).max(T(0));
            break;
        case Activation::kLeakyRelu:
            Z.rowwise() += b;
            Z = (Z > T(0)).select(Z, slope * Z);
            break;
        case Activation::kTanh:
            Z = (Z.rowwise() + b).tanh();
            break;
        case Activation::kSigmoid:
            Z.rowwise() += b;
            sigmoid_in_place(Z);
            break;
    }
}

// grad <- grad * f'(z), with f'(z) written in terms of the output a = f(z):
//   sigmoid: a (1 - a)     tanh: 1 - a^2     linear: 1
//   relu: 1 if a > 0 else 0     leaky relu: 1 if a > 0 else slope.
// At z = 0 the ReLU family takes the left derivative, as PyTorch does.
template <typename T>
void multiply_by_derivative(T* grad, const T* output, Index n, Activation activation) {
    Eigen::Map<ArrayX<T>> g(grad, n);
    Eigen::Map<const ArrayX<T>> a(output, n);
    switch (activation) {
        case Activation::kLinear:
            break;
        case Activation::kRelu:
            g = (a > T(0)).select(g, T(0));
            break;
        case Activation::kLeakyRelu:
            g = (a > T(0)).select(g, T(kLeakyReluSlope) * g);
            break;
        case Activation::kTanh:
            g *= T(1) - a.square();
            break;
        case Activation::kSigmoid:
            g *= a * (T(1) - a);
            break;
    }
}

}  // namespace fastml
