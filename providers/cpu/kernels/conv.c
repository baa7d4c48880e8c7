/*
 * conv.c — Conv (ONNX opsets 1, 11, 22) for the CPU provider.
 *
 * Layout: X is [N, C, D1..Dk], W is [M, C/group, K1..Kk], B is [M], Y is
 * [N, M, O1..Ok], for any k >= 1. One templated body serves float and double
 * (float16/bfloat16 run through float and are converted at the edges).
 *
 * Strategy:
 *  - 1-D is promoted to 2-D with a unit leading spatial dim, so every path
 *    below sees at least two spatial dims.
 *  - One input channel per group (depthwise, with any channel multiplier) and
 *    two spatial dims: a direct loop, parallel over the N*M output planes.
 *    A GEMM with K = kh*kw would be mostly overhead there.
 *  - Otherwise im2col + GEMM per (image, group): the column matrix is built
 *    in tiles of output rows so its size stays bounded. A 1x1 kernel with
 *    unit strides and no padding needs no im2col: X already is the column
 *    matrix. Threads: when there are many small (image, group) problems
 *    (grouped convs, batches of small images) each thread takes whole
 *    problems with its own column buffer (a GEMM called from a pool task runs
 *    on that thread); otherwise problems go one by one, the im2col rows
 *    filled in parallel and the GEMM (cpu_sgemm for float) split across
 *    threads.
 * The state parsed at prepare is read-only during run, so concurrent runs of
 * one compiled subgraph are safe.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"
#include "nn_geometry.h"

#define CONV_MAX_SP (CPU_MAX_RANK - 2)
/* Upper bound on the im2col buffers; bigger column matrices are tiled.
 * Overridable so tests can force tiling on small inputs. */
#ifndef CONV_COL_BYTES
#define CONV_COL_BYTES ((int64_t)16 << 20)
#endif

/* The provider is built for baseline x86-64; the hot direct loops also get an
 * AVX2+FMA clone, picked once at load time (glibc ifunc). Not AVX-512: rows
 * here are often 7-56 wide, and 16-wide vectors leave them mostly in the
 * scalar remainder loop. */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(PRISM_NO_TARGET_CLONES)
#define CONV_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define CONV_HOT
#endif

typedef struct conv_state {
    int auto_pad;
    int64_t group;
    const int64_t *kshape, *pads, *strides, *dils; /* point into the graph */
    size_t n_kshape, n_pads, n_strides, n_dils;
} conv_state;

/* Geometry of one run, after 1-D promotion (sp >= 2). */
typedef struct conv_geom {
    const cpu_activation *act; /* fused activation, float32 only (NULL: none) */
    int sp;
    int64_t n, c, m, group, cg, mg; /* batch, channels, out channels, per-group counts */
    int64_t in[CONV_MAX_SP + 1], out[CONV_MAX_SP + 1], k[CONV_MAX_SP + 1];
    int64_t s[CONV_MAX_SP + 1], d[CONV_MAX_SP + 1], pb[CONV_MAX_SP + 1], pe[CONV_MAX_SP + 1];
    int64_t in_plane, out_plane, ksize, kc; /* prod(in), prod(out), prod(k), cg*ksize */
    bool pointwise;                           /* 1x1, unit strides, no padding */
} conv_geom;


static bool conv_dtype_ok(int32_t dt) {
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static bool conv_supports(const cpu_node *node) { return conv_dtype_ok(cpu_node_input_dtype(node, 0)); }

static void conv_release(void *state) { free(state); }

static prism_status conv_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    conv_state tmp = {0};
    const char *ap = cpu_attr_string(node, "auto_pad", "NOTSET");
    if (!nn_parse_auto_pad(ap, &tmp.auto_pad))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    tmp.group = cpu_attr_int(node, "group", 1);
    if (tmp.group < 1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "group must be >= 1, got %lld", (long long)tmp.group);
    tmp.n_kshape = cpu_attr_ints(node, "kernel_shape", &tmp.kshape);
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    tmp.n_dils = cpu_attr_ints(node, "dilations", &tmp.dils);
    if (tmp.n_kshape > CONV_MAX_SP || tmp.n_strides > CONV_MAX_SP || tmp.n_dils > CONV_MAX_SP ||
        tmp.n_pads > 2 * CONV_MAX_SP || tmp.n_pads % 2)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape/strides/dilations/pads have bad lengths");
    prism_status e = nn_check_window_attrs(ctx, tmp.kshape, tmp.n_kshape, tmp.strides, tmp.n_strides, tmp.dils,
                                           tmp.n_dils, tmp.pads, tmp.n_pads);
    if (e) return e;
    conv_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

/* Validates shapes and attributes against the actual inputs and fills g and
 * the (unpromoted) output dims. */
static prism_status conv_geometry(cpu_ctx *ctx, const conv_state *st, const cpu_tensor *x, const cpu_tensor *w,
                                  const cpu_tensor *b, conv_geom *g, int32_t *y_rank, int64_t *y_dims) {
    if (x->rank < 3)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    if (w->rank != x->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has rank %d but X has rank %d", w->rank, x->rank);
    int sp = x->rank - 2;
    if ((st->n_kshape && st->n_kshape != (size_t)sp) || (st->n_strides && st->n_strides != (size_t)sp) ||
        (st->n_dils && st->n_dils != (size_t)sp) || (st->n_pads && st->n_pads != 2 * (size_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                        "kernel_shape/strides/dilations/pads lengths do not match %d spatial dims", sp);
    memset(g, 0, sizeof *g);
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->m = w->dims[0];
    g->group = st->group;
    g->cg = w->dims[1];
    int64_t cexp;
    if (!cpu_mul_ok(g->cg, g->group, &cexp) || cexp != g->c)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X has %lld channels but W expects %lld x group %lld",
                        (long long)g->c, (long long)g->cg, (long long)g->group);
    if (g->m % g->group)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has %lld output channels, not divisible by group %lld",
                        (long long)g->m, (long long)g->group);
    g->mg = g->m / g->group;
    if (b) {
        if (b->rank != 1 || b->dims[0] != g->m)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B must be a 1-D tensor of %lld elements", (long long)g->m);
        if (b->dtype != x->dtype) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B's dtype differs from X's");
    }
    /* Promote 1-D to 2-D: a leading unit dim changes nothing numerically. */
    int off = sp == 1 ? 1 : 0;
    g->sp = sp + off;
    if (off) {
        g->in[0] = g->out[0] = g->k[0] = g->s[0] = g->d[0] = 1;
        g->pb[0] = g->pe[0] = 0;
    }
    *y_rank = x->rank;
    y_dims[0] = g->n;
    y_dims[1] = g->m;
    g->pointwise = true;
    for (int i = 0; i < sp; i++) {
        int j = i + off;
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        if (st->n_kshape && st->kshape[i] != k)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape[%d]=%lld does not match W's dim %lld", i,
                            (long long)st->kshape[i], (long long)k);
        if (k < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has an empty spatial dim %d", i);
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0;
        int64_t out;
        prism_status e = nn_out_size(ctx, i, st->auto_pad, false, in, k, s, d, &pb, &pe, &out);
        if (e) return e;
        g->in[j] = in;
        g->out[j] = out;
        g->k[j] = k;
        g->s[j] = s;
        g->d[j] = d;
        g->pb[j] = pb;
        g->pe[j] = pe;
        y_dims[2 + i] = out;
        if (k != 1 || s != 1 || pb != 0 || pe != 0) g->pointwise = false;
    }
    g->in_plane = cpu_shape_count(sp, x->dims + 2);
    g->ksize = cpu_shape_count(sp, w->dims + 2);
    if (!cpu_mul_ok(g->cg, g->ksize, &g->kc)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W is too large");
    int64_t total = 1;
    for (int i = 0; i < *y_rank; i++)
        if (!cpu_mul_ok(total, y_dims[i], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    g->out_plane = 1;
    for (int i = 0; i < sp; i++) g->out_plane *= y_dims[2 + i];
    return PRISM_OK;
}

/* First output index along one dim whose input index o*s + off is >= 0, and
 * the first one whose input index is >= in; both clamped to [0, n]. */
static void conv_valid_range(int64_t off, int64_t s, int64_t in, int64_t n, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - off <= 0 ? 0 : (in - off + s - 1) / s;
    if (l > n) l = n;
    if (h > n) h = n;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

static void conv_gemm_double(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
                             const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
    cpu_dgemm(ctx, false, m, n, k, a, lda, b, ldb, beta, c, ldc);
}

static void conv_gemm_float(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                            const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    cpu_sgemm(ctx, false, false, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

/*
 * The templated body. For each type T:
 *   conv_im2col_rows_T  fills rows [r0, r1) of the column matrix of one
 *                       (image, group) for output rows [t0, t1) of dim 0;
 *   conv_depthwise_T    the direct loop for one input channel per group;
 *   conv_compute_T      the whole convolution.
 */
#define CONV_DEFINE(T)                                                                                   \
    typedef struct conv_im2col_arg_##T {                                                                 \
        const conv_geom *g;                                                                              \
        const T *x; /* first channel of the group */                                                     \
        T *col;                                                                                          \
        int64_t t0, t1, pt; /* tile rows of dim 0, positions in the tile */                              \
    } conv_im2col_arg_##T;                                                                               \
                                                                                                         \
    CONV_HOT static void conv_im2col_rows_##T(void *argp, int64_t r0, int64_t r1) {                               \
        const conv_im2col_arg_##T *a = argp;                                                             \
        const conv_geom *g = a->g;                                                                       \
        const int last = g->sp - 1;                                                                      \
        const int64_t ow_n = g->out[last];                                                               \
        for (int64_t r = r0; r < r1; r++) {                                                              \
            int64_t kc[CONV_MAX_SP + 1], rem = r % g->ksize;                                             \
            for (int i = last; i >= 0; i--) {                                                            \
                kc[i] = rem % g->k[i];                                                                   \
                rem /= g->k[i];                                                                          \
            }                                                                                            \
            const T *xc = a->x + (r / g->ksize) * g->in_plane;                                           \
            T *dst = a->col + r * a->pt;                                                                 \
            const int64_t off = kc[last] * g->d[last] - g->pb[last], s = g->s[last];                     \
            int64_t lo, hi;                                                                              \
            conv_valid_range(off, s, g->in[last], ow_n, &lo, &hi);                                       \
            int64_t o[CONV_MAX_SP + 1] = {0};                                                            \
            o[0] = a->t0;                                                                                \
            for (;;) {                                                                                   \
                int64_t base = 0;                                                                        \
                bool inside = true;                                                                      \
                for (int i = 0; i < last; i++) {                                                         \
                    int64_t ii = o[i] * g->s[i] - g->pb[i] + kc[i] * g->d[i];                            \
                    if (ii < 0 || ii >= g->in[i]) {                                                      \
                        inside = false;                                                                  \
                        break;                                                                           \
                    }                                                                                    \
                    base = base * g->in[i] + ii;                                                         \
                }                                                                                        \
                if (!inside) {                                                                           \
                    for (int64_t j = 0; j < ow_n; j++) dst[j] = 0;                                       \
                } else {                                                                                 \
                    const T *xr = xc + base * g->in[last];                                               \
                    int64_t j = 0;                                                                       \
                    for (; j < lo; j++) dst[j] = 0;                                                      \
                    if (s == 1)                                                                          \
                        for (; j < hi; j++) dst[j] = xr[j + off];                                        \
                    else                                                                                 \
                        for (; j < hi; j++) dst[j] = xr[j * s + off];                                    \
                    for (; j < ow_n; j++) dst[j] = 0;                                                    \
                }                                                                                        \
                dst += ow_n;                                                                             \
                int i = last - 1;                                                                        \
                for (; i >= 0; i--) {                                                                    \
                    if (++o[i] < (i == 0 ? a->t1 : g->out[i])) break;                                    \
                    o[i] = 0;                                                                            \
                }                                                                                        \
                if (i < 0) break;                                                                        \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
                                                                                                         \
    typedef struct conv_dw_arg_##T {                                                                     \
        const conv_geom *g;                                                                              \
        const T *x, *w, *b;                                                                              \
        T *y;                                                                                            \
    } conv_dw_arg_##T;                                                                                   \
                                                                                                         \
    /* Planes [p0, p1) of the N*M output planes; sp == 2 and cg == 1. Each  \
     * output row accumulates one kernel row at a time. Columns whose taps    \
     * all land inside the input ([full_lo, full_hi)) run branch-free, with   \
     * the three taps of a 3-wide kernel fused into one pass; the few edge    \
     * columns check each tap. */                                             \
    CONV_HOT static void conv_depthwise_##T(void *argp, int64_t p0, int64_t p1) {                                 \
        const conv_dw_arg_##T *a = argp;                                                                 \
        const conv_geom *g = a->g;                                                                       \
        const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1];                        \
        const int64_t KH = g->k[0], KW = g->k[1], sh = g->s[0], sw = g->s[1];                            \
        const int64_t dw = g->d[1], pw = g->pb[1];                                                       \
        int64_t full_lo = 0, full_hi = OW;                                                               \
        for (int64_t kw = 0; kw < KW; kw++) {                                                            \
            int64_t lo, hi;                                                                              \
            conv_valid_range(kw * dw - pw, sw, W, OW, &lo, &hi);                                         \
            if (lo > full_lo) full_lo = lo;                                                              \
            if (hi < full_hi) full_hi = hi;                                                              \
        }                                                                                                \
        if (full_hi < full_lo) full_hi = full_lo;                                                        \
        const bool fuse3 = KW == 3 && dw == 1;                                                           \
        for (int64_t p = p0; p < p1; p++) {                                                              \
            const int64_t n = p / g->m, oc = p % g->m, ic = oc / g->mg;                                  \
            const T *xp = a->x + (n * g->c + ic) * H * W;                                                \
            const T *wp = a->w + oc * KH * KW;                                                           \
            const T bias = a->b ? a->b[oc] : (T)0;                                                       \
            T *yp = a->y + p * OH * OW;                                                                  \
            for (int64_t oh = 0; oh < OH; oh++) {                                                        \
                T *yr = yp + oh * OW;                                                                    \
                for (int64_t ow = 0; ow < OW; ow++) yr[ow] = bias;                                       \
                for (int64_t kh = 0; kh < KH; kh++) {                                                    \
                    const int64_t ih = oh * sh - g->pb[0] + kh * g->d[0];                                \
                    if (ih < 0 || ih >= H) continue;                                                     \
                    const T *xr = xp + ih * W, *wr = wp + kh * KW;                                       \
                    for (int64_t ow = 0; ow < OW; ow++) {                                                \
                        if (ow == full_lo) ow = full_hi; /* skip the interior */                         \
                        if (ow >= OW) break;                                                             \
                        for (int64_t kw = 0; kw < KW; kw++) {                                            \
                            const int64_t iw = ow * sw + kw * dw - pw;                                   \
                            if (iw >= 0 && iw < W) yr[ow] += wr[kw] * xr[iw];                            \
                        }                                                                                \
                    }                                                                                    \
                    if (fuse3) {                                                                         \
                        const T w0 = wr[0], w1 = wr[1], w2 = wr[2];                                      \
                        if (sw == 1)                                                                     \
                            for (int64_t ow = full_lo; ow < full_hi; ow++)                               \
                                yr[ow] += w0 * xr[ow - pw] + w1 * xr[ow - pw + 1] + w2 * xr[ow - pw + 2]; \
                        else                                                                             \
                            for (int64_t ow = full_lo; ow < full_hi; ow++) {                             \
                                const T *xs = xr + (ow * sw - pw);                                       \
                                yr[ow] += w0 * xs[0] + w1 * xs[1] + w2 * xs[2];                          \
                            }                                                                            \
                    } else {                                                                             \
                        for (int64_t kw = 0; kw < KW; kw++) {                                            \
                            const T wv = wr[kw];                                                         \
                            const int64_t off = kw * dw - pw;                                            \
                            if (sw == 1)                                                                 \
                                for (int64_t ow = full_lo; ow < full_hi; ow++) yr[ow] += wv * xr[ow + off]; \
                            else                                                                         \
                                for (int64_t ow = full_lo; ow < full_hi; ow++)                           \
                                    yr[ow] += wv * xr[ow * sw + off];                                    \
                        }                                                                                \
                    }                                                                                    \
                }                                                                                        \
            }                                                                                            \
            if (sizeof(T) == sizeof(float) && g->act)                                                    \
                cpu_activation_apply(g->act, (float *)(void *)yp, OH * OW);                              \
        }                                                                                                \
    }                                                                                                    \
                                                                                                         \
    /* One (image, group): bias, then im2col tiles and GEMMs. serial: called    \
     * from a pool task, so fill the columns on this thread. */                 \
    static void conv_one_##T(cpu_ctx *ctx, const conv_geom *g, int64_t n, int64_t gr, const T *x,         \
                             const T *w, const T *b, T *y, T *col, int64_t tile_rows, bool serial) {      \
        const int64_t P = g->out_plane, row_pos = P / g->out[0];                                          \
        const T *xg = x + (n * g->c + gr * g->cg) * g->in_plane;                                          \
        const T *wg = w + gr * g->mg * g->kc;                                                             \
        T *yg = y + (n * g->m + gr * g->mg) * P;                                                          \
        /* Start from the bias so the GEMM accumulates onto it. */                                        \
        for (int64_t oc = 0; oc < g->mg; oc++) {                                                          \
            T bv = b ? b[gr * g->mg + oc] : (T)0;                                                         \
            for (int64_t p = 0; p < P; p++) yg[oc * P + p] = bv;                                          \
        }                                                                                                 \
        if (g->kc == 0) return;                                                                           \
        const T beta = b ? (T)1 : (T)0;                                                                   \
        if (g->pointwise) {                                                                               \
            conv_gemm_##T(ctx, g->mg, P, g->kc, wg, g->kc, xg, P, beta, yg, P);                           \
            if (sizeof(T) == sizeof(float) && g->act)                                                     \
                cpu_activation_apply(g->act, (float *)(void *)yg, g->mg * P);                             \
            return;                                                                                       \
        }                                                                                                 \
        for (int64_t t0 = 0; t0 < g->out[0]; t0 += tile_rows) {                                           \
            int64_t t1 = t0 + tile_rows < g->out[0] ? t0 + tile_rows : g->out[0];                         \
            int64_t pt = (t1 - t0) * row_pos;                                                             \
            conv_im2col_arg_##T arg = {g, xg, col, t0, t1, pt};                                           \
            if (serial) conv_im2col_rows_##T(&arg, 0, g->kc);                                             \
            else cpu_parallel_for(ctx, g->kc, conv_im2col_rows_##T, &arg);                                \
            conv_gemm_##T(ctx, g->mg, pt, g->kc, wg, g->kc, col, pt, beta, yg + t0 * row_pos, P);         \
        }                                                                                                 \
        if (sizeof(T) == sizeof(float) && g->act)                                                         \
            cpu_activation_apply(g->act, (float *)(void *)yg, g->mg * P);                                 \
    }                                                                                                     \
                                                                                                          \
    typedef struct conv_task_arg_##T {                                                                    \
        cpu_ctx *ctx;                                                                                     \
        const conv_geom *g;                                                                               \
        const T *x, *w, *b;                                                                               \
        T *y, *cols;                                                                                      \
        int64_t col_elems, tile_rows, tasks;                                                              \
    } conv_task_arg_##T;                                                                                  \
                                                                                                          \
    /* Task t owns column buffer t and a contiguous share of the (image,      \
     * group) pairs; nested GEMM calls run inline on the task's thread. */    \
    static void conv_tasks_##T(void *argp, int64_t t0, int64_t t1) {                                      \
        const conv_task_arg_##T *a = argp;                                                                \
        const int64_t items = a->g->n * a->g->group;                                                      \
        for (int64_t t = t0; t < t1; t++)                                                                 \
            for (int64_t it = t * items / a->tasks; it < (t + 1) * items / a->tasks; it++)                \
                conv_one_##T(a->ctx, a->g, it / a->g->group, it % a->g->group, a->x, a->w, a->b, a->y,    \
                             a->cols ? a->cols + t * a->col_elems : NULL, a->tile_rows, true);            \
    }                                                                                                     \
                                                                                                          \
    static prism_status conv_compute_##T(cpu_ctx *ctx, const conv_geom *g, const T *x, const T *w,        \
                                         const T *b, T *y) {                                              \
        const int64_t P = g->out_plane;                                                                   \
        if (g->n == 0 || g->m == 0 || P == 0) return PRISM_OK;                                            \
        if (g->cg == 1 && g->sp == 2) {                                                                   \
            conv_dw_arg_##T arg = {g, x, w, b, y};                                                        \
            cpu_parallel_for(ctx, g->n * g->m, conv_depthwise_##T, &arg);                                 \
            return PRISM_OK;                                                                              \
        }                                                                                                 \
        /* Many small independent problems (grouped convs, batches of small   \
         * images): one task per thread, each doing whole (image, group)      \
         * pairs. Otherwise the pairs go one by one, each using all threads. */ \
        const int64_t threads = cpu_threads(ctx), items = g->n * g->group;                                \
        int64_t work;                                                                                     \
        const bool tasks = threads > 1 && items >= 2 * threads && cpu_mul_ok(g->mg * P, g->kc, &work) &&     \
                           work < ((int64_t)1 << 24);                                                     \
        const int64_t nbuf = tasks ? threads : 1;                                                         \
        /* Tile over rows of output dim 0 so each column buffer stays bounded. */                         \
        const int64_t row_pos = P / g->out[0];                                                            \
        int64_t tile_rows = g->out[0], col_elems = 0;                                                     \
        T *col = NULL;                                                                                    \
        if (!g->pointwise && g->kc > 0) {                                                                 \
            int64_t row_bytes, nbytes, budget = CONV_COL_BYTES / nbuf;                                    \
            if (!cpu_mul_ok(g->kc, row_pos, &row_bytes) || !cpu_mul_ok(row_bytes, (int64_t)sizeof(T), &row_bytes)) \
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "im2col buffer size overflows");            \
            if (budget / row_bytes < tile_rows) tile_rows = budget / row_bytes > 0 ? budget / row_bytes : 1; \
            col_elems = g->kc * row_pos * tile_rows;                                                      \
            if (!cpu_mul_ok(row_bytes, tile_rows, &nbytes) || !cpu_mul_ok(nbytes, nbuf, &nbytes) ||               \
                (uint64_t)nbytes > SIZE_MAX || !(col = malloc((size_t)nbytes)))                           \
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory for the im2col buffer");     \
        }                                                                                                 \
        if (tasks) {                                                                                      \
            conv_task_arg_##T arg = {ctx, g, x, w, b, y, col, col_elems, tile_rows, nbuf};                \
            cpu_parallel_for(ctx, nbuf, conv_tasks_##T, &arg);                                            \
        } else {                                                                                          \
            for (int64_t n = 0; n < g->n; n++)                                                            \
                for (int64_t gr = 0; gr < g->group; gr++)                                                 \
                    conv_one_##T(ctx, g, n, gr, x, w, b, y, col, tile_rows, false);                       \
        }                                                                                                 \
        free(col);                                                                                        \
        return PRISM_OK;                                                                                  \
    }

CONV_DEFINE(float)
CONV_DEFINE(double)

static prism_status conv_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    const conv_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Conv needs inputs X and W");
    const cpu_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    if (w->dtype != x->dtype) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W's dtype differs from X's");
    conv_geom g;
    int32_t yr = 0;
    int64_t yd[CPU_MAX_RANK];
    prism_status rc = conv_geometry(ctx, st, x, w, b, &g, &yr, yd);
    if (rc) return rc;
    g.act = x->dtype == PRISM_DTYPE_FLOAT ? cpu_node_activation(node) : NULL;
    cpu_tensor *y;
    switch (x->dtype) {
    case PRISM_DTYPE_FLOAT:
        if ((rc = cpu_output(ctx, 0, x->dtype, yr, yd, &y))) return rc;
        return conv_compute_float(ctx, &g, x->data, w->data, b ? b->data : NULL, y->data);
    case PRISM_DTYPE_DOUBLE:
        if ((rc = cpu_output(ctx, 0, x->dtype, yr, yd, &y))) return rc;
        return conv_compute_double(ctx, &g, x->data, w->data, b ? b->data : NULL, y->data);
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: {
        if ((rc = cpu_output(ctx, 0, x->dtype, yr, yd, &y))) return rc;
        float *xf = cpu_half_widen(x), *wf = cpu_half_widen(w), *bf = cpu_half_widen(b);
        float *yf = malloc((size_t)(y->count ? y->count : 1) * sizeof *yf);
        if (!xf || !wf || (b && !bf) || !yf) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        else rc = conv_compute_float(ctx, &g, xf, wf, bf, yf);
        if (!rc) {
            cpu_half_narrow(yf, y);
        }
        free(xf);
        free(wf);
        free(bf);
        free(yf);
        return rc;
    }
    default:
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Conv does not support dtype %s", cpu_dtype_name(x->dtype));
    }
}

const cpu_kernel_def cpu_op_Conv = {
    .prepare = conv_prepare,
    .run = conv_run,
    .release = conv_release,
    .supports = conv_supports,
    .fuses_activation = true,
};
