/*
 * sampling.c — sampling and region ops for the CPU provider:
 *   GridSample (ONNX opsets 16, 20, 22), AffineGrid (20), RoiAlign (10, 16,
 *   22), MaxRoiPool (1, 22), CenterCropPad (18), LpPool (1, 2, 11, 18, 22),
 *   MaxUnpool (9, 11, 22), DeformConv (19, 22).
 *
 * Floating-point kernels run one templated body per working type W (float,
 * or double for double and the wide integer dtypes); other dtypes are
 * widened to W first and narrowed at the end (integers truncated, as a cast,
 * and saturated). Semantics follow the ONNX spec and its reference
 * implementation (onnx/reference/ops): notes at each op.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

#define SP_MAX (CPU_MAX_RANK - 2) /* spatial dims */
/* Bound on strides, dilations, pads and kernel sizes. */
#define SP_ATTR_MAX ((int64_t)1 << 40)


static bool sp_numeric_dtype(int32_t dt) {
    switch (dt) {
    case PRISM_DTYPE_INT8: case PRISM_DTYPE_UINT8: case PRISM_DTYPE_INT16: case PRISM_DTYPE_UINT16:
    case PRISM_DTYPE_INT32: case PRISM_DTYPE_UINT32: case PRISM_DTYPE_INT64: case PRISM_DTYPE_UINT64:
        return true;
    default:
        return cpu_dtype_is_float(dt);
    }
}

/* Whether dtype dt computes in double. */
static bool sp_wide(int32_t dt) {
    return dt == PRISM_DTYPE_DOUBLE || dt == PRISM_DTYPE_INT32 || dt == PRISM_DTYPE_UINT32 ||
           dt == PRISM_DTYPE_INT64 || dt == PRISM_DTYPE_UINT64;
}

static bool sp_supports_float(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static bool sp_supports_numeric(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || sp_numeric_dtype(dt);
}

static void sp_release(void *state) { free(state); }

/* Element i of a numeric tensor as double. */
static double sp_get(const cpu_tensor *t, int64_t i) {
    if (cpu_dtype_is_float(t->dtype)) return cpu_tensor_get_f64(t, i);
    if (t->dtype == PRISM_DTYPE_UINT64) return (double)((const uint64_t *)t->data)[i];
    return (double)cpu_tensor_int(t, i);
}

/* Stores v into element i of a numeric tensor. Integers are cast as C and
 * the reference do (truncated toward zero), saturated instead of undefined
 * when out of range (GridSample is the only op here with integer outputs). */
static void sp_set(cpu_tensor *t, int64_t i, double v) {
    if (cpu_dtype_is_float(t->dtype)) {
        cpu_tensor_set_f64(t, i, v);
        return;
    }
    double r = trunc(v);
#define SP_SAT(E, T, LO, HI)                                                                  \
    case E:                                                                                   \
        ((T *)t->data)[i] = !(r > (double)(LO)) ? (T)(LO) : r >= (double)(HI) ? (T)(HI) : (T)r; \
        return;
    switch (t->dtype) {
        SP_SAT(PRISM_DTYPE_INT8, int8_t, INT8_MIN, INT8_MAX)
        SP_SAT(PRISM_DTYPE_UINT8, uint8_t, 0, UINT8_MAX)
        SP_SAT(PRISM_DTYPE_INT16, int16_t, INT16_MIN, INT16_MAX)
        SP_SAT(PRISM_DTYPE_UINT16, uint16_t, 0, UINT16_MAX)
        SP_SAT(PRISM_DTYPE_INT32, int32_t, INT32_MIN, INT32_MAX)
        SP_SAT(PRISM_DTYPE_UINT32, uint32_t, 0, UINT32_MAX)
        SP_SAT(PRISM_DTYPE_INT64, int64_t, INT64_MIN, INT64_MAX)
        SP_SAT(PRISM_DTYPE_UINT64, uint64_t, 0, UINT64_MAX)
    default: return;
    }
#undef SP_SAT
}

/* A tensor's data in working type W: the tensor's own buffer when it already
 * is W (*owned = NULL), else a widened copy the caller frees. */
#define SP_WIDEN_DEFINE(W, DT)                                                              \
    static const W *sp_widen_##W(const cpu_tensor *t, W **owned) {                          \
        *owned = NULL;                                                                      \
        if (!t) return NULL;                                                                \
        if (t->dtype == DT) return t->data;                                                 \
        W *f = malloc((size_t)(t->count ? t->count : 1) * sizeof *f);                       \
        if (!f) return NULL;                                                                \
        if (t->dtype == PRISM_DTYPE_FLOAT)                                                  \
            for (int64_t i = 0; i < t->count; i++) f[i] = (W)((const float *)t->data)[i];   \
        else                                                                                \
            for (int64_t i = 0; i < t->count; i++) f[i] = (W)sp_get(t, i);                  \
        *owned = f;                                                                         \
        return f;                                                                           \
    }
SP_WIDEN_DEFINE(float, PRISM_DTYPE_FLOAT)
SP_WIDEN_DEFINE(double, PRISM_DTYPE_DOUBLE)

/* X's data in the working type (double when wide, else float). */
static const void *sp_widen_w(const cpu_tensor *t, bool wide, void **owned) {
    if (wide) {
        double *o;
        const double *r = sp_widen_double(t, &o);
        *owned = o;
        return r;
    }
    float *o;
    const float *r = sp_widen_float(t, &o);
    *owned = o;
    return r;
}

/* Output buffer in W: the output's own data when it is W, else scratch that
 * sp_finish narrows into the output. */
static void *sp_out_buf(cpu_tensor *y, bool wide) {
    if (y->dtype == (wide ? PRISM_DTYPE_DOUBLE : PRISM_DTYPE_FLOAT)) return y->data;
    return malloc((size_t)(y->count ? y->count : 1) * (wide ? sizeof(double) : sizeof(float)));
}

static void sp_finish(cpu_tensor *y, void *buf, bool wide) {
    if (buf == y->data || !buf) return;
    if (wide)
        for (int64_t i = 0; i < y->count; i++) sp_set(y, i, ((double *)buf)[i]);
    else
        for (int64_t i = 0; i < y->count; i++) sp_set(y, i, ((float *)buf)[i]);
    free(buf);
}

/* Keys' cubic convolution kernel at distance x. */
static double sp_cubic(double a, double x) {
    x = fabs(x);
    if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
    if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
    return 0;
}

/* Coordinates far outside any tensor are all equivalent; clamping them keeps
 * every later conversion to an integer defined (NaN goes low). */
static double sp_sane(double x) {
    if (!(x > -1e9)) return -1e9;
    return x < 1e9 ? x : 1e9;
}

static int64_t sp_clamp(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

/* ======================================================================
 * GridSample
 * ====================================================================== */

enum { GS_LINEAR, GS_NEAREST, GS_CUBIC };
enum { GS_ZEROS, GS_BORDER, GS_REFLECTION };
#define GS_MAX_COMBOS 1024 /* taps^spatial dims per output element */

typedef struct gs_state {
    int mode, padding;
    bool align;
} gs_state;

static prism_status gs_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    gs_state tmp = {0};
    int64_t opset = cpu_node_opset(node);
    const char *m = cpu_attr_string(node, "mode", opset >= 20 ? "linear" : "bilinear");
    if (!strcmp(m, opset >= 20 ? "linear" : "bilinear")) tmp.mode = GS_LINEAR;
    else if (!strcmp(m, "nearest")) tmp.mode = GS_NEAREST;
    else if (!strcmp(m, opset >= 20 ? "cubic" : "bicubic")) tmp.mode = GS_CUBIC;
    else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown mode '%s'", m);
    const char *p = cpu_attr_string(node, "padding_mode", "zeros");
    if (!strcmp(p, "zeros")) tmp.padding = GS_ZEROS;
    else if (!strcmp(p, "border")) tmp.padding = GS_BORDER;
    else if (!strcmp(p, "reflection")) tmp.padding = GS_REFLECTION;
    else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown padding_mode '%s'", p);
    tmp.align = cpu_attr_int(node, "align_corners", 0) != 0;
    gs_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

typedef struct gs_geom {
    const gs_state *st;
    int sp, combos; /* combos: most taps per output element */
    int64_t n, c, in[SP_MAX], in_plane, out_plane;
    int64_t istride[SP_MAX];
} gs_geom;

/* Reflects x into [lo, hi] (by the nearer border, repeatedly). */
static double gs_reflect(double x, double lo, double hi) {
    double rng = hi - lo;
    if (!(rng > 0)) return lo;
    if (x < lo) {
        double dx = lo - x, k = floor(dx / rng), r = dx - k * rng;
        return fmod(k, 2) == 0 ? lo + r : hi - r;
    }
    if (x > hi) {
        double dx = x - hi, k = floor(dx / rng), r = dx - k * rng;
        return fmod(k, 2) == 0 ? hi - r : lo + r;
    }
    return x;
}

/* Input index for tap i along a dim of length L; false when it reads zero. */
static bool gs_pixel(const gs_geom *g, int64_t i, int64_t L, double lo, double hi, int64_t *out) {
    switch (g->st->padding) {
    case GS_ZEROS:
        if (i < 0 || i >= L) return false;
        break;
    case GS_BORDER:
        i = sp_clamp(i, 0, L - 1);
        break;
    default:
        i = sp_clamp((int64_t)gs_reflect((double)i, lo, hi), 0, L - 1);
        break;
    }
    *out = i;
    return true;
}

/* The taps of one output element along spatial dim d at normalised
 * coordinate v: up to 4 (input offset, weight) pairs; returns the count. */
static int gs_dim_taps(const gs_geom *g, int d, double v, int64_t *off, double *w) {
    const gs_state *st = g->st;
    const int64_t L = g->in[d];
    /* Denormalise (as float, like the reference). */
    double x = st->align ? (v + 1) / 2.0 * (double)(L - 1) : ((v + 1) * (double)L - 1) / 2.0;
    x = sp_sane((double)(float)x);
    const double lo = st->align ? 0.0 : -0.5, hi = st->align ? (double)(L - 1) : (double)L - 0.5;
    if (st->mode == GS_NEAREST) x = nearbyint(x); /* half to even */
    if (x < lo || x > hi) {
        if (st->padding == GS_BORDER) x = x < 0 ? 0 : x > (double)(L - 1) ? (double)(L - 1) : x;
        else if (st->padding == GS_REFLECTION) x = gs_reflect(x, lo, hi);
    }
    int n = 0;
    int64_t p;
    if (st->mode == GS_NEAREST) {
        if (gs_pixel(g, (int64_t)x, L, lo, hi, &p)) {
            off[n] = p * g->istride[d];
            w[n++] = 1;
        }
        return n;
    }
    const double x0 = floor(x), f = x - x0;
    const int64_t i0 = (int64_t)x0;
    if (st->mode == GS_LINEAR) {
        if (gs_pixel(g, i0, L, lo, hi, &p)) {
            off[n] = p * g->istride[d];
            w[n++] = 1 - f;
        }
        if (gs_pixel(g, i0 + 1, L, lo, hi, &p)) {
            off[n] = p * g->istride[d];
            w[n++] = f;
        }
        return n;
    }
    for (int j = 0; j < 4; j++)
        if (gs_pixel(g, i0 - 1 + j, L, lo, hi, &p)) {
            off[n] = p * g->istride[d];
            w[n++] = sp_cubic(-0.75, (double)(j - 1) - f);
        }
    return n;
}

/* The taps of one output element over all dims combined (the grid's last
 * axis lists the dims in reverse order): offsets in the plane and weights;
 * returns the count (taps reading zero padding are left out). */
static int gs_combos(const gs_geom *g, const float *gp, int64_t *off, double *wt) {
    int count = 1;
    off[0] = 0;
    wt[0] = 1;
    for (int d = 0; d < g->sp && count > 0; d++) {
        int64_t o[4];
        double w[4];
        int k = gs_dim_taps(g, d, (double)gp[g->sp - 1 - d], o, w);
        for (int c = count - 1; c >= 0; c--)
            for (int j = k - 1; j >= 0; j--) {
                off[c * k + j] = off[c] + o[j];
                wt[c * k + j] = wt[c] * w[j];
            }
        count *= k;
    }
    return count;
}

#define GS_BLOCK 64        /* output positions per task item */
#define GS_BLOCK_COMBOS 16 /* most taps per position for the blocked path */

#define GS_DEFINE(W)                                                                                 \
    typedef struct gs_arg_##W {                                                                      \
        const gs_geom *g;                                                                            \
        const W *x;                                                                                  \
        const float *grid;                                                                           \
        W *y;                                                                                        \
    } gs_arg_##W;                                                                                    \
                                                                                                     \
    /* Items are (image, block of output positions): the taps of the block  \
     * are computed once, then applied plane by plane (so each channel's    \
     * plane stays in cache and the output is written in order). */         \
    static void gs_run_##W(void *argp, int64_t i0, int64_t i1) {                                     \
        const gs_arg_##W *a = argp;                                                                  \
        const gs_geom *g = a->g;                                                                     \
        const int64_t nb = (g->out_plane + GS_BLOCK - 1) / GS_BLOCK;                                 \
        for (int64_t it = i0; it < i1; it++) {                                                       \
            const int64_t n = it / nb, p0 = it % nb * GS_BLOCK;                                      \
            const int64_t p1 = p0 + GS_BLOCK < g->out_plane ? p0 + GS_BLOCK : g->out_plane;          \
            const W *xn = a->x + n * g->c * g->in_plane;                                             \
            W *yn = a->y + n * g->c * g->out_plane;                                                  \
            const float *gn = a->grid + n * g->out_plane * g->sp;                                    \
            if (g->combos <= GS_BLOCK_COMBOS) {                                                      \
                int64_t off[GS_BLOCK][GS_BLOCK_COMBOS];                                              \
                W ww[GS_BLOCK][GS_BLOCK_COMBOS];                                                     \
                int cnt[GS_BLOCK];                                                                   \
                for (int64_t p = p0; p < p1; p++) {                                                  \
                    double wt[GS_BLOCK_COMBOS];                                                      \
                    int q = (int)(p - p0);                                                           \
                    cnt[q] = gs_combos(g, gn + p * g->sp, off[q], wt);                               \
                    for (int j = 0; j < cnt[q]; j++) ww[q][j] = (W)wt[j];                            \
                }                                                                                    \
                for (int64_t c = 0; c < g->c; c++) {                                                 \
                    const W *xc = xn + c * g->in_plane;                                              \
                    W *yc = yn + c * g->out_plane;                                                   \
                    for (int64_t p = p0; p < p1; p++) {                                              \
                        const int q = (int)(p - p0);                                                 \
                        const int64_t *o = off[q];                                                   \
                        const W *w = ww[q];                                                          \
                        W acc;                                                                       \
                        if (cnt[q] == 4) {                                                           \
                            acc = w[0] * xc[o[0]] + w[1] * xc[o[1]] + w[2] * xc[o[2]] + w[3] * xc[o[3]]; \
                        } else {                                                                     \
                            acc = 0;                                                                 \
                            for (int j = 0; j < cnt[q]; j++) acc += w[j] * xc[o[j]];                 \
                        }                                                                            \
                        yc[p] = acc;                                                                 \
                    }                                                                                \
                }                                                                                    \
                continue;                                                                            \
            }                                                                                        \
            for (int64_t p = p0; p < p1; p++) {                                                      \
                int64_t off[GS_MAX_COMBOS];                                                          \
                double wt[GS_MAX_COMBOS];                                                            \
                const int count = gs_combos(g, gn + p * g->sp, off, wt);                             \
                for (int64_t c = 0; c < g->c; c++) {                                                 \
                    const W *xc = xn + c * g->in_plane;                                              \
                    double acc = 0;                                                                  \
                    for (int j = 0; j < count; j++) acc += wt[j] * (double)xc[off[j]];               \
                    yn[c * g->out_plane + p] = (W)acc;                                               \
                }                                                                                    \
            }                                                                                        \
        }                                                                                            \
    }

GS_DEFINE(float)
GS_DEFINE(double)

static bool gs_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0), gt = cpu_node_input_dtype(node, 1);
    return (dt <= 0 || sp_numeric_dtype(dt)) && (gt <= 0 || cpu_dtype_is_float(gt));
}

static prism_status gs_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    const gs_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GridSample needs X and grid");
    const cpu_tensor *x = in[0], *grid = in[1];
    if (!sp_numeric_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GridSample does not support dtype %s", cpu_dtype_name(x->dtype));
    if (!cpu_dtype_is_float(grid->dtype)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "grid must be a floating-point tensor");
    if (x->rank < 3 || (cpu_node_opset(node) < 20 && x->rank != 4))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X has rank %d; GridSample-%lld needs %s", x->rank,
                        (long long)cpu_node_opset(node), cpu_node_opset(node) < 20 ? "rank 4" : "rank >= 3");
    const int sp = x->rank - 2;
    if (grid->rank != x->rank || grid->dims[0] != x->dims[0] || grid->dims[grid->rank - 1] != sp)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "grid must have shape (N, out dims..., %d) with N = %lld", sp,
                        (long long)x->dims[0]);
    int combos = 1;
    for (int d = 0; d < sp; d++) combos *= st->mode == GS_NEAREST ? 1 : st->mode == GS_LINEAR ? 2 : 4;
    if (sp > 10 || combos > GS_MAX_COMBOS)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GridSample with this mode supports at most %d spatial dims",
                        st->mode == GS_CUBIC ? 5 : 10);
    gs_geom g = {.st = st, .sp = sp, .combos = combos, .n = x->dims[0], .c = x->dims[1]};
    int64_t yd[CPU_MAX_RANK];
    yd[0] = x->dims[0];
    yd[1] = x->dims[1];
    int64_t s = 1;
    for (int d = sp - 1; d >= 0; d--) {
        g.in[d] = x->dims[2 + d];
        g.istride[d] = s;
        s *= g.in[d];
        yd[2 + d] = grid->dims[1 + d];
    }
    g.in_plane = s;
    g.out_plane = cpu_shape_count(sp, yd + 2);
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, yd, &y);
    if (rc || y->count == 0) return rc;
    if (g.in_plane == 0) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X has an empty spatial dim");
    const bool wide = sp_wide(x->dtype);
    float *grid_owned;
    const float *gf = sp_widen_float(grid, &grid_owned);
    void *xo = NULL;
    const void *xw = sp_widen_w(x, wide, &xo);
    void *yw = sp_out_buf(y, wide);
    if (!gf || !xw || !yw) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    } else if (wide) {
        gs_arg_double arg = {&g, xw, gf, yw};
        cpu_parallel_for(ctx, g.n * ((g.out_plane + GS_BLOCK - 1) / GS_BLOCK), gs_run_double, &arg);
    } else {
        gs_arg_float arg = {&g, xw, gf, yw};
        cpu_parallel_for(ctx, g.n * ((g.out_plane + GS_BLOCK - 1) / GS_BLOCK), gs_run_float, &arg);
    }
    if (!rc) sp_finish(y, yw, wide);
    else if (yw != y->data) free(yw);
    free(grid_owned);
    free(xo);
    return rc;
}

const cpu_kernel_def cpu_op_GridSample = {
    .prepare = gs_prepare,
    .run = gs_run,
    .release = sp_release,
    .supports = gs_supports,
};

/* ======================================================================
 * AffineGrid: grid[n, (d,) h, w] = theta[n] x [x_w, y_h, (z_d,) 1], with
 * base coordinates -1 + (2i + 1)/L (align_corners=0) or -1 + 2i/(L - 1)
 * (align_corners=1; -1 when L = 1).
 * ====================================================================== */

typedef struct ag_arg {
    const double *theta; /* N x r x (r+1) */
    cpu_tensor *y;
    int r;
    int64_t dims[3]; /* D (1 for 2-D), H, W */
    bool align;
} ag_arg;

static double ag_base(int64_t i, int64_t L, bool align) {
    if (align) return L > 1 ? -1.0 + 2.0 * (double)i / (double)(L - 1) : -1.0;
    return -1.0 + (2.0 * (double)i + 1.0) / (double)L;
}

/* Items are (image, depth, row). */
static void ag_rows(void *argp, int64_t i0, int64_t i1) {
    const ag_arg *a = argp;
    const int64_t D = a->dims[0], H = a->dims[1], W = a->dims[2];
    for (int64_t it = i0; it < i1; it++) {
        const int64_t n = it / (D * H), dd = it / H % D, h = it % H;
        const double *t = a->theta + n * a->r * (a->r + 1);
        double base[3];
        base[1] = ag_base(h, H, a->align);
        base[2] = ag_base(dd, D, a->align);
        for (int64_t w = 0; w < W; w++) {
            base[0] = ag_base(w, W, a->align);
            const int64_t o = (it * W + w) * a->r;
            for (int k = 0; k < a->r; k++) {
                const double *row = t + k * (a->r + 1);
                double v = row[a->r];
                for (int j = 0; j < a->r; j++) v += row[j] * base[j];
                sp_set(a->y, o + k, v);
            }
        }
    }
}

static prism_status ag_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)state;
    (void)node;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "AffineGrid needs theta and size");
    const cpu_tensor *theta = in[0], *size = in[1];
    if (!cpu_dtype_is_float(theta->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "AffineGrid does not support dtype %s",
                        cpu_dtype_name(theta->dtype));
    if (size->rank != 1 || (size->count != 4 && size->count != 5) ||
        (size->dtype != PRISM_DTYPE_INT64 && size->dtype != PRISM_DTYPE_INT32))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "size must be an int64 tensor (N, C, H, W) or (N, C, D, H, W)");
    const int r = size->count == 4 ? 2 : 3;
    int64_t sz[5];
    for (int i = 0; i < size->count; i++) {
        sz[i] = cpu_tensor_int(size, i);
        if (sz[i] < 0 || sz[i] > ((int64_t)1 << 31))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "size[%d] = %lld is out of range", i, (long long)sz[i]);
    }
    if (theta->rank != 3 || theta->dims[0] != sz[0] || theta->dims[1] != r || theta->dims[2] != r + 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "theta must have shape (%lld, %d, %d)", (long long)sz[0], r, r + 1);
    int64_t yd[5];
    yd[0] = sz[0];
    for (int i = 0; i < r; i++) yd[1 + i] = sz[2 + i];
    yd[r + 1] = r;
    int64_t total = r;
    for (int i = 0; i <= r; i++)
        if (!cpu_mul_ok(total, yd[i], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, theta->dtype, r + 2, yd, &y);
    if (rc || y->count == 0) return rc;
    double *owned;
    const double *t = sp_widen_double(theta, &owned);
    if (!t) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    ag_arg arg = {t, y, r, {r == 3 ? sz[2] : 1, sz[r == 3 ? 3 : 2], sz[r == 3 ? 4 : 3]},
                  cpu_attr_int(node, "align_corners", 0) != 0};
    cpu_parallel_for(ctx, sz[0] * arg.dims[0] * arg.dims[1], ag_rows, &arg);
    free(owned);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_AffineGrid = {
    .run = ag_run,
    .supports = sp_supports_float,
};

/* ======================================================================
 * RoiAlign. Per RoI and bin, grid_h x grid_w bilinear samples (sampling_ratio
 * or ceil(roi extent / bins)), averaged or maxed. Like the reference (and
 * ONNX Runtime): samples more than one pixel outside the map read 0; in max
 * mode each sample is the max of its four weighted corners. half_pixel
 * shifts RoIs by -0.5 and allows any extent; output_half_pixel (opset 10's
 * only behaviour) forces extents of at least 1.
 * ====================================================================== */

typedef struct ra_state {
    bool max_mode, half_pixel;
    int64_t oh, ow, ratio;
    float scale;
} ra_state;

static prism_status ra_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    ra_state tmp = {0};
    const char *m = cpu_attr_string(node, "mode", "avg");
    if (!strcmp(m, "avg")) tmp.max_mode = false;
    else if (!strcmp(m, "max")) tmp.max_mode = true;
    else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown mode '%s'", m);
    if (cpu_node_opset(node) >= 16) {
        const char *c = cpu_attr_string(node, "coordinate_transformation_mode", "half_pixel");
        if (!strcmp(c, "half_pixel")) tmp.half_pixel = true;
        else if (!strcmp(c, "output_half_pixel")) tmp.half_pixel = false;
        else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown coordinate_transformation_mode '%s'", c);
    }
    tmp.oh = cpu_attr_int(node, "output_height", 1);
    tmp.ow = cpu_attr_int(node, "output_width", 1);
    tmp.ratio = cpu_attr_int(node, "sampling_ratio", 0);
    tmp.scale = cpu_attr_float(node, "spatial_scale", 1.0f);
    if (tmp.oh < 1 || tmp.ow < 1 || tmp.oh > SP_ATTR_MAX || tmp.ow > SP_ATTR_MAX || tmp.ratio < 0 ||
        tmp.ratio > 65536)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                        "output_height/output_width must be >= 1 and sampling_ratio in [0, 65536]");
    ra_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

/* One bilinear sample along one axis. */
typedef struct ra_tap {
    int64_t lo, hi;
    double wl, wh; /* weights of lo and hi */
    bool valid;
} ra_tap;

static void ra_make_tap(double v, int64_t L, ra_tap *t) {
    if (v < -1.0 || v > (double)L || L == 0) {
        memset(t, 0, sizeof *t);
        return;
    }
    if (v < 0) v = 0;
    int64_t lo = (int64_t)v, hi;
    if (lo >= L - 1) {
        lo = hi = L - 1;
        v = (double)lo;
    } else {
        hi = lo + 1;
    }
    t->lo = lo;
    t->hi = hi;
    t->wh = v - (double)lo;
    t->wl = 1 - t->wh;
    t->valid = true;
}

typedef struct ra_roi {
    int64_t batch, gh, gw; /* grid size (0: no samples) */
    int64_t ty, tx;        /* first tap in the y / x tables */
} ra_roi;

typedef struct ra_arg {
    const ra_state *st;
    const ra_roi *rois;
    const ra_tap *ty, *tx; /* per RoI: oh*gh y taps, ow*gw x taps */
    const cpu_tensor *x;
    const void *xw;
    void *yw;
    bool wide;
    int64_t c, h, w, chunks;
} ra_arg;

#define RA_DEFINE(W)                                                                                  \
    static void ra_compute_##W(const ra_arg *a, int64_t r, int64_t c) {                               \
        const ra_state *st = a->st;                                                                   \
        const ra_roi *ro = &a->rois[r];                                                               \
        const W *xp = (const W *)a->xw + (ro->batch * a->c + c) * a->h * a->w;                        \
        W *yp = (W *)a->yw + (r * a->c + c) * st->oh * st->ow;                                        \
        const int64_t count = ro->gh * ro->gw > 1 ? ro->gh * ro->gw : 1;                              \
        for (int64_t ph = 0; ph < st->oh; ph++)                                                       \
            for (int64_t pw = 0; pw < st->ow; pw++) {                                                 \
                double acc = 0;                                                                       \
                bool first = true;                                                                    \
                for (int64_t iy = 0; iy < ro->gh; iy++) {                                             \
                    const ra_tap *ty = &a->ty[ro->ty + ph * ro->gh + iy];                             \
                    for (int64_t ix = 0; ix < ro->gw; ix++) {                                         \
                        const ra_tap *tx = &a->tx[ro->tx + pw * ro->gw + ix];                         \
                        double v1 = 0, v2 = 0, v3 = 0, v4 = 0;                                        \
                        if (ty->valid && tx->valid) {                                                 \
                            v1 = ty->wl * tx->wl * (double)xp[ty->lo * a->w + tx->lo];                \
                            v2 = ty->wl * tx->wh * (double)xp[ty->lo * a->w + tx->hi];                \
                            v3 = ty->wh * tx->wl * (double)xp[ty->hi * a->w + tx->lo];                \
                            v4 = ty->wh * tx->wh * (double)xp[ty->hi * a->w + tx->hi];                \
                        }                                                                             \
                        if (!st->max_mode) {                                                          \
                            acc += v1 + v2 + v3 + v4;                                                 \
                        } else {                                                                      \
                            double v = fmax(fmax(v1, v2), fmax(v3, v4));                              \
                            acc = first ? v : fmax(acc, v);                                           \
                            first = false;                                                            \
                        }                                                                             \
                    }                                                                                 \
                }                                                                                     \
                yp[ph * st->ow + pw] = (W)(st->max_mode ? acc : acc / (double)count);                 \
            }                                                                                         \
    }
RA_DEFINE(float)
RA_DEFINE(double)

#define RA_TAB 256 /* most samples per bin for the tabulated path */

#define RA_BLOCK_DEFINE(W)                                                                            \
    /* RoI r, channels [c0, c1): each bin's samples (four weighted corners    \
     * each) are tabulated once and applied to every channel. */              \
    static void ra_block_##W(const ra_arg *a, int64_t r, int64_t c0, int64_t c1) {                    \
        const ra_state *st = a->st;                                                                   \
        const ra_roi *ro = &a->rois[r];                                                               \
        const int64_t ns = ro->gh * ro->gw, count = ns > 1 ? ns : 1, plane = a->h * a->w;             \
        if (ns > RA_TAB) {                                                                            \
            for (int64_t c = c0; c < c1; c++) ra_compute_##W(a, r, c);                                \
            return;                                                                                   \
        }                                                                                             \
        int64_t o[RA_TAB][4];                                                                         \
        double w[RA_TAB][4];                                                                          \
        for (int64_t ph = 0; ph < st->oh; ph++)                                                       \
            for (int64_t pw = 0; pw < st->ow; pw++) {                                                 \
                int64_t s = 0;                                                                        \
                for (int64_t iy = 0; iy < ro->gh; iy++) {                                             \
                    const ra_tap *ty = &a->ty[ro->ty + ph * ro->gh + iy];                             \
                    for (int64_t ix = 0; ix < ro->gw; ix++, s++) {                                    \
                        const ra_tap *tx = &a->tx[ro->tx + pw * ro->gw + ix];                         \
                        if (!ty->valid || !tx->valid) {                                               \
                            memset(o[s], 0, sizeof o[s]);                                             \
                            w[s][0] = w[s][1] = w[s][2] = w[s][3] = 0;                                \
                            continue;                                                                 \
                        }                                                                             \
                        o[s][0] = ty->lo * a->w + tx->lo;                                             \
                        o[s][1] = ty->lo * a->w + tx->hi;                                             \
                        o[s][2] = ty->hi * a->w + tx->lo;                                             \
                        o[s][3] = ty->hi * a->w + tx->hi;                                             \
                        w[s][0] = ty->wl * tx->wl;                                                    \
                        w[s][1] = ty->wl * tx->wh;                                                    \
                        w[s][2] = ty->wh * tx->wl;                                                    \
                        w[s][3] = ty->wh * tx->wh;                                                    \
                    }                                                                                 \
                }                                                                                     \
                for (int64_t c = c0; c < c1; c++) {                                                   \
                    const W *xp = (const W *)a->xw + (ro->batch * a->c + c) * plane;                  \
                    double acc = 0;                                                                   \
                    for (int64_t k = 0; k < ns; k++) {                                                \
                        const double v1 = w[k][0] * (double)xp[o[k][0]], v2 = w[k][1] * (double)xp[o[k][1]]; \
                        const double v3 = w[k][2] * (double)xp[o[k][2]], v4 = w[k][3] * (double)xp[o[k][3]]; \
                        if (!st->max_mode) {                                                          \
                            acc += v1 + v2 + v3 + v4;                                                 \
                        } else {                                                                      \
                            const double v = fmax(fmax(v1, v2), fmax(v3, v4));                        \
                            acc = k == 0 ? v : fmax(acc, v);                                          \
                        }                                                                             \
                    }                                                                                 \
                    ((W *)a->yw)[((r * a->c + c) * st->oh + ph) * st->ow + pw] =                      \
                        (W)(st->max_mode ? acc : acc / (double)count);                                \
                }                                                                                     \
            }                                                                                         \
    }
RA_BLOCK_DEFINE(float)
RA_BLOCK_DEFINE(double)

/* Items are (RoI, chunk of channels). */
static void ra_items(void *argp, int64_t i0, int64_t i1) {
    const ra_arg *a = argp;
    for (int64_t it = i0; it < i1; it++) {
        const int64_t r = it / a->chunks, k = it % a->chunks;
        const int64_t c0 = a->c * k / a->chunks, c1 = a->c * (k + 1) / a->chunks;
        if (a->wide) ra_block_double(a, r, c0, c1);
        else ra_block_float(a, r, c0, c1);
    }
}

static prism_status ra_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const ra_state *st = state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "RoiAlign needs X, rois and batch_indices");
    const cpu_tensor *x = in[0], *rois = in[1], *bi = in[2];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "RoiAlign does not support dtype %s", cpu_dtype_name(x->dtype));
    if (x->rank != 4) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank 4, got %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 4 || !cpu_dtype_is_float(rois->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "rois must be a float tensor of shape (num_rois, 4)");
    const int64_t nr = rois->dims[0];
    if (bi->rank != 1 || bi->dims[0] != nr || (bi->dtype != PRISM_DTYPE_INT64 && bi->dtype != PRISM_DTYPE_INT32))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "batch_indices must be an int64 tensor of shape (%lld)", (long long)nr);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], Wd = x->dims[3];
    int64_t yd[4] = {nr, C, st->oh, st->ow}, total;
    if (!cpu_mul_ok(nr, C, &total) || !cpu_mul_ok(total, st->oh, &total) || !cpu_mul_ok(total, st->ow, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, 4, yd, &y);
    if (rc || y->count == 0) return rc;
    ra_roi *ro = malloc((size_t)(nr ? nr : 1) * sizeof *ro);
    if (!ro) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    /* Plan every RoI: batch, grid and where its taps go. */
    const double off = st->half_pixel ? 0.5 : 0.0;
    double *geom = malloc((size_t)(nr ? nr : 1) * 4 * sizeof *geom); /* start_h, start_w, bin_h, bin_w */
    int64_t n_ty = 0, n_tx = 0;
    for (int64_t r = 0; geom && r < nr && !rc; r++) {
        int64_t b = cpu_tensor_int(bi, r);
        if (b < 0 || b >= N) {
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "batch_indices[%lld] = %lld is out of range [0, %lld)",
                          (long long)r, (long long)b, (long long)N);
            break;
        }
        double sw = sp_get(rois, r * 4) * st->scale - off, sh = sp_get(rois, r * 4 + 1) * st->scale - off;
        double ew = sp_get(rois, r * 4 + 2) * st->scale - off, eh = sp_get(rois, r * 4 + 3) * st->scale - off;
        double rw = ew - sw, rh = eh - sh;
        if (!st->half_pixel) {
            rw = fmax(rw, 1.0);
            rh = fmax(rh, 1.0);
        }
        double bh = rh / (double)st->oh, bw = rw / (double)st->ow;
        double gh = st->ratio > 0 ? (double)st->ratio : ceil(bh), gw = st->ratio > 0 ? (double)st->ratio : ceil(bw);
        if (!(gh <= 65536) || !(gw <= 65536) || !isfinite(sh) || !isfinite(sw)) {
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "RoI %lld is too large (or not finite) for adaptive sampling",
                          (long long)r);
            break;
        }
        ro[r].batch = b;
        ro[r].gh = gh > 0 && gw > 0 ? (int64_t)gh : 0;
        ro[r].gw = gh > 0 && gw > 0 ? (int64_t)gw : 0;
        ro[r].ty = n_ty;
        ro[r].tx = n_tx;
        n_ty += st->oh * ro[r].gh;
        n_tx += st->ow * ro[r].gw;
        if (n_ty > ((int64_t)1 << 32) || n_tx > ((int64_t)1 << 32)) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "RoI sampling tables are too large");
            break;
        }
        geom[r * 4] = sh;
        geom[r * 4 + 1] = sw;
        geom[r * 4 + 2] = bh;
        geom[r * 4 + 3] = bw;
    }
    ra_tap *ty = NULL, *tx = NULL;
    if (!rc && geom) {
        ty = malloc((size_t)(n_ty ? n_ty : 1) * sizeof *ty);
        tx = malloc((size_t)(n_tx ? n_tx : 1) * sizeof *tx);
    }
    if (!rc && (!geom || !ty || !tx)) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t r = 0; !rc && r < nr; r++) {
        const double sh = geom[r * 4], sw = geom[r * 4 + 1], bh = geom[r * 4 + 2], bw = geom[r * 4 + 3];
        for (int64_t ph = 0; ph < st->oh; ph++)
            for (int64_t iy = 0; iy < ro[r].gh; iy++)
                ra_make_tap(sh + (double)ph * bh + ((double)iy + 0.5) * bh / (double)ro[r].gh, H,
                            &ty[ro[r].ty + ph * ro[r].gh + iy]);
        for (int64_t pw = 0; pw < st->ow; pw++)
            for (int64_t ix = 0; ix < ro[r].gw; ix++)
                ra_make_tap(sw + (double)pw * bw + ((double)ix + 0.5) * bw / (double)ro[r].gw, Wd,
                            &tx[ro[r].tx + pw * ro[r].gw + ix]);
    }
    void *xo = NULL, *yw = NULL;
    const bool wide = x->dtype == PRISM_DTYPE_DOUBLE;
    if (!rc) {
        const void *xw = sp_widen_w(x, wide, &xo);
        yw = sp_out_buf(y, wide);
        if (!xw || !yw) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            /* Enough items for every thread, but whole RoIs where possible. */
            int64_t chunks = (2 * (int64_t)cpu_threads(ctx) + nr - 1) / nr;
            if (chunks > C) chunks = C;
            ra_arg arg = {st, ro, ty, tx, x, xw, yw, wide, C, H, Wd, chunks};
            cpu_parallel_for(ctx, nr * chunks, ra_items, &arg);
            sp_finish(y, yw, wide);
            yw = NULL;
        }
    }
    if (yw && yw != y->data) free(yw);
    free(xo);
    free(ty);
    free(tx);
    free(geom);
    free(ro);
    return rc;
}

const cpu_kernel_def cpu_op_RoiAlign = {
    .prepare = ra_prepare,
    .run = ra_run,
    .release = sp_release,
    .supports = sp_supports_float,
};

/* ======================================================================
 * MaxRoiPool (Caffe RoI pooling, as ONNX Runtime): RoI corners rounded
 * (half away from zero) after scaling, extent max(end - start + 1, 1), bin
 * [floor(i * bin), ceil((i + 1) * bin)) offset by the start and clipped to
 * the map; an empty bin gives 0.
 * ====================================================================== */

typedef struct mrp_state {
    int64_t ph, pw;
    float scale;
} mrp_state;

static prism_status mrp_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    const int64_t *ps;
    size_t n = cpu_attr_ints(node, "pooled_shape", &ps);
    if (n != 2 || ps[0] < 1 || ps[1] < 1 || ps[0] > SP_ATTR_MAX || ps[1] > SP_ATTR_MAX)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "pooled_shape must be two positive ints");
    mrp_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->ph = ps[0];
    st->pw = ps[1];
    st->scale = cpu_attr_float(node, "spatial_scale", 1.0f);
    *state = st;
    return PRISM_OK;
}

typedef struct mrp_arg {
    const mrp_state *st;
    const int64_t *box; /* per RoI: batch, start_w, start_h, end_w, end_h */
    const void *xw;
    void *yw;
    bool wide;
    int64_t c, h, w;
} mrp_arg;

#define MRP_DEFINE(W)                                                                           \
    static void mrp_compute_##W(const mrp_arg *a, int64_t r, int64_t c) {                       \
        const mrp_state *st = a->st;                                                            \
        const int64_t *b = a->box + r * 5;                                                      \
        const W *xp = (const W *)a->xw + (b[0] * a->c + c) * a->h * a->w;                       \
        W *yp = (W *)a->yw + (r * a->c + c) * st->ph * st->pw;                                  \
        int64_t rh = b[4] - b[2] + 1, rw = b[3] - b[1] + 1;                                     \
        if (rh < 1) rh = 1;                                                                     \
        if (rw < 1) rw = 1;                                                                     \
        const double bh = (double)rh / (double)st->ph, bw = (double)rw / (double)st->pw;        \
        for (int64_t ph = 0; ph < st->ph; ph++) {                                               \
            int64_t h0 = sp_clamp((int64_t)floor((double)ph * bh) + b[2], 0, a->h);             \
            int64_t h1 = sp_clamp((int64_t)ceil((double)(ph + 1) * bh) + b[2], 0, a->h);        \
            for (int64_t pw = 0; pw < st->pw; pw++) {                                           \
                int64_t w0 = sp_clamp((int64_t)floor((double)pw * bw) + b[1], 0, a->w);         \
                int64_t w1 = sp_clamp((int64_t)ceil((double)(pw + 1) * bw) + b[1], 0, a->w);    \
                W best = 0;                                                                     \
                bool any = false;                                                               \
                for (int64_t i = h0; i < h1; i++)                                               \
                    for (int64_t j = w0; j < w1; j++) {                                         \
                        W v = xp[i * a->w + j];                                                 \
                        if (!any || v > best || v != v) best = v;                               \
                        any = true;                                                             \
                    }                                                                           \
                yp[ph * st->pw + pw] = best;                                                    \
            }                                                                                   \
        }                                                                                       \
    }
MRP_DEFINE(float)
MRP_DEFINE(double)

static void mrp_items(void *argp, int64_t i0, int64_t i1) {
    const mrp_arg *a = argp;
    for (int64_t it = i0; it < i1; it++) {
        if (a->wide) mrp_compute_double(a, it / a->c, it % a->c);
        else mrp_compute_float(a, it / a->c, it % a->c);
    }
}

static prism_status mrp_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const mrp_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MaxRoiPool needs X and rois");
    const cpu_tensor *x = in[0], *rois = in[1];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "MaxRoiPool does not support dtype %s", cpu_dtype_name(x->dtype));
    if (x->rank != 4) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank 4, got %d", x->rank);
    if (rois->rank != 2 || rois->dims[1] != 5 || !cpu_dtype_is_float(rois->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "rois must be a float tensor of shape (num_rois, 5)");
    const int64_t nr = rois->dims[0], N = x->dims[0], C = x->dims[1];
    int64_t yd[4] = {nr, C, st->ph, st->pw}, total;
    if (!cpu_mul_ok(nr, C, &total) || !cpu_mul_ok(total, st->ph, &total) || !cpu_mul_ok(total, st->pw, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, 4, yd, &y);
    if (rc || y->count == 0) return rc;
    int64_t *box = malloc((size_t)nr * 5 * sizeof *box);
    if (!box) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t r = 0; r < nr; r++) {
        double b = sp_get(rois, r * 5);
        if (!(b >= 0) || b >= (double)N) {
            free(box);
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "RoI %lld has batch index %g outside [0, %lld)", (long long)r, b,
                            (long long)N);
        }
        box[r * 5] = (int64_t)b;
        for (int k = 1; k < 5; k++) box[r * 5 + k] = (int64_t)round(sp_sane(sp_get(rois, r * 5 + k) * st->scale));
    }
    const bool wide = x->dtype == PRISM_DTYPE_DOUBLE;
    void *xo = NULL;
    const void *xw = sp_widen_w(x, wide, &xo);
    void *yw = sp_out_buf(y, wide);
    if (!xw || !yw) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        if (yw != y->data) free(yw);
    } else {
        mrp_arg arg = {st, box, xw, yw, wide, C, x->dims[2], x->dims[3]};
        cpu_parallel_for(ctx, nr * C, mrp_items, &arg);
        sp_finish(y, yw, wide);
    }
    free(xo);
    free(box);
    return rc;
}

const cpu_kernel_def cpu_op_MaxRoiPool = {
    .prepare = mrp_prepare,
    .run = mrp_run,
    .release = sp_release,
    .supports = sp_supports_float,
};

/* ======================================================================
 * CenterCropPad: per axis, crop starts at floor((in - out) / 2); padding puts
 * floor((out - in) / 2) zeros before (the odd one after). Any fixed-size
 * dtype: rows are copied as bytes.
 * ====================================================================== */

typedef struct ccp_state {
    const int64_t *axes;
    size_t n_axes;
    bool has_axes;
} ccp_state;

static prism_status ccp_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    ccp_state *st = calloc(1, sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->has_axes = cpu_attr_has(node, "axes");
    st->n_axes = cpu_attr_ints(node, "axes", &st->axes);
    *state = st;
    return PRISM_OK;
}

static bool ccp_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt != PRISM_DTYPE_STRING && (dt <= 0 || cpu_dtype_size(dt) > 0);
}

typedef struct ccp_arg {
    int rank;
    const int64_t *in_dims, *out_dims, *shift;
    int64_t istride[CPU_MAX_RANK];
    size_t esize;
    const char *x;
    char *y;
} ccp_arg;

static void ccp_rows(void *argp, int64_t r0, int64_t r1) {
    const ccp_arg *a = argp;
    const int last = a->rank - 1;
    const int64_t W = a->out_dims[last], Win = a->in_dims[last], sh = a->shift[last];
    /* Output columns that read the input: 0 <= o + sh < Win. */
    const int64_t lo = sp_clamp(-sh, 0, W), hi = sp_clamp(Win - sh, lo, W);
    for (int64_t row = r0; row < r1; row++) {
        char *yr = a->y + (size_t)(row * W) * a->esize;
        memset(yr, 0, (size_t)W * a->esize);
        int64_t rem = row, base = 0;
        bool inside = true;
        for (int d = last - 1; d >= 0; d--) {
            int64_t o = rem % a->out_dims[d], i = o + a->shift[d];
            rem /= a->out_dims[d];
            if (i < 0 || i >= a->in_dims[d]) inside = false;
            base += i * a->istride[d];
        }
        if (inside && hi > lo)
            memcpy(yr + (size_t)lo * a->esize, a->x + (size_t)(base + lo + sh) * a->esize, (size_t)(hi - lo) * a->esize);
    }
}

static prism_status ccp_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const ccp_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "CenterCropPad needs input and shape");
    const cpu_tensor *x = in[0], *shape = in[1];
    const size_t es = cpu_dtype_size(x->dtype);
    if (x->dtype == PRISM_DTYPE_STRING || !es)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "CenterCropPad does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    if (shape->dtype != PRISM_DTYPE_INT64 && shape->dtype != PRISM_DTYPE_INT32)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "shape must be an int64 or int32 tensor");
    const int r = x->rank;
    int axes[CPU_MAX_RANK];
    size_t n_ax = (size_t)r;
    if (st->has_axes) {
        bool seen[CPU_MAX_RANK] = {false};
        n_ax = st->n_axes;
        if (n_ax > (size_t)r) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axes has more entries than X's rank %d", r);
        for (size_t i = 0; i < n_ax; i++) {
            int64_t a;
            if (!cpu_norm_axis(st->axes[i], r, &a) || r == 0 || seen[a])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range or repeated", (long long)st->axes[i]);
            seen[a] = true;
            axes[i] = (int)a;
        }
    } else {
        for (int i = 0; i < r; i++) axes[i] = i;
    }
    if (shape->count != (int64_t)n_ax)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "shape has %lld entries, expected %zu", (long long)shape->count, n_ax);
    int64_t yd[CPU_MAX_RANK], shift[CPU_MAX_RANK];
    for (int d = 0; d < r; d++) {
        yd[d] = x->dims[d];
        shift[d] = 0;
    }
    for (size_t i = 0; i < n_ax; i++) {
        int d = axes[i];
        int64_t s = cpu_tensor_int(shape, (int64_t)i);
        if (s < 0 || s > SP_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "shape[%zu] = %lld is out of range", i, (long long)s);
        yd[d] = s;
        shift[d] = x->dims[d] >= s ? (x->dims[d] - s) / 2 : -((s - x->dims[d]) / 2);
    }
    int64_t total = 1;
    for (int d = 0; d < r; d++)
        if (!cpu_mul_ok(total, yd[d], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, r, yd, &y);
    if (rc || y->count == 0) return rc;
    if (r == 0) {
        memcpy(y->data, x->data, es);
        return PRISM_OK;
    }
    ccp_arg arg = {r, x->dims, yd, shift, {0}, es, x->data, y->data};
    int64_t s = 1;
    for (int d = r - 1; d >= 0; d--) {
        arg.istride[d] = s;
        s *= x->dims[d];
    }
    cpu_parallel_for(ctx, y->count / yd[r - 1], ccp_rows, &arg);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_CenterCropPad = {
    .prepare = ccp_prepare,
    .run = ccp_run,
    .release = sp_release,
    .supports = ccp_supports,
};

/* ======================================================================
 * Pooling geometry shared by LpPool and MaxUnpool.
 * ====================================================================== */

enum { SP_PAD_NOTSET, SP_PAD_SAME_UPPER, SP_PAD_SAME_LOWER, SP_PAD_VALID };

static bool parse_auto_pad(const char *s, int *out) {
    if (!s || !*s || !strcmp(s, "NOTSET")) *out = SP_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = SP_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = SP_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = SP_PAD_VALID;
    else return false;
    return true;
}

static bool sp_values_ok(const int64_t *v, size_t n, int64_t lo) {
    for (size_t i = 0; i < n; i++)
        if (v[i] < lo || v[i] > SP_ATTR_MAX) return false;
    return true;
}

/* ======================================================================
 * LpPool: y = (sum over the taps inside X of |x|^p)^(1/p); padding adds
 * nothing. Output sizes as MaxPool: floor or (ceil_mode, opset 18) ceil, a
 * window that would start in the end padding dropped; SAME_*: ceil(in / s).
 * ====================================================================== */

typedef struct lp_state {
    int auto_pad;
    bool ceil_mode;
    double p;
    const int64_t *kshape, *pads, *strides, *dils;
    size_t n_kshape, n_pads, n_strides, n_dils;
} lp_state;

static prism_status lp_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    lp_state tmp = {0};
    const char *ap = cpu_attr_string(node, "auto_pad", "NOTSET");
    if (!parse_auto_pad(ap, &tmp.auto_pad))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    /* p is a float in opset 1, an int since opset 2. */
    tmp.p = cpu_attr_float(node, "p", (float)cpu_attr_int(node, "p", 2));
    if (!(tmp.p > 0) || !isfinite(tmp.p)) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "p must be positive");
    if (cpu_node_opset(node) >= 18) tmp.ceil_mode = cpu_attr_int(node, "ceil_mode", 0) != 0;
    tmp.n_kshape = cpu_attr_ints(node, "kernel_shape", &tmp.kshape);
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    if (cpu_node_opset(node) >= 18) tmp.n_dils = cpu_attr_ints(node, "dilations", &tmp.dils);
    if (tmp.n_kshape == 0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape is required");
    if (tmp.n_kshape > SP_MAX || (tmp.n_strides && tmp.n_strides != tmp.n_kshape) ||
        (tmp.n_dils && tmp.n_dils != tmp.n_kshape) || (tmp.n_pads && tmp.n_pads != 2 * tmp.n_kshape))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides, dilations and pads have inconsistent lengths");
    if (!sp_values_ok(tmp.kshape, tmp.n_kshape, 1) || !sp_values_ok(tmp.strides, tmp.n_strides, 1) ||
        !sp_values_ok(tmp.dils, tmp.n_dils, 1) || !sp_values_ok(tmp.pads, tmp.n_pads, 0))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides, dilations or pads out of range");
    lp_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

typedef struct lp_geom {
    int sp;
    int64_t planes, in_plane, out_plane;
    int64_t in[SP_MAX], out[SP_MAX], k[SP_MAX], s[SP_MAX], d[SP_MAX], pb[SP_MAX], istride[SP_MAX];
    double p;
} lp_geom;

static prism_status lp_geometry(cpu_ctx *ctx, const lp_state *st, const cpu_tensor *x, lp_geom *g, int64_t *yd) {
    if (x->rank < 3)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    const int sp = x->rank - 2;
    if ((size_t)sp != st->n_kshape)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape has %zu dims but X has %d spatial dims", st->n_kshape, sp);
    memset(g, 0, sizeof *g);
    g->sp = sp;
    g->p = st->p;
    if (!cpu_mul_ok(x->dims[0], x->dims[1], &g->planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    yd[0] = x->dims[0];
    yd[1] = x->dims[1];
    int64_t total = g->planes, stride = 1;
    for (int i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], k = st->kshape[i];
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0;
        int64_t dk, out;
        if (!cpu_mul_ok(k - 1, d, &dk) || !cpu_add_ok(dk, 1, &dk) || in > SP_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dilated kernel size overflows");
        if (st->auto_pad == SP_PAD_SAME_UPPER || st->auto_pad == SP_PAD_SAME_LOWER) {
            out = in / s + (in % s != 0);
            int64_t pad = out > 0 ? (out - 1) * s + dk - in : 0;
            if (pad < 0) pad = 0;
            pb = st->auto_pad == SP_PAD_SAME_UPPER ? pad / 2 : pad - pad / 2;
        } else {
            if (st->auto_pad == SP_PAD_VALID) pb = pe = 0;
            int64_t padded = in + pb + pe;
            if (padded < dk)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                                "dilated kernel (%lld) is larger than padded input (%lld) in spatial dim %d",
                                (long long)dk, (long long)padded, i);
            if (st->ceil_mode && st->auto_pad == SP_PAD_NOTSET) {
                out = (padded - dk) / s + ((padded - dk) % s != 0) + 1;
                if ((out - 1) * s >= in + pb) out--;
            } else {
                out = (padded - dk) / s + 1;
            }
        }
        g->in[i] = in;
        g->out[i] = out;
        g->k[i] = k;
        g->s[i] = s;
        g->d[i] = d;
        g->pb[i] = pb;
        yd[2 + i] = out;
        if (!cpu_mul_ok(total, out, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    }
    for (int i = sp - 1; i >= 0; i--) {
        g->istride[i] = stride;
        stride *= g->in[i];
    }
    g->in_plane = stride;
    g->out_plane = cpu_shape_count(sp, yd + 2);
    return PRISM_OK;
}

/* Taps j in [0, k) whose coordinate start + j*d lies in [0, L). */
static void lp_tap_range(int64_t start, int64_t d, int64_t k, int64_t L, int64_t *lo, int64_t *hi) {
    int64_t l = start >= 0 ? 0 : (-start + d - 1) / d;
    int64_t h = start >= L ? 0 : (L - start + d - 1) / d;
    if (h > k) h = k;
    *lo = l;
    *hi = h;
}

#define LP_DEFINE(W)                                                                                  \
    typedef struct lp_arg_##W {                                                                       \
        const lp_geom *g;                                                                             \
        const W *x;                                                                                   \
        W *y;                                                                                         \
    } lp_arg_##W;                                                                                     \
                                                                                                      \
    static void lp_planes_##W(void *argp, int64_t p0, int64_t p1) {                                   \
        const lp_arg_##W *a = argp;                                                                   \
        const lp_geom *g = a->g;                                                                      \
        const int last = g->sp - 1;                                                                   \
        const double p = g->p;                                                                        \
        for (int64_t pl = p0; pl < p1; pl++) {                                                        \
            const W *xp = a->x + pl * g->in_plane;                                                    \
            W *yp = a->y + pl * g->out_plane;                                                         \
            int64_t o[SP_MAX] = {0};                                                                  \
            for (int64_t q = 0; q < g->out_plane; q++) {                                              \
                int64_t start[SP_MAX], lo[SP_MAX], hi[SP_MAX], j[SP_MAX];                             \
                bool any = true;                                                                      \
                for (int i = 0; i < g->sp; i++) {                                                     \
                    start[i] = o[i] * g->s[i] - g->pb[i];                                             \
                    lp_tap_range(start[i], g->d[i], g->k[i], g->in[i], &lo[i], &hi[i]);               \
                    if (hi[i] <= lo[i]) any = false;                                                  \
                    j[i] = lo[i];                                                                     \
                }                                                                                     \
                double acc = 0;                                                                       \
                while (any) {                                                                         \
                    int64_t base = 0;                                                                 \
                    for (int i = 0; i < last; i++) base += (start[i] + j[i] * g->d[i]) * g->istride[i]; \
                    base += start[last];                                                              \
                    for (int64_t t = lo[last]; t < hi[last]; t++) {                                   \
                        double v = fabs((double)xp[base + t * g->d[last]]);                           \
                        acc += p == 1 ? v : p == 2 ? v * v : pow(v, p);                               \
                    }                                                                                 \
                    int i = last - 1;                                                                 \
                    for (; i >= 0; i--) {                                                             \
                        if (++j[i] < hi[i]) break;                                                    \
                        j[i] = lo[i];                                                                 \
                    }                                                                                 \
                    if (i < 0) break;                                                                 \
                }                                                                                     \
                yp[q] = (W)(p == 1 ? acc : p == 2 ? sqrt(acc) : pow(acc, 1.0 / p));                   \
                for (int i = last; i >= 0; i--) {                                                     \
                    if (++o[i] < g->out[i]) break;                                                    \
                    o[i] = 0;                                                                         \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }
LP_DEFINE(float)
LP_DEFINE(double)

static prism_status lp_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const lp_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LpPool does not support dtype %s", cpu_dtype_name(x->dtype));
    lp_geom g;
    int64_t yd[CPU_MAX_RANK];
    prism_status rc = lp_geometry(ctx, st, x, &g, yd);
    if (rc) return rc;
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, x->dtype, x->rank, yd, &y)) || y->count == 0) return rc;
    const bool wide = x->dtype == PRISM_DTYPE_DOUBLE;
    void *xo = NULL;
    const void *xw = sp_widen_w(x, wide, &xo);
    void *yw = sp_out_buf(y, wide);
    if (!xw || !yw) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        if (yw != y->data) free(yw);
    } else {
        if (wide) {
            lp_arg_double arg = {&g, xw, yw};
            cpu_parallel_for(ctx, g.planes, lp_planes_double, &arg);
        } else {
            lp_arg_float arg = {&g, xw, yw};
            cpu_parallel_for(ctx, g.planes, lp_planes_float, &arg);
        }
        sp_finish(y, yw, wide);
    }
    free(xo);
    return rc;
}

const cpu_kernel_def cpu_op_LpPool = {
    .prepare = lp_prepare,
    .run = lp_run,
    .release = sp_release,
    .supports = sp_supports_float,
};

/* ======================================================================
 * MaxUnpool: out = zeros; out[I[e]] = X[e], with I flat indices into the
 * unpooled shape (in - 1)*s - pb - pe + k. With output_shape, that shape is
 * placed at the start of each dim of the (larger or equal) requested one,
 * as the reference implementation and its tests do.
 * ====================================================================== */

typedef struct mu_state {
    const int64_t *kshape, *pads, *strides;
    size_t n_kshape, n_pads, n_strides;
} mu_state;

static prism_status mu_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    mu_state tmp = {0};
    tmp.n_kshape = cpu_attr_ints(node, "kernel_shape", &tmp.kshape);
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    if (tmp.n_kshape == 0 || tmp.n_kshape > SP_MAX || (tmp.n_strides && tmp.n_strides != tmp.n_kshape) ||
        (tmp.n_pads && tmp.n_pads != 2 * tmp.n_kshape))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides and pads have bad lengths");
    if (!sp_values_ok(tmp.kshape, tmp.n_kshape, 1) || !sp_values_ok(tmp.strides, tmp.n_strides, 1) ||
        !sp_values_ok(tmp.pads, tmp.n_pads, 0))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides or pads out of range");
    mu_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

static prism_status mu_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const mu_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MaxUnpool needs X and I");
    const cpu_tensor *x = in[0], *ix = in[1], *os = n_in > 2 ? in[2] : NULL;
    const size_t es = cpu_dtype_size(x->dtype);
    if (!sp_numeric_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "MaxUnpool does not support dtype %s", cpu_dtype_name(x->dtype));
    if (x->rank < 3 || x->rank - 2 != (int)st->n_kshape)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X has rank %d but kernel_shape has %zu dims", x->rank, st->n_kshape);
    if (ix->rank != x->rank || memcmp(ix->dims, x->dims, (size_t)x->rank * sizeof *x->dims) ||
        (ix->dtype != PRISM_DTYPE_INT64 && ix->dtype != PRISM_DTYPE_INT32))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "I must be an int64 tensor of X's shape");
    const int r = x->rank, sp = r - 2;
    int64_t inf[CPU_MAX_RANK], yd[CPU_MAX_RANK];
    inf[0] = x->dims[0];
    inf[1] = x->dims[1];
    for (int i = 0; i < sp; i++) {
        int64_t s = st->n_strides ? st->strides[i] : 1;
        int64_t pads = st->n_pads ? st->pads[i] + st->pads[i + sp] : 0;
        int64_t v;
        if (x->dims[2 + i] > SP_ATTR_MAX || !cpu_mul_ok(x->dims[2 + i] > 0 ? x->dims[2 + i] - 1 : 0, s, &v) ||
            !cpu_add_ok(v, st->kshape[i] - pads, &v))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
        if (x->dims[2 + i] == 0) v = 0;
        if (v < 0) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "pads exceed the unpooled size in dim %d", i);
        inf[2 + i] = v;
    }
    memcpy(yd, inf, sizeof yd);
    if (os && os->count > 0) {
        if (os->rank != 1 || os->count != r || (os->dtype != PRISM_DTYPE_INT64 && os->dtype != PRISM_DTYPE_INT32))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output_shape must be an int64 tensor of %d entries", r);
        for (int i = 0; i < r; i++) {
            yd[i] = cpu_tensor_int(os, i);
            if (yd[i] < inf[i] || yd[i] > SP_ATTR_MAX)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output_shape[%d] = %lld is smaller than the unpooled %lld", i,
                                (long long)yd[i], (long long)inf[i]);
        }
    }
    int64_t n_inf = 1, total = 1;
    for (int i = 0; i < r; i++)
        if (!cpu_mul_ok(n_inf, inf[i], &n_inf) || !cpu_mul_ok(total, yd[i], &total))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, r, yd, &y);
    if (rc || y->count == 0) return rc;
    memset(y->data, 0, (size_t)y->count * es);
    for (int64_t e = 0; e < x->count; e++) {
        int64_t idx = cpu_tensor_int(ix, e);
        if (idx < 0 || idx >= n_inf)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "index %lld is outside the unpooled tensor of %lld elements",
                            (long long)idx, (long long)n_inf);
        /* Re-encode the unpooled coordinates in the output's shape. */
        int64_t pos = 0, mul = 1;
        for (int i = r - 1; i >= 0; i--) {
            pos += (idx % inf[i]) * mul;
            idx /= inf[i];
            mul *= yd[i];
        }
        memcpy((char *)y->data + (size_t)pos * es, (const char *)x->data + (size_t)e * es, es);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_MaxUnpool = {
    .prepare = mu_prepare,
    .run = mu_run,
    .release = sp_release,
    .supports = sp_supports_numeric,
};

/* ======================================================================
 * DeformConv: a convolution whose kernel taps sample X at positions moved
 * by `offset` (multi-linear interpolation, zero outside X), scaled by
 * `mask`. Per (image, group) and tile of output positions a column matrix
 * of samples is built (in parallel over its rows) and multiplied by W with a
 * GEMM that accumulates onto the bias. Offsets are laid out
 * [N, offset_group, k1..kn, n (one per spatial dim), o1..on], mask
 * [N, offset_group, k1..kn, o1..on].
 * ====================================================================== */

#ifndef DC_COL_BYTES
#define DC_COL_BYTES ((int64_t)16 << 20)
#endif

typedef struct dc_state {
    int64_t group, offset_group;
    const int64_t *kshape, *pads, *strides, *dils;
    size_t n_kshape, n_pads, n_strides, n_dils;
} dc_state;

static prism_status dc_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    dc_state tmp = {0};
    tmp.group = cpu_attr_int(node, "group", 1);
    tmp.offset_group = cpu_attr_int(node, "offset_group", 1);
    if (tmp.group < 1 || tmp.offset_group < 1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "group and offset_group must be >= 1");
    tmp.n_kshape = cpu_attr_ints(node, "kernel_shape", &tmp.kshape);
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    tmp.n_dils = cpu_attr_ints(node, "dilations", &tmp.dils);
    if (tmp.n_kshape > SP_MAX || tmp.n_strides > SP_MAX || tmp.n_dils > SP_MAX || tmp.n_pads > 2 * SP_MAX ||
        tmp.n_pads % 2)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape/strides/dilations/pads have bad lengths");
    if (!sp_values_ok(tmp.kshape, tmp.n_kshape, 1) || !sp_values_ok(tmp.strides, tmp.n_strides, 1) ||
        !sp_values_ok(tmp.dils, tmp.n_dils, 1) || !sp_values_ok(tmp.pads, tmp.n_pads, 0))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides, dilations or pads out of range");
    dc_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

typedef struct dc_geom {
    int sp;
    int64_t n, c, m, group, cg, mg, og, cog; /* cog: input channels per offset group */
    int64_t in[SP_MAX], out[SP_MAX], k[SP_MAX], s[SP_MAX], d[SP_MAX], pb[SP_MAX], istride[SP_MAX];
    int64_t in_plane, out_plane, ksize, kc;
} dc_geom;

static bool dc_same_dims(const cpu_tensor *t, int64_t n, int64_t ch, const dc_geom *g) {
    if (t->rank != g->sp + 2 || t->dims[0] != n || t->dims[1] != ch) return false;
    for (int i = 0; i < g->sp; i++)
        if (t->dims[2 + i] != g->out[i]) return false;
    return true;
}

static prism_status dc_geometry(cpu_ctx *ctx, const dc_state *st, const cpu_tensor *x, const cpu_tensor *w,
                                const cpu_tensor *off, const cpu_tensor *b, const cpu_tensor *mask, dc_geom *g,
                                int64_t *yd) {
    if (x->rank < 3) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 3, got %d", x->rank);
    if (w->rank != x->rank) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has rank %d but X has rank %d", w->rank, x->rank);
    const int sp = x->rank - 2;
    if ((st->n_kshape && st->n_kshape != (size_t)sp) || (st->n_strides && st->n_strides != (size_t)sp) ||
        (st->n_dils && st->n_dils != (size_t)sp) || (st->n_pads && st->n_pads != 2 * (size_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "attribute lengths do not match %d spatial dims", sp);
    memset(g, 0, sizeof *g);
    g->sp = sp;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->m = w->dims[0];
    g->group = st->group;
    g->og = st->offset_group;
    g->cg = w->dims[1];
    int64_t cexp;
    if (!cpu_mul_ok(g->cg, g->group, &cexp) || cexp != g->c || g->m % g->group)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X has %lld channels, W is (%lld, %lld, ...) and group is %lld",
                        (long long)g->c, (long long)g->m, (long long)g->cg, (long long)g->group);
    if (g->c % g->og)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X's %lld channels are not divisible by offset_group %lld",
                        (long long)g->c, (long long)g->og);
    g->mg = g->m / g->group;
    g->cog = g->c / g->og;
    yd[0] = g->n;
    yd[1] = g->m;
    int64_t total = 1, stride = 1;
    for (int i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        if (st->n_kshape && st->kshape[i] != k)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape[%d] does not match W", i);
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0;
        int64_t dk;
        if (k < 1 || k > SP_ATTR_MAX || in > SP_ATTR_MAX || !cpu_mul_ok(k - 1, d, &dk) || !cpu_add_ok(dk, 1, &dk))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel or input dims out of range");
        int64_t padded = in + pb + pe;
        if (padded < dk) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dilated kernel is larger than the padded input");
        g->in[i] = in;
        g->out[i] = (padded - dk) / s + 1;
        g->k[i] = k;
        g->s[i] = s;
        g->d[i] = d;
        g->pb[i] = pb;
        yd[2 + i] = g->out[i];
        if (!cpu_mul_ok(total, g->out[i], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    }
    for (int i = sp - 1; i >= 0; i--) {
        g->istride[i] = stride;
        stride *= g->in[i];
    }
    g->in_plane = stride;
    g->out_plane = cpu_shape_count(sp, yd + 2);
    g->ksize = cpu_shape_count(sp, w->dims + 2);
    if (!cpu_mul_ok(g->cg, g->ksize, &g->kc) || !cpu_mul_ok(total, g->n * g->m, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "sizes overflow");
    int64_t och;
    if (!cpu_mul_ok(g->og * g->ksize, sp, &och) || !dc_same_dims(off, g->n, och, g))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "offset must have shape (N, offset_group*prod(kernel)*%d, out dims...)",
                        sp);
    if (mask && !dc_same_dims(mask, g->n, g->og * g->ksize, g))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "mask must have shape (N, offset_group*prod(kernel), out dims...)");
    if (b && (b->rank != 1 || b->dims[0] != g->m))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B must be a 1-D tensor of %lld elements", (long long)g->m);
    if (g->kc > INT32_MAX || g->mg > INT32_MAX)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GEMM dims exceed 2^31");
    return PRISM_OK;
}

#define DC_DEFINE(W)                                                                                  \
    typedef struct dc_col_arg_##W {                                                                   \
        const dc_geom *g;                                                                             \
        const W *x, *off, *mask; /* x: this image; off / mask: this image */                          \
        W *col;                                                                                       \
        int64_t gr, p0, pt;                                                                           \
    } dc_col_arg_##W;                                                                                 \
                                                                                                      \
    /* Rows (c, kernel tap) of the column matrix for positions [p0, p0+pt). */ \
    static void dc_col_rows_##W(void *argp, int64_t r0, int64_t r1) {                                 \
        const dc_col_arg_##W *a = argp;                                                               \
        const dc_geom *g = a->g;                                                                      \
        const int sp = g->sp;                                                                         \
        const int corners = 1 << sp;                                                                  \
        for (int64_t r = r0; r < r1; r++) {                                                           \
            const int64_t c = r / g->ksize, kk = r % g->ksize;                                        \
            const int64_t cabs = a->gr * g->cg + c, ogi = cabs / g->cog;                              \
            const W *xc = a->x + cabs * g->in_plane;                                                  \
            int64_t kc[SP_MAX], rem = kk;                                                             \
            for (int i = sp - 1; i >= 0; i--) {                                                       \
                kc[i] = rem % g->k[i];                                                                \
                rem /= g->k[i];                                                                       \
            }                                                                                         \
            const W *offk = a->off + ((ogi * g->ksize + kk) * sp) * g->out_plane;                     \
            const W *mk = a->mask ? a->mask + (ogi * g->ksize + kk) * g->out_plane : NULL;            \
            W *cr = a->col + r * a->pt;                                                               \
            int64_t oc[SP_MAX], prem = a->p0;                                                         \
            for (int i = sp - 1; i >= 0; i--) {                                                       \
                oc[i] = prem % g->out[i];                                                             \
                prem /= g->out[i];                                                                    \
            }                                                                                         \
            if (sp == 2) {                                                                            \
                /* The common 2-D case: bilinear, zero outside X. */                                  \
                const int64_t H = g->in[0], Wd = g->in[1], OW = g->out[1];                            \
                const double bh = (double)(kc[0] * g->d[0] - g->pb[0]);                               \
                const double bw = (double)(kc[1] * g->d[1] - g->pb[1]);                               \
                int64_t oh = oc[0], ow = oc[1];                                                       \
                for (int64_t q = 0; q < a->pt; q++) {                                                 \
                    const int64_t p = a->p0 + q;                                                      \
                    const double h = sp_sane((double)(oh * g->s[0]) + bh + (double)offk[p]);          \
                    const double w = sp_sane((double)(ow * g->s[1]) + bw + (double)offk[g->out_plane + p]); \
                    const double fh = floor(h), fw = floor(w);                                        \
                    const int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;                                 \
                    double v = 0;                                                                     \
                    if (h0 >= -1 && h0 < H && w0 >= -1 && w0 < Wd) {                                  \
                        const double lh = h - fh, lw = w - fw;                                        \
                        const bool r0 = h0 >= 0, r1 = h0 + 1 < H, c0 = w0 >= 0, c1 = w0 + 1 < Wd;     \
                        const int64_t base = h0 * Wd + w0;                                            \
                        if (r0 && c0) v += (1 - lh) * (1 - lw) * (double)xc[base];                    \
                        if (r0 && c1) v += (1 - lh) * lw * (double)xc[base + 1];                      \
                        if (r1 && c0) v += lh * (1 - lw) * (double)xc[base + Wd];                     \
                        if (r1 && c1) v += lh * lw * (double)xc[base + Wd + 1];                       \
                    }                                                                                 \
                    if (mk) v *= (double)mk[p];                                                       \
                    cr[q] = (W)v;                                                                     \
                    if (++ow == OW) {                                                                 \
                        ow = 0;                                                                       \
                        oh++;                                                                         \
                    }                                                                                 \
                }                                                                                     \
                continue;                                                                             \
            }                                                                                         \
            for (int64_t q = 0; q < a->pt; q++) {                                                     \
                const int64_t p = a->p0 + q;                                                          \
                int64_t lo[SP_MAX];                                                                   \
                double f[SP_MAX];                                                                     \
                bool skip = false;                                                                    \
                for (int i = 0; i < sp; i++) {                                                        \
                    double pos = (double)(oc[i] * g->s[i] - g->pb[i] + kc[i] * g->d[i]) +             \
                                 (double)offk[i * g->out_plane + p];                                  \
                    pos = sp_sane(pos);                                                               \
                    double fl = floor(pos);                                                           \
                    lo[i] = (int64_t)fl;                                                              \
                    f[i] = pos - fl;                                                                  \
                    if (lo[i] < -1 || lo[i] >= g->in[i]) skip = true;                                 \
                }                                                                                     \
                double v = 0;                                                                         \
                if (!skip)                                                                            \
                    for (int cn = 0; cn < corners; cn++) {                                            \
                        double wgt = 1;                                                               \
                        int64_t o = 0;                                                                \
                        bool in = true;                                                               \
                        for (int i = 0; i < sp; i++) {                                                \
                            int64_t t = lo[i] + ((cn >> (sp - 1 - i)) & 1);                           \
                            if (t < 0 || t >= g->in[i]) {                                             \
                                in = false;                                                           \
                                break;                                                                \
                            }                                                                         \
                            wgt *= (cn >> (sp - 1 - i)) & 1 ? f[i] : 1 - f[i];                        \
                            o += t * g->istride[i];                                                   \
                        }                                                                             \
                        if (in) v += wgt * (double)xc[o];                                             \
                    }                                                                                 \
                if (mk) v *= (double)mk[p];                                                           \
                cr[q] = (W)v;                                                                         \
                for (int i = sp - 1; i >= 0; i--) {                                                   \
                    if (++oc[i] < g->out[i]) break;                                                   \
                    oc[i] = 0;                                                                        \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    /* The 2-D sampling table: per (offset group, kernel tap, position) the \
     * four corners (offset in the plane, weight with the mask folded in;  \
     * weight 0 outside X), shared by the offset group's channels. */       \
    typedef struct dc_tap_##W {                                                                       \
        int64_t o[4];                                                                                 \
        W w[4];                                                                                       \
    } dc_tap_##W;                                                                                     \
                                                                                                      \
    typedef struct dc_tab_arg_##W {                                                                   \
        const dc_geom *g;                                                                             \
        const W *off, *mask; /* this image */                                                         \
        dc_tap_##W *tab;                                                                              \
        const W *x; /* this image, for the column pass */                                             \
        W *col;                                                                                       \
        int64_t gr, p0, pt;                                                                           \
    } dc_tab_arg_##W;                                                                                 \
                                                                                                      \
    static void dc_tab_rows_##W(void *argp, int64_t r0, int64_t r1) {                                 \
        const dc_tab_arg_##W *a = argp;                                                               \
        const dc_geom *g = a->g;                                                                      \
        const int64_t H = g->in[0], Wd = g->in[1], OW = g->out[1], P = g->out_plane;                  \
        for (int64_t r = r0; r < r1; r++) {                                                           \
            const int64_t kk = r % g->ksize, kh = kk / g->k[1], kw = kk % g->k[1];                    \
            const W *offk = a->off + r * 2 * P;                                                       \
            const W *mk = a->mask ? a->mask + r * P : NULL;                                           \
            dc_tap_##W *t = a->tab + r * a->pt;                                                       \
            const double bh = (double)(kh * g->d[0] - g->pb[0]), bw = (double)(kw * g->d[1] - g->pb[1]); \
            int64_t oh = a->p0 / OW, ow = a->p0 % OW;                                                 \
            for (int64_t q = 0; q < a->pt; q++, t++) {                                                \
                const int64_t p = a->p0 + q;                                                          \
                const double h = sp_sane((double)(oh * g->s[0]) + bh + (double)offk[p]);              \
                const double w = sp_sane((double)(ow * g->s[1]) + bw + (double)offk[P + p]);          \
                const double fh = floor(h), fw = floor(w), lh = h - fh, lw = w - fw;                  \
                const int64_t h0 = (int64_t)fh, w0 = (int64_t)fw;                                     \
                const double m = mk ? (double)mk[p] : 1.0;                                            \
                const double wt[4] = {(1 - lh) * (1 - lw), (1 - lh) * lw, lh * (1 - lw), lh * lw};    \
                for (int c = 0; c < 4; c++) {                                                         \
                    const int64_t hh = h0 + (c >> 1), ww = w0 + (c & 1);                              \
                    const bool in = hh >= 0 && hh < H && ww >= 0 && ww < Wd;                          \
                    t->o[c] = in ? hh * Wd + ww : 0;                                                  \
                    t->w[c] = in ? (W)(wt[c] * m) : (W)0;                                             \
                }                                                                                     \
                if (++ow == OW) {                                                                     \
                    ow = 0;                                                                           \
                    oh++;                                                                             \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    static void dc_col_tab_##W(void *argp, int64_t r0, int64_t r1) {                                  \
        const dc_tab_arg_##W *a = argp;                                                               \
        const dc_geom *g = a->g;                                                                      \
        for (int64_t r = r0; r < r1; r++) {                                                           \
            const int64_t c = r / g->ksize, kk = r % g->ksize, cabs = a->gr * g->cg + c;              \
            const W *xc = a->x + cabs * g->in_plane;                                                  \
            const dc_tap_##W *t = a->tab + (cabs / g->cog * g->ksize + kk) * a->pt;                   \
            W *cr = a->col + r * a->pt;                                                               \
            for (int64_t q = 0; q < a->pt; q++, t++)                                                  \
                cr[q] = t->w[0] * xc[t->o[0]] + t->w[1] * xc[t->o[1]] + t->w[2] * xc[t->o[2]] +       \
                        t->w[3] * xc[t->o[3]];                                                        \
        }                                                                                             \
    }                                                                                                 \
                                                                                                      \
    static prism_status dc_compute_##W(cpu_ctx *ctx, const dc_geom *g, const W *x, const W *w, const W *off, \
                                       const W *b, const W *mask, W *y) {                             \
        const int64_t P = g->out_plane;                                                               \
        for (int64_t n = 0; n < g->n; n++)                                                            \
            for (int64_t oc = 0; oc < g->m; oc++) {                                                   \
                W bv = b ? b[oc] : (W)0;                                                              \
                W *yp = y + (n * g->m + oc) * P;                                                      \
                for (int64_t p = 0; p < P; p++) yp[p] = bv;                                           \
            }                                                                                         \
        if (g->kc == 0 || P == 0 || g->mg == 0) return PRISM_OK;                                      \
        int64_t row_bytes = g->kc * (int64_t)sizeof(W), tile = DC_COL_BYTES / row_bytes;              \
        if (tile < 1) tile = 1;                                                                       \
        if (tile > P) tile = P;                                                                       \
        if (tile > INT32_MAX) tile = INT32_MAX;                                                       \
        int64_t nbytes;                                                                               \
        W *col;                                                                                       \
        if (!cpu_mul_ok(row_bytes, tile, &nbytes) || (uint64_t)nbytes > SIZE_MAX || !(col = malloc((size_t)nbytes))) \
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory for the column buffer");     \
        const int64_t off_img = g->og * g->ksize * g->sp * P, mask_img = g->og * g->ksize * P;        \
        /* Channels sharing an offset group share the sampling pattern: in 2-D \
         * with several channels per group it is tabulated once per tile. */  \
        dc_tap_##W *tab = NULL;                                                                       \
        if (g->sp == 2 && g->cog >= 8) {                                                              \
            int64_t n_tab;                                                                            \
            if (cpu_mul_ok(g->og * g->ksize, tile, &n_tab) && (uint64_t)n_tab < SIZE_MAX / sizeof *tab)   \
                tab = malloc((size_t)n_tab * sizeof *tab);                                            \
            if (!tab) {                                                                               \
                free(col);                                                                            \
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory for the sampling table");\
            }                                                                                         \
        }                                                                                             \
        for (int64_t n = 0; n < g->n; n++)                                                            \
            for (int64_t p0 = 0; p0 < P; p0 += tile) {                                                \
                const int64_t pt = p0 + tile < P ? tile : P - p0;                                     \
                const W *xn = x + n * g->c * g->in_plane, *offn = off + n * off_img;                  \
                const W *maskn = mask ? mask + n * mask_img : NULL;                                   \
                dc_tab_arg_##W targ = {g, offn, maskn, tab, xn, col, 0, p0, pt};                      \
                if (tab) cpu_parallel_for(ctx, g->og * g->ksize, dc_tab_rows_##W, &targ);             \
                for (int64_t gr = 0; gr < g->group; gr++) {                                           \
                    if (tab) {                                                                        \
                        targ.gr = gr;                                                                 \
                        cpu_parallel_for(ctx, g->kc, dc_col_tab_##W, &targ);                          \
                    } else {                                                                          \
                        dc_col_arg_##W arg = {g, xn, offn, maskn, col, gr, p0, pt};                   \
                        cpu_parallel_for(ctx, g->kc, dc_col_rows_##W, &arg);                          \
                    }                                                                                 \
                    dc_gemm_##W(ctx, g->mg, pt, g->kc, w + gr * g->mg * g->kc, g->kc, col, pt,        \
                                y + (n * g->m + gr * g->mg) * P + p0, P);                             \
                }                                                                                     \
            }                                                                                         \
        free(tab);                                                                                    \
        free(col);                                                                                    \
        return PRISM_OK;                                                                              \
    }

/* C[m x n] += A[m x k] x B[k x n], row-major. */
static void dc_gemm_float(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                          int64_t ldb, float *c, int64_t ldc) {
    cpu_sgemm(ctx, false, false, m, n, k, 1.0f, a, lda, b, ldb, 1.0f, c, ldc);
}

static void dc_gemm_double(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
                           const double *b, int64_t ldb, double *c, int64_t ldc) {
    cpu_dgemm(ctx, false, m, n, k, a, lda, b, ldb, 1.0, c, ldc);
}

DC_DEFINE(float)
DC_DEFINE(double)

static prism_status dc_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const dc_state *st = state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DeformConv needs X, W and offset");
    const cpu_tensor *x = in[0], *w = in[1], *off = in[2];
    const cpu_tensor *b = n_in > 3 ? in[3] : NULL, *mask = n_in > 4 ? in[4] : NULL;
    const int32_t dt = x->dtype;
    if (!cpu_dtype_is_float(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "DeformConv does not support dtype %s", cpu_dtype_name(dt));
    if (w->dtype != dt || off->dtype != dt || (b && b->dtype != dt) || (mask && mask->dtype != dt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W, offset, B and mask must have X's dtype");
    dc_geom g;
    int64_t yd[CPU_MAX_RANK];
    prism_status rc = dc_geometry(ctx, st, x, w, off, b, mask, &g, yd);
    if (rc) return rc;
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, dt, x->rank, yd, &y)) || y->count == 0) return rc;
    const bool wide = dt == PRISM_DTYPE_DOUBLE;
    if (wide) return dc_compute_double(ctx, &g, x->data, w->data, off->data, b ? b->data : NULL,
                                       mask ? mask->data : NULL, y->data);
    float *o[5] = {NULL};
    const float *xf = sp_widen_float(x, &o[0]), *wf = sp_widen_float(w, &o[1]), *of = sp_widen_float(off, &o[2]);
    const float *bf = sp_widen_float(b, &o[3]), *mf = sp_widen_float(mask, &o[4]);
    float *yf = sp_out_buf(y, false);
    if (!xf || !wf || !of || (b && !bf) || (mask && !mf) || !yf) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        if (yf != y->data) free(yf);
    } else {
        rc = dc_compute_float(ctx, &g, xf, wf, of, bf, mf, yf);
        if (!rc) sp_finish(y, yf, false);
        else if (yf != y->data) free(yf);
    }
    for (int i = 0; i < 5; i++) free(o[i]);
    return rc;
}

const cpu_kernel_def cpu_op_DeformConv = {
    .prepare = dc_prepare,
    .run = dc_run,
    .release = sp_release,
    .supports = sp_supports_float,
};
