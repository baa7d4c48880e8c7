/*
 * gemm.c — Gemm and MatMul for the CPU provider.
 *
 * float goes to cpu_sgemm (OpenBLAS); float16/bfloat16 are widened to float
 * and narrowed back; double and the integer types use one templated naive
 * kernel, split over output rows. Integer products accumulate in the
 * unsigned type of the same width: wrap-around like numpy instead of the
 * undefined behaviour of signed overflow.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"


static bool gemm_dtype_ok(int32_t dt) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT:
    case PRISM_DTYPE_DOUBLE:
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16:
    case PRISM_DTYPE_INT32:
    case PRISM_DTYPE_INT64:
    case PRISM_DTYPE_UINT32:
    case PRISM_DTYPE_UINT64: return true;
    default: return dt <= 0; /* unknown until run */
    }
}

static bool gemm_supports(const cpu_node *node) {
    return gemm_dtype_ok(cpu_node_input_dtype(node, 0)) && gemm_dtype_ok(cpu_node_input_dtype(node, 1));
}

/* ---- the naive kernel ---------------------------------------------------- */

/*
 * Y[r] for rows r in [0, batches*m): Y = alpha * op(A) op(B) + beta * Y.
 * a_off/b_off give each batch's matrix offset (NULL: one matrix). When
 * int_coeffs, integer types use exact integer alpha/beta.
 */
typedef struct naive_arg {
    const void *a, *b;
    void *y;
    const int64_t *a_off, *b_off;
    int64_t m, n, k;
    bool ta, tb;
    double alpha, beta;
    bool int_coeffs;
    int64_t ialpha, ibeta;
} naive_arg;

/* Saturating double -> integer conversion (an out-of-range cast is UB). */
#define SAT_CAST(T, MINV, MAXV, v) ((v) != (v) ? (T)0 : (v) <= (double)(MINV) ? (T)(MINV) : (v) >= (double)(MAXV) ? (T)(MAXV) : (T)(v))

#define NAIVE_FINISH_FLOAT(T, UT, MINV, MAXV, acc, yv) ((T)(g->alpha * (acc) + g->beta * (yv)))
#define NAIVE_FINISH_INT(T, UT, MINV, MAXV, acc, yv)                                                     \
    (g->int_coeffs ? (T)((UT)g->ialpha * (acc) + (UT)g->ibeta * (UT)(yv))                              \
                   : SAT_CAST(T, MINV, MAXV, g->alpha * (double)(T)(acc) + g->beta * (double)(yv)))

#define NAIVE_DEFINE(T, UT, MINV, MAXV, FINISH)                                                          \
    static void naive_rows_##T(void *argp, int64_t r0, int64_t r1) {                                   \
        const naive_arg *g = argp;                                                                     \
        for (int64_t r = r0; r < r1; r++) {                                                            \
            const int64_t bt = r / g->m, i = r % g->m;                                                 \
            const T *A = (const T *)g->a + (g->a_off ? g->a_off[bt] : 0);                              \
            const T *B = (const T *)g->b + (g->b_off ? g->b_off[bt] : 0);                              \
            T *Y = (T *)g->y + r * g->n;                                                               \
            const int64_t as = g->ta ? g->m : 1, ar = g->ta ? 1 : g->k; /* A(i,p) = A[i*ar + p*as] */  \
            const int64_t bs = g->tb ? 1 : g->n, bc = g->tb ? g->k : 1; /* B(p,j) = B[p*bs + j*bc] */  \
            for (int64_t j = 0; j < g->n; j++) {                                                       \
                UT acc = 0;                                                                            \
                for (int64_t p = 0; p < g->k; p++) acc += (UT)A[i * ar + p * as] * (UT)B[p * bs + j * bc]; \
                T yv = g->beta != 0 ? Y[j] : (T)0;                                                     \
                Y[j] = FINISH(T, UT, MINV, MAXV, acc, yv);                                             \
            }                                                                                          \
        }                                                                                              \
    }

NAIVE_DEFINE(double, double, 0, 0, NAIVE_FINISH_FLOAT)
NAIVE_DEFINE(int32_t, uint32_t, INT32_MIN, INT32_MAX, NAIVE_FINISH_INT)
NAIVE_DEFINE(int64_t, uint64_t, INT64_MIN, INT64_MAX, NAIVE_FINISH_INT)
NAIVE_DEFINE(uint32_t, uint32_t, 0, UINT32_MAX, NAIVE_FINISH_INT)
NAIVE_DEFINE(uint64_t, uint64_t, 0, UINT64_MAX, NAIVE_FINISH_INT)

static void (*naive_fn(int32_t dt))(void *, int64_t, int64_t) {
    switch (dt) {
    case PRISM_DTYPE_DOUBLE: return naive_rows_double;
    case PRISM_DTYPE_INT32: return naive_rows_int32_t;
    case PRISM_DTYPE_INT64: return naive_rows_int64_t;
    case PRISM_DTYPE_UINT32: return naive_rows_uint32_t;
    case PRISM_DTYPE_UINT64: return naive_rows_uint64_t;
    default: return NULL;
    }
}

/* ---- Gemm ------------------------------------------------------------------ */

typedef struct gemm_state {
    bool ta, tb;
    float alpha, beta;
} gemm_state;

static prism_status gemm_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    gemm_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->ta = cpu_attr_int(node, "transA", 0) != 0;
    st->tb = cpu_attr_int(node, "transB", 0) != 0;
    st->alpha = cpu_attr_float(node, "alpha", 1.0f);
    st->beta = cpu_attr_float(node, "beta", 1.0f);
    /* Opsets 1-6 had a `broadcast` flag; C is broadcast unidirectionally
     * either way (a superset of the old behaviour for valid models). */
    *state = st;
    return PRISM_OK;
}

static void gemm_release(void *state) { free(state); }

static prism_status gemm_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    (void)node;
    const gemm_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm needs inputs A and B");
    const cpu_tensor *A = in[0], *B = in[1], *C = n_in > 2 ? in[2] : NULL;
    int32_t dt = A->dtype;
    if (B->dtype != dt || (C && C->dtype != dt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm inputs have different dtypes");
    if (!gemm_dtype_ok(dt) || dt <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Gemm does not support dtype %s", cpu_dtype_name(dt));
    if (A->rank != 2 || B->rank != 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm needs 2-D A and B, got ranks %d and %d", A->rank, B->rank);
    int64_t M = st->ta ? A->dims[1] : A->dims[0], K = st->ta ? A->dims[0] : A->dims[1];
    int64_t Kb = st->tb ? B->dims[1] : B->dims[0], N = st->tb ? B->dims[0] : B->dims[1];
    if (K != Kb)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm inner dims differ: op(A) is %lldx%lld, op(B) is %lldx%lld",
                        (long long)M, (long long)K, (long long)Kb, (long long)N);
    bool use_c = C && st->beta != 0.0f;
    int64_t cm = 1, cn = 1; /* C's dims right-aligned to (M, N) */
    if (C) {
        if (C->rank > 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm's C has rank %d > 2", C->rank);
        if (C->rank >= 1) cn = C->dims[C->rank - 1];
        if (C->rank == 2) cm = C->dims[0];
        if ((cm != 1 && cm != M) || (cn != 1 && cn != N))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gemm's C cannot be broadcast to %lldx%lld", (long long)M,
                            (long long)N);
    }
    int64_t total;
    if (!cpu_mul_ok(M, N, &total)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    int64_t yd[2] = {M, N};
    cpu_tensor *Y;
    prism_status rc = cpu_output(ctx, 0, dt, 2, yd, &Y);
    if (rc || total == 0) return rc;

    bool half = cpu_dtype_is_half(dt);
    float *af = NULL, *bf = NULL, *cf = NULL, *yf = NULL;
    const void *ap = A->data, *bp = B->data, *cp = C ? C->data : NULL;
    void *yp = Y->data;
    int32_t cdt = dt;
    if (half) {
        af = cpu_half_widen(A);
        bf = cpu_half_widen(B);
        cf = cpu_half_widen(C);
        yf = malloc((size_t)total * sizeof *yf);
        if (!af || !bf || (C && !cf) || !yf) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        ap = af, bp = bf, cp = cf, yp = yf;
        cdt = PRISM_DTYPE_FLOAT;
    }
    /* Y starts as broadcast C (only read when beta != 0). */
    if (use_c) {
        size_t sz = cpu_dtype_size(cdt);
        for (int64_t i = 0; i < M; i++) {
            const char *src = (const char *)cp + (size_t)((cm == 1 ? 0 : i) * cn) * sz;
            char *dst = (char *)yp + (size_t)(i * N) * sz;
            if (cn == N)
                memcpy(dst, src, (size_t)N * sz);
            else
                for (int64_t j = 0; j < N; j++) memcpy(dst + (size_t)j * sz, src, sz);
        }
    }
    if (cdt == PRISM_DTYPE_FLOAT) {
        float *y = yp;
        if (K == 0) {
            for (int64_t i = 0; i < total; i++) y[i] = use_c ? st->beta * y[i] : 0.0f;
        } else {
            cpu_sgemm(ctx, st->ta, st->tb, M, N, K, st->alpha, ap, A->dims[1], bp, B->dims[1],
                      use_c ? st->beta : 0.0f, y, N);
        }
    } else {
        naive_arg arg = {ap, bp, yp, NULL, NULL, M, N, K, st->ta, st->tb, st->alpha, use_c ? st->beta : 0.0,
                         false, 0, 0};
        double ia = st->alpha, ib = use_c ? st->beta : 0.0;
        arg.int_coeffs = ia == nearbyint(ia) && ib == nearbyint(ib) && fabs(ia) < 9e18 && fabs(ib) < 9e18;
        if (arg.int_coeffs) {
            arg.ialpha = (int64_t)ia;
            arg.ibeta = (int64_t)ib;
        }
        cpu_parallel_for(ctx, M, naive_fn(cdt), &arg);
    }
    if (half) cpu_half_narrow(yf, Y);
done:
    free(af);
    free(bf);
    free(cf);
    free(yf);
    return rc;
}

/* ---- MatMul ---------------------------------------------------------------- */

static prism_status matmul_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul needs inputs A and B");
    const cpu_tensor *A = in[0], *B = in[1];
    int32_t dt = A->dtype;
    if (B->dtype != dt) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul inputs have different dtypes");
    if (!gemm_dtype_ok(dt) || dt <= 0)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "MatMul does not support dtype %s", cpu_dtype_name(dt));
    if (A->rank < 1 || B->rank < 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul operands must have rank >= 1");
    /* 1-D operands: A [K] acts as [1, K], B [K] as [K, 1]; the unit dim is
     * dropped from the result. */
    int64_t M = A->rank == 1 ? 1 : A->dims[A->rank - 2], K = A->dims[A->rank - 1];
    int64_t Kb = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2], N = B->rank == 1 ? 1 : B->dims[B->rank - 1];
    if (K != Kb)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul inner dims differ (%lld vs %lld)", (long long)K,
                        (long long)Kb);
    int32_t ab = A->rank > 2 ? A->rank - 2 : 0, bb = B->rank > 2 ? B->rank - 2 : 0;
    int32_t ob;
    int64_t od[CPU_MAX_RANK];
    if (!cpu_broadcast_shape(ab, A->dims, bb, B->dims, &ob, od))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul batch dims cannot be broadcast");
    int32_t yr = ob;
    if (A->rank > 1) od[yr++] = M;
    if (B->rank > 1) od[yr++] = N;
    if (yr > CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MatMul result rank too large");
    int64_t batches = cpu_shape_count(ob, od), total;
    if (!cpu_mul_ok(batches, M, &total) || !cpu_mul_ok(total, N, &total))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output size overflows");
    cpu_tensor *Y;
    prism_status rc = cpu_output(ctx, 0, dt, yr, od, &Y);
    if (rc || total == 0) return rc;

    /* Per-batch matrix offsets of A and B (broadcast dims repeat a matrix). */
    int64_t *aoff = malloc((size_t)batches * 2 * sizeof *aoff), *boff = aoff ? aoff + batches : NULL;
    float *af = NULL, *bf = NULL, *yf = NULL;
    if (!aoff) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    bool a_plain = true, b_shared = true; /* A's batches are its own; B is one matrix */
    {
        int64_t idx[CPU_MAX_RANK] = {0};
        for (int64_t bt = 0; bt < batches; bt++) {
            int64_t ao = 0, bo = 0;
            for (int32_t i = 0; i < ob; i++) {
                int32_t ia = i - (ob - ab), ib = i - (ob - bb);
                if (ia >= 0) ao = ao * A->dims[ia] + (A->dims[ia] == 1 ? 0 : idx[i]);
                if (ib >= 0) bo = bo * B->dims[ib] + (B->dims[ib] == 1 ? 0 : idx[i]);
            }
            aoff[bt] = ao * M * K;
            boff[bt] = bo * K * N;
            if (ao != bt) a_plain = false;
            if (bo != 0) b_shared = false;
            for (int32_t i = ob - 1; i >= 0; i--) {
                if (++idx[i] < od[i]) break;
                idx[i] = 0;
            }
        }
    }
    const void *ap = A->data, *bp = B->data;
    void *yp = Y->data;
    int32_t cdt = dt;
    if (cpu_dtype_is_half(dt)) {
        af = cpu_half_widen(A);
        bf = cpu_half_widen(B);
        yf = malloc((size_t)total * sizeof *yf);
        if (!af || !bf || !yf) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
        ap = af, bp = bf, yp = yf;
        cdt = PRISM_DTYPE_FLOAT;
    }
    if (cdt == PRISM_DTYPE_FLOAT) {
        float *y = yp;
        const float *a = ap, *b = bp;
        if (K == 0) {
            memset(y, 0, (size_t)total * sizeof *y);
        } else if (a_plain && b_shared) {
            /* Stacked A times one B: a single GEMM with batches*M rows. */
            cpu_sgemm(ctx, false, false, batches * M, N, K, 1.0f, a, K, b, N, 0.0f, y, N);
        } else {
            for (int64_t bt = 0; bt < batches; bt++)
                cpu_sgemm(ctx, false, false, M, N, K, 1.0f, a + aoff[bt], K, b + boff[bt], N, 0.0f,
                          y + bt * M * N, N);
        }
        if (yf) cpu_half_narrow(yf, Y);
    } else {
        naive_arg arg = {ap, bp, yp, aoff, boff, M, N, K, false, false, 1.0, 0.0, true, 1, 0};
        cpu_parallel_for(ctx, batches * M, naive_fn(cdt), &arg);
    }
done:
    free(aoff);
    free(af);
    free(bf);
    free(yf);
    return rc;
}

const cpu_kernel_def cpu_op_Gemm = {
    .prepare = gemm_prepare,
    .run = gemm_run,
    .release = gemm_release,
    .supports = gemm_supports,
};

const cpu_kernel_def cpu_op_MatMul = {
    .run = matmul_run,
    .supports = gemm_supports,
};
