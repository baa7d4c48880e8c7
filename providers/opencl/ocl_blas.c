/*
 * ocl_blas.c — large float32 GEMMs through CLBlast when the provider was
 * built with it and the session asked for it (option clblast=1). Without
 * CLBlast every call declines and the provider's own kernel runs.
 *
 * Each product handed to CLBlast is logged at DEBUG level and each one
 * CLBlast refuses at WARNING level (both lines start with "CLBlast SGEMM"),
 * so a benchmark can tell which library really ran.
 */
#include <stdio.h>

#include "ocl_internal.h"

#ifdef PRISM_HAVE_CLBLAST
#include <clblast_c.h>

bool ocl_blas_available(void) { return true; }

bool ocl_blas_sgemm(ocl_ctx *ctx, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                    size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                    size_t ldc) {
    prism_instance *inst = ctx->inst;
    if (!inst->use_clblast || m * n * k < (size_t)1 << 21) return false;
    /* CLBlast enqueues on our queue: serialise with our own launches. */
    pthread_mutex_lock(&inst->launch_lock);
    CLBlastStatusCode s = CLBlastSgemm(CLBlastLayoutRowMajor, ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                       tb ? CLBlastTransposeYes : CLBlastTransposeNo, m, n, k, alpha, a, a_off, lda, b,
                                       b_off, ldb, beta, c, c_off, ldc, &inst->queue, NULL);
    pthread_mutex_unlock(&inst->launch_lock);
    char msg[160];
    if (s == CLBlastSuccess)
        snprintf(msg, sizeof msg, "CLBlast SGEMM %zux%zux%zu (ta=%d tb=%d)", m, n, k, (int)ta, (int)tb);
    else
        snprintf(msg, sizeof msg, "CLBlast SGEMM %zux%zux%zu refused (status %d): the provider's kernel runs", m, n,
                 k, (int)s);
    ctx->host->log(ctx->hc, s == CLBlastSuccess ? PRISM_LOG_DEBUG : PRISM_LOG_WARNING, msg);
    return s == CLBlastSuccess;
}
#else
bool ocl_blas_available(void) { return false; }

bool ocl_blas_sgemm(ocl_ctx *ctx, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                    size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                    size_t ldc) {
    (void)ctx, (void)ta, (void)tb, (void)m, (void)n, (void)k, (void)alpha, (void)a, (void)a_off, (void)lda;
    (void)b, (void)b_off, (void)ldb, (void)beta, (void)c, (void)c_off, (void)ldc;
    return false;
}
#endif
