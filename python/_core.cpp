// Python bindings of the fastml core, the only file that includes Python headers.
//
// Arrays are taken without conversion (`noconvert`): the Python layer checks
// dtype, shape and finiteness and passes C-contiguous float32 or float64
// arrays, which are read in place. Numeric work runs with the GIL released;
// C++ std::invalid_argument becomes Python's ValueError.
#include <pybind11/functional.h>
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "fastml/activations.hpp"
#include "fastml/finite.hpp"
#include "fastml/linear_model.hpp"
#include "fastml/losses.hpp"
#include "fastml/mlp/network.hpp"
#include "fastml/mlp/train_network.hpp"
#include "fastml/optimizers/factory.hpp"
#include "fastml/schedules.hpp"
#include "fastml/train_linear.hpp"

namespace py = pybind11;
using fastml::Index;

template <typename T>
using CArray = py::array_t<T, py::array::c_style>;

namespace {

template <typename T>
CArray<T> empty_like_shape(const py::array& like) {
    return CArray<T>(std::vector<py::ssize_t>(like.shape(), like.shape() + like.ndim()));
}

// Rows and width of an array seen as (rows, last axis); a 1-D array is one row.
std::pair<Index, Index> rows_and_width(const py::array& a) {
    if (a.ndim() == 0) return {1, 1};
    const Index width = a.shape(a.ndim() - 1);
    return {width == 0 ? 0 : Index(a.size()) / width, width};
}

void check_same_shape(const py::array& a, const py::array& b, const char* name_a, const char* name_b) {
    bool same = a.ndim() == b.ndim();
    for (py::ssize_t i = 0; same && i < a.ndim(); ++i) same = a.shape(i) == b.shape(i);
    if (!same) {
        fastml::throw_invalid_argument(name_a, " and ", name_b, " must have the same shape; got ",
                                       py::str(py::tuple(py::cast(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim())))).cast<std::string>(),
                                       " and ",
                                       py::str(py::tuple(py::cast(std::vector<py::ssize_t>(b.shape(), b.shape() + b.ndim())))).cast<std::string>());
    }
}

// Checks that `targets` contains n class indices, each in [0, k).
void check_class_indices(const CArray<std::int64_t>& targets, Index n, Index k) {
    if (targets.ndim() != 1 || targets.shape(0) != n) {
        fastml::throw_invalid_argument("targets must hold one class index per row (", n, "); got ", targets.size(), " values");
    }
    for (Index i = 0; i < n; ++i) {
        const std::int64_t c = targets.data()[i];
        if (c < 0 || c >= k) fastml::throw_invalid_argument("targets[", i, "] = ", c, " is not a class index in [0, ", k, ")");
    }
}

template <typename T>
void bind_elementwise(py::module_& m) {
    m.def("sigmoid", [](CArray<T> x) {
        auto out = empty_like_shape<T>(x);
        py::gil_scoped_release release;
        fastml::sigmoid(x.data(), out.mutable_data(), Index(x.size()));
        return out;
    }, py::arg("x").noconvert(), "Elementwise logistic sigmoid, stable for any input.");
    m.def("log_sigmoid", [](CArray<T> x) {
        auto out = empty_like_shape<T>(x);
        py::gil_scoped_release release;
        fastml::log_sigmoid(x.data(), out.mutable_data(), Index(x.size()));
        return out;
    }, py::arg("x").noconvert(), "Elementwise log(sigmoid(x)), stable for any input.");
    m.def("softmax", [](CArray<T> x) {
        auto out = empty_like_shape<T>(x);
        const auto [rows, width] = rows_and_width(x);
        py::gil_scoped_release release;
        if (width > 0) fastml::softmax_rows(x.data(), out.mutable_data(), rows, width);
        return out;
    }, py::arg("x").noconvert(), "Softmax over the last axis.");
    m.def("log_softmax", [](CArray<T> x) {
        auto out = empty_like_shape<T>(x);
        const auto [rows, width] = rows_and_width(x);
        py::gil_scoped_release release;
        if (width > 0) fastml::log_softmax_rows(x.data(), out.mutable_data(), rows, width);
        return out;
    }, py::arg("x").noconvert(), "Log-softmax over the last axis.");
}

template <typename T>
void bind_losses(py::module_& m) {
    m.def("binary_cross_entropy", [](CArray<T> logits, CArray<T> targets) {
        check_same_shape(logits, targets, "logits", "targets");
        auto loss = empty_like_shape<T>(logits);
        auto grad = empty_like_shape<T>(logits);
        {
            py::gil_scoped_release release;
            fastml::binary_cross_entropy(logits.data(), targets.data(), Index(logits.size()),
                                         loss.mutable_data(), grad.mutable_data());
        }
        return py::make_tuple(loss, grad);
    }, py::arg("logits").noconvert(), py::arg("targets").noconvert(),
       "Per-sample binary cross-entropy from logits and its gradient: (loss, grad).");

    m.def("softmax_cross_entropy", [](CArray<T> logits, CArray<std::int64_t> targets) {
        if (logits.ndim() != 2) fastml::throw_invalid_argument("logits must be 2-D; got ", logits.ndim(), "-D");
        const Index n = logits.shape(0), k = logits.shape(1);
        check_class_indices(targets, n, k);
        CArray<T> loss(n);
        auto grad = empty_like_shape<T>(logits);
        {
            py::gil_scoped_release release;
            fastml::softmax_cross_entropy(logits.data(), targets.data(), n, k, loss.mutable_data(),
                                          grad.mutable_data());
        }
        return py::make_tuple(loss, grad);
    }, py::arg("logits").noconvert(), py::arg("targets").noconvert(),
       "Per-row softmax cross-entropy against class indices and its gradient: (loss, grad).");

    m.def("softmax_cross_entropy_soft", [](CArray<T> logits, CArray<T> targets) {
        if (logits.ndim() != 2) fastml::throw_invalid_argument("logits must be 2-D; got ", logits.ndim(), "-D");
        check_same_shape(logits, targets, "logits", "targets");
        const Index n = logits.shape(0), k = logits.shape(1);
        CArray<T> loss(n);
        auto grad = empty_like_shape<T>(logits);
        {
            py::gil_scoped_release release;
            fastml::softmax_cross_entropy_soft(logits.data(), targets.data(), n, k, loss.mutable_data(),
                                               grad.mutable_data());
        }
        return py::make_tuple(loss, grad);
    }, py::arg("logits").noconvert(), py::arg("targets").noconvert(),
       "Per-row softmax cross-entropy against probability rows and its gradient: (loss, grad).");

    m.def("squared_error", [](CArray<T> predictions, CArray<T> targets) {
        check_same_shape(predictions, targets, "predictions", "targets");
        auto loss = empty_like_shape<T>(predictions);
        auto grad = empty_like_shape<T>(predictions);
        {
            py::gil_scoped_release release;
            fastml::squared_error(predictions.data(), targets.data(), Index(predictions.size()),
                                  loss.mutable_data(), grad.mutable_data());
        }
        return py::make_tuple(loss, grad);
    }, py::arg("predictions").noconvert(), py::arg("targets").noconvert(),
       "Per-element squared error divided by 2 and its gradient: (loss, grad).");
}

fastml::LinearLoss parse_linear_loss(const std::string& name) {
    if (name == "logistic") return fastml::LinearLoss::kLogistic;
    if (name == "softmax") return fastml::LinearLoss::kSoftmax;
    if (name == "squared") return fastml::LinearLoss::kSquared;
    fastml::throw_invalid_argument("unknown linear loss '", name, "'; expected 'logistic', 'softmax' or 'squared'");
}

// Reads the fields of a config struct from a dict whose keys are the field
// names, as fastml.optimizers.resolve_optimizer and resolve_schedule return.
class ConfigReader {
public:
    ConfigReader(const py::dict& settings, const char* what) : settings_(settings), what_(what) {}

    template <typename Field>
    ConfigReader& read(const char* key, Field& field) {
        if (settings_.contains(key)) {
            field = settings_[key].template cast<Field>();
        }
        return *this;
    }

    // Throws for keys that no read() call named.
    void check_all_read(const std::vector<std::string>& names) const {
        for (const auto& item : settings_) {
            const std::string key = item.first.cast<std::string>();
            if (std::find(names.begin(), names.end(), key) == names.end()) {
                fastml::throw_invalid_argument("unknown ", what_, " setting '", key, "'");
            }
        }
    }

private:
    const py::dict& settings_;
    const char* what_;
};

// The optimizer named "lbfgs" has no update rule: a null result makes the
// trainer run L-BFGS.
template <typename T>
std::unique_ptr<fastml::Optimizer<T>> make_linear_optimizer(const py::dict& settings) {
    fastml::OptimizerConfig config;
    ConfigReader reader(settings, "optimizer");
    reader.read("name", config.name)
        .read("beta1", config.beta1)
        .read("beta2", config.beta2)
        .read("epsilon", config.epsilon)
        .read("momentum", config.momentum)
        .read("nesterov", config.nesterov)
        .read("rho", config.rho)
        .read("weight_decay", config.weight_decay)
        .read("initial_accumulator_value", config.initial_accumulator_value);
    reader.check_all_read({"name", "beta1", "beta2", "epsilon", "momentum", "nesterov", "rho",
                           "weight_decay", "initial_accumulator_value"});
    if (config.name == "lbfgs") {
        return nullptr;
    }
    return fastml::make_optimizer<T>(config);
}

fastml::ScheduleConfig make_schedule_config(const py::dict& settings) {
    fastml::ScheduleConfig config;
    ConfigReader reader(settings, "schedule");
    reader.read("name", config.name)
        .read("step_size", config.step_size)
        .read("gamma", config.gamma)
        .read("decay_rate", config.decay_rate)
        .read("t_max", config.t_max)
        .read("min_learning_rate", config.min_learning_rate);
    reader.check_all_read(
        {"name", "step_size", "gamma", "decay_rate", "t_max", "min_learning_rate"});
    return config;
}

// Arrays of one set of rows, kept alive while the C++ trainer reads them.
template <typename T>
struct RowArrays {
    CArray<T> X, targets, sample_weight;
    CArray<std::int64_t> classes;
    fastml::LinearRows<T> rows;

    RowArrays(const fastml::LinearModel<T>& model, CArray<T> X_in, const py::object& targets_in,
              const py::object& weights_in, const char* name)
        : X(std::move(X_in)) {
        if (X.ndim() != 2 || X.shape(1) != model.n_features()) {
            fastml::throw_invalid_argument(name, " must have shape (n_samples, ",
                                           model.n_features(), ")");
        }
        const Index n = X.shape(0);
        rows.X = X.data();
        rows.n_rows = n;
        if (model.loss() == fastml::LinearLoss::kSoftmax) {
            classes = targets_in.cast<CArray<std::int64_t>>();
            if (classes.size() != n) {
                fastml::throw_invalid_argument("targets of ", name, " must have ", n,
                                               " class indices; got ", classes.size());
            }
            check_class_indices(classes, n, model.n_outputs());
            rows.classes = classes.data();
        } else {
            targets = targets_in.cast<CArray<T>>();
            const Index width =
                model.loss() == fastml::LinearLoss::kSquared ? model.n_outputs() : 1;
            if (targets.size() != n * width) {
                fastml::throw_invalid_argument("targets of ", name, " must have ", n * width,
                                               " values; got ", targets.size());
            }
            rows.targets = targets.data();
        }
        if (!weights_in.is_none()) {
            sample_weight = weights_in.cast<CArray<T>>();
            if (sample_weight.size() != n) {
                fastml::throw_invalid_argument("sample_weight of ", name, " must have ", n,
                                               " values; got ", sample_weight.size());
            }
            rows.sample_weight = sample_weight.data();
        }
    }
};

py::dict train_result_to_dict(const fastml::TrainResult& result) {
    py::dict out;
    out["n_epochs"] = result.n_epochs;
    out["converged"] = result.converged;
    out["diverged"] = result.diverged;
    out["interrupted"] = result.interrupted;
    out["stalled"] = result.stalled;
    out["best_epoch"] = result.best_epoch;
    out["gradient_norm"] = result.gradient_norm;
    out["cost_at_zero"] = result.cost_at_zero;
    out["n_evaluations"] = result.n_evaluations;
    out["train_loss"] = result.train_loss;
    out["train_cost"] = result.train_cost;
    out["val_loss"] = result.val_loss;
    return out;
}

template <typename T>
void bind_linear(py::module_& m, const char* trainer_name) {
    using Trainer = fastml::LinearTrainer<T>;

    m.def("linear_decision_function", [](CArray<T> params, CArray<T> X, Index n_outputs, int n_threads) {
        if (X.ndim() != 2) fastml::throw_invalid_argument("X must be 2-D; got ", X.ndim(), "-D");
        const Index n = X.shape(0), d = X.shape(1);
        if (params.size() != n_outputs * (d + 1)) {
            fastml::throw_invalid_argument("params has ", params.size(), " values; expected n_outputs * (n_features + 1) = ", n_outputs * (d + 1));
        }
        fastml::LinearModel<T> model(d, n_outputs, n_outputs == 1 ? fastml::LinearLoss::kSquared : fastml::LinearLoss::kSoftmax);
        CArray<T> logits({py::ssize_t(n), py::ssize_t(n_outputs)});
        py::gil_scoped_release release;
        model.decision_function(params.data(), X.data(), n, logits.mutable_data(), n_threads);
        return logits;
    }, py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("n_outputs"), py::arg("n_threads") = 0,
       "Logits X @ W.T + b of a linear model with flat params [W.ravel(), b].");

    m.def("linear_loss_and_gradient", [](CArray<T> params, CArray<T> X, py::object targets,
                                         py::object sample_weight, const std::string& loss,
                                         Index n_outputs, double scale, int n_threads) {
        if (X.ndim() != 2) fastml::throw_invalid_argument("X must be 2-D; got ", X.ndim(), "-D");
        fastml::LinearModel<T> model(X.shape(1), n_outputs, parse_linear_loss(loss));
        if (params.size() != model.n_params()) {
            fastml::throw_invalid_argument("params has ", params.size(), " values; expected n_outputs * (n_features + 1) = ", model.n_params());
        }
        const RowArrays<T> arrays(model, X, targets, sample_weight, "X");
        const fastml::LinearRows<T>& rows = arrays.rows;
        CArray<T> grad(model.n_params());
        double loss_sum;
        {
            py::gil_scoped_release release;
            loss_sum = model.loss_and_gradient(params.data(), rows, scale, grad.mutable_data(), n_threads);
        }
        return py::make_tuple(loss_sum, grad);
    }, py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("targets"), py::arg("sample_weight"),
       py::arg("loss"), py::arg("n_outputs"), py::arg("scale") = 1.0, py::arg("n_threads") = 0,
       "Fused pass of a linear model: (sum_i w_i * loss_i, scale * its gradient) for flat params [W.ravel(), b].");

    py::class_<Trainer>(
        m, trainer_name,
        "Stateful trainer of a linear model: parameters, optimizer state, L-BFGS history, "
        "shuffling engine and epoch count, all kept between calls to fit.")
        .def(py::init([](Index n_features, Index n_outputs, const std::string& loss,
                         bool fit_intercept, const py::dict& optimizer, double alpha,
                         double l1_ratio, std::uint64_t seed) {
                 return Trainer(
                     fastml::LinearModel<T>(n_features, n_outputs, parse_linear_loss(loss)),
                     make_linear_optimizer<T>(optimizer), fastml::Penalty{alpha, l1_ratio},
                     fit_intercept, seed);
             }),
             py::arg("n_features"), py::arg("n_outputs"), py::arg("loss"), py::arg("fit_intercept"),
             py::arg("optimizer"), py::arg("alpha") = 0.0, py::arg("l1_ratio") = 0.0,
             py::arg("seed") = 0,
             "optimizer is a dict with the key 'name' ('lbfgs' or an update rule of the factory) "
             "and "
             "that rule's hyperparameters.")
        .def_property(
            "params", [](Trainer& t) { return CArray<T>(t.params().size(), t.params().data()); },
            [](Trainer& t, CArray<T> values) {
                if (values.size() != t.params().size()) {
                    fastml::throw_invalid_argument("params must have ", t.params().size(),
                                                   " values; got ", values.size());
                }
                std::copy_n(values.data(), values.size(), t.params().data());
                t.clear_history();
            },
            "Copy of the flat parameters [coef.ravel(), intercept]; setting them clears the L-BFGS "
            "history.")
        .def_property_readonly("epochs_done", &Trainer::epochs_done,
                               "Epochs run over all calls to fit.")
        .def(
            "fit",
            [](Trainer& t, CArray<T> X, py::object targets, py::object sample_weight,
               Index batch_size, int max_epochs, double tol, int n_iter_no_change,
               double learning_rate, int n_threads, py::object callback, py::object X_val,
               py::object targets_val, py::object sample_weight_val, bool early_stopping,
               py::object schedule) {
                RowArrays<T> train(t.model(), X, targets, sample_weight, "X");
                std::optional<RowArrays<T>> validation;
                if (!X_val.is_none()) {
                    validation.emplace(t.model(), X_val.cast<CArray<T>>(), targets_val,
                                       sample_weight_val, "X_val");
                }
                fastml::TrainOptions options;
                options.batch_size = batch_size;
                options.max_epochs = max_epochs;
                options.tol = tol;
                options.n_iter_no_change = n_iter_no_change;
                options.learning_rate = learning_rate;
                options.n_threads = n_threads;
                options.early_stopping = early_stopping;
                if (!schedule.is_none()) {
                    options.schedule = make_schedule_config(schedule.cast<py::dict>());
                    fastml::check_schedule(options.schedule, learning_rate);
                }

                // Every epoch briefly takes the GIL to let Ctrl-C interrupt
                // training and to report progress to the optional callback.
                fastml::EpochCallback on_epoch = [&callback](const fastml::EpochReport& report) {
                    py::gil_scoped_acquire acquire;
                    if (PyErr_CheckSignals() != 0) {
                        throw py::error_already_set();
                    }
                    if (callback.is_none()) {
                        return true;
                    }
                    return callback(report.epoch, report.train_loss, report.train_cost)
                        .template cast<bool>();
                };
                fastml::TrainResult result;
                {
                    py::gil_scoped_release release;
                    result = t.fit(train.rows, options, validation ? &validation->rows : nullptr,
                                   on_epoch);
                }
                return train_result_to_dict(result);
            },
            py::arg("X").noconvert(), py::arg("targets"), py::arg("sample_weight"),
            py::arg("batch_size"), py::arg("max_epochs"), py::arg("tol"),
            py::arg("n_iter_no_change"), py::arg("learning_rate"), py::arg("n_threads"),
            py::arg("callback") = py::none(), py::arg("X_val") = py::none(),
            py::arg("targets_val") = py::none(), py::arg("sample_weight_val") = py::none(),
            py::arg("early_stopping") = false, py::arg("schedule") = py::none(),
            "Train for up to max_epochs epochs and return a dict with n_epochs, converged, "
            "diverged, "
            "interrupted, stalled, best_epoch, gradient_norm, cost_at_zero, n_evaluations, "
            "train_loss, "
            "train_cost "
            "and val_loss.");
}
// An update rule applied in place to a caller's parameter array, for tests and
// for users who compute gradients in their own loop. The array is split into
// segments of the given sizes; a step updates every segment or only the listed
// ones, and the others keep their values and their optimizer state.
// "C-contiguous float64", "non-contiguous float32" or the Python type name.
std::string describe_array(const py::object& value) {
    if (!py::isinstance<py::array>(value))
        return "an object of type " + std::string(py::str(py::type::of(value).attr("__name__")));
    const auto array = py::reinterpret_borrow<py::array>(value);
    const bool contiguous = (array.flags() & py::array::c_style) != 0;
    return std::string(contiguous ? "C-contiguous " : "non-contiguous ") +
           std::string(py::str(array.dtype()));
}

template <typename T>
class OptimizerStepper {
public:
    OptimizerStepper(const fastml::OptimizerConfig& config, const std::vector<Index>& segment_sizes)
        : config_(config), rule_(fastml::make_optimizer<T>(config)) {
        if (segment_sizes.empty()) fastml::throw_invalid_argument("segment_sizes must not be empty");
        Index begin = 0;
        for (std::size_t i = 0; i < segment_sizes.size(); ++i) {
            if (segment_sizes[i] < 0) {
                fastml::throw_invalid_argument("segment_sizes[", i, "] must be >= 0; got ", segment_sizes[i]);
            }
            bounds_.push_back(begin);
            begin += segment_sizes[i];
        }
        bounds_.push_back(begin);
        rule_->reset(begin, n_segments());
    }

    Index n_params() const { return bounds_.back(); }
    Index n_segments() const { return Index(bounds_.size()) - 1; }
    const std::string& name() const { return config_.name; }

    void exclude_from_weight_decay(Index segment) {
        check_segment(segment);
        rule_->exclude_from_weight_decay(segment);
    }

    void step(CArray<T> params, CArray<T> grad, double learning_rate, const std::vector<Index>& segments) {
        if (!params.writeable()) fastml::throw_invalid_argument("params must be a writable array");
        if (params.size() != n_params()) {
            fastml::throw_invalid_argument("params must have ", n_params(), " values; got ", params.size());
        }
        if (grad.size() != n_params()) {
            fastml::throw_invalid_argument("grad must have ", n_params(), " values; got ", grad.size());
        }
        if (!(std::isfinite(learning_rate) && learning_rate >= 0)) {
            fastml::throw_invalid_argument("learning_rate must be finite and >= 0; got ", learning_rate);
        }
        std::vector<bool> listed(std::size_t(n_segments()), false);
        for (Index segment : segments) {
            check_segment(segment);
            if (listed[std::size_t(segment)]) {
                fastml::throw_invalid_argument("segments must not repeat a segment; got ", segment,
                                               " twice");
            }
            listed[std::size_t(segment)] = true;
        }

        T* w = params.mutable_data();
        const T* g = grad.data();
        py::gil_scoped_release release;
        for (Index segment : segments) {
            rule_->update(segment, bounds_[segment], bounds_[segment + 1], w, g, learning_rate);
        }
    }

    void step_all(CArray<T> params, CArray<T> grad, double learning_rate) {
        std::vector<Index> all(n_segments());
        for (Index i = 0; i < n_segments(); ++i) all[i] = i;
        step(params, grad, learning_rate, all);
    }

private:
    void check_segment(Index segment) const {
        if (segment < 0 || segment >= n_segments()) {
            fastml::throw_invalid_argument("segment must be in [0, ", n_segments(), "); got ", segment);
        }
    }

    fastml::OptimizerConfig config_;
    std::unique_ptr<fastml::Optimizer<T>> rule_;
    std::vector<Index> bounds_;
};

template <typename T>
void bind_optimizers(py::module_& m, const char* class_name) {
    using Stepper = OptimizerStepper<T>;
    py::class_<Stepper>(m, class_name,
                        "An update rule stepping a NumPy parameter array in place, split into segments.")
        .def(py::init([](const std::vector<Index>& segment_sizes, const std::string& name, double momentum,
                         bool nesterov, double beta1, double beta2, double epsilon, double rho,
                         double weight_decay, double initial_accumulator_value) {
                 fastml::OptimizerConfig config;
                 config.name = name;
                 config.momentum = momentum;
                 config.nesterov = nesterov;
                 config.beta1 = beta1;
                 config.beta2 = beta2;
                 config.epsilon = epsilon;
                 config.rho = rho;
                 config.weight_decay = weight_decay;
                 config.initial_accumulator_value = initial_accumulator_value;
                 return Stepper(config, segment_sizes);
             }),
             py::arg("segment_sizes"), py::arg("name") = "sgd", py::arg("momentum") = 0.0,
             py::arg("nesterov") = false, py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
             py::arg("epsilon") = 1e-8, py::arg("rho") = 0.99, py::arg("weight_decay") = 0.01,
             py::arg("initial_accumulator_value") = 0.0)
        .def_property_readonly("n_params", &Stepper::n_params)
        .def_property_readonly("n_segments", &Stepper::n_segments)
        .def_property_readonly("name", &Stepper::name)
        .def("exclude_from_weight_decay", &Stepper::exclude_from_weight_decay, py::arg("segment"),
             "Keep AdamW's decoupled weight decay off one segment, such as an intercept.")
        .def("step", &Stepper::step_all, py::arg("params").noconvert(), py::arg("grad").noconvert(),
             py::arg("learning_rate"), "Apply one update to every segment of params, in place.")
        .def("step", &Stepper::step, py::arg("params").noconvert(), py::arg("grad").noconvert(),
             py::arg("learning_rate"), py::arg("segments"),
             "Apply one update to the listed segments of params, in place; the others are frozen.")
        // Reached when no overload above accepts the arguments without a
        // conversion: names the array that does not fit instead of listing
        // the signatures, and otherwise converts the rest (a NumPy scalar
        // learning rate, a tuple of segments) and steps.
        .def("step", [](Stepper& self, const py::object& params, const py::object& grad,
                        const py::args& rest, const py::kwargs& named) {
            const std::string expected = std::string(py::str(py::dtype::of<T>()));
            for (const auto& [name, value] : {std::pair{"params", params}, std::pair{"grad", grad}}) {
                const std::string found = describe_array(value);
                if (found != "C-contiguous " + expected)
                    throw py::type_error(std::string("step: ") + name + " must be a C-contiguous " +
                                         "numpy array of " + expected + ", the stepper's dtype; got " +
                                         found);
            }
            const auto argument = [&](std::size_t position, const char* name) -> py::object {
                if (rest.size() > position) return rest[position];
                if (named.contains(name)) return named[name];
                return py::none();
            };
            const py::object rate = argument(0, "learning_rate");
            const py::object segments = argument(1, "segments");
            if (rest.size() + named.size() > 2 || rate.is_none()) {
                throw py::type_error("step: expected step(params, grad, learning_rate) or "
                                     "step(params, grad, learning_rate, segments)");
            }
            const std::string rate_error =
                "step: learning_rate must be a real number; got an object of type " +
                std::string(py::str(py::type::of(rate).attr("__name__")));
            // float() would also parse a string, which is no rate.
            if (py::isinstance<py::str>(rate) || py::isinstance<py::bytes>(rate))
                throw py::type_error(rate_error);
            double learning_rate;
            try {
                learning_rate = py::float_(rate);
            } catch (py::error_already_set& error) {
                if (error.matches(PyExc_OverflowError)) {
                    throw py::value_error("step: learning_rate is too large for a float; got " +
                                          std::string(py::str(py::repr(rate))).substr(0, 40));
                }
                throw py::type_error(rate_error);
            }
            std::vector<Index> segment_list;
            if (!segments.is_none()) {
                try {
                    segment_list = segments.cast<std::vector<Index>>();
                } catch (const py::cast_error&) {
                    throw py::type_error(
                        "step: segments must be a sequence of segment numbers (ints); got " +
                        std::string(py::str(py::repr(segments))).substr(0, 80));
                }
            }
            const CArray<T> params_array = py::reinterpret_borrow<CArray<T>>(params);
            const CArray<T> grad_array = py::reinterpret_borrow<CArray<T>>(grad);
            if (segments.is_none()) {
                self.step_all(params_array, grad_array, learning_rate);
            } else {
                self.step(params_array, grad_array, learning_rate, segment_list);
            }
        });
}

void bind_schedules(py::module_& m) {
    m.def("scheduled_learning_rate",
          [](double base_rate, int epoch, const std::string& name, int step_size, double gamma,
             double decay_rate, int t_max, double min_learning_rate) {
              fastml::ScheduleConfig config{name, step_size, gamma, decay_rate, t_max, min_learning_rate};
              return fastml::scheduled_learning_rate(config, base_rate, epoch);
          },
          py::arg("base_rate"), py::arg("epoch"), py::arg("name") = "constant", py::arg("step_size") = 10,
          py::arg("gamma") = 0.1, py::arg("decay_rate") = 1.0, py::arg("t_max") = 100,
          py::arg("min_learning_rate") = 0.0,
          "Learning rate of epoch `epoch` (0 for the first) under a schedule and a base rate.");
}

fastml::OutputLoss parse_output_loss(const std::string& name) {
    if (name == "softmax") return fastml::OutputLoss::kSoftmax;
    if (name == "sigmoid") return fastml::OutputLoss::kSigmoid;
    if (name == "squared") return fastml::OutputLoss::kSquared;
    fastml::throw_invalid_argument("unknown network output '", name,
                                   "'; expected 'softmax', 'sigmoid' or 'squared'");
}

template <typename T>
fastml::Network<T> make_network(const std::vector<Index>& layer_sizes,
                                const std::vector<std::string>& activations,
                                const std::string& output) {
    std::vector<fastml::Activation> parsed;
    for (const std::string& name : activations) parsed.push_back(fastml::parse_activation(name));
    return fastml::Network<T>(layer_sizes, parsed, parse_output_loss(output));
}

// Owns the arrays that back a NetworkRows view, so they outlive the view.
template <typename T>
struct NetworkRowsHolder {
    CArray<T> X, targets, sample_weight;
    CArray<std::int64_t> classes;
    fastml::NetworkRows<T> rows;
};

template <typename T>
NetworkRowsHolder<T> network_rows(fastml::Network<T>& network, CArray<T> X, py::object targets,
                                  py::object sample_weight, const char* name) {
    NetworkRowsHolder<T> holder;
    if (X.ndim() != 2 || X.shape(1) != network.n_features()) {
        fastml::throw_invalid_argument(name, " must have shape (n_samples, ", network.n_features(),
                                       ")");
    }
    const Index n = X.shape(0);
    holder.X = X;
    holder.rows.X = X.data();
    holder.rows.n_rows = n;
    if (network.output() == fastml::OutputLoss::kSoftmax) {
        holder.classes = targets.cast<CArray<std::int64_t>>();
        if (holder.classes.size() != n) {
            fastml::throw_invalid_argument("targets of ", name, " must have ", n,
                                           " class indices; got ", holder.classes.size());
        }
        const Index k = network.n_outputs();
        for (Index i = 0; i < n; ++i) {
            const std::int64_t c = holder.classes.data()[i];
            if (c < 0 || c >= k)
                fastml::throw_invalid_argument("targets[", i, "] = ", c,
                                               " is not a class index in [0, ", k, ")");
        }
        holder.rows.classes = holder.classes.data();
    } else {
        holder.targets = targets.cast<CArray<T>>();
        if (holder.targets.size() != n * network.n_outputs()) {
            fastml::throw_invalid_argument("targets of ", name, " must have ",
                                           n * network.n_outputs(), " values; got ",
                                           holder.targets.size());
        }
        holder.rows.targets = holder.targets.data();
    }
    if (!sample_weight.is_none()) {
        holder.sample_weight = sample_weight.cast<CArray<T>>();
        if (holder.sample_weight.size() != n) {
            fastml::throw_invalid_argument("sample_weight of ", name, " must have ", n,
                                           " values; got ", holder.sample_weight.size());
        }
        holder.rows.sample_weight = holder.sample_weight.data();
    }
    return holder;
}

template <typename T>
void check_network_params(const fastml::Network<T>& network, const CArray<T>& params) {
    if (params.ndim() != 1 || params.size() != network.n_params()) {
        fastml::throw_invalid_argument("params must be 1-D with ", network.n_params(),
                                       " values; got ", params.size());
    }
}

template <typename T>
void bind_networks(py::module_& m, const char* trainer_name) {
    using Trainer = fastml::NetworkTrainer<T>;

    m.def(
        "network_forward",
        [](CArray<T> params, CArray<T> X, std::vector<Index> layer_sizes,
           std::vector<std::string> activations, int n_threads) {
            auto network = make_network<T>(layer_sizes, activations, "squared");
            check_network_params(network, params);
            if (X.ndim() != 2 || X.shape(1) != network.n_features()) {
                fastml::throw_invalid_argument("X must have shape (n_samples, ",
                                               network.n_features(), ")");
            }
            const Index n = X.shape(0);
            CArray<T> logits({py::ssize_t(n), py::ssize_t(network.n_outputs())});
            py::gil_scoped_release release;
            network.forward(params.data(), X.data(), n, logits.mutable_data(), n_threads);
            return logits;
        },
        py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("layer_sizes"),
        py::arg("activations"), py::arg("n_threads") = 0,
        "Logits of a dense network with flat params [W_0.ravel(), b_0, W_1.ravel(), b_1, ...].");

    m.def(
        "network_loss_gradient",
        [](CArray<T> params, CArray<T> X, py::object targets, py::object sample_weight,
           std::vector<Index> layer_sizes, std::vector<std::string> activations,
           const std::string& output, int n_threads) {
            auto network = make_network<T>(layer_sizes, activations, output);
            check_network_params(network, params);
            auto holder = network_rows(network, X, targets, sample_weight, "X");
            CArray<T> grad(network.n_params());
            double loss_sum;
            {
                py::gil_scoped_release release;
                loss_sum = network.loss_and_gradient(params.data(), holder.rows, 1.0,
                                                     grad.mutable_data(), {}, n_threads);
            }
            return py::make_tuple(loss_sum, grad);
        },
        py::arg("params").noconvert(), py::arg("X").noconvert(), py::arg("targets"),
        py::arg("sample_weight"), py::arg("layer_sizes"), py::arg("activations"), py::arg("output"),
        py::arg("n_threads") = 0,
        "Sum of the weighted per-sample losses and its gradient with respect to the flat params.");

    py::class_<Trainer>(m, trainer_name,
                        "Stateful trainer of a dense network: parameters, optimizer state and RNG.")
        .def(py::init([](std::vector<Index> layer_sizes, std::vector<std::string> activations,
                         const std::string& output, const py::dict& optimizer, double alpha,
                         double l1_ratio, std::uint64_t seed) {
                 auto rule = make_linear_optimizer<T>(optimizer);
                 if (!rule) {
                     fastml::throw_invalid_argument(
                         "NetworkTrainer: L-BFGS is available for the linear models only; use "
                         "an update rule such as 'adam' or 'sgd' for a network");
                 }
                 return Trainer(make_network<T>(layer_sizes, activations, output), std::move(rule),
                                fastml::Penalty{alpha, l1_ratio}, seed);
             }),
             py::arg("layer_sizes"), py::arg("activations"), py::arg("output"),
             py::arg("optimizer"), py::arg("alpha") = 0.0, py::arg("l1_ratio") = 0.0,
             py::arg("seed") = 0,
             "optimizer is a dict with the key 'name' (an update rule of the factory) and that "
             "rule's hyperparameters.")
        .def_property(
            "params", [](Trainer& t) { return CArray<T>(t.params().size(), t.params().data()); },
            [](Trainer& t, CArray<T> values) {
                if (values.size() != t.params().size()) {
                    fastml::throw_invalid_argument("params must have ", t.params().size(),
                                                   " values; got ", values.size());
                }
                std::copy_n(values.data(), values.size(), t.params().data());
            },
            "Copy of the flat parameters [W_0.ravel(), b_0, W_1.ravel(), b_1, ...].")
        .def_property(
            "trainable", [](Trainer& t) { return t.trainable(); },
            [](Trainer& t, const std::vector<bool>& flags) { t.set_trainable(flags); },
            "One flag per segment (W_0, b_0, W_1, b_1, ...); False freezes the segment.")
        .def(
            "fit",
            [](Trainer& t, CArray<T> X, py::object targets, py::object sample_weight,
               py::object X_val, py::object targets_val, Index batch_size, int max_epochs,
               double tol, int n_iter_no_change, double learning_rate, int n_threads,
               bool early_stopping, py::object callback, py::object schedule) {
                auto data = network_rows(t.network(), X, targets, sample_weight, "X");
                NetworkRowsHolder<T> validation;
                const bool has_validation = !X_val.is_none();
                if (has_validation) {
                    validation = network_rows(t.network(), X_val.cast<CArray<T>>(), targets_val,
                                              py::none(), "X_val");
                }
                fastml::NetworkTrainOptions options;
                options.batch_size = batch_size;
                options.max_epochs = max_epochs;
                options.tol = tol;
                options.n_iter_no_change = n_iter_no_change;
                options.learning_rate = learning_rate;
                options.n_threads = n_threads;
                options.early_stopping = early_stopping;
                if (!schedule.is_none()) {
                    options.schedule = make_schedule_config(schedule.cast<py::dict>());
                    fastml::check_schedule(options.schedule, learning_rate);
                }

                // Every epoch briefly takes the GIL to let Ctrl-C interrupt
                // training and to report progress to the optional callback.
                fastml::NetworkEpochCallback on_epoch =
                    [&callback](const fastml::NetworkEpochReport& report) {
                        py::gil_scoped_acquire acquire;
                        if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                        if (callback.is_none()) return true;
                        return callback(report.epoch, report.train_loss, report.train_cost)
                            .template cast<bool>();
                    };
                fastml::NetworkTrainResult result;
                {
                    py::gil_scoped_release release;
                    result = t.fit(data.rows, has_validation ? &validation.rows : nullptr, options,
                                   on_epoch);
                }
                py::dict out;
                out["n_epochs"] = result.n_epochs;
                out["converged"] = result.converged;
                out["diverged"] = result.diverged;
                out["interrupted"] = result.interrupted;
                out["best_epoch"] = result.best_epoch;
                out["gradient_norm"] = result.gradient_norm;
                out["train_loss"] = result.train_loss;
                out["train_cost"] = result.train_cost;
                out["validation_loss"] = result.validation_loss;
                return out;
            },
            py::arg("X").noconvert(), py::arg("targets"), py::arg("sample_weight"),
            py::arg("X_val"), py::arg("targets_val"), py::arg("batch_size"), py::arg("max_epochs"),
            py::arg("tol"), py::arg("n_iter_no_change"), py::arg("learning_rate"),
            py::arg("n_threads"), py::arg("early_stopping"), py::arg("callback") = py::none(),
            py::arg("schedule") = py::none(),
            "Train for up to max_epochs epochs and return a dict with n_epochs, converged, "
            "diverged, "
            "interrupted, best_epoch, gradient_norm, train_loss, train_cost and validation_loss.");
}

}  // namespace

template <typename T>
void bind_checks(py::module_& m) {
    m.def(
        "find_non_finite",
        [](CArray<T> values, int n_threads) {
            const Index n = Index(values.size());
            fastml::NonFinite found;
            {
                py::gil_scoped_release release;
                found = fastml::find_non_finite(values.data(), n, n_threads);
            }
            switch (found) {
                case fastml::NonFinite::kNaN:
                    return "nan";
                case fastml::NonFinite::kInfinity:
                    return "inf";
                default:
                    return "";
            }
        },
        py::arg("values").noconvert(), py::arg("n_threads") = 0,
        "'nan' when the C-contiguous array contains a NaN, else 'inf' when it contains an "
        "infinity, else ''.");
}

PYBIND11_MODULE(_core, m) {
    m.doc() = "C++ core of fastml: stable activations, losses from logits and linear-model training.";
    bind_elementwise<double>(m);
    bind_elementwise<float>(m);
    bind_losses<double>(m);
    bind_losses<float>(m);
    bind_linear<double>(m, "LinearTrainer64");
    bind_linear<float>(m, "LinearTrainer32");
    bind_networks<double>(m, "NetworkTrainer64");
    bind_networks<float>(m, "NetworkTrainer32");
    bind_optimizers<double>(m, "Optimizer64");
    bind_optimizers<float>(m, "Optimizer32");
    bind_schedules(m);
    bind_checks<double>(m);
    bind_checks<float>(m);
}
