/*
 * gemm.cl — C = act(alpha * op(A) * op(B) + beta * bias), batched.
 *
 * gemm_tiled: each 16x16 work-group computes a 64x64 block of C; each
 * work-item keeps a 4x4 block of accumulators in registers, and the K
 * dimension is walked in slices of 16 staged in local memory, so every
 * element loaded from global memory is used 64 times. gemm_small: one
 * work-item per element, for products with a tiny M or N (a fully
 * connected layer on one image) where a 64x64 tile would be mostly empty.
 *
 * Batches: batch index b splits into (b / inner, b % inner) with one stride
 * each, which covers convolution groups per image and MatMul broadcasting
 * over up to two batch dims. Accumulation is in float for every T, and in
 * two levels: each slice of K is summed on its own and then added to the
 * total, so the rounding error grows with the slice length plus the number
 * of slices instead of with K (a 2048-long dot product summed in one running
 * float drifts past the conformance tolerance).
 * Activation codes: 0 none, 1 relu, 2 clip(lo, hi), 3 leaky relu(alpha2).
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

#define TM 64
#define TN 64
#define TK 16
#define WG 16


inline long batch_off(long base, int b, int inner, long s1, long s2) { return base + (long)(b / inner) * s1 + (long)(b % inner) * s2; }

inline float activate(float v, int act, float lo, float hi, float alpha2) {
    if (act == 1) return v < 0.0f ? 0.0f : v;
    if (act == 2) return fmin(fmax(v, lo), hi);
    if (act == 3) return v < 0.0f ? alpha2 * v : v;
    return v;
}

#define GEMM_ARGS                                                                                          \
    const __global T *A, long a_off, long a_s1, long a_s2, int lda, int ta, const __global T *B, long b_off, \
        long b_s1, long b_s2, int ldb, int tb, __global T *C, long c_off, long c_s1, long c_s2, int ldc,    \
        const __global T *bias, long bias_off, long bias_s1, long bias_s2, long bias_rs, long bias_cs,     \
        int inner, int M, int N, int K, float alpha, float beta, int act, float lo, float hi, float alpha2

#define EPILOGUE(m, n, acc)                                                                               \
    do {                                                                                                   \
        float v_ = alpha * (acc);                                                                          \
        if (bias) v_ += beta * (float)bias[bo + (long)(m)*bias_rs + (long)(n)*bias_cs];                   \
        C[co + (long)(m)*ldc + (n)] = (T)activate(v_, act, lo, hi, alpha2);                               \
    } while (0)

__kernel __attribute__((reqd_work_group_size(WG, WG, 1))) void gemm_tiled(GEMM_ARGS) {
    const int tx = get_local_id(0), ty = get_local_id(1);
    const int n0 = get_group_id(0) * TN, m0 = get_group_id(1) * TM;
    const int b = get_global_id(2);
    const long ao = batch_off(a_off, b, inner, a_s1, a_s2), bo_ = batch_off(b_off, b, inner, b_s1, b_s2);
    const long co = batch_off(c_off, b, inner, c_s1, c_s2), bo = batch_off(bias_off, b, inner, bias_s1, bias_s2);
    __local float As[TK][TM + 1];
    __local float Bs[TK][TN + 1];
    float acc[4][4];
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) acc[i][j] = 0.0f;
    const int lid = ty * WG + tx;
    for (int k0 = 0; k0 < K; k0 += TK) {
        for (int l = 0; l < (TM * TK) / (WG * WG); l++) {
            int e = lid + l * WG * WG;
            int mm, kk;
            if (ta) { /* A stored K x M: walk m fastest */
                kk = e / TM;
                mm = e % TM;
            } else {
                mm = e / TK;
                kk = e % TK;
            }
            int gm = m0 + mm, gk = k0 + kk;
            As[kk][mm] = (gm < M && gk < K) ? (float)A[ao + (ta ? (long)gk * lda + gm : (long)gm * lda + gk)] : 0.0f;
        }
        for (int l = 0; l < (TN * TK) / (WG * WG); l++) {
            int e = lid + l * WG * WG;
            int nn, kk;
            if (tb) { /* B stored N x K: walk k fastest */
                nn = e / TK;
                kk = e % TK;
            } else {
                kk = e / TN;
                nn = e % TN;
            }
            int gn = n0 + nn, gk = k0 + kk;
            Bs[kk][nn] = (gn < N && gk < K) ? (float)B[bo_ + (tb ? (long)gn * ldb + gk : (long)gk * ldb + gn)] : 0.0f;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        float part[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) part[i][j] = 0.0f;
        for (int kk = 0; kk < TK; kk++) {
            float a[4], bb[4];
            for (int i = 0; i < 4; i++) a[i] = As[kk][ty + i * WG];
            for (int j = 0; j < 4; j++) bb[j] = Bs[kk][tx + j * WG];
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++) part[i][j] = fma(a[i], bb[j], part[i][j]);
        }
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) acc[i][j] += part[i][j];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    for (int i = 0; i < 4; i++) {
        int m = m0 + ty + i * WG;
        if (m >= M) continue;
        for (int j = 0; j < 4; j++) {
            int n = n0 + tx + j * WG;
            if (n < N) EPILOGUE(m, n, acc[i][j]);
        }
    }
}

__kernel void gemm_small(GEMM_ARGS) {
    const int n = get_global_id(0), m = get_global_id(1), b = get_global_id(2);
    if (n >= N || m >= M) return;
    const long ao = batch_off(a_off, b, inner, a_s1, a_s2), bo_ = batch_off(b_off, b, inner, b_s1, b_s2);
    const long co = batch_off(c_off, b, inner, c_s1, c_s2), bo = batch_off(bias_off, b, inner, bias_s1, bias_s2);
    const long as = ta ? lda : 1, bs = tb ? 1 : ldb;
    const __global T *pa = A + ao + (ta ? (long)m : (long)m * lda);
    const __global T *pb = B + bo_ + (tb ? (long)n * ldb : (long)n);
    float acc = 0.0f;
    for (int k0 = 0; k0 < K; k0 += TK) {
        const int k1 = min(K, k0 + TK);
        float part = 0.0f;
        for (int k = k0; k < k1; k++) part = fma((float)pa[k * as], (float)pb[k * bs], part);
        acc += part;
    }
    EPILOGUE(m, n, acc);
}
