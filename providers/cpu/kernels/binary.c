/*
 * binary.c — elementwise ops with numpy broadcasting: arithmetic, comparison,
 * logic, bitwise, Pow, Mod, PRelu, variadic Sum/Mean/Max/Min and Where.
 *
 * Structure:
 *  - one N-ary broadcast iterator (ew_plan + ew_walk + ew_run): the output
 *    shape is walked in rows of the innermost (collapsed) dimension; every
 *    input advances by 0 or 1 element per output element inside a row, so
 *    same-shape operands become one long contiguous row and a scalar operand
 *    becomes stride 0. Large outputs are split in blocks across threads.
 *  - row kernels `ew_<Op>_<DTYPE>(out, a, b, n, sa, sb)` instantiated from one
 *    expression per op and type family through X-macros, collected in tables
 *    indexed by dtype.
 *  - thin run functions that validate, compute the output shape, allocate and
 *    call the iterator.
 *
 * Integer arithmetic never relies on signed overflow (UB in C): it is done in
 * uint64_t and converted back (modular, as numpy and ONNX Runtime behave).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "cpu_kernel.h"

/* ==== type lists ========================================================== */

/* Float family: X(A, DTYPE suffix, storage type, compute type, load, store).
 * float16/bfloat16 are computed in float. */
#define EW_ID(v) (v)
#define EW_FLOAT_TYPES(X, A)                                                 \
    X(A, FLOAT, float, float, EW_ID, EW_ID)                                  \
    X(A, DOUBLE, double, double, EW_ID, EW_ID)                               \
    X(A, FLOAT16, uint16_t, float, cpu_half_to_float, cpu_float_to_half)     \
    X(A, BFLOAT16, uint16_t, float, cpu_bf16_to_float, cpu_float_to_bf16)
/* Integer families: X(A, DTYPE suffix, type). */
#define EW_SINT_TYPES(X, A) X(A, INT8, int8_t) X(A, INT16, int16_t) X(A, INT32, int32_t) X(A, INT64, int64_t)
#define EW_UINT_TYPES(X, A) X(A, UINT8, uint8_t) X(A, UINT16, uint16_t) X(A, UINT32, uint32_t) X(A, UINT64, uint64_t)

#define EW_NDT 17 /* dtype enum values 0..16 */

/* Table entry `[PRISM_DTYPE_X] = ew_<Op>_X,` usable with any type list. */
#define EW_TAB(OP, E, ...) [PRISM_DTYPE_##E] = ew_##OP##_##E,

typedef char *ew_str;        /* storage of a STRING element */
typedef const char *ew_cstr; /* its value while comparing */

/* ==== broadcast iterator ================================================== */

#define EW_MAX_IN 3
/* Elements per parallel task: large enough that the split overhead is
 * negligible even for the cheapest op (an add). */
#define EW_BLOCK ((int64_t)1 << 15)

typedef struct ew_plan {
    int32_t rank; /* collapsed rank, >= 1 */
    int n_in;
    int64_t total;
    int64_t dims[CPU_MAX_RANK];
    int64_t strides[EW_MAX_IN][CPU_MAX_RANK]; /* element strides; 0 = broadcast */
} ew_plan;

/* Called for each row: n output elements starting at out_off; input k starts
 * at in_off[k] and advances by plan->strides[k][rank-1] (0 or 1). */
typedef void (*ew_visit_fn)(void *arg, int64_t out_off, const int64_t *in_off, int64_t n);

/* Build a plan for an output of shape (out_rank, out_dims) and n_in inputs
 * whose shapes broadcast to it (right-aligned, numpy style; the caller has
 * checked compatibility). Dimensions of size 1 are dropped and adjacent
 * dimensions that are contiguous for every input are merged, so the common
 * cases become one or two loops. */
static void ew_plan_make(ew_plan *p, int32_t out_rank, const int64_t *out_dims, int n_in, const int32_t *ranks,
                         const int64_t *const *dims) {
    int64_t st[EW_MAX_IN][CPU_MAX_RANK];
    p->n_in = n_in;
    p->total = cpu_shape_count(out_rank, out_dims);
    for (int k = 0; k < n_in; k++) {
        int64_t s = 1;
        for (int32_t d = out_rank - 1; d >= 0; d--) {
            int32_t j = d - (out_rank - ranks[k]);
            if (j < 0 || dims[k][j] == 1) {
                st[k][d] = 0;
            } else {
                st[k][d] = s;
                s *= dims[k][j];
            }
        }
    }
    int32_t r = 0;
    for (int32_t d = 0; d < out_rank; d++) {
        if (out_dims[d] == 1)
            continue;
        bool merge = r > 0;
        for (int k = 0; k < n_in && merge; k++)
            merge = p->strides[k][r - 1] == st[k][d] * out_dims[d];
        if (merge) {
            p->dims[r - 1] *= out_dims[d];
            for (int k = 0; k < n_in; k++)
                p->strides[k][r - 1] = st[k][d];
        } else {
            p->dims[r] = out_dims[d];
            for (int k = 0; k < n_in; k++)
                p->strides[k][r] = st[k][d];
            r++;
        }
    }
    if (r == 0) { /* a scalar output */
        p->dims[0] = 1;
        for (int k = 0; k < n_in; k++)
            p->strides[k][0] = 0;
        r = 1;
    }
    p->rank = r;
}

/* Visit output elements [begin, end) row by row. */
static void ew_walk(const ew_plan *p, int64_t begin, int64_t end, ew_visit_fn visit, void *arg) {
    const int32_t r = p->rank;
    int64_t idx[CPU_MAX_RANK];
    int64_t off[EW_MAX_IN] = {0};
    int64_t rem = begin;
    for (int32_t d = r - 1; d >= 0; d--) {
        idx[d] = rem % p->dims[d];
        rem /= p->dims[d];
    }
    for (int k = 0; k < p->n_in; k++)
        for (int32_t d = 0; d < r; d++)
            off[k] += idx[d] * p->strides[k][d];
    const int64_t inner = p->dims[r - 1];
    int64_t pos = begin;
    while (pos < end) {
        int64_t n = inner - idx[r - 1];
        if (n > end - pos)
            n = end - pos;
        visit(arg, pos, off, n);
        pos += n;
        if (pos >= end)
            break;
        idx[r - 1] += n;
        for (int k = 0; k < p->n_in; k++)
            off[k] += n * p->strides[k][r - 1];
        /* carry into outer dimensions */
        for (int32_t d = r - 1; d > 0 && idx[d] == p->dims[d]; d--) {
            idx[d] = 0;
            idx[d - 1]++;
            for (int k = 0; k < p->n_in; k++)
                off[k] += p->strides[k][d - 1] - p->dims[d] * p->strides[k][d];
        }
    }
}

typedef struct ew_par {
    const ew_plan *plan;
    ew_visit_fn visit;
    void *arg;
} ew_par;

static void ew_par_fn(void *arg, int64_t b, int64_t e) {
    const ew_par *j = arg;
    int64_t end = e * EW_BLOCK;
    if (end > j->plan->total)
        end = j->plan->total;
    ew_walk(j->plan, b * EW_BLOCK, end, j->visit, j->arg);
}

/* Run a plan, in parallel blocks when it is large. */
static void ew_run(cpu_ctx *ctx, const ew_plan *p, ew_visit_fn visit, void *arg, bool parallel_ok) {
    if (p->total <= 0)
        return;
    int64_t blocks = (p->total + EW_BLOCK - 1) / EW_BLOCK;
    if (parallel_ok && blocks > 1 && cpu_threads(ctx) > 1) {
        ew_par j = {p, visit, arg};
        cpu_parallel_for(ctx, blocks, ew_par_fn, &j);
    } else {
        ew_walk(p, 0, p->total, visit, arg);
    }
}

/* Broadcast the shapes of n tensors (numpy rules). */
static bool ew_broadcast_n(const cpu_tensor *const *t, int n, int32_t *rank, int64_t *dims) {
    *rank = t[0]->rank;
    memcpy(dims, t[0]->dims, sizeof(int64_t) * (size_t)t[0]->rank);
    for (int k = 1; k < n; k++) {
        int64_t tmp[CPU_MAX_RANK];
        int32_t r;
        if (!cpu_broadcast_shape(*rank, dims, t[k]->rank, t[k]->dims, &r, tmp))
            return false;
        *rank = r;
        memcpy(dims, tmp, sizeof(int64_t) * (size_t)r);
    }
    return true;
}

/* "[2,3,4]" for error messages. */
static const char *ew_shape_str(const cpu_tensor *t, char *buf, size_t cap) {
    size_t len = 0;
    len += (size_t)snprintf(buf + len, cap - len, "[");
    for (int32_t d = 0; d < t->rank && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d ? ",%lld" : "%lld", (long long)t->dims[d]);
    if (len < cap)
        snprintf(buf + len, cap - len, "]");
    return buf;
}

static char *ew_strdup(const char *s) {
    if (!s)
        s = "";
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

/* ==== integer helpers (no UB for any operand) ============================ */

static inline int64_t ew_sdiv(int64_t a, int64_t b) {
    if (b == 0)
        return 0; /* numpy's integer division by zero gives 0 */
    if (b == -1)
        return (int64_t)(0 - (uint64_t)a); /* INT_MIN / -1 wraps */
    return a / b;
}
static inline int64_t ew_srem(int64_t a, int64_t b) {
    return (b == 0 || b == -1) ? 0 : a % b;
}
/* Remainder with the sign of the divisor (Python / numpy mod). */
static inline int64_t ew_smod(int64_t a, int64_t b) {
    int64_t r = ew_srem(a, b);
    if (r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}
static inline uint64_t ew_upow(uint64_t base, uint64_t e) {
    uint64_t r = 1;
    while (e) {
        if (e & 1)
            r *= base;
        base *= base;
        e >>= 1;
    }
    return r;
}
/* Integer power; a negative exponent truncates 1/base^-e toward zero, as
 * C++'s static_cast<T>(std::pow(b, e)) does. */
static inline int64_t ew_spow(int64_t base, int64_t e) {
    if (e < 0) {
        if (base == 1)
            return 1;
        if (base == -1)
            return (e & 1) ? -1 : 1;
        return 0;
    }
    return (int64_t)ew_upow((uint64_t)base, (uint64_t)e);
}

/* float -> integer conversion without UB: truncate, NaN -> 0, saturate to the
 * int64/uint64 range; narrower types then wrap like an integer cast. */
static inline int64_t ew_f2i64(double v) {
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}
static inline uint64_t ew_f2u64(double v) {
    if (v != v)
        return 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    if (v < 0)
        return (uint64_t)ew_f2i64(v); /* negative values wrap, like numpy */
    return (uint64_t)v;
}

/* Floating modulo with the sign of the divisor (numpy mod / Mod fmod=0). */
static inline float ew_pymodf(float a, float b) {
    float r = fmodf(a, b);
    if (r != 0) {
        if ((r < 0) != (b < 0))
            r += b;
    } else {
        r = copysignf(0.0f, b);
    }
    return r;
}
static inline double ew_pymodd(double a, double b) {
    double r = fmod(a, b);
    if (r != 0) {
        if ((r < 0) != (b < 0))
            r += b;
    } else {
        r = copysign(0.0, b);
    }
    return r;
}

/* c ? a : b with both arms computed, as a bit-mask select for float: GCC's
 * default -ftrapping-math will not if-convert a ?: whose arm does float
 * arithmetic, which would keep the whole row loop scalar. */
static inline float ew_self(int c, float a, float b) {
    uint32_t ua, ub;
    memcpy(&ua, &a, sizeof ua);
    memcpy(&ub, &b, sizeof ub);
    const uint32_t m = 0u - (uint32_t)(c != 0);
    const uint32_t r = (ua & m) | (ub & ~m);
    float f;
    memcpy(&f, &r, sizeof f);
    return f;
}
static inline double ew_seld(int c, double a, double b) { return c ? a : b; }
#define EW_SEL(c, a, b) _Generic((a), float: ew_self, default: ew_seld)((c), (a), (b))

/* ==== row kernels ========================================================= */

/* Binary row: n outputs; sa/sb are the operands' element strides (0 or 1). */
typedef void (*ew_bin_fn)(void *o, const void *a, const void *b, int64_t n, int64_t sa, int64_t sb);

/* The one loop body of every binary op. EXPR uses `a` and `b` (values of
 * compute type CT) and yields the value passed to ST. The four cases let the
 * compiler vectorise the contiguous and the scalar-operand loops. */
#define EW_BIN_LOOP(T, OT, CT, LD, ST, EXPR)                                  \
    const T *pa = a_;                                                         \
    const T *pb = b_;                                                         \
    OT *o = o_;                                                               \
    if (sa && sb) {                                                           \
        for (int64_t i = 0; i < n; i++) {                                     \
            const CT a = LD(pa[i]);                                           \
            const CT b = LD(pb[i]);                                           \
            o[i] = ST(EXPR);                                                  \
        }                                                                     \
    } else if (sa) {                                                          \
        const CT b = LD(pb[0]);                                               \
        for (int64_t i = 0; i < n; i++) {                                     \
            const CT a = LD(pa[i]);                                           \
            o[i] = ST(EXPR);                                                  \
        }                                                                     \
    } else if (sb) {                                                          \
        const CT a = LD(pa[0]);                                               \
        for (int64_t i = 0; i < n; i++) {                                     \
            const CT b = LD(pb[i]);                                           \
            o[i] = ST(EXPR);                                                  \
        }                                                                     \
    } else {                                                                  \
        const CT a = LD(pa[0]);                                               \
        const CT b = LD(pb[0]);                                               \
        const OT v = ST(EXPR);                                                \
        for (int64_t i = 0; i < n; i++)                                       \
            o[i] = v;                                                         \
    }

#define EW_BIN_SIG(NAME) \
    static void NAME(void *o_, const void *a_, const void *b_, int64_t n, int64_t sa, int64_t sb)

/* Instantiate op OP for one type of each family: OPF_/OPS_/OPU_<OP>(type, a, b)
 * give the float, signed and unsigned expressions. */
#define EW_DEF_F(OP, E, T, CT, LD, ST) EW_BIN_SIG(ew_##OP##_##E) { EW_BIN_LOOP(T, T, CT, LD, ST, OPF_##OP(CT, a, b)) }
#define EW_DEF_S(OP, E, T) EW_BIN_SIG(ew_##OP##_##E) { EW_BIN_LOOP(T, T, T, EW_ID, EW_ID, OPS_##OP(T, a, b)) }
#define EW_DEF_U(OP, E, T) EW_BIN_SIG(ew_##OP##_##E) { EW_BIN_LOOP(T, T, T, EW_ID, EW_ID, OPU_##OP(T, a, b)) }
/* Comparisons: bool output. */
#define EW_BOOL(v) ((uint8_t)((v) ? 1 : 0))
#define EW_CMP_F(OP, E, T, CT, LD, ST) EW_BIN_SIG(ew_##OP##_##E) { EW_BIN_LOOP(T, uint8_t, CT, LD, EW_BOOL, OPC_##OP(a, b)) }
#define EW_CMP_I(OP, E, T) EW_BIN_SIG(ew_##OP##_##E) { EW_BIN_LOOP(T, uint8_t, T, EW_ID, EW_BOOL, OPC_##OP(a, b)) }

/* ---- arithmetic ---- */
#define OPF_Add(CT, a, b) ((a) + (b))
#define OPS_Add(T, a, b) ((T)((uint64_t)(a) + (uint64_t)(b)))
#define OPU_Add OPS_Add
#define OPF_Sub(CT, a, b) ((a) - (b))
#define OPS_Sub(T, a, b) ((T)((uint64_t)(a) - (uint64_t)(b)))
#define OPU_Sub OPS_Sub
#define OPF_Mul(CT, a, b) ((a) * (b))
#define OPS_Mul(T, a, b) ((T)((uint64_t)(a) * (uint64_t)(b)))
#define OPU_Mul OPS_Mul
#define OPF_Div(CT, a, b) ((a) / (b))
#define OPS_Div(T, a, b) ((T)ew_sdiv((a), (b)))
#define OPU_Div(T, a, b) ((T)((b) ? (uint64_t)(a) / (uint64_t)(b) : 0))
/* Max/Min propagate NaN, like numpy's maximum/minimum. */
#define OPF_Max(CT, a, b) ((((a) > (b)) | ((a) != (a))) ? (a) : (b))
#define OPS_Max(T, a, b) ((a) > (b) ? (a) : (b))
#define OPU_Max OPS_Max
#define OPF_Min(CT, a, b) ((((a) < (b)) | ((a) != (a))) ? (a) : (b))
#define OPS_Min(T, a, b) ((a) < (b) ? (a) : (b))
#define OPU_Min OPS_Min
/* Mod fmod=1: truncated remainder (sign of the dividend). */
#define OPF_ModT(CT, a, b) fmod((a), (b))
#define OPS_ModT(T, a, b) ((T)ew_srem((a), (b)))
#define OPU_ModT(T, a, b) ((T)((b) ? (uint64_t)(a) % (uint64_t)(b) : 0))
/* Mod fmod=0: floored remainder (sign of the divisor). */
#define OPF_ModF(CT, a, b) _Generic((a), float: ew_pymodf, default: ew_pymodd)((a), (b))
#define OPS_ModF(T, a, b) ((T)ew_smod((a), (b)))
#define OPU_ModF OPU_ModT
#define OPF_Pow(CT, a, b) pow((a), (b))
#define OPS_Pow(T, a, b) ((T)ew_spow((a), (b)))
#define OPU_Pow(T, a, b) ((T)ew_upow((a), (b)))
/* PRelu: a = x, b = slope. */
#define OPF_PRelu(CT, a, b) EW_SEL((a) < 0, (a) * (b), (a))
#define OPS_PRelu(T, a, b) ((a) < 0 ? OPS_Mul(T, a, b) : (a))
#define OPU_PRelu(T, a, b) ((void)(b), (a))

#define EW_ARITH_OPS(Y) Y(Add) Y(Sub) Y(Mul) Y(Div) Y(Max) Y(Min) Y(ModT) Y(ModF) Y(Pow) Y(PRelu)
#define EW_INST_ARITH(OP) EW_FLOAT_TYPES(EW_DEF_F, OP) EW_SINT_TYPES(EW_DEF_S, OP) EW_UINT_TYPES(EW_DEF_U, OP)
EW_ARITH_OPS(EW_INST_ARITH)

/* ---- comparisons (all numeric types and bool; Equal also strings) ---- */
#define OPC_Eq(a, b) ((a) == (b))
#define OPC_Lt(a, b) ((a) < (b))
#define OPC_Gt(a, b) ((a) > (b))
#define OPC_Le(a, b) ((a) <= (b))
#define OPC_Ge(a, b) ((a) >= (b))
#define EW_BOOL_TYPE(X, A) X(A, BOOL, uint8_t)
#define EW_CMP_OPS(Y) Y(Eq) Y(Lt) Y(Gt) Y(Le) Y(Ge)
#define EW_INST_CMP(OP) \
    EW_FLOAT_TYPES(EW_CMP_F, OP) EW_SINT_TYPES(EW_CMP_I, OP) EW_UINT_TYPES(EW_CMP_I, OP) EW_BOOL_TYPE(EW_CMP_I, OP)
EW_CMP_OPS(EW_INST_CMP)

#define EW_STR_LD(s) ((s) ? (s) : "")
EW_BIN_SIG(ew_Eq_STRING) { EW_BIN_LOOP(ew_str, uint8_t, ew_cstr, EW_STR_LD, EW_BOOL, strcmp(a, b) == 0) }

/* ---- logic (bool) ---- */
EW_BIN_SIG(ew_And_BOOL) { EW_BIN_LOOP(uint8_t, uint8_t, uint8_t, EW_ID, EW_BOOL, a && b) }
EW_BIN_SIG(ew_Or_BOOL) { EW_BIN_LOOP(uint8_t, uint8_t, uint8_t, EW_ID, EW_BOOL, a || b) }
EW_BIN_SIG(ew_Xor_BOOL) { EW_BIN_LOOP(uint8_t, uint8_t, uint8_t, EW_ID, EW_BOOL, (a != 0) != (b != 0)) }

/* ---- bitwise (integers) ---- */
#define OPS_BitAnd(T, a, b) ((T)((a) & (b)))
#define OPU_BitAnd OPS_BitAnd
#define OPS_BitOr(T, a, b) ((T)((a) | (b)))
#define OPU_BitOr OPS_BitOr
#define OPS_BitXor(T, a, b) ((T)((a) ^ (b)))
#define OPU_BitXor OPS_BitXor
/* BitShift: a shift by a negative amount or by the width or more yields what
 * the sign extension alone gives (0, or -1 for a right shift of a negative
 * value); left shifts go through the unsigned type. */
#define EW_BITS(T) ((int64_t)sizeof(T) * 8)
#define OPU_Shl(T, a, b) ((T)((uint64_t)(b) >= (uint64_t)EW_BITS(T) ? 0 : (uint64_t)(a) << (b)))
#define OPU_Shr(T, a, b) ((T)((uint64_t)(b) >= (uint64_t)EW_BITS(T) ? 0 : (uint64_t)(a) >> (b)))
#define OPS_Shl(T, a, b) ((T)(((b) < 0 || (b) >= EW_BITS(T)) ? 0 : (uint64_t)(a) << (b)))
#define OPS_Shr(T, a, b) ((T)(((b) < 0 || (b) >= EW_BITS(T)) ? ((a) < 0 ? -1 : 0) : ew_sar((a), (b))))
/* Arithmetic right shift without relying on implementation-defined >> of a
 * negative value. */
static inline int64_t ew_sar(int64_t a, int64_t s) {
    return a < 0 ? ~(int64_t)(~(uint64_t)a >> s) : (int64_t)((uint64_t)a >> s);
}
#define EW_BIT_OPS(Y) Y(BitAnd) Y(BitOr) Y(BitXor) Y(Shl) Y(Shr)
#define EW_INST_BIT(OP) EW_SINT_TYPES(EW_DEF_S, OP) EW_UINT_TYPES(EW_DEF_U, OP)
EW_BIT_OPS(EW_INST_BIT)

/* ---- dispatch tables ---- */
#define EW_ALL_NUM(X, OP) EW_FLOAT_TYPES(X, OP) EW_SINT_TYPES(X, OP) EW_UINT_TYPES(X, OP)
#define EW_ARITH_TAB(OP) static const ew_bin_fn ew_tab_##OP[EW_NDT] = {EW_ALL_NUM(EW_TAB, OP)};
EW_ARITH_OPS(EW_ARITH_TAB)
static const ew_bin_fn ew_tab_Eq[EW_NDT] = {EW_ALL_NUM(EW_TAB, Eq) EW_BOOL_TYPE(EW_TAB, Eq) EW_TAB(Eq, STRING)};
#define EW_CMP_TAB(OP) static const ew_bin_fn ew_tab_##OP[EW_NDT] = {EW_ALL_NUM(EW_TAB, OP) EW_BOOL_TYPE(EW_TAB, OP)};
EW_CMP_TAB(Lt)
EW_CMP_TAB(Gt)
EW_CMP_TAB(Le)
EW_CMP_TAB(Ge)
static const ew_bin_fn ew_tab_And[EW_NDT] = {EW_TAB(And, BOOL)};
static const ew_bin_fn ew_tab_Or[EW_NDT] = {EW_TAB(Or, BOOL)};
static const ew_bin_fn ew_tab_Xor[EW_NDT] = {EW_TAB(Xor, BOOL)};
#define EW_BIT_TAB(OP) \
    static const ew_bin_fn ew_tab_##OP[EW_NDT] = {EW_SINT_TYPES(EW_TAB, OP) EW_UINT_TYPES(EW_TAB, OP)};
EW_BIT_OPS(EW_BIT_TAB)

static ew_bin_fn ew_lookup(const ew_bin_fn *tab, int32_t dtype) {
    return (dtype > 0 && dtype < EW_NDT) ? tab[dtype] : NULL;
}

/* ==== binary driver ======================================================= */

typedef struct ew_bin_job {
    ew_bin_fn fn;
    char *o;
    const char *a, *b;
    size_t osz, asz, bsz;
    int64_t sa, sb;
} ew_bin_job;

static void ew_bin_visit(void *arg, int64_t out_off, const int64_t *in_off, int64_t n) {
    const ew_bin_job *j = arg;
    j->fn(j->o + (size_t)out_off * j->osz, j->a + (size_t)in_off[0] * j->asz, j->b + (size_t)in_off[1] * j->bsz, n,
          j->sa, j->sb);
}

/* out (shape out_rank/out_dims, already allocated) = fn(a, b) with a and b
 * broadcast to it; b_rank/b_dims may differ from b's own shape (legacy
 * broadcasting passes an expanded shape). */
static void ew_apply2(cpu_ctx *ctx, ew_bin_fn fn, cpu_tensor *out, const cpu_tensor *a, int32_t b_rank,
                      const int64_t *b_dims, const cpu_tensor *b) {
    ew_plan p;
    const int32_t ranks[2] = {a->rank, b_rank};
    const int64_t *dims[2] = {a->dims, b_dims};
    ew_plan_make(&p, out->rank, out->dims, 2, ranks, dims);
    ew_bin_job j = {fn,
                    out->data,
                    a->data,
                    b->data,
                    cpu_dtype_size(out->dtype),
                    cpu_dtype_size(a->dtype),
                    cpu_dtype_size(b->dtype),
                    p.strides[0][p.rank - 1],
                    p.strides[1][p.rank - 1]};
    ew_run(ctx, &p, ew_bin_visit, &j, true);
}

/* Output shape of a two-input op. Opset < 7 versions of the arithmetic,
 * logic and comparison ops broadcast only when attribute broadcast=1, and
 * then B's shape matches a contiguous run of A's dimensions starting at
 * `axis` (default: the trailing ones); the output has A's shape. The
 * expanded B shape (rank of A, 1 elsewhere) lets the common iterator run it. */
static prism_status ew_binary_shape(cpu_ctx *ctx, const cpu_node *node, bool legacy, const cpu_tensor *a,
                                    const cpu_tensor *b, int32_t *out_rank, int64_t *out_dims, int32_t *b_rank,
                                    int64_t *b_dims) {
    char sa[128], sb[128];
    *b_rank = b->rank;
    memcpy(b_dims, b->dims, sizeof(int64_t) * (size_t)b->rank);
    if (legacy && cpu_node_opset(node) < 7) {
        *out_rank = a->rank;
        memcpy(out_dims, a->dims, sizeof(int64_t) * (size_t)a->rank);
        if (!cpu_attr_int(node, "broadcast", 0)) {
            bool same = a->rank == b->rank;
            for (int32_t d = 0; same && d < a->rank; d++)
                same = a->dims[d] == b->dims[d];
            if (!same)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                                "input shapes %s and %s differ and attribute broadcast is 0 (opset %lld)",
                                ew_shape_str(a, sa, sizeof sa), ew_shape_str(b, sb, sizeof sb),
                                (long long)cpu_node_opset(node));
            return PRISM_OK;
        }
        int64_t axis = a->rank - b->rank;
        if (cpu_attr_has(node, "axis")) {
            axis = cpu_attr_int(node, "axis", 0);
            if (axis < 0)
                axis += a->rank;
        }
        if (b->rank > a->rank || axis < 0 || axis + b->rank > a->rank)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "legacy broadcast of B %s onto A %s at axis %lld is out of range",
                            ew_shape_str(b, sb, sizeof sb), ew_shape_str(a, sa, sizeof sa), (long long)axis);
        *b_rank = a->rank;
        for (int32_t d = 0; d < a->rank; d++)
            b_dims[d] = 1;
        for (int32_t j = 0; j < b->rank; j++)
            b_dims[axis + j] = b->dims[j];
        for (int32_t d = 0; d < a->rank; d++)
            if (b_dims[d] != 1 && b_dims[d] != a->dims[d])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                                "legacy broadcast: B %s does not match A %s at axis %lld",
                                ew_shape_str(b, sb, sizeof sb), ew_shape_str(a, sa, sizeof sa), (long long)axis);
        return PRISM_OK;
    }
    if (!cpu_broadcast_shape(a->rank, a->dims, b->rank, b->dims, out_rank, out_dims))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input shapes %s and %s cannot be broadcast",
                        ew_shape_str(a, sa, sizeof sa), ew_shape_str(b, sb, sizeof sb));
    return PRISM_OK;
}

static prism_status ew_need_inputs(cpu_ctx *ctx, const cpu_tensor *const *in, uint32_t n_in, uint32_t need) {
    if (n_in < need)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "expected %u inputs, got %u", need, n_in);
    for (uint32_t k = 0; k < need; k++)
        if (!in[k])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input %u is missing", k);
    return PRISM_OK;
}

/* A plain two-input op: same dtypes, fn from tab, bool output for
 * comparisons. */
static prism_status ew_binary_run(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *const *in, uint32_t n_in,
                                  const ew_bin_fn *tab, bool bool_out, bool legacy) {
    prism_status st = ew_need_inputs(ctx, in, n_in, 2);
    if (st)
        return st;
    const cpu_tensor *a = in[0], *b = in[1];
    if (a->dtype != b->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input dtypes differ: %s and %s", cpu_dtype_name(a->dtype),
                        cpu_dtype_name(b->dtype));
    ew_bin_fn fn = ew_lookup(tab, a->dtype);
    if (!fn)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(a->dtype));
    int32_t out_rank, b_rank;
    int64_t out_dims[CPU_MAX_RANK], b_dims[CPU_MAX_RANK];
    st = ew_binary_shape(ctx, node, legacy, a, b, &out_rank, out_dims, &b_rank, b_dims);
    if (st)
        return st;
    cpu_tensor *out;
    st = cpu_output(ctx, 0, bool_out ? PRISM_DTYPE_BOOL : a->dtype, out_rank, out_dims, &out);
    if (st)
        return st;
    ew_apply2(ctx, fn, out, a, b_rank, b_dims, b);
    return PRISM_OK;
}

/* supports(): input 0's dtype (when known) has a kernel. */
static bool ew_supports_tab(const cpu_node *node, const ew_bin_fn *tab) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || ew_lookup(tab, dt) != NULL;
}

#define EW_SIMPLE_KERNEL(SYM, TAB, BOOL_OUT, LEGACY)                                                           \
    static prism_status ew_run_##SYM(cpu_ctx *ctx, const cpu_node *node, void *state,                          \
                                     const cpu_tensor *const *in, uint32_t n_in) {                             \
        (void)state;                                                                                           \
        return ew_binary_run(ctx, node, in, n_in, ew_tab_##TAB, BOOL_OUT, LEGACY);                             \
    }                                                                                                          \
    static bool ew_supports_##SYM(const cpu_node *node) { return ew_supports_tab(node, ew_tab_##TAB); }       \
    const cpu_kernel_def cpu_op_##SYM = {.run = ew_run_##SYM, .supports = ew_supports_##SYM};

EW_SIMPLE_KERNEL(Add, Add, false, true)
EW_SIMPLE_KERNEL(Sub, Sub, false, true)
EW_SIMPLE_KERNEL(Mul, Mul, false, true)
EW_SIMPLE_KERNEL(Div, Div, false, true)
EW_SIMPLE_KERNEL(Equal, Eq, true, true)
EW_SIMPLE_KERNEL(Less, Lt, true, true)
EW_SIMPLE_KERNEL(Greater, Gt, true, true)
EW_SIMPLE_KERNEL(LessOrEqual, Le, true, false)
EW_SIMPLE_KERNEL(GreaterOrEqual, Ge, true, false)
EW_SIMPLE_KERNEL(And, And, true, true)
EW_SIMPLE_KERNEL(Or, Or, true, true)
EW_SIMPLE_KERNEL(Xor, Xor, true, true)
EW_SIMPLE_KERNEL(BitwiseAnd, BitAnd, false, false)
EW_SIMPLE_KERNEL(BitwiseOr, BitOr, false, false)
EW_SIMPLE_KERNEL(BitwiseXor, BitXor, false, false)

/* ---- Mod ---- */
static prism_status ew_run_Mod(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    bool fmod_ = cpu_attr_int(node, "fmod", 0) != 0;
    return ew_binary_run(ctx, node, in, n_in, fmod_ ? ew_tab_ModT : ew_tab_ModF, false, false);
}
static bool ew_supports_Mod(const cpu_node *node) { return ew_supports_tab(node, ew_tab_ModT); }
const cpu_kernel_def cpu_op_Mod = {.run = ew_run_Mod, .supports = ew_supports_Mod};

/* ---- BitShift ---- */
static prism_status ew_run_BitShift(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                    uint32_t n_in) {
    (void)state;
    const char *dir = cpu_attr_string(node, "direction", "");
    bool left = strcmp(dir, "LEFT") == 0;
    if (!left && strcmp(dir, "RIGHT") != 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attribute direction must be LEFT or RIGHT, got \"%s\"", dir);
    return ew_binary_run(ctx, node, in, n_in, left ? ew_tab_Shl : ew_tab_Shr, false, false);
}
static bool ew_supports_BitShift(const cpu_node *node) {
    const char *dir = cpu_attr_string(node, "direction", "");
    return (strcmp(dir, "LEFT") == 0 || strcmp(dir, "RIGHT") == 0) && ew_supports_tab(node, ew_tab_Shl);
}
const cpu_kernel_def cpu_op_BitShift = {.run = ew_run_BitShift, .supports = ew_supports_BitShift};

/* ---- BitwiseNot (unary, integers) ---- */
typedef void (*ew_un_fn)(void *o, const void *x, int64_t n);
#define EW_DEF_NOT(A, E, T)                                        \
    static void ew_Not_##E(void *o_, const void *x_, int64_t n) { \
        T *o = o_;                                                 \
        const T *x = x_;                                           \
        for (int64_t i = 0; i < n; i++)                            \
            o[i] = (T)~x[i];                                       \
    }
EW_SINT_TYPES(EW_DEF_NOT, _)
EW_UINT_TYPES(EW_DEF_NOT, _)
#define EW_TAB1(A, E, ...) [PRISM_DTYPE_##E] = ew_Not_##E,
static const ew_un_fn ew_tab_Not[EW_NDT] = {EW_SINT_TYPES(EW_TAB1, _) EW_UINT_TYPES(EW_TAB1, _)};

typedef struct ew_un_job {
    ew_un_fn fn;
    char *o;
    const char *x;
    size_t sz;
} ew_un_job;
static void ew_un_visit(void *arg, int64_t out_off, const int64_t *in_off, int64_t n) {
    const ew_un_job *j = arg;
    j->fn(j->o + (size_t)out_off * j->sz, j->x + (size_t)in_off[0] * j->sz, n);
}

static prism_status ew_run_BitwiseNot(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                      uint32_t n_in) {
    (void)state;
    (void)node;
    prism_status st = ew_need_inputs(ctx, in, n_in, 1);
    if (st)
        return st;
    const cpu_tensor *x = in[0];
    ew_un_fn fn = (x->dtype > 0 && x->dtype < EW_NDT) ? ew_tab_Not[x->dtype] : NULL;
    if (!fn)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    cpu_tensor *out;
    st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &out);
    if (st)
        return st;
    ew_plan p;
    const int32_t ranks[1] = {x->rank};
    const int64_t *dims[1] = {x->dims};
    ew_plan_make(&p, x->rank, x->dims, 1, ranks, dims);
    ew_un_job j = {fn, out->data, x->data, cpu_dtype_size(x->dtype)};
    ew_run(ctx, &p, ew_un_visit, &j, true);
    return PRISM_OK;
}
static bool ew_supports_BitwiseNot(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || (dt < EW_NDT && ew_tab_Not[dt] != NULL);
}
const cpu_kernel_def cpu_op_BitwiseNot = {.run = ew_run_BitwiseNot, .supports = ew_supports_BitwiseNot};

/* ==== Pow ================================================================= */

/* Element access through a dtype switch, for the mixed base/exponent types
 * Pow allows since opset 12 (rare; the same-type case uses the fast table). */
static double ew_get_f64(const void *p, int32_t dt, int64_t i) {
    switch (dt) {
#define EW_GETF(A, E, T, CT, LD, ST) \
    case PRISM_DTYPE_##E:            \
        return (double)LD(((const T *)p)[i]);
#define EW_GETI(A, E, T) \
    case PRISM_DTYPE_##E: \
        return (double)((const T *)p)[i];
        EW_FLOAT_TYPES(EW_GETF, _)
        EW_SINT_TYPES(EW_GETI, _)
        EW_UINT_TYPES(EW_GETI, _)
    default:
        return 0;
    }
}
static bool ew_is_int(int32_t dt) {
    switch (dt) {
#define EW_CASE(A, E, ...) case PRISM_DTYPE_##E:
        EW_SINT_TYPES(EW_CASE, _)
        EW_UINT_TYPES(EW_CASE, _)
        return true;
    default:
        return false;
    }
}
static bool ew_is_float(int32_t dt) {
    switch (dt) {
        EW_FLOAT_TYPES(EW_CASE, _)
        return true;
    default:
        return false;
    }
}
static bool ew_is_unsigned(int32_t dt) {
    switch (dt) {
        EW_UINT_TYPES(EW_CASE, _)
        return true;
    default:
        return false;
    }
}
static int64_t ew_get_i64(const void *p, int32_t dt, int64_t i) {
    switch (dt) {
#define EW_GETI64(A, E, T) \
    case PRISM_DTYPE_##E:  \
        return (int64_t)((const T *)p)[i];
        EW_SINT_TYPES(EW_GETI64, _)
        EW_UINT_TYPES(EW_GETI64, _)
    default:
        return 0;
    }
}

typedef struct ew_pow_job {
    char *o;
    const char *a, *b;
    int32_t adt, bdt;
    size_t asz, bsz;
    int64_t sa, sb;
} ew_pow_job;

static void ew_pow_visit(void *arg, int64_t out_off, const int64_t *in_off, int64_t n) {
    const ew_pow_job *j = arg;
    const char *a = j->a + (size_t)in_off[0] * j->asz;
    const char *b = j->b + (size_t)in_off[1] * j->bsz;
    const bool int_base = ew_is_int(j->adt), int_exp = ew_is_int(j->bdt);
    for (int64_t i = 0; i < n; i++) {
        const int64_t ia = i * j->sa, ib = i * j->sb, io = out_off + i;
        if (int_base && int_exp) {
            /* exact integer power, wrapping like the base type */
            uint64_t r;
            if (ew_is_unsigned(j->bdt) || ew_is_unsigned(j->adt))
                r = ew_upow((uint64_t)ew_get_i64(a, j->adt, ia), (uint64_t)ew_get_i64(b, j->bdt, ib));
            else
                r = (uint64_t)ew_spow(ew_get_i64(a, j->adt, ia), ew_get_i64(b, j->bdt, ib));
            switch (j->adt) {
#define EW_PUTI(A, E, T)                    \
    case PRISM_DTYPE_##E:                   \
        ((T *)j->o)[io] = (T)r;             \
        break;
                EW_SINT_TYPES(EW_PUTI, _)
                EW_UINT_TYPES(EW_PUTI, _)
            default:
                break;
            }
            continue;
        }
        /* numpy promotes mixed int/float to float64 and casts the result back */
        const double v = pow(ew_get_f64(a, j->adt, ia), ew_get_f64(b, j->bdt, ib));
        switch (j->adt) {
#define EW_PUTF(A, E, T, CT, LD, ST)               \
    case PRISM_DTYPE_##E:                          \
        ((T *)j->o)[io] = ST((CT)v);               \
        break;
#define EW_PUTS(A, E, T)                           \
    case PRISM_DTYPE_##E:                          \
        ((T *)j->o)[io] = (T)ew_f2i64(v);          \
        break;
#define EW_PUTU(A, E, T)                           \
    case PRISM_DTYPE_##E:                          \
        ((T *)j->o)[io] = (T)ew_f2u64(v);          \
        break;
            EW_FLOAT_TYPES(EW_PUTF, _)
            EW_SINT_TYPES(EW_PUTS, _)
            EW_UINT_TYPES(EW_PUTU, _)
        default:
            break;
        }
    }
}

/* float base with a scalar exponent: the common x^2 gets a multiply. */
typedef struct ew_pows_job {
    float *o;
    const float *a;
    int64_t n;
    float e;
} ew_pows_job;
static void ew_pows_chunk(void *arg, int64_t b, int64_t e) {
    const ew_pows_job *j = arg;
    int64_t end = e * EW_BLOCK;
    if (end > j->n)
        end = j->n;
    for (int64_t i = b * EW_BLOCK; i < end; i++) {
        const float x = j->a[i];
        j->o[i] = j->e == 2.0f ? x * x : powf(x, j->e);
    }
}

static prism_status ew_run_Pow(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    prism_status st = ew_need_inputs(ctx, in, n_in, 2);
    if (st)
        return st;
    const cpu_tensor *a = in[0], *b = in[1];
    const bool num_a = ew_is_int(a->dtype) || ew_is_float(a->dtype);
    const bool num_b = ew_is_int(b->dtype) || ew_is_float(b->dtype);
    if (!num_a || !num_b)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "unsupported dtypes %s ^ %s", cpu_dtype_name(a->dtype),
                        cpu_dtype_name(b->dtype));
    if (a->dtype == b->dtype)
        return ew_binary_run(ctx, node, in, n_in, ew_tab_Pow, false, true);
    if (cpu_node_opset(node) < 12)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "base and exponent dtypes differ (%s, %s) before opset 12",
                        cpu_dtype_name(a->dtype), cpu_dtype_name(b->dtype));
    int32_t out_rank, b_rank;
    int64_t out_dims[CPU_MAX_RANK], b_dims[CPU_MAX_RANK];
    st = ew_binary_shape(ctx, node, false, a, b, &out_rank, out_dims, &b_rank, b_dims);
    if (st)
        return st;
    cpu_tensor *out;
    st = cpu_output(ctx, 0, a->dtype, out_rank, out_dims, &out);
    if (st)
        return st;
    if (out->count == 0)
        return PRISM_OK;
    if (a->dtype == PRISM_DTYPE_FLOAT && b->count == 1 && out->count == a->count) {
        const double e = ew_get_f64(b->data, b->dtype, 0);
        ew_pows_job j = {out->data, a->data, a->count, (float)e};
        int64_t blocks = (a->count + EW_BLOCK - 1) / EW_BLOCK;
        if ((double)j.e == e) { /* the exponent is exact in float */
            if (blocks > 1 && cpu_threads(ctx) > 1)
                cpu_parallel_for(ctx, blocks, ew_pows_chunk, &j);
            else
                for (int64_t i = 0; i < a->count; i++)
                    j.o[i] = j.e == 2.0f ? j.a[i] * j.a[i] : powf(j.a[i], j.e);
            return PRISM_OK;
        }
    }
    ew_plan p;
    const int32_t ranks[2] = {a->rank, b_rank};
    const int64_t *dims[2] = {a->dims, b_dims};
    ew_plan_make(&p, out_rank, out_dims, 2, ranks, dims);
    ew_pow_job j = {out->data,
                    a->data,
                    b->data,
                    a->dtype,
                    b->dtype,
                    cpu_dtype_size(a->dtype),
                    cpu_dtype_size(b->dtype),
                    p.strides[0][p.rank - 1],
                    p.strides[1][p.rank - 1]};
    ew_run(ctx, &p, ew_pow_visit, &j, true);
    return PRISM_OK;
}
static bool ew_supports_Pow(const cpu_node *node) {
    int32_t a = cpu_node_input_dtype(node, 0), b = cpu_node_input_dtype(node, 1);
    return (a <= 0 || ew_is_int(a) || ew_is_float(a)) && (b <= 0 || ew_is_int(b) || ew_is_float(b));
}
const cpu_kernel_def cpu_op_Pow = {.run = ew_run_Pow, .supports = ew_supports_Pow};

/* ==== PRelu =============================================================== */

/* Slope broadcasts to X (unidirectionally). Before opset 7 a 1-D slope of
 * size C is per channel (axis 1), which numpy rules would align with the last
 * axis instead. */
static prism_status ew_run_PRelu(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    prism_status st = ew_need_inputs(ctx, in, n_in, 2);
    if (st)
        return st;
    const cpu_tensor *x = in[0], *s = in[1];
    char sx[128], ss[128];
    if (x->dtype != s->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input dtypes differ: %s and %s", cpu_dtype_name(x->dtype),
                        cpu_dtype_name(s->dtype));
    ew_bin_fn fn = ew_lookup(ew_tab_PRelu, x->dtype);
    if (!fn)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    int32_t s_rank = s->rank;
    int64_t s_dims[CPU_MAX_RANK];
    memcpy(s_dims, s->dims, sizeof(int64_t) * (size_t)s->rank);
    if (cpu_node_opset(node) < 7 && s->rank == 1 && x->rank >= 2 && s->dims[0] == x->dims[1] && s->dims[0] != 1) {
        s_rank = x->rank - 1; /* (C) -> (C,1,...,1) aligned at axis 1 */
        for (int32_t d = 0; d < s_rank; d++)
            s_dims[d] = d == 0 ? s->dims[0] : 1;
    }
    /* unidirectional: every slope dim (right-aligned) is 1 or X's */
    bool ok = s_rank <= x->rank;
    for (int32_t j = 0; ok && j < s_rank; j++) {
        int64_t xd = x->dims[x->rank - s_rank + j];
        ok = s_dims[j] == 1 || s_dims[j] == xd;
    }
    if (!ok)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "slope shape %s does not broadcast to X shape %s",
                        ew_shape_str(s, ss, sizeof ss), ew_shape_str(x, sx, sizeof sx));
    cpu_tensor *out;
    st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &out);
    if (st)
        return st;
    ew_apply2(ctx, fn, out, x, s_rank, s_dims, s);
    return PRISM_OK;
}
static bool ew_supports_PRelu(const cpu_node *node) { return ew_supports_tab(node, ew_tab_PRelu); }
const cpu_kernel_def cpu_op_PRelu = {.run = ew_run_PRelu, .supports = ew_supports_PRelu};

/* ==== variadic Sum / Mean / Max / Min ===================================== */

/* out = in0 op in1 op ... folded left to right over the broadcast shape of
 * all inputs; later steps read and write out in place (same strides). */
static prism_status ew_variadic_run(cpu_ctx *ctx, const cpu_tensor *const *in, uint32_t n_in, const ew_bin_fn *tab,
                                    bool mean) {
    if (n_in < 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "needs at least one input");
    prism_status st = ew_need_inputs(ctx, in, n_in, n_in);
    if (st)
        return st;
    const int32_t dt = in[0]->dtype;
    for (uint32_t k = 1; k < n_in; k++)
        if (in[k]->dtype != dt)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input %u has dtype %s, input 0 has %s", k,
                            cpu_dtype_name(in[k]->dtype), cpu_dtype_name(dt));
    ew_bin_fn fn = ew_lookup(tab, dt);
    if (!fn || (mean && !ew_is_float(dt)))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(dt));
    int32_t rank;
    int64_t dims[CPU_MAX_RANK];
    if (!ew_broadcast_n(in, (int)n_in, &rank, dims)) {
        char s0[128], s1[128];
        uint32_t bad = 1;
        for (; bad < n_in; bad++) { /* name the first input that does not fit */
            int32_t r;
            int64_t tmp[CPU_MAX_RANK];
            if (!ew_broadcast_n(in, (int)bad + 1, &r, tmp))
                break;
        }
        if (bad >= n_in)
            bad = n_in - 1;
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input %u shape %s cannot be broadcast with input 0 shape %s", bad,
                        ew_shape_str(in[bad], s1, sizeof s1), ew_shape_str(in[0], s0, sizeof s0));
    }
    cpu_tensor *out;
    st = cpu_output(ctx, 0, dt, rank, dims, &out);
    if (st)
        return st;
    if (out->count == 0)
        return PRISM_OK;
    if (n_in == 1) {
        memcpy(out->data, in[0]->data, (size_t)out->count * cpu_dtype_size(dt));
    } else {
        ew_apply2(ctx, fn, out, in[0], in[1]->rank, in[1]->dims, in[1]);
        for (uint32_t k = 2; k < n_in; k++)
            ew_apply2(ctx, fn, out, out, in[k]->rank, in[k]->dims, in[k]);
    }
    if (mean && n_in > 1) {
        /* divide by the count, expressed as a scalar of the same dtype */
        union {
            float f;
            double d;
            uint16_t h;
        } v;
        switch (dt) {
        case PRISM_DTYPE_FLOAT:
            v.f = (float)n_in;
            break;
        case PRISM_DTYPE_DOUBLE:
            v.d = (double)n_in;
            break;
        case PRISM_DTYPE_FLOAT16:
            v.h = cpu_float_to_half((float)n_in);
            break;
        default:
            v.h = cpu_float_to_bf16((float)n_in);
            break;
        }
        cpu_tensor scalar = {.dtype = dt, .rank = 0, .count = 1, .data = &v};
        ew_apply2(ctx, ew_tab_Div[dt], out, out, 0, NULL, &scalar);
    }
    return PRISM_OK;
}

#define EW_VARIADIC_KERNEL(SYM, TAB, MEAN)                                                                    \
    static prism_status ew_run_##SYM(cpu_ctx *ctx, const cpu_node *node, void *state,                         \
                                     const cpu_tensor *const *in, uint32_t n_in) {                            \
        (void)state;                                                                                          \
        (void)node;                                                                                           \
        return ew_variadic_run(ctx, in, n_in, ew_tab_##TAB, MEAN);                                            \
    }                                                                                                         \
    static bool ew_supports_##SYM(const cpu_node *node) {                                                     \
        int32_t dt = cpu_node_input_dtype(node, 0);                                                           \
        return dt <= 0 || (ew_lookup(ew_tab_##TAB, dt) != NULL && (!(MEAN) || ew_is_float(dt)));             \
    }                                                                                                         \
    const cpu_kernel_def cpu_op_##SYM = {.run = ew_run_##SYM, .supports = ew_supports_##SYM};

EW_VARIADIC_KERNEL(Sum, Add, false)
EW_VARIADIC_KERNEL(Mean, Add, true)
EW_VARIADIC_KERNEL(Max, Max, false)
EW_VARIADIC_KERNEL(Min, Min, false)

/* ==== Where =============================================================== */

/* Rows by element size: the selection copies bits, whatever the type. */
typedef void (*ew_where_fn)(void *o, const uint8_t *c, const void *x, const void *y, int64_t n, int64_t sc,
                            int64_t sx, int64_t sy);
#define EW_DEF_WHERE(T)                                                                                         \
    static void ew_where_##T(void *o_, const uint8_t *c, const void *x_, const void *y_, int64_t n, int64_t sc, \
                             int64_t sx, int64_t sy) {                                                          \
        T *o = o_;                                                                                              \
        const T *x = x_;                                                                                        \
        const T *y = y_;                                                                                        \
        if (sc && sx && sy) {                                                                                   \
            for (int64_t i = 0; i < n; i++)                                                                     \
                o[i] = c[i] ? x[i] : y[i];                                                                      \
        } else {                                                                                                \
            for (int64_t i = 0; i < n; i++)                                                                     \
                o[i] = c[i * sc] ? x[i * sx] : y[i * sy];                                                       \
        }                                                                                                       \
    }
EW_DEF_WHERE(uint8_t)
EW_DEF_WHERE(uint16_t)
EW_DEF_WHERE(uint32_t)
EW_DEF_WHERE(uint64_t)

typedef struct ew_where_job {
    ew_where_fn fn;
    char *o;
    const uint8_t *c;
    const char *x, *y;
    size_t sz;
    int64_t sc, sx, sy;
    bool strings;
    bool oom;
} ew_where_job;

static void ew_where_visit(void *arg, int64_t out_off, const int64_t *in_off, int64_t n) {
    ew_where_job *j = arg;
    if (j->strings) { /* serial only: duplicates each selected string */
        char **o = (char **)(void *)j->o + out_off;
        char *const *x = (char *const *)(const void *)j->x + in_off[1];
        char *const *y = (char *const *)(const void *)j->y + in_off[2];
        const uint8_t *c = j->c + in_off[0];
        for (int64_t i = 0; i < n; i++) {
            o[i] = ew_strdup(c[i * j->sc] ? x[i * j->sx] : y[i * j->sy]);
            if (!o[i])
                j->oom = true;
        }
        return;
    }
    j->fn(j->o + (size_t)out_off * j->sz, j->c + in_off[0], j->x + (size_t)in_off[1] * j->sz,
          j->y + (size_t)in_off[2] * j->sz, n, j->sc, j->sx, j->sy);
}

static prism_status ew_run_Where(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    (void)node;
    prism_status st = ew_need_inputs(ctx, in, n_in, 3);
    if (st)
        return st;
    const cpu_tensor *c = in[0], *x = in[1], *y = in[2];
    if (c->dtype != PRISM_DTYPE_BOOL)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "condition must be bool, got %s", cpu_dtype_name(c->dtype));
    if (x->dtype != y->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X and Y dtypes differ: %s and %s", cpu_dtype_name(x->dtype),
                        cpu_dtype_name(y->dtype));
    const size_t sz = cpu_dtype_size(x->dtype);
    const bool strings = x->dtype == PRISM_DTYPE_STRING;
    ew_where_fn fn = NULL;
    switch (strings ? 0 : sz) {
    case 1:
        fn = ew_where_uint8_t;
        break;
    case 2:
        fn = ew_where_uint16_t;
        break;
    case 4:
        fn = ew_where_uint32_t;
        break;
    case 8:
        fn = ew_where_uint64_t;
        break;
    default:
        if (!strings)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    }
    int32_t rank;
    int64_t dims[CPU_MAX_RANK];
    if (!ew_broadcast_n(in, 3, &rank, dims)) {
        char s0[128], s1[128], s2[128];
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "shapes %s (condition), %s (X), %s (Y) cannot be broadcast",
                        ew_shape_str(c, s0, sizeof s0), ew_shape_str(x, s1, sizeof s1), ew_shape_str(y, s2, sizeof s2));
    }
    cpu_tensor *out;
    st = cpu_output(ctx, 0, x->dtype, rank, dims, &out);
    if (st)
        return st;
    ew_plan p;
    const int32_t ranks[3] = {c->rank, x->rank, y->rank};
    const int64_t *pd[3] = {c->dims, x->dims, y->dims};
    ew_plan_make(&p, rank, dims, 3, ranks, pd);
    ew_where_job j = {fn,
                      out->data,
                      c->data,
                      x->data,
                      y->data,
                      sz,
                      p.strides[0][p.rank - 1],
                      p.strides[1][p.rank - 1],
                      p.strides[2][p.rank - 1],
                      strings,
                      false};
    ew_run(ctx, &p, ew_where_visit, &j, !strings);
    if (j.oom)
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory copying strings");
    return PRISM_OK;
}
static bool ew_supports_Where(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 1);
    return dt <= 0 || dt == PRISM_DTYPE_STRING ||
           (dt < EW_NDT && dt != PRISM_DTYPE_COMPLEX64 && dt != PRISM_DTYPE_COMPLEX128 && cpu_dtype_size(dt) > 0);
}
const cpu_kernel_def cpu_op_Where = {.run = ew_run_Where, .supports = ew_supports_Where};
