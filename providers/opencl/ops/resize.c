/*
 * resize.c — Resize (opsets 10 to 19) on the OpenCL device: modes nearest
 * (every nearest_mode) and linear, coordinate transformations half_pixel,
 * pytorch_half_pixel, align_corners, asymmetric and tf_half_pixel_for_nn,
 * scales or sizes (with keep_aspect_ratio_policy), the axes attribute;
 * float32, and float16 where the device has it.
 *
 * Only the last two dims may change (NCHW images; any rank >= 1, the
 * leading dims being planes): a run that would resize another dim fails
 * naming it. Declined: cubic, antialias, tf_crop_and_resize,
 * half_pixel_symmetric. The output sizes and per-axis scales are resolved
 * on the host exactly as the CPU provider does (kernels/resize.cl then maps
 * coordinates the same way).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_kernel.h"

/* Codes: must match kernels/resize.cl. */
enum { RS_NEAREST = 0, RS_LINEAR = 1 };
enum { CT_HALF_PIXEL, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL_FOR_NN };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };
enum { KP_STRETCH, KP_NOT_LARGER, KP_NOT_SMALLER };

#define RS_DIM_MAX ((int64_t)1 << 40)

typedef struct rs_state {
    int mode, ctm, nearest, keep;
    const int64_t *axes; /* the attribute's values (valid for the session), NULL: every dim */
    size_t n_axes;
} rs_state;

/* Parses the attributes; false with why filled when the kernel cannot run
 * them. */
static bool rs_parse(const ocl_node *node, rs_state *st, char *why, size_t why_size) {
    const int64_t opset = ocl_node_opset(node);
    memset(st, 0, sizeof *st);
    const char *m = ocl_attr_string(node, "mode", "nearest");
    if (!strcmp(m, "nearest")) st->mode = RS_NEAREST;
    else if (!strcmp(m, "linear")) st->mode = RS_LINEAR;
    else {
        snprintf(why, why_size, "Resize mode \"%s\" is not supported on the device", m);
        return false;
    }
    st->ctm = CT_ASYMMETRIC;
    st->nearest = NM_SIMPLE;
    st->keep = KP_STRETCH;
    if (opset < 11) return true;
    const char *c = ocl_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (!strcmp(c, "half_pixel")) st->ctm = CT_HALF_PIXEL;
    else if (!strcmp(c, "pytorch_half_pixel")) st->ctm = CT_PYTORCH_HALF_PIXEL;
    else if (!strcmp(c, "align_corners")) st->ctm = CT_ALIGN_CORNERS;
    else if (!strcmp(c, "asymmetric")) st->ctm = CT_ASYMMETRIC;
    else if (!strcmp(c, "tf_half_pixel_for_nn") && opset < 13) st->ctm = CT_TF_HALF_PIXEL_FOR_NN;
    else {
        snprintf(why, why_size, "Resize coordinate_transformation_mode \"%s\" is not supported on the device", c);
        return false;
    }
    const char *n = ocl_attr_string(node, "nearest_mode", "round_prefer_floor");
    if (!strcmp(n, "round_prefer_floor")) st->nearest = NM_ROUND_PREFER_FLOOR;
    else if (!strcmp(n, "round_prefer_ceil")) st->nearest = NM_ROUND_PREFER_CEIL;
    else if (!strcmp(n, "floor")) st->nearest = NM_FLOOR;
    else if (!strcmp(n, "ceil")) st->nearest = NM_CEIL;
    else {
        snprintf(why, why_size, "Resize nearest_mode \"%s\" is unknown", n);
        return false;
    }
    if (opset >= 18) {
        if (ocl_attr_int(node, "antialias", 0) != 0 && st->mode != RS_NEAREST) {
            snprintf(why, why_size, "Resize with antialias is not supported on the device");
            return false;
        }
        const char *k = ocl_attr_string(node, "keep_aspect_ratio_policy", "stretch");
        if (!strcmp(k, "stretch")) st->keep = KP_STRETCH;
        else if (!strcmp(k, "not_larger")) st->keep = KP_NOT_LARGER;
        else if (!strcmp(k, "not_smaller")) st->keep = KP_NOT_SMALLER;
        else {
            snprintf(why, why_size, "Resize keep_aspect_ratio_policy \"%s\" is unknown", k);
            return false;
        }
        if (ocl_attr_has(node, "axes")) {
            st->n_axes = ocl_attr_ints(node, "axes", &st->axes);
            if (st->n_axes > OCL_MAX_RANK) {
                snprintf(why, why_size, "Resize axes has too many entries");
                return false;
            }
        }
    }
    return true;
}

static bool rs_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0);
    if (!(dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node)))) {
        snprintf(why, why_size, "Resize runs on float32%s only", ocl_node_device_fp16(node) ? " and float16" : "");
        return false;
    }
    const int32_t r = ocl_node_input_rank(node, 0);
    if (r == 0 || r > OCL_MAX_RANK) {
        snprintf(why, why_size, "Resize runs on tensors of rank 1 to %d", OCL_MAX_RANK);
        return false;
    }
    rs_state st;
    return rs_parse(node, &st, why, why_size);
}

static prism_status rs_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    rs_state *st = malloc(sizeof *st);
    if (!st) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    char why[160];
    if (!rs_parse(node, st, why, sizeof why)) {
        free(st);
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s", why);
    }
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    prism_status s = type ? ocl_program_require(ctx, "resize", type) : PRISM_OK;
    if (s) {
        free(st);
        return s;
    }
    *state = st;
    return PRISM_OK;
}

static void rs_release(void *state) { free(state); }

/* Per dim: output size, and the scale as a float (scales) or num/den
 * (sizes), as the CPU provider resolves them. */
typedef struct rs_dim {
    int64_t out;
    double scale;
    float scale_f;
    int64_t num, den;
} rs_dim;

static prism_status rs_plan(ocl_ctx *ctx, const ocl_node *node, const rs_state *st, const ocl_tensor *const *in,
                            uint32_t n_in, const ocl_tensor *x, rs_dim *dd) {
    const int32_t r = x->rank;
    const ocl_tensor *scales, *sizes = NULL;
    if (ocl_node_opset(node) < 11) {
        scales = n_in > 1 ? in[1] : NULL;
    } else {
        scales = n_in > 2 ? in[2] : NULL;
        sizes = n_in > 3 ? in[3] : NULL;
    }
    if (scales && scales->count == 0) scales = NULL;
    if (sizes && sizes->count == 0) sizes = NULL;
    int axes[OCL_MAX_RANK];
    size_t n_ax = (size_t)r;
    if (st->axes) {
        bool seen[OCL_MAX_RANK] = {false};
        n_ax = st->n_axes;
        for (size_t i = 0; i < n_ax; i++) {
            int64_t a;
            if (!ocl_norm_axis(st->axes[i], r, &a))
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d",
                                (long long)st->axes[i], (int)r);
            if (seen[a]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is repeated", (long long)st->axes[i]);
            seen[a] = true;
            axes[i] = (int)a;
        }
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    for (int d = 0; d < r; d++) dd[d] = (rs_dim){x->dims[d], 1.0, 1.0f, 1, 1};
    if (scales && sizes) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "only one of scales and sizes may be given");
    if (!scales && !sizes) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "one of scales and sizes must be given");
    prism_status s;
    if (sizes) {
        int64_t v[OCL_MAX_RANK];
        size_t n = 0;
        if (sizes->count != (int64_t)n_ax)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "sizes has %lld entries, expected %zu", (long long)sizes->count,
                            n_ax);
        if (sizes->dtype != PRISM_DTYPE_INT64 && sizes->dtype != PRISM_DTYPE_INT32)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "sizes must be an int64 tensor");
        if ((s = ocl_read_ints(ctx, sizes, v, OCL_MAX_RANK, &n))) return s;
        double common = st->keep == KP_NOT_LARGER ? INFINITY : 0;
        int64_t cnum = 1, cden = 1;
        for (size_t i = 0; i < n_ax; i++) {
            const int d = axes[i];
            if (v[i] < 0 || v[i] > RS_DIM_MAX)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "sizes[%zu] = %lld is out of range", i, (long long)v[i]);
            dd[d].out = v[i];
            dd[d].num = x->dims[d] > 0 ? v[i] : 1;
            dd[d].den = x->dims[d] > 0 ? x->dims[d] : 1;
            dd[d].scale = (double)dd[d].num / (double)dd[d].den;
            if ((st->keep == KP_NOT_LARGER && dd[d].scale < common) ||
                (st->keep == KP_NOT_SMALLER && dd[d].scale > common)) {
                common = dd[d].scale;
                cnum = dd[d].num;
                cden = dd[d].den;
            }
        }
        if (st->keep != KP_STRETCH && n_ax > 0) {
            for (size_t i = 0; i < n_ax; i++) {
                const int d = axes[i];
                const double o = common * (double)x->dims[d] + 0.5;
                if (!(o < (double)RS_DIM_MAX)) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "output size is too large");
                dd[d].out = (int64_t)o;
                dd[d].scale = common;
                dd[d].num = cnum;
                dd[d].den = cden;
            }
        }
    } else {
        float v[OCL_MAX_RANK];
        size_t n = 0;
        if (scales->count != (int64_t)n_ax)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "scales has %lld entries, expected %zu", (long long)scales->count,
                            n_ax);
        if (scales->dtype != PRISM_DTYPE_FLOAT)
            return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "scales must be float32 on the device");
        if ((s = ocl_read_floats(ctx, scales, v, OCL_MAX_RANK, &n))) return s;
        for (size_t i = 0; i < n_ax; i++) {
            const int d = axes[i];
            const double sc = v[i];
            if (!(sc > 0) || !isfinite(sc))
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "scales[%zu] = %g must be positive and finite", i, sc);
            const double o = sc * (double)x->dims[d];
            if (!(o < (double)RS_DIM_MAX)) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "output size is too large");
            dd[d] = (rs_dim){(int64_t)o, sc, v[i], 0, 0};
        }
    }
    for (int d = 0; d < r; d++)
        if (dd[d].out > 0 && x->dims[d] == 0)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "cannot resize an empty dim %d to %lld", d, (long long)dd[d].out);
    return PRISM_OK;
}

/* The axis keeps its length at scale 1 (the CPU provider leaves it alone). */
static bool rs_identity(const rs_dim *d, int64_t in) { return fabs(d->scale - 1) <= 1e-9 && d->out == in; }

static prism_status rs_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    const rs_state *st = state;
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    const int32_t r = x->rank;
    if (!type || r < 1 || r > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Resize does not run on this input on the device");
    rs_dim dd[OCL_MAX_RANK];
    prism_status s = rs_plan(ctx, node, st, in, n_in, x, dd);
    if (s) return s;
    for (int32_t d = 0; d + 2 < r; d++)
        if (!rs_identity(&dd[d], x->dims[d]))
            return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Resize of dim %d (not one of the last two) is not "
                                                          "supported on the device", (int)d);
    int64_t out[OCL_MAX_RANK];
    for (int32_t d = 0; d < r; d++) out[d] = dd[d].out;
    ocl_tensor *y;
    if ((s = ocl_output(ctx, 0, x->dtype, r, out, &y)) || y->count == 0) return s;
    /* [planes, H, W]: rank 1 has H = 1 */
    const rs_dim one = {1, 1.0, 1.0f, 1, 1};
    const rs_dim *h = r >= 2 ? &dd[r - 2] : &one, *w = &dd[r - 1];
    const int64_t in_h = r >= 2 ? x->dims[r - 2] : 1, in_w = x->dims[r - 1];
    const int64_t planes = ocl_shape_count(r >= 2 ? r - 2 : 0, x->dims);
    const ocl_arg args[] = {ocl_arg_mem(x->mem),   ocl_arg_mem(y->mem),   ocl_arg_i64(planes),
                            ocl_arg_i64(in_h),     ocl_arg_i64(in_w),     ocl_arg_i64(h->out),
                            ocl_arg_i64(w->out),   ocl_arg_i32(st->mode), ocl_arg_i32(st->ctm),
                            ocl_arg_i32(st->nearest), ocl_arg_f32(h->scale_f), ocl_arg_i64(h->num),
                            ocl_arg_i64(h->den),   ocl_arg_i32(rs_identity(h, in_h)), ocl_arg_f32(w->scale_f),
                            ocl_arg_i64(w->num),   ocl_arg_i64(w->den),   ocl_arg_i32(rs_identity(w, in_w))};
    const size_t global = (size_t)y->count;
    return ocl_launch(ctx, "resize", type, "resize2d", 1, &global, NULL, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_Resize = {
    .supports = rs_supports, .prepare = rs_prepare, .run = rs_run, .release = rs_release};
