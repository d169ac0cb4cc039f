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

#include <cstdint>
#include <string>

#include "fastml/activations.hpp"
#include "fastml/linear_model.hpp"
#include "fastml/losses.hpp"
#include "fastml/mlp/network.hpp"
#include "fastml/mlp/train_network.hpp"
#include "fastml/optimizers/factory.hpp"
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
        const Index n = X.shape(0), d = X.shape(1);
        fastml::LinearModel<T> model(d, n_outputs, parse_linear_loss(loss));
        if (params.size() != model.n_params()) {
            fastml::throw_invalid_argument("params has ", params.size(), " values; expected n_outputs * (n_features + 1) = ", model.n_params());
        }
        fastml::LinearRows<T> rows;
        rows.X = X.data();
        rows.n_rows = n;
        CArray<T> real_targets;
        CArray<std::int64_t> class_targets;
        if (model.loss() == fastml::LinearLoss::kSoftmax) {
            class_targets = targets.cast<CArray<std::int64_t>>();
            check_class_indices(class_targets, n, n_outputs);
            rows.classes = class_targets.data();
        } else {
            real_targets = targets.cast<CArray<T>>();
            const Index width = model.loss() == fastml::LinearLoss::kSquared ? n_outputs : 1;
            if (real_targets.size() != n * width) fastml::throw_invalid_argument("targets must have ", n * width, " values; got ", real_targets.size());
            rows.targets = real_targets.data();
        }
        CArray<T> weights;
        if (!sample_weight.is_none()) {
            weights = sample_weight.cast<CArray<T>>();
            if (weights.size() != n) fastml::throw_invalid_argument("sample_weight must have ", n, " values; got ", weights.size());
            rows.sample_weight = weights.data();
        }
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

    py::class_<Trainer>(m, trainer_name, "Stateful trainer of a linear model: parameters, optimizer state and RNG.")
        .def(py::init([](Index n_features, Index n_outputs, const std::string& loss, bool fit_intercept,
                         const std::string& optimizer, double beta1, double beta2, double epsilon,
                         double alpha, double l1_ratio, std::uint64_t seed) {
                 fastml::OptimizerConfig config{optimizer, beta1, beta2, epsilon};
                 return Trainer(fastml::LinearModel<T>(n_features, n_outputs, parse_linear_loss(loss)),
                                fastml::make_optimizer<T>(config), fastml::Penalty{alpha, l1_ratio},
                                fit_intercept, seed);
             }),
             py::arg("n_features"), py::arg("n_outputs"), py::arg("loss"), py::arg("fit_intercept"),
             py::arg("optimizer"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999, py::arg("epsilon") = 1e-8,
             py::arg("alpha") = 0.0, py::arg("l1_ratio") = 0.0, py::arg("seed") = 0)
        .def_property("params",
            [](Trainer& t) { return CArray<T>(t.params().size(), t.params().data()); },
            [](Trainer& t, CArray<T> values) {
                if (values.size() != t.params().size()) {
                    fastml::throw_invalid_argument("params must have ", t.params().size(), " values; got ", values.size());
                }
                std::copy_n(values.data(), values.size(), t.params().data());
            },
            "Copy of the flat parameters [coef.ravel(), intercept].")
        .def("fit", [](Trainer& t, CArray<T> X, py::object targets, py::object sample_weight,
                       Index batch_size, int max_epochs, double tol, int n_iter_no_change,
                       double learning_rate, int n_threads, py::object callback) {
                 if (X.ndim() != 2 || X.shape(1) != t.model().n_features()) {
                     fastml::throw_invalid_argument("X must have shape (n_samples, ", t.model().n_features(), ")");
                 }
                 const Index n = X.shape(0);
                 fastml::LinearRows<T> rows;
                 rows.X = X.data();
                 rows.n_rows = n;
                 CArray<T> real_targets;
                 CArray<std::int64_t> class_targets;
                 if (t.model().loss() == fastml::LinearLoss::kSoftmax) {
                     class_targets = targets.cast<CArray<std::int64_t>>();
                     check_class_indices(class_targets, n, t.model().n_outputs());
                     rows.classes = class_targets.data();
                 } else {
                     real_targets = targets.cast<CArray<T>>();
                     const Index width = t.model().loss() == fastml::LinearLoss::kSquared ? t.model().n_outputs() : 1;
                     if (real_targets.size() != n * width) fastml::throw_invalid_argument("targets must have ", n * width, " values; got ", real_targets.size());
                     rows.targets = real_targets.data();
                 }
                 CArray<T> weights;
                 if (!sample_weight.is_none()) {
                     weights = sample_weight.cast<CArray<T>>();
                     if (weights.size() != n) fastml::throw_invalid_argument("sample_weight must have ", n, " values; got ", weights.size());
                     rows.sample_weight = weights.data();
                 }
                 fastml::TrainOptions options;
                 options.batch_size = batch_size;
                 options.max_epochs = max_epochs;
                 options.tol = tol;
                 options.n_iter_no_change = n_iter_no_change;
                 options.learning_rate = learning_rate;
                 options.n_threads = n_threads;

                 // Every epoch briefly takes the GIL to let Ctrl-C interrupt
                 // training and to report progress to the optional callback.
                 fastml::EpochCallback on_epoch = [&callback](const fastml::EpochReport& report) {
                     py::gil_scoped_acquire acquire;
                     if (PyErr_CheckSignals() != 0) throw py::error_already_set();
                     if (callback.is_none()) return true;
                     return callback(report.epoch, report.train_loss, report.train_cost).template cast<bool>();
                 };
                 fastml::TrainResult result;
                 {
                     py::gil_scoped_release release;
                     result = t.fit(rows, options, on_epoch);
                 }
                 py::dict out;
                 out["n_epochs"] = result.n_epochs;
                 out["converged"] = result.converged;
                 out["diverged"] = result.diverged;
                 out["interrupted"] = result.interrupted;
                 out["gradient_norm"] = result.gradient_norm;
                 out["train_loss"] = result.train_loss;
                 out["train_cost"] = result.train_cost;
                 return out;
             },
             py::arg("X").noconvert(), py::arg("targets"), py::arg("sample_weight"), py::arg("batch_size"),
             py::arg("max_epochs"), py::arg("tol"), py::arg("n_iter_no_change"), py::arg("learning_rate"),
             py::arg("n_threads"), py::arg("callback") = py::none(),
             "Train for up to max_epochs epochs and return a dict with n_epochs, converged, diverged, "
             "interrupted, gradient_norm, train_loss and train_cost.");
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
                         const std::string& output, const std::string& optimizer, double beta1,
                         double beta2, double epsilon, double alpha, double l1_ratio,
                         std::uint64_t seed) {
                 fastml::OptimizerConfig config{optimizer, beta1, beta2, epsilon};
                 return Trainer(make_network<T>(layer_sizes, activations, output),
                                fastml::make_optimizer<T>(config), fastml::Penalty{alpha, l1_ratio},
                                seed);
             }),
             py::arg("layer_sizes"), py::arg("activations"), py::arg("output"),
             py::arg("optimizer"), py::arg("beta1") = 0.9, py::arg("beta2") = 0.999,
             py::arg("epsilon") = 1e-8, py::arg("alpha") = 0.0, py::arg("l1_ratio") = 0.0,
             py::arg("seed") = 0)
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
               bool early_stopping, py::object callback) {
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
            "Train for up to max_epochs epochs and return a dict with n_epochs, converged, "
            "diverged, "
            "interrupted, best_epoch, gradient_norm, train_loss, train_cost and validation_loss.");
}

}  // namespace

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
}
