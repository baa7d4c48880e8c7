/*
 * pool.c — MaxPool (kernel, strides, pads, dilations, ceil_mode, auto_pad;
 * the Indices output is declined), AveragePool (count_include_pad,
 * ceil_mode), GlobalAveragePool and GlobalMaxPool, on 1-D to 3-D NC...
 * tensors (kernels/pool.cl).
 */
#include <stdio.h>
#include <string.h>

#include "ocl_nn.h"

static bool rank_ok(const ocl_node *node, int32_t lo, char *why, size_t why_size) {
    int32_t r = ocl_node_input_rank(node, 0);
    if (r >= 0 && (r < lo || r > 5)) {
        snprintf(why, why_size, "rank %d input (ranks %d to 5 only)", r, lo);
        return false;
    }
    return true;
}

static bool pool_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!ocl_all_float(node, why, why_size) || !rank_ok(node, 3, why, why_size)) return false;
    if (ocl_node_has_output(node, 1)) {
        snprintf(why, why_size, "the Indices output is not supported");
        return false;
    }
    if (ocl_attr_int(node, "storage_order", 0) != 0) {
        snprintf(why, why_size, "storage_order 1 is not supported");
        return false;
    }
    int32_t r = ocl_node_input_rank(node, 0);
    ocl_window w;
    size_t nk = ocl_attr_ints(node, "kernel_shape", NULL);
    return ocl_window_parse(node, r >= 0 ? r - 2 : (int32_t)(nk ? nk : 1), true, &w, why, why_size);
}

static prism_status prepare_pool(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    return ocl_program_require(ctx, "pool", ocl_compute_type(ocl_node_input_dtype(node, 0)));
}

static prism_status pool_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                             uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "missing input");
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    if (!type || x->rank < 3 || x->rank > 5)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "input must be float of rank 3 to 5 (got rank %d)", x->rank);
    const int32_t sp = x->rank - 2;
    bool is_max = !strcmp(ocl_node_op(node), "MaxPool");
    char why[256];
    ocl_window w;
    if (!ocl_window_parse(node, sp, true, &w, why, sizeof why)) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "%s", why);
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1}, pb3[3] = {0, 0, 0},
            pe3[3] = {0, 0, 0}, out3[3] = {1, 1, 1}, ydims[OCL_MAX_RANK];
    ydims[0] = x->dims[0];
    ydims[1] = x->dims[1];
    for (int32_t i = 0; i < sp; i++) {
        int32_t j = 3 - sp + i;
        int64_t pb, pe, o;
        if (!ocl_window_out(&w, i, x->dims[2 + i], w.k[i], &pb, &pe, &o))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "the window is larger than padded input dim %d", i);
        if (x->dims[2 + i] > INT32_MAX || o > INT32_MAX) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "dims beyond 2^31");
        in3[j] = x->dims[2 + i], k3[j] = w.k[i], s3[j] = w.s[i], d3[j] = w.d[i], pb3[j] = pb;
        pe3[j] = pe, out3[j] = o;
        ydims[2 + i] = o;
    }
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, x->dtype, x->rank, ydims, &y);
    if (st || !y->count) return st;
    int mode = is_max ? 0 : ocl_attr_int(node, "count_include_pad", 0) ? 2 : 1;
    size_t global[3] = {(size_t)(out3[0] * out3[1] * out3[2]), (size_t)x->dims[1], (size_t)x->dims[0]};
    ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(y->mem), ocl_arg_i32((int32_t)x->dims[1]),
                      ocl_arg_i32((int32_t)in3[0]), ocl_arg_i32((int32_t)in3[1]), ocl_arg_i32((int32_t)in3[2]),
                      ocl_arg_i32((int32_t)out3[0]), ocl_arg_i32((int32_t)out3[1]), ocl_arg_i32((int32_t)out3[2]),
                      ocl_arg_i32((int32_t)k3[0]), ocl_arg_i32((int32_t)k3[1]), ocl_arg_i32((int32_t)k3[2]),
                      ocl_arg_i32((int32_t)s3[0]), ocl_arg_i32((int32_t)s3[1]), ocl_arg_i32((int32_t)s3[2]),
                      ocl_arg_i32((int32_t)pb3[0]), ocl_arg_i32((int32_t)pb3[1]), ocl_arg_i32((int32_t)pb3[2]),
                      ocl_arg_i32((int32_t)d3[0]), ocl_arg_i32((int32_t)d3[1]), ocl_arg_i32((int32_t)d3[2]),
                      ocl_arg_i32(mode), ocl_arg_i32((int32_t)pe3[0]), ocl_arg_i32((int32_t)pe3[1]),
                      ocl_arg_i32((int32_t)pe3[2])};
    if (ocl_cpu_kernels(ctx)) { /* one work-item per output row */
        global[0] = (size_t)(out3[0] * out3[1]);
        return ocl_launch(ctx, "pool", type, "pool_rows", 3, global, NULL, sizeof args / sizeof args[0], args);
    }
    return ocl_launch(ctx, "pool", type, "pool", 3, global, NULL, sizeof args / sizeof args[0], args);
}

static bool global_supports(const ocl_node *node, char *why, size_t why_size) {
    return ocl_all_float(node, why, why_size) && rank_ok(node, 2, why, why_size);
}

static prism_status global_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "missing input");
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    if (!type || x->rank < 2) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "input must be float of rank >= 2");
    int64_t dims[OCL_MAX_RANK];
    dims[0] = x->dims[0];
    dims[1] = x->dims[1];
    int64_t S = 1;
    for (int32_t i = 2; i < x->rank; i++) {
        dims[i] = 1;
        S *= x->dims[i];
    }
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, x->dtype, x->rank, dims, &y);
    if (st || !y->count) return st;
    if (!S) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "global pooling over an empty spatial extent");
    size_t l = 64;
    size_t global[1] = {(size_t)(x->dims[0] * x->dims[1]) * l}, local[1] = {l};
    ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(y->mem), ocl_arg_i64(S),
                      ocl_arg_i32(!strcmp(ocl_node_op(node), "GlobalMaxPool") ? 0 : 1), ocl_arg_local(l * sizeof(float))};
    return ocl_launch(ctx, "pool", type, "global_pool", 1, global, local, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_maxpool = {.supports = pool_supports, .prepare = prepare_pool, .run = pool_run};
const ocl_kernel_def ocl_op_averagepool = {.supports = pool_supports, .prepare = prepare_pool, .run = pool_run};
const ocl_kernel_def ocl_op_globalaveragepool = {.supports = global_supports, .prepare = prepare_pool,
                                                 .run = global_run};
const ocl_kernel_def ocl_op_globalmaxpool = {.supports = global_supports, .prepare = prepare_pool, .run = global_run};
