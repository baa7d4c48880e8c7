/*
 * test_bad_input.c — malformed files, hostile models and bad external data.
 * Each case asserts the exact status and that the message names the culprit
 * (file, node, op, domain, opset, value, dims); the fuzz cases only assert
 * that nothing crashes or leaks (ASan/LSan builds run them too).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ir.h"
#include "model_builder.h"
#include "unit_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* Huge requests must come back as errors, not sanitizer aborts; and a
 * flipped bit that asks for gigabytes (a pad of 2^28) must fail quickly
 * instead of thrashing: cap single allocations at 256 MiB. */
const char *__asan_default_options(void);
const char *__asan_default_options(void) { return "allocator_may_return_null=1:max_allocation_size_mb=256"; }

/* Without ASan, the fuzz cases run under a data-size limit of 1 GiB (ASan
 * needs its terabytes of shadow mappings, so there the option above does it). */
static void limit_memory(bool on) {
#ifndef UNDER_ASAN
    static struct rlimit saved;
    static bool have_saved;
    if (on) {
        if (getrlimit(RLIMIT_DATA, &saved) != 0) return;
        have_saved = true;
        struct rlimit lim = saved;
        rlim_t cap = (rlim_t)1 << 30;
        if (lim.rlim_cur == RLIM_INFINITY || lim.rlim_cur > cap) lim.rlim_cur = cap;
        setrlimit(RLIMIT_DATA, &lim);
    } else if (have_saved) {
        setrlimit(RLIMIT_DATA, &saved);
    }
#else
    (void)on;
#endif
}

static prism_env *env;

static int suite_init(void) { return prism_env_create(&env) == PRISM_OK ? 0 : 1; }
static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}


/* Run the add model's session on MB_X_VALUES and check MB_Y_VALUES. */
static void check_add_session(prism_session *s) {
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *y = NULL;
    const char *in[] = {"X"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y));
    CU_ASSERT_EQUAL(prism_tensor_element_count(y), 6);
    CU_ASSERT_EQUAL(memcmp(prism_tensor_data(y), MB_Y_VALUES, sizeof MB_Y_VALUES), 0);
    prism_tensor_destroy(y);
    prism_tensor_destroy(x);
}

/* ---- files ---------------------------------------------------------------- */

static void test_missing_file(void) {
    const char *path = "/nonexistent/prism_dir/model.onnx";
    prism_model *m = (prism_model *)0x1;
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_model_load(path, &m), path, "No such file");
    CU_ASSERT_PTR_EQUAL(m, (prism_model *)0x1); /* out-parameter untouched */
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_session_create(env, path, NULL, &s), path);
    CU_ASSERT_PTR_NULL(s);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create(env, NULL, NULL, &s), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_model_load(path, NULL), "NULL");
}

static void test_directory(void) {
    char *dir = mb_tempdir();
    prism_model *m = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_model_load(dir, &m), dir, "not a regular file");
    CU_ASSERT_PTR_NULL(m);
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_session_create(env, dir, NULL, &s), dir);
    mb_rmtree(dir);
    free(dir);
}

/* Run fn in a child process; true when it exits 0 within `seconds` (a hang
 * is killed and counts as a failure, so a blocking open cannot stall ctest). */
static bool in_child_within(void (*fn)(const char *), const char *arg, int seconds) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        fn(arg);
        _exit(0);
    }
    if (pid < 0) return false;
    for (int i = 0; i < seconds * 20; i++) {
        int ws;
        if (waitpid(pid, &ws, WNOHANG) == pid) return WIFEXITED(ws) && WEXITSTATUS(ws) == 0;
        usleep(50000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return false;
}

static void load_fifo_child(const char *path) {
    prism_model *m;
    prism_status st = prism_model_load(path, &m);
    bool named = strstr(prism_last_error_message(), path) && strstr(prism_last_error_message(), "not a regular file");
    prism_tensor *t;
    prism_status st2 = prism_tensor_load_pb(path, &t, NULL);
    _exit(st == PRISM_ERR_IO && named && st2 == PRISM_ERR_IO ? 0 : 1);
}

static void ext_fifo_child(const char *model) {
    prism_model *m;
    prism_status st = prism_model_load(model, &m);
    _exit(st == PRISM_ERR_IO && strstr(prism_last_error_message(), "pipe.bin") ? 0 : 1);
}

/* A FIFO (named pipe) must be refused at once, not block the caller
 * waiting for a writer. */
static void test_fifo(void) {
    char *dir = mb_tempdir(), *fifo = mb_path(dir, "model.onnx");
    CU_ASSERT_FATAL(mkfifo(fifo, 0600) == 0);
    CU_ASSERT(in_child_within(load_fifo_child, fifo, 10));
    /* The same as an external-data location. */
    char *pipe_bin = mb_path(dir, "pipe.bin"), *model = mb_path(dir, "ext.onnx");
    CU_ASSERT_FATAL(mkfifo(pipe_bin, 0600) == 0);
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){2});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, (int64_t[]){2});
    mb_external(m, mb_init_float(m, "W", 1, (int64_t[]){2}, (float[]){1, 2}), "pipe.bin", NULL, NULL);
    mb_node(m, "Add", "add0", "X,W", "Y");
    CU_ASSERT_FATAL(mb_save(m, model));
    mb_free(m);
    CU_ASSERT(in_child_within(ext_fifo_child, model, 10));
    mb_rmtree(dir);
    free(model);
    free(pipe_bin);
    free(fifo);
    free(dir);
}

static void test_empty_file(void) {
    char *dir = mb_tempdir(), *path = mb_path(dir, "empty.onnx");
    CU_ASSERT_FATAL(mb_write_file(path, "", 0));
    prism_model *m = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(path, &m), path, "empty");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create(env, path, NULL, &s), path, "empty");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load_memory(NULL, 0, NULL, &m), "empty");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create_from_memory(env, "", 0, NULL, &s), "empty");
    mb_rmtree(dir);
    free(path);
    free(dir);
}

static void test_truncated(void) {
    mb_model *mm = mb_add_relu_model();
    size_t n;
    uint8_t *buf = mb_pack(mm, &n);
    mb_free(mm);
    /* The whole model works... */
    prism_session *s;
    UNIT_OK(prism_session_create_from_memory(env, buf, n, NULL, &s));
    check_add_session(s);
    prism_session_destroy(s);
    /* ...half of it is refused, from a file and from memory. */
    char *dir = mb_tempdir(), *path = mb_path(dir, "half.onnx");
    CU_ASSERT_FATAL(mb_write_file(path, buf, n / 2));
    prism_model *m = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(path, &m), path, "does not parse");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create(env, path, NULL, &s), path, "does not parse");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load_memory(buf, n / 2, NULL, &m), "does not parse");
    /* Every 7th cut: a clean error (a cut at a field boundary may leave a
     * model that parses but lacks its graph or the nodes' outputs). */
    size_t refused = 0, cuts = 0;
    for (size_t len = 1; len < n; len += 7, cuts++) {
        prism_status st = prism_model_load_memory(buf, len, NULL, &m);
        if (st == PRISM_OK) {
            prism_model_destroy(m);
        } else {
            CU_ASSERT_EQUAL(st, PRISM_ERR_INVALID_MODEL);
            CU_ASSERT_NOT_EQUAL(prism_last_error_message()[0], '\0');
        }
        st = prism_session_create_from_memory(env, buf, len, NULL, &s);
        if (st == PRISM_OK) {
            prism_session_destroy(s);
        } else {
            refused++;
            CU_ASSERT(st == PRISM_ERR_INVALID_MODEL || st == PRISM_ERR_NOT_SUPPORTED);
            CU_ASSERT_NOT_EQUAL(prism_last_error_message()[0], '\0');
        }
    }
    CU_ASSERT_EQUAL(refused, cuts); /* no prefix of this model is a complete model */
    mb_rmtree(dir);
    free(path);
    free(dir);
    free(buf);
}

static uint64_t rng_next(uint64_t *s) { /* xorshift64* */
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Inputs for whatever the session declares (symbolic dims = 2); false when
 * an input cannot be made (unknown type, too large). */
static bool make_inputs(prism_session *s, size_t n, const char **names, prism_tensor **ts) {
    for (size_t i = 0; i < n; i++) {
        prism_value_info info = {.struct_size = sizeof info};
        if (prism_session_input(s, i, &info) != PRISM_OK || info.rank < 0 || info.rank > 8 ||
            !prism_dtype_size(info.dtype) || info.dtype == PRISM_DTYPE_STRING)
            return false;
        int64_t dims[8], count = 1;
        for (int32_t d = 0; d < info.rank; d++) {
            dims[d] = info.dims[d] >= 0 ? info.dims[d] : 2;
            if (dims[d] > 4096 || (count *= dims[d] ? dims[d] : 1) > 4096) return false;
        }
        if (prism_tensor_create(info.dtype, dims, (size_t)info.rank, &ts[i]) != PRISM_OK) return false;
        uint8_t *d = prism_tensor_data(ts[i]);
        for (size_t b = 0; b < prism_tensor_byte_size(ts[i]); b++) d[b] = (uint8_t)(b * 37 % 61);
        names[i] = info.name;
    }
    return true;
}

/* Load bytes as a model and as a session; run the session when it comes up. */
static void try_bytes(const uint8_t *buf, size_t n, unsigned *ok_count) {
    prism_model *m;
    prism_status st = prism_model_load_memory(buf, n, NULL, &m);
    if (st == PRISM_OK) {
        /* The inspection API must cope with whatever loaded. */
        for (size_t i = 0; i < prism_model_node_count(m); i++) {
            const char *name = NULL, *dom = NULL, *op = NULL;
            prism_model_node(m, i, &name, &dom, &op);
            CU_ASSERT(name && dom && op);
        }
        prism_model_destroy(m);
    } else {
        CU_ASSERT_NOT_EQUAL(prism_last_error_message()[0], '\0');
    }
    prism_session *s;
    st = prism_session_create_from_memory(env, buf, n, NULL, &s);
    if (st != PRISM_OK) {
        CU_ASSERT(st != PRISM_ERR_INTERNAL);
        CU_ASSERT_NOT_EQUAL(prism_last_error_message()[0], '\0');
        return;
    }
    (*ok_count)++;
    size_t n_in = prism_session_input_count(s), n_out = prism_session_output_count(s);
    const char *names[8];
    prism_tensor *ins[8] = {0}, *outs[8] = {0};
    if (n_in <= 8 && n_out <= 8 && make_inputs(s, n_in, names, ins)) {
        st = prism_session_run(s, names, (const prism_tensor *const *)ins, n_in, NULL, n_out, outs);
        if (st) {
            CU_ASSERT(st != PRISM_ERR_INTERNAL);
            CU_ASSERT_NOT_EQUAL(prism_last_error_message()[0], '\0');
        }
        for (size_t i = 0; i < n_out; i++) prism_tensor_destroy(outs[i]);
    }
    for (size_t i = 0; i < n_in && i < 8; i++) prism_tensor_destroy(ins[i]);
    prism_session_destroy(s);
}

static void test_random_bytes(void) {
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    uint8_t buf[700];
    unsigned ok = 0;
    limit_memory(true);
    for (int it = 0; it < 300; it++) {
        size_t n = rng_next(&seed) % sizeof buf;
        for (size_t i = 0; i < n; i++) buf[i] = (uint8_t)rng_next(&seed);
        /* Half the buffers start like a ModelProto (field 1 varint, field 7
         * length-delimited graph) so the parser gets further. */
        if (it % 2 && n > 8) {
            buf[0] = 0x08, buf[1] = 0x08, buf[2] = 0x3a, buf[3] = (uint8_t)((n - 4) & 0x7f);
        }
        try_bytes(buf, n, &ok);
    }
    limit_memory(false);
    CU_ASSERT_EQUAL(ok, 0); /* random junk never makes a runnable session */
}

static void test_bit_flips(void) {
    mb_model *mm = mb_add_relu_model();
    size_t n;
    uint8_t *orig = mb_pack(mm, &n);
    mb_free(mm);
    uint8_t *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    uint64_t seed = 12345;
    unsigned ok = 0;
    limit_memory(true);
    for (int it = 0; it < 400; it++) {
        memcpy(buf, orig, n);
        int flips = 1 + (int)(rng_next(&seed) % 4);
        for (int f = 0; f < flips; f++) {
            uint64_t r = rng_next(&seed);
            buf[(r >> 8) % n] ^= (uint8_t)(1u << (r & 7));
        }
        /* Sometimes overwrite a byte with an extreme value instead. */
        if (it % 5 == 0) buf[rng_next(&seed) % n] = (uint8_t)(it % 2 ? 0xff : 0x80);
        try_bytes(buf, n, &ok);
    }
    limit_memory(false);
    /* Flips in names or padding leave a working model now and then. */
    CU_ASSERT(ok > 0 && ok < 400);
    free(buf);
    free(orig);
}

/* A model with many attributes and shape-like constants for the flips to
 * hit: Conv, MaxPool, Transpose, Reshape, Gemm, Gather, Slice, Concat, Pad,
 * ReduceSum, Softmax. */
static mb_model *rich_model(void) {
    static float wc[3 * 2 * 3 * 3], wg[6 * 4];
    for (size_t i = 0; i < sizeof wc / sizeof *wc; i++) wc[i] = (float)((int)(i % 7) - 3) * 0.25f;
    for (size_t i = 0; i < sizeof wg / sizeof *wg; i++) wg[i] = (float)((int)(i % 5) - 2) * 0.5f;
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, (int64_t[]){1, 2, 4, 4});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, (int64_t[]){3, 6});
    mb_output(m, "Rs", PRISM_DTYPE_FLOAT, 2, (int64_t[]){3, 1});
    mb_init_float(m, "Wc", 4, (int64_t[]){3, 2, 3, 3}, wc);
    mb_init_float(m, "Bc", 1, (int64_t[]){3}, (float[]){0.5f, -0.5f, 0.25f});
    mb_init_float(m, "Wg", 2, (int64_t[]){6, 4}, wg);
    mb_init_float(m, "Bg", 1, (int64_t[]){4}, (float[]){1, 2, 3, 4});
    mb_init(m, "shape", PRISM_DTYPE_INT64, 1, (int64_t[]){2}, (int64_t[]){2, 6}, 16);
    mb_init(m, "idx", PRISM_DTYPE_INT64, 1, (int64_t[]){3}, (int64_t[]){1, 0, 1}, 24);
    mb_init(m, "starts", PRISM_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){0}, 8);
    mb_init(m, "ends", PRISM_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){2}, 8);
    mb_init(m, "axes", PRISM_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){1}, 8);
    mb_init(m, "pads", PRISM_DTYPE_INT64, 1, (int64_t[]){4}, (int64_t[]){0, 1, 0, 1}, 32);
    Onnx__NodeProto *n = mb_node(m, "Conv", "conv", "X,Wc,Bc", "C");
    mb_attr_ints(m, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    mb_attr_ints(m, n, "strides", 2, (int64_t[]){1, 1});
    mb_attr_ints(m, n, "dilations", 2, (int64_t[]){1, 1});
    mb_attr_ints(m, n, "kernel_shape", 2, (int64_t[]){3, 3});
    mb_attr_int(m, n, "group", 1);
    n = mb_node(m, "MaxPool", "pool", "C", "P");
    mb_attr_ints(m, n, "kernel_shape", 2, (int64_t[]){2, 2});
    mb_attr_ints(m, n, "strides", 2, (int64_t[]){2, 2});
    n = mb_node(m, "Transpose", "tr", "P", "T");
    mb_attr_ints(m, n, "perm", 4, (int64_t[]){0, 2, 3, 1});
    mb_node(m, "Reshape", "rs", "T,shape", "R");
    n = mb_node(m, "Gemm", "gemm", "R,Wg,Bg", "G");
    mb_attr_float(m, n, "alpha", 1.0f);
    mb_attr_int(m, n, "transA", 0);
    n = mb_node(m, "Gather", "gather", "G,idx", "Ga");
    mb_attr_int(m, n, "axis", 0);
    mb_node(m, "Slice", "slice", "Ga,starts,ends,axes", "S");
    n = mb_node(m, "Concat", "concat", "S,S", "Cc");
    mb_attr_int(m, n, "axis", 1);
    mb_node(m, "Pad", "pad", "Cc,pads", "Pd");
    n = mb_node(m, "ReduceSum", "rsum", "Pd,axes", "Rs");
    mb_attr_int(m, n, "keepdims", 1);
    n = mb_node(m, "Softmax", "softmax", "Pd", "Y");
    mb_attr_int(m, n, "axis", 1);
    return m;
}

static void test_bit_flips_rich(void) {
    mb_model *mm = rich_model();
    size_t n;
    uint8_t *orig = mb_pack(mm, &n);
    /* The unflipped model runs. */
    prism_session *s;
    UNIT_OK(mb_session(env, mm, &s));
    prism_tensor *x = NULL, *out[2] = {0};
    const char *name;
    CU_ASSERT_FATAL(make_inputs(s, 1, &name, &x));
    UNIT_OK(prism_session_run(s, &name, (const prism_tensor *const *)&x, 1, NULL, 2, out));
    CU_ASSERT_EQUAL(prism_tensor_element_count(out[0]), 18);
    CU_ASSERT_EQUAL(prism_tensor_element_count(out[1]), 3);
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(out[1]);
    prism_tensor_destroy(x);
    prism_session_destroy(s);
    mb_free(mm);
    uint8_t *buf = malloc(n);
    CU_ASSERT_FATAL(buf != NULL);
    uint64_t seed = 777;
    unsigned ok = 0;
    limit_memory(true);
    for (int it = 0; it < 600; it++) {
        memcpy(buf, orig, n);
        int flips = 1 + (int)(rng_next(&seed) % 3);
        for (int f = 0; f < flips; f++) {
            uint64_t r = rng_next(&seed);
            buf[(r >> 8) % n] ^= (uint8_t)(1u << (r & 7));
        }
        try_bytes(buf, n, &ok);
    }
    limit_memory(false);
    CU_ASSERT(ok > 0);
    free(buf);
    free(orig);
}

/* ---- ops, domains, opsets --------------------------------------------------- */

static mb_model *one_node_model(int64_t opset, const char *op, const char *domain, const char *name) {
    static const int64_t d[] = {4};
    mb_model *m = mb_new(opset);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, d);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, d);
    Onnx__NodeProto *n = mb_node(m, op, name, "X", "Y");
    if (domain) mb_node_domain(m, n, domain);
    return m;
}

static void test_unknown_op(void) {
    mb_model *m = one_node_model(17, "FrobnicateV2", NULL, "frob_node");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), "FrobnicateV2", "frob_node", "ai.onnx",
                   "opset 17");
    CU_ASSERT_PTR_NULL(s);
    /* The model itself loads: only running it is impossible. */
    prism_model *pm;
    UNIT_OK(mb_load(m, &pm));
    prism_model_destroy(pm);
    mb_free(m);
    /* A real op used at an opset older than the one that introduced it
     * (Gelu is ai.onnx 20). */
    m = one_node_model(17, "Gelu", NULL, "gelu_node");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), "Gelu", "gelu_node", "opset 17");
    mb_free(m);
    m = one_node_model(20, "Gelu", NULL, "gelu_node");
    UNIT_OK(mb_session(env, m, &s));
    prism_session_destroy(s);
    mb_free(m);
}

static void test_unknown_domain(void) {
    mb_model *m = one_node_model(17, "Gizmo", "com.example", "gizmo_node");
    mb_opset(m, "com.example", 3);
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), "Gizmo", "gizmo_node", "com.example",
                   "opset 3");
    mb_free(m);
    /* A known op name in a foreign domain is not the ai.onnx op. */
    m = one_node_model(17, "Relu", "com.example", "relu_node");
    mb_opset(m, "com.example", 1);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), "Relu", "relu_node", "com.example");
    mb_free(m);
}

static void test_opset_too_new(void) {
    /* One past the newest ai.onnx opset Prism knows. */
    char newer[32], known[32];
    snprintf(newer, sizeof newer, "opset %d", PR_MAX_ONNX_OPSET + 1);
    snprintf(known, sizeof known, "up to %d", PR_MAX_ONNX_OPSET);
    mb_model *m = one_node_model(PR_MAX_ONNX_OPSET + 1, "Relu", NULL, "r");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), newer, "ai.onnx", known);
    mb_free(m);
    m = one_node_model(17, "Relu", NULL, "r");
    mb_opset(m, "ai.onnx.ml", 99);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_session(env, m, &s), "opset 99", "ai.onnx.ml");
    mb_free(m);
    /* The newest supported opset runs. */
    m = one_node_model(25, "Relu", NULL, "r");
    UNIT_OK(mb_session(env, m, &s));
    prism_session_destroy(s);
    mb_free(m);
}

static void test_opset_invalid(void) {
    mb_model *m = one_node_model(17, "Relu", NULL, "r");
    mb_opset(m, "com.example", 0);
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "com.example", "version");
    mb_free(m);
}

static void test_domain_not_imported(void) {
    mb_model *m = one_node_model(17, "Gizmo", "com.example", "lonely_node");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "lonely_node", "Gizmo", "com.example",
                   "does not import");
    mb_free(m);
    /* No ai.onnx import at all, yet an ai.onnx node. */
    m = one_node_model(0, "Relu", NULL, "relu_node");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "relu_node", "ai.onnx", "does not import");
    mb_free(m);
}

/* ---- external data ----------------------------------------------------------- */

typedef struct ext_fixture {
    char *root;   /* temp folder */
    char *dir;    /* root/model: the model's folder */
    char *model;  /* dir/model.onnx */
    char *inside; /* dir/weights.bin: 8 bytes of junk, then W (24 bytes) */
    char *outside; /* root/secret.bin: same content, outside the model folder */
} ext_fixture;

static void ext_setup(ext_fixture *f) {
    f->root = mb_tempdir();
    f->dir = mb_path(f->root, "model");
    CU_ASSERT_FATAL(mkdir(f->dir, 0700) == 0);
    f->model = mb_path(f->dir, "model.onnx");
    f->inside = mb_path(f->dir, "weights.bin");
    f->outside = mb_path(f->root, "secret.bin");
    uint8_t data[32];
    memset(data, 0xab, 8);
    memcpy(data + 8, MB_W_VALUES, 24);
    CU_ASSERT_FATAL(mb_write_file(f->inside, data, sizeof data));
    CU_ASSERT_FATAL(mb_write_file(f->outside, data, sizeof data));
}

static void ext_teardown(ext_fixture *f) {
    mb_rmtree(f->root);
    free(f->root);
    free(f->dir);
    free(f->model);
    free(f->inside);
    free(f->outside);
}

/* The add model with W as external data; saved to f->model. */
static mb_model *ext_model(ext_fixture *f, const char *location, const char *offset, const char *length) {
    mb_model *m = mb_add_relu_model();
    mb_external(m, mb_graph(m)->initializer[0], location, offset, length);
    CU_ASSERT_FATAL(mb_save(m, f->model));
    return m;
}

static void test_external_valid(void) {
    ext_fixture f;
    ext_setup(&f);
    mb_model *m = ext_model(&f, "weights.bin", "8", "24");
    prism_session *s;
    UNIT_OK(prism_session_create(env, f.model, NULL, &s));
    check_add_session(s);
    prism_session_destroy(s);
    prism_model *pm;
    UNIT_OK(prism_model_load(f.model, &pm));
    CU_ASSERT_EQUAL(prism_model_initializer_count(pm), 1);
    prism_model_destroy(pm);
    /* From memory with an explicit base folder. */
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    UNIT_OK(prism_model_load_memory(buf, n, f.dir, &pm));
    prism_model_destroy(pm);
    free(buf);
    mb_free(m);
    /* In a subfolder, without an explicit length. */
    char *sub = mb_path(f.dir, "sub"), *file = mb_path(sub, "w.bin");
    CU_ASSERT_FATAL(mkdir(sub, 0700) == 0);
    CU_ASSERT_FATAL(mb_write_file(file, MB_W_VALUES, sizeof MB_W_VALUES));
    m = ext_model(&f, "sub/w.bin", NULL, NULL);
    UNIT_OK(prism_session_create(env, f.model, NULL, &s));
    check_add_session(s);
    prism_session_destroy(s);
    mb_free(m);
    free(file);
    free(sub);
    ext_teardown(&f);
}

static void test_external_dotdot(void) {
    ext_fixture f;
    ext_setup(&f);
    mb_model *m = ext_model(&f, "../secret.bin", "8", "24");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create(env, f.model, NULL, &s), "../secret.bin", "'W'",
                   f.model);
    CU_ASSERT_PTR_NULL(s);
    mb_free(m);
    m = ext_model(&f, "sub/../../secret.bin", "8", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create(env, f.model, NULL, &s), "sub/../../secret.bin");
    mb_free(m);
    ext_teardown(&f);
}

static void test_external_absolute(void) {
    ext_fixture f;
    ext_setup(&f);
    mb_model *m = ext_model(&f, f.outside, "8", "24");
    prism_model *pm = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), f.outside, "absolute");
    CU_ASSERT_PTR_NULL(pm);
    mb_free(m);
    /* Even when it names a file inside the model folder. */
    m = ext_model(&f, f.inside, "8", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), f.inside, "absolute");
    mb_free(m);
    ext_teardown(&f);
}

static void test_external_symlink(void) {
    ext_fixture f;
    ext_setup(&f);
    char *link = mb_path(f.dir, "link.bin");
    CU_ASSERT_FATAL(symlink(f.outside, link) == 0);
    mb_model *m = ext_model(&f, "link.bin", "8", "24");
    prism_model *pm = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "link.bin", "outside");
    mb_free(m);
    /* A symlinked folder leading out is refused as well. */
    char *dlink = mb_path(f.dir, "up");
    CU_ASSERT_FATAL(symlink(f.root, dlink) == 0);
    m = ext_model(&f, "up/secret.bin", "8", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "up/secret.bin", "outside");
    mb_free(m);
    /* A symlink that stays inside is fine. */
    char *ilink = mb_path(f.dir, "alias.bin");
    CU_ASSERT_FATAL(symlink("weights.bin", ilink) == 0);
    m = ext_model(&f, "alias.bin", "8", "24");
    UNIT_OK(prism_model_load(f.model, &pm));
    prism_model_destroy(pm);
    mb_free(m);
    free(ilink);
    free(dlink);
    free(link);
    ext_teardown(&f);
}

static void test_external_past_end(void) {
    ext_fixture f;
    ext_setup(&f);
    prism_model *pm = NULL;
    mb_model *m = ext_model(&f, "weights.bin", "16", "24"); /* 16 + 24 > 32 */
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "weights.bin", "past its end");
    mb_free(m);
    m = ext_model(&f, "weights.bin", "18446744073709551615", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "weights.bin", "past its end");
    mb_free(m);
    m = ext_model(&f, "weights.bin", "-8", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "weights.bin", "-8");
    mb_free(m);
    m = ext_model(&f, "weights.bin", "eight", "24");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "weights.bin", "eight");
    mb_free(m);
    CU_ASSERT_PTR_NULL(pm);
    ext_teardown(&f);
}

static void test_external_length_mismatch(void) {
    ext_fixture f;
    ext_setup(&f);
    prism_model *pm = NULL;
    mb_model *m = ext_model(&f, "weights.bin", "8", "20");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "weights.bin", "20", "24");
    mb_free(m);
    /* No offset, no length: the whole 32-byte file is not the 24 bytes of W. */
    m = ext_model(&f, "weights.bin", NULL, NULL);
    UNIT_OK(prism_model_load(f.model, &pm)); /* reads the first 24 bytes, as ONNX specifies */
    prism_model_destroy(pm);
    mb_free(m);
    ext_teardown(&f);
}

static void test_external_missing(void) {
    ext_fixture f;
    ext_setup(&f);
    prism_model *pm = NULL;
    mb_model *m = ext_model(&f, "nope.bin", NULL, NULL);
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_model_load(f.model, &pm), "nope.bin");
    mb_free(m);
    m = ext_model(&f, NULL, NULL, NULL);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load(f.model, &pm), "location", "'W'");
    mb_free(m);
    m = ext_model(&f, "sub", NULL, NULL); /* a folder */
    char *sub = mb_path(f.dir, "sub");
    CU_ASSERT_FATAL(mkdir(sub, 0700) == 0);
    MB_EXPECT_FAIL(PRISM_ERR_IO, prism_model_load(f.model, &pm), "sub");
    free(sub);
    mb_free(m);
    ext_teardown(&f);
}

static void test_external_from_memory(void) {
    ext_fixture f;
    ext_setup(&f);
    mb_model *m = ext_model(&f, "weights.bin", "8", "24");
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    prism_model *pm = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_model_load_memory(buf, n, NULL, &pm), "weights.bin", "memory");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, prism_session_create_from_memory(env, buf, n, NULL, &s), "weights.bin",
                   "memory");
    CU_ASSERT_PTR_NULL(pm);
    CU_ASSERT_PTR_NULL(s);
    free(buf);
    mb_free(m);
    m = ext_model(&f, NULL, NULL, NULL); /* no location at all, from memory */
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'");
    mb_free(m);
    ext_teardown(&f);
}

/* ---- initializers -------------------------------------------------------------- */

static void test_init_huge_dims(void) {
    mb_model *m = mb_new(17);
    int64_t huge[] = {(int64_t)1 << 30, (int64_t)1 << 30}; /* 2^60 elements */
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){1});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_init(m, "W", PRISM_DTYPE_FLOAT, 2, huge, "abcd", 4);
    mb_node(m, "Add", "add0", "X,W", "Y");
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "1073741824");
    prism_session *s;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "'W'", "1073741824");
    mb_free(m);
    /* Just below the element limit the size is fine but the 4 bytes are not. */
    m = mb_new(17);
    int64_t big[] = {(int64_t)1 << 24, (int64_t)1 << 24};
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){1});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_init(m, "W", PRISM_DTYPE_FLOAT, 2, big, "abcd", 4);
    mb_node(m, "Add", "add0", "X,W", "Y");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "281474976710656");
    mb_free(m);
    /* The same with typed fields instead of raw_data. */
    m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){1});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    Onnx__TensorProto *t = mb_init(m, "W", PRISM_DTYPE_FLOAT, 2, big, NULL, 0);
    t->has_raw_data = 0;
    float one = 1;
    t->float_data = &one;
    t->n_float_data = 1;
    mb_node(m, "Add", "add0", "X,W", "Y");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "281474976710656");
    mb_free(m);
}

static void test_init_raw_size_mismatch(void) {
    mb_model *m = mb_add_relu_model();
    Onnx__TensorProto *w = mb_graph(m)->initializer[0];
    w->raw_data.len = 20;
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "6 elements");
    uint8_t longer[28] = {0};
    w->raw_data.data = longer;
    w->raw_data.len = sizeof longer;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "6 elements");
    /* float_data with one value short */
    w->has_raw_data = 0;
    float five[5] = {1, 2, 3, 4, 5};
    w->float_data = five;
    w->n_float_data = 5;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "6 elements");
    /* the right count in the wrong field */
    int64_t six[6] = {1, 2, 3, 4, 5, 6};
    w->float_data = NULL;
    w->n_float_data = 0;
    w->int64_data = six;
    w->n_int64_data = 6;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "6 elements");
    /* unknown data type */
    w->int64_data = NULL;
    w->n_int64_data = 0;
    w->has_raw_data = 1;
    w->raw_data.len = 24;
    w->data_type = 99;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, mb_load(m, &pm), "'W'", "99");
    mb_free(m);
}

static void test_init_negative_dims(void) {
    mb_model *m = mb_add_relu_model();
    Onnx__TensorProto *w = mb_graph(m)->initializer[0];
    w->dims[1] = -3;
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "-3");
    w->dims[0] = -2, w->dims[1] = -3; /* the product is positive */
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "-2");
    mb_free(m);
    /* A negative dim declared on a graph input. */
    m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, (int64_t[]){2, -5});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_node(m, "Relu", "r", "X", "Y");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'X'", "-5");
    mb_free(m);
}

/* ---- graph structure ------------------------------------------------------------ */

static void test_produced_twice(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_node(m, "Relu", "first", "X", "S");
    mb_node(m, "Neg", "second", "X", "S");
    mb_node(m, "Relu", "last", "S", "Y");
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'S'", "produced twice", "second");
    mb_free(m);
    /* A node writing a graph input or an initializer. */
    m = mb_add_relu_model();
    mb_node(m, "Neg", "clobber_x", "Y", "X");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'X'", "produced twice", "clobber_x");
    mb_free(m);
    m = mb_add_relu_model();
    mb_node(m, "Neg", "clobber_w", "Y", "W");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "produced twice", "clobber_w");
    mb_free(m);
}

static void test_cycle(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_node(m, "Add", "loop_a", "X,B", "A");
    mb_node(m, "Relu", "loop_b", "A", "B");
    mb_node(m, "Relu", "out", "B", "Y");
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "cycle", "loop_");
    mb_free(m);
    /* A node reading its own output. */
    m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_node(m, "Add", "selfie", "X,Y", "Y");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "cycle", "selfie");
    mb_free(m);
}

static void test_unproduced_value(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    mb_node(m, "Add", "add0", "X,ghost", "Y");
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'ghost'", "not produced");
    mb_free(m);
    /* A graph output nothing produces. */
    m = mb_add_relu_model();
    mb_output(m, "phantom", PRISM_DTYPE_FLOAT, 1, (int64_t[]){4});
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'phantom'", "not produced");
    mb_free(m);
}

static void test_duplicate_initializer(void) {
    mb_model *m = mb_add_relu_model();
    mb_init_float(m, "W", 2, MB_D23, MB_W_VALUES);
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'W'", "twice");
    mb_free(m);
    m = mb_add_relu_model();
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, MB_D23);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "'X'", "twice");
    mb_free(m);
    /* Unnamed things. */
    m = mb_add_relu_model();
    mb_graph(m)->initializer[0]->name = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "initializer #0", "no name");
    mb_free(m);
    m = mb_add_relu_model();
    mb_graph(m)->node[1]->op_type = mb_str(m, "");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "node #1", "op_type");
    mb_free(m);
}

static void test_no_graph(void) {
    mb_model *m = mb_add_relu_model();
    mb_proto(m)->graph = NULL;
    prism_model *pm;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_load(m, &pm), "no graph");
    mb_free(m);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("bad_input", suite_init, suite_clean);
    CU_add_test(s, "missing file", test_missing_file);
    CU_add_test(s, "directory instead of a file", test_directory);
    CU_add_test(s, "named pipe instead of a file", test_fifo);
    CU_add_test(s, "empty file", test_empty_file);
    CU_add_test(s, "truncated protobuf", test_truncated);
    CU_add_test(s, "random bytes", test_random_bytes);
    CU_add_test(s, "bit flips of a valid model", test_bit_flips);
    CU_add_test(s, "bit flips of a model with many ops", test_bit_flips_rich);
    CU_add_test(s, "unknown op", test_unknown_op);
    CU_add_test(s, "unknown domain", test_unknown_domain);
    CU_add_test(s, "opset too new", test_opset_too_new);
    CU_add_test(s, "opset import without version", test_opset_invalid);
    CU_add_test(s, "domain not imported", test_domain_not_imported);
    CU_add_test(s, "external data: valid", test_external_valid);
    CU_add_test(s, "external data: ..", test_external_dotdot);
    CU_add_test(s, "external data: absolute path", test_external_absolute);
    CU_add_test(s, "external data: symlink out", test_external_symlink);
    CU_add_test(s, "external data: past the end", test_external_past_end);
    CU_add_test(s, "external data: length mismatch", test_external_length_mismatch);
    CU_add_test(s, "external data: missing file or location", test_external_missing);
    CU_add_test(s, "external data: model from memory", test_external_from_memory);
    CU_add_test(s, "initializer: 2^60 elements in 4 bytes", test_init_huge_dims);
    CU_add_test(s, "initializer: data size mismatch", test_init_raw_size_mismatch);
    CU_add_test(s, "initializer: negative dims", test_init_negative_dims);
    CU_add_test(s, "graph: value produced twice", test_produced_twice);
    CU_add_test(s, "graph: cycle", test_cycle);
    CU_add_test(s, "graph: value nothing produces", test_unproduced_value);
    CU_add_test(s, "graph: duplicated names", test_duplicate_initializer);
    CU_add_test(s, "graph: missing", test_no_graph);
    return unit_run_all();
}
