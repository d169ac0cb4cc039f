// The elastic-net penalty on coefficients, defined as in scikit-learn's SGD
// models:
//   penalty(w) = alpha * (l1_ratio * ||w||_1 + (1 - l1_ratio) / 2 * ||w||^2).
// l1_ratio = 0 is the L2 (ridge) penalty and l1_ratio = 1 the L1 (lasso)
// penalty. The smooth L2 part enters the gradient; the L1 part is applied by
// its proximal operator (soft thresholding) after each update, which sets
// small coefficients exactly to 0. The intercept is never penalized: callers
// pass only coefficient ranges.
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

    // w <- sign(w) * max(|w| - step * alpha * l1_ratio, 0): the proximal
    // operator of step * (L1 part) for a step of size `step`.
    template <typename T>
    void apply_l1_proximal(T* w, Index n, double step) const {
        if (l1_strength() == 0) return;
        const T threshold = T(step * l1_strength());
        Eigen::Map<ArrayX<T>> coef(w, n);
        coef = coef.sign() * (coef.abs() - threshold).max(T(0));
    }
};

}  // namespace fastml
