/*
 * binary.c — elementwise ops with numpy broadcasting on the OpenCL device:
 * Add, Sub, Mul, Div, Pow, Max, Min, PRelu (float32, and float16 where the
 * device has it), the comparisons Equal, Less, Greater, LessOrEqual,
 * GreaterOrEqual (bool output) and Where (any dtype).
 *
 * One broadcast planner serves them all: it computes the output shape,
 * gives every input element strides over it (0 on a broadcast dim), drops
 * unit dims and merges neighbours that every input walks contiguously (or
 * not at all). Equal shapes and scalar operands thus become one flat dim
 * with strides 1 or 0 and take the flat kernels; anything else takes the
 * general kernels with up to OCL_MAX_RANK dims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_kernel.h"

_Static_assert(OCL_MAX_RANK == 8, "kernels/eltwise.cl and where.cl take exactly 8 dims");

/* Op codes: must match kernels/eltwise.cl. */
enum { BIN_ADD, BIN_SUB, BIN_MUL, BIN_DIV, BIN_POW, BIN_MAX, BIN_MIN, BIN_PRELU };
enum { CMP_EQUAL, CMP_LESS, CMP_GREATER, CMP_LESS_EQUAL, CMP_GREATER_EQUAL };

#define BC_MAX_IN 3

/* ==== broadcast planner ==================================================== */

typedef struct bc_plan {
    int32_t out_rank;
    int64_t out_dims[OCL_MAX_RANK];
    int64_t count;
    int32_t rank; /* collapsed dims, innermost first, >= 1 */
    int64_t dims[OCL_MAX_RANK];
    int64_t str[BC_MAX_IN][OCL_MAX_RANK];
} bc_plan;

/* false when the shapes do not broadcast together. */
static bool bc_make(bc_plan *p, uint32_t n, const ocl_tensor *const *t) {
    memset(p, 0, sizeof *p);
    p->out_rank = t[0]->rank;
    memcpy(p->out_dims, t[0]->dims, sizeof(int64_t) * (size_t)t[0]->rank);
    for (uint32_t k = 1; k < n; k++) {
        int32_t r;
        int64_t d[OCL_MAX_RANK];
        if (!ocl_broadcast_shape(p->out_rank, p->out_dims, t[k]->rank, t[k]->dims, &r, d)) return false;
        p->out_rank = r;
        memcpy(p->out_dims, d, sizeof d);
    }
    const int32_t r = p->out_rank;
    p->count = ocl_shape_count(r, p->out_dims);
    /* strides of each input over the output's dims (outermost first) */
    int64_t s[BC_MAX_IN][OCL_MAX_RANK];
    for (uint32_t k = 0; k < n; k++) {
        int64_t acc = 1;
        for (int32_t i = r - 1; i >= 0; i--) {
            const int32_t j = i - (r - t[k]->rank);
            const int64_t d = j >= 0 ? t[k]->dims[j] : 1;
            s[k][i] = d == 1 ? 0 : acc;
            acc *= d;
        }
    }
    /* collapse, innermost first */
    int32_t m = 0;
    for (int32_t i = r - 1; i >= 0; i--) {
        if (p->out_dims[i] == 1) continue;
        bool merge = m > 0;
        for (uint32_t k = 0; merge && k < n; k++) merge = s[k][i] == p->str[k][m - 1] * p->dims[m - 1];
        if (merge) {
            p->dims[m - 1] *= p->out_dims[i];
            continue;
        }
        p->dims[m] = p->out_dims[i];
        for (uint32_t k = 0; k < n; k++) p->str[k][m] = s[k][i];
        m++;
    }
    for (int32_t i = m; i < OCL_MAX_RANK; i++) p->dims[i] = 1; /* unused dims: size 1, stride 0 */
    if (m == 0) m = 1;
    p->rank = m;
    return true;
}

/* Appends rank, the 8 dims and 8 strides per input to args; returns the
 * count appended. */
static uint32_t bc_args(const bc_plan *p, uint32_t n, ocl_arg *args) {
    uint32_t c = 0;
    args[c++] = ocl_arg_i32(p->rank);
    for (int i = 0; i < OCL_MAX_RANK; i++) args[c++] = ocl_arg_i64(p->dims[i]);
    for (uint32_t k = 0; k < n; k++)
        for (int i = 0; i < OCL_MAX_RANK; i++) args[c++] = ocl_arg_i64(p->str[k][i]);
    return c;
}

static prism_status bc_fail(ocl_ctx *ctx, const ocl_node *node) {
    return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s inputs have shapes that do not broadcast together",
                    ocl_node_op(node));
}

/* ==== arithmetic and comparisons ========================================== */

static const struct {
    const char *name;
    int op;
    bool compare;
} bin_ops[] = {
    {"Add", BIN_ADD, false},          {"Sub", BIN_SUB, false},
    {"Mul", BIN_MUL, false},          {"Div", BIN_DIV, false},
    {"Pow", BIN_POW, false},          {"Max", BIN_MAX, false},
    {"Min", BIN_MIN, false},          {"PRelu", BIN_PRELU, false},
    {"Equal", CMP_EQUAL, true},       {"Less", CMP_LESS, true},
    {"Greater", CMP_GREATER, true},   {"LessOrEqual", CMP_LESS_EQUAL, true},
    {"GreaterOrEqual", CMP_GREATER_EQUAL, true},
};

static int bin_find(const char *op) {
    for (size_t i = 0; i < sizeof bin_ops / sizeof bin_ops[0]; i++)
        if (!strcmp(bin_ops[i].name, op)) return (int)i;
    return -1;
}

static bool bin_float(const ocl_node *node, int32_t dt) {
    return dt <= 0 || dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node));
}

static bool bin_supports(const ocl_node *node, char *why, size_t why_size) {
    const char *op = ocl_node_op(node);
    if (bin_find(op) < 0) {
        snprintf(why, why_size, "%s is not a binary op", op);
        return false;
    }
    if (ocl_node_input_count(node) != 2 || !ocl_node_has_input(node, 0) || !ocl_node_has_input(node, 1)) {
        snprintf(why, why_size, "%s runs with exactly two inputs", op);
        return false;
    }
    const int32_t a = ocl_node_input_dtype(node, 0), b = ocl_node_input_dtype(node, 1);
    if (!bin_float(node, a) || !bin_float(node, b)) {
        snprintf(why, why_size, "%s runs on float32%s only", op, ocl_node_device_fp16(node) ? " and float16" : "");
        return false;
    }
    if (a > 0 && b > 0 && a != b) {
        snprintf(why, why_size, "%s inputs of two dtypes are not supported", op);
        return false;
    }
    return true;
}

static prism_status bin_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    const char *type = ocl_compute_type(ocl_node_input_dtype(node, 0));
    return type ? ocl_program_require(ctx, "eltwise", type) : PRISM_OK;
}

static prism_status bin_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                            uint32_t n_in) {
    (void)state;
    const int idx = bin_find(ocl_node_op(node));
    if (idx < 0) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "not a binary op");
    if (n_in != 2 || !in[0] || !in[1])
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "%s needs two inputs", ocl_node_op(node));
    const ocl_tensor *a = in[0], *b = in[1];
    const char *type = ocl_compute_type(a->dtype);
    if (!type || b->dtype != a->dtype)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not run on these dtypes", ocl_node_op(node));
    bc_plan p;
    if (!bc_make(&p, 2, in)) return bc_fail(ctx, node);
    if (bin_ops[idx].op == BIN_PRELU && !bin_ops[idx].compare) {
        /* the slope broadcasts to X, never the other way */
        bool same = p.out_rank == a->rank;
        for (int32_t i = 0; same && i < a->rank; i++) same = p.out_dims[i] == a->dims[i];
        if (!same) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "PRelu slope does not broadcast to the input's shape");
    }
    const bool cmp = bin_ops[idx].compare;
    ocl_tensor *y;
    prism_status s = ocl_output(ctx, 0, cmp ? PRISM_DTYPE_BOOL : a->dtype, p.out_rank, p.out_dims, &y);
    if (s || p.count == 0) return s;
    ocl_arg args[5 + 1 + OCL_MAX_RANK * 3];
    uint32_t c = 0;
    args[c++] = ocl_arg_mem(a->mem);
    args[c++] = ocl_arg_mem(b->mem);
    args[c++] = ocl_arg_mem(y->mem);
    args[c++] = ocl_arg_i64(p.count);
    args[c++] = ocl_arg_i32(bin_ops[idx].op);
    const char *kernel;
    size_t global = (size_t)p.count;
    if (!cmp && ocl_cpu_kernels(ctx)) { /* a chunk of outputs per work-item */
        c += bc_args(&p, 2, args + c);
        kernel = "binary_chunk";
        global = (size_t)((p.count + OCL_ELT_CHUNK - 1) / OCL_ELT_CHUNK);
    } else if (p.rank == 1) {
        args[c++] = ocl_arg_i64(p.str[0][0]);
        args[c++] = ocl_arg_i64(p.str[1][0]);
        kernel = cmp ? "compare_flat" : "binary_flat";
    } else {
        c += bc_args(&p, 2, args + c);
        kernel = cmp ? "compare_nd" : "binary_nd";
    }
    return ocl_launch(ctx, "eltwise", type, kernel, 1, &global, NULL, c, args);
}

#define BIN_DEF(SYM) \
    const ocl_kernel_def ocl_op_##SYM = {.supports = bin_supports, .prepare = bin_prepare, .run = bin_run};
BIN_DEF(Add)
BIN_DEF(Sub)
BIN_DEF(Mul)
BIN_DEF(Div)
BIN_DEF(Pow)
BIN_DEF(Max)
BIN_DEF(Min)
BIN_DEF(PRelu)
BIN_DEF(Equal)
BIN_DEF(Less)
BIN_DEF(Greater)
BIN_DEF(LessOrEqual)
BIN_DEF(GreaterOrEqual)

/* ==== Where ================================================================ */

static bool where_supports(const ocl_node *node, char *why, size_t why_size) {
    const int32_t c = ocl_node_input_dtype(node, 0), x = ocl_node_input_dtype(node, 1),
                  y = ocl_node_input_dtype(node, 2);
    if (c > 0 && c != PRISM_DTYPE_BOOL) {
        snprintf(why, why_size, "Where condition must be bool");
        return false;
    }
    if (x > 0 && y > 0 && x != y) {
        snprintf(why, why_size, "Where X and Y have two dtypes");
        return false;
    }
    if ((x > 0 && (x == PRISM_DTYPE_STRING || !ocl_move_type(x))) ||
        (y > 0 && (y == PRISM_DTYPE_STRING || !ocl_move_type(y)))) {
        snprintf(why, why_size, "Where does not move elements of this dtype on the device");
        return false;
    }
    return true;
}

static prism_status where_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                              uint32_t n_in) {
    (void)state;
    if (n_in != 3 || !in[0] || !in[1] || !in[2]) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Where needs three inputs");
    const ocl_tensor *c = in[0], *x = in[1], *yv = in[2];
    const char *type = x->dtype == PRISM_DTYPE_STRING ? NULL : ocl_move_type(x->dtype);
    if (c->dtype != PRISM_DTYPE_BOOL || yv->dtype != x->dtype || !type)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Where needs a bool condition and X, Y of one dtype");
    bc_plan p;
    if (!bc_make(&p, 3, in)) return bc_fail(ctx, node);
    ocl_tensor *out;
    prism_status s = ocl_output(ctx, 0, x->dtype, p.out_rank, p.out_dims, &out);
    if (s || p.count == 0) return s;
    ocl_arg args[5 + 1 + OCL_MAX_RANK * 4];
    uint32_t k = 0;
    args[k++] = ocl_arg_mem(c->mem);
    args[k++] = ocl_arg_mem(x->mem);
    args[k++] = ocl_arg_mem(yv->mem);
    args[k++] = ocl_arg_mem(out->mem);
    args[k++] = ocl_arg_i64(p.count);
    k += bc_args(&p, 3, args + k);
    const size_t global = (size_t)p.count;
    return ocl_launch(ctx, "where", type, "where_nd", 1, &global, NULL, k, args);
}

const ocl_kernel_def ocl_op_Where = {.supports = where_supports, .run = where_run};
