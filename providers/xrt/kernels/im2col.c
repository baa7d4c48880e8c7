/*
 * im2col.c — prism_im2col (see prism_hls.h): unrolls the receptive fields
 * of one image into the column matrix that prism_gemm multiplies by the
 * filters, so that every Conv becomes one GEMM call.
 *
 * Why chunks: each row (c, ki, kj) of the column matrix is out_h * out_w
 * contiguous floats in DDR. The kernel gathers PRISM_HLS_CHUNK of them into
 * an on-chip buffer (one tap per cycle; out-of-image taps are zero) and
 * then writes the buffer back as one burst. Row and column counters are
 * stepped instead of dividing a flat index, which would cost a divider in
 * hardware.
 */
#include "hls_common.h"

void prism_im2col(const float *x, float *col, int channels, int height, int width, int kernel_h, int kernel_w,
                  int pad_t, int pad_l, int stride_h, int stride_w, int dil_h, int dil_w, int out_h, int out_w) {
#pragma HLS INTERFACE m_axi port = x offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = col offset = slave bundle = gmem1
#pragma HLS INTERFACE s_axilite port = x
#pragma HLS INTERFACE s_axilite port = col
#pragma HLS INTERFACE s_axilite port = channels
#pragma HLS INTERFACE s_axilite port = height
#pragma HLS INTERFACE s_axilite port = width
#pragma HLS INTERFACE s_axilite port = kernel_h
#pragma HLS INTERFACE s_axilite port = kernel_w
#pragma HLS INTERFACE s_axilite port = pad_t
#pragma HLS INTERFACE s_axilite port = pad_l
#pragma HLS INTERFACE s_axilite port = stride_h
#pragma HLS INTERFACE s_axilite port = stride_w
#pragma HLS INTERFACE s_axilite port = dil_h
#pragma HLS INTERFACE s_axilite port = dil_w
#pragma HLS INTERFACE s_axilite port = out_h
#pragma HLS INTERFACE s_axilite port = out_w
#pragma HLS INTERFACE s_axilite port = return
    float buf[PRISM_HLS_CHUNK];

    if (channels <= 0 || kernel_h <= 0 || kernel_w <= 0 || out_h <= 0 || out_w <= 0) return;
    const hls_index plane_in = (hls_index)height * width;
    const hls_index plane_out = (hls_index)out_h * out_w;
    hls_index row_base = 0; /* start of column-matrix row (c, ki, kj) */

rows_c:
    for (int c = 0; c < channels; c++) {
#pragma HLS loop_tripcount min = 1 max = 512
        const float *xc = x + (hls_index)c * plane_in;
    rows_ki:
        for (int ki = 0; ki < kernel_h; ki++) {
#pragma HLS loop_tripcount min = 1 max = 7
        rows_kj:
            for (int kj = 0; kj < kernel_w; kj++) {
#pragma HLS loop_tripcount min = 1 max = 7
                /* Input coordinates of output pixel (0, 0) for this tap;
                 * each output step moves them by one stride. */
                const hls_index iy0 = (hls_index)ki * dil_h - pad_t, ix0 = (hls_index)kj * dil_w - pad_l;
                int oy = 0, ox = 0;
            chunks:
                for (hls_index p0 = 0; p0 < plane_out; p0 += PRISM_HLS_CHUNK) {
#pragma HLS loop_tripcount min = 1 max = 16
                    const int count = plane_out - p0 < PRISM_HLS_CHUNK ? (int)(plane_out - p0) : PRISM_HLS_CHUNK;
                gather:
                    for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_CHUNK
#pragma HLS PIPELINE II = 1
                        const hls_index iy = iy0 + (hls_index)oy * stride_h, ix = ix0 + (hls_index)ox * stride_w;
                        const int inside = iy >= 0 && iy < height && ix >= 0 && ix < width;
                        buf[t] = inside ? xc[iy * width + ix] : 0.0f;
                        if (++ox == out_w) {
                            ox = 0;
                            oy++;
                        }
                    }
                write_back:
                    for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_CHUNK
#pragma HLS PIPELINE II = 1
                        col[row_base + p0 + t] = buf[t];
                    }
                }
                row_base += plane_out;
            }
        }
    }
}
