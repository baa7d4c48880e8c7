/*
 * gather.cl — Gather along one axis: data viewed as [outer, n, inner],
 * indices as a flat list of m; out[o, j, i] = data[o, idx[j], i]. For any
 * element of size T (an unsigned integer type of the element size).
 *
 * Negative indices count from the end. An index outside [-n, n-1] is an
 * error the host reports when the indices are known there (constants); for
 * indices computed on the device the kernel writes zeros instead of reading
 * out of bounds.
 */
#define GATHER_BODY                                                                         \
    const long t = get_global_id(0);                                                               \
    if (t >= outer * m * inner) return;                                                            \
    const long i = t % inner, oj = t / inner, j = oj % m, o = oj / m;                               \
    long k = (long)idx[j];                                                                         \
    if (k < 0) k += n;                                                                             \
    out[t] = (k >= 0 && k < n) ? data[(o * n + k) * inner + i] : (T)0;

__kernel void gather_i32(__global const T *data, __global const int *idx, __global T *out, long outer, long n,
                         long m, long inner) {
    GATHER_BODY
}

__kernel void gather_i64(__global const T *data, __global const long *idx, __global T *out, long outer, long n,
                         long m, long inner) {
    GATHER_BODY
}
