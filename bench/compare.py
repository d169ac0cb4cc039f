"""Compare fastml with scikit-learn, PyTorch and NumPy on the same problems.

Usage:
    python bench/compare.py [--quick] [--json PATH] [--threads N]
                            [--workloads W1,W2,...]

Each contender runs in its own subprocess, so that its peak memory can be
measured and no thread pool or cache carries over. Every subprocess gets the
same thread count (OMP_NUM_THREADS, OPENBLAS_NUM_THREADS, MKL_NUM_THREADS,
torch.set_num_threads and fastml's n_threads) and runs without
OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE, which some machines set for older
OpenBLAS builds and which slow a current one down; the OpenBLAS kernel in
use is recorded from threadpoolctl. Memory is the growth of the resident set
during the first (untimed) training run: the peak resident set size is reset
through /proc/self/clear_refs before it and read from /proc/self/status after
it; tracemalloc's peak over the same run is recorded too.

Times are wall-clock seconds of training only: data generation, scoring and
fastml's input validation (the C++ trainer is called directly) are outside
the clock. Costs are the mean training cross-entropy plus ALPHA/2 * ||W||^2.
"""

# ruff: noqa: T201  (a command-line script: printing its report is its job)

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402

LINEAR_WORKLOADS = ["W1", "W2", "R1-digits", "R1-breast_cancer"]
ALL_WORKLOADS = ["W1", "W2", "W3", "R1-digits", "R1-breast_cancer"]

# Contender name -> (module, function, keyword arguments, epoch kind).
LINEAR_CONTENDERS = {
    "sklearn lbfgs": ("contenders", "run_sklearn_lbfgs", {}, "lbfgs iteration"),
    "fastml full adam": (
        "contenders",
        "run_fastml",
        dict(batch=None, optimizer="adam", learning_rates=[0.1, 0.01]),
        "full-batch step",
    ),
    "fastml full adam 1 thread": (
        "contenders",
        "run_fastml",
        dict(batch=None, optimizer="adam", learning_rates=[0.1]),
        "full-batch step",
    ),
    "fastml full lbfgs": (
        "contenders",
        "run_fastml",
        dict(batch=None, optimizer="lbfgs", learning_rates=[1.0]),
        "full-batch step",
    ),
    "fastml mb128 adam": (
        "contenders",
        "run_fastml",
        dict(batch=128, optimizer="adam", learning_rates=[1e-3]),
        "mini-batch-128 epoch",
    ),
    "fastml mb128 sgd": (
        "contenders",
        "run_fastml",
        dict(batch=128, optimizer="sgd", learning_rates=[0.1]),
        "mini-batch-128 epoch",
    ),
    "torch full": (
        "contenders_torch",
        "run_torch",
        dict(batch=None, attempts=[("adam", 0.1), ("adam", 0.01), ("lbfgs", 1.0)]),
        "full-batch step",
    ),
    "torch mb128": (
        "contenders_torch",
        "run_torch",
        dict(batch=128, attempts=[("adam", 1e-3), ("sgd", 0.1)]),
        "mini-batch-128 epoch",
    ),
    "sklearn SGDClassifier": (
        "contenders",
        "run_sklearn_sgd",
        {},
        "SGD epoch (batch 1)",
    ),
    "numpy full": (
        "contenders",
        "run_numpy",
        dict(batch=None, learning_rates=[0.1, 0.01]),
        "full-batch step",
    ),
    "numpy mb128": (
        "contenders",
        "run_numpy",
        dict(batch=128, learning_rates=[1e-3]),
        "mini-batch-128 epoch",
    ),
}
MLP_CONTENDERS = {
    "fastml MLPClassifier": (
        "contenders_torch",
        "run_fastml_mlp",
        {},
        "mini-batch-128 epoch",
    ),
    "torch MLP": ("contenders_torch", "run_torch_mlp", {}, "mini-batch-128 epoch"),
    "sklearn MLPClassifier": (
        "contenders_torch",
        "run_sklearn_mlp",
        {},
        "mini-batch-128 epoch",
    ),
}
SINGLE_THREAD = {"fastml full adam 1 thread"}
ONLY_SYNTHETIC = {"fastml full adam 1 thread"}


def run_worker(args):
    """Measure one contender on one workload and print its result as JSON."""
    import importlib

    import contenders
    from contenders import Settings

    table = MLP_CONTENDERS if args.workload == "W3" else LINEAR_CONTENDERS
    module_name, function_name, kwargs, epoch_kind = table[args.worker]
    X, y = workloads.load(args.workload, args.quick)
    settings = Settings(
        threads=1 if args.worker in SINGLE_THREAD else args.threads,
        repeats=args.repeats,
        full_steps=5 if args.quick else 10,
        target=args.target,
        cap_seconds=0.0 if args.worker in SINGLE_THREAD else args.cap_seconds,
    )
    function = getattr(importlib.import_module(module_name), function_name)

    try:
        result = function(X, y, settings, **kwargs)
    except ValueError as error:
        # fastml raises ValueError for an optimizer name its core does not have.
        result = {"not_available": str(error)}
    result.update(contenders.MEMORY)
    result.setdefault("epoch_kind", epoch_kind)
    result["threads"] = settings.threads
    result["x_bytes"] = int(X.nbytes)
    print(json.dumps(result, default=float))


def measure_limits(args):
    """Print the streaming and GEMM rates of this machine as JSON."""
    import torch

    torch.set_num_threads(args.threads)
    X, y = workloads.load(args.workload, args.quick)
    Xt = torch.from_numpy(X)
    # The fastest of three reads of X: PyTorch's sum on its threads, NumPy's
    # sum on one thread, and NumPy's sums of equal row ranges on `threads`
    # threads. Any one of them alone varied by a factor of 3 between runs.
    ranges = np.array_split(X, args.threads)
    with ThreadPoolExecutor(args.threads) as pool:
        stream = min(
            timed(lambda: Xt.sum(), 7),
            timed(lambda: X.sum(), 7),
            timed(lambda: list(pool.map(np.sum, ranges)), 7),
        )
    size = 2048
    A = np.random.default_rng(0).standard_normal((size, size), dtype=np.float32)
    gemm = timed(lambda: A @ A, 5)
    print(
        json.dumps(
            {
                "stream_bytes_per_second": X.nbytes / stream,
                "gemm_flop_per_second": 2.0 * size**3 / gemm,
                "n_samples": X.shape[0],
                "n_features": X.shape[1],
                "n_classes": int(y.max()) + 1,
                "x_bytes": int(X.nbytes),
                "threadpools": threadpool_summary(),
            }
        )
    )


def timed(function, repeats):
    best = np.inf
    for _ in range(repeats):
        begin = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - begin)
    return best


def threadpool_summary():
    from threadpoolctl import threadpool_info

    return [
        {
            key: pool.get(key)
            for key in ("internal_api", "architecture", "num_threads", "version")
        }
        for pool in threadpool_info()
    ]


def worker_environment(threads):
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    # Unset together, in the benchmark only (see the module docstring).
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    return env


def call_worker(args, workload, contender=None, target=None):
    command = [
        sys.executable,
        __file__,
        "--threads",
        str(args.threads),
        "--repeats",
        str(args.repeats),
        "--cap-seconds",
        str(args.cap_seconds),
        "--workload",
        workload,
    ]
    command += ["--worker", contender] if contender else ["--limits"]
    if args.quick:
        command.append("--quick")
    if target is not None:
        command += ["--target", repr(target)]
    completed = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env=worker_environment(args.threads),
        timeout=args.worker_timeout,
    )
    if completed.returncode != 0:
        return {
            "error": completed.stderr.strip().splitlines()[-1]
            if completed.stderr.strip()
            else "failed"
        }
    return json.loads(completed.stdout.strip().splitlines()[-1])


def run_all(args):
    results = {
        "machine": machine_summary(),
        "settings": vars(args).copy(),
        "workloads": {},
    }
    for workload in args.workloads:
        limits_before = call_worker(args, workload)
        entry = {}
        contenders = MLP_CONTENDERS if workload == "W3" else LINEAR_CONTENDERS
        target = None
        for contender in contenders:
            if contender in ONLY_SYNTHETIC and workload.startswith("R1-"):
                continue
            print(f"{workload}: {contender}", file=sys.stderr, flush=True)
            result = call_worker(args, workload, contender, target)
            entry[contender] = result
            if contender == "sklearn lbfgs" and "final_cost" in result:
                target = 1.01 * result["final_cost"]
        entry["target_cost"] = target
        # Measured before and after the contenders; the faster of the two is
        # what the machine can do when no other process gets in the way.
        entry["limits"] = best_limits(limits_before, call_worker(args, workload))
        results["workloads"][workload] = {"limits": entry.pop("limits"), **entry}
    return results


def best_limits(first, second):
    if "error" in first:
        return second
    if "error" in second:
        return first
    best = dict(first)
    for key in ("stream_bytes_per_second", "gemm_flop_per_second"):
        best[key] = max(first[key], second[key])
    return best


def machine_summary():
    import sklearn
    import torch

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in open("/proc/cpuinfo")
            if line.startswith("model name")
        ),
        "",
    )
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "torch": torch.__version__,
    }


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tenth of the rows of W1-W3 and a 5 s cap per run",
    )
    parser.add_argument(
        "--json", type=Path, help="write every measurement to this JSON file"
    )
    parser.add_argument(
        "--threads", type=int, default=2, help="threads for every contender (default 2)"
    )
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed runs per measurement (default 5)"
    )
    parser.add_argument(
        "--cap-seconds",
        type=float,
        default=None,
        help="seconds of training after which a run gives up on the target "
        "(default 30, quick 5)",
    )
    parser.add_argument(
        "--workloads",
        type=lambda text: text.split(","),
        default=ALL_WORKLOADS,
        help="comma-separated subset of " + ",".join(ALL_WORKLOADS),
    )
    parser.add_argument(
        "--worker-timeout",
        type=float,
        default=900,
        help="seconds before a contender is stopped",
    )
    parser.add_argument("--workload", help=argparse.SUPPRESS)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--limits", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--target", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cap_seconds is None:
        args.cap_seconds = 5.0 if args.quick else 30.0
    unknown = [w for w in args.workloads if w not in ALL_WORKLOADS]
    if unknown:
        parser.error(
            f"unknown workloads {unknown}; expected a subset of {ALL_WORKLOADS}"
        )
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.worker:
        run_worker(args)
        return 0
    if args.limits:
        measure_limits(args)
        return 0
    results = run_all(args)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    print(report.render(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
