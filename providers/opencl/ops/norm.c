/*
 * norm.c — LayerNormalization on the OpenCL device (float32, and float16
 * where the device has it), opset 17.
 *
 * The input is viewed as rows x cols with cols = prod(dims[axis:]);
 * kernels/norm.cl gives each row one work-group (mean, then variance from
 * it, then the normalised row). Scale and B must have the normalised shape
 * (leading 1s allowed) or hold one value: other broadcasts are declined.
 * The optional Mean and InvStdDev outputs are computed when they are float32.
 */
#include <stdio.h>
#include <stdlib.h>

#include "ocl_kernel.h"

#define LN_GROUP_MAX 256

typedef struct ln_state {
    int64_t axis;
    float eps;
} ln_state;

static bool ln_float(const ocl_node *node, int32_t dt) {
    return dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node));
}

/* Stride of parameter input k over the row's columns: 1 (the normalised
 * shape, leading 1s allowed), 0 (one value), -1 (anything else), from the
 * dims given. */
static int64_t ln_param_stride(int32_t pr, const int64_t *pd, int32_t xr, const int64_t *xd, int64_t axis) {
    int64_t count = 1;
    for (int32_t i = 0; i < pr; i++) count *= pd[i];
    if (count == 1) return 0;
    const int32_t nr = xr - (int32_t)axis;
    for (int32_t i = 0; i < pr; i++) {
        const int32_t j = i - (pr - nr); /* right-aligned against the normalised dims */
        if (j < 0 ? pd[i] != 1 : pd[i] != xd[axis + j]) return -1;
    }
    return 1;
}

static bool ln_supports(const ocl_node *node, char *why, size_t why_size) {
    const uint32_t n_in = ocl_node_input_count(node);
    for (uint32_t k = 0; k < n_in && k < 3; k++) {
        if (k < 2 || ocl_node_has_input(node, k)) {
            if (!ln_float(node, ocl_node_input_dtype(node, k))) {
                snprintf(why, why_size, "LayerNormalization runs on float32%s only",
                         ocl_node_device_fp16(node) ? " and float16" : "");
                return false;
            }
        }
    }
    for (uint32_t k = 1; k < ocl_node_output_count(node); k++) {
        const int32_t dt = ocl_node_output_dtype(node, k);
        if (ocl_node_has_output(node, k) && dt > 0 && dt != PRISM_DTYPE_FLOAT) {
            snprintf(why, why_size, "LayerNormalization Mean/InvStdDev are computed as float32 only");
            return false;
        }
    }
    const int64_t stash = ocl_attr_int(node, "stash_type", 1);
    if (stash != PRISM_DTYPE_FLOAT) {
        snprintf(why, why_size, "LayerNormalization stash_type %lld is not float32", (long long)stash);
        return false;
    }
    /* parameter shapes, when the view knows them all */
    const int32_t xr = ocl_node_input_rank(node, 0);
    int64_t axis;
    if (xr < 0 || xr > OCL_MAX_RANK || !ocl_norm_axis(ocl_attr_int(node, "axis", -1), xr, &axis)) return true;
    int64_t xd[OCL_MAX_RANK];
    for (int32_t i = 0; i < xr; i++) xd[i] = ocl_node_input_dim(node, 0, (uint32_t)i);
    for (uint32_t k = 1; k < n_in && k < 3; k++) {
        if (!ocl_node_has_input(node, k)) continue;
        const int32_t pr = ocl_node_input_rank(node, k);
        if (pr < 0 || pr > OCL_MAX_RANK) continue;
        int64_t pd[OCL_MAX_RANK];
        bool known = true;
        for (int32_t i = 0; i < pr; i++) {
            pd[i] = ocl_node_input_dim(node, k, (uint32_t)i);
            known = known && pd[i] >= 0;
        }
        for (int32_t i = 0; i < xr; i++) known = known && xd[i] >= 0;
        if (known && ln_param_stride(pr, pd, xr, xd, axis) < 0) {
            snprintf(why, why_size, "LayerNormalization %s broadcasts in a way the device kernel does not",
                     k == 1 ? "Scale" : "B");
            return false;
        }
    }
    return true;
}

static prism_status ln_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    ln_state *st = malloc(sizeof *st);
    if (!st) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->axis = ocl_attr_int(node, "axis", -1);
    st->eps = ocl_attr_float(node, "epsilon", 1e-5f);
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    prism_status s = type ? ocl_program_require(ctx, "norm", type) : PRISM_OK;
    if (s) {
        free(st);
        return s;
    }
    *state = st;
    return PRISM_OK;
}

static void ln_release(void *state) { free(state); }

static prism_status ln_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    const ln_state *st = state;
    if (n_in < 2 || !in[0] || !in[1])
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "LayerNormalization needs X and Scale");
    const ocl_tensor *x = in[0], *sc = in[1], *b = n_in > 2 ? in[2] : NULL;
    const char *type = ocl_compute_type(x->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LayerNormalization does not run on this dtype");
    if (sc->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Scale and B must have X's dtype");
    int64_t axis;
    if (!ocl_norm_axis(st->axis, x->rank, &axis))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis,
                        (int)x->rank);
    const int64_t rows = ocl_shape_count((int32_t)axis, x->dims);
    const int64_t cols = ocl_shape_count(x->rank - (int32_t)axis, x->dims + axis);
    const int64_t ss = ln_param_stride(sc->rank, sc->dims, x->rank, x->dims, axis);
    const int64_t bs = b ? ln_param_stride(b->rank, b->dims, x->rank, x->dims, axis) : 0;
    if (ss < 0 || bs < 0)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s cannot be broadcast to the normalised shape", ss < 0 ? "Scale" : "B");
    ocl_tensor *y, *mean = NULL, *inv = NULL;
    prism_status s = ocl_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s) return s;
    int64_t sd[OCL_MAX_RANK];
    for (int32_t i = 0; i < x->rank; i++) sd[i] = i < axis ? x->dims[i] : 1;
    const uint32_t nout = ocl_node_output_count(node);
    if (nout > 1 && ocl_node_has_output(node, 1) &&
        (s = ocl_output(ctx, 1, PRISM_DTYPE_FLOAT, x->rank, sd, &mean)))
        return s;
    if (nout > 2 && ocl_node_has_output(node, 2) && (s = ocl_output(ctx, 2, PRISM_DTYPE_FLOAT, x->rank, sd, &inv)))
        return s;
    const bool stats = mean || inv;
    if (rows == 0 || (cols == 0 && !stats)) return PRISM_OK;
    if (cols == 0) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LayerNormalization statistics of empty rows");
    /* the kernel writes both statistics or neither: a scratch buffer stands
     * in for an absent one, and X for both when there are none (never
     * written then) */
    cl_mem mm = mean ? mean->mem : stats ? NULL : x->mem, im = inv ? inv->mem : stats ? NULL : x->mem;
    if (stats && !mm && (s = ocl_scratch(ctx, (size_t)rows * sizeof(float), &mm))) return s;
    if (stats && !im && (s = ocl_scratch(ctx, (size_t)rows * sizeof(float), &im))) return s;
    if (ocl_cpu_kernels(ctx)) { /* one work-item per row */
        const ocl_arg args[] = {ocl_arg_mem(x->mem),  ocl_arg_mem(sc->mem), ocl_arg_mem(b ? b->mem : sc->mem),
                                ocl_arg_mem(y->mem),  ocl_arg_mem(mm),      ocl_arg_mem(im),
                                ocl_arg_i64(cols),    ocl_arg_f32(st->eps), ocl_arg_i64(ss),
                                ocl_arg_i64(bs),      ocl_arg_i32(b != NULL), ocl_arg_i32(stats),
                                ocl_arg_i64(rows)};
        const size_t global = (size_t)rows;
        return ocl_launch(ctx, "norm", type, "layer_norm_rows", 1, &global, NULL, sizeof args / sizeof args[0], args);
    }
    size_t cap = ocl_device_max_group(ctx), group = 1;
    if (cap > LN_GROUP_MAX || cap == 0) cap = LN_GROUP_MAX;
    while (group < cap && (int64_t)group < cols) group <<= 1;
    while (group > cap) group >>= 1;
    const ocl_arg args[] = {ocl_arg_mem(x->mem),
                            ocl_arg_mem(sc->mem),
                            ocl_arg_mem(b ? b->mem : sc->mem), /* never read without has_bias */
                            ocl_arg_mem(y->mem),
                            ocl_arg_mem(mm),
                            ocl_arg_mem(im),
                            ocl_arg_i64(cols),
                            ocl_arg_f32(st->eps),
                            ocl_arg_i64(ss),
                            ocl_arg_i64(bs),
                            ocl_arg_i32(b != NULL),
                            ocl_arg_i32(stats),
                            ocl_arg_local(group * sizeof(float))};
    const size_t global = (size_t)rows * group;
    return ocl_launch(ctx, "norm", type, "layer_norm", 1, &global, &group, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_LayerNormalization = {
    .supports = ln_supports, .prepare = ln_prepare, .run = ln_run, .release = ln_release};
