#!/usr/bin/env bash
# Installs the build into a temporary prefix, then checks what a user of the
# installed tree meets: the CLI finds the installed provider, pkg-config and
# the CMake package config work for a program built outside the tree.
set -euo pipefail
build=${1:?usage: check_install.sh BUILD_DIR}
src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -1)
test -f "$prefix/include/prism/prism.h"
test -f "$prefix/include/prism/provider.h"
ls "$libdir"prism/libprism_provider_cpu.so >/dev/null
env -u PRISM_PROVIDER_PATH "$prefix/bin/prism" devices | grep -q "^provider cpu"
env -u PRISM_PROVIDER_PATH "$prefix/bin/prism" run "$src/../../examples/tiny_cnn.onnx" | grep -q "output 0 'probabilities'"
PKG_CONFIG_PATH="${libdir}pkgconfig" pkg-config --exists prism
cmake -S "$src/consumer" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
env -u PRISM_PROVIDER_PATH LD_LIBRARY_PATH="$libdir" "$prefix/consumer-build/consumer" "$src/../../examples/tiny_cnn.onnx"
echo "install check passed"
