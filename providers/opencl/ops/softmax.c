/*
 * softmax.c — Softmax and LogSoftmax on the OpenCL device (float32, and
 * float16 where the device has it).
 *
 * Opsets before 13 flatten the input to 2-D at `axis` (default 1) and
 * normalise each row of prod(dims[axis:]) elements; from 13 the op runs
 * along the one dim `axis` (default -1). Both are lines of n elements that
 * lie `inner` apart: the old form is the new one with n = prod(dims[axis:])
 * and inner = 1. kernels/softmax.cl gives each line one work-group that
 * subtracts the line's maximum before exp (numerically stable).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_kernel.h"

/* Work-group size cap: enough lanes to hide latency, small local memory. */
#define SM_GROUP_MAX 256

typedef struct sm_state {
    int64_t axis;
    bool coerce_2d; /* opset < 13 */
    bool log;       /* LogSoftmax */
} sm_state;

static bool sm_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0);
    if (dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node))) return true;
    snprintf(why, why_size, "%s runs on float32%s only", ocl_node_op(node),
             ocl_node_device_fp16(node) ? " and float16" : "");
    return false;
}

static prism_status sm_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    sm_state *st = malloc(sizeof *st);
    if (!st) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->coerce_2d = ocl_node_opset(node) < 13;
    st->axis = ocl_attr_int(node, "axis", st->coerce_2d ? 1 : -1);
    st->log = !strcmp(ocl_node_op(node), "LogSoftmax");
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    prism_status s = type ? ocl_program_require(ctx, "softmax", type) : PRISM_OK;
    if (s) {
        free(st);
        return s;
    }
    *state = st;
    return PRISM_OK;
}

static void sm_release(void *state) { free(state); }

/* Smallest power of two >= n, capped by the device and SM_GROUP_MAX. */
static size_t sm_group(ocl_ctx *ctx, int64_t n) {
    size_t cap = ocl_device_max_group(ctx);
    if (cap > SM_GROUP_MAX || cap == 0) cap = SM_GROUP_MAX;
    size_t g = 1;
    while (g < cap && (int64_t)g < n) g <<= 1;
    while (g > cap) g >>= 1;
    return g;
}

static prism_status sm_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    const sm_state *st = state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs an input", ocl_node_op(node));
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not run on this dtype", ocl_node_op(node));
    int64_t axis;
    if (!ocl_norm_axis(st->axis, x->rank, &axis))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis,
                        (int)x->rank);
    const int32_t ax = (int32_t)axis;
    int64_t n, inner;
    if (st->coerce_2d) {
        n = ocl_shape_count(x->rank - ax, x->dims + ax);
        inner = 1;
    } else {
        n = x->dims[ax];
        inner = ocl_shape_count(x->rank - ax - 1, x->dims + ax + 1);
    }
    ocl_tensor *y;
    prism_status s = ocl_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s || x->count == 0) return s;
    const int64_t lines = x->count / n;
    if (ocl_cpu_kernels(ctx)) { /* one work-item per line */
        const ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(y->mem), ocl_arg_i64(n),
                                ocl_arg_i64(inner),  ocl_arg_i64(lines),  ocl_arg_i32(st->log)};
        const size_t global = (size_t)lines;
        return ocl_launch(ctx, "softmax", type, "softmax_lines", 1, &global, NULL, sizeof args / sizeof args[0], args);
    }
    const size_t group = sm_group(ctx, n);
    const ocl_arg args[] = {ocl_arg_mem(x->mem),  ocl_arg_mem(y->mem),    ocl_arg_i64(n),
                            ocl_arg_i64(inner),   ocl_arg_i32(st->log),   ocl_arg_local(group * sizeof(float))};
    const size_t global = (size_t)lines * group;
    return ocl_launch(ctx, "softmax", type, "softmax", 1, &global, &group, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_Softmax = {
    .supports = sm_supports, .prepare = sm_prepare, .run = sm_run, .release = sm_release};
const ocl_kernel_def ocl_op_LogSoftmax = {
    .supports = sm_supports, .prepare = sm_prepare, .run = sm_run, .release = sm_release};
