/*
 * test_double_kernels.c — the CPU provider's double-precision contractions
 * (Conv, ConvTranspose, DeformConv share one plain-C double GEMM) against
 * its float path, which goes through OpenBLAS: two independent
 * implementations of the same op must agree to float precision.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit_util.h"

static prism_env *env;

typedef struct operand {
    const char *name;
    int rank;
    int64_t dims[4];
    double scale;
} operand;

static int64_t count_of(const operand *o) {
    int64_t n = 1;
    for (int i = 0; i < o->rank; i++) n *= o->dims[i];
    return n;
}

/* Runs op on inputs (deterministic values) in dtype; returns Y as doubles. */
static double *run_op(int32_t dtype, const char *op, const operand *ins, int n_in, void (*attrs)(mb_model *,
                      Onnx__NodeProto *), int64_t opset, int64_t *out_count) {
    mb_model *m = mb_new(opset);
    char names[64] = "";
    for (int i = 0; i < n_in; i++) {
        mb_input(m, ins[i].name, dtype, ins[i].rank, ins[i].dims);
        strcat(names, i ? "," : "");
        strcat(names, ins[i].name);
    }
    mb_output(m, "Y", dtype, -1, NULL);
    attrs(m, mb_node(m, op, "n", names, "Y"));
    prism_session *s = NULL;
    UNIT_OK(mb_session(env, m, &s));
    mb_free(m);
    prism_tensor *t[4] = {0};
    const char *in_names[4];
    for (int i = 0; i < n_in; i++) {
        UNIT_OK(prism_tensor_create((prism_dtype)dtype, ins[i].dims, (size_t)ins[i].rank, &t[i]));
        in_names[i] = ins[i].name;
        for (int64_t k = 0; k < count_of(&ins[i]); k++) {
            double v = sin((double)(k + 1) * (0.7 + i)) * ins[i].scale;
            if (dtype == PRISM_DTYPE_DOUBLE) ((double *)prism_tensor_data(t[i]))[k] = v;
            else ((float *)prism_tensor_data(t[i]))[k] = (float)v;
        }
    }
    prism_tensor *y = NULL;
    UNIT_OK(prism_session_run(s, in_names, (const prism_tensor *const *)t, (size_t)n_in, NULL, 1, &y));
    *out_count = prism_tensor_element_count(y);
    double *out = malloc((size_t)*out_count * sizeof *out);
    for (int64_t k = 0; k < *out_count; k++)
        out[k] = dtype == PRISM_DTYPE_DOUBLE ? ((const double *)prism_tensor_data_const(y))[k]
                                             : ((const float *)prism_tensor_data_const(y))[k];
    prism_tensor_destroy(y);
    for (int i = 0; i < n_in; i++) prism_tensor_destroy(t[i]);
    prism_session_destroy(s);
    return out;
}

static void compare(const char *op, const operand *ins, int n_in, void (*attrs)(mb_model *, Onnx__NodeProto *),
                    int64_t opset) {
    int64_t nf, nd;
    double *f = run_op(PRISM_DTYPE_FLOAT, op, ins, n_in, attrs, opset, &nf);
    double *d = run_op(PRISM_DTYPE_DOUBLE, op, ins, n_in, attrs, opset, &nd);
    CU_ASSERT_EQUAL_FATAL(nf, nd);
    CU_ASSERT(nd > 0);
    double worst = 0, norm = 0;
    for (int64_t k = 0; k < nd; k++) {
        worst = fmax(worst, fabs(f[k] - d[k]));
        norm = fmax(norm, fabs(d[k]));
    }
    if (!(worst <= 1e-5 * (1 + norm))) fprintf(stderr, "\n%s: float vs double differ by %g (max |y| %g)\n", op, worst, norm);
    CU_ASSERT(worst <= 1e-5 * (1 + norm));
    CU_ASSERT(norm > 0.1); /* the outputs are not trivially zero */
    free(f);
    free(d);
}

static void conv_attrs(mb_model *m, Onnx__NodeProto *n) {
    mb_attr_ints(m, n, "pads", 4, (int64_t[]){1, 1, 1, 1});
    mb_attr_ints(m, n, "strides", 2, (int64_t[]){2, 1});
}
static void conv_pointwise_attrs(mb_model *m, Onnx__NodeProto *n) { (void)m, (void)n; }
static void convt_attrs(mb_model *m, Onnx__NodeProto *n) {
    mb_attr_ints(m, n, "strides", 2, (int64_t[]){2, 2});
    mb_attr_ints(m, n, "pads", 4, (int64_t[]){1, 0, 0, 1});
}
static void deform_attrs(mb_model *m, Onnx__NodeProto *n) { mb_attr_ints(m, n, "pads", 4, (int64_t[]){1, 1, 1, 1}); }

static void test_conv(void) {
    operand ins[3] = {{"X", 4, {2, 3, 7, 6}, 1}, {"W", 4, {5, 3, 3, 3}, 0.5}, {"B", 1, {5}, 1}};
    compare("Conv", ins, 3, conv_attrs, 17);
    operand pw[2] = {{"X", 4, {1, 8, 5, 5}, 1}, {"W", 4, {4, 8, 1, 1}, 0.5}};
    compare("Conv", pw, 2, conv_pointwise_attrs, 17);
}

static void test_conv_transpose(void) {
    operand ins[3] = {{"X", 4, {1, 4, 5, 4}, 1}, {"W", 4, {4, 3, 3, 3}, 0.5}, {"B", 1, {3}, 1}};
    compare("ConvTranspose", ins, 3, convt_attrs, 17);
}

static void test_deform_conv(void) {
    operand ins[3] = {{"X", 4, {1, 2, 6, 6}, 1}, {"W", 4, {3, 2, 3, 3}, 0.5}, {"O", 4, {1, 18, 6, 6}, 0.7}};
    compare("DeformConv", ins, 3, deform_attrs, 19);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("double contractions", NULL, NULL);
    CU_add_test(s, "Conv", test_conv);
    CU_add_test(s, "ConvTranspose", test_conv_transpose);
    CU_add_test(s, "DeformConv", test_deform_conv);
    if (prism_env_create(&env)) return 1;
    int rc = unit_run_all();
    prism_env_destroy(env);
    return rc;
}
