/*
 * shape.c — ops that keep the bytes and change only the shape: Reshape,
 * Flatten, Squeeze, Unsqueeze and Identity, for any dtype the device holds.
 *
 * They go through ocl_output_view, so no data moves where the framework can
 * alias the input. The new shape follows the CPU provider's rules (Reshape's
 * 0 and -1 and allowzero; axes from attributes or, from opset 13 for
 * Squeeze/Unsqueeze, from an input read on the host) and is computed on
 * every run from the actual input.
 */
#include <stdio.h>
#include <string.h>

#include "ocl_kernel.h"

static bool sh_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t dt = ocl_node_input_dtype(node, 0);
    if (dt > 0 && (dt == PRISM_DTYPE_STRING || ocl_dtype_size(dt) == 0)) {
        snprintf(why, why_size, "%s: tensors of this dtype do not live on the device", ocl_node_op(node));
        return false;
    }
    if (ocl_node_input_rank(node, 0) > OCL_MAX_RANK) {
        snprintf(why, why_size, "%s runs on tensors of rank %d at most", ocl_node_op(node), OCL_MAX_RANK);
        return false;
    }
    return true;
}

static prism_status sh_need_data(ocl_ctx *ctx, const ocl_node *node, const ocl_tensor *const *in, uint32_t n_in) {
    if (n_in < 1 || !in[0]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs data", ocl_node_op(node));
    return PRISM_OK;
}

/* A 1-D (or scalar) integer input of at most cap values, read on the host. */
static prism_status sh_int_list(ocl_ctx *ctx, const ocl_node *node, const ocl_tensor *t, const char *what,
                                int64_t *out, size_t cap, size_t *n) {
    if ((t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32) || t->rank > 1)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s %s must be a 1-D int64 tensor", ocl_node_op(node), what);
    if (t->count > (int64_t)cap)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s %s has %lld values, at most %zu are supported",
                        ocl_node_op(node), what, (long long)t->count, cap);
    return ocl_read_ints(ctx, t, out, cap, n);
}

/* ---- Reshape ---------------------------------------------------------------- */

static prism_status reshape_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                uint32_t n_in) {
    (void)state;
    prism_status s = sh_need_data(ctx, node, in, n_in);
    if (s) return s;
    const ocl_tensor *x = in[0];
    int64_t req[OCL_MAX_RANK];
    size_t n = 0;
    if (ocl_node_opset(node) < 5) {
        /* opsets 1-4 carry the target shape as an attribute */
        const int64_t *a;
        n = ocl_attr_ints(node, "shape", &a);
        if (n > OCL_MAX_RANK)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target rank %zu exceeds %d", n, OCL_MAX_RANK);
        if (n) memcpy(req, a, n * sizeof *a);
    } else {
        if (n_in < 2 || !in[1]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape needs a shape input");
        if ((s = sh_int_list(ctx, node, in[1], "shape", req, OCL_MAX_RANK, &n))) return s;
    }
    const bool allowzero = ocl_node_opset(node) >= 14 && ocl_attr_int(node, "allowzero", 0) != 0;
    int64_t dims[OCL_MAX_RANK], known = 1;
    int infer = -1;
    bool has_zero = false;
    for (size_t i = 0; i < n; i++) {
        int64_t d = req[i];
        if (d == -1) {
            if (infer >= 0) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape shape has more than one -1");
            infer = (int)i;
            dims[i] = 1;
            continue;
        }
        if (d < -1)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape shape has invalid value %lld at %zu", (long long)d, i);
        if (d == 0 && !allowzero) {
            /* 0 copies the input's dimension at the same index */
            if ((int64_t)i >= x->rank)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape shape has 0 at index %zu but the input has rank %d",
                                i, (int)x->rank);
            d = x->dims[i];
        }
        if (d == 0) has_zero = true;
        dims[i] = d;
        if (d != 0 && known > INT64_MAX / 2 / d)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target shape is too large");
        known *= d;
    }
    if (infer >= 0) {
        if (allowzero && has_zero)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape with allowzero=1 cannot have both 0 and -1");
        if (known == 0) {
            if (x->count != 0)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape cannot infer -1 for a target with a 0 dim");
            dims[infer] = 0;
            known = 0;
        } else {
            if (x->count % known != 0)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape cannot reshape %lld elements into the shape given",
                                (long long)x->count);
            dims[infer] = x->count / known;
            known = x->count;
        }
    }
    if (known != x->count)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target shape has %lld elements, input has %lld",
                        (long long)known, (long long)x->count);
    ocl_tensor *y;
    return ocl_output_view(ctx, 0, x, (int32_t)n, dims, &y);
}

static bool reshape_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!sh_supports(node, why, why_size)) return false;
    const int32_t st = ocl_node_opset(node) >= 5 ? ocl_node_input_dtype(node, 1) : 0;
    if (st > 0 && st != PRISM_DTYPE_INT64) {
        snprintf(why, why_size, "Reshape shape must be int64");
        return false;
    }
    return true;
}

const ocl_kernel_def ocl_op_Reshape = {.supports = reshape_supports, .run = reshape_run};

/* ---- Flatten ---------------------------------------------------------------- */

static prism_status flatten_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                uint32_t n_in) {
    (void)state;
    prism_status s = sh_need_data(ctx, node, in, n_in);
    if (s) return s;
    const ocl_tensor *x = in[0];
    int64_t axis = ocl_attr_int(node, "axis", 1);
    if (axis < 0) axis += x->rank; /* negative axes since opset 11 */
    if (axis < 0 || axis > x->rank)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Flatten axis %lld out of range for rank %d",
                        (long long)ocl_attr_int(node, "axis", 1), (int)x->rank);
    int64_t d[2] = {1, 1};
    for (int64_t i = 0; i < x->rank; i++) d[i >= axis] *= x->dims[i];
    ocl_tensor *y;
    return ocl_output_view(ctx, 0, x, 2, d, &y);
}

const ocl_kernel_def ocl_op_Flatten = {.supports = sh_supports, .run = flatten_run};

/* ---- Squeeze / Unsqueeze --------------------------------------------------- */

/* axes from the attribute (opset < 13) or input 1; *given says whether
 * there were any. */
static prism_status sh_axes(ocl_ctx *ctx, const ocl_node *node, const ocl_tensor *const *in, uint32_t n_in,
                            int64_t *axes, size_t *n, bool *given) {
    *n = 0;
    *given = false;
    if (ocl_node_opset(node) < 13) {
        const int64_t *a;
        const size_t c = ocl_attr_ints(node, "axes", &a);
        if (c > OCL_MAX_RANK) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "too many axes (%zu)", c);
        if (c) memcpy(axes, a, c * sizeof *a);
        *n = c;
        *given = ocl_attr_has(node, "axes");
        return PRISM_OK;
    }
    if (n_in < 2 || !in[1]) return PRISM_OK;
    *given = true;
    return sh_int_list(ctx, node, in[1], "axes", axes, OCL_MAX_RANK, n);
}

static prism_status squeeze_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                uint32_t n_in) {
    (void)state;
    prism_status s = sh_need_data(ctx, node, in, n_in);
    if (s) return s;
    const ocl_tensor *x = in[0];
    int64_t axes[OCL_MAX_RANK];
    size_t na;
    bool given;
    if ((s = sh_axes(ctx, node, in, n_in, axes, &na, &given))) return s;
    bool drop[OCL_MAX_RANK] = {false};
    if (na == 0) {
        /* no axes: remove every dimension of size 1 */
        for (int32_t i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
    } else {
        for (size_t i = 0; i < na; i++) {
            int64_t a;
            if (!ocl_norm_axis(axes[i], x->rank, &a))
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Squeeze axis %lld out of range for rank %d",
                                (long long)axes[i], (int)x->rank);
            if (x->dims[a] != 1)
                return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Squeeze axis %lld has size %lld, not 1", (long long)axes[i],
                                (long long)x->dims[a]);
            drop[a] = true;
        }
    }
    int64_t dims[OCL_MAX_RANK];
    int32_t r = 0;
    for (int32_t i = 0; i < x->rank; i++)
        if (!drop[i]) dims[r++] = x->dims[i];
    ocl_tensor *y;
    return ocl_output_view(ctx, 0, x, r, dims, &y);
}

const ocl_kernel_def ocl_op_Squeeze = {.supports = sh_supports, .run = squeeze_run};

static prism_status unsqueeze_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                  uint32_t n_in) {
    (void)state;
    prism_status s = sh_need_data(ctx, node, in, n_in);
    if (s) return s;
    const ocl_tensor *x = in[0];
    int64_t axes[OCL_MAX_RANK];
    size_t na;
    bool given;
    if ((s = sh_axes(ctx, node, in, n_in, axes, &na, &given))) return s;
    if (!given) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze needs axes");
    const int64_t r = x->rank + (int64_t)na;
    if (r > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze result rank %lld exceeds %d", (long long)r, OCL_MAX_RANK);
    bool ins[OCL_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int64_t a;
        /* axes refer to the output's dimensions */
        if (!ocl_norm_axis(axes[i], (int32_t)r, &a))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze axis %lld out of range for output rank %lld",
                            (long long)axes[i], (long long)r);
        if (ins[a]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze axis %lld repeated", (long long)axes[i]);
        ins[a] = true;
    }
    int64_t dims[OCL_MAX_RANK];
    int32_t j = 0;
    for (int64_t i = 0; i < r; i++) dims[i] = ins[i] ? 1 : x->dims[j++];
    ocl_tensor *y;
    return ocl_output_view(ctx, 0, x, (int32_t)r, dims, &y);
}

static bool unsqueeze_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!sh_supports(node, why, why_size)) return false;
    const int32_t r = ocl_node_input_rank(node, 0);
    if (r >= 0 && ocl_node_opset(node) < 13) {
        const int64_t *a;
        if ((size_t)r + ocl_attr_ints(node, "axes", &a) > OCL_MAX_RANK) {
            snprintf(why, why_size, "Unsqueeze result rank exceeds %d", OCL_MAX_RANK);
            return false;
        }
    }
    return true;
}

const ocl_kernel_def ocl_op_Unsqueeze = {.supports = unsqueeze_supports, .run = unsqueeze_run};

/* ---- Identity ----------------------------------------------------------------- */

static prism_status identity_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    prism_status s = sh_need_data(ctx, node, in, n_in);
    if (s) return s;
    ocl_tensor *y;
    return ocl_output_view(ctx, 0, in[0], in[0]->rank, in[0]->dims, &y);
}

/* Sequences and optionals also reach Identity: only a tensor of known dtype
 * is taken. */
static bool identity_supports(const ocl_node *node, char *why, size_t why_size) {
    if (ocl_node_input_dtype(node, 0) <= 0) {
        snprintf(why, why_size, "Identity runs on tensors of a known dtype only");
        return false;
    }
    return sh_supports(node, why, why_size);
}

const ocl_kernel_def ocl_op_Identity = {.supports = identity_supports, .run = identity_run};
