/*
 * prism_hls.h — the FPGA kernels of the XRT provider: their C prototypes,
 * tile sizes and the codes their scalar arguments take.
 *
 * The same C sources are (1) synthesised by Vitis HLS into the xclbin that
 * runs on an Alveo card and (2) compiled into the provider for the csim
 * device, which calls them on the host (the C-simulation step of the Vitis
 * flow). So they must stay synthesisable C: fixed-size local arrays, no
 * malloc, no recursion, loops with static trip-count bounds (`#pragma HLS
 * loop_tripcount`) and one AXI master per pointer argument.
 *
 * Argument names matter: the xclbin metadata carries them, and the host
 * finds each argument's index by name in that metadata.
 *
 * Scalars are `int` (32-bit) or `float`. XRT passes a `float` argument
 * through C varargs, i.e. as a double: the host must hand xrtRunSetArg a
 * double for every argument whose metadata type is "float".
 */
#ifndef PRISM_HLS_H
#define PRISM_HLS_H

/* On-chip tile edges of the GEMM kernel (elements). The kernel loops over
 * tiles, so any M, N, K up to PRISM_HLS_MAX_DIM works; the tile only sets
 * the on-chip buffer sizes. */
#define PRISM_HLS_TILE_M 64
#define PRISM_HLS_TILE_N 64
#define PRISM_HLS_TILE_K 64
/* Largest extent of any dimension or element count a kernel accepts (int
 * arguments; the host checks this before calling). */
#define PRISM_HLS_MAX_DIM 0x7fffffff
/* Pooling windows up to this many rows and columns (line buffers). */
#define PRISM_HLS_MAX_POOL 16

/* Activations fused into an output (act argument). */
#define PRISM_HLS_ACT_NONE 0
#define PRISM_HLS_ACT_RELU 1
#define PRISM_HLS_ACT_CLIP 2 /* min(max(x, act_lo), act_hi) */

/* prism_gemm bias_mode: how `bias` (scaled by beta) is added. */
#define PRISM_HLS_BIAS_NONE 0
#define PRISM_HLS_BIAS_ROW 1    /* bias[i] for row i (Conv bias: one per output channel) */
#define PRISM_HLS_BIAS_COL 2    /* bias[j] for column j (Gemm C of shape [N]) */
#define PRISM_HLS_BIAS_FULL 3   /* bias[i * n + j] (Gemm C of shape [M, N]) */
#define PRISM_HLS_BIAS_SCALAR 4 /* bias[0] */

/* prism_eltwise op and b_mode. */
#define PRISM_HLS_OP_ADD 0
#define PRISM_HLS_OP_SUB 1
#define PRISM_HLS_OP_MUL 2
#define PRISM_HLS_OP_DIV 3
#define PRISM_HLS_OP_NONE 4     /* y = act(a): b unused */
#define PRISM_HLS_B_SAME 0      /* b[i] */
#define PRISM_HLS_B_SCALAR 1    /* b[0] */
#define PRISM_HLS_B_CHANNEL 2   /* b[(i / b_inner) % b_channels] (per-channel, NCHW) */

/* prism_pool mode. */
#define PRISM_HLS_POOL_MAX 0
#define PRISM_HLS_POOL_AVG 1

/* Batched GEMM: for each g in [0, batch),
 *   C_g = act(alpha * op(A_g) * op(B_g) + beta * bias_g)
 * with A_g = a + g * stride_a, op(A_g) m x k (stored k x m, row stride lda,
 * when trans_a), B_g = b + g * stride_b, op(B_g) k x n (stored n x k when
 * trans_b), C_g = c + g * stride_c (row stride ldc), bias_g = bias + g *
 * stride_bias read as bias_mode says. A grouped convolution is one call
 * with batch = groups over the im2col matrix. */
void prism_gemm(const float *a, const float *b, const float *bias, float *c, int batch, int m, int n, int k,
                int lda, int ldb, int ldc, int stride_a, int stride_b, int stride_c, int stride_bias, int trans_a,
                int trans_b, float alpha, float beta, int bias_mode, int act, float act_lo, float act_hi);

/* im2col of one image x[channels][height][width] into
 * col[channels * kernel_h * kernel_w][out_h * out_w] (row (c, ki, kj),
 * column (oy, ox)); taps outside the image read 0. */
void prism_im2col(const float *x, float *col, int channels, int height, int width, int kernel_h, int kernel_w,
                  int pad_t, int pad_l, int stride_h, int stride_w, int dil_h, int dil_w, int out_h, int out_w);

/* y[i] = act(a[i] OP b') for i in [0, n), b' chosen by b_mode. */
void prism_eltwise(const float *a, const float *b, float *y, int n, int op, int b_mode, int b_inner, int b_channels,
                   int act, float act_lo, float act_hi);

/* 2-D max or average pooling of planes x[planes][height][width] into
 * y[planes][out_h][out_w]. Windows of kernel_h x kernel_w taps (at most
 * PRISM_HLS_MAX_POOL each), dilations dil_h/dil_w, padding pad_t/pad_l
 * (pad_b/pad_r bound the padded area for count_include_pad). Average: the
 * divisor is the number of taps inside the image, or inside the padded
 * area when count_include_pad. */
void prism_pool(const float *x, float *y, int planes, int height, int width, int kernel_h, int kernel_w, int pad_t,
                int pad_l, int pad_b, int pad_r, int stride_h, int stride_w, int dil_h, int dil_w, int out_h,
                int out_w, int mode, int count_include_pad);

#endif /* PRISM_HLS_H */
