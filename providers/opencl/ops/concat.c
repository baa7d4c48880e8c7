/*
 * concat.c — Concat on the OpenCL device, any count of inputs of any dtype
 * of 1, 2, 4 or 8 bytes (elements are moved, never looked at).
 *
 * With outer = prod(dims[:axis]) and inner = prod(dims[axis+1:]), input k is
 * an [outer, d_k * inner] block that lands at a column offset of the
 * [outer, sum(d_k) * inner] output: one launch of kernels/concat.cl per
 * non-empty input.
 */
#include <stdio.h>
#include <string.h>

#include "ocl_kernel.h"

static bool concat_supports(const ocl_node *node, char *why, size_t why_size) {
    for (uint32_t k = 0; k < ocl_node_input_count(node); k++) {
        const int32_t dt = ocl_node_input_dtype(node, k);
        if (dt > 0 && (dt == PRISM_DTYPE_STRING || !ocl_move_type(dt))) {
            snprintf(why, why_size, "Concat does not move elements of this dtype on the device");
            return false;
        }
        if (ocl_node_input_rank(node, k) > OCL_MAX_RANK) {
            snprintf(why, why_size, "Concat runs on tensors of rank %d at most", OCL_MAX_RANK);
            return false;
        }
    }
    return true;
}

static prism_status concat_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat needs inputs");
    const ocl_tensor *x0 = in[0];
    const int32_t r = x0->rank;
    if (r == 0) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat cannot join scalars");
    const char *type = x0->dtype == PRISM_DTYPE_STRING ? NULL : ocl_move_type(x0->dtype);
    if (!type || r > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Concat does not run on this input on the device");
    /* opset 1 made axis optional with default 1 */
    const int64_t attr = ocl_attr_int(node, "axis", ocl_node_opset(node) < 4 ? 1 : 0);
    int64_t axis;
    if (!ocl_norm_axis(attr, r, &axis))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat axis %lld out of range for rank %d", (long long)attr, (int)r);
    int64_t dims[OCL_MAX_RANK];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)r);
    dims[axis] = 0;
    for (uint32_t k = 0; k < n_in; k++) {
        const ocl_tensor *x = in[k];
        if (!x) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u is missing", k);
        if (x->rank != r || x->dtype != x0->dtype)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u has another rank or type", k);
        for (int32_t d = 0; d < r; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u has dimension %d = %lld, expected %lld", k,
                                (int)d, (long long)x->dims[d], (long long)x0->dims[d]);
        dims[axis] += x->dims[axis];
    }
    ocl_tensor *y;
    prism_status s = ocl_output(ctx, 0, x0->dtype, r, dims, &y);
    if (s || y->count == 0) return s;
    const int64_t outer = ocl_shape_count((int32_t)axis, dims);
    const int64_t inner = ocl_shape_count(r - (int32_t)axis - 1, dims + axis + 1);
    const int64_t row = dims[axis] * inner;
    int64_t off = 0;
    for (uint32_t k = 0; k < n_in && !s; k++) {
        const int64_t blk = in[k]->dims[axis] * inner;
        if (blk > 0) {
            const ocl_arg args[] = {ocl_arg_mem(in[k]->mem), ocl_arg_mem(y->mem), ocl_arg_i64(outer),
                                    ocl_arg_i64(blk),        ocl_arg_i64(row),    ocl_arg_i64(off)};
            const size_t global = (size_t)(outer * blk);
            s = ocl_launch(ctx, "concat", type, "concat_part", 1, &global, NULL, sizeof args / sizeof args[0], args);
        }
        off += blk;
    }
    return s;
}

const ocl_kernel_def ocl_op_Concat = {.supports = concat_supports, .run = concat_run};
