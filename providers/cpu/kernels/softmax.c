/*
 * softmax.c — Softmax, LogSoftmax and Hardmax for the CPU provider.
 *
 * Opsets before 13 coerce the input to 2-D at `axis` (default 1) and work on
 * each row of prod(dims[axis:]) elements; from 13 the op runs along the one
 * dim `axis` (default -1). Both are "lines" of n elements, inner apart: the
 * old form is the new one with n = prod(dims[axis:]) and inner = 1.
 * Softmax subtracts the line's max before exp for stability; sums are in
 * double. Hardmax marks the first maximum.
 */
#include <math.h>
#include <stdlib.h>

#include "cpu_kernel.h"

enum { SM_SOFTMAX, SM_LOGSOFTMAX, SM_HARDMAX };

typedef struct sm_state {
    int kind;
    int64_t axis;
    bool coerce_2d; /* opset < 13 */
} sm_state;

static bool sm_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || cpu_dtype_is_half(dt);
}

static prism_status sm_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, int kind) {
    sm_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->kind = kind;
    st->coerce_2d = cpu_node_opset(node) < 13;
    st->axis = cpu_attr_int(node, "axis", st->coerce_2d ? 1 : -1);
    *state = st;
    return PRISM_OK;
}

static prism_status softmax_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return sm_prepare(ctx, node, state, SM_SOFTMAX);
}
static prism_status logsoftmax_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return sm_prepare(ctx, node, state, SM_LOGSOFTMAX);
}
static prism_status hardmax_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return sm_prepare(ctx, node, state, SM_HARDMAX);
}

static void sm_release(void *state) { free(state); }

typedef struct sm_arg {
    int kind;
    const void *x;
    void *y;
    int64_t n, inner; /* line length and stride */
} sm_arg;

#define SM_EXP_float expf
#define SM_EXP_double exp

/* Lines [l0, l1): line l starts at (l / inner) * n * inner + l % inner. */
#define SM_DEFINE(T)                                                                      \
    static void sm_lines_##T(void *argp, int64_t l0, int64_t l1) {                        \
        const sm_arg *a = argp;                                                           \
        const int64_t n = a->n, st = a->inner;                                            \
        for (int64_t l = l0; l < l1; l++) {                                               \
            const int64_t base = (l / st) * n * st + l % st;                              \
            const T *x = (const T *)a->x + base;                                          \
            T *y = (T *)a->y + base;                                                      \
            T mx = x[0];                                                                  \
            int64_t arg = 0;                                                              \
            for (int64_t i = 1; i < n; i++)                                               \
                if (x[i * st] > mx) {                                                     \
                    mx = x[i * st];                                                       \
                    arg = i;                                                              \
                }                                                                         \
            if (a->kind == SM_HARDMAX) {                                                  \
                for (int64_t i = 0; i < n; i++) y[i * st] = i == arg ? (T)1 : (T)0;       \
                continue;                                                                 \
            }                                                                             \
            double sum = 0;                                                               \
            if (a->kind == SM_SOFTMAX) {                                                  \
                for (int64_t i = 0; i < n; i++) {                                         \
                    T e = SM_EXP_##T(x[i * st] - mx);                                     \
                    y[i * st] = e;                                                        \
                    sum += e;                                                             \
                }                                                                         \
                const T inv = (T)(1.0 / sum);                                             \
                for (int64_t i = 0; i < n; i++) y[i * st] *= inv;                         \
            } else {                                                                      \
                for (int64_t i = 0; i < n; i++) sum += SM_EXP_##T(x[i * st] - mx);        \
                const T lse = (T)log(sum);                                                \
                for (int64_t i = 0; i < n; i++) y[i * st] = x[i * st] - mx - lse;         \
            }                                                                             \
        }                                                                                 \
    }

SM_DEFINE(float)
SM_DEFINE(double)

static prism_status sm_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    const sm_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "missing input");
    const cpu_tensor *x = in[0];
    int32_t dt = x->dtype;
    if (dt != PRISM_DTYPE_FLOAT && dt != PRISM_DTYPE_DOUBLE && !cpu_dtype_is_half(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s", cpu_node_op(node),
                        cpu_dtype_name(dt));
    int64_t axis;
    if (!cpu_norm_axis(st->axis, x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis,
                        x->rank);
    int32_t ax = (int32_t)axis;
    int64_t outer = cpu_shape_count(ax, x->dims), n, inner;
    if (st->coerce_2d) {
        n = cpu_shape_count(x->rank - ax, x->dims + ax);
        inner = 1;
    } else {
        n = x->dims[ax];
        inner = cpu_shape_count(x->rank - ax - 1, x->dims + ax + 1);
    }
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, dt, x->rank, x->dims, &y);
    if (rc || x->count == 0) return rc;
    sm_arg arg = {st->kind, x->data, y->data, n, inner};
    float *xf = NULL, *yf = NULL;
    if (cpu_dtype_is_half(dt)) {
        xf = malloc((size_t)x->count * sizeof *xf);
        yf = malloc((size_t)x->count * sizeof *yf);
        if (!xf || !yf) {
            free(xf);
            free(yf);
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        const uint16_t *h = x->data;
        for (int64_t i = 0; i < x->count; i++)
            xf[i] = dt == PRISM_DTYPE_FLOAT16 ? cpu_half_to_float(h[i]) : cpu_bf16_to_float(h[i]);
        arg.x = xf;
        arg.y = yf;
    }
    cpu_parallel_for(ctx, outer * inner, dt == PRISM_DTYPE_DOUBLE ? sm_lines_double : sm_lines_float, &arg);
    if (yf) {
        uint16_t *h = y->data;
        for (int64_t i = 0; i < y->count; i++)
            h[i] = dt == PRISM_DTYPE_FLOAT16 ? cpu_float_to_half(yf[i]) : cpu_float_to_bf16(yf[i]);
    }
    free(xf);
    free(yf);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_Softmax = {
    .prepare = softmax_prepare,
    .run = sm_run,
    .release = sm_release,
    .supports = sm_supports,
};

const cpu_kernel_def cpu_op_LogSoftmax = {
    .prepare = logsoftmax_prepare,
    .run = sm_run,
    .release = sm_release,
    .supports = sm_supports,
};

const cpu_kernel_def cpu_op_Hardmax = {
    .prepare = hardmax_prepare,
    .run = sm_run,
    .release = sm_release,
    .supports = sm_supports,
};
