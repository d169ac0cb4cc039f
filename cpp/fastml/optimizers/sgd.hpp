// Plain stochastic gradient descent: w <- w - lr * g.
#pragma once

#include "optimizer.hpp"

namespace fastml {

template <typename T>
class SGD final : public Optimizer<T> {
public:
    void reset(Index, Index) override {}

    void update_range(Index, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        const Index n = end - begin;
        Eigen::Map<ArrayX<T>> w(params + begin, n);
        Eigen::Map<const ArrayX<T>> g(grad + begin, n);
        w -= T(learning_rate) * g;
    }
};

}  // namespace fastml
