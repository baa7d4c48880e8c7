#!/usr/bin/env python3
"""Generate the ONNX backend node tests of the installed PyPI `onnx` package.

The PyPI wheel ships the generators of its node tests (onnx.backend.test.case.node)
but not their data; this writes them in the backend-test layout:
OUT/test_NAME/model.onnx and OUT/test_NAME/test_data_set_N/{input,output}_K.pb.
Tests whose inputs or outputs are sequences, maps or optionals are written too
(as ONNX writes them); the runner reports them as skipped.

usage: python3 scripts/gen_onnx_node_tests.py OUT
"""
import os
import shutil
import sys

import onnx
from onnx import numpy_helper
from onnx.backend.test.case import node as node_cases


def serialize(value, value_type, name):
    if value_type.HasField("sequence_type"):
        return numpy_helper.from_list(value, name).SerializeToString()
    if value_type.HasField("map_type"):
        return numpy_helper.from_dict(value, name).SerializeToString()
    if value_type.HasField("optional_type"):
        return numpy_helper.from_optional(value, name).SerializeToString()
    if isinstance(value, onnx.TensorProto):
        return value.SerializeToString()
    return numpy_helper.from_array(value, name).SerializeToString()


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    out = sys.argv[1]
    stamp = os.path.join(out, ".onnx-version")
    if os.path.exists(stamp) and open(stamp).read().strip() == onnx.__version__:
        print(f"{out}: node tests of onnx {onnx.__version__} already generated")
        return 0
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(out)
    count = 0
    for case in node_cases.collect_testcases(None):
        tdir = os.path.join(out, case.name)
        os.makedirs(tdir)
        with open(os.path.join(tdir, "model.onnx"), "wb") as f:
            f.write(case.model.SerializeToString())
        graph = case.model.graph
        for i, (inputs, outputs) in enumerate(case.data_sets):
            ddir = os.path.join(tdir, f"test_data_set_{i}")
            os.makedirs(ddir)
            for j, value in enumerate(inputs):
                with open(os.path.join(ddir, f"input_{j}.pb"), "wb") as f:
                    f.write(serialize(value, graph.input[j].type, graph.input[j].name))
            for j, value in enumerate(outputs):
                with open(os.path.join(ddir, f"output_{j}.pb"), "wb") as f:
                    f.write(serialize(value, graph.output[j].type, graph.output[j].name))
        count += 1
    with open(stamp, "w") as f:
        f.write(onnx.__version__ + "\n")
    print(f"{out}: wrote {count} node tests of onnx {onnx.__version__}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
