/*
 * example_ops.c — which nodes the example provider runs, their attributes,
 * and what they cost.
 *
 * One table lists the ops with the first opset whose semantics the kernels
 * implement, their input counts and the attributes they understand. A node
 * is claimed only when everything about it is understood: an attribute the
 * kernels would ignore is a reason to decline, because ignoring it would
 * give wrong results rather than an error.
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "example_internal.h"

typedef struct op_def {
    const char *name;
    int64_t since;
    uint32_t min_in, max_in;
    const char *attrs; /* comma-separated names it understands ("" = none) */
} op_def;

static const op_def ops[EX_OP_COUNT] = {
    [EX_ADD] = {"Add", 7, 2, 2, ""},
    [EX_SUB] = {"Sub", 7, 2, 2, ""},
    [EX_MUL] = {"Mul", 7, 2, 2, ""},
    [EX_DIV] = {"Div", 7, 2, 2, ""},
    [EX_RELU] = {"Relu", 6, 1, 1, ""},
    [EX_SIGMOID] = {"Sigmoid", 6, 1, 1, ""},
    [EX_TANH] = {"Tanh", 6, 1, 1, ""},
    [EX_LEAKY_RELU] = {"LeakyRelu", 6, 1, 1, "alpha"},
    [EX_CLIP] = {"Clip", 6, 1, 3, "min,max"}, /* attributes before opset 11, inputs from 11 */
    [EX_CONV] = {"Conv", 1, 2, 3, "auto_pad,dilations,group,kernel_shape,pads,strides"},
    [EX_GEMM] = {"Gemm", 7, 2, 3, "alpha,beta,transA,transB"},
    [EX_MATMUL] = {"MatMul", 1, 2, 2, ""},
};

const char *ex_op_name(ex_op op) { return (unsigned)op < EX_OP_COUNT ? ops[op].name : NULL; }

ex_op ex_op_find(const char *name) {
    for (int i = 0; i < EX_OP_COUNT; i++)
        if (name && !strcmp(ops[i].name, name)) return (ex_op)i;
    return EX_OP_COUNT;
}

/* Whether name is one of the comma-separated entries of list. */
static bool in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return true;
        if (!e) break;
        p = e + 1;
    }
    return false;
}

#define WHY(...) (snprintf(why, why_size, __VA_ARGS__), false)

/* A fixed-length INTS attribute with every value >= lo. */
static bool read_ints(const prism_host_api *host, const prism_graph_view *g, uint32_t node, uint32_t a, size_t want,
                      int64_t lo, int64_t *out, char *why, size_t why_size) {
    const char *name = host->attr_name(g, node, a);
    if (host->attr_type(g, node, a) != PRISM_ATTR_INTS) return WHY("attribute %s is not a list of ints", name);
    size_t n = 0;
    const int64_t *v = host->attr_ints(g, node, a, &n);
    if (n != want || (n && !v)) return WHY("attribute %s has %zu values; a 2-D Conv needs %zu", name, n, want);
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > (INT64_C(1) << 31)) return WHY("attribute %s has value %lld", name, (long long)v[i]);
        out[i] = v[i];
    }
    return true;
}

static bool read_attr(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op op, uint32_t a,
                      ex_params *p, char *why, size_t why_size) {
    const char *name = host->attr_name(g, node, a);
    int32_t type = host->attr_type(g, node, a);
    bool is_float = type == PRISM_ATTR_FLOAT, is_int = type == PRISM_ATTR_INT;
    if (op == EX_LEAKY_RELU || op == EX_CLIP || op == EX_GEMM) {
        if (!strcmp(name, "transA") || !strcmp(name, "transB")) {
            if (!is_int) return WHY("attribute %s is not an int", name);
            *(name[5] == 'A' ? &p->trans_a : &p->trans_b) = host->attr_int(g, node, a) != 0;
            return true;
        }
        if (!is_float) return WHY("attribute %s is not a float", name);
        float v = host->attr_float(g, node, a);
        if (!strcmp(name, "alpha")) p->alpha = v;
        else if (!strcmp(name, "beta")) p->beta = v;
        else if (!strcmp(name, "min")) p->clip_min = v;
        else p->clip_max = v;
        return true;
    }
    /* Conv */
    if (!strcmp(name, "auto_pad")) {
        size_t len = 0;
        const char *s = type == PRISM_ATTR_STRING ? host->attr_string(g, node, a, &len) : NULL;
        static const char *const names[] = {"NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"};
        for (int i = 0; s && i < 4; i++)
            if (len == strlen(names[i]) && !memcmp(s, names[i], len)) {
                p->auto_pad = (ex_auto_pad)i;
                return true;
            }
        return WHY("attribute auto_pad is not NOTSET, VALID, SAME_UPPER or SAME_LOWER");
    }
    if (!strcmp(name, "group")) {
        int64_t v = is_int ? host->attr_int(g, node, a) : 0;
        if (v < 1 || v > (INT64_C(1) << 31)) return WHY("attribute group is not a positive int");
        p->group = v;
        return true;
    }
    if (!strcmp(name, "pads")) return read_ints(host, g, node, a, 4, 0, p->pads, why, why_size);
    if (!strcmp(name, "strides")) return read_ints(host, g, node, a, 2, 1, p->strides, why, why_size);
    if (!strcmp(name, "dilations")) return read_ints(host, g, node, a, 2, 1, p->dilations, why, why_size);
    return read_ints(host, g, node, a, 2, 1, p->kernel, why, why_size); /* kernel_shape */
}

/* The rank the view reports for input k of node (-1 unknown or omitted). */
static int32_t in_rank(const prism_host_api *host, const prism_graph_view *g, uint32_t node, uint32_t k) {
    if (k >= host->node_input_count(g, node)) return -1;
    uint32_t v = host->node_input(g, node, k);
    return v == PRISM_NO_VALUE ? -1 : host->value_rank(g, v);
}

static bool check_ranks(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op op,
                        const ex_params *p, char *why, size_t why_size) {
    int32_t r0 = in_rank(host, g, node, 0), r1 = in_rank(host, g, node, 1), r2 = in_rank(host, g, node, 2);
    uint32_t out = host->node_output(g, node, 0);
    int32_t ro = out == PRISM_NO_VALUE ? -1 : host->value_rank(g, out);
    if (r0 > EX_MAX_RANK || r1 > EX_MAX_RANK || ro > EX_MAX_RANK)
        return WHY("a tensor has rank above %d", EX_MAX_RANK);
    switch (op) {
    case EX_CONV:
        if ((r0 >= 0 && r0 != 4) || (r1 >= 0 && r1 != 4)) return WHY("only 2-D Conv (4-D tensors) is implemented");
        if (r1 < 0 && !p->kernel[0]) return WHY("neither W's rank nor kernel_shape says the Conv is 2-D");
        if (r2 > 1) return WHY("Conv bias has rank %d", r2);
        return true;
    case EX_GEMM:
        if ((r0 >= 0 && r0 != 2) || (r1 >= 0 && r1 != 2) || r2 > 2)
            return WHY("Gemm operands have ranks %d, %d, %d", r0, r1, r2);
        return true;
    case EX_MATMUL:
        if (r0 == 0 || r1 == 0) return WHY("MatMul of a scalar");
        return true;
    case EX_CLIP:
        if (r1 > 1 || r2 > 1) return WHY("Clip bounds are not scalars");
        return true;
    default: return true;
    }
}

bool ex_node_parse(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op *out_op,
                   ex_params *out_params, char *why, size_t why_size) {
    const char *domain = host->node_domain(g, node), *type = host->node_op_type(g, node);
    if (domain && *domain && strcmp(domain, "ai.onnx")) return WHY("domain %s is not ai.onnx", domain);
    ex_op op = ex_op_find(type);
    if (op == EX_OP_COUNT) return WHY("op %s is not implemented", type ? type : "?");
    const op_def *d = &ops[op];
    int64_t opset = host->node_opset(g, node);
    if (opset < d->since) return WHY("%s before opset %lld is not implemented", d->name, (long long)d->since);
    uint32_t n_in = host->node_input_count(g, node);
    uint32_t min_in = d->min_in, max_in = d->max_in;
    if (op == EX_CLIP && opset < 11) max_in = 1;
    if (op == EX_GEMM && opset < 11) min_in = 3;
    while (n_in > min_in && host->node_input(g, node, n_in - 1) == PRISM_NO_VALUE) n_in--;
    if (n_in < min_in || n_in > max_in) return WHY("%s with %u inputs", d->name, n_in);
    for (uint32_t k = 0; k < n_in; k++) {
        uint32_t v = host->node_input(g, node, k);
        if (v == PRISM_NO_VALUE) {
            if (k < min_in) return WHY("required input %u is missing", k);
            continue;
        }
        if (host->value_dtype(g, v) != PRISM_DTYPE_FLOAT) return WHY("input %u is not float32", k);
    }
    if (host->node_output_count(g, node) != 1 || host->node_output(g, node, 0) == PRISM_NO_VALUE)
        return WHY("%s must have exactly one output", d->name);
    int32_t odt = host->value_dtype(g, host->node_output(g, node, 0));
    if (odt != PRISM_DTYPE_FLOAT && odt != PRISM_DTYPE_UNDEFINED) return WHY("the output is not float32");
    if (host->node_implicit_input_count(g, node)) return WHY("the node has subgraphs");

    ex_params p;
    memset(&p, 0, sizeof p);
    p.alpha = op == EX_LEAKY_RELU ? 0.01f : 1.0f;
    p.beta = 1.0f;
    p.clip_min = opset < 11 ? -FLT_MAX : -INFINITY;
    p.clip_max = opset < 11 ? FLT_MAX : INFINITY;
    p.group = 1;
    p.strides[0] = p.strides[1] = p.dilations[0] = p.dilations[1] = 1;
    const char *allowed = op == EX_CLIP && opset >= 11 ? "" : d->attrs;
    for (uint32_t a = 0; a < host->node_attr_count(g, node); a++) {
        const char *name = host->attr_name(g, node, a);
        if (!name || !in_list(allowed, name)) return WHY("attribute %s is not implemented", name ? name : "?");
        if (!read_attr(host, g, node, op, a, &p, why, why_size)) return false;
    }
    if (!check_ranks(host, g, node, op, &p, why, why_size)) return false;
    *out_op = op;
    *out_params = p;
    return true;
}

/* ---- cost ------------------------------------------------------------------- */

/* Guesses for what the view does not know: a dim of 64, a tensor of 2^20
 * elements. Deliberately on the large side, so that an unknown shape does
 * not look free. */
#define GUESS_DIM 64.0
#define GUESS_ELEMS 1048576.0

static double dim_or_guess(const prism_host_api *host, const prism_graph_view *g, uint32_t v, int32_t axis) {
    if (v == PRISM_NO_VALUE) return GUESS_DIM;
    int32_t r = host->value_rank(g, v);
    if (axis < 0) axis += r;
    if (r < 0 || axis < 0 || axis >= r) return GUESS_DIM;
    int64_t d = host->value_dim(g, v, (uint32_t)axis);
    return d >= 0 ? (double)d : GUESS_DIM;
}

static double elems(const prism_host_api *host, const prism_graph_view *g, uint32_t v) {
    if (v == PRISM_NO_VALUE) return 0.0;
    int32_t r = host->value_rank(g, v);
    if (r < 0) return GUESS_ELEMS;
    double n = 1.0;
    for (int32_t i = 0; i < r; i++) n *= dim_or_guess(host, g, v, i);
    return n;
}

double ex_node_cost(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op op,
                    const ex_params *p, double gflops) {
    uint32_t n_in = host->node_input_count(g, node), out = host->node_output(g, node, 0);
    uint32_t in0 = n_in > 0 ? host->node_input(g, node, 0) : PRISM_NO_VALUE;
    uint32_t in1 = n_in > 1 ? host->node_input(g, node, 1) : PRISM_NO_VALUE;
    double out_elems = elems(host, g, out), bytes = out_elems;
    for (uint32_t k = 0; k < n_in; k++) bytes += elems(host, g, host->node_input(g, node, k));
    bytes *= sizeof(float);
    double flops;
    switch (op) {
    case EX_CONV: { /* 2 * output elements * (C/group) * kh * kw */
        double kh = host->value_rank(g, in1) == 4 ? dim_or_guess(host, g, in1, 2) : (double)p->kernel[0];
        double kw = host->value_rank(g, in1) == 4 ? dim_or_guess(host, g, in1, 3) : (double)p->kernel[1];
        flops = 2.0 * out_elems * dim_or_guess(host, g, in1, 1) * kh * kw;
        break;
    }
    case EX_GEMM: /* 2 * M * N * K */
        flops = 2.0 * out_elems * dim_or_guess(host, g, in0, p->trans_a ? 0 : 1);
        break;
    case EX_MATMUL:
        flops = 2.0 * out_elems * dim_or_guess(host, g, in0, -1);
        break;
    case EX_SIGMOID:
    case EX_TANH: flops = 8.0 * out_elems; break; /* an exp and a division per element */
    default: flops = out_elems; break;
    }
    return flops / (gflops * 1e9) + bytes / 20e9 + 5e-6;
}
