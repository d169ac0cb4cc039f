// The elastic-net penalty on coefficients, defined as in scikit-learn's SGD
// models:
//   penalty(w) = alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2).
// l1_ratio = 0 is the L2 (ridge) penalty and l1_ratio = 1 the L1 (lasso)
// penalty. The intercept is never penalized: callers pass only coefficient
// ranges.
//
// The smooth L2 part enters the gradient. The L1 part is handled
// orthant-wise, as in OWL-QN (Andrew and Gao, "Scalable Training of
// L1-Regularized Log-Linear Models", ICML 2007):
//   1. the optimizer receives the pseudo-gradient, the element of the
//      subdifferential of smaller magnitude (0 at a zero weight whose data
//      gradient lies within [-lambda, lambda]);
//   2. after the step, a weight that crossed zero, or left zero in the
//      direction opposite to its pseudo-gradient, is set to exactly 0.
// For plain SGD the two steps are exactly the proximal (soft-thresholding)
// step w <- sign(v) * max(|v| - lr * lambda, 0) with v = w - lr * g. For
// adaptive optimizers the step keeps each coordinate's own effective step
// size, so a zero weight stays at 0 exactly when |g| <= lambda, which is
// the optimality condition, whatever the optimizer's scaling or momentum.
#pragma once

#include <cmath>

#include "common.hpp"

namespace fastml {

struct Penalty {
    double alpha = 0;
    double l1_ratio = 0;

    double l2_strength() const { return alpha * (1 - l1_ratio); }
    double l1_strength() const { return alpha * l1_ratio; }
    bool active() const { return alpha > 0; }

    template <typename T>
    double value(const T* w, Index n) const {
        if (!active()) return 0;
        Eigen::Map<const ArrayX<T>> coef(w, n);
        const ArrayX<double> c = coef.template cast<double>();
        return l1_strength() * c.abs().sum() + 0.5 * l2_strength() * c.square().sum();
    }

    // grad += d/dw of the L2 part, alpha * (1 - l1_ratio) * w.
    template <typename T>
    void add_l2_gradient(const T* w, T* grad, Index n) const {
        if (l2_strength() == 0) return;
        Eigen::Map<ArrayX<T>>(grad, n) += T(l2_strength()) * Eigen::Map<const ArrayX<T>>(w, n);
    }

    // Replaces the smooth gradient by the pseudo-gradient of smooth + L1:
    // g + lambda * sign(w) where w != 0; at w = 0 the subgradient of smaller
    // magnitude, g + lambda, g - lambda or 0.
    template <typename T>
    void to_pseudo_gradient(const T* w, T* grad, Index n) const {
        if (l1_strength() == 0) return;
        const T lambda = T(l1_strength());
        for (Index j = 0; j < n; ++j) {
            if (w[j] > 0) {
                grad[j] += lambda;
            } else if (w[j] < 0) {
                grad[j] -= lambda;
            } else if (grad[j] > lambda) {
                grad[j] -= lambda;
            } else if (grad[j] < -lambda) {
                grad[j] += lambda;
            } else {
                grad[j] = 0;
            }
        }
    }

    // Sets to 0 every weight that left its orthant during a step: the sign
    // of the weight before the step, or for a zero weight the sign of
    // -pseudo_grad (0 when the pseudo-gradient is 0).
    template <typename T, typename U>
    void project_to_orthant(const U* w_before, const U* pseudo_grad, T* w, Index n) const {
        if (l1_strength() == 0) return;
        for (Index j = 0; j < n; ++j) {
            const U orthant = w_before[j] != 0 ? w_before[j] : -pseudo_grad[j];
            if (orthant == 0 || (orthant > 0) != (w[j] > 0) || w[j] == 0) w[j] = 0;
        }
    }
};

}  // namespace fastml
