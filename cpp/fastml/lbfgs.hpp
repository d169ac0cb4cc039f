// Limited-memory BFGS with a strong Wolfe line search, for full-batch
// training of the linear models, and its orthant-wise variant OWL-QN for an
// L1 term.
//
// Direction: the two-loop recursion over the last `history_size` pairs
// s = x_{k+1} - x_k, y = g_{k+1} - g_k, with the initial inverse Hessian
// gamma * I, gamma = s.y / y.y of the newest pair (Nocedal and Wright,
// "Numerical Optimization", 2nd ed., 2006, Algorithm 7.4 and eq. 7.20).
// Step: a line search for the strong Wolfe conditions
//   f(x + a d) <= f(x) + c1 * a * g.d,   |g(x + a d).d| <= c2 * |g.d|,
// with c1 = 1e-4 and c2 = 0.9, by bracketing and zooming with safeguarded
// cubic interpolation (Algorithms 3.5 and 3.6 of the same book). Every trial
// step is one objective evaluation, which for the linear models is one fused
// pass over X; the first trial step a = 1 is accepted in most iterations.
// The iterate and the history are kept in float64 whatever the model's
// precision.
//
// With an L1 term lambda * ||x[0, n_l1)||_1 the objective is not smooth, and
// OWL-QN (Andrew and Gao, "Scalable Training of L1-Regularized Log-Linear
// Models", ICML 2007) replaces the gradient by the pseudo-gradient, zeroes
// direction entries that disagree in sign with it, keeps every trial point
// in the orthant of the current one and backtracks until
//   F(x_t) <= F(x) + c1 * pg.(x_t - x).
// The curvature pairs still use the gradient of the smooth part.
#pragma once

#include <algorithm>
#include <cmath>
#include <deque>
#include <functional>
#include <limits>

#include "common.hpp"

namespace fastml {

// Returns f(x) and writes its gradient; may return +inf or NaN for a step
// that overflowed, which the line search treats as too long.
using LbfgsObjective = std::function<double(const Vector<double>& x, Vector<double>& grad)>;

class Lbfgs {
public:
    explicit Lbfgs(Index history_size = 10) : history_size_(history_size) {
        if (history_size < 1) {
            throw_invalid_argument("Lbfgs: history_size must be >= 1; got ", history_size);
        }
    }

    void clear_history() {
        steps_.clear();
        gradient_changes_.clear();
        inverse_curvatures_.clear();
    }

    Index n_evaluations() const { return n_evaluations_; }

    // Adds lambda * ||x[0, n_penalized)||_1 to the objective, whose own
    // value must already include it while its gradient covers only the
    // smooth part.
    void set_l1(double lambda, Index n_penalized) {
        l1_strength_ = lambda;
        n_l1_ = n_penalized;
    }

    // Returns the gradient of the smooth part plus the subgradient of the L1
    // term of smaller magnitude (0 at a zero entry whose smooth gradient lies
    // within [-lambda, lambda]).
    Vector<double> pseudo_gradient(const Vector<double>& x, const Vector<double>& grad) const {
        Vector<double> result = grad;
        for (Index j = 0; j < n_l1_ && l1_strength_ > 0; ++j) {
            if (x[j] > 0) {
                result[j] += l1_strength_;
            } else if (x[j] < 0) {
                result[j] -= l1_strength_;
            } else if (grad[j] > l1_strength_) {
                result[j] -= l1_strength_;
            } else if (grad[j] < -l1_strength_) {
                result[j] += l1_strength_;
            } else {
                result[j] = 0;
            }
        }
        return result;
    }

    enum class Status {
        kMoved,      // (x, f, grad) moved to the accepted point
        kConverged,  // the predicted decrease is below the rounding of f
        kStalled,    // no trial step decreased f
    };

    // Moves (x, f, grad) to a point satisfying the strong Wolfe conditions,
    // or to the lowest point with sufficient decrease found by the line
    // search. `relative_precision` is the relative rounding error of f (a
    // few machine epsilons of the type the objective computes in): when the
    // decrease predicted along the direction, |g.d|, is below it times
    // max(|f|, cost_floor), no step can be measured and x is left as it is.
    // A cost_floor of 1 makes the test absolute for costs below 1. A smaller
    // one, the cost at zero parameters for example, keeps it relative for
    // objectives on a small scale.
    Status iterate(Vector<double>& x, double& f, Vector<double>& grad,
                   const LbfgsObjective& objective, double relative_precision,
                   double cost_floor = 1.0) {
        const double resolution = relative_precision * std::max(std::abs(f), cost_floor);
        if (l1_strength_ > 0) {
            return iterate_orthant_wise(x, f, grad, objective, resolution);
        }
        Vector<double> direction = descent_direction(grad);
        double slope = grad.dot(direction);
        if (!(slope < 0)) {
            // Stale curvature pairs gave an ascent direction: restart from
            // steepest descent.
            clear_history();
            direction = -grad;
            slope = -grad.squaredNorm();
        }
        if (!predicts_decrease(slope, resolution)) {
            return Status::kConverged;
        }

        Trial accepted;
        if (!line_search(x, f, direction, slope, first_step(direction), objective, accepted) &&
            !retry_long_first_step(x, f, direction, slope, objective, accepted)) {
            return Status::kStalled;
        }
        accept(x, f, grad, accepted.step * direction, accepted);
        return Status::kMoved;
    }

private:
    struct Trial {
        double step = 0;
        double value = 0;
        double slope = 0;
        Vector<double> grad;
    };

    // Without history the direction is the raw gradient, whose scale is
    // arbitrary; a first step of unit length keeps the trial point near x.
    double first_step(const Vector<double>& direction) const {
        return steps_.empty() ? 1.0 / std::max(1.0, direction.norm()) : 1.0;
    }

    // The direction's slope predicts a measurable decrease of f. With
    // curvature pairs a step of 1 is the natural one, so the slope must exceed
    // the rounding of f. Without them the direction is the raw gradient,
    // whose length does not set the step. On features of 1e-8 the slope is
    // 1e-16 while the optimum lies 1e8 away, so any descent slope
    // is tried.
    bool predicts_decrease(double slope, double resolution) const {
        return steps_.empty() ? slope < 0 : slope < -resolution;
    }

    // Without history, a unit-length step can change a cost on a large scale
    // by less than its rounding: a float32 cost of targets near 1e8 rounds
    // away the change. The costs here cannot go below 0, so the step to where
    // a quadratic along the direction would reach 0, 2 f / |slope|, is tried
    // instead. Returns false when it is not tried or finds no decrease.
    bool retry_long_first_step(const Vector<double>& x, double f, const Vector<double>& direction,
                               double slope, const LbfgsObjective& objective, Trial& accepted) {
        const double step = 2 * f / -slope;
        if (!steps_.empty() || !(f > 0) || !(step > first_step(direction)) || !std::isfinite(step)) {
            return false;
        }
        return line_search(x, f, direction, slope, step, objective, accepted);
    }

    void accept(Vector<double>& x, double& f, Vector<double>& grad, const Vector<double>& step,
                const Trial& accepted) {
        remember(step, accepted.grad - grad);
        x += step;
        f = accepted.value;
        grad = accepted.grad;
    }

    Status iterate_orthant_wise(Vector<double>& x, double& f, Vector<double>& grad,
                                const LbfgsObjective& objective, double resolution) {
        const Vector<double> pseudo = pseudo_gradient(x, grad);
        Vector<double> direction = descent_direction(pseudo);
        constrain_to_descent(pseudo, direction);
        double slope = pseudo.dot(direction);
        if (!(slope < 0)) {
            clear_history();
            direction = -pseudo;
            slope = -pseudo.squaredNorm();
        }
        if (!predicts_decrease(slope, resolution)) {
            return Status::kConverged;
        }

        // The orthant of x: the sign of each penalized entry, or for a zero
        // entry the sign of minus its pseudo-gradient.
        Vector<double> orthant(n_l1_);
        for (Index j = 0; j < n_l1_; ++j) {
            orthant[j] = x[j] != 0 ? x[j] : -pseudo[j];
        }

        double step_length = first_step(direction);
        for (int evaluation = 0; evaluation < kMaxEvaluations; ++evaluation) {
            Vector<double> trial_x = x + step_length * direction;
            for (Index j = 0; j < n_l1_; ++j) {
                if (trial_x[j] * orthant[j] <= 0) {
                    trial_x[j] = 0;
                }
            }
            Trial trial;
            trial.grad.resize(x.size());
            trial.value = objective(trial_x, trial.grad);
            ++n_evaluations_;
            const Vector<double> step = trial_x - x;
            if (std::isfinite(trial.value) && trial.value <= f + kC1 * pseudo.dot(step)) {
                accept(x, f, grad, step, trial);
                return Status::kMoved;
            }
            step_length *= backtrack_factor(f, slope * step_length, trial.value);
        }
        return Status::kStalled;
    }

    // Zeroes the direction entries of penalized coordinates whose sign does
    // not oppose the pseudo-gradient, so the step stays a descent step of the
    // non-smooth objective.
    void constrain_to_descent(const Vector<double>& pseudo, Vector<double>& direction) const {
        for (Index j = 0; j < n_l1_; ++j) {
            if (direction[j] * pseudo[j] >= 0) {
                direction[j] = 0;
            }
        }
    }

    // Factor for the next trial step of a backtracking search, from the
    // minimizer of the parabola through the value f0 and slope `change` (the
    // slope times the step) at 0 and the trial value at the step. Kept in
    // [0.1, 0.5]: halving alone would need 70 trials to shrink a step by
    // 1e-21, which an outlier of 1e12 in X can require.
    static double backtrack_factor(double f0, double change, double trial_value) {
        if (!std::isfinite(trial_value)) {
            return 0.1;
        }
        const double curvature = trial_value - f0 - change;
        if (!(curvature > 0)) {
            return 0.5;
        }
        return std::clamp(-change / (2 * curvature), 0.1, 0.5);
    }

    static constexpr double kC1 = 1e-4;
    static constexpr double kC2 = 0.9;
    static constexpr int kMaxEvaluations = 30;

    Vector<double> descent_direction(const Vector<double>& grad) const {
        Vector<double> q = grad;
        const Index m = Index(steps_.size());
        std::vector<double> coefficients(m);
        for (Index i = m - 1; i >= 0; --i) {
            coefficients[i] = inverse_curvatures_[i] * steps_[i].dot(q);
            q -= coefficients[i] * gradient_changes_[i];
        }
        if (m > 0) {
            const double gamma = steps_.back().dot(gradient_changes_.back()) /
                                 gradient_changes_.back().squaredNorm();
            q *= gamma;
        }
        for (Index i = 0; i < m; ++i) {
            const double beta = inverse_curvatures_[i] * gradient_changes_[i].dot(q);
            q += (coefficients[i] - beta) * steps_[i];
        }
        return -q;
    }

    // Keeps the pair only when s.y > 0, which keeps the implicit inverse
    // Hessian positive definite. A step meeting the Wolfe curvature condition
    // guarantees it, and so does strict convexity; rounding can break both.
    void remember(const Vector<double>& step, const Vector<double>& gradient_change) {
        const double curvature = step.dot(gradient_change);
        if (!(curvature > 1e-12 * gradient_change.squaredNorm()) || !(curvature > 0)) {
            return;
        }
        if (Index(steps_.size()) == history_size_) {
            steps_.pop_front();
            gradient_changes_.pop_front();
            inverse_curvatures_.pop_front();
        }
        steps_.push_back(step);
        gradient_changes_.push_back(gradient_change);
        inverse_curvatures_.push_back(1.0 / curvature);
    }

    Trial evaluate(const Vector<double>& x, const Vector<double>& direction, double step,
                   const LbfgsObjective& objective) {
        Trial trial;
        trial.step = step;
        trial.grad.resize(x.size());
        trial.value = objective(x + step * direction, trial.grad);
        trial.slope = trial.grad.dot(direction);
        ++n_evaluations_;
        return trial;
    }

    // Minimizer of the cubic interpolating values and slopes at a and b,
    // kept inside the middle 80% of [a, b]; bisection when the cubic has no
    // minimizer there or a value is not finite.
    static double interpolate(const Trial& a, const Trial& b) {
        const double low = std::min(a.step, b.step), high = std::max(a.step, b.step);
        const double margin = 0.1 * (high - low);
        double candidate = 0.5 * (a.step + b.step);
        if (std::isfinite(a.value) && std::isfinite(b.value) && std::isfinite(b.slope)) {
            const double d1 = a.slope + b.slope - 3 * (a.value - b.value) / (a.step - b.step);
            const double radicand = d1 * d1 - a.slope * b.slope;
            if (radicand >= 0) {
                const double d2 = std::copysign(std::sqrt(radicand), b.step - a.step);
                candidate =
                    b.step - (b.step - a.step) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2);
            }
        }
        if (!std::isfinite(candidate)) {
            candidate = 0.5 * (a.step + b.step);
        }
        return std::clamp(candidate, low + margin, high - margin);
    }

    bool sufficient_decrease(const Trial& trial, double f0, double slope0) const {
        return std::isfinite(trial.value) && trial.value <= f0 + kC1 * trial.step * slope0;
    }

    bool line_search(const Vector<double>& x, double f0, const Vector<double>& direction,
                     double slope0, double first_step, const LbfgsObjective& objective,
                     Trial& accepted) {
        Trial previous;
        previous.step = 0;
        previous.value = f0;
        previous.slope = slope0;
        Trial best;  // lowest trial with sufficient decrease, the fallback
        best.value = f0;
        bool have_best = false;
        auto consider = [&](const Trial& trial) {
            if (sufficient_decrease(trial, f0, slope0) && trial.value < best.value) {
                best = trial;
                have_best = true;
            }
        };

        double step = first_step;
        int evaluations = 0;
        Trial low, high;
        bool bracketed = false;
        while (evaluations < kMaxEvaluations) {
            Trial trial = evaluate(x, direction, step, objective);
            ++evaluations;
            consider(trial);
            if (!sufficient_decrease(trial, f0, slope0) ||
                (previous.step > 0 && trial.value >= previous.value)) {
                low = previous;
                high = trial;
                bracketed = true;
                break;
            }
            if (std::abs(trial.slope) <= -kC2 * slope0) {
                accepted = trial;
                return true;
            }
            if (trial.slope >= 0) {
                low = trial;
                high = previous;
                bracketed = true;
                break;
            }
            previous = trial;
            step *= 4;  // still descending at the trial point: extrapolate
        }

        while (bracketed && evaluations < kMaxEvaluations) {
            // Relative to the steps themselves, because a feature of 1e12 next
            // to features near 1 needs steps near 1e-22 along the gradient.
            if (std::abs(high.step - low.step) <=
                1e-16 * std::max(std::abs(low.step), std::abs(high.step))) {
                break;
            }
            Trial trial = evaluate(x, direction, interpolate(low, high), objective);
            ++evaluations;
            consider(trial);
            if (!sufficient_decrease(trial, f0, slope0) || trial.value >= low.value) {
                high = trial;
                continue;
            }
            if (std::abs(trial.slope) <= -kC2 * slope0) {
                accepted = trial;
                return true;
            }
            if (trial.slope * (high.step - low.step) >= 0) {
                high = low;
            }
            low = trial;
        }
        if (!have_best) {
            return false;
        }
        accepted = best;
        return true;
    }

    Index history_size_;
    std::deque<Vector<double>> steps_, gradient_changes_;
    std::deque<double> inverse_curvatures_;
    Index n_evaluations_ = 0;
    double l1_strength_ = 0;
    Index n_l1_ = 0;
};

}  // namespace fastml
