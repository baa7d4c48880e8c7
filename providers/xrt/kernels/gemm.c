/*
 * gemm.c — prism_gemm, the batched GEMM kernel (see prism_hls.h).
 *
 * Why this shape: an FPGA reaches its throughput only when every cycle
 * starts one wide multiply-accumulate, and DDR only delivers in bursts. So
 * the kernel tiles M, N and K: it bursts an A tile and a B tile into
 * on-chip buffers, accumulates into a C tile that stays on chip for the
 * whole K loop, and writes each C tile back once, applying alpha, beta *
 * bias and the activation on the way out. Each K tile is summed into a
 * fresh partial tile that is then added to the C tile (two-level
 * summation): the rounding error then grows with K / TILE_K + TILE_K
 * instead of with K, which keeps deep convolutions (K in the thousands)
 * within the tolerance of a float reference. The inner update is ordered
 * (k, i) with j fully unrolled, so consecutive pipeline iterations touch
 * different rows: no loop-carried dependency through the float adder
 * stands in the way of II=1. The same order is a contiguous saxpy for a host compiler,
 * which keeps the csim device usable on real models.
 *
 * Partial tiles: loads fill out-of-range elements with zero and the update
 * only runs over the valid k and i extents, so any m, n, k >= 0 work.
 */
#include "hls_common.h"

#define TM PRISM_HLS_TILE_M
#define TN PRISM_HLS_TILE_N
#define TK PRISM_HLS_TILE_K

/* Smaller of a tile edge and what is left of the dimension. */
static inline int tile_extent(int tile, int total, int start) {
    int left = total - start;
    return left < tile ? left : tile;
}

/* ta[i][kk] = op(A)[m0 + i][k0 + kk], zero outside m x k. The inner loop
 * runs along the stored rows so that each row is one burst. */
static void load_a(const float *a, hls_index lda, int trans_a, int m0, int k0, int mt, int kt, float ta[TM][TK]) {
    if (!trans_a) {
    load_a_rows:
        for (int i = 0; i < TM; i++) {
        load_a_cols:
            for (int kk = 0; kk < TK; kk++) {
#pragma HLS PIPELINE II = 1
                ta[i][kk] = (i < mt && kk < kt) ? a[(hls_index)(m0 + i) * lda + k0 + kk] : 0.0f;
            }
        }
    } else {
    load_at_rows:
        for (int kk = 0; kk < TK; kk++) {
        load_at_cols:
            for (int i = 0; i < TM; i++) {
#pragma HLS PIPELINE II = 1
                ta[i][kk] = (i < mt && kk < kt) ? a[(hls_index)(k0 + kk) * lda + m0 + i] : 0.0f;
            }
        }
    }
}

/* tb[kk][j] = op(B)[k0 + kk][n0 + j], zero outside k x n. */
static void load_b(const float *b, hls_index ldb, int trans_b, int k0, int n0, int kt, int nt, float tb[TK][TN]) {
    if (!trans_b) {
    load_b_rows:
        for (int kk = 0; kk < TK; kk++) {
        load_b_cols:
            for (int j = 0; j < TN; j++) {
#pragma HLS PIPELINE II = 1
                tb[kk][j] = (kk < kt && j < nt) ? b[(hls_index)(k0 + kk) * ldb + n0 + j] : 0.0f;
            }
        }
    } else {
    load_bt_rows:
        for (int j = 0; j < TN; j++) {
        load_bt_cols:
            for (int kk = 0; kk < TK; kk++) {
#pragma HLS PIPELINE II = 1
                tb[kk][j] = (kk < kt && j < nt) ? b[(hls_index)(n0 + j) * ldb + k0 + kk] : 0.0f;
            }
        }
    }
}

/* tp += ta * tb over the valid kt x mt part; j is unrolled TN wide. */
static void update_tile(float ta[TM][TK], float tb[TK][TN], float tp[TM][TN], int mt, int kt) {
update_k:
    for (int kk = 0; kk < kt; kk++) {
#pragma HLS loop_tripcount min = 1 max = TK
    update_i:
        for (int i = 0; i < mt; i++) {
#pragma HLS loop_tripcount min = 1 max = TM
#pragma HLS PIPELINE II = 1
            float av = ta[i][kk];
        update_j:
            for (int j = 0; j < TN; j++) {
#pragma HLS UNROLL
                tp[i][j] += av * tb[kk][j];
            }
        }
    }
}

/* Sets a whole tile to zero, one row per cycle. */
static void clear_tile(float t[TM][TN]) {
clear_rows:
    for (int i = 0; i < TM; i++) {
#pragma HLS PIPELINE II = 1
    clear_cols:
        for (int j = 0; j < TN; j++) t[i][j] = 0.0f;
    }
}

/* tc += tp over the first mt rows, one row per cycle. */
static void add_tile(float tc[TM][TN], float tp[TM][TN], int mt) {
add_rows:
    for (int i = 0; i < mt; i++) {
#pragma HLS loop_tripcount min = 1 max = TM
#pragma HLS PIPELINE II = 1
    add_cols:
        for (int j = 0; j < TN; j++) tc[i][j] += tp[i][j];
    }
}

/* c[m0 + i][n0 + j] = act(alpha * tc[i][j] + beta * bias), one burst per row. */
static void store_c(float tc[TM][TN], float *c, hls_index ldc, const float *bias, int bias_mode, int n, int m0,
                    int n0, int mt, int nt, float alpha, float beta, int act, float act_lo, float act_hi) {
store_rows:
    for (int i = 0; i < mt; i++) {
#pragma HLS loop_tripcount min = 1 max = TM
    store_cols:
        for (int j = 0; j < nt; j++) {
#pragma HLS loop_tripcount min = 1 max = TN
#pragma HLS PIPELINE II = 1
            float v = alpha * tc[i][j];
            int row = m0 + i, col = n0 + j;
            if (bias_mode == PRISM_HLS_BIAS_ROW)
                v += beta * bias[row];
            else if (bias_mode == PRISM_HLS_BIAS_COL)
                v += beta * bias[col];
            else if (bias_mode == PRISM_HLS_BIAS_FULL)
                v += beta * bias[(hls_index)row * n + col];
            else if (bias_mode == PRISM_HLS_BIAS_SCALAR)
                v += beta * bias[0];
            c[(hls_index)row * ldc + col] = prism_hls_activate(v, act, act_lo, act_hi);
        }
    }
}

void prism_gemm(const float *a, const float *b, const float *bias, float *c, int batch, int m, int n, int k,
                int lda, int ldb, int ldc, int stride_a, int stride_b, int stride_c, int stride_bias, int trans_a,
                int trans_b, float alpha, float beta, int bias_mode, int act, float act_lo, float act_hi) {
#pragma HLS INTERFACE m_axi port = a offset = slave bundle = gmem0
#pragma HLS INTERFACE m_axi port = b offset = slave bundle = gmem1
#pragma HLS INTERFACE m_axi port = bias offset = slave bundle = gmem2
#pragma HLS INTERFACE m_axi port = c offset = slave bundle = gmem3
#pragma HLS INTERFACE s_axilite port = a
#pragma HLS INTERFACE s_axilite port = b
#pragma HLS INTERFACE s_axilite port = bias
#pragma HLS INTERFACE s_axilite port = c
#pragma HLS INTERFACE s_axilite port = batch
#pragma HLS INTERFACE s_axilite port = m
#pragma HLS INTERFACE s_axilite port = n
#pragma HLS INTERFACE s_axilite port = k
#pragma HLS INTERFACE s_axilite port = lda
#pragma HLS INTERFACE s_axilite port = ldb
#pragma HLS INTERFACE s_axilite port = ldc
#pragma HLS INTERFACE s_axilite port = stride_a
#pragma HLS INTERFACE s_axilite port = stride_b
#pragma HLS INTERFACE s_axilite port = stride_c
#pragma HLS INTERFACE s_axilite port = stride_bias
#pragma HLS INTERFACE s_axilite port = trans_a
#pragma HLS INTERFACE s_axilite port = trans_b
#pragma HLS INTERFACE s_axilite port = alpha
#pragma HLS INTERFACE s_axilite port = beta
#pragma HLS INTERFACE s_axilite port = bias_mode
#pragma HLS INTERFACE s_axilite port = act
#pragma HLS INTERFACE s_axilite port = act_lo
#pragma HLS INTERFACE s_axilite port = act_hi
#pragma HLS INTERFACE s_axilite port = return
    float ta[TM][TK];
    float tb[TK][TN];
    float tc[TM][TN]; /* C tile: sum over the K tiles */
    float tp[TM][TN]; /* partial sum of one K tile */
    /* update_tile reads one ta element and a whole tb row and updates a
     * whole tp row per cycle, and add_tile a whole tc row: those rows must
     * be registers, not one BRAM port. */
#pragma HLS ARRAY_PARTITION variable = tb complete dim = 2
#pragma HLS ARRAY_PARTITION variable = tp complete dim = 2
#pragma HLS ARRAY_PARTITION variable = tc complete dim = 2

    if (batch <= 0 || m <= 0 || n <= 0 || k < 0) return;
    if (bias_mode != PRISM_HLS_BIAS_NONE && !bias) bias_mode = PRISM_HLS_BIAS_NONE;

batch_loop:
    for (int g = 0; g < batch; g++) {
#pragma HLS loop_tripcount min = 1 max = 64
        const float *ag = a + (hls_index)g * stride_a;
        const float *bg = b + (hls_index)g * stride_b;
        const float *biasg = bias_mode != PRISM_HLS_BIAS_NONE ? bias + (hls_index)g * stride_bias : bias;
        float *cg = c + (hls_index)g * stride_c;
    m_tiles:
        for (int m0 = 0; m0 < m; m0 += TM) {
#pragma HLS loop_tripcount min = 1 max = 64
            int mt = tile_extent(TM, m, m0);
        n_tiles:
            for (int n0 = 0; n0 < n; n0 += TN) {
#pragma HLS loop_tripcount min = 1 max = 64
                int nt = tile_extent(TN, n, n0);
                clear_tile(tc);
            k_tiles:
                for (int k0 = 0; k0 < k; k0 += TK) {
#pragma HLS loop_tripcount min = 1 max = 64
                    int kt = tile_extent(TK, k, k0);
                    load_a(ag, lda, trans_a, m0, k0, mt, kt, ta);
                    load_b(bg, ldb, trans_b, k0, n0, kt, nt, tb);
                    clear_tile(tp);
                    update_tile(ta, tb, tp, mt, kt);
                    add_tile(tc, tp, mt);
                }
                store_c(tc, cg, ldc, biasg, bias_mode, n, m0, n0, mt, nt, alpha, beta, act, act_lo, act_hi);
            }
        }
    }
}
