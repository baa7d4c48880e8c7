/*
 * pool.c — prism_pool (see prism_hls.h): 2-D max or average pooling of
 * NCHW planes, with dilations, asymmetric padding and windows that may
 * hang over the bottom/right edge (ONNX ceil_mode).
 *
 * Why per-tap bounds checks rather than a padded copy of the input: only
 * taps inside the image are read, which is what both max pooling and
 * average pooling without count_include_pad need, and the padded-area
 * test that count_include_pad needs is one more comparison per tap. The
 * window loops are bounded by PRISM_HLS_MAX_POOL so that hardware knows
 * their trip counts; each output row is gathered into an on-chip chunk
 * and burst back to DDR. An output whose window holds no in-image tap is
 * -inf for max (the identity of max) and 0 for average.
 */
#include <math.h>

#include "hls_common.h"

/* Result of one window whose top-left tap is input (iy0, ix0). */
static float pool_window(const float *xp, int height, int width, hls_index iy0, hls_index ix0, int kernel_h,
                         int kernel_w, int dil_h, int dil_w, int pad_b, int pad_r, int mode, int count_include_pad) {
    float acc = mode == PRISM_HLS_POOL_MAX ? -INFINITY : 0.0f;
    int in_image = 0, in_padded = 0;
window_rows:
    for (int ki = 0; ki < kernel_h; ki++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_MAX_POOL
        const hls_index iy = iy0 + (hls_index)ki * dil_h;
    window_cols:
        for (int kj = 0; kj < kernel_w; kj++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_MAX_POOL
#pragma HLS PIPELINE II = 1
            const hls_index ix = ix0 + (hls_index)kj * dil_w;
            if (iy >= 0 && iy < height && ix >= 0 && ix < width) {
                const float v = xp[iy * width + ix];
                if (mode == PRISM_HLS_POOL_MAX)
                    acc = v > acc ? v : acc;
                else
                    acc += v;
                in_image++;
            }
            /* The padded area reaches pad_t/pad_l before the image (iy0 and
             * ix0 already start there) and pad_b/pad_r after it. */
            if (iy < (hls_index)height + pad_b && ix < (hls_index)width + pad_r) in_padded++;
        }
    }
    if (mode == PRISM_HLS_POOL_MAX) return acc;
    const int divisor = count_include_pad ? in_padded : in_image;
    return divisor > 0 ? acc / (float)divisor : 0.0f;
}

void prism_pool(const float *x, float *y, int planes, int height, int width, int kernel_h, int kernel_w, int pad_t,
                int pad_l, int pad_b, int pad_r, int stride_h, int stride_w, int dil_h, int dil_w, int out_h,
                int out_w, int mode, int count_include_pad) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = x
#pragma HLS INTERFACE s_axilite port = y
#pragma HLS INTERFACE s_axilite port = planes
#pragma HLS INTERFACE s_axilite port = height
#pragma HLS INTERFACE s_axilite port = width
#pragma HLS INTERFACE s_axilite port = kernel_h
#pragma HLS INTERFACE s_axilite port = kernel_w
#pragma HLS INTERFACE s_axilite port = pad_t
#pragma HLS INTERFACE s_axilite port = pad_l
#pragma HLS INTERFACE s_axilite port = pad_b
#pragma HLS INTERFACE s_axilite port = pad_r
#pragma HLS INTERFACE s_axilite port = stride_h
#pragma HLS INTERFACE s_axilite port = stride_w
#pragma HLS INTERFACE s_axilite port = dil_h
#pragma HLS INTERFACE s_axilite port = dil_w
#pragma HLS INTERFACE s_axilite port = out_h
#pragma HLS INTERFACE s_axilite port = out_w
#pragma HLS INTERFACE s_axilite port = mode
#pragma HLS INTERFACE s_axilite port = count_include_pad
#pragma HLS INTERFACE s_axilite port = return
    float buf[PRISM_HLS_CHUNK];

    if (planes <= 0 || out_h <= 0 || out_w <= 0 || kernel_h <= 0 || kernel_w <= 0) return;
    if (kernel_h > PRISM_HLS_MAX_POOL || kernel_w > PRISM_HLS_MAX_POOL) return;
    const hls_index plane_in = (hls_index)height * width;
    const hls_index plane_out = (hls_index)out_h * out_w;

planes_loop:
    for (int p = 0; p < planes; p++) {
#pragma HLS loop_tripcount min = 1 max = 512
        const float *xp = x + (hls_index)p * plane_in;
        float *yp = y + (hls_index)p * plane_out;
    out_rows:
        for (int oy = 0; oy < out_h; oy++) {
#pragma HLS loop_tripcount min = 1 max = 112
            const hls_index iy0 = (hls_index)oy * stride_h - pad_t;
        row_chunks:
            for (int ox0 = 0; ox0 < out_w; ox0 += PRISM_HLS_CHUNK) {
#pragma HLS loop_tripcount min = 1 max = 1
                const int count = out_w - ox0 < PRISM_HLS_CHUNK ? out_w - ox0 : PRISM_HLS_CHUNK;
            pixels:
                for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = 112
                    const hls_index ix0 = (hls_index)(ox0 + t) * stride_w - pad_l;
                    buf[t] = pool_window(xp, height, width, iy0, ix0, kernel_h, kernel_w, dil_h, dil_w, pad_b, pad_r,
                                         mode, count_include_pad);
                }
            write_back:
                for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = 112
#pragma HLS PIPELINE II = 1
                    yp[(hls_index)oy * out_w + ox0 + t] = buf[t];
                }
            }
        }
    }
}
