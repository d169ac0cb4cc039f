// The interface every update rule implements.
//
// Parameters live in one flat vector split into segments (a coefficient
// matrix, an intercept, a layer's weights). The training loop calls `update`
// once per segment and step; a frozen segment is simply never passed, so its
// values and its optimizer state stay untouched. Rules that count steps (Adam,
// AdamW) count them per segment for the same reason.
#pragma once

#include <cmath>
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

}  // namespace fastml
