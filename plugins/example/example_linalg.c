/*
 * example_linalg.c — Conv, Gemm and MatMul: shape checks (with the reason
 * when a shape is wrong) and kernels, all reduced to ex_sgemm.
 *
 * Conv is im2col + GEMM per image and group (a 1x1 stride-1 unpadded Conv
 * needs no im2col: the input already is the matrix); a depthwise Conv (one
 * input and one output channel per group) is computed directly, because as a
 * GEMM it would be a product with a single row.
 */
#include <stdio.h>
#include <string.h>

#include "example_internal.h"

#define FAIL(...) (snprintf(err, EX_ERR, __VA_ARGS__), false)

/* a * b into *out when it stays below 2^50 (no tensor is larger). */
static bool mul_ok(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0 || (b && a > ((INT64_C(1) << 50) / b))) return false;
    *out = a * b;
    return true;
}

/* ---- Conv ------------------------------------------------------------------ */

typedef struct conv_geom {
    int64_t n, c, h, w, m, cg, mg, kh, kw, oh, ow, group;
    int64_t pad_t, pad_l, sh, sw, dh, dw;
    bool direct; /* 1x1, stride 1, no padding: no im2col */
    bool depthwise;
} conv_geom;

/* Padding before the data and output length along one axis. */
static bool conv_axis(const ex_params *p, int axis, int64_t in, int64_t k, int64_t *pad_begin, int64_t *out,
                      char *err) {
    int64_t s = p->strides[axis], d = p->dilations[axis], span = (k - 1) * d + 1;
    if (p->auto_pad == EX_PAD_SAME_UPPER || p->auto_pad == EX_PAD_SAME_LOWER) {
        int64_t o = (in + s - 1) / s;
        int64_t total = (o - 1) * s + span - in;
        if (total < 0) total = 0;
        *pad_begin = p->auto_pad == EX_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *out = o;
        return true;
    }
    bool valid = p->auto_pad == EX_PAD_VALID;
    int64_t pb = valid ? 0 : p->pads[axis], pe = valid ? 0 : p->pads[axis + 2];
    int64_t padded = in + pb + pe;
    if (padded < span)
        return FAIL("the kernel (extent %lld with dilation) is larger than the padded input (%lld) on axis %d",
                    (long long)span, (long long)padded, axis + 2);
    *pad_begin = pb;
    *out = (padded - span) / s + 1;
    return true;
}

static bool conv_geometry(const ex_params *p, const ex_tensor *x, const ex_tensor *w, const ex_tensor *b,
                          conv_geom *g, char *err) {
    if (x->rank != 4) return FAIL("X has rank %d; only 2-D Conv (rank-4 X) is implemented", x->rank);
    if (w->rank != 4) return FAIL("W has rank %d; only 2-D Conv (rank-4 W) is implemented", w->rank);
    memset(g, 0, sizeof *g);
    g->n = x->dims[0], g->c = x->dims[1], g->h = x->dims[2], g->w = x->dims[3];
    g->m = w->dims[0], g->cg = w->dims[1], g->kh = w->dims[2], g->kw = w->dims[3];
    g->group = p->group;
    if (p->kernel[0] && (p->kernel[0] != g->kh || p->kernel[1] != g->kw))
        return FAIL("kernel_shape [%lld, %lld] does not match W's [%lld, %lld]", (long long)p->kernel[0],
                    (long long)p->kernel[1], (long long)g->kh, (long long)g->kw);
    if (g->kh < 1 || g->kw < 1) return FAIL("W has an empty kernel");
    if (g->cg * g->group != g->c)
        return FAIL("X has %lld channels but W expects %lld per group x %lld groups", (long long)g->c,
                    (long long)g->cg, (long long)g->group);
    if (g->m % g->group)
        return FAIL("W has %lld output channels, not a multiple of group %lld", (long long)g->m, (long long)g->group);
    if (b && (b->rank != 1 || b->dims[0] != g->m))
        return FAIL("B must have shape [%lld] (W's output channels)", (long long)g->m);
    g->mg = g->m / g->group;
    g->sh = p->strides[0], g->sw = p->strides[1], g->dh = p->dilations[0], g->dw = p->dilations[1];
    if (!conv_axis(p, 0, g->h, g->kh, &g->pad_t, &g->oh, err) || !conv_axis(p, 1, g->w, g->kw, &g->pad_l, &g->ow, err))
        return false;
    bool unpadded = p->auto_pad == EX_PAD_VALID ||
                    (p->auto_pad == EX_PAD_NOTSET && !p->pads[0] && !p->pads[1] && !p->pads[2] && !p->pads[3]);
    g->direct = g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && unpadded;
    g->depthwise = g->cg == 1 && g->mg == 1;
    return true;
}

bool ex_conv_shape(const ex_params *p, const ex_tensor *x, const ex_tensor *w, const ex_tensor *b, int32_t *rank,
                   int64_t *dims, size_t *ws_bytes, char *err) {
    conv_geom g;
    if (!conv_geometry(p, x, w, b, &g, err)) return false;
    int64_t plane, k, col = 0, count;
    if (!mul_ok(g.oh, g.ow, &plane) || !mul_ok(g.cg * g.kh, g.kw, &k) || !mul_ok(plane, g.n * g.m, &count))
        return FAIL("the output would be too large");
    if (!g.direct && !g.depthwise && !mul_ok(k, plane, &col)) return FAIL("the im2col buffer would be too large");
    size_t pack = g.depthwise ? 0 : ex_sgemm_pack_floats(plane, k);
    *ws_bytes = ((size_t)col + pack) * sizeof(float);
    *rank = 4;
    dims[0] = g.n, dims[1] = g.m, dims[2] = g.oh, dims[3] = g.ow;
    return true;
}

/* Output positions o in [*lo, *hi) whose input position o * s + off lies in
 * [0, in). */
static void valid_range(int64_t out, int64_t in, int64_t s, int64_t off, int64_t *lo, int64_t *hi) {
    int64_t l = off >= 0 ? 0 : (-off + s - 1) / s;
    int64_t h = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;
    *lo = l < out ? l : out;
    *hi = h < out ? h : out;
    if (*hi < *lo) *hi = *lo;
}

/* col[(ci * kh + ki) * kw + kj][oh * OW + ow] = x[ci][ih][iw], 0 in the padding. */
static void im2col(const conv_geom *g, const float *x, float *col) {
    int64_t plane = g->oh * g->ow;
    for (int64_t ci = 0; ci < g->cg; ci++)
        for (int64_t ki = 0; ki < g->kh; ki++)
            for (int64_t kj = 0; kj < g->kw; kj++) {
                float *dst = col + ((ci * g->kh + ki) * g->kw + kj) * plane;
                const float *src = x + ci * g->h * g->w;
                int64_t off_w = kj * g->dw - g->pad_l, lo, hi;
                valid_range(g->ow, g->w, g->sw, off_w, &lo, &hi);
                for (int64_t oh = 0; oh < g->oh; oh++, dst += g->ow) {
                    int64_t ih = oh * g->sh + ki * g->dh - g->pad_t;
                    if (ih < 0 || ih >= g->h) {
                        memset(dst, 0, (size_t)g->ow * sizeof(float));
                        continue;
                    }
                    const float *row = src + ih * g->w + off_w;
                    for (int64_t ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
                    if (g->sw == 1)
                        memcpy(dst + lo, row + lo, (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int64_t ow = lo; ow < hi; ow++) dst[ow] = row[ow * g->sw];
                    for (int64_t ow = hi; ow < g->ow; ow++) dst[ow] = 0.0f;
                }
            }
}

/* One channel of a depthwise Conv: y (already holding the bias) += w * x. */
static void depthwise(const conv_geom *g, const float *x, const float *w, float *y) {
    for (int64_t ki = 0; ki < g->kh; ki++)
        for (int64_t kj = 0; kj < g->kw; kj++) {
            float wv = w[ki * g->kw + kj];
            int64_t off_w = kj * g->dw - g->pad_l, lo, hi;
            valid_range(g->ow, g->w, g->sw, off_w, &lo, &hi);
            for (int64_t oh = 0; oh < g->oh; oh++) {
                int64_t ih = oh * g->sh + ki * g->dh - g->pad_t;
                if (ih < 0 || ih >= g->h) continue;
                const float *row = x + ih * g->w + off_w;
                float *out = y + oh * g->ow;
                if (g->sw == 1)
                    for (int64_t ow = lo; ow < hi; ow++) out[ow] += wv * row[ow];
                else
                    for (int64_t ow = lo; ow < hi; ow++) out[ow] += wv * row[ow * g->sw];
            }
        }
}

void ex_conv(const ex_params *p, const ex_tensor *x, const ex_tensor *w, const ex_tensor *b, ex_tensor *y, float *ws) {
    conv_geom g;
    char err[EX_ERR];
    if (!conv_geometry(p, x, w, b, &g, err)) return; /* checked by ex_conv_shape */
    int64_t plane = g.oh * g.ow, k = g.cg * g.kh * g.kw;
    float *col = ws; /* im2col matrix, then GEMM packing scratch (neither for depthwise) */
    float *pack = g.direct || g.depthwise ? ws : ws + k * plane;
    for (int64_t m = 0; m < g.n * g.m; m++) {
        float *dst = y->data + m * plane, bias = b ? b->data[m % g.m] : 0.0f;
        for (int64_t i = 0; i < plane; i++) dst[i] = bias;
    }
    if (!plane || !k) return;
    for (int64_t n = 0; n < g.n; n++)
        for (int64_t gi = 0; gi < g.group; gi++) {
            const float *src = x->data + (n * g.c + gi * g.cg) * g.h * g.w;
            const float *wg = w->data + gi * g.mg * k;
            float *dst = y->data + (n * g.m + gi * g.mg) * plane;
            if (g.depthwise) {
                depthwise(&g, src, wg, dst);
                continue;
            }
            const float *mat = src;
            if (!g.direct) {
                im2col(&g, src, col);
                mat = col;
            }
            ex_sgemm(g.mg, plane, k, 1.0f, wg, k, 1, mat, plane, 1, dst, plane, pack);
        }
}

/* ---- Gemm ------------------------------------------------------------------ */

bool ex_gemm_shape(const ex_params *p, const ex_tensor *a, const ex_tensor *b, const ex_tensor *c, int32_t *rank,
                   int64_t *dims, size_t *ws_bytes, char *err) {
    if (a->rank != 2 || b->rank != 2) return FAIL("A and B must be matrices (ranks %d and %d)", a->rank, b->rank);
    int64_t m = p->trans_a ? a->dims[1] : a->dims[0], k = p->trans_a ? a->dims[0] : a->dims[1];
    int64_t kb = p->trans_b ? b->dims[1] : b->dims[0], n = p->trans_b ? b->dims[0] : b->dims[1];
    if (k != kb) return FAIL("A' is %lld x %lld but B' is %lld x %lld", (long long)m, (long long)k, (long long)kb,
                             (long long)n);
    if (c) {
        if (c->rank > 2) return FAIL("C has rank %d", c->rank);
        const int64_t want[2] = {m, n};
        for (int32_t i = 0; i < c->rank; i++) {
            int64_t d = c->dims[i], wd = want[2 - c->rank + i];
            if (d != wd && d != 1)
                return FAIL("C's dim %d is %lld; it must be 1 or %lld to broadcast to [%lld, %lld]", i, (long long)d,
                            (long long)wd, (long long)m, (long long)n);
        }
    }
    *rank = 2;
    dims[0] = m, dims[1] = n;
    *ws_bytes = ex_sgemm_pack_floats(n, k) * sizeof(float);
    return true;
}

void ex_gemm_op(const ex_params *p, const ex_tensor *a, const ex_tensor *b, const ex_tensor *c, ex_tensor *y,
                float *ws) {
    int64_t m = y->dims[0], n = y->dims[1], k = p->trans_a ? a->dims[0] : a->dims[1];
    float *out = y->data;
    if (c && p->beta != 0.0f) {
        /* Strides of C over Y's rows and columns, 0 where C repeats. */
        int64_t cr = 0, cc = 0;
        if (c->rank == 2) {
            cr = c->dims[0] == 1 ? 0 : c->dims[1];
            cc = c->dims[1] == 1 ? 0 : 1;
        } else if (c->rank == 1) {
            cc = c->dims[0] == 1 ? 0 : 1;
        }
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) out[i * n + j] = p->beta * c->data[i * cr + j * cc];
    } else {
        memset(out, 0, (size_t)(m * n) * sizeof(float));
    }
    int64_t ars = p->trans_a ? 1 : k, acs = p->trans_a ? m : 1;
    int64_t brs = p->trans_b ? 1 : n, bcs = p->trans_b ? k : 1;
    ex_sgemm(m, n, k, p->alpha, a->data, ars, acs, b->data, brs, bcs, out, n, ws);
}

/* ---- MatMul ----------------------------------------------------------------- */

/* The numpy view of a MatMul: matrices [m, k] x [k, n] over broadcast batch
 * dims. A 1-D A is a row [1, k], a 1-D B a column [k, 1]; those dims are
 * dropped from the output. */
typedef struct mm_geom {
    int64_t m, n, k;
    int32_t batch_rank;
    int64_t batch[EX_MAX_RANK];
    int64_t a_stride[EX_MAX_RANK], b_stride[EX_MAX_RANK]; /* per batch dim, in matrices; 0 = repeated */
    bool fold;                                            /* B has no batch dims: A's batch folds into m */
} mm_geom;

static bool mm_geometry(const ex_tensor *a, const ex_tensor *b, mm_geom *g, char *err) {
    if (a->rank < 1 || b->rank < 1)
        return FAIL("MatMul operands must have rank >= 1 (got %d and %d)", a->rank, b->rank);
    memset(g, 0, sizeof *g);
    g->m = a->rank == 1 ? 1 : a->dims[a->rank - 2];
    g->k = a->dims[a->rank - 1];
    int64_t kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2];
    g->n = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (g->k != kb)
        return FAIL("A's last dim is %lld but B's %s dim is %lld", (long long)g->k,
                    b->rank == 1 ? "only" : "second-to-last", (long long)kb);
    int32_t ab = a->rank > 2 ? a->rank - 2 : 0, bb = b->rank > 2 ? b->rank - 2 : 0;
    g->batch_rank = ab > bb ? ab : bb;
    int64_t sa = 1, sb = 1;
    for (int32_t i = g->batch_rank - 1; i >= 0; i--) {
        int32_t ia = i - (g->batch_rank - ab), ib = i - (g->batch_rank - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1)
            return FAIL("batch dims cannot be broadcast: %lld in A and %lld in B", (long long)da, (long long)db);
        g->batch[i] = da == 1 ? db : da;
        g->a_stride[i] = da == 1 ? 0 : sa;
        g->b_stride[i] = db == 1 ? 0 : sb;
        sa *= da;
        sb *= db;
    }
    g->fold = bb == 0;
    return true;
}

bool ex_matmul_shape(const ex_tensor *a, const ex_tensor *b, int32_t *rank, int64_t *dims, size_t *ws_bytes,
                     char *err) {
    mm_geom g;
    if (!mm_geometry(a, b, &g, err)) return false;
    int32_t r = 0;
    for (int32_t i = 0; i < g.batch_rank; i++) dims[r++] = g.batch[i];
    if (a->rank > 1) dims[r++] = g.m;
    if (b->rank > 1) dims[r++] = g.n;
    *rank = r;
    *ws_bytes = ex_sgemm_pack_floats(g.n, g.k) * sizeof(float);
    return true;
}

void ex_matmul(const ex_tensor *a, const ex_tensor *b, ex_tensor *y, float *ws) {
    mm_geom g;
    char err[EX_ERR];
    if (!mm_geometry(a, b, &g, err)) return; /* checked by ex_matmul_shape */
    if (y->count) memset(y->data, 0, (size_t)y->count * sizeof(float));
    if (g.fold) { /* A's batch dims are rows of one product */
        int64_t rows = g.m;
        for (int32_t i = 0; i < g.batch_rank; i++) rows *= g.batch[i];
        ex_sgemm(rows, g.n, g.k, 1.0f, a->data, g.k, 1, b->data, g.n, 1, y->data, g.n, ws);
        return;
    }
    int64_t idx[EX_MAX_RANK] = {0}, oa = 0, ob = 0, amat = g.m * g.k, bmat = g.k * g.n, ymat = g.m * g.n;
    int64_t batches = 1;
    for (int32_t i = 0; i < g.batch_rank; i++) batches *= g.batch[i];
    for (int64_t t = 0; t < batches; t++) {
        ex_sgemm(g.m, g.n, g.k, 1.0f, a->data + oa * amat, g.k, 1, b->data + ob * bmat, g.n, 1, y->data + t * ymat,
                 g.n, ws);
        for (int32_t d = g.batch_rank - 1; d >= 0; d--) { /* next batch index */
            oa += g.a_stride[d];
            ob += g.b_stride[d];
            if (++idx[d] < g.batch[d]) break;
            oa -= g.a_stride[d] * g.batch[d];
            ob -= g.b_stride[d] * g.batch[d];
            idx[d] = 0;
        }
    }
}
