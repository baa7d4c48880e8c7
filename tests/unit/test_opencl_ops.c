/*
 * test_opencl_ops.c — the OpenCL provider's elementwise and tensor ops, each
 * run as a small model on the OpenCL device alone and on the CPU provider,
 * on seeded random inputs, over several shapes and attribute combinations:
 * broadcast shapes, negative axes, sizes that are not multiples of a
 * work-group, empty tensors, every dtype the data-moving ops accept. Also
 * what the ops decline, and that shape-only ops add no device work.
 *
 * Without an OpenCL device every test passes with a note (the machines that
 * run the suite need not have one). Binaries are cached under the build
 * folder (provider option cache_dir).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit_util.h"

static prism_env *env;
static bool have_device;
static char cache_opt[1024];

#define D(...) (const int64_t[]){__VA_ARGS__}

static int suite_init(void) {
    if (prism_env_create(&env) != PRISM_OK) return 1;
    const char *lib = getenv("PRISM_PROVIDER_PATH");
    snprintf(cache_opt, sizeof cache_opt, "opencl:cache_dir=%s%sopencl-cache", lib ? lib : ".", lib ? "/../" : "/");
    if (prism_env_load_provider(env, "opencl") == PRISM_OK) {
        for (size_t i = 0; i < prism_env_provider_count(env); i++)
            if (!strcmp(prism_env_provider_name(env, i), "opencl")) have_device = prism_env_device_count(env, i) > 0;
    }
    if (!have_device) fprintf(stderr, "\nnote: no OpenCL device here: the OpenCL op tests only check that\n");
    return 0;
}
static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}

/* ---- random data ---------------------------------------------------------------- */

static uint64_t rng_state = 2024;
static uint64_t rnd_u64(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rnd(float lo, float hi) { return lo + (hi - lo) * (float)((double)(rnd_u64() >> 11) / 9007199254740992.0); }

static int64_t count_of(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

/* ---- models and feeds ---------------------------------------------------------------- */

typedef struct feed {
    size_t n;
    const char *names[4];
    prism_tensor *t[4];
} feed;

static prism_tensor *new_tensor(int32_t dtype, int rank, const int64_t *dims) {
    prism_tensor *t = NULL;
    UNIT_OK(prism_tensor_create((prism_dtype)dtype, dims, (size_t)rank, &t));
    return t;
}

/* A graph input of dtype filled with random values: floats in [lo, hi),
 * integers in [lo, hi] (truncated), bools 0/1. */
static void feed_input(mb_model *m, feed *f, const char *name, int32_t dtype, int rank, const int64_t *dims, float lo,
                       float hi) {
    mb_input(m, name, dtype, rank, dims);
    prism_tensor *t = new_tensor(dtype, rank, dims);
    const int64_t n = count_of(rank, dims);
    void *d = prism_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        switch (dtype) {
        case PRISM_DTYPE_FLOAT: ((float *)d)[i] = rnd(lo, hi); break;
        case PRISM_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)floorf(rnd(lo, hi + 1)); break;
        case PRISM_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)floorf(rnd(lo, hi + 1)); break;
        case PRISM_DTYPE_BOOL: ((uint8_t *)d)[i] = rnd(0, 1) < 0.5f; break;
        case PRISM_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)rnd(0, 255); break;
        default: CU_FAIL_FATAL("dtype not handled by the test");
        }
    }
    f->names[f->n] = name;
    f->t[f->n++] = t;
}
static void feed_float(mb_model *m, feed *f, const char *name, int rank, const int64_t *dims) {
    feed_input(m, f, name, PRISM_DTYPE_FLOAT, rank, dims, -3, 3);
}
/* An int64 graph input with the given values. */
static void feed_ints(mb_model *m, feed *f, const char *name, size_t n, const int64_t *v) {
    const int64_t dims[1] = {(int64_t)n};
    mb_input(m, name, PRISM_DTYPE_INT64, 1, dims);
    prism_tensor *t = new_tensor(PRISM_DTYPE_INT64, 1, dims);
    if (n) memcpy(prism_tensor_data(t), v, n * sizeof *v);
    f->names[f->n] = name;
    f->t[f->n++] = t;
}
static void feed_free(feed *f) {
    for (size_t i = 0; i < f->n; i++) prism_tensor_destroy(f->t[i]);
    f->n = 0;
}

static void init_ints(mb_model *m, const char *name, size_t n, const int64_t *v) {
    mb_init(m, name, PRISM_DTYPE_INT64, 1, (const int64_t[]){(int64_t)n}, v, n * sizeof *v);
}
static void init_float(mb_model *m, const char *name, int rank, const int64_t *dims) {
    const int64_t n = count_of(rank, dims);
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    CU_ASSERT_FATAL(v != NULL);
    for (int64_t i = 0; i < n; i++) v[i] = rnd(-2, 2);
    mb_init_float(m, name, rank, dims, v);
    free(v);
}

/* A model with one node `op` reading `inputs` and writing Y (dtype ydt). */
static mb_model *one_node(int64_t opset, const char *op, const char *inputs, int32_t ydt, Onnx__NodeProto **node) {
    mb_model *m = mb_new(opset);
    mb_output(m, "Y", ydt, -1, NULL);
    Onnx__NodeProto *n = mb_node(m, op, "n0", inputs, "Y");
    if (node) *node = n;
    return m;
}

static prism_status make_session(mb_model *m, const char *providers, prism_session **out) {
    prism_session_options *o;
    prism_status st = prism_session_options_create(&o);
    if (st) return st;
    prism_session_options_set_environment(o, 0);
    prism_session_options_set_threads(o, 1);
    prism_session_options_set_fallback(o, 0);
    st = prism_session_options_set_providers(o, providers);
    if (!st && strstr(providers, "opencl")) st = prism_session_options_add_provider_option_string(o, cache_opt);
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    if (!st) st = prism_session_create_from_memory(env, bytes, size, o, out);
    free(bytes);
    prism_session_options_destroy(o);
    return st;
}

static prism_tensor *run1(prism_session *s, const feed *f, const char *label) {
    prism_tensor *y = NULL;
    prism_status st = prism_session_run(s, f->names, (const prism_tensor *const *)f->t, f->n, NULL, 1, &y);
    if (st) fprintf(stderr, "\n  %s: run: %s: %s\n", label, prism_status_name(st), prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    return y;
}

/* Same dtype and shape; floats equal (NaN matches NaN) or within
 * 1e-5 + 1e-4 |want|,
 * other dtypes bit-exact. */
static void expect_same(const prism_tensor *got, const prism_tensor *want, const char *label) {
    CU_ASSERT_FATAL(got != NULL && want != NULL);
    CU_ASSERT_EQUAL_FATAL(prism_tensor_dtype(got), prism_tensor_dtype(want));
    CU_ASSERT_EQUAL_FATAL(prism_tensor_rank(got), prism_tensor_rank(want));
    for (size_t i = 0; i < prism_tensor_rank(want); i++)
        CU_ASSERT_EQUAL_FATAL(prism_tensor_dims(got)[i], prism_tensor_dims(want)[i]);
    const int64_t n = prism_tensor_element_count(want);
    int64_t bad = 0;
    if (prism_tensor_dtype(want) == PRISM_DTYPE_FLOAT) {
        const float *g = prism_tensor_data_const(got), *w = prism_tensor_data_const(want);
        for (int64_t i = 0; i < n; i++) {
            const bool same = (isnan(g[i]) && isnan(w[i])) || g[i] == w[i];
            if (!same && !(fabsf(g[i] - w[i]) <= 1e-5f + 1e-4f * fabsf(w[i])) && bad++ < 3)
                fprintf(stderr, "\n  %s: element %lld: opencl %.9g, cpu %.9g", label, (long long)i, g[i], w[i]);
        }
    } else {
        const size_t bytes = prism_tensor_byte_size(want);
        CU_ASSERT_EQUAL_FATAL(prism_tensor_byte_size(got), bytes);
        if (bytes && memcmp(prism_tensor_data_const(got), prism_tensor_data_const(want), bytes)) {
            bad = 1;
            fprintf(stderr, "\n  %s: the bytes differ", label);
        }
    }
    CU_ASSERT_EQUAL(bad, 0);
}

static int compared; /* models compared so far (a test that compares nothing fails) */

/* Run m on the OpenCL device alone (every node must be placed there) and on
 * the CPU provider; the outputs must agree. Frees m and the feed. */
static void compare(mb_model *m, feed *f, const char *label) {
    if (have_device) {
        prism_session *cpu = NULL, *cl = NULL;
        prism_status st = make_session(m, "cpu", &cpu);
        if (st) fprintf(stderr, "\n  %s: cpu session: %s\n", label, prism_last_error_message());
        CU_ASSERT_EQUAL(st, PRISM_OK);
        st = make_session(m, "opencl", &cl);
        if (st) fprintf(stderr, "\n  %s: opencl session: %s\n", label, prism_last_error_message());
        CU_ASSERT_EQUAL(st, PRISM_OK);
        if (cpu && cl) {
            for (size_t i = 0; i < prism_session_node_count(cl); i++) {
                prism_node_placement p = {.struct_size = sizeof p};
                UNIT_OK(prism_session_node_placement(cl, i, &p));
                CU_ASSERT_STRING_EQUAL(p.provider, "opencl");
            }
            /* twice: the second run reuses what the first built */
            for (int r = 0; r < 2; r++) {
                prism_tensor *want = run1(cpu, f, label), *got = run1(cl, f, label);
                if (want && got) expect_same(got, want, label);
                prism_tensor_destroy(want);
                prism_tensor_destroy(got);
            }
            compared++;
        }
        prism_session_destroy(cpu);
        prism_session_destroy(cl);
    }
    feed_free(f);
    mb_free(m);
}

/* The op is not taken by the OpenCL provider: a session on it alone fails
 * naming the node. */
static void expect_declined(mb_model *m, const char *label) {
    if (have_device) {
        prism_session *s = NULL;
        prism_status st = make_session(m, "opencl", &s);
        if (st == PRISM_OK) fprintf(stderr, "\n  %s: was accepted\n", label);
        CU_ASSERT_EQUAL(st, PRISM_ERR_NOT_SUPPORTED);
        prism_session_destroy(s);
    }
    mb_free(m);
}

static void done(int before) {
    if (have_device) CU_ASSERT(compared > before);
}

/* ---- elementwise ------------------------------------------------------------------------ */

static const struct {
    int rank;
    int64_t dims[4];
} shapes[] = {{3, {2, 3, 5}}, {1, {1001}}, {2, {0, 4}}, {0, {0}}, {4, {2, 3, 17, 9}}};
#define N_SHAPES (sizeof shapes / sizeof shapes[0])

static void unary_case(int64_t opset, const char *op, float lo, float hi, void (*attrs)(mb_model *, Onnx__NodeProto *)) {
    for (size_t s = 0; s < N_SHAPES; s++) {
        Onnx__NodeProto *n;
        mb_model *m = one_node(opset, op, "X", PRISM_DTYPE_FLOAT, &n);
        if (attrs) attrs(m, n);
        feed f = {0};
        feed_input(m, &f, "X", PRISM_DTYPE_FLOAT, shapes[s].rank, shapes[s].dims, lo, hi);
        char label[96];
        snprintf(label, sizeof label, "%s-%lld shape %zu", op, (long long)opset, s);
        compare(m, &f, label);
    }
}

static void a_leaky(mb_model *m, Onnx__NodeProto *n) { mb_attr_float(m, n, "alpha", 0.3f); }
static void a_hsig(mb_model *m, Onnx__NodeProto *n) {
    mb_attr_float(m, n, "alpha", 0.25f);
    mb_attr_float(m, n, "beta", 0.4f);
}
static void a_clip6(mb_model *m, Onnx__NodeProto *n) {
    mb_attr_float(m, n, "min", -0.5f);
    mb_attr_float(m, n, "max", 1.25f);
}
static void a_gelu_tanh(mb_model *m, Onnx__NodeProto *n) { mb_attr_string(m, n, "approximate", "tanh"); }

static void test_unary(void) {
    const int before = compared;
    const char *plain[] = {"Relu", "Sigmoid", "HardSwish", "Tanh", "Erf", "Exp", "Neg", "Abs", "Reciprocal"};
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) unary_case(17, plain[i], -6, 6, NULL);
    unary_case(17, "Log", 0.01f, 50, NULL);
    unary_case(17, "Sqrt", 0, 50, NULL);
    unary_case(17, "LeakyRelu", -4, 4, a_leaky);
    unary_case(17, "LeakyRelu", -4, 4, NULL);
    unary_case(17, "HardSigmoid", -6, 6, a_hsig);
    unary_case(17, "HardSigmoid", -6, 6, NULL);
    unary_case(6, "Clip", -3, 3, a_clip6);
    unary_case(6, "Clip", -3, 3, NULL);
    unary_case(20, "Gelu", -5, 5, NULL);
    unary_case(20, "Gelu", -5, 5, a_gelu_tanh);
    done(before);
}

/* Clip-13 bounds: constants, only one, none, and graph inputs (read back). */
static void test_clip_inputs(void) {
    const int before = compared;
    const char *inputs[] = {"X,lo,hi", "X,lo", "X,,hi", "X", "X,glo,ghi"};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        mb_model *m = one_node(13, "Clip", inputs[i], PRISM_DTYPE_FLOAT, NULL);
        mb_init_float(m, "lo", 0, NULL, (const float[]){-0.75f});
        mb_init_float(m, "hi", 0, NULL, (const float[]){0.5f});
        feed f = {0};
        feed_float(m, &f, "X", 2, D(7, 13));
        if (strstr(inputs[i], "glo")) {
            feed_input(m, &f, "glo", PRISM_DTYPE_FLOAT, 0, NULL, -1, -0.5f);
            feed_input(m, &f, "ghi", PRISM_DTYPE_FLOAT, 0, NULL, 0.5f, 1);
        }
        compare(m, &f, inputs[i]);
    }
    done(before);
}

/* Shape pairs: equal, scalar either side, broadcasts of several kinds,
 * sizes that are not multiples of a work-group, empty. */
static const struct {
    int ra, rb;
    int64_t a[6], b[6];
} pairs[] = {
    {3, 3, {3, 4, 5}, {3, 4, 5}},     {3, 0, {3, 4, 5}, {0}},           {0, 2, {0}, {4, 7}},
    {4, 3, {2, 3, 4, 5}, {3, 1, 5}},  {2, 2, {4, 1}, {1, 5}},           {1, 1, {1}, {7}},
    {2, 1, {3, 257}, {257}},          {2, 1, {0, 3}, {3}},              {2, 2, {2, 197}, {2, 1}},
    {6, 6, {2, 1, 3, 1, 2, 3}, {1, 4, 1, 5, 2, 1}}, {4, 4, {1, 3, 1, 1}, {2, 1, 4, 5}},
};
#define N_PAIRS (sizeof pairs / sizeof pairs[0])

static void binary_op(const char *op, int32_t ydt, float lo, float hi, float blo, float bhi) {
    for (size_t p = 0; p < N_PAIRS; p++) {
        mb_model *m = one_node(17, op, "A,B", ydt, NULL);
        feed f = {0};
        feed_input(m, &f, "A", PRISM_DTYPE_FLOAT, pairs[p].ra, pairs[p].a, lo, hi);
        feed_input(m, &f, "B", PRISM_DTYPE_FLOAT, pairs[p].rb, pairs[p].b, blo, bhi);
        char label[64];
        snprintf(label, sizeof label, "%s pair %zu", op, p);
        compare(m, &f, label);
    }
}

static void test_binary(void) {
    const int before = compared;
    const char *arith[] = {"Add", "Sub", "Mul", "Max", "Min"};
    for (size_t i = 0; i < sizeof arith / sizeof arith[0]; i++) binary_op(arith[i], PRISM_DTYPE_FLOAT, -4, 4, -4, 4);
    binary_op("Div", PRISM_DTYPE_FLOAT, -4, 4, 0.5f, 4);
    binary_op("Pow", PRISM_DTYPE_FLOAT, 0.1f, 3, -2, 2);
    done(before);
}

/* Equal on floats is tested on values with repeats (rounded to halves). */
static void test_compare(void) {
    const int before = compared;
    const char *ops[] = {"Less", "Greater", "LessOrEqual", "GreaterOrEqual"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) binary_op(ops[i], PRISM_DTYPE_BOOL, -2, 2, -2, 2);
    for (size_t p = 0; p < N_PAIRS; p++) {
        mb_model *m = one_node(17, "Equal", "A,B", PRISM_DTYPE_BOOL, NULL);
        feed f = {0};
        feed_input(m, &f, "A", PRISM_DTYPE_FLOAT, pairs[p].ra, pairs[p].a, 0, 1);
        feed_input(m, &f, "B", PRISM_DTYPE_FLOAT, pairs[p].rb, pairs[p].b, 0, 1);
        for (int k = 0; k < 2; k++) {
            float *v = prism_tensor_data(f.t[k]);
            for (int64_t j = 0; j < prism_tensor_element_count(f.t[k]); j++) v[j] = roundf(v[j] * 2) / 2;
        }
        compare(m, &f, "Equal");
    }
    done(before);
}

/* PRelu: the slope broadcasts to X (per channel, scalar, full). */
static void test_prelu(void) {
    const int before = compared;
    const int64_t slopes[3][3] = {{3, 1, 1}, {1, 0, 0}, {3, 4, 5}};
    const int ranks[3] = {3, 0, 3};
    for (int i = 0; i < 3; i++) {
        mb_model *m = one_node(16, "PRelu", "X,S", PRISM_DTYPE_FLOAT, NULL);
        init_float(m, "S", ranks[i], slopes[i]);
        feed f = {0};
        feed_float(m, &f, "X", 4, D(2, 3, 4, 5));
        compare(m, &f, "PRelu");
    }
    done(before);
}

static void test_where(void) {
    const int before = compared;
    const int32_t dts[] = {PRISM_DTYPE_FLOAT, PRISM_DTYPE_INT64, PRISM_DTYPE_UINT8};
    for (size_t d = 0; d < 3; d++) {
        for (size_t p = 0; p < N_PAIRS; p++) {
            mb_model *m = one_node(16, "Where", "C,A,B", dts[d], NULL);
            feed f = {0};
            feed_input(m, &f, "C", PRISM_DTYPE_BOOL, pairs[p].rb, pairs[p].b, 0, 1);
            feed_input(m, &f, "A", dts[d], pairs[p].ra, pairs[p].a, -100, 100);
            feed_input(m, &f, "B", dts[d], 1, D(1), -100, 100);
            compare(m, &f, "Where");
        }
    }
    done(before);
}

/* ---- softmax and normalisation ------------------------------------------------------------ */

static void test_softmax(void) {
    const int before = compared;
    const char *ops[] = {"Softmax", "LogSoftmax"};
    const int64_t opsets[] = {11, 13};
    const struct {
        int rank;
        int64_t dims[4];
        int64_t axis;
    } cases[] = {{2, {3, 17}, -1}, {3, {2, 3, 300}, 2}, {3, {4, 5, 6}, 0}, {3, {4, 5, 6}, 1},
                 {2, {5, 1}, 1},   {4, {2, 0, 3, 4}, -1}, {2, {2, 1000}, 1}, {3, {2, 12, 197}, -2}};
    for (size_t o = 0; o < 2; o++)
        for (size_t v = 0; v < 2; v++)
            for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
                Onnx__NodeProto *n;
                mb_model *m = one_node(opsets[v], ops[o], "X", PRISM_DTYPE_FLOAT, &n);
                mb_attr_int(m, n, "axis", cases[c].axis);
                feed f = {0};
                feed_input(m, &f, "X", PRISM_DTYPE_FLOAT, cases[c].rank, cases[c].dims, -20, 20);
                char label[64];
                snprintf(label, sizeof label, "%s-%lld case %zu", ops[o], (long long)opsets[v], c);
                compare(m, &f, label);
            }
    /* default axis of each opset form */
    for (size_t v = 0; v < 2; v++) {
        mb_model *m = one_node(opsets[v], "Softmax", "X", PRISM_DTYPE_FLOAT, NULL);
        feed f = {0};
        feed_float(m, &f, "X", 3, D(3, 4, 5));
        compare(m, &f, "Softmax default axis");
    }
    done(before);
}

static void test_layernorm(void) {
    const int before = compared;
    const struct {
        int rank, srank;
        int64_t dims[3], sdims[3];
        int64_t axis;
        bool bias;
    } cases[] = {{3, 1, {2, 5, 768}, {768}, -1, true},  {3, 2, {2, 5, 33}, {5, 33}, 1, true},
                 {2, 1, {7, 33}, {33}, -1, false},      {3, 1, {2, 3, 4}, {1}, -1, true},
                 {3, 3, {2, 3, 4}, {1, 3, 4}, -2, true}, {2, 1, {0, 8}, {8}, -1, true}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        Onnx__NodeProto *n;
        mb_model *m = one_node(17, "LayerNormalization", cases[c].bias ? "X,S,B" : "X,S", PRISM_DTYPE_FLOAT, &n);
        mb_attr_int(m, n, "axis", cases[c].axis);
        mb_attr_float(m, n, "epsilon", 1e-3f);
        init_float(m, "S", cases[c].srank, cases[c].sdims);
        if (cases[c].bias) init_float(m, "B", cases[c].srank, cases[c].sdims);
        feed f = {0};
        feed_input(m, &f, "X", PRISM_DTYPE_FLOAT, cases[c].rank, cases[c].dims, -3, 5);
        compare(m, &f, "LayerNormalization");
    }
    done(before);
}

/* ---- data movement ------------------------------------------------------------------------- */

static void test_transpose(void) {
    const int before = compared;
    const struct {
        int rank;
        int64_t dims[5], perm[5];
        bool has_perm;
    } cases[] = {{2, {33, 17}, {1, 0}, true},          {3, {2, 3, 4}, {0, 2, 1}, true},
                 {4, {2, 3, 5, 7}, {0, 2, 3, 1}, true}, {4, {2, 3, 5, 7}, {3, 1, 0, 2}, true},
                 {3, {2, 3, 4}, {0}, false},           {5, {2, 1, 3, 2, 3}, {4, 2, 0, 3, 1}, true},
                 {3, {2, 0, 4}, {2, 0, 1}, true},      {4, {1, 197, 12, 64}, {0, 2, 1, 3}, true}};
    const int32_t dts[] = {PRISM_DTYPE_FLOAT, PRISM_DTYPE_INT64, PRISM_DTYPE_BOOL};
    for (size_t d = 0; d < 3; d++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
            Onnx__NodeProto *n;
            mb_model *m = one_node(17, "Transpose", "X", dts[d], &n);
            if (cases[c].has_perm) mb_attr_ints(m, n, "perm", (size_t)cases[c].rank, cases[c].perm);
            feed f = {0};
            feed_input(m, &f, "X", dts[d], cases[c].rank, cases[c].dims, -50, 50);
            compare(m, &f, "Transpose");
        }
    done(before);
}

static void test_concat(void) {
    const int before = compared;
    const int32_t dts[] = {PRISM_DTYPE_FLOAT, PRISM_DTYPE_INT64, PRISM_DTYPE_UINT8};
    const int64_t axes[] = {0, 1, -1, 2};
    for (size_t d = 0; d < 3; d++)
        for (size_t a = 0; a < 4; a++) {
            Onnx__NodeProto *n;
            mb_model *m = one_node(13, "Concat", "A,B,C", dts[d], &n);
            mb_attr_int(m, n, "axis", axes[a]);
            int64_t da[3] = {2, 3, 5}, db[3] = {2, 3, 5}, dc[3] = {2, 3, 5};
            const int ax = axes[a] < 0 ? 2 : (int)axes[a];
            da[ax] = 1;
            db[ax] = 0; /* an empty part */
            dc[ax] = 7;
            feed f = {0};
            feed_input(m, &f, "A", dts[d], 3, da, -9, 9);
            feed_input(m, &f, "B", dts[d], 3, db, -9, 9);
            feed_input(m, &f, "C", dts[d], 3, dc, -9, 9);
            compare(m, &f, "Concat");
        }
    done(before);
}

static void test_slice(void) {
    const int before = compared;
    const struct {
        size_t n;
        int64_t starts[3], ends[3], axes[3], steps[3];
    } cases[] = {{1, {1}, {3}, {0}, {1}},
                 {2, {0, -4}, {100, -1}, {1, -1}, {2, 1}},
                 {3, {-1, 10, 0}, {-100, -100, 3}, {0, 2, 1}, {-1, -3, 1}},
                 {1, {2}, {2}, {1}, {1}},
                 {2, {1, 0}, {2, 1}, {-3, -2}, {5, 7}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        /* constants */
        mb_model *m = one_node(13, "Slice", "X,s,e,a,p", PRISM_DTYPE_FLOAT, NULL);
        init_ints(m, "s", cases[c].n, cases[c].starts);
        init_ints(m, "e", cases[c].n, cases[c].ends);
        init_ints(m, "a", cases[c].n, cases[c].axes);
        init_ints(m, "p", cases[c].n, cases[c].steps);
        feed f = {0};
        feed_float(m, &f, "X", 3, D(4, 5, 11));
        compare(m, &f, "Slice constants");
        /* graph inputs, read back from the device */
        m = one_node(13, "Slice", "X,s,e,a,p", PRISM_DTYPE_INT64, NULL);
        feed_input(m, &f, "X", PRISM_DTYPE_INT64, 3, D(4, 5, 11), -1000, 1000);
        feed_ints(m, &f, "s", cases[c].n, cases[c].starts);
        feed_ints(m, &f, "e", cases[c].n, cases[c].ends);
        mb_input(m, "a", PRISM_DTYPE_INT64, 1, (const int64_t[]){(int64_t)cases[c].n});
        f.names[f.n] = "a";
        f.t[f.n] = new_tensor(PRISM_DTYPE_INT64, 1, (const int64_t[]){(int64_t)cases[c].n});
        memcpy(prism_tensor_data(f.t[f.n++]), cases[c].axes, cases[c].n * sizeof(int64_t));
        init_ints(m, "p", cases[c].n, cases[c].steps);
        compare(m, &f, "Slice inputs");
    }
    /* opset 1 attributes, axes defaulted */
    Onnx__NodeProto *n;
    mb_model *m = one_node(9, "Slice", "X", PRISM_DTYPE_FLOAT, &n);
    mb_attr_ints(m, n, "starts", 2, D(1, -3));
    mb_attr_ints(m, n, "ends", 2, D(3, 100));
    feed f = {0};
    feed_float(m, &f, "X", 2, D(5, 6));
    compare(m, &f, "Slice-9");
    done(before);
}

static void test_gather(void) {
    const int before = compared;
    const int64_t idx[] = {0, -1, 2, 1, -3, 2};
    const int32_t dts[] = {PRISM_DTYPE_FLOAT, PRISM_DTYPE_INT64};
    for (size_t d = 0; d < 2; d++)
        for (int64_t axis = -3; axis < 3; axis++) {
            /* constant int64 indices [2, 3] */
            Onnx__NodeProto *n;
            mb_model *m = one_node(13, "Gather", "X,I", dts[d], &n);
            mb_attr_int(m, n, "axis", axis);
            mb_init(m, "I", PRISM_DTYPE_INT64, 2, D(2, 3), idx, sizeof idx);
            feed f = {0};
            feed_input(m, &f, "X", dts[d], 3, D(3, 4, 5), -9, 9);
            compare(m, &f, "Gather constant indices");
            /* int32 indices computed at run time, in range */
            m = one_node(13, "Gather", "X,I", dts[d], &n);
            mb_attr_int(m, n, "axis", axis);
            feed_input(m, &f, "X", dts[d], 3, D(3, 4, 5), -9, 9);
            feed_input(m, &f, "I", PRISM_DTYPE_INT32, 1, D(7), -3, 2);
            compare(m, &f, "Gather int32 indices");
        }
    /* scalar index (ViT's class token), empty indices */
    mb_model *m = one_node(13, "Gather", "X,I", PRISM_DTYPE_FLOAT, NULL);
    mb_init(m, "I", PRISM_DTYPE_INT64, 0, NULL, (const int64_t[]){0}, sizeof(int64_t));
    feed f = {0};
    feed_float(m, &f, "X", 3, D(197, 2, 7));
    compare(m, &f, "Gather scalar index");
    m = one_node(13, "Gather", "X,I", PRISM_DTYPE_FLOAT, NULL);
    mb_init(m, "I", PRISM_DTYPE_INT64, 1, D(0), NULL, 0);
    feed_float(m, &f, "X", 2, D(4, 3));
    compare(m, &f, "Gather empty indices");
    done(before);
}

/* An index out of range in constant indices is an error at run time. */
static void test_gather_bad_index(void) {
    if (!have_device) return;
    mb_model *m = one_node(13, "Gather", "X,I", PRISM_DTYPE_FLOAT, NULL);
    mb_init(m, "I", PRISM_DTYPE_INT64, 1, D(2), (const int64_t[]){1, 9}, 2 * sizeof(int64_t));
    feed f = {0};
    feed_float(m, &f, "X", 2, D(4, 3));
    prism_session *s = NULL;
    UNIT_OK(make_session(m, "opencl", &s));
    prism_tensor *y = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_RUNTIME, prism_session_run(s, f.names, (const prism_tensor *const *)f.t, f.n, NULL, 1, &y),
                   "index 9 is out of range");
    prism_tensor_destroy(y);
    prism_session_destroy(s);
    feed_free(&f);
    mb_free(m);
}

static void test_expand(void) {
    const int before = compared;
    const struct {
        int rx;
        int64_t x[3];
        size_t ns;
        int64_t shape[4];
    } cases[] = {{2, {3, 1}, 3, {2, 3, 4}}, {1, {5}, 2, {3, 1}}, {3, {2, 1, 6}, 3, {2, 5, 6}}, {0, {0}, 2, {4, 3}},
                 {2, {3, 1}, 2, {3, 0}}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        mb_model *m = one_node(13, "Expand", "X,S", PRISM_DTYPE_FLOAT, NULL);
        init_ints(m, "S", cases[c].ns, cases[c].shape);
        feed f = {0};
        feed_float(m, &f, "X", cases[c].rx, cases[c].x);
        compare(m, &f, "Expand");
    }
    done(before);
}

/* ---- reductions ------------------------------------------------------------------------------ */

static void test_reduce(void) {
    const int before = compared;
    const char *ops[] = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin"};
    const struct {
        size_t na;
        int64_t axes[3];
        int keep, noop;
    } cases[] = {{1, {-1}, 1, 0}, {2, {0, 2}, 0, 0}, {0, {0}, 1, 0}, {0, {0}, 0, 0},
                 {1, {1}, 1, 0},  {3, {3, 1, 0}, 0, 0}, {0, {0}, 1, 1}};
    for (size_t o = 0; o < 4; o++)
        for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
            for (int form = 0; form < 2; form++) {
                /* form 0: axes attribute (opset 13, ReduceSum 11); form 1: axes input (18) */
                const bool sum = !strcmp(ops[o], "ReduceSum");
                const int64_t opset = form ? 18 : sum ? 11 : 13;
                if (!form && cases[c].noop) continue; /* noop_with_empty_axes exists with the input form */
                Onnx__NodeProto *n;
                mb_model *m = one_node(opset, ops[o], form && cases[c].na ? "X,A" : "X", PRISM_DTYPE_FLOAT, &n);
                if (form && cases[c].na) init_ints(m, "A", cases[c].na, cases[c].axes);
                if (!form && cases[c].na) mb_attr_ints(m, n, "axes", cases[c].na, cases[c].axes);
                mb_attr_int(m, n, "keepdims", cases[c].keep);
                if (cases[c].noop) mb_attr_int(m, n, "noop_with_empty_axes", 1);
                feed f = {0};
                feed_float(m, &f, "X", 4, D(3, 5, 2, 301));
                char label[64];
                snprintf(label, sizeof label, "%s-%lld case %zu", ops[o], (long long)opset, c);
                compare(m, &f, label);
            }
    /* an empty reduced axis: sum 0, mean NaN, max -inf */
    for (size_t o = 0; o < 4; o++) {
        Onnx__NodeProto *n;
        mb_model *m = one_node(13, ops[o], "X", PRISM_DTYPE_FLOAT, &n);
        mb_attr_ints(m, n, "axes", 1, D(1));
        feed f = {0};
        feed_float(m, &f, "X", 2, D(3, 0));
        compare(m, &f, "reduce over an empty axis");
    }
    done(before);
}

/* ---- Resize ------------------------------------------------------------------------------------ */

static void test_resize(void) {
    const int before = compared;
    const char *modes[] = {"nearest", "linear"};
    const char *ctms[] = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"};
    const char *nearest[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    const float scales[2][4] = {{1, 1, 2, 1.5f}, {1, 1, 0.6f, 0.5f}};
    for (size_t md = 0; md < 2; md++)
        for (size_t c = 0; c < 4; c++)
            for (size_t sc = 0; sc < 3; sc++) {
                Onnx__NodeProto *n;
                mb_model *m = one_node(13, "Resize", sc < 2 ? "X,,S" : "X,,,Z", PRISM_DTYPE_FLOAT, &n);
                mb_attr_string(m, n, "mode", modes[md]);
                mb_attr_string(m, n, "coordinate_transformation_mode", ctms[c]);
                mb_attr_string(m, n, "nearest_mode", nearest[c]);
                if (sc < 2) mb_init_float(m, "S", 1, D(4), scales[sc]);
                else init_ints(m, "Z", 4, D(2, 3, 9, 4));
                feed f = {0};
                feed_float(m, &f, "X", 4, D(2, 3, 5, 7));
                char label[96];
                snprintf(label, sizeof label, "Resize %s %s case %zu", modes[md], ctms[c], sc);
                compare(m, &f, label);
            }
    /* opset 10 (scales only, asymmetric), and a 3-D input */
    Onnx__NodeProto *n;
    mb_model *m = one_node(10, "Resize", "X,S", PRISM_DTYPE_FLOAT, &n);
    mb_init_float(m, "S", 1, D(4), scales[1]);
    feed f = {0};
    feed_float(m, &f, "X", 4, D(1, 2, 10, 9));
    compare(m, &f, "Resize-10");
    m = one_node(13, "Resize", "X,,S", PRISM_DTYPE_FLOAT, &n);
    mb_attr_string(m, n, "mode", "linear");
    mb_init_float(m, "S", 1, D(3), (const float[]){1, 3, 2});
    feed_float(m, &f, "X", 3, D(2, 4, 5));
    compare(m, &f, "Resize 3-D");
    done(before);
}

/* ---- shape-only ops -------------------------------------------------------------------------------- */

/* X -> Relu -> op -> Neg -> Y: the op's input and output live on the
 * device, where the view may alias them. */
static mb_model *chain(int64_t opset, const char *op, const char *extra, Onnx__NodeProto **node) {
    mb_model *m = mb_new(opset);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_node(m, "Relu", "r", "X", "R");
    char in[64];
    snprintf(in, sizeof in, "R%s%s", extra ? "," : "", extra ? extra : "");
    *node = mb_node(m, op, "op", in, "V");
    mb_node(m, "Neg", "neg", "V", "Y");
    return m;
}

static void test_reshape_family(void) {
    const int before = compared;
    Onnx__NodeProto *n;
    feed f = {0};
    const struct {
        size_t n;
        int64_t shape[4];
        int allowzero;
    } shapes_r[] = {{2, {-1, 10}, 0}, {3, {0, 0, -1}, 0}, {1, {60}, 0}, {4, {3, 1, 4, 5}, 1}};
    for (size_t c = 0; c < 4; c++) {
        mb_model *m = chain(14, "Reshape", "S", &n);
        init_ints(m, "S", shapes_r[c].n, shapes_r[c].shape);
        if (shapes_r[c].allowzero) mb_attr_int(m, n, "allowzero", 1);
        feed_float(m, &f, "X", 3, D(3, 4, 5));
        compare(m, &f, "Reshape");
    }
    /* shape computed at run time */
    mb_model *m = chain(14, "Reshape", "S", &n);
    feed_float(m, &f, "X", 3, D(3, 4, 5));
    feed_ints(m, &f, "S", 2, D(6, -1));
    compare(m, &f, "Reshape shape input");
    for (int64_t axis = -3; axis <= 3; axis++) {
        m = chain(13, "Flatten", NULL, &n);
        mb_attr_int(m, n, "axis", axis);
        feed_float(m, &f, "X", 3, D(3, 4, 5));
        compare(m, &f, "Flatten");
    }
    /* Squeeze / Unsqueeze, attribute form (11) and input form (13) */
    m = chain(11, "Squeeze", NULL, &n);
    mb_attr_ints(m, n, "axes", 2, D(1, -1));
    feed_float(m, &f, "X", 4, D(3, 1, 5, 1));
    compare(m, &f, "Squeeze-11");
    m = chain(13, "Squeeze", "A", &n);
    init_ints(m, "A", 1, D(-3));
    feed_float(m, &f, "X", 4, D(3, 1, 5, 1));
    compare(m, &f, "Squeeze-13");
    m = chain(13, "Squeeze", NULL, &n);
    feed_float(m, &f, "X", 4, D(3, 1, 5, 1));
    compare(m, &f, "Squeeze-13 all");
    m = chain(11, "Unsqueeze", NULL, &n);
    mb_attr_ints(m, n, "axes", 2, D(0, -1));
    feed_float(m, &f, "X", 2, D(3, 5));
    compare(m, &f, "Unsqueeze-11");
    m = chain(13, "Unsqueeze", "A", &n);
    init_ints(m, "A", 2, D(1, 3));
    feed_float(m, &f, "X", 2, D(3, 5));
    compare(m, &f, "Unsqueeze-13");
    m = chain(13, "Identity", NULL, &n);
    feed_float(m, &f, "X", 2, D(3, 5));
    compare(m, &f, "Identity");
    /* straight from a graph input to a graph output */
    m = one_node(14, "Reshape", "X,S", PRISM_DTYPE_INT64, NULL);
    init_ints(m, "S", 1, D(-1));
    feed_input(m, &f, "X", PRISM_DTYPE_INT64, 2, D(2, 3), -5, 5);
    compare(m, &f, "Reshape input to output");
    done(before);
}

/* ---- what is declined -------------------------------------------------------------------------------- */

static void test_declined(void) {
    mb_model *m = one_node(17, "Add", "A,B", PRISM_DTYPE_INT64, NULL);
    mb_input(m, "A", PRISM_DTYPE_INT64, 1, D(3));
    mb_input(m, "B", PRISM_DTYPE_INT64, 1, D(3));
    expect_declined(m, "Add int64");
    m = one_node(15, "Pow", "A,B", PRISM_DTYPE_FLOAT, NULL);
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 1, D(3));
    mb_input(m, "B", PRISM_DTYPE_INT64, 1, D(3));
    expect_declined(m, "Pow float^int64");
    m = one_node(13, "Softmax", "X", PRISM_DTYPE_DOUBLE, NULL);
    mb_input(m, "X", PRISM_DTYPE_DOUBLE, 1, D(3));
    expect_declined(m, "Softmax double");
    Onnx__NodeProto *n;
    m = one_node(17, "LayerNormalization", "X,S", PRISM_DTYPE_FLOAT, &n);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(3, 4));
    mb_input(m, "S", PRISM_DTYPE_FLOAT, 2, D(1, 4));
    mb_attr_int(m, n, "axis", 0); /* scale [1,4] against [3,4]: a real broadcast */
    expect_declined(m, "LayerNormalization broadcast scale");
    m = one_node(13, "Resize", "X,,S", PRISM_DTYPE_FLOAT, &n);
    mb_attr_string(m, n, "mode", "cubic");
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(1, 1, 4, 4));
    mb_init_float(m, "S", 1, D(4), (const float[]){1, 1, 2, 2});
    expect_declined(m, "Resize cubic");
    m = one_node(13, "Max", "A,B,C", PRISM_DTYPE_FLOAT, NULL);
    for (const char *s = "ABC"; *s; s++) mb_input(m, (char[]){*s, 0}, PRISM_DTYPE_FLOAT, 1, D(3));
    expect_declined(m, "Max of three");
}

int main(void) {
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("opencl_ops", suite_init, suite_clean);
    CU_add_test(s, "unary ops", test_unary);
    CU_add_test(s, "Clip-13 bounds as inputs", test_clip_inputs);
    CU_add_test(s, "binary ops with broadcasting", test_binary);
    CU_add_test(s, "comparisons", test_compare);
    CU_add_test(s, "PRelu", test_prelu);
    CU_add_test(s, "Where", test_where);
    CU_add_test(s, "Softmax and LogSoftmax", test_softmax);
    CU_add_test(s, "LayerNormalization", test_layernorm);
    CU_add_test(s, "Transpose", test_transpose);
    CU_add_test(s, "Concat", test_concat);
    CU_add_test(s, "Slice", test_slice);
    CU_add_test(s, "Gather", test_gather);
    CU_add_test(s, "Gather index out of range", test_gather_bad_index);
    CU_add_test(s, "Expand", test_expand);
    CU_add_test(s, "reductions", test_reduce);
    CU_add_test(s, "Resize", test_resize);
    CU_add_test(s, "Reshape, Flatten, Squeeze, Unsqueeze, Identity", test_reshape_family);
    CU_add_test(s, "declined ops", test_declined);
    return unit_run_all();
}
