/*
 * xrt_ops.c — which ONNX nodes the FPGA kernels run, and what they cost.
 *
 * The answer is exactly what prism_hls.h's kernels support, so a node the
 * provider claims never fails for a reason known at session creation:
 * float32 only; 2-D Conv (any group, stride, dilation, padding), Gemm and
 * MatMul lowered to the batched GEMM; Add/Sub/Mul/Div with a same-shape,
 * scalar or per-channel second operand, Relu and Clip (constant bounds) on
 * the element-wise kernel; Max/AveragePool and GlobalAveragePool with
 * windows of at most PRISM_HLS_MAX_POOL. Data movement needs no kernel:
 * Identity, Flatten, Reshape (constant shape), Squeeze/Unsqueeze (constant
 * axes) only rename bytes, and Concat is a bounded number of device-side
 * buffer copies, so a CNN's shape glue stays in FPGA memory instead of
 * cutting the graph. Everything else is declined with a sentence saying why.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prism_hls.h"
#include "xrt_internal.h"
#include "pv_attr.h"

static const char *const op_names[XO_OP_COUNT] = {
    "Conv",     "Gemm",    "MatMul",  "Add",       "Sub",     "Mul",       "Div",
    "Relu",     "Clip",    "MaxPool", "AveragePool", "GlobalAveragePool", "Identity", "Flatten",
    "Reshape",  "Squeeze", "Unsqueeze", "Concat",
};

const char *xo_op_name(xo_op op) { return op < XO_OP_COUNT ? op_names[op] : "?"; }

uint32_t xo_kernels(xo_op op, const xo_params *p) {
    switch (op) {
    case XO_CONV: {
        bool direct = p->kernel[0] == 1 && p->kernel[1] == 1 && p->strides[0] == 1 && p->strides[1] == 1 &&
                      p->auto_pad != XO_PAD_SAME_UPPER && p->auto_pad != XO_PAD_SAME_LOWER && !p->pads[0] &&
                      !p->pads[1] && !p->pads[2] && !p->pads[3];
        return (1u << XK_GEMM) | (direct ? 0u : 1u << XK_IM2COL);
    }
    case XO_GEMM:
    case XO_MATMUL: return 1u << XK_GEMM;
    case XO_MAXPOOL:
    case XO_AVGPOOL:
    case XO_GAP: return 1u << XK_POOL;
    case XO_IDENTITY:
    case XO_FLATTEN:
    case XO_RESHAPE:
    case XO_SQUEEZE:
    case XO_UNSQUEEZE:
    case XO_CONCAT: return 0; /* buffer copies or nothing */
    default: return 1u << XK_ELTWISE;
    }
}

bool xo_spatial(const xo_params *p, int axis, int64_t in, int64_t k, int64_t *out, int64_t *pb, int64_t *pe) {
    int64_t s = p->strides[axis], d = p->dilations[axis];
    if (s < 1 || d < 1 || k < 1 || in < 0) return false;
    int64_t dk = (k - 1) * d + 1;
    if (p->auto_pad == XO_PAD_SAME_UPPER || p->auto_pad == XO_PAD_SAME_LOWER) {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + dk - in;
        if (total < 0) total = 0;
        *pb = p->auto_pad == XO_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        *out = o;
        return true;
    }
    *pb = p->auto_pad == XO_PAD_VALID ? 0 : p->pads[axis];
    *pe = p->auto_pad == XO_PAD_VALID ? 0 : p->pads[axis + 2];
    int64_t span = in + *pb + *pe - dk;
    if (span < 0) return false;
    int64_t o = (p->ceil_mode ? (span + s - 1) / s : span / s) + 1;
    /* ceil_mode: a last window starting in the end padding is dropped. */
    if (p->ceil_mode && (o - 1) * s >= in + *pb) o--;
    *out = o;
    return true;
}

bool xo_bcast(int32_t ar, const int64_t *ad, int32_t br, const int64_t *bd, int *mode, int64_t *inner,
              int64_t *channels) {
    if (br > ar) return false;
    int64_t acount = 1, bcount = 1;
    int axis = -1, non1 = 0;
    for (int32_t i = 0; i < ar; i++) acount *= ad[i];
    for (int32_t i = 0; i < br; i++) {
        int32_t ai = ar - br + i;
        if (bd[i] != 1 && bd[i] != ad[ai]) return false; /* b does not broadcast into a */
        bcount *= bd[i];
        if (bd[i] != 1) {
            non1++;
            axis = ai;
        }
    }
    *inner = *channels = 1;
    if (bcount == acount) { /* b's dims equal a's up to size-1 axes: same layout */
        *mode = PRISM_HLS_B_SAME;
        return true;
    }
    if (bcount == 1) {
        *mode = PRISM_HLS_B_SCALAR;
        return true;
    }
    if (non1 != 1) return false;
    int64_t in = 1;
    for (int32_t i = axis + 1; i < ar; i++) in *= ad[i];
    *mode = PRISM_HLS_B_CHANNEL;
    *inner = in;
    *channels = ad[axis];
    return true;
}

/* ---- attributes ---------------------------------------------------------------- */

typedef struct ctx {
    const prism_host_api *h;
    const prism_graph_view *g;
    uint32_t node;
} ctx;

/* The shared getters of pv_attr.h (a mistyped attribute is absent), over
 * the node of c. */
static int32_t find(const ctx *c, const char *name, int32_t type) {
    return pv_attr_find(c->h, c->g, c->node, name, type);
}

static bool has(const ctx *c, const char *name) { return pv_attr_has(c->h, c->g, c->node, name); }

static int64_t get_int(const ctx *c, const char *name, int64_t dflt) {
    return pv_attr_int(c->h, c->g, c->node, name, dflt);
}

static float get_float(const ctx *c, const char *name, float dflt) {
    return pv_attr_float(c->h, c->g, c->node, name, dflt);
}

/* INTS attribute of exactly `count` values (absent: false, *present = 0). */
static bool get_ints(const ctx *c, const char *name, size_t count, int64_t *out, bool *present) {
    *present = false;
    int32_t a = find(c, name, PRISM_ATTR_INTS);
    if (a < 0) return !has(c, name);
    size_t n = 0;
    const int64_t *v = c->h->attr_ints(c->g, c->node, (uint32_t)a, &n);
    if (n != count || (n && !v)) return false;
    memcpy(out, v, n * sizeof *v);
    *present = true;
    return true;
}

static bool known_shape(const ctx *c, uint32_t v, int32_t rank, int64_t *dims) {
    if (v == PRISM_NO_VALUE || c->h->value_rank(c->g, v) != rank) return false;
    for (int32_t i = 0; i < rank; i++) {
        dims[i] = c->h->value_dim(c->g, v, (uint32_t)i);
        if (dims[i] < 0 || dims[i] > INT_MAX) return false;
    }
    return true;
}

/* Dims of v (rank r) with unknown dims as -1; false if the rank is unknown. */
static bool dims_of(const ctx *c, uint32_t v, int32_t *r, int64_t *d) {
    *r = c->h->value_rank(c->g, v);
    if (*r < 0 || *r > XR_MAX_RANK) return false;
    for (int32_t i = 0; i < *r; i++) {
        d[i] = c->h->value_dim(c->g, v, (uint32_t)i);
        if (d[i] > INT_MAX) return false;
    }
    return true;
}

/* Fixed attributes of Conv and pools: pads, strides, dilations, auto_pad. */
static bool window_attrs(const ctx *c, xo_params *p, char *why, size_t n) {
    bool present;
    p->strides[0] = p->strides[1] = p->dilations[0] = p->dilations[1] = 1;
    memset(p->pads, 0, sizeof p->pads);
    if (!get_ints(c, "strides", 2, p->strides, &present) || !get_ints(c, "dilations", 2, p->dilations, &present) ||
        !get_ints(c, "pads", 4, p->pads, &present)) {
        snprintf(why, n, "strides/dilations/pads are not 2-D");
        return false;
    }
    for (int i = 0; i < 2; i++)
        if (p->strides[i] < 1 || p->dilations[i] < 1 || p->strides[i] > INT_MAX || p->dilations[i] > INT_MAX) {
            snprintf(why, n, "strides and dilations must be positive");
            return false;
        }
    for (int i = 0; i < 4; i++)
        if (p->pads[i] < 0 || p->pads[i] > INT_MAX / 4) {
            snprintf(why, n, "negative or huge pads");
            return false;
        }
    int32_t a = find(c, "auto_pad", PRISM_ATTR_STRING);
    p->auto_pad = XO_PAD_NOTSET;
    if (a >= 0) {
        size_t len = 0;
        const char *s = c->h->attr_string(c->g, c->node, (uint32_t)a, &len);
        if (!s) len = 0;
        if (len == 5 && !memcmp(s, "VALID", 5)) p->auto_pad = XO_PAD_VALID;
        else if (len == 10 && !memcmp(s, "SAME_UPPER", 10)) p->auto_pad = XO_PAD_SAME_UPPER;
        else if (len == 10 && !memcmp(s, "SAME_LOWER", 10)) p->auto_pad = XO_PAD_SAME_LOWER;
        else if (!(len == 6 && !memcmp(s, "NOTSET", 6))) {
            snprintf(why, n, "unknown auto_pad");
            return false;
        }
    }
    return true;
}

static bool parse_conv(const ctx *c, xo_params *p, char *why, size_t n) {
    int64_t xd[4], wd[4];
    int32_t xr;
    if (!dims_of(c, c->h->node_input(c->g, c->node, 0), &xr, xd) || xr != 4 || xd[1] < 0) {
        snprintf(why, n, "the input is not 4-D with known channels (only 2-D convolutions run on the kernels)");
        return false;
    }
    if (!known_shape(c, c->h->node_input(c->g, c->node, 1), 4, wd)) {
        snprintf(why, n, "the weights are not a 4-D tensor of known shape");
        return false;
    }
    if (!window_attrs(c, p, why, n)) return false;
    bool present;
    int64_t ks[2];
    if (!get_ints(c, "kernel_shape", 2, ks, &present) || (present && (ks[0] != wd[2] || ks[1] != wd[3]))) {
        snprintf(why, n, "kernel_shape does not match the weights");
        return false;
    }
    p->kernel[0] = wd[2];
    p->kernel[1] = wd[3];
    p->group = get_int(c, "group", 1);
    if (p->group < 1 || xd[1] % p->group || wd[0] % p->group || wd[1] * p->group != xd[1]) {
        snprintf(why, n, "group %lld does not fit %lld input channels and weights [%lld, %lld, ...]",
                 (long long)p->group, (long long)xd[1], (long long)wd[0], (long long)wd[1]);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        int64_t o, pb, pe;
        if (xd[2 + i] >= 0 && (!xo_spatial(p, i, xd[2 + i], wd[2 + i], &o, &pb, &pe) || o < 1)) {
            snprintf(why, n, "the window does not fit the input");
            return false;
        }
    }
    /* im2col matrix and GEMM sizes must stay within int arguments */
    int64_t plane = xd[2] > 0 && xd[3] > 0 ? xd[2] * xd[3] : 1;
    if (wd[1] * wd[2] * wd[3] > PRISM_HLS_MAX_DIM / plane ||
        xd[1] * plane > PRISM_HLS_MAX_DIM) {
        snprintf(why, n, "tensor sizes exceed PRISM_HLS_MAX_DIM");
        return false;
    }
    return true;
}

static bool parse_pool(const ctx *c, xo_op op, xo_params *p, char *why, size_t n) {
    int64_t xd[4];
    int32_t xr;
    if (!dims_of(c, c->h->node_input(c->g, c->node, 0), &xr, xd) || xr != 4) {
        snprintf(why, n, "the input is not 4-D");
        return false;
    }
    if (op == XO_GAP && (xd[2] < 0 || xd[3] < 0)) {
        snprintf(why, n, "GlobalAveragePool needs known spatial dims (its window must fit the line buffers)");
        return false;
    }
    if (op == XO_GAP) {
        memset(p->pads, 0, sizeof p->pads);
        p->strides[0] = p->strides[1] = p->dilations[0] = p->dilations[1] = 1;
        p->kernel[0] = xd[2];
        p->kernel[1] = xd[3];
    } else {
        if (!window_attrs(c, p, why, n)) return false;
        bool present;
        if (!get_ints(c, "kernel_shape", 2, p->kernel, &present) || !present) {
            snprintf(why, n, "kernel_shape is not 2-D");
            return false;
        }
        p->ceil_mode = (int)get_int(c, "ceil_mode", 0);
        p->count_include_pad = (int)get_int(c, "count_include_pad", 0);
        if (op == XO_MAXPOOL && get_int(c, "storage_order", 0) != 0) {
            snprintf(why, n, "storage_order=1 is not supported");
            return false;
        }
        uint32_t nout = c->h->node_output_count(c->g, c->node);
        if (nout > 1 && c->h->node_output(c->g, c->node, 1) != PRISM_NO_VALUE) {
            snprintf(why, n, "the Indices output is not supported");
            return false;
        }
    }
    if (p->kernel[0] < 1 || p->kernel[1] < 1 || p->kernel[0] > PRISM_HLS_MAX_POOL ||
        p->kernel[1] > PRISM_HLS_MAX_POOL) {
        snprintf(why, n, "a %lldx%lld window exceeds the kernel's %dx%d line buffers", (long long)p->kernel[0],
                 (long long)p->kernel[1], PRISM_HLS_MAX_POOL, PRISM_HLS_MAX_POOL);
        return false;
    }
    for (int i = 0; i < 2; i++) {
        int64_t o, pb, pe;
        if (xd[2 + i] >= 0 && (!xo_spatial(p, i, xd[2 + i], p->kernel[i], &o, &pb, &pe) || o < 1)) {
            snprintf(why, n, "the window does not fit the input");
            return false;
        }
    }
    return true;
}

static bool parse_gemm(const ctx *c, xo_op op, xo_params *p, char *why, size_t n) {
    const prism_host_api *h = c->h;
    uint32_t a = h->node_input(c->g, c->node, 0), b = h->node_input(c->g, c->node, 1);
    int32_t ar = h->value_rank(c->g, a), br = h->value_rank(c->g, b);
    if (op == XO_GEMM) {
        p->alpha = get_float(c, "alpha", 1.0f);
        p->beta = get_float(c, "beta", 1.0f);
        p->trans_a = get_int(c, "transA", 0) != 0;
        p->trans_b = get_int(c, "transB", 0) != 0;
        if (ar != 2 || br != 2) {
            snprintf(why, n, "A and B must be 2-D");
            return false;
        }
        uint32_t cv = h->node_input_count(c->g, c->node) > 2 ? h->node_input(c->g, c->node, 2) : PRISM_NO_VALUE;
        if (cv != PRISM_NO_VALUE && (h->value_rank(c->g, cv) < 0 || h->value_rank(c->g, cv) > 2)) {
            snprintf(why, n, "C must be a scalar, 1-D or 2-D");
            return false;
        }
        return true;
    }
    if (ar < 2 || br < 2) {
        snprintf(why, n, "1-D MatMul operands are not lowered");
        return false;
    }
    if (br != 2 && ar != br) {
        snprintf(why, n, "batched MatMul runs only with a 2-D B or equal ranks");
        return false;
    }
    /* equal ranks: the GEMM's batch walks both operands in step, so their
     * batch dims must be equal (known, or the same symbol), not broadcast */
    for (int32_t i = 0; br != 2 && i < ar - 2; i++) {
        int64_t da = h->value_dim(c->g, a, (uint32_t)i), db = h->value_dim(c->g, b, (uint32_t)i);
        const char *pa = da < 0 ? h->value_dim_param(c->g, a, (uint32_t)i) : NULL;
        const char *pb = db < 0 ? h->value_dim_param(c->g, b, (uint32_t)i) : NULL;
        bool same = da >= 0 ? da == db : (db < 0 && pa && pb && *pa && !strcmp(pa, pb));
        if (!same) {
            snprintf(why, n, "batch dim %d of A and B may differ (broadcast batches are not lowered)", i);
            return false;
        }
    }
    return true;
}

/* Clip bounds from attributes (opset < 11) or constant scalar inputs. */
static bool parse_clip(const ctx *c, int64_t opset, xo_params *p, char *why, size_t n) {
    p->clip_lo = -INFINITY;
    p->clip_hi = INFINITY;
    if (opset < 11) {
        p->clip_lo = get_float(c, "min", -INFINITY);
        p->clip_hi = get_float(c, "max", INFINITY);
        return true;
    }
    uint32_t nin = c->h->node_input_count(c->g, c->node);
    for (uint32_t k = 1; k < 3 && k < nin; k++) {
        uint32_t v = c->h->node_input(c->g, c->node, k);
        if (v == PRISM_NO_VALUE) continue;
        size_t bytes = 0;
        const void *data = c->h->value_constant(c->g, v, &bytes);
        if (!data || bytes != sizeof(float)) {
            snprintf(why, n, "Clip %s is not a constant scalar", k == 1 ? "min" : "max");
            return false;
        }
        float f;
        memcpy(&f, data, sizeof f);
        if (k == 1) p->clip_lo = f;
        else p->clip_hi = f;
    }
    return true;
}

/* Replace unknown dims by a stand-in (2) where the broadcast form does not
 * depend on them: an unknown dim of a facing a 1 or nothing in b, or the
 * same symbolic dim in both. False when the form cannot be known. */
static bool resolve_unknown(const ctx *c, uint32_t av, int32_t ar, int64_t *ad, uint32_t bv, int32_t br, int64_t *bd) {
    for (int32_t i = 0; i < ar; i++) {
        int32_t bi = i - (ar - br);
        bool a_unknown = ad[i] < 0, b_unknown = bi >= 0 && bd[bi] < 0;
        if (!a_unknown && !b_unknown) continue;
        if (a_unknown && (bi < 0 || bd[bi] == 1)) {
            ad[i] = 2;
            continue;
        }
        if (a_unknown && b_unknown) {
            const char *pa = c->h->value_dim_param(c->g, av, (uint32_t)i);
            const char *pb = c->h->value_dim_param(c->g, bv, (uint32_t)bi);
            if (pa && pb && *pa && !strcmp(pa, pb)) {
                ad[i] = bd[bi] = 2;
                continue;
            }
        }
        return false;
    }
    for (int32_t i = 0; i < br; i++)
        if (bd[i] < 0) return false;
    return true;
}

static bool parse_eltwise(const ctx *c, xo_op op, char *why, size_t n) {
    const prism_host_api *h = c->h;
    uint32_t a = h->node_input(c->g, c->node, 0), b = h->node_input(c->g, c->node, 1);
    int32_t ar, br;
    int64_t ad[XR_MAX_RANK], bd[XR_MAX_RANK], ad2[XR_MAX_RANK], bd2[XR_MAX_RANK];
    if (!dims_of(c, a, &ar, ad) || !dims_of(c, b, &br, bd)) {
        snprintf(why, n, "operand ranks are not known (the broadcast form must be known)");
        return false;
    }
    memcpy(ad2, ad, sizeof ad);
    memcpy(bd2, bd, sizeof bd);
    int mode;
    int64_t inner, channels;
    bool ok = br <= ar && resolve_unknown(c, a, ar, ad, b, br, bd) &&
              xo_bcast(ar, ad, br, bd, &mode, &inner, &channels);
    if (!ok && (op == XO_ADD || op == XO_MUL))
        ok = ar <= br && resolve_unknown(c, b, br, bd2, a, ar, ad2) &&
             xo_bcast(br, bd2, ar, ad2, &mode, &inner, &channels);
    if (!ok) {
        snprintf(why, n, "the broadcast is not same-shape, scalar or per-channel (or depends on unknown dims)");
        return false;
    }
    return true;
}

/* ---- data movement --------------------------------------------------------------- */

/* A constant int64 input (shape or axes) of at most max values. */
static bool const_ints(const ctx *c, uint32_t v, int32_t max, int64_t *out, int32_t *count) {
    size_t bytes = 0;
    const void *data = v == PRISM_NO_VALUE ? NULL : c->h->value_constant(c->g, v, &bytes);
    if (!data || c->h->value_dtype(c->g, v) != PRISM_DTYPE_INT64 || bytes % sizeof(int64_t) ||
        bytes / sizeof(int64_t) > (size_t)max)
        return false;
    *count = (int32_t)(bytes / sizeof(int64_t));
    if (bytes) memcpy(out, data, bytes);
    return true;
}

/* The same from an INTS attribute (absent: *count 0). */
static bool attr_ints(const ctx *c, const char *name, int32_t max, int64_t *out, int32_t *count) {
    *count = 0;
    int32_t a = find(c, name, PRISM_ATTR_INTS);
    if (a < 0) return !has(c, name);
    size_t k = 0;
    const int64_t *v = c->h->attr_ints(c->g, c->node, (uint32_t)a, &k);
    if (k > (size_t)max || (k && !v)) return false;
    if (k) memcpy(out, v, k * sizeof *v);
    *count = (int32_t)k;
    return true;
}

/* Elements of the first r dims: -1 when one is unknown, INT64_MAX past 2^40. */
static int64_t shape_count(int32_t r, const int64_t *d) {
    int64_t n = 1;
    for (int32_t i = 0; i < r && n >= 0; i++) {
        if (d[i] < 0) return -1;
        if (d[i] && n > (INT64_C(1) << 40) / d[i]) return INT64_MAX;
        n *= d[i];
    }
    return n;
}

/* The views' data input: a rank the run can hold (unknown is fine). */
static bool view_input(const ctx *c, int32_t *r, int64_t *d, char *why, size_t n) {
    uint32_t x = c->h->node_input(c->g, c->node, 0);
    *r = c->h->value_rank(c->g, x);
    if (*r > XR_MAX_RANK) {
        snprintf(why, n, "rank %d is above the provider's %d", *r, XR_MAX_RANK);
        return false;
    }
    if (*r >= 0 && !dims_of(c, x, r, d)) {
        snprintf(why, n, "a dim is too large");
        return false;
    }
    return true;
}

static bool parse_view(const ctx *c, xo_op op, int64_t opset, xo_params *p, char *why, size_t n) {
    int32_t r;
    int64_t d[XR_MAX_RANK];
    if (!view_input(c, &r, d, why, n)) return false;
    uint32_t nin = c->h->node_input_count(c->g, c->node);
    uint32_t arg = nin > 1 ? c->h->node_input(c->g, c->node, 1) : PRISM_NO_VALUE;
    switch (op) {
    case XO_FLATTEN:
        p->axis = get_int(c, "axis", 1);
        if (r < 0) return snprintf(why, n, "Flatten needs the input's rank to check its axis"), false;
        if (p->axis < (opset < 11 ? 0 : -r) || p->axis > r)
            return snprintf(why, n, "axis %lld is outside [%d, %d] (opset %lld)", (long long)p->axis,
                            opset < 11 ? 0 : -r, r, (long long)opset), false;
        return true;
    case XO_RESHAPE: {
        bool ok = opset < 5 ? attr_ints(c, "shape", XR_MAX_RANK, p->shape, &p->n_shape) && has(c, "shape")
                            : const_ints(c, arg, XR_MAX_RANK, p->shape, &p->n_shape);
        if (!ok)
            return snprintf(why, n, "the target shape is not a constant int64 tensor of at most %d values",
                            XR_MAX_RANK), false;
        p->allowzero = get_int(c, "allowzero", 0) != 0;
        int minus = 0, zero = 0;
        for (int32_t i = 0; i < p->n_shape; i++) {
            minus += p->shape[i] == -1;
            zero += p->shape[i] == 0;
            if (p->shape[i] < -1) return snprintf(why, n, "the target shape has %lld", (long long)p->shape[i]), false;
        }
        if (minus > 1 || (p->allowzero && minus && zero))
            return snprintf(why, n, "the target shape cannot be resolved (several -1, or -1 with allowzero zeros)"),
                   false;
        return true;
    }
    case XO_SQUEEZE:
    case XO_UNSQUEEZE: {
        bool ok = opset < 13 ? attr_ints(c, "axes", XR_MAX_RANK, p->axes, &p->n_axes)
                             : arg == PRISM_NO_VALUE || const_ints(c, arg, XR_MAX_RANK, p->axes, &p->n_axes);
        if (!ok) return snprintf(why, n, "axes are not constant int64 values (at most %d)", XR_MAX_RANK), false;
        if (op == XO_UNSQUEEZE && !p->n_axes) return snprintf(why, n, "Unsqueeze without axes"), false;
        if (op == XO_SQUEEZE && !p->n_axes && r < 0)
            return snprintf(why, n, "Squeeze without axes needs the input's shape"), false;
        int32_t out_r = op == XO_UNSQUEEZE ? r + p->n_axes : r;
        if (r >= 0 && out_r > XR_MAX_RANK)
            return snprintf(why, n, "the result's rank %d is above %d", out_r, XR_MAX_RANK), false;
        for (int32_t i = 0; r >= 0 && i < p->n_axes; i++) {
            int64_t a = p->axes[i] < 0 ? p->axes[i] + out_r : p->axes[i];
            if (a < 0 || a >= out_r)
                return snprintf(why, n, "axis %lld is outside the rank", (long long)p->axes[i]), false;
            if (op == XO_SQUEEZE && d[a] >= 0 && d[a] != 1)
                return snprintf(why, n, "axis %lld has size %lld, not 1", (long long)p->axes[i], (long long)d[a]),
                       false;
        }
        return true;
    }
    default: return true; /* Identity */
    }
}

static bool parse_concat(const ctx *c, xo_params *p, char *why, size_t n) {
    const prism_host_api *h = c->h;
    uint32_t nin = h->node_input_count(c->g, c->node);
    if (nin < 1 || nin > XR_MAX_CONCAT_INPUTS)
        return snprintf(why, n, "%u inputs (the provider copies at most %d)", nin, XR_MAX_CONCAT_INPUTS), false;
    if (!has(c, "axis")) return snprintf(why, n, "Concat without axis"), false;
    p->axis = get_int(c, "axis", 0);
    int32_t r0 = -1;
    int64_t d0[XR_MAX_RANK];
    for (uint32_t k = 0; k < nin; k++) {
        uint32_t v = h->node_input(c->g, c->node, k);
        int32_t r;
        int64_t d[XR_MAX_RANK];
        if (v == PRISM_NO_VALUE || !dims_of(c, v, &r, d))
            return snprintf(why, n, "input %u is missing or of unknown rank (at most %d)", k, XR_MAX_RANK), false;
        if (k == 0) {
            r0 = r;
            memcpy(d0, d, sizeof d);
            if (p->axis < -r || p->axis >= r || r < 1)
                return snprintf(why, n, "axis %lld is outside the rank %d", (long long)p->axis, r), false;
            continue;
        }
        if (r != r0) return snprintf(why, n, "inputs of ranks %d and %d", r0, r), false;
    }
    /* Each input is one contiguous block per index of the axes before axis:
     * outer x inputs device copies. */
    int64_t ax = p->axis < 0 ? p->axis + r0 : p->axis;
    int64_t outer = shape_count((int32_t)ax, d0);
    if (outer > XR_MAX_CONCAT_COPIES / (int64_t)nin)
        return snprintf(why, n, "%lld x %u device copies (more than %d: too many tiny transfers)", (long long)outer,
                        nin, XR_MAX_CONCAT_COPIES), false;
    return true;
}

bool xo_parse(const prism_host_api *h, const prism_graph_view *g, uint32_t node, xo_op *out_op, xo_params *p,
              char *why, size_t n) {
    ctx c = {h, g, node};
    memset(p, 0, sizeof *p);
    const char *dom = h->node_domain(g, node), *opt = h->node_op_type(g, node);
    if (dom && *dom && strcmp(dom, "ai.onnx")) {
        snprintf(why, n, "domain '%s' is not ai.onnx", dom);
        return false;
    }
    xo_op op = XO_OP_COUNT;
    for (int i = 0; opt && i < XO_OP_COUNT; i++)
        if (!strcmp(opt, op_names[i])) op = (xo_op)i;
    if (op == XO_OP_COUNT) {
        snprintf(why, n, "no FPGA kernel for %s", opt ? opt : "?");
        return false;
    }
    /* every tensor it touches is float32 (but the views' shape and axes) */
    uint32_t nin = h->node_input_count(g, node);
    if (!nin || h->node_input(g, node, 0) == PRISM_NO_VALUE) {
        snprintf(why, n, "no data input");
        return false;
    }
    bool view = xo_is_view(op);
    for (uint32_t k = 0; k < (view ? 1 : nin); k++) {
        uint32_t v = h->node_input(g, node, k);
        if (v != PRISM_NO_VALUE && h->value_dtype(g, v) != PRISM_DTYPE_FLOAT) {
            snprintf(why, n, "input %u is not float32 (the kernels are float32 only)", k);
            return false;
        }
    }
    uint32_t out = h->node_output_count(g, node) ? h->node_output(g, node, 0) : PRISM_NO_VALUE;
    if (out == PRISM_NO_VALUE || h->value_dtype(g, out) != PRISM_DTYPE_FLOAT) {
        snprintf(why, n, "the output is not float32");
        return false;
    }
    bool ok = true;
    int64_t opset = h->node_opset(g, node);
    switch (op) {
    case XO_CONV: ok = nin >= 2 && parse_conv(&c, p, why, n); break;
    case XO_GEMM:
    case XO_MATMUL: ok = nin >= 2 && parse_gemm(&c, op, p, why, n); break;
    case XO_ADD:
    case XO_SUB:
    case XO_MUL:
    case XO_DIV: ok = nin == 2 && parse_eltwise(&c, op, why, n); break;
    case XO_CLIP: ok = parse_clip(&c, opset, p, why, n); break;
    case XO_MAXPOOL:
    case XO_AVGPOOL:
    case XO_GAP: ok = parse_pool(&c, op, p, why, n); break;
    case XO_IDENTITY:
    case XO_FLATTEN:
    case XO_RESHAPE:
    case XO_SQUEEZE:
    case XO_UNSQUEEZE: ok = parse_view(&c, op, opset, p, why, n); break;
    case XO_CONCAT: ok = parse_concat(&c, p, why, n); break;
    default: break;
    }
    if (ok && (op == XO_RELU || op == XO_CLIP)) {
        int32_t r = h->value_rank(g, h->node_input(g, node, 0));
        int64_t count = 1;
        for (int32_t i = 0; i < r; i++) {
            int64_t d = h->value_dim(g, h->node_input(g, node, 0), (uint32_t)i);
            count *= d > 0 ? d : 1;
        }
        if (count > PRISM_HLS_MAX_DIM) {
            snprintf(why, n, "more than PRISM_HLS_MAX_DIM elements");
            ok = false;
        }
    }
    if (!ok && !why[0]) snprintf(why, n, "unsupported inputs");
    *out_op = op;
    return ok;
}

static double count_of(const prism_host_api *h, const prism_graph_view *g, uint32_t v) {
    if (v == PRISM_NO_VALUE) return 1.0;
    int32_t r = h->value_rank(g, v);
    double c = 1.0;
    for (int32_t i = 0; i < r; i++) {
        int64_t d = h->value_dim(g, v, (uint32_t)i);
        c *= d > 0 ? (double)d : 1.0;
    }
    return c;
}

double xo_cost(const prism_host_api *h, const prism_graph_view *g, uint32_t node, xo_op op, double gflops) {
    uint32_t out = h->node_output(g, node, 0), a = h->node_input(g, node, 0);
    double flops = count_of(h, g, out);
    if (xo_is_view(op)) return 1e-6; /* no work inside a unit */
    if (op == XO_CONCAT) return flops * sizeof(float) / 10e9 + 20e-6; /* device copies at a nominal 10 GB/s */
    if (op == XO_CONV) {
        /* per output: 2 * (C/group) * kh * kw = 2 * W's elements / M */
        uint32_t w = h->node_input(g, node, 1);
        int64_t m = h->value_dim(g, w, 0);
        flops *= 2.0 * count_of(h, g, w) / (double)(m > 0 ? m : 1);
    } else if (op == XO_GEMM || op == XO_MATMUL) {
        int32_t r = h->value_rank(g, a);
        int64_t k = r > 0 ? h->value_dim(g, a, (uint32_t)(r - 1)) : 1;
        if (op == XO_GEMM && h->node_attr_find(g, node, "transA") >= 0) {
            int64_t k0 = h->value_dim(g, a, 0);
            ctx c = {h, g, node};
            if (get_int(&c, "transA", 0)) k = k0;
        }
        flops *= 2.0 * (double)(k > 0 ? k : 1);
    } else if (op == XO_MAXPOOL || op == XO_AVGPOOL || op == XO_GAP) {
        flops = count_of(h, g, a) * (op == XO_GAP ? 1.0 : 4.0);
    }
    return flops / (gflops * 1e9) + 20e-6; /* plus a launch overhead */
}
