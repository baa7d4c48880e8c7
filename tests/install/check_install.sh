#!/usr/bin/env bash
# Installs the build into a temporary prefix, then checks what a user of the
# installed tree meets: the CLI finds the installed provider, pkg-config and
# the CMake package config work for a program built outside the tree, and the
# template provider, copied out of the tree and built against the installed
# Prism as docs/writing-a-provider.md says, loads and runs nodes.
set -euo pipefail
build=${1:?usage: check_install.sh BUILD_DIR}
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT

# expect PATTERN TEXT WHAT: grep -E for PATTERN in TEXT, or fail showing TEXT.
expect() {
    if ! grep -Eq -- "$1" <<<"$2"; then
        echo "install check: $3 lacks /$1/:" >&2
        echo "$2" >&2
        exit 1
    fi
}

cmake --install "$build" --prefix "$prefix" >/dev/null
libdir=$(ls -d "$prefix"/lib*/ | head -1)
test -f "$prefix/include/prism/prism.h"
test -f "$prefix/include/prism/provider.h"
ls "$libdir"prism/libprism_provider_cpu.so >/dev/null
env -u PRISM_PROVIDER_PATH "$prefix/bin/prism" devices | grep -q "^provider cpu"
env -u PRISM_PROVIDER_PATH "$prefix/bin/prism" run "$root/examples/tiny_cnn.onnx" | grep -q "output 0 'probabilities'"
PKG_CONFIG_PATH="${libdir}pkgconfig" pkg-config --exists prism
cmake -S "$src/consumer" -B "$prefix/consumer-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/consumer-build" >/dev/null
env -u PRISM_PROVIDER_PATH LD_LIBRARY_PATH="$libdir" "$prefix/consumer-build/consumer" "$root/examples/tiny_cnn.onnx"

# The template provider, outside the tree, against the installed Prism only
# (warnings are errors, as the template promises).
cp -r "$root/plugins/template" "$work/template"
cmake -S "$work/template" -B "$work/template/build" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_FLAGS=-Werror >/dev/null
cmake --build "$work/template/build" >/dev/null
plugin="$work/template/build/libprism_provider_template.so"
test -f "$plugin"
# It exports the two entry symbols and nothing else.
exports=$(nm -D --defined-only "$plugin" | awk '$2 ~ /^[TDBRVWi]$/ {print $3}' | sort | tr '\n' ' ')
expect "^prism_provider_init prism_provider_probe $" "$exports" "the template's exported symbols"
devices=$(PRISM_PROVIDER_PATH="$work/template/build" "$prefix/bin/prism" devices)
expect "^provider template " "$devices" "prism devices"
expect "'template device'" "$devices" "prism devices"
expect "^provider cpu " "$devices" "prism devices"
run=$(PRISM_PROVIDER_PATH="$work/template/build" "$prefix/bin/prism" run "$root/examples/tiny_cnn.onnx" \
    --providers template,cpu --show-placement)
expect "Relu +-> template" "$run" "prism run --providers template,cpu --show-placement"
expect "output 0 'probabilities'" "$run" "prism run --providers template,cpu"
# Installing it puts it where the installed Prism looks without PRISM_PROVIDER_PATH.
cmake --install "$work/template/build" >/dev/null
test -f "${libdir}prism/libprism_provider_template.so"
expect "^provider template " "$(env -u PRISM_PROVIDER_PATH "$prefix/bin/prism" devices)" "prism devices (installed)"
# The provider conformance kit is installed and checks the new provider.
kit=$(PRISM_PROVIDER_PATH="$work/template/build" "$prefix/bin/prism-provider-check" --provider template --filter Relu,Add)
expect "^[1-9][0-9]* passed, 0 failed, [0-9]+ skipped$" "$kit" "prism-provider-check --provider template"
echo "install check passed"
