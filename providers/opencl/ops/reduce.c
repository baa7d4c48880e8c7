/*
 * reduce.c — ReduceSum, ReduceMean, ReduceMax and ReduceMin on the OpenCL
 * device (float32, and float16 where the device has it).
 *
 * Axes come from an attribute in old opsets and from an optional input in
 * new ones (ReduceSum from 13, the others from 18), read on the host.
 * keepdims keeps reduced dims as 1; no axes reduces everything, or with
 * noop_with_empty_axes nothing (the output is the input: a view).
 *
 * The input's dims are split into kept and reduced blocks, unit dims
 * dropped and neighbours of one kind merged (blocks of the two kinds then
 * alternate, so rank 8 needs at most 4 of each); kernels/reduce.c gives
 * every output element one work-group.
 */
#include <stdio.h>
#include <string.h>

#include "ocl_kernel.h"

_Static_assert(OCL_MAX_RANK == 8, "kernels/reduce.cl takes 4 kept and 4 reduced blocks");

/* Op codes: must match kernels/reduce.cl. */
enum { RD_SUM = 0, RD_MEAN = 1, RD_MAX = 2, RD_MIN = 3 };

#define RD_GROUP_MAX 256
#define RD_BLOCKS 4

static int rd_op(const char *name) {
    if (!strcmp(name, "ReduceSum")) return RD_SUM;
    if (!strcmp(name, "ReduceMean")) return RD_MEAN;
    if (!strcmp(name, "ReduceMax")) return RD_MAX;
    if (!strcmp(name, "ReduceMin")) return RD_MIN;
    return -1;
}

static bool rd_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0);
    if (rd_op(ocl_node_op(node)) < 0) {
        snprintf(why, why_size, "%s is not a supported reduction", ocl_node_op(node));
        return false;
    }
    if (!(dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node)))) {
        snprintf(why, why_size, "%s runs on float32%s only", ocl_node_op(node),
                 ocl_node_device_fp16(node) ? " and float16" : "");
        return false;
    }
    if (ocl_node_input_rank(node, 0) > OCL_MAX_RANK) {
        snprintf(why, why_size, "%s runs on tensors of rank %d at most", ocl_node_op(node), OCL_MAX_RANK);
        return false;
    }
    return true;
}

static prism_status rd_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    return type ? ocl_program_require(ctx, "reduce", type) : PRISM_OK;
}

static prism_status rd_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    (void)state;
    const char *name = ocl_node_op(node);
    const int op = rd_op(name);
    if (op < 0) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "not a reduction");
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs data", name);
    const ocl_tensor *x = in[0];
    const int32_t r = x->rank;
    const char *type = ocl_compute_type(x->dtype);
    if (!type || r > OCL_MAX_RANK) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not run on this input", name);
    int64_t axes[OCL_MAX_RANK];
    size_t na = 0;
    prism_status s;
    if (ocl_node_opset(node) >= (op == RD_SUM ? 13 : 18)) {
        if (n_in > 1 && in[1]) {
            const ocl_tensor *t = in[1];
            if (t->rank > 1 || (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32))
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s axes must be a 1-D int64 tensor", name);
            if (t->count > OCL_MAX_RANK)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s has %lld axes for rank %d", name, (long long)t->count,
                                (int)r);
            if ((s = ocl_read_ints(ctx, t, axes, OCL_MAX_RANK, &na))) return s;
        }
    } else {
        const int64_t *a;
        na = ocl_attr_ints(node, "axes", &a);
        if (na > OCL_MAX_RANK) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s has %zu axes for rank %d", name, na, (int)r);
        if (na) memcpy(axes, a, na * sizeof *a);
    }
    const bool keep = ocl_attr_int(node, "keepdims", 1) != 0;
    const bool noop = ocl_attr_int(node, "noop_with_empty_axes", 0) != 0;
    bool red[OCL_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int64_t a;
        if (!ocl_norm_axis(axes[i], r, &a))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s axis %lld out of range for rank %d", name,
                            (long long)axes[i], (int)r);
        if (red[a]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s axis %lld repeated", name, (long long)axes[i]);
        red[a] = true;
    }
    ocl_tensor *y;
    if (na == 0) {
        if (noop) return ocl_output_view(ctx, 0, x, x->rank, x->dims, &y);
        for (int32_t d = 0; d < r; d++) red[d] = true;
    }
    /* output dims; kept and reduced blocks, innermost first */
    int64_t dims[OCL_MAX_RANK], kd[RD_BLOCKS] = {1, 1, 1, 1}, ks[RD_BLOCKS] = {0}, rdim[RD_BLOCKS] = {1, 1, 1, 1},
                                rs[RD_BLOCKS] = {0};
    int32_t orank = 0, nk = 0, nr = 0;
    int64_t n_red = 1;
    for (int32_t d = 0; d < r; d++) {
        if (!red[d])
            dims[orank++] = x->dims[d];
        else {
            if (keep) dims[orank++] = 1;
            n_red *= x->dims[d];
        }
    }
    int64_t stride = 1;
    int last = -1; /* kind of the previous non-unit dim: 0 kept, 1 reduced */
    for (int32_t d = r - 1; d >= 0; d--) {
        const int64_t n = x->dims[d];
        if (n != 1) {
            const int kind = red[d] ? 1 : 0;
            int32_t *cnt = kind ? &nr : &nk;
            int64_t *bd = kind ? rdim : kd, *bs = kind ? rs : ks;
            if (last == kind && bs[*cnt - 1] * bd[*cnt - 1] == stride) {
                bd[*cnt - 1] *= n;
            } else {
                if (*cnt >= RD_BLOCKS) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "%s: too many blocks", name);
                bd[*cnt] = n;
                bs[*cnt] = stride;
                (*cnt)++;
            }
            last = kind;
        }
        stride *= n;
    }
    if ((s = ocl_output(ctx, 0, x->dtype, orank, dims, &y))) return s;
    const int64_t outs = ocl_shape_count(orank, dims);
    if (outs == 0) return PRISM_OK;
    size_t cap = ocl_device_max_group(ctx), group = 1;
    if (cap > RD_GROUP_MAX || cap == 0) cap = RD_GROUP_MAX;
    while (group < cap && (int64_t)group < n_red) group <<= 1;
    while (group > cap) group >>= 1;
    ocl_arg args[6 + 4 * RD_BLOCKS + 1];
    uint32_t c = 0;
    args[c++] = ocl_arg_mem(x->mem);
    args[c++] = ocl_arg_mem(y->mem);
    args[c++] = ocl_arg_i64(n_red);
    args[c++] = ocl_arg_i32(op);
    args[c++] = ocl_arg_i32(nk);
    for (int i = 0; i < RD_BLOCKS; i++) args[c++] = ocl_arg_i64(kd[i]);
    for (int i = 0; i < RD_BLOCKS; i++) args[c++] = ocl_arg_i64(ks[i]);
    args[c++] = ocl_arg_i32(n_red == 0 ? 0 : nr);
    for (int i = 0; i < RD_BLOCKS; i++) args[c++] = ocl_arg_i64(rdim[i]);
    for (int i = 0; i < RD_BLOCKS; i++) args[c++] = ocl_arg_i64(rs[i]);
    args[c++] = ocl_arg_local(group * sizeof(float));
    const size_t global = (size_t)outs * group;
    return ocl_launch(ctx, "reduce", type, "reduce", 1, &global, &group, c, args);
}

const ocl_kernel_def ocl_op_ReduceSum = {.supports = rd_supports, .prepare = rd_prepare, .run = rd_run};
const ocl_kernel_def ocl_op_ReduceMean = {.supports = rd_supports, .prepare = rd_prepare, .run = rd_run};
const ocl_kernel_def ocl_op_ReduceMax = {.supports = rd_supports, .prepare = rd_prepare, .run = rd_run};
const ocl_kernel_def ocl_op_ReduceMin = {.supports = rd_supports, .prepare = rd_prepare, .run = rd_run};
