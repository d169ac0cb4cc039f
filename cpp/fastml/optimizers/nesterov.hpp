// SGD with Nesterov momentum, in the form of torch.optim.SGD with
// nesterov=True (PyTorch 2.13 documentation, after Sutskever et al., "On the
// importance of initialization and momentum in deep learning", ICML 2013):
//   b <- mu * b + g
//   w <- w - lr * (g + mu * b)
// The step looks ahead along the updated buffer instead of evaluating the
// gradient at a shifted point, so it needs only the gradient at w. The buffer
// starts at 0, which gives PyTorch's first step b = g exactly.
#pragma once

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class Nesterov final : public Optimizer<T> {
public:
    explicit Nesterov(double momentum) : momentum_(momentum) {
        if (!(std::isfinite(momentum) && momentum > 0 && momentum < 1)) {
            throw_invalid_argument("Nesterov: momentum must be in (0, 1); got ", momentum);
        }
    }

    void reset(Index n_params, Index) override { velocity_ = ArrayX<T>::Zero(n_params); }

    void update_range(Index, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        const Index n = end - begin;
        Eigen::Map<ArrayX<T>> w(params + begin, n);
        Eigen::Map<const ArrayX<T>> g(grad + begin, n);
        auto b = velocity_.segment(begin, n);
        const T mu = T(momentum_);

        // lr is applied to each term before the sum: g + mu * b overflows for
        // gradients near the largest finite value, and an infinite step
        // followed by one of the other sign would turn w into inf - inf = NaN.
        b = mu * b + g;
        w -= T(learning_rate) * g + T(learning_rate * momentum_) * b;
    }

    const ArrayX<T>& velocity() const { return velocity_; }

private:
    double momentum_;
    ArrayX<T> velocity_;
};

}  // namespace fastml
