/*
 * concat.cl — Concat, one launch per input: input k is [outer, blk] (blk =
 * its extent on the axis times the inner size) and lands at column offset
 * `off` of the [outer, row] output. For any element of size T (an unsigned
 * integer type of the element size: every dtype shares one build per size).
 */
__kernel void concat_part(__global const T *x, __global T *out, long outer, long blk, long row, long off) {
    const long i = get_global_id(0);
    if (i >= outer * blk) return;
    const long o = i / blk, j = i - o * blk;
    out[o * row + off + j] = x[i];
}
