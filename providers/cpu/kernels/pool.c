/*
 * pool.c — MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool for the CPU
 * provider, on any number of spatial dims.
 *
 * Every output element is computed from the clipped window: per spatial dim
 * the range of kernel taps that land inside the input is worked out once, so
 * the inner loops do no bounds checks. Work is split over the N*C planes.
 *
 * Semantics (ONNX spec, matching ONNX Runtime / PyTorch):
 *  - explicit pads: out = floor or ceil((in + pb + pe - dk) / s) + 1, where
 *    dk = (k - 1) * d + 1; with ceil_mode a window that would start in the
 *    end padding is dropped.
 *  - auto_pad SAME_*: out = ceil(in / s), total pad = max(0, (out-1)*s + dk -
 *    in), the odd one at the end (UPPER) or the start (LOWER). VALID: no pad.
 *  - MaxPool ignores padding; ties keep the first element in row-major order;
 *    Indices are flat over the whole X (row-major, or column-major over the
 *    spatial dims with storage_order=1).
 *  - AveragePool divides by the taps inside the input, or with
 *    count_include_pad by the taps inside the padded input (taps past the end
 *    padding, which only ceil_mode creates, never count).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"
#include "nn_geometry.h"

#define POOL_MAX_SP (CPU_MAX_RANK - 1) /* spatial dims, plus one for 1-D promotion */

/* The provider is built for baseline x86-64; the 2-D pooling loops also get an
 * AVX2+FMA clone, picked once at load time (glibc ifunc). Not AVX-512: rows
 * here are often 7-56 wide, and 16-wide vectors leave them mostly in the
 * scalar remainder loop. */
#if defined(__x86_64__) && defined(__GLIBC__) && !defined(PRISM_NO_TARGET_CLONES)
#define POOL_HOT __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define POOL_HOT
#endif

enum { POOL_MAX, POOL_AVG };

typedef struct pool_state {
    int kind;
    int auto_pad;
    bool ceil_mode, count_include_pad, col_major;
    const int64_t *kshape, *pads, *strides, *dils; /* point into the graph */
    size_t n_kshape, n_pads, n_strides, n_dils;
} pool_state;

typedef struct pool_geom {
    int sp;
    int64_t planes; /* N * C */
    int64_t in[POOL_MAX_SP], out[POOL_MAX_SP], k[POOL_MAX_SP], s[POOL_MAX_SP], d[POOL_MAX_SP];
    int64_t pb[POOL_MAX_SP], pe[POOL_MAX_SP];
    int64_t istride[POOL_MAX_SP]; /* row-major strides of the input plane */
    int64_t in_plane, out_plane;
} pool_geom;


static void pool_release(void *state) { free(state); }

static bool pool_float_dtype(int32_t dt) {
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static bool maxpool_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return pool_float_dtype(dt) || dt == PRISM_DTYPE_INT8 || dt == PRISM_DTYPE_UINT8;
}

static bool avgpool_supports(const cpu_node *node) { return pool_float_dtype(cpu_node_input_dtype(node, 0)); }

static prism_status pool_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, int kind) {
    pool_state tmp = {0};
    tmp.kind = kind;
    const char *ap = cpu_attr_string(node, "auto_pad", "NOTSET");
    if (!nn_parse_auto_pad(ap, &tmp.auto_pad))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    tmp.ceil_mode = cpu_attr_int(node, "ceil_mode", 0) != 0;
    tmp.count_include_pad = cpu_attr_int(node, "count_include_pad", 0) != 0;
    int64_t so = cpu_attr_int(node, "storage_order", 0);
    if (so != 0 && so != 1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "storage_order must be 0 or 1, got %lld", (long long)so);
    tmp.col_major = so == 1;
    tmp.n_kshape = cpu_attr_ints(node, "kernel_shape", &tmp.kshape);
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    /* AveragePool gained dilations in opset 19. */
    if (kind == POOL_MAX || cpu_node_opset(node) >= 19) tmp.n_dils = cpu_attr_ints(node, "dilations", &tmp.dils);
    if (tmp.n_kshape == 0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape is required");
    if (tmp.n_kshape > POOL_MAX_SP || (tmp.n_strides && tmp.n_strides != tmp.n_kshape) ||
        (tmp.n_dils && tmp.n_dils != tmp.n_kshape) || (tmp.n_pads && tmp.n_pads != 2 * tmp.n_kshape))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                        "kernel_shape, strides, dilations and pads have inconsistent lengths");
    prism_status e = nn_check_window_attrs(ctx, tmp.kshape, tmp.n_kshape, tmp.strides, tmp.n_strides, tmp.dils,
                                           tmp.n_dils, tmp.pads, tmp.n_pads);
    if (e) return e;
    pool_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

static prism_status maxpool_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return pool_prepare(ctx, node, state, POOL_MAX);
}

static prism_status avgpool_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return pool_prepare(ctx, node, state, POOL_AVG);
}

static prism_status pool_geometry(cpu_ctx *ctx, const pool_state *st, const cpu_tensor *x, pool_geom *g,
                                  int64_t *y_dims) {
    if (x->rank < 3)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    int sp = x->rank - 2;
    if ((size_t)sp != st->n_kshape)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape has %zu dims but X has %d spatial dims",
                        st->n_kshape, sp);
    memset(g, 0, sizeof *g);
    /* 1-D runs as 2-D with a leading unit dim (kernel 1, no padding). */
    const int off = sp == 1 ? 1 : 0;
    g->sp = sp + off;
    if (off) g->in[0] = g->out[0] = g->k[0] = g->s[0] = g->d[0] = 1;
    if (!cpu_mul_ok(x->dims[0], x->dims[1], &g->planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    y_dims[0] = x->dims[0];
    y_dims[1] = x->dims[1];
    int64_t total = g->planes;
    for (int i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], k = st->kshape[i];
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0;
        int64_t out;
        prism_status e = nn_out_size(ctx, i, st->auto_pad, st->ceil_mode, in, k, s, d, &pb, &pe, &out);
        if (e) return e;
        g->in[i + off] = in;
        g->out[i + off] = out;
        g->k[i + off] = k;
        g->s[i + off] = s;
        g->d[i + off] = d;
        g->pb[i + off] = pb;
        g->pe[i + off] = pe;
        y_dims[2 + i] = out;
        if (!cpu_mul_ok(total, out, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    }
    g->in_plane = cpu_shape_count(sp, x->dims + 2);
    g->out_plane = cpu_shape_count(sp, y_dims + 2);
    int64_t stride = 1;
    for (int i = g->sp - 1; i >= 0; i--) {
        g->istride[i] = stride;
        stride *= g->in[i];
    }
    return PRISM_OK;
}

/* Taps j in [0, k) whose coordinate start + j*d lies in [lo_lim, hi_lim):
 * returns the half-open range [*lo, *hi) (empty when *hi <= *lo). */
static void pool_tap_range(int64_t start, int64_t d, int64_t k, int64_t lo_lim, int64_t hi_lim, int64_t *lo,
                           int64_t *hi) {
    int64_t l = start >= lo_lim ? 0 : (lo_lim - start + d - 1) / d;
    int64_t h = start >= hi_lim ? 0 : (hi_lim - start + d - 1) / d;
    if (h > k) h = k;
    *lo = l;
    *hi = h;
}

/* Sets up the clipped window of output position o; false when no tap lands
 * inside the input. */
static bool pool_window(const pool_geom *g, const int64_t *o, int64_t *start, int64_t *lo, int64_t *hi) {
    bool any = true;
    for (int i = 0; i < g->sp; i++) {
        start[i] = o[i] * g->s[i] - g->pb[i];
        pool_tap_range(start[i], g->d[i], g->k[i], 0, g->in[i], &lo[i], &hi[i]);
        if (hi[i] <= lo[i]) any = false;
    }
    return any;
}

static void pool_next(const pool_geom *g, int64_t *o) {
    for (int i = g->sp - 1; i >= 0; i--) {
        if (++o[i] < g->out[i]) return;
        o[i] = 0;
    }
}

/* Visits every tap of the clipped window: BODY sees `off`, the row-major
 * offset in the input plane. */
#define POOL_FOR_TAPS(g, start, lo, hi, BODY)                                        \
    do {                                                                             \
        const int last_ = (g)->sp - 1;                                               \
        int64_t j_[POOL_MAX_SP];                                                     \
        for (int i_ = 0; i_ < last_; i_++) j_[i_] = (lo)[i_];                        \
        for (;;) {                                                                   \
            int64_t base_ = 0;                                                       \
            for (int i_ = 0; i_ < last_; i_++)                                       \
                base_ += ((start)[i_] + j_[i_] * (g)->d[i_]) * (g)->istride[i_];     \
            for (int64_t jl_ = (lo)[last_]; jl_ < (hi)[last_]; jl_++) {              \
                const int64_t off = base_ + (start)[last_] + jl_ * (g)->d[last_];    \
                BODY;                                                                \
            }                                                                        \
            int i_ = last_ - 1;                                                      \
            for (; i_ >= 0; i_--) {                                                  \
                if (++j_[i_] < (hi)[i_]) break;                                      \
                j_[i_] = (lo)[i_];                                                   \
            }                                                                        \
            if (i_ < 0) break;                                                       \
        }                                                                            \
    } while (0)

typedef struct pool_arg {
    const pool_geom *g;
    const pool_state *st;
    const void *x;
    void *y;
    int64_t *idx; /* MaxPool Indices, or NULL */
} pool_arg;

/* Row-major offset in a plane -> flat Indices value (column-major over the
 * spatial dims when storage_order=1). */
static int64_t pool_index(const pool_geom *g, bool col_major, int64_t plane, int64_t off) {
    int64_t spatial = off;
    if (col_major) {
        int64_t mul = 1;
        spatial = 0;
        for (int i = 0; i < g->sp; i++) {
            spatial += (off / g->istride[i]) % g->in[i] * mul;
            mul *= g->in[i];
        }
    }
    return plane * g->in_plane + spatial;
}

/* Max pooling over planes [p0, p1), generic N-D, with Indices. A NaN in the
 * window wins (like numpy and PyTorch; its index is the first NaN's); an
 * all-padding window yields the lowest value and index -1. */
#define POOL_MAX_DEFINE(T, LOWEST)                                                                \
    static void maxpool_planes_##T(void *argp, int64_t p0, int64_t p1) {                          \
        const pool_arg *a = argp;                                                                 \
        const pool_geom *g = a->g;                                                                \
        for (int64_t p = p0; p < p1; p++) {                                                       \
            const T *xp = (const T *)a->x + p * g->in_plane;                                      \
            T *yp = (T *)a->y + p * g->out_plane;                                                 \
            int64_t o[POOL_MAX_SP] = {0}, start[POOL_MAX_SP], lo[POOL_MAX_SP], hi[POOL_MAX_SP];   \
            for (int64_t q = 0; q < g->out_plane; q++, pool_next(g, o)) {                         \
                T best = LOWEST;                                                                  \
                int64_t best_off = -1;                                                            \
                if (pool_window(g, o, start, lo, hi)) {                                           \
                    POOL_FOR_TAPS(g, start, lo, hi, {                                             \
                        T v = xp[off];                                                            \
                        if (best_off < 0 || v > best || (v != v && best == best)) {               \
                            best = v;                                                             \
                            best_off = off;                                                       \
                        }                                                                         \
                    });                                                                           \
                }                                                                                 \
                yp[q] = best;                                                                     \
                if (a->idx)                                                                       \
                    a->idx[p * g->out_plane + q] =                                                \
                        best_off < 0 ? -1 : pool_index(g, a->st->col_major, p, best_off);         \
            }                                                                                     \
        }                                                                                         \
    }

#define POOL_AVG_DEFINE(T)                                                                        \
    static void avgpool_planes_##T(void *argp, int64_t p0, int64_t p1) {                          \
        const pool_arg *a = argp;                                                                 \
        const pool_geom *g = a->g;                                                                \
        const bool incl = a->st->count_include_pad;                                               \
        for (int64_t p = p0; p < p1; p++) {                                                       \
            const T *xp = (const T *)a->x + p * g->in_plane;                                      \
            T *yp = (T *)a->y + p * g->out_plane;                                                 \
            int64_t o[POOL_MAX_SP] = {0}, start[POOL_MAX_SP], lo[POOL_MAX_SP], hi[POOL_MAX_SP];   \
            for (int64_t q = 0; q < g->out_plane; q++, pool_next(g, o)) {                         \
                T sum = 0;                                                                        \
                int64_t count = 1;                                                                \
                if (pool_window(g, o, start, lo, hi))                                             \
                    POOL_FOR_TAPS(g, start, lo, hi, { sum += xp[off]; });                         \
                for (int i = 0; i < g->sp; i++) {                                                 \
                    int64_t l = lo[i], h = hi[i];                                                 \
                    if (incl) pool_tap_range(start[i], g->d[i], g->k[i], -g->pb[i],               \
                                             g->in[i] + g->pe[i], &l, &h);                        \
                    count *= h > l ? h - l : 0;                                                   \
                }                                                                                 \
                yp[q] = count > 0 ? sum / (T)count : (T)NAN;                                      \
            }                                                                                     \
        }                                                                                         \
    }

/*
 * The 2-D fast path (no Indices): each output row is accumulated tap by tap,
 * every tap sweeping the run of output columns it reaches inside the input,
 * so the inner loops are plain strided vector loops. Per-row and per-column
 * divisors (AveragePool) and per-kw column ranges come precomputed.
 */
typedef struct pool2d_arg {
    const pool_geom *g;
    const void *x;
    void *y;
    const double *cnt_h, *cnt_w; /* AveragePool divisor factors */
    const int64_t *kw_lo, *kw_hi; /* output columns reached by tap kw */
} pool2d_arg;

#define POOL2D_DEFINE(NAME, T, INIT, ACC, FINISH)                                                  \
    POOL_HOT static void NAME##_##T(void *argp, int64_t p0, int64_t p1) {                          \
        const pool2d_arg *a = argp;                                                                \
        const pool_geom *g = a->g;                                                                 \
        const int64_t H = g->in[0], W = g->in[1], OH = g->out[0], OW = g->out[1], sw = g->s[1];    \
        const int64_t KW = g->k[1], dw = g->d[1], pw = g->pb[1];                                   \
        /* Columns where every kw tap is inside the row; the rest check each tap. */               \
        int64_t full_lo = 0, full_hi = OW;                                                         \
        for (int64_t kw = 0; kw < KW; kw++) {                                                      \
            if (a->kw_lo[kw] > full_lo) full_lo = a->kw_lo[kw];                                    \
            if (a->kw_hi[kw] < full_hi) full_hi = a->kw_hi[kw];                                    \
        }                                                                                          \
        if (full_hi < full_lo) full_hi = full_lo;                                                  \
        const bool fuse3 = KW == 3 && dw == 1;                                                     \
        for (int64_t p = p0; p < p1; p++) {                                                        \
            const T *xp = (const T *)a->x + p * g->in_plane;                                       \
            T *yp = (T *)a->y + p * g->out_plane;                                                  \
            for (int64_t oh = 0; oh < OH; oh++) {                                                  \
                T *yr = yp + oh * OW;                                                              \
                for (int64_t ow = 0; ow < OW; ow++) yr[ow] = INIT;                                 \
                for (int64_t kh = 0; kh < g->k[0]; kh++) {                                         \
                    const int64_t ih = oh * g->s[0] - g->pb[0] + kh * g->d[0];                     \
                    if (ih < 0 || ih >= H) continue;                                               \
                    const T *xr = xp + ih * W;                                                     \
                    for (int64_t ow = 0; ow < OW; ow++) {                                          \
                        if (ow == full_lo) ow = full_hi;                                           \
                        if (ow >= OW) break;                                                       \
                        for (int64_t kw = 0; kw < KW; kw++) {                                      \
                            const int64_t iw = ow * sw + kw * dw - pw;                             \
                            if (iw >= 0 && iw < W) ACC(T, yr[ow], xr[iw]);                         \
                        }                                                                          \
                    }                                                                              \
                    if (fuse3 && sw == 1) {                                                        \
                        for (int64_t ow = full_lo; ow < full_hi; ow++) {                           \
                            const T *xs = xr + ow - pw;                                            \
                            ACC(T, yr[ow], xs[0]);                                                 \
                            ACC(T, yr[ow], xs[1]);                                                 \
                            ACC(T, yr[ow], xs[2]);                                                 \
                        }                                                                          \
                    } else if (fuse3 && sw == 2) {                                                 \
                        for (int64_t ow = full_lo; ow < full_hi; ow++) {                           \
                            const T *xs = xr + 2 * ow - pw;                                        \
                            ACC(T, yr[ow], xs[0]);                                                 \
                            ACC(T, yr[ow], xs[1]);                                                 \
                            ACC(T, yr[ow], xs[2]);                                                 \
                        }                                                                          \
                    } else {                                                                       \
                        for (int64_t kw = 0; kw < KW; kw++) {                                      \
                            const int64_t off = kw * dw - pw;                                      \
                            if (sw == 1)                                                           \
                                for (int64_t ow = full_lo; ow < full_hi; ow++) ACC(T, yr[ow], xr[ow + off]); \
                            else                                                                   \
                                for (int64_t ow = full_lo; ow < full_hi; ow++)                     \
                                    ACC(T, yr[ow], xr[ow * sw + off]);                             \
                        }                                                                          \
                    }                                                                              \
                }                                                                                  \
                FINISH;                                                                            \
            }                                                                                      \
        }                                                                                          \
    }

/* NaN propagates: once the running max is NaN nothing replaces it. */
#define POOL2D_MAX_ACC(T, y, v)                  \
    do {                                         \
        const T v_ = (v);                        \
        (y) = (v_ > (y) || v_ != v_) ? v_ : (y); \
    } while (0)
#define POOL2D_SUM_ACC(T, y, v) ((y) += (v))
#define POOL2D_AVG_FINISH(T)                                                   \
    for (int64_t ow = 0; ow < OW; ow++) {                                      \
        const double c = a->cnt_h[oh] * a->cnt_w[ow];                          \
        yr[ow] = c > 0 ? (T)(yr[ow] / c) : (T)NAN;                             \
    }

POOL2D_DEFINE(maxpool2d, float, -INFINITY, POOL2D_MAX_ACC, (void)0)
POOL2D_DEFINE(maxpool2d, double, -INFINITY, POOL2D_MAX_ACC, (void)0)
POOL2D_DEFINE(maxpool2d, int8_t, INT8_MIN, POOL2D_MAX_ACC, (void)0)
POOL2D_DEFINE(maxpool2d, uint8_t, 0, POOL2D_MAX_ACC, (void)0)
POOL2D_DEFINE(avgpool2d, float, 0, POOL2D_SUM_ACC, POOL2D_AVG_FINISH(float))
POOL2D_DEFINE(avgpool2d, double, 0, POOL2D_SUM_ACC, POOL2D_AVG_FINISH(double))

POOL_MAX_DEFINE(float, -INFINITY)
POOL_MAX_DEFINE(double, -INFINITY)
POOL_MAX_DEFINE(int8_t, INT8_MIN)
POOL_MAX_DEFINE(uint8_t, 0)
POOL_AVG_DEFINE(float)
POOL_AVG_DEFINE(double)

static prism_status pool_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    const pool_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    const cpu_tensor *x = in[0];
    int32_t dt = x->dtype;
    bool is_max = st->kind == POOL_MAX;
    bool half = dt == PRISM_DTYPE_FLOAT16 || dt == PRISM_DTYPE_BFLOAT16;
    if (!(dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || half ||
          (is_max && (dt == PRISM_DTYPE_INT8 || dt == PRISM_DTYPE_UINT8))))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s", cpu_node_op(node),
                        cpu_dtype_name(dt));
    pool_geom g;
    int64_t yd[CPU_MAX_RANK];
    prism_status rc = pool_geometry(ctx, st, x, &g, yd);
    if (rc) return rc;
    cpu_tensor *y, *idx = NULL;
    if ((rc = cpu_output(ctx, 0, dt, x->rank, yd, &y))) return rc;
    /* Indices only when the output is really there (an omitted one has no dtype). */
    if (is_max && cpu_node_output_count(node) > 1 && cpu_node_output_dtype(node, 1) != 0 &&
        (rc = cpu_output(ctx, 1, PRISM_DTYPE_INT64, x->rank, yd, &idx)))
        return rc;
    pool_arg arg = {&g, st, x->data, y->data, idx ? idx->data : NULL};
    float *xf = NULL, *yf = NULL;
    if (half) {
        xf = cpu_half_widen(x);
        yf = malloc((size_t)(y->count ? y->count : 1) * sizeof *yf);
        if (!xf || !yf) {
            free(xf);
            free(yf);
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        arg.x = xf;
        arg.y = yf;
        dt = PRISM_DTYPE_FLOAT;
    }
    void (*fn)(void *, int64_t, int64_t) = NULL;
    void *fn_arg = &arg;
    pool2d_arg arg2 = {&g, arg.x, arg.y, NULL, NULL, NULL, NULL};
    double *tab = NULL;
    if (g.sp == 2 && !idx && g.out_plane > 0) {
        /* Tables for the 2-D path: divisors per output row and column, and
         * the output columns each kw tap reaches. */
        int64_t n_tab = g.out[0] + g.out[1] + 2 * g.k[1];
        if (!(tab = malloc((size_t)n_tab * sizeof *tab))) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        double *ch = tab, *cw = tab + g.out[0];
        int64_t *klo = (int64_t *)(cw + g.out[1]), *khi = klo + g.k[1];
        for (int i = 0; i < 2; i++)
            for (int64_t o = 0; o < g.out[i]; o++) {
                int64_t start = o * g.s[i] - g.pb[i], l, h;
                if (st->count_include_pad)
                    pool_tap_range(start, g.d[i], g.k[i], -g.pb[i], g.in[i] + g.pe[i], &l, &h);
                else
                    pool_tap_range(start, g.d[i], g.k[i], 0, g.in[i], &l, &h);
                (i ? cw : ch)[o] = (double)(h > l ? h - l : 0);
            }
        for (int64_t kw = 0; kw < g.k[1]; kw++) {
            /* Output columns ow with 0 <= ow*s + off < W. */
            int64_t off = kw * g.d[1] - g.pb[1], s = g.s[1], W = g.in[1];
            int64_t l = off >= 0 ? 0 : (-off + s - 1) / s, h = W - off <= 0 ? 0 : (W - off + s - 1) / s;
            if (l > g.out[1]) l = g.out[1];
            if (h > g.out[1]) h = g.out[1];
            klo[kw] = l;
            khi[kw] = h < l ? l : h;
        }
        arg2.cnt_h = ch;
        arg2.cnt_w = cw;
        arg2.kw_lo = klo;
        arg2.kw_hi = khi;
        fn_arg = &arg2;
        switch (dt) {
        case PRISM_DTYPE_FLOAT: fn = is_max ? maxpool2d_float : avgpool2d_float; break;
        case PRISM_DTYPE_DOUBLE: fn = is_max ? maxpool2d_double : avgpool2d_double; break;
        case PRISM_DTYPE_INT8: fn = maxpool2d_int8_t; break;
        default: fn = maxpool2d_uint8_t; break;
        }
    } else {
        switch (dt) {
        case PRISM_DTYPE_FLOAT: fn = is_max ? maxpool_planes_float : avgpool_planes_float; break;
        case PRISM_DTYPE_DOUBLE: fn = is_max ? maxpool_planes_double : avgpool_planes_double; break;
        case PRISM_DTYPE_INT8: fn = maxpool_planes_int8_t; break;
        default: fn = maxpool_planes_uint8_t; break;
        }
    }
    if (g.out_plane > 0) cpu_parallel_for(ctx, g.planes, fn, fn_arg);
done:
    free(tab);
    if (half && !rc) cpu_half_narrow(yf, y);
    free(xf);
    free(yf);
    return rc;
}

/* ---- global pooling ------------------------------------------------------ */

typedef struct gpool_arg {
    const void *x;
    void *y;
    int64_t plane;
} gpool_arg;

#define GPOOL_DEFINE(T)                                                              \
    static void gmaxpool_planes_##T(void *argp, int64_t p0, int64_t p1) {            \
        const gpool_arg *a = argp;                                                   \
        for (int64_t p = p0; p < p1; p++) {                                          \
            const T *xp = (const T *)a->x + p * a->plane;                            \
            T best = xp[0];                                                          \
            for (int64_t i = 1; i < a->plane; i++)                                   \
                if (xp[i] > best) best = xp[i];                                      \
            ((T *)a->y)[p] = best;                                                   \
        }                                                                            \
    }                                                                                \
    static void gavgpool_planes_##T(void *argp, int64_t p0, int64_t p1) {            \
        const gpool_arg *a = argp;                                                   \
        for (int64_t p = p0; p < p1; p++) {                                          \
            const T *xp = (const T *)a->x + p * a->plane;                            \
            /* Eight partial sums: independent chains that vectorise. */             \
            T acc[8] = {0};                                                          \
            int64_t i = 0;                                                           \
            for (; i + 8 <= a->plane; i += 8)                                        \
                for (int j = 0; j < 8; j++) acc[j] += xp[i + j];                     \
            for (; i < a->plane; i++) acc[0] += xp[i];                               \
            const T sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
            ((T *)a->y)[p] = a->plane ? sum / (T)a->plane : (T)NAN;                  \
        }                                                                            \
    }

GPOOL_DEFINE(float)
GPOOL_DEFINE(double)

static prism_status gpool_run(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *x, bool is_max) {
    int32_t dt = x->dtype;
    bool half = dt == PRISM_DTYPE_FLOAT16 || dt == PRISM_DTYPE_BFLOAT16;
    if (!(dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || half))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s", cpu_node_op(node),
                        cpu_dtype_name(dt));
    if (x->rank < 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 2 (N, C, spatial...), got rank %d", x->rank);
    int64_t yd[CPU_MAX_RANK];
    yd[0] = x->dims[0];
    yd[1] = x->dims[1];
    for (int i = 2; i < x->rank; i++) yd[i] = 1;
    int64_t planes;
    if (!cpu_mul_ok(x->dims[0], x->dims[1], &planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    int64_t plane = cpu_shape_count(x->rank - 2, x->dims + 2);
    if (is_max && plane == 0 && planes > 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GlobalMaxPool of an empty spatial extent");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, dt, x->rank, yd, &y);
    if (rc) return rc;
    gpool_arg arg = {x->data, y->data, plane};
    float *xf = NULL, *yf = NULL;
    if (half) {
        xf = cpu_half_widen(x);
        yf = malloc((size_t)(y->count ? y->count : 1) * sizeof *yf);
        if (!xf || !yf) {
            free(xf);
            free(yf);
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        arg.x = xf;
        arg.y = yf;
        dt = PRISM_DTYPE_FLOAT;
    }
    if (dt == PRISM_DTYPE_FLOAT)
        cpu_parallel_for(ctx, planes, is_max ? gmaxpool_planes_float : gavgpool_planes_float, &arg);
    else
        cpu_parallel_for(ctx, planes, is_max ? gmaxpool_planes_double : gavgpool_planes_double, &arg);
    if (half) cpu_half_narrow(yf, y);
    free(xf);
    free(yf);
    return PRISM_OK;
}

static prism_status gmaxpool_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    return gpool_run(ctx, node, in[0], true);
}

static prism_status gavgpool_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input X");
    return gpool_run(ctx, node, in[0], false);
}

const cpu_kernel_def cpu_op_MaxPool = {
    .prepare = maxpool_prepare,
    .run = pool_run,
    .release = pool_release,
    .supports = maxpool_supports,
};

const cpu_kernel_def cpu_op_AveragePool = {
    .prepare = avgpool_prepare,
    .run = pool_run,
    .release = pool_release,
    .supports = avgpool_supports,
};

const cpu_kernel_def cpu_op_GlobalMaxPool = {
    .run = gmaxpool_run,
    .supports = avgpool_supports,
};

const cpu_kernel_def cpu_op_GlobalAveragePool = {
    .run = gavgpool_run,
    .supports = avgpool_supports,
};
