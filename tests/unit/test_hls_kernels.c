/*
 * test_hls_kernels.c — the XRT provider's HLS kernels (prism_hls.h),
 * compiled for the host as the csim device runs them, against naive
 * double-precision references on random data. Shapes straddle the tile
 * and chunk edges (partial tiles are where tiled kernels go wrong), and
 * every mode code, bias mode and activation is covered. Output buffers
 * carry guard bands and row/batch gaps that must stay untouched.
 *
 * The kernel sources are compiled into this program (they are not part of
 * libprism, and every unit test here is a single source file).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

#include "../../providers/xrt/kernels/eltwise.c"
#include "../../providers/xrt/kernels/gemm.c"
#include "../../providers/xrt/kernels/im2col.c"
#include "../../providers/xrt/kernels/pool.c"

#define GUARD 64              /* floats of guard band before and after every output */
#define SENTINEL 12345.678f   /* value the kernels must never write to guard/gap areas */

static unsigned long long rng_state = 0x9e3779b97f4a7c15ull;

static unsigned rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (unsigned)(rng_state >> 11);
}

static int rnd_int(int lo, int hi) { return lo + (int)(rnd() % (unsigned)(hi - lo + 1)); }

static float rnd_float(void) { return (float)(rnd() % 20001) / 10000.0f - 1.0f; }

static float *random_buffer(long long n) {
    float *p = malloc((size_t)(n > 0 ? n : 1) * sizeof *p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (long long i = 0; i < n; i++) p[i] = rnd_float();
    return p;
}

/* An output of n floats between two guard bands, all set to SENTINEL;
 * returns the start of the usable part. */
static float *guarded_buffer(long long n) {
    float *p = malloc((size_t)(n + 2 * GUARD) * sizeof *p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (long long i = 0; i < n + 2 * GUARD; i++) p[i] = SENTINEL;
    return p + GUARD;
}

static int guards_intact(const float *out, long long n) {
    for (int i = 0; i < GUARD; i++)
        if (out[-1 - i] != SENTINEL || out[n + i] != SENTINEL) return 0;
    return 1;
}

static void guarded_free(float *out) { free(out - GUARD); }

static double ref_act(double v, int act, double lo, double hi) {
    if (act == PRISM_HLS_ACT_RELU) return v < 0 ? 0 : v;
    if (act == PRISM_HLS_ACT_CLIP) return v < lo ? lo : (v > hi ? hi : v);
    return v;
}

/* |got - want| within float rounding of a sum whose terms have absolute
 * sum `mag`. */
static int close_to(double got, double want, double mag) { return fabs(got - want) <= 1e-5 * mag + 1e-6; }

/* ---------------------------------------------------------------- gemm */

typedef struct gemm_case {
    int batch, m, n, k, trans_a, trans_b, bias_mode, act;
    int pad; /* extra elements per stored row, and per batch, to catch stride mistakes */
} gemm_case;

/* Runs one case and returns the number of wrong elements (0 = pass). */
static int check_gemm(const gemm_case *t) {
    const int m = t->m, n = t->n, k = t->k;
    const int a_rows = t->trans_a ? k : m, a_cols = t->trans_a ? m : k;
    const int b_rows = t->trans_b ? n : k, b_cols = t->trans_b ? k : n;
    const int lda = a_cols + t->pad, ldb = b_cols + t->pad, ldc = n + t->pad;
    const int stride_a = a_rows * lda + t->pad, stride_b = b_rows * ldb + t->pad, stride_c = m * ldc + t->pad;
    const int bias_len = t->bias_mode == PRISM_HLS_BIAS_ROW    ? m
                         : t->bias_mode == PRISM_HLS_BIAS_COL  ? n
                         : t->bias_mode == PRISM_HLS_BIAS_FULL ? m * n
                                                               : 1;
    const int stride_bias = bias_len + t->pad;
    const float alpha = 0.5f + (float)rnd_int(0, 10) / 10.0f, beta = (float)rnd_int(-10, 10) / 10.0f;
    const float lo = -0.25f, hi = 0.3f;
    float *a = random_buffer((long long)t->batch * stride_a), *b = random_buffer((long long)t->batch * stride_b);
    float *bias = random_buffer((long long)t->batch * stride_bias);
    const long long c_len = (long long)t->batch * stride_c;
    float *c = guarded_buffer(c_len);

    prism_gemm(a, b, t->bias_mode == PRISM_HLS_BIAS_NONE ? NULL : bias, c, t->batch, m, n, k, lda, ldb, ldc,
               stride_a, stride_b, stride_c, stride_bias, t->trans_a, t->trans_b, alpha, beta, t->bias_mode, t->act,
               lo, hi);

    int wrong = 0;
    for (int g = 0; g < t->batch; g++) {
        const float *ag = a + (long long)g * stride_a, *bg = b + (long long)g * stride_b;
        const float *biasg = bias + (long long)g * stride_bias;
        const float *cg = c + (long long)g * stride_c;
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                double acc = 0, mag = 0;
                for (int kk = 0; kk < k; kk++) {
                    double av = t->trans_a ? ag[(long long)kk * lda + i] : ag[(long long)i * lda + kk];
                    double bv = t->trans_b ? bg[(long long)j * ldb + kk] : bg[(long long)kk * ldb + j];
                    acc += av * bv;
                    mag += fabs(av * bv);
                }
                double v = alpha * acc, bv = 0;
                if (t->bias_mode == PRISM_HLS_BIAS_ROW) bv = biasg[i];
                if (t->bias_mode == PRISM_HLS_BIAS_COL) bv = biasg[j];
                if (t->bias_mode == PRISM_HLS_BIAS_FULL) bv = biasg[(long long)i * n + j];
                if (t->bias_mode == PRISM_HLS_BIAS_SCALAR) bv = biasg[0];
                v += beta * bv;
                v = ref_act(v, t->act, lo, hi);
                if (!close_to(cg[(long long)i * ldc + j], v, alpha * mag + fabs(beta * bv) + 1)) wrong++;
            }
    }
    /* row gaps (ldc > n) and batch gaps (stride_c > m * ldc) stay untouched */
    for (long long idx = 0; idx < c_len; idx++) {
        long long r = idx % stride_c;
        if ((r >= (long long)m * ldc || r % ldc >= n) && c[idx] != SENTINEL) wrong++;
    }
    if (!guards_intact(c, c_len)) wrong++;
    if (wrong)
        fprintf(stderr, "\ngemm batch=%d m=%d n=%d k=%d ta=%d tb=%d bias=%d act=%d pad=%d: %d wrong\n", t->batch, m,
                n, k, t->trans_a, t->trans_b, t->bias_mode, t->act, t->pad, wrong);
    free(a);
    free(b);
    free(bias);
    guarded_free(c);
    return wrong;
}

/* Every transpose, bias mode and activation on shapes around the tile edges. */
static void test_gemm_modes(void) {
    static const int dims[][3] = {{1, 1, 1},   {5, 7, 3},    {63, 64, 65}, {64, 64, 64},
                                  {65, 1, 70}, {1, 130, 129}, {70, 66, 0}, {129, 3, 200}};
    int cases = 0, failed = 0;
    for (size_t d = 0; d < sizeof dims / sizeof dims[0]; d++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (int bias_mode = PRISM_HLS_BIAS_NONE; bias_mode <= PRISM_HLS_BIAS_SCALAR; bias_mode++) {
                    gemm_case t = {1 + (int)(d % 3), dims[d][0], dims[d][1], dims[d][2], ta, tb, bias_mode,
                                   (bias_mode + ta + (int)d) % 3, (int)(d % 2) * 3};
                    failed += check_gemm(&t) != 0;
                    cases++;
                }
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(cases, 8 * 2 * 2 * 5);
}

/* Random shapes, batches and strides. */
static void test_gemm_random(void) {
    int failed = 0;
    for (int r = 0; r < 60; r++) {
        gemm_case t = {rnd_int(1, 4),        rnd_int(1, 150),       rnd_int(1, 150),       rnd_int(1, 150),
                       rnd_int(0, 1),        rnd_int(0, 1),         rnd_int(0, 4),         rnd_int(0, 2),
                       rnd_int(0, 5)};
        failed += check_gemm(&t) != 0;
    }
    CU_ASSERT_EQUAL(failed, 0);
}

/* Deep K (ResNet-50's last convolutions have K = 4608) with positive terms,
 * the worst case for rounding: the two-level summation of prism_gemm (one
 * partial sum per K tile) keeps the relative error near 4e-7, where one
 * running sum over all of K drifts to about 3e-6. */
static void test_gemm_deep_k(void) {
    const int m = 8, n = 8, k = 4608;
    float *a = malloc(sizeof(float) * m * k), *b = malloc(sizeof(float) * k * n), c[64];
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    for (int i = 0; i < m * k; i++) a[i] = (float)(rnd() % 1000) / 1000.0f;
    for (int i = 0; i < k * n; i++) b[i] = (float)(rnd() % 1000) / 1000.0f;
    prism_gemm(a, b, NULL, c, 1, m, n, k, k, n, n, 0, 0, 0, 0, 0, 0, 1.0f, 0.0f, PRISM_HLS_BIAS_NONE,
               PRISM_HLS_ACT_NONE, 0, 0);
    double worst = 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double want = 0;
            for (int kk = 0; kk < k; kk++) want += (double)a[i * k + kk] * b[kk * n + j];
            double err = fabs(c[i * n + j] - want) / want;
            if (err > worst) worst = err;
        }
    if (worst >= 1e-6) fprintf(stderr, "\ndeep K: worst relative error %.3g\n", worst);
    CU_ASSERT(worst < 1e-6);
    free(a);
    free(b);
}

/* Degenerate sizes write nothing. */
static void test_gemm_empty(void) {
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 2, 3, 4};
    float *c = guarded_buffer(4);
    prism_gemm(a, b, NULL, c, 0, 2, 2, 2, 2, 2, 2, 4, 4, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0);
    prism_gemm(a, b, NULL, c, 1, 0, 2, 2, 2, 2, 2, 4, 4, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0);
    prism_gemm(a, b, NULL, c, 1, 2, 0, 2, 2, 2, 2, 4, 4, 4, 0, 0, 0, 1, 0, 0, 0, 0, 0);
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(c[i], SENTINEL);
    CU_ASSERT(guards_intact(c, 4));
    /* k = 0: C = act(beta * bias) */
    float bias[2] = {-1.0f, 2.0f};
    prism_gemm(a, b, bias, c, 1, 2, 2, 0, 2, 2, 2, 4, 4, 4, 0, 0, 0, 1.0f, 2.0f, PRISM_HLS_BIAS_COL,
               PRISM_HLS_ACT_RELU, 0, 0);
    CU_ASSERT_EQUAL(c[0], 0.0f);
    CU_ASSERT_EQUAL(c[1], 4.0f);
    CU_ASSERT_EQUAL(c[2], 0.0f);
    CU_ASSERT_EQUAL(c[3], 4.0f);
    guarded_free(c);
}

/* -------------------------------------------------------------- im2col */

static int check_im2col(int channels, int height, int width, int kh, int kw, int pt, int pl, int pb, int pr, int sh,
                        int sw, int dh, int dw) {
    const int out_h = (height + pt + pb - ((kh - 1) * dh + 1)) / sh + 1;
    const int out_w = (width + pl + pr - ((kw - 1) * dw + 1)) / sw + 1;
    if (out_h <= 0 || out_w <= 0) return 0;
    const long long rows = (long long)channels * kh * kw, cols = (long long)out_h * out_w;
    float *x = random_buffer((long long)channels * height * width);
    float *col = guarded_buffer(rows * cols);
    prism_im2col(x, col, channels, height, width, kh, kw, pt, pl, sh, sw, dh, dw, out_h, out_w);
    int wrong = 0;
    for (int c = 0; c < channels; c++)
        for (int ki = 0; ki < kh; ki++)
            for (int kj = 0; kj < kw; kj++)
                for (int oy = 0; oy < out_h; oy++)
                    for (int ox = 0; ox < out_w; ox++) {
                        int iy = oy * sh - pt + ki * dh, ix = ox * sw - pl + kj * dw;
                        float want = iy >= 0 && iy < height && ix >= 0 && ix < width
                                         ? x[((long long)c * height + iy) * width + ix]
                                         : 0.0f;
                        long long r = ((long long)c * kh + ki) * kw + kj;
                        if (col[r * cols + (long long)oy * out_w + ox] != want) wrong++;
                    }
    if (!guards_intact(col, rows * cols)) wrong++;
    if (wrong)
        fprintf(stderr, "\nim2col c=%d %dx%d k=%dx%d pads=%d,%d,%d,%d s=%d,%d d=%d,%d: %d wrong\n", channels, height,
                width, kh, kw, pt, pl, pb, pr, sh, sw, dh, dw, wrong);
    free(x);
    guarded_free(col);
    return wrong;
}

static void test_im2col(void) {
    int failed = 0;
    failed += check_im2col(3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1) != 0;
    failed += check_im2col(2, 40, 41, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1) != 0; /* plane > one chunk */
    failed += check_im2col(4, 11, 13, 7, 5, 3, 2, 3, 2, 2, 3, 1, 1) != 0;
    failed += check_im2col(1, 12, 12, 3, 3, 2, 2, 2, 2, 1, 1, 2, 2) != 0; /* dilation */
    failed += check_im2col(5, 8, 6, 1, 1, 0, 0, 0, 0, 1, 1, 1, 1) != 0;   /* 1x1 */
    failed += check_im2col(2, 9, 9, 2, 4, 0, 1, 1, 0, 2, 2, 1, 3) != 0;   /* asymmetric */
    failed += check_im2col(1, 1, 1, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1) != 0;   /* mostly padding */
    for (int r = 0; r < 40; r++)
        failed += check_im2col(rnd_int(1, 4), rnd_int(1, 20), rnd_int(1, 20), rnd_int(1, 5), rnd_int(1, 5),
                               rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3), rnd_int(0, 3), rnd_int(1, 3),
                               rnd_int(1, 3), rnd_int(1, 2), rnd_int(1, 2)) != 0;
    CU_ASSERT_EQUAL(failed, 0);
}

/* ------------------------------------------------------------- eltwise */

static int check_eltwise(int n, int op, int b_mode, int b_inner, int b_channels, int act, int in_place) {
    const float lo = -0.2f, hi = 0.4f;
    const long long b_len = b_mode == PRISM_HLS_B_SAME ? n : b_mode == PRISM_HLS_B_SCALAR ? 1 : b_channels;
    float *a = random_buffer(n), *b = random_buffer(b_len);
    float *y = guarded_buffer(n);
    if (op == PRISM_HLS_OP_DIV) /* keep divisors away from zero */
        for (long long i = 0; i < b_len; i++) b[i] = b[i] < 0 ? b[i] - 0.5f : b[i] + 0.5f;
    if (in_place) memcpy(y, a, (size_t)n * sizeof *a);
    prism_eltwise(in_place ? y : a, op == PRISM_HLS_OP_NONE ? NULL : b, y, n, op, b_mode, b_inner, b_channels, act,
                  lo, hi);
    int wrong = 0;
    for (int i = 0; i < n; i++) {
        double av = a[i], bv;
        if (b_mode == PRISM_HLS_B_SAME)
            bv = b[i];
        else if (b_mode == PRISM_HLS_B_SCALAR)
            bv = b[0];
        else
            bv = b[(i / b_inner) % b_channels];
        double v = op == PRISM_HLS_OP_ADD   ? av + bv
                   : op == PRISM_HLS_OP_SUB ? av - bv
                   : op == PRISM_HLS_OP_MUL ? av * bv
                   : op == PRISM_HLS_OP_DIV ? av / bv
                                            : av;
        v = ref_act(v, act, lo, hi);
        if (!close_to(y[i], v, fabs(v) + 1)) wrong++;
    }
    if (!guards_intact(y, n)) wrong++;
    if (wrong)
        fprintf(stderr, "\neltwise n=%d op=%d b_mode=%d inner=%d ch=%d act=%d in_place=%d: %d wrong\n", n, op, b_mode,
                b_inner, b_channels, act, in_place, wrong);
    free(a);
    free(b);
    guarded_free(y);
    return wrong;
}

/* Every op x b_mode x act, on lengths around the chunk size. */
static void test_eltwise_modes(void) {
    static const int lengths[] = {1, 7, 1023, 1024, 1025, 3001};
    int failed = 0, cases = 0;
    for (size_t l = 0; l < sizeof lengths / sizeof lengths[0]; l++)
        for (int op = PRISM_HLS_OP_ADD; op <= PRISM_HLS_OP_NONE; op++)
            for (int b_mode = PRISM_HLS_B_SAME; b_mode <= PRISM_HLS_B_CHANNEL; b_mode++)
                for (int act = PRISM_HLS_ACT_NONE; act <= PRISM_HLS_ACT_CLIP; act++) {
                    int n = lengths[l], inner = 1, channels = 1;
                    if (b_mode == PRISM_HLS_B_CHANNEL) { /* n = batch * channels * inner */
                        static const int shapes[][3] = {{1, 1, 1}, {1, 7, 1}, {3, 5, 69}, {2, 4, 128},
                                                        {1, 25, 41}, {3, 3, 334}};
                        n = shapes[l][0] * shapes[l][1] * shapes[l][2];
                        channels = shapes[l][1];
                        inner = shapes[l][2];
                    }
                    failed += check_eltwise(n, op, b_mode, inner, channels, act, (int)((l + op) % 2)) != 0;
                    cases++;
                }
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(cases, 6 * 5 * 3 * 3);
}

static void test_eltwise_invalid(void) {
    float a[3] = {1, 2, 3}, b[1] = {1};
    float *y = guarded_buffer(3);
    prism_eltwise(a, b, y, 0, PRISM_HLS_OP_ADD, PRISM_HLS_B_SAME, 1, 1, 0, 0, 0);
    prism_eltwise(a, b, y, 3, PRISM_HLS_OP_ADD, PRISM_HLS_B_CHANNEL, 0, 1, 0, 0, 0);
    prism_eltwise(a, b, y, 3, PRISM_HLS_OP_ADD, PRISM_HLS_B_CHANNEL, 1, 0, 0, 0, 0);
    for (int i = 0; i < 3; i++) CU_ASSERT_EQUAL(y[i], SENTINEL);
    CU_ASSERT(guards_intact(y, 3));
    guarded_free(y);
}

/* ---------------------------------------------------------------- pool */

typedef struct pool_case {
    int planes, height, width, kh, kw, pt, pl, pb, pr, sh, sw, dh, dw, mode, include_pad, ceil_mode;
} pool_case;

static int pool_out(int in, int pad_sum, int k, int s, int d, int ceil_mode, int pad_begin) {
    const int span = (k - 1) * d + 1, room = in + pad_sum - span;
    if (room < 0) return 0;
    int out = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
    /* ceil mode: the last window must start inside the image or its begin padding */
    if (ceil_mode && (out - 1) * s >= in + pad_begin) out--;
    return out;
}

static int check_pool(const pool_case *t) {
    const int out_h = pool_out(t->height, t->pt + t->pb, t->kh, t->sh, t->dh, t->ceil_mode, t->pt);
    const int out_w = pool_out(t->width, t->pl + t->pr, t->kw, t->sw, t->dw, t->ceil_mode, t->pl);
    if (out_h <= 0 || out_w <= 0) return 0;
    const long long in_len = (long long)t->planes * t->height * t->width;
    const long long out_len = (long long)t->planes * out_h * out_w;
    float *x = random_buffer(in_len);
    float *y = guarded_buffer(out_len);
    prism_pool(x, y, t->planes, t->height, t->width, t->kh, t->kw, t->pt, t->pl, t->pb, t->pr, t->sh, t->sw, t->dh,
               t->dw, out_h, out_w, t->mode, t->include_pad);
    int wrong = 0;
    for (int p = 0; p < t->planes; p++)
        for (int oy = 0; oy < out_h; oy++)
            for (int ox = 0; ox < out_w; ox++) {
                double acc = t->mode == PRISM_HLS_POOL_MAX ? -INFINITY : 0;
                int in_image = 0, in_padded = 0;
                for (int ki = 0; ki < t->kh; ki++)
                    for (int kj = 0; kj < t->kw; kj++) {
                        int iy = oy * t->sh - t->pt + ki * t->dh, ix = ox * t->sw - t->pl + kj * t->dw;
                        if (iy >= 0 && iy < t->height && ix >= 0 && ix < t->width) {
                            double v = x[((long long)p * t->height + iy) * t->width + ix];
                            acc = t->mode == PRISM_HLS_POOL_MAX ? (v > acc ? v : acc) : acc + v;
                            in_image++;
                        }
                        if (iy >= -t->pt && iy < t->height + t->pb && ix >= -t->pl && ix < t->width + t->pr)
                            in_padded++;
                    }
                double want = acc;
                if (t->mode == PRISM_HLS_POOL_AVG) {
                    int divisor = t->include_pad ? in_padded : in_image;
                    want = divisor ? acc / divisor : 0;
                }
                float got = y[((long long)p * out_h + oy) * out_w + ox];
                if (isinf(want) ? got != (float)want : !close_to(got, want, fabs(want) + 1)) wrong++;
            }
    if (!guards_intact(y, out_len)) wrong++;
    if (wrong)
        fprintf(stderr, "\npool %d planes %dx%d k=%dx%d pads=%d,%d,%d,%d s=%d,%d d=%d,%d mode=%d incl=%d ceil=%d: %d "
                "wrong\n", t->planes, t->height, t->width, t->kh, t->kw, t->pt, t->pl, t->pb, t->pr, t->sh, t->sw,
                t->dh, t->dw, t->mode, t->include_pad, t->ceil_mode, wrong);
    free(x);
    guarded_free(y);
    return wrong;
}

static void test_pool_cases(void) {
    static const pool_case fixed[] = {
        {2, 8, 8, 2, 2, 0, 0, 0, 0, 2, 2, 1, 1, 0, 0, 0},        /* plain 2x2/2 */
        {3, 112, 112, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 0, 0, 0},    /* ResNet stem max pool */
        {2, 13, 13, 3, 3, 0, 0, 0, 0, 2, 2, 1, 1, 0, 0, 1},      /* SqueezeNet ceil_mode */
        {1, 7, 7, 7, 7, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0},        /* global average */
        {2, 9, 10, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1, 1, 1},       /* avg, include pad, ceil */
        {2, 9, 10, 3, 3, 1, 1, 1, 1, 2, 2, 1, 1, 1, 0, 1},       /* avg, exclude pad, ceil */
        {1, 11, 12, 3, 2, 2, 0, 1, 3, 1, 2, 2, 3, 0, 0, 0},      /* dilations, asymmetric pads */
        {1, 11, 12, 3, 2, 2, 0, 1, 3, 1, 2, 2, 3, 1, 1, 1},
        {1, 20, 20, 16, 16, 0, 0, 0, 0, 4, 4, 1, 1, 1, 0, 1},    /* largest window */
        {1, 2, 1100, 2, 3, 0, 1, 0, 1, 1, 1, 1, 1, 0, 0, 0},     /* output row > one chunk */
        {1, 2, 2100, 1, 2, 0, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0},
    };
    int failed = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) failed += check_pool(&fixed[i]) != 0;
    for (int r = 0; r < 200; r++) {
        pool_case t = {rnd_int(1, 3), rnd_int(1, 15), rnd_int(1, 15), rnd_int(1, 5), rnd_int(1, 5), 0, 0, 0, 0,
                       rnd_int(1, 3), rnd_int(1, 3), rnd_int(1, 2), rnd_int(1, 2), rnd_int(0, 1), rnd_int(0, 1),
                       rnd_int(0, 1)};
        /* pads below the window span, as ONNX requires */
        t.pt = rnd_int(0, t.kh - 1);
        t.pb = rnd_int(0, t.kh - 1);
        t.pl = rnd_int(0, t.kw - 1);
        t.pr = rnd_int(0, t.kw - 1);
        failed += check_pool(&t) != 0;
    }
    CU_ASSERT_EQUAL(failed, 0);
}

/* A window past PRISM_HLS_MAX_POOL is outside the contract: nothing is written. */
static void test_pool_too_large(void) {
    float *x = random_buffer(20 * 20);
    float *y = guarded_buffer(4);
    prism_pool(x, y, 1, 20, 20, PRISM_HLS_MAX_POOL + 1, 2, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, PRISM_HLS_POOL_MAX, 0);
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(y[i], SENTINEL);
    free(x);
    guarded_free(y);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("hls_kernels", NULL, NULL);
    CU_add_test(s, "gemm: transposes x bias modes x activations at tile edges", test_gemm_modes);
    CU_add_test(s, "gemm: random shapes, batches, strides", test_gemm_random);
    CU_add_test(s, "gemm: deep K stays accurate", test_gemm_deep_k);
    CU_add_test(s, "gemm: empty sizes, k = 0", test_gemm_empty);
    CU_add_test(s, "im2col: pads, strides, dilations, chunk edges", test_im2col);
    CU_add_test(s, "eltwise: op x b_mode x act at chunk edges", test_eltwise_modes);
    CU_add_test(s, "eltwise: invalid sizes write nothing", test_eltwise_invalid);
    CU_add_test(s, "pool: max/avg, pads, dilations, ceil mode", test_pool_cases);
    CU_add_test(s, "pool: window over the limit writes nothing", test_pool_too_large);
    return unit_run_all();
}
