/*
 * reduce.cl — ReduceSum, ReduceMean, ReduceMax, ReduceMin for one compute
 * type T (float, or half with PRISM_FP16), accumulated in float.
 *
 * One work-group per output element. The host splits the input's dims into
 * kept and reduced blocks and merges neighbours of one kind (ops/reduce.c);
 * since blocks of the two kinds alternate, rank 8 leaves at most 4 of each.
 * Dims are innermost first with element strides into x. The group walks its
 * reduced elements and combines them with a tree reduction in local memory
 * (the group size is a power of two).
 */
#ifdef PRISM_FP16
#pragma OPENCL EXTENSION cl_khr_fp16 : enable
#endif

/* op codes: ops/reduce.c */
#define RD_SUM 0
#define RD_MEAN 1
#define RD_MAX 2
#define RD_MIN 3

inline float rd_combine(int op, float a, float b) {
    /* max/min propagate NaN, like the CPU provider */
    if (op == RD_MAX) return isnan(a) ? a : isnan(b) ? b : (a > b ? a : b);
    if (op == RD_MIN) return isnan(a) ? a : isnan(b) ? b : (a < b ? a : b);
    return a + b;
}

__kernel void reduce(__global const T *x, __global T *y, long n_red, int op, int nk, long k0, long k1, long k2,
                     long k3, long ks0, long ks1, long ks2, long ks3, int nr, long r0, long r1, long r2, long r3,
                     long rs0, long rs1, long rs2, long rs3, __local float *scratch) {
    const long o = get_group_id(0);
    const int lid = get_local_id(0), ls = get_local_size(0);
    const long kd[4] = {k0, k1, k2, k3}, ks[4] = {ks0, ks1, ks2, ks3};
    const long rd[4] = {r0, r1, r2, r3}, rs[4] = {rs0, rs1, rs2, rs3};
    long rest = o, base = 0;
    for (int k = 0; k < nk; k++) {
        base += (rest % kd[k]) * ks[k];
        rest /= kd[k];
    }
    float acc = op == RD_MAX ? -INFINITY : op == RD_MIN ? INFINITY : 0.0f;
    for (long j = lid; j < n_red; j += ls) {
        long r = j, off = base;
        for (int k = 0; k < nr; k++) {
            off += (r % rd[k]) * rs[k];
            r /= rd[k];
        }
        acc = rd_combine(op, acc, (float)x[off]);
    }
    scratch[lid] = acc;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = ls / 2; s > 0; s >>= 1) {
        if (lid < s) scratch[lid] = rd_combine(op, scratch[lid], scratch[lid + s]);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (lid == 0) y[o] = (T)(op == RD_MEAN ? scratch[0] / (float)n_red : scratch[0]);
}
