/*
 * reduce.c — ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
 * ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp, ReduceSumSquare.
 *
 * Axes come from an attribute in old opsets and from an optional second
 * input in new ones (ReduceSum from 13, the others from 18).
 * noop_with_empty_axes with no axes reduces over nothing: every output is
 * its one input element passed through the op's element function (ReduceL1
 * becomes Abs, ReduceSumSquare Square ...), as the spec and reference say.
 *
 * Iteration: the input's dims are simplified (size-1 dims dropped, neighbours
 * of the same kind merged) into kept and reduced blocks. Each output element
 * walks its reduced elements as strided runs of the innermost reduced block;
 * outputs are split across threads for big inputs.
 *
 * Numerics: floating types (float16/bfloat16 via float) accumulate in double;
 * integer sums and products wrap like numpy's (computed in uint64); L2, the
 * logs and the mean of floats go through double.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP, R_SUMSQ };

#define RD_PAR_BYTES ((int64_t)1 << 18)

/* What one reduction walks. */
typedef struct rd_plan {
    int op;
    /* kept dims (output order) and their input strides */
    int nk;
    int64_t kd[CPU_MAX_RANK], ks[CPU_MAX_RANK];
    /* reduced dims; the last one is walked as a strided run */
    int nr;
    int64_t rd[CPU_MAX_RANK], rs[CPU_MAX_RANK];
    int64_t n; /* reduced element count per output */
    /* column mode: input is [outer, n, inner] with the middle reduced; work
     * items are (outer, chunk of RD_COL inner columns) so the inner loops run
     * across contiguous columns and vectorise */
    bool col;
    int64_t outer, inner, nchunk;
    const void *x;
    void *y;
} rd_plan;

#define RD_COL 64    /* columns per column-mode work item */
#define RD_LANES 16  /* independent accumulators of a contiguous run */
#define RD_BLOCK 512 /* elements summed in CT before adding to the double total */

typedef struct rd_acc {
    double d;   /* float families; L2 / logs for every type */
    uint64_t u; /* integer sums / products (wrapping) */
    double m;   /* LogSumExp: the shift (max of the set, 0 if not finite) */
    bool any;   /* max / min: an element has been seen */
} rd_acc;

/* Offset (elements) of the first input element of output o. */
static int64_t rd_base(const rd_plan *p, int64_t o)
{
    int64_t off = 0;
    for (int d = p->nk - 1; d >= 0; d--) {
        off += (o % p->kd[d]) * p->ks[d];
        o /= p->kd[d];
    }
    return off;
}

/*
 * One templated body per dtype family:
 *   NAME storage-name, T storage type, CT compute type, ISF float family,
 *   LD / ST convert between T and CT.
 */

/* Sum of f(x[i]) over a contiguous run, f an expression of v. RD_LANES
 * independent CT accumulators let the compiler vectorise without
 * reassociating; blocks of RD_BLOCK keep the CT partial sums short and the
 * total is kept in double. */
#define RD_LANE_SUM(T, CT, LD, x, n, F, total)                                  \
    for (int64_t i0 = 0; i0 < (n); i0 += RD_BLOCK) {                            \
        const int64_t e_ = i0 + RD_BLOCK < (n) ? i0 + RD_BLOCK : (n);           \
        CT acc_[RD_LANES] = {0};                                                \
        int64_t i = i0;                                                         \
        for (; i + RD_LANES <= e_; i += RD_LANES)                               \
            for (int j = 0; j < RD_LANES; j++) {                                \
                const CT v = LD((x)[i + j]);                                    \
                acc_[j] += (F);                                                 \
            }                                                                   \
        double t_ = 0;                                                          \
        for (; i < e_; i++) {                                                   \
            const CT v = LD((x)[i]);                                            \
            t_ += (double)(F);                                                  \
        }                                                                       \
        for (int j = 0; j < RD_LANES; j++)                                      \
            t_ += (double)acc_[j];                                              \
        (total) += t_;                                                          \
    }

#define RD_BODY(NAME, T, CT, ISF, LD, ST)                                                              \
    /* fold the run x[0], x[s], ... x[(n-1)s] into a (max / min keep their CT in *mm) */              \
    static void rd_run_seq_##NAME(int op, rd_acc *a, CT *mm, const T *x, int64_t n, int64_t s, double sub) \
    {                                                                                                  \
        const bool fl = ISF || op == R_L2 || op == R_LOGSUM; /* accumulates in a->d */                 \
        if (s == 1 && ISF && op != R_PROD && op != R_MAX && op != R_MIN && op != R_LOGSUMEXP) {      \
            switch (op) {                                                                              \
            case R_SUMSQ:                                                                              \
            case R_L2:                                                                                 \
                RD_LANE_SUM(T, CT, LD, x, n, v * v, a->d)                                              \
                return;                                                                                \
            case R_L1:                                                                                 \
                RD_LANE_SUM(T, CT, LD, x, n, v > (CT)0 ? v : (CT)0 - v, a->d)                                     \
                return;                                                                                \
            default:                                                                                   \
                RD_LANE_SUM(T, CT, LD, x, n, v, a->d)                                                  \
                return;                                                                                \
            }                                                                                          \
        }                                                                                              \
        switch (op) {                                                                                  \
        case R_SUM:                                                                                    \
        case R_MEAN:                                                                                   \
        case R_LOGSUM:                                                                                 \
            if (fl)                                                                                    \
                for (int64_t i = 0; i < n; i++)                                                        \
                    a->d += (double)LD(x[i * s]);                                                      \
            else                                                                                       \
                for (int64_t i = 0; i < n; i++)                                                        \
                    a->u += (uint64_t)LD(x[i * s]);                                                    \
            break;                                                                                     \
        case R_SUMSQ:                                                                                  \
            if (fl)                                                                                    \
                for (int64_t i = 0; i < n; i++) {                                                      \
                    const double v = (double)LD(x[i * s]);                                             \
                    a->d += v * v;                                                                     \
                }                                                                                      \
            else                                                                                       \
                for (int64_t i = 0; i < n; i++) {                                                      \
                    const uint64_t v = (uint64_t)LD(x[i * s]);                                         \
                    a->u += v * v;                                                                     \
                }                                                                                      \
            break;                                                                                     \
        case R_L2:                                                                                     \
            for (int64_t i = 0; i < n; i++) {                                                          \
                const double v = (double)LD(x[i * s]);                                                 \
                a->d += v * v;                                                                         \
            }                                                                                          \
            break;                                                                                     \
        case R_L1:                                                                                     \
            if (fl)                                                                                    \
                for (int64_t i = 0; i < n; i++)                                                        \
                    a->d += fabs((double)LD(x[i * s]));                                                \
            else                                                                                       \
                for (int64_t i = 0; i < n; i++) {                                                      \
                    const CT v = LD(x[i * s]);                                                         \
                    /* |v| without overflow: unsigned negation */                                     \
                    a->u += v < (CT)1 && v != (CT)0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;          \
                }                                                                                      \
            break;                                                                                     \
        case R_PROD:                                                                                   \
            if (fl)                                                                                    \
                for (int64_t i = 0; i < n; i++)                                                        \
                    a->d *= (double)LD(x[i * s]);                                                      \
            else                                                                                       \
                for (int64_t i = 0; i < n; i++)                                                        \
                    a->u *= (uint64_t)LD(x[i * s]);                                                    \
            break;                                                                                     \
        case R_MAX:                                                                                    \
        case R_MIN: {                                                                                  \
            if (n <= 0)                                                                                \
                break;                                                                                 \
            /* lanes of running extremes (vectorisable); NaN tracked aside so it propagates */        \
            CT lane[RD_LANES];                                                                         \
            bool nan = false;                                                                          \
            for (int j = 0; j < RD_LANES; j++)                                                         \
                lane[j] = LD(x[0]);                                                                    \
            int64_t i = 0;                                                                             \
            if (op == R_MAX) {                                                                         \
                for (; i + RD_LANES <= n; i += RD_LANES)                                               \
                    for (int j = 0; j < RD_LANES; j++) {                                               \
                        const CT v = LD(x[(i + j) * s]);                                               \
                        nan |= ISF && isnan((double)v);                                                          \
                        lane[j] = v > lane[j] ? v : lane[j];                                           \
                    }                                                                                  \
                for (; i < n; i++) {                                                                   \
                    const CT v = LD(x[i * s]);                                                         \
                    nan |= ISF && isnan((double)v);                                                              \
                    lane[0] = v > lane[0] ? v : lane[0];                                               \
                }                                                                                      \
            } else {                                                                                   \
                for (; i + RD_LANES <= n; i += RD_LANES)                                               \
                    for (int j = 0; j < RD_LANES; j++) {                                               \
                        const CT v = LD(x[(i + j) * s]);                                               \
                        nan |= ISF && isnan((double)v);                                                          \
                        lane[j] = v < lane[j] ? v : lane[j];                                           \
                    }                                                                                  \
                for (; i < n; i++) {                                                                   \
                    const CT v = LD(x[i * s]);                                                         \
                    nan |= ISF && isnan((double)v);                                                              \
                    lane[0] = v < lane[0] ? v : lane[0];                                               \
                }                                                                                      \
            }                                                                                          \
            CT m = a->any ? *mm : lane[0];                                                             \
            if (ISF && a->any && isnan((double)*mm))                                                           \
                nan = true;                                                                            \
            for (int j = 0; j < RD_LANES; j++)                                                         \
                m = (op == R_MAX ? lane[j] > m : lane[j] < m) ? lane[j] : m;                           \
            if (nan) /* find a NaN to return (any NaN will do) */                                      \
                for (int64_t k = 0; k < n; k++)                                                        \
                    if (isnan((double)LD(x[k * s]))) {                                                \
                        m = LD(x[k * s]);                                                              \
                        break;                                                                         \
                    }                                                                                  \
            *mm = (ISF && a->any && isnan((double)*mm)) ? *mm : m;                                             \
            a->any = true;                                                                             \
            break;                                                                                     \
        }                                                                                              \
        case R_LOGSUMEXP:                                                                              \
            for (int64_t i = 0; i < n; i++)                                                            \
                a->d += exp((double)LD(x[i * s]) - sub);                                               \
            break;                                                                                     \
        }                                                                                              \
    }                                                                                                  \
    /* walk every reduced element of the output at base */                                             \
    static void rd_visit_##NAME(const rd_plan *p, int op, rd_acc *a, CT *mm, const T *base, double sub) \
    {                                                                                                  \
        if (p->nr == 0) {                                                                              \
            rd_run_seq_##NAME(op, a, mm, base, 1, 1, sub);                                             \
            return;                                                                                    \
        }                                                                                              \
        const int last = p->nr - 1;                                                                    \
        int64_t idx[CPU_MAX_RANK] = {0}, off = 0;                                                      \
        for (;;) {                                                                                     \
            rd_run_seq_##NAME(op, a, mm, base + off, p->rd[last], p->rs[last], sub);                   \
            int d = last - 1;                                                                          \
            for (; d >= 0; d--) {                                                                      \
                off += p->rs[d];                                                                       \
                if (++idx[d] < p->rd[d])                                                               \
                    break;                                                                             \
                off -= p->rs[d] * p->rd[d];                                                            \
                idx[d] = 0;                                                                            \
            }                                                                                          \
            if (d < 0)                                                                                 \
                return;                                                                                \
        }                                                                                              \
    }                                                                                                  \
    /* the output value from a finished accumulation over n elements */                                \
    static T rd_finish_##NAME(int op, rd_acc *a, CT mm, int64_t n)                                     \
    {                                                                                                  \
        const bool sgn = !((CT)((CT)0 - (CT)1) > (CT)0); /* not unsigned */                           \
        double r = 0;                                                                                  \
        switch (op) {                                                                                  \
        case R_SUM:                                                                                    \
        case R_SUMSQ:                                                                                  \
        case R_L1:                                                                                     \
        case R_PROD:                                                                                   \
            if (!ISF)                                                                                  \
                return (T)(CT)a->u;                                                                    \
            r = a->d;                                                                                  \
            break;                                                                                     \
        case R_MEAN:                                                                                   \
            if (ISF) {                                                                                 \
                r = a->d / (double)n;                                                                  \
                break;                                                                                 \
            }                                                                                          \
            /* integer mean truncates, as numpy's mean(dtype=int) */                                   \
            if (n == 0)                                                                                \
                return (T)0;                                                                           \
            return sgn ? (T)(CT)((int64_t)a->u / n) : (T)(CT)(a->u / (uint64_t)n);                     \
        case R_MAX:                                                                                    \
        case R_MIN:                                                                                    \
            if (a->any)                                                                                \
                return ST(mm);                                                                         \
            r = op == R_MAX ? -INFINITY : INFINITY; /* empty set */                                    \
            break;                                                                                     \
        case R_L2:                                                                                     \
            r = sqrt(a->d);                                                                            \
            break;                                                                                     \
        case R_LOGSUM:                                                                                 \
            r = log(a->d);                                                                             \
            break;                                                                                     \
        case R_LOGSUMEXP:                                                                              \
            r = log(a->d) + a->m;                                                                      \
            break;                                                                                     \
        }                                                                                              \
        return ISF ? ST((CT)r) : rd_sat_##NAME(r);                                                     \
    }                                                                                                  \
    /* initial accumulator (product starts at 1) */                                                    \
    static inline rd_acc rd_init_##NAME(int op)                                                        \
    {                                                                                                  \
        rd_acc a = {0, 0, 0, false};                                                                   \
        if (op == R_PROD)                                                                              \
            a.d = 1, a.u = 1;                                                                          \
        return a;                                                                                      \
    }                                                                                                  \
    /* column mode: work items [begin, end) of (outer, RD_COL columns) */                              \
    static void rd_cols_##NAME(const rd_plan *p, int64_t begin, int64_t end)                           \
    {                                                                                                  \
        const T *x = p->x;                                                                             \
        T *y = p->y;                                                                                   \
        const int op = p->op;                                                                          \
        const bool fl = ISF || op == R_L2 || op == R_LOGSUM || op == R_LOGSUMEXP;                      \
        for (int64_t t = begin; t < end; t++) {                                                        \
            const int64_t o = t / p->nchunk, c0 = (t % p->nchunk) * RD_COL;                            \
            const int64_t w = c0 + RD_COL <= p->inner ? RD_COL : p->inner - c0;                        \
            const T *base = x + o * p->n * p->inner + c0;                                              \
            double ad[RD_COL], sh[RD_COL];                                                             \
            uint64_t au[RD_COL];                                                                       \
            CT am[RD_COL];                                                                             \
            bool nan[RD_COL];                                                                          \
            for (int64_t j = 0; j < w; j++) {                                                          \
                ad[j] = op == R_PROD ? 1 : 0;                                                          \
                au[j] = op == R_PROD ? 1 : 0;                                                          \
                sh[j] = 0;                                                                             \
                nan[j] = false;                                                                        \
            }                                                                                          \
            if (op == R_MAX || op == R_MIN || op == R_LOGSUMEXP) {                                     \
                const bool mx = op != R_MIN;                                                           \
                for (int64_t j = 0; j < w; j++)                                                        \
                    am[j] = LD(base[j]);                                                               \
                for (int64_t r = 0; r < p->n; r++) {                                                   \
                    const T *row = base + r * p->inner;                                                \
                    for (int64_t j = 0; j < w; j++) {                                                  \
                        const CT v = LD(row[j]);                                                       \
                        nan[j] |= ISF && isnan((double)v);                                                       \
                        am[j] = (mx ? v > am[j] : v < am[j]) ? v : am[j];                              \
                    }                                                                                  \
                }                                                                                      \
                for (int64_t j = 0; j < w; j++)                                                        \
                    if (nan[j])                                                                        \
                        am[j] = (CT)NAN;                                                               \
            }                                                                                          \
            if (op == R_LOGSUMEXP) {                                                                   \
                /* like the reference, infinities do not shift */                                      \
                for (int64_t j = 0; j < w; j++)                                                        \
                    sh[j] = isfinite((double)am[j]) ? (double)am[j] : 0;                               \
                for (int64_t r = 0; r < p->n; r++) {                                                   \
                    const T *row = base + r * p->inner;                                                \
                    for (int64_t j = 0; j < w; j++)                                                    \
                        ad[j] += exp((double)LD(row[j]) - sh[j]);                                      \
                }                                                                                      \
            } else if (op != R_MAX && op != R_MIN) {                                                   \
                for (int64_t r = 0; r < p->n; r++) {                                                   \
                    const T *row = base + r * p->inner;                                                \
                    switch (op) {                                                                      \
                    case R_SUMSQ:                                                                      \
                    case R_L2:                                                                         \
                        if (fl)                                                                        \
                            for (int64_t j = 0; j < w; j++) {                                          \
                                const double v = (double)LD(row[j]);                                   \
                                ad[j] += v * v;                                                        \
                            }                                                                          \
                        else                                                                           \
                            for (int64_t j = 0; j < w; j++) {                                          \
                                const uint64_t v = (uint64_t)LD(row[j]);                               \
                                au[j] += v * v;                                                        \
                            }                                                                          \
                        break;                                                                         \
                    case R_L1:                                                                         \
                        if (fl)                                                                        \
                            for (int64_t j = 0; j < w; j++)                                            \
                                ad[j] += fabs((double)LD(row[j]));                                     \
                        else                                                                           \
                            for (int64_t j = 0; j < w; j++) {                                          \
                                const CT v = LD(row[j]);                                               \
                                au[j] += v < (CT)1 && v != (CT)0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v; \
                            }                                                                          \
                        break;                                                                         \
                    case R_PROD:                                                                       \
                        if (fl)                                                                        \
                            for (int64_t j = 0; j < w; j++)                                            \
                                ad[j] *= (double)LD(row[j]);                                           \
                        else                                                                           \
                            for (int64_t j = 0; j < w; j++)                                            \
                                au[j] *= (uint64_t)LD(row[j]);                                         \
                        break;                                                                         \
                    default: /* sum, mean, log-sum */                                                  \
                        if (fl)                                                                        \
                            for (int64_t j = 0; j < w; j++)                                            \
                                ad[j] += (double)LD(row[j]);                                           \
                        else                                                                           \
                            for (int64_t j = 0; j < w; j++)                                            \
                                au[j] += (uint64_t)LD(row[j]);                                         \
                    }                                                                                  \
                }                                                                                      \
            }                                                                                          \
            for (int64_t j = 0; j < w; j++) {                                                          \
                rd_acc a = {ad[j], au[j], sh[j], true};                                                \
                y[o * p->inner + c0 + j] = rd_finish_##NAME(op, &a, op == R_LOGSUMEXP ? (CT)0 : am[j], p->n); \
            }                                                                                          \
        }                                                                                              \
    }                                                                                                  \
    static void rd_fn_##NAME(void *arg, int64_t begin, int64_t end)                                    \
    {                                                                                                  \
        const rd_plan *p = arg;                                                                        \
        if (p->col) {                                                                                  \
            rd_cols_##NAME(p, begin, end);                                                             \
            return;                                                                                    \
        }                                                                                              \
        const T *x = p->x;                                                                             \
        T *y = p->y;                                                                                   \
        for (int64_t o = begin; o < end; o++) {                                                        \
            const T *base = x + rd_base(p, o);                                                         \
            rd_acc a = rd_init_##NAME(p->op);                                                          \
            CT mm = (CT)0;                                                                             \
            if (p->op == R_LOGSUMEXP) {                                                                \
                rd_visit_##NAME(p, R_MAX, &a, &mm, base, 0);                                           \
                /* like the reference, infinities do not shift */                                      \
                a.m = a.any && isfinite((double)mm) ? (double)mm : 0;                                  \
                a.any = false;                                                                         \
            }                                                                                          \
            rd_visit_##NAME(p, p->op, &a, &mm, base, a.m);                                             \
            y[o] = rd_finish_##NAME(p->op, &a, mm, p->n);                                              \
        }                                                                                              \
    }

/* double -> integer with saturation (NaN -> 0): the reference's cast of an
 * out-of-range value is undefined, this at least never traps. */
#define RD_SAT(NAME, T)                                                                           \
    static inline T rd_sat_##NAME(double v)                                                       \
    {                                                                                             \
        const bool sgn = (T)~(T)0 < (T)1;                                                         \
        const T hi = sgn ? (T)(((uint64_t)1 << (sizeof(T) * 8 - 1)) - 1) : (T) ~(T)0;             \
        const T lo = sgn ? (T)(-hi - 1) : (T)0;                                                   \
        return v != v ? (T)0 : v <= (double)lo ? lo : v >= (double)hi ? hi : (T)v;               \
    }
#define RD_SAT_F(NAME, T)                       \
    static inline T rd_sat_##NAME(double v)     \
    {                                           \
        return (T)v;                            \
    }

#define RD_ID(x) (x)
#define RD_LD_H(x) cpu_half_to_float(x)
#define RD_ST_H(x) cpu_float_to_half(x)
#define RD_LD_B(x) cpu_bf16_to_float(x)
#define RD_ST_B(x) cpu_float_to_bf16(x)

#define RD_PLAIN_F(E, T) RD_SAT_F(T, T) RD_BODY(T, T, T, 1, RD_ID, RD_ID)
#define RD_PLAIN_I(E, T) RD_SAT(T, T) RD_BODY(T, T, T, 0, RD_ID, RD_ID)
CPU_FOR_FLOAT_TYPES(RD_PLAIN_F)
CPU_FOR_INT_TYPES(RD_PLAIN_I)
RD_SAT_F(f16, uint16_t)
RD_BODY(f16, uint16_t, float, 1, RD_LD_H, RD_ST_H)
RD_SAT_F(bf16, uint16_t)
RD_BODY(bf16, uint16_t, float, 1, RD_LD_B, RD_ST_B)

static void (*rd_fn_for(int32_t dt, int op))(void *, int64_t, int64_t)
{
#define RD_CASE(E, T) \
    case E:           \
        return rd_fn_##T;
    switch (dt) {
        CPU_FOR_NUMERIC_TYPES(RD_CASE)
    case PRISM_DTYPE_FLOAT16:
        return rd_fn_f16;
    case PRISM_DTYPE_BFLOAT16:
        return rd_fn_bf16;
    case PRISM_DTYPE_BOOL:
        /* bool max/min (opset 20) are or/and: uint8 max/min on 0/1 */
        return op == R_MAX || op == R_MIN ? rd_fn_uint8_t : NULL;
    default:
        return NULL;
    }
#undef RD_CASE
}

/* The op of each kernel, looked up from the node's op type. */
static int rd_op_of(const char *op)
{
    static const struct {
        const char *name;
        int op;
    } map[] = {{"ReduceSum", R_SUM},       {"ReduceMean", R_MEAN},
               {"ReduceMax", R_MAX},       {"ReduceMin", R_MIN},
               {"ReduceProd", R_PROD},     {"ReduceL1", R_L1},
               {"ReduceL2", R_L2},         {"ReduceLogSum", R_LOGSUM},
               {"ReduceLogSumExp", R_LOGSUMEXP}, {"ReduceSumSquare", R_SUMSQ}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (!strcmp(op, map[i].name))
            return map[i].op;
    return -1;
}

static bool reduce_supports(const cpu_node *node)
{
    int op = rd_op_of(cpu_node_op(node));
    int32_t dt = cpu_node_input_dtype(node, 0);
    return op >= 0 && (dt == 0 || rd_fn_for(dt, op) != NULL);
}

static prism_status reduce_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    const char *name = cpu_node_op(node);
    const int op = rd_op_of(name);
    if (op < 0)
        return cpu_fail(ctx, PRISM_ERR_INTERNAL, "not a reduction");
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs data", name);
    const cpu_tensor *x = in[0];
    const int32_t r = x->rank;
    void (*fn)(void *, int64_t, int64_t) = rd_fn_for(x->dtype, op);
    if (!fn)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s of type %s is not supported", name,
                        cpu_dtype_name(x->dtype));
    /* Axes: attribute until ReduceSum-13 / the others' opset 18, then input. */
    const bool axes_input = cpu_node_opset(node) >= (op == R_SUM ? 13 : 18);
    int64_t axes[CPU_MAX_RANK];
    size_t na = 0;
    if (axes_input) {
        if (n_in > 1 && in[1]) {
            const cpu_tensor *t = in[1];
            if (t->rank > 1 || (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s axes must be a 1-D int64 tensor", name);
            if (t->count > CPU_MAX_RANK)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s has %lld axes for rank %d", name, (long long)t->count,
                                (int)r);
            for (int64_t i = 0; i < t->count; i++)
                axes[i] = cpu_tensor_int(t, i);
            na = (size_t)t->count;
        }
    } else {
        const int64_t *a;
        na = cpu_attr_ints(node, "axes", &a);
        if (na > CPU_MAX_RANK)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s has %zu axes for rank %d", name, na, (int)r);
        if (na)
            memcpy(axes, a, na * sizeof *a);
    }
    const bool keep = cpu_attr_int(node, "keepdims", 1) != 0;
    const bool noop = cpu_attr_int(node, "noop_with_empty_axes", 0) != 0;
    bool red[CPU_MAX_RANK] = {false};
    if (na == 0) {
        /* no axes: everything, or (noop_with_empty_axes) nothing */
        for (int32_t d = 0; d < r; d++)
            red[d] = !noop;
    } else {
        for (size_t i = 0; i < na; i++) {
            int64_t a;
            if (!cpu_norm_axis(axes[i], r, &a))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s axis %lld out of range for rank %d", name,
                                (long long)axes[i], (int)r);
            if (red[a])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s axis %lld repeated", name, (long long)axes[i]);
            red[a] = true;
        }
    }
    int64_t dims[CPU_MAX_RANK], xs[CPU_MAX_RANK], s = 1;
    int32_t orank = 0;
    for (int32_t d = r - 1; d >= 0; d--) {
        xs[d] = s;
        s *= x->dims[d];
    }
    rd_plan p = {.op = op, .n = 1, .x = x->data};
    for (int32_t d = 0; d < r; d++) {
        if (!red[d])
            dims[orank++] = x->dims[d];
        else {
            if (keep)
                dims[orank++] = 1;
            p.n *= x->dims[d];
        }
        /* size-1 dims change nothing; neighbours of one kind that are
         * contiguous merge into one block */
        if (x->dims[d] == 1)
            continue;
        int *cnt = red[d] ? &p.nr : &p.nk;
        int64_t *bd = red[d] ? p.rd : p.kd, *bs = red[d] ? p.rs : p.ks;
        if (*cnt > 0 && bs[*cnt - 1] == xs[d] * x->dims[d]) {
            bd[*cnt - 1] *= x->dims[d];
            bs[*cnt - 1] = xs[d];
        } else {
            bd[*cnt] = x->dims[d];
            bs[*cnt] = xs[d];
            (*cnt)++;
        }
    }
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, orank, dims, &y);
    if (st || y->count == 0)
        return st;
    p.y = y->data;
    if (x->dtype == PRISM_DTYPE_BOOL && p.n == 0) {
        /* bool over an empty set: max is false, min is true */
        memset(y->data, op == R_MIN, (size_t)y->count);
        return PRISM_OK;
    }
    /* With an empty reduced dim a kept dim may still be non-empty: the walk
     * must not read anything then. */
    if (p.n == 0)
        p.nr = 1, p.rd[0] = 0, p.rs[0] = 0;
    /* [outer, n, inner] with contiguous inner columns: column mode */
    int64_t items = y->count;
    if (p.n > 0 && p.nr == 1 && p.nk >= 1 && p.nk <= 2 && p.ks[p.nk - 1] == 1 && p.rs[0] == p.kd[p.nk - 1] &&
        p.kd[p.nk - 1] >= 8 && (p.nk == 1 || p.ks[0] == p.n * p.kd[1])) {
        p.col = true;
        p.inner = p.kd[p.nk - 1];
        p.outer = p.nk == 2 ? p.kd[0] : 1;
        p.nchunk = (p.inner + RD_COL - 1) / RD_COL;
        items = p.outer * p.nchunk;
    }
    const int64_t bytes = x->count * (int64_t)cpu_dtype_size(x->dtype);
    if (items > 1 && bytes >= RD_PAR_BYTES && cpu_threads(ctx) > 1)
        cpu_parallel_for(ctx, items, fn, &p);
    else
        fn(&p, 0, items);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_ReduceSum = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceMean = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceMax = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceMin = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceProd = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceL1 = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceL2 = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceLogSum = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceLogSumExp = {.run = reduce_run, .supports = reduce_supports};
const cpu_kernel_def cpu_op_ReduceSumSquare = {.run = reduce_run, .supports = reduce_supports};
