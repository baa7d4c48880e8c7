/*
 * ocl_nn.h — helpers shared by the contraction ops (gemm.c, conv.c) and the
 * other nn ops. Internal to the OpenCL provider's ops.
 */
#ifndef PRISM_OCL_NN_H
#define PRISM_OCL_NN_H

#include "ocl_kernel.h"

/* One batched GEMM launch: for b in [0, batch), with
 * off(b) = base + (b / inner) * s1 + (b % inner) * s2 (all in elements):
 *   C[b] = act(alpha * op(A[b]) * op(B[b]) + beta * bias[b]),
 * op(A) M x K (A stored K x M when ta), op(B) K x N (stored N x K when tb);
 * bias (may be NULL) is read at bias[b] + m * bias_rs + n * bias_cs. */
typedef struct ocl_gemm_desc {
    int32_t dtype;
    cl_mem a, b, c, bias;
    int64_t a_off, a_s1, a_s2, lda;
    int64_t b_off, b_s1, b_s2, ldb;
    int64_t c_off, c_s1, c_s2, ldc;
    int64_t bias_off, bias_s1, bias_s2, bias_rs, bias_cs;
    bool ta, tb;
    int64_t batch, inner, m, n, k;
    float alpha, beta;
    const ocl_activation *act;
} ocl_gemm_desc;

/* Enqueue the GEMM (program "gemm"; errors through ocl_fail). */
prism_status ocl_gemm_run(ocl_ctx *ctx, const ocl_gemm_desc *d);

/* float32, or float16 when the device has it. */
bool ocl_float_dtype_ok(const ocl_node *node, int32_t dtype);
/* Checks every present input and output is float32/float16 (see above);
 * fills why. */
bool ocl_all_float(const ocl_node *node, char *why, size_t why_size);

/* ---- window geometry shared by Conv and the pools (geometry.c) ---- */

#define OCL_MAX_SPATIAL 3

/* Attributes of a sliding window over sp spatial dims (1 to 3). */
typedef struct ocl_window {
    int32_t sp;
    int auto_pad; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
    bool ceil_mode;
    int64_t k[OCL_MAX_SPATIAL], s[OCL_MAX_SPATIAL], d[OCL_MAX_SPATIAL];
    int64_t pads[2 * OCL_MAX_SPATIAL];
    bool has_kshape;
} ocl_window;

/* Parse kernel_shape/strides/dilations/pads/auto_pad (and ceil_mode when
 * pool) for sp spatial dims; false with why on bad or unsupported values.
 * kshape may be absent for Conv (taken from the weights at run). */
bool ocl_window_parse(const ocl_node *node, int32_t sp, bool pool, ocl_window *w, char *why, size_t why_size);
/* Output size and begin/end pads of spatial dim i for input size in (with
 * kernel size k); false when the output would be empty or negative. */
bool ocl_window_out(const ocl_window *w, int32_t i, int64_t in, int64_t k, int64_t *pb, int64_t *pe, int64_t *out);

#endif
