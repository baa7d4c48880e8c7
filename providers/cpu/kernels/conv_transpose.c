/*
 * conv_transpose.c — ConvTranspose (ONNX opsets 1, 11, 22) and Col2Im (18)
 * for the CPU provider, on any number of spatial dims.
 *
 * ConvTranspose: X is [N, C, D1..Dk], W is [C, M/group, K1..Kk], B is [M],
 * Y is [N, M, O1..Ok]. Per (image, group) the column matrix
 *     col[(m, kernel tap), input position] = W_g^T x X_g
 * is one GEMM (cpu_sgemm for float), and col2im scatter-adds it into Y:
 * input position i and tap k land on output o = i*s - pad_begin + k*d. The
 * column matrix is built in tiles of input rows (dim 0) so it stays bounded.
 * Threads: many small (image, group) problems (depthwise deconvolutions,
 * batches of small images) go whole to tasks, each with its own column
 * buffer; otherwise the GEMM is split across threads and col2im runs in
 * parallel over output channels (each owns its output plane, so no races).
 *
 * Output size and padding (ONNX spec):
 *  - explicit pads: out = s*(in-1) + output_padding + (k-1)*d + 1 - pb - pe;
 *  - output_shape given (its last k entries): pads come from
 *    total = s*(in-1) + output_padding + (k-1)*d + 1 - out, split as
 *    SAME_UPPER: begin = floor(total/2), else begin = total - floor(total/2)
 *    (floor division, so a negative total extends the output at the end,
 *    as the reference implementation does);
 *  - auto_pad SAME_UPPER / SAME_LOWER without output_shape: out = in*s, the
 *    same split; VALID: no padding.
 *
 * Col2Im: input [N, C*prod(block), L] with L the number of sliding blocks of
 * the (padded) image; the same col2im, one (image, channel) per task.
 *
 * float, double; float16 / bfloat16 run through float.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"
#include "nn_geometry.h"

#define CT_MAX_SP (CPU_MAX_RANK - 2)
/* Bound on the column buffers; bigger column matrices are tiled. */
#ifndef CT_COL_BYTES
#define CT_COL_BYTES ((int64_t)16 << 20)
#endif
/* Bound on strides, dilations, pads, kernel and output sizes. */
#define CT_ATTR_MAX ((int64_t)1 << 40)

typedef struct ct_state {
    int auto_pad;
    int64_t group;
    const int64_t *kshape, *pads, *strides, *dils, *opad, *oshape; /* point into the graph */
    size_t n_kshape, n_pads, n_strides, n_dils, n_opad, n_oshape;
} ct_state;

/* Geometry of one col2im: channels of `in` positions scattered to `out`. */
typedef struct ct_geom {
    int sp;
    int64_t in[CT_MAX_SP], out[CT_MAX_SP], k[CT_MAX_SP], s[CT_MAX_SP], d[CT_MAX_SP], pb[CT_MAX_SP];
    int64_t in_plane, out_plane, ksize;
    /* ConvTranspose only */
    int64_t n, c, m, group, cg, mg;
} ct_geom;

static int64_t floor_div2(int64_t v) { return v >= 0 ? v / 2 : -((-v + 1) / 2); }

static bool ct_dtype_ok(int32_t dt) {
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static bool ct_supports(const cpu_node *node) { return ct_dtype_ok(cpu_node_input_dtype(node, 0)); }

static void ct_release(void *state) { free(state); }

static bool ct_values_ok(const int64_t *v, size_t n, int64_t lo) {
    for (size_t i = 0; i < n; i++)
        if (v[i] < lo || v[i] > CT_ATTR_MAX) return false;
    return true;
}

static prism_status ct_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    ct_state tmp = {0};
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
    tmp.n_opad = cpu_attr_ints(node, "output_padding", &tmp.opad);
    tmp.n_oshape = cpu_attr_ints(node, "output_shape", &tmp.oshape);
    if (tmp.n_kshape > CT_MAX_SP || tmp.n_strides > CT_MAX_SP || tmp.n_dils > CT_MAX_SP ||
        tmp.n_pads > 2 * CT_MAX_SP || tmp.n_pads % 2 || tmp.n_opad > CT_MAX_SP || tmp.n_oshape > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                        "kernel_shape/strides/dilations/pads/output_padding/output_shape have bad lengths");
    if (!ct_values_ok(tmp.kshape, tmp.n_kshape, 1) || !ct_values_ok(tmp.strides, tmp.n_strides, 1) ||
        !ct_values_ok(tmp.dils, tmp.n_dils, 1))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape, strides and dilations must be in [1, 2^40]");
    if (!ct_values_ok(tmp.pads, tmp.n_pads, 0) || !ct_values_ok(tmp.opad, tmp.n_opad, 0) ||
        !ct_values_ok(tmp.oshape, tmp.n_oshape, 0))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "pads, output_padding and output_shape must be in [0, 2^40]");
    ct_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

static prism_status ct_geometry(cpu_ctx *ctx, const ct_state *st, const cpu_tensor *x, const cpu_tensor *w,
                                const cpu_tensor *b, ct_geom *g, int64_t *y_dims) {
    if (x->rank < 3)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 3 (N, C, spatial...), got rank %d", x->rank);
    if (w->rank != x->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has rank %d but X has rank %d", w->rank, x->rank);
    const int sp = x->rank - 2;
    if ((st->n_kshape && st->n_kshape != (size_t)sp) || (st->n_strides && st->n_strides != (size_t)sp) ||
        (st->n_dils && st->n_dils != (size_t)sp) || (st->n_pads && st->n_pads != 2 * (size_t)sp) ||
        (st->n_opad && st->n_opad != (size_t)sp) || (st->n_oshape && st->n_oshape < (size_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "attribute lengths do not match %d spatial dims", sp);
    memset(g, 0, sizeof *g);
    g->sp = sp;
    g->n = x->dims[0];
    g->c = x->dims[1];
    g->group = st->group;
    if (w->dims[0] != g->c)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has %lld input channels but X has %lld", (long long)w->dims[0],
                        (long long)g->c);
    if (g->c % g->group)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X's %lld channels are not divisible by group %lld", (long long)g->c,
                        (long long)g->group);
    g->cg = g->c / g->group;
    g->mg = w->dims[1];
    if (!cpu_mul_ok(g->mg, g->group, &g->m)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W is too large");
    if (b) {
        if (b->rank != 1 || b->dims[0] != g->m)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B must be a 1-D tensor of %lld elements", (long long)g->m);
        if (b->dtype != x->dtype) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B's dtype differs from X's");
    }
    y_dims[0] = g->n;
    y_dims[1] = g->m;
    int64_t total = 1;
    if (!cpu_mul_ok(g->n, g->m, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    for (int i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        if (st->n_kshape && st->kshape[i] != k)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape[%d]=%lld does not match W's dim %lld", i,
                            (long long)st->kshape[i], (long long)k);
        if (k < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W has an empty spatial dim %d", i);
        if (k > CT_ATTR_MAX || in > CT_ATTR_MAX) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dims are too large");
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t op = st->n_opad ? st->opad[i] : 0;
        /* full = s*(in-1) + op + (k-1)*d + 1: every operand is below 2^40, so
         * the products below stay below 2^81 only if checked. */
        int64_t full, dk;
        if (!cpu_mul_ok(k - 1, d, &dk) || !cpu_mul_ok(in > 0 ? in - 1 : 0, s, &full) || !cpu_add_ok(full, dk + 1 + op, &full))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
        if (in == 0) full = 0;
        int64_t out, pb;
        if (st->n_oshape || st->auto_pad == NN_PAD_SAME_UPPER || st->auto_pad == NN_PAD_SAME_LOWER) {
            if (st->n_oshape) out = st->oshape[st->n_oshape - (size_t)sp + (size_t)i];
            else if (!cpu_mul_ok(in, s, &out)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
            int64_t tp = full - out;
            pb = st->auto_pad == NN_PAD_SAME_UPPER ? floor_div2(tp) : tp - floor_div2(tp);
        } else {
            int64_t pe = 0;
            pb = 0;
            if (st->auto_pad != NN_PAD_VALID && st->n_pads) {
                pb = st->pads[i];
                pe = st->pads[i + sp];
            }
            out = full - pb - pe;
            if (out < 0)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "pads (%lld, %lld) exceed the output size %lld in dim %d",
                                (long long)pb, (long long)pe, (long long)full, i);
        }
        g->in[i] = in;
        g->out[i] = out;
        g->k[i] = k;
        g->s[i] = s;
        g->d[i] = d;
        g->pb[i] = pb;
        y_dims[2 + i] = out;
        if (!cpu_mul_ok(total, out, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    }
    g->in_plane = cpu_shape_count(sp, x->dims + 2);
    g->out_plane = cpu_shape_count(sp, y_dims + 2);
    g->ksize = cpu_shape_count(sp, w->dims + 2);
    int64_t t;
    if (!cpu_mul_ok(g->mg, g->ksize, &t) || !cpu_mul_ok(t, g->cg, &t) || !cpu_mul_ok(g->in_plane, g->cg, &t))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W is too large");
    return PRISM_OK;
}

/* Input indices i along one dim with 0 <= i*s + off < out, clamped to [0, n). */
static void ct_valid_range(int64_t off, int64_t s, int64_t out, int64_t n, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = out - off <= 0 ? 0 : (out - off + s - 1) / s;
    if (l > n) l = n;
    if (h > n) h = n;
    if (h < l) h = l;
    *lo = l;
    *hi = h;
}

/*
 * col2im for type T. col holds, for each channel of [c0, c1), ksize rows of
 * the input positions of rows [t0, t1) of dim 0 (pt = positions per tile, ld
 * its row stride); each is added into that channel's output plane.
 */
#define CT_DEFINE(T)                                                                                      \
    typedef struct ct_col2im_arg_##T {                                                                    \
        const ct_geom *g;                                                                                 \
        const T *col;                                                                                     \
        int64_t ld, t0, t1;                                                                               \
        T *y; /* plane of channel 0 */                                                                    \
    } ct_col2im_arg_##T;                                                                                  \
                                                                                                          \
    static void ct_col2im_##T(void *argp, int64_t c0, int64_t c1) {                                       \
        const ct_col2im_arg_##T *a = argp;                                                                \
        const ct_geom *g = a->g;                                                                          \
        const int last = g->sp - 1;                                                                       \
        const int64_t in_last = g->in[last], s_last = g->s[last];                                         \
        /* Input rows of the tile: (t1 - t0) * prod(in[1..last-1]) when sp > 1. */                        \
        int64_t rows = 1;                                                                                 \
        for (int i = 1; i < last; i++) rows *= g->in[i];                                                  \
        if (last > 0) rows *= a->t1 - a->t0;                                                              \
        for (int64_t c = c0; c < c1; c++) {                                                               \
            T *yp = a->y + c * g->out_plane;                                                              \
            for (int64_t kk = 0; kk < g->ksize; kk++) {                                                   \
                int64_t kc[CT_MAX_SP], rem = kk;                                                          \
                for (int i = last; i >= 0; i--) {                                                         \
                    kc[i] = rem % g->k[i];                                                                \
                    rem /= g->k[i];                                                                       \
                }                                                                                         \
                const T *cr = a->col + (c * g->ksize + kk) * a->ld;                                       \
                const int64_t off_last = kc[last] * g->d[last] - g->pb[last];                             \
                int64_t lo, hi;                                                                           \
                ct_valid_range(off_last, s_last, g->out[last], in_last, &lo, &hi);                        \
                if (lo >= hi) continue;                                                                   \
                for (int64_t r = 0; r < rows; r++) {                                                      \
                    /* Decode the row into input coordinates of dims 0..last-1. */                        \
                    int64_t rr = r, obase = 0, omul = g->out[last];                                       \
                    bool inside = true;                                                                   \
                    for (int i = last - 1; i >= 0; i--) {                                                 \
                        int64_t span = i == 0 ? a->t1 - a->t0 : g->in[i];                                 \
                        int64_t ic = rr % span + (i == 0 ? a->t0 : 0);                                    \
                        rr /= span;                                                                       \
                        int64_t o = ic * g->s[i] - g->pb[i] + kc[i] * g->d[i];                            \
                        if (o < 0 || o >= g->out[i]) {                                                    \
                            inside = false;                                                               \
                            break;                                                                        \
                        }                                                                                 \
                        obase += o * omul;                                                                \
                        omul *= g->out[i];                                                                \
                    }                                                                                     \
                    if (!inside) continue;                                                                \
                    const T *cp = cr + r * in_last;                                                       \
                    T *yr = yp + obase;                                                                   \
                    if (s_last == 1)                                                                      \
                        for (int64_t i = lo; i < hi; i++) yr[i + off_last] += cp[i];                      \
                    else                                                                                  \
                        for (int64_t i = lo; i < hi; i++) yr[i * s_last + off_last] += cp[i];             \
                }                                                                                         \
            }                                                                                             \
        }                                                                                                 \
    }                                                                                                     \
                                                                                                          \
    /* One (image, group): bias, then GEMM + col2im per tile of input rows. */                            \
    static void ct_one_##T(cpu_ctx *ctx, const ct_geom *g, int64_t n, int64_t gr, const T *x, const T *w,  \
                           const T *b, T *y, T *col, int64_t tile_rows, bool serial) {                    \
        const int64_t P = g->in_plane, row_pos = g->sp > 1 ? P / g->in[0] : P;                            \
        const int64_t mk = g->mg * g->ksize;                                                              \
        const T *xg = x + (n * g->c + gr * g->cg) * P;                                                    \
        const T *wg = w + gr * g->cg * mk;                                                                \
        T *yg = y + (n * g->m + gr * g->mg) * g->out_plane;                                               \
        for (int64_t oc = 0; oc < g->mg; oc++) {                                                          \
            T bv = b ? b[gr * g->mg + oc] : (T)0;                                                         \
            for (int64_t p = 0; p < g->out_plane; p++) yg[oc * g->out_plane + p] = bv;                    \
        }                                                                                                 \
        if (P == 0 || mk == 0) return;                                                                    \
        const int64_t n_rows = g->sp > 1 ? g->in[0] : 1;                                                  \
        for (int64_t t0 = 0; t0 < n_rows; t0 += tile_rows) {                                              \
            int64_t t1 = t0 + tile_rows < n_rows ? t0 + tile_rows : n_rows;                               \
            int64_t pt = (t1 - t0) * row_pos;                                                             \
            ct_gemm_tn_##T(ctx, mk, pt, g->cg, wg, mk, xg + t0 * row_pos, P, col, pt);                    \
            ct_col2im_arg_##T arg = {g, col, pt, t0, t1, yg};                                             \
            if (serial) ct_col2im_##T(&arg, 0, g->mg);                                                    \
            else cpu_parallel_for(ctx, g->mg, ct_col2im_##T, &arg);                                       \
        }                                                                                                 \
    }                                                                                                     \
                                                                                                          \
    typedef struct ct_task_arg_##T {                                                                      \
        cpu_ctx *ctx;                                                                                     \
        const ct_geom *g;                                                                                 \
        const T *x, *w, *b;                                                                               \
        T *y, *cols;                                                                                      \
        int64_t col_elems, tile_rows, tasks;                                                              \
    } ct_task_arg_##T;                                                                                    \
                                                                                                          \
    static void ct_tasks_##T(void *argp, int64_t t0, int64_t t1) {                                        \
        const ct_task_arg_##T *a = argp;                                                                  \
        const int64_t items = a->g->n * a->g->group;                                                      \
        for (int64_t t = t0; t < t1; t++)                                                                 \
            for (int64_t it = t * items / a->tasks; it < (t + 1) * items / a->tasks; it++)                \
                ct_one_##T(a->ctx, a->g, it / a->g->group, it % a->g->group, a->x, a->w, a->b, a->y,      \
                           a->cols + t * a->col_elems, a->tile_rows, true);                               \
    }                                                                                                     \
                                                                                                          \
    static prism_status ct_compute_##T(cpu_ctx *ctx, const ct_geom *g, const T *x, const T *w, const T *b, \
                                       T *y) {                                                            \
        if (g->n == 0 || g->m == 0 || g->out_plane == 0) return PRISM_OK;                                 \
        const int64_t P = g->in_plane, mk = g->mg * g->ksize;                                             \
        const int64_t n_rows = g->sp > 1 ? g->in[0] : 1, row_pos = n_rows ? P / n_rows : 0;               \
        const int64_t threads = cpu_threads(ctx), items = g->n * g->group;                                \
        int64_t work;                                                                                     \
        const bool tasks = threads > 1 && items >= 2 * threads && cpu_mul_ok(mk, P, &work) &&                 \
                           cpu_mul_ok(work, g->cg, &work) && work < ((int64_t)1 << 24);                       \
        const int64_t nbuf = tasks ? threads : 1;                                                         \
        int64_t tile_rows = n_rows, col_elems = 1;                                                        \
        T *col = NULL;                                                                                    \
        if (P > 0 && mk > 0) {                                                                            \
            int64_t row_bytes, nbytes, budget = CT_COL_BYTES / nbuf;                                      \
            if (!cpu_mul_ok(mk, row_pos, &row_bytes) || !cpu_mul_ok(row_bytes, (int64_t)sizeof(T), &row_bytes))   \
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "column buffer size overflows");            \
            if (budget / row_bytes < tile_rows) tile_rows = budget / row_bytes > 0 ? budget / row_bytes : 1; \
            col_elems = mk * row_pos * tile_rows;                                                         \
            if (mk > INT32_MAX || row_pos * tile_rows > INT32_MAX || g->cg > INT32_MAX || P > INT32_MAX)  \
                return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GEMM dims exceed 2^31");                   \
            if (!cpu_mul_ok(row_bytes, tile_rows, &nbytes) || !cpu_mul_ok(nbytes, nbuf, &nbytes) ||               \
                (uint64_t)nbytes > SIZE_MAX || !(col = malloc((size_t)nbytes)))                           \
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory for the column buffer");     \
        }                                                                                                 \
        if (tasks && col) {                                                                               \
            ct_task_arg_##T arg = {ctx, g, x, w, b, y, col, col_elems, tile_rows, nbuf};                  \
            cpu_parallel_for(ctx, nbuf, ct_tasks_##T, &arg);                                              \
        } else {                                                                                          \
            for (int64_t n = 0; n < g->n; n++)                                                            \
                for (int64_t gr = 0; gr < g->group; gr++)                                                 \
                    ct_one_##T(ctx, g, n, gr, x, w, b, y, col, tile_rows, false);                         \
        }                                                                                                 \
        free(col);                                                                                        \
        return PRISM_OK;                                                                                  \
    }

/* C[m x n] = A^T x B with A stored [k x m] (lda), B [k x n] (ldb). */
static void ct_gemm_tn_float(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda,
                             const float *b, int64_t ldb, float *c, int64_t ldc) {
    cpu_sgemm(ctx, true, false, m, n, k, 1.0f, a, lda, b, ldb, 0.0f, c, ldc);
}

static void ct_gemm_tn_double(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
                              const double *b, int64_t ldb, double *c, int64_t ldc) {
    cpu_dgemm(ctx, true, m, n, k, a, lda, b, ldb, 0.0, c, ldc);
}

CT_DEFINE(float)
CT_DEFINE(double)

static prism_status ct_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const ct_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConvTranspose needs inputs X and W");
    const cpu_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    if (w->dtype != x->dtype) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W's dtype differs from X's");
    ct_geom g;
    int64_t yd[CPU_MAX_RANK];
    prism_status rc = ct_geometry(ctx, st, x, w, b, &g, yd);
    if (rc) return rc;
    cpu_tensor *y;
    switch (x->dtype) {
    case PRISM_DTYPE_FLOAT:
        if ((rc = cpu_output(ctx, 0, x->dtype, x->rank, yd, &y))) return rc;
        return ct_compute_float(ctx, &g, x->data, w->data, b ? b->data : NULL, y->data);
    case PRISM_DTYPE_DOUBLE:
        if ((rc = cpu_output(ctx, 0, x->dtype, x->rank, yd, &y))) return rc;
        return ct_compute_double(ctx, &g, x->data, w->data, b ? b->data : NULL, y->data);
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: {
        if ((rc = cpu_output(ctx, 0, x->dtype, x->rank, yd, &y))) return rc;
        float *xf = cpu_half_widen(x), *wf = cpu_half_widen(w), *bf = cpu_half_widen(b);
        float *yf = malloc((size_t)(y->count ? y->count : 1) * sizeof *yf);
        if (!xf || !wf || (b && !bf) || !yf) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        else rc = ct_compute_float(ctx, &g, xf, wf, bf, yf);
        if (!rc) cpu_half_narrow(yf, y);
        free(xf);
        free(wf);
        free(bf);
        free(yf);
        return rc;
    }
    default:
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "ConvTranspose does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    }
}

const cpu_kernel_def cpu_op_ConvTranspose = {
    .prepare = ct_prepare,
    .run = ct_run,
    .release = ct_release,
    .supports = ct_supports,
};

/* ---- Col2Im --------------------------------------------------------------- */

typedef struct col2im_state {
    const int64_t *pads, *strides, *dils;
    size_t n_pads, n_strides, n_dils;
} col2im_state;

static prism_status col2im_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    col2im_state tmp = {0};
    tmp.n_pads = cpu_attr_ints(node, "pads", &tmp.pads);
    tmp.n_strides = cpu_attr_ints(node, "strides", &tmp.strides);
    tmp.n_dils = cpu_attr_ints(node, "dilations", &tmp.dils);
    if (tmp.n_strides > CT_MAX_SP || tmp.n_dils > CT_MAX_SP || tmp.n_pads > 2 * CT_MAX_SP || tmp.n_pads % 2)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "strides/dilations/pads have bad lengths");
    if (!ct_values_ok(tmp.strides, tmp.n_strides, 1) || !ct_values_ok(tmp.dils, tmp.n_dils, 1) ||
        !ct_values_ok(tmp.pads, tmp.n_pads, 0))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "strides and dilations must be in [1, 2^40], pads in [0, 2^40]");
    col2im_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = tmp;
    *state = st;
    return PRISM_OK;
}

typedef struct col2im_task {
    const ct_geom *g;
    const void *x;
    void *y;
    bool dbl;
} col2im_task;

/* Task per (image, channel): each adds its ksize x L block into its plane. */
static void col2im_planes(void *argp, int64_t p0, int64_t p1) {
    const col2im_task *a = argp;
    const ct_geom *g = a->g;
    const int64_t n_rows = g->sp > 1 ? g->in[0] : 1;
    for (int64_t p = p0; p < p1; p++) {
        if (a->dbl) {
            double *yp = (double *)a->y + p * g->out_plane;
            for (int64_t i = 0; i < g->out_plane; i++) yp[i] = 0;
            ct_col2im_arg_double arg = {g, (const double *)a->x + p * g->ksize * g->in_plane, g->in_plane, 0, n_rows,
                                        yp};
            ct_col2im_double(&arg, 0, 1);
        } else {
            float *yp = (float *)a->y + p * g->out_plane;
            for (int64_t i = 0; i < g->out_plane; i++) yp[i] = 0;
            ct_col2im_arg_float arg = {g, (const float *)a->x + p * g->ksize * g->in_plane, g->in_plane, 0, n_rows, yp};
            ct_col2im_float(&arg, 0, 1);
        }
    }
}

static prism_status col2im_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)node;
    const col2im_state *st = state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Col2Im needs input, image_shape and block_shape");
    const cpu_tensor *x = in[0], *ishape = in[1], *bshape = in[2];
    const int32_t dt = x->dtype;
    if (!ct_dtype_ok(dt) || dt <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Col2Im does not support dtype %s", cpu_dtype_name(dt));
    if (x->rank != 3) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input must have rank 3, got %d", x->rank);
    if (ishape->rank != 1 || bshape->rank != 1 || ishape->count != bshape->count || ishape->count < 1 ||
        ishape->count > CT_MAX_SP || ishape->dtype != PRISM_DTYPE_INT64 || bshape->dtype != PRISM_DTYPE_INT64)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "image_shape and block_shape must be int64 1-D of equal length");
    const int sp = (int)ishape->count;
    if ((st->n_strides && st->n_strides != (size_t)sp) || (st->n_dils && st->n_dils != (size_t)sp) ||
        (st->n_pads && st->n_pads != 2 * (size_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "attribute lengths do not match %d spatial dims", sp);
    ct_geom g;
    memset(&g, 0, sizeof g);
    g.sp = sp;
    int64_t yd[CPU_MAX_RANK], blocks = 1, ksize = 1;
    yd[0] = x->dims[0];
    for (int i = 0; i < sp; i++) {
        int64_t img = cpu_tensor_int(ishape, i), k = cpu_tensor_int(bshape, i);
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0;
        if (img < 0 || img > CT_ATTR_MAX || k < 1 || k > CT_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "image_shape[%d]=%lld or block_shape[%d]=%lld is out of range",
                            i, (long long)img, i, (long long)k);
        int64_t dk;
        if (!cpu_mul_ok(k - 1, d, &dk) || !cpu_add_ok(dk, 1, &dk))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dilated block size overflows");
        int64_t span = img + pb + pe - dk;
        if (span < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "block (%lld) is larger than the padded image (%lld) in dim %d",
                            (long long)dk, (long long)(img + pb + pe), i);
        g.in[i] = span / s + 1;
        g.out[i] = img;
        g.k[i] = k;
        g.s[i] = s;
        g.d[i] = d;
        g.pb[i] = pb;
        yd[2 + i] = img;
        if (!cpu_mul_ok(blocks, g.in[i], &blocks) || !cpu_mul_ok(ksize, k, &ksize))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "block counts overflow");
    }
    if (x->dims[1] % ksize)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input dim 1 (%lld) is not divisible by the block size %lld",
                        (long long)x->dims[1], (long long)ksize);
    if (x->dims[2] != blocks)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input has %lld blocks but image and block shapes give %lld",
                        (long long)x->dims[2], (long long)blocks);
    yd[1] = x->dims[1] / ksize;
    g.in_plane = blocks;
    g.ksize = ksize;
    g.out_plane = cpu_shape_count(sp, yd + 2);
    int64_t total;
    if (!cpu_mul_ok(yd[0], yd[1], &total) || !cpu_mul_ok(total, g.out_plane, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, dt, sp + 2, yd, &y);
    if (rc) return rc;
    const int64_t planes = yd[0] * yd[1];
    if (dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE) {
        col2im_task t = {&g, x->data, y->data, dt == PRISM_DTYPE_DOUBLE};
        cpu_parallel_for(ctx, planes, col2im_planes, &t);
        return PRISM_OK;
    }
    float *xf = cpu_half_widen(x), *yf = malloc((size_t)(y->count ? y->count : 1) * sizeof *yf);
    if (!xf || !yf) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    } else {
        col2im_task t = {&g, xf, yf, false};
        cpu_parallel_for(ctx, planes, col2im_planes, &t);
        cpu_half_narrow(yf, y);
    }
    free(xf);
    free(yf);
    return rc;
}

const cpu_kernel_def cpu_op_Col2Im = {
    .prepare = col2im_prepare,
    .run = col2im_run,
    .release = ct_release,
    .supports = ct_supports,
};
