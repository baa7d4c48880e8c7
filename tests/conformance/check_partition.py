#!/usr/bin/env python3
"""Checks the partition reports of the torchvision models.

  check_partition.py PRISM_BIN MODELS_DIR [--suite example|opencl|xrt-csim] [--option P:K=V ...]

example (default): split between the simulated accelerator (plugins/example)
  and the CPU: the ops the accelerator runs are on it, the others on the CPU,
  the subgraphs and copies agree with each other, and every copy moves a value
  between two different memory spaces with its size.
opencl: `--providers opencl` alone: every node computing floating-point data
  runs on the OpenCL device; only integer shape arithmetic may fall back.
xrt-csim: `--providers xrt,cpu` with the C-simulation FPGA device: every
  node of the three CNNs runs on the FPGA provider, in one subgraph."""
import json
import subprocess
import sys

ACCEL_OPS = {"Conv", "Gemm", "MatMul", "Relu", "Add", "Sub", "Mul", "Div", "Sigmoid", "Tanh", "Clip", "LeakyRelu"}


def report(prism, model, providers, *flags):
    out = subprocess.run([prism, "partition", model, "--providers", providers, "--format", "json", *flags],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(out)


FLOAT_TYPES = {"float", "float16", "double", "bfloat16"}


def check_device_only(name, rep, provider, failures):
    """Every floating-point node on `provider`; the rest (integer shape
    arithmetic) may fall back to the CPU."""
    nodes = rep["nodes"]
    for n in nodes:
        if n["dtype"] in FLOAT_TYPES and n["provider"] != provider:
            failures.append(f"{name}: node {n['name']} ({n['op']}, {n['dtype']}) is on {n['provider']}: {n['reason']}")
    on = sum(n["provider"] == provider for n in nodes)
    return f"{on} of {len(nodes)} nodes on {provider}, {len(rep['subgraphs'])} subgraphs, {len(rep['copies'])} copies"


def check(name, rep, failures):
    def fail(msg):
        failures.append(f"{name}: {msg}")

    nodes, subs, copies = rep["nodes"], rep["subgraphs"], rep["copies"]
    on = {n["provider"] for n in nodes}
    if on != {"example", "cpu"}:
        fail(f"expected a split over example and cpu, got {sorted(on)}")
    for n in nodes:
        want = "example" if n["op"] in ACCEL_OPS else "cpu"
        # Clip/Conv on non-float data or shapes the accelerator refuses may
        # stay on the CPU; everything else must be where its op belongs.
        if want == "cpu" and n["provider"] != "cpu":
            fail(f"node {n['name']} ({n['op']}) is on {n['provider']}; the accelerator cannot run {n['op']}")
        if n["op"] in ("Conv", "Gemm") and n["provider"] != "example":
            fail(f"node {n['name']} ({n['op']}) is on {n['provider']}, expected example")
        if n["fallback"]:
            fail(f"node {n['name']} is a fallback although cpu is listed")
    if len(subs) < 2:
        fail("fewer than 2 subgraphs")
    for i, s in enumerate(subs):
        for nm in s["nodes"]:
            owner = [n for n in nodes if n["name"] == nm]
            if not owner or owner[0]["subgraph"] != i or owner[0]["provider"] != s["provider"]:
                fail(f"subgraph {i} lists {nm}, which the node list places elsewhere")
    if not copies:
        fail("no copies although the model is split")
    for c in copies:
        if c["from"] == c["to"]:
            fail(f"copy of {c['value']} within one memory space")
        if c["bytes"] <= 0:
            fail(f"copy of {c['value']} has no static size ({c['bytes']})")
    # Every value a subgraph on the accelerator reads is made there by an
    # earlier subgraph on it, or copied in before it runs.
    for i, s in enumerate(subs):
        if s["provider"] != "example":
            continue
        for v in s["inputs"]:
            if any(t["provider"] == "example" and v in t["outputs"] for t in subs[:i]):
                continue
            if not any(c["value"] == v and c["to"]["provider"] == "example" and
                       (c["before_subgraph"] is not None and c["before_subgraph"] <= i) for c in copies):
                fail(f"input {v} of subgraph {i} is never copied to the accelerator")
    return len(nodes), len(subs), len(copies), sum(c["bytes"] for c in copies)


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        print(__doc__)
        return 2
    prism, models, suite, options = args[0], args[1], "example", []
    rest = args[2:]
    while rest:
        if rest[0] == "--suite" and len(rest) > 1:
            suite = rest[1]
        elif rest[0] == "--option" and len(rest) > 1:
            options += ["--provider-option", rest[1]]
        else:
            print(f"check_partition: bad argument {rest[0]}")
            return 2
        rest = rest[2:]
    failures = []
    names = ("resnet50", "mobilenet_v2", "squeezenet1_1", "vit_b_16")
    if suite == "xrt-csim":
        names = names[:3]
    for name in names:
        model = f"{models}/{name}/model.onnx"
        if suite == "opencl":
            print(f"{name}: " + check_device_only(name, report(prism, model, "opencl", *options), "opencl", failures))
            continue
        if suite == "xrt-csim":
            rep = report(prism, model, "xrt,cpu", "--provider-option", "xrt:csim=1", *options)
            print(f"{name}: " + check_device_only(name, rep, "xrt", failures))
            if len(rep["subgraphs"]) != 1:
                failures.append(f"{name}: {len(rep['subgraphs'])} subgraphs on xrt,cpu, expected 1")
            continue
        rep = report(prism, model, "example,cpu", *options)
        n, s, c, b = check(name, rep, failures)
        print(f"{name}: {n} nodes, {s} subgraphs, {c} copies, {b} bytes per run")
        # Latency policy: never more copies than provider order.
        lat = report(prism, model, "example,cpu", "--policy", "latency", *options)
        if len(lat["copies"]) > c:
            failures.append(f"{name}: latency policy makes {len(lat['copies'])} copies, provider order {c}")
    for f in failures:
        print("FAIL", f)
    bad = len({f.split(':')[0] for f in failures})
    print(f"{len(names) - bad} passed, {bad} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
