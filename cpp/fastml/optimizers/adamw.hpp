// AdamW (Loshchilov and Hutter, "Decoupled Weight Decay Regularization", ICLR
// 2019), in the form of torch.optim.AdamW (PyTorch 2.13 documentation):
//   w <- w - lr * weight_decay * w      (decay first, from the old w)
//   w <- w - lr * m_hat / (sqrt(v_hat) + epsilon)
// with m, v, m_hat and v_hat as in Adam (adam.hpp). The decay never enters m
// or v, unlike an L2 penalty added to the gradient. As in PyTorch, the decay is
// scaled by the scheduled learning rate. The paper scales it by the schedule
// multiplier eta_t alone, so its weight_decay is PyTorch's times the base rate.
// With weight_decay > 0 a zero gradient still shrinks w, by design. Segments
// marked with exclude_from_weight_decay (the intercept) take the Adam step only.
#pragma once

#include <vector>

#include "adam.hpp"
#include "optimizer.hpp"

namespace fastml {

template <typename T>
class AdamW final : public Optimizer<T> {
public:
    AdamW(double beta1, double beta2, double epsilon, double weight_decay)
        : adam_(beta1, beta2, epsilon, "AdamW"), weight_decay_(weight_decay) {
        check_non_negative("AdamW", "weight_decay", weight_decay);
    }

    void reset(Index n_params, Index n_segments) override { adam_.reset(n_params, n_segments); }

    void start_step(Index segment) override { adam_.start_step(segment); }

    void update_range(Index segment, Index begin, Index end, T* params, const T* grad,
                      double learning_rate) override {
        if (weight_decay_ > 0 && !is_excluded(segment)) {
            Eigen::Map<ArrayX<T>> w(params + begin, end - begin);
            w *= T(1.0 - learning_rate * weight_decay_);
        }
        adam_.update_range(segment, begin, end, params, grad, learning_rate);
    }

    void exclude_from_weight_decay(Index segment) override {
        if (segment < 0) throw_invalid_argument("AdamW: segment must be >= 0; got ", segment);
        if (Index(excluded_.size()) <= segment) excluded_.resize(segment + 1, false);
        excluded_[segment] = true;
    }

    const Adam<T>& adam() const { return adam_; }

private:
    bool is_excluded(Index segment) const {
        return segment < Index(excluded_.size()) && excluded_[segment];
    }

    Adam<T> adam_;
    double weight_decay_;
    std::vector<bool> excluded_;
};

}  // namespace fastml
