/*
 * softmax.cl — Softmax and LogSoftmax for one compute type T (float, or half
 * with PRISM_FP16), computed in float.
 *
 * One work-group per line of n elements that lie `inner` apart (the host
 * maps both opset forms onto lines, ops/softmax.c). The group finds the
 * line's maximum and the sum of exp(x - max) with tree reductions in local
 * memory (the group size is a power of two), so the result is stable for
 * any magnitude, then writes every element.
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

/* The group's combination of v (max when is_max, else sum); every work-item
 * gets the result. */
inline float group_reduce(float v, int is_max, __local float *scratch) {
    const int lid = get_local_id(0), ls = get_local_size(0);
    scratch[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = is_max ? fmax(scratch[lid], scratch[lid + s]) : scratch[lid] + scratch[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    const float r = scratch[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* scratch is reused by the next call */
    return r;
}

__kernel void softmax(__global const T *x, __global T *y, long n, long inner, int log_mode,
                      __local float *scratch) {
    const long line = get_group_id(0);
    const int lid = get_local_id(0), ls = get_local_size(0);
    const long base = (line / inner) * n * inner + line % inner;
    float m = -INFINITY;
    for (long i = lid; i < n; i += ls) m = fmax(m, (float)x[base + i * inner]);
    m = group_reduce(m, 1, scratch);
    float s = 0.0f;
    for (long i = lid; i < n; i += ls) s += exp((float)x[base + i * inner] - m);
    s = group_reduce(s, 0, scratch);
    if (log_mode) {
        const float lse = m + log(s);
        for (long i = lid; i < n; i += ls) y[base + i * inner] = (T)((float)x[base + i * inner] - lse);
    } else {
        const float inv = 1.0f / s;
        for (long i = lid; i < n; i += ls) y[base + i * inner] = (T)(exp((float)x[base + i * inner] - m) * inv);
    }
}

/* CPU-device form: one work-item per line, no local memory or barriers (a
 * CPU runs a work-group's items one after another, so a tree reduction only
 * adds passes). exp is taken once: y holds exp(x - max) until it is scaled
 * (in float builds; half recomputes it to keep float accuracy). */
__kernel void softmax_lines(__global const T *x, __global T *y, long n, long inner, long lines, int log_mode) {
    const long line = get_global_id(0);
    if (line >= lines) return;
    const long base = (line / inner) * n * inner + line % inner;
    __global const T *xl = x + base;
    __global T *yl = y + base;
    float m = -INFINITY;
    for (long i = 0; i < n; i++) m = fmax(m, (float)xl[i * inner]);
    float s = 0.0f;
#ifdef PRISM_FP16
    for (long i = 0; i < n; i++) s += exp((float)xl[i * inner] - m);
#else
    if (!log_mode) {
        for (long i = 0; i < n; i++) {
            const float e = exp(xl[i * inner] - m);
            yl[i * inner] = e;
            s += e;
        }
        const float inv = 1.0f / s;
        for (long i = 0; i < n; i++) yl[i * inner] *= inv;
        return;
    }
    for (long i = 0; i < n; i++) s += exp(xl[i * inner] - m);
#endif
    if (log_mode) {
        const float lse = m + log(s);
        for (long i = 0; i < n; i++) yl[i * inner] = (T)((float)xl[i * inner] - lse);
    } else {
        const float inv = 1.0f / s;
        for (long i = 0; i < n; i++) yl[i * inner] = (T)(exp((float)xl[i * inner] - m) * inv);
    }
}
