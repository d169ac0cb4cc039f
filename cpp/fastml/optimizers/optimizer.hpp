// The interface every update rule implements.
//
// Parameters live in one flat vector split into segments (a coefficient
// matrix, an intercept, a layer's weights). The training loop calls `update`
// once per segment and step; a frozen segment is simply never passed, so its
// values and its optimizer state stay untouched.
#pragma once

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
    virtual void update(Index segment, Index begin, Index end, T* params, const T* grad,
                        double learning_rate) = 0;
};

}  // namespace fastml
