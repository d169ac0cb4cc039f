// The fused pass of the linear models: logits, loss and gradient in one sweep.
//
// Parameters are one flat vector: the coefficient matrix W (n_outputs x
// n_features, row-major) followed by the intercept b (n_outputs). For each
// block of rows the pass computes Z = X_block W^T + b, turns Z into the
// per-row gradient with respect to the logits, and adds
// dZ^T X_block to the coefficient gradient while the block is still in cache,
// so X is read from memory once per pass.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "block_products.hpp"
#include "common.hpp"
#include "losses.hpp"
#include "parallel.hpp"

namespace fastml {

enum class LinearLoss {
    kLogistic,  // one output, sigmoid, binary cross-entropy; targets in [0, 1]
    kSoftmax,   // n_outputs classes, softmax cross-entropy; class indices
    kSquared,   // n_outputs targets, squared error / 2
};

// A set of rows with their targets. Without `row_index` the rows are the
// first n_rows rows of X. With it, row i is row row_index[i] of X and of the
// targets, classes and sample weights: a mini-batch read in place.
template <typename T>
struct LinearRows {
    const T* X = nullptr;                   // n_features values per row, row-major
    Index n_rows = 0;
    const T* targets = nullptr;             // kLogistic: 1 value per row; kSquared: n_outputs
    const std::int64_t* classes = nullptr;  // kSoftmax: one class index per row
    const T* sample_weight = nullptr;       // one weight per row, or null for weights of 1
    const Index* row_index = nullptr;       // n_rows row numbers, or null for rows 0 to n_rows
};

// Values of X below which a pass runs on the calling thread: starting
// threads would cost more than they save. The thread count changes no bit,
// so this is tuned for speed alone.
constexpr Index kMinParallelValues = 8192;

inline int resolve_thread_count(int n_threads) {
#ifdef _OPENMP
    return n_threads > 0 ? n_threads : omp_get_max_threads();
#else
    (void)n_threads;
    return 1;
#endif
}

template <typename T>
class LinearModel {
public:
    LinearModel(Index n_features, Index n_outputs, LinearLoss loss)
        : n_features_(n_features), n_outputs_(n_outputs), loss_(loss) {
        if (n_features < 1) throw_invalid_argument("LinearModel: n_features must be >= 1; got ", n_features);
        if (n_outputs < 1) throw_invalid_argument("LinearModel: n_outputs must be >= 1; got ", n_outputs);
        if (loss == LinearLoss::kLogistic && n_outputs != 1) {
            throw_invalid_argument("LinearModel: the logistic loss has one output; got n_outputs=", n_outputs);
        }
        if (loss == LinearLoss::kSoftmax && n_outputs < 2) {
            throw_invalid_argument("LinearModel: the softmax loss needs n_outputs >= 2; got ", n_outputs);
        }
    }

    Index n_features() const { return n_features_; }
    Index n_outputs() const { return n_outputs_; }
    Index n_coef() const { return n_outputs_ * n_features_; }
    Index n_params() const { return n_coef() + n_outputs_; }
    LinearLoss loss() const { return loss_; }

    // Returns sum_i w_i * loss_i over the rows and writes
    // grad = scale * sum_i w_i * d(loss_i)/d(params). The sum over rows runs
    // in fixed chunks whose partial sums are added in chunk order, so the
    // bits do not depend on `n_threads`.
    double loss_and_gradient(const T* params, const LinearRows<T>& rows, double scale, T* grad,
                             int n_threads) {
        const Index n_chunks = chunk_count(rows.n_rows);
        const Index n_params = this->n_params();
        if (partial_grads_.rows() < n_chunks || partial_grads_.cols() != n_params) {
            partial_grads_.resize(std::max<Index>(n_chunks, 1), n_params);
        }
        partial_losses_.resize(std::max<Index>(n_chunks, 1));
        const bool small = rows.n_rows * n_features_ < kMinParallelValues;
        const int threads = small ? 1 : std::max(1, std::min<int>(resolve_thread_count(n_threads),
                                                                  int(n_chunks)));
        // One set of block buffers per thread, kept between calls so that a
        // mini-batch step allocates nothing.
        while (Index(buffers_.size()) < threads) buffers_.emplace_back(n_outputs_);
        // Stored rows are read with aligned loads when they allow it;
        // indexed rows are copied to aligned blocks.
        const ShiftedWeights<T> shifted =
            rows.row_index == nullptr ? shift_weights(params, n_outputs_, n_features_, rows.X, shifted_weights_)
                                      : ShiftedWeights<T>{};

        // Chunks are claimed one at a time, so a thread that shares its core
        // with another process does not hold up the pass. Which thread
        // computes a chunk does not change its partial sums.
        parallel_for(n_chunks, threads, [&](Index chunk, int slot) {
            partial_losses_[chunk] = accumulate_chunk(params, rows, chunk, shifted, buffers_[std::size_t(slot)]);
        });

        double loss_sum = partial_losses_[0];
        for (Index chunk = 1; chunk < n_chunks; ++chunk) loss_sum += partial_losses_[chunk];
        // The chunk sums are added in chunk order for each parameter, so how
        // the blocks of parameters are shared does not change a bit.
        if (Index(total_grad_.size()) != n_params) total_grad_.resize(n_params);
        const Index n_blocks = (n_params + kSumBlock - 1) / kSumBlock;
        parallel_for(n_blocks, threads, [&](Index block, int) {
            const Index begin = block * kSumBlock;
            const Index size = std::min(kSumBlock, n_params - begin);
            auto total = total_grad_.segment(begin, size);
            total = partial_grads_.row(0).segment(begin, size).transpose();
            for (Index chunk = 1; chunk < n_chunks; ++chunk)
                total += partial_grads_.row(chunk).segment(begin, size).transpose();
            Eigen::Map<Vector<T>>(grad + begin, size) = (scale * total).template cast<T>();
        });
        return loss_sum;
    }

    // Writes the logits X W^T + b, row-major (n_rows x n_outputs).
    void decision_function(const T* params, const T* X, Index n_rows, T* logits,
                           int n_threads) const {
        const Index n_chunks = chunk_count(n_rows);
        const int threads = resolve_thread_count(n_threads);
        Vector<T> buffer;
        const ShiftedWeights<T> shifted = shift_weights(params, n_outputs_, n_features_, X, buffer);
#pragma omp parallel for num_threads(threads) schedule(static) if (n_chunks > 1)
        for (Index chunk = 0; chunk < n_chunks; ++chunk) {
            const Index begin = chunk * kChunkRows;
            const Index end = std::min(n_rows, begin + kChunkRows);
            detail::PrefetchCursor no_prefetch;
            compute_logits(params, X + begin * n_features_, end - begin, logits + begin * n_outputs_,
                           shifted, no_prefetch);
        }
    }

private:
    struct BlockBuffers {
        explicit BlockBuffers(Index n_outputs)
            : logits(kBlockRows, n_outputs),
              losses(kBlockRows),
              weighted_losses(kBlockRows) {}
        RowMatrix<T> logits;
        ArrayX<T> losses;
        ArrayX<double> weighted_losses;
        GatheredRows<T> gathered;  // the rows of an indexed block
    };


    // Writes the row-major (n_rows x n_outputs) logits of n_rows rows of X.
    void compute_logits(const T* params, const T* X, Index n_rows, T* Z, const ShiftedWeights<T>& shifted,
                        detail::PrefetchCursor& prefetch) const {
        block_logits(X, n_rows, n_features_, params, params + n_coef(), n_outputs_, Z, prefetch, shifted);
    }

    // Replaces the logits of `n` rows by the gradient of each row's loss and
    // writes the losses.
    void apply_loss(const LinearRows<T>& rows, Index first, Index n, T* logits, T* losses) const {
        switch (loss_) {
            case LinearLoss::kLogistic:
                binary_cross_entropy(logits, rows.targets + first, n, losses, logits);
                break;
            case LinearLoss::kSoftmax:
                softmax_cross_entropy(logits, rows.classes + first, n, n_outputs_, losses, logits);
                break;
            case LinearLoss::kSquared: {
                const Index size = n * n_outputs_;
                RowArray<T> row_losses(n, n_outputs_);
                squared_error(logits, rows.targets + first * n_outputs_, size, row_losses.data(), logits);
                Eigen::Map<ArrayX<T>>(losses, n) = row_losses.rowwise().sum();
                break;
            }
        }
    }

    double accumulate_chunk(const T* params, const LinearRows<T>& rows, Index chunk,
                            const ShiftedWeights<T>& shifted, BlockBuffers& buffers) {
        const Index rows_per_chunk = chunk_rows(rows.n_rows);
        const Index chunk_begin = chunk * rows_per_chunk;
        const Index chunk_end = std::min(rows.n_rows, chunk_begin + rows_per_chunk);
        auto partial = partial_grads_.row(chunk);
        partial.setZero();
        double loss_sum = 0;

        const Index rows_per_block = block_rows(n_features_ * Index(sizeof(T)));
        const Index target_width = loss_ == LinearLoss::kSquared ? n_outputs_ : 1;
        for (Index begin = chunk_begin; begin < chunk_end; begin += rows_per_block) {
            const Index n = std::min(rows_per_block, chunk_end - begin);
            const LinearRows<T> view =
                contiguous_rows(rows, begin, n, n_features_, target_width, kBlockRows, buffers.gathered);
            auto Z = buffers.logits.topRows(n);
            const T* Xb = view.X;
            // The next block of stored rows follows this one in X, and it is
            // requested while this block is multiplied. Indexed rows are
            // requested while they are copied instead.
            const Index next_rows = rows.row_index == nullptr
                                        ? std::min(rows_per_block, chunk_end - (begin + n))
                                        : 0;
            detail::PrefetchCursor prefetch = block_prefetch(
                Xb + n * n_features_, next_rows * n_features_, n, n_features_, n_outputs_);
            compute_logits(params, Xb, n, Z.data(), shifted, prefetch);
            apply_loss(view, 0, n, Z.data(), buffers.losses.data());

            auto losses = buffers.losses.head(n);
            if (view.sample_weight != nullptr) {
                Eigen::Map<const ArrayX<T>> w(view.sample_weight, n);
                Z.array().colwise() *= w;
                // Summed from an aligned buffer: Eigen's vectorized sum over the
                // caller's weights would start at their first aligned element,
                // so the rounding would depend on the array's address.
                auto weighted = buffers.weighted_losses.head(n);
                weighted = losses.template cast<double>() * w.template cast<double>();
                loss_sum += weighted.sum();
            } else {
                loss_sum += losses.template cast<double>().sum();
            }

            block_gradient(Z.data(), n, n_outputs_, Xb, n_features_, partial.data(), prefetch);
            partial.tail(n_outputs_) += Z.colwise().sum().template cast<double>();
        }
        return loss_sum;
    }

    Index n_features_, n_outputs_;
    LinearLoss loss_;
    RowMatrix<double> partial_grads_;
    std::vector<double> partial_losses_;
    std::vector<BlockBuffers> buffers_;
    Vector<double> total_grad_;  // a member, so that a mini-batch step allocates nothing
    Vector<T> shifted_weights_;   // the weights with the rows of X's shift (shift_weights)

    // Parameters per block of the sum over chunks, which the threads share.
    static constexpr Index kSumBlock = 2048;
};

}  // namespace fastml
