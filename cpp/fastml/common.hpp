// Shared types, constants and argument checks of the fastml core.
#pragma once

#include <Eigen/Core>

#include <algorithm>

#include <cstddef>
#include <cstdint>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace fastml {

using Index = std::ptrdiff_t;

template <typename T>
using RowMatrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using RowArray = Eigen::Array<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <typename T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;
template <typename T>
using ArrayX = Eigen::Array<T, Eigen::Dynamic, 1>;

// Rows per reduction chunk. Gradients are summed per chunk and the chunk sums
// are added in chunk order, so the result does not depend on how many threads
// processed the chunks. Changing this constant changes the rounding of every
// fitted model, so it is fixed rather than tuned per machine.
constexpr Index kChunkRows = 2048;

// Maximum rows per block inside a chunk: a block of X stays in the L2 cache
// while its logits and its gradient contribution are computed.
constexpr Index kBlockRows = 256;

// Bytes of X per block. Wide rows get fewer rows per block, so that the block
// being multiplied and the next one, loaded into the cache meanwhile, both
// fit in a 1 MiB L2 cache or larger.
constexpr Index kBlockBytes = 256 * 1024;

// Rows per block for rows of `row_bytes` bytes: a multiple of 4 (the rows of
// a logits tile), at most kBlockRows and at least 16. It depends only on the
// row size, so the rounding of the gradient does not depend on the thread
// count.
inline Index block_rows(Index row_bytes) {
    const Index rows = kBlockBytes / std::max<Index>(row_bytes, 1);
    return std::min(kBlockRows, std::max<Index>(rows - rows % 4, 16));
}

// Builds a message from its parts and throws std::invalid_argument.
template <typename... Parts>
[[noreturn]] void throw_invalid_argument(const Parts&... parts) {
    std::ostringstream message;
    (message << ... << parts);
    throw std::invalid_argument(message.str());
}

// Sums x[0] * y[0] + ... in index order, in double. Eigen's vectorized sum
// starts at the first aligned element, so its rounding would depend on where
// a caller's array sits in memory. This loop's rounding does not.
template <typename T>
double ordered_dot(const T* x, const T* y, Index n) {
    double total = 0;
    for (Index i = 0; i < n; ++i) total += double(x[i]) * double(y[i]);
    return total;
}

template <typename T>
double ordered_sum(const T* x, Index n) {
    double total = 0;
    for (Index i = 0; i < n; ++i) total += double(x[i]);
    return total;
}

// Writes the ordered_sum of each row of the row-major (rows x k) block x.
// Eigen's row sums start at each row's first aligned element, so they would
// depend on where the block sits in memory.
template <typename T, typename Sums>
void ordered_row_sums(const T* x, Index rows, Index k, Sums& sums) {
    for (Index i = 0; i < rows; ++i) sums[i] = T(ordered_sum(x + i * k, k));
}

// Rows per chunk of a set of at most kChunkRows rows, such as a mini-batch:
// small enough that the threads share a batch of 128 rows.
constexpr Index kSmallChunkRows = 64;

// Rows per reduction chunk of a set of n_rows rows. It depends only on
// n_rows, so the rounding does not depend on the thread count.
inline Index chunk_rows(Index n_rows) {
    return n_rows > kChunkRows ? kChunkRows : kSmallChunkRows;
}

// Sum of x[i]^2 in double, over eight interleaved partial sums (i mod 8)
// added in a fixed order: vectorized, yet its rounding depends only on n,
// not on where x sits in memory. (Eigen's cast-and-sum of a float array runs
// one scalar chain, several cycles per value.)
template <typename T>
double squared_norm(const T* x, Index n) {
    double partial[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    Index i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int j = 0; j < 8; ++j) partial[j] += double(x[i + j]) * double(x[i + j]);
    }
    for (int j = 0; i + j < n; ++j) partial[j] += double(x[i + j]) * double(x[i + j]);
    return ((partial[0] + partial[1]) + (partial[2] + partial[3])) +
           ((partial[4] + partial[5]) + (partial[6] + partial[7]));
}

// Copies rows index[0], ..., index[n - 1] of the row-major X (d values per
// row) to out, one after another. Shuffled rows are scattered over X, so
// each copy would wait on memory. The first lines of a row eight rows ahead
// are requested before the copy, and the processor's own prefetcher then
// loads the rest of the row after detecting the sequential access. Requesting every line of
// wide rows was 5 to 8% slower (W2 mini-batch epoch, 2 threads).
template <typename T>
void gather_rows(const T* X, Index d, const Index* index, Index n, T* out) {
    constexpr Index kRowsAhead = 8;
    constexpr Index kLinesAhead = 16;
    const Index line = 64 / Index(sizeof(T));
    const Index requested = std::min(d, kLinesAhead * line);
    for (Index i = 0; i < n; ++i) {
        if (i + kRowsAhead < n) {
            const T* future = X + index[i + kRowsAhead] * d;
            for (Index j = 0; j < requested; j += line) __builtin_prefetch(future + j);
        }
        std::copy_n(X + index[i] * d, d, out + i * d);
    }
}

// Buffers for rows read through an index, copied next to each other.
template <typename T>
struct GatheredRows {
    RowMatrix<T> X, targets;
    ArrayX<T> sample_weight;
    std::vector<std::int64_t> classes;
};

// Returns rows [begin, begin + n) of `rows` (LinearRows or NetworkRows) as n
// contiguous rows: pointers into `rows`, or, for rows read through
// row_index, copies in `buffers`, sized for `capacity` >= n rows. Targets
// have `width` values per row and X has d. With `x_out`, copied rows of X go
// there (n x d) instead of into `buffers`.
template <typename Rows, typename T>
Rows contiguous_rows(const Rows& rows, Index begin, Index n, Index d, Index width,
                     Index capacity, GatheredRows<T>& buffers, T* x_out = nullptr) {
    Rows view;
    view.n_rows = n;
    if (rows.row_index == nullptr) {
        view.X = rows.X + begin * d;
        if (rows.targets != nullptr) view.targets = rows.targets + begin * width;
        if (rows.classes != nullptr) view.classes = rows.classes + begin;
        if (rows.sample_weight != nullptr) view.sample_weight = rows.sample_weight + begin;
        return view;
    }
    const Index* index = rows.row_index + begin;
    if (x_out == nullptr) {
        if (buffers.X.rows() != capacity || buffers.X.cols() != d) buffers.X.resize(capacity, d);
        x_out = buffers.X.data();
    }
    gather_rows(rows.X, d, index, n, x_out);
    view.X = x_out;
    if (rows.targets != nullptr) {
        if (buffers.targets.rows() != capacity || buffers.targets.cols() != width)
            buffers.targets.resize(capacity, width);
        for (Index i = 0; i < n; ++i)
            std::copy_n(rows.targets + index[i] * width, width, buffers.targets.row(i).data());
        view.targets = buffers.targets.data();
    }
    if (rows.classes != nullptr) {
        buffers.classes.resize(std::size_t(capacity));
        for (Index i = 0; i < n; ++i) buffers.classes[std::size_t(i)] = rows.classes[index[i]];
        view.classes = buffers.classes.data();
    }
    if (rows.sample_weight != nullptr) {
        if (buffers.sample_weight.size() != capacity) buffers.sample_weight.resize(capacity);
        for (Index i = 0; i < n; ++i) buffers.sample_weight[i] = rows.sample_weight[index[i]];
        view.sample_weight = buffers.sample_weight.data();
    }
    return view;
}

inline Index chunk_count(Index n_rows) {
    const Index rows = chunk_rows(n_rows);
    return (n_rows + rows - 1) / rows;
}

}  // namespace fastml
