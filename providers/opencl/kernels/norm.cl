/*
 * norm.cl — LayerNormalization for one compute type T (float, or half with
 * PRISM_FP16), computed in float.
 *
 * One work-group per row of `cols` elements: the mean, then the mean squared
 * deviation from it (two passes: no cancellation for rows with a large
 * mean), each a tree reduction in local memory (the group size is a power of
 * two); then every element is normalised, scaled and shifted. Scale and bias
 * are read with stride 1 (their shape is the row's) or 0 (one value).
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

inline float group_sum(float v, __local float *scratch) {
    const int lid = get_local_id(0), ls = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] += scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}

/* mean_out / inv_out (float, one per row) are written when has_stats. */
__kernel void layer_norm(__global const T *x, __global const T *scale, __global const T *bias, __global T *y,
                         __global float *mean_out, __global float *inv_out, long cols, float eps, long ss, long bs,
                         int has_bias, int has_stats, __local float *scratch) {
    const long row = get_group_id(0);
    const int lid = get_local_id(0), ls = get_local_size(0);
    __global const T *xr = x + row * cols;
    __global T *yr = y + row * cols;
    float s = 0.0f;
    for (long j = lid; j < cols; j += ls) s += (float)xr[j];
    const float mean = group_sum(s, scratch) / (float)cols;
    float q = 0.0f;
    for (long j = lid; j < cols; j += ls) {
        const float d = (float)xr[j] - mean;
        q += d * d;
    }
    const float inv = 1.0f / sqrt(group_sum(q, scratch) / (float)cols + eps);
    for (long j = lid; j < cols; j += ls) {
        float v = ((float)xr[j] - mean) * inv * (float)scale[j * ss];
        if (has_bias) v += (float)bias[j * bs];
        yr[j] = (T)v;
    }
    if (has_stats && lid == 0) {
        mean_out[row] = mean;
        inv_out[row] = inv;
    }
}

/* CPU-device form: one work-item per row, no local memory or barriers. */
__kernel void layer_norm_rows(__global const T *x, __global const T *scale, __global const T *bias, __global T *y,
                              __global float *mean_out, __global float *inv_out, long cols, float eps, long ss,
                              long bs, int has_bias, int has_stats, long rows) {
    const long row = get_global_id(0);
    if (row >= rows) return;
    __global const T *xr = x + row * cols;
    __global T *yr = y + row * cols;
    float s = 0.0f;
    for (long j = 0; j < cols; j++) s += (float)xr[j];
    const float mean = s / (float)cols;
    float q = 0.0f;
    for (long j = 0; j < cols; j++) {
        const float d = (float)xr[j] - mean;
        q += d * d;
    }
    const float inv = 1.0f / sqrt(q / (float)cols + eps);
    for (long j = 0; j < cols; j++) {
        float v = ((float)xr[j] - mean) * inv * (float)scale[j * ss];
        if (has_bias) v += (float)bias[j * bs];
        yr[j] = (T)v;
    }
    if (has_stats) {
        mean_out[row] = mean;
        inv_out[row] = inv;
    }
}
