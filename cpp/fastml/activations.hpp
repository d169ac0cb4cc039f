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

// Largest |x| for which Eigen's vectorized exp(x) is accurate.
template <typename T>
constexpr T exp_vectorized_limit() {
    return std::is_same_v<T, float> ? T(87) : T(708);
}

namespace detail {

// The packet and scalar forms of the elementwise functions below, and
// whether Eigen has the packet form for T.
struct ExpFunction {
    // Eigen's exponential clamps its argument near the overflow points, so
    // values past exp_vectorized_limit are recomputed with std::exp, which
    // rounds to the true value (a subnormal, 0 or infinity).
    template <typename T, typename Packet>
    static Packet packet(const Packet& x) {
        using namespace Eigen::internal;
        Packet y = pexp(x);
        const Packet limit = pset1<Packet>(exp_vectorized_limit<T>());
        if (predux_any(pcmp_lt(limit, pabs(x)))) {
            constexpr Index P = packet_traits<T>::size;
            T arguments[P], values[P];
            pstoreu(arguments, x);
            pstoreu(values, y);
            for (Index i = 0; i < P; ++i) {
                if (std::abs(arguments[i]) > exp_vectorized_limit<T>()) values[i] = std::exp(arguments[i]);
            }
            y = ploadu<Packet>(values);
        }
        return y;
    }
    template <typename T>
    static T scalar(T x) { return std::exp(x); }
    template <typename T>
    static constexpr bool kVectorized = Eigen::internal::packet_traits<T>::HasExp;
};

struct LogFunction {
    template <typename T, typename Packet>
    static Packet packet(const Packet& x) { return Eigen::internal::plog(x); }
    template <typename T>
    static T scalar(T x) { return std::log(x); }
    template <typename T>
    static constexpr bool kVectorized = Eigen::internal::packet_traits<T>::HasLog;
};

struct Log1pFunction {
    template <typename T, typename Packet>
    static Packet packet(const Packet& x) { return Eigen::internal::plog1p(x); }
    template <typename T>
    static T scalar(T x) { return std::log1p(x); }
    template <typename T>
    static constexpr bool kVectorized = Eigen::internal::packet_traits<T>::HasLog1p;
};

}  // namespace detail

// Writes F(x[i]) for n values, each through the same code: Eigen's packet
// function where it has one for T, the scalar one otherwise. Eigen's array
// assignment computes the values before the output's first aligned address
// with the scalar function, which can differ in the last bit, so a result
// would depend on where the output sits in memory. `out` may be `x`.
template <typename F, typename T>
void apply_elementwise(const T* x, T* out, Index n) {
    if constexpr (F::template kVectorized<T>) {
        using Packet = typename Eigen::internal::packet_traits<T>::type;
        constexpr Index P = Eigen::internal::packet_traits<T>::size;
        Index i = 0;
        for (; i + P <= n; i += P) {
            Eigen::internal::pstoreu(out + i, F::template packet<T>(Eigen::internal::ploadu<Packet>(x + i)));
        }
        if (i < n) {
            // The last values go through a full packet padded with zeros.
            T lanes[P];
            for (Index j = 0; j < P; ++j) lanes[j] = i + j < n ? x[i + j] : T(0);
            Eigen::internal::pstoreu(lanes, F::template packet<T>(Eigen::internal::ploadu<Packet>(lanes)));
            std::copy_n(lanes, n - i, out + i);
        }
    } else {
        for (Index i = 0; i < n; ++i) out[i] = F::template scalar<T>(x[i]);
    }
}

// Writes exp(-|x|) for every element: a value in (0, 1], 0 once it underflows.
template <typename T>
void exp_neg_abs(const T* x, T* out, Index n) {
    Eigen::Map<const ArrayX<T>> input(x, n);
    Eigen::Map<ArrayX<T>> result(out, n);
    result = -input.abs();
    apply_elementwise<detail::ExpFunction>(out, out, n);
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
    apply_elementwise<detail::Log1pFunction>(e.data(), e.data(), n);
    Eigen::Map<const ArrayX<T>> input(x, n);
    Eigen::Map<ArrayX<T>> result(out, n);
    result = input.min(T(0)) - e;
}

// Sums exp(z[j] - shift) for j in [0, k) in index order, in double, so that
// the result does not depend on where the row sits in memory.
template <typename T>
double sum_shifted_exp(const T* z, Index k, T shift) {
    constexpr Index kGroup = 64;
    T values[kGroup];
    double total = 0;
    for (Index begin = 0; begin < k; begin += kGroup) {
        const Index size = std::min(kGroup, k - begin);
        for (Index j = 0; j < size; ++j) values[j] = z[begin + j] - shift;
        apply_elementwise<detail::ExpFunction>(values, values, size);
        total += ordered_sum(values, size);
    }
    return total;
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
    result = logits.colwise() - max;
    apply_elementwise<detail::ExpFunction>(out, out, rows * k);
    ArrayX<T> total(rows);
    ordered_row_sums(out, rows, k, total);
    result.colwise() /= total;
    for (Index i = 0; i < rows; ++i) {
        if (!std::isfinite(max[i])) softmax_row_infinite(z + i * k, out + i * k, k);
    }
}

// Row-wise log-softmax of a row-major (rows x k) block, evaluated as
// (z - max) - log(sum(exp(z - max))). Forming log_sum_exp(z) = max + log(...)
// first would round the log away once |max| is large (1e16 + log(2) == 1e16).
// The subtractions are done in double, so a float result is rounded to float
// once, at the end.
template <typename T>
void log_softmax_rows(const T* z, T* out, Index rows, Index k) {
    constexpr T inf = std::numeric_limits<T>::infinity();
    for (Index i = 0; i < rows; ++i) {
        const T* row = z + i * k;
        T* result = out + i * k;
        const T max = Eigen::Map<const ArrayX<T>>(row, k).maxCoeff();
        // Not finite when the maximum is infinite or the row contains NaN,
        // which the path below handles.
        const double log_shifted_sum =
            std::isfinite(max) ? std::log(sum_shifted_exp(row, k, max)) : double(max);
        if (std::isfinite(log_shifted_sum)) {
            for (Index j = 0; j < k; ++j) {
                result[j] = T((double(row[j]) - double(max)) - log_shifted_sum);
            }
            continue;
        }
        // The maximum is infinite: the softmax is a 0/1 vector shared among
        // the tied maxima, and its logarithm is -log(ties) or -inf.
        softmax_row_infinite(row, result, k);
        for (Index j = 0; j < k; ++j) result[j] = result[j] == 0 ? -inf : std::log(result[j]);
    }
}

}  // namespace fastml
