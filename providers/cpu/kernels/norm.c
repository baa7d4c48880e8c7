/*
 * norm.c — BatchNormalization (inference), LayerNormalization,
 * InstanceNormalization and LRN for the CPU provider.
 *
 * One templated body per op serves float and double; float16/bfloat16 are
 * widened to float and narrowed back. Means and variances are accumulated in
 * double: it costs little and keeps long rows (LayerNorm over thousands of
 * features) accurate.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"


static bool norm_dtype_ok(int32_t dt) {
    return dt <= 0 || dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || cpu_dtype_is_half(dt);
}

static bool norm_supports(const cpu_node *node) { return norm_dtype_ok(cpu_node_input_dtype(node, 0)); }

static void norm_release(void *state) { free(state); }

static bool float_tensor(const cpu_tensor *t) {
    return t->dtype == PRISM_DTYPE_FLOAT || t->dtype == PRISM_DTYPE_DOUBLE || cpu_dtype_is_half(t->dtype);
}

/* The data of a float/double tensor, or a float copy of a half one (*owned
 * is set to the copy to free). NULL on allocation failure. */
static const void *as_compute(const cpu_tensor *t, float **owned) {
    *owned = NULL;
    if (!cpu_dtype_is_half(t->dtype)) return t->data;
    float *f = malloc((size_t)(t->count ? t->count : 1) * sizeof *f);
    if (!f) return NULL;
    for (int64_t i = 0; i < t->count; i++) f[i] = (float)cpu_tensor_get_f64(t, i);
    *owned = f;
    return f;
}

/* Output buffer to compute into: the tensor itself, or a float scratch for a
 * half tensor (narrowed by finish_compute). */
static void *out_compute(cpu_tensor *t, float **owned) {
    *owned = NULL;
    if (!cpu_dtype_is_half(t->dtype)) return t->data;
    *owned = malloc((size_t)(t->count ? t->count : 1) * sizeof **owned);
    return *owned;
}

static void finish_compute(cpu_tensor *t, float *owned) {
    if (!owned) return;
    for (int64_t i = 0; i < t->count; i++) cpu_tensor_set_f64(t, i, owned[i]);
    free(owned);
}

/* Sum and sum of squared deviations of n elements, in double, with eight
 * independent partial sums: a single running sum is one long dependency
 * chain the compiler may not reorder (no fast-math), eight vectorise. */
#define NORM_SUMS_DEFINE(T)                                                     \
    static double norm_sum_##T(const T *x, int64_t n) {                         \
        double acc[8] = {0};                                                    \
        int64_t i = 0;                                                          \
        for (; i + 8 <= n; i += 8)                                              \
            for (int j = 0; j < 8; j++) acc[j] += x[i + j];                     \
        for (; i < n; i++) acc[0] += x[i];                                      \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
    }                                                                           \
    static double norm_sqdev_##T(const T *x, int64_t n, double mean) {          \
        double acc[8] = {0};                                                    \
        int64_t i = 0;                                                          \
        for (; i + 8 <= n; i += 8)                                              \
            for (int j = 0; j < 8; j++) acc[j] += (x[i + j] - mean) * (x[i + j] - mean); \
        for (; i < n; i++) acc[0] += (x[i] - mean) * (x[i] - mean);             \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])); \
    }

NORM_SUMS_DEFINE(float)
NORM_SUMS_DEFINE(double)

/* ---- BatchNormalization ------------------------------------------------ */

typedef struct bn_state {
    double eps;
    bool per_element; /* spatial=0 (opset < 9): parameters have shape [C, D1, ...] */
} bn_state;

static prism_status bn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int64_t opset = cpu_node_opset(node);
    /* Training mode: is_test=0 before opset 7; the optional statistics outputs
     * in opsets 7-13; training_mode=1 from 14. Only inference is implemented. */
    bool training = false;
    if (opset < 7) training = cpu_attr_int(node, "is_test", 0) == 0;
    else if (opset < 14)
        for (uint32_t k = 1; k < cpu_node_output_count(node); k++)
            training = training || cpu_node_output_dtype(node, k) != 0; /* 0: output omitted */
    else training = cpu_attr_int(node, "training_mode", 0) != 0;
    if (training)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED,
                        "BatchNormalization in training mode is not supported (opset %lld)", (long long)opset);
    bn_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->eps = cpu_attr_float(node, "epsilon", 1e-5f);
    st->per_element = opset < 9 && cpu_attr_int(node, "spatial", 1) == 0;
    *state = st;
    return PRISM_OK;
}

typedef struct bn_arg {
    const void *x;
    void *y;
    const double *scale, *shift; /* per parameter element */
    int64_t c, inner;
    bool per_element;
} bn_arg;

#define BN_DEFINE(T)                                                                    \
    static void bn_planes_##T(void *argp, int64_t p0, int64_t p1) {                     \
        const bn_arg *a = argp;                                                         \
        for (int64_t p = p0; p < p1; p++) {                                             \
            const T *x = (const T *)a->x + p * a->inner;                                \
            T *y = (T *)a->y + p * a->inner;                                            \
            const int64_t c = p % a->c;                                                 \
            if (a->per_element) {                                                       \
                const double *sc = a->scale + c * a->inner, *sh = a->shift + c * a->inner; \
                for (int64_t i = 0; i < a->inner; i++) y[i] = (T)(x[i] * sc[i] + sh[i]); \
            } else {                                                                    \
                const T sc = (T)a->scale[c], sh = (T)a->shift[c];                       \
                for (int64_t i = 0; i < a->inner; i++) y[i] = x[i] * sc + sh;           \
            }                                                                           \
        }                                                                               \
    }

BN_DEFINE(float)
BN_DEFINE(double)

static prism_status bn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    const bn_state *st = state;
    if (n_in < 5 || !in[0] || !in[1] || !in[2] || !in[3] || !in[4])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "BatchNormalization needs X, scale, B, mean and var");
    const cpu_tensor *x = in[0];
    if (!float_tensor(x))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "BatchNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    if (x->rank < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 2, got %d", x->rank);
    int64_t C = x->dims[1], inner = cpu_shape_count(x->rank - 2, x->dims + 2), planes;
    if (!cpu_mul_ok(x->dims[0], C, &planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    int64_t pcount = C;
    if (st->per_element && !cpu_mul_ok(C, inner, &pcount)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    static const char *names[] = {"X", "scale", "B", "mean", "var"};
    for (int k = 1; k < 5; k++) {
        if (!float_tensor(in[k]))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be a floating-point tensor", names[k]);
        if (in[k]->count != pcount || (!st->per_element && in[k]->rank != 1))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must have %lld elements%s", names[k], (long long)pcount,
                            st->per_element ? " (shape [C, D1, ...] with spatial=0)" : " (shape [C])");
    }
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    /* Statistics outputs in inference mode (opset >= 14, or is_test=1 before
     * 7): nothing is updated, so they are the input mean and var. */
    for (uint32_t k = 1; k < 5 && k < cpu_node_output_count(node); k++) {
        cpu_tensor *o;
        const cpu_tensor *src = in[k % 2 ? 3 : 4]; /* mean, var (and before opset 7 the saved ones) */
        if ((rc = cpu_output(ctx, k, src->dtype, src->rank, src->dims, &o))) return rc;
        memcpy(o->data, src->data, src->bytes);
    }
    /* Fold into y = x * scale' + shift' with scale' = scale / sqrt(var + eps). */
    double *par = malloc((size_t)(pcount ? pcount : 1) * 2 * sizeof *par);
    if (!par) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t i = 0; i < pcount; i++) {
        double sc = cpu_tensor_get_f64(in[1], i) / sqrt(cpu_tensor_get_f64(in[4], i) + st->eps);
        par[i] = sc;
        par[pcount + i] = cpu_tensor_get_f64(in[2], i) - cpu_tensor_get_f64(in[3], i) * sc;
    }
    float *xo, *yo;
    const void *xp = as_compute(x, &xo);
    void *yp = out_compute(y, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        free(par);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    bn_arg arg = {xp, yp, par, par + pcount, C, inner, st->per_element};
    if (inner > 0 && C > 0)
        cpu_parallel_for(ctx, planes, x->dtype == PRISM_DTYPE_DOUBLE ? bn_planes_double : bn_planes_float, &arg);
    finish_compute(y, yo);
    free(xo);
    free(par);
    return PRISM_OK;
}

/* ---- LayerNormalization ------------------------------------------------- */

typedef struct ln_state {
    int64_t axis;
    double eps;
} ln_state;

static prism_status ln_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int64_t stash = cpu_attr_int(node, "stash_type", 1);
    /* stash_type names the precision of the statistics; they are computed in
     * double here, which is at least as precise as any allowed choice. */
    if (stash != PRISM_DTYPE_FLOAT && stash != PRISM_DTYPE_DOUBLE && stash != PRISM_DTYPE_FLOAT16 &&
        stash != PRISM_DTYPE_BFLOAT16)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unsupported stash_type %lld", (long long)stash);
    ln_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->axis = cpu_attr_int(node, "axis", -1);
    st->eps = cpu_attr_float(node, "epsilon", 1e-5f);
    *state = st;
    return PRISM_OK;
}

typedef struct ln_arg {
    const void *x, *scale, *bias;
    const int64_t *sidx, *bidx; /* per column index into scale / bias, NULL: identity */
    void *y;
    cpu_tensor *mean, *inv; /* optional outputs */
    int64_t cols;
    double eps;
} ln_arg;

#define LN_DEFINE(T)                                                                        \
    static void ln_rows_##T(void *argp, int64_t r0, int64_t r1) {                           \
        const ln_arg *a = argp;                                                             \
        const T *sc = a->scale, *bs = a->bias;                                              \
        for (int64_t r = r0; r < r1; r++) {                                                 \
            const T *x = (const T *)a->x + r * a->cols;                                     \
            T *y = (T *)a->y + r * a->cols;                                                 \
            const double mean = a->cols ? norm_sum_##T(x, a->cols) / (double)a->cols : 0;   \
            const double sq = norm_sqdev_##T(x, a->cols, mean);                             \
            const double var = a->cols ? sq / (double)a->cols : 0;                          \
            const double inv = 1.0 / sqrt(var + a->eps);                                    \
            for (int64_t j = 0; j < a->cols; j++) {                                         \
                double v = (x[j] - mean) * inv * sc[a->sidx ? a->sidx[j] : j];              \
                if (bs) v += bs[a->bidx ? a->bidx[j] : j];                                  \
                y[j] = (T)v;                                                                \
            }                                                                               \
            if (a->mean) cpu_tensor_set_f64(a->mean, r, mean);                                           \
            if (a->inv) cpu_tensor_set_f64(a->inv, r, inv);                                              \
        }                                                                                   \
    }

LN_DEFINE(float)
LN_DEFINE(double)

/* Index table mapping each column of the normalised block (dims nd[0..nr))
 * to an element of p (right-aligned, unidirectional broadcast); NULL with
 * *ok when p already has the block's shape. */
static int64_t *ln_bcast_table(const cpu_tensor *p, int32_t nr, const int64_t *nd, int64_t cols, bool *ok) {
    *ok = false;
    if (p->rank > nr) {
        for (int32_t i = 0; i < p->rank - nr; i++)
            if (p->dims[i] != 1) return NULL;
    }
    int32_t off = p->rank > nr ? p->rank - nr : 0; /* skip leading unit dims of p */
    int32_t pr = p->rank - off;
    bool same = pr == nr;
    for (int32_t i = 0; i < pr; i++) {
        int64_t pd = p->dims[off + i], xd = nd[nr - pr + i];
        if (pd != 1 && pd != xd) return NULL;
        if (pd != xd) same = false;
    }
    *ok = true;
    if (same) return NULL;
    int64_t *t = malloc((size_t)(cols ? cols : 1) * sizeof *t);
    if (!t) {
        *ok = false;
        return NULL;
    }
    for (int64_t j = 0; j < cols; j++) {
        int64_t rem = j, idx = 0, mul = 1;
        for (int32_t i = nr - 1; i >= 0; i--) {
            int64_t c = rem % nd[i];
            rem /= nd[i];
            int32_t pi = i - (nr - pr);
            if (pi >= 0) {
                int64_t pd = p->dims[off + pi];
                idx += (pd == 1 ? 0 : c) * mul;
                mul *= pd;
            }
        }
        t[j] = idx;
    }
    return t;
}

static int32_t ln_stat_dtype(const cpu_node *node, uint32_t k, int32_t xdt) {
    int32_t dt = cpu_node_output_dtype(node, k);
    if (dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || cpu_dtype_is_half(dt)) return dt;
    return xdt == PRISM_DTYPE_DOUBLE ? PRISM_DTYPE_DOUBLE : PRISM_DTYPE_FLOAT;
}

static prism_status ln_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    const ln_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "LayerNormalization needs X and Scale");
    const cpu_tensor *x = in[0], *sc = in[1], *b = n_in > 2 ? in[2] : NULL;
    if (!float_tensor(x))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LayerNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    if (sc->dtype != x->dtype || (b && b->dtype != x->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Scale and B must have X's dtype");
    int64_t axis;
    if (!cpu_norm_axis(st->axis, x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis, x->rank);
    int64_t rows = cpu_shape_count((int32_t)axis, x->dims);
    int64_t cols = cpu_shape_count(x->rank - (int32_t)axis, x->dims + axis);
    int32_t nr = x->rank - (int32_t)axis;
    const int64_t *nd = x->dims + axis;
    bool ok_s, ok_b = true;
    int64_t *sidx = ln_bcast_table(sc, nr, nd, cols, &ok_s), *bidx = NULL;
    if (b) bidx = ln_bcast_table(b, nr, nd, cols, &ok_b);
    prism_status rc = PRISM_OK;
    float *xo = NULL, *so = NULL, *bo = NULL, *yo = NULL;
    if (!ok_s || !ok_b) {
        rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s cannot be broadcast to the normalised shape", ok_s ? "B" : "Scale");
        goto done;
    }
    cpu_tensor *y, *mean = NULL, *inv = NULL;
    if ((rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y))) goto done;
    int64_t sd[CPU_MAX_RANK];
    for (int32_t i = 0; i < x->rank; i++) sd[i] = i < axis ? x->dims[i] : 1;
    uint32_t nout = cpu_node_output_count(node);
    if (nout > 1 && (rc = cpu_output(ctx, 1, ln_stat_dtype(node, 1, x->dtype), x->rank, sd, &mean))) goto done;
    if (nout > 2 && (rc = cpu_output(ctx, 2, ln_stat_dtype(node, 2, x->dtype), x->rank, sd, &inv))) goto done;
    const void *xp = as_compute(x, &xo), *sp = as_compute(sc, &so), *bp = b ? as_compute(b, &bo) : NULL;
    void *yp = out_compute(y, &yo);
    if (!xp || !sp || (b && !bp) || !yp) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    ln_arg arg = {xp, sp, bp, sidx, bidx, yp, mean, inv, cols, st->eps};
    cpu_parallel_for(ctx, rows, x->dtype == PRISM_DTYPE_DOUBLE ? ln_rows_double : ln_rows_float, &arg);
    finish_compute(y, yo);
    yo = NULL;
done:
    free(sidx);
    free(bidx);
    free(xo);
    free(so);
    free(bo);
    free(yo);
    return rc;
}

/* ---- InstanceNormalization ----------------------------------------------- */

typedef struct in_state {
    double eps;
} in_state;

static prism_status in_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    in_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->eps = cpu_attr_float(node, "epsilon", 1e-5f);
    *state = st;
    return PRISM_OK;
}

typedef struct inorm_arg {
    const void *x;
    void *y;
    const cpu_tensor *scale, *bias;
    int64_t c, inner;
    double eps;
} inorm_arg;

#define INORM_DEFINE(T)                                                                   \
    static void inorm_planes_##T(void *argp, int64_t p0, int64_t p1) {                    \
        const inorm_arg *a = argp;                                                        \
        for (int64_t p = p0; p < p1; p++) {                                               \
            const T *x = (const T *)a->x + p * a->inner;                                  \
            T *y = (T *)a->y + p * a->inner;                                              \
            const double mean = norm_sum_##T(x, a->inner) / (double)a->inner;             \
            const double sq = norm_sqdev_##T(x, a->inner, mean);                          \
            const double k = cpu_tensor_get_f64(a->scale, p % a->c) / sqrt(sq / (double)a->inner + a->eps); \
            const double b = cpu_tensor_get_f64(a->bias, p % a->c);                                    \
            for (int64_t i = 0; i < a->inner; i++) y[i] = (T)((x[i] - mean) * k + b);     \
        }                                                                                 \
    }

INORM_DEFINE(float)
INORM_DEFINE(double)

static prism_status inorm_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in) {
    (void)node;
    const in_state *st = state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "InstanceNormalization needs input, scale and B");
    const cpu_tensor *x = in[0];
    if (!float_tensor(x))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "InstanceNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    if (x->rank < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input must have rank >= 2, got %d", x->rank);
    int64_t C = x->dims[1], inner = cpu_shape_count(x->rank - 2, x->dims + 2), planes;
    if (!cpu_mul_ok(x->dims[0], C, &planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input is too large");
    for (int k = 1; k < 3; k++)
        if (!float_tensor(in[k]) || in[k]->rank != 1 || in[k]->dims[0] != C)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be a 1-D float tensor of %lld elements",
                            k == 1 ? "scale" : "B", (long long)C);
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    float *xo, *yo;
    const void *xp = as_compute(x, &xo);
    void *yp = out_compute(y, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    inorm_arg arg = {xp, yp, in[1], in[2], C, inner, st->eps};
    if (inner > 0)
        cpu_parallel_for(ctx, planes, x->dtype == PRISM_DTYPE_DOUBLE ? inorm_planes_double : inorm_planes_float,
                         &arg);
    finish_compute(y, yo);
    free(xo);
    return PRISM_OK;
}

/* ---- LRN ------------------------------------------------------------------ */

typedef struct lrn_state {
    int64_t size;
    double alpha, beta, bias;
} lrn_state;

static prism_status lrn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    if (!cpu_attr_has(node, "size")) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "LRN needs the size attribute");
    int64_t size = cpu_attr_int(node, "size", 1);
    if (size < 1) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "LRN size must be >= 1, got %lld", (long long)size);
    lrn_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->size = size;
    st->alpha = cpu_attr_float(node, "alpha", 1e-4f);
    st->beta = cpu_attr_float(node, "beta", 0.75f);
    st->bias = cpu_attr_float(node, "bias", 1.0f);
    *state = st;
    return PRISM_OK;
}

typedef struct lrn_arg {
    const lrn_state *st;
    const void *x;
    void *y;
    int64_t c, inner;
} lrn_arg;

/* Plane (n, c) sums squares over channels [c - floor((size-1)/2),
 * c + ceil((size-1)/2)] clipped to [0, C); the output plane holds the sum
 * until it is turned into the result. */
#define LRN_DEFINE(T)                                                                          \
    static void lrn_planes_##T(void *argp, int64_t p0, int64_t p1) {                           \
        const lrn_arg *a = argp;                                                               \
        const lrn_state *st = a->st;                                                           \
        const int64_t before = (st->size - 1) / 2, after = st->size - 1 - before;              \
        for (int64_t p = p0; p < p1; p++) {                                                    \
            const int64_t c = p % a->c, n0 = p - c;                                            \
            const int64_t lo = c - before < 0 ? 0 : c - before;                                \
            const int64_t hi = c + after >= a->c ? a->c - 1 : c + after;                       \
            T *y = (T *)a->y + p * a->inner;                                                   \
            const T *x = (const T *)a->x + p * a->inner;                                       \
            for (int64_t i = 0; i < a->inner; i++) y[i] = 0;                                   \
            for (int64_t cc = lo; cc <= hi; cc++) {                                            \
                const T *xc = (const T *)a->x + (n0 + cc) * a->inner;                          \
                for (int64_t i = 0; i < a->inner; i++) y[i] += xc[i] * xc[i];                  \
            }                                                                                  \
            const double k = st->alpha / (double)st->size;                                     \
            for (int64_t i = 0; i < a->inner; i++)                                             \
                y[i] = (T)(x[i] / pow(st->bias + k * y[i], st->beta));                         \
        }                                                                                      \
    }

LRN_DEFINE(float)
LRN_DEFINE(double)

static prism_status lrn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "LRN needs X");
    const cpu_tensor *x = in[0];
    if (!float_tensor(x))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LRN does not support dtype %s", cpu_dtype_name(x->dtype));
    if (x->rank < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 2, got %d", x->rank);
    int64_t C = x->dims[1], inner = cpu_shape_count(x->rank - 2, x->dims + 2), planes;
    if (!cpu_mul_ok(x->dims[0], C, &planes)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    float *xo, *yo;
    const void *xp = as_compute(x, &xo);
    void *yp = out_compute(y, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    lrn_arg arg = {state, xp, yp, C, inner};
    if (inner > 0)
        cpu_parallel_for(ctx, planes, x->dtype == PRISM_DTYPE_DOUBLE ? lrn_planes_double : lrn_planes_float, &arg);
    finish_compute(y, yo);
    free(xo);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_BatchNormalization = {
    .prepare = bn_prepare,
    .run = bn_run,
    .release = norm_release,
    .supports = norm_supports,
};

const cpu_kernel_def cpu_op_LayerNormalization = {
    .prepare = ln_prepare,
    .run = ln_run,
    .release = norm_release,
    .supports = norm_supports,
};

const cpu_kernel_def cpu_op_InstanceNormalization = {
    .prepare = in_prepare,
    .run = inorm_run,
    .release = norm_release,
    .supports = norm_supports,
};

const cpu_kernel_def cpu_op_LRN = {
    .prepare = lrn_prepare,
    .run = lrn_run,
    .release = norm_release,
    .supports = norm_supports,
};
