/*
 * quant.c — quantisation ops for the CPU provider: QuantizeLinear and
 * DequantizeLinear (opsets 10-25), DynamicQuantizeLinear, MatMulInteger,
 * ConvInteger, QLinearMatMul and QLinearConv.
 *
 * Quantised types: uint8, int8, uint16, int16 (and int32 for
 * DequantizeLinear). Prism has no float8 / int4 / int2 / float4 dtypes, so
 * nodes using them are refused in supports() and left to another provider.
 *
 * Rounding: every float -> integer step rounds half to even (nearbyint in
 * the default rounding mode) and then saturates to the target range; the
 * zero point is added after rounding, as the spec writes
 * y = saturate(round(x / y_scale) + y_zero_point).
 *
 * Integer matrix products (MatMulInteger, ConvInteger, QLinear*) are exact
 * int32 accumulations computed with cpu_sgemm: the operands, after their
 * zero points are subtracted, are integers of magnitude <= 255, so a float
 * GEMM over a K-chunk with K * max|a| * max|b| <= 2^24 has only integer
 * partial sums that float represents exactly, whatever order BLAS adds them
 * in. Longer K is split into such chunks and the chunks are summed in int64;
 * the result wraps to int32 as the spec allows ("accumulation may overflow
 * if and only if in 32 bits").
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

#define Q_MAX_SP (CPU_MAX_RANK - 2)
#define Q_ATTR_MAX ((int64_t)1 << 40)


/* Quantised output types handled here: X(ENUM, ctype, min, max). */
#define Q_FOR_QTYPES(X)                                                                            \
    X(PRISM_DTYPE_UINT8, uint8_t, 0, 255)                                                          \
    X(PRISM_DTYPE_INT8, int8_t, -128, 127) X(PRISM_DTYPE_UINT16, uint16_t, 0, 65535)               \
    X(PRISM_DTYPE_INT16, int16_t, -32768, 32767)

static bool q_is_qtype(int32_t dt) {
    return dt == PRISM_DTYPE_UINT8 || dt == PRISM_DTYPE_INT8 || dt == PRISM_DTYPE_UINT16 || dt == PRISM_DTYPE_INT16;
}
static bool q_is_8bit(int32_t dt) { return dt == PRISM_DTYPE_UINT8 || dt == PRISM_DTYPE_INT8; }
static bool q_is_float(int32_t dt) {
    return dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_FLOAT16 || dt == PRISM_DTYPE_BFLOAT16;
}

static void q_range(int32_t dt, double *lo, double *hi) {
#define Q_RANGE(E, T, MN, MX) \
    case E: *lo = MN, *hi = MX; return;
    switch (dt) {
        Q_FOR_QTYPES(Q_RANGE)
    default: *lo = 0, *hi = 0; return;
    }
#undef Q_RANGE
}

/* v rounded to the precision of dtype (float, float16, bfloat16; double as is). */
static double q_round_to(int32_t dt, double v) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT: return (float)v;
    case PRISM_DTYPE_FLOAT16: return cpu_half_to_float(cpu_float_to_half((float)v));
    case PRISM_DTYPE_BFLOAT16: return cpu_bf16_to_float(cpu_float_to_bf16((float)v));
    default: return v;
    }
}

/* round half to even, add the zero point, saturate (NaN counts as 0) */
static double q_requant(double q, double zp, double lo, double hi) {
    double r = q != q ? 0.0 : nearbyint(q);
    r += zp;
    return r < lo ? lo : r > hi ? hi : r;
}

static void q_store(void *data, int32_t dt, int64_t i, double v) {
#define Q_STORE(E, T, MN, MX) \
    case E: ((T *)data)[i] = (T)v; return;
    switch (dt) {
        Q_FOR_QTYPES(Q_STORE)
    case PRISM_DTYPE_INT32: ((int32_t *)data)[i] = (int32_t)v; return;
    case PRISM_DTYPE_FLOAT: ((float *)data)[i] = (float)v; return;
    case PRISM_DTYPE_FLOAT16: ((uint16_t *)data)[i] = cpu_float_to_half((float)v); return;
    case PRISM_DTYPE_BFLOAT16: ((uint16_t *)data)[i] = cpu_float_to_bf16((float)v); return;
    default: return;
    }
#undef Q_STORE
}

/* ---- scale / zero-point geometry for Quantize/DequantizeLinear ------------ */

/* How x's elements map to scale elements: x is viewed as [outer, D, inner]
 * around the axis; per-tensor (one scale), per-axis (scale[a]) or blocked
 * (scale viewed as [outer, S, inner], scale index (o*S + a/B)*inner + j). */
typedef struct q_map {
    enum { Q_TENSOR, Q_AXIS, Q_BLOCK } mode;
    int64_t outer, d, inner, s, block;
} q_map;

typedef struct q_lin_state {
    int64_t axis, block_size, output_dtype, precision;
} q_lin_state;

static prism_status q_lin_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    q_lin_state t;
    t.axis = cpu_attr_int(node, "axis", 1);
    t.block_size = cpu_node_opset(node) >= 21 ? cpu_attr_int(node, "block_size", 0) : 0;
    t.output_dtype = cpu_node_opset(node) >= 21 ? cpu_attr_int(node, "output_dtype", 0) : 0;
    t.precision = cpu_node_opset(node) >= 23 ? cpu_attr_int(node, "precision", 0) : 0;
    if (t.block_size < 0)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "block_size must be >= 0, got %lld", (long long)t.block_size);
    q_lin_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = t;
    *state = st;
    return PRISM_OK;
}

static void q_free(void *state) { free(state); }

static prism_status q_map_make(cpu_ctx *ctx, const q_lin_state *st, const cpu_tensor *x, const cpu_tensor *scale,
                               const cpu_tensor *zp, q_map *m) {
    memset(m, 0, sizeof *m);
    m->outer = 1, m->d = x->count, m->inner = 1, m->s = 1, m->block = 1;
    if (zp) {
        bool same = zp->rank == scale->rank;
        for (int32_t i = 0; same && i < zp->rank; i++) same = zp->dims[i] == scale->dims[i];
        if (!same && !(zp->count == 1 && scale->count == 1))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "zero point and scale must have the same shape");
    }
    if (scale->count == 1 && (st->block_size == 0 || scale->rank <= 1)) {
        m->mode = Q_TENSOR;
        return PRISM_OK;
    }
    if (scale->count == 0) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scale is empty");
    int64_t axis;
    if (!cpu_norm_axis(st->axis, x->rank, &axis) || x->rank == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis, x->rank);
    m->outer = cpu_shape_count((int32_t)axis, x->dims);
    m->d = x->dims[axis];
    m->inner = cpu_shape_count(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
    if (st->block_size == 0) {
        if (scale->rank != 1 || scale->dims[0] != m->d)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                            "per-axis scale must be 1-D with %lld elements (axis %lld), got rank %d with %lld",
                            (long long)m->d, (long long)axis, scale->rank, (long long)scale->count);
        m->mode = Q_AXIS;
        return PRISM_OK;
    }
    if (scale->rank != x->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "blocked scale must have rank %d, got %d", x->rank, scale->rank);
    for (int32_t i = 0; i < x->rank; i++)
        if (i != axis && scale->dims[i] != x->dims[i])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "blocked scale dim %d is %lld, expected %lld", i,
                            (long long)scale->dims[i], (long long)x->dims[i]);
    int64_t b = st->block_size, want = m->d / b + (m->d % b != 0);
    if (scale->dims[axis] != want)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "blocked scale has %lld blocks on axis %lld, expected ceil(%lld/%lld)",
                        (long long)scale->dims[axis], (long long)axis, (long long)m->d, (long long)b);
    m->mode = Q_BLOCK;
    m->s = want;
    m->block = b;
    return PRISM_OK;
}

static inline int64_t q_map_index(const q_map *m, int64_t o, int64_t a, int64_t j) {
    switch (m->mode) {
    case Q_AXIS: return a;
    case Q_BLOCK: return (o * m->s + a / m->block) * m->inner + j;
    default: return 0;
    }
}

/* ---- QuantizeLinear -------------------------------------------------------- */

typedef struct q_quant_arg {
    const cpu_tensor *x, *scale, *zp;
    cpu_tensor *y;
    q_map map;
    int32_t prec; /* FLOAT, FLOAT16, BFLOAT16 or DOUBLE */
    double lo, hi;
} q_quant_arg;

static void q_quant_rows(void *argp, int64_t r0, int64_t r1) {
    const q_quant_arg *a = argp;
    const q_map *m = &a->map;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t o = r / m->d, ax = r % m->d;
        for (int64_t j = 0; j < m->inner; j++) {
            const int64_t i = r * m->inner + j, si = q_map_index(m, o, ax, j);
            double q;
            if (a->prec == PRISM_DTYPE_DOUBLE) {
                q = cpu_tensor_load_f64(a->x, i) / cpu_tensor_load_f64(a->scale, si);
            } else {
                double xv = q_round_to(a->prec, cpu_tensor_load_f64(a->x, i)),
                       sv = q_round_to(a->prec, cpu_tensor_load_f64(a->scale, si));
                q = q_round_to(a->prec, (float)xv / (float)sv);
            }
            double zp = a->zp ? (double)cpu_tensor_int(a->zp, si) : 0.0;
            q_store(a->y->data, a->y->dtype, i, q_requant(q, zp, a->lo, a->hi));
        }
    }
}

static bool q_quant_in_ok(int32_t dt) { return dt <= 0 || q_is_float(dt) || dt == PRISM_DTYPE_INT32; }

static bool quantize_supports(const cpu_node *node) {
    int32_t y = cpu_node_output_dtype(node, 0), z = cpu_node_input_dtype(node, 2);
    int64_t od = cpu_node_opset(node) >= 21 ? cpu_attr_int(node, "output_dtype", 0) : 0;
    int64_t p = cpu_node_opset(node) >= 23 ? cpu_attr_int(node, "precision", 0) : 0;
    return (y <= 0 || q_is_qtype(y)) && (z <= 0 || q_is_qtype(z)) && (od == 0 || q_is_qtype((int32_t)od)) &&
           (p == 0 || q_is_float((int32_t)p) || p == PRISM_DTYPE_DOUBLE) &&
           q_quant_in_ok(cpu_node_input_dtype(node, 0)) &&
           q_quant_in_ok(cpu_node_input_dtype(node, 1));
}

static prism_status quantize_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)node;
    const q_lin_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "QuantizeLinear needs x and y_scale");
    const cpu_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
    if (!q_quant_in_ok(x->dtype) || x->dtype <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "QuantizeLinear does not support x of dtype %s",
                        cpu_dtype_name(x->dtype));
    if (!q_quant_in_ok(scale->dtype) || scale->dtype <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "QuantizeLinear does not support y_scale of dtype %s",
                        cpu_dtype_name(scale->dtype));
    int32_t ydt = zp ? zp->dtype : st->output_dtype ? (int32_t)st->output_dtype : PRISM_DTYPE_UINT8;
    if (zp && st->output_dtype && st->output_dtype != zp->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output_dtype %lld differs from the zero point's dtype %s",
                        (long long)st->output_dtype, cpu_dtype_name(zp->dtype));
    if (!q_is_qtype(ydt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "QuantizeLinear to dtype %d is not supported", ydt);
    q_quant_arg a = {x, scale, zp, NULL, {0}, PRISM_DTYPE_FLOAT, 0, 0};
    prism_status rc = q_map_make(ctx, st, x, scale, zp, &a.map);
    if (rc) return rc;
    /* Division precision: the precision attribute, else the scale's type when x
     * has the same half type, else float (x float/int32 or mixed types). */
    if (st->precision) {
        if (!q_is_float((int32_t)st->precision) && st->precision != PRISM_DTYPE_DOUBLE)
            return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "precision %lld is not supported", (long long)st->precision);
        a.prec = (int32_t)st->precision;
    } else if (scale->dtype == x->dtype && q_is_float(x->dtype)) {
        a.prec = x->dtype;
    }
    q_range(ydt, &a.lo, &a.hi);
    rc = cpu_output(ctx, 0, ydt, x->rank, x->dims, &a.y);
    if (rc || x->count == 0) return rc;
    cpu_parallel_for(ctx, a.map.outer * a.map.d, q_quant_rows, &a);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_QuantizeLinear = {
    .prepare = q_lin_prepare,
    .run = quantize_run,
    .release = q_free,
    .supports = quantize_supports,
};

/* ---- DequantizeLinear ------------------------------------------------------ */

static bool q_dequant_in_ok(int32_t dt) { return dt <= 0 || q_is_qtype(dt) || dt == PRISM_DTYPE_INT32; }

static bool dequantize_supports(const cpu_node *node) {
    int32_t y = cpu_node_output_dtype(node, 0), s = cpu_node_input_dtype(node, 1);
    int64_t od = cpu_node_opset(node) >= 23 ? cpu_attr_int(node, "output_dtype", 0) : 0;
    return q_dequant_in_ok(cpu_node_input_dtype(node, 0)) && q_dequant_in_ok(cpu_node_input_dtype(node, 2)) &&
           (y <= 0 || q_is_float(y)) && (s <= 0 || q_is_float(s)) && (od == 0 || q_is_float((int32_t)od));
}

typedef struct q_dequant_arg {
    const cpu_tensor *x, *scale, *zp;
    cpu_tensor *y;
    q_map map;
} q_dequant_arg;

static void q_dequant_rows(void *argp, int64_t r0, int64_t r1) {
    const q_dequant_arg *a = argp;
    const q_map *m = &a->map;
    const bool wide = a->x->dtype == PRISM_DTYPE_INT32;
    for (int64_t r = r0; r < r1; r++) {
        const int64_t o = r / m->d, ax = r % m->d;
        for (int64_t j = 0; j < m->inner; j++) {
            const int64_t i = r * m->inner + j, si = q_map_index(m, o, ax, j);
            int64_t dx = cpu_tensor_int(a->x, i) - (a->zp ? cpu_tensor_int(a->zp, si) : 0);
            double sv = cpu_tensor_load_f64(a->scale, si);
            /* 8/16-bit: (x - zp) is exact in float and the float product is what
             * the reference computes; int32 differences go through double. */
            double v = wide ? (double)dx * sv : (double)((float)dx * (float)sv);
            q_store(a->y->data, a->y->dtype, i, v);
        }
    }
}

static prism_status dequantize_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                   uint32_t n_in) {
    const q_lin_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DequantizeLinear needs x and x_scale");
    const cpu_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
    if (!q_dequant_in_ok(x->dtype) || x->dtype <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "DequantizeLinear does not support x of dtype %s",
                        cpu_dtype_name(x->dtype));
    if (zp && zp->dtype != x->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "zero point dtype %s differs from x's %s", cpu_dtype_name(zp->dtype),
                        cpu_dtype_name(x->dtype));
    if (!q_is_float(scale->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "DequantizeLinear does not support x_scale of dtype %s",
                        cpu_dtype_name(scale->dtype));
    int32_t ydt = cpu_node_opset(node) >= 19 ? scale->dtype : PRISM_DTYPE_FLOAT;
    if (st->output_dtype) {
        if (!q_is_float((int32_t)st->output_dtype))
            return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output_dtype %lld is not supported",
                            (long long)st->output_dtype);
        ydt = (int32_t)st->output_dtype;
    }
    q_dequant_arg a = {x, scale, zp, NULL, {0}};
    prism_status rc = q_map_make(ctx, st, x, scale, zp, &a.map);
    if (rc) return rc;
    rc = cpu_output(ctx, 0, ydt, x->rank, x->dims, &a.y);
    if (rc || x->count == 0) return rc;
    cpu_parallel_for(ctx, a.map.outer * a.map.d, q_dequant_rows, &a);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_DequantizeLinear = {
    .prepare = q_lin_prepare,
    .run = dequantize_run,
    .release = q_free,
    .supports = dequantize_supports,
};

/* ---- DynamicQuantizeLinear ------------------------------------------------- */

static bool dynq_supports(const cpu_node *node) {
    int32_t x = cpu_node_input_dtype(node, 0);
    return x <= 0 || x == PRISM_DTYPE_FLOAT;
}

static prism_status dynq_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DynamicQuantizeLinear needs x");
    const cpu_tensor *x = in[0];
    if (x->dtype != PRISM_DTYPE_FLOAT)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "DynamicQuantizeLinear needs float x, got %s",
                        cpu_dtype_name(x->dtype));
    const float *xv = x->data;
    float mx = 0.0f, mn = 0.0f; /* the range always includes 0 */
    for (int64_t i = 0; i < x->count; i++) {
        if (xv[i] > mx) mx = xv[i];
        if (xv[i] < mn) mn = xv[i];
    }
    float scale = (mx == mn ? 1.0f : mx - mn) / 255.0f;
    float zf = 0.0f - mn / scale;
    zf = zf < 0.0f ? 0.0f : zf > 255.0f ? 255.0f : zf;
    double zp = nearbyint(zf);
    cpu_tensor *y, *ys, *yz;
    prism_status rc = cpu_output(ctx, 0, PRISM_DTYPE_UINT8, x->rank, x->dims, &y);
    if (!rc) rc = cpu_output(ctx, 1, PRISM_DTYPE_FLOAT, 0, NULL, &ys);
    if (!rc) rc = cpu_output(ctx, 2, PRISM_DTYPE_UINT8, 0, NULL, &yz);
    if (rc) return rc;
    *(float *)ys->data = scale;
    *(uint8_t *)yz->data = (uint8_t)zp;
    uint8_t *yv = y->data;
    for (int64_t i = 0; i < x->count; i++) yv[i] = (uint8_t)q_requant(xv[i] / scale, zp, 0, 255);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_DynamicQuantizeLinear = {
    .run = dynq_run,
    .supports = dynq_supports,
};

/* ---- exact integer GEMM through cpu_sgemm --------------------------------- */

/* C (int32, ldc) = A (M x K, lda) * B (K x N, ldb), where A and B hold
 * integers with |a| <= amax, |b| <= bmax and amax * bmax <= 2^24. */
static prism_status q_igemm(cpu_ctx *ctx, int64_t M, int64_t N, int64_t K, const float *A, int64_t lda,
                            const float *B, int64_t ldb, int32_t *C, int64_t ldc, double amax, double bmax) {
    if (M == 0 || N == 0) return PRISM_OK;
    if (K == 0 || amax == 0 || bmax == 0) {
        for (int64_t i = 0; i < M; i++) memset(C + i * ldc, 0, (size_t)N * sizeof *C);
        return PRISM_OK;
    }
    int64_t chunk = (int64_t)floor(16777216.0 / (amax * bmax));
    if (chunk < 1) return cpu_fail(ctx, PRISM_ERR_INTERNAL, "integer GEMM operands too wide for exact float");
    float *tmp = malloc((size_t)(M * N) * sizeof *tmp);
    int64_t *acc = K > chunk ? calloc((size_t)(M * N), sizeof *acc) : NULL;
    if (!tmp || (K > chunk && !acc)) {
        free(tmp);
        free(acc);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int64_t k0 = 0; k0 < K; k0 += chunk) {
        int64_t kc = K - k0 < chunk ? K - k0 : chunk;
        cpu_sgemm(ctx, false, false, M, N, kc, 1.0f, A + k0, lda, B + k0 * ldb, ldb, 0.0f, tmp, N);
        if (acc)
            for (int64_t i = 0; i < M * N; i++) acc[i] += (int64_t)tmp[i];
    }
    for (int64_t i = 0; i < M; i++) {
        int32_t *c = C + i * ldc;
        if (acc) {
            const int64_t *ar = acc + i * N;
            for (int64_t j = 0; j < N; j++) c[j] = (int32_t)(uint32_t)(uint64_t)ar[j];
        } else {
            const float *tr = tmp + i * N;
            for (int64_t j = 0; j < N; j++) c[j] = (int32_t)tr[j];
        }
    }
    free(tmp);
    free(acc);
    return PRISM_OK;
}

/* Strides of a parameter of shape (pr, pd) broadcast (numpy, right-aligned)
 * to a tensor of shape (r, d); false when it does not broadcast. */
static bool q_bcast_strides(int32_t pr, const int64_t *pd, int32_t r, const int64_t *d, int64_t *st) {
    while (pr > r) {
        if (pd[0] != 1) return false;
        pd++, pr--;
    }
    int64_t s = 1;
    for (int32_t i = r - 1; i >= 0; i--) {
        int32_t j = i - (r - pr);
        int64_t p = j >= 0 ? pd[j] : 1;
        if (p != 1 && p != d[i]) return false;
        st[i] = p == 1 ? 0 : s;
        s *= p;
    }
    return true;
}

/* Offset walker over a shape with per-dim strides. */
typedef struct q_walk {
    int32_t r;
    const int64_t *d, *st;
    int64_t idx[CPU_MAX_RANK], off;
} q_walk;

static void q_walk_init(q_walk *w, int32_t r, const int64_t *d, const int64_t *st) {
    w->r = r, w->d = d, w->st = st, w->off = 0;
    memset(w->idx, 0, sizeof w->idx);
}

static inline void q_walk_next(q_walk *w) {
    for (int32_t i = w->r - 1; i >= 0; i--) {
        w->off += w->st[i];
        if (++w->idx[i] < w->d[i]) return;
        w->off -= w->st[i] * w->d[i];
        w->idx[i] = 0;
    }
}

/* dst = x - zp (zp of shape (zr, zd) broadcast to x; NULL: 0) as floats;
 * *amax = max |dst|. One loop per source type (X-macro). */
#define Q_SUB_DEFINE(E, T, MN, MX)                                                                 \
    static double q_sub_##T(const T *x, int64_t n, const int64_t *zv, const q_walk *w0, float *dst) { \
        double m = 0;                                                                              \
        if (!w0) {                                                                                 \
            const int64_t z = zv ? zv[0] : 0;                                                      \
            for (int64_t i = 0; i < n; i++) {                                                      \
                const float v = (float)((int64_t)x[i] - z);                                        \
                dst[i] = v;                                                                        \
                m = fabsf(v) > m ? fabsf(v) : m;                                                   \
            }                                                                                      \
            return m;                                                                              \
        }                                                                                          \
        q_walk w = *w0;                                                                            \
        for (int64_t i = 0; i < n; i++, q_walk_next(&w)) {                                         \
            const float v = (float)((int64_t)x[i] - zv[w.off]);                                    \
            dst[i] = v;                                                                            \
            m = fabsf(v) > m ? fabsf(v) : m;                                                       \
        }                                                                                          \
        return m;                                                                                  \
    }
Q_FOR_QTYPES(Q_SUB_DEFINE)
#undef Q_SUB_DEFINE

static prism_status q_sub_zp(cpu_ctx *ctx, const cpu_tensor *x, const cpu_tensor *zp, int32_t zr, const int64_t *zd,
                             float *dst, double *amax, const char *what) {
    int64_t st[CPU_MAX_RANK];
    if (zp && zp->count != 1 && !q_bcast_strides(zr, zd, x->rank, x->dims, st))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s zero point does not match its input's shape", what);
    if (zp && zp->dtype != x->dtype) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s zero point has another dtype", what);
    int64_t *zv = NULL;
    if (zp) {
        zv = malloc((size_t)(zp->count ? zp->count : 1) * sizeof *zv);
        if (!zv) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (int64_t i = 0; i < zp->count; i++) zv[i] = cpu_tensor_int(zp, i);
    }
    q_walk w;
    const q_walk *wp = NULL;
    if (zp && zp->count != 1) {
        q_walk_init(&w, x->rank, x->dims, st);
        wp = &w;
    }
    double m = 0;
    switch (x->dtype) {
#define Q_SUB_CASE(E, T, MN, MX) \
    case E: m = q_sub_##T(x->data, x->count, zv, wp, dst); break;
        Q_FOR_QTYPES(Q_SUB_CASE)
#undef Q_SUB_CASE
    default: free(zv); return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s dtype %s", what, cpu_dtype_name(x->dtype));
    }
    free(zv);
    *amax = m;
    return PRISM_OK;
}

/* ---- MatMulInteger / QLinearMatMul ----------------------------------------- */

typedef struct q_mm {
    int64_t M, N, K, batches;
    int32_t ob, yr, ur;             /* batch rank, output rank, unsqueezed output rank */
    int64_t od[CPU_MAX_RANK];       /* batch dims */
    int64_t yd[CPU_MAX_RANK];       /* output dims */
    int64_t ud[CPU_MAX_RANK];       /* output dims with M and N kept */
    int64_t *aoff, *boff;           /* per-batch matrix offsets */
    float *af, *bf;                 /* zero-point-free operands */
    double amax, bmax;
} q_mm;

static void q_mm_free(q_mm *g) {
    free(g->aoff);
    free(g->af);
    free(g->bf);
}

/* Shapes as numpy.matmul, operands converted with their zero points. */
static prism_status q_mm_setup(cpu_ctx *ctx, const cpu_tensor *A, const cpu_tensor *B, const cpu_tensor *azp,
                               const cpu_tensor *bzp, q_mm *g) {
    memset(g, 0, sizeof *g);
    if (A->rank < 1 || B->rank < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "operands must have rank >= 1");
    if (!q_is_8bit(A->dtype) || !q_is_8bit(B->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "operands must be int8 or uint8, got %s and %s",
                        cpu_dtype_name(A->dtype), cpu_dtype_name(B->dtype));
    if ((azp && azp->dtype != A->dtype) || (bzp && bzp->dtype != B->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "zero points must have their operand's dtype");
    g->M = A->rank == 1 ? 1 : A->dims[A->rank - 2];
    g->K = A->dims[A->rank - 1];
    int64_t kb = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2];
    g->N = B->rank == 1 ? 1 : B->dims[B->rank - 1];
    if (g->K != kb)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "inner dims differ (%lld vs %lld)", (long long)g->K, (long long)kb);
    int32_t ab = A->rank > 2 ? A->rank - 2 : 0, bb = B->rank > 2 ? B->rank - 2 : 0;
    if (!cpu_broadcast_shape(ab, A->dims, bb, B->dims, &g->ob, g->od))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "batch dims cannot be broadcast");
    if (g->ob + 2 > CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "result rank too large");
    memcpy(g->yd, g->od, sizeof g->od);
    memcpy(g->ud, g->od, sizeof g->od);
    g->yr = g->ur = g->ob;
    if (A->rank > 1) g->yd[g->yr++] = g->M;
    if (B->rank > 1) g->yd[g->yr++] = g->N;
    g->ud[g->ur++] = g->M;
    g->ud[g->ur++] = g->N;
    g->batches = cpu_shape_count(g->ob, g->od);
    int64_t total;
    if (!cpu_mul_ok(g->batches, g->M, &total) || !cpu_mul_ok(total, g->N, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    g->aoff = malloc((size_t)(g->batches ? g->batches : 1) * 2 * sizeof *g->aoff);
    g->af = malloc((size_t)(A->count ? A->count : 1) * sizeof *g->af);
    g->bf = malloc((size_t)(B->count ? B->count : 1) * sizeof *g->bf);
    if (!g->aoff || !g->af || !g->bf) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    g->boff = g->aoff + (g->batches ? g->batches : 1);
    int64_t idx[CPU_MAX_RANK] = {0};
    for (int64_t bt = 0; bt < g->batches; bt++) {
        int64_t ao = 0, bo = 0;
        for (int32_t i = 0; i < g->ob; i++) {
            int32_t ia = i - (g->ob - ab), ib = i - (g->ob - bb);
            if (ia >= 0) ao = ao * A->dims[ia] + (A->dims[ia] == 1 ? 0 : idx[i]);
            if (ib >= 0) bo = bo * B->dims[ib] + (B->dims[ib] == 1 ? 0 : idx[i]);
        }
        g->aoff[bt] = ao * g->M * g->K;
        g->boff[bt] = bo * g->K * g->N;
        for (int32_t i = g->ob - 1; i >= 0; i--) {
            if (++idx[i] < g->od[i]) break;
            idx[i] = 0;
        }
    }
    /* A's zero point: a 1-D vector is per row ([M] -> [M, 1]); otherwise it
     * broadcasts against A ([..., M, 1]). B's broadcasts against B ([N] or
     * [..., 1, N]). */
    int64_t zd[CPU_MAX_RANK];
    int32_t zr = 0;
    if (azp) {
        zr = azp->rank;
        memcpy(zd, azp->dims, sizeof(int64_t) * (size_t)azp->rank);
        if (azp->rank == 1 && A->rank >= 2) zd[zr++] = 1;
    }
    prism_status rc = q_sub_zp(ctx, A, azp, zr, zd, g->af, &g->amax, "A's");
    if (!rc) rc = q_sub_zp(ctx, B, bzp, bzp ? bzp->rank : 0, bzp ? bzp->dims : NULL, g->bf, &g->bmax, "B's");
    return rc;
}

static prism_status q_mm_compute(cpu_ctx *ctx, const q_mm *g, int32_t *acc) {
    for (int64_t bt = 0; bt < g->batches; bt++) {
        prism_status rc = q_igemm(ctx, g->M, g->N, g->K, g->af + g->aoff[bt], g->K, g->bf + g->boff[bt], g->N,
                                  acc + bt * g->M * g->N, g->N, g->amax, g->bmax);
        if (rc) return rc;
    }
    return PRISM_OK;
}

static bool q_8bit_or_unknown(int32_t dt) { return dt <= 0 || q_is_8bit(dt); }

static bool matmulinteger_supports(const cpu_node *node) {
    for (uint32_t k = 0; k < 4; k++)
        if (!q_8bit_or_unknown(cpu_node_input_dtype(node, k))) return false;
    return true;
}

static prism_status matmulinteger_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                      uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMulInteger needs A and B");
    q_mm g;
    prism_status rc = q_mm_setup(ctx, in[0], in[1], n_in > 2 ? in[2] : NULL, n_in > 3 ? in[3] : NULL, &g);
    cpu_tensor *Y;
    if (!rc) rc = cpu_output(ctx, 0, PRISM_DTYPE_INT32, g.yr, g.yd, &Y);
    if (!rc) rc = q_mm_compute(ctx, &g, Y->data);
    q_mm_free(&g);
    return rc;
}

const cpu_kernel_def cpu_op_MatMulInteger = {
    .run = matmulinteger_run,
    .supports = matmulinteger_supports,
};

/* A requantisation parameter (scale or zero point) broadcast over the
 * unsqueezed output [..., M, N]. */
typedef struct q_param {
    const cpu_tensor *t;
    int64_t st[CPU_MAX_RANK];
    bool scalar;
} q_param;

/* side: 'a' (1-D means per row), 'b' (1-D means per column), 'y'. */
static prism_status q_param_make(cpu_ctx *ctx, const cpu_tensor *t, char side, const cpu_tensor *operand,
                                 const q_mm *g, q_param *p) {
    p->t = t;
    p->scalar = !t || t->count == 1;
    if (p->scalar) return PRISM_OK;
    if ((side == 'a' && operand->rank < 2) || (side == 'b' && operand->rank < 2) ||
        (side == 'y' && g->yr != g->ur))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "per-row/column quantisation needs 2-D operands");
    int64_t pd[CPU_MAX_RANK];
    int32_t pr = t->rank;
    memcpy(pd, t->dims, sizeof(int64_t) * (size_t)t->rank);
    if (side == 'a' && pr == 1) pd[pr++] = 1;
    if (!q_bcast_strides(pr, pd, g->ur, g->ud, p->st))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%c's scale or zero point does not broadcast to the output", side);
    return PRISM_OK;
}

static bool qlinearmatmul_supports(const cpu_node *node) {
    static const uint32_t q[] = {0, 2, 3, 5, 7}, s[] = {1, 4, 6};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (!q_8bit_or_unknown(cpu_node_input_dtype(node, q[i]))) return false;
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++) {
        int32_t dt = cpu_node_input_dtype(node, s[i]);
        if (dt > 0 && !q_is_float(dt)) return false;
    }
    return true;
}

static prism_status qlinearmatmul_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                      uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 8 || !in[0] || !in[1] || !in[3] || !in[4] || !in[6])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "QLinearMatMul needs a, a_scale, b, b_scale and y_scale");
    const cpu_tensor *A = in[0], *as = in[1], *azp = in[2], *B = in[3], *bs = in[4], *bzp = in[5], *ys = in[6],
                     *yzp = in[7];
    int32_t sdt = as->dtype;
    if (!q_is_float(sdt) || bs->dtype != sdt || ys->dtype != sdt)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "scales must share one float type, got %s, %s, %s",
                        cpu_dtype_name(as->dtype), cpu_dtype_name(bs->dtype), cpu_dtype_name(ys->dtype));
    int32_t ydt = yzp ? yzp->dtype : A->dtype;
    if (!q_is_8bit(ydt)) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "y must be int8 or uint8");
    q_mm g;
    int32_t *acc = NULL;
    prism_status rc = q_mm_setup(ctx, A, B, azp, bzp, &g);
    q_param pa, pb, py, pz;
    if (!rc) rc = q_param_make(ctx, as, 'a', A, &g, &pa);
    if (!rc) rc = q_param_make(ctx, bs, 'b', B, &g, &pb);
    if (!rc) rc = q_param_make(ctx, ys, 'y', NULL, &g, &py);
    if (!rc) rc = q_param_make(ctx, yzp, 'y', NULL, &g, &pz);
    cpu_tensor *Y = NULL;
    if (!rc) rc = cpu_output(ctx, 0, ydt, g.yr, g.yd, &Y);
    int64_t total = g.batches * g.M * g.N;
    if (!rc && total > 0) {
        acc = malloc((size_t)total * sizeof *acc);
        if (!acc) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!rc && total > 0) rc = q_mm_compute(ctx, &g, acc);
    if (!rc && total > 0) {
        double lo, hi;
        q_range(ydt, &lo, &hi);
        if (pa.scalar && pb.scalar && py.scalar && pz.scalar) { /* one multiplier */
            const double ab = q_round_to(sdt, cpu_tensor_load_f64(as, 0) * cpu_tensor_load_f64(bs, 0));
            const double mult = q_round_to(sdt, ab / cpu_tensor_load_f64(ys, 0));
            const double zp = yzp ? (double)cpu_tensor_int(yzp, 0) : 0.0;
            switch (ydt) {
#define Q_REQ_CASE(E, T, MN, MX)                                                                    \
    case E:                                                                                         \
        for (int64_t i = 0; i < total; i++) ((T *)Y->data)[i] = (T)q_requant((double)acc[i] * mult, zp, lo, hi); \
        break;
                Q_FOR_QTYPES(Q_REQ_CASE)
#undef Q_REQ_CASE
            default: break;
            }
            total = 0;
        }
        q_walk wa, wb, wy, wz;
        q_walk_init(&wa, g.ur, g.ud, pa.st);
        q_walk_init(&wb, g.ur, g.ud, pb.st);
        q_walk_init(&wy, g.ur, g.ud, py.st);
        q_walk_init(&wz, g.ur, g.ud, pz.st);
        for (int64_t i = 0; i < total; i++) {
            double a_s = cpu_tensor_load_f64(as, pa.scalar ? 0 : wa.off),
                   b_s = cpu_tensor_load_f64(bs, pb.scalar ? 0 : wb.off);
            double y_s = cpu_tensor_load_f64(ys, py.scalar ? 0 : wy.off);
            double zp = yzp ? (double)cpu_tensor_int(yzp, pz.scalar ? 0 : wz.off) : 0.0;
            /* the multiplier in the scales' precision, as the reference computes it */
            double mult = q_round_to(sdt, q_round_to(sdt, a_s * b_s) / y_s);
            q_store(Y->data, ydt, i, q_requant((double)acc[i] * mult, zp, lo, hi));
            if (!pa.scalar) q_walk_next(&wa);
            if (!pb.scalar) q_walk_next(&wb);
            if (!py.scalar) q_walk_next(&wy);
            if (!pz.scalar) q_walk_next(&wz);
        }
    }
    free(acc);
    q_mm_free(&g);
    return rc;
}

const cpu_kernel_def cpu_op_QLinearMatMul = {
    .run = qlinearmatmul_run,
    .supports = qlinearmatmul_supports,
};

/* ---- ConvInteger / QLinearConv --------------------------------------------- */

enum { Q_PAD_NOTSET, Q_PAD_SAME_UPPER, Q_PAD_SAME_LOWER, Q_PAD_VALID };

typedef struct q_conv_state {
    int auto_pad;
    int64_t group;
    const int64_t *kshape, *pads, *strides, *dils;
    size_t n_kshape, n_pads, n_strides, n_dils;
} q_conv_state;

typedef struct q_conv_geom {
    int sp;
    int64_t n, c, m, group, cg, mg;
    int64_t in[Q_MAX_SP], out[Q_MAX_SP], k[Q_MAX_SP], s[Q_MAX_SP], d[Q_MAX_SP], pb[Q_MAX_SP];
    int64_t in_plane, out_plane, ksize, kc;
    int32_t yr;
    int64_t yd[CPU_MAX_RANK];
} q_conv_geom;

static prism_status q_conv_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    q_conv_state t = {0};
    const char *ap = cpu_attr_string(node, "auto_pad", "NOTSET");
    if (!ap || !*ap || !strcmp(ap, "NOTSET")) t.auto_pad = Q_PAD_NOTSET;
    else if (!strcmp(ap, "SAME_UPPER")) t.auto_pad = Q_PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER")) t.auto_pad = Q_PAD_SAME_LOWER;
    else if (!strcmp(ap, "VALID")) t.auto_pad = Q_PAD_VALID;
    else return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown auto_pad '%s'", ap);
    t.group = cpu_attr_int(node, "group", 1);
    if (t.group < 1) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "group must be >= 1");
    t.n_kshape = cpu_attr_ints(node, "kernel_shape", &t.kshape);
    t.n_pads = cpu_attr_ints(node, "pads", &t.pads);
    t.n_strides = cpu_attr_ints(node, "strides", &t.strides);
    t.n_dils = cpu_attr_ints(node, "dilations", &t.dils);
    if (t.n_kshape > Q_MAX_SP || t.n_strides > Q_MAX_SP || t.n_dils > Q_MAX_SP || t.n_pads > 2 * Q_MAX_SP ||
        t.n_pads % 2)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape/strides/dilations/pads have bad lengths");
    for (size_t i = 0; i < t.n_kshape; i++)
        if (t.kshape[i] < 1 || t.kshape[i] > Q_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape values must be in [1, 2^40]");
    for (size_t i = 0; i < t.n_strides; i++)
        if (t.strides[i] < 1 || t.strides[i] > Q_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "strides must be in [1, 2^40]");
    for (size_t i = 0; i < t.n_dils; i++)
        if (t.dils[i] < 1 || t.dils[i] > Q_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "dilations must be in [1, 2^40]");
    for (size_t i = 0; i < t.n_pads; i++)
        if (t.pads[i] < 0 || t.pads[i] > Q_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "pads must be in [0, 2^40]");
    q_conv_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = t;
    *state = st;
    return PRISM_OK;
}

static prism_status q_conv_geometry(cpu_ctx *ctx, const q_conv_state *st, const cpu_tensor *x, const cpu_tensor *w,
                                    q_conv_geom *g) {
    memset(g, 0, sizeof *g);
    if (x->rank < 3) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "x must have rank >= 3, got %d", x->rank);
    if (w->rank != x->rank) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "w has rank %d, x has %d", w->rank, x->rank);
    int sp = x->rank - 2;
    if ((st->n_kshape && st->n_kshape != (size_t)sp) || (st->n_strides && st->n_strides != (size_t)sp) ||
        (st->n_dils && st->n_dils != (size_t)sp) || (st->n_pads && st->n_pads != 2 * (size_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "attribute lengths do not match %d spatial dims", sp);
    g->sp = sp;
    g->n = x->dims[0], g->c = x->dims[1], g->m = w->dims[0], g->group = st->group, g->cg = w->dims[1];
    int64_t cexp;
    if (!cpu_mul_ok(g->cg, g->group, &cexp) || cexp != g->c)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "x has %lld channels but w expects %lld x group %lld",
                        (long long)g->c, (long long)g->cg, (long long)g->group);
    if (g->m % g->group) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output channels not divisible by group");
    g->mg = g->m / g->group;
    g->yr = x->rank;
    g->yd[0] = g->n, g->yd[1] = g->m;
    for (int i = 0; i < sp; i++) {
        int64_t in = x->dims[2 + i], k = w->dims[2 + i];
        if (st->n_kshape && st->kshape[i] != k)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape[%d] does not match w", i);
        if (k < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "w has an empty spatial dim");
        int64_t s = st->n_strides ? st->strides[i] : 1, d = st->n_dils ? st->dils[i] : 1;
        int64_t pb = st->n_pads ? st->pads[i] : 0, pe = st->n_pads ? st->pads[i + sp] : 0, dk, out;
        if (!cpu_mul_ok(k - 1, d, &dk) || !cpu_add_ok(dk, 1, &dk)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel too large");
        if (st->auto_pad == Q_PAD_SAME_UPPER || st->auto_pad == Q_PAD_SAME_LOWER) {
            out = in / s + (in % s != 0);
            int64_t total = 0;
            if (out > 0) {
                if (!cpu_add_ok((out - 1) * s, dk, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "padding overflows");
                total -= in;
                if (total < 0) total = 0;
            }
            pb = st->auto_pad == Q_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        } else {
            if (st->auto_pad == Q_PAD_VALID) pb = pe = 0;
            int64_t padded;
            if (!cpu_add_ok(in, pb, &padded) || !cpu_add_ok(padded, pe, &padded))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "padded size overflows");
            if (padded < dk)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "kernel (%lld) larger than padded input (%lld) in dim %d",
                                (long long)dk, (long long)padded, i);
            out = (padded - dk) / s + 1;
        }
        g->in[i] = in, g->out[i] = out, g->k[i] = k, g->s[i] = s, g->d[i] = d, g->pb[i] = pb;
        g->yd[2 + i] = out;
    }
    g->in_plane = cpu_shape_count(sp, x->dims + 2);
    g->ksize = cpu_shape_count(sp, w->dims + 2);
    g->out_plane = cpu_shape_count(sp, g->out);
    int64_t total = 1;
    if (!cpu_mul_ok(g->cg, g->ksize, &g->kc)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "w is too large");
    for (int i = 0; i < g->yr; i++)
        if (!cpu_mul_ok(total, g->yd[i], &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    int64_t colsz;
    if (!cpu_mul_ok(g->kc, g->out_plane, &colsz) || colsz > ((int64_t)1 << 40))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "column matrix too large");
    return PRISM_OK;
}

/* Rows [r0, r1) of the column matrix [cg*ksize, out_plane] of one (image,
 * group); x (zero-point free) starts at the group's first channel. Padding
 * is 0, i.e. the zero point before it was subtracted. */
typedef struct q_im2col_arg {
    const q_conv_geom *g;
    const float *x;
    float *col;
} q_im2col_arg;

static void q_im2col_rows(void *argp, int64_t r0, int64_t r1) {
    const q_im2col_arg *a = argp;
    const q_conv_geom *g = a->g;
    const int last = g->sp - 1;
    const int64_t ow = g->out[last], s = g->s[last], in_last = g->in[last];
    for (int64_t r = r0; r < r1; r++) {
        int64_t kk[Q_MAX_SP], rem = r % g->ksize;
        for (int i = last; i >= 0; i--) {
            kk[i] = rem % g->k[i];
            rem /= g->k[i];
        }
        const float *xc = a->x + (r / g->ksize) * g->in_plane;
        float *dst = a->col + r * g->out_plane;
        /* along the last dim, input index j*s + off is inside for j in [lo, hi) */
        const int64_t off = kk[last] * g->d[last] - g->pb[last];
        int64_t lo = off >= 0 ? 0 : (-off + s - 1) / s, hi = in_last - off <= 0 ? 0 : (in_last - off + s - 1) / s;
        lo = lo > ow ? ow : lo;
        hi = hi > ow ? ow : hi < lo ? lo : hi;
        int64_t o[Q_MAX_SP] = {0};
        for (int64_t p = 0; p < g->out_plane; p += ow, dst += ow) {
            int64_t base = 0;
            bool inside = true;
            for (int i = 0; i < last && inside; i++) {
                int64_t ii = o[i] * g->s[i] - g->pb[i] + kk[i] * g->d[i];
                inside = ii >= 0 && ii < g->in[i];
                base = base * g->in[i] + ii;
            }
            if (!inside) {
                memset(dst, 0, (size_t)ow * sizeof *dst);
            } else {
                const float *xr = xc + base * in_last + off;
                int64_t j = 0;
                for (; j < lo; j++) dst[j] = 0.0f;
                if (s == 1)
                    for (; j < hi; j++) dst[j] = xr[j];
                else
                    for (; j < hi; j++) dst[j] = xr[j * s];
                for (; j < ow; j++) dst[j] = 0.0f;
            }
            for (int i = last - 1; i >= 0; i--) {
                if (++o[i] < g->out[i]) break;
                o[i] = 0;
            }
        }
    }
}

/* acc [n, m, out_plane] = conv(x - xzp, w - wzp) (+ bias). */
static prism_status q_conv_acc(cpu_ctx *ctx, const q_conv_geom *g, const cpu_tensor *x, const cpu_tensor *xzp,
                               const cpu_tensor *w, const cpu_tensor *wzp, const cpu_tensor *bias, int32_t *acc) {
    if (!q_is_8bit(x->dtype) || !q_is_8bit(w->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "x and w must be int8 or uint8, got %s and %s",
                        cpu_dtype_name(x->dtype), cpu_dtype_name(w->dtype));
    if ((xzp && xzp->dtype != x->dtype) || (wzp && wzp->dtype != w->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "zero points must have their input's dtype");
    if (xzp && xzp->count != 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "x's zero point must be a scalar");
    if (wzp && wzp->count != 1 && !(wzp->rank == 1 && wzp->dims[0] == g->m))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "w's zero point must be a scalar or have %lld elements",
                        (long long)g->m);
    if (bias && (bias->dtype != PRISM_DTYPE_INT32 || bias->rank != 1 || bias->dims[0] != g->m))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "bias must be an int32 vector of %lld elements", (long long)g->m);
    int64_t total = g->n * g->m * g->out_plane;
    if (total == 0) return PRISM_OK;
    float *xf = malloc((size_t)(x->count ? x->count : 1) * sizeof *xf);
    float *wf = malloc((size_t)(w->count ? w->count : 1) * sizeof *wf);
    float *col = malloc((size_t)(g->kc * g->out_plane > 0 ? g->kc * g->out_plane : 1) * sizeof *col);
    prism_status rc = PRISM_OK;
    if (!xf || !wf || !col) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    double xmax, wmax;
    rc = q_sub_zp(ctx, x, xzp, 0, NULL, xf, &xmax, "x's");
    if (!rc) {
        int64_t zd[CPU_MAX_RANK] = {g->m};
        for (int32_t i = 1; i < w->rank; i++) zd[i] = 1;
        rc = q_sub_zp(ctx, w, wzp, w->rank, zd, wf, &wmax, "w's");
    }
    if (rc) goto done;
    for (int64_t b = 0; b < g->n && !rc; b++)
        for (int64_t gr = 0; gr < g->group && !rc; gr++) {
            q_im2col_arg ia = {g, xf + (b * g->c + gr * g->cg) * g->in_plane, col};
            cpu_parallel_for(ctx, g->kc, q_im2col_rows, &ia);
            rc = q_igemm(ctx, g->mg, g->out_plane, g->kc, wf + gr * g->mg * g->kc, g->kc, col, g->out_plane,
                         acc + (b * g->m + gr * g->mg) * g->out_plane, g->out_plane, wmax, xmax);
        }
    if (!rc && bias) {
        const int32_t *bv = bias->data;
        for (int64_t b = 0; b < g->n; b++)
            for (int64_t m = 0; m < g->m; m++) {
                int32_t *row = acc + (b * g->m + m) * g->out_plane;
                for (int64_t p = 0; p < g->out_plane; p++) row[p] = (int32_t)((uint32_t)row[p] + (uint32_t)bv[m]);
            }
    }
done:
    free(xf);
    free(wf);
    free(col);
    return rc;
}

static bool convinteger_supports(const cpu_node *node) {
    for (uint32_t k = 0; k < 4; k++)
        if (!q_8bit_or_unknown(cpu_node_input_dtype(node, k))) return false;
    return true;
}

static prism_status convinteger_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                    uint32_t n_in) {
    (void)node;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConvInteger needs x and w");
    q_conv_geom g;
    prism_status rc = q_conv_geometry(ctx, state, in[0], in[1], &g);
    if (rc) return rc;
    cpu_tensor *Y;
    rc = cpu_output(ctx, 0, PRISM_DTYPE_INT32, g.yr, g.yd, &Y);
    if (rc) return rc;
    return q_conv_acc(ctx, &g, in[0], n_in > 2 ? in[2] : NULL, in[1], n_in > 3 ? in[3] : NULL, NULL, Y->data);
}

const cpu_kernel_def cpu_op_ConvInteger = {
    .prepare = q_conv_prepare,
    .run = convinteger_run,
    .release = q_free,
    .supports = convinteger_supports,
};

static bool qlinearconv_supports(const cpu_node *node) {
    static const uint32_t q[] = {0, 2, 3, 5, 7};
    for (size_t i = 0; i < sizeof q / sizeof q[0]; i++)
        if (!q_8bit_or_unknown(cpu_node_input_dtype(node, q[i]))) return false;
    int32_t b = cpu_node_input_dtype(node, 8);
    return b <= 0 || b == PRISM_DTYPE_INT32;
}

static prism_status qlinearconv_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                    uint32_t n_in) {
    (void)node;
    if (n_in < 8 || !in[0] || !in[1] || !in[3] || !in[4] || !in[6])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "QLinearConv needs x, x_scale, w, w_scale and y_scale");
    const cpu_tensor *x = in[0], *xs = in[1], *xzp = in[2], *w = in[3], *ws = in[4], *wzp = in[5], *ys = in[6],
                     *yzp = in[7], *bias = n_in > 8 ? in[8] : NULL;
    if (xs->dtype != PRISM_DTYPE_FLOAT || ws->dtype != PRISM_DTYPE_FLOAT || ys->dtype != PRISM_DTYPE_FLOAT)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "QLinearConv scales must be float");
    int32_t ydt = yzp ? yzp->dtype : x->dtype;
    if (!q_is_8bit(ydt)) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "y must be int8 or uint8");
    if (xs->count != 1 || ys->count != 1 || (yzp && yzp->count != 1))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "x_scale, y_scale and y_zero_point must be scalars");
    q_conv_geom g;
    prism_status rc = q_conv_geometry(ctx, state, x, w, &g);
    if (rc) return rc;
    if (ws->count != 1 && !(ws->rank == 1 && ws->dims[0] == g.m))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "w_scale must be a scalar or have %lld elements", (long long)g.m);
    cpu_tensor *Y;
    rc = cpu_output(ctx, 0, ydt, g.yr, g.yd, &Y);
    int64_t total = g.n * g.m * g.out_plane;
    if (rc || total == 0) return rc;
    int32_t *acc = malloc((size_t)total * sizeof *acc);
    if (!acc) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    rc = q_conv_acc(ctx, &g, x, xzp, w, wzp, bias, acc);
    if (!rc) {
        double lo, hi, zp = yzp ? (double)cpu_tensor_int(yzp, 0) : 0.0;
        q_range(ydt, &lo, &hi);
        const float xsv = *(const float *)xs->data, ysv = *(const float *)ys->data;
        for (int64_t b = 0; b < g.n; b++)
            for (int64_t m = 0; m < g.m; m++) {
                const double mult = xsv * ((const float *)ws->data)[ws->count == 1 ? 0 : m] / ysv;
                const int64_t base = (b * g.m + m) * g.out_plane;
                const int32_t *ar = acc + base;
                switch (ydt) {
#define Q_REQ_CASE(E, T, MN, MX)                                                                    \
    case E:                                                                                         \
        for (int64_t p = 0; p < g.out_plane; p++)                                                   \
            ((T *)Y->data)[base + p] = (T)q_requant((double)ar[p] * mult, zp, lo, hi);              \
        break;
                    Q_FOR_QTYPES(Q_REQ_CASE)
#undef Q_REQ_CASE
                default: break;
                }
            }
    }
    free(acc);
    return rc;
}

const cpu_kernel_def cpu_op_QLinearConv = {
    .prepare = q_conv_prepare,
    .run = qlinearconv_run,
    .release = q_free,
    .supports = qlinearconv_supports,
};
