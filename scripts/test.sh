#!/usr/bin/env bash
# Second command of the README (and what CI runs): install what is missing,
# build, and run every test: unit tests, bad-input and CLI tests, the ONNX
# conformance suites against their checked-in expectations, the torchvision
# models, then the unit tests again under AddressSanitizer and
# UndefinedBehaviorSanitizer, and a clang build with -Werror.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)

scripts/setup.sh

echo "== build (gcc, RelWithDebInfo) =="
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$jobs"

echo "== test data =="
python3 scripts/gen_onnx_node_tests.py build/onnx-node
/usr/bin/python3 scripts/export_torchvision.py --out build/models

echo "== tests =="
(cd build && ctest --output-on-failure -j"$jobs")

echo "== unit tests under ASan + UBSan =="
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DPRISM_SANITIZE=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ctest --output-on-failure -L unit -j"$jobs")

echo "== clang build =="
CC=clang cmake -S . -B build-clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPRISM_BUILD_TESTS=ON
cmake --build build-clang -j"$jobs"
echo "all tests passed"
