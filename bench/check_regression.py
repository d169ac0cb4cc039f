"""Fail when a fastml kernel got more than 30% slower relative to NumPy.

Usage:
    python bench/check_regression.py [--update-baseline] [--baseline PATH]
                                     [--kernels NAME,...] [--tolerance 0.3]

Each kernel runs through the Python module on one thread. Its minimum
time over several repeats is divided by the minimum time of a NumPy
reference on the same array, measured in the same run: a streaming sum over
X plus the matrix product X @ W^T of the same size. The ratio cancels most
of the speed of the machine, so it can be compared with the ratio stored in
the baseline JSON. A kernel fails when its ratio exceeds the baseline's by
more than the tolerance; a failing kernel is measured again, with fresh
arrays, up to twice before the check gives up on it.

NOTE: load from other processes changes the ratio too (by up to a third on
a shared 2-core machine), so record the baseline under similar load.

FASTML_BENCH_SLOWDOWN makes the check itself slower on purpose, to show that
the gate fails: an integer N runs every kernel N times per timed call, and
"name=N,name=N" does so for the named kernels only. The references are not
slowed.

Exit status: 0 when every kernel is within the tolerance, 1 when one is not,
2 for invalid arguments or a missing baseline.
"""

# ruff: noqa: T201  (a command-line script: printing its report is its job)

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

DEFAULT_BASELINE = Path(__file__).resolve().parent / "baseline.json"
SLOWDOWN_VARIABLE = "FASTML_BENCH_SLOWDOWN"

# name -> (rows, features, classes, dtype, batch size or None for full batch,
# optimizer, epochs per timed call, hidden ReLU units or None for a linear
# model)
KERNELS = {
    "logistic_pass_f32": (40_000, 100, 2, np.float32, None, "sgd", 5, None),
    "logistic_pass_f64": (20_000, 100, 2, np.float64, None, "sgd", 5, None),
    "softmax_pass_f32": (6_000, 784, 10, np.float32, None, "sgd", 5, None),
    "softmax_pass_f64": (3_000, 784, 10, np.float64, None, "sgd", 5, None),
    "minibatch128_adam_f32": (8_192, 100, 2, np.float32, 128, "adam", 1, None),
    "network_minibatch128_adam_f32": (2_048, 784, 10, np.float32, 128, "adam", 1, 128),
}


def parse_slowdown(text, names):
    """Map every kernel name to its repeat count from FASTML_BENCH_SLOWDOWN."""
    factors = dict.fromkeys(names, 1)
    if not text:
        return factors
    parts = [part.strip() for part in text.split(",") if part.strip()]
    for part in parts:
        name, _, value = part.rpartition("=")
        try:
            factor = int(value)
        except ValueError:
            factor = 0
        if factor < 1:
            raise ValueError(
                f"{SLOWDOWN_VARIABLE}={text!r}: '{value}' is not an integer >= 1"
            )
        if not name:
            factors = dict.fromkeys(names, factor)
        elif name in factors:
            factors[name] = factor
        else:
            raise ValueError(
                f"{SLOWDOWN_VARIABLE}={text!r}: unknown kernel {name!r}; "
                f"expected one of {sorted(names)}"
            )
    return factors


def make_data(rows, features, classes, dtype):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((rows, features)).astype(dtype)
    y = rng.integers(0, classes, rows)
    targets = y.astype(dtype) if classes == 2 else y.astype(np.int64)
    return X, targets


def kernel_runner(spec, factor):
    """Return a function that trains once (``factor`` times when slowed) and
    returns the seconds per epoch, the data, and the width of the reference
    product."""
    from fastml import _core

    rows, features, classes, dtype, batch, optimizer, epochs, hidden = spec
    X, targets = make_data(rows, features, classes, dtype)
    if hidden is not None:
        return network_runner(X, targets, batch, optimizer, epochs, hidden, factor)
    outputs = 1 if classes == 2 else classes
    trainer_class = (
        _core.LinearTrainer32 if dtype == np.float32 else _core.LinearTrainer64
    )

    def run():
        begin = time.perf_counter()
        for _ in range(factor):
            trainer = trainer_class(
                n_features=features,
                n_outputs=outputs,
                loss="logistic" if outputs == 1 else "softmax",
                fit_intercept=True,
                optimizer={"name": optimizer},
                alpha=1e-4,
                seed=0,
            )
            trainer.fit(X, targets, None, batch or 0, epochs, 0.0, 10**9, 1e-3, 1)
        return (time.perf_counter() - begin) / epochs

    return run, X, outputs


def network_runner(X, classes, batch, optimizer, epochs, hidden, factor):
    """Return kernel_runner's triple for a network with one ReLU hidden layer."""
    from fastml import _core

    n_classes = int(classes.max()) + 1
    classes = classes.astype(np.int64)

    def run():
        begin = time.perf_counter()
        for _ in range(factor):
            trainer = _core.NetworkTrainer32(
                layer_sizes=[X.shape[1], hidden, n_classes],
                activations=["relu"],
                output="softmax",
                optimizer={"name": optimizer},
                alpha=1e-4,
                seed=0,
            )
            trainer.fit(
                X, classes, None, None, None, batch, epochs, 0.0, 10**9, 1e-3, 1, False
            )
        return (time.perf_counter() - begin) / epochs

    return run, X, hidden


def reference_runner(X, outputs):
    """Return the reference run: a streaming sum over X plus X @ W^T in NumPy."""
    W = np.full((X.shape[1], outputs), 0.01, dtype=X.dtype)

    def run():
        begin = time.perf_counter()
        X.sum()
        X @ W
        return time.perf_counter() - begin

    return run


def measure_ratio(run_kernel, run_reference, repeats):
    """min(kernel time) / min(reference time), interleaving the two."""
    run_kernel()
    run_reference()
    kernel = min(run_kernel() for _ in range(repeats))
    reference = min(run_reference() for _ in range(repeats))
    for _ in range(repeats):
        kernel = min(kernel, run_kernel())
        reference = min(reference, run_reference())
    return kernel / reference, kernel, reference


def measure(names, factors, repeats, rounds=2):
    """Ratio of every kernel: the best of ``rounds`` fresh copies of the data,
    because the time of one copy can stay 30% off for its whole life (seen
    on a shared 2-core virtual machine, likely from how its pages are mapped)."""
    from threadpoolctl import threadpool_limits

    results = {}
    with threadpool_limits(limits=1):
        for name in names:
            for _ in range(rounds):
                run_kernel, X, outputs = kernel_runner(KERNELS[name], factors[name])
                ratio, kernel, reference = measure_ratio(
                    run_kernel, reference_runner(X, outputs), repeats
                )
                if name not in results or ratio < results[name]["ratio"]:
                    results[name] = {
                        "ratio": ratio,
                        "kernel_seconds": kernel,
                        "reference_seconds": reference,
                    }
    return results


def measure_baseline(names, factors, repeats, runs=3):
    """Return, for each kernel, the run with the median ratio over ``runs`` runs.

    The median keeps one lucky or unlucky run from setting the bar for
    later checks.
    """
    runs_results = [measure(names, factors, repeats) for _ in range(runs)]
    baseline = {}
    for name in names:
        ordered = sorted((run[name] for run in runs_results), key=lambda r: r["ratio"])
        baseline[name] = ordered[len(ordered) // 2]
    return baseline


def check(results, baseline, tolerance, remeasure):
    """Compare with the baseline; returns the names that stay too slow."""
    failures = []
    for name, result in results.items():
        expected = baseline["kernels"].get(name, {}).get("ratio")
        if expected is None:
            print(f"{name:24s} ratio {result['ratio']:8.3f}  no baseline, not checked")
            continue
        attempts = 0
        while result["ratio"] > expected * (1 + tolerance) and attempts < 2:
            attempts += 1
            result = remeasure(name)
            results[name] = result
        change = result["ratio"] / expected - 1
        status = "ok" if change <= tolerance else "SLOWER"
        print(
            f"{name:24s} ratio {result['ratio']:8.3f}  baseline {expected:8.3f}  "
            f"change {100 * change:+6.1f}%  "
            f"kernel {1e3 * result['kernel_seconds']:8.3f} ms  {status}"
        )
        if status != "ok":
            failures.append(name)
    return failures


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--baseline", type=Path, default=DEFAULT_BASELINE, help="baseline JSON file"
    )
    parser.add_argument(
        "--update-baseline",
        action="store_true",
        help="write the measured ratios to --baseline",
    )
    parser.add_argument(
        "--kernels",
        type=lambda text: text.split(","),
        default=list(KERNELS),
        help="comma-separated subset of " + ",".join(KERNELS),
    )
    parser.add_argument(
        "--tolerance",
        type=float,
        default=0.30,
        help="allowed slowdown as a fraction (default 0.30)",
    )
    parser.add_argument(
        "--repeats",
        type=int,
        default=7,
        help="timed calls per kernel and round (default 7)",
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.kernels if name not in KERNELS]
    if unknown:
        parser.error(f"unknown kernels {unknown}; expected a subset of {list(KERNELS)}")
    if args.repeats < 1:
        parser.error(f"--repeats must be >= 1; got {args.repeats}")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        factors = parse_slowdown(os.environ.get(SLOWDOWN_VARIABLE, ""), list(KERNELS))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.update_baseline and not args.baseline.exists():
        print(
            f"error: baseline {args.baseline} not found; "
            "create it with --update-baseline",
            file=sys.stderr,
        )
        return 2
    if args.update_baseline:
        results = measure_baseline(args.kernels, factors, args.repeats)
        baseline = {
            "machine": platform.processor() or platform.machine(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "kernels": results,
        }
        args.baseline.write_text(json.dumps(baseline, indent=2) + "\n")
        for name, result in results.items():
            print(
                f"{name:24s} ratio {result['ratio']:8.3f}  written to {args.baseline}"
            )
        return 0

    results = measure(args.kernels, factors, args.repeats)
    baseline = json.loads(args.baseline.read_text())

    def remeasure(name):
        return measure([name], factors, args.repeats)[name]

    failures = check(results, baseline, args.tolerance, remeasure)
    if failures:
        print(
            f"FAILED: {', '.join(failures)} more than {100 * args.tolerance:.0f}% "
            "slower than the baseline relative to the NumPy reference"
        )
        return 1
    print(
        f"passed: {len(results)} kernels within {100 * args.tolerance:.0f}% "
        "of the baseline"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
