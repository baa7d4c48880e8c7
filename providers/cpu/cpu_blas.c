/*
 * cpu_blas.c — OpenBLAS, loaded at run time so that its kernel choice can be
 * made before it initialises. Debian's OpenBLAS 0.3.21 does not recognise
 * some recent CPUs and falls back to its slowest kernels; OpenBLAS reads
 * OPENBLAS_CORETYPE once, when it is loaded. So: if the variable is unset
 * and the CPU has the features of a core type OpenBLAS knows, set it to that
 * core type before loading. A value the user or machine already set is never
 * changed (some machines set it on purpose: old builds compute wrong results
 * on their processors). What was chosen, and why, is reported in the device
 * properties.
 *
 * OpenBLAS's own threads are set to 1: the provider splits GEMMs over its
 * own pool, which follows the session's thread count.
 *
 * Accuracy: long reductions are cut into K slices of at most
 * CPU_SGEMM_KBLOCK (see gemm_block).
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

static const char *cpu_best_coretype(void) {
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        return "SkylakeX";
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
    return NULL;
}

void cpu_blas_load(cpu_blas *b) {
    memset(b, 0, sizeof *b);
    const char *preset = getenv("OPENBLAS_CORETYPE");
    char chosen[64] = "";
    /* Only when OpenBLAS is not in the process yet can the choice matter. */
    void *already = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
    if (already) dlclose(already);
    if (!preset && !already) {
        const char *best = cpu_best_coretype();
        if (best && setenv("OPENBLAS_CORETYPE", best, 0) == 0) snprintf(chosen, sizeof chosen, "%s", best);
    }
    b->dl = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!b->dl) b->dl = dlopen("libopenblas.so", RTLD_NOW | RTLD_LOCAL);
    if (b->dl) b->sgemm = (cpu_sgemm_fn)(uintptr_t)dlsym(b->dl, "cblas_sgemm");
    if (!b->sgemm) {
        snprintf(b->description, sizeof b->description,
                 "blas=none (OpenBLAS not found: using the provider's own GEMM, much slower)");
        if (b->dl) dlclose(b->dl);
        b->dl = NULL;
        return;
    }
    void (*set_threads)(int) = (void (*)(int))(uintptr_t)dlsym(b->dl, "openblas_set_num_threads");
    char *(*corename)(void) = (char *(*)(void))(uintptr_t)dlsym(b->dl, "openblas_get_corename");
    char *(*config)(void) = (char *(*)(void))(uintptr_t)dlsym(b->dl, "openblas_get_config");
    if (set_threads) set_threads(1);
    const char *core = corename ? corename() : "unknown";
    snprintf(b->description, sizeof b->description, "blas=%s\nblas_core=%s\nblas_coretype_source=%s",
             config ? config() : "OpenBLAS", core,
             preset ? "OPENBLAS_CORETYPE set before Prism (kept)"
             : *chosen ? "chosen by Prism from the CPU's features (OPENBLAS_CORETYPE was unset)"
             : already ? "OpenBLAS was already loaded in this process"
                       : "OpenBLAS's own detection");
}

void cpu_blas_unload(cpu_blas *b) {
    if (b->dl) dlclose(b->dl);
    memset(b, 0, sizeof *b);
}

/* ---- GEMM split over the instance's pool --------------------------------- */

enum { CBLAS_ROW_MAJOR = 101, CBLAS_NO_TRANS = 111, CBLAS_TRANS = 112 };

typedef struct gemm_job {
    cpu_sgemm_fn fn;
    bool ta, tb, split_n;
    int64_t m, n, k, lda, ldb, ldc, block;
    float alpha, beta;
    const float *a, *b;
    float *c;
} gemm_job;

/* The provider's own GEMM, used only when OpenBLAS is missing: correct,
 * cache-friendly enough (i-k-j order), not fast. */
static void fallback_sgemm(const gemm_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    for (int64_t i = m0; i < m1; i++) {
        float *crow = j->c + i * j->ldc;
        for (int64_t x = n0; x < n1; x++) crow[x] = j->beta == 0.0f ? 0.0f : crow[x] * j->beta;
        for (int64_t p = 0; p < j->k; p++) {
            float av = j->alpha * (j->ta ? j->a[p * j->lda + i] : j->a[i * j->lda + p]);
            if (av == 0.0f) continue;
            if (!j->tb) {
                const float *brow = j->b + p * j->ldb;
                for (int64_t x = n0; x < n1; x++) crow[x] += av * brow[x];
            } else {
                for (int64_t x = n0; x < n1; x++) crow[x] += av * j->b[x * j->ldb + p];
            }
        }
    }
}

/* Longest run of K that one cblas_sgemm call sums (see gemm_block).
 * Overridable at build time, for tests and comparisons (a value above any K,
 * e.g. 2147483647, turns the slicing off). */
#ifndef CPU_SGEMM_KBLOCK
#define CPU_SGEMM_KBLOCK 128
#endif

/*
 * A BLAS micro-kernel sums each element of C as one sequential chain of
 * FMAs per K block, then adds the block's sum into C. The rounding error of
 * a sequential float sum of L terms grows like sqrt(L) relative to the
 * result, so the block length sets the accuracy. OpenBLAS 0.3.21 (SkylakeX
 * kernels) uses K blocks of up to 448 (measured; K in (448, 896] is cut in
 * two halves), ONNX Runtime's MLAS uses 128. So K is cut here into equal
 * slices of at most CPU_SGEMM_KBLOCK, each a separate call that accumulates
 * into C (beta = 1 after the first slice): a two-level sum whose relative
 * error grows like sqrt(slice + K/slice) instead of sqrt(448 + K/448).
 * On ResNet-50 this cuts the mean relative error of a Conv by about 29 %
 * (K = 147..4608) and the RMS error of the logits against a float64
 * reference by about 20 % (to ONNX Runtime's level), and ViT-B/16's by
 * about 45 %, for 2-3 % more GEMM time in a single-thread benchmark of
 * ResNet-50's GEMM shapes (more passes over C, more calls); end to end the
 * difference was below the noise of our machines. Slices of 64 are a little
 * more accurate still and cost about 4 %. GEMMs with K <= CPU_SGEMM_KBLOCK
 * are unchanged, bit for bit. Folding a residual Add into C instead (beta = 1
 * onto an output pre-filled with residual + bias, as fused Conv+Add does)
 * does not help accuracy: the same number of roundings, and slightly larger
 * errors in an emulation (the partial sums are larger).
 */
static void gemm_block(const gemm_job *j, int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (m1 <= m0 || n1 <= n0) return;
    if (!j->fn) {
        fallback_sgemm(j, m0, m1, n0, n1);
        return;
    }
    const float *a = j->ta ? j->a + m0 : j->a + m0 * j->lda;
    const float *b = j->tb ? j->b + n0 * j->ldb : j->b + n0;
    /* Equal slices (K = 147 gives 80 + 67, not 128 + 19), a multiple of 8. */
    int64_t slice = j->k;
    if (j->k > CPU_SGEMM_KBLOCK) {
        int64_t slices = (j->k + CPU_SGEMM_KBLOCK - 1) / CPU_SGEMM_KBLOCK;
        slice = ((j->k + slices - 1) / slices + 7) / 8 * 8;
    }
    float beta = j->beta;
    for (int64_t k0 = 0; k0 < j->k; k0 += slice) {
        int64_t kn = j->k - k0 < slice ? j->k - k0 : slice;
        const float *ak = j->ta ? a + k0 * j->lda : a + k0; /* op(A) columns k0.. */
        const float *bk = j->tb ? b + k0 : b + k0 * j->ldb; /* op(B) rows k0.. */
        j->fn(CBLAS_ROW_MAJOR, j->ta ? CBLAS_TRANS : CBLAS_NO_TRANS, j->tb ? CBLAS_TRANS : CBLAS_NO_TRANS,
              (int)(m1 - m0), (int)(n1 - n0), (int)kn, j->alpha, ak, (int)j->lda, bk, (int)j->ldb, beta,
              j->c + m0 * j->ldc + n0, (int)j->ldc);
        beta = 1.0f; /* later slices add onto the earlier ones */
    }
}

static void gemm_task(void *arg, int64_t begin, int64_t end) {
    const gemm_job *j = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t lo = t * j->block, hi = lo + j->block;
        if (j->split_n) gemm_block(j, 0, j->m, lo, hi < j->n ? hi : j->n);
        else gemm_block(j, lo, hi < j->m ? hi : j->m, 0, j->n);
    }
}

void cpu_sgemm(cpu_ctx *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha, const float *a,
               int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    gemm_job j = {.fn = ctx->inst->prov->blas.sgemm, .ta = trans_a, .tb = trans_b, .m = m, .n = n, .k = k,
                  .lda = lda, .ldb = ldb, .ldc = ldc, .alpha = alpha, .beta = beta, .a = a, .b = b, .c = c};
    /* OpenBLAS takes int sizes; larger problems use the portable loop. */
    const int64_t lim = 0x7fffffff;
    if (m > lim || n > lim || k > lim || lda > lim || ldb > lim || ldc > lim) j.fn = NULL;
    if (k <= 0) { /* C = beta * C */
        for (int64_t i = 0; i < m; i++)
            for (int64_t x = 0; x < n; x++) c[i * ldc + x] = beta == 0.0f ? 0.0f : c[i * ldc + x] * beta;
        return;
    }
    int threads = cpu_threads(ctx);
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (threads <= 1 || flops < 2e6) {
        gemm_block(&j, 0, m, 0, n);
        return;
    }
    /* Split the larger of M and N into blocks, a multiple of 16 wide so the
     * BLAS micro-kernels stay aligned with the cut. */
    j.split_n = n > m;
    int64_t dim = j.split_n ? n : m;
    int64_t block = (dim + threads - 1) / threads;
    block = (block + 15) / 16 * 16;
    j.block = block;
    cpu_parallel_for(ctx, (dim + block - 1) / block, gemm_task, &j);
}

/* Double precision has no OpenBLAS path here (the kernels that need it are
 * rare: double Conv, ConvTranspose, DeformConv); plain loops split over the
 * rows of C. */
typedef struct dgemm_job {
    bool ta;
    int64_t n, k, lda, ldb, ldc;
    double beta;
    const double *a, *b;
    double *c;
} dgemm_job;

static void dgemm_rows(void *arg, int64_t r0, int64_t r1) {
    const dgemm_job *j = arg;
    for (int64_t i = r0; i < r1; i++) {
        double *cr = j->c + i * j->ldc;
        for (int64_t x = 0; x < j->n; x++) cr[x] = j->beta == 0 ? 0 : cr[x] * j->beta;
        for (int64_t p = 0; p < j->k; p++) {
            const double av = j->ta ? j->a[p * j->lda + i] : j->a[i * j->lda + p];
            const double *br = j->b + p * j->ldb;
            for (int64_t x = 0; x < j->n; x++) cr[x] += av * br[x];
        }
    }
}

void cpu_dgemm(cpu_ctx *ctx, bool trans_a, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
               const double *b, int64_t ldb, double beta, double *c, int64_t ldc) {
    if (m <= 0 || n <= 0) return;
    dgemm_job j = {.ta = trans_a, .n = n, .k = k, .lda = lda, .ldb = ldb, .ldc = ldc, .beta = beta, .a = a, .b = b,
                   .c = c};
    cpu_parallel_for(ctx, m, dgemm_rows, &j);
}
