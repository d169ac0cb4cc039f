#!/usr/bin/env bash
# Build and run the C++ microbenchmarks in bench/build/cpp.
#
# Installs Debian's libbenchmark-dev when Google Benchmark is missing (needs
# root, as on the project's machines), configures the project with
# -DFASTML_BENCHMARKS=ON in its own build folder and runs the binary.
# Arguments are passed to the benchmark binary, for example
#   bench/run_cpp.sh --benchmark_filter=FusedPass/W1 --benchmark_repetitions=5
# Environment: PYTHON (default .venv/bin/python, else python3) is the
# interpreter whose site-packages hold pybind11 and cmeel-eigen.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="$root/bench/build/cpp"
python="${PYTHON:-}"
if [[ -z "$python" ]]; then
  if [[ -x "$root/.venv/bin/python" ]]; then python="$root/.venv/bin/python"; else python=python3; fi
fi

if [[ ! -f /usr/include/benchmark/benchmark.h ]]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libbenchmark-dev
fi

export PATH="$(dirname "$python"):$PATH"
pybind11_dir="$("$python" -m pybind11 --cmakedir)"
cmake -S "$root" -B "$build" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DFASTML_BENCHMARKS=ON \
  -DSKBUILD_PROJECT_VERSION=0.0.0 \
  -DPython_EXECUTABLE="$python" \
  -Dpybind11_DIR="$pybind11_dir" >/dev/null
cmake --build "$build" --target fastml_microbench
exec "$build/bench/cpp/fastml_microbench" "$@"
