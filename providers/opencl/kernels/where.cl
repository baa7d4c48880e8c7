/*
 * where.cl — Where(cond, X, Y) with numpy broadcasting over three inputs,
 * for any element of size T (an unsigned integer type of the element size:
 * the op only moves elements, so every dtype shares one build per size).
 *
 * The host collapses the shapes (ops/binary.c): up to 8 dims, innermost
 * first, each input with its own element strides (0 on a broadcast dim).
 */
__kernel void where_nd(__global const uchar *c, __global const T *x, __global const T *y, __global T *out, long n,
                       int rank, long d0, long d1, long d2, long d3, long d4, long d5, long d6, long d7, long c0,
                       long c1, long c2, long c3, long c4, long c5, long c6, long c7, long x0, long x1, long x2,
                       long x3, long x4, long x5, long x6, long x7, long y0, long y1, long y2, long y3, long y4,
                       long y5, long y6, long y7) {
    const long i = get_global_id(0);
    if (i >= n) return;
    const long dd[8] = {d0, d1, d2, d3, d4, d5, d6, d7};
    const long sc[8] = {c0, c1, c2, c3, c4, c5, c6, c7};
    const long sx[8] = {x0, x1, x2, x3, x4, x5, x6, x7};
    const long sy[8] = {y0, y1, y2, y3, y4, y5, y6, y7};
    long rest = i, oc = 0, ox = 0, oy = 0;
    for (int k = 0; k < rank; k++) {
        const long q = rest % dd[k];
        rest /= dd[k];
        oc += q * sc[k];
        ox += q * sx[k];
        oy += q * sy[k];
    }
    out[i] = c[oc] ? x[ox] : y[oy];
}
