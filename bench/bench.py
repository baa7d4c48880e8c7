#!/usr/bin/env python3
"""Benchmark Prism against ONNX Runtime (CPUExecutionProvider) on CPU.

    python3 bench/bench.py [--models resnet50,mobilenet_v2,squeezenet1_1,vit_b_16,tiny_cnn]
                           [--runtimes prism-opencl,prism,ort] [--prism-provider-option P:K=V]
                           [--threads 1,2] [--runs 20] [--warmup 3] [--markdown FILE]

Each model is a backend-test folder MODELS_DIR/<name>/ (model.onnx,
test_data_set_0/input_0.pb, output_0.pb), as written by
scripts/export_torchvision.py and scripts/make_example_model.py --test-data.

For every model and thread count both runtimes get the same input, and their
runs are interleaved (prism, ort, prism, ort, ...) after a few warm-up runs,
so that drifts of the machine (other load, frequency, page cache) hit both
alike. Reported per runtime: median and min latency, session creation time,
peak RSS (measured in a separate child process per runtime, see --rss-probe,
so the numbers don't mix; VmHWM, see peak_rss_mib), and the largest absolute error against the
reference output, so a fast wrong answer is visible.

Prism is driven through ctypes on libprism.so (include/prism/prism.h); its CPU
provider is found through PRISM_PROVIDER_PATH (set from --provider-path unless
already set). ONNX Runtime comes from PyPI's onnxruntime. Only numpy and
onnxruntime are needed: TensorProto files are decoded by a small built-in
reader, which keeps the onnx module out of the RSS measurements.

OPENBLAS_CORETYPE is reported, never changed.
"""

import argparse
import ctypes
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODELS = "resnet50,mobilenet_v2,squeezenet1_1,vit_b_16,tiny_cnn"
# Folders that scripts/make_example_model.py can (re)create on demand.
EXAMPLE_MODEL = "tiny_cnn"


# ---------------------------------------------------------------------------
# TensorProto reader (field numbers from onnx.proto, message TensorProto)
# ---------------------------------------------------------------------------

# ONNX TensorProto.DataType -> numpy dtype (the ones a benchmark input can be).
ONNX_TO_NUMPY = {
    1: np.float32,
    2: np.uint8,
    3: np.int8,
    4: np.uint16,
    5: np.int16,
    6: np.int32,
    7: np.int64,
    9: np.bool_,
    10: np.float16,
    11: np.float64,
    12: np.uint32,
    13: np.uint64,
}


def _read_varint(buf, pos):
    result = shift = 0
    while True:
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def _signed64(value):
    return value - (1 << 64) if value >= 1 << 63 else value


def read_tensor_pb(path):
    """Decode a serialized TensorProto into (name, numpy array).

    Handles dims (packed or not), data_type, name, raw_data, and the typed
    float_data / int32_data / int64_data / double_data fields. External data
    (data_location) is not supported: benchmark inputs never use it.
    """
    with open(path, "rb") as f:
        buf = f.read()
    dims, dtype, name, raw = [], 1, "", None
    typed = {4: [], 5: [], 7: [], 10: []}  # float, int32, int64, double
    pos = 0
    while pos < len(buf):
        key, pos = _read_varint(buf, pos)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _read_varint(buf, pos)
            if field == 1:
                dims.append(_signed64(value))
            elif field == 2:
                dtype = value
            elif field in (5, 7):
                typed[field].append(_signed64(value))
            elif field == 14 and value == 1:
                raise ValueError(f"{path}: external data is not supported")
        elif wire == 2:
            length, pos = _read_varint(buf, pos)
            chunk = buf[pos : pos + length]
            pos += length
            if field == 8:
                name = chunk.decode("utf-8")
            elif field == 9:
                raw = chunk
            elif field == 4:
                typed[4].extend(np.frombuffer(chunk, "<f4").tolist())
            elif field == 10:
                typed[10].extend(np.frombuffer(chunk, "<f8").tolist())
            elif field in (1, 5, 7):  # packed varints
                sub = 0
                while sub < len(chunk):
                    value, sub = _read_varint(chunk, sub)
                    (dims if field == 1 else typed[field]).append(_signed64(value))
        elif wire == 5:  # fixed32 (unpacked float_data)
            if field == 4:
                typed[4].append(float(np.frombuffer(buf[pos : pos + 4], "<f4")[0]))
            pos += 4
        elif wire == 1:  # fixed64 (unpacked double_data)
            if field == 10:
                typed[10].append(float(np.frombuffer(buf[pos : pos + 8], "<f8")[0]))
            pos += 8
        else:
            raise ValueError(f"{path}: unsupported protobuf wire type {wire}")
    if dtype not in ONNX_TO_NUMPY:
        raise ValueError(f"{path}: unsupported tensor data type {dtype}")
    np_dtype = np.dtype(ONNX_TO_NUMPY[dtype]).newbyteorder("<")
    if raw is not None:
        array = np.frombuffer(raw, dtype=np_dtype)
    else:
        source = typed[4] or typed[10] or typed[7] or typed[5]
        array = np.array(source, dtype=np_dtype)
    return name, array.astype(np_dtype.newbyteorder("="), copy=True).reshape(dims)


# ---------------------------------------------------------------------------
# Prism through ctypes (include/prism/prism.h)
# ---------------------------------------------------------------------------


class PrismValueInfo(ctypes.Structure):
    """struct prism_value_info."""

    _fields_ = [
        ("struct_size", ctypes.c_uint32),
        ("name", ctypes.c_char_p),
        ("dtype", ctypes.c_int),
        ("rank", ctypes.c_int32),
        ("dims", ctypes.POINTER(ctypes.c_int64)),
        ("dim_params", ctypes.POINTER(ctypes.c_char_p)),
    ]


class PrismError(RuntimeError):
    pass


class Prism:
    """The few libprism calls a benchmark needs, with status checking."""

    def __init__(self, lib_path):
        if not os.path.isfile(lib_path):
            raise PrismError(f"{lib_path} not found (build it, or pass --prism-lib, or use --runtimes ort)")
        lib = ctypes.CDLL(os.path.abspath(lib_path))
        P, PP = ctypes.c_void_p, ctypes.POINTER(ctypes.c_void_p)
        sig = {
            "prism_last_error_message": (ctypes.c_char_p, []),
            "prism_status_name": (ctypes.c_char_p, [ctypes.c_int]),
            "prism_version_string": (ctypes.c_char_p, []),
            "prism_env_create": (ctypes.c_int, [PP]),
            "prism_env_destroy": (None, [P]),
            "prism_session_options_create": (ctypes.c_int, [PP]),
            "prism_session_options_destroy": (None, [P]),
            "prism_session_options_set_threads": (ctypes.c_int, [P, ctypes.c_uint32]),
            "prism_session_options_set_providers": (ctypes.c_int, [P, ctypes.c_char_p]),
            "prism_session_options_add_provider_option_string": (ctypes.c_int, [P, ctypes.c_char_p]),
            "prism_session_create": (ctypes.c_int, [P, ctypes.c_char_p, P, PP]),
            "prism_session_destroy": (None, [P]),
            "prism_session_input_count": (ctypes.c_size_t, [P]),
            "prism_session_output_count": (ctypes.c_size_t, [P]),
            "prism_session_input": (ctypes.c_int, [P, ctypes.c_size_t, ctypes.POINTER(PrismValueInfo)]),
            "prism_session_run": (
                ctypes.c_int,
                [P, ctypes.POINTER(ctypes.c_char_p), PP, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_size_t, PP],
            ),
            "prism_tensor_create_view": (
                ctypes.c_int,
                [ctypes.c_int, ctypes.POINTER(ctypes.c_int64), ctypes.c_size_t, P, ctypes.c_size_t, PP],
            ),
            "prism_tensor_load_pb": (ctypes.c_int, [ctypes.c_char_p, PP, ctypes.POINTER(ctypes.c_char_p)]),
            "prism_tensor_destroy": (None, [P]),
            "prism_tensor_dtype": (ctypes.c_int, [P]),
            "prism_tensor_rank": (ctypes.c_size_t, [P]),
            "prism_tensor_dims": (ctypes.POINTER(ctypes.c_int64), [P]),
            "prism_tensor_byte_size": (ctypes.c_size_t, [P]),
            "prism_tensor_data_const": (ctypes.c_void_p, [P]),
        }
        for name, (restype, argtypes) in sig.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self.lib = lib
        self.version = lib.prism_version_string().decode()

    def check(self, status, what):
        if status != 0:
            detail = (self.lib.prism_last_error_message() or b"").decode(errors="replace")
            name = self.lib.prism_status_name(status).decode()
            raise PrismError(f"{what}: {name}: {detail}")

    def new_env(self):
        env = ctypes.c_void_p()
        self.check(self.lib.prism_env_create(ctypes.byref(env)), "prism_env_create")
        return env


class PrismSession:
    """A Prism session with its input tensor, ready to run."""

    def __init__(self, prism, env, model_path, threads, input_path, input_array, input_mode, providers=None,
                 provider_options=()):
        self.p, lib = prism, prism.lib
        self.session = ctypes.c_void_p()
        opts = ctypes.c_void_p()
        prism.check(lib.prism_session_options_create(ctypes.byref(opts)), "prism_session_options_create")
        try:
            prism.check(lib.prism_session_options_set_threads(opts, threads), "prism_session_options_set_threads")
            if providers:
                prism.check(lib.prism_session_options_set_providers(opts, providers.encode()), "set_providers")
            for spec in provider_options:
                prism.check(lib.prism_session_options_add_provider_option_string(opts, spec.encode()),
                            f"provider option {spec}")
            t0 = time.perf_counter()
            status = lib.prism_session_create(env, model_path.encode(), opts, ctypes.byref(self.session))
            self.create_ms = (time.perf_counter() - t0) * 1e3
            prism.check(status, f"prism_session_create({model_path})")
        finally:
            lib.prism_session_options_destroy(opts)

        if lib.prism_session_input_count(self.session) != 1:
            raise PrismError(f"{model_path}: the benchmark feeds exactly one input")
        info = PrismValueInfo(struct_size=ctypes.sizeof(PrismValueInfo))
        prism.check(lib.prism_session_input(self.session, 0, ctypes.byref(info)), "prism_session_input")
        self.input_name = info.name  # bytes, owned by the session
        self.n_outputs = lib.prism_session_output_count(self.session)

        # The input tensor: read from the .pb by Prism itself, or a view over
        # the numpy array (kept alive in self._keep).
        self.tensor = ctypes.c_void_p()
        if input_mode == "pb":
            name = ctypes.c_char_p()
            prism.check(
                lib.prism_tensor_load_pb(input_path.encode(), ctypes.byref(self.tensor), ctypes.byref(name)),
                f"prism_tensor_load_pb({input_path})",
            )
        else:
            self._keep = np.ascontiguousarray(input_array, dtype=np.float32)
            dims = (ctypes.c_int64 * self._keep.ndim)(*self._keep.shape)
            prism.check(
                lib.prism_tensor_create_view(
                    1, dims, self._keep.ndim, self._keep.ctypes.data, self._keep.nbytes, ctypes.byref(self.tensor)
                ),
                "prism_tensor_create_view",
            )
        self._names = (ctypes.c_char_p * 1)(self.input_name)
        self._inputs = (ctypes.c_void_p * 1)(self.tensor.value)
        self._outputs = (ctypes.c_void_p * max(1, self.n_outputs))()

    def run(self, keep_output=False):
        """Run once; return (milliseconds, first output as numpy or None)."""
        lib = self.p.lib
        t0 = time.perf_counter()
        status = lib.prism_session_run(
            self.session, self._names, self._inputs, 1, None, self.n_outputs, self._outputs
        )
        ms = (time.perf_counter() - t0) * 1e3
        self.p.check(status, "prism_session_run")
        result = self._to_numpy(self._outputs[0]) if keep_output else None
        for i in range(self.n_outputs):
            lib.prism_tensor_destroy(self._outputs[i])
            self._outputs[i] = None
        return ms, result

    def _to_numpy(self, tensor):
        lib = self.p.lib
        dtype = ONNX_TO_NUMPY.get(lib.prism_tensor_dtype(tensor))
        if dtype is None:
            return None
        rank = lib.prism_tensor_rank(tensor)
        dims_ptr = lib.prism_tensor_dims(tensor)
        shape = [dims_ptr[i] for i in range(rank)]
        nbytes = lib.prism_tensor_byte_size(tensor)
        data = lib.prism_tensor_data_const(tensor)
        raw = ctypes.string_at(data, nbytes) if nbytes else b""
        return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()

    def close(self):
        self.p.lib.prism_tensor_destroy(self.tensor)
        self.p.lib.prism_session_destroy(self.session)
        self.tensor = self.session = None


# ---------------------------------------------------------------------------
# ONNX Runtime
# ---------------------------------------------------------------------------


class OrtSession:
    def __init__(self, model_path, threads, input_array, spin):
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        if not spin:
            # Idle ORT workers otherwise busy-wait after each run and steal
            # cores from the interleaved Prism run that follows.
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
            so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        t0 = time.perf_counter()
        self.sess = ort.InferenceSession(model_path, so, providers=["CPUExecutionProvider"])
        self.create_ms = (time.perf_counter() - t0) * 1e3
        if len(self.sess.get_inputs()) != 1:
            raise RuntimeError(f"{model_path}: the benchmark feeds exactly one input")
        self.feed = {self.sess.get_inputs()[0].name: input_array}

    def run(self, keep_output=False):
        t0 = time.perf_counter()
        outputs = self.sess.run(None, self.feed)
        ms = (time.perf_counter() - t0) * 1e3
        return ms, (outputs[0] if keep_output else None)

    def close(self):
        self.sess = None


# ---------------------------------------------------------------------------
# Peak RSS probe (child process)
# ---------------------------------------------------------------------------


def peak_rss_mib():
    """Peak resident set size of this process, in MiB.

    VmHWM (/proc/self/status) is the high-water mark of this process's own
    address space. ru_maxrss is only the fallback: Linux carries the parent's
    high-water mark over fork+exec into the child's ru_maxrss, so a child
    started by a big parent would report the parent's peak.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_probe(args):
    """Create one runtime's session, run it, print JSON with the peak RSS (MiB)."""
    paths = model_paths(args.models_dir, args.rss_probe[1])
    _, x = read_tensor_pb(paths["input"])
    base = peak_rss_mib()  # interpreter + numpy + the input, before the runtime loads
    prism = env = None
    if args.rss_probe[0] != "ort":
        prism = Prism(args.prism_lib)
        env = prism.new_env()
    sess = make_session(args, args.rss_probe[0], prism, env, paths, args.probe_threads, x)
    for _ in range(args.probe_runs):
        sess.run()
    peak = peak_rss_mib()
    print(json.dumps({"peak_mib": peak, "baseline_mib": base}))
    sys.stdout.flush()
    os._exit(0)  # skip teardown: only the peak matters


def measure_rss(args, runtime, model, threads):
    cmd = [
        sys.executable,
        os.path.abspath(__file__),
        "--rss-probe",
        runtime,
        model,
        "--probe-threads",
        str(threads),
        "--models-dir",
        args.models_dir,
        "--prism-lib",
        args.prism_lib,
        "--prism-input",
        args.prism_input,
    ] + (["--ort-spin"] if args.ort_spin else [])
    for spec in args.prism_provider_option:
        cmd += ["--prism-provider-option", spec]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=900)
    except subprocess.TimeoutExpired:
        return None, "timeout"
    if res.returncode != 0:
        lines = (res.stderr or res.stdout).strip().splitlines()
        return None, lines[-1] if lines else f"exit {res.returncode}"
    return json.loads(res.stdout.strip().splitlines()[-1]), None


# ---------------------------------------------------------------------------
# Benchmark driver
# ---------------------------------------------------------------------------


def model_paths(models_dir, name):
    folder = os.path.join(models_dir, name)
    return {
        "folder": folder,
        "model": os.path.join(folder, "model.onnx"),
        "input": os.path.join(folder, "test_data_set_0", "input_0.pb"),
        "output": os.path.join(folder, "test_data_set_0", "output_0.pb"),
    }


def ensure_model(models_dir, name):
    """Return the model's paths; create the example model's folder if needed."""
    paths = model_paths(models_dir, name)
    missing = [p for k, p in paths.items() if k != "folder" and not os.path.isfile(p)]
    if missing and name == EXAMPLE_MODEL:
        script = os.path.join(REPO, "scripts", "make_example_model.py")
        subprocess.run(
            [sys.executable, script, "--out", os.path.join(paths["folder"], "model.onnx"), "--test-data", paths["folder"]],
            check=True,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
        )
        missing = [p for k, p in paths.items() if k != "folder" and not os.path.isfile(p)]
    if missing:
        raise FileNotFoundError(
            f"{name}: missing {', '.join(missing)}; run /usr/bin/python3 scripts/export_torchvision.py "
            f"--out {models_dir}"
        )
    return paths


def max_abs_err(got, expected):
    if got is None:
        return None
    got = np.asarray(got)
    if got.shape != expected.shape:
        return float("inf")
    return float(np.max(np.abs(got.astype(np.float64) - expected.astype(np.float64)))) if got.size else 0.0


def prism_providers(runtime):
    """The provider list of a Prism runtime name: 'prism' -> default (cpu),
    'prism-opencl' -> 'opencl', 'prism-opencl+cpu' -> 'opencl,cpu'."""
    return runtime[len("prism-"):].replace("+", ",") if runtime.startswith("prism-") else None


def make_session(args, runtime, prism, env, paths, threads, x):
    if runtime == "ort":
        return OrtSession(paths["model"], threads, x, args.ort_spin)
    return PrismSession(prism, env, paths["model"], threads, paths["input"], x, args.prism_input,
                        prism_providers(runtime), args.prism_provider_option)


def bench_config(args, prism, env, name, paths, threads):
    """Benchmark one model at one thread count; return a result dict."""
    row = {"model": name, "threads": threads, "errors": []}
    _, x = read_tensor_pb(paths["input"])
    _, expected = read_tensor_pb(paths["output"])
    with open(paths["model"], "rb") as f:  # warm the page cache for both runtimes alike
        while f.read(1 << 24):
            pass

    sessions = {}
    for rt in args.runtimes:
        try:
            sessions[rt] = make_session(args, rt, prism, env, paths, threads, x)
        except Exception as e:  # PrismError, or onnxruntime's own exception types
            row["errors"].append(f"{rt}: {e}")
    for rt, sess in sessions.items():
        row[f"{rt}_create_ms"] = sess.create_ms

    times = {rt: [] for rt in sessions}
    failed = set()

    def run_once(rt, keep=False):
        try:
            return sessions[rt].run(keep)
        except Exception as e:
            row["errors"].append(f"{rt}: {e}")
            failed.add(rt)
            return None, None

    # Warm-up (interleaved too); the first run's output is checked.
    for i in range(args.warmup):
        for rt in list(sessions):
            if rt in failed:
                continue
            _, out = run_once(rt, keep=(i == 0))
            if i == 0 and rt not in failed:
                err = max_abs_err(out, expected)
                row[f"{rt}_err"] = err
                # Flag answers outside a loose tolerance: their timing is moot.
                limit = 1e-3 * max(1.0, float(np.max(np.abs(expected))) if expected.size else 1.0)
                if err is not None and err > limit:
                    what = "has the wrong shape" if err == float("inf") else f"max abs err {err:.3g}"
                    row["errors"].append(f"{rt}: output differs from the reference ({what})")

    # Timed runs, interleaved: prism, ort, prism, ort, ...
    t_start = time.perf_counter()
    for i in range(args.runs):
        for rt in list(sessions):
            if rt not in failed:
                ms, _ = run_once(rt)
                if ms is not None:
                    times[rt].append(ms)
        if i + 1 >= args.min_runs and time.perf_counter() - t_start > args.max_seconds:
            break

    for rt, ts in times.items():
        if ts:
            row[f"{rt}_median"] = statistics.median(ts)
            row[f"{rt}_min"] = min(ts)
            row[f"{rt}_n"] = len(ts)
    for sess in sessions.values():
        sess.close()

    if not args.no_rss:
        for rt in args.runtimes:
            if rt in sessions and rt not in failed:
                rss, err = measure_rss(args, rt, name, threads)
                if rss:
                    row[f"{rt}_rss"] = rss["peak_mib"]
                    row[f"{rt}_rss_base"] = rss["baseline_mib"]
                else:
                    row["errors"].append(f"{rt} rss probe: {err}")
    return row


# ---------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------


def machine_facts(prism):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    flags = ""
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        have = [fl for fl in ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16") if f" {fl}" in text]
        flags = " ".join(have)
    except OSError:
        pass
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:
        ort_version = "not installed"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("date", time.strftime("%Y-%m-%d %H:%M:%S %Z")),
        ("host", platform.node()),
        ("CPU", f"{cpu} ({cores} usable cores; {flags or 'no AVX2'})"),
        ("OPENBLAS_CORETYPE", os.environ.get("OPENBLAS_CORETYPE", "unset")),
        # Other work on a shared machine skews every number: say how busy it was.
        ("load average at start", " ".join(f"{v:.2f}" for v in os.getloadavg())),
        ("kernel", platform.release()),
        ("Python", platform.python_version()),
        ("numpy", np.__version__),
        ("onnxruntime", f"{ort_version} (CPUExecutionProvider)"),
        ("Prism", prism.version if prism else "not loaded"),
        ("PRISM_PROVIDER_PATH", os.environ.get("PRISM_PROVIDER_PATH", "unset")),
    ]


def fmt(value, spec=".2f"):
    if value is None:
        return "–"
    if value == float("inf"):
        return "shape!"
    return format(value, spec)


RUNTIME_LABEL = {"prism": "Prism", "ort": "ORT"}


def runtime_label(rt):
    """'Prism', 'ORT', 'Prism[opencl]' ..."""
    return RUNTIME_LABEL.get(rt) or f"Prism[{prism_providers(rt)}]"


def render(rows, facts, args):
    rts = args.runtimes
    labels = [runtime_label(rt) for rt in rts]
    # Ratios: each Prism runtime against ORT when ORT ran, else against the first runtime.
    base = "ort" if "ort" in rts else rts[0]
    others = [rt for rt in rts if rt != base]
    title = " vs ".join(labels)
    lines = [f"### {title}", ""]
    lines += [f"- {k}: {v}" for k, v in facts]
    if args.prism_provider_option:
        lines.append(f"- Prism provider options: {', '.join(args.prism_provider_option)}")
    slash = " / ".join
    lines += [
        f"- method: {args.warmup} warm-up + up to {args.runs} timed runs per runtime, interleaved; "
        f"ORT spinning {'on' if args.ort_spin else 'off'}; Prism input via {args.prism_input}",
        "",
        "| model | threads | "
        + " | ".join(f"{lab} median / min ms" for lab in labels)
        + "".join(f" | {runtime_label(rt)}/{runtime_label(base)}" for rt in others)
        + f" | create ms {slash(labels)} | peak RSS MiB {slash(labels)} | max abs err {slash(labels)} | runs |",
        "|---|---:|" + "---:|" * (len(rts) + len(others) + 4),
    ]
    for r in rows:
        g = r.get
        cells = [f"{fmt(g(rt + '_median'))} / {fmt(g(rt + '_min'))}" for rt in rts]
        for rt in others:
            ratio = g(rt + "_median") / g(base + "_median") if g(rt + "_median") and g(base + "_median") else None
            cells.append(fmt(ratio))
        cells.append(slash(fmt(g(rt + "_create_ms"), ".0f") for rt in rts))
        cells.append(slash(fmt(g(rt + "_rss"), ".0f") for rt in rts))
        cells.append(slash(fmt(g(rt + "_err"), ".2g") for rt in rts))
        cells.append(str(max((g(rt + "_n", 0) for rt in rts), default=0)))
        lines.append(f"| {r['model']} | {r['threads']} | " + " | ".join(cells) + " |")
    bases = [(rt, r.get(f"{rt}_rss_base")) for r in rows for rt in rts if r.get(f"{rt}_rss_base")]
    errors = [(r["model"], r["threads"], e) for r in rows for e in r["errors"]]
    if errors:
        lines += ["", "Errors:"]
        lines += [f"- {m} ({t} threads): {e}" for m, t, e in errors]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


# Where a CMake build puts the libraries: per-target folders, or the common
# build/lib of CMAKE_LIBRARY_OUTPUT_DIRECTORY. The first that exists is used.
PRISM_LIB_CANDIDATES = ("build/core/libprism.so", "build/lib/libprism.so")
PROVIDER_DIR_CANDIDATES = ("build/providers/cpu", "build/lib")
PROVIDER_LIB = "libprism_provider_cpu.so"


def first_existing(candidates, inside=None):
    """The first candidate path that exists (with file `inside`, for folders), else the first."""
    for path in candidates:
        if os.path.exists(os.path.join(path, inside) if inside else path):
            return path
    return candidates[0]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=DEFAULT_MODELS, help=f"comma-separated (default: {DEFAULT_MODELS})")
    parser.add_argument("--models-dir", default="build/models", help="backend-test folders (default: build/models)")
    parser.add_argument("--threads", default="1,2", help="thread counts to test (default: 1,2)")
    parser.add_argument("--runs", type=int, default=20, help="timed runs per runtime (default 20)")
    parser.add_argument("--min-runs", type=int, default=5, help="runs before --max-seconds may stop early (5)")
    parser.add_argument(
        "--max-seconds", type=float, default=60.0, help="stop a configuration's timed loop after this long (60)"
    )
    parser.add_argument("--warmup", type=int, default=3, help="warm-up runs per runtime (default 3)")
    parser.add_argument(
        "--runtimes",
        default="prism,ort",
        help="runtimes interleaved in this order: ort, prism (default providers) or prism-P1+P2 "
        "(Prism with providers P1,P2, e.g. prism-opencl); default prism,ort",
    )
    parser.add_argument(
        "--prism-provider-option",
        action="append",
        default=[],
        metavar="P:K=V",
        help="provider option for every Prism session (repeatable), e.g. opencl:device=0",
    )
    parser.add_argument(
        "--prism-lib",
        default=first_existing(PRISM_LIB_CANDIDATES),
        help=f"path of libprism.so (default: the first of {', '.join(PRISM_LIB_CANDIDATES)} that exists)",
    )
    parser.add_argument(
        "--provider-path",
        default=os.environ.get("PRISM_PROVIDER_PATH") or first_existing(PROVIDER_DIR_CANDIDATES, PROVIDER_LIB),
        help="PRISM_PROVIDER_PATH for Prism (default: $PRISM_PROVIDER_PATH, else the first of "
        f"{', '.join(PROVIDER_DIR_CANDIDATES)} holding {PROVIDER_LIB})",
    )
    parser.add_argument(
        "--prism-input",
        choices=("pb", "view"),
        default="pb",
        help="feed Prism through prism_tensor_load_pb (default) or prism_tensor_create_view over numpy",
    )
    parser.add_argument("--ort-spin", action="store_true", help="let ORT's idle threads spin (its default)")
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS child processes")
    parser.add_argument("--markdown", metavar="FILE", help="append the report to FILE")
    # Internal: the child process that measures one runtime's peak RSS.
    parser.add_argument("--rss-probe", nargs=2, metavar=("RUNTIME", "MODEL"), help=argparse.SUPPRESS)
    parser.add_argument("--probe-threads", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--probe-runs", type=int, default=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    args.runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    valid = lambda r: r in ("prism", "ort") or (r.startswith("prism-") and len(r) > len("prism-"))
    if not args.runtimes or not all(valid(r) for r in args.runtimes) or len(set(args.runtimes)) != len(args.runtimes):
        parser.error("--runtimes takes distinct names among ort, prism, prism-P1+P2")
    try:
        args.threads = [int(t) for t in args.threads.split(",") if t.strip()]
    except ValueError:
        parser.error("--threads takes comma-separated integers")
    if not args.threads or any(t < 1 for t in args.threads):
        parser.error("--threads values must be >= 1")
    args.models = [m.strip() for m in args.models.split(",") if m.strip()]
    if not args.models:
        parser.error("--models is empty")
    if args.runs < 1 or args.warmup < 0 or args.min_runs < 1:
        parser.error("--runs and --min-runs must be >= 1, --warmup >= 0")
    if args.rss_probe and not valid(args.rss_probe[0]):
        parser.error("--rss-probe RUNTIME must be a runtime name")
    return args


def main(argv=None):
    args = parse_args(argv)
    # Only set, never override: the user's PRISM_PROVIDER_PATH wins (the
    # default of --provider-path already is it). Must precede prism_env_create.
    os.environ["PRISM_PROVIDER_PATH"] = ":".join(os.path.abspath(p) for p in args.provider_path.split(":") if p)
    if args.rss_probe:
        return rss_probe(args)

    # Check every model folder before spending time on any benchmark.
    try:
        all_paths = {name: ensure_model(args.models_dir, name) for name in args.models}
    except (FileNotFoundError, subprocess.CalledProcessError) as e:
        sys.exit(f"bench: {e}")

    prism = env = None
    if any(rt != "ort" for rt in args.runtimes):
        try:
            prism = Prism(args.prism_lib)
            env = prism.new_env()
        except (PrismError, OSError) as e:
            sys.exit(f"bench: cannot load Prism: {e}")

    facts = machine_facts(prism)
    for k, v in facts:
        print(f"{k}: {v}")
    print()

    rows = []
    for name in args.models:
        for threads in args.threads:
            row = bench_config(args, prism, env, name, all_paths[name], threads)
            rows.append(row)
            times = ", ".join(f"{runtime_label(rt)} {fmt(row.get(rt + '_median'))} ms" for rt in args.runtimes)
            print(
                f"{name:>14} t={threads}: {times}"
                + (f"  [{len(row['errors'])} error(s)]" if row["errors"] else ""),
                flush=True,
            )

    if prism and env:
        prism.lib.prism_env_destroy(env)

    report = render(rows, facts, args)
    print()
    print(report, end="")
    if args.markdown:
        with open(args.markdown, "a") as f:
            f.write(report + "\n")
    # Non-zero when any configuration failed, so scripts notice.
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
