/*
 * transpose.cl — the strided copy behind Transpose, Slice and Expand:
 * out[i] = x[base + sum_k coord_k(i) * stride_k], the output dense, for any
 * element of size T (an unsigned integer type of the element size: the ops
 * only move elements, so every dtype shares one build per size).
 *
 * dims are the output's, innermost first, after the host merged what it
 * could (ops/transpose.c); strides are in elements of x and may be 0
 * (Expand) or negative (Slice with negative steps).
 */
__kernel void strided_copy(__global const T *x, __global T *out, long n, long base, int rank, long d0, long d1,
                           long d2, long d3, long d4, long d5, long d6, long d7, long s0, long s1, long s2, long s3,
                           long s4, long s5, long s6, long s7) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long dd[8] = {d0, d1, d2, d3, d4, d5, d6, d7};
    const long ss[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    long rest = i, o = base;
    for (int k = 0; k < rank; k++) {
        const long q = rest % dd[k];
        rest /= dd[k];
        o += q * ss[k];
    }
    out[i] = x[o];
}

/* The common 2-D case (a matrix transpose after merging): one work-item per
 * output element of a rows x cols output read with strides (rs, cs). */
__kernel void strided_copy_2d(__global const T *x, __global T *out, long base, long rows, long cols, long rs,
                              long cs) {
    const long c = get_global_id(0), r = get_global_id(1);
    if (c < cols && r < rows) out[r * cols + c] = x[base + r * rs + c * cs];
}

/* CPU-device form of strided_copy: one work-item per chunk of COPY_CHUNK
 * outputs (OCL_COPY_CHUNK in ops/transpose.c), walked in runs along the
 * innermost dim with the source offset computed once per run; a
 * contiguous innermost dim (s0 == 1) gets its own loop, which vectorises. */
#define COPY_CHUNK 256
__kernel void strided_copy_chunk(__global const T *x, __global T *out, long n, long base, int rank, long d0, long d1,
                                 long d2, long d3, long d4, long d5, long d6, long d7, long s0, long s1, long s2,
                                 long s3, long s4, long s5, long s6, long s7) {
    long i = (long)get_global_id(0) * COPY_CHUNK;
    const long i1 = min(i + COPY_CHUNK, n);
    const long dd[8] = {d0, d1, d2, d3, d4, d5, d6, d7};
    const long ss[8] = {s0, s1, s2, s3, s4, s5, s6, s7};
    while (i < i1) {
        long rest = i, o = base;
        for (int k = 0; k < rank; k++) {
            const long q = rest % dd[k];
            rest /= dd[k];
            o += q * ss[k];
        }
        const long len = min(i1 - i, d0 - i % d0);
        __global const T *src = x + o;
        __global T *dst = out + i;
        if (s0 == 1)
            for (long j = 0; j < len; j++) dst[j] = src[j];
        else
            for (long j = 0; j < len; j++) dst[j] = src[j * s0];
        i += len;
    }
}
