/*
 * xrt_ops.c — which ONNX nodes the FPGA kernels run, and what they cost.
 *
 * The answer is exactly what prism_hls.h's kernels support, so a node the
 * provider claims never fails for a reason known at session creation:
 * float32 only; 2-D Conv (any group, stride, dilation, padding), Gemm and
 * MatMul lowered to the batched GEMM; Add/Sub/Mul/Div with a same-shape,
 * scalar or per-channel second operand, Relu and Clip (constant bounds) on
 * the element-wise kernel; Max/AveragePool and GlobalAveragePool with
 * windows of at most PRISM_HLS_MAX_POOL. Everything else is declined with a
 * sentence saying why.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "prism_hls.h"
#include "xrt_internal.h"
#include "pv_attr.h"

static const char *const op_names[XO_OP_COUNT] = {
    "Conv", "Gemm", "MatMul", "Add", "Sub", "Mul", "Div", "Relu", "Clip", "MaxPool", "AveragePool", "GlobalAveragePool",
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
    /* every tensor it touches is float32 */
    uint32_t nin = h->node_input_count(g, node);
    for (uint32_t k = 0; k < nin; k++) {
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
