#!/usr/bin/env bash
# First command of the README: install what is missing, build, then run the
# bundled example model through the CLI on every provider found, showing which
# node ran where.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
echo
echo "== providers and devices =="
build/bin/prism devices
echo
echo "== examples/tiny_cnn.onnx on every available provider =="
build/bin/prism run examples/tiny_cnn.onnx --providers all --show-placement --dim N=2
