/*
 * pool.cl — MaxPool, AveragePool and the global pools, on NC(D)HW data.
 * Every shape is handled as 3-D (D, H, W) with unit sizes for missing
 * dims, so 1-D, 2-D and 3-D pools share one body. One work-item per output.
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

/* Output (od, oh, ow) of the plane x. mode 0: max; 1: average excluding
 * pads; 2: average including pads. */
inline float pool_one(const __global T *x, int od, int oh, int ow, int ID, int IH, int IW, int KD, int KH, int KW,
                      int SD, int SH, int SW, int PD, int PH, int PW, int DD, int DH, int DW, int mode, int ED,
                      int EH, int EW) {
    float best = -INFINITY, sum = 0.0f;
    int count = 0, padded = 0;
    for (int z = 0; z < KD; z++) {
        int id = od * SD - PD + z * DD;
        for (int y = 0; y < KH; y++) {
            int ih = oh * SH - PH + y * DH;
            for (int xk = 0; xk < KW; xk++) {
                int iw = ow * SW - PW + xk * DW;
                /* Window positions within the padded extent (ED/EH/EW =
                 * input + both pads) count for count_include_pad. */
                if (id < ID + ED && ih < IH + EH && iw < IW + EW) padded++;
                if (id < 0 || id >= ID || ih < 0 || ih >= IH || iw < 0 || iw >= IW) continue;
                float v = (float)x[((long)id * IH + ih) * IW + iw];
                best = fmax(best, v);
                if (isnan(v)) best = v;
                sum += v;
                count++;
            }
        }
    }
    return mode == 0 ? best : mode == 1 ? (count ? sum / count : 0.0f) : (padded ? sum / padded : 0.0f);
}

#define POOL_PARAMS                                                                                                  \
    const __global T *X, __global T *Y, int C, int ID, int IH, int IW, int OD, int OH, int OW, int KD, int KH, int KW, \
        int SD, int SH, int SW, int PD, int PH, int PW, int DD, int DH, int DW, int mode, int ED, int EH, int EW
#define POOL_WINDOW ID, IH, IW, KD, KH, KW, SD, SH, SW, PD, PH, PW, DD, DH, DW, mode, ED, EH, EW

/* One work-item per output. */
__kernel void pool(POOL_PARAMS) {
    const int o = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    const int OS = OD * OH * OW;
    if (o >= OS || c >= C) return;
    const int ow = o % OW, t = o / OW, oh = t % OH, od = t / OH;
    const __global T *x = X + ((long)n * C + c) * ID * (long)IH * IW;
    Y[((long)n * C + c) * OS + o] = (T)pool_one(x, od, oh, ow, POOL_WINDOW);
}

/* CPU-device form: one work-item per output row (od, oh), so a CPU is not
 * handed one tiny work-item per output. */
__kernel void pool_rows(POOL_PARAMS) {
    const int r = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (r >= OD * OH || c >= C) return;
    const int oh = r % OH, od = r / OH;
    const __global T *x = X + ((long)n * C + c) * ID * (long)IH * IW;
    __global T *y = Y + (((long)n * C + c) * OD * OH + r) * (long)OW;
    for (int ow = 0; ow < OW; ow++) y[ow] = (T)pool_one(x, od, oh, ow, POOL_WINDOW);
}

/* One work-group per (n, c) plane: a strided partial per work-item, then a
 * tree reduction in local memory. mode 0: max, 1: mean. */
__kernel void global_pool(const __global T *X, __global T *Y, long S, int mode, __local float *scratch) {
    const int plane = get_group_id(0), l = get_local_id(0), L = get_local_size(0);
    const __global T *x = X + (long)plane * S;
    float acc = mode == 0 ? -INFINITY : 0.0f;
    for (long i = l; i < S; i += L) {
        float v = (float)x[i];
        acc = mode == 0 ? (isnan(v) || isnan(acc) ? NAN : fmax(acc, v)) : acc + v;
    }
    scratch[l] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = L / 2; s > 0; s /= 2) {
        if (l < s) {
            float a = scratch[l], b = scratch[l + s];
            scratch[l] = mode == 0 ? (isnan(a) || isnan(b) ? NAN : fmax(a, b)) : a + b;
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (l == 0) Y[plane] = (T)(mode == 0 ? scratch[0] : scratch[0] / (float)S);
}
