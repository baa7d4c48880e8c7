/*
 * unary.c — one-input elementwise ops: activations, math functions, rounding,
 * Abs/Neg/Sign, Not, IsNaN/IsInf, Clip and Identity.
 *
 * Every float math op is written once, as a statement computing `y` from `x`
 * in the compute type CT, and instantiated for float and double (through
 * <tgmath.h>, so sin() is sinf() for floats). exp, tanh and erf have
 * vectorisable float32 versions of our own (libm's are scalar calls), and the
 * float loops are also compiled for AVX2/AVX-512. float16/bfloat16 run the
 * float instance on tiles converted through float. The integer variants of
 * Relu/Abs/Neg/Sign are instantiated per integer type from one expression.
 * Attributes are parsed once in prepare into a small state.
 */
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <tgmath.h>

#include "cpu_kernel.h"

#define UN_NDT 17          /* dtype enum values 0..16 */
#define UN_BLOCK 16384     /* elements per parallel task */
#define UN_TILE 512        /* float16 elements converted at a time */

#define UN_SINT_TYPES(X) X(INT8, int8_t) X(INT16, int16_t) X(INT32, int32_t) X(INT64, int64_t)
#define UN_UINT_TYPES(X) X(UINT8, uint8_t) X(UINT16, uint16_t) X(UINT32, uint32_t) X(UINT64, uint64_t)

/* Attribute values of one node. */
typedef struct un_params {
    float alpha, beta, gamma;
} un_params;

typedef void (*un_f32_fn)(const float *restrict x, float *restrict y, int64_t n, const un_params *p);
typedef void (*un_f64_fn)(const double *restrict x, double *restrict y, int64_t n, const un_params *p);
typedef void (*un_int_fn)(const void *x, void *y, int64_t n);

typedef struct un_op {
    un_f32_fn f32;
    un_f64_fn f64;
    const un_int_fn *ints; /* by dtype; NULL: float types only */
    void (*parse)(const cpu_node *node, un_params *p);
} un_op;

/* ==== vectorisable float32 math ========================================= */

/* glibc's expf/tanhf/erff cost 3-11 ns per element and stop the vectoriser;
 * these branch-free versions compile to SIMD loops and stay within a few ulp
 * (exp ~1 ulp, erf/tanh <= 3 ulp over the whole range), with NaN, +-inf,
 * overflow and underflow handled. double keeps libm. */
static inline float uf_from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static inline uint32_t uf_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* c ? a : b with both arms computed: GCC (under its default -ftrapping-math)
 * will not if-convert a ?: whose arm does float arithmetic, which keeps the
 * whole loop scalar; a bit-mask select vectorises. */
static inline float uf_sel(int c, float a, float b) {
    const uint32_t m = 0u - (uint32_t)(c != 0);
    return uf_from_bits((uf_bits(a) & m) | (uf_bits(b) & ~m));
}
static inline double ud_sel(int c, double a, double b) { return c ? a : b; }
#define UN_SEL(c, a, b) _Generic((a), float: uf_sel, default: ud_sel)((c), (a), (b))

/* exp: x = n ln2 + r, |r| <= ln2/2; exp(r) by the Cephes expf polynomial;
 * 2^n applied as two halves so that n down to -150 (subnormal results) and
 * up to 128 (overflow to inf) stay exact powers of two. */
static inline float uf_exp(float x) {
    float xc = uf_sel(x > 89.0f, 89.0f, x); /* NaN passes both */
    xc = uf_sel(xc < -104.0f, -104.0f, xc);
    const float shifter = 12582912.0f;                              /* 1.5 * 2^23: round to integer */
    const float t = xc * 1.44269504088896341f + shifter;
    const float n = t - shifter;
    const float r = (xc - n * 0.693359375f) - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    const int32_t ni = (int32_t)(uf_bits(t) - uf_bits(shifter)); /* n, without a float->int conversion */
    const int32_t a = ni / 2, b = ni - a;
    return p * uf_from_bits((uint32_t)(a + 127) << 23) * uf_from_bits((uint32_t)(b + 127) << 23);
}

/* tanh: odd polynomial (Cephes tanhf) below 0.625, 1 - 2/(e^2|x| + 1) above. */
static inline float uf_tanh(float x) {
    const float ax = fabsf(x);
    const float z = x * x;
    float p = -5.70498872745e-3f;
    p = p * z + 2.06390887954e-2f;
    p = p * z - 5.37397155531e-2f;
    p = p * z + 1.33314422036e-1f;
    p = p * z - 3.33332819422e-1f;
    const float small = p * z * x + x;
    const float big = 1.0f - 2.0f / (uf_exp(2.0f * ax) + 1.0f);
    return uf_sel(ax < 0.625f, small, copysignf(big, x));
}

/* erf: x P(x^2) below 0.921875; 1 - exp(-x^2 + R(|x|)) up to 3.9375, where
 * R fits log(erfc(x)) + x^2; 1 beyond (erfc < half an ulp of 1). The
 * coefficients are weighted least-squares fits against double erf/erfc. */
static inline float uf_erf(float x) {
    const float ax = fabsf(x);
    const float z = x * x;
    float p = 8.370215800823644e-05f;
    p = p * z - 0.0008142736623995006f;
    p = p * z + 0.0052010356448590755f;
    p = p * z - 0.026859400793910027f;
    p = p * z + 0.11283695697784424f;
    p = p * z - 0.37612634897232056f;
    p = p * z + 1.128379225730896f;
    const float small = p * x;
    float q = -1.4367833145456643e-08f;
    q = q * ax + 1.9471963241812773e-06f;
    q = q * ax - 4.8926140152616426e-05f;
    q = q * ax + 0.0006116662989370525f;
    q = q * ax - 0.004806858487427235f;
    q = q * ax + 0.02651612088084221f;
    q = q * ax - 0.11019951105117798f;
    q = q * ax + 0.3682631850242615f;
    q = q * ax - 1.1302684545516968f;
    q = q * ax + 0.0003253214235883206f;
    const float axc = ax < 3.9375f ? ax : 3.9375f; /* keeps exp's argument in range */
    const float big = 1.0f - uf_exp(q - axc * axc);
    float r = uf_sel(ax < 3.9375f, big, 1.0f);
    r = uf_sel(ax <= 0.921875f, small, copysignf(r, x));
    return uf_sel(x != x, x, r);
}

/* The float instance uses the functions above; double uses libm. (The
 * un-parenthesised names after default: are the functions, not <tgmath.h>'s
 * macros.) */
#define UN_EXP(v) _Generic((v), float: uf_exp, default: exp)(v)
#define UN_TANH(v) _Generic((v), float: uf_tanh, default: tanh)(v)
#define UN_ERF(v) _Generic((v), float: uf_erf, default: erf)(v)

/* ==== float math, one statement per op ==================================== */

#define K(v) ((CT)(v))

/* Numerically stable pieces shared by several ops. */
#define UN_SOFTPLUS(x) ((x) > 0 ? (x) + log1p(UN_EXP(-(x))) : log1p(UN_EXP(x)))
/* clamp to [0, 1] keeping NaN, as two unconditional selects (see uf_sel) */
static inline float un_clamp01f(float v) {
    const float t = uf_sel(v > 1.0f, 1.0f, v);
    return uf_sel(t < 0.0f, 0.0f, t);
}
static inline double un_clamp01d(double v) {
    const double t = v > 1.0 ? 1.0 : v;
    return t < 0.0 ? 0.0 : t;
}
#define UN_CLAMP01(v) _Generic((v), float: un_clamp01f, default: un_clamp01d)(v)

/* X(Name, statement assigning y from x; p holds the attributes) */
#define UN_FLOAT_OPS(X)                                                              \
    X(Relu, y = x < 0 ? K(0) : x;)                                                   \
    X(LeakyRelu, y = UN_SEL(x < 0, K(p->alpha) * x, x);)                             \
    X(Elu, y = x < 0 ? K(p->alpha) * expm1(x) : x;)                                  \
    X(Selu, y = UN_SEL(x > 0, K(p->gamma) * x, K(p->gamma) * (K(p->alpha) * UN_EXP(x) - K(p->alpha)));) \
    X(Celu, const CT t = K(p->alpha) * expm1(x / K(p->alpha));                       \
      y = (x > 0 ? x : K(0)) + (t < 0 ? t : K(0));)                                  \
    X(GeluErf, y = K(0.5) * x * (K(1) + UN_ERF(x * K(0.70710678118654752440)));)     \
    X(GeluTanh, const CT u = K(0.79788456080286535588) * (x + K(0.044715) * x * x * x); \
      y = K(0.5) * x * (K(1) + UN_TANH(u));)                                         \
    X(Sigmoid, const CT e = UN_EXP(-fabs(x)); /* e <= 1: no overflow, and */        \
      const CT r = K(1) / (K(1) + e);          /* e*r keeps small results exact */    \
      y = UN_SEL(x >= 0, r, e * r);)                                                 \
    X(HardSigmoid, const CT v = K(p->alpha) * x + K(p->beta); y = UN_CLAMP01(v);)   \
    X(HardSwish, const CT v = x * K(1.0 / 6.0) + K(0.5); y = x * UN_CLAMP01(v);)    \
    X(Softplus, y = UN_SOFTPLUS(x);)                                                 \
    X(Softsign, y = x / (K(1) + fabs(x));)                                           \
    X(Mish, y = x * UN_TANH(UN_SOFTPLUS(x));)                                        \
    X(ThresholdedRelu, y = x > K(p->alpha) ? x : K(0);)                              \
    X(Tanh, y = UN_TANH(x);)                                                         \
    X(Erf, y = UN_ERF(x);)                                                           \
    X(Exp, y = UN_EXP(x);)                                                           \
    X(Log, y = log(x);)                                                              \
    X(Sqrt, y = sqrt(x);)                                                            \
    X(Reciprocal, y = K(1) / x;)                                                     \
    X(Abs, y = fabs(x);)                                                             \
    X(Neg, y = -x;)                                                                  \
    X(Sign, y = x < 0 ? K(-1) : x; y = x > 0 ? K(1) : y;)                           \
    X(Floor, y = floor(x);)                                                          \
    X(Ceil, y = ceil(x);)                                                            \
    X(Round, y = rint(x);) /* default rounding mode: half to even */                 \
    X(Sin, y = sin(x);)                                                              \
    X(Cos, y = cos(x);)                                                              \
    X(Tan, y = tan(x);)                                                              \
    X(Asin, y = asin(x);)                                                            \
    X(Acos, y = acos(x);)                                                            \
    X(Atan, y = atan(x);)                                                            \
    X(Sinh, y = sinh(x);)                                                            \
    X(Cosh, y = cosh(x);)                                                            \
    X(Asinh, y = asinh(x);)                                                          \
    X(Acosh, y = acosh(x);)                                                          \
    X(Atanh, y = atanh(x);)

/* The float loops are compiled for AVX-512 and AVX2 besides the baseline
 * and picked at load time (ifunc): the math ops are compute bound, and the
 * default x86-64 target only has 4-wide SSE2. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(PRISM_NO_TARGET_CLONES)
#define UN_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define UN_CLONES
#endif

/* xs and ys never overlap (restrict lets the loops vectorise unversioned). */
#define UN_DEF_FLOAT(NAME, BODY)                                                               \
    UN_CLONES static void un_f32_##NAME(const float *restrict xs, float *restrict ys, int64_t n,         \
                              const un_params *p) {                                            \
        typedef float CT;                                                                      \
        (void)p;                                                                               \
        (void)sizeof(CT);                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                      \
            const CT x = xs[i];                                                                \
            CT y;                                                                              \
            BODY                                                                               \
            ys[i] = y;                                                                         \
        }                                                                                      \
    }                                                                                          \
    static void un_f64_##NAME(const double *restrict xs, double *restrict ys, int64_t n,      \
                              const un_params *p) {                                            \
        typedef double CT;                                                                     \
        (void)p;                                                                               \
        (void)sizeof(CT);                                                                      \
        for (int64_t i = 0; i < n; i++) {                                                      \
            const CT x = xs[i];                                                                \
            CT y;                                                                              \
            BODY                                                                               \
            ys[i] = y;                                                                         \
        }                                                                                      \
    }
UN_FLOAT_OPS(UN_DEF_FLOAT)

/* ==== integer variants ==================================================== */

/* Wrapping negation through the unsigned type (no UB for INT_MIN). */
#define UN_SNEG(T, x) ((T)(0 - (uint64_t)(x)))
/* X(Op, signed expression, unsigned expression); IT is the element type */
#define UN_INT_OPS(X)                                                  \
    X(Relu, (x) < 0 ? (IT)0 : (x), (x))                                \
    X(Abs, (x) < 0 ? UN_SNEG(IT, x) : (x), (x))                        \
    X(Neg, UN_SNEG(IT, x), UN_SNEG(IT, x))                             \
    X(Sign, (IT)(((x) > 0) - ((x) < 0)), (IT)((x) > 0))
#define UN_DEF_INT_S(E, T, OP, SEXPR)                                       \
    static void un_##OP##_##E(const void *x_, void *y_, int64_t n) {        \
        typedef T IT;                                                       \
        (void)sizeof(IT);                                                   \
        const T *xs = x_;                                                   \
        T *ys = y_;                                                         \
        for (int64_t i = 0; i < n; i++) {                                   \
            const T x = xs[i];                                              \
            ys[i] = (T)(SEXPR);                                             \
        }                                                                   \
    }
#define UN_INT_EACH_S(OP, SEXPR, UEXPR)                                                   \
    UN_DEF_INT_S(INT8, int8_t, OP, SEXPR) UN_DEF_INT_S(INT16, int16_t, OP, SEXPR)        \
    UN_DEF_INT_S(INT32, int32_t, OP, SEXPR) UN_DEF_INT_S(INT64, int64_t, OP, SEXPR)      \
    UN_DEF_INT_S(UINT8, uint8_t, OP, UEXPR) UN_DEF_INT_S(UINT16, uint16_t, OP, UEXPR)    \
    UN_DEF_INT_S(UINT32, uint32_t, OP, UEXPR) UN_DEF_INT_S(UINT64, uint64_t, OP, UEXPR)
UN_INT_OPS(UN_INT_EACH_S)

#define UN_ITAB(E, T) [PRISM_DTYPE_##E] = UN_ITAB_NAME(E),
#define UN_ITAB_NAME(E) UN_ITAB_CAT(un_, UN_ITAB_OP, E)
#define UN_ITAB_CAT(a, b, c) UN_ITAB_CAT2(a, b, c)
#define UN_ITAB_CAT2(a, b, c) a##b##_##c
#define UN_ITAB_OP Relu
static const un_int_fn un_ints_Relu[UN_NDT] = {UN_SINT_TYPES(UN_ITAB) UN_UINT_TYPES(UN_ITAB)};
#undef UN_ITAB_OP
#define UN_ITAB_OP Abs
static const un_int_fn un_ints_Abs[UN_NDT] = {UN_SINT_TYPES(UN_ITAB) UN_UINT_TYPES(UN_ITAB)};
#undef UN_ITAB_OP
#define UN_ITAB_OP Sign
static const un_int_fn un_ints_Sign[UN_NDT] = {UN_SINT_TYPES(UN_ITAB) UN_UINT_TYPES(UN_ITAB)};
#undef UN_ITAB_OP
#define UN_ITAB_OP Neg
/* The spec lists signed integers only; unsigned wraps, as numpy does. */
static const un_int_fn un_ints_Neg[UN_NDT] = {UN_SINT_TYPES(UN_ITAB) UN_UINT_TYPES(UN_ITAB)};
#undef UN_ITAB_OP

/* ==== attribute parsing =================================================== */

static void un_parse_none(const cpu_node *node, un_params *p) {
    (void)node;
    (void)p;
}
static void un_parse_leaky(const cpu_node *node, un_params *p) { p->alpha = cpu_attr_float(node, "alpha", 0.01f); }
static void un_parse_alpha1(const cpu_node *node, un_params *p) { p->alpha = cpu_attr_float(node, "alpha", 1.0f); }
static void un_parse_selu(const cpu_node *node, un_params *p) {
    p->alpha = cpu_attr_float(node, "alpha", 1.67326319217681884765625f);
    p->gamma = cpu_attr_float(node, "gamma", 1.05070102214813232421875f);
}
static void un_parse_hardsigmoid(const cpu_node *node, un_params *p) {
    p->alpha = cpu_attr_float(node, "alpha", 0.2f);
    p->beta = cpu_attr_float(node, "beta", 0.5f);
}

/* ==== op descriptors ====================================================== */

#define UN_OP(NAME, INTS, PARSE) static const un_op un_op_##NAME = {un_f32_##NAME, un_f64_##NAME, INTS, PARSE};
UN_OP(Relu, un_ints_Relu, un_parse_none)
UN_OP(LeakyRelu, NULL, un_parse_leaky)
UN_OP(Elu, NULL, un_parse_alpha1)
UN_OP(Selu, NULL, un_parse_selu)
UN_OP(Celu, NULL, un_parse_alpha1)
UN_OP(GeluErf, NULL, un_parse_none)
UN_OP(GeluTanh, NULL, un_parse_none)
UN_OP(Sigmoid, NULL, un_parse_none)
UN_OP(HardSigmoid, NULL, un_parse_hardsigmoid)
UN_OP(HardSwish, NULL, un_parse_none)
UN_OP(Softplus, NULL, un_parse_none)
UN_OP(Softsign, NULL, un_parse_none)
UN_OP(Mish, NULL, un_parse_none)
UN_OP(ThresholdedRelu, NULL, un_parse_alpha1)
UN_OP(Tanh, NULL, un_parse_none)
UN_OP(Erf, NULL, un_parse_none)
UN_OP(Exp, NULL, un_parse_none)
UN_OP(Log, NULL, un_parse_none)
UN_OP(Sqrt, NULL, un_parse_none)
UN_OP(Reciprocal, NULL, un_parse_none)
UN_OP(Abs, un_ints_Abs, un_parse_none)
UN_OP(Neg, un_ints_Neg, un_parse_none)
UN_OP(Sign, un_ints_Sign, un_parse_none)
UN_OP(Floor, NULL, un_parse_none)
UN_OP(Ceil, NULL, un_parse_none)
UN_OP(Round, NULL, un_parse_none)
UN_OP(Sin, NULL, un_parse_none)
UN_OP(Cos, NULL, un_parse_none)
UN_OP(Tan, NULL, un_parse_none)
UN_OP(Asin, NULL, un_parse_none)
UN_OP(Acos, NULL, un_parse_none)
UN_OP(Atan, NULL, un_parse_none)
UN_OP(Sinh, NULL, un_parse_none)
UN_OP(Cosh, NULL, un_parse_none)
UN_OP(Asinh, NULL, un_parse_none)
UN_OP(Acosh, NULL, un_parse_none)
UN_OP(Atanh, NULL, un_parse_none)

/* ==== common driver ======================================================= */

typedef struct un_state {
    const un_op *op;
    un_params p;
} un_state;


static bool un_op_has(const un_op *op, int32_t dt) {
    if (cpu_dtype_is_float(dt))
        return true;
    return op->ints && dt > 0 && dt < UN_NDT && op->ints[dt] != NULL;
}

typedef struct un_job {
    const un_state *st;
    int32_t dtype;
    const void *x;
    void *y;
    int64_t n;
} un_job;

/* Apply the op to elements [b, e). */
static void un_apply(const un_state *st, int32_t dt, const void *x, void *y, int64_t b, int64_t e) {
    const un_op *op = st->op;
    switch (dt) {
    case PRISM_DTYPE_FLOAT:
        op->f32((const float *)x + b, (float *)y + b, e - b, &st->p);
        break;
    case PRISM_DTYPE_DOUBLE:
        op->f64((const double *)x + b, (double *)y + b, e - b, &st->p);
        break;
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: {
        const bool half = dt == PRISM_DTYPE_FLOAT16;
        const uint16_t *xs = x;
        uint16_t *ys = y;
        float tin[UN_TILE], tout[UN_TILE];
        for (int64_t i = b; i < e; i += UN_TILE) {
            int64_t m = e - i < UN_TILE ? e - i : UN_TILE;
            for (int64_t k = 0; k < m; k++)
                tin[k] = half ? cpu_half_to_float(xs[i + k]) : cpu_bf16_to_float(xs[i + k]);
            op->f32(tin, tout, m, &st->p);
            for (int64_t k = 0; k < m; k++)
                ys[i + k] = half ? cpu_float_to_half(tout[k]) : cpu_float_to_bf16(tout[k]);
        }
        break;
    }
    default: {
        const size_t sz = cpu_dtype_size(dt);
        op->ints[dt]((const char *)x + (size_t)b * sz, (char *)y + (size_t)b * sz, e - b);
        break;
    }
    }
}

static void un_chunk(void *arg, int64_t b, int64_t e) {
    const un_job *j = arg;
    int64_t end = e * UN_BLOCK;
    if (end > j->n)
        end = j->n;
    un_apply(j->st, j->dtype, j->x, j->y, b * UN_BLOCK, end);
}

/* Run fn over [0, n) in blocks, in parallel when there is more than one. */
static void un_parallel(cpu_ctx *ctx, int64_t n, void (*fn)(void *, int64_t, int64_t), void *arg) {
    int64_t blocks = (n + UN_BLOCK - 1) / UN_BLOCK;
    if (blocks > 1 && cpu_threads(ctx) > 1)
        cpu_parallel_for(ctx, blocks, fn, arg);
    else if (blocks > 0)
        fn(arg, 0, blocks);
}

static prism_status un_prepare_op(cpu_ctx *ctx, const cpu_node *node, void **state, const un_op *op) {
    un_state *st = calloc(1, sizeof *st);
    if (!st)
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->op = op;
    op->parse(node, &st->p);
    *state = st;
    return PRISM_OK;
}

static prism_status un_need_input(cpu_ctx *ctx, const cpu_tensor *const *in, uint32_t n_in) {
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input 0 is missing");
    return PRISM_OK;
}

static prism_status un_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    (void)node;
    const un_state *st = state;
    prism_status s = un_need_input(ctx, in, n_in);
    if (s)
        return s;
    const cpu_tensor *x = in[0];
    if (!st || !un_op_has(st->op, x->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    s = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s)
        return s;
    un_job j = {st, x->dtype, x->data, y->data, x->count};
    un_parallel(ctx, x->count, un_chunk, &j);
    return PRISM_OK;
}

static void un_release(void *state) { free(state); }

static bool un_supports_op(const cpu_node *node, const un_op *op) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || un_op_has(op, dt);
}

#define UN_KERNEL(SYM, OP)                                                                                       \
    static prism_status un_prepare_##SYM(cpu_ctx *ctx, const cpu_node *node, void **state) {                     \
        return un_prepare_op(ctx, node, state, &un_op_##OP);                                                     \
    }                                                                                                            \
    static bool un_supports_##SYM(const cpu_node *node) { return un_supports_op(node, &un_op_##OP); }           \
    const cpu_kernel_def cpu_op_##SYM = {.prepare = un_prepare_##SYM, .run = un_run, .release = un_release, .supports = un_supports_##SYM};

UN_KERNEL(Relu, Relu)
UN_KERNEL(LeakyRelu, LeakyRelu)
UN_KERNEL(Elu, Elu)
UN_KERNEL(Selu, Selu)
UN_KERNEL(Celu, Celu)
UN_KERNEL(Sigmoid, Sigmoid)
UN_KERNEL(HardSigmoid, HardSigmoid)
UN_KERNEL(HardSwish, HardSwish)
UN_KERNEL(Softplus, Softplus)
UN_KERNEL(Softsign, Softsign)
UN_KERNEL(Mish, Mish)
UN_KERNEL(ThresholdedRelu, ThresholdedRelu)
UN_KERNEL(Tanh, Tanh)
UN_KERNEL(Erf, Erf)
UN_KERNEL(Exp, Exp)
UN_KERNEL(Log, Log)
UN_KERNEL(Sqrt, Sqrt)
UN_KERNEL(Reciprocal, Reciprocal)
UN_KERNEL(Abs, Abs)
UN_KERNEL(Neg, Neg)
UN_KERNEL(Sign, Sign)
UN_KERNEL(Floor, Floor)
UN_KERNEL(Ceil, Ceil)
UN_KERNEL(Round, Round)
UN_KERNEL(Sin, Sin)
UN_KERNEL(Cos, Cos)
UN_KERNEL(Tan, Tan)
UN_KERNEL(Asin, Asin)
UN_KERNEL(Acos, Acos)
UN_KERNEL(Atan, Atan)
UN_KERNEL(Sinh, Sinh)
UN_KERNEL(Cosh, Cosh)
UN_KERNEL(Asinh, Asinh)
UN_KERNEL(Acosh, Acosh)
UN_KERNEL(Atanh, Atanh)

/* Gelu (opset 20): approximate = "none" (erf form) or "tanh". */
static bool un_gelu_mode(const cpu_node *node, const un_op **op) {
    const char *a = cpu_attr_string(node, "approximate", "none");
    if (strcmp(a, "none") == 0)
        *op = &un_op_GeluErf;
    else if (strcmp(a, "tanh") == 0)
        *op = &un_op_GeluTanh;
    else
        return false;
    return true;
}
static prism_status un_prepare_Gelu(cpu_ctx *ctx, const cpu_node *node, void **state) {
    const un_op *op;
    if (!un_gelu_mode(node, &op))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "attribute approximate must be \"none\" or \"tanh\", got \"%s\"",
                        cpu_attr_string(node, "approximate", ""));
    return un_prepare_op(ctx, node, state, op);
}
static bool un_supports_Gelu(const cpu_node *node) {
    const un_op *op;
    return un_gelu_mode(node, &op) && un_supports_op(node, op);
}
const cpu_kernel_def cpu_op_Gelu = {.prepare = un_prepare_Gelu, .run = un_run, .release = un_release, .supports = un_supports_Gelu};

/* ==== ops with other output types or extra inputs ========================= */

static bool un_input_dtype_is(const cpu_node *node, bool (*pred)(int32_t)) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || pred(dt);
}

/* ---- Not ---- */
static void un_not_chunk(void *arg, int64_t b, int64_t e) {
    const un_job *j = arg;
    const uint8_t *x = j->x;
    uint8_t *y = j->y;
    int64_t end = e * UN_BLOCK < j->n ? e * UN_BLOCK : j->n;
    for (int64_t i = b * UN_BLOCK; i < end; i++)
        y[i] = !x[i];
}
static prism_status un_run_Not(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)node;
    (void)state;
    prism_status s = un_need_input(ctx, in, n_in);
    if (s)
        return s;
    const cpu_tensor *x = in[0];
    if (x->dtype != PRISM_DTYPE_BOOL)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input must be bool, got %s", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    s = cpu_output(ctx, 0, PRISM_DTYPE_BOOL, x->rank, x->dims, &y);
    if (s)
        return s;
    un_job j = {NULL, x->dtype, x->data, y->data, x->count};
    un_parallel(ctx, x->count, un_not_chunk, &j);
    return PRISM_OK;
}
static bool un_is_bool(int32_t dt) { return dt == PRISM_DTYPE_BOOL; }
static bool un_supports_Not(const cpu_node *node) { return un_input_dtype_is(node, un_is_bool); }
const cpu_kernel_def cpu_op_Not = {.run = un_run_Not, .supports = un_supports_Not};

/* ---- IsNaN / IsInf: float types -> bool ---- */
static inline double un_load_f(const void *x, int32_t dt, int64_t i) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT:
        return ((const float *)x)[i];
    case PRISM_DTYPE_DOUBLE:
        return ((const double *)x)[i];
    case PRISM_DTYPE_FLOAT16:
        return cpu_half_to_float(((const uint16_t *)x)[i]);
    default:
        return cpu_bf16_to_float(((const uint16_t *)x)[i]);
    }
}
typedef struct un_class_job {
    const void *x;
    uint8_t *y;
    int32_t dtype;
    int64_t n;
    bool isnan_, neg, pos;
} un_class_job;
static void un_class_chunk(void *arg, int64_t b, int64_t e) {
    const un_class_job *j = arg;
    int64_t end = e * UN_BLOCK < j->n ? e * UN_BLOCK : j->n;
    for (int64_t i = b * UN_BLOCK; i < end; i++) {
        const double v = un_load_f(j->x, j->dtype, i);
        if (j->isnan_)
            j->y[i] = v != v;
        else
            j->y[i] = (v == INFINITY && j->pos) || (v == -INFINITY && j->neg);
    }
}
static prism_status un_run_class(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *const *in, uint32_t n_in,
                                 bool isnan_) {
    prism_status s = un_need_input(ctx, in, n_in);
    if (s)
        return s;
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    s = cpu_output(ctx, 0, PRISM_DTYPE_BOOL, x->rank, x->dims, &y);
    if (s)
        return s;
    un_class_job j = {x->data,
                      y->data,
                      x->dtype,
                      x->count,
                      isnan_,
                      cpu_attr_int(node, "detect_negative", 1) != 0,
                      cpu_attr_int(node, "detect_positive", 1) != 0};
    un_parallel(ctx, x->count, un_class_chunk, &j);
    return PRISM_OK;
}
static prism_status un_run_IsNaN(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    return un_run_class(ctx, node, in, n_in, true);
}
static prism_status un_run_IsInf(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    return un_run_class(ctx, node, in, n_in, false);
}
static bool un_supports_float(const cpu_node *node) { return un_input_dtype_is(node, cpu_dtype_is_float); }
const cpu_kernel_def cpu_op_IsNaN = {.run = un_run_IsNaN, .supports = un_supports_float};
const cpu_kernel_def cpu_op_IsInf = {.run = un_run_IsInf, .supports = un_supports_float};

/* ---- Clip ---- */

/* Bounds are applied as max then min, so min > max gives max everywhere (as
 * the spec says); NaN inputs stay NaN. */
typedef struct un_clip_job {
    const void *x;
    void *y;
    int32_t dtype;
    int64_t n;
    bool has_lo, has_hi;
    const void *lo, *hi; /* one element of the input's dtype */
} un_clip_job;

/* An absent bound is the type's extreme, so every loop is branch-free. */
#define UN_CLIP_LOOP(T, CT, LD, ST, LOWEST, HIGHEST)                       \
    {                                                                      \
        const T *restrict x = j->x;                                        \
        T *restrict y = j->y;                                              \
        const CT lo = j->has_lo ? LD(*(const T *)j->lo) : (LOWEST);       \
        const CT hi = j->has_hi ? LD(*(const T *)j->hi) : (HIGHEST);      \
        for (int64_t i = b; i < end; i++) {                                \
            CT v = LD(x[i]);                                               \
            v = v < lo ? lo : v;                                           \
            v = v > hi ? hi : v;                                           \
            y[i] = ST(v);                                                  \
        }                                                                  \
        break;                                                             \
    }
#define UN_ID(v) (v)
#define UN_CLIP_CASE(E, T, LOWEST, HIGHEST) \
    case PRISM_DTYPE_##E:                   \
        UN_CLIP_LOOP(T, T, UN_ID, UN_ID, LOWEST, HIGHEST)
#define UN_CLIP_TYPES(X)                                                                                    \
    X(FLOAT, float, -INFINITY, INFINITY) X(DOUBLE, double, -INFINITY, INFINITY)                           \
    X(INT8, int8_t, INT8_MIN, INT8_MAX) X(INT16, int16_t, INT16_MIN, INT16_MAX)                           \
    X(INT32, int32_t, INT32_MIN, INT32_MAX) X(INT64, int64_t, INT64_MIN, INT64_MAX)                       \
    X(UINT8, uint8_t, 0, UINT8_MAX) X(UINT16, uint16_t, 0, UINT16_MAX) X(UINT32, uint32_t, 0, UINT32_MAX) \
    X(UINT64, uint64_t, 0, UINT64_MAX)

static void un_clip_chunk(void *arg, int64_t bb, int64_t e) {
    const un_clip_job *j = arg;
    const int64_t b = bb * UN_BLOCK;
    const int64_t end = e * UN_BLOCK < j->n ? e * UN_BLOCK : j->n;
    switch (j->dtype) {
        UN_CLIP_TYPES(UN_CLIP_CASE)
    case PRISM_DTYPE_FLOAT16:
        UN_CLIP_LOOP(uint16_t, float, cpu_half_to_float, cpu_float_to_half, -INFINITY, INFINITY)
    case PRISM_DTYPE_BFLOAT16:
        UN_CLIP_LOOP(uint16_t, float, cpu_bf16_to_float, cpu_float_to_bf16, -INFINITY, INFINITY)
    default:
        break;
    }
}

static bool un_clip_dtype(int32_t dt) {
    switch (dt) {
#define UN_CASE(E, T) case PRISM_DTYPE_##E:
        UN_SINT_TYPES(UN_CASE)
        UN_UINT_TYPES(UN_CASE)
        return true;
    default:
        return cpu_dtype_is_float(dt);
    }
}

static prism_status un_run_Clip(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in) {
    (void)state;
    prism_status s = un_need_input(ctx, in, n_in);
    if (s)
        return s;
    const cpu_tensor *x = in[0];
    if (!un_clip_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    un_clip_job j = {.dtype = x->dtype, .n = x->count, .x = x->data};
    union {
        float f;
        double d;
        uint16_t h;
    } lo, hi;
    if (cpu_node_opset(node) < 11) {
        /* min/max attributes (float types only). Clip-6 defaults them to
         * -+FLT_MAX (so +-inf inputs are clipped); in Clip-1 absent means
         * unbounded. */
        if (!cpu_dtype_is_float(x->dtype))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported before opset 11",
                            cpu_dtype_name(x->dtype));
        const bool v6 = cpu_node_opset(node) >= 6;
        const bool has[2] = {v6 || cpu_attr_has(node, "min"), v6 || cpu_attr_has(node, "max")};
        const float v[2] = {cpu_attr_float(node, "min", -FLT_MAX), cpu_attr_float(node, "max", FLT_MAX)};
        void *dst[2] = {&lo, &hi};
        for (int k = 0; k < 2; k++) {
            switch (x->dtype) {
            case PRISM_DTYPE_FLOAT:
                *(float *)dst[k] = v[k];
                break;
            case PRISM_DTYPE_DOUBLE:
                *(double *)dst[k] = v[k];
                break;
            case PRISM_DTYPE_FLOAT16:
                *(uint16_t *)dst[k] = cpu_float_to_half(v[k]);
                break;
            default:
                *(uint16_t *)dst[k] = cpu_float_to_bf16(v[k]);
                break;
            }
        }
        j.has_lo = has[0];
        j.has_hi = has[1];
        j.lo = &lo;
        j.hi = &hi;
    } else {
        /* optional scalar inputs min (1) and max (2) of X's dtype */
        for (uint32_t k = 1; k <= 2; k++) {
            const cpu_tensor *b = k < n_in ? in[k] : NULL;
            if (!b)
                continue;
            if (b->dtype != x->dtype)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s has dtype %s, input has %s", k == 1 ? "min" : "max",
                                cpu_dtype_name(b->dtype), cpu_dtype_name(x->dtype));
            if (b->count == 0)
                continue; /* an empty tensor: treated as not given */
            if (b->count != 1)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be a scalar, got %lld elements",
                                k == 1 ? "min" : "max", (long long)b->count);
            if (k == 1) {
                j.has_lo = true;
                j.lo = b->data;
            } else {
                j.has_hi = true;
                j.hi = b->data;
            }
        }
    }
    cpu_tensor *y;
    s = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s)
        return s;
    j.y = y->data;
    un_parallel(ctx, x->count, un_clip_chunk, &j);
    return PRISM_OK;
}
static bool un_supports_Clip(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    if (dt <= 0)
        return true;
    return cpu_node_opset(node) < 11 ? cpu_dtype_is_float(dt) : un_clip_dtype(dt);
}
const cpu_kernel_def cpu_op_Clip = {.run = un_run_Clip, .supports = un_supports_Clip};

/* ---- Identity (tensors of any dtype; sequences/optionals are not tensors) ---- */
static prism_status un_run_Identity(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                    uint32_t n_in) {
    (void)node;
    (void)state;
    prism_status s = un_need_input(ctx, in, n_in);
    if (s)
        return s;
    const cpu_tensor *x = in[0];
    const size_t sz = cpu_dtype_size(x->dtype);
    if (sz == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dtype %s is not supported", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    s = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (s)
        return s;
    if (x->count == 0)
        return PRISM_OK;
    if (x->dtype == PRISM_DTYPE_STRING) {
        char *const *xs = x->data;
        char **ys = y->data;
        for (int64_t i = 0; i < x->count; i++) {
            const char *v = xs[i] ? xs[i] : "";
            size_t len = strlen(v) + 1;
            ys[i] = malloc(len);
            if (!ys[i])
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory copying strings");
            memcpy(ys[i], v, len);
        }
    } else {
        memcpy(y->data, x->data, (size_t)x->count * sz);
    }
    return PRISM_OK;
}
static bool un_supports_Identity(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_size(dt) > 0;
}
const cpu_kernel_def cpu_op_Identity = {.run = un_run_Identity, .supports = un_supports_Identity};
