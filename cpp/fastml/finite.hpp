// A check that an input contains only finite values, with the reading shared
// among threads.
#pragma once

#include <algorithm>
#include <vector>

#include "common.hpp"
#include "linear_model.hpp"
#include "parallel.hpp"

namespace fastml {

enum class NonFinite { kNone = 0, kInfinity = 1, kNaN = 2 };

// Values per block of the check. Each block is read once when it is
// finite, and a second time only when it is not.
constexpr Index kFiniteCheckBlock = Index(1) << 16;

// Returns kNaN when x[0, n) contains a NaN, else kInfinity when it contains
// an infinity, else kNone. x * 0 is 0 for every finite x and NaN for an
// infinity or a NaN, so each block's vectorized sum of x * 0 detects both.
template <typename T>
NonFinite find_non_finite(const T* x, Index n, int n_threads) {
    if (n <= 0) return NonFinite::kNone;
    const Index n_blocks = (n + kFiniteCheckBlock - 1) / kFiniteCheckBlock;
    std::vector<NonFinite> found(std::size_t(n_blocks), NonFinite::kNone);
    const int threads = n < kMinParallelValues
                            ? 1
                            : std::max(1, std::min<int>(resolve_thread_count(n_threads),
                                                        int(n_blocks)));
    parallel_for(n_blocks, threads, [&](Index block, int) {
        const Index begin = block * kFiniteCheckBlock;
        Eigen::Map<const ArrayX<T>> values(x + begin, std::min(kFiniteCheckBlock, n - begin));
        if ((values * T(0)).sum() == T(0)) return;
        found[std::size_t(block)] = values.isNaN().any() ? NonFinite::kNaN : NonFinite::kInfinity;
    });
    return *std::max_element(found.begin(), found.end());
}

}  // namespace fastml
