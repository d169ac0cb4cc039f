// Losses computed from logits, with their gradients with respect to the logits.
//
// Every function writes the per-sample loss and, when `grad` is not null, the
// per-sample gradient; reductions (mean, sum, weights) are left to the caller.
// Logits are never turned into probabilities first, because log(p) loses all
// precision once p rounds to 0 or 1. `grad` may alias `logits`.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
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
    using Packet = typename Eigen::internal::packet_traits<T>::type;
    using namespace Eigen::internal;
    constexpr Index P = Eigen::internal::packet_traits<T>::size;
    // Groups of rows small enough for buffers on the stack, so that the fused
    // pass allocates nothing per block.
    constexpr Index kGroup = 64;
    // Aligned, so that no packet of the exponentials spans two cache lines.
    alignas(64) T e_buffer[kGroup];
    for (Index begin = 0; begin < n; begin += kGroup) {
        const Index size = std::min(kGroup, n - begin);
        Eigen::Map<ArrayX<T>> e(e_buffer, size);
        exp_neg_abs(logits + begin, e.data(), size);
        const T* z = logits + begin;
        const T* y = targets + begin;
        if (loss != nullptr) apply_elementwise<detail::Log1pFunction>(e.data(), loss + begin, size);
        // Eigen 3.4 evaluates an array expression containing select() one
        // value at a time, so the other terms are computed here in packets.
        // A term is dropped by ANDing it with its comparison mask, which also
        // clears the NaN of 0 * inf.
        const Packet zero = pset1<Packet>(T(0)), one = pset1<Packet>(T(1));
        Index i = 0;
        for (; i + P <= size; i += P) {
            const Packet zi = ploadu<Packet>(z + i), yi = ploadu<Packet>(y + i);
            if (loss != nullptr) {
                const Packet below = pand(pcmp_lt(yi, one), pmul(psub(one, yi), pmax(zi, zero)));
                const Packet above = pand(pcmp_lt(zero, yi), pmul(yi, pmax(pnegate(zi), zero)));
                T* out = loss + begin + i;
                pstoreu(out, padd(ploadu<Packet>(out), padd(below, above)));
            }
            if (grad != nullptr) {
                const Packet ei = ploadu<Packet>(e_buffer + i);
                const Packet inverse = pdiv(one, padd(one, ei));
                const Packet p = pselect(pcmp_le(zero, zi), inverse, pmul(ei, inverse));
                pstoreu(grad + begin + i, psub(p, yi));
            }
        }
        for (; i < size; ++i) {
            const T zi = z[i], yi = y[i];
            if (loss != nullptr) {
                if (yi < T(1)) loss[begin + i] += (T(1) - yi) * std::max(zi, T(0));
                if (yi > T(0)) loss[begin + i] += yi * std::max(-zi, T(0));
            }
            if (grad != nullptr) {
                const T inverse = T(1) / (T(1) + e_buffer[i]);
                grad[begin + i] = (zi >= T(0) ? inverse : e_buffer[i] * inverse) - yi;
            }
        }
    }
}

// The general path of softmax_cross_entropy, which also handles rows with an
// infinite maximum and a null `grad`.
template <typename T>
void softmax_cross_entropy_general(const T* logits, const std::int64_t* targets, Index n, Index k,
                                   T* loss, T* grad) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    Eigen::Map<const RowArray<T>> z(logits, n, k);
    const ArrayX<T> max = z.rowwise().maxCoeff();
    RowArray<T> shifted_exp = (z.colwise() - max).exp();
    ArrayX<T> total = shifted_exp.rowwise().sum();
    if (loss != nullptr) {
        for (Index i = 0; i < n; ++i) {
            if (std::isfinite(max[i])) {
                // max - z[y] first: max + log(total) would round the log
                // away once |max| is large (1e16 + log(2) == 1e16).
                loss[i] = std::log(total[i]) + (max[i] - z(i, targets[i]));
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

// Softmax cross-entropy of at most 64 rows whose maxima are all finite,
// written without heap allocations; `grad` may alias `logits` and must not be
// null. Returns false, having written nothing, when a row maximum is
// infinite or NaN, so that the caller takes the general path.
template <typename T>
bool softmax_cross_entropy_finite(const T* logits, const std::int64_t* targets, Index n, Index k,
                                  T* loss, T* grad) {
    T max_buffer[64], total_buffer[64], target_buffer[64];
    Eigen::Map<const RowArray<T>> z(logits, n, k);
    Eigen::Map<ArrayX<T>> max(max_buffer, n), total(total_buffer, n), target_logit(target_buffer, n);
    for (Index i = 0; i < n; ++i) {
        max[i] = z.row(i).maxCoeff();
        if (!std::isfinite(max[i])) return false;
        target_logit[i] = z(i, targets[i]);
    }
    Eigen::Map<RowArray<T>> g(grad, n, k);
    g = z.colwise() - max;
    apply_elementwise<detail::ExpFunction>(grad, grad, n * k);
    ordered_row_sums(grad, n, k, total);
    if (loss != nullptr) {
        apply_elementwise<detail::LogFunction>(total.data(), loss, n);
        Eigen::Map<ArrayX<T>>(loss, n) += max - target_logit;
    }
    g.colwise() /= total;
    for (Index i = 0; i < n; ++i) g(i, targets[i]) -= T(1);
    return true;
}

// Softmax cross-entropy of class indices: loss = log_sum_exp(z) - z[y],
// gradient softmax(z) - onehot(y). Logits are a row-major (n x k) block;
// indices must lie in [0, k), which the caller checks. The exponentials are
// computed 64 rows at a time without heap allocations; a group holding a row
// with an infinite maximum takes the general path.
template <typename T>
void softmax_cross_entropy(const T* logits, const std::int64_t* targets, Index n, Index k,
                           T* loss, T* grad) {
    constexpr Index kGroup = 64;
    for (Index begin = 0; begin < n; begin += kGroup) {
        const Index rows = std::min(kGroup, n - begin);
        const T* z = logits + begin * k;
        T* group_loss = loss != nullptr ? loss + begin : nullptr;
        if (grad == nullptr || !softmax_cross_entropy_finite(z, targets + begin, rows, k, group_loss, grad + begin * k)) {
            softmax_cross_entropy_general(z, targets + begin, rows, k, group_loss,
                                          grad != nullptr ? grad + begin * k : nullptr);
        }
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
        ArrayX<T> mass(n);
        ordered_row_sums(targets, n, k, mass);
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
