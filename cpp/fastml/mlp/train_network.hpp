// The mini-batch training loop of dense networks, run entirely in C++.
//
// An epoch is one pass over the data in batches: the whole set for
// batch_size 0, or batches of batch_size rows over a fresh seeded permutation
// each epoch. Each step computes the loss gradient of its batch, adds the L2
// part of the penalty to the weights (never the biases), lets the optimizer
// update every trainable segment, and applies the L1 proximal step to the
// trainable weights. Frozen segments are never passed to the optimizer or
// the penalty, so their values and optimizer state stay bit for bit as they
// were.
//
// Stopping: without early stopping, training stops once the training cost
// has not dropped by more than tol below its best value for n_iter_no_change
// epochs. With early stopping the same rule applies to the loss on the
// validation rows, and the parameters of the epoch with the lowest
// validation loss are restored at the end. As for the linear models, tol is
// multiplied by min(1, the first epoch's value of the first fit), so that it
// is relative for targets on a small scale.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <vector>

#include "../optimizers/optimizer.hpp"
#include "../penalty.hpp"
#include "../schedules.hpp"
#include "../train_linear.hpp"
#include "network.hpp"

namespace fastml {

struct NetworkTrainOptions {
    Index batch_size = 0;  // 0: all rows in one batch
    int max_epochs = 200;
    double tol = 1e-4;
    int n_iter_no_change = 10;
    double learning_rate = 1e-3;  // base rate; the schedule scales it per epoch
    ScheduleConfig schedule;      // constant by default
    int n_threads = 0;            // 0: OpenMP's default
    bool early_stopping = false;  // stop on the validation loss; needs validation rows
};

// Per-epoch report passed to the callback; returning false stops training.
struct NetworkEpochReport {
    int epoch;
    double train_loss;
    double train_cost;
};
using NetworkEpochCallback = std::function<bool(const NetworkEpochReport&)>;

struct NetworkTrainResult {
    int n_epochs = 0;
    bool converged = false;
    bool diverged = false;           // the training cost became NaN or infinite
    bool interrupted = false;        // the callback returned false
    int best_epoch = -1;             // early stopping: the epoch whose parameters were kept
    double gradient_norm = 0;        // Euclidean norm of the last step's gradient, penalty included
    std::vector<double> train_loss;  // mean loss per epoch, without the penalty
    std::vector<double> train_cost;  // train_loss plus the penalty
    std::vector<double> validation_loss;  // mean loss on the validation rows per epoch
};

template <typename T>
class NetworkTrainer {
public:
    NetworkTrainer(Network<T> network, std::unique_ptr<Optimizer<T>> optimizer, Penalty penalty,
                   std::uint64_t seed)
        : network_(std::move(network)),
          optimizer_(std::move(optimizer)),
          penalty_(penalty),
          engine_(seed),
          params_(network_.n_params()),
          grad_(ArrayX<T>::Zero(network_.n_params())),
          trainable_(network_.n_segments(), true) {
        network_.initialize(params_.data(), engine_);
        optimizer_->reset(network_.n_params(), network_.n_segments());
        // The biases are never penalized, so decoupled weight decay skips them.
        for (Index segment = 1; segment < network_.n_segments(); segment += 2)
            optimizer_->exclude_from_weight_decay(segment);
    }

    Network<T>& network() { return network_; }
    ArrayX<T>& params() { return params_; }
    const std::vector<bool>& trainable() const { return trainable_; }

    void set_trainable(const std::vector<bool>& trainable) {
        if (Index(trainable.size()) != network_.n_segments()) {
            throw_invalid_argument("NetworkTrainer.set_trainable: expected one flag per segment (",
                                   network_.n_segments(), "); got ", trainable.size());
        }
        trainable_ = trainable;
    }

    // Trains on `data`; `validation` may be null unless early stopping is on.
    NetworkTrainResult fit(const NetworkRows<T>& data, const NetworkRows<T>* validation,
                           const NetworkTrainOptions& options,
                           const NetworkEpochCallback& callback = nullptr) {
        check_rows(data, "data");
        if (validation != nullptr) check_rows(*validation, "validation");
        if (options.early_stopping && validation == nullptr) {
            throw_invalid_argument("NetworkTrainer.fit: early_stopping needs validation rows");
        }
        const Index n = data.n_rows;
        const Index batch = options.batch_size <= 0 ? n : std::min(options.batch_size, n);
        const double mean_weight = mean_sample_weight(data);
        prepare_batches(data);
        prepare_penalty();
        if (options.early_stopping) best_params_ = params_;

        NetworkTrainResult result;
        double best_score = INFINITY;
        int epochs_without_improvement = 0;
        for (int epoch = 0; epoch < options.max_epochs; ++epoch) {
            // As for the linear models, an epoch's cost is its loss plus the
            // penalty of the parameters it started from.
            const double start_penalty = penalty_value();
            const double loss = run_epoch(data, batch, mean_weight, options, result);
            const double cost = loss + start_penalty;
            result.n_epochs = epoch + 1;
            result.train_loss.push_back(loss);
            result.train_cost.push_back(cost);
            if (!std::isfinite(cost) || !params_.allFinite()) {
                result.diverged = true;
                break;
            }
            double score = cost;
            if (validation != nullptr) {
                const double validation_loss = mean_loss(*validation, options.n_threads);
                result.validation_loss.push_back(validation_loss);
                if (options.early_stopping) score = validation_loss;
            }
            if (callback && !callback(NetworkEpochReport{epoch, loss, cost})) {
                result.interrupted = true;
                break;
            }
            if (options.early_stopping && score < best_score) {
                best_params_ = params_;
                result.best_epoch = epoch;
            }
            if (std::isnan(tol_scale_)) tol_scale_ = tolerance_scale(score);
            epochs_without_improvement =
                score > best_score - options.tol * tol_scale_ ? epochs_without_improvement + 1 : 0;
            best_score = std::min(best_score, score);
            if (epochs_without_improvement >= options.n_iter_no_change) {
                result.converged = true;
                break;
            }
        }
        if (options.early_stopping && !result.diverged && result.best_epoch >= 0)
            params_ = best_params_;
        return result;
    }

    // Mean loss of `rows` under the current parameters, weighted by their
    // sample weights, without the penalty.
    double mean_loss(const NetworkRows<T>& rows, int n_threads) {
        const double total =
            network_.loss_and_gradient(params_.data(), rows, 1.0, nullptr, trainable_, n_threads);
        return total / (double(rows.n_rows) * mean_sample_weight(rows));
    }

    // The penalty of every weight matrix, frozen ones included, so that the
    // reported cost does not depend on what is frozen.
    double penalty_value() const {
        double total = 0;
        for (Index l = 0; l < network_.n_layers(); ++l) {
            const Index begin = network_.weight_offset(l);
            total += penalty_.value(params_.data() + begin, network_.bias_offset(l) - begin);
        }
        return total;
    }

private:
    void check_rows(const NetworkRows<T>& rows, const char* name) const {
        if (rows.n_rows < 1) throw_invalid_argument("NetworkTrainer.fit: ", name, " has no rows");
        if (rows.row_index != nullptr)
            throw_invalid_argument("NetworkTrainer.fit: ", name, " must be stored rows, not indexed");
        if (network_.output() == OutputLoss::kSoftmax && rows.classes == nullptr) {
            throw_invalid_argument("NetworkTrainer.fit: the softmax output needs class indices in ",
                                   name);
        }
        if (network_.output() != OutputLoss::kSoftmax && rows.targets == nullptr) {
            throw_invalid_argument("NetworkTrainer.fit: this output needs real-valued targets in ",
                                   name);
        }
    }

    static double mean_sample_weight(const NetworkRows<T>& rows) {
        if (rows.sample_weight == nullptr) return 1.0;
        const double total = ordered_sum(rows.sample_weight, rows.n_rows);
        if (!(total > 0))
            throw_invalid_argument(
                "NetworkTrainer.fit: sample weights must have a positive sum; got ", total);
        return total / double(rows.n_rows);
    }

    // Resets the row order; mini-batches read their rows through it in place.
    void prepare_batches(const NetworkRows<T>& data) {
        permutation_.resize(data.n_rows);
        for (Index i = 0; i < data.n_rows; ++i) permutation_[i] = i;
    }

    void shuffle() {
        for (Index i = Index(permutation_.size()) - 1; i > 0; --i) {
            const Index j = Index(uniform_below(engine_, std::uint64_t(i + 1)));
            std::swap(permutation_[i], permutation_[j]);
        }
    }

    // The rows permutation_[begin, begin + n) of `data`, read in place.
    NetworkRows<T> batch_rows(const NetworkRows<T>& data, Index begin, Index n) const {
        NetworkRows<T> rows = data;
        rows.n_rows = n;
        rows.row_index = permutation_.data() + begin;
        return rows;
    }

    // Runs one epoch and returns its mean training loss: the loss before the
    // step for a full batch, the mean of the batch losses for mini-batches.
    double run_epoch(const NetworkRows<T>& data, Index batch, double mean_weight,
                     const NetworkTrainOptions& options, NetworkTrainResult& result) {
        const Index n = data.n_rows;
        // Epochs count across calls, so partial_fit continues the schedule.
        const double rate = scheduled_learning_rate(options.schedule, options.learning_rate,
                                                    int(epochs_done_));
        ++epochs_done_;
        if (batch < n) shuffle();
        double weighted_loss = 0;
        for (Index begin = 0; begin < n; begin += batch) {
            const Index size = std::min(batch, n - begin);
            const NetworkRows<T> rows = batch < n ? batch_rows(data, begin, size) : data;
            weighted_loss += step(rows, size * mean_weight, rate, options, result);
        }
        return weighted_loss / (double(n) * mean_weight);
    }

    // One optimizer step on a batch whose weights sum to about
    // `weight_total`; returns the batch's weighted loss sum. The pass hands
    // each range of the gradient to the update as soon as it is final, on
    // the thread that computed it, so the range is still in that thread's
    // cache. The update of a parameter depends only on its own values, so
    // neither the thread count nor the order of the ranges changes a bit.
    double step(const NetworkRows<T>& rows, double weight_total, double rate,
                const NetworkTrainOptions& options, NetworkTrainResult& result) {
        for (Index segment = 0; segment < network_.n_segments(); ++segment) {
            if (trainable_[segment]) optimizer_->start_step(segment);
        }
        range_norms_.assign(std::size_t(network_.gradient_range_count(rows.n_rows)), 0.0);
        const double loss_sum = network_.loss_and_gradient(
            params_.data(), rows, 1.0 / weight_total, grad_.data(), trainable_, options.n_threads,
            [&](Index item, Index segment, Index begin, Index end) {
                range_norms_[std::size_t(item)] = update_range(segment, begin, end, rate);
            });
        double total = 0;
        for (double norm : range_norms_) total += norm;
        result.gradient_norm = std::sqrt(total);
        return loss_sum;
    }

    void prepare_penalty() {
        if (penalty_.l1_strength() > 0) weights_before_step_.resize(network_.n_params());
    }

    // Adds the penalty's gradient to one range, updates it and returns the
    // squared norm of its gradient, penalty included. Even segments are
    // weights, odd ones biases; only weights are penalized, and the L1 part
    // works orthant-wise as in penalty.hpp.
    double update_range(Index segment, Index begin, Index end, double rate) {
        const Index size = end - begin;
        const bool penalized = segment % 2 == 0;
        T* weights = params_.data() + begin;
        T* grad = grad_.data() + begin;
        const bool l1 = penalized && penalty_.l1_strength() > 0;
        if (penalized) {
            penalty_.add_l2_gradient(weights, grad, size);
            penalty_.to_pseudo_gradient(weights, grad, size);
            if (l1) std::copy_n(weights, size, weights_before_step_.data() + begin);
        }
        const double norm = squared_norm(grad, size);
        optimizer_->update_range(segment, begin, end, params_.data(), grad_.data(), rate);
        if (l1) penalty_.project_to_orthant(weights_before_step_.data() + begin, grad, weights, size);
        return norm;
    }

    Network<T> network_;
    std::unique_ptr<Optimizer<T>> optimizer_;
    Penalty penalty_;
    std::mt19937_64 engine_;
    ArrayX<T> params_;
    ArrayX<T> grad_;
    ArrayX<T> weights_before_step_;  // with an L1 penalty, for the orthant projection
    std::vector<double> range_norms_;  // squared gradient norm of each range of a step
    ArrayX<T> best_params_;
    // tolerance_scale of the first epoch's monitored cost, measured by the
    // first fit and kept, so that a warm start keeps the scale of the problem.
    double tol_scale_ = NAN;
    std::int64_t epochs_done_ = 0;  // over all calls to fit, for the schedule
    std::vector<bool> trainable_;
    std::vector<Index> permutation_;
};

}  // namespace fastml
