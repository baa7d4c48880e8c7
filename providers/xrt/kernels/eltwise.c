/*
 * eltwise.c — prism_eltwise (see prism_hls.h): y = act(a OP b') with b'
 * the same element, one scalar or one value per channel.
 *
 * Why chunks: a and b are burst into on-chip buffers PRISM_HLS_CHUNK
 * elements at a time, combined one element per cycle, and y is burst back.
 * The per-channel index (i / b_inner) % b_channels is kept as two stepping
 * counters so that hardware needs no divider. b is not read at all for
 * PRISM_HLS_OP_NONE, so the host may pass any buffer (or NULL) there.
 */
#include "hls_common.h"

/* a OP b for one element; PRISM_HLS_OP_NONE (and unknown codes) give a. */
static inline float combine(float a, float b, int op) {
    if (op == PRISM_HLS_OP_ADD) return a + b;
    if (op == PRISM_HLS_OP_SUB) return a - b;
    if (op == PRISM_HLS_OP_MUL) return a * b;
    if (op == PRISM_HLS_OP_DIV) return a / b;
    return a;
}

void prism_eltwise(const float *a, const float *b, float *y, int n, int op, int b_mode, int b_inner, int b_channels,
                   int act, float act_lo, float act_hi) {
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = y offset = slave bundle = gmem2
#pragma HLS INTERFACE s_axilite port = a
#pragma HLS INTERFACE s_axilite port = b
#pragma HLS INTERFACE s_axilite port = y
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = op
#pragma HLS INTERFACE s_axilite port = b_mode
#pragma HLS INTERFACE s_axilite port = b_inner
#pragma HLS INTERFACE s_axilite port = b_channels
#pragma HLS INTERFACE s_axilite port = act
#pragma HLS INTERFACE s_axilite port = act_lo
#pragma HLS INTERFACE s_axilite port = act_hi
#pragma HLS INTERFACE s_axilite port = return
    float ta[PRISM_HLS_CHUNK];
    float tb[PRISM_HLS_CHUNK];

    if (n <= 0) return;
    const int use_b = op != PRISM_HLS_OP_NONE && b;
    if (use_b && b_mode == PRISM_HLS_B_CHANNEL && (b_inner <= 0 || b_channels <= 0)) return;
    int inner = 0, channel = 0; /* position of element i in the per-channel broadcast */

chunks:
    for (int i0 = 0; i0 < n; i0 += PRISM_HLS_CHUNK) {
#pragma HLS loop_tripcount min = 1 max = 4096
        const int count = n - i0 < PRISM_HLS_CHUNK ? n - i0 : PRISM_HLS_CHUNK;
    load_a:
        for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_CHUNK
#pragma HLS PIPELINE II = 1
            ta[t] = a[(hls_index)i0 + t];
        }
        if (use_b) {
        load_b:
            for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_CHUNK
#pragma HLS PIPELINE II = 1
                if (b_mode == PRISM_HLS_B_SCALAR) {
                    tb[t] = b[0];
                } else if (b_mode == PRISM_HLS_B_CHANNEL) {
                    tb[t] = b[channel];
                    if (++inner == b_inner) {
                        inner = 0;
                        if (++channel == b_channels) channel = 0;
                    }
                } else {
                    tb[t] = b[(hls_index)i0 + t];
                }
            }
        }
    compute_store:
        for (int t = 0; t < count; t++) {
#pragma HLS loop_tripcount min = 1 max = PRISM_HLS_CHUNK
#pragma HLS PIPELINE II = 1
            float v = use_b ? combine(ta[t], tb[t], op) : ta[t];
            y[(hls_index)i0 + t] = prism_hls_activate(v, act, act_lo, act_hi);
        }
    }
}
