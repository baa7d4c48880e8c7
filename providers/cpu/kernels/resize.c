/*
 * resize.c — Resize (ONNX opsets 10, 11, 13, 18, 19) and Upsample (7, 9) for
 * the CPU provider, on tensors of any rank.
 *
 * Every resized axis gets a table once per run: for each output coordinate
 * the input taps (indices, clamped to the input as the spec's edge padding
 * asks) and their weights, or an "extrapolate" flag (tf_crop_and_resize).
 *
 *  - nearest: one tap per axis; the output is gathered directly from X, a
 *    row of the last axis at a time, for any element size (so every dtype
 *    runs, bool included, bit-exact).
 *  - linear / cubic (and their antialiased forms): separable, one pass per
 *    resized axis, each pass a weighted sum of `taps` input rows. Works in
 *    float (float, float16, bfloat16) or double (double, integers); other
 *    dtypes are widened first and narrowed at the end (integers are rounded
 *    half to even and saturated, as the reference does).
 *
 * Semantics follow the ONNX spec and its reference implementation
 * (onnx/reference/ops/op_resize.py), whose numerics are reproduced so that
 * integer outputs round the same way:
 *  - output sizes: floor(scale * in) from scales; from sizes as given, or
 *    with keep_aspect_ratio_policy not_larger/not_smaller one common scale
 *    and round-half-up sizes;
 *  - the coordinate maps use the output length as the real number scale*in
 *    (align_corners, half_pixel_symmetric, tf_crop_and_resize) like the
 *    reference; an output length of 1 maps as the spec says (pytorch_half_
 *    pixel to 0, tf_crop_and_resize to the ROI centre), where the reference
 *    departs from it;
 *  - taps: the n input points nearest x_original, n = 2 (linear), 4 (cubic)
 *    or the antialias support stretched by 1/scale; an integral x_original
 *    counts as ratio 1 from its left neighbour; taps outside the input read
 *    the edge, or with exclude_outside get weight 0 (weights renormalised);
 *  - cubic weights are evaluated in float (the reference's coefficient a is
 *    a float32 scalar), sums over taps in numpy's order, and axes are
 *    resampled in the order of the axes attribute;
 *  - an axis whose scale is 1 (within 1e-9) and whose length is unchanged is
 *    left alone (with an ROI of [0, 1] under tf_crop_and_resize);
 *  - opset 10 Resize and Upsample: asymmetric coordinates; nearest takes
 *    floor when upsampling and ceil when downsampling (ONNX Runtime's
 *    behaviour for these versions, which the spec leaves open).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

enum { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum {
    RS_HALF_PIXEL,
    RS_HALF_PIXEL_SYMMETRIC,
    RS_PYTORCH_HALF_PIXEL,
    RS_ALIGN_CORNERS,
    RS_ASYMMETRIC,
    RS_TF_HALF_PIXEL_FOR_NN,
    RS_TF_CROP_AND_RESIZE
};
enum { RS_ROUND_PREFER_FLOOR, RS_ROUND_PREFER_CEIL, RS_FLOOR, RS_CEIL, RS_SIMPLE };
enum { RS_STRETCH, RS_NOT_LARGER, RS_NOT_SMALLER };

/* Largest output dim accepted: keeps every size product and coordinate far
 * from overflow. */
#define RS_DIM_MAX ((int64_t)1 << 40)

typedef struct resize_state {
    bool upsample;
    int64_t opset;
    int mode, ctm, nearest, keep;
    double cubic_a;
    float extrapolation;
    bool exclude_outside, antialias;
    const int64_t *axes; /* points into the graph */
    size_t n_axes;
    bool has_axes;
    const float *attr_scales; /* Upsample-7 */
    size_t n_attr_scales;
} resize_state;

/* The sampling table of one resized axis. */
typedef struct rs_axis {
    int64_t in, out;
    int64_t taps;    /* 1 for nearest */
    int64_t *idx;    /* out * taps input indices (clamped) */
    double *w;       /* out * taps weights (NULL for nearest) */
    uint8_t *extrap; /* out flags, or NULL */
} rs_axis;


static void resize_release(void *state) { free(state); }

static bool rs_dtype_ok(int32_t dt, int mode) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT: case PRISM_DTYPE_DOUBLE: case PRISM_DTYPE_FLOAT16: case PRISM_DTYPE_BFLOAT16:
    case PRISM_DTYPE_INT8: case PRISM_DTYPE_UINT8: case PRISM_DTYPE_INT16: case PRISM_DTYPE_UINT16:
    case PRISM_DTYPE_INT32: case PRISM_DTYPE_UINT32: case PRISM_DTYPE_INT64: case PRISM_DTYPE_UINT64:
        return true;
    case PRISM_DTYPE_BOOL:
        return mode == RS_NEAREST;
    default:
        return dt <= 0;
    }
}

static int rs_mode_of(const char *m) {
    if (!strcmp(m, "nearest")) return RS_NEAREST;
    if (!strcmp(m, "linear") || !strcmp(m, "bilinear")) return RS_LINEAR;
    if (!strcmp(m, "cubic")) return RS_CUBIC;
    return -1;
}

static bool resize_supports(const cpu_node *node) {
    int mode = rs_mode_of(cpu_attr_string(node, "mode", "nearest"));
    return mode >= 0 && rs_dtype_ok(cpu_node_input_dtype(node, 0), mode);
}

static prism_status rs_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, bool upsample) {
    resize_state tmp = {0};
    tmp.upsample = upsample;
    tmp.opset = cpu_node_opset(node);
    const char *m = cpu_attr_string(node, "mode", "nearest");
    tmp.mode = rs_mode_of(m);
    if (tmp.mode < 0 || (tmp.mode == RS_CUBIC && (upsample || tmp.opset < 11)) ||
        (!strcmp(m, "bilinear") && !upsample))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown mode '%s'", m);
    tmp.ctm = RS_ASYMMETRIC;
    tmp.nearest = RS_SIMPLE;
    tmp.cubic_a = -0.75;
    tmp.keep = RS_STRETCH;
    if (upsample && tmp.opset < 9) {
        tmp.n_attr_scales = cpu_attr_floats(node, "scales", &tmp.attr_scales);
        if (!tmp.n_attr_scales) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Upsample needs the scales attribute");
    }
    if (!upsample && tmp.opset >= 11) {
        const char *c = cpu_attr_string(node, "coordinate_transformation_mode", "half_pixel");
        if (!strcmp(c, "half_pixel")) tmp.ctm = RS_HALF_PIXEL;
        else if (!strcmp(c, "half_pixel_symmetric") && tmp.opset >= 19) tmp.ctm = RS_HALF_PIXEL_SYMMETRIC;
        else if (!strcmp(c, "pytorch_half_pixel")) tmp.ctm = RS_PYTORCH_HALF_PIXEL;
        else if (!strcmp(c, "align_corners")) tmp.ctm = RS_ALIGN_CORNERS;
        else if (!strcmp(c, "asymmetric")) tmp.ctm = RS_ASYMMETRIC;
        else if (!strcmp(c, "tf_half_pixel_for_nn") && tmp.opset < 13) tmp.ctm = RS_TF_HALF_PIXEL_FOR_NN;
        else if (!strcmp(c, "tf_crop_and_resize")) tmp.ctm = RS_TF_CROP_AND_RESIZE;
        else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", c);
        const char *n = cpu_attr_string(node, "nearest_mode", "round_prefer_floor");
        if (!strcmp(n, "round_prefer_floor")) tmp.nearest = RS_ROUND_PREFER_FLOOR;
        else if (!strcmp(n, "round_prefer_ceil")) tmp.nearest = RS_ROUND_PREFER_CEIL;
        else if (!strcmp(n, "floor")) tmp.nearest = RS_FLOOR;
        else if (!strcmp(n, "ceil")) tmp.nearest = RS_CEIL;
        else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown nearest_mode '%s'", n);
        tmp.cubic_a = cpu_attr_float(node, "cubic_coeff_a", -0.75f);
        tmp.exclude_outside = cpu_attr_int(node, "exclude_outside", 0) != 0;
        tmp.extrapolation = cpu_attr_float(node, "extrapolation_value", 0.0f);
        if (tmp.opset >= 18) {
            tmp.antialias = cpu_attr_int(node, "antialias", 0) != 0 && tmp.mode != RS_NEAREST;
            tmp.has_axes = cpu_attr_has(node, "axes");
            tmp.n_axes = cpu_attr_ints(node, "axes", &tmp.axes);
            if (tmp.has_axes && tmp.n_axes > CPU_MAX_RANK)
                return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "axes has %zu entries", tmp.n_axes);
            const char *k = cpu_attr_string(node, "keep_aspect_ratio_policy", "stretch");
            if (!strcmp(k, "stretch")) tmp.keep = RS_STRETCH;
            else if (!strcmp(k, "not_larger")) tmp.keep = RS_NOT_LARGER;
            else if (!strcmp(k, "not_smaller")) tmp.keep = RS_NOT_SMALLER;
            else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown keep_aspect_ratio_policy '%s'", k);
        }
    }
    resize_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

static prism_status resize_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return rs_prepare(ctx, node, state, false);
}

static prism_status upsample_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return rs_prepare(ctx, node, state, true);
}

/* Element i of a floating-point tensor (scales, roi) as double. */
static bool rs_read_real(const cpu_tensor *t, int64_t i, double *v) {
    if (!cpu_dtype_is_float(t->dtype)) return false;
    *v = cpu_tensor_get_f64(t, i);
    return true;
}

/* Sum of v[0..n) in numpy's pairwise order (what the reference's sums over
 * a contiguous axis do), so normalised weights are bit-equal to its. */
static double rs_pairwise_sum(const double *v, int64_t n) {
    if (n < 8) {
        double r = 0;
        for (int64_t j = 0; j < n; j++) r += v[j];
        return r;
    }
    if (n > 128) {
        int64_t h = n / 2;
        h -= h % 8;
        return rs_pairwise_sum(v, h) + rs_pairwise_sum(v + h, n - h);
    }
    double r[8];
    for (int k = 0; k < 8; k++) r[k] = v[k];
    int64_t j = 8;
    for (; j < n - n % 8; j += 8)
        for (int k = 0; k < 8; k++) r[k] += v[j + k];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; j < n; j++) res += v[j];
    return res;
}

/* Where output coordinate o of an axis lands in the input. out_f is the
 * real output length scale*in. */
static double rs_x_original(const resize_state *st, int64_t o, double scale, int64_t in, int64_t out, double out_f,
                            double roi_lo, double roi_hi) {
    double x = (double)o;
    switch (st->ctm) {
    case RS_HALF_PIXEL: return (x + 0.5) / scale - 0.5;
    case RS_HALF_PIXEL_SYMMETRIC: {
        double adjustment = (double)out / out_f, center = (double)in / 2;
        return center * (1 - adjustment) + (x + 0.5) / scale - 0.5;
    }
    case RS_PYTORCH_HALF_PIXEL: return out > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    case RS_ALIGN_CORNERS: return out > 1 ? x * (double)(in - 1) / (out_f - 1) : 0.0;
    case RS_TF_HALF_PIXEL_FOR_NN: return (x + 0.5) / scale;
    case RS_TF_CROP_AND_RESIZE:
        if (out > 1) return roi_lo * (double)(in - 1) + x * (roi_hi - roi_lo) * (double)(in - 1) / (out_f - 1);
        return 0.5 * (roi_lo + roi_hi) * (double)(in - 1);
    default: return x / scale; /* asymmetric */
    }
}

static void rs_axis_free(rs_axis *a) {
    free(a->idx);
    free(a->w);
    free(a->extrap);
    memset(a, 0, sizeof *a);
}

static int64_t rs_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* Builds the sampling table of one axis. */
static prism_status rs_axis_build(cpu_ctx *ctx, const resize_state *st, rs_axis *a, int64_t in, int64_t out,
                                  double scale, double roi_lo, double roi_hi) {
    memset(a, 0, sizeof *a);
    a->in = in;
    a->out = out;
    const double out_f = scale * (double)in;
    /* Antialiasing stretches the filter by 1/scale when downsampling. */
    const double s_aa = st->antialias && scale < 1 ? scale : 1.0;
    int64_t taps = 1;
    if (st->mode == RS_LINEAR) taps = 2 - 2 * (int64_t)(floor(-1 / s_aa) + 1);
    else if (st->mode == RS_CUBIC) taps = 2 - 2 * (int64_t)(floor(-2 / s_aa) + 1);
    a->taps = taps;
    int64_t n_tab;
    if (!cpu_mul_ok(out, taps, &n_tab) || n_tab > ((int64_t)1 << 34))
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "resize filter table is too large");
    size_t n = (size_t)(n_tab ? n_tab : 1);
    a->idx = malloc(n * sizeof *a->idx);
    if (st->mode != RS_NEAREST) a->w = malloc(n * sizeof *a->w);
    if (st->ctm == RS_TF_CROP_AND_RESIZE) a->extrap = calloc((size_t)(out ? out : 1), 1);
    if (!a->idx || (st->mode != RS_NEAREST && !a->w) || (st->ctm == RS_TF_CROP_AND_RESIZE && !a->extrap)) {
        rs_axis_free(a);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    const double lim = (double)in + (double)taps + 2; /* beyond this every tap is clamped alike */
    for (int64_t o = 0; o < out; o++) {
        double x = rs_x_original(st, o, scale, in, out, out_f, roi_lo, roi_hi);
        if (a->extrap && (x < 0 || x > (double)(in - 1))) a->extrap[o] = 1;
        if (!(x > -lim)) x = -lim; /* also catches NaN */
        if (x > lim) x = lim;
        /* Ratio in (0, 1] from the left neighbour (an integral x counts as
         * ratio 1), and the window of the n taps nearest x, found like the
         * reference: on x shifted by ceil(n/2), where an integral shifted x
         * (which rounding can make of a non-integral x) starts one left. */
        const double fl = floor(x);
        const double r = x == fl ? 1.0 : x - fl;
        const int64_t nw = taps > 1 ? taps : 2, pw = (nw + 1) / 2;
        const double xp = x + (double)pw, pf = floor(xp);
        const int64_t start = (int64_t)pf - pw + (xp == pf ? -(nw / 2) : 1 - nw / 2);
        int64_t *ix = a->idx + o * taps;
        if (st->mode == RS_NEAREST) {
            bool right; /* take start + 1 rather than start */
            switch (st->nearest) {
            case RS_ROUND_PREFER_FLOOR: right = r > 0.5; break;
            case RS_ROUND_PREFER_CEIL: right = r >= 0.5; break;
            case RS_FLOOR: right = r == 1; break;
            case RS_CEIL: right = true; break;
            default: right = scale < 1 ? true : r == 1; break; /* ceil when downsampling, else floor */
            }
            ix[0] = rs_clamp(start + (right ? 1 : 0), 0, in - 1);
            continue;
        }
        double *w = a->w + o * taps;
        const int64_t first = 1 - taps / 2; /* tap j is first + j - r from x */
        /* The filters evaluate exactly as the reference's do (same formulas,
         * same order), so integer outputs round the same way. */
        if (!st->antialias && st->mode == RS_LINEAR) {
            w[0] = 1 - r;
            w[1] = r;
        } else if (!st->antialias) {
            /* In float, as the reference evaluates them (its coefficient a
             * is a float32 scalar, which numpy keeps in float32). */
            const float A = (float)st->cubic_a, r1 = (float)(r + 1), r0 = (float)r, u = (float)(1 - r);
            const float u1 = (float)((1 - r) + 1);
            w[0] = ((A * r1 - 5 * A) * r1 + 8 * A) * r1 - 4 * A;
            w[1] = ((A + 2) * r0 - (A + 3)) * r0 * r0 + 1;
            w[2] = ((A + 2) * u - (A + 3)) * u * u + 1;
            w[3] = ((A * u1 - 5 * A) * u1 + 8 * A) * u1 - 4 * A;
        } else if (st->mode == RS_LINEAR) {
            /* Antialiased: the filter stretched by 1/scale when downsampling,
             * normalised to sum 1. */
            double sum = 0;
            for (int64_t j = 0; j < taps; j++) {
                double c = 1 - fabs(((double)(first + j) - r) * s_aa);
                w[j] = c < 0 ? 0 : c > 1 ? 1 : c;
                sum += w[j];
            }
            if (sum != 0)
                for (int64_t j = 0; j < taps; j++) w[j] /= sum;
        } else {
            /* Antialiased cubic, in float like the reference; a tap of weight
             * exactly 0 makes its normalisation divide in double. */
            const float A = (float)st->cubic_a;
            float sum = 0;
            bool zero = false;
            for (int64_t j = 0; j < taps; j++) {
                const double t = fabs(s_aa * ((double)(first + j) - r)), t2 = t * t, t3 = t * t2;
                float c = 0;
                if (t <= 1) c = (A + 2) * (float)t3 - (A + 3) * (float)t2 + 1;
                else if (t < 2) c = A * (float)t3 - 5 * A * (float)t2 + 8 * A * (float)t - 4 * A;
                else zero = true;
                w[j] = c;
                sum += c;
            }
            if (sum != 0)
                for (int64_t j = 0; j < taps; j++)
                    w[j] = zero ? w[j] / (double)sum : (double)((float)w[j] / sum);
        }
        if (st->exclude_outside) {
            for (int64_t j = 0; j < taps; j++) {
                int64_t p = start + j;
                if (p < 0 || p >= in) w[j] = 0;
            }
            const double sum = rs_pairwise_sum(w, taps);
            if (sum != 0)
                for (int64_t j = 0; j < taps; j++) w[j] /= sum;
        }
        for (int64_t j = 0; j < taps; j++) ix[j] = rs_clamp(start + j, 0, in - 1);
    }
    return PRISM_OK;
}

/* ---- nearest: a direct gather of any element size ----------------------- */

typedef struct rs_gather_arg {
    int rank;
    const int64_t *out_dims;
    const int64_t *istride;      /* input strides in elements */
    const rs_axis *ax;           /* per dim; ax[d].idx NULL = identity */
    const void *x;
    void *y;
    const void *ev; /* extrapolation value, one element */
} rs_gather_arg;

#define RS_GATHER_DEFINE(T)                                                                       \
    static void rs_gather_##T(void *argp, int64_t r0, int64_t r1) {                               \
        const rs_gather_arg *a = argp;                                                            \
        const int last = a->rank - 1;                                                             \
        const int64_t W = a->out_dims[last];                                                      \
        const rs_axis *al = &a->ax[last];                                                         \
        const T *x = a->x;                                                                        \
        T *y = a->y;                                                                              \
        T ev;                                                                                     \
        memcpy(&ev, a->ev, sizeof ev);                                                            \
        for (int64_t row = r0; row < r1; row++) {                                                 \
            int64_t rem = row, base = 0;                                                          \
            bool ex = false;                                                                      \
            for (int d = last - 1; d >= 0; d--) {                                                 \
                int64_t o = rem % a->out_dims[d];                                                 \
                rem /= a->out_dims[d];                                                            \
                const rs_axis *ad = &a->ax[d];                                                    \
                if (ad->idx) {                                                                    \
                    if (ad->extrap && ad->extrap[o]) ex = true;                                   \
                    o = ad->idx[o];                                                               \
                }                                                                                 \
                base += o * a->istride[d];                                                        \
            }                                                                                     \
            T *yr = y + row * W;                                                                  \
            if (ex) {                                                                             \
                for (int64_t o = 0; o < W; o++) yr[o] = ev;                                       \
            } else if (!al->idx) {                                                                \
                memcpy(yr, x + base, (size_t)W * sizeof(T));                                      \
            } else {                                                                              \
                const T *xr = x + base;                                                           \
                for (int64_t o = 0; o < W; o++)                                                   \
                    yr[o] = al->extrap && al->extrap[o] ? ev : xr[al->idx[o]];                    \
            }                                                                                     \
        }                                                                                         \
    }

RS_GATHER_DEFINE(uint8_t)
RS_GATHER_DEFINE(uint16_t)
RS_GATHER_DEFINE(uint32_t)
RS_GATHER_DEFINE(uint64_t)

/* The extrapolation value as one element of dtype dt (bit pattern in *out). */
static void rs_value_as(int32_t dt, double v, void *out) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT: *(float *)out = (float)v; return;
    case PRISM_DTYPE_DOUBLE: *(double *)out = v; return;
    case PRISM_DTYPE_FLOAT16: *(uint16_t *)out = cpu_float_to_half((float)v); return;
    case PRISM_DTYPE_BFLOAT16: *(uint16_t *)out = cpu_float_to_bf16((float)v); return;
    case PRISM_DTYPE_BOOL: *(uint8_t *)out = v != 0; return;
    default: break;
    }
    double r = nearbyint(v);
#define RS_SAT(E, T, LO, HI)                                         \
    case E:                                                          \
        *(T *)out = !(r > (double)(LO)) ? (T)(LO) : r >= (double)(HI) ? (T)(HI) : (T)r; \
        return;
    switch (dt) {
        RS_SAT(PRISM_DTYPE_INT8, int8_t, INT8_MIN, INT8_MAX)
        RS_SAT(PRISM_DTYPE_UINT8, uint8_t, 0, UINT8_MAX)
        RS_SAT(PRISM_DTYPE_INT16, int16_t, INT16_MIN, INT16_MAX)
        RS_SAT(PRISM_DTYPE_UINT16, uint16_t, 0, UINT16_MAX)
        RS_SAT(PRISM_DTYPE_INT32, int32_t, INT32_MIN, INT32_MAX)
        RS_SAT(PRISM_DTYPE_UINT32, uint32_t, 0, UINT32_MAX)
        RS_SAT(PRISM_DTYPE_INT64, int64_t, INT64_MIN, INT64_MAX)
        RS_SAT(PRISM_DTYPE_UINT64, uint64_t, 0, UINT64_MAX)
    default: return;
    }
#undef RS_SAT
}

/* ---- linear / cubic: separable passes ------------------------------------ */

/* One pass resamples the middle dim of [outer, in, inner] to [outer, out,
 * inner]; items are (outer, out) pairs. */
#define RS_PASS_DEFINE(W)                                                                          \
    /* Sum of w[j] * s[ix[j]], j < n, in numpy's pairwise order. */              \
    static W rs_pairwise_##W(const double *w, const W *s, const int64_t *ix, int64_t n) {          \
        if (n < 8) {                                                                               \
            W r = 0;                                                                               \
            for (int64_t j = 0; j < n; j++) r += (W)w[j] * s[ix[j]];                               \
            return r;                                                                              \
        }                                                                                          \
        if (n > 128) {                                                                             \
            int64_t h = n / 2;                                                                     \
            h -= h % 8;                                                                            \
            return rs_pairwise_##W(w, s, ix, h) + rs_pairwise_##W(w + h, s, ix + h, n - h);        \
        }                                                                                          \
        W r[8];                                                                                    \
        for (int k = 0; k < 8; k++) r[k] = (W)w[k] * s[ix[k]];                                     \
        int64_t j = 8;                                                                             \
        for (; j < n - n % 8; j += 8)                                                              \
            for (int k = 0; k < 8; k++) r[k] += (W)w[j + k] * s[ix[j + k]];                        \
        W res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));                 \
        for (; j < n; j++) res += (W)w[j] * s[ix[j]];                                              \
        return res;                                                                                \
    }                                                                                              \
                                                                                                   \
    typedef struct rs_pass_arg_##W {                                                               \
        const W *src;                                                                              \
        W *dst;                                                                                    \
        int64_t inner;                                                                             \
        const rs_axis *ax;                                                                         \
        W ev;                                                                                      \
    } rs_pass_arg_##W;                                                                             \
                                                                                                   \
    static void rs_pass_##W(void *argp, int64_t i0, int64_t i1) {                                  \
        const rs_pass_arg_##W *a = argp;                                                           \
        const rs_axis *ax = a->ax;                                                                 \
        const int64_t inner = a->inner, taps = ax->taps, span = ax->in * inner;                    \
        int64_t o = i0 % ax->out;                                                                  \
        const W *s = a->src + i0 / ax->out * span;                                                 \
        for (int64_t it = i0; it < i1; it++) {                                                     \
            W *d = a->dst + it * inner;                                                            \
            const int64_t *ix = ax->idx + o * taps;                                                \
            const double *w = ax->w + o * taps;                                                    \
            if (ax->extrap && ax->extrap[o]) {                                                     \
                for (int64_t i = 0; i < inner; i++) d[i] = a->ev;                                  \
            } else if (inner == 1) {                                                               \
                /* numpy's order for a contiguous reduction: sequential    \
                 * below 8 terms, pairwise above (bit-equal results). */  \
                if (taps == 2) {                                                                   \
                    d[0] = (W)w[0] * s[ix[0]] + (W)w[1] * s[ix[1]];                                \
                } else if (taps < 8) {                                                             \
                    W acc = (W)w[0] * s[ix[0]];                                                    \
                    for (int64_t j = 1; j < taps; j++) acc += (W)w[j] * s[ix[j]];                  \
                    d[0] = acc;                                                                    \
                } else {                                                                           \
                    d[0] = rs_pairwise_##W(w, s, ix, taps);                                        \
                }                                                                                  \
            } else {                                                                               \
                const W w0 = (W)w[0];                                                              \
                const W *s0 = s + ix[0] * inner;                                                   \
                for (int64_t i = 0; i < inner; i++) d[i] = w0 * s0[i];                             \
                for (int64_t j = 1; j < taps; j++) {                                               \
                    const W wj = (W)w[j];                                                          \
                    const W *sj = s + ix[j] * inner;                                               \
                    for (int64_t i = 0; i < inner; i++) d[i] += wj * sj[i];                        \
                }                                                                                  \
            }                                                                                      \
            if (++o == ax->out) {                                                                  \
                o = 0;                                                                             \
                s += span;                                                                         \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
                                                                                                   \
    /* Runs the passes over the resized axes; src has the input shape, the   \
     * last pass writes into final (which has the output shape). */          \
    static prism_status rs_interp_##W(cpu_ctx *ctx, int rank, const int64_t *in_dims,              \
                                      const int64_t *out_dims, const rs_axis *ax, const int *order, \
                                      const W *src, W *final, W ev) {                              \
        int64_t cur[CPU_MAX_RANK];                                                                 \
        memcpy(cur, in_dims, (size_t)rank * sizeof *cur);                                          \
        int last = -1;                                                                             \
        for (int i = 0; i < rank; i++)                                                             \
            if (ax[order[i]].idx) last = i;                                                        \
        if (last < 0) {                                                                            \
            memcpy(final, src, (size_t)cpu_shape_count(rank, in_dims) * sizeof(W));                \
            return PRISM_OK;                                                                       \
        }                                                                                          \
        const W *s = src;                                                                          \
        W *owned = NULL;                                                                           \
        for (int i = 0; i <= last; i++) {                                                          \
            const int d = order[i];                                                                \
            if (!ax[d].idx) continue;                                                              \
            int64_t outer = cpu_shape_count(d, cur), inner = cpu_shape_count(rank - d - 1, cur + d + 1); \
            cur[d] = out_dims[d];                                                                  \
            W *dst = final;                                                                        \
            if (i != last) {                                                                       \
                int64_t n = cpu_shape_count(rank, cur);                                            \
                if (!(dst = malloc((size_t)(n ? n : 1) * sizeof(W)))) {                           \
                    free(owned);                                                                   \
                    return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");                \
                }                                                                                  \
            }                                                                                      \
            rs_pass_arg_##W arg = {s, dst, inner, &ax[d], ev};                                     \
            cpu_parallel_for(ctx, outer * out_dims[d], rs_pass_##W, &arg);                         \
            free(owned);                                                                           \
            owned = dst == final ? NULL : dst;                                                     \
            s = dst;                                                                               \
        }                                                                                          \
        free(owned);                                                                               \
        return PRISM_OK;                                                                           \
    }

RS_PASS_DEFINE(float)
RS_PASS_DEFINE(double)

/* Widening to and narrowing from the working type W (float or double) for
 * the dtypes that are not W themselves. Integers narrow with round half to
 * even and saturation. */
#define RS_CONVERT_DEFINE(W)                                                                       \
    static W *rs_widen_##W(const cpu_tensor *t) {                                                  \
        W *f = malloc((size_t)(t->count ? t->count : 1) * sizeof *f);                              \
        if (!f) return NULL;                                                                       \
        switch (t->dtype) {                                                                        \
        case PRISM_DTYPE_FLOAT16:                                                                  \
            for (int64_t i = 0; i < t->count; i++) f[i] = (W)cpu_half_to_float(((const uint16_t *)t->data)[i]); \
            break;                                                                                 \
        case PRISM_DTYPE_BFLOAT16:                                                                 \
            for (int64_t i = 0; i < t->count; i++) f[i] = (W)cpu_bf16_to_float(((const uint16_t *)t->data)[i]); \
            break;                                                                                 \
        RS_WIDEN_CASES(W)                                                                          \
        default: break;                                                                            \
        }                                                                                          \
        return f;                                                                                  \
    }                                                                                              \
    static void rs_narrow_##W(const W *f, cpu_tensor *t) {                                         \
        switch (t->dtype) {                                                                        \
        case PRISM_DTYPE_FLOAT16:                                                                  \
            for (int64_t i = 0; i < t->count; i++) ((uint16_t *)t->data)[i] = cpu_float_to_half((float)f[i]); \
            break;                                                                                 \
        case PRISM_DTYPE_BFLOAT16:                                                                 \
            for (int64_t i = 0; i < t->count; i++) ((uint16_t *)t->data)[i] = cpu_float_to_bf16((float)f[i]); \
            break;                                                                                 \
        default:                                                                                   \
            for (int64_t i = 0; i < t->count; i++)                                                 \
                rs_value_as(t->dtype, (double)f[i], (char *)t->data + (size_t)i * cpu_dtype_size(t->dtype)); \
            break;                                                                                 \
        }                                                                                          \
    }

#define RS_WIDEN_CASE(E, T, W) \
    case E:                    \
        for (int64_t i = 0; i < t->count; i++) f[i] = (W)((const T *)t->data)[i]; \
        break;
#define RS_WIDEN_CASES(W)                                                                           \
    RS_WIDEN_CASE(PRISM_DTYPE_FLOAT, float, W)                                                      \
    RS_WIDEN_CASE(PRISM_DTYPE_DOUBLE, double, W)                                                    \
    RS_WIDEN_CASE(PRISM_DTYPE_INT8, int8_t, W) RS_WIDEN_CASE(PRISM_DTYPE_UINT8, uint8_t, W)         \
    RS_WIDEN_CASE(PRISM_DTYPE_INT16, int16_t, W) RS_WIDEN_CASE(PRISM_DTYPE_UINT16, uint16_t, W)     \
    RS_WIDEN_CASE(PRISM_DTYPE_INT32, int32_t, W) RS_WIDEN_CASE(PRISM_DTYPE_UINT32, uint32_t, W)     \
    RS_WIDEN_CASE(PRISM_DTYPE_INT64, int64_t, W) RS_WIDEN_CASE(PRISM_DTYPE_UINT64, uint64_t, W)

RS_CONVERT_DEFINE(float)
RS_CONVERT_DEFINE(double)

/* ---- run ------------------------------------------------------------------ */

/* Resolves the scales / sizes / roi of this run into per-dim scale, output
 * size and ROI. */
static prism_status rs_plan(cpu_ctx *ctx, const resize_state *st, const cpu_tensor *const *in, uint32_t n_in,
                            const cpu_tensor *x, double *scale, int64_t *out, double *roi_lo, double *roi_hi,
                            int *order) {
    const int r = x->rank;
    const cpu_tensor *scales = NULL, *sizes = NULL, *roi = NULL;
    if (st->upsample) {
        if (st->opset >= 9) scales = n_in > 1 ? in[1] : NULL;
    } else if (st->opset < 11) {
        scales = n_in > 1 ? in[1] : NULL;
    } else {
        roi = n_in > 1 ? in[1] : NULL;
        scales = n_in > 2 ? in[2] : NULL;
        sizes = n_in > 3 ? in[3] : NULL;
    }
    if (scales && scales->count == 0) scales = NULL;
    if (sizes && sizes->count == 0) sizes = NULL;
    if (roi && roi->count == 0) roi = NULL;
    /* The axes the inputs refer to. */
    int axes[CPU_MAX_RANK];
    size_t n_ax = (size_t)r;
    if (st->has_axes) {
        bool seen[CPU_MAX_RANK] = {false};
        n_ax = st->n_axes;
        for (size_t i = 0; i < n_ax; i++) {
            int64_t a;
            if (!cpu_norm_axis(st->axes[i], r, &a) || r == 0)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d",
                                (long long)st->axes[i], r);
            if (seen[a]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is repeated", (long long)st->axes[i]);
            seen[a] = true;
            axes[i] = (int)a;
        }
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    /* Axes are resampled in the order given (then the others, which stay
     * as they are), like the reference. */
    {
        bool listed[CPU_MAX_RANK] = {false};
        int k = 0;
        for (size_t i = 0; i < n_ax; i++) {
            order[k++] = axes[i];
            listed[axes[i]] = true;
        }
        for (int d = 0; d < r; d++)
            if (!listed[d]) order[k++] = d;
    }
    for (int d = 0; d < r; d++) {
        scale[d] = 1;
        out[d] = x->dims[d];
        roi_lo[d] = 0;
        roi_hi[d] = 1;
    }
    if (st->upsample && st->opset < 9) {
        if (st->n_attr_scales != (size_t)r)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scales has %zu entries but X has rank %d", st->n_attr_scales, r);
    } else if (scales && sizes) {
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "only one of scales and sizes may be given");
    } else if (!scales && !sizes) {
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "one of scales and sizes must be given");
    }
    if (roi && st->ctm == RS_TF_CROP_AND_RESIZE) {
        if (roi->count != 2 * (int64_t)n_ax)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "roi has %lld entries, expected %zu", (long long)roi->count,
                            2 * n_ax);
        for (size_t i = 0; i < n_ax; i++)
            if (!rs_read_real(roi, (int64_t)i, &roi_lo[axes[i]]) ||
                !rs_read_real(roi, (int64_t)(i + n_ax), &roi_hi[axes[i]]))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "roi must be a floating-point tensor");
    }
    if (sizes) {
        if (sizes->count != (int64_t)n_ax)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "sizes has %lld entries, expected %zu", (long long)sizes->count,
                            n_ax);
        if (sizes->dtype != PRISM_DTYPE_INT64 && sizes->dtype != PRISM_DTYPE_INT32)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "sizes must be an int64 tensor");
        double common = st->keep == RS_NOT_LARGER ? INFINITY : 0;
        for (size_t i = 0; i < n_ax; i++) {
            int d = axes[i];
            int64_t s = cpu_tensor_int(sizes, (int64_t)i);
            if (s < 0 || s > RS_DIM_MAX)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "sizes[%zu] = %lld is out of range", i, (long long)s);
            out[d] = s;
            scale[d] = x->dims[d] > 0 ? (double)s / (double)x->dims[d] : 1.0;
            if (st->keep == RS_NOT_LARGER && scale[d] < common) common = scale[d];
            if (st->keep == RS_NOT_SMALLER && scale[d] > common) common = scale[d];
        }
        if (st->keep != RS_STRETCH && n_ax > 0) {
            for (size_t i = 0; i < n_ax; i++) {
                int d = axes[i];
                double o = common * (double)x->dims[d] + 0.5;
                if (!(o < (double)RS_DIM_MAX)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size is too large");
                scale[d] = common;
                out[d] = (int64_t)o;
            }
        }
    } else {
        size_t n_sc = scales ? (size_t)scales->count : st->n_attr_scales;
        if (scales && n_sc != n_ax)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scales has %zu entries, expected %zu", n_sc, n_ax);
        for (size_t i = 0; i < n_sc; i++) {
            int d = scales ? axes[i] : (int)i;
            double s;
            if (scales) {
                if (!rs_read_real(scales, (int64_t)i, &s))
                    return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scales must be a floating-point tensor");
            } else {
                s = st->attr_scales[i];
            }
            if (!(s > 0) || !isfinite(s))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scales[%zu] = %g must be positive and finite", i, s);
            double o = s * (double)x->dims[d];
            if (!(o < (double)RS_DIM_MAX)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size is too large");
            scale[d] = s;
            out[d] = (int64_t)o;
        }
    }
    int64_t total = 1;
    for (int d = 0; d < r; d++) {
        if (!cpu_mul_ok(total, out[d], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
        if (out[d] > 0 && x->dims[d] == 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "cannot resize an empty dim %d to %lld", d, (long long)out[d]);
    }
    return PRISM_OK;
}

static prism_status rs_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    const resize_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    const cpu_tensor *x = in[0];
    const int32_t dt = x->dtype;
    if (!rs_dtype_ok(dt, st->mode) || dt <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s in this mode", cpu_node_op(node),
                        cpu_dtype_name(dt));
    const int r = x->rank;
    double scale[CPU_MAX_RANK], roi_lo[CPU_MAX_RANK], roi_hi[CPU_MAX_RANK];
    int64_t out[CPU_MAX_RANK];
    int order[CPU_MAX_RANK];
    prism_status rc = rs_plan(ctx, st, in, n_in, x, scale, out, roi_lo, roi_hi, order);
    if (rc) return rc;
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, dt, r, out, &y))) return rc;
    if (y->count == 0) return PRISM_OK;
    if (r == 0) {
        memcpy(y->data, x->data, cpu_dtype_size(dt));
        return PRISM_OK;
    }
    rs_axis ax[CPU_MAX_RANK];
    memset(ax, 0, sizeof ax);
    for (int d = 0; d < r; d++) {
        bool identity = fabs(scale[d] - 1) <= 1e-9 && out[d] == x->dims[d] &&
                        (st->ctm != RS_TF_CROP_AND_RESIZE || (fabs(roi_lo[d]) <= 1e-9 && fabs(roi_hi[d] - 1) <= 1e-9));
        if (identity) continue;
        if ((rc = rs_axis_build(ctx, st, &ax[d], x->dims[d], out[d], scale[d], roi_lo[d], roi_hi[d]))) goto done;
    }
    if (st->mode == RS_NEAREST) {
        int64_t istride[CPU_MAX_RANK], s = 1;
        for (int d = r - 1; d >= 0; d--) {
            istride[d] = s;
            s *= x->dims[d];
        }
        union {
            uint8_t u8;
            uint16_t u16;
            uint32_t u32;
            uint64_t u64;
            float f;
            double d;
        } ev = {.u64 = 0};
        rs_value_as(dt, st->extrapolation, &ev);
        rs_gather_arg arg = {r, out, istride, ax, x->data, y->data, &ev};
        int64_t rows = y->count / out[r - 1];
        switch (cpu_dtype_size(dt)) {
        case 1: cpu_parallel_for(ctx, rows, rs_gather_uint8_t, &arg); break;
        case 2: cpu_parallel_for(ctx, rows, rs_gather_uint16_t, &arg); break;
        case 4: cpu_parallel_for(ctx, rows, rs_gather_uint32_t, &arg); break;
        default: cpu_parallel_for(ctx, rows, rs_gather_uint64_t, &arg); break;
        }
        goto done;
    }
    /* Working type: double for double and the integers (so rounding to an
     * integer decides like the reference, which works in double), else float. */
    bool wide = dt != PRISM_DTYPE_FLOAT && dt != PRISM_DTYPE_FLOAT16 && dt != PRISM_DTYPE_BFLOAT16;
    if (wide) {
        const double *src = dt == PRISM_DTYPE_DOUBLE ? x->data : NULL;
        double *tmp_in = NULL, *tmp_out = NULL;
        if (!src && !(src = tmp_in = rs_widen_double(x))) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        double *dst = dt == PRISM_DTYPE_DOUBLE ? y->data : (tmp_out = malloc((size_t)y->count * sizeof(double)));
        if (!dst) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        else rc = rs_interp_double(ctx, r, x->dims, out, ax, order, src, dst, (double)st->extrapolation);
        if (!rc && tmp_out) rs_narrow_double(tmp_out, y);
        free(tmp_in);
        free(tmp_out);
    } else {
        const float *src = dt == PRISM_DTYPE_FLOAT ? x->data : NULL;
        float *tmp_in = NULL, *tmp_out = NULL;
        if (!src && !(src = tmp_in = rs_widen_float(x))) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        float *dst = dt == PRISM_DTYPE_FLOAT ? y->data : (tmp_out = malloc((size_t)y->count * sizeof(float)));
        if (!dst) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        else rc = rs_interp_float(ctx, r, x->dims, out, ax, order, src, dst, st->extrapolation);
        if (!rc && tmp_out) rs_narrow_float(tmp_out, y);
        free(tmp_in);
        free(tmp_out);
    }
done:
    for (int d = 0; d < r; d++) rs_axis_free(&ax[d]);
    return rc;
}

const cpu_kernel_def cpu_op_Resize = {
    .prepare = resize_prepare,
    .run = rs_run,
    .release = resize_release,
    .supports = resize_supports,
};

const cpu_kernel_def cpu_op_Upsample = {
    .prepare = upsample_prepare,
    .run = rs_run,
    .release = resize_release,
    .supports = resize_supports,
};
