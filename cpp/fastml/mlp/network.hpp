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
#include <cstdint>
#include <random>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "../common.hpp"
#include "../linear_model.hpp"
#include "../losses.hpp"
#include "dense.hpp"

namespace fastml {

enum class OutputLoss {
    kSoftmax,  // softmax cross-entropy against class indices
    kSigmoid,  // one sigmoid and binary cross-entropy per output, summed per row
    kSquared,  // squared error / 2, summed per row
};

// Rows per reduction chunk of a network. A chunk is also one block: the
// activations of all its layers stay in cache through the backward pass.
// Partial gradients of the chunks are added in chunk order, so the bits do
// not depend on the thread count. Changing it changes the rounding of every
// fitted network.
constexpr Index kNetworkChunkRows = 256;

// Rows of a data set stored contiguously, with their targets.
template <typename T>
struct NetworkRows {
    const T* X = nullptr;  // n_rows x n_features, row-major
    Index n_rows = 0;
    const T* targets = nullptr;             // kSigmoid, kSquared: n_rows x n_outputs
    const std::int64_t* classes = nullptr;  // kSoftmax: n_rows class indices
    const T* sample_weight = nullptr;       // n_rows, or null for weights of 1
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
        Index offset = 0;
        for (Index l = 0; l < n_layers(); ++l) {
            offsets_.push_back(offset);
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

    // Returns sum_i w_i * loss_i over the rows and, when `grad` is not null,
    // writes grad = scale * sum_i w_i * d(loss_i)/d(params). Gradients of the
    // segments with `trainable[s]` false are left at 0 and the backward pass
    // stops below the lowest trainable layer. An empty `trainable` means all.
    double loss_and_gradient(const T* params, const NetworkRows<T>& rows, double scale, T* grad,
                             const std::vector<bool>& trainable, int n_threads) {
        const Index n_chunks =
            std::max<Index>(1, (rows.n_rows + kNetworkChunkRows - 1) / kNetworkChunkRows);
        const bool with_grad = grad != nullptr;
        // A single chunk (a mini-batch) writes its scaled gradient straight
        // into `grad`: the same values as the per-chunk sums below, without
        // the round trip through a float64 row of n_params.
        const bool direct = with_grad && n_chunks == 1;
        direct_grad_ = direct ? grad : nullptr;
        direct_scale_ = scale;
        if (with_grad && !direct &&
            (partial_grads_.rows() < n_chunks || partial_grads_.cols() != n_params())) {
            partial_grads_.resize(n_chunks, n_params());
        }
        if (Index(partial_losses_.size()) < n_chunks) partial_losses_.resize(n_chunks);
        const int threads =
            std::max(1, std::min<int>(resolve_thread_count(n_threads), int(n_chunks)));
        reserve_workspaces(threads);
        const Index lowest = with_grad ? lowest_trainable_layer(trainable) : n_layers();

#pragma omp parallel num_threads(threads) if (threads > 1)
        {
#ifdef _OPENMP
            Workspace& workspace = workspaces_[omp_get_thread_num()];
#else
            Workspace& workspace = workspaces_[0];
#endif
#pragma omp for schedule(static)
            for (Index chunk = 0; chunk < n_chunks; ++chunk) {
                partial_losses_[chunk] =
                    accumulate_chunk(params, rows, chunk, with_grad, trainable, lowest, workspace);
            }
        }

        double loss_sum = 0;
        for (Index chunk = 0; chunk < n_chunks; ++chunk) loss_sum += partial_losses_[chunk];
        if (with_grad && !direct) {
            Vector<double> total = partial_grads_.row(0).transpose();
            for (Index chunk = 1; chunk < n_chunks; ++chunk)
                total += partial_grads_.row(chunk).transpose();
            Eigen::Map<Vector<T>>(grad, n_params()) = (scale * total).template cast<T>();
        }
        return loss_sum;
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
            Index largest = 0;
            for (Index l = 0; l < n_layers(); ++l)
                largest = std::max(largest, fan_out(l) * fan_in(l));
            workspace.weight_grad.resize(1, largest);
            workspace.losses.resize(kNetworkChunkRows);
            workspace.element_losses.resize(kNetworkChunkRows, n_outputs());
        }
    }

    Index lowest_trainable_layer(const std::vector<bool>& trainable) const {
        if (trainable.empty()) return 0;
        for (Index l = 0; l < n_layers(); ++l) {
            if (trainable[2 * l] || trainable[2 * l + 1]) return l;
        }
        return n_layers();
    }

    // Fills workspace.outputs[l] for the first n rows; input rows start at X.
    void forward_block(const T* params, const T* X, Index n, Workspace& workspace) const {
        const T* input = X;
        for (Index l = 0; l < n_layers(); ++l) {
            Eigen::Map<const RowMatrix<T>> A(input, n, fan_in(l));
            Eigen::Map<const RowMatrix<T>> W(params + weight_offset(l), fan_out(l), fan_in(l));
            auto Z = workspace.outputs[l].topRows(n);
            Z.noalias() = A * W.transpose();
            add_bias_and_activate(Z.data(), params + bias_offset(l), n, fan_out(l), activation(l));
            input = Z.data();
        }
    }

    // Replaces the n x n_outputs logits by the gradient of each row's loss
    // and writes the per-row losses.
    void apply_loss(const NetworkRows<T>& rows, Index first, Index n, T* logits,
                    Workspace& workspace) const {
        const Index k = n_outputs();
        T* losses = workspace.losses.data();
        switch (output_) {
            case OutputLoss::kSoftmax:
                softmax_cross_entropy(logits, rows.classes + first, n, k, losses, logits);
                return;
            case OutputLoss::kSigmoid:
                binary_cross_entropy(logits, rows.targets + first * k, n * k,
                                     workspace.element_losses.data(), logits);
                break;
            case OutputLoss::kSquared:
                squared_error(logits, rows.targets + first * k, n * k,
                              workspace.element_losses.data(), logits);
                break;
        }
        workspace.losses.head(n) = workspace.element_losses.topRows(n).rowwise().sum();
    }

    double accumulate_chunk(const T* params, const NetworkRows<T>& rows, Index chunk,
                            bool with_grad, const std::vector<bool>& trainable, Index lowest,
                            Workspace& workspace) {
        const Index begin = chunk * kNetworkChunkRows;
        const Index n = std::min(kNetworkChunkRows, rows.n_rows - begin);
        forward_block(params, rows.X + begin * n_features(), n, workspace);

        // The logits are replaced in place by the gradient of each row's loss.
        T* logits = workspace.outputs.back().data();
        apply_loss(rows, begin, n, logits, workspace);
        auto losses = workspace.losses.head(n);
        double loss_sum = 0;
        if (rows.sample_weight != nullptr) {
            loss_sum = ordered_dot(losses.data(), rows.sample_weight + begin, n);
        } else {
            loss_sum = losses.template cast<double>().sum();
        }
        if (with_grad) backward_block(params, rows, begin, n, trainable, lowest, chunk, workspace);
        return loss_sum;
    }

    // Adds the chunk's gradient to row `chunk` of partial_grads_, starting
    // from D_last, which accumulate_chunk left in place of the logits.
    void backward_block(const T* params, const NetworkRows<T>& rows, Index begin, Index n,
                        const std::vector<bool>& trainable, Index lowest, Index chunk,
                        Workspace& workspace) {
        if (direct_grad_ != nullptr) {
            // Segments that get no gradient below are 0, as in the summed path.
            std::fill_n(direct_grad_, n_params(), T(0));
        } else {
            partial_grads_.row(chunk).setZero();
        }
        if (lowest >= n_layers()) return;

        T* delta = workspace.outputs.back().data();
        if (rows.sample_weight != nullptr) {
            Eigen::Map<RowArray<T>> D(delta, n, n_outputs());
            D.colwise() *= Eigen::Map<const ArrayX<T>>(rows.sample_weight + begin, n);
        }
        T* spare = workspace.delta.data();
        T* other_spare = workspace.next_delta.data();
        const T* X = rows.X + begin * n_features();
        for (Index l = n_layers() - 1; l >= lowest; --l) {
            Eigen::Map<const RowMatrix<T>> D(delta, n, fan_out(l));
            Eigen::Map<const RowMatrix<T>> A(l == 0 ? X : workspace.outputs[l - 1].data(), n,
                                             fan_in(l));
            if (trainable.empty() || trainable[2 * l]) {
                Eigen::Map<RowMatrix<T>> G(workspace.weight_grad.data(), fan_out(l), fan_in(l));
                G.noalias() = D.transpose() * A;
                store_gradient(chunk, weight_offset(l), G.data(), fan_out(l) * fan_in(l));
            }
            if (trainable.empty() || trainable[2 * l + 1]) {
                Eigen::Matrix<T, 1, Eigen::Dynamic> bias_grad = D.colwise().sum();
                store_gradient(chunk, bias_offset(l), bias_grad.data(), fan_out(l));
            }
            if (l == lowest) break;

            Eigen::Map<const RowMatrix<T>> W(params + weight_offset(l), fan_out(l), fan_in(l));
            Eigen::Map<RowMatrix<T>> previous(spare, n, fan_in(l));
            previous.noalias() = D * W;
            multiply_by_derivative(spare, workspace.outputs[l - 1].data(), n * fan_in(l),
                                   activation(l - 1));
            delta = spare;
            std::swap(spare, other_spare);
        }
    }

    // Adds a block's gradient for params[offset, offset + size) to the
    // chunk's float64 partial sums, or, for a single chunk, writes
    // T(scale * double(value)), which is what the summed path produces.
    void store_gradient(Index chunk, Index offset, const T* values, Index size) {
        Eigen::Map<const ArrayX<T>> block(values, size);
        if (direct_grad_ != nullptr) {
            Eigen::Map<ArrayX<T>>(direct_grad_ + offset, size) =
                (direct_scale_ * block.template cast<double>()).template cast<T>();
            return;
        }
        Eigen::Map<ArrayX<double>>(partial_grads_.row(chunk).data() + offset, size) +=
            block.template cast<double>();
    }

    std::vector<Index> sizes_;
    std::vector<Activation> activations_;
    OutputLoss output_;
    std::vector<Index> offsets_;
    Index max_width_ = 0;
    RowMatrix<double> partial_grads_;
    std::vector<double> partial_losses_;
    std::vector<Workspace> workspaces_;
    T* direct_grad_ = nullptr;  // set during a single-chunk loss_and_gradient call
    double direct_scale_ = 1.0;
};

}  // namespace fastml
