// Microbenchmarks of the fastml kernels, each reported against references
// measured in the same binary.
//
// Kernels: the fused loss+gradient pass of the linear models at the W1
// shape (200,000 x 100, logistic) and the W2 shape (60,000 x 784, softmax
// over 10 classes), and one update of every optimizer the factory builds, on
// one million parameters; float32 and float64; 1 and 2 threads.
//
// References: a streaming sum over the same bytes (the memory-bandwidth
// limit) and the same two matrix products done by Eigen's GEMM without the
// loss (Z = X W^T and Z^T X; the compute limit of the pass). Counters:
//   bytes_per_second, FLOP_per_second  rates of the kernel;
//   of_stream_limit  stream time / kernel time (1 = at memory bandwidth);
//   of_gemm_limit    GEMM time / kernel time (1 = as fast as the products);
//   of_limit         max(stream, GEMM) time / kernel time.
// A value near 1 means the kernel runs at what the machine allows.
//
// The dense network at the W3 shape (784 -> 128 ReLU -> 10 softmax) is
// measured on one mini-batch of 128 rows (one training step's forward and
// backward pass) and on all 60,000 rows, against Eigen's GEMM of the same
// five products: the compute limit.
//
// Whole epochs of the C++ training loops, as a user's fit runs them: a
// linear model at the W1 and W2 shapes and the W3 network, in batches of
// 128 shuffled rows.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "fastml/linear_model.hpp"
#include "fastml/mlp/network.hpp"
#include "fastml/mlp/train_network.hpp"
#include "fastml/train_linear.hpp"
#include "fastml/optimizers/factory.hpp"

namespace {

using fastml::Index;

struct Shape {
    const char* name;
    Index n_rows;
    Index n_features;
    Index n_outputs;
    fastml::LinearLoss loss;
};

constexpr Shape kW1{"W1", 200000, 100, 1, fastml::LinearLoss::kLogistic};
constexpr Shape kW2{"W2", 60000, 784, 10, fastml::LinearLoss::kSoftmax};
constexpr Index kOptimizerParams = 1000000;

// Seeded data of one shape: standard normal features, labels drawn from a
// random linear model so that the loss is neither 0 nor saturated.
template <typename T>
struct Workload {
    explicit Workload(const Shape& shape)
        : shape(shape),
          X(std::size_t(shape.n_rows * shape.n_features)),
          targets(std::size_t(shape.n_rows)),
          classes(std::size_t(shape.n_rows)),
          params(std::size_t(shape.n_outputs * (shape.n_features + 1))),
          grad(params.size()) {
        std::mt19937_64 engine(42);
        std::normal_distribution<double> normal(0.0, 1.0);
        for (auto& x : X) x = T(normal(engine));
        for (auto& p : params) p = T(0.05 * normal(engine));
        std::uniform_int_distribution<int> label(0, int(shape.n_outputs > 1 ? shape.n_outputs - 1 : 1));
        for (Index i = 0; i < shape.n_rows; ++i) {
            const int value = label(engine);
            targets[std::size_t(i)] = T(value > 0 ? 1 : 0);
            classes[std::size_t(i)] = value;
        }
    }

    fastml::LinearRows<T> rows() const {
        fastml::LinearRows<T> r;
        r.X = X.data();
        r.n_rows = shape.n_rows;
        if (shape.loss == fastml::LinearLoss::kSoftmax) {
            r.classes = classes.data();
        } else {
            r.targets = targets.data();
        }
        return r;
    }

    double x_bytes() const { return double(X.size()) * sizeof(T); }

    // Multiply-adds of the two products of the pass, counted as 2 FLOP each.
    double pass_flop() const { return 4.0 * double(shape.n_rows * shape.n_features * shape.n_outputs); }

    Shape shape;
    std::vector<T> X;
    std::vector<T> targets;
    std::vector<std::int64_t> classes;
    std::vector<T> params;
    std::vector<T> grad;
};

// One workload per shape and type, built on first use and kept for the run.
template <typename T>
Workload<T>& workload(const Shape& shape) {
    static std::map<std::string, std::unique_ptr<Workload<T>>> cache;
    auto& slot = cache[shape.name];
    if (!slot) slot = std::make_unique<Workload<T>>(shape);
    return *slot;
}

// Sums `n` values with `threads` threads over fixed chunks, as the kernels
// split their rows; the result is returned so the compiler keeps the loads.
template <typename T>
double streaming_sum(const T* data, Index n, int threads) {
    const Index chunk = fastml::kChunkRows * 64;
    const Index n_chunks = (n + chunk - 1) / chunk;
    double total = 0;
#pragma omp parallel for num_threads(threads) schedule(static) reduction(+ : total)
    for (Index c = 0; c < n_chunks; ++c) {
        const Index begin = c * chunk;
        const Index size = std::min(chunk, n - begin);
        total += double(Eigen::Map<const fastml::ArrayX<T>>(data + begin, size).sum());
    }
    return total;
}

// The two products of the fused pass, Z = X W^T and G = Z^T X, as plain Eigen
// GEMMs over the same chunks of rows, without the loss in between.
template <typename T>
void gemm_reference(Workload<T>& data, int threads) {
    const Shape& s = data.shape;
    const Index n_chunks = fastml::chunk_count(s.n_rows);
    Eigen::Map<const fastml::RowMatrix<T>> W(data.params.data(), s.n_outputs, s.n_features);
#pragma omp parallel num_threads(threads)
    {
        fastml::RowMatrix<T> Z(fastml::kChunkRows, s.n_outputs);
        fastml::RowMatrix<T> G = fastml::RowMatrix<T>::Zero(s.n_outputs, s.n_features);
#pragma omp for schedule(static)
        for (Index c = 0; c < n_chunks; ++c) {
            const Index begin = c * fastml::kChunkRows;
            const Index rows = std::min(fastml::kChunkRows, s.n_rows - begin);
            Eigen::Map<const fastml::RowMatrix<T>> Xc(data.X.data() + begin * s.n_features, rows,
                                                     s.n_features);
            auto Zc = Z.topRows(rows);
            Zc.noalias() = Xc * W.transpose();
            G.noalias() += Zc.transpose() * Xc;
        }
        benchmark::DoNotOptimize(G.data());
    }
}

template <typename F>
double min_seconds(F&& run, int repeats) {
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        run();
        const std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start;
        best = std::min(best, elapsed.count());
    }
    return best;
}

struct ReferenceTimes {
    double stream_seconds;
    double gemm_seconds;
};

// Reference times of one workload at one thread count: the minimum over
// several runs, measured once and cached.
template <typename T>
ReferenceTimes reference_times(const Shape& shape, int threads) {
    static std::map<std::pair<std::string, int>, ReferenceTimes> cache;
    const auto key = std::make_pair(std::string(shape.name), threads);
    auto found = cache.find(key);
    if (found != cache.end()) return found->second;
    Workload<T>& data = workload<T>(shape);
    ReferenceTimes times{};
    times.stream_seconds = min_seconds(
        [&] { benchmark::DoNotOptimize(streaming_sum(data.X.data(), Index(data.X.size()), threads)); }, 15);
    times.gemm_seconds = min_seconds([&] { gemm_reference(data, threads); }, 7);
    cache[key] = times;
    return times;
}

// Counters that turn a per-iteration reference time into "reference time /
// kernel time" once Google Benchmark divides by the measured time.
void set_limit_counters(benchmark::State& state, const ReferenceTimes& reference, bool with_gemm) {
    using benchmark::Counter;
    state.counters["of_stream_limit"] = Counter(reference.stream_seconds, Counter::kIsIterationInvariantRate);
    if (with_gemm) {
        state.counters["of_gemm_limit"] = Counter(reference.gemm_seconds, Counter::kIsIterationInvariantRate);
    }
    const double limit = with_gemm ? std::max(reference.stream_seconds, reference.gemm_seconds)
                                   : reference.stream_seconds;
    state.counters["of_limit"] = Counter(limit, Counter::kIsIterationInvariantRate);
}

template <typename T>
void BM_FusedPass(benchmark::State& state, const Shape& shape) {
    const int threads = int(state.range(0));
    Workload<T>& data = workload<T>(shape);
    fastml::LinearModel<T> model(shape.n_features, shape.n_outputs, shape.loss);
    const fastml::LinearRows<T> rows = data.rows();
    const double scale = 1.0 / double(shape.n_rows);
    for (auto _ : state) {
        benchmark::DoNotOptimize(model.loss_and_gradient(data.params.data(), rows, scale, data.grad.data(), threads));
        benchmark::ClobberMemory();
    }
    using benchmark::Counter;
    state.counters["bytes_per_second"] = Counter(data.x_bytes(), Counter::kIsIterationInvariantRate);
    state.counters["FLOP_per_second"] = Counter(data.pass_flop(), Counter::kIsIterationInvariantRate);
    set_limit_counters(state, reference_times<T>(shape, threads), true);
}

template <typename T>
void BM_StreamSum(benchmark::State& state, const Shape& shape) {
    const int threads = int(state.range(0));
    Workload<T>& data = workload<T>(shape);
    for (auto _ : state) {
        benchmark::DoNotOptimize(streaming_sum(data.X.data(), Index(data.X.size()), threads));
    }
    state.counters["bytes_per_second"] =
        benchmark::Counter(data.x_bytes(), benchmark::Counter::kIsIterationInvariantRate);
}

template <typename T>
void BM_GemmReference(benchmark::State& state, const Shape& shape) {
    const int threads = int(state.range(0));
    Workload<T>& data = workload<T>(shape);
    for (auto _ : state) gemm_reference(data, threads);
    using benchmark::Counter;
    state.counters["bytes_per_second"] = Counter(data.x_bytes(), Counter::kIsIterationInvariantRate);
    state.counters["FLOP_per_second"] = Counter(data.pass_flop(), Counter::kIsIterationInvariantRate);
}

constexpr Index kW3Hidden = 128;

fastml::Network<float> w3_network() {
    return fastml::Network<float>({kW2.n_features, kW3Hidden, kW2.n_outputs},
                                  {fastml::Activation::kRelu}, fastml::OutputLoss::kSoftmax);
}

// FLOP of the network's products on `rows` rows: X W1^T and H W2^T forward,
// D2^T H, D2 W2 and D1^T X backward (the input gradient is not needed).
double w3_flop(Index rows) {
    const double d = double(kW2.n_features), h = double(kW3Hidden), k = double(kW2.n_outputs);
    return 2.0 * double(rows) * (2 * d * h + 3 * h * k);
}

// The same five products with Eigen's GEMM on the first `rows` rows of W2,
// the rows split evenly among the threads (Eigen's own threading is off).
double w3_gemm_seconds(Index rows, int threads) {
    Workload<float>& data = workload<float>(kW2);
    using Matrix = fastml::RowMatrix<float>;
    const Matrix W1 = Matrix::Constant(kW3Hidden, kW2.n_features, 0.01f);
    const Matrix W2 = Matrix::Constant(kW2.n_outputs, kW3Hidden, 0.01f);
    return min_seconds(
        [&] {
#pragma omp parallel num_threads(threads)
            {
#ifdef _OPENMP
                const Index part = omp_get_thread_num(), parts = omp_get_num_threads();
#else
                const Index part = 0, parts = 1;
#endif
                const Index begin = rows * part / parts, end = rows * (part + 1) / parts;
                Eigen::Map<const Matrix> X(data.X.data() + begin * kW2.n_features, end - begin,
                                           kW2.n_features);
                Matrix H = X * W1.transpose();
                Matrix Z = H * W2.transpose();
                Matrix G2 = Z.transpose() * H;
                Matrix D1 = Z * W2;
                Matrix G1 = D1.transpose() * X;
                benchmark::DoNotOptimize(G1.data());
                benchmark::DoNotOptimize(G2.data());
            }
        },
        15);
}

void BM_DensePass(benchmark::State& state, Index rows) {
    const int threads = int(state.range(0));
    Workload<float>& data = workload<float>(kW2);
    fastml::Network<float> network = w3_network();
    std::vector<float> params(std::size_t(network.n_params()), 0.01f);
    std::vector<float> grad(params.size());
    fastml::NetworkRows<float> batch;
    batch.X = data.X.data();
    batch.n_rows = rows;
    batch.classes = data.rows().classes;
    const std::vector<bool> all_trainable;
    for (auto _ : state) {
        benchmark::DoNotOptimize(network.loss_and_gradient(params.data(), batch, 1.0 / double(rows),
                                                           grad.data(), all_trainable, threads));
        benchmark::ClobberMemory();
    }
    using benchmark::Counter;
    state.counters["FLOP_per_second"] = Counter(w3_flop(rows), Counter::kIsIterationInvariantRate);
    state.counters["of_gemm_limit"] =
        Counter(w3_gemm_seconds(rows, threads), Counter::kIsIterationInvariantRate);
}

// One mini-batch epoch of a linear model (batches of 128 rows, L2 alpha
// 1e-4): the row gather, the pass and the update of every step.
template <typename T>
void BM_LinearEpoch(benchmark::State& state, const Shape& shape, const std::string& rule) {
    const int threads = int(state.range(0));
    Workload<T>& data = workload<T>(shape);
    fastml::OptimizerConfig config;
    config.name = rule;
    fastml::Penalty penalty;
    penalty.alpha = 1e-4;
    fastml::LinearTrainer<T> trainer(
        fastml::LinearModel<T>(shape.n_features, shape.n_outputs, shape.loss),
        fastml::make_optimizer<T>(config), penalty, true, 0);
    fastml::TrainOptions options;
    options.batch_size = 128;
    options.max_epochs = 1;
    options.learning_rate = 1e-3;
    options.n_threads = threads;
    for (auto _ : state) {
        benchmark::DoNotOptimize(trainer.fit(data.rows(), options));
    }
    using benchmark::Counter;
    state.counters["bytes_per_second"] = Counter(data.x_bytes(), Counter::kIsIterationInvariantRate);
}

// One training epoch at the W3 settings (Adam, learning rate 1e-3, batches
// of 128 rows, L2 alpha 1e-4): the pass of every step plus the row gather,
// the penalty and the update, as a user's fit runs them.
void BM_NetworkEpoch(benchmark::State& state) {
    const int threads = int(state.range(0));
    Workload<float>& data = workload<float>(kW2);
    fastml::OptimizerConfig config;
    config.name = "adam";
    fastml::Penalty penalty;
    penalty.alpha = 1e-4;
    fastml::NetworkTrainer<float> trainer(w3_network(), fastml::make_optimizer<float>(config),
                                          penalty, 0);
    fastml::NetworkRows<float> rows;
    rows.X = data.X.data();
    rows.n_rows = kW2.n_rows;
    rows.classes = data.rows().classes;
    fastml::NetworkTrainOptions options;
    options.batch_size = 128;
    options.max_epochs = 1;
    options.n_threads = threads;
    for (auto _ : state) {
        benchmark::DoNotOptimize(trainer.fit(rows, nullptr, options));
    }
    using benchmark::Counter;
    state.counters["of_gemm_limit"] =
        Counter(w3_gemm_seconds(kW2.n_rows, threads), Counter::kIsIterationInvariantRate);
}

// Bytes moved per parameter by one update of the known rules: each reads the
// parameter and the gradient, and reads and writes each state vector.
double optimizer_bytes_per_param(const std::string& name) {
    if (name == "sgd") return 3;           // w, g in; w out
    if (name == "momentum" || name == "nesterov" || name == "adagrad" || name == "rmsprop") return 5;
    if (name == "adam" || name == "adamw" || name == "amsgrad") return 7;
    return 3;  // a lower bound for a rule this table does not list
}

template <typename T>
void BM_OptimizerUpdate(benchmark::State& state, const std::string& name) {
    fastml::OptimizerConfig config;
    config.name = name;
    std::unique_ptr<fastml::Optimizer<T>> optimizer = fastml::make_optimizer<T>(config);
    optimizer->reset(kOptimizerParams, 1);
    std::vector<T> params(kOptimizerParams, T(0.5));
    std::vector<T> grad(kOptimizerParams);
    std::mt19937_64 engine(7);
    std::normal_distribution<double> normal(0.0, 1.0);
    for (auto& g : grad) g = T(1e-3 * normal(engine));
    for (auto _ : state) {
        optimizer->update(0, 0, kOptimizerParams, params.data(), grad.data(), 1e-6);
        benchmark::ClobberMemory();
    }
    const double bytes = optimizer_bytes_per_param(name) * sizeof(T) * double(kOptimizerParams);
    using benchmark::Counter;
    state.counters["bytes_per_second"] = Counter(bytes, Counter::kIsIterationInvariantRate);
    state.counters["params_per_second"] = Counter(double(kOptimizerParams), Counter::kIsIterationInvariantRate);
    // The stream reference reads the same number of bytes with one thread,
    // because the update rules run on the calling thread.
    static std::vector<T> stream_data;
    const Index n_values = Index(bytes / sizeof(T));
    if (Index(stream_data.size()) != n_values) stream_data.assign(std::size_t(n_values), T(1));
    const double stream_seconds = min_seconds(
        [&] { benchmark::DoNotOptimize(streaming_sum(stream_data.data(), n_values, 1)); }, 15);
    state.counters["of_stream_limit"] = Counter(stream_seconds, Counter::kIsIterationInvariantRate);
}

// Names the benchmark tries; those the factory rejects are skipped, so the
// list may name rules that the factory does not build yet.
const std::vector<std::string> kOptimizerNames = {"sgd",     "momentum", "nesterov", "adagrad",
                                                  "rmsprop", "adam",     "adamw",    "amsgrad"};

bool optimizer_exists(const std::string& name) {
    fastml::OptimizerConfig config;
    config.name = name;
    try {
        fastml::make_optimizer<float>(config);
        return true;
    } catch (const std::invalid_argument&) {
        return false;
    }
}

template <typename T>
void register_type(const char* type_name) {
    for (const Shape* shape : {&kW1, &kW2}) {
        const std::string suffix = std::string(shape->name) + "/" + type_name;
        const Shape s = *shape;
        benchmark::RegisterBenchmark(("FusedPass/" + suffix).c_str(),
                                     [s](benchmark::State& st) { BM_FusedPass<T>(st, s); })
            ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark(("StreamSum/" + suffix).c_str(),
                                     [s](benchmark::State& st) { BM_StreamSum<T>(st, s); })
            ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
        benchmark::RegisterBenchmark(("GemmReference/" + suffix).c_str(),
                                     [s](benchmark::State& st) { BM_GemmReference<T>(st, s); })
            ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    if constexpr (std::is_same_v<T, float>) {
        for (const Index rows : {Index(128), kW2.n_rows}) {
            const std::string name = rows == 128 ? "DensePass/W3/batch128/f32" : "DensePass/W3/all/f32";
            benchmark::RegisterBenchmark(name.c_str(), [rows](benchmark::State& st) { BM_DensePass(st, rows); })
                ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMicrosecond)->UseRealTime();
        }
        for (const Shape* shape : {&kW1, &kW2}) {
            for (const std::string rule : {"sgd", "adam"}) {
                const std::string name = std::string("LinearEpoch/") + shape->name + "/batch128/" + rule + "/f32";
                benchmark::RegisterBenchmark(name.c_str(), [shape, rule](benchmark::State& st) {
                    BM_LinearEpoch<float>(st, *shape, rule);
                })->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
            }
        }
        benchmark::RegisterBenchmark("NetworkEpoch/W3/f32", BM_NetworkEpoch)
            ->ArgName("threads")->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond)->UseRealTime();
    }
    for (const std::string& name : kOptimizerNames) {
        if (!optimizer_exists(name)) continue;
        benchmark::RegisterBenchmark(("OptimizerUpdate/" + name + "/" + type_name).c_str(),
                                     [name](benchmark::State& st) { BM_OptimizerUpdate<T>(st, name); })
            ->Unit(benchmark::kMicrosecond)->UseRealTime();
    }
}

}  // namespace

int main(int argc, char** argv) {
    register_type<float>("f32");
    register_type<double>("f64");
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
