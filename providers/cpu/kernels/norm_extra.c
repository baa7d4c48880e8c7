/*
 * norm_extra.c — RMSNormalization, GroupNormalization, LpNormalization,
 * MeanVarianceNormalization, Dropout (inference), Shrink, Swish, and the
 * losses SoftmaxCrossEntropyLoss and NegativeLogLikelihoodLoss.
 *
 * The normalisations and Swish run one templated body for float and double;
 * float16 / bfloat16 are widened to float and narrowed back. Statistics are
 * accumulated in double. Shrink covers every numeric type (results saturate
 * to integer ranges instead of overflowing). The losses are small reductions
 * computed in double for every float type.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"


static bool float_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static void nx_release(void *state) { free(state); }

/* Compute type of a float dtype: double for double, float otherwise. */
static int32_t compute_dtype(int32_t dt) { return dt == PRISM_DTYPE_DOUBLE ? PRISM_DTYPE_DOUBLE : PRISM_DTYPE_FLOAT; }

/* The data of t in compute type cdt: t's own, or a converted copy (*owned,
 * to free). NULL on allocation failure. */
static const void *as_compute(const cpu_tensor *t, int32_t cdt, void **owned) {
    *owned = NULL;
    if (t->dtype == cdt) return t->data;
    size_t es = cdt == PRISM_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    void *p = malloc((size_t)(t->count ? t->count : 1) * es);
    if (!p) return NULL;
    for (int64_t i = 0; i < t->count; i++) {
        if (cdt == PRISM_DTYPE_DOUBLE) ((double *)p)[i] = cpu_tensor_get_f64(t, i);
        else ((float *)p)[i] = (float)cpu_tensor_get_f64(t, i);
    }
    *owned = p;
    return p;
}

/* Output buffer in compute type cdt: t's own data, or a scratch that
 * finish_compute converts into t. */
static void *out_compute(cpu_tensor *t, int32_t cdt, void **owned) {
    *owned = NULL;
    if (t->dtype == cdt) return t->data;
    size_t es = cdt == PRISM_DTYPE_DOUBLE ? sizeof(double) : sizeof(float);
    *owned = malloc((size_t)(t->count ? t->count : 1) * es);
    return *owned;
}

static void finish_compute(cpu_tensor *t, int32_t cdt, void *owned) {
    if (!owned) return;
    for (int64_t i = 0; i < t->count; i++)
        cpu_tensor_set_f64(t, i, cdt == PRISM_DTYPE_DOUBLE ? ((const double *)owned)[i] : ((const float *)owned)[i]);
    free(owned);
}

/*
 * Offsets of a tensor p broadcast (numpy rules, right-aligned) onto a shape
 * of rank r, split at `axis` into rows (dims before) and columns (dims
 * from axis): element (row, col) of the shape reads p[row_off(row) +
 * col_off[col]]. Fills col_off (cols entries) and row strides rs (axis
 * entries); false when p does not broadcast.
 */
static bool bcast_split(const cpu_tensor *p, int32_t r, const int64_t *dims, int32_t axis, int64_t cols,
                        int64_t *col_off, int64_t *rs) {
    if (p->rank > r) return false;
    int64_t st[CPU_MAX_RANK], stride = 1;
    for (int32_t i = r - 1; i >= 0; i--) {
        int32_t pi = i - (r - p->rank);
        int64_t pd = pi >= 0 ? p->dims[pi] : 1;
        if (pd != 1 && pd != dims[i]) return false;
        st[i] = pd == 1 ? 0 : stride;
        stride *= pd;
    }
    for (int32_t i = 0; i < axis; i++) rs[i] = st[i];
    for (int64_t c = 0; c < cols; c++) {
        int64_t rem = c, off = 0;
        for (int32_t i = r - 1; i >= axis; i--) {
            off += (rem % dims[i]) * st[i];
            rem /= dims[i];
        }
        col_off[c] = off;
    }
    return true;
}

static int64_t row_offset(int64_t row, int32_t axis, const int64_t *dims, const int64_t *rs) {
    int64_t off = 0;
    for (int32_t i = axis - 1; i >= 0; i--) {
        off += (row % dims[i]) * rs[i];
        row /= dims[i];
    }
    return off;
}

/* Sum of squares and sum of n elements, in double with eight partial sums
 * (independent chains vectorise; one running sum would not). */
#define SUMS_DEFINE(T)                                                                             \
    static double sum_##T(const T *x, int64_t n, int64_t stride) {                                 \
        double acc[8] = {0};                                                                       \
        int64_t i = 0;                                                                             \
        if (stride == 1)                                                                           \
            for (; i + 8 <= n; i += 8)                                                             \
                for (int j = 0; j < 8; j++) acc[j] += x[i + j];                                    \
        for (; i < n; i++) acc[0] += x[i * stride];                                                \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));  \
    }                                                                                              \
    static double sumsq_##T(const T *x, int64_t n, int64_t stride, double mean) {                  \
        double acc[8] = {0};                                                                       \
        int64_t i = 0;                                                                             \
        if (stride == 1)                                                                           \
            for (; i + 8 <= n; i += 8)                                                             \
                for (int j = 0; j < 8; j++) acc[j] += (x[i + j] - mean) * (x[i + j] - mean);       \
        for (; i < n; i++) acc[0] += (x[i * stride] - mean) * (x[i * stride] - mean);              \
        return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));  \
    }

SUMS_DEFINE(float)
SUMS_DEFINE(double)

/* ---- RMSNormalization -------------------------------------------------------- */

typedef struct rms_state {
    int64_t axis;
    double eps;
} rms_state;

static prism_status rms_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int64_t stash = cpu_attr_int(node, "stash_type", 1);
    /* The statistics are computed in double, at least as precise as any
     * allowed stash type. */
    if (!cpu_dtype_is_float((int32_t)stash))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unsupported stash_type %lld", (long long)stash);
    rms_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->axis = cpu_attr_int(node, "axis", -1);
    st->eps = cpu_attr_float(node, "epsilon", 1e-5f);
    *state = st;
    return PRISM_OK;
}

typedef struct rms_arg {
    const void *x, *scale;
    void *y;
    const int64_t *col_off, *rs, *dims;
    int32_t axis;
    int64_t cols;
    double eps;
} rms_arg;

#define RMS_DEFINE(T)                                                                              \
    static void rms_rows_##T(void *argp, int64_t r0, int64_t r1) {                                 \
        const rms_arg *a = argp;                                                                   \
        const T *sc = a->scale;                                                                    \
        for (int64_t r = r0; r < r1; r++) {                                                        \
            const T *x = (const T *)a->x + r * a->cols;                                            \
            T *y = (T *)a->y + r * a->cols;                                                        \
            const double ms = a->cols ? sumsq_##T(x, a->cols, 1, 0.0) / (double)a->cols : 0.0;      \
            const double inv = 1.0 / sqrt(ms + a->eps);                                            \
            const T *s = sc + row_offset(r, a->axis, a->dims, a->rs), k = (T)inv;                  \
            if (a->col_off)                                                                        \
                for (int64_t j = 0; j < a->cols; j++) y[j] = x[j] * k * s[a->col_off[j]];          \
            else /* scale has the normalised shape */                                              \
                for (int64_t j = 0; j < a->cols; j++) y[j] = x[j] * k * s[j];                      \
        }                                                                                          \
    }

RMS_DEFINE(float)
RMS_DEFINE(double)

static prism_status rms_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    const rms_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "RMSNormalization needs X and scale");
    const cpu_tensor *x = in[0], *sc = in[1];
    if (!cpu_dtype_is_float(x->dtype) || !cpu_dtype_is_float(sc->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "RMSNormalization does not support dtypes %s / %s",
                        cpu_dtype_name(x->dtype), cpu_dtype_name(sc->dtype));
    int64_t axis;
    if (!cpu_norm_axis(st->axis, x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis, x->rank);
    const int64_t rows = cpu_shape_count((int32_t)axis, x->dims);
    const int64_t cols = cpu_shape_count(x->rank - (int32_t)axis, x->dims + axis);
    /* Y has the scale's type (V); the graph's declared type wins when known. */
    int32_t ydt = cpu_node_output_dtype(node, 0);
    if (!cpu_dtype_is_float(ydt)) ydt = sc->dtype;
    int64_t *col_off = malloc((size_t)(cols + 1 + CPU_MAX_RANK) * sizeof *col_off), *rs = col_off + cols + 1;
    if (!col_off) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status rc = PRISM_OK;
    void *xo = NULL, *so = NULL, *yo = NULL;
    if (!bcast_split(sc, x->rank, x->dims, (int32_t)axis, cols, col_off, rs)) {
        rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "scale cannot be broadcast to X");
        goto done;
    }
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, ydt, x->rank, x->dims, &y))) goto done;
    const int32_t cdt = compute_dtype(x->dtype);
    const void *xp = as_compute(x, cdt, &xo), *sp = as_compute(sc, cdt, &so);
    void *yp = out_compute(y, cdt, &yo);
    if (!xp || !sp || !yp) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    bool identity = true;
    for (int64_t j = 0; j < cols && identity; j++) identity = col_off[j] == j;
    rms_arg arg = {xp, sp, yp, identity ? NULL : col_off, rs, x->dims, (int32_t)axis, cols, st->eps};
    cpu_parallel_for(ctx, rows, cdt == PRISM_DTYPE_DOUBLE ? rms_rows_double : rms_rows_float, &arg);
    finish_compute(y, cdt, yo);
    yo = NULL;
done:
    free(col_off);
    free(xo);
    free(so);
    free(yo);
    return rc;
}

/* ---- GroupNormalization ---------------------------------------------------------- */

typedef struct gn_state {
    int64_t groups;
    double eps;
    bool per_group; /* opset 18: scale and bias have one value per group */
} gn_state;

static prism_status gn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    if (!cpu_attr_has(node, "num_groups"))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "GroupNormalization needs the num_groups attribute");
    int64_t g = cpu_attr_int(node, "num_groups", 1);
    if (g < 1) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "num_groups must be >= 1, got %lld", (long long)g);
    int64_t stash = cpu_attr_int(node, "stash_type", 1);
    if (!cpu_dtype_is_float((int32_t)stash))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unsupported stash_type %lld", (long long)stash);
    gn_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->groups = g;
    st->eps = cpu_attr_float(node, "epsilon", 1e-5f);
    st->per_group = cpu_node_opset(node) < 21;
    *state = st;
    return PRISM_OK;
}

typedef struct gn_arg {
    const void *x;
    void *y;
    const double *scale, *bias; /* per channel */
    int64_t groups, cpg, inner;  /* channels per group, elements per channel */
    double eps;
} gn_arg;

#define GN_DEFINE(T)                                                                               \
    static void gn_groups_##T(void *argp, int64_t g0, int64_t g1) {                                \
        const gn_arg *a = argp;                                                                    \
        const int64_t len = a->cpg * a->inner;                                                     \
        for (int64_t gi = g0; gi < g1; gi++) {                                                     \
            const T *x = (const T *)a->x + gi * len;                                               \
            T *y = (T *)a->y + gi * len;                                                           \
            const double mean = len ? sum_##T(x, len, 1) / (double)len : 0.0;                      \
            const double var = len ? sumsq_##T(x, len, 1, mean) / (double)len : 0.0;               \
            const double inv = 1.0 / sqrt(var + a->eps);                                           \
            const int64_t c0 = (gi % a->groups) * a->cpg;                                          \
            for (int64_t c = 0; c < a->cpg; c++) {                                                 \
                const double k = inv * a->scale[c0 + c], b = a->bias[c0 + c];                      \
                const T *xc = x + c * a->inner;                                                    \
                T *yc = y + c * a->inner;                                                          \
                for (int64_t i = 0; i < a->inner; i++) yc[i] = (T)((xc[i] - mean) * k + b);        \
            }                                                                                      \
        }                                                                                          \
    }

GN_DEFINE(float)
GN_DEFINE(double)

static prism_status gn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const gn_state *st = state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GroupNormalization needs X, scale and bias");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GroupNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    if (x->rank < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank >= 2, got %d", x->rank);
    const int64_t N = x->dims[0], C = x->dims[1], G = st->groups, inner = cpu_shape_count(x->rank - 2, x->dims + 2);
    if (C % G)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "num_groups %lld does not divide the %lld channels", (long long)G,
                        (long long)C);
    const int64_t want = st->per_group ? G : C;
    for (int k = 1; k < 3; k++)
        if (!cpu_dtype_is_float(in[k]->dtype) || in[k]->rank != 1 || in[k]->dims[0] != want)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be a 1-D float tensor of %lld elements (one per %s)",
                            k == 1 ? "scale" : "bias", (long long)want, st->per_group ? "group" : "channel");
    int64_t groups;
    if (!cpu_mul_ok(N, G, &groups)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X is too large");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    double *par = malloc((size_t)(C ? C : 1) * 2 * sizeof *par);
    if (!par) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    const int64_t cpg = C / G;
    for (int64_t c = 0; c < C; c++) {
        int64_t idx = st->per_group ? c / cpg : c;
        par[c] = cpu_tensor_get_f64(in[1], idx);
        par[C + c] = cpu_tensor_get_f64(in[2], idx);
    }
    const int32_t cdt = compute_dtype(x->dtype);
    void *xo, *yo;
    const void *xp = as_compute(x, cdt, &xo);
    void *yp = out_compute(y, cdt, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        free(par);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    gn_arg arg = {xp, yp, par, par + C, G, cpg, inner, st->eps};
    cpu_parallel_for(ctx, groups, cdt == PRISM_DTYPE_DOUBLE ? gn_groups_double : gn_groups_float, &arg);
    finish_compute(y, cdt, yo);
    free(xo);
    free(par);
    return PRISM_OK;
}

/* ---- LpNormalization -------------------------------------------------------------- */

typedef struct lp_state {
    int64_t axis, p;
} lp_state;

static prism_status lp_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    lp_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->axis = cpu_attr_int(node, "axis", -1);
    st->p = cpu_attr_int(node, "p", 2);
    if (st->p != 1 && st->p != 2) {
        long long p = (long long)st->p;
        free(st);
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "LpNormalization supports p = 1 or 2, got %lld", p);
    }
    *state = st;
    return PRISM_OK;
}

typedef struct lp_arg {
    const void *x;
    void *y;
    int64_t n, inner, p;
} lp_arg;

/* Line l (outer o, inner i) has n elements inner apart. A zero norm gives 0. */
#define LP_DEFINE(T)                                                                               \
    static void lp_lines_##T(void *argp, int64_t l0, int64_t l1) {                                 \
        const lp_arg *a = argp;                                                                    \
        for (int64_t l = l0; l < l1; l++) {                                                        \
            const int64_t base = (l / a->inner) * a->n * a->inner + l % a->inner;                  \
            const T *x = (const T *)a->x + base;                                                   \
            T *y = (T *)a->y + base;                                                               \
            double norm = 0;                                                                       \
            if (a->p == 1)                                                                         \
                for (int64_t k = 0; k < a->n; k++) norm += fabs((double)x[k * a->inner]);          \
            else                                                                                   \
                norm = sqrt(sumsq_##T(x, a->n, a->inner, 0.0));                                    \
            for (int64_t k = 0; k < a->n; k++)                                                     \
                y[k * a->inner] = norm == 0 ? (T)0 : (T)(x[k * a->inner] / norm);                  \
        }                                                                                          \
    }

LP_DEFINE(float)
LP_DEFINE(double)

static prism_status lp_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const lp_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "LpNormalization needs an input");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "LpNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    int64_t axis;
    if (x->rank == 0 || !cpu_norm_axis(st->axis, x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis, x->rank);
    const int64_t outer = cpu_shape_count((int32_t)axis, x->dims), n = x->dims[axis];
    const int64_t inner = cpu_shape_count(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc || x->count == 0) return rc;
    const int32_t cdt = compute_dtype(x->dtype);
    void *xo, *yo;
    const void *xp = as_compute(x, cdt, &xo);
    void *yp = out_compute(y, cdt, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    lp_arg arg = {xp, yp, n, inner, st->p};
    cpu_parallel_for(ctx, outer * inner, cdt == PRISM_DTYPE_DOUBLE ? lp_lines_double : lp_lines_float, &arg);
    finish_compute(y, cdt, yo);
    free(xo);
    return PRISM_OK;
}

/* ---- MeanVarianceNormalization ------------------------------------------------------ */

typedef struct mvn_state {
    int64_t axes[CPU_MAX_RANK];
    size_t n_axes;
} mvn_state;

static prism_status mvn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    mvn_state *st = calloc(1, sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    const int64_t *axes = NULL;
    size_t n = cpu_attr_ints(node, "axes", &axes);
    if (!cpu_attr_has(node, "axes")) {
        static const int64_t dflt[] = {0, 2, 3};
        axes = dflt, n = 3;
    }
    if (n > CPU_MAX_RANK) {
        free(st);
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "too many axes (%zu)", n);
    }
    memcpy(st->axes, axes, n * sizeof *axes);
    st->n_axes = n;
    *state = st;
    return PRISM_OK;
}

/* (x - mean) / (sqrt(variance) + 1e-9) over the reduced axes, per group of
 * the kept ones. Groups are numbered over the kept dims in order. */
#define MVN_DEFINE(T)                                                                              \
    static void mvn_compute_##T(const T *x, T *y, int32_t rank, const int64_t *dims, const bool *red, \
                                int64_t total, double *mean, double *var, int64_t groups) {       \
        int64_t coord[CPU_MAX_RANK] = {0}, gstride[CPU_MAX_RANK], s = 1;                           \
        for (int32_t i = rank - 1; i >= 0; i--) {                                                  \
            gstride[i] = red[i] ? 0 : s;                                                           \
            if (!red[i]) s *= dims[i];                                                             \
        }                                                                                          \
        for (int64_t g = 0; g < groups; g++) mean[g] = var[g] = 0;                                 \
        for (int pass = 0; pass < 3; pass++) {                                                     \
            int64_t g = 0;                                                                         \
            for (int32_t i = 0; i < rank; i++) coord[i] = 0;                                       \
            for (int64_t e = 0; e < total; e++) {                                                  \
                if (pass == 0) mean[g] += x[e];                                                    \
                else if (pass == 1) var[g] += (x[e] - mean[g]) * (x[e] - mean[g]);                 \
                else y[e] = (T)((x[e] - mean[g]) / (sqrt(var[g]) + 1e-9));                         \
                for (int32_t i = rank - 1; i >= 0; i--) { /* next coordinate, group follows */     \
                    g += gstride[i];                                                               \
                    if (++coord[i] < dims[i]) break;                                               \
                    g -= gstride[i] * coord[i];                                                    \
                    coord[i] = 0;                                                                  \
                }                                                                                  \
            }                                                                                      \
            const double per = groups ? (double)total / (double)groups : 1.0;                      \
            for (int64_t gi = 0; gi < groups && pass < 2; gi++) {                                  \
                if (pass == 0) mean[gi] /= per;                                                    \
                else var[gi] /= per;                                                               \
            }                                                                                      \
        }                                                                                          \
    }

MVN_DEFINE(float)
MVN_DEFINE(double)

static prism_status mvn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const mvn_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MeanVarianceNormalization needs X");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "MeanVarianceNormalization does not support dtype %s",
                        cpu_dtype_name(x->dtype));
    bool red[CPU_MAX_RANK] = {false};
    for (size_t i = 0; i < st->n_axes; i++) {
        int64_t ax;
        if (!cpu_norm_axis(st->axes[i], x->rank, &ax) || x->rank == 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axes[i],
                            x->rank);
        red[ax] = true;
    }
    int64_t groups = 1;
    for (int32_t i = 0; i < x->rank; i++)
        if (!red[i]) groups *= x->dims[i];
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc || x->count == 0) return rc;
    const int32_t cdt = compute_dtype(x->dtype);
    void *xo, *yo;
    const void *xp = as_compute(x, cdt, &xo);
    void *yp = out_compute(y, cdt, &yo);
    double *stats = malloc((size_t)groups * 2 * sizeof *stats);
    if (!xp || !yp || !stats) {
        free(xo);
        free(yo);
        free(stats);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (cdt == PRISM_DTYPE_DOUBLE)
        mvn_compute_double(xp, yp, x->rank, x->dims, red, x->count, stats, stats + groups, groups);
    else
        mvn_compute_float(xp, yp, x->rank, x->dims, red, x->count, stats, stats + groups, groups);
    finish_compute(y, cdt, yo);
    free(xo);
    free(stats);
    return PRISM_OK;
}

/* ---- Dropout (inference) --------------------------------------------------------------- */

/*
 * Opsets 1-6: attribute is_test (default 0 = training) and ratio. Opsets
 * 7-11: always inference. Opset 12+: inputs ratio (default 0.5) and
 * training_mode (default false). Inference (or a ratio of 0) copies the
 * input and gives an all-true mask (T ones before opset 10, bool after).
 * Random dropout in training is not supported.
 */
static bool dropout_training_static(const cpu_node *node, bool *known) {
    int64_t opset = cpu_node_opset(node);
    *known = true;
    if (opset < 7) return cpu_attr_int(node, "is_test", 0) == 0 && cpu_attr_float(node, "ratio", 0.5f) != 0.0f;
    if (opset < 12) return false;
    if (!cpu_node_has_input(node, 2)) return false;
    cpu_tensor tm, rt;
    if (!cpu_node_input_constant(node, 2, &tm) || tm.count < 1) {
        *known = false;
        return false;
    }
    if (!cpu_tensor_int(&tm, 0)) return false;
    if (!cpu_node_has_input(node, 1)) return true; /* default ratio 0.5 */
    if (!cpu_node_input_constant(node, 1, &rt) || rt.count < 1 || !cpu_dtype_is_float(rt.dtype)) {
        *known = false;
        return false;
    }
    return cpu_tensor_get_f64(&rt, 0) != 0.0;
}

static bool dropout_supports(const cpu_node *node) {
    bool known;
    return !dropout_training_static(node, &known);
}

static prism_status dropout_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Dropout needs data");
    const cpu_tensor *x = in[0];
    const int64_t opset = cpu_node_opset(node);
    bool known, training = dropout_training_static(node, &known);
    if (opset >= 12 && n_in > 2 && in[2] && in[2]->count >= 1 && cpu_tensor_int(in[2], 0)) {
        const cpu_tensor *r = n_in > 1 ? in[1] : NULL;
        double ratio = r && r->count >= 1 && cpu_dtype_is_float(r->dtype) ? cpu_tensor_get_f64(r, 0) : 0.5;
        training = ratio != 0.0;
    }
    if (training)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Dropout in training mode with a nonzero ratio is not supported");
    cpu_tensor *y, *mask = NULL;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    if (!cpu_tensor_copy_data(y, x)) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    if (cpu_node_output_count(node) > 1 && cpu_node_has_output(node, 1)) {
        /* The mask is bool from opset 10, of X's type before; a type the graph
         * declares wins (older models and converters disagree). */
        int32_t mdt = cpu_node_output_dtype(node, 1);
        if (mdt != PRISM_DTYPE_BOOL && !cpu_dtype_is_float(mdt)) mdt = opset >= 10 ? PRISM_DTYPE_BOOL : x->dtype;
        const bool bool_mask = mdt == PRISM_DTYPE_BOOL;
        if (!bool_mask && !cpu_dtype_is_float(mdt))
            return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Dropout mask of dtype %s", cpu_dtype_name(mdt));
        if ((rc = cpu_output(ctx, 1, mdt, x->rank, x->dims, &mask))) return rc;
        for (int64_t i = 0; i < x->count; i++) {
            if (bool_mask) ((uint8_t *)mask->data)[i] = 1;
            else cpu_tensor_set_f64(mask, i, 1.0);
        }
    }
    return PRISM_OK;
}

/* ---- Shrink ------------------------------------------------------------------------------- */

typedef struct shrink_state {
    double lambd, bias;
} shrink_state;

static bool shrink_dtype_ok(int32_t dt) {
    switch (dt) {
#define SHRINK_CASE(E, T) case E:
        CPU_FOR_NUMERIC_TYPES(SHRINK_CASE)
#undef SHRINK_CASE
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: return true;
    default: return false;
    }
}

static bool shrink_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || shrink_dtype_ok(dt);
}

static prism_status shrink_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    shrink_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->lambd = cpu_attr_float(node, "lambd", 0.5f);
    st->bias = cpu_attr_float(node, "bias", 0.0f);
    *state = st;
    return PRISM_OK;
}

typedef struct shrink_arg {
    const shrink_state *st;
    const cpu_tensor *x;
    cpu_tensor *y;
} shrink_arg;

/* y = x + bias below -lambd, x - bias above lambd, else 0; integer results
 * saturate to [LO, HI] (NaN -> 0) instead of overflowing. */
#define SHRINK_DEFINE(T, IS_INT, LO, HI)                                                                \
    static void shrink_##T(void *argp, int64_t i0, int64_t i1) {                                       \
        const shrink_arg *a = argp;                                                                    \
        const T *x = a->x->data;                                                                       \
        T *y = a->y->data;                                                                             \
        const double l = a->st->lambd, b = a->st->bias;                                                \
        for (int64_t i = i0; i < i1; i++) {                                                            \
            const double v = (double)x[i], r = v < -l ? v + b : v > l ? v - b : 0.0;                  \
            if (!IS_INT) y[i] = (T)r;                                                                  \
            else y[i] = r != r ? (T)0 : r <= (double)(LO) ? (T)(LO) : r >= (double)(HI) ? (T)(HI) : (T)r; \
        }                                                                                              \
    }

SHRINK_DEFINE(float, false, 0, 0)
SHRINK_DEFINE(double, false, 0, 0)
SHRINK_DEFINE(int8_t, true, INT8_MIN, INT8_MAX)
SHRINK_DEFINE(int16_t, true, INT16_MIN, INT16_MAX)
SHRINK_DEFINE(int32_t, true, INT32_MIN, INT32_MAX)
SHRINK_DEFINE(int64_t, true, INT64_MIN, INT64_MAX)
SHRINK_DEFINE(uint8_t, true, 0, UINT8_MAX)
SHRINK_DEFINE(uint16_t, true, 0, UINT16_MAX)
SHRINK_DEFINE(uint32_t, true, 0, UINT32_MAX)
SHRINK_DEFINE(uint64_t, true, 0, UINT64_MAX)

static void shrink_half(void *argp, int64_t i0, int64_t i1) {
    const shrink_arg *a = argp;
    const double l = a->st->lambd, b = a->st->bias;
    for (int64_t i = i0; i < i1; i++) {
        const double v = cpu_tensor_get_f64(a->x, i);
        cpu_tensor_set_f64(a->y, i, v < -l ? v + b : v > l ? v - b : 0.0);
    }
}

static prism_status shrink_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)node;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Shrink needs an input");
    const cpu_tensor *x = in[0];
    void (*fn)(void *, int64_t, int64_t) = NULL;
    switch (x->dtype) {
#define SHRINK_FN(E, T) \
    case E: fn = shrink_##T; break;
        CPU_FOR_NUMERIC_TYPES(SHRINK_FN)
#undef SHRINK_FN
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: fn = shrink_half; break;
    default: return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Shrink does not support dtype %s", cpu_dtype_name(x->dtype));
    }
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    shrink_arg arg = {state, x, y};
    cpu_parallel_for(ctx, x->count, fn, &arg);
    return PRISM_OK;
}

/* ---- Swish ---------------------------------------------------------------------------------- */

typedef struct swish_arg {
    const void *x;
    void *y;
    double alpha;
} swish_arg;

#define SWISH_DEFINE(T, EXP)                                                                       \
    static void swish_##T(void *argp, int64_t i0, int64_t i1) {                                    \
        const swish_arg *a = argp;                                                                 \
        const T *x = a->x;                                                                         \
        T *y = a->y;                                                                               \
        const T al = (T)a->alpha;                                                                  \
        for (int64_t i = i0; i < i1; i++) y[i] = x[i] / ((T)1 + EXP(-al * x[i]));                  \
    }

SWISH_DEFINE(float, expf)
SWISH_DEFINE(double, exp)

static prism_status swish_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    double *alpha = malloc(sizeof *alpha);
    if (!alpha) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *alpha = cpu_attr_float(node, "alpha", 1.0f);
    *state = alpha;
    return PRISM_OK;
}

static prism_status swish_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in) {
    (void)node;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Swish needs X");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Swish does not support dtype %s", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (rc) return rc;
    const int32_t cdt = compute_dtype(x->dtype);
    void *xo, *yo;
    const void *xp = as_compute(x, cdt, &xo);
    void *yp = out_compute(y, cdt, &yo);
    if (!xp || !yp) {
        free(xo);
        free(yo);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    swish_arg arg = {xp, yp, *(const double *)state};
    cpu_parallel_for(ctx, x->count, cdt == PRISM_DTYPE_DOUBLE ? swish_double : swish_float, &arg);
    finish_compute(y, cdt, yo);
    free(xo);
    return PRISM_OK;
}

/* ---- SoftmaxCrossEntropyLoss, NegativeLogLikelihoodLoss -------------------------------------- */

enum { RED_NONE, RED_SUM, RED_MEAN };

typedef struct loss_state {
    int reduction;
    bool has_ignore;
    int64_t ignore;
    bool softmax; /* SoftmaxCrossEntropyLoss: log_softmax first */
} loss_state;

static bool loss_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0), lt = cpu_node_input_dtype(node, 1);
    return (dt <= 0 || cpu_dtype_is_float(dt)) && (lt <= 0 || lt == PRISM_DTYPE_INT32 || lt == PRISM_DTYPE_INT64);
}

static prism_status loss_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, bool softmax) {
    const char *red = cpu_attr_string(node, "reduction", "mean");
    int r;
    if (!strcmp(red, "none")) r = RED_NONE;
    else if (!strcmp(red, "sum")) r = RED_SUM;
    else if (!strcmp(red, "mean")) r = RED_MEAN;
    else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown reduction '%s'", red);
    loss_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->reduction = r;
    st->has_ignore = cpu_attr_has(node, "ignore_index");
    st->ignore = cpu_attr_int(node, "ignore_index", 0);
    st->softmax = softmax;
    *state = st;
    return PRISM_OK;
}

static prism_status sce_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return loss_prepare(ctx, node, state, true);
}

static prism_status nll_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return loss_prepare(ctx, node, state, false);
}

/*
 * Input [N, C, d1..dk] (k >= 0), target [N, d1..dk]. Per sample (n, d):
 * c = target; ignored (c == ignore_index): loss 0, weight 0; else
 * loss = -in[n, c, d] * w, w = weight[c] (1 without weights). mean divides
 * the sum of losses by the sum of w.
 */
static prism_status loss_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    const loss_state *st = state;
    const char *op = st->softmax ? "SoftmaxCrossEntropyLoss" : "NegativeLogLikelihoodLoss";
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs an input and a target", op);
    const cpu_tensor *x = in[0], *t = in[1], *w = n_in > 2 ? in[2] : NULL;
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s", op, cpu_dtype_name(x->dtype));
    if (t->dtype != PRISM_DTYPE_INT32 && t->dtype != PRISM_DTYPE_INT64)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the target must be int32 or int64, got %s", cpu_dtype_name(t->dtype));
    if (x->rank < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the input must have rank >= 2, got %d", x->rank);
    const int64_t N = x->dims[0], C = x->dims[1], D = cpu_shape_count(x->rank - 2, x->dims + 2);
    bool shape_ok = t->rank == x->rank - 1 && t->dims[0] == N;
    for (int32_t i = 1; shape_ok && i < t->rank; i++) shape_ok = t->dims[i] == x->dims[i + 1];
    if (!shape_ok) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the target must have the input's shape without dim 1");
    if (w && (w->dtype != x->dtype || w->rank != 1 || w->dims[0] != C))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the weights must be a 1-D tensor of %lld elements of the input's dtype",
                        (long long)C);
    cpu_tensor *loss, *logp = NULL;
    prism_status rc = st->reduction == RED_NONE ? cpu_output(ctx, 0, x->dtype, t->rank, t->dims, &loss)
                                                : cpu_output(ctx, 0, x->dtype, 0, NULL, &loss);
    if (rc) return rc;
    if (st->softmax && cpu_node_output_count(node) > 1 && cpu_node_has_output(node, 1) &&
        (rc = cpu_output(ctx, 1, x->dtype, x->rank, x->dims, &logp)))
        return rc;
    /* Log-probabilities (SCE) in double, or the input itself (NLL). */
    double *lp = NULL;
    if (st->softmax) {
        lp = malloc((size_t)(x->count ? x->count : 1) * sizeof *lp);
        if (!lp) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (int64_t n = 0; n < N; n++)
            for (int64_t d = 0; d < D; d++) {
                const int64_t base = n * C * D + d;
                double m = -INFINITY, sum = 0;
                for (int64_t c = 0; c < C; c++) m = fmax(m, cpu_tensor_get_f64(x, base + c * D));
                for (int64_t c = 0; c < C; c++) sum += exp(cpu_tensor_get_f64(x, base + c * D) - m);
                const double lse = m + log(sum);
                for (int64_t c = 0; c < C; c++) lp[base + c * D] = cpu_tensor_get_f64(x, base + c * D) - lse;
            }
        if (logp)
            for (int64_t i = 0; i < x->count; i++) cpu_tensor_set_f64(logp, i, lp[i]);
    }
    double total = 0, wsum = 0;
    for (int64_t n = 0; n < N; n++)
        for (int64_t d = 0; d < D; d++) {
            const int64_t s = n * D + d, c = cpu_tensor_int(t, s);
            double l = 0, wt = 0;
            if (!(st->has_ignore && c == st->ignore)) {
                if (c < 0 || c >= C) {
                    free(lp);
                    return cpu_fail(ctx, PRISM_ERR_RUNTIME, "target %lld is outside [0, %lld)", (long long)c,
                                    (long long)C);
                }
                wt = w ? cpu_tensor_get_f64(w, c) : 1.0;
                const int64_t xi = (n * C + c) * D + d;
                l = -(lp ? lp[xi] : cpu_tensor_get_f64(x, xi)) * wt;
            }
            if (st->reduction == RED_NONE) cpu_tensor_set_f64(loss, s, l);
            total += l;
            wsum += wt;
        }
    if (st->reduction == RED_SUM) cpu_tensor_set_f64(loss, 0, total);
    if (st->reduction == RED_MEAN) cpu_tensor_set_f64(loss, 0, total / wsum); /* 0 / 0 = NaN when every sample is ignored */
    free(lp);
    return PRISM_OK;
}

/* ---- tables ---------------------------------------------------------------------------------- */

const cpu_kernel_def cpu_op_RMSNormalization = {
    .prepare = rms_prepare,
    .run = rms_run,
    .release = nx_release,
    .supports = float_supports,
};

const cpu_kernel_def cpu_op_GroupNormalization = {
    .prepare = gn_prepare,
    .run = gn_run,
    .release = nx_release,
    .supports = float_supports,
};

const cpu_kernel_def cpu_op_LpNormalization = {
    .prepare = lp_prepare,
    .run = lp_run,
    .release = nx_release,
    .supports = float_supports,
};

const cpu_kernel_def cpu_op_MeanVarianceNormalization = {
    .prepare = mvn_prepare,
    .run = mvn_run,
    .release = nx_release,
    .supports = float_supports,
};

const cpu_kernel_def cpu_op_Dropout = {
    .run = dropout_run,
    .supports = dropout_supports,
};

const cpu_kernel_def cpu_op_Shrink = {
    .prepare = shrink_prepare,
    .run = shrink_run,
    .release = nx_release,
    .supports = shrink_supports,
};

const cpu_kernel_def cpu_op_Swish = {
    .prepare = swish_prepare,
    .run = swish_run,
    .release = nx_release,
    .supports = float_supports,
};

const cpu_kernel_def cpu_op_SoftmaxCrossEntropyLoss = {
    .prepare = sce_prepare,
    .run = loss_run,
    .release = nx_release,
    .supports = loss_supports,
};

const cpu_kernel_def cpu_op_NegativeLogLikelihoodLoss = {
    .prepare = nll_prepare,
    .run = loss_run,
    .release = nx_release,
    .supports = loss_supports,
};
