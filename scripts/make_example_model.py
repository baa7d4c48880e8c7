#!/usr/bin/env python3
"""Build examples/tiny_cnn.onnx, a tiny CNN classifier used by examples and tests.

Run with the `python3` on PATH (it has PyPI's onnx, numpy, onnxruntime):

    python3 scripts/make_example_model.py [--out examples/tiny_cnn.onnx]
                                           [--test-data DIR [--batch 2]]

The graph (opset 17, IR version 8), input "image" float32 [N,3,32,32] with a
symbolic batch dim "N", output "probabilities" float32 [N,10]:

    Conv 3->16, 3x3, pads 1, bias  -> Relu -> MaxPool 2x2/2     [N,16,16,16]
    Conv 16->16, 3x3, group 16 (depthwise), pads 1, bias         [N,16,16,16]
    BatchNormalization -> Clip [0, 6] -> GlobalAveragePool       [N,16,1,1]
    Flatten -> Gemm (transB=1) 16->10 -> Softmax(axis=1)         [N,10]

Weights come from a seeded numpy generator and the model carries no time
stamps, so the output is byte-identical across runs and machines.

With --test-data DIR the script also writes an ONNX backend-test folder:
DIR/model.onnx, DIR/test_data_set_0/input_0.pb and output_0.pb, the expected
output computed by onnx.reference.ReferenceEvaluator (and cross-checked with
onnxruntime when it is installed).
"""

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT = os.path.join(REPO, "examples", "tiny_cnn.onnx")

OPSET = 17
IR_VERSION = 8
IN_CH, MID_CH, CLASSES, SIZE = 3, 16, 10, 32


def build_model(seed):
    """Return the ModelProto; every weight is drawn from np.random.default_rng(seed)."""
    rng = np.random.default_rng(seed)

    def normal(shape, std):
        return (rng.standard_normal(shape) * std).astype(np.float32)

    # He-style scales keep activations at roughly unit size, so the softmax is
    # neither flat nor saturated and numerical comparisons are meaningful.
    inits = {
        "conv1.weight": normal((MID_CH, IN_CH, 3, 3), np.sqrt(2.0 / (IN_CH * 9))),
        "conv1.bias": normal((MID_CH,), 0.1),
        "dw.weight": normal((MID_CH, 1, 3, 3), np.sqrt(2.0 / 9)),
        "dw.bias": normal((MID_CH,), 0.1),
        "bn.scale": (1.0 + normal((MID_CH,), 0.1)).astype(np.float32),
        "bn.bias": normal((MID_CH,), 0.1),
        "bn.mean": normal((MID_CH,), 0.1),
        "bn.var": (0.5 + rng.random(MID_CH)).astype(np.float32),
        "clip.min": np.array(0.0, dtype=np.float32),
        "clip.max": np.array(6.0, dtype=np.float32),
        "fc.weight": normal((CLASSES, MID_CH), np.sqrt(1.0 / MID_CH)),
        "fc.bias": normal((CLASSES,), 0.1),
    }
    initializers = [numpy_helper.from_array(v, k) for k, v in inits.items()]

    nodes = [
        helper.make_node(
            "Conv",
            ["image", "conv1.weight", "conv1.bias"],
            ["conv1"],
            name="conv1",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            strides=[1, 1],
        ),
        helper.make_node("Relu", ["conv1"], ["relu1"], name="relu1"),
        helper.make_node("MaxPool", ["relu1"], ["pool1"], name="pool1", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node(
            "Conv",
            ["pool1", "dw.weight", "dw.bias"],
            ["dw"],
            name="dwconv",
            kernel_shape=[3, 3],
            pads=[1, 1, 1, 1],
            group=MID_CH,
        ),
        helper.make_node(
            "BatchNormalization",
            ["dw", "bn.scale", "bn.bias", "bn.mean", "bn.var"],
            ["bn"],
            name="bn",
            epsilon=1e-5,
        ),
        helper.make_node("Clip", ["bn", "clip.min", "clip.max"], ["clip"], name="clip"),
        helper.make_node("GlobalAveragePool", ["clip"], ["gap"], name="gap"),
        helper.make_node("Flatten", ["gap"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "fc.weight", "fc.bias"], ["logits"], name="fc", transB=1),
        helper.make_node("Softmax", ["logits"], ["probabilities"], name="softmax", axis=1),
    ]

    graph = helper.make_graph(
        nodes,
        "tiny_cnn",
        inputs=[helper.make_tensor_value_info("image", TensorProto.FLOAT, ["N", IN_CH, SIZE, SIZE])],
        outputs=[helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", CLASSES])],
        initializer=initializers,
        doc_string="Tiny CNN classifier with seeded random weights (Prism example).",
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="prism/scripts/make_example_model.py",
        producer_version="1",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)  # also runs strict shape inference
    return model


def write_bytes(path, data):
    """Write a file through a temporary name, so readers never see half a file."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def write_test_data(model, model_bytes, out_dir, batch, seed):
    """Write a backend-test folder with the reference evaluator's output."""
    from onnx.reference import ReferenceEvaluator

    x = np.random.default_rng(seed + 1).standard_normal((batch, IN_CH, SIZE, SIZE)).astype(np.float32)
    (y,) = ReferenceEvaluator(model).run(None, {"image": x})
    y = np.asarray(y, dtype=np.float32)

    data_dir = os.path.join(out_dir, "test_data_set_0")
    write_bytes(os.path.join(out_dir, "model.onnx"), model_bytes)
    write_bytes(os.path.join(data_dir, "input_0.pb"), numpy_helper.from_array(x, "image").SerializeToString())
    write_bytes(
        os.path.join(data_dir, "output_0.pb"), numpy_helper.from_array(y, "probabilities").SerializeToString()
    )
    print(f"wrote {out_dir}: input {list(x.shape)}, output {list(y.shape)}, top-1 {y.argmax(axis=1).tolist()}")

    # An independent second opinion, when onnxruntime is installed.
    try:
        import onnxruntime as ort
    except ImportError:
        return
    sess = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    (got,) = sess.run(None, {"image": x})
    diff = float(np.abs(got - y).max())
    print(f"onnxruntime {ort.__version__} agrees with the reference evaluator: max abs diff {diff:.3g}")
    if not np.allclose(got, y, rtol=1e-4, atol=1e-6):
        sys.exit("error: onnxruntime and onnx.reference disagree on the example model")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="model path (default: examples/tiny_cnn.onnx)")
    parser.add_argument("--test-data", metavar="DIR", help="also write a backend-test folder here")
    parser.add_argument("--batch", type=int, default=2, help="batch size of the test input (default 2)")
    parser.add_argument("--seed", type=int, default=0, help="seed for weights (seed) and test input (seed+1)")
    args = parser.parse_args()
    if args.batch < 1:
        parser.error("--batch must be >= 1")

    model = build_model(args.seed)
    data = model.SerializeToString(deterministic=True)
    write_bytes(args.out, data)
    print(f"wrote {args.out} ({len(data)} bytes, {len(model.graph.node)} nodes, opset {OPSET}, IR {IR_VERSION})")
    if args.test_data:
        write_test_data(model, data, args.test_data, args.batch, args.seed)


if __name__ == "__main__":
    main()
