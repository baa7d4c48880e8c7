/*
 * transpose.c — the ops that are one strided copy on the OpenCL device:
 * Transpose (strides permuted), Slice (a start offset and strides scaled by
 * the steps, negative ones included) and Expand (stride 0 on the broadcast
 * dims). Any dtype of 1, 2, 4 or 8 bytes: the copy moves elements without
 * looking at them (kernels/transpose.cl, built per element size).
 *
 * The copy drops unit dims and merges neighbours the source walks
 * contiguously, so a plain copy is one flat dim and a matrix transpose two;
 * two dims take a 2-D kernel, more the general one.
 *
 * Slice's starts/ends/axes/steps and Expand's shape are read on the host
 * (from the constant, or back from the device) on every run, since they
 * decide the output's shape.
 */
#include <stdio.h>
#include <string.h>

#include "ocl_kernel.h"

_Static_assert(OCL_MAX_RANK == 8, "kernels/transpose.cl takes exactly 8 dims");

/* Element type of the copy for dtype, NULL when it cannot be moved. */
static const char *tp_type(int32_t dt) { return dt == PRISM_DTYPE_STRING ? NULL : ocl_move_type(dt); }

static bool tp_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0);
    if (dt > 0 && !tp_type(dt)) {
        snprintf(why, why_size, "%s does not move elements of this dtype on the device", ocl_node_op(node));
        return false;
    }
    if (ocl_node_input_rank(node, 0) > OCL_MAX_RANK) {
        snprintf(why, why_size, "%s runs on tensors of rank %d at most", ocl_node_op(node), OCL_MAX_RANK);
        return false;
    }
    return true;
}

/* y (dense, rank r, dims outermost first) = x read from element `base` with
 * strides str (elements, per dim of y). */
static prism_status tp_copy(ocl_ctx *ctx, const ocl_tensor *x, ocl_tensor *y, int64_t base, int32_t r,
                            const int64_t *dims, const int64_t *str) {
    if (y->count == 0) return PRISM_OK;
    const char *type = tp_type(x->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "this dtype cannot be moved on the device");
    int64_t d[OCL_MAX_RANK], s[OCL_MAX_RANK]; /* innermost first */
    int32_t m = 0;
    for (int32_t i = r - 1; i >= 0; i--) {
        if (dims[i] == 1) continue;
        if (m > 0 && str[i] == s[m - 1] * d[m - 1]) {
            d[m - 1] *= dims[i];
            continue;
        }
        d[m] = dims[i];
        s[m] = str[i];
        m++;
    }
    if (m == 0) {
        d[0] = 1;
        s[0] = 0;
        m = 1;
    }
    if (m == 2) {
        const ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(y->mem), ocl_arg_i64(base), ocl_arg_i64(d[1]),
                                ocl_arg_i64(d[0]),   ocl_arg_i64(s[1]),   ocl_arg_i64(s[0])};
        const size_t global[2] = {(size_t)d[0], (size_t)d[1]};
        return ocl_launch(ctx, "transpose", type, "strided_copy_2d", 2, global, NULL, sizeof args / sizeof args[0],
                          args);
    }
    ocl_arg args[5 + 2 * OCL_MAX_RANK];
    uint32_t c = 0;
    args[c++] = ocl_arg_mem(x->mem);
    args[c++] = ocl_arg_mem(y->mem);
    args[c++] = ocl_arg_i64(y->count);
    args[c++] = ocl_arg_i64(base);
    args[c++] = ocl_arg_i32(m);
    for (int32_t i = 0; i < OCL_MAX_RANK; i++) args[c++] = ocl_arg_i64(i < m ? d[i] : 1);
    for (int32_t i = 0; i < OCL_MAX_RANK; i++) args[c++] = ocl_arg_i64(i < m ? s[i] : 0);
    if (ocl_cpu_kernels(ctx)) { /* a chunk of outputs per work-item */
        const size_t chunks = (size_t)((y->count + OCL_COPY_CHUNK - 1) / OCL_COPY_CHUNK);
        return ocl_launch(ctx, "transpose", type, "strided_copy_chunk", 1, &chunks, NULL, c, args);
    }
    const size_t global = (size_t)y->count;
    return ocl_launch(ctx, "transpose", type, "strided_copy", 1, &global, NULL, c, args);
}

static void tp_strides(int32_t r, const int64_t *dims, int64_t *str) {
    int64_t acc = 1;
    for (int32_t i = r - 1; i >= 0; i--) {
        str[i] = acc;
        acc *= dims[i];
    }
}

static prism_status tp_need(ocl_ctx *ctx, const ocl_node *node, const ocl_tensor *const *in, uint32_t n_in,
                            uint32_t need) {
    for (uint32_t k = 0; k < need; k++)
        if (k >= n_in || !in[k])
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs %u inputs", ocl_node_op(node), need);
    if (in[0]->rank > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s input rank %d exceeds %d", ocl_node_op(node),
                        (int)in[0]->rank, OCL_MAX_RANK);
    return PRISM_OK;
}

/* ---- Transpose ------------------------------------------------------------ */

/* perm from the attribute (default: reversed dims); false when it is not a
 * permutation of 0..r-1. */
static bool tp_perm(const ocl_node *node, int32_t r, int64_t *perm) {
    const int64_t *pa;
    const size_t np = ocl_attr_ints(node, "perm", &pa);
    if (np == 0) {
        for (int32_t i = 0; i < r; i++) perm[i] = r - 1 - i;
        return true;
    }
    if (np != (size_t)r) return false;
    bool seen[OCL_MAX_RANK] = {false};
    for (int32_t i = 0; i < r; i++) {
        int64_t a = pa[i] < 0 ? pa[i] + r : pa[i];
        if (a < 0 || a >= r || seen[a]) return false;
        seen[a] = true;
        perm[i] = a;
    }
    return true;
}

static bool transpose_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!tp_supports(node, why, why_size)) return false;
    const int32_t r = ocl_node_input_rank(node, 0);
    int64_t perm[OCL_MAX_RANK];
    if (r >= 0 && !tp_perm(node, r, perm)) {
        snprintf(why, why_size, "Transpose perm is not a permutation of the input's dims");
        return false;
    }
    return true;
}

static prism_status transpose_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                  uint32_t n_in) {
    (void)state;
    prism_status s = tp_need(ctx, node, in, n_in, 1);
    if (s) return s;
    const ocl_tensor *x = in[0];
    const int32_t r = x->rank;
    int64_t perm[OCL_MAX_RANK], xs[OCL_MAX_RANK], dims[OCL_MAX_RANK], str[OCL_MAX_RANK];
    if (!tp_perm(node, r, perm))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Transpose perm is not a permutation of 0..%d", (int)r - 1);
    tp_strides(r, x->dims, xs);
    for (int32_t i = 0; i < r; i++) {
        dims[i] = x->dims[perm[i]];
        str[i] = xs[perm[i]];
    }
    ocl_tensor *y;
    if ((s = ocl_output(ctx, 0, x->dtype, r, dims, &y))) return s;
    return tp_copy(ctx, x, y, 0, r, dims, str);
}

const ocl_kernel_def ocl_op_Transpose = {.supports = transpose_supports, .run = transpose_run};

/* ---- Slice ------------------------------------------------------------------ */

static bool slice_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!tp_supports(node, why, why_size)) return false;
    if (ocl_node_opset(node) >= 10) {
        for (uint32_t k = 1; k < ocl_node_input_count(node) && k <= 4; k++) {
            const int32_t dt = ocl_node_has_input(node, k) ? ocl_node_input_dtype(node, k) : 0;
            if (dt > 0 && dt != PRISM_DTYPE_INT32 && dt != PRISM_DTYPE_INT64) {
                snprintf(why, why_size, "Slice starts/ends/axes/steps must be int32 or int64");
                return false;
            }
        }
    }
    return true;
}

/* Input k as a list of at most OCL_MAX_RANK integers. */
static prism_status slice_list(ocl_ctx *ctx, const ocl_tensor *t, const char *what, int64_t *out, size_t *n) {
    if (t->dtype != PRISM_DTYPE_INT32 && t->dtype != PRISM_DTYPE_INT64)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice %s must be int32 or int64", what);
    if (t->rank > 1 || t->count > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice %s must be a list of at most %d values", what, OCL_MAX_RANK);
    return ocl_read_ints(ctx, t, out, OCL_MAX_RANK, n);
}

static prism_status slice_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                              uint32_t n_in) {
    (void)state;
    const bool inputs = ocl_node_opset(node) >= 10;
    prism_status s = tp_need(ctx, node, in, n_in, inputs ? 3 : 1);
    if (s) return s;
    const ocl_tensor *x = in[0];
    const int32_t r = x->rank;
    int64_t starts[OCL_MAX_RANK], ends[OCL_MAX_RANK], axes[OCL_MAX_RANK], steps[OCL_MAX_RANK];
    size_t ns = 0, ne = 0, na = 0, nst = 0;
    bool has_axes = false, has_steps = false;
    if (!inputs) {
        const int64_t *a;
        const char *names[3] = {"starts", "ends", "axes"};
        int64_t *dst[3] = {starts, ends, axes};
        size_t *cnt[3] = {&ns, &ne, &na};
        for (int k = 0; k < 3; k++) {
            *cnt[k] = ocl_attr_ints(node, names[k], &a);
            if (*cnt[k] > OCL_MAX_RANK)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice %s has more than %d values", names[k], OCL_MAX_RANK);
            if (*cnt[k]) memcpy(dst[k], a, *cnt[k] * sizeof *a);
        }
        has_axes = na > 0;
    } else {
        if ((s = slice_list(ctx, in[1], "starts", starts, &ns)) || (s = slice_list(ctx, in[2], "ends", ends, &ne)))
            return s;
        if (n_in > 3 && in[3]) {
            if ((s = slice_list(ctx, in[3], "axes", axes, &na))) return s;
            has_axes = true;
        }
        if (n_in > 4 && in[4]) {
            if ((s = slice_list(ctx, in[4], "steps", steps, &nst))) return s;
            has_steps = true;
        }
    }
    if (ne != ns || (has_axes && na != ns) || (has_steps && nst != ns))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice starts, ends, axes and steps must have the same length");
    int64_t xs[OCL_MAX_RANK], lo[OCL_MAX_RANK], step[OCL_MAX_RANK], cnt[OCL_MAX_RANK];
    bool seen[OCL_MAX_RANK] = {false};
    tp_strides(r, x->dims, xs);
    for (int32_t d = 0; d < r; d++) {
        lo[d] = 0;
        step[d] = 1;
        cnt[d] = x->dims[d];
    }
    for (size_t i = 0; i < ns; i++) {
        int64_t a = has_axes ? axes[i] : (int64_t)i;
        if (!ocl_norm_axis(a, r, &a))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice axis %lld out of range for rank %d",
                            (long long)(has_axes ? axes[i] : (int64_t)i), (int)r);
        if (seen[a]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice axis %lld repeated", (long long)a);
        seen[a] = true;
        const int64_t n = x->dims[a], sp = has_steps ? steps[i] : 1;
        if (sp == 0) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Slice step must not be 0");
        int64_t b = starts[i], e = ends[i];
        /* negative values count from the end; then clamp as the spec says:
         * [0, n] for positive steps, [0, n-1] / [-1, n-1] for negative */
        if (b < 0) b += n;
        if (e < 0) e += n;
        if (sp > 0) {
            b = b < 0 ? 0 : b > n ? n : b;
            e = e < 0 ? 0 : e > n ? n : e;
            cnt[a] = e > b ? (e - b - 1) / sp + 1 : 0;
        } else {
            b = b < 0 ? 0 : b > n - 1 ? n - 1 : b;
            e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
            cnt[a] = b > e ? (int64_t)((uint64_t)(b - e - 1) / ((uint64_t)0 - (uint64_t)sp)) + 1 : 0;
        }
        if (n == 0) cnt[a] = 0;
        lo[a] = cnt[a] ? b : 0;
        step[a] = sp;
    }
    int64_t base = 0, str[OCL_MAX_RANK];
    for (int32_t d = 0; d < r; d++) {
        /* a step beyond the dim takes one element: keep the stride small */
        str[d] = cnt[d] > 1 ? step[d] * xs[d] : 0;
        base += lo[d] * xs[d];
    }
    ocl_tensor *y;
    if ((s = ocl_output(ctx, 0, x->dtype, r, cnt, &y))) return s;
    return tp_copy(ctx, x, y, base, r, cnt, str);
}

const ocl_kernel_def ocl_op_Slice = {.supports = slice_supports, .run = slice_run};

/* ---- Expand ----------------------------------------------------------------- */

static prism_status expand_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    prism_status s = tp_need(ctx, node, in, n_in, 2);
    if (s) return s;
    const ocl_tensor *x = in[0], *sh = in[1];
    if ((sh->dtype != PRISM_DTYPE_INT64 && sh->dtype != PRISM_DTYPE_INT32) || sh->rank != 1 ||
        sh->count > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Expand shape must be a 1-D int64 tensor of at most %d values",
                        OCL_MAX_RANK);
    int64_t shape[OCL_MAX_RANK], dims[OCL_MAX_RANK], xs[OCL_MAX_RANK], str[OCL_MAX_RANK];
    size_t n = 0;
    if ((s = ocl_read_ints(ctx, sh, shape, OCL_MAX_RANK, &n))) return s;
    for (size_t i = 0; i < n; i++)
        if (shape[i] < 0)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Expand shape has a negative dimension %lld", (long long)shape[i]);
    int32_t r;
    if (!ocl_broadcast_shape(x->rank, x->dims, (int32_t)n, shape, &r, dims))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Expand shape is not broadcast-compatible with the input");
    tp_strides(x->rank, x->dims, xs);
    for (int32_t i = 0; i < r; i++) {
        const int32_t k = i - (r - x->rank); /* numpy aligns shapes on the right */
        str[i] = (k < 0 || x->dims[k] == 1) ? 0 : xs[k];
    }
    ocl_tensor *y;
    if ((s = ocl_output(ctx, 0, x->dtype, r, dims, &y))) return s;
    return tp_copy(ctx, x, y, 0, r, dims, str);
}

const ocl_kernel_def ocl_op_Expand = {.supports = tp_supports, .run = expand_run};
