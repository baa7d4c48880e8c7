/*
 * example_kernels.c — element-wise kernels: the four arithmetic ops with
 * ONNX multidirectional (numpy) broadcasting, and the activations.
 *
 * Broadcasting works on a normalised view of the shapes: dims of 1 in the
 * output are dropped and neighbouring dims that both operands walk the same
 * way are merged, so that the innermost loop is as long as possible and has
 * one of three stride patterns (both contiguous, or one operand repeated),
 * each a plain loop the compiler vectorises.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "example_internal.h"

bool ex_broadcast_shape(const ex_tensor *a, const ex_tensor *b, int32_t *rank, int64_t *dims, char *err) {
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) {
            snprintf(err, EX_ERR, "shapes cannot be broadcast: dim %d is %lld in A and %lld in B", i, (long long)da,
                     (long long)db);
            return false;
        }
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

/* One row of n results; sa and sb are 0 (repeat one element) or 1. */
#define ROW(EXPR)                                                                                                \
    do {                                                                                                         \
        if (sa && sb)                                                                                            \
            for (int64_t i = 0; i < n; i++) { float x = a[i], z = b[i]; y[i] = (EXPR); }                           \
        else if (sb)                                                                                             \
            for (int64_t i = 0; i < n; i++) { float x = a[0], z = b[i]; y[i] = (EXPR); }                           \
        else if (sa)                                                                                             \
            for (int64_t i = 0; i < n; i++) { float x = a[i], z = b[0]; y[i] = (EXPR); }                           \
        else                                                                                                     \
            for (int64_t i = 0; i < n; i++) { float x = a[0], z = b[0]; y[i] = (EXPR); }                           \
    } while (0)

static void row(ex_op op, const float *restrict a, int64_t sa, const float *restrict b, int64_t sb,
                float *restrict y, int64_t n) {
    switch (op) {
    case EX_ADD: ROW(x + z); break;
    case EX_SUB: ROW(x - z); break;
    case EX_MUL: ROW(x * z); break;
    default: ROW(x / z); break;
    }
}

void ex_binary(ex_op op, const ex_tensor *a, const ex_tensor *b, ex_tensor *y) {
    if (!y->count) return;
    /* Per output dim: extent and each operand's stride (0 where it repeats). */
    int64_t ext[EX_MAX_RANK], sa[EX_MAX_RANK], sb[EX_MAX_RANK];
    int n = 0;
    int64_t stride_a = 1, stride_b = 1;
    int64_t ta[EX_MAX_RANK], tb[EX_MAX_RANK];
    for (int32_t i = y->rank - 1; i >= 0; i--) { /* operands' own strides, right-aligned */
        int32_t ia = i - (y->rank - a->rank), ib = i - (y->rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        ta[i] = da == 1 ? 0 : stride_a;
        tb[i] = db == 1 ? 0 : stride_b;
        stride_a *= da;
        stride_b *= db;
    }
    /* Drop dims of 1; merge dim i into the next one when both operands step
     * over the pair as over one dim. Built innermost first, then reversed. */
    int64_t rext[EX_MAX_RANK], rsa[EX_MAX_RANK], rsb[EX_MAX_RANK];
    for (int32_t i = y->rank - 1; i >= 0; i--) {
        if (y->dims[i] == 1) continue;
        if (n && ta[i] == rsa[n - 1] * rext[n - 1] && tb[i] == rsb[n - 1] * rext[n - 1]) {
            rext[n - 1] *= y->dims[i];
            continue;
        }
        rext[n] = y->dims[i];
        rsa[n] = ta[i];
        rsb[n] = tb[i];
        n++;
    }
    if (!n) { /* a single element */
        row(op, a->data, 0, b->data, 0, y->data, 1);
        return;
    }
    for (int i = 0; i < n; i++) {
        ext[i] = rext[n - 1 - i];
        sa[i] = rsa[n - 1 - i];
        sb[i] = rsb[n - 1 - i];
    }
    /* The innermost dim has stride 1 or 0 for each operand. Walk the outer
     * dims with an odometer. */
    int64_t inner = ext[n - 1], ia = sa[n - 1], ib = sb[n - 1];
    int64_t idx[EX_MAX_RANK] = {0};
    int64_t oa = 0, ob = 0;
    float *out = y->data;
    for (;;) {
        row(op, a->data + oa, ia, b->data + ob, ib, out, inner);
        out += inner;
        int d = n - 2;
        for (; d >= 0; d--) {
            oa += sa[d];
            ob += sb[d];
            if (++idx[d] < ext[d]) break;
            oa -= sa[d] * ext[d];
            ob -= sb[d] * ext[d];
            idx[d] = 0;
        }
        if (d < 0) break;
    }
}

void ex_unary(ex_op op, float p0, float p1, const ex_tensor *x, ex_tensor *y) {
    const float *restrict in = x->data;
    float *restrict out = y->data;
    int64_t n = x->count;
    switch (op) {
    case EX_RELU: /* NaN stays NaN */
        for (int64_t i = 0; i < n; i++) out[i] = in[i] < 0.0f ? 0.0f : in[i];
        break;
    case EX_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) out[i] = in[i] < 0.0f ? in[i] * p0 : in[i];
        break;
    case EX_CLIP: /* max applied last: min > max gives max everywhere */
        for (int64_t i = 0; i < n; i++) {
            float v = in[i] < p0 ? p0 : in[i];
            out[i] = v > p1 ? p1 : v;
        }
        break;
    case EX_SIGMOID: /* exp(-x) overflows to inf for very negative x, giving 0 */
        for (int64_t i = 0; i < n; i++) out[i] = 1.0f / (1.0f + expf(-in[i]));
        break;
    default: /* EX_TANH */
        for (int64_t i = 0; i < n; i++) out[i] = tanhf(in[i]);
        break;
    }
}
