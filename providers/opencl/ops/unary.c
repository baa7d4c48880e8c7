/*
 * unary.c — one-input elementwise ops on the OpenCL device: Relu, LeakyRelu,
 * Clip, Sigmoid, HardSigmoid, HardSwish, Tanh, Erf, Exp, Log, Sqrt, Neg, Abs,
 * Reciprocal and Gelu, for float32 (and float16 where the device has it).
 *
 * Every op is one kernel of kernels/eltwise.cl chosen by an op code, with
 * two float parameters (alpha/beta, or Clip's bounds). Attributes are parsed
 * once in prepare; Clip's bounds from opset 11 are inputs, read on the host
 * (from the constant, or back from the device) on every run.
 */
#include <float.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_kernel.h"

/* Op codes: must match kernels/eltwise.cl. */
enum {
    UN_RELU = 0,
    UN_LEAKY_RELU = 1,
    UN_CLIP = 2,
    UN_SIGMOID = 3,
    UN_HARD_SIGMOID = 4,
    UN_HARD_SWISH = 5,
    UN_TANH = 6,
    UN_ERF = 7,
    UN_EXP = 8,
    UN_LOG = 9,
    UN_SQRT = 10,
    UN_NEG = 11,
    UN_ABS = 12,
    UN_RECIPROCAL = 13,
    UN_GELU_ERF = 14,
    UN_GELU_TANH = 15,
};

typedef struct un_state {
    int op;
    float a, b; /* alpha/beta, or Clip's attribute bounds */
} un_state;

static const struct {
    const char *name;
    int op;
} un_ops[] = {
    {"Relu", UN_RELU},        {"LeakyRelu", UN_LEAKY_RELU},
    {"Clip", UN_CLIP},        {"Sigmoid", UN_SIGMOID},
    {"HardSigmoid", UN_HARD_SIGMOID}, {"HardSwish", UN_HARD_SWISH},
    {"Tanh", UN_TANH},        {"Erf", UN_ERF},
    {"Exp", UN_EXP},          {"Log", UN_LOG},
    {"Sqrt", UN_SQRT},        {"Neg", UN_NEG},
    {"Abs", UN_ABS},          {"Reciprocal", UN_RECIPROCAL},
    {"Gelu", UN_GELU_ERF},
};

static int un_code(const char *op) {
    for (size_t i = 0; i < sizeof un_ops / sizeof un_ops[0]; i++)
        if (!strcmp(un_ops[i].name, op)) return un_ops[i].op;
    return -1;
}

/* float32, or float16 on a device with cl_khr_fp16; unknown (0) passes and
 * is checked at run. */
static bool un_dtype_ok(const ocl_node *node, int32_t dt, char *why, size_t why_size) {
    if (dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node))) return true;
    snprintf(why, why_size, "%s runs on float32%s only", ocl_node_op(node),
             ocl_node_device_fp16(node) ? " and float16" : "");
    return false;
}

static bool un_supports(const ocl_node *node, char *why, size_t why_size) {
    const char *op = ocl_node_op(node);
    if (un_code(op) < 0) {
        snprintf(why, why_size, "%s is not a unary op", op);
        return false;
    }
    if (!strcmp(op, "Gelu")) {
        const char *a = ocl_attr_string(node, "approximate", "none");
        if (strcmp(a, "none") && strcmp(a, "tanh")) {
            snprintf(why, why_size, "Gelu approximate \"%s\" is not \"none\" or \"tanh\"", a);
            return false;
        }
    }
    if (!strcmp(op, "Clip") && ocl_node_opset(node) >= 11) {
        for (uint32_t k = 1; k <= 2; k++) {
            int32_t bt = ocl_node_has_input(node, k) ? ocl_node_input_dtype(node, k) : 0;
            int32_t xt = ocl_node_input_dtype(node, 0);
            if (bt > 0 && xt > 0 && bt != xt) {
                snprintf(why, why_size, "Clip %s has another dtype than the input", k == 1 ? "min" : "max");
                return false;
            }
        }
    }
    return un_dtype_ok(node, ocl_node_input_dtype(node, 0), why, why_size);
}

static prism_status un_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    const char *op = ocl_node_op(node);
    un_state *st = calloc(1, sizeof *st);
    if (!st) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->op = un_code(op);
    switch (st->op) {
    case UN_LEAKY_RELU:
        st->a = ocl_attr_float(node, "alpha", 0.01f);
        break;
    case UN_HARD_SIGMOID:
        st->a = ocl_attr_float(node, "alpha", 0.2f);
        st->b = ocl_attr_float(node, "beta", 0.5f);
        break;
    case UN_GELU_ERF:
        if (!strcmp(ocl_attr_string(node, "approximate", "none"), "tanh")) st->op = UN_GELU_TANH;
        break;
    case UN_CLIP:
        if (ocl_node_opset(node) < 11) {
            /* Clip-6 defaults the bounds to -+FLT_MAX (so +-inf inputs are
             * clipped); in Clip-1 an absent bound means unbounded. */
            const bool v6 = ocl_node_opset(node) >= 6;
            st->a = ocl_attr_float(node, "min", v6 ? -FLT_MAX : -INFINITY);
            st->b = ocl_attr_float(node, "max", v6 ? FLT_MAX : INFINITY);
        } else {
            st->a = -INFINITY;
            st->b = INFINITY;
        }
        break;
    default:
        break;
    }
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    prism_status s = type ? ocl_program_require(ctx, "eltwise", type) : PRISM_OK;
    if (s) {
        free(st);
        return s;
    }
    *state = st;
    return PRISM_OK;
}

/* Clip-11 bound k (1: min, 2: max) into *v when given (an empty tensor is
 * "not given", as in the CPU provider). */
static prism_status un_clip_bound(ocl_ctx *ctx, const ocl_tensor *x, const ocl_tensor *b, uint32_t k, float *v) {
    if (!b || b->count == 0) return PRISM_OK;
    if (b->dtype != x->dtype)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Clip %s has another dtype than the input", k == 1 ? "min" : "max");
    if (b->count != 1)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Clip %s must be a scalar, got %lld elements",
                        k == 1 ? "min" : "max", (long long)b->count);
    size_t n = 0;
    prism_status s = ocl_read_floats(ctx, b, v, 1, &n);
    if (!s && n != 1) s = ocl_fail(ctx, PRISM_ERR_RUNTIME, "Clip %s could not be read", k == 1 ? "min" : "max");
    return s;
}

static prism_status un_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    const un_state *st = state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs an input", ocl_node_op(node));
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not run on this dtype", ocl_node_op(node));
    float a = st->a, b = st->b;
    if (st->op == UN_CLIP && ocl_node_opset(node) >= 11) {
        prism_status s = un_clip_bound(ctx, x, n_in > 1 ? in[1] : NULL, 1, &a);
        if (!s) s = un_clip_bound(ctx, x, n_in > 2 ? in[2] : NULL, 2, &b);
        if (s) return s;
    }
    ocl_tensor *y;
    prism_status s = ocl_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s || x->count == 0) return s;
    const ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(y->mem), ocl_arg_i64(x->count), ocl_arg_i32(st->op),
                            ocl_arg_f32(a),      ocl_arg_f32(b)};
    /* CPU devices: a chunk of elements per work-item for the arithmetic
     * ops; the transcendental ones (erf, exp, tanh...) stay one per
     * work-item, where the device's compiler vectorises the math call
     * across work-items (measured: GELU twice as fast that way on PoCL). */
    const bool cheap = st->op == UN_RELU || st->op == UN_LEAKY_RELU || st->op == UN_CLIP ||
                       st->op == UN_HARD_SIGMOID || st->op == UN_HARD_SWISH || st->op == UN_NEG ||
                       st->op == UN_ABS || st->op == UN_RECIPROCAL || st->op == UN_SQRT;
    /* Erf and exact Gelu on CPU devices: the device's erf does not
     * vectorise; kernels/eltwise.cl has a polynomial form that does. */
    if ((st->op == UN_ERF || st->op == UN_GELU_ERF) && ocl_cpu_kernels(ctx)) {
        const size_t global = (size_t)x->count;
        return ocl_launch(ctx, "eltwise", type, st->op == UN_ERF ? "erf_cpu_flat" : "gelu_erf_cpu_flat", 1, &global,
                          NULL, 3, args);
    }
    if (cheap && ocl_cpu_kernels(ctx)) {
        const size_t chunks = (size_t)((x->count + OCL_ELT_CHUNK - 1) / OCL_ELT_CHUNK);
        return ocl_launch(ctx, "eltwise", type, "unary_chunk", 1, &chunks, NULL, sizeof args / sizeof args[0], args);
    }
    const size_t global = (size_t)x->count;
    return ocl_launch(ctx, "eltwise", type, "unary", 1, &global, NULL, sizeof args / sizeof args[0], args);
}

static void un_release(void *state) { free(state); }

#define UN_DEF(SYM)                                                                                     \
    const ocl_kernel_def ocl_op_##SYM = {                                                               \
        .supports = un_supports, .prepare = un_prepare, .run = un_run, .release = un_release};
UN_DEF(Relu)
UN_DEF(LeakyRelu)
UN_DEF(Clip)
UN_DEF(Sigmoid)
UN_DEF(HardSigmoid)
UN_DEF(HardSwish)
UN_DEF(Tanh)
UN_DEF(Erf)
UN_DEF(Exp)
UN_DEF(Log)
UN_DEF(Sqrt)
UN_DEF(Neg)
UN_DEF(Abs)
UN_DEF(Reciprocal)
UN_DEF(Gelu)
