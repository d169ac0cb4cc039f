// SGD with heavy-ball momentum, in the form of torch.optim.SGD (PyTorch 2.13
// documentation, momentum > 0, dampening 0, nesterov False):
//   b <- mu * b + g
//   w <- w - lr * b
// PyTorch sets b = g on the first step. Starting from b = 0 gives the same
// bits, because mu * 0 + g == g exactly, so no step counter is needed.
// The velocity form of Polyak (1964) and Sutskever et al. (2013),
// v <- mu * v - lr * g, w <- w + v, is the same rule while lr is constant; it
// differs once a schedule changes lr, because there the velocity keeps the old
// rates. fastml follows PyTorch.
#pragma once

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class Momentum final : public Optimizer<T> {
public:
    explicit Momentum(double momentum) : momentum_(momentum) {
        if (!(std::isfinite(momentum) && momentum > 0 && momentum < 1)) {
            throw_invalid_argument("Momentum: momentum must be in (0, 1); got ", momentum);
        }
    }

    void reset(Index n_params, Index) override { velocity_ = ArrayX<T>::Zero(n_params); }

    void update_range(Index, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        const Index n = end - begin;
        Eigen::Map<ArrayX<T>> w(params + begin, n);
        Eigen::Map<const ArrayX<T>> g(grad + begin, n);
        auto b = velocity_.segment(begin, n);

        b = T(momentum_) * b + g;
        w -= T(learning_rate) * b;
    }

    const ArrayX<T>& velocity() const { return velocity_; }

private:
    double momentum_;
    ArrayX<T> velocity_;
};

}  // namespace fastml
