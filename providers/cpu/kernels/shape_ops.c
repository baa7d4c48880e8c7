/*
 * shape_ops.c — CPU kernels that change only the shape of a tensor, or make a
 * tensor from attributes / shapes: Shape, Size, Reshape, Flatten, Squeeze,
 * Unsqueeze, ConstantOfShape, Constant, Range, EyeLike.
 *
 * Shapes are computed from the actual inputs on every run (they may change
 * between runs) and every value read from a tensor or an attribute is checked
 * before use: a bad model gets an error, never a crash.
 *
 * STRING tensors: a tensor owns its strings, so a kernel that copies string
 * elements duplicates them (strdup) instead of sharing the pointers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

/* ---- helpers shared by the kernels of this file ------------------------- */

/* dims of a scalar: a valid pointer, so callees may memcpy 0 bytes from it */
static const int64_t sh_no_dims[1] = {0};

/* memcpy split across the thread pool for big tensors (a reshape of a
 * large activation otherwise runs at one core's bandwidth). */
typedef struct sh_copy_job {
    char *dst;
    const char *src;
    int64_t bytes;
} sh_copy_job;

#define SH_COPY_CHUNK ((int64_t)1 << 18)

static void sh_copy_fn(void *arg, int64_t begin, int64_t end)
{
    const sh_copy_job *j = arg;
    int64_t b = begin * SH_COPY_CHUNK, e = end * SH_COPY_CHUNK < j->bytes ? end * SH_COPY_CHUNK : j->bytes;
    memcpy(j->dst + b, j->src + b, (size_t)(e - b));
}

static void sh_memcpy(cpu_ctx *ctx, void *dst, const void *src, int64_t bytes)
{
    const int64_t chunks = (bytes + SH_COPY_CHUNK - 1) / SH_COPY_CHUNK;
    sh_copy_job j = {dst, src, bytes};
    if (chunks > 1 && cpu_threads(ctx) > 1)
        cpu_parallel_for(ctx, chunks, sh_copy_fn, &j);
    else if (bytes > 0)
        memcpy(dst, src, (size_t)bytes);
}

/* Output k = input x's data with a new shape (the count must match). */
static prism_status sh_copy_as(cpu_ctx *ctx, uint32_t k, const cpu_tensor *x, int32_t rank, const int64_t *dims)
{
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, k, x->dtype, rank, dims, &y);
    if (st)
        return st;
    if (y->count != x->count)
        return cpu_fail(ctx, PRISM_ERR_INTERNAL, "reshaped element count mismatch");
    sh_memcpy(ctx, y->data, x->data, x->count * (int64_t)cpu_dtype_size(x->dtype));
    return cpu_own_strings(ctx, y);
}

/* ---- Shape ---------------------------------------------------------------- */

static prism_status shape_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Shape needs an input");
    const cpu_tensor *x = in[0];
    int64_t r = x->rank, start = 0, end = r;
    if (cpu_node_opset(node) >= 15) {
        /* start/end slice the shape; out-of-range values are clamped. */
        start = cpu_attr_int(node, "start", 0);
        end = cpu_attr_int(node, "end", r);
        if (start < 0)
            start += r;
        if (end < 0)
            end += r;
        start = start < 0 ? 0 : start > r ? r : start;
        end = end < 0 ? 0 : end > r ? r : end;
    }
    int64_t n = end > start ? end - start : 0;
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 1, &n, &y);
    if (st)
        return st;
    for (int64_t i = 0; i < n; i++)
        ((int64_t *)y->data)[i] = x->dims[start + i];
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_Shape = {.run = shape_run};

/* ---- Size ----------------------------------------------------------------- */

static prism_status size_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in)
{
    (void)node, (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Size needs an input");
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 0, sh_no_dims, &y);
    if (st)
        return st;
    *(int64_t *)y->data = in[0]->count;
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_Size = {.run = size_run};

/* ---- Reshape -------------------------------------------------------------- */

static prism_status reshape_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape needs data");
    const cpu_tensor *x = in[0];
    int64_t req[CPU_MAX_RANK];
    size_t n = 0;
    prism_status st;
    if (cpu_node_opset(node) < 5) {
        /* Opsets 1-4 carried the target shape as an attribute. */
        const int64_t *a;
        n = cpu_attr_ints(node, "shape", &a);
        if (n > CPU_MAX_RANK)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target rank %zu exceeds %d", n, CPU_MAX_RANK);
        if (n)
            memcpy(req, a, n * sizeof *a);
    } else {
        if (n_in < 2 || !in[1])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape needs a shape input");
        if ((st = cpu_int_list(ctx, in[1], "Reshape shape", "int64", req, CPU_MAX_RANK, &n)))
            return st;
    }
    bool allowzero = cpu_node_opset(node) >= 14 && cpu_attr_int(node, "allowzero", 0) != 0;
    int64_t dims[CPU_MAX_RANK];
    int infer = -1;
    bool has_zero = false;
    int64_t known = 1;
    for (size_t i = 0; i < n; i++) {
        int64_t d = req[i];
        if (d == -1) {
            if (infer >= 0)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape shape has more than one -1");
            infer = (int)i;
            dims[i] = 1;
            continue;
        }
        if (d < -1)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape shape has invalid value %lld at %zu", (long long)d, i);
        if (d == 0 && !allowzero) {
            /* 0 copies the input's dimension at the same index. */
            if ((int64_t)i >= x->rank)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                                "Reshape shape has 0 at index %zu but the input has rank %d", i, (int)x->rank);
            d = x->dims[i];
        }
        if (d == 0)
            has_zero = true;
        dims[i] = d;
        if (d != 0 && known > CPU_MAX_ALLOC_COUNT / d)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target shape is too large");
        known *= d;
    }
    if (infer >= 0) {
        if (allowzero && has_zero)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape with allowzero=1 cannot have both 0 and -1");
        if (known == 0) {
            if (x->count != 0)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape cannot infer -1 for a target with a 0 dim");
            dims[infer] = 0; /* ambiguous: any value fits; 0 as numpy would not, but as ORT does */
            known = 0;
        } else {
            if (x->count % known != 0)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape cannot reshape %lld elements into the shape given",
                                (long long)x->count);
            dims[infer] = x->count / known;
            known = x->count;
        }
    }
    if (known != x->count)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Reshape target shape has %lld elements, input has %lld",
                        (long long)known, (long long)x->count);
    return sh_copy_as(ctx, 0, x, (int32_t)n, dims);
}

const cpu_kernel_def cpu_op_Reshape = {.run = reshape_run};

/* ---- Flatten -------------------------------------------------------------- */

static prism_status flatten_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Flatten needs an input");
    const cpu_tensor *x = in[0];
    int64_t axis = cpu_attr_int(node, "axis", 1);
    if (axis < 0)
        axis += x->rank; /* negative axes since opset 11 */
    if (axis < 0 || axis > x->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Flatten axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", 1), (int)x->rank);
    int64_t d[2] = {1, 1};
    for (int64_t i = 0; i < x->rank; i++)
        d[i >= axis] *= x->dims[i];
    return sh_copy_as(ctx, 0, x, 2, d);
}

const cpu_kernel_def cpu_op_Flatten = {.run = flatten_run};

/* ---- Squeeze / Unsqueeze -------------------------------------------------- */

/* axes from the INTS attribute (opset < 13) or input 1 (opset >= 13). */
static prism_status sh_axes(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *const *in, uint32_t n_in,
                            int64_t *axes, size_t *n, bool *given)
{
    *n = 0;
    *given = false;
    if (cpu_node_opset(node) < 13) {
        const int64_t *a;
        size_t c = cpu_attr_ints(node, "axes", &a);
        if (c > 2 * CPU_MAX_RANK)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "too many axes (%zu)", c);
        if (c)
            memcpy(axes, a, c * sizeof *a);
        *n = c;
        *given = cpu_attr_has(node, "axes");
        return PRISM_OK;
    }
    if (n_in < 2 || !in[1])
        return PRISM_OK;
    *given = true;
    return cpu_int_list(ctx, in[1], "axes", "int64", axes, 2 * CPU_MAX_RANK, n);
}

static prism_status squeeze_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Squeeze needs data");
    const cpu_tensor *x = in[0];
    int64_t axes[2 * CPU_MAX_RANK];
    size_t na;
    bool given;
    prism_status st = sh_axes(ctx, node, in, n_in, axes, &na, &given);
    if (st)
        return st;
    bool drop[CPU_MAX_RANK] = {false};
    if (na == 0) {
        /* No axes: remove every dimension of size 1. */
        for (int32_t i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (size_t i = 0; i < na; i++) {
            int64_t a;
            if (!cpu_norm_axis(axes[i], x->rank, &a))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Squeeze axis %lld out of range for rank %d",
                                (long long)axes[i], (int)x->rank);
            if (x->dims[a] != 1)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Squeeze axis %lld has size %lld, not 1", (long long)axes[i],
                                (long long)x->dims[a]);
            drop[a] = true;
        }
    }
    int64_t dims[CPU_MAX_RANK];
    int32_t r = 0;
    for (int32_t i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[r++] = x->dims[i];
    return sh_copy_as(ctx, 0, x, r, dims);
}

const cpu_kernel_def cpu_op_Squeeze = {.run = squeeze_run};

static prism_status unsqueeze_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                  uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze needs data");
    const cpu_tensor *x = in[0];
    int64_t axes[2 * CPU_MAX_RANK];
    size_t na;
    bool given;
    prism_status st = sh_axes(ctx, node, in, n_in, axes, &na, &given);
    if (st)
        return st;
    if (!given)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze needs axes");
    int64_t r = x->rank + (int64_t)na;
    if (r > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze result rank %lld exceeds %d", (long long)r, CPU_MAX_RANK);
    bool ins[CPU_MAX_RANK] = {false};
    for (size_t i = 0; i < na; i++) {
        int64_t a;
        /* Axes refer to the output's dimensions. */
        if (!cpu_norm_axis(axes[i], (int32_t)r, &a))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze axis %lld out of range for output rank %lld",
                            (long long)axes[i], (long long)r);
        if (ins[a])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unsqueeze axis %lld repeated", (long long)axes[i]);
        ins[a] = true;
    }
    int64_t dims[CPU_MAX_RANK];
    int32_t j = 0;
    for (int64_t i = 0; i < r; i++)
        dims[i] = ins[i] ? 1 : x->dims[j++];
    return sh_copy_as(ctx, 0, x, (int32_t)r, dims);
}

const cpu_kernel_def cpu_op_Unsqueeze = {.run = unsqueeze_run};

/* ---- ConstantOfShape ------------------------------------------------------ */

static prism_status cos_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConstantOfShape needs a shape input");
    int64_t dims[CPU_MAX_RANK];
    size_t n;
    prism_status st = cpu_int_list(ctx, in[0], "ConstantOfShape shape", "int64", dims, CPU_MAX_RANK, &n);
    if (st)
        return st;
    int64_t count;
    if (!cpu_count_checked((int32_t)n, dims, &count))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConstantOfShape shape has a negative or too large dimension");
    cpu_tensor v;
    float zero = 0.0f;
    const void *val = &zero;
    int32_t dt = PRISM_DTYPE_FLOAT;
    if (cpu_attr_tensor(node, "value", &v)) {
        if (v.count != 1)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConstantOfShape value must have one element, has %lld",
                            (long long)v.count);
        dt = v.dtype;
        val = v.data;
    }
    size_t esz = cpu_dtype_size(dt);
    if (!esz || !val)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ConstantOfShape value has an unsupported type %s",
                        cpu_dtype_name(dt));
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, dt, (int32_t)n, dims, &y)))
        return st;
    if (dt == PRISM_DTYPE_STRING) {
        for (int64_t i = 0; i < y->count; i++)
            ((char **)y->data)[i] = *(char *const *)val;
        return cpu_own_strings(ctx, y);
    }
    unsigned char *p = y->data;
    bool all_zero = true;
    for (size_t b = 0; b < esz; b++)
        all_zero &= ((const unsigned char *)val)[b] == 0;
    if (all_zero) {
        if (y->count)
            memset(p, 0, (size_t)y->count * esz);
    } else {
        for (int64_t i = 0; i < y->count; i++)
            memcpy(p + (size_t)i * esz, val, esz);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_ConstantOfShape = {.run = cos_run};

/* ---- Constant --------------------------------------------------------------- */

static bool constant_supports(const cpu_node *node)
{
    /* STRINGS attributes and sparse tensors are not reachable through the
     * kernel interface. */
    return !cpu_attr_has(node, "value_strings") && !cpu_attr_has(node, "sparse_value");
}

static prism_status constant_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in)
{
    (void)state, (void)in, (void)n_in;
    cpu_tensor t, *y;
    prism_status st;
    if (cpu_attr_tensor(node, "value", &t)) {
        if ((st = cpu_output(ctx, 0, t.dtype, t.rank, t.dims, &y)))
            return st;
        size_t esz = cpu_dtype_size(t.dtype);
        if (!esz)
            return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Constant of type %s is not supported",
                            cpu_dtype_name(t.dtype));
        if (y->count > 0) {
            if (!t.data)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Constant value has no data");
            memcpy(y->data, t.data, (size_t)y->count * esz);
        }
        return cpu_own_strings(ctx, y);
    }
    if (cpu_attr_has(node, "value_float")) {
        if ((st = cpu_output(ctx, 0, PRISM_DTYPE_FLOAT, 0, sh_no_dims, &y)))
            return st;
        *(float *)y->data = cpu_attr_float(node, "value_float", 0.0f);
        return PRISM_OK;
    }
    if (cpu_attr_has(node, "value_int")) {
        if ((st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 0, sh_no_dims, &y)))
            return st;
        *(int64_t *)y->data = cpu_attr_int(node, "value_int", 0);
        return PRISM_OK;
    }
    if (cpu_attr_has(node, "value_floats")) {
        const float *f;
        int64_t n = (int64_t)cpu_attr_floats(node, "value_floats", &f);
        if ((st = cpu_output(ctx, 0, PRISM_DTYPE_FLOAT, 1, &n, &y)))
            return st;
        if (n)
            memcpy(y->data, f, (size_t)n * sizeof *f);
        return PRISM_OK;
    }
    if (cpu_attr_has(node, "value_ints")) {
        const int64_t *v;
        int64_t n = (int64_t)cpu_attr_ints(node, "value_ints", &v);
        if ((st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 1, &n, &y)))
            return st;
        if (n)
            memcpy(y->data, v, (size_t)n * sizeof *v);
        return PRISM_OK;
    }
    if (cpu_attr_has(node, "value_string")) {
        if ((st = cpu_output(ctx, 0, PRISM_DTYPE_STRING, 0, sh_no_dims, &y)))
            return st;
        ((char **)y->data)[0] = (char *)cpu_attr_string(node, "value_string", "");
        return cpu_own_strings(ctx, y);
    }
    return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED,
                    "Constant: only value, value_float(s), value_int(s) and value_string are supported");
}

const cpu_kernel_def cpu_op_Constant = {.run = constant_run, .supports = constant_supports};

/* ---- Range ------------------------------------------------------------------ */

static prism_status range_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in)
{
    (void)node, (void)state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range needs start, limit and delta");
    int32_t dt = in[0]->dtype;
    for (int k = 0; k < 3; k++) {
        if (in[k]->count != 1)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range input %d must be a scalar", k);
        if (in[k]->dtype != dt)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range inputs must have one type");
    }
    int64_t n;
    cpu_tensor *y;
    prism_status st;
    if (cpu_dtype_is_float(dt)) {
        double s = cpu_tensor_load_f64(in[0], 0), l = cpu_tensor_load_f64(in[1], 0), d = cpu_tensor_load_f64(in[2], 0);
        if (d == 0 || !isfinite(s) || !isfinite(l) || !isfinite(d))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range needs finite inputs and a non-zero delta");
        double c = ceil((l - s) / d);
        if (!(c < (double)CPU_MAX_ALLOC_COUNT / 16))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range would produce too many elements");
        n = c > 0 ? (int64_t)c : 0;
        if ((st = cpu_output(ctx, 0, dt, 1, &n, &y)))
            return st;
        for (int64_t i = 0; i < n; i++)
            if (!cpu_store_f64_sat((char *)y->data + (size_t)i * cpu_dtype_size(dt), dt, s + (double)i * d))
                return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Range of type %s is not supported", cpu_dtype_name(dt));
        return PRISM_OK;
    }
    switch (dt) {
    case PRISM_DTYPE_INT8: case PRISM_DTYPE_INT16: case PRISM_DTYPE_INT32: case PRISM_DTYPE_INT64:
    case PRISM_DTYPE_UINT8: case PRISM_DTYPE_UINT16: case PRISM_DTYPE_UINT32:
        break;
    default:
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Range of type %s is not supported", cpu_dtype_name(dt));
    }
    int64_t s = cpu_tensor_int(in[0], 0), l = cpu_tensor_int(in[1], 0), d = cpu_tensor_int(in[2], 0);
    if (d == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range delta must not be 0");
    /* Exact count without overflow: the distance fits in uint64. */
    uint64_t dist, step;
    if (d > 0) {
        dist = l > s ? (uint64_t)l - (uint64_t)s : 0;
        step = (uint64_t)d;
    } else {
        dist = s > l ? (uint64_t)s - (uint64_t)l : 0;
        step = (uint64_t)0 - (uint64_t)d;
    }
    uint64_t cnt = dist / step + (dist % step != 0);
    if (cnt > (uint64_t)CPU_MAX_ALLOC_COUNT / 16)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Range would produce too many elements");
    n = (int64_t)cnt;
    if ((st = cpu_output(ctx, 0, dt, 1, &n, &y)))
        return st;
    size_t esz = cpu_dtype_size(dt);
    for (int64_t i = 0; i < n; i++) {
        /* start + i*delta stays between start and limit; uint64 avoids
         * intermediate signed overflow. */
        int64_t v = (int64_t)((uint64_t)s + (uint64_t)i * (uint64_t)d);
        cpu_store_f64_sat((char *)y->data + (size_t)i * esz, dt, (double)v);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_Range = {.run = range_run};

/* ---- EyeLike ---------------------------------------------------------------- */

static prism_status eyelike_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "EyeLike needs an input");
    const cpu_tensor *x = in[0];
    if (x->rank != 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "EyeLike needs a 2-D input, got rank %d", (int)x->rank);
    int32_t dt = (int32_t)cpu_attr_int(node, "dtype", x->dtype);
    size_t esz = cpu_dtype_size(dt);
    unsigned char one[16];
    if (!esz || dt == PRISM_DTYPE_STRING || esz > sizeof one || !cpu_store_f64_sat(one, dt, 1.0))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "EyeLike of type %s is not supported", cpu_dtype_name(dt));
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, dt, 2, x->dims, &y);
    if (st)
        return st;
    int64_t rows = x->dims[0], cols = x->dims[1], k = cpu_attr_int(node, "k", 0);
    unsigned char *p = y->data;
    if (y->count)
        memset(p, 0, (size_t)y->count * esz);
    for (int64_t i = 0; i < rows; i++) {
        /* Column i + k in [0, cols), tested without overflow for huge |k|. */
        if (k >= -i && k < cols - i)
            memcpy(p + ((size_t)i * (size_t)cols + (size_t)(i + k)) * esz, one, esz);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_EyeLike = {.run = eyelike_run};
