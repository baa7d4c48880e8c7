/*
 * test_session.c — the public API end to end: sessions from memory, model
 * inspection, placement reports, run-time argument errors (after each of
 * which the same session still runs correctly), model-local functions,
 * environments, providers and options.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model_builder.h"
#include "unit_util.h"

static prism_env *env;

static int suite_init(void) { return prism_env_create(&env) == PRISM_OK ? 0 : 1; }
static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}


static prism_session *add_session(void) {
    mb_model *m = mb_add_relu_model();
    prism_session *s = NULL;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    return s;
}

static void check_floats(const prism_tensor *t, const float *want, size_t n) {
    CU_ASSERT_FATAL(t != NULL);
    CU_ASSERT_EQUAL_FATAL(prism_tensor_dtype(t), PRISM_DTYPE_FLOAT);
    CU_ASSERT_EQUAL_FATAL((size_t)prism_tensor_element_count(t), n);
    const float *d = prism_tensor_data_const(t);
    for (size_t i = 0; i < n; i++) {
        if (d[i] != want[i]) fprintf(stderr, "\n  element %zu: got %.9g, want %.9g\n", i, d[i], want[i]);
        CU_ASSERT_EQUAL(d[i], want[i]);
    }
}

/* Run the add session on MB_X_VALUES and check Y. */
static void check_add_session(prism_session *s) {
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *y = NULL;
    const char *in[] = {"X"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y));
    check_floats(y, MB_Y_VALUES, 6);
    const int64_t *dims = prism_tensor_dims(y);
    CU_ASSERT(prism_tensor_rank(y) == 2 && dims[0] == 2 && dims[1] == 3);
    prism_tensor_destroy(y);
    prism_tensor_destroy(x);
}

/* ---- creation and inspection ------------------------------------------------ */

static void test_from_memory(void) {
    mb_model *m = mb_add_relu_model();
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    mb_free(m);
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_threads(o, 1));
    UNIT_OK(prism_session_options_set_providers(o, " cpu "));
    prism_session *s;
    UNIT_OK(prism_session_create_from_memory(env, buf, n, o, &s));
    /* The bytes are the caller's: scribbling over them changes nothing. */
    memset(buf, 0, n);
    free(buf);
    prism_session_options_destroy(o); /* options are copied */
    check_add_session(s);
    check_add_session(s);
    prism_session_destroy(s);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create_from_memory(NULL, "x", 1, NULL, &s), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create_from_memory(env, "x", 1, NULL, NULL), "NULL");
}

static void test_model_inspection(void) {
    mb_model *m = mb_new(17);
    mb_opset(m, "com.example", 2);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, (int64_t[]){-1, 3});
    mb_input(m, "Mask", PRISM_DTYPE_BOOL, 0, NULL);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_output(m, "Z", PRISM_DTYPE_INT64, 1, (int64_t[]){5});
    mb_init_float(m, "W", 2, MB_D23, MB_W_VALUES);
    mb_init(m, "K", PRISM_DTYPE_INT64, 1, (int64_t[]){1}, (int64_t[]){7}, 8);
    mb_node(m, "Add", "add0", "X,W", "S");
    Onnx__NodeProto *g = mb_node(m, "Gizmo", "giz", "S,Mask", "Y,Z");
    mb_node_domain(m, g, "com.example");
    prism_model *pm;
    UNIT_OK(mb_load(m, &pm));
    mb_free(m);
    CU_ASSERT_EQUAL(prism_model_ir_version(pm), 8);
    CU_ASSERT_STRING_EQUAL(prism_model_producer(pm), "prism-unit 1.0");
    CU_ASSERT_EQUAL_FATAL(prism_model_opset_count(pm), 2);
    const char *dom = NULL;
    int64_t ver = 0;
    prism_model_opset(pm, 0, &dom, &ver);
    CU_ASSERT_STRING_EQUAL(dom, "");
    CU_ASSERT_EQUAL(ver, 17);
    prism_model_opset(pm, 1, &dom, &ver);
    CU_ASSERT_STRING_EQUAL(dom, "com.example");
    CU_ASSERT_EQUAL(ver, 2);
    prism_model_opset(pm, 2, &dom, &ver); /* out of range: untouched */
    CU_ASSERT_STRING_EQUAL(dom, "com.example");
    CU_ASSERT_EQUAL_FATAL(prism_model_node_count(pm), 2);
    const char *name = NULL, *op = NULL;
    prism_model_node(pm, 0, &name, &dom, &op);
    CU_ASSERT_STRING_EQUAL(name, "add0");
    CU_ASSERT_STRING_EQUAL(dom, "");
    CU_ASSERT_STRING_EQUAL(op, "Add");
    prism_model_node(pm, 1, &name, &dom, &op);
    CU_ASSERT_STRING_EQUAL(name, "giz");
    CU_ASSERT_STRING_EQUAL(dom, "com.example");
    CU_ASSERT_STRING_EQUAL(op, "Gizmo");
    prism_model_node(pm, 9, &name, NULL, NULL);
    CU_ASSERT_STRING_EQUAL(name, "giz");
    CU_ASSERT_EQUAL(prism_model_initializer_count(pm), 2);
    CU_ASSERT_EQUAL_FATAL(prism_model_input_count(pm), 2);
    CU_ASSERT_EQUAL_FATAL(prism_model_output_count(pm), 2);
    prism_value_info info = {.struct_size = sizeof info};
    UNIT_OK(prism_model_input(pm, 0, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "X");
    CU_ASSERT_EQUAL(info.dtype, PRISM_DTYPE_FLOAT);
    CU_ASSERT_EQUAL_FATAL(info.rank, 2);
    CU_ASSERT_EQUAL(info.dims[0], -1);
    CU_ASSERT_EQUAL(info.dims[1], 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(info.dim_params);
    CU_ASSERT_STRING_EQUAL(info.dim_params[0], "N0");
    CU_ASSERT_PTR_NULL(info.dim_params[1]);
    UNIT_OK(prism_model_input(pm, 1, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "Mask");
    CU_ASSERT_EQUAL(info.dtype, PRISM_DTYPE_BOOL);
    CU_ASSERT_EQUAL(info.rank, 0);
    UNIT_OK(prism_model_output(pm, 0, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "Y");
    CU_ASSERT_EQUAL(info.rank, -1);
    UNIT_OK(prism_model_output(pm, 1, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "Z");
    CU_ASSERT_EQUAL(info.dtype, PRISM_DTYPE_INT64);
    CU_ASSERT_EQUAL_FATAL(info.rank, 1);
    CU_ASSERT_EQUAL(info.dims[0], 5);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_model_input(pm, 2, &info), "#2");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_model_output(pm, 7, &info), "#7");
    prism_model_destroy(pm);
    /* NULL models answer zero. */
    prism_model_destroy(NULL);
    CU_ASSERT_EQUAL(prism_model_node_count(NULL), 0);
    CU_ASSERT_EQUAL(prism_model_input_count(NULL), 0);
    CU_ASSERT_EQUAL(prism_model_opset_count(NULL), 0);
    CU_ASSERT_PTR_NULL(prism_model_producer(NULL));
}

static void test_session_io_info(void) {
    prism_session *s = add_session();
    CU_ASSERT_EQUAL(prism_session_input_count(s), 1); /* the initializer is not an input */
    CU_ASSERT_EQUAL(prism_session_output_count(s), 1);
    prism_value_info info = {.struct_size = sizeof info};
    UNIT_OK(prism_session_input(s, 0, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "X");
    CU_ASSERT_EQUAL(info.dtype, PRISM_DTYPE_FLOAT);
    CU_ASSERT_EQUAL_FATAL(info.rank, 2);
    CU_ASSERT(info.dims[0] == 2 && info.dims[1] == 3);
    UNIT_OK(prism_session_output(s, 0, &info));
    CU_ASSERT_STRING_EQUAL(info.name, "Y");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_input(s, 1, &info), "#1");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_output(s, 1, &info), "#1");
    CU_ASSERT_EQUAL(prism_session_input_count(NULL), 0);
    prism_session_destroy(s);
    prism_session_destroy(NULL);
}

static void test_placement(void) {
    prism_session *s = add_session();
    const char *text = prism_session_placement(s, "text");
    const char *json = prism_session_placement(s, "json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(json);
    MB_CONTAINS(text, "cpu");
    MB_CONTAINS(text, "add0");
    MB_CONTAINS(text, "relu0");
    MB_CONTAINS(text, "Relu");
    CU_ASSERT_EQUAL(json[0], '{');
    MB_CONTAINS(json, "\"provider\":\"cpu\"");
    MB_CONTAINS(json, "\"name\":\"add0\"");
    MB_CONTAINS(json, "\"op\":\"Relu\"");
    /* Any other format gives the text report; NULL session gives NULL. */
    CU_ASSERT_PTR_EQUAL(prism_session_placement(s, NULL), text);
    CU_ASSERT_PTR_NULL(prism_session_placement(NULL, "text"));
    prism_session_destroy(s);
}

/* A graph without nodes: the output is the input itself. */
static void test_no_nodes(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_output(m, "X", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_init_float(m, "W", 2, MB_D23, MB_W_VALUES);
    mb_output(m, "W", PRISM_DTYPE_FLOAT, 2, MB_D23);
    prism_session *s;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    const char *text = prism_session_placement(s, "text"), *json = prism_session_placement(s, "json");
    CU_ASSERT_PTR_NOT_NULL(text);
    CU_ASSERT_PTR_NOT_NULL(json);
    if (json) MB_CONTAINS(json, "\"subgraphs\":[]");
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *out[2] = {0};
    const char *in[] = {"X"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 2, out));
    check_floats(out[0], MB_X_VALUES, 6);
    check_floats(out[1], MB_W_VALUES, 6);
    CU_ASSERT_PTR_NOT_EQUAL(out[0], x); /* a copy, owned by the caller */
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(out[1]);
    prism_tensor_destroy(x);
    prism_session_destroy(s);
}

/* ---- run-time errors ---------------------------------------------------------- */

static void test_run_errors(void) {
    prism_session *s = add_session();
    const char *in[] = {"X"};
    prism_tensor *good = mb_float_tensor(2, MB_D23, MB_X_VALUES);
    prism_tensor *sentinel = (prism_tensor *)0x1, *out[3] = {sentinel, sentinel, sentinel};
    prism_tensor *t;

    /* wrong dtype */
    int64_t d23[] = {2, 3};
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_INT64, d23, 2, &t));
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, (const prism_tensor *const *)&t, 1, NULL, 1, out),
                   "'X'", "int64", "float");
    prism_tensor_destroy(t);
    CU_ASSERT_PTR_EQUAL(out[0], sentinel);
    check_add_session(s);

    /* wrong rank */
    t = mb_float_tensor(1, (int64_t[]){6}, MB_X_VALUES);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, (const prism_tensor *const *)&t, 1, NULL, 1, out),
                   "'X'", "rank 1", "rank 2");
    prism_tensor_destroy(t);
    check_add_session(s);

    /* wrong fixed dim */
    float eight[8] = {0};
    t = mb_float_tensor(2, (int64_t[]){2, 4}, eight);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, (const prism_tensor *const *)&t, 1, NULL, 1, out),
                   "'X'", "dim 1", "4", "3");
    prism_tensor_destroy(t);
    check_add_session(s);

    /* missing input */
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, NULL, NULL, 0, NULL, 1, out), "'X'", "missing");
    check_add_session(s);

    /* unknown input name; a value that is not a graph input */
    const char *bad_in[] = {"Q"};
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, bad_in, (const prism_tensor *const *)&good, 1, NULL, 1, out), "'Q'");
    const char *w_in[] = {"W"};
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, w_in, (const prism_tensor *const *)&good, 1, NULL, 1, out), "'W'");
    check_add_session(s);

    /* unknown output name; an intermediate value is not an output */
    const char *bad_out[] = {"Zed"}, *mid_out[] = {"S"};
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, in, (const prism_tensor *const *)&good, 1, bad_out, 1, out), "'Zed'");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, in, (const prism_tensor *const *)&good, 1, mid_out, 1, out), "'S'");
    CU_ASSERT_PTR_EQUAL(out[0], sentinel);
    check_add_session(s);

    /* input given twice */
    const char *twice[] = {"X", "X"};
    const prism_tensor *two[] = {good, good};
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, twice, two, 2, NULL, 1, out), "'X'", "twice");
    check_add_session(s);

    /* NULL pointers */
    const prism_tensor *null_t[] = {NULL};
    const char *null_name[] = {NULL};
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   prism_session_run(NULL, in, (const prism_tensor *const *)&good, 1, NULL, 1, out), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   prism_session_run(s, NULL, (const prism_tensor *const *)&good, 1, NULL, 1, out), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, NULL, 1, NULL, 1, out), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   prism_session_run(s, in, (const prism_tensor *const *)&good, 1, NULL, 1, NULL), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, null_t, 1, NULL, 1, out), "'X'", "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, null_name, (const prism_tensor *const *)&good, 1, NULL, 1, out), "(null)");
    const char *null_out[] = {NULL};
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND,
                   prism_session_run(s, in, (const prism_tensor *const *)&good, 1, null_out, 1, out), "(null)");
    /* output_names NULL needs every output */
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   prism_session_run(s, in, (const prism_tensor *const *)&good, 1, NULL, 2, out), "1 outputs",
                   "got 2");
    CU_ASSERT(out[0] == sentinel && out[1] == sentinel && out[2] == sentinel);
    check_add_session(s);

    /* A view over caller memory works as an input and is left alone. */
    float xv[6];
    memcpy(xv, MB_X_VALUES, sizeof xv);
    UNIT_OK(prism_tensor_create_view(PRISM_DTYPE_FLOAT, d23, 2, xv, sizeof xv, &t));
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&t, 1, NULL, 1, out));
    check_floats(out[0], MB_Y_VALUES, 6);
    CU_ASSERT_EQUAL(memcmp(xv, MB_X_VALUES, sizeof xv), 0);
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(t);

    prism_tensor_destroy(good);
    prism_session_destroy(s);
}

/* Symbolic dims accept any size; a kernel failure names the node and the
 * provider, and the session stays usable. */
static void test_run_symbolic_and_kernel_error(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 1, (int64_t[]){-1});
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 1, (int64_t[]){-1});
    mb_output(m, "C", PRISM_DTYPE_FLOAT, 1, (int64_t[]){-1});
    mb_node(m, "Mul", "mul_ab", "A,B", "C");
    prism_session *s;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    const char *in[] = {"A", "B"};
    float a[4] = {1, 2, 3, 4}, b[4] = {2, 2, -1, 0.5f}, want[4] = {2, 4, -3, 2};
    for (int round = 0; round < 2; round++) {
        prism_tensor *ta = mb_float_tensor(1, (int64_t[]){4}, a), *tb = mb_float_tensor(1, (int64_t[]){4}, b);
        const prism_tensor *ins[] = {ta, tb};
        prism_tensor *c = NULL;
        UNIT_OK(prism_session_run(s, in, ins, 2, NULL, 1, &c));
        check_floats(c, want, 4);
        prism_tensor_destroy(c);
        prism_tensor_destroy(tb);
        /* [4] * [3] does not broadcast */
        tb = mb_float_tensor(1, (int64_t[]){3}, b);
        ins[1] = tb;
        c = (prism_tensor *)0x1;
        prism_status st = prism_session_run(s, in, ins, 2, NULL, 1, &c);
        CU_ASSERT(st == PRISM_ERR_RUNTIME || st == PRISM_ERR_INVALID_ARGUMENT);
        MB_CONTAINS(prism_last_error_message(), "mul_ab");
        MB_CONTAINS(prism_last_error_message(), "cpu");
        CU_ASSERT_PTR_EQUAL(c, (prism_tensor *)0x1);
        prism_tensor_destroy(tb);
        prism_tensor_destroy(ta);
    }
    prism_session_destroy(s);
}

static void test_select_outputs(void) {
    mb_model *m = mb_add_relu_model();
    mb_output(m, "S", PRISM_DTYPE_FLOAT, 2, MB_D23);
    prism_session *s;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    CU_ASSERT_EQUAL(prism_session_output_count(s), 2);
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *out[3] = {0};
    const char *in[] = {"X"}, *names[] = {"S", "Y", "S"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, names, 3, out));
    check_floats(out[0], MB_S_VALUES, 6);
    check_floats(out[1], MB_Y_VALUES, 6);
    check_floats(out[2], MB_S_VALUES, 6);
    CU_ASSERT_PTR_NOT_EQUAL(out[0], out[2]);
    for (int i = 0; i < 3; i++) prism_tensor_destroy(out[i]);
    /* Only Y; then nothing at all. */
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, names + 1, 1, out));
    check_floats(out[0], MB_Y_VALUES, 6);
    prism_tensor_destroy(out[0]);
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, names, 0, out));
    prism_tensor_destroy(x);
    prism_session_destroy(s);
}

/* ---- model-local functions ------------------------------------------------------ */

/* com.prism.test ScaledLeaky(A, B) -> C with attributes scale and slope:
 * C = LeakyRelu(A * scale + B, alpha = slope). */
static void add_scaled_leaky(mb_model *m) {
    Onnx__FunctionProto *f = mb_function(m, "com.prism.test", "ScaledLeaky", "A,B", "C", "scale,slope");
    Onnx__NodeProto *k = mb_fn_node(m, f, "Constant", "k", "", "k_out");
    mb_attr_ref(m, k, "value_float", "scale", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    mb_fn_node(m, f, "Mul", "mul", "A,k_out", "scaled");
    mb_fn_node(m, f, "Add", "add", "scaled,B", "sum");
    Onnx__NodeProto *lr = mb_fn_node(m, f, "LeakyRelu", "leaky", "sum", "C");
    mb_attr_ref(m, lr, "alpha", "slope", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
}

static const int64_t D4[] = {4};
static const float FX[4] = {1, -2, 3, -4}, FW[4] = {0.5f, 0.5f, 0.5f, 0.5f};

static void run_x4(prism_session *s, const char *in_name, size_t n_out, prism_tensor **out) {
    prism_tensor *x = mb_float_tensor(1, D4, FX);
    const char *in[] = {in_name};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, n_out, out));
    prism_tensor_destroy(x);
}

static void test_function_ref_attr(void) {
    mb_model *m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    add_scaled_leaky(m);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y2", PRISM_DTYPE_FLOAT, 1, D4);
    mb_init_float(m, "W", 1, D4, FW);
    Onnx__NodeProto *call = mb_node(m, "ScaledLeaky", "call0", "X,W", "Y");
    mb_node_domain(m, call, "com.prism.test");
    mb_attr_float(m, call, "scale", 2.0f);
    mb_attr_float(m, call, "slope", 0.5f);
    /* A second call with other attributes, slope left to LeakyRelu's default. */
    Onnx__NodeProto *call1 = mb_node(m, "ScaledLeaky", "call1", "X,W", "Y2");
    mb_node_domain(m, call1, "com.prism.test");
    mb_attr_float(m, call1, "scale", -1.0f);
    prism_session *s;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    prism_tensor *out[2] = {0};
    run_x4(s, "X", 2, out);
    /* 2x + 0.5 = 2.5, -3.5, 6.5, -7.5 -> LeakyRelu 0.5 */
    const float want[4] = {2.5f, -1.75f, 6.5f, -3.75f};
    check_floats(out[0], want, 4);
    /* -x + 0.5 = -0.5, 2.5, -2.5, 4.5 -> LeakyRelu 0.01 */
    const float *y2 = prism_tensor_data(out[1]);
    CU_ASSERT_DOUBLE_EQUAL(y2[0], -0.005, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y2[1], 2.5, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y2[2], -0.025, 1e-7);
    CU_ASSERT_DOUBLE_EQUAL(y2[3], 4.5, 1e-7);
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(out[1]);
    /* The inlined nodes show in the placement under the call's name. */
    MB_CONTAINS(prism_session_placement(s, "text"), "call0");
    prism_session_destroy(s);
}

static void test_function_nested(void) {
    mb_model *m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    add_scaled_leaky(m);
    /* Outer(P, Q) -> R: ScaledLeaky(P, Q) with scale = ref "s", slope 0.25,
     * then Neg. Formal names shadow nothing outside. */
    Onnx__FunctionProto *f = mb_function(m, "com.prism.test", "Outer", "P,Q", "R", "s");
    Onnx__NodeProto *inner = mb_fn_node(m, f, "ScaledLeaky", "inner", "P,Q", "C");
    mb_node_domain(m, inner, "com.prism.test");
    mb_attr_ref(m, inner, "scale", "s", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    mb_attr_float(m, inner, "slope", 0.25f);
    mb_fn_node(m, f, "Neg", "neg", "C", "R");
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_init_float(m, "W", 1, D4, FW);
    /* The graph also has values named like the functions' internals. */
    mb_node(m, "Identity", "pre", "X", "C");
    Onnx__NodeProto *call = mb_node(m, "Outer", "outer0", "C,W", "Y");
    mb_node_domain(m, call, "com.prism.test");
    mb_attr_float(m, call, "s", 3.0f);
    prism_session *s;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    prism_tensor *y = NULL;
    run_x4(s, "X", 1, &y);
    /* 3x + 0.5 = 3.5, -5.5, 9.5, -11.5 -> LeakyRelu 0.25 -> Neg */
    const float want[4] = {-3.5f, 1.375f, -9.5f, 2.875f};
    check_floats(y, want, 4);
    prism_tensor_destroy(y);
    prism_session_destroy(s);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_function_recursive(void) {
    /* Direct recursion. */
    mb_model *m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    Onnx__FunctionProto *f = mb_function(m, "com.prism.test", "Rec", "A", "B", NULL);
    mb_node_domain(m, mb_fn_node(m, f, "Rec", "again", "A", "B"), "com.prism.test");
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_node_domain(m, mb_node(m, "Rec", "rec0", "X", "Y"), "com.prism.test");
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "'Rec'", "recursive", "rec0");
    CU_ASSERT_PTR_NULL(s);
    mb_free(m);

    /* Mutual recursion through a second function. */
    m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    f = mb_function(m, "com.prism.test", "Ping", "A", "B", NULL);
    mb_node_domain(m, mb_fn_node(m, f, "Pong", "to_pong", "A", "B"), "com.prism.test");
    f = mb_function(m, "com.prism.test", "Pong", "A", "B", NULL);
    mb_node_domain(m, mb_fn_node(m, f, "Ping", "to_ping", "A", "B"), "com.prism.test");
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_node_domain(m, mb_node(m, "Ping", "ping0", "X", "Y"), "com.prism.test");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "recursive", "Ping", "Pong");
    mb_free(m);

    /* A function calling itself twice: refused at once, not after 2^depth
     * expansions. */
    m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    f = mb_function(m, "com.prism.test", "Fork", "A", "B", NULL);
    mb_node_domain(m, mb_fn_node(m, f, "Fork", "left", "A", "T"), "com.prism.test");
    mb_node_domain(m, mb_fn_node(m, f, "Fork", "right", "T", "B"), "com.prism.test");
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_node_domain(m, mb_node(m, "Fork", "fork0", "X", "Y"), "com.prism.test");
    double t0 = now_s();
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_MODEL, mb_session(env, m, &s), "'Fork'", "recursive");
    CU_ASSERT(now_s() - t0 < 10.0);
    mb_free(m);
}

/* A chain of functions each calling the next twice: 2^24 nodes from a
 * few hundred bytes. Refused with a clear error instead of eating memory. */
static void test_function_bomb(void) {
    mb_model *m = mb_new(17);
    mb_opset(m, "com.prism.test", 1);
    char name[32], next[32];
    const int levels = 24;
    for (int i = 0; i < levels; i++) {
        snprintf(name, sizeof name, "F%d", i);
        snprintf(next, sizeof next, "F%d", i + 1);
        Onnx__FunctionProto *f = mb_function(m, "com.prism.test", name, "A", "B", NULL);
        if (i == levels - 1) {
            mb_fn_node(m, f, "Relu", "leaf", "A", "B");
        } else {
            mb_node_domain(m, mb_fn_node(m, f, next, "a", "A", "T"), "com.prism.test");
            mb_node_domain(m, mb_fn_node(m, f, next, "b", "T", "B"), "com.prism.test");
        }
    }
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 1, D4);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 1, D4);
    mb_node_domain(m, mb_node(m, "F0", "root", "X", "Y"), "com.prism.test");
    prism_model *pm = NULL;
    double t0 = now_s();
    prism_status st = mb_load(m, &pm);
    CU_ASSERT(now_s() - t0 < 20.0); /* generous: sanitizer builds on a busy machine */
    CU_ASSERT_EQUAL(st, PRISM_ERR_INVALID_MODEL);
    MB_CONTAINS(prism_last_error_message(), "inlin");
    if (st == PRISM_OK) prism_model_destroy(pm);
    mb_free(m);
}

/* ---- environments, providers, options ------------------------------------------- */

typedef struct log_capture {
    char text[8192];
    size_t len;
} log_capture;

static void capture_log(void *user, prism_log_level level, const char *message) {
    log_capture *c = user;
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "%d:%s\n", (int)level, message);
    if (n > 0 && c->len + (size_t)n < sizeof c->text) c->len += (size_t)n;
}

static void test_env_providers(void) {
    prism_env *e;
    UNIT_OK(prism_env_create(&e));
    log_capture cap = {.len = 0};
    prism_env_set_logger(e, capture_log, &cap, PRISM_LOG_DEBUG);
    CU_ASSERT_EQUAL(prism_env_provider_count(e), 0);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_env_load_provider(e, "nosuchthing"), "nosuchthing", "searched");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_env_load_provider(e, "Bad Name"), "Bad Name");
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, prism_env_load_provider(e, "/nonexistent/libx.so"), "/nonexistent/libx.so");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_env_load_provider(e, NULL), "NULL");
    UNIT_OK(prism_env_load_provider(e, "cpu"));
    UNIT_OK(prism_env_load_provider(e, "cpu")); /* twice is fine */
    CU_ASSERT_EQUAL_FATAL(prism_env_provider_count(e), 1);
    CU_ASSERT_STRING_EQUAL(prism_env_provider_name(e, 0), "cpu");
    MB_CONTAINS(prism_env_provider_path(e, 0), "libprism_provider_cpu.so");
    CU_ASSERT_PTR_NOT_NULL(prism_env_provider_version(e, 0));
    CU_ASSERT_STRING_EQUAL(prism_env_provider_reason(e, 0), "");
    CU_ASSERT_PTR_NULL(prism_env_provider_name(e, 1));
    CU_ASSERT_EQUAL(prism_env_device_count(e, 0), 1);
    prism_device_desc d = {.struct_size = sizeof d};
    UNIT_OK(prism_env_device(e, 0, 0, &d));
    CU_ASSERT_EQUAL(d.type, PRISM_DEVICE_CPU);
    CU_ASSERT_PTR_NOT_NULL(d.name);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_env_device(e, 0, 1, &d), "device 1");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_env_device(e, 3, 0, &d), "provider 3");
    prism_device_desc small = {.struct_size = 4};
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_env_device(e, 0, 0, &small), "struct_size");
    MB_CONTAINS(cap.text, "loaded provider 'cpu'");
    UNIT_OK(prism_env_load_all_providers(e));
    CU_ASSERT(prism_env_provider_count(e) >= 1);
    prism_env_destroy(e);
    prism_env_destroy(NULL);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_env_create(NULL), "NULL");
}

static void test_options(void) {
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_threads(o, 5000), "5000");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_providers(o, "cpu,,opencl"), "empty");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_providers(o, NULL), "NULL");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_provider_option(o, "cpu", NULL, "1"),
                   "NULL");
    mb_model *m = mb_add_relu_model();
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    mb_free(m);
    prism_session *s = NULL;
    /* An unknown provider is named. */
    UNIT_OK(prism_session_options_set_providers(o, "nosuchprov"));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_create_from_memory(env, buf, n, o, &s), "nosuchprov");
    /* A provider option the CPU provider does not know is named. */
    UNIT_OK(prism_session_options_set_providers(o, "cpu"));
    UNIT_OK(prism_session_options_set_provider_option(o, "cpu", "bogus_key", "1"));
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create_from_memory(env, buf, n, o, &s), "bogus_key",
                   "cpu");
    CU_ASSERT_PTR_NULL(s);
    prism_session_options_destroy(o);
    /* Threads option set and valid: runs. */
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_threads(o, 3));
    UNIT_OK(prism_session_options_set_provider_option(o, "cpu", "threads", "2"));
    UNIT_OK(prism_session_create_from_memory(env, buf, n, o, &s));
    check_add_session(s);
    prism_session_destroy(s);
    prism_session_options_destroy(o);
    prism_session_options_destroy(NULL);
    free(buf);
}

static void test_names_and_versions(void) {
    CU_ASSERT_STRING_EQUAL(prism_status_name(PRISM_OK), "PRISM_OK");
    CU_ASSERT_STRING_EQUAL(prism_status_name(PRISM_ERR_INVALID_MODEL), "PRISM_ERR_INVALID_MODEL");
    CU_ASSERT_PTR_NOT_NULL(prism_status_name((prism_status)1234));
    CU_ASSERT_STRING_EQUAL(prism_version_string(), "0.1.0");
    CU_ASSERT_STRING_EQUAL(prism_dtype_name(PRISM_DTYPE_FLOAT), "float");
    CU_ASSERT_STRING_EQUAL(prism_dtype_name((prism_dtype)77), "undefined");
    CU_ASSERT_EQUAL(prism_dtype_size(PRISM_DTYPE_DOUBLE), 8);
    CU_ASSERT_EQUAL(prism_dtype_size((prism_dtype)-3), 0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("session", suite_init, suite_clean);
    CU_add_test(s, "session from memory", test_from_memory);
    CU_add_test(s, "model inspection", test_model_inspection);
    CU_add_test(s, "session inputs and outputs", test_session_io_info);
    CU_add_test(s, "placement text and json", test_placement);
    CU_add_test(s, "graph without nodes", test_no_nodes);
    CU_add_test(s, "run errors keep the session usable", test_run_errors);
    CU_add_test(s, "symbolic dims and kernel errors", test_run_symbolic_and_kernel_error);
    CU_add_test(s, "selected and repeated outputs", test_select_outputs);
    CU_add_test(s, "function with ref_attr_name", test_function_ref_attr);
    CU_add_test(s, "nested functions", test_function_nested);
    CU_add_test(s, "recursive functions refused", test_function_recursive);
    CU_add_test(s, "function expansion bomb refused", test_function_bomb);
    CU_add_test(s, "env and providers", test_env_providers);
    CU_add_test(s, "session options", test_options);
    CU_add_test(s, "names and versions", test_names_and_versions);
    return unit_run_all();
}
