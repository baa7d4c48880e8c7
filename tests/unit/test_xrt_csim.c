/*
 * test_xrt_csim.c — the XRT provider's numerics on its csim device (the HLS
 * kernels' C code run on the host through the provider's full lowering,
 * buffer and argument-binding path): single-node models of every op it
 * claims, on providers xrt,cpu with xrt:csim=1, compared with the CPU
 * provider on random inputs, each node checked to be placed on xrt; plus
 * fused chains, Concat and the views (Identity, Flatten, Reshape, Squeeze,
 * Unsqueeze) between kernel nodes and as unit outputs, declined nodes and
 * the csim device without csim=1.
 *
 * XILINX_XRT and XCL_EMULATION_MODE are removed at start, so no XRT device
 * is listed and the csim device is device 0.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "provider_compare.h"
#include "unit_util.h"

static prism_env *env;
static bool have_xrt;

static int suite_init(void) {
    unsetenv("XILINX_XRT");
    unsetenv("XCL_EMULATION_MODE");
    pc_seed(4242);
    if (prism_env_create(&env) != PRISM_OK) return 1;
    have_xrt = prism_env_load_provider(env, "xrt") == PRISM_OK;
    if (!have_xrt) fprintf(stderr, "\n  the xrt provider is not built here (no XRT SDK): nothing to test\n");
    return 0;
}

static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}

static prism_status make_session(mb_model *m, const char *providers, const char *const *opts, prism_session **out) {
    return pc_session(env, m, providers, true, opts, out);
}

static const char *const CSIM[] = {"xrt:csim=1", NULL};

#define MAX_OUTPUTS 4

/* Every output of s (at most MAX_OUTPUTS) into y; false on a failed run. */
static bool run_all(prism_session *s, const pc_feed *f, size_t n_out, prism_tensor **y) {
    prism_status st = prism_session_run(s, f->names, (const prism_tensor *const *)f->t, f->n, NULL, n_out, y);
    if (st) fprintf(stderr, "\n  run: %s: %s\n", prism_status_name(st), prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    return st == PRISM_OK;
}

/* Run m on xrt,cpu with csim=1 and on cpu alone: every node must be on xrt
 * (counted: `on_xrt` of them) and the outputs must agree. Frees m and f. */
static void compare(mb_model *m, pc_feed *f, const char *label, size_t on_xrt) {
    if (!have_xrt) goto done;
    prism_session *cpu = NULL, *x = NULL;
    UNIT_OK(make_session(m, "cpu", NULL, &cpu));
    prism_status st = make_session(m, "xrt,cpu", CSIM, &x);
    if (st) fprintf(stderr, "\n  %s: xrt session: %s\n", label, prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    if (cpu && x) {
        size_t n_xrt = 0;
        for (size_t i = 0; i < prism_session_node_count(x); i++) {
            prism_node_placement p = {.struct_size = sizeof p};
            UNIT_OK(prism_session_node_placement(x, i, &p));
            if (!strcmp(p.provider, "xrt")) n_xrt++;
            else fprintf(stderr, "\n  %s: node '%s' (%s) on %s: %s", label, p.name, p.op_type, p.provider, p.reason);
        }
        CU_ASSERT_EQUAL(n_xrt, on_xrt);
        const char *report = prism_session_placement(x, "text");
        CU_ASSERT_PTR_NOT_NULL(report);
        if (report) MB_CONTAINS(report, "Prism HLS C simulation (csim)");
        size_t n_out = prism_session_output_count(cpu);
        CU_ASSERT_FATAL(n_out >= 1 && n_out <= MAX_OUTPUTS);
        prism_tensor *want[MAX_OUTPUTS] = {NULL}, *got[MAX_OUTPUTS] = {NULL};
        if (run_all(cpu, f, n_out, want) && run_all(x, f, n_out, got))
            for (size_t k = 0; k < n_out; k++) pc_expect_close(got[k], want[k], 1e-5f, 1e-4f, "xrt csim", label);
        for (size_t k = 0; k < n_out; k++) {
            prism_tensor_destroy(want[k]);
            prism_tensor_destroy(got[k]);
        }
    }
    prism_session_destroy(cpu);
    prism_session_destroy(x);
done:
    for (size_t i = 0; i < f->n; i++) prism_tensor_destroy(f->t[i]);
    f->n = 0;
    mb_free(m);
}

#define D(...) (const int64_t[]){__VA_ARGS__}

/* ---- Conv ------------------------------------------------------------------------ */

typedef struct conv_case {
    const char *label;
    int64_t x[4], w[4];
    bool bias;
    int64_t group;
    const char *auto_pad;
    const int64_t *pads, *strides, *dilations;
} conv_case;

static void test_conv(void) {
    const conv_case cases[] = {
        {"3x3 pads 1 + bias", {2, 3, 10, 9}, {8, 3, 3, 3}, true, 1, NULL, D(1, 1, 1, 1), NULL, NULL},
        {"1x1 direct (no im2col), batch 2", {2, 16, 7, 7}, {24, 16, 1, 1}, true, 1, NULL, NULL, NULL, NULL},
        {"1x1 stride 2", {1, 16, 8, 8}, {8, 16, 1, 1}, false, 1, NULL, NULL, D(2, 2), NULL},
        {"strides + dilations + asymmetric pads", {1, 4, 15, 17}, {5, 4, 3, 3}, true, 1, NULL, D(2, 1, 0, 2),
         D(2, 3), D(2, 2)},
        {"groups", {2, 6, 8, 8}, {9, 2, 3, 3}, true, 3, NULL, D(1, 1, 1, 1), NULL, NULL},
        {"depthwise stride 2", {1, 8, 9, 9}, {8, 1, 3, 3}, true, 8, NULL, D(1, 1, 1, 1), D(2, 2), NULL},
        {"SAME_UPPER", {1, 3, 7, 6}, {4, 3, 4, 3}, false, 1, "SAME_UPPER", NULL, D(2, 2), NULL},
        {"large K across GEMM tiles", {1, 80, 9, 9}, {70, 80, 3, 3}, true, 1, NULL, D(1, 1, 1, 1), NULL, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *c = &cases[i];
        Onnx__NodeProto *n;
        mb_model *m = pc_one_node(13, "Conv", c->bias ? "X,W,B" : "X,W", &n);
        pc_feed f = {0};
        pc_feed_float(m, &f, "X", 4, c->x, -2.0f, 2.0f);
        pc_init_float(m, "W", 4, c->w, -1.0f, 1.0f);
        if (c->bias) pc_init_float(m, "B", 1, c->w, -1.0f, 1.0f);
        if (c->group > 1) mb_attr_int(m, n, "group", c->group);
        if (c->auto_pad) mb_attr_string(m, n, "auto_pad", c->auto_pad);
        if (c->pads) mb_attr_ints(m, n, "pads", 4, c->pads);
        if (c->strides) mb_attr_ints(m, n, "strides", 2, c->strides);
        if (c->dilations) mb_attr_ints(m, n, "dilations", 2, c->dilations);
        compare(m, &f, c->label, 1);
    }
}

/* ---- Gemm / MatMul ---------------------------------------------------------------- */

static void gemm_case(const char *label, int64_t M, int64_t N, int64_t K, int ta, int tb, int c_rank,
                      const int64_t *c_dims, float alpha, float beta) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(13, "Gemm", c_rank ? "A,B,C" : "A,B", &n);
    pc_feed f = {0};
    pc_feed_float(m, &f, "A", 2, ta ? D(K, M) : D(M, K), -2.0f, 2.0f);
    pc_init_float(m, "B", 2, tb ? D(N, K) : D(K, N), -1.0f, 1.0f);
    if (c_rank) pc_init_float(m, "C", c_rank, c_dims, -1.0f, 1.0f);
    if (ta) mb_attr_int(m, n, "transA", 1);
    if (tb) mb_attr_int(m, n, "transB", 1);
    if (alpha != 1.0f) mb_attr_float(m, n, "alpha", alpha);
    if (beta != 1.0f) mb_attr_float(m, n, "beta", beta);
    compare(m, &f, label, 1);
}

static void test_gemm(void) {
    gemm_case("plain", 5, 7, 9, 0, 0, 0, NULL, 1.0f, 1.0f);
    gemm_case("transB + bias [N] (FC layer)", 3, 70, 130, 0, 1, 1, D(70), 1.0f, 1.0f);
    gemm_case("transA + bias [M,N] + alpha/beta", 66, 5, 8, 1, 0, 2, D(66, 5), 0.5f, 2.0f);
    gemm_case("bias [M,1]", 4, 6, 3, 0, 0, 2, D(4, 1), 1.0f, 1.0f);
    gemm_case("scalar bias", 4, 6, 3, 1, 1, 1, D(1), 1.0f, -1.0f);
}

static void test_matmul(void) {
    struct {
        const char *label;
        int ra, rb;
        int64_t a[3], b[3];
    } cases[] = {
        {"2-D", 2, 2, {7, 65}, {65, 3}},
        {"3-D A, 2-D B (rows folded)", 3, 2, {2, 5, 6}, {6, 4}},
        {"3-D batched", 3, 3, {3, 4, 5}, {3, 5, 2}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mb_model *m = pc_one_node(13, "MatMul", "A,B", NULL);
        pc_feed f = {0};
        pc_feed_float(m, &f, "A", cases[i].ra, cases[i].a, -2.0f, 2.0f);
        pc_feed_float(m, &f, "B", cases[i].rb, cases[i].b, -2.0f, 2.0f);
        compare(m, &f, cases[i].label, 1);
    }
}

/* ---- element-wise -------------------------------------------------------------------- */

static void binary_case(const char *op, int ra, const int64_t *da, int rb, const int64_t *db, bool b_const) {
    char label[64];
    snprintf(label, sizeof label, "%s rank %d x rank %d%s", op, ra, rb, b_const ? " (constant)" : "");
    mb_model *m = pc_one_node(13, op, "A,B", NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "A", ra, da, -2.0f, 2.0f);
    if (b_const) pc_init_float(m, "B", rb, db, -1.0f, 1.0f);
    else pc_feed_float(m, &f, "B", rb, db, -2.0f, 2.0f);
    compare(m, &f, label, 1);
}

static void test_binary(void) {
    const char *ops[] = {"Add", "Sub", "Mul", "Div"};
    for (int i = 0; i < 4; i++) {
        binary_case(ops[i], 4, D(2, 3, 4, 5), 4, D(2, 3, 4, 5), false); /* same shape */
        binary_case(ops[i], 4, D(2, 3, 4, 5), 0, NULL, true);          /* scalar */
        binary_case(ops[i], 4, D(2, 3, 4, 5), 3, D(3, 1, 1), true);    /* per channel */
        binary_case(ops[i], 2, D(6, 7), 1, D(7), false);               /* per column */
    }
    binary_case("Add", 3, D(3, 1, 1), 4, D(2, 3, 4, 5), false); /* commutative: a broadcasts */
    binary_case("Mul", 1, D(1), 3, D(2, 3, 4), false);
}

static void test_relu_clip(void) {
    mb_model *m = pc_one_node(13, "Relu", "X", NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 3, D(2, 5, 7), -2.0f, 2.0f);
    compare(m, &f, "Relu", 1);
    /* Clip-13 with constant bounds (ReLU6), and Clip-6 with attributes */
    m = pc_one_node(13, "Clip", "X,lo,hi", NULL);
    pc_feed_float(m, &f, "X", 2, D(9, 9), -2.0f, 2.0f);
    mb_init_float(m, "lo", 0, NULL, (const float[]){0.0f});
    mb_init_float(m, "hi", 0, NULL, (const float[]){0.5f});
    compare(m, &f, "Clip-13 [0, 0.5]", 1);
    Onnx__NodeProto *n;
    m = pc_one_node(6, "Clip", "X", &n);
    mb_attr_float(m, n, "min", -0.25f);
    mb_attr_float(m, n, "max", 1.0f);
    pc_feed_float(m, &f, "X", 1, D(40), -2.0f, 2.0f);
    compare(m, &f, "Clip-6 attributes", 1);
}

/* ---- pooling ------------------------------------------------------------------------ */

static void pool_case(const char *label, const char *op, const int64_t *x, const int64_t *k, const int64_t *pads,
                      const int64_t *strides, int ceil_mode, int count_include_pad) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(13, op, "X", &n);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, x, -2.0f, 2.0f);
    if (k) mb_attr_ints(m, n, "kernel_shape", 2, k);
    if (pads) mb_attr_ints(m, n, "pads", 4, pads);
    if (strides) mb_attr_ints(m, n, "strides", 2, strides);
    if (ceil_mode) mb_attr_int(m, n, "ceil_mode", 1);
    if (count_include_pad) mb_attr_int(m, n, "count_include_pad", 1);
    compare(m, &f, label, 1);
}

static void test_pool(void) {
    pool_case("MaxPool 3x3 s2 p1", "MaxPool", D(2, 3, 11, 12), D(3, 3), D(1, 1, 1, 1), D(2, 2), 0, 0);
    pool_case("MaxPool ceil_mode", "MaxPool", D(1, 4, 13, 13), D(3, 3), NULL, D(2, 2), 1, 0);
    pool_case("AveragePool pads", "AveragePool", D(1, 3, 8, 9), D(3, 2), D(1, 0, 1, 1), D(1, 2), 0, 0);
    pool_case("AveragePool count_include_pad", "AveragePool", D(1, 3, 8, 8), D(3, 3), D(1, 1, 1, 1), D(2, 2), 0,
              1);
    pool_case("GlobalAveragePool 7x7", "GlobalAveragePool", D(2, 16, 7, 7), NULL, NULL, NULL, 0, 0);
}

/* Conv -> Relu and Add -> Clip fused: two nodes each, one kernel launch. */
static void test_fused_chain(void) {
    mb_model *m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, D(1, 4, 6, 6), -2.0f, 2.0f);
    pc_init_float(m, "W", 4, D(4, 4, 3, 3), -1.0f, 1.0f);
    pc_init_float(m, "B", 1, D(4), -1.0f, 1.0f);
    pc_init_float(m, "S", 3, D(4, 1, 1), -1.0f, 1.0f);
    mb_init_float(m, "lo", 0, NULL, (const float[]){0.0f});
    mb_init_float(m, "hi", 0, NULL, (const float[]){0.3f});
    Onnx__NodeProto *c = mb_node(m, "Conv", "conv", "X,W,B", "C");
    mb_attr_ints(m, c, "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Relu", "relu", "C", "R");
    mb_node(m, "Add", "add", "R,S", "A");
    mb_node(m, "Clip", "clip", "A,lo,hi", "Y");
    compare(m, &f, "Conv-Relu-Add-Clip", 4);
}

/* ---- data movement ------------------------------------------------------------------ */

static void concat_case(const char *label, int64_t axis, int rank, int n_in, const int64_t *const *dims,
                        bool last_const) {
    static const char *const names[] = {"A", "B", "C"};
    char inputs[16] = "";
    for (int k = 0; k < n_in; k++) strcat(strcat(inputs, k ? "," : ""), names[k]);
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(13, "Concat", inputs, &n);
    mb_attr_int(m, n, "axis", axis);
    pc_feed f = {0};
    for (int k = 0; k < n_in; k++) {
        if (last_const && k == n_in - 1) pc_init_float(m, names[k], rank, dims[k], -1.0f, 1.0f);
        else pc_feed_float(m, &f, names[k], rank, dims[k], -2.0f, 2.0f);
    }
    compare(m, &f, label, 1);
}

static void test_concat(void) {
    /* SqueezeNet's fire module: two NCHW tensors along the channels */
    concat_case("axis 1, 2 inputs, batch 2", 1, 4, 2, (const int64_t *const[]){D(2, 3, 5, 4), D(2, 6, 5, 4)}, false);
    concat_case("axis 0, 3 inputs", 0, 2, 3, (const int64_t *const[]){D(2, 7), D(1, 7), D(4, 7)}, false);
    concat_case("axis -1, 3 inputs", -1, 3, 3, (const int64_t *const[]){D(2, 3, 2), D(2, 3, 5), D(2, 3, 1)}, false);
    concat_case("axis -3 (= 1) of 4-D, constant last input", -3, 4, 2,
                (const int64_t *const[]){D(1, 2, 3, 3), D(1, 4, 3, 3)}, true);
    concat_case("axis 2, an empty input", 2, 3, 2, (const int64_t *const[]){D(2, 2, 0), D(2, 2, 3)}, false);
}

/* Conv -> Reshape (a view of the Conv's buffer) -> ... -> Gemm that reads the
 * view after the Conv's last direct reader, so the view must keep the
 * buffer alive; Flatten/Squeeze/Unsqueeze/Identity between kernel nodes; and
 * three unit outputs that are views (device-side copies). */
static void test_view_chains(void) {
    mb_model *m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_output(m, "V2", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_output(m, "U", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, D(1, 3, 6, 6), -2.0f, 2.0f);
    pc_init_float(m, "W", 4, D(4, 3, 3, 3), -1.0f, 1.0f);
    pc_init_float(m, "FW", 2, D(144, 4), -1.0f, 1.0f);
    const int64_t shape[] = {1, -1}, sq_axes[] = {2, 3}, unsq_axes[] = {-1};
    mb_init(m, "shape", PRISM_DTYPE_INT64, 1, D(2), shape, sizeof shape);
    mb_init(m, "sq", PRISM_DTYPE_INT64, 1, D(2), sq_axes, sizeof sq_axes);
    mb_init(m, "unsq", PRISM_DTYPE_INT64, 1, D(1), unsq_axes, sizeof unsq_axes);
    Onnx__NodeProto *c = mb_node(m, "Conv", "conv", "X,W", "C");
    mb_attr_ints(m, c, "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Reshape", "reshape", "C,shape", "V");
    Onnx__NodeProto *p = mb_node(m, "MaxPool", "pool", "C", "P");
    mb_attr_ints(m, p, "kernel_shape", 2, D(2, 2));
    mb_node(m, "GlobalAveragePool", "gap", "P", "G");
    mb_node(m, "Flatten", "flatten", "G", "F");
    mb_node(m, "Identity", "id", "V", "V1");
    mb_node(m, "MatMul", "fc", "V1,FW", "M");
    mb_node(m, "Add", "add", "M,F", "Y");
    mb_node(m, "Identity", "out_view", "V1", "V2");
    mb_node(m, "Squeeze", "squeeze", "G,sq", "S");
    mb_node(m, "Relu", "relu", "S", "R");
    mb_node(m, "Unsqueeze", "unsqueeze", "R,unsq", "U");
    compare(m, &f, "views between kernels and as unit outputs", 12);
    /* opset 11: Flatten axis 2, Squeeze/Unsqueeze with attribute axes */
    m = mb_new(11);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed_float(m, &f, "X", 4, D(2, 3, 4, 1), -2.0f, 2.0f);
    Onnx__NodeProto *n = mb_node(m, "Squeeze", "sq", "X", "S");
    mb_attr_ints(m, n, "axes", 1, D(3));
    mb_node(m, "Relu", "relu", "S", "R");
    n = mb_node(m, "Unsqueeze", "unsq", "R", "U");
    mb_attr_ints(m, n, "axes", 2, D(0, 4));
    n = mb_node(m, "Flatten", "flat", "U", "Y");
    mb_attr_int(m, n, "axis", 2);
    compare(m, &f, "opset 11 Squeeze/Unsqueeze attributes, Flatten axis 2", 4);
    /* a view whose input is the unit input, as the unit output */
    m = pc_one_node(13, "Reshape", "X,shape", NULL);
    pc_feed_float(m, &f, "X", 3, D(2, 3, 4), -2.0f, 2.0f);
    mb_init(m, "shape", PRISM_DTYPE_INT64, 1, D(3), (const int64_t[]){0, 4, -1}, 3 * sizeof(int64_t));
    compare(m, &f, "Reshape of a unit input with 0 and -1", 1);
}

/* The provider's debug lines saying why it did not claim a node. */
static char declined_log[2048];

static void keep_declined(void *user, prism_log_level level, const char *msg) {
    (void)user;
    (void)level;
    size_t used = strlen(declined_log);
    if (strstr(msg, "not claimed")) snprintf(declined_log + used, sizeof declined_log - used, "%s\n", msg);
}

/* Where the node of a single-node model lands; when declined, the
 * provider's reason must contain `why`. */
static void expect_placed(mb_model *m, const char *label, const char *provider, const char *why) {
    prism_session *s = NULL;
    declined_log[0] = '\0';
    prism_env_set_logger(env, keep_declined, NULL, PRISM_LOG_DEBUG);
    prism_status st = make_session(m, "xrt,cpu", CSIM, &s);
    prism_env_set_logger(env, NULL, NULL, PRISM_LOG_WARNING);
    if (st) fprintf(stderr, "\n  %s: %s", label, prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    if (!st) {
        prism_node_placement p = {.struct_size = sizeof p};
        UNIT_OK(prism_session_node_placement(s, 0, &p));
        if (strcmp(p.provider, provider)) fprintf(stderr, "\n  %s placed on %s", label, p.provider);
        CU_ASSERT_STRING_EQUAL(p.provider, provider);
        if (why) MB_CONTAINS(declined_log, why);
    }
    prism_session_destroy(s);
    mb_free(m);
}

/* What the copies cannot do exactly (or cheaply) is declined, and so is a
 * MatMul whose batch dims broadcast (the GEMM's batch walks both operands in
 * step). */
static void test_move_declined(void) {
    if (!have_xrt) return;
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(13, "Concat", "A,B", &n); /* 2100 x 2 tiny copies */
    mb_attr_int(m, n, "axis", 2);
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 3, D(2100, 1, 2));
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 3, D(2100, 1, 3));
    expect_placed(m, "Concat of 4200 copies", "cpu", "2100 x 2 device copies (more than 4096");
    m = mb_new(13); /* int64 Concat */
    mb_output(m, "Y", PRISM_DTYPE_INT64, -1, NULL);
    n = mb_node(m, "Concat", "n0", "A,B", "Y");
    mb_attr_int(m, n, "axis", 0);
    mb_input(m, "A", PRISM_DTYPE_INT64, 1, D(2));
    mb_input(m, "B", PRISM_DTYPE_INT64, 1, D(3));
    expect_placed(m, "int64 Concat", "cpu", "is not float32");
    m = pc_one_node(13, "Reshape", "X,shape", NULL); /* shape computed at run time */
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(4, 6));
    mb_input(m, "shape", PRISM_DTYPE_INT64, 1, D(2));
    expect_placed(m, "Reshape with a graph-input shape", "cpu", "target shape is not a constant int64");
    m = pc_one_node(13, "Unsqueeze", "X,axes", NULL); /* axes not constant */
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(4, 6));
    mb_input(m, "axes", PRISM_DTYPE_INT64, 1, D(1));
    expect_placed(m, "Unsqueeze with graph-input axes", "cpu", "axes are not constant int64");
    m = pc_one_node(13, "MatMul", "A,B", NULL); /* batch dims that broadcast */
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 4, D(3, 1, 3, 4));
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 4, D(1, 2, 4, 2));
    expect_placed(m, "MatMul with broadcast batch dims", "cpu", "broadcast batches are not lowered");
    /* and the limit is a count of copies, not of bytes: one big block each is
     * claimed */
    m = pc_one_node(13, "Concat", "A,B", &n);
    mb_attr_int(m, n, "axis", 0);
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 3, D(2100, 1, 2));
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 3, D(2100, 1, 2));
    expect_placed(m, "Concat axis 0 of large inputs", "xrt", NULL);
}

/* Without csim=1 the csim device claims nothing: a session with only xrt fails
 * naming the node; with xrt,cpu everything goes to the CPU. */
static void test_csim_needs_option(void) {
    if (!have_xrt) return;
    mb_model *m = pc_one_node(13, "Relu", "X", NULL);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D(4));
    prism_session *s = NULL;
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    prism_session_options_set_environment(o, 0);
    prism_session_options_set_fallback(o, 0);
    UNIT_OK(prism_session_options_set_providers(o, "xrt"));
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    prism_status st = prism_session_create_from_memory(env, bytes, size, o, &s);
    CU_ASSERT_NOT_EQUAL(st, PRISM_OK);
    prism_session_destroy(s);
    s = NULL;
    UNIT_OK(prism_session_options_set_providers(o, "xrt,cpu"));
    prism_session_options_set_fallback(o, 1);
    UNIT_OK(prism_session_create_from_memory(env, bytes, size, o, &s));
    prism_node_placement p = {.struct_size = sizeof p};
    UNIT_OK(prism_session_node_placement(s, 0, &p));
    CU_ASSERT_STRING_EQUAL(p.provider, "cpu");
    prism_session_destroy(s);
    /* bad option values fail naming the option */
    UNIT_OK(prism_session_options_add_provider_option_string(o, "xrt:timeout_ms=soon"));
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create_from_memory(env, bytes, size, o, &s),
                   "timeout_ms");
    free(bytes);
    prism_session_options_destroy(o);
    mb_free(m);
}

/* Nodes the kernels cannot run are declined and run on the CPU. */
static void test_declined(void) {
    if (!have_xrt) return;
    struct {
        const char *label;
        mb_model *m;
    } cases[3];
    mb_model *m = pc_one_node(13, "Add", "A,B", NULL); /* two-axis broadcast */
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 3, D(2, 3, 4));
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 3, D(2, 1, 4));
    cases[0].label = "Add with a two-axis broadcast";
    cases[0].m = m;
    Onnx__NodeProto *n;
    m = pc_one_node(13, "MaxPool", "X", &n); /* window past the line buffers */
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(1, 1, 20, 20));
    mb_attr_ints(m, n, "kernel_shape", 2, D(17, 17));
    cases[1].label = "MaxPool 17x17";
    cases[1].m = m;
    m = pc_one_node(13, "Conv", "X,W", NULL); /* 1-D convolution */
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 3, D(1, 2, 9));
    pc_init_float(m, "W", 3, D(2, 2, 3), -1.0f, 1.0f);
    cases[2].label = "Conv 1-D";
    cases[2].m = m;
    for (int i = 0; i < 3; i++) {
        prism_session *s = NULL;
        prism_status st = make_session(cases[i].m, "xrt,cpu", CSIM, &s);
        CU_ASSERT_EQUAL(st, PRISM_OK);
        if (!st) {
            prism_node_placement p = {.struct_size = sizeof p};
            UNIT_OK(prism_session_node_placement(s, 0, &p));
            if (strcmp(p.provider, "cpu")) fprintf(stderr, "\n  %s placed on %s", cases[i].label, p.provider);
            CU_ASSERT_STRING_EQUAL(p.provider, "cpu");
        }
        prism_session_destroy(s);
        mb_free(cases[i].m);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("xrt provider, csim device", suite_init, suite_clean);
    CU_add_test(s, "Conv (groups, depthwise, strides, dilations, pads, bias) vs CPU", test_conv);
    CU_add_test(s, "Gemm vs CPU", test_gemm);
    CU_add_test(s, "MatMul vs CPU", test_matmul);
    CU_add_test(s, "Add/Sub/Mul/Div with broadcast vs CPU", test_binary);
    CU_add_test(s, "Relu and Clip vs CPU", test_relu_clip);
    CU_add_test(s, "MaxPool/AveragePool/GlobalAveragePool vs CPU", test_pool);
    CU_add_test(s, "fused Conv-Relu and Add-Clip chain vs CPU", test_fused_chain);
    CU_add_test(s, "Concat (axes 1, 0, negative; 2 and 3 inputs) vs CPU", test_concat);
    CU_add_test(s, "Identity/Flatten/Reshape/Squeeze/Unsqueeze chains and view outputs vs CPU", test_view_chains);
    CU_add_test(s, "data movement (and broadcast MatMul) the provider declines, with reasons", test_move_declined);
    CU_add_test(s, "csim device needs csim=1", test_csim_needs_option);
    CU_add_test(s, "declined nodes go to the CPU", test_declined);
    return unit_run_all();
}
