// Losses computed from logits, with their gradients with respect to the logits.
//
// Every function writes the per-sample loss and, when `grad` is not null, the
// per-sample gradient; reductions (mean, sum, weights) are left to the caller.
// Logits are never turned into probabilities first, because log(p) loses all
// precision once p rounds to 0 or 1. `grad` may alias `logits`.
#pragma once

#include <cmath>
#include <limits>

#include "activations.hpp"
#include "common.hpp"

namespace fastml {

// Binary cross-entropy of a target y in [0, 1] and a logit z:
//   loss = (1 - y) * softplus(z) + y * softplus(-z)
//        = log1p(exp(-|z|)) + (1 - y) * max(z, 0) + y * max(-z, 0),
// gradient sigmoid(z) - y. A term whose coefficient is 0 is dropped rather
// than multiplied, so that z = +-inf with the matching target gives 0, not
// 0 * inf = NaN.
template <typename T>
void binary_cross_entropy(const T* logits, const T* targets, Index n, T* loss, T* grad) {
    ArrayX<T> e(n);
    exp_neg_abs(logits, e.data(), n);
    Eigen::Map<const ArrayX<T>> z(logits, n);
    Eigen::Map<const ArrayX<T>> y(targets, n);
    if (loss != nullptr) {
        Eigen::Map<ArrayX<T>> out(loss, n);
        const ArrayX<T> positive_part = (y < T(1)).select((T(1) - y) * z.max(T(0)), T(0));
        const ArrayX<T> negative_part = (y > T(0)).select(y * (-z).max(T(0)), T(0));
        out = e.log1p() + positive_part + negative_part;
    }
    if (grad != nullptr) {
        Eigen::Map<ArrayX<T>> out(grad, n);
        const ArrayX<T> inverse = (T(1) + e).inverse();
        out = (z >= T(0)).select(inverse, e * inverse) - y;
    }
}

// Softmax cross-entropy of class indices: loss = log_sum_exp(z) - z[y],
// gradient softmax(z) - onehot(y). Logits are a row-major (n x k) block;
// indices must lie in [0, k), which the caller checks. The exponentials are
// computed for the whole block at once; rows with an infinite maximum take a
// scalar path.
template <typename T>
void softmax_cross_entropy(const T* logits, const std::int64_t* targets, Index n, Index k,
                           T* loss, T* grad) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    Eigen::Map<const RowArray<T>> z(logits, n, k);
    const ArrayX<T> max = z.rowwise().maxCoeff();
    RowArray<T> shifted_exp = (z.colwise() - max).exp();
    ArrayX<T> total = shifted_exp.rowwise().sum();
    if (loss != nullptr) {
        for (Index i = 0; i < n; ++i) {
            if (std::isfinite(max[i])) {
                loss[i] = max[i] + std::log(total[i]) - z(i, targets[i]);
                continue;
            }
            // With an infinite maximum the formula above gives inf - inf.
            // The loss is -log of the limiting softmax instead: log(ties)
            // when the target is among the tied maxima, +inf otherwise.
            ArrayX<T> probabilities(k);
            softmax_row_infinite(logits + i * k, probabilities.data(), k);
            const T p = probabilities[targets[i]];
            loss[i] = p == 0 ? inf : -std::log(p);
        }
    }
    if (grad != nullptr) {
        for (Index i = 0; i < n; ++i) {
            if (std::isfinite(max[i])) continue;
            softmax_row_infinite(logits + i * k, &shifted_exp(i, 0), k);
            total[i] = T(1);
        }
        Eigen::Map<RowArray<T>> g(grad, n, k);
        g = shifted_exp.colwise() / total;
        for (Index i = 0; i < n; ++i) g(i, targets[i]) -= T(1);
    }
}

// Softmax cross-entropy of probability rows: loss = -sum_j y_j * log_softmax(z)_j,
// gradient softmax(z) * sum_j y_j - y (softmax(z) - y when rows sum to 1).
// Entries with y_j = 0 are skipped, so a -inf log-probability times 0 adds 0.
template <typename T>
void softmax_cross_entropy_soft(const T* logits, const T* targets, Index n, Index k, T* loss,
                                T* grad) {
    if (loss != nullptr) {
        RowArray<T> log_probabilities(n, k);
        log_softmax_rows(logits, log_probabilities.data(), n, k);
        for (Index i = 0; i < n; ++i) {
            T total = 0;
            for (Index j = 0; j < k; ++j) {
                const T y = targets[i * k + j];
                if (y != T(0)) total -= y * log_probabilities(i, j);
            }
            loss[i] = total;
        }
    }
    if (grad != nullptr) {
        softmax_rows(logits, grad, n, k);
        Eigen::Map<RowArray<T>> g(grad, n, k);
        Eigen::Map<const RowArray<T>> y(targets, n, k);
        const ArrayX<T> mass = y.rowwise().sum();
        g = g.colwise() * mass - y;
    }
}

// Squared error with a factor one half, so that the gradient is the residual:
// loss = (z - y)^2 / 2, gradient z - y.
template <typename T>
void squared_error(const T* predictions, const T* targets, Index n, T* loss, T* grad) {
    Eigen::Map<const ArrayX<T>> z(predictions, n);
    Eigen::Map<const ArrayX<T>> y(targets, n);
    if (loss != nullptr) Eigen::Map<ArrayX<T>>(loss, n) = T(0.5) * (z - y).square();
    if (grad != nullptr) Eigen::Map<ArrayX<T>>(grad, n) = z - y;
}

}  // namespace fastml
