// The training loop of the linear models, run entirely in C++.
//
// An epoch is one pass over the data in batches: the whole set for
// batch_size 0 (full-batch gradient descent), single rows for 1, and k rows
// for k (mini-batches over a fresh seeded permutation each epoch). Each step
// computes the fused loss and gradient of its batch, adds the L2 part of the
// penalty, lets the optimizer update the coefficients and the intercept, and
// applies the L1 proximal step to the coefficients.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include "linear_model.hpp"
#include "optimizers/optimizer.hpp"
#include "penalty.hpp"

namespace fastml {

struct TrainOptions {
    Index batch_size = 0;  // 0: all rows in one batch
    int max_epochs = 100;
    double tol = 1e-4;          // minimum decrease of the training cost per epoch
    int n_iter_no_change = 5;   // epochs without that decrease before stopping
    double learning_rate = 0.01;
    int n_threads = 0;          // 0: OpenMP's default
};

// Per-epoch report passed to the callback; returning false stops training.
struct EpochReport {
    int epoch;
    double train_loss;
    double train_cost;
};
using EpochCallback = std::function<bool(const EpochReport&)>;

struct TrainResult {
    int n_epochs = 0;
    bool converged = false;
    bool diverged = false;    // the cost became NaN or infinite
    bool interrupted = false; // the callback returned false
    double gradient_norm = 0; // Euclidean norm of the last step's gradient, penalty included
    std::vector<double> train_loss;  // mean loss per epoch, without the penalty
    std::vector<double> train_cost;  // train_loss plus the penalty
};

// Uniform integer in [0, bound) from a 64-bit engine, by rejection, so the
// sequence is the same on every platform (std::uniform_int_distribution is
// implementation-defined).
inline std::uint64_t uniform_below(std::mt19937_64& engine, std::uint64_t bound) {
    const std::uint64_t limit = engine.max() - engine.max() % bound;
    std::uint64_t draw;
    do {
        draw = engine();
    } while (draw >= limit);
    return draw % bound;
}

template <typename T>
class LinearTrainer {
public:
    LinearTrainer(LinearModel<T> model, std::unique_ptr<Optimizer<T>> optimizer, Penalty penalty,
                  bool fit_intercept, std::uint64_t seed)
        : model_(std::move(model)),
          optimizer_(std::move(optimizer)),
          penalty_(penalty),
          fit_intercept_(fit_intercept),
          engine_(seed),
          params_(ArrayX<T>::Zero(model_.n_params())),
          grad_(model_.n_params()) {
        optimizer_->reset(model_.n_params(), 2);
    }

    LinearModel<T>& model() { return model_; }
    ArrayX<T>& params() { return params_; }
    const Penalty& penalty() const { return penalty_; }

    TrainResult fit(const LinearRows<T>& data, const TrainOptions& options,
                    const EpochCallback& callback = nullptr) {
        check_rows(data);
        const Index n = data.n_rows;
        const Index batch = options.batch_size <= 0 ? n : std::min(options.batch_size, n);
        const double mean_weight = mean_sample_weight(data);
        prepare_batches(data, batch);

        TrainResult result;
        double best_cost = INFINITY;
        int epochs_without_improvement = 0;
        for (int epoch = 0; epoch < options.max_epochs; ++epoch) {
            const auto [loss, penalty] = run_epoch(data, batch, mean_weight, options, result);
            const double cost = loss + penalty;
            result.n_epochs = epoch + 1;
            result.train_loss.push_back(loss);
            result.train_cost.push_back(cost);
            if (!std::isfinite(cost)) {
                result.diverged = true;
                break;
            }
            if (callback && !callback(EpochReport{epoch, loss, cost})) {
                result.interrupted = true;
                break;
            }
            epochs_without_improvement = cost > best_cost - options.tol ? epochs_without_improvement + 1 : 0;
            best_cost = std::min(best_cost, cost);
            if (epochs_without_improvement >= options.n_iter_no_change) {
                result.converged = true;
                break;
            }
        }
        return result;
    }

private:
    void check_rows(const LinearRows<T>& data) const {
        if (data.n_rows < 1) throw_invalid_argument("LinearTrainer.fit: no rows; n_rows must be >= 1");
        if (model_.loss() == LinearLoss::kSoftmax && data.classes == nullptr) {
            throw_invalid_argument("LinearTrainer.fit: the softmax loss needs class indices");
        }
        if (model_.loss() != LinearLoss::kSoftmax && data.targets == nullptr) {
            throw_invalid_argument("LinearTrainer.fit: this loss needs real-valued targets");
        }
    }

    static double mean_sample_weight(const LinearRows<T>& data) {
        if (data.sample_weight == nullptr) return 1.0;
        Eigen::Map<const ArrayX<T>> w(data.sample_weight, data.n_rows);
        const double total = w.template cast<double>().sum();
        if (!(total > 0)) throw_invalid_argument("LinearTrainer.fit: sample weights must have a positive sum; got ", total);
        return total / double(data.n_rows);
    }

    // Allocates the gather buffers of one mini-batch; full batches read X in place.
    void prepare_batches(const LinearRows<T>& data, Index batch) {
        permutation_.resize(data.n_rows);
        for (Index i = 0; i < data.n_rows; ++i) permutation_[i] = i;
        if (batch == data.n_rows) return;
        const Index d = model_.n_features();
        const Index k = model_.n_outputs();
        batch_X_.resize(batch * d);
        if (data.targets != nullptr) batch_targets_.resize(batch * (model_.loss() == LinearLoss::kSquared ? k : 1));
        if (data.classes != nullptr) batch_classes_.resize(batch);
        if (data.sample_weight != nullptr) batch_weights_.resize(batch);
    }

    void shuffle() {
        for (Index i = Index(permutation_.size()) - 1; i > 0; --i) {
            const Index j = Index(uniform_below(engine_, std::uint64_t(i + 1)));
            std::swap(permutation_[i], permutation_[j]);
        }
    }

    // Copies the rows permutation_[begin, begin + n) into the batch buffers.
    LinearRows<T> gather(const LinearRows<T>& data, Index begin, Index n) {
        const Index d = model_.n_features();
        const Index target_width = model_.loss() == LinearLoss::kSquared ? model_.n_outputs() : 1;
        for (Index i = 0; i < n; ++i) {
            const Index row = permutation_[begin + i];
            std::copy_n(data.X + row * d, d, batch_X_.data() + i * d);
            if (data.targets != nullptr) {
                std::copy_n(data.targets + row * target_width, target_width, batch_targets_.data() + i * target_width);
            }
            if (data.classes != nullptr) batch_classes_[i] = data.classes[row];
            if (data.sample_weight != nullptr) batch_weights_[i] = data.sample_weight[row];
        }
        LinearRows<T> rows;
        rows.X = batch_X_.data();
        rows.n_rows = n;
        rows.targets = data.targets != nullptr ? batch_targets_.data() : nullptr;
        rows.classes = data.classes != nullptr ? batch_classes_.data() : nullptr;
        rows.sample_weight = data.sample_weight != nullptr ? batch_weights_.data() : nullptr;
        return rows;
    }

    // Runs one epoch and returns its mean training loss and penalty, both
    // taken before each step: for a full batch they are the values at the
    // start of the epoch, for mini-batches the means over the epoch's steps.
    std::pair<double, double> run_epoch(const LinearRows<T>& data, Index batch, double mean_weight,
                                        const TrainOptions& options, TrainResult& result) {
        const Index n = data.n_rows;
        if (batch < n) shuffle();
        double weighted_loss = 0;
        double weighted_penalty = 0;
        for (Index begin = 0; begin < n; begin += batch) {
            const Index size = std::min(batch, n - begin);
            const LinearRows<T> rows = batch < n ? gather(data, begin, size) : data;
            weighted_penalty += double(size) * penalty_.value(params_.data(), model_.n_coef());
            weighted_loss += step(rows, size * mean_weight, options, result);
        }
        return {weighted_loss / (double(n) * mean_weight), weighted_penalty / double(n)};
    }

    // One optimizer step on a batch whose weights sum to about
    // `weight_total`; returns the batch's weighted loss sum.
    double step(const LinearRows<T>& rows, double weight_total, const TrainOptions& options,
                TrainResult& result) {
        const double loss_sum = model_.loss_and_gradient(params_.data(), rows, 1.0 / weight_total,
                                                         grad_.data(), options.n_threads);
        const Index n_coef = model_.n_coef();
        penalty_.add_l2_gradient(params_.data(), grad_.data(), n_coef);
        result.gradient_norm = std::sqrt(grad_.template cast<double>().square().sum());

        optimizer_->update(0, 0, n_coef, params_.data(), grad_.data(), options.learning_rate);
        if (fit_intercept_) {
            optimizer_->update(1, n_coef, model_.n_params(), params_.data(), grad_.data(),
                               options.learning_rate);
        }
        penalty_.apply_l1_proximal(params_.data(), n_coef, options.learning_rate);
        return loss_sum;
    }

    LinearModel<T> model_;
    std::unique_ptr<Optimizer<T>> optimizer_;
    Penalty penalty_;
    bool fit_intercept_;
    std::mt19937_64 engine_;
    ArrayX<T> params_;
    ArrayX<T> grad_;
    std::vector<Index> permutation_;
    std::vector<T> batch_X_, batch_targets_, batch_weights_;
    std::vector<std::int64_t> batch_classes_;
};

}  // namespace fastml
