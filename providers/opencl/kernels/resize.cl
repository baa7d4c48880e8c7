/*
 * resize.cl — Resize (nearest and linear) of the last two dims of a tensor
 * viewed as [planes, H, W], for one compute type T (float, or half with
 * PRISM_FP16).
 *
 * Coordinates follow the CPU provider (providers/cpu/kernels/resize.c) step
 * by step: the coordinate transformation, the clamp of far coordinates, the
 * left neighbour with a ratio in (0, 1] (an integral coordinate counts as
 * ratio 1 from its left neighbour), the nearest rounding modes, and edge
 * clamping of the taps. They are computed in double where the device has
 * cl_khr_fp64, so nearest picks the same input element as the CPU; in float
 * otherwise. The scale of an axis is a float (from the scales input) or the
 * ratio num/den (from sizes), as the CPU computes it. Linear interpolation
 * is bilinear in one pass, accumulated in float.
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif
#ifdef cl_khr_fp64
#pragma OPENCL EXTENSION cl_khr_fp64 : enable
typedef double real;
#else
typedef float real;
#endif

/* codes: ops/resize.c */
#define RS_NEAREST 0
#define RS_LINEAR 1
#define CT_HALF_PIXEL 0
#define CT_PYTORCH_HALF_PIXEL 1
#define CT_ALIGN_CORNERS 2
#define CT_ASYMMETRIC 3
#define CT_TF_HALF_PIXEL_FOR_NN 4
#define NM_ROUND_PREFER_FLOOR 0
#define NM_ROUND_PREFER_CEIL 1
#define NM_FLOOR 2
#define NM_CEIL 3
#define NM_SIMPLE 4 /* opset 10: ceil when downsampling, else floor */

/* One axis: the left tap i0, the right tap i1 (both clamped to the input)
 * and the weight of i1. ident: the axis keeps its length at scale 1. */
inline void rs_axis(long o, long in, long out, float scale_f, long num, long den, int ident, int mode, int ctm,
                    int nearest, long *i0, long *i1, float *w1) {
    if (ident) {
        *i0 = *i1 = o;
        *w1 = 0.0f;
        return;
    }
    const real scale = den > 0 ? (real)num / (real)den : (real)scale_f;
    const real out_f = scale * (real)in, xo = (real)o;
    real x;
    switch (ctm) {
    case CT_HALF_PIXEL: x = (xo + 0.5) / scale - 0.5; break;
    case CT_PYTORCH_HALF_PIXEL: x = out > 1 ? (xo + 0.5) / scale - 0.5 : 0.0; break;
    case CT_ALIGN_CORNERS: x = out > 1 ? xo * (real)(in - 1) / (out_f - 1) : 0.0; break;
    case CT_TF_HALF_PIXEL_FOR_NN: x = (xo + 0.5) / scale; break;
    default: x = xo / scale; break;
    }
    const real lim = (real)in + (mode == RS_LINEAR ? 2 : 1) + 2;
    if (!(x > -lim)) x = -lim;
    if (x > lim) x = lim;
    const real fl = floor(x);
    const real r = x == fl ? 1.0 : x - fl;
    const real xp = x + 1, pf = floor(xp);
    const long start = (long)pf - 1 + (xp == pf ? -1 : 0);
    if (mode == RS_NEAREST) {
        int right;
        switch (nearest) {
        case NM_ROUND_PREFER_FLOOR: right = r > 0.5; break;
        case NM_ROUND_PREFER_CEIL: right = r >= 0.5; break;
        case NM_FLOOR: right = r == 1; break;
        case NM_CEIL: right = 1; break;
        default: right = scale < 1 ? 1 : r == 1; break;
        }
        *i0 = *i1 = clamp(start + (right ? 1 : 0), 0L, in - 1);
        *w1 = 0.0f;
        return;
    }
    *i0 = clamp(start, 0L, in - 1);
    *i1 = clamp(start + 1, 0L, in - 1);
    *w1 = (float)r;
}

__kernel void resize2d(__global const T *x, __global T *y, long planes, long in_h, long in_w, long out_h, long out_w,
                       int mode, int ctm, int nearest, float scale_h, long num_h, long den_h, int ident_h,
                       float scale_w, long num_w, long den_w, int ident_w) {
    const long i = get_global_id(0);
    if (i >= planes * out_h * out_w) return;
    const long ox = i % out_w, oy = (i / out_w) % out_h, p = i / (out_w * out_h);
    long y0, y1, x0, x1;
    float wy, wx;
    rs_axis(oy, in_h, out_h, scale_h, num_h, den_h, ident_h, mode, ctm, nearest, &y0, &y1, &wy);
    rs_axis(ox, in_w, out_w, scale_w, num_w, den_w, ident_w, mode, ctm, nearest, &x0, &x1, &wx);
    __global const T *xp = x + p * in_h * in_w;
    if (mode == RS_NEAREST) {
        y[i] = xp[y0 * in_w + x0];
        return;
    }
    const float top = (1.0f - wx) * (float)xp[y0 * in_w + x0] + wx * (float)xp[y0 * in_w + x1];
    const float bot = (1.0f - wx) * (float)xp[y1 * in_w + x0] + wx * (float)xp[y1 * in_w + x1];
    y[i] = (T)((1.0f - wy) * top + wy * bot);
}
