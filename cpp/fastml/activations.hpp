// Numerically stable sigmoid, log-sigmoid, softmax and log-softmax.
//
// All functions take logits and never form exp(x) for a large positive x,
// so finite inputs give finite outputs and infinite inputs give the limits
// (sigmoid(+inf) = 1, log_softmax of a row holding +inf is 0 at the +inf
// entries and -inf elsewhere). Outputs may alias inputs.
#pragma once

#include <algorithm>
#include <cmath>
#include <limits>

#include "common.hpp"

namespace fastml {

// Largest |x| for which Eigen's vectorized exp(-|x|) is accurate. Eigen clamps
// its argument near the float and double overflow points, so exp(-|x|) past
// these values is recomputed with std::exp, which rounds to the true value
// (a subnormal or 0).
template <typename T>
constexpr T exp_vectorized_limit() {
    return std::is_same_v<T, float> ? T(87) : T(708);
}

// Writes exp(-|x|) for every element: a value in (0, 1], 0 once it underflows.
template <typename T>
void exp_neg_abs(const T* x, T* out, Index n) {
    Eigen::Map<const ArrayX<T>> input(x, n);
    Eigen::Map<ArrayX<T>> result(out, n);
    result = (-input.abs()).exp();
    // A vectorized test first: the scalar loop below, run on every element,
    // took as long as the vectorized exponentials.
    if (n == 0 || !(input.abs().template maxCoeff<Eigen::PropagateNumbers>() > exp_vectorized_limit<T>())) {
        return;
    }
    for (Index i = 0; i < n; ++i) {
        const T magnitude = std::abs(x[i]);
        if (magnitude > exp_vectorized_limit<T>()) result[i] = std::exp(-magnitude);
    }
}

// sigmoid(x) = 1 / (1 + exp(-x)), evaluated as e / (1 + e) with e = exp(x)
// for negative x so that exp never overflows.
template <typename T>
void sigmoid(const T* x, T* out, Index n) {
    ArrayX<T> e(n);
    exp_neg_abs(x, e.data(), n);
    Eigen::Map<const ArrayX<T>> input(x, n);
    Eigen::Map<ArrayX<T>> result(out, n);
    const ArrayX<T> inverse = (T(1) + e).inverse();
    result = (input >= T(0)).select(inverse, e * inverse);
}

// log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)).
template <typename T>
void log_sigmoid(const T* x, T* out, Index n) {
    ArrayX<T> e(n);
    exp_neg_abs(x, e.data(), n);
    Eigen::Map<const ArrayX<T>> input(x, n);
    Eigen::Map<ArrayX<T>> result(out, n);
    result = input.min(T(0)) - e.log1p();
}

// Log of the sum of exponentials of one row, with the row maximum subtracted
// first. A row whose maximum is +inf returns +inf, a row of -inf returns -inf.
template <typename T>
T log_sum_exp(const T* row, Index k) {
    Eigen::Map<const ArrayX<T>> z(row, k);
    const T max = z.maxCoeff();
    if (!std::isfinite(max)) return max;
    return max + std::log((z - max).exp().sum());
}

// Writes softmax of one row whose maximum is not finite. With +inf entries
// the mass is shared equally among them, and a row of -inf is treated as
// equal logits. A row containing NaN gives NaN everywhere.
template <typename T>
void softmax_row_infinite(const T* z, T* out, Index k) {
    T max = -std::numeric_limits<T>::infinity();
    for (Index j = 0; j < k; ++j) {
        if (std::isnan(z[j])) {
            std::fill_n(out, k, std::numeric_limits<T>::quiet_NaN());
            return;
        }
        max = std::max(max, z[j]);
    }
    Index ties = 0;
    for (Index j = 0; j < k; ++j) ties += (z[j] == max);
    for (Index j = 0; j < k; ++j) out[j] = z[j] == max ? T(1) / T(ties) : T(0);
}

// Row-wise softmax of a row-major (rows x k) block.
template <typename T>
void softmax_rows(const T* z, T* out, Index rows, Index k) {
    if (z == out) {
        // Rows with an infinite maximum are rebuilt from the logits below.
        const RowArray<T> copy = Eigen::Map<const RowArray<T>>(z, rows, k);
        softmax_rows(copy.data(), out, rows, k);
        return;
    }
    Eigen::Map<const RowArray<T>> logits(z, rows, k);
    Eigen::Map<RowArray<T>> result(out, rows, k);
    const ArrayX<T> max = logits.rowwise().maxCoeff();
    result = (logits.colwise() - max).exp();
    const ArrayX<T> total = result.rowwise().sum();
    result.colwise() /= total;
    for (Index i = 0; i < rows; ++i) {
        if (!std::isfinite(max[i])) softmax_row_infinite(z + i * k, out + i * k, k);
    }
}

// Row-wise log-softmax, z - log_sum_exp(z), of a row-major (rows x k) block.
template <typename T>
void log_softmax_rows(const T* z, T* out, Index rows, Index k) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    for (Index i = 0; i < rows; ++i) {
        const T* row = z + i * k;
        T* result = out + i * k;
        const T lse = log_sum_exp(row, k);
        if (std::isfinite(lse)) {
            for (Index j = 0; j < k; ++j) result[j] = row[j] - lse;
            continue;
        }
        // The maximum is infinite: the softmax is a 0/1 vector shared among
        // the tied maxima, and its logarithm is -log(ties) or -inf.
        softmax_row_infinite(row, result, k);
        for (Index j = 0; j < k; ++j) result[j] = result[j] == 0 ? -inf : std::log(result[j]);
    }
}

}  // namespace fastml
