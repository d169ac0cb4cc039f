// A dense feed-forward network: forward pass, loss and gradient.
//
// Layer l maps its input A_{l-1} (rows x in_l, with A_{-1} = X) to
// A_l = f_l(A_{l-1} W_l^T + b_l), where W_l is (out_l x in_l) as in
// torch.nn.Linear. The last layer has no activation: its outputs are the
// logits, and the loss is computed from them by the kernels of losses.hpp.
//
// Parameters are one flat vector, layer by layer: W_0 (row-major), b_0,
// W_1, b_1, ... Segment 2l is W_l and segment 2l + 1 is b_l; the trainer
// passes segments to the optimizer one at a time, so each can be frozen.
//
// Backward pass, with D_l = d(loss)/d(A_{l-1} W_l^T + b_l):
//   D_last = gradient of the loss with respect to the logits
//   grad W_l = D_l^T A_{l-1},  grad b_l = column sums of D_l
//   D_{l-1} = (D_l W_l) * f'_{l-1}
#pragma once

#include <algorithm>
#include <limits>
#include <cstdint>
#include <functional>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common.hpp"
#include "../linear_model.hpp"
#include "../losses.hpp"
#include "../parallel.hpp"
#include "dense.hpp"

namespace fastml {

enum class OutputLoss {
    kSoftmax,  // softmax cross-entropy against class indices
    kSigmoid,  // one sigmoid and binary cross-entropy per output, summed per row
    kSquared,  // squared error / 2, summed per row
};

// Rows per chunk of a network's pass: the unit of work of one thread in the
// forward pass and in the backward pass through the layers. A mini-batch of
// 128 rows is two chunks, so two threads share it. Changing it changes the
// rounding of every fitted network.
constexpr Index kNetworkChunkRows = 64;

// Passes over at most this many rows (every usual mini-batch) keep the
// activations and deltas of all their rows, and compute each weight
// gradient with one product over all the rows, split among the threads by
// blocks of output units. The gradient is then written once, in place, and
// each block can be handed to the optimizer while it is still in cache.
constexpr Index kWholeBatchRows = 512;

// Such a pass also keeps a copy of its rows of X when they are read through
// an index. It is used only while that copy has at most this many values
// (16 MiB of float32), such as 512 rows of 8,192 features or 41 of 100,000.
constexpr Index kWholeBatchValues = Index(1) << 22;

// Output units per block of a weight gradient in a pass of up to
// kWholeBatchRows rows: a block is rows [u, u + 64) of W, one contiguous
// range of the parameters.
constexpr Index kGradientBlockUnits = 64;

// Longer passes group their chunks into at most this many parts of
// consecutive chunks, fixed by the number of rows alone. Each part keeps one
// partial gradient in float64, and the parts are added in order at the end,
// so the bits do not depend on the thread count. Memory stays at this many
// gradients at most, however many rows there are.
constexpr Index kMaxNetworkParts = 32;

// Parameters per range of the final sum over parts, which the threads share.
constexpr Index kNetworkSumBlock = 4096;

// Below this many parameters, the gradient ranges of a pass are finished on
// the calling thread: waking another would cost more than the work.
constexpr Index kSerialRangeParams = 16384;

// Rows of a data set with their targets. Without `row_index` the rows are
// the first n_rows rows of X. With it, row i is row row_index[i] of X and of
// the targets, classes and sample weights: a mini-batch read in place.
template <typename T>
struct NetworkRows {
    const T* X = nullptr;  // n_features values per row, row-major
    Index n_rows = 0;
    const T* targets = nullptr;             // kSigmoid, kSquared: n_outputs values per row
    const std::int64_t* classes = nullptr;  // kSoftmax: one class index per row
    const T* sample_weight = nullptr;       // one weight per row, or null for weights of 1
    const Index* row_index = nullptr;       // n_rows row numbers, or null for rows 0 to n_rows
};

// Uniform double in [0, 1) from the top 53 bits of one draw, the same on
// every platform (std::uniform_real_distribution is implementation-defined).
inline double uniform_unit(std::mt19937_64& engine) { return double(engine() >> 11) * 0x1.0p-53; }

template <typename T>
class Network {
public:
    // `layer_sizes` lists n_features, the hidden widths and n_outputs;
    // `activations` contains one activation per hidden layer.
    Network(std::vector<Index> layer_sizes, std::vector<Activation> activations, OutputLoss output)
        : sizes_(std::move(layer_sizes)), activations_(std::move(activations)), output_(output) {
        if (sizes_.size() < 2) {
            throw_invalid_argument(
                "Network: layer_sizes needs at least n_features and n_outputs; got ", sizes_.size(),
                " sizes");
        }
        for (std::size_t i = 0; i < sizes_.size(); ++i) {
            if (sizes_[i] < 1)
                throw_invalid_argument("Network: layer_sizes[", i, "] must be >= 1; got ",
                                       sizes_[i]);
        }
        if (Index(activations_.size()) != n_layers() - 1) {
            throw_invalid_argument("Network: expected one activation per hidden layer (",
                                   n_layers() - 1, "); got ", activations_.size());
        }
        if (output_ == OutputLoss::kSoftmax && n_outputs() < 2) {
            throw_invalid_argument("Network: the softmax output needs n_outputs >= 2; got ",
                                   n_outputs());
        }
        // Parameter counts past the range of Index would wrap around and
        // size the buffers wrongly, so they are rejected here.
        constexpr Index kMaxParams = std::numeric_limits<Index>::max() / 16;
        Index offset = 0;
        for (Index l = 0; l < n_layers(); ++l) {
            offsets_.push_back(offset);
            if (fan_in(l) >= kMaxParams || fan_out(l) > (kMaxParams - offset) / (fan_in(l) + 1)) {
                throw_invalid_argument("Network: layer_sizes ", fan_in(l), " -> ", fan_out(l),
                                       " give more than ", kMaxParams, " parameters");
            }
            offset += fan_out(l) * (fan_in(l) + 1);
        }
        offsets_.push_back(offset);
        max_width_ = *std::max_element(sizes_.begin(), sizes_.end());
    }

    Index n_layers() const { return Index(sizes_.size()) - 1; }
    Index n_features() const { return sizes_.front(); }
    Index n_outputs() const { return sizes_.back(); }
    Index fan_in(Index layer) const { return sizes_[layer]; }
    Index fan_out(Index layer) const { return sizes_[layer + 1]; }
    Index n_params() const { return offsets_.back(); }
    Index n_segments() const { return 2 * n_layers(); }
    Index weight_offset(Index layer) const { return offsets_[layer]; }
    Index bias_offset(Index layer) const {
        return offsets_[layer] + fan_out(layer) * fan_in(layer);
    }
    Index segment_begin(Index segment) const {
        return segment % 2 == 0 ? weight_offset(segment / 2) : bias_offset(segment / 2);
    }
    Index segment_end(Index segment) const {
        return segment % 2 == 0 ? bias_offset(segment / 2) : offsets_[segment / 2 + 1];
    }
    OutputLoss output() const { return output_; }
    Activation activation(Index layer) const {
        return layer < n_layers() - 1 ? activations_[layer] : Activation::kLinear;
    }

    // Draws every weight uniformly from [-r, r] with r = sqrt(6 / fan_in)
    // (He) for ReLU-family layers and r = sqrt(6 / (fan_in + fan_out))
    // (Glorot) otherwise, the output layer included; biases start at 0.
    void initialize(T* params, std::mt19937_64& engine) const {
        for (Index l = 0; l < n_layers(); ++l) {
            const double fan_sum = uses_he_initialization(activation(l))
                                       ? double(fan_in(l))
                                       : double(fan_in(l) + fan_out(l));
            const double bound = std::sqrt(6.0 / fan_sum);
            for (Index i = weight_offset(l); i < bias_offset(l); ++i) {
                params[i] = T(bound * (2.0 * uniform_unit(engine) - 1.0));
            }
            std::fill(params + bias_offset(l), params + offsets_[l + 1], T(0));
        }
    }

    // Called once for each range of the gradient, from any thread, as soon
    // as grad[begin, end) of trainable segment `segment` is final. `item`
    // numbers the ranges from 0 to gradient_range_count(rows) - 1 in a fixed
    // order. The callback may change params[begin, end): the pass reads no
    // parameter after it has written the first gradient range.
    using RangeCallback = std::function<void(Index item, Index segment, Index begin, Index end)>;

    // Returns sum_i w_i * loss_i over the rows and, when `grad` is not null,
    // writes grad = scale * sum_i w_i * d(loss_i)/d(params). Gradients of the
    // segments with `trainable[s]` false are set to 0 and the backward pass
    // stops below the lowest trainable layer. An empty `trainable` means all.
    //
    // Up to kWholeBatchRows rows (kWholeBatchValues values), each weight
    // gradient is one product over all the rows, in T. Longer passes add each chunk's gradient to its
    // part's float64 sum, then add the parts in order and scale once.
    double loss_and_gradient(const T* params, const NetworkRows<T>& rows, double scale, T* grad,
                             const std::vector<bool>& trainable, int n_threads,
                             const RangeCallback& on_range = nullptr) {
        const Index n_chunks = chunk_total(rows.n_rows);
        const bool with_grad = grad != nullptr;
        whole_batch_ = uses_whole_batch(rows.n_rows);
        const Index n_parts = whole_batch_ ? n_chunks : std::min(n_chunks, kMaxNetworkParts);
        if (with_grad && whole_batch_) {
            reserve_batch(rows.n_rows, rows.row_index != nullptr);
            batch_input_ = rows.row_index != nullptr ? batch_X_.data() : rows.X;
        } else if (with_grad && (part_sums_.rows() < n_parts || part_sums_.cols() != n_params())) {
            part_sums_.resize(n_parts, n_params());
        }
        if (Index(partial_losses_.size()) < n_chunks) partial_losses_.resize(n_chunks);
        const int available = resolve_thread_count(n_threads);
        const int threads = std::max(1, std::min<int>(available, int(n_parts)));
        if (with_grad) plan_gradient_ranges(rows.n_rows);
        const Index n_ranges = Index(gradient_ranges_.size());
        const int range_threads = !with_grad || n_params() < kSerialRangeParams
                                      ? 1
                                      : std::max(1, std::min<int>(available, int(n_ranges)));
        reserve_workspaces(std::max(threads, range_threads));
        const Index lowest = with_grad ? lowest_trainable_layer(trainable) : n_layers();

        parallel_for(n_parts, threads, [&](Index part, int slot) {
            const Index first = part * n_chunks / n_parts;
            const Index last = (part + 1) * n_chunks / n_parts;
            for (Index chunk = first; chunk < last; ++chunk) {
                partial_losses_[chunk] =
                    accumulate_chunk(params, rows, chunk, part, chunk == first, with_grad,
                                     trainable, lowest, workspaces_[slot]);
            }
        });
        if (with_grad) {
            parallel_for(n_ranges, range_threads, [&](Index item, int slot) {
                const GradientRange& range = gradient_ranges_[item];
                const bool computed = range.segment / 2 >= lowest &&
                                      (trainable.empty() || trainable[range.segment]);
                if (!computed) {
                    std::fill(grad + range.begin, grad + range.end, T(0));
                    return;
                }
                if (whole_batch_) {
                    batch_gradient(range, rows.n_rows, scale, grad, workspaces_[slot]);
                } else {
                    sum_parts(range, n_parts, scale, grad, workspaces_[slot]);
                }
                if (on_range) on_range(item, range.segment, range.begin, range.end);
            });
        }

        double loss_sum = 0;
        for (Index chunk = 0; chunk < n_chunks; ++chunk) loss_sum += partial_losses_[chunk];
        return loss_sum;
    }

    // The number of ranges loss_and_gradient reports for `n_rows` rows.
    Index gradient_range_count(Index n_rows) {
        plan_gradient_ranges(n_rows);
        return Index(gradient_ranges_.size());
    }

    // Writes the logits of `n_rows` rows, row-major (n_rows x n_outputs).
    void forward(const T* params, const T* X, Index n_rows, T* logits, int n_threads) {
        const Index n_chunks = (n_rows + kNetworkChunkRows - 1) / kNetworkChunkRows;
        const int threads = std::max(
            1, std::min<int>(resolve_thread_count(n_threads), int(std::max<Index>(n_chunks, 1))));
        reserve_workspaces(threads);
#pragma omp parallel num_threads(threads) if (threads > 1)
        {
#ifdef _OPENMP
            Workspace& workspace = workspaces_[omp_get_thread_num()];
#else
            Workspace& workspace = workspaces_[0];
#endif
#pragma omp for schedule(static)
            for (Index chunk = 0; chunk < n_chunks; ++chunk) {
                const Index begin = chunk * kNetworkChunkRows;
                const Index n = std::min(kNetworkChunkRows, n_rows - begin);
                forward_block(params, X + begin * n_features(), n, workspace);
                const RowMatrix<T>& out = workspace.outputs.back();
                std::copy_n(out.data(), n * n_outputs(), logits + begin * n_outputs());
            }
        }
    }

private:
    // Buffers of one thread, sized for a full chunk when first needed.
    struct Workspace {
        std::vector<RowMatrix<T>> outputs;  // A_l for every layer, the logits last
        ArrayX<T> delta, next_delta;        // D_l of the hidden layers, n x width each
        RowMatrix<T> weight_grad;           // D_l^T A_{l-1} of the largest layer
        ArrayX<T> losses;
        RowArray<T> element_losses;
        GatheredRows<T> gathered;  // the rows of an indexed chunk
        ArrayX<double> range_sum;  // one range of a sum over rows or parts
        std::vector<T*> layer_rows;  // the first row of a chunk in each layer's output
    };

    // A piece of one segment: rows of a weight matrix or a whole bias.
    struct GradientRange {
        Index segment, begin, end;
    };

    void reserve_workspaces(int threads) {
        if (Index(workspaces_.size()) >= threads) return;
        workspaces_.resize(threads);
        for (Workspace& workspace : workspaces_) {
            if (!workspace.outputs.empty()) continue;
            for (Index l = 0; l < n_layers(); ++l)
                workspace.outputs.emplace_back(kNetworkChunkRows, fan_out(l));
            workspace.delta.resize(kNetworkChunkRows * max_width_);
            workspace.next_delta.resize(kNetworkChunkRows * max_width_);
            workspace.losses.resize(kNetworkChunkRows);
            workspace.element_losses.resize(kNetworkChunkRows, n_outputs());
            workspace.range_sum.resize(std::max(kNetworkSumBlock, max_width_));
            workspace.layer_rows.resize(std::size_t(n_layers()));
        }
    }

    // Sizes the activations and deltas of a whole-batch pass, and the copies
    // of its rows when they are `indexed`.
    void reserve_batch(Index n_rows, bool indexed) {
        if (batch_outputs_.empty()) {
            for (Index l = 0; l < n_layers(); ++l) {
                batch_outputs_.emplace_back(0, fan_out(l));
                batch_deltas_.emplace_back(0, fan_out(l));
            }
        }
        if (indexed && batch_X_.rows() < n_rows) batch_X_.resize(n_rows, n_features());
        if (batch_outputs_[0].rows() >= n_rows) return;
        for (Index l = 0; l < n_layers(); ++l) {
            batch_outputs_[l].resize(n_rows, fan_out(l));
            // The last layer's delta replaces its logits in place.
            if (l + 1 < n_layers()) batch_deltas_[l].resize(n_rows, fan_out(l));
        }
    }

    // The ranges of a pass over n_rows rows, segment by segment: blocks of
    // kGradientBlockUnits rows of each weight matrix and whole biases for
    // whole-batch passes, pieces of kNetworkSumBlock parameters otherwise.
    void plan_gradient_ranges(Index n_rows) {
        const bool whole_batch = uses_whole_batch(n_rows);
        if (!gradient_ranges_.empty() && planned_whole_batch_ == whole_batch) return;
        planned_whole_batch_ = whole_batch;
        gradient_ranges_.clear();
        for (Index segment = 0; segment < n_segments(); ++segment) {
            const Index begin = segment_begin(segment), end = segment_end(segment);
            Index step = kNetworkSumBlock;
            if (whole_batch) step = segment % 2 == 0 ? kGradientBlockUnits * fan_in(segment / 2)
                                                     : end - begin;
            for (Index first = begin; first < end; first += step)
                gradient_ranges_.push_back({segment, first, std::min(first + step, end)});
        }
    }

    bool uses_whole_batch(Index n_rows) const {
        return n_rows <= kWholeBatchRows && n_rows * n_features() <= kWholeBatchValues;
    }

    Index lowest_trainable_layer(const std::vector<bool>& trainable) const {
        if (trainable.empty()) return 0;
        for (Index l = 0; l < n_layers(); ++l) {
            if (trainable[2 * l] || trainable[2 * l + 1]) return l;
        }
        return n_layers();
    }

    static Index chunk_total(Index n_rows) {
        return std::max<Index>(1, (n_rows + kNetworkChunkRows - 1) / kNetworkChunkRows);
    }

    // Writes the activations of n rows starting at X: layer l's to out[l],
    // fan_out(l) values per row.
    void forward_block(const T* params, const T* X, Index n, T* const* out) const {
        const T* input = X;
        for (Index l = 0; l < n_layers(); ++l) {
            Eigen::Map<const RowMatrix<T>> A(input, n, fan_in(l));
            Eigen::Map<const RowMatrix<T>> W(params + weight_offset(l), fan_out(l), fan_in(l));
            Eigen::Map<RowMatrix<T>> Z(out[l], n, fan_out(l));
            Z.noalias() = A * W.transpose();
            add_bias_and_activate(Z.data(), params + bias_offset(l), n, fan_out(l), activation(l));
            input = Z.data();
        }
    }

    // Fills workspace.outputs[l] for the first n rows; input rows start at X.
    void forward_block(const T* params, const T* X, Index n, Workspace& workspace) const {
        forward_block(params, X, n, layer_rows(workspace.outputs, 0, workspace));
    }

    // Returns pointers to row `row` of each matrix in `matrices`, kept in
    // workspace.layer_rows.
    T* const* layer_rows(std::vector<RowMatrix<T>>& matrices, Index row,
                         Workspace& workspace) const {
        for (Index l = 0; l < n_layers(); ++l)
            workspace.layer_rows[std::size_t(l)] = matrices[l].data() + row * fan_out(l);
        return workspace.layer_rows.data();
    }

    // Replaces the n x n_outputs logits by the gradient of each row's loss
    // and writes the per-row losses.
    void apply_loss(const NetworkRows<T>& rows, Index n, T* logits,
                    Workspace& workspace) const {
        const Index k = n_outputs();
        T* losses = workspace.losses.data();
        switch (output_) {
            case OutputLoss::kSoftmax:
                softmax_cross_entropy(logits, rows.classes, n, k, losses, logits);
                return;
            case OutputLoss::kSigmoid:
                binary_cross_entropy(logits, rows.targets, n * k,
                                     workspace.element_losses.data(), logits);
                break;
            case OutputLoss::kSquared:
                squared_error(logits, rows.targets, n * k,
                              workspace.element_losses.data(), logits);
                break;
        }
        workspace.losses.head(n) = workspace.element_losses.topRows(n).rowwise().sum();
    }

    // Runs the forward and, with `with_grad`, the backward pass of one chunk
    // and returns its weighted loss sum. In a whole-batch pass the chunk's
    // rows, activations and deltas go to the batch buffers, for the
    // products of batch_gradient. Otherwise the chunk's gradient is written
    // to its part's sum, or added to it unless `first_in_part`.
    double accumulate_chunk(const T* params, const NetworkRows<T>& rows, Index chunk, Index part,
                            bool first_in_part, bool with_grad,
                            const std::vector<bool>& trainable, Index lowest,
                            Workspace& workspace) {
        const Index begin = chunk * kNetworkChunkRows;
        const Index n = std::min(kNetworkChunkRows, rows.n_rows - begin);
        const bool in_batch = with_grad && whole_batch_;
        T* x_copy = in_batch ? batch_X_.data() + begin * n_features() : nullptr;
        const NetworkRows<T> view = contiguous_rows(rows, begin, n, n_features(), n_outputs(),
                                                    kNetworkChunkRows, workspace.gathered, x_copy);
        T* const* out =
            layer_rows(in_batch ? batch_outputs_ : workspace.outputs, in_batch ? begin : 0, workspace);
        forward_block(params, view.X, n, out);

        // The logits are replaced in place by the gradient of each row's loss.
        T* logits = out[n_layers() - 1];
        apply_loss(view, n, logits, workspace);
        auto losses = workspace.losses.head(n);
        double loss_sum = 0;
        if (view.sample_weight != nullptr) {
            loss_sum = ordered_dot(losses.data(), view.sample_weight, n);
        } else {
            loss_sum = losses.template cast<double>().sum();
        }
        if (!with_grad || lowest >= n_layers()) return loss_sum;
        if (view.sample_weight != nullptr) {
            Eigen::Map<RowArray<T>> D(logits, n, n_outputs());
            D.colwise() *= Eigen::Map<const ArrayX<T>>(view.sample_weight, n);
        }
        if (in_batch) {
            propagate_deltas(params, n, lowest, out, begin);
        } else {
            backward_block(params, view, n, out, trainable, lowest, part, first_in_part,
                           workspace);
        }
        return loss_sum;
    }

    // D_{l-1} = (D_l W_l) * f'_{l-1}(A_{l-1}) for the chunk's rows of a
    // whole-batch pass, from the last layer down to `lowest`; the deltas go
    // to batch_deltas_ from row `begin`. `out` points to the chunk's activations.
    void propagate_deltas(const T* params, Index n, Index lowest, T* const* out, Index begin) {
        const T* delta = out[n_layers() - 1];
        for (Index l = n_layers() - 1; l > lowest; --l) {
            Eigen::Map<const RowMatrix<T>> D(delta, n, fan_out(l));
            Eigen::Map<const RowMatrix<T>> W(params + weight_offset(l), fan_out(l), fan_in(l));
            T* previous_data = batch_deltas_[l - 1].data() + begin * fan_in(l);
            Eigen::Map<RowMatrix<T>> previous(previous_data, n, fan_in(l));
            previous.noalias() = D * W;
            multiply_by_derivative(previous_data, out[l - 1], n * fan_in(l), activation(l - 1));
            delta = previous_data;
        }
    }

    // Writes one range of a whole-batch gradient: scale * D_l^T A_{l-1} for
    // a block of rows of W_l, or scale times the column sums of D_l (in
    // float64, row by row) for b_l.
    void batch_gradient(const GradientRange& range, Index n, double scale, T* grad,
                        Workspace& workspace) const {
        const Index l = range.segment / 2;
        const T* delta =
            l + 1 == n_layers() ? batch_outputs_[l].data() : batch_deltas_[l].data();
        Eigen::Map<const RowMatrix<T>> D(delta, n, fan_out(l));
        if (range.segment % 2 == 0) {
            const T* input = l == 0 ? batch_input_ : batch_outputs_[l - 1].data();
            Eigen::Map<const RowMatrix<T>> A(input, n, fan_in(l));
            const Index first_unit = (range.begin - weight_offset(l)) / fan_in(l);
            const Index units = (range.end - range.begin) / fan_in(l);
            Eigen::Map<RowMatrix<T>> G(grad + range.begin, units, fan_in(l));
            G.noalias() = (T(scale) * D.middleCols(first_unit, units).transpose()) * A;
            return;
        }
        auto total = workspace.range_sum.head(fan_out(l));
        total.setZero();
        for (Index i = 0; i < n; ++i) total += D.row(i).transpose().array().template cast<double>();
        Eigen::Map<ArrayX<T>>(grad + range.begin, fan_out(l)) = (scale * total).template cast<T>();
    }

    // Writes the chunk's gradient to part `part` of a pass over many rows,
    // starting from D_last, which accumulate_chunk left in place of the
    // logits. Only the trainable segments are written; sum_parts never reads
    // the others. `out` points to the chunk's activations.
    void backward_block(const T* params, const NetworkRows<T>& view, Index n, T* const* out,
                        const std::vector<bool>& trainable, Index lowest, Index part,
                        bool first_in_part, Workspace& workspace) {
        if (workspace.weight_grad.size() == 0) {
            Index largest = 0;
            for (Index l = 0; l < n_layers(); ++l)
                largest = std::max(largest, fan_out(l) * fan_in(l));
            workspace.weight_grad.resize(1, largest);
        }
        const T* delta = out[n_layers() - 1];
        T* spare = workspace.delta.data();
        T* other_spare = workspace.next_delta.data();
        for (Index l = n_layers() - 1; l >= lowest; --l) {
            Eigen::Map<const RowMatrix<T>> D(delta, n, fan_out(l));
            Eigen::Map<const RowMatrix<T>> A(l == 0 ? view.X : out[l - 1], n, fan_in(l));
            if (trainable.empty() || trainable[2 * l]) {
                Eigen::Map<RowMatrix<T>> G(workspace.weight_grad.data(), fan_out(l), fan_in(l));
                G.noalias() = D.transpose() * A;
                add_to_part(part, first_in_part, weight_offset(l), G.data(),
                            fan_out(l) * fan_in(l));
            }
            if (trainable.empty() || trainable[2 * l + 1]) {
                Eigen::Matrix<T, 1, Eigen::Dynamic> bias_grad = D.colwise().sum();
                add_to_part(part, first_in_part, bias_offset(l), bias_grad.data(), fan_out(l));
            }
            if (l == lowest) break;

            Eigen::Map<const RowMatrix<T>> W(params + weight_offset(l), fan_out(l), fan_in(l));
            Eigen::Map<RowMatrix<T>> previous(spare, n, fan_in(l));
            previous.noalias() = D * W;
            multiply_by_derivative(spare, out[l - 1], n * fan_in(l), activation(l - 1));
            delta = spare;
            std::swap(spare, other_spare);
        }
    }

    // Writes (first chunk of the part) or adds a chunk's gradient for
    // params[offset, offset + size) to the part's float64 sum.
    void add_to_part(Index part, bool first_in_part, Index offset, const T* values, Index size) {
        Eigen::Map<const ArrayX<T>> block(values, size);
        Eigen::Map<ArrayX<double>> sum(part_sums_.row(part).data() + offset, size);
        if (first_in_part) {
            sum = block.template cast<double>();
        } else {
            sum += block.template cast<double>();
        }
    }

    // Writes grad = T(scale * (part_0 + part_1 + ...)) in float64, in part
    // order, for one range. Each value is computed alone, so how ranges are
    // shared among threads does not change a bit.
    void sum_parts(const GradientRange& range, Index n_parts, double scale, T* grad,
                   Workspace& workspace) const {
        const Index size = range.end - range.begin;
        auto total = workspace.range_sum.head(size);
        total = Eigen::Map<const ArrayX<double>>(part_sums_.row(0).data() + range.begin, size);
        for (Index part = 1; part < n_parts; ++part)
            total += Eigen::Map<const ArrayX<double>>(part_sums_.row(part).data() + range.begin, size);
        Eigen::Map<ArrayX<T>>(grad + range.begin, size) = (scale * total).template cast<T>();
    }

    std::vector<Index> sizes_;
    std::vector<Activation> activations_;
    OutputLoss output_;
    std::vector<Index> offsets_;
    Index max_width_ = 0;
    RowMatrix<double> part_sums_;  // one row per part of a pass over many rows
    // A whole-batch pass: the copied rows of X, every layer's activations
    // and the hidden layers' deltas, one row per batch row.
    RowMatrix<T> batch_X_;
    const T* batch_input_ = nullptr;  // the pass's rows of X, in order
    std::vector<RowMatrix<T>> batch_outputs_, batch_deltas_;
    bool whole_batch_ = true;  // whether the current pass keeps all its rows
    std::vector<GradientRange> gradient_ranges_;
    bool planned_whole_batch_ = true;  // the kind of pass gradient_ranges_ is for
    std::vector<double> partial_losses_;
    std::vector<Workspace> workspaces_;
};

}  // namespace fastml
