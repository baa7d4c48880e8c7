/*
 * conv.cl — the parts of convolution that are not a GEMM.
 *
 * im2col unrolls the receptive fields of one batch of images into columns
 * (rows: channel x kernel offset, columns: output position) so the shared
 * GEMM kernel does the arithmetic; every shape is handled as 3-D (D, H, W)
 * with unit sizes for the missing dims, so 1-D, 2-D and 3-D convolutions
 * share one body. depthwise computes each output directly from its own
 * input channel: an im2col there would only copy data for a K of kh*kw.
 *
 * im2col_rows and depthwise_rows are the CPU-device forms of the same two
 * kernels: one work-item per output row, walking that row in an inner loop
 * over the range of outputs whose input lies inside the image (computed
 * once per kernel offset), so the loop body has no bounds test and the
 * compiler vectorises it. A GPU keeps the one-output-per-work-item forms.
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif


/* col[n][ck][o], ck = ((c * kd + z) * kh + y) * kw + x, o = (od_ * oh + oh_) * ow + ow_. */
__kernel void im2col(const __global T *X, long x_off, __global T *col, int C, int ID, int IH, int IW, int OD, int OH, int OW,
                     int KD, int KH, int KW, int SD, int SH, int SW, int PD, int PH, int PW, int DD, int DH, int DW) {
    const int o = get_global_id(0), ck = get_global_id(1), n = get_global_id(2);
    const int OS = OD * OH * OW, CK = C * KD * KH * KW;
    if (o >= OS || ck >= CK) return;
    int x = ck % KW, t = ck / KW;
    int y = t % KH;
    t /= KH;
    int z = t % KD, c = t / KD;
    int ow = o % OW, t2 = o / OW;
    int oh = t2 % OH, od = t2 / OH;
    int id = od * SD - PD + z * DD, ih = oh * SH - PH + y * DH, iw = ow * SW - PW + x * DW;
    T v = (T)0;
    if (id >= 0 && id < ID && ih >= 0 && ih < IH && iw >= 0 && iw < IW)
        v = X[x_off + (((long)n * C + c) * ID + id) * IH * (long)IW + (long)ih * IW + iw];
    col[((long)n * CK + ck) * OS + o] = v;
}

inline float activate(float v, int act, float lo, float hi, float alpha2) {
    if (act == 1) return v < 0.0f ? 0.0f : v;
    if (act == 2) return fmin(fmax(v, lo), hi);
    if (act == 3) return v < 0.0f ? alpha2 * v : v;
    return v;
}

/* Depthwise 2-D: output channel m reads input channel m / mult. */
__kernel void depthwise(const __global T *X, const __global T *W, const __global T *B, __global T *Y, int C, int M,
                        int IH, int IW, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW, int DH, int DW,
                        int act, float lo, float hi, float alpha2) {
    const int o = get_global_id(0), m = get_global_id(1), n = get_global_id(2);
    if (o >= OH * OW || m >= M) return;
    const int ow = o % OW, oh = o / OW, c = m / (M / C);
    const __global T *x = X + ((long)n * C + c) * IH * (long)IW;
    const __global T *w = W + (long)m * KH * KW;
    float acc = B ? (float)B[m] : 0.0f;
    for (int y = 0; y < KH; y++) {
        int ih = oh * SH - PH + y * DH;
        if (ih < 0 || ih >= IH) continue;
        for (int xk = 0; xk < KW; xk++) {
            int iw = ow * SW - PW + xk * DW;
            if (iw >= 0 && iw < IW) acc = mad((float)x[(long)ih * IW + iw], (float)w[y * KW + xk], acc);
        }
    }
    Y[((long)n * M + m) * OH * (long)OW + o] = (T)activate(acc, act, lo, hi, alpha2);
}

/* First and one-past-last output index o in [o0, o1) whose input
 * o * s - p + off lies in [0, in). */
inline int2 valid_range(int o0, int o1, int s, int p, int off, int in) {
    const int lo_num = p - off, hi_num = in - 1 + p - off;
    const int lo = lo_num <= 0 ? 0 : (lo_num + s - 1) / s;
    const int hi = hi_num < 0 ? 0 : hi_num / s + 1;
    return (int2)(max(o0, lo), max(max(o0, lo), min(o1, hi)));
}

/* One row (ck, od, oh) of col per work-item: zeros where the window is in
 * the padding, a copy of the input row elsewhere. */
__kernel void im2col_rows(const __global T *X, long x_off, __global T *col, int C, int ID, int IH, int IW, int OD,
                          int OH, int OW, int KD, int KH, int KW, int SD, int SH, int SW, int PD, int PH, int PW,
                          int DD, int DH, int DW) {
    const int r = get_global_id(0), ck = get_global_id(1), n = get_global_id(2);
    const int OS = OD * OH * OW, CK = C * KD * KH * KW;
    if (r >= OD * OH || ck >= CK) return;
    int x = ck % KW, t = ck / KW;
    int y = t % KH;
    t /= KH;
    int z = t % KD, c = t / KD;
    const int oh = r % OH, od = r / OH;
    const int id = od * SD - PD + z * DD, ih = oh * SH - PH + y * DH;
    __global T *out = col + ((long)n * CK + ck) * OS + (long)r * OW;
    if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
        for (int o = 0; o < OW; o++) out[o] = (T)0;
        return;
    }
    const __global T *in = X + x_off + (((long)n * C + c) * ID + id) * IH * (long)IW + (long)ih * IW;
    const int2 v = valid_range(0, OW, SW, PW, x * DW, IW);
    const int base = x * DW - PW;
    for (int o = 0; o < v.x; o++) out[o] = (T)0;
    if (SW == 1)
        for (int o = v.x; o < v.y; o++) out[o] = in[o + base];
    else
        for (int o = v.x; o < v.y; o++) out[o] = in[o * SW + base];
    for (int o = v.y; o < OW; o++) out[o] = (T)0;
}

#define DW_CHUNK 64

/* Depthwise 2-D, one output row (n, m, oh) per work-item, in chunks of
 * DW_CHUNK outputs accumulated in registers/private memory; the order of
 * the products per output is the same as in depthwise. */
__kernel void depthwise_rows(const __global T *X, const __global T *W, const __global T *B, __global T *Y, int C,
                             int M, int IH, int IW, int OH, int OW, int KH, int KW, int SH, int SW, int PH, int PW,
                             int DH, int DW, int act, float lo, float hi, float alpha2) {
    const int oh = get_global_id(0), m = get_global_id(1), n = get_global_id(2);
    if (oh >= OH || m >= M) return;
    const int c = m / (M / C);
    const __global T *x = X + ((long)n * C + c) * IH * (long)IW;
    const __global T *w = W + (long)m * KH * KW;
    __global T *yrow = Y + (((long)n * M + m) * OH + oh) * (long)OW;
    const float b0 = B ? (float)B[m] : 0.0f;
    float acc[DW_CHUNK];
    for (int o0 = 0; o0 < OW; o0 += DW_CHUNK) {
        const int o1 = min(OW, o0 + DW_CHUNK);
        for (int o = 0; o < DW_CHUNK; o++) acc[o] = b0;
        for (int ky = 0; ky < KH; ky++) {
            const int ih = oh * SH - PH + ky * DH;
            if (ih < 0 || ih >= IH) continue;
            const __global T *xr = x + (long)ih * IW;
            for (int kx = 0; kx < KW; kx++) {
                const float wv = (float)w[ky * KW + kx];
                const int2 v = valid_range(o0, o1, SW, PW, kx * DW, IW);
                const int base = kx * DW - PW;
                if (SW == 1)
                    for (int o = v.x; o < v.y; o++) acc[o - o0] = mad((float)xr[o + base], wv, acc[o - o0]);
                else
                    for (int o = v.x; o < v.y; o++) acc[o - o0] = mad((float)xr[o * SW + base], wv, acc[o - o0]);
            }
        }
        for (int o = o0; o < o1; o++) yrow[o] = (T)activate(acc[o - o0], act, lo, hi, alpha2);
    }
}
