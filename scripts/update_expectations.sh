#!/usr/bin/env bash
# Record what every conformance suite does now (PASS/FAIL/SKIP per test) in
# tests/conformance/expected/, then regenerate docs/supported-ops.md and
# docs/conformance.md from them. Run after a change that makes tests pass;
# review the diff: a line going from PASS to anything else is a regression.
set -euo pipefail
cd "$(dirname "$0")/.."
runner=build/tests/conformance/prism-conformance
exp=tests/conformance/expected
mkdir -p "$exp"
data=/usr/share/libonnx-testdata/data
for suite in node pytorch-converted pytorch-operator simple; do
    "$runner" --update "$exp/debian-$suite.txt" "$data/$suite" | tail -1
done
python3 scripts/gen_onnx_node_tests.py build/onnx-node
"$runner" --update "$exp/onnx-node.txt" build/onnx-node | tail -1
/usr/bin/python3 scripts/export_torchvision.py --out build/models >/dev/null
"$runner" --timeout 600 --update "$exp/models.txt" build/models | tail -1
python3 scripts/gen_ops_matrix.py
