/*
 * gemm.cl — C = act(alpha * op(A) * op(B) + beta * bias), batched.
 *
 * gemm_tiled: each 16x16 work-group computes a 64x64 block of C; each
 * work-item keeps a 4x4 block of accumulators in registers, and the K
 * dimension is walked in slices of 16 staged in local memory, so every
 * element loaded from global memory is used 64 times. gemm_small: one
 * work-item per element, for products with a tiny M or N (a fully
 * connected layer on one image) where a 64x64 tile would be mostly empty.
 * Both are for GPUs; CPU devices run gemm_rows (below), which the host
 * picks by device type, with gemm_transpose_b ahead of it for a
 * transposed B.
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

/* ---- CPU devices ------------------------------------------------------------
 * gemm_rows: no local memory and no barrier (a CPU driver runs a work-group
 * as a loop over its work-items, and a barrier splits that loop). Each
 * work-item computes a CR x 16 block of C as CR float16 rows, walking K one
 * row of B at a time: a contiguous vload16 of B times each of the CR
 * elements of A broadcast, so the compiler sees plain wide-vector FMAs on
 * registers. Rows past M read the last row (clamped) and are not stored;
 * the last column block of a ragged N is shifted to end at N; with N < 16
 * or a transposed B (the host copies B into K x N order first once M makes
 * it worth it) B is gathered element-wise. K is summed in slices of CK as
 * in gemm_tiled. CR must match GEMM_ROWS_CR in ops/gemm.c. */
#define CR 8
#define CK 16

#define CAT_(a, b) a##b
#define CAT(a, b) CAT_(a, b)
#define T16 CAT(T, 16)
#define TO_T16 CAT(convert_, T16)

inline float16 activate16(float16 v, int act, float lo, float hi, float alpha2) {
    if (act == 1) return select(v, (float16)0.0f, v < (float16)0.0f);
    if (act == 2) return fmin(fmax(v, (float16)lo), (float16)hi);
    if (act == 3) return select(v, v * alpha2, v < (float16)0.0f);
    return v;
}

/* B row k, columns n0..n0+15, as float16: contiguous, or gathered (B
 * stored N x K, or the columns cross N: those past it read column N-1). */
inline float16 b_row_gather(const __global T *pb, int k, int n0, int N, int ldb, int tb) {
    float e[16];
    for (int j = 0; j < 16; j++) {
        const int n = min(n0 + j, N - 1);
        e[j] = (float)pb[tb ? (long)n * ldb + k : (long)k * ldb + n];
    }
    return vload16(0, e);
}

/* The CR rows of a block as named variables (not arrays: arrays of
 * vectors are not always promoted to registers). */
#define FOR_ROWS(F) F(0) F(1) F(2) F(3) F(4) F(5) F(6) F(7)

/* One K slice [k0, k1) into p<i>, then p<i> into c<i>: B_ROW(k) is the
 * float16 row of B, A_AT(i, k) element (m0 + i, k) of op(A). */
#define ZERO_P(i) float16 p##i = (float16)0.0f;
#define FMA_P(i) p##i = fma((float16)(float)(A_AT(i, k)), bv, p##i);
#define ADD_P(i) c##i += p##i;
#define SLICES(B_ROW)                                                                                       \
    for (int k0 = 0; k0 < K; k0 += CK) {                                                                   \
        const int k1 = min(K, k0 + CK);                                                                    \
        FOR_ROWS(ZERO_P)                                                                                   \
        for (int k = k0; k < k1; k++) {                                                                    \
            const float16 bv = B_ROW(k);                                                                   \
            FOR_ROWS(FMA_P)                                                                                \
        }                                                                                                  \
        FOR_ROWS(ADD_P)                                                                                    \
    }

#define B_CONTIG(k) convert_float16(vload16(0, pb + (long)(k) * ldb + n0))
#define B_GATHER(k) b_row_gather(pb, k, n0, N, ldb, tb)

inline void store_row(float16 acc, int m, int n0, int skip, int full, __global T *C, long co, int ldc, const __global T *bias,
                      long bo, long bias_rs, long bias_cs, int N, float alpha, float beta, int act, float lo,
                      float hi, float alpha2) {
    if (full && !skip && (!bias || bias_cs == 0 || bias_cs == 1)) {
        float16 v = alpha * acc;
        if (bias && bias_cs == 0) v += beta * (float)bias[bo + (long)m * bias_rs];
        else if (bias) v += beta * convert_float16(vload16(0, bias + bo + (long)m * bias_rs + n0));
        vstore16(TO_T16(activate16(v, act, lo, hi, alpha2)), 0, C + co + (long)m * ldc + n0);
        return;
    }
    float e[16];
    vstore16(acc, 0, e);
    for (int j = skip; j < 16 && n0 + j < N; j++) EPILOGUE(m, n0 + j, e[j]);
}

#define ROW_PTR(i) const __global T *a##i = pa + (ta ? (long)min(m0 + i, M - 1) : (long)min(m0 + i, M - 1) * lda);
#define ZERO_C(i) float16 c##i = (float16)0.0f;
#define STORE_C(i)                                                                                          \
    if (m0 + i < M)                                                                                        \
        store_row(c##i, m0 + i, n0, skip, full, C, co, ldc, bias, bo, bias_rs, bias_cs, N, alpha, beta, act, lo, hi, alpha2);

/* Blocks are numbered so that consecutive work-groups (which a CPU driver
 * runs one after another on a core) share their columns of B: bands of
 * `band` row blocks, walked column block by column block, row block
 * fastest. A band of A stays in the core's cache while the columns of B
 * stream past it once per band instead of once per row block. */
__kernel void gemm_rows(GEMM_ARGS, int band) {
    const int nbm = (M + CR - 1) / CR, nbn = (N + 15) / 16, lin = get_global_id(0), b = get_global_id(2);
    if (lin >= nbm * nbn) return;
    const int first = lin / (band * nbn) * band, rows = min(band, nbm - first), in_band = lin - first * nbn;
    const int m0 = (first + in_band % rows) * CR, nominal = in_band / rows * 16;
    /* The last column block of a ragged N (N >= 16) is shifted left to end
     * at N, so it still reads whole rows of B; it stores only the columns
     * from `nominal` on (the ones before belong to the previous block). */
    const int n0 = N >= 16 ? min(nominal, N - 16) : 0;
    const long ao = batch_off(a_off, b, inner, a_s1, a_s2), bo_ = batch_off(b_off, b, inner, b_s1, b_s2);
    const long co = batch_off(c_off, b, inner, c_s1, c_s2), bo = batch_off(bias_off, b, inner, bias_s1, bias_s2);
    const __global T *pa = A + ao, *pb = B + bo_;
    /* a<i>: start of row m0 + i of op(A) (clamped to M - 1), walked by k
     * with step 1 (A stored M x K) or lda (stored K x M). */
    FOR_ROWS(ROW_PTR)
    const int full = n0 + 16 <= N, skip = nominal - n0;
    FOR_ROWS(ZERO_C)
    if (full && !tb) {
        if (ta) {
#define A_AT(i, k) a##i[(long)(k) * lda]
            SLICES(B_CONTIG)
#undef A_AT
        } else {
#define A_AT(i, k) a##i[k]
            SLICES(B_CONTIG)
#undef A_AT
        }
    } else if (ta) {
#define A_AT(i, k) a##i[(long)(k) * lda]
        SLICES(B_GATHER)
#undef A_AT
    } else {
#define A_AT(i, k) a##i[k]
        SLICES(B_GATHER)
#undef A_AT
    }
    FOR_ROWS(STORE_C)
}

/* B stored N x K per batch -> K x N, densely packed, one copy per batch
 * index (the host passes one batch when every batch shares B). */
__kernel void gemm_transpose_b(const __global T *B, long b_off, long b_s1, long b_s2, int ldb, int inner, int N, int K,
                               __global T *Bt) {
    const int n = get_global_id(0), k = get_global_id(1), b = get_global_id(2);
    if (n >= N || k >= K) return;
    Bt[((long)b * K + k) * N + n] = B[batch_off(b_off, b, inner, b_s1, b_s2) + (long)n * ldb + k];
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
