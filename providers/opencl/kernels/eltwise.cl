/*
 * eltwise.cl — one-input and two-input elementwise ops for one compute type
 * T (float, or half with PRISM_FP16). Values are loaded into float, computed
 * there and stored back as T, so half gets float accuracy.
 *
 * The op is a kernel argument (the codes below must match ops/unary.c and
 * ops/binary.c): one program holds every op, and a branch on a uniform value
 * costs nothing next to the memory traffic.
 *
 * Broadcasting: the host collapses the shapes (ops/binary.c), so equal
 * shapes and scalar operands reach the *_flat kernels (strides 0 or 1); any
 * other pattern reaches the *_nd kernels with up to 8 dims, innermost first,
 * each input with its own element strides (0 on a broadcast dim).
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

/* ---- unary op codes (ops/unary.c) ---- */
#define UN_RELU 0
#define UN_LEAKY_RELU 1
#define UN_CLIP 2
#define UN_SIGMOID 3
#define UN_HARD_SIGMOID 4
#define UN_HARD_SWISH 5
#define UN_TANH 6
#define UN_ERF 7
#define UN_EXP 8
#define UN_LOG 9
#define UN_SQRT 10
#define UN_NEG 11
#define UN_ABS 12
#define UN_RECIPROCAL 13
#define UN_GELU_ERF 14
#define UN_GELU_TANH 15

/* ---- binary op codes (ops/binary.c) ---- */
#define BIN_ADD 0
#define BIN_SUB 1
#define BIN_MUL 2
#define BIN_DIV 3
#define BIN_POW 4
#define BIN_MAX 5
#define BIN_MIN 6
#define BIN_PRELU 7
#define CMP_EQUAL 0
#define CMP_LESS 1
#define CMP_GREATER 2
#define CMP_LESS_EQUAL 3
#define CMP_GREATER_EQUAL 4

/* clamp to [0, 1], NaN kept (comparisons with NaN are false) */
inline float clamp01(float v) {
    v = v > 1.0f ? 1.0f : v;
    return v < 0.0f ? 0.0f : v;
}

inline float unary_op(int op, float x, float a, float b) {
    switch (op) {
    case UN_RELU: return x < 0.0f ? 0.0f : x;
    case UN_LEAKY_RELU: return x < 0.0f ? a * x : x;
    case UN_CLIP: /* max then min: lo > hi gives hi, as the spec says */
        x = x < a ? a : x;
        return x > b ? b : x;
    case UN_SIGMOID: {
        const float e = exp(-fabs(x)); /* <= 1: no overflow */
        const float r = 1.0f / (1.0f + e);
        return x >= 0.0f ? r : e * r;
    }
    case UN_HARD_SIGMOID: return clamp01(a * x + b);
    case UN_HARD_SWISH: return x * clamp01(x * (1.0f / 6.0f) + 0.5f);
    case UN_TANH: return tanh(x);
    case UN_ERF: return erf(x);
    case UN_EXP: return exp(x);
    case UN_LOG: return log(x);
    case UN_SQRT: return sqrt(x);
    case UN_NEG: return -x;
    case UN_ABS: return fabs(x);
    case UN_RECIPROCAL: return 1.0f / x;
    case UN_GELU_ERF: return 0.5f * x * (1.0f + erf(x * 0.70710678118654752f));
    case UN_GELU_TANH: return 0.5f * x * (1.0f + tanh(0.79788456080286536f * (x + 0.044715f * x * x * x)));
    default: return x;
    }
}

inline float binary_op(int op, float a, float b) {
    switch (op) {
    case BIN_ADD: return a + b;
    case BIN_SUB: return a - b;
    case BIN_MUL: return a * b;
    case BIN_DIV: return a / b;
    case BIN_POW: return b == 2.0f ? a * a : pow(a, b);
    /* Max/Min propagate NaN, like numpy and the CPU provider */
    case BIN_MAX: return isnan(a) ? a : isnan(b) ? b : (a > b ? a : b);
    case BIN_MIN: return isnan(a) ? a : isnan(b) ? b : (a < b ? a : b);
    case BIN_PRELU: return a < 0.0f ? b * a : a;
    default: return a;
    }
}

inline uchar compare_op(int op, float a, float b) {
    switch (op) {
    case CMP_EQUAL: return a == b;
    case CMP_LESS: return a < b;
    case CMP_GREATER: return a > b;
    case CMP_LESS_EQUAL: return a <= b;
    case CMP_GREATER_EQUAL: return a >= b;
    default: return 0;
    }
}

__kernel void unary(__global const T *x, __global T *y, long n, int op, float a, float b) {
    const long i = get_global_id(0);
    if (i < n) y[i] = (T)unary_op(op, (float)x[i], a, b);
}

__kernel void binary_flat(__global const T *a, __global const T *b, __global T *y, long n, int op, long sa,
                          long sb) {
    const long i = get_global_id(0);
    if (i < n) y[i] = (T)binary_op(op, (float)a[i * sa], (float)b[i * sb]);
}

__kernel void compare_flat(__global const T *a, __global const T *b, __global uchar *y, long n, int op, long sa,
                           long sb) {
    const long i = get_global_id(0);
    if (i < n) y[i] = compare_op(op, (float)a[i * sa], (float)b[i * sb]);
}

/* dims (innermost first) and the two inputs' strides */
#define ND_PARAMS                                                                                       \
    int rank, long d0, long d1, long d2, long d3, long d4, long d5, long d6, long d7, long a0, long a1, \
        long a2, long a3, long a4, long a5, long a6, long a7, long b0, long b1, long b2, long b3, long b4, \
        long b5, long b6, long b7

/* Offsets oa, ob of output element i in the two inputs. */
#define ND_OFFSETS(i)                                                                         \
    const long dd[8] = {d0, d1, d2, d3, d4, d5, d6, d7};                                     \
    const long sa[8] = {a0, a1, a2, a3, a4, a5, a6, a7};                                     \
    const long sb[8] = {b0, b1, b2, b3, b4, b5, b6, b7};                                     \
    long rest = (i), oa = 0, ob = 0;                                                          \
    for (int k = 0; k < rank; k++) {                                                          \
        const long c = rest % dd[k];                                                          \
        rest /= dd[k];                                                                        \
        oa += c * sa[k];                                                                      \
        ob += c * sb[k];                                                                      \
    }

__kernel void binary_nd(__global const T *a, __global const T *b, __global T *y, long n, int op, ND_PARAMS) {
    const long i = get_global_id(0);
    if (i >= n) return;
    ND_OFFSETS(i)
    y[i] = (T)binary_op(op, (float)a[oa], (float)b[ob]);
}

__kernel void compare_nd(__global const T *a, __global const T *b, __global uchar *y, long n, int op, ND_PARAMS) {
    const long i = get_global_id(0);
    if (i >= n) return;
    ND_OFFSETS(i)
    y[i] = compare_op(op, (float)a[oa], (float)b[ob]);
}

/* ---- CPU-device forms ------------------------------------------------------
 * One work-item per chunk of ELT_CHUNK consecutive output elements, with the
 * op a compile-time constant inside each loop (ELT_CASE instantiates the
 * loop once per op code, so unary_op / binary_op fold to one expression and
 * the loop vectorises). On a CPU device a work-item per element costs more
 * in scheduling and index arithmetic than the arithmetic itself. */
#define ELT_CHUNK 256

#define UN_LOOP(OP)                                                                 \
    case OP:                                                                        \
        for (long i = i0; i < i1; i++) y[i] = (T)unary_op(OP, (float)x[i], a, b);   \
        break;

__kernel void unary_chunk(__global const T *x, __global T *y, long n, int op, float a, float b) {
    const long i0 = (long)get_global_id(0) * ELT_CHUNK;
    const long i1 = min(i0 + ELT_CHUNK, n);
    switch (op) {
        UN_LOOP(UN_RELU) UN_LOOP(UN_LEAKY_RELU) UN_LOOP(UN_CLIP) UN_LOOP(UN_SIGMOID) UN_LOOP(UN_HARD_SIGMOID)
        UN_LOOP(UN_HARD_SWISH) UN_LOOP(UN_TANH) UN_LOOP(UN_ERF) UN_LOOP(UN_EXP) UN_LOOP(UN_LOG) UN_LOOP(UN_SQRT)
        UN_LOOP(UN_NEG) UN_LOOP(UN_ABS) UN_LOOP(UN_RECIPROCAL) UN_LOOP(UN_GELU_ERF) UN_LOOP(UN_GELU_TANH)
    default:
        for (long i = i0; i < i1; i++) y[i] = (T)unary_op(op, (float)x[i], a, b);
    }
}

/* len outputs y[0..len) from a[j * SA], b[j * SB] with op OP. */
#define BIN_RUN(OP, SA, SB)                                                                   \
    for (long j = 0; j < len; j++) yo[j] = (T)binary_op(OP, (float)ao[j * (SA)], (float)bo[j * (SB)]);
/* The inner strides are almost always 0 or 1: constant strides vectorise. */
#define BIN_STRIDES(OP)                                                \
    case OP:                                                           \
        if (a0 == 1 && b0 == 1) { BIN_RUN(OP, 1, 1) }                  \
        else if (a0 == 1 && b0 == 0) { BIN_RUN(OP, 1, 0) }             \
        else if (a0 == 0 && b0 == 1) { BIN_RUN(OP, 0, 1) }             \
        else { BIN_RUN(OP, a0, b0) }                                   \
        break;

/* Any broadcast pattern (ND_PARAMS; the flat case is rank 1): the chunk is
 * walked in runs along the innermost dim, the input offsets computed once
 * per run. */
__kernel void binary_chunk(__global const T *a, __global const T *b, __global T *y, long n, int op, ND_PARAMS) {
    long i = (long)get_global_id(0) * ELT_CHUNK;
    const long i1 = min(i + ELT_CHUNK, n);
    while (i < i1) {
        ND_OFFSETS(i)
        const long len = min(i1 - i, d0 - i % d0);
        __global const T *ao = a + oa;
        __global const T *bo = b + ob;
        __global T *yo = y + i;
        switch (op) {
            BIN_STRIDES(BIN_ADD) BIN_STRIDES(BIN_SUB) BIN_STRIDES(BIN_MUL) BIN_STRIDES(BIN_DIV)
            BIN_STRIDES(BIN_POW) BIN_STRIDES(BIN_MAX) BIN_STRIDES(BIN_MIN) BIN_STRIDES(BIN_PRELU)
        default: BIN_RUN(op, a0, b0)
        }
        i += len;
    }
}

/*
 * erf on CPU devices. The device's erf is a scalar library call that its
 * work-group vectoriser cannot widen; this form is straight-line
 * arithmetic plus exp (which it does widen), so a work-group runs as
 * vector code. Both halves are computed and one is selected, so there is
 * no divergent branch.
 *
 *   |x| < 1:      erf(x) = x * P(x^2), P of degree 6 in x^2;
 *   1 <= |x| < 4: erf(x) = 1 - exp(-x^2) * R(t), t = (|x| - 2.5) / 1.5,
 *                 R of degree 11 approximating erfc(x) * exp(x^2);
 *   |x| >= 4:     erf(x) = +-1 (1 - erf(4) is below half a float ulp of 1).
 * The coefficients are least-squares fits on Chebyshev nodes against a
 * 30-digit reference; approximation error below 6e-8 relative, and below
 * 2e-7 relative (about 1.5 ulp) after float rounding. NaN stays NaN.
 */
inline float erf_cpu(float x) {
    const float a = fabs(x), s = a * a;
    float p = 7.933493881e-05f;
    p = mad(p, s, -8.034846648e-04f);
    p = mad(p, s, 5.191218377e-03f);
    p = mad(p, s, -2.685539945e-02f);
    p = mad(p, s, 1.128362573e-01f);
    p = mad(p, s, -3.761262988e-01f);
    p = mad(p, s, 1.128379167e+00f);
    const float t = (a - 2.5f) * (1.0f / 1.5f);
    float r = -3.692872358e-05f;
    r = mad(r, t, 9.640451524e-05f);
    r = mad(r, t, -1.439485979e-04f);
    r = mad(r, t, 3.678686724e-04f);
    r = mad(r, t, -1.017117774e-03f);
    r = mad(r, t, 2.425885101e-03f);
    r = mad(r, t, -5.567332910e-03f);
    r = mad(r, t, 1.248403569e-02f);
    r = mad(r, t, -2.700572529e-02f);
    r = mad(r, t, 5.611095841e-02f);
    r = mad(r, t, -1.115210047e-01f);
    r = mad(r, t, 2.108063575e-01f);
    const float big = a >= 4.0f ? 1.0f : 1.0f - exp(-s) * r;
    return a < 1.0f ? x * p : copysign(big, x);
}

/* Erf and Gelu (exact form) on CPU devices, one element per work-item. */
__kernel void erf_cpu_flat(__global const T *x, __global T *y, long n) {
    const long i = get_global_id(0);
    if (i < n) y[i] = (T)erf_cpu((float)x[i]);
}

__kernel void gelu_erf_cpu_flat(__global const T *x, __global T *y, long n) {
    const long i = get_global_id(0);
    if (i < n) {
        const float v = (float)x[i];
        y[i] = (T)(0.5f * v * (1.0f + erf_cpu(v * 0.70710678118654752f)));
    }
}
