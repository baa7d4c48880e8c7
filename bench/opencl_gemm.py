#!/usr/bin/env python3
"""GEMM throughput of the OpenCL provider's own kernel against CLBlast.

    python3 bench/opencl_gemm.py [--shapes 256,512,1024,2048,64x3136x576,512x49x4608]
                                 [--runs 9] [--warmup 2] [--max-seconds 60]
                                 [--prism-lib build/lib/libprism.so] [--provider-path build/lib]
                                 [--cache-dir DIR] [--markdown FILE]

For every shape M x N x K a one-node model Y = MatMul(A, B) is written with
onnx.helper (A [M, K] the input, B [K, N] an initializer) and run through
libprism (ctypes, the classes of bench/bench.py) in three sessions:

  opencl, clblast=0   the provider's own kernel (kernels/gemm.cl)
  opencl, clblast=1   CLBlast's SGEMM on the same device and queue
  cpu                 the CPU provider (OpenBLAS), for context

Runs are interleaved (one of each session in turn, after warm-up runs) so
drifts of the machine hit all alike; the table gives the median latency of
each and GFLOP/s = 2*M*N*K / median. A run is a whole prism_session_run:
A goes to the device and Y comes back, the same for both OpenCL columns.
Every session's output is checked against numpy first.

CLBlast serves a product only when ocl_blas.c accepts it (large enough, no
fused bias or activation) and CLBlast itself succeeds; otherwise the
provider silently runs its own kernel. ocl_blas.c logs every SGEMM it hands
to CLBlast at DEBUG level and every refusal by CLBlast at WARNING level, and
this script counts those lines per run: a clblast=1 column whose runs did not
all go through CLBlast is marked "(declined)" in the table.
"""

import argparse
import ctypes
import datetime
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "bench"))
import bench  # noqa: E402  (Prism, PrismSession, first_existing)

DEFAULT_SHAPES = "256,512,1024,2048,64x3136x576,512x49x4608"
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.c_char_p)


def parse_shape(text):
    """'1024' -> (1024, 1024, 1024); 'MxNxK' -> (M, N, K)."""
    parts = [int(p) for p in text.lower().split("x")]
    if len(parts) == 1:
        parts *= 3
    if len(parts) != 3 or any(p < 1 for p in parts):
        raise ValueError(f"bad shape '{text}' (N or MxNxK)")
    return tuple(parts)


def write_model(path, m, n, k, b):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["A", "B"], ["Y"])],
        f"matmul_{m}x{n}x{k}",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(b, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


class LogCounter:
    """Counts CLBlast lines of ocl_blas.c in the env's log."""

    def __init__(self):
        self.served = self.refused = 0
        self.last_refusal = ""
        self.fn = LOG_FN(self._on_log)  # kept alive as long as the env

    def _on_log(self, _user, level, message):
        text = (message or b"").decode(errors="replace")
        if "CLBlast SGEMM" in text:
            if level >= 2:
                self.refused += 1
                self.last_refusal = text
            else:
                self.served += 1


def session_configs(cache_dir):
    cache = [f"opencl:cache_dir={cache_dir}"] if cache_dir else []
    return [
        ("prism-opencl", "opencl", cache + ["opencl:clblast=0"]),
        ("clblast", "opencl", cache + ["opencl:clblast=1"]),
        ("cpu", "cpu", []),
    ]


def bench_shape(args, prism, env, counter, shape, tmp):
    m, n, k = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    ref = a.astype(np.float64) @ b.astype(np.float64)
    path = os.path.join(tmp, f"matmul_{m}x{n}x{k}.onnx")
    write_model(path, m, n, k, b)
    sessions = []
    try:
        for name, providers, options in session_configs(args.cache_dir):
            s = bench.PrismSession(prism, env, path, args.threads, None, a, "view", providers, options)
            sessions.append((name, s))
        errors, served, refused = {}, {}, {}
        for name, s in sessions:
            counter.served = counter.refused = 0
            _, y = s.run(keep_output=True)
            errors[name] = float(np.max(np.abs(y - ref)) / max(1e-30, float(np.max(np.abs(ref)))))
            for _ in range(args.warmup):
                s.run()
        times = {name: [] for name, _ in sessions}
        served = {name: 0 for name, _ in sessions}
        refused = {name: 0 for name, _ in sessions}
        t_start = time.perf_counter()
        for r in range(args.runs):
            for name, s in sessions:
                counter.served = counter.refused = 0
                ms, _ = s.run()
                times[name].append(ms)
                served[name] += counter.served
                refused[name] += counter.refused
            if r + 1 >= 3 and time.perf_counter() - t_start > args.max_seconds:
                break
    finally:
        for _, s in sessions:
            s.close()
    flop = 2.0 * m * n * k
    row = {"shape": shape, "runs": len(times["cpu"])}
    for name, _ in sessions:
        med = statistics.median(times[name])
        row[name] = {
            "ms": med,
            "gflops": flop / (med * 1e6),
            "rel_err": errors[name],
            "clblast_runs": served[name],
            "clblast_refused": refused[name],
        }
    return row


def device_line(args):
    """The OpenCL device as `prism devices` names it."""
    exe = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(args.prism_lib))), "bin", "prism")
    if not os.path.exists(exe):
        return "(prism executable not found next to the library)"
    try:
        out = subprocess.run([exe, "devices"], capture_output=True, text=True, timeout=60,
                             env=dict(os.environ)).stdout
    except (OSError, subprocess.SubprocessError) as e:
        return f"(prism devices failed: {e})"
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("provider opencl"):
            dev = next((l.strip() for l in lines[i + 1:] if l.strip().startswith("device 0:")), "")
            ver = next((l.strip() for l in lines[i + 1:] if l.strip().startswith("platform_version=")), "")
            return f"{dev} ({ver})" if ver else dev
    return "(no OpenCL device listed)"


def render(rows, args, device):
    out = []
    out.append(f"Command: `python3 bench/opencl_gemm.py {' '.join(args.argv)}`".replace(" `", " `").rstrip())
    out.append("")
    out.append(f"Date: {datetime.date.today().isoformat()}; OpenCL device: {device}; "
               f"{rows[0]['runs'] if rows else 0} interleaved runs per session after {args.warmup} warm-up runs, "
               "medians of whole session runs (A to the device, Y back).")
    out.append("")
    out.append("| M x N x K | Prism kernel ms | GFLOP/s | CLBlast ms | GFLOP/s | speed-up over CLBlast | CPU provider ms | GFLOP/s |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        m, n, k = r["shape"]
        p, c, cpu = r["prism-opencl"], r["clblast"], r["cpu"]
        note = "" if c["clblast_runs"] >= r["runs"] and not c["clblast_refused"] else " (declined)"
        out.append(
            f"| {m}x{n}x{k} | {p['ms']:.2f} | {p['gflops']:.1f} | {c['ms']:.2f}{note} | {c['gflops']:.1f} | "
            f"{c['ms'] / p['ms']:.2f}x | {cpu['ms']:.2f} | {cpu['gflops']:.1f} |"
        )
    out.append("")
    worst = max((max(r[s]["rel_err"] for s in ("prism-opencl", "clblast", "cpu")) for r in rows), default=0.0)
    out.append(f"Largest error against float64 numpy, relative to max|Y|: {worst:.1e}. "
               "\"speed-up over CLBlast\" is CLBlast's time over ours (above 1: ours is faster).")
    return "\n".join(out) + "\n"


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--shapes", default=DEFAULT_SHAPES, help=f"N or MxNxK, comma-separated (default {DEFAULT_SHAPES})")
    p.add_argument("--runs", type=int, default=9, help="timed runs per session (default 9)")
    p.add_argument("--warmup", type=int, default=2, help="warm-up runs per session (default 2)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="cut a shape's timed loop after this long (60)")
    p.add_argument("--threads", type=int, default=0, help="intra-op threads of the CPU provider (0: one per core)")
    p.add_argument("--prism-lib", default=bench.first_existing(bench.PRISM_LIB_CANDIDATES), help="libprism.so")
    p.add_argument("--provider-path", default=os.environ.get("PRISM_PROVIDER_PATH") or "",
                   help="PRISM_PROVIDER_PATH (default: $PRISM_PROVIDER_PATH, else the folder of --prism-lib)")
    p.add_argument("--cache-dir", default="", help="opencl:cache_dir for the OpenCL sessions (default none)")
    p.add_argument("--markdown", metavar="FILE", help="append the table to FILE")
    args = p.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args.shapes = [parse_shape(s) for s in args.shapes.split(",") if s.strip()]
    except ValueError as e:
        p.error(str(e))
    if not args.shapes or args.runs < 1 or args.warmup < 0:
        p.error("need at least one shape, --runs >= 1 and --warmup >= 0")
    if not args.provider_path:
        args.provider_path = os.path.dirname(os.path.abspath(args.prism_lib))
    return args


def main(argv=None):
    args = parse_args(argv)
    os.environ["PRISM_PROVIDER_PATH"] = ":".join(os.path.abspath(x) for x in args.provider_path.split(":") if x)
    prism = bench.Prism(args.prism_lib)
    prism.lib.prism_env_set_logger.restype = None
    prism.lib.prism_env_set_logger.argtypes = [ctypes.c_void_p, LOG_FN, ctypes.c_void_p, ctypes.c_int]
    env = prism.new_env()
    counter = LogCounter()
    prism.lib.prism_env_set_logger(env, counter.fn, None, 0)
    rows = []
    with tempfile.TemporaryDirectory(prefix="prism-gemm-") as tmp:
        for shape in args.shapes:
            row = bench_shape(args, prism, env, counter, shape, tmp)
            rows.append(row)
            m, n, k = shape
            c = row["clblast"]
            print(f"{m}x{n}x{k}: prism {row['prism-opencl']['gflops']:.1f} GFLOP/s, "
                  f"clblast {c['gflops']:.1f} GFLOP/s ({c['clblast_runs']}/{row['runs']} runs via CLBlast"
                  f"{', refused: ' + counter.last_refusal if c['clblast_refused'] else ''}), "
                  f"cpu {row['cpu']['gflops']:.1f} GFLOP/s; rel err "
                  f"{row['prism-opencl']['rel_err']:.1e}/{c['rel_err']:.1e}/{row['cpu']['rel_err']:.1e}",
                  flush=True)
    prism.lib.prism_env_destroy(env)
    text = render(rows, args, device_line(args))
    print(text)
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
