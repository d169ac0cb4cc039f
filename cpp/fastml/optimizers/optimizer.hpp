// The interface every update rule implements.
//
// Parameters live in one flat vector split into segments (a coefficient
// matrix, an intercept, a layer's weights). The training loop calls `update`
// once per segment and step; a frozen segment is simply never passed, so its
// values and its optimizer state stay untouched. Rules that count steps (Adam,
// AdamW) count them per segment for the same reason.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <type_traits>
#include <utility>
#include <vector>

#include "../common.hpp"

namespace fastml {

template <typename T>
class Optimizer {
public:
    virtual ~Optimizer() = default;

    // Allocates the state for `n_params` parameters in `n_segments` segments
    // and sets it to the rule's initial values.
    virtual void reset(Index n_params, Index n_segments) = 0;

    // Applies one step to params[begin, end) of segment `segment` given the
    // gradient on the same range. `learning_rate` is the scheduled rate of
    // this step.
    void update(Index segment, Index begin, Index end, T* params, const T* grad,
                double learning_rate) {
        start_step(segment);
        update_range(segment, begin, end, params, grad, learning_rate);
    }

    // The two halves of `update`, for a caller that splits a segment into
    // ranges (to share them among threads): `start_step` once per segment and
    // step, then `update_range` once for each range, in any order and from
    // any thread. Every rule updates each parameter from its own values
    // only, so the split does not change the result.
    virtual void start_step(Index /*segment*/) {}
    virtual void update_range(Index segment, Index begin, Index end, T* params, const T* grad,
                              double learning_rate) = 0;

    // Marks a segment (an intercept, a bias) that decoupled weight decay must
    // not shrink. Only AdamW decays weights; every other rule ignores this.
    // The mark survives `reset`.
    virtual void exclude_from_weight_decay(Index /*segment*/) {}
};

// Throws std::invalid_argument unless `value` is finite and in [low, high).
inline void check_half_open(const char* where, const char* name, double value, double low,
                            double high) {
    if (!(std::isfinite(value) && value >= low && value < high)) {
        throw_invalid_argument(where, ": ", name, " must be in [", low, ", ", high, "); got ", value);
    }
}

// Throws std::invalid_argument unless `value` is finite and > 0.
inline void check_positive(const char* where, const char* name, double value) {
    if (!(std::isfinite(value) && value > 0)) {
        throw_invalid_argument(where, ": ", name, " must be finite and > 0; got ", value);
    }
}

// Throws std::invalid_argument unless `value` is finite and >= 0.
inline void check_non_negative(const char* where, const char* name, double value) {
    if (!(std::isfinite(value) && value >= 0)) {
        throw_invalid_argument(where, ": ", name, " must be finite and >= 0; got ", value);
    }
}

// Packet helpers of the element-wise update rules.
namespace packet {

using Eigen::internal::packet_traits;

// Returns the correctly rounded square root of each lane. Eigen 3.4's
// AVX-512 psqrt under EIGEN_FAST_MATH (on by default) refines a 14-bit
// estimate of 1 / sqrt(x) by Newton steps and multiplies it by x. The result
// can be off by an ulp, and +inf gives NaN, which would turn an overflowed
// second moment into NaN parameters.
template <typename Packet>
Packet exact_sqrt(const Packet& x) {
    using Scalar = typename Eigen::internal::unpacket_traits<Packet>::type;
    constexpr int size = Eigen::internal::unpacket_traits<Packet>::size;
    Scalar lanes[size];
    Eigen::internal::pstoreu(lanes, x);
    for (Scalar& lane : lanes) lane = std::sqrt(lane);
    return Eigen::internal::ploadu<Packet>(lanes);
}
#ifdef EIGEN_VECTORIZE_SSE2
inline __m128 exact_sqrt(const __m128& x) { return _mm_sqrt_ps(x); }
inline __m128d exact_sqrt(const __m128d& x) { return _mm_sqrt_pd(x); }
#endif
#ifdef EIGEN_VECTORIZE_AVX
inline __m256 exact_sqrt(const __m256& x) { return _mm256_sqrt_ps(x); }
inline __m256d exact_sqrt(const __m256d& x) { return _mm256_sqrt_pd(x); }
#endif
#ifdef EIGEN_VECTORIZE_AVX512
inline __m512 exact_sqrt(const __m512& x) { return _mm512_sqrt_ps(x); }
inline __m512d exact_sqrt(const __m512d& x) { return _mm512_sqrt_pd(x); }
#endif

template <typename T, typename Update, typename... Pointers, std::size_t... I>
void update_tail(Index rest, const Update& update, std::index_sequence<I...>,
                 Pointers... arrays) {
    constexpr Index P = packet_traits<T>::size;
    T lanes[sizeof...(Pointers)][P] = {};
    (std::copy_n(arrays, rest, lanes[I]), ...);
    update(static_cast<Pointers>(lanes[I])...);
    auto copy_back = [rest](const T* from, auto* to) {
        if constexpr (!std::is_const_v<std::remove_pointer_t<decltype(to)>>)
            std::copy_n(from, rest, to);
    };
    (copy_back(lanes[I], arrays), ...);
}

// Calls update(arrays + i...) for each whole packet of n values, and once
// more for the last n % P values padded with zeros in a buffer, whose
// results are copied back to the arrays that are not const. Every value
// thus goes through the same packet operations.
template <typename T, typename Update, typename... Pointers>
void for_each_packet(Index n, const Update& update, Pointers... arrays) {
    constexpr Index P = packet_traits<T>::size;
    Index i = 0;
    for (; i + P <= n; i += P) update((arrays + i)...);
    if (i < n)
        update_tail<T>(n - i, update, std::index_sequence_for<Pointers...>{}, (arrays + i)...);
}

}  // namespace packet

}  // namespace fastml
