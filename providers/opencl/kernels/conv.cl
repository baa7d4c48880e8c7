/*
 * conv.cl — the parts of convolution that are not a GEMM.
 *
 * im2col unrolls the receptive fields of one batch of images into columns
 * (rows: channel x kernel offset, columns: output position) so the shared
 * GEMM kernel does the arithmetic; every shape is handled as 3-D (D, H, W)
 * with unit sizes for the missing dims, so 1-D, 2-D and 3-D convolutions
 * share one body. depthwise computes each output directly from its own
 * input channel: an im2col there would only copy data for a K of kh*kw.
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
