/*
 * gather.c — Gather along one axis on the OpenCL device: data of any dtype
 * of 1, 2, 4 or 8 bytes, int32 or int64 indices (negative ones count from
 * the end).
 *
 * Data is viewed as [outer, n, inner] and the indices as a flat list of m;
 * the output is [outer, m, inner] (kernels/gather.cl). Indices that are
 * graph constants are checked on the host, so an index out of range is an
 * error naming it; indices computed on the device cannot be checked without
 * waiting for the queue, and an out-of-range one there yields zeros (never
 * a read outside the data).
 */
#include <stdio.h>

#include "ocl_kernel.h"

static bool gather_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0), it = ocl_node_input_dtype(node, 1);
    if (dt > 0 && (dt == PRISM_DTYPE_STRING || !ocl_move_type(dt))) {
        snprintf(why, why_size, "Gather does not move elements of this dtype on the device");
        return false;
    }
    if (it > 0 && it != PRISM_DTYPE_INT32 && it != PRISM_DTYPE_INT64) {
        snprintf(why, why_size, "Gather indices must be int32 or int64");
        return false;
    }
    return true;
}

static prism_status gather_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather needs data and indices");
    const ocl_tensor *x = in[0], *ind = in[1];
    const char *type = x->dtype == PRISM_DTYPE_STRING ? NULL : ocl_move_type(x->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Gather does not move this dtype on the device");
    if (ind->dtype != PRISM_DTYPE_INT32 && ind->dtype != PRISM_DTYPE_INT64)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather indices must be int32 or int64");
    const int64_t attr = ocl_attr_int(node, "axis", 0);
    int64_t axis;
    if (!ocl_norm_axis(attr, x->rank, &axis))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather axis %lld out of range for rank %d", (long long)attr,
                        (int)x->rank);
    const int32_t r = x->rank - 1 + ind->rank;
    if (r > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather result rank %d exceeds %d", (int)r, OCL_MAX_RANK);
    const int64_t n = x->dims[axis];
    if (ind->host) {
        for (int64_t i = 0; i < ind->count; i++) {
            const int64_t v = ind->dtype == PRISM_DTYPE_INT32 ? ((const int32_t *)ind->host)[i]
                                                              : ((const int64_t *)ind->host)[i];
            if (v < -n || v >= n)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather index %lld is out of range [%lld, %lld]",
                                (long long)v, (long long)-n, (long long)n - 1);
        }
    }
    int64_t dims[OCL_MAX_RANK];
    int32_t k = 0;
    for (int32_t d = 0; d < axis; d++) dims[k++] = x->dims[d];
    for (int32_t d = 0; d < ind->rank; d++) dims[k++] = ind->dims[d];
    for (int32_t d = (int32_t)axis + 1; d < x->rank; d++) dims[k++] = x->dims[d];
    ocl_tensor *y;
    prism_status s = ocl_output(ctx, 0, x->dtype, r, dims, &y);
    if (s || y->count == 0) return s;
    if (n == 0) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gather from an empty axis");
    const int64_t outer = ocl_shape_count((int32_t)axis, x->dims);
    const int64_t inner = ocl_shape_count(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
    const ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(ind->mem), ocl_arg_mem(y->mem),
                            ocl_arg_i64(outer),  ocl_arg_i64(n),        ocl_arg_i64(ind->count),
                            ocl_arg_i64(inner)};
    const size_t global = (size_t)y->count;
    return ocl_launch(ctx, "gather", type, ind->dtype == PRISM_DTYPE_INT32 ? "gather_i32" : "gather_i64", 1, &global,
                      NULL, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_Gather = {.supports = gather_supports, .run = gather_run};
