#!/usr/bin/env bash
# Install what Prism needs to build and test on a Debian 12 machine.
#
#   scripts/setup.sh [--dry-run]
#
# Idempotent: each Debian package is checked with dpkg-query first, and
# `apt-get update` runs only when something is missing; each PyPI package is
# checked by importing it first. Runs without a TTY or stdin (CI, containers).
# Needs root only when a Debian package must be installed.
#
# Python: the test tooling (onnx==1.23.2, onnxruntime, numpy) goes into the
# `python3` first on PATH (override with PYTHON=/path/to/python3). Debian's own
# /usr/bin/python3 is "externally managed" (PEP 668), and pip-installing numpy 2
# there would break Debian's torch 1.13, so in that case the packages go into a
# virtual environment instead (PRISM_VENV, default /opt/prism/venv) and the
# script says how to put it on PATH. Debian's python3 keeps python3-torchvision
# for scripts/export_torchvision.py.
#
# Exit status: 0 when everything is installed, non-zero with a message naming
# the step that failed.

set -euo pipefail

APT_PACKAGES=(
    build-essential cmake pkg-config clang
    libprotobuf-c-dev protobuf-c-compiler
    libonnx-dev libonnx-testdata
    libopenblas-dev libcunit1-dev
    python3-torchvision python3-numpy
    graphviz
    ocl-icd-opencl-dev opencl-headers pocl-opencl-icd clinfo libclblast-dev
    libxrt-dev uuid-dev
)
ONNX_VERSION=1.23.2
PYTHON=${PYTHON:-python3}
PRISM_VENV=${PRISM_VENV:-/opt/prism/venv}

DRY_RUN=0
case "${1:-}" in
    "") ;;
    --dry-run) DRY_RUN=1 ;;
    -h | --help)
        sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "usage: $0 [--dry-run]" >&2
        exit 2
        ;;
esac

export DEBIAN_FRONTEND=noninteractive
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

log() { printf 'setup: %s\n' "$*"; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}
# Run a command, or only show it with --dry-run. stdin is always /dev/null.
run() {
    log "+ $*"
    if [ "$DRY_RUN" -eq 0 ]; then
        "$@" </dev/null
    fi
}

# ---- Debian packages --------------------------------------------------------

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    die "dpkg-query/apt-get not found: this script is for Debian 12"
fi
if [ -r /etc/os-release ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    if [ "${ID:-}" != debian ] || [ "${VERSION_ID:-}" != 12 ]; then
        log "warning: written for Debian 12, this is ${PRETTY_NAME:-unknown}; trying anyway"
    fi
fi

is_installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null)" = "install ok installed" ]
}

# Is $PYTHON externally managed (PEP 668) and not already a virtual env?
python_is_external() {
    "$PYTHON" -c '
import os, sys, sysconfig
managed = os.path.exists(os.path.join(sysconfig.get_path("stdlib"), "EXTERNALLY-MANAGED"))
sys.exit(0 if managed and sys.prefix == sys.base_prefix else 1)' </dev/null
}

USE_VENV=0
wanted=("${APT_PACKAGES[@]}")
if ! command -v "$PYTHON" >/dev/null; then
    # A fresh machine may have no python3 at all until the packages below land.
    log "$PYTHON not found yet; will use a virtual environment at $PRISM_VENV"
    USE_VENV=1
elif python_is_external; then
    USE_VENV=1
fi
if [ "$USE_VENV" -eq 1 ]; then
    wanted+=(python3-venv)
fi

missing=()
for pkg in "${wanted[@]}"; do
    if is_installed "$pkg"; then
        log "apt: $pkg already installed"
    else
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -gt 0 ]; then
    log "apt: missing: ${missing[*]}"
    [ "$DRY_RUN" -eq 1 ] || [ "$(id -u)" -eq 0 ] ||
        die "installing Debian packages needs root (missing: ${missing[*]})"
    run apt-get update -q || die "apt-get update failed"
    run apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}" || die "apt-get install failed for: ${missing[*]}"
    if [ "$DRY_RUN" -eq 0 ]; then
        for pkg in "${missing[@]}"; do
            is_installed "$pkg" || die "$pkg is still not installed after apt-get install"
        done
    fi
    [ "$DRY_RUN" -eq 1 ] || log "apt: installed ${missing[*]}"
else
    log "apt: nothing to install (no apt-get update needed)"
fi

# ---- PyPI packages ----------------------------------------------------------

if [ "$USE_VENV" -eq 1 ]; then
    if [ ! -x "$PRISM_VENV/bin/python3" ]; then
        log "python: $PYTHON is Debian's externally managed interpreter; creating a venv at $PRISM_VENV"
        base=$PYTHON
        command -v "$base" >/dev/null || base=/usr/bin/python3
        run "$base" -m venv "$PRISM_VENV" || die "could not create the virtual environment $PRISM_VENV"
    fi
    PYTHON=$PRISM_VENV/bin/python3
fi

# Each entry: pip requirement | import check that succeeds when it is satisfied.
PY_CHECKS=(
    "onnx==$ONNX_VERSION|import onnx; assert onnx.__version__ == '$ONNX_VERSION', onnx.__version__"
    "onnxruntime|import onnxruntime"
    "numpy|import numpy"
)

py_missing=()
if [ "$DRY_RUN" -eq 1 ] && [ ! -x "$PYTHON" ] && ! command -v "$PYTHON" >/dev/null; then
    py_missing=("onnx==$ONNX_VERSION" onnxruntime numpy)
else
    for entry in "${PY_CHECKS[@]}"; do
        req=${entry%%|*}
        check=${entry#*|}
        if "$PYTHON" -c "$check" </dev/null >/dev/null 2>&1; then
            log "pip: $req already satisfied in $PYTHON"
        else
            py_missing+=("$req")
        fi
    done
fi

if [ "${#py_missing[@]}" -gt 0 ]; then
    log "pip: missing in $PYTHON: ${py_missing[*]}"
    if [ "$DRY_RUN" -eq 0 ] && ! "$PYTHON" -m pip --version </dev/null >/dev/null 2>&1; then
        run "$PYTHON" -m ensurepip --upgrade || die "$PYTHON has no pip and ensurepip failed"
    fi
    run "$PYTHON" -m pip install --no-input "${py_missing[@]}" ||
        die "pip install failed for: ${py_missing[*]} (into $PYTHON)"
    if [ "$DRY_RUN" -eq 0 ]; then
        for entry in "${PY_CHECKS[@]}"; do
            "$PYTHON" -c "${entry#*|}" </dev/null ||
                die "${entry%%|*} is still not importable by $PYTHON after pip install"
        done
    fi
    [ "$DRY_RUN" -eq 1 ] || log "pip: installed ${py_missing[*]}"
else
    log "pip: nothing to install"
fi

# ---- Summary ----------------------------------------------------------------

if [ "$DRY_RUN" -eq 0 ]; then
    log "python ($PYTHON): $("$PYTHON" -c 'import onnx, onnxruntime, numpy; print("onnx", onnx.__version__, "onnxruntime", onnxruntime.__version__, "numpy", numpy.__version__)' </dev/null)"
    log "debian python (/usr/bin/python3): $(/usr/bin/python3 -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__)' </dev/null 2>&1 || echo 'torchvision not importable')"
fi
if [ "$USE_VENV" -eq 1 ]; then
    log "note: the test tooling lives in $PRISM_VENV; run: export PATH=$PRISM_VENV/bin:\$PATH"
fi
log "done"
