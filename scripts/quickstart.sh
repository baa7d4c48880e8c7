#!/usr/bin/env bash
# First command of the README: install what is missing, build, then run the
# bundled example model through the CLI on every provider found, showing which
# node ran where.
#
# Each device provider runs the model first in line with the CPU behind it
# (`--providers P,cpu`): the nodes it can run are placed on it, the rest on
# the CPU, with the copies between their memories. The FPGA provider runs on
# its C-simulation device (xrt:csim=1) when no FPGA card is present. Last,
# every provider at once (`--providers all`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
prism=build/bin/prism
model=examples/tiny_cnn.onnx
echo
echo "== providers and devices =="
devices=$("$prism" devices)
printf '%s\n' "$devices"
for p in $(printf '%s\n' "$devices" | awk '/^provider / && $2 != "cpu" {print $2}'); do
    opts=()
    if [ "$p" = xrt ] && printf '%s\n' "$devices" | grep -q '^    hardware_devices=0$'; then
        opts=(--provider-option xrt:csim=1)
    fi
    echo
    echo "== $model on $p, then cpu =="
    "$prism" run "$model" --providers "$p,cpu" "${opts[@]}" --show-placement --dim N=2
done
echo
echo "== $model on every provider (--providers all) =="
"$prism" run "$model" --providers all --show-placement --dim N=2
