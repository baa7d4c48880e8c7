#!/usr/bin/python3
"""Export torchvision models to ONNX, with PyTorch's float64 output as the reference.

Run with Debian's interpreter, which sees python3-torchvision (torch 1.13):

    /usr/bin/python3 scripts/export_torchvision.py [--out build/models]
                                                    [--models resnet50,mobilenet_v2,...]

For every model NAME this writes an ONNX backend-test folder:

    OUT/NAME/model.onnx
    OUT/NAME/test_data_set_0/input_0.pb    (TensorProto, the seeded input)
    OUT/NAME/test_data_set_0/output_0.pb   (TensorProto, PyTorch's float64 output,
                                            rounded to float32)

Weights are random but seeded (weights=None, torch.manual_seed), the models are
in eval mode, and the input is a seeded [1,3,224,224] float32 tensor, so every
run produces the same numbers. So that the reference output is informative
(not ~0 everywhere), BatchNorm statistics are measured on seeded random data
and all-zero Linear layers (ViT's head) get small random weights; see
calibrate_batchnorm() and randomize_zero_linears(). A folder that is already complete is skipped
(use --force to redo it). Files are written under a temporary name and renamed
at the end, so an interrupted export never leaves a folder that looks complete.

The reference is computed in float64, not float32. The exported model, its
weights and the input are float32 and unchanged; the reference is the output
of a deep copy of that same model converted with .double(), applied to
x.double(), then rounded once to float32 when written. Why: an fp32 reference
is itself one fp32 evaluation among many, with its own rounding noise. On
ResNet-50 (53 convolutions, K up to 4608) the fp32 noise of any runtime is
of the order of the test tolerance (1e-5 + 1e-3*|want|): measured against a
float64 reference on four seeded inputs, PyTorch's own fp32 output reaches
1.0-2.4x the tolerance, ONNX Runtime's 0.86-1.2x. Comparing a runtime against
PyTorch fp32 therefore adds PyTorch's rounding errors to the runtime's own and
tests agreement between two noisy evaluations rather than accuracy. The
float64 output of the same fp32 weights is exact up to ~1e-16 relative, so
what remains is the runtime's own error plus two small terms common to every
runtime: the final rounding to float32 (half an ulp), and the export's
folding of BatchNorm into the Conv weights, which torch.onnx.export does in
float32 (so the ONNX model is not exactly the PyTorch model; on ResNet-50 the
two differ by 2.2e-6 RMS in the logits, at most 0.5x the tolerance, against
about 8e-6 RMS for a runtime's fp32 evaluation). The tolerance is not changed.

After each export the script prints the op histogram of the ONNX graph, using
the `onnx` module of this interpreter if it has one, else the `python3` first
on PATH (which has PyPI's onnx), else it says it cannot.
"""

import argparse
import collections
import copy
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import torch
import torchvision

MODELS = ("resnet50", "mobilenet_v2", "squeezenet1_1", "vit_b_16")
INPUT_NAME = "input"
OUTPUT_NAME = "output"
ONNX_FLOAT = 1  # TensorProto.DataType.FLOAT

try:  # Debian 12 ships python3-onnx 1.12; not every machine has it.
    import onnx  # noqa: F401
    from onnx import numpy_helper

    HAVE_ONNX = True
except ImportError:
    HAVE_ONNX = False


# ---------------------------------------------------------------------------
# TensorProto serialization without the onnx module.
#
# Field numbers from onnx.proto, message TensorProto:
#   1 dims (repeated int64), 2 data_type (int32), 8 name (string),
#   9 raw_data (bytes).
# onnx.proto is proto2, so repeated scalars are written unpacked (one tag per
# element), in field-number order: this reproduces exactly the bytes that
# onnx.numpy_helper.from_array(...).SerializeToString() gives.
# ---------------------------------------------------------------------------


def _varint(value):
    """Protobuf base-128 varint; negative int64 values use 10 bytes."""
    if value < 0:
        value += 1 << 64
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _tag(field, wire_type):
    return _varint((field << 3) | wire_type)


def encode_tensor_proto(array, name):
    """Serialize a float32 numpy array as an ONNX TensorProto (raw_data)."""
    assert array.dtype.name == "float32", array.dtype
    raw = array.astype("<f4", copy=False).tobytes(order="C")
    name_bytes = name.encode("utf-8")
    out = bytearray()
    for dim in array.shape:
        out += _tag(1, 0) + _varint(int(dim))
    out += _tag(2, 0) + _varint(ONNX_FLOAT)
    out += _tag(8, 2) + _varint(len(name_bytes)) + name_bytes
    out += _tag(9, 2) + _varint(len(raw)) + raw
    return bytes(out)


def tensor_proto_bytes(array, name):
    """TensorProto bytes, through onnx when available (same result either way)."""
    if HAVE_ONNX:
        return numpy_helper.from_array(array, name).SerializeToString()
    return encode_tensor_proto(array, name)


# ---------------------------------------------------------------------------
# Op histogram
# ---------------------------------------------------------------------------

# Run in a subprocess by an interpreter that has onnx. Loads the graph only
# (no external data) and prints {op_type: count} as JSON.
_HISTOGRAM_SNIPPET = r"""
import collections, json, sys, onnx
model = onnx.load(sys.argv[1], load_external_data=False)
ops = collections.Counter(
    (n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type
    for n in model.graph.node)
print(json.dumps(dict(sorted(ops.items()))))
"""


def op_histogram(model_path):
    """Return {op_type: count} for the graph, or None if no onnx is at hand."""
    if HAVE_ONNX:
        model = onnx.load(model_path, load_external_data=False)
        ops = collections.Counter(
            (n.domain + "::" if n.domain not in ("", "ai.onnx") else "") + n.op_type for n in model.graph.node
        )
        return dict(sorted(ops.items()))
    python = shutil.which("python3")
    if python is None or os.path.realpath(python) == os.path.realpath(sys.executable):
        return None
    try:
        res = subprocess.run(
            [python, "-c", _HISTOGRAM_SNIPPET, model_path],
            capture_output=True,
            text=True,
            timeout=300,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if res.returncode != 0:
        return None
    return json.loads(res.stdout)


def print_histogram(name, model_path):
    hist = op_histogram(model_path)
    if hist is None:
        print(f"  [{name}] op histogram unavailable (no onnx module in this or the PATH python3)")
        return
    total = sum(hist.values())
    print(f"  [{name}] {total} nodes, {len(hist)} op types:")
    for op, count in sorted(hist.items(), key=lambda kv: (-kv[1], kv[0])):
        print(f"      {op:<24} {count}")


# ---------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------


def folder_paths(out_dir, name):
    folder = os.path.join(out_dir, name)
    data = os.path.join(folder, "test_data_set_0")
    return folder, {
        "model": os.path.join(folder, "model.onnx"),
        "input": os.path.join(data, "input_0.pb"),
        "output": os.path.join(data, "output_0.pb"),
    }


def is_complete(paths):
    return all(os.path.isfile(p) and os.path.getsize(p) > 0 for p in paths.values())


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def calibrate_batchnorm(model, seed, batches=2, batch_size=8):
    """Give every BatchNorm running statistics measured on seeded random inputs.

    With torchvision's initialisation and the default running statistics
    (mean 0, var 1), activations vanish or explode through deep eval-mode
    networks (MobileNetV2's logits come out near 1e-9, ResNet-50's near 1e2),
    which makes a useless reference for a numerical comparison. Measuring the
    statistics on random data (only the BatchNorm layers in train mode, no
    autograd) keeps every layer's output at unit scale, like a trained model.
    """
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not bns:
        return
    gen = torch.Generator().manual_seed(seed)
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average over the calibration batches
        bn.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, 224, 224, generator=gen))
    model.eval()


def randomize_zero_linears(model, seed):
    """Re-initialise Linear layers whose weights are all zero.

    torchvision zero-initialises ViT's classification head, which would make
    the model's output exactly zero for every input (again a useless
    reference). Give such layers small seeded normal weights instead.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear) and not m.weight.any():
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.02)
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=gen) * 0.02)


def build_model(name, seed):
    """Construct a torchvision model with seeded random weights, in eval mode."""
    torch.manual_seed(seed)  # the same weights whatever the order of models
    model = getattr(torchvision.models, name)(weights=None)
    model.eval()
    randomize_zero_linears(model, seed + 2)
    calibrate_batchnorm(model, seed + 3)
    return model


def seeded_input(seed):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, 224, 224, generator=gen, dtype=torch.float32)


def reference_output(model, x):
    """The model's output for x computed in float64, as a float64 tensor.

    A deep copy of the model is converted to float64 (weights and BatchNorm
    statistics are widened exactly: every float32 is a float64), so the result
    is the exact output of the fp32 model up to float64 rounding.
    """
    model64 = copy.deepcopy(model).double().eval()
    with torch.inference_mode():
        y = model64(x.double())
    assert y.dtype == torch.float64, y.dtype
    return y.detach().clone()


def export_one(name, out_dir, opset, seed, force):
    folder, paths = folder_paths(out_dir, name)
    if is_complete(paths) and not force:
        print(f"[{name}] already complete in {folder}, skipped")
        print_histogram(name, paths["model"])
        return
    os.makedirs(os.path.dirname(paths["input"]), exist_ok=True)

    t0 = time.perf_counter()
    model = build_model(name, seed)
    x = seeded_input(seed + 1)
    t_build = time.perf_counter() - t0

    # The reference output: the same fp32 weights and input, evaluated in
    # float64 (see the module docstring), without autograd. The copy leaves
    # the fp32 model that is exported untouched.
    t0 = time.perf_counter()
    y = reference_output(model, x)
    t_ref = time.perf_counter() - t0

    # The export runs with autograd enabled: under no_grad/inference mode,
    # nn.MultiheadAttention (ViT) takes its fused "fast path"
    # (_native_multi_head_attention), which torch 1.13 cannot export.
    t0 = time.perf_counter()
    tmp_model = paths["model"] + ".tmp"
    torch.onnx.export(
        model,
        (x,),
        tmp_model,
        opset_version=opset,
        input_names=[INPUT_NAME],
        output_names=[OUTPUT_NAME],
        do_constant_folding=True,
        export_params=True,
    )
    t_export = time.perf_counter() - t0

    # Test data first, model last: the model's presence marks completion.
    x_np = x.numpy()
    y_np = y.numpy().astype("float32")
    write_atomic(paths["input"], tensor_proto_bytes(x_np, INPUT_NAME))
    write_atomic(paths["output"], tensor_proto_bytes(y_np, OUTPUT_NAME))
    os.replace(tmp_model, paths["model"])

    size_mb = os.path.getsize(paths["model"]) / 2**20
    print(
        f"[{name}] build {t_build:.1f}s, reference {t_ref:.2f}s, export {t_export:.1f}s; "
        f"model.onnx {size_mb:.1f} MiB; output {list(y_np.shape)} "
        f"min {y_np.min():.4g} max {y_np.max():.4g} std {y_np.std():.4g}"
    )
    print_histogram(name, paths["model"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="build/models", help="output folder (default: build/models)")
    parser.add_argument(
        "--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)} (default: all)"
    )
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17, the highest torch 1.13 has)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights (seed), input (seed+1) and calibration (seed+2, seed+3)")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch intra-op threads (default 1: the machines are shared)"
    )
    parser.add_argument("--force", action="store_true", help="re-export even when a folder is complete")
    args = parser.parse_args()

    names = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in names if m not in MODELS]
    if unknown or not names:
        parser.error(f"unknown model(s) {unknown}; choose from {','.join(MODELS)}")

    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, opset {args.opset}, "
        f"onnx module: {onnx.__version__ if HAVE_ONNX else 'absent (built-in TensorProto encoder)'}"
    )
    t_all = time.perf_counter()
    for name in names:
        export_one(name, args.out, args.opset, args.seed, args.force)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"done in {time.perf_counter() - t_all:.1f}s, peak RSS {peak:.0f} MiB")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
