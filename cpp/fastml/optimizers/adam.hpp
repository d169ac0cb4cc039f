// Adam (Kingma and Ba, "Adam: A Method for Stochastic Optimization", ICLR
// 2015, Algorithm 1):
//   m <- beta1 * m + (1 - beta1) * g
//   v <- beta2 * v + (1 - beta2) * g^2
//   w <- w - lr * m_hat / (sqrt(v_hat) + epsilon),
//   m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t).
// Epsilon is added after the square root of the bias-corrected second moment,
// as in the paper's algorithm and in torch.optim.Adam. The variant that folds
// both corrections into the learning rate adds epsilon to the uncorrected
// sqrt(v), which is sqrt(1 - beta2^t) times smaller in early steps: with a
// first gradient of 1e-8 it steps about 3.1e-5 instead of 5e-4 (lr 1e-3).
#pragma once

#include <cmath>
#include <vector>

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class Adam final : public Optimizer<T> {
public:
    Adam(double beta1, double beta2, double epsilon)
        : beta1_(beta1), beta2_(beta2), epsilon_(epsilon) {
        if (!(beta1 >= 0 && beta1 < 1)) throw_invalid_argument("Adam: beta1 must be in [0, 1); got ", beta1);
        if (!(beta2 >= 0 && beta2 < 1)) throw_invalid_argument("Adam: beta2 must be in [0, 1); got ", beta2);
        if (!(epsilon > 0)) throw_invalid_argument("Adam: epsilon must be > 0; got ", epsilon);
    }

    void reset(Index n_params, Index n_segments) override {
        first_moment_ = ArrayX<T>::Zero(n_params);
        second_moment_ = ArrayX<T>::Zero(n_params);
        steps_.assign(n_segments, 0);
    }

    void update(Index segment, Index begin, Index end, T* params, const T* grad,
                double learning_rate) override {
        // Each segment counts its own steps, so a segment that was frozen for
        // a while gets the bias correction matching its own moment estimates.
        const double t = double(++steps_[segment]);
        const T correction1 = T(1.0 - std::pow(beta1_, t));
        const T correction2 = T(1.0 - std::pow(beta2_, t));

        const Index n = end - begin;
        Eigen::Map<ArrayX<T>> w(params + begin, n);
        Eigen::Map<const ArrayX<T>> g(grad + begin, n);
        auto m = first_moment_.segment(begin, n);
        auto v = second_moment_.segment(begin, n);
        const T b1 = T(beta1_), b2 = T(beta2_);

        m = b1 * m + (T(1) - b1) * g;
        v = b2 * v + (T(1) - b2) * g.square();
        w -= T(learning_rate) * (m / correction1) / ((v / correction2).sqrt() + T(epsilon_));
    }

    const ArrayX<T>& first_moment() const { return first_moment_; }
    const ArrayX<T>& second_moment() const { return second_moment_; }

private:
    double beta1_, beta2_, epsilon_;
    ArrayX<T> first_moment_, second_moment_;
    std::vector<std::int64_t> steps_;
};

}  // namespace fastml
