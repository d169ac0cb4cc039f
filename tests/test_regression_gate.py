"""The benchmark regression gate, bench/check_regression.py, judges correctly.

These tests time one small kernel (about a second per run of the gate) and
check only the gate's verdict: it passes against a baseline measured moments
before, and fails when FASTML_BENCH_SLOWDOWN makes the kernel do three times
the work. No speed of fastml itself is asserted.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("threadpoolctl")

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "check_regression.py"
KERNEL = "logistic_pass_f32"


def run_gate(*args, slowdown=None, kernel=KERNEL):
    env = dict(os.environ)
    env.pop("FASTML_BENCH_SLOWDOWN", None)
    if slowdown is not None:
        env["FASTML_BENCH_SLOWDOWN"] = slowdown
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--kernels", kernel, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    path = tmp_path_factory.mktemp("gate") / "baseline.json"
    completed = run_gate("--update-baseline", "--baseline", str(path))
    assert completed.returncode == 0, completed.stderr
    return path


def test_gate_passes_without_slowdown(baseline):
    completed = run_gate("--baseline", str(baseline))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "passed" in completed.stdout


def test_gate_fails_with_slowdown(baseline):
    completed = run_gate("--baseline", str(baseline), slowdown=f"{KERNEL}=3")
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert "SLOWER" in completed.stdout
    assert KERNEL in completed.stdout.splitlines()[-1]


def test_gate_catches_slower_network_step(tmp_path):
    kernel = "network_minibatch128_adam_f32"
    path = tmp_path / "baseline.json"
    written = run_gate("--update-baseline", "--baseline", str(path), kernel=kernel)
    assert written.returncode == 0, written.stderr
    passed = run_gate("--baseline", str(path), kernel=kernel)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    failed = run_gate("--baseline", str(path), kernel=kernel, slowdown=f"{kernel}=3")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "SLOWER" in failed.stdout


def test_gate_slowdown_for_every_kernel(baseline):
    completed = run_gate("--baseline", str(baseline), slowdown="3")
    assert completed.returncode == 1, completed.stdout + completed.stderr


@pytest.mark.parametrize("value", ["0", "fast", "no_such_kernel=2"])
def test_gate_rejects_invalid_slowdown(baseline, value):
    completed = run_gate("--baseline", str(baseline), slowdown=value)
    assert completed.returncode == 2
    assert "FASTML_BENCH_SLOWDOWN" in completed.stderr


def test_gate_missing_baseline(tmp_path):
    completed = run_gate("--baseline", str(tmp_path / "absent.json"))
    assert completed.returncode == 2
    assert "--update-baseline" in completed.stderr
