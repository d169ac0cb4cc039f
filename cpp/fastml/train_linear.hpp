// The training loop of the linear models, run entirely in C++.
//
// Two methods share the loop. With a first-order optimizer an epoch is one
// pass over the data in batches: the whole set for batch_size 0 (full-batch
// gradient descent), single rows for 1, and k rows for k (mini-batches over
// a fresh seeded permutation each epoch). Each step computes the fused loss
// and gradient of its batch and adds the L2 part of the penalty. The L1 part
// turns the gradient into a pseudo-gradient before the optimizer's update
// and projects the coefficients back onto their orthants after it (see
// penalty.hpp). With L-BFGS an epoch is one quasi-Newton iteration over the
// full batch (see lbfgs.hpp).
//
// The trainer keeps its parameters, the optimizer state, the L-BFGS history,
// the shuffling engine and the epoch count between calls to `fit`, so a
// later call continues where the previous one stopped.
#pragma once

#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "lbfgs.hpp"
#include "linear_model.hpp"
#include "optimizers/optimizer.hpp"
#include "penalty.hpp"
#include "schedules.hpp"

namespace fastml {

// Parameters per range of a first-order step: the coefficients are split
// into ranges of this size, counted from the first, that threads share. The
// update of a parameter depends only on its own values, so the thread count
// changes no bit.
constexpr Index kLinearStepRange = 2048;

// Returns min(1, |value|), the factor that tol is multiplied by for a
// problem whose cost or gradient at zero parameters is `value` (see
// TrainOptions::tol). Returns 1 for NaN or infinity.
inline double tolerance_scale(double value) {
    return std::isfinite(value) ? std::min(1.0, std::abs(value)) : 1.0;
}

struct TrainOptions {
    Index batch_size = 0;  // 0: all rows in one batch
    int max_epochs = 100;
    // First-order optimizers: the minimum decrease of the monitored cost per
    // epoch, and the gradient norm (full batch only) at which training stops.
    // L-BFGS: the largest absolute gradient entry at which training stops.
    // Each is multiplied by min(1, the same value at zero parameters), so
    // that a target or features on a small scale do not stop training at
    // once: tol is absolute where that value is at least 1, relative below.
    double tol = 1e-4;
    int n_iter_no_change = 5;  // epochs without that decrease before stopping
    double learning_rate = 0.01;
    // Evaluated per epoch, counting the epochs of every call to fit on the
    // same trainer, so partial_fit continues the schedule.
    ScheduleConfig schedule;
    // Monitor the validation loss instead of the training cost, stop after
    // n_iter_no_change epochs without improvement and restore the
    // parameters of the best epoch. Needs validation rows.
    bool early_stopping = false;
    int n_threads = 0;  // 0: OpenMP's default
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
    // NaN or infinite cost or parameters, or a cost that rose past twice its start.
    bool diverged = false;
    bool interrupted = false;  // the callback returned false
    bool stalled = false;      // L-BFGS: no trial step decreased the cost
    int best_epoch = -1;       // early stopping: the epoch whose parameters were kept
    // Euclidean norm of the last full (pseudo-)gradient, penalty included.
    double gradient_norm = 0;
    // Training cost at zero parameters, the problem's scale (measured by the
    // trainer's first fit).
    double cost_at_zero = 0;
    Index n_evaluations = 0;         // passes over the training data
    std::vector<double> train_loss;  // mean loss per epoch, without the penalty
    std::vector<double> train_cost;  // train_loss plus the penalty
    std::vector<double> val_loss;    // mean validation loss after each epoch
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
    // A null `optimizer` selects L-BFGS, or OWL-QN when the penalty has an L1
    // part.
    LinearTrainer(LinearModel<T> model, std::unique_ptr<Optimizer<T>> optimizer, Penalty penalty,
                  bool fit_intercept, std::uint64_t seed)
        : model_(std::move(model)),
          optimizer_(std::move(optimizer)),
          penalty_(penalty),
          fit_intercept_(fit_intercept),
          engine_(seed),
          params_(ArrayX<T>::Zero(model_.n_params())),
          grad_(model_.n_params()) {
        if (optimizer_) {
            optimizer_->reset(model_.n_params(), 2);
            optimizer_->exclude_from_weight_decay(1);  // the intercept
        } else {
            lbfgs_.emplace();
            lbfgs_->set_l1(penalty_.l1_strength(), model_.n_coef());
        }
    }

    LinearModel<T>& model() { return model_; }
    ArrayX<T>& params() { return params_; }
    const Penalty& penalty() const { return penalty_; }
    bool uses_lbfgs() const { return !optimizer_; }
    int epochs_done() const { return epochs_done_; }

    // Forgets the L-BFGS curvature pairs, which describe the previous data
    // and parameters; call after replacing the parameters.
    void clear_history() {
        if (lbfgs_) {
            lbfgs_->clear_history();
        }
    }

    TrainResult fit(const LinearRows<T>& data, const TrainOptions& options,
                    const LinearRows<T>* validation = nullptr,
                    const EpochCallback& callback = nullptr) {
        check_rows(data, "fit");
        if (validation != nullptr) {
            check_rows(*validation, "validation");
        }
        if (options.early_stopping && validation == nullptr) {
            throw_invalid_argument("LinearTrainer.fit: early_stopping needs validation rows");
        }
        if (!optimizer_ && options.batch_size > 0 && options.batch_size < data.n_rows) {
            throw_invalid_argument(
                "LinearTrainer.fit: L-BFGS trains on the full batch; got batch_size=",
                options.batch_size);
        }
        const Index n = data.n_rows;
        const Index batch = options.batch_size <= 0 ? n : std::min(options.batch_size, n);
        const double mean_weight = mean_sample_weight(data);
        if (optimizer_) {
            prepare_batches(data);
        }

        TrainResult result;
        Monitor monitor(options);
        // From zero parameters, the first evaluation gives the scales without
        // a pass of its own: L-BFGS's start, or the first epoch.
        const bool scales_from_start = !tolerance_scales_.measured && (params_ == T(0)).all();
        if (!scales_from_start) {
            measure_tolerance_scales(data, mean_weight, options.n_threads);
        }
        if (!optimizer_) {
            start_lbfgs(data, mean_weight, options, result);
            if (scales_from_start) {
                set_tolerance_scales(lbfgs_cost_, lbfgs_grad_.array());
            }
        }
        result.cost_at_zero = tolerance_scales_.raw_cost;
        for (int epoch = 0; epoch < options.max_epochs; ++epoch) {
            if (!optimizer_ && lbfgs_gradient_small(options)) {
                result.converged = true;
                break;
            }
            // An epoch's cost is its loss plus the penalty of the parameters
            // it started from. For a full batch that is the cost of those
            // parameters. For mini-batches it is the mean batch loss over the
            // epoch, with the penalty taken at the same point every epoch.
            const double start_penalty = penalty_.value(params_.data(), model_.n_coef());
            const double loss = optimizer_ ? run_epoch(data, batch, mean_weight, options, result)
                                           : lbfgs_epoch(data, mean_weight, options, result);
            const double cost = loss + start_penalty;
            ++epochs_done_;
            result.n_epochs = epoch + 1;
            result.train_loss.push_back(loss);
            result.train_cost.push_back(cost);
            if (!tolerance_scales_.measured) {
                // The first epoch of a first-order optimizer from zero. For a
                // full batch it gives the cost and gradient norm at zero, and
                // for mini-batches a cost of the same scale.
                tolerance_scales_.raw_cost = cost;
                tolerance_scales_.cost = tolerance_scale(cost);
                tolerance_scales_.gradient_norm = tolerance_scale(result.gradient_norm);
                tolerance_scales_.measured = true;
                result.cost_at_zero = cost;
            }
            if (!std::isfinite(cost) || !params_.allFinite()) {
                result.diverged = true;
                break;
            }
            if (result.stalled) {
                // float32 costs are sums of float32 losses, so near the optimum
                // no trial step lowers them and the line search stalls: that
                // is where float32 L-BFGS ends. In float64 the
                // predicted-decrease test stops first, so a stall there is
                // reported as not converged.
                result.converged = sizeof(T) == sizeof(float);
                break;
            }
            if (validation != nullptr) {
                result.val_loss.push_back(mean_loss(*validation, options.n_threads));
            }
            if (callback && !callback(EpochReport{epoch, loss, cost})) {
                result.interrupted = true;
                break;
            }
            if (monitor.should_stop(*this, result, epoch, batch == n)) {
                // A cost that stopped improving at more than twice where it
                // started has run away (a learning rate too large). Mini-batch
                // noise around an early optimum stays well below that factor.
                result.diverged = !options.early_stopping && cost > 2 * result.train_cost.front();
                result.converged = !result.diverged;
                break;
            }
        }
        if (!result.diverged) {
            monitor.restore_best(*this, result);
        }
        return result;
    }

    // Mean loss of the current parameters over `rows`, without the penalty.
    double mean_loss(const LinearRows<T>& rows, int n_threads) {
        scratch_grad_.resize(model_.n_params());
        const double loss_sum =
            model_.loss_and_gradient(params_.data(), rows, 1.0, scratch_grad_.data(), n_threads);
        return loss_sum / (double(rows.n_rows) * mean_sample_weight(rows));
    }

private:
    // Decides when to stop: on the validation loss with early stopping,
    // otherwise on the training cost, the gradient norm (full batches) or,
    // for L-BFGS, the relative cost change.
    class Monitor {
    public:
        explicit Monitor(const TrainOptions& options) : options_(options) {}

        bool should_stop(LinearTrainer& trainer, const TrainResult& result, int epoch,
                         bool full_batch) {
            if (options_.early_stopping) {
                return validation_stalled(trainer, result, epoch);
            }
            const double cost = result.train_cost.back();
            if (trainer.uses_lbfgs()) {
                return trainer.lbfgs_cost_settled();
            }
            const ToleranceScales& scales = trainer.tolerance_scales_;
            if (full_batch && result.gradient_norm <= options_.tol * scales.gradient_norm) {
                return true;
            }
            no_improvement_ = cost > best_ - options_.tol * scales.cost ? no_improvement_ + 1 : 0;
            best_ = std::min(best_, cost);
            return no_improvement_ >= options_.n_iter_no_change;
        }

        void restore_best(LinearTrainer& trainer, TrainResult& result) const {
            if (!options_.early_stopping || best_epoch_ < 0) {
                return;
            }
            result.best_epoch = best_epoch_;
            if (best_epoch_ + 1 == result.n_epochs) {
                return;
            }
            trainer.params_ = best_params_;
            trainer.clear_history();
        }

    private:
        bool validation_stalled(LinearTrainer& trainer, const TrainResult& result, int epoch) {
            const double loss = result.val_loss.back();
            if (loss < best_) {
                best_params_ = trainer.params_;
                best_epoch_ = epoch;
            }
            const double scale = trainer.tolerance_scales_.cost;
            no_improvement_ = loss > best_ - options_.tol * scale ? no_improvement_ + 1 : 0;
            best_ = std::min(best_, loss);
            return no_improvement_ >= options_.n_iter_no_change;
        }

        const TrainOptions& options_;
        double best_ = INFINITY;
        int no_improvement_ = 0;
        int best_epoch_ = -1;
        ArrayX<T> best_params_;
    };

    void check_rows(const LinearRows<T>& data, const char* name) const {
        if (data.n_rows < 1) {
            throw_invalid_argument("LinearTrainer.fit: ", name,
                                   " has no rows; n_rows must be >= 1");
        }
        if (data.row_index != nullptr) {
            throw_invalid_argument("LinearTrainer.fit: ", name, " must be stored rows, not indexed");
        }
        if (model_.loss() == LinearLoss::kSoftmax && data.classes == nullptr) {
            throw_invalid_argument("LinearTrainer.fit: the softmax loss needs class indices");
        }
        if (model_.loss() != LinearLoss::kSoftmax && data.targets == nullptr) {
            throw_invalid_argument("LinearTrainer.fit: this loss needs real-valued targets");
        }
    }

    static double mean_sample_weight(const LinearRows<T>& data) {
        if (data.sample_weight == nullptr) {
            return 1.0;
        }
        const double total = ordered_sum(data.sample_weight, data.n_rows);
        if (!(total > 0)) {
            throw_invalid_argument(
                "LinearTrainer.fit: sample weights must have a positive sum; got ", total);
        }
        return total / double(data.n_rows);
    }

    double learning_rate(const TrainOptions& options) const {
        return scheduled_learning_rate(options.schedule, options.learning_rate, epochs_done_);
    }

    // Resets the row order when the data size changes. Mini-batches read
    // their rows through it in place. The permutation carries over between
    // calls on data of the same size, so epochs split across calls shuffle as
    // one call would.
    void prepare_batches(const LinearRows<T>& data) {
        if (Index(permutation_.size()) != data.n_rows) {
            permutation_.resize(data.n_rows);
            for (Index i = 0; i < data.n_rows; ++i) {
                permutation_[i] = i;
            }
        }
    }

    void shuffle() {
        for (Index i = Index(permutation_.size()) - 1; i > 0; --i) {
            const Index j = Index(uniform_below(engine_, std::uint64_t(i + 1)));
            std::swap(permutation_[i], permutation_[j]);
        }
    }

    // The rows permutation_[begin, begin + n) of `data`, read in place.
    LinearRows<T> batch_rows(const LinearRows<T>& data, Index begin, Index n) const {
        LinearRows<T> rows = data;
        rows.n_rows = n;
        rows.row_index = permutation_.data() + begin;
        return rows;
    }

    // Runs one epoch and returns its mean training loss: the loss before the
    // step for a full batch, the mean of the batch losses for mini-batches.
    double run_epoch(const LinearRows<T>& data, Index batch, double mean_weight,
                     const TrainOptions& options, TrainResult& result) {
        const Index n = data.n_rows;
        const double rate = learning_rate(options);
        if (batch < n) {
            shuffle();
        }
        double weighted_loss = 0;
        for (Index begin = 0; begin < n; begin += batch) {
            const Index size = std::min(batch, n - begin);
            const LinearRows<T> rows = batch < n ? batch_rows(data, begin, size) : data;
            weighted_loss += step(rows, size * mean_weight, rate, options.n_threads, result);
        }
        return weighted_loss / (double(n) * mean_weight);
    }

    // One optimizer step on a batch whose weights sum to about
    // `weight_total`; returns the batch's weighted loss sum.
    double step(const LinearRows<T>& rows, double weight_total, double rate, int n_threads,
                TrainResult& result) {
        const double loss_sum = model_.loss_and_gradient(params_.data(), rows, 1.0 / weight_total,
                                                         grad_.data(), n_threads);
        ++result.n_evaluations;
        const Index n_coef = model_.n_coef();
        if (!fit_intercept_) {
            grad_.tail(model_.n_outputs()).setZero();
        }
        if (Index(step_ranges_.size()) == 0) plan_step_ranges();
        optimizer_->start_step(0);
        if (fit_intercept_) optimizer_->start_step(1);
        const Index n_ranges = Index(step_ranges_.size());
        // Ranges are fixed by the model's size, so the thread count changes
        // no bit. Small models update on the calling thread.
        const int threads = n_coef < 2 * kLinearStepRange ? 1 : resolve_thread_count(n_threads);
        parallel_for(n_ranges, threads, [&](Index r, int) {
            const auto [segment, begin, end] = step_ranges_[std::size_t(r)];
            range_norms_[std::size_t(r)] = update_range(segment, begin, end, rate);
        });
        double total = 0;
        for (Index r = 0; r < n_ranges; ++r) total += range_norms_[std::size_t(r)];
        result.gradient_norm = std::sqrt(total);
        return loss_sum;
    }

    // Splits the coefficients into ranges of kLinearStepRange and adds the
    // intercept as one more range. The gradient of an intercept that is not
    // fitted stays 0, and the norm counts it as 0.
    void plan_step_ranges() {
        const Index n_coef = model_.n_coef();
        step_ranges_.clear();
        for (Index begin = 0; begin < n_coef; begin += kLinearStepRange)
            step_ranges_.push_back({0, begin, std::min(begin + kLinearStepRange, n_coef)});
        step_ranges_.push_back({1, n_coef, model_.n_params()});
        range_norms_.assign(step_ranges_.size(), 0.0);
        if (penalty_.l1_strength() > 0) coef_before_step_.resize(n_coef);
    }

    // Adds the penalty's gradient to params[begin, end) of `segment` (0: the
    // coefficients, 1: the intercept, never penalized), updates the range
    // and returns the squared norm of its gradient, penalty included.
    double update_range(Index segment, Index begin, Index end, double rate) {
        const Index size = end - begin;
        T* weights = params_.data() + begin;
        T* grad = grad_.data() + begin;
        const bool l1 = segment == 0 && penalty_.l1_strength() > 0;
        if (segment == 0) {
            penalty_.add_l2_gradient(weights, grad, size);
            penalty_.to_pseudo_gradient(weights, grad, size);
            if (l1) std::copy_n(weights, size, coef_before_step_.data() + begin);
        }
        const double norm = squared_norm(grad, size);
        if (segment == 0 || fit_intercept_) {
            optimizer_->update_range(segment, begin, end, params_.data(), grad_.data(), rate);
        }
        if (l1) penalty_.project_to_orthant(coef_before_step_.data() + begin, grad, weights, size);
        return norm;
    }

    // Returns the training cost of `x` and writes its gradient: the
    // objective that L-BFGS minimizes.
    double lbfgs_objective(const LinearRows<T>& data, double mean_weight, int n_threads,
                           const Vector<double>& x, Vector<double>& grad) {
        params_ = x.template cast<T>().array();
        const double scale = 1.0 / (double(data.n_rows) * mean_weight);
        const double loss_sum =
            model_.loss_and_gradient(params_.data(), data, scale, grad_.data(), n_threads);
        const Index n_coef = model_.n_coef();
        penalty_.add_l2_gradient(params_.data(), grad_.data(), n_coef);
        if (!fit_intercept_) {
            grad_.tail(model_.n_outputs()).setZero();
        }
        grad = grad_.template cast<double>().matrix();
        return loss_sum * scale + penalty_.value(params_.data(), n_coef);
    }

    LbfgsObjective bind_objective(const LinearRows<T>& data, double mean_weight, int n_threads) {
        return
            [this, &data, mean_weight, n_threads](const Vector<double>& x, Vector<double>& grad) {
                return lbfgs_objective(data, mean_weight, n_threads, x, grad);
            };
    }

    // Evaluates the cost and gradient at the current parameters, because the
    // data may have changed since the last call.
    void start_lbfgs(const LinearRows<T>& data, double mean_weight, const TrainOptions& options,
                     TrainResult& result) {
        lbfgs_x_ = params_.template cast<double>().matrix();
        lbfgs_cost_ = lbfgs_objective(data, mean_weight, options.n_threads, lbfgs_x_, lbfgs_grad_);
        lbfgs_previous_cost_ = lbfgs_cost_;
        ++result.n_evaluations;
        result.gradient_norm = lbfgs_->pseudo_gradient(lbfgs_x_, lbfgs_grad_).norm();
    }

    bool lbfgs_gradient_small(const TrainOptions& options) const {
        if (!std::isfinite(lbfgs_cost_)) {
            return false;
        }
        return lbfgs_->pseudo_gradient(lbfgs_x_, lbfgs_grad_).cwiseAbs().maxCoeff() <=
               options.tol * tolerance_scales_.gradient_entry;
    }

    // Runs one L-BFGS iteration and returns the loss at its start, as the
    // full-batch epochs of the first-order optimizers do.
    double lbfgs_epoch(const LinearRows<T>& data, double mean_weight, const TrainOptions& options,
                       TrainResult& result) {
        const double start_loss = lbfgs_cost_ - penalty_.value(lbfgs_x_.data(), model_.n_coef());
        lbfgs_previous_cost_ = lbfgs_cost_;
        const Index evaluations_before = lbfgs_->n_evaluations();
        const Lbfgs::Status status = lbfgs_->iterate(
            lbfgs_x_, lbfgs_cost_, lbfgs_grad_,
            bind_objective(data, mean_weight, options.n_threads), kRelativePrecision,
            tolerance_scales_.cost);
        result.n_evaluations += lbfgs_->n_evaluations() - evaluations_before;
        params_ = lbfgs_x_.template cast<T>().array();
        result.gradient_norm = lbfgs_->pseudo_gradient(lbfgs_x_, lbfgs_grad_).norm();
        result.stalled = status == Lbfgs::Status::kStalled;
        lbfgs_at_precision_ = status == Lbfgs::Status::kConverged;
        return start_loss;
    }

    // Relative rounding level of the cost, which is summed in float64 for
    // both dtypes: 64 machine epsilons of float64, the ftol that
    // scikit-learn 1.9 (linear_model/_logistic.py) passes to SciPy's L-BFGS-B.
    static constexpr double kRelativePrecision = 64 * std::numeric_limits<double>::epsilon();

    // The last L-BFGS iteration changed the cost by less than its rounding
    // level, or predicted a decrease below it.
    bool lbfgs_cost_settled() const {
        if (lbfgs_at_precision_) {
            return true;
        }
        const double change = lbfgs_previous_cost_ - lbfgs_cost_;
        const double scale =
            std::max({std::abs(lbfgs_previous_cost_), std::abs(lbfgs_cost_), tolerance_scales_.cost});
        return change <= kRelativePrecision * scale;
    }

    // tolerance_scale of the cost, the gradient norm and the largest gradient
    // entry at zero parameters: the scale of the problem, which tol is
    // multiplied by (see TrainOptions::tol). Measured by the first fit and
    // kept, so that a warm start near the optimum still stops at once. A fit
    // from zero takes them from its first evaluation; one from other
    // parameters makes an extra pass at zero.
    struct ToleranceScales {
        bool measured = false;
        double cost = 1, gradient_norm = 1, gradient_entry = 1;
        double raw_cost = 0;  // before tolerance_scale
    };

    void measure_tolerance_scales(const LinearRows<T>& data, double mean_weight, int n_threads) {
        if (tolerance_scales_.measured) {
            return;
        }
        const ArrayX<T> zero = ArrayX<T>::Zero(model_.n_params());
        scratch_grad_.resize(model_.n_params());
        const double scale = 1.0 / (double(data.n_rows) * mean_weight);
        const double loss_sum =
            model_.loss_and_gradient(zero.data(), data, scale, scratch_grad_.data(), n_threads);
        if (!fit_intercept_) {
            scratch_grad_.tail(model_.n_outputs()).setZero();
        }
        set_tolerance_scales(loss_sum * scale, scratch_grad_.template cast<double>());
    }

    // Records the scales of a cost and gradient at zero parameters.
    void set_tolerance_scales(double cost, const ArrayX<double>& gradient) {
        tolerance_scales_.raw_cost = cost;
        tolerance_scales_.cost = tolerance_scale(cost);
        tolerance_scales_.gradient_norm = tolerance_scale(std::sqrt(gradient.square().sum()));
        tolerance_scales_.gradient_entry = tolerance_scale(gradient.abs().maxCoeff());
        tolerance_scales_.measured = true;
    }

    LinearModel<T> model_;
    ToleranceScales tolerance_scales_;
    std::unique_ptr<Optimizer<T>> optimizer_;
    Penalty penalty_;
    bool fit_intercept_;
    std::mt19937_64 engine_;
    ArrayX<T> params_;
    ArrayX<T> grad_;
    ArrayX<T> scratch_grad_;
    ArrayX<T> coef_before_step_;  // with an L1 penalty, for the orthant projection
    struct StepRange {
        Index segment, begin, end;
    };
    std::vector<StepRange> step_ranges_;  // the parameters in pieces, see plan_step_ranges
    std::vector<double> range_norms_;     // squared gradient norm of each piece
    int epochs_done_ = 0;
    std::vector<Index> permutation_;

    std::optional<Lbfgs> lbfgs_;
    Vector<double> lbfgs_x_, lbfgs_grad_;
    double lbfgs_cost_ = 0, lbfgs_previous_cost_ = 0;
    bool lbfgs_at_precision_ = false;
};

}  // namespace fastml
