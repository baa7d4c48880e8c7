/* shape_rules.c — the static inference rule table (see shape_rules.h).
 *
 * Conventions of every rule:
 *  - What is not known stays unknown (dtype 0, rank -1, dim -1); a dim the op
 *    passes through unchanged keeps its symbolic name (dim_param).
 *  - Numeric dims follow the ONNX operator spec formulas (and agree with the
 *    CPU kernels, which compute the real shapes at run time).
 *  - A rule fails (PRISM_ERR_INVALID_MODEL, naming the dims) only when
 *    concrete facts contradict each other: [2,3] + [4,3], MatMul [2,3] x
 *    [4,5], Concat of ranks 2 and 3. Never for something merely unknown, and
 *    never for a value-level problem (a zero Range delta) the kernel reports.
 *  - Constant inputs (initializers, folded Constant nodes and folded shape
 *    arithmetic, see fold_shapes.c) are read through value->constant.
 */
#include "shape_rules.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ======================================================================
 * Output setting
 * ====================================================================== */

pr_value *pr_in(pr_graph *g, const pr_node *n, uint32_t k) {
    return k < n->n_inputs && n->inputs[k] != PRISM_NO_VALUE ? &g->values[n->inputs[k]] : NULL;
}
pr_value *pr_out(pr_graph *g, const pr_node *n, uint32_t k) {
    return k < n->n_outputs && n->outputs[k] != PRISM_NO_VALUE ? &g->values[n->outputs[k]] : NULL;
}

prism_status pr_set_out(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        char *const *dim_params) {
    pr_value *v = pr_out(g, n, k);
    if (!v) return PRISM_OK;
    /* A declaration that contradicts what the node computes would make the
     * partitioner and providers plan with wrong types and sizes. */
    if (v->dtype && dtype && v->dtype != dtype)
        return pr_fail(PRISM_ERR_INVALID_MODEL, "value '%s' is declared %s but the node computes %s", v->name,
                       prism_dtype_name((prism_dtype)v->dtype), prism_dtype_name((prism_dtype)dtype));
    if (!v->dtype && dtype) v->dtype = dtype;
    if (rank < 0) return PRISM_OK;
    if (rank > 64) return pr_fail(PRISM_ERR_INVALID_MODEL, "inferred rank %d is absurd", rank);
    if (v->rank >= 0) {
        /* Declared: only fill in the dims it leaves open. */
        if (v->rank != rank)
            return pr_fail(PRISM_ERR_INVALID_MODEL, "value '%s' is declared with rank %d but the node computes rank %d",
                           v->name, v->rank, rank);
        if (!dims || !v->dims) return PRISM_OK;
        for (int32_t d = 0; d < rank; d++) {
            if (v->dims[d] >= 0 && dims[d] >= 0 && v->dims[d] != dims[d])
                return pr_fail(PRISM_ERR_INVALID_MODEL, "value '%s' is declared with dim %d = %lld but the node computes %lld",
                               v->name, d, (long long)v->dims[d], (long long)dims[d]);
            if (v->dims[d] >= 0) continue;
            if (dims[d] >= 0) {
                v->dims[d] = dims[d];
                if (v->dim_params) {
                    free(v->dim_params[d]);
                    v->dim_params[d] = NULL;
                }
            } else if (v->dim_params && !v->dim_params[d] && dim_params && dim_params[d]) {
                v->dim_params[d] = pr_strdup(dim_params[d]);
                if (!v->dim_params[d]) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            }
        }
        return PRISM_OK;
    }
    v->dims = calloc((size_t)rank + 1, sizeof(int64_t));
    v->dim_params = calloc((size_t)rank + 1, sizeof(char *));
    if (!v->dims || !v->dim_params) {
        free(v->dims);
        free(v->dim_params);
        v->dims = NULL;
        v->dim_params = NULL;
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    v->rank = rank;
    for (int32_t d = 0; d < rank; d++) {
        v->dims[d] = dims && dims[d] >= 0 ? dims[d] : -1;
        if (dim_params && dim_params[d] && v->dims[d] < 0) {
            v->dim_params[d] = pr_strdup(dim_params[d]);
            if (!v->dim_params[d]) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    return PRISM_OK;
}

/* ======================================================================
 * Shapes as rules see them
 * ====================================================================== */

#define SR_MAX 64 /* highest rank a rule works on (pr_set_out's limit) */

typedef struct shp {
    int32_t rank;      /* -1 unknown */
    int64_t d[SR_MAX]; /* -1 unknown */
    char *p[SR_MAX];   /* borrowed symbolic names (only where d < 0) */
} shp;

static void sh_dim(shp *s, int32_t i, int64_t v, char *p) {
    s->d[i] = v >= 0 ? v : -1;
    s->p[i] = v >= 0 ? NULL : p;
}
static void sh_copy_dim(shp *dst, int32_t i, const shp *src, int32_t j) { sh_dim(dst, i, src->d[j], src->p[j]); }
static void sh_unknown_dims(shp *s, int32_t rank) {
    s->rank = rank;
    for (int32_t i = 0; i < rank && i < SR_MAX; i++) sh_dim(s, i, -1, NULL);
}
static bool sh_sym_eq(const char *a, const char *b) { return a && b && !strcmp(a, b); }

/* The known facts about a value's shape; false (rank -1) when unknown. */
static bool sh_of(const pr_value *v, shp *s) {
    s->rank = -1;
    if (!v || v->rank < 0 || v->rank > SR_MAX || (v->rank > 0 && !v->dims)) return false;
    s->rank = v->rank;
    for (int32_t i = 0; i < v->rank; i++)
        sh_dim(s, i, v->dims[i], v->dims[i] < 0 && v->dim_params ? v->dim_params[i] : NULL);
    return true;
}
static bool in_shape(pr_graph *g, const pr_node *n, uint32_t k, shp *s) { return sh_of(pr_in(g, n, k), s); }
static int32_t in_dtype(pr_graph *g, const pr_node *n, uint32_t k) {
    const pr_value *v = pr_in(g, n, k);
    return v ? v->dtype : 0;
}
static prism_status set_shape(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, const shp *s) {
    if (s->rank < 0 || s->rank > SR_MAX) return pr_set_out(g, n, k, dtype, -1, NULL, NULL);
    return pr_set_out(g, n, k, dtype, s->rank, s->d, s->p);
}
static prism_status set_rank(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, int32_t rank) {
    return pr_set_out(g, n, k, dtype, rank, NULL, NULL);
}

/* "[2,N,?]" for messages. */
typedef struct sbuf {
    char s[512];
} sbuf;
static const char *sh_str(const shp *s, sbuf *b) {
    if (s->rank < 0) return "[?]";
    size_t len = 0;
    b->s[len++] = '[';
    for (int32_t i = 0; i < s->rank && len < sizeof b->s - 40; i++) {
        int w;
        if (s->d[i] >= 0) w = snprintf(b->s + len, sizeof b->s - len, "%s%lld", i ? "," : "", (long long)s->d[i]);
        else w = snprintf(b->s + len, sizeof b->s - len, "%s%.24s", i ? "," : "", s->p[i] ? s->p[i] : "?");
        if (w > 0) len += (size_t)w;
    }
    if (len > sizeof b->s - 2) len = sizeof b->s - 2;
    b->s[len++] = ']';
    b->s[len] = '\0';
    return b->s;
}

static prism_status bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static prism_status bad(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    prism_status st = pr_vfail(PRISM_ERR_INVALID_MODEL, fmt, ap);
    va_end(ap);
    return st;
}

/* Checked arithmetic on dims: false on overflow or past PR_MAX_ELEMENTS. */
static bool d_mul(int64_t a, int64_t b, int64_t *o) {
    int64_t r;
    if (__builtin_mul_overflow(a, b, &r) || r > PR_MAX_ELEMENTS || r < -PR_MAX_ELEMENTS) return false;
    *o = r;
    return true;
}
static bool d_add(int64_t a, int64_t b, int64_t *o) {
    int64_t r;
    if (__builtin_add_overflow(a, b, &r) || r > PR_MAX_ELEMENTS || r < -PR_MAX_ELEMENTS) return false;
    *o = r;
    return true;
}
/* Sane magnitude for attribute values used in dim arithmetic. */
static bool d_sane(int64_t v) { return v >= -PR_MAX_ELEMENTS && v <= PR_MAX_ELEMENTS; }

/* Product of dims [from, to): concrete when all are; the single
 * non-concrete dim when every other is 1 (keeps a symbol); else unknown. */
static void sh_prod(const shp *s, int32_t from, int32_t to, int64_t *v, char **p) {
    int64_t prod = 1;
    int32_t unknown = -1, n_unknown = 0;
    bool ok = true;
    for (int32_t i = from; i < to; i++) {
        if (s->d[i] < 0) {
            unknown = i;
            n_unknown++;
        } else if (ok && !d_mul(prod, s->d[i], &prod)) {
            ok = false;
        }
    }
    *p = NULL;
    *v = -1;
    if (!ok) return;
    if (n_unknown == 0) *v = prod;
    else if (n_unknown == 1 && prod == 1) *p = s->p[unknown];
    else if (prod == 0) *v = 0; /* a zero dim makes the product 0 whatever the rest */
}

/* ======================================================================
 * Attributes and constant inputs
 * ====================================================================== */

static int64_t a_int(const pr_node *n, const char *name, int64_t def) {
    const pr_attr *a = pr_node_attr(n, name);
    return a && a->type == PRISM_ATTR_INT ? a->i : def;
}
static bool a_has(const pr_node *n, const char *name) { return pr_node_attr(n, name) != NULL; }
static const char *a_str(const pr_node *n, const char *name, const char *def) {
    const pr_attr *a = pr_node_attr(n, name);
    return a && a->type == PRISM_ATTR_STRING && a->s ? a->s : def;
}
/* INTS attribute: true and (*v, *count) when present. */
static bool a_ints(const pr_node *n, const char *name, const int64_t **v, size_t *count) {
    const pr_attr *a = pr_node_attr(n, name);
    *v = NULL;
    *count = 0;
    if (!a || a->type != PRISM_ATTR_INTS) return false;
    *v = a->ints;
    *count = a->count;
    return a->count == 0 || a->ints;
}

static const pr_const *in_const(pr_graph *g, const pr_node *n, uint32_t k) {
    const pr_value *v = pr_in(g, n, k);
    return v ? v->constant : NULL;
}

/* An INT32 / INT64 constant input as int64s (at most cap of them). */
static bool const_ints(pr_graph *g, const pr_node *n, uint32_t k, int64_t *buf, size_t cap, size_t *count) {
    const pr_const *c = in_const(g, n, k);
    *count = 0;
    if (!c || c->count < 0 || (size_t)c->count > cap || (c->count && !c->data)) return false;
    if (c->dtype == PRISM_DTYPE_INT64) {
        if (c->count) memcpy(buf, c->data, (size_t)c->count * sizeof(int64_t));
    } else if (c->dtype == PRISM_DTYPE_INT32) {
        for (int64_t i = 0; i < c->count; i++) {
            int32_t x;
            memcpy(&x, (const char *)c->data + i * 4, 4);
            buf[i] = x;
        }
    } else {
        return false;
    }
    *count = (size_t)c->count;
    return true;
}

/* A one-element numeric constant input as a double. */
static bool const_scalar(pr_graph *g, const pr_node *n, uint32_t k, double *out) {
    const pr_const *c = in_const(g, n, k);
    if (!c || c->count != 1 || !c->data) return false;
    const void *p = c->data;
    switch (c->dtype) {
    case PRISM_DTYPE_FLOAT: { float x; memcpy(&x, p, 4); *out = x; return true; }
    case PRISM_DTYPE_DOUBLE: { double x; memcpy(&x, p, 8); *out = x; return true; }
    case PRISM_DTYPE_INT64: { int64_t x; memcpy(&x, p, 8); *out = (double)x; return true; }
    case PRISM_DTYPE_INT32: { int32_t x; memcpy(&x, p, 4); *out = x; return true; }
    case PRISM_DTYPE_INT16: { int16_t x; memcpy(&x, p, 2); *out = x; return true; }
    case PRISM_DTYPE_INT8: { int8_t x; memcpy(&x, p, 1); *out = x; return true; }
    case PRISM_DTYPE_UINT8: { uint8_t x; memcpy(&x, p, 1); *out = x; return true; }
    case PRISM_DTYPE_UINT16: { uint16_t x; memcpy(&x, p, 2); *out = x; return true; }
    case PRISM_DTYPE_UINT32: { uint32_t x; memcpy(&x, p, 4); *out = x; return true; }
    case PRISM_DTYPE_UINT64: { uint64_t x; memcpy(&x, p, 8); *out = (double)x; return true; }
    default: return false;
    }
}

/* Normalise an axis against rank (accepted range [-rank, rank-1], or with
 * extra: [-(rank+extra), rank+extra-1]); fails naming the op's axis. */
static prism_status norm_axis(int64_t axis, int32_t rank, int32_t *out, const char *what) {
    if (axis < -(int64_t)rank || axis >= rank)
        return bad("%s %lld is out of range for rank %d", what, (long long)axis, rank);
    *out = (int32_t)(axis < 0 ? axis + rank : axis);
    return PRISM_OK;
}

/* ======================================================================
 * Broadcasting
 * ====================================================================== */

/* Multidirectional (numpy) broadcast of a and b into out. */
static prism_status bcast2(shp *out, const shp *a, const shp *b) {
    if (a->rank < 0 || b->rank < 0) {
        out->rank = -1;
        return PRISM_OK;
    }
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    shp res;
    res.rank = r;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        if (ia < 0) {
            sh_copy_dim(&res, i, b, ib);
            continue;
        }
        if (ib < 0) {
            sh_copy_dim(&res, i, a, ia);
            continue;
        }
        int64_t da = a->d[ia], db = b->d[ib];
        if (da >= 0 && db >= 0) {
            if (da != db && da != 1 && db != 1) {
                sbuf sa, sb;
                return bad("cannot broadcast %s with %s: dim %d is %lld vs %lld", sh_str(a, &sa), sh_str(b, &sb), i,
                           (long long)da, (long long)db);
            }
            sh_dim(&res, i, da == 1 ? db : da, NULL);
        } else if (da == 1) {
            sh_copy_dim(&res, i, b, ib);
        } else if (db == 1) {
            sh_copy_dim(&res, i, a, ia);
        } else if (da >= 0) {
            sh_dim(&res, i, da, NULL); /* b is da or 1 */
        } else if (db >= 0) {
            sh_dim(&res, i, db, NULL);
        } else {
            sh_dim(&res, i, -1, sh_sym_eq(a->p[ia], b->p[ib]) ? a->p[ia] : NULL);
        }
    }
    *out = res;
    return PRISM_OK;
}

/* Broadcast the present inputs [first, first+count). */
static prism_status bcast_inputs(pr_graph *g, const pr_node *n, uint32_t first, uint32_t count, shp *out) {
    bool any = false;
    out->rank = -1;
    for (uint32_t k = first; k < first + count && k < n->n_inputs; k++) {
        shp s;
        if (!pr_in(g, n, k)) continue;
        if (!in_shape(g, n, k, &s)) {
            out->rank = -1;
            return PRISM_OK;
        }
        if (!any) {
            *out = s;
            any = true;
            continue;
        }
        prism_status st = bcast2(out, out, &s);
        if (st) return st;
    }
    return PRISM_OK;
}

static int32_t first_dtype(pr_graph *g, const pr_node *n, uint32_t first, uint32_t count) {
    for (uint32_t k = first; k < first + count && k < n->n_inputs; k++) {
        int32_t dt = in_dtype(g, n, k);
        if (dt) return dt;
    }
    return 0;
}

/* ======================================================================
 * Elementwise rules
 * ====================================================================== */

/* Output 0 has input 0's type and shape. */
static prism_status r_same(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    return set_shape(g, n, 0, in_dtype(g, n, 0), &s);
}

/* Input 0's shape, bool output (IsNaN, IsInf). */
static prism_status r_same_bool(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    return set_shape(g, n, 0, PRISM_DTYPE_BOOL, &s);
}

/* Ops whose opset < 7 versions broadcast the ONNX-1 way (B aligned to A at
 * `axis`): their output always has A's shape. */
static bool legacy_broadcast(const pr_node *n) {
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div", "Pow", "And", "Or", "Xor",
                                      "Equal", "Less", "Greater", "PRelu"};
    if (n->opset >= 7) return false;
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (!strcmp(n->op_type, ops[i])) return true;
    return false;
}

static prism_status binary_out(pr_graph *g, pr_node *n, int32_t dtype) {
    shp s;
    if (legacy_broadcast(n)) {
        in_shape(g, n, 0, &s);
        return set_shape(g, n, 0, dtype, &s);
    }
    prism_status st = bcast_inputs(g, n, 0, n->n_inputs, &s);
    if (st) return st;
    return set_shape(g, n, 0, dtype, &s);
}

/* Add, Sub, Mul, Div, Pow, Mod, BitShift, Bitwise*, Max, Min, Sum, Mean:
 * broadcast, dtype of the first input. */
static prism_status r_binary(pr_graph *g, pr_node *n) { return binary_out(g, n, first_dtype(g, n, 0, 1)); }
/* Variadic ops take the dtype from any input. */
static prism_status r_variadic(pr_graph *g, pr_node *n) { return binary_out(g, n, first_dtype(g, n, 0, n->n_inputs)); }
/* Comparisons and logic: broadcast, bool output. */
static prism_status r_compare(pr_graph *g, pr_node *n) { return binary_out(g, n, PRISM_DTYPE_BOOL); }

/* PRelu: slope broadcasts to X; the output is X. */
static prism_status r_prelu(pr_graph *g, pr_node *n) {
    shp x, s, b;
    in_shape(g, n, 0, &x);
    if (n->opset >= 7 && x.rank >= 0 && in_shape(g, n, 1, &s)) {
        prism_status st = bcast2(&b, &x, &s);
        if (st) return st;
    }
    return set_shape(g, n, 0, in_dtype(g, n, 0), &x);
}

static prism_status r_where(pr_graph *g, pr_node *n) {
    shp s;
    prism_status st = bcast_inputs(g, n, 0, 3, &s);
    if (st) return st;
    return set_shape(g, n, 0, first_dtype(g, n, 1, 2), &s);
}

int32_t pr_cast_target(const pr_node *n) {
    const pr_attr *a = pr_node_attr(n, "to");
    if (!a) return 0;
    if (a->type == PRISM_ATTR_INT) return a->i > 0 && a->i <= PRISM_DTYPE_BFLOAT16 ? (int32_t)a->i : 0;
    if (a->type != PRISM_ATTR_STRING || !a->s) return 0;
    static const struct {
        const char *name;
        int32_t dt;
    } names[] = {{"FLOAT", PRISM_DTYPE_FLOAT},   {"UINT8", PRISM_DTYPE_UINT8},       {"INT8", PRISM_DTYPE_INT8},
                 {"UINT16", PRISM_DTYPE_UINT16}, {"INT16", PRISM_DTYPE_INT16},       {"INT32", PRISM_DTYPE_INT32},
                 {"INT64", PRISM_DTYPE_INT64},   {"STRING", PRISM_DTYPE_STRING},     {"BOOL", PRISM_DTYPE_BOOL},
                 {"FLOAT16", PRISM_DTYPE_FLOAT16}, {"DOUBLE", PRISM_DTYPE_DOUBLE},   {"UINT32", PRISM_DTYPE_UINT32},
                 {"UINT64", PRISM_DTYPE_UINT64}, {"BFLOAT16", PRISM_DTYPE_BFLOAT16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(a->s, names[i].name)) return names[i].dt;
    return 0;
}

static prism_status r_cast(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    return set_shape(g, n, 0, pr_cast_target(n), &s);
}

static prism_status r_castlike(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    return set_shape(g, n, 0, in_dtype(g, n, 1), &s);
}

/* Dropout: output, and the mask (bool since opset 10, T before). */
static prism_status r_dropout(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    prism_status st = set_shape(g, n, 0, in_dtype(g, n, 0), &s);
    if (st) return st;
    return set_shape(g, n, 1, n->opset >= 10 ? PRISM_DTYPE_BOOL : in_dtype(g, n, 0), &s);
}

/* EyeLike, RandomNormalLike, RandomUniformLike, Bernoulli: shape of input
 * 0, dtype from the "dtype" attribute or input 0. */
static prism_status r_like_dtype_attr(pr_graph *g, pr_node *n) {
    shp s;
    in_shape(g, n, 0, &s);
    int64_t dt = a_int(n, "dtype", 0);
    return set_shape(g, n, 0, dt > 0 && dt <= PRISM_DTYPE_BFLOAT16 ? (int32_t)dt : in_dtype(g, n, 0), &s);
}

/* ======================================================================
 * Convolution and pooling
 * ====================================================================== */

enum { AP_NOTSET, AP_SAME_UPPER, AP_SAME_LOWER, AP_VALID, AP_BAD };

static int auto_pad_of(const pr_node *n) {
    const char *s = a_str(n, "auto_pad", "NOTSET");
    if (!strcmp(s, "NOTSET") || !*s) return AP_NOTSET;
    if (!strcmp(s, "SAME_UPPER")) return AP_SAME_UPPER;
    if (!strcmp(s, "SAME_LOWER")) return AP_SAME_LOWER;
    if (!strcmp(s, "VALID")) return AP_VALID;
    return AP_BAD;
}

/* The per-spatial-dim parameters of a Conv / pool node. */
typedef struct spatial {
    int32_t sp;             /* number of spatial dims */
    int64_t k[SR_MAX];      /* kernel size, -1 unknown */
    int64_t s[SR_MAX], dl[SR_MAX], pb[SR_MAX], pe[SR_MAX];
    int auto_pad;
    bool ok; /* attributes are well formed */
} spatial;

/* Read strides/dilations/pads; kernel sizes from kernel_shape or w_dims. */
static void spatial_params(const pr_node *n, int32_t sp, const shp *w, spatial *p) {
    const int64_t *v;
    size_t cnt;
    p->sp = sp;
    p->ok = sp >= 0 && sp <= SR_MAX - 2;
    p->auto_pad = auto_pad_of(n);
    if (!p->ok || p->auto_pad == AP_BAD) {
        p->ok = false;
        return;
    }
    for (int32_t i = 0; i < sp; i++) {
        p->k[i] = w && w->rank == sp + 2 ? w->d[2 + i] : -1;
        p->s[i] = p->dl[i] = 1;
        p->pb[i] = p->pe[i] = 0;
    }
    if (a_ints(n, "kernel_shape", &v, &cnt)) {
        if (cnt != (size_t)sp) p->ok = false;
        for (int32_t i = 0; i < sp && p->ok; i++) p->k[i] = v[i];
    }
    if (a_ints(n, "strides", &v, &cnt) && cnt) {
        if (cnt != (size_t)sp) p->ok = false;
        for (int32_t i = 0; i < sp && p->ok; i++) p->s[i] = v[i];
    }
    if (a_ints(n, "dilations", &v, &cnt) && cnt) {
        if (cnt != (size_t)sp) p->ok = false;
        for (int32_t i = 0; i < sp && p->ok; i++) p->dl[i] = v[i];
    }
    if (a_ints(n, "pads", &v, &cnt) && cnt) {
        if (cnt != (size_t)sp * 2) p->ok = false;
        for (int32_t i = 0; i < sp && p->ok; i++) {
            p->pb[i] = v[i];
            p->pe[i] = v[i + sp];
        }
    }
    for (int32_t i = 0; i < sp && p->ok; i++)
        if (p->s[i] < 1 || p->dl[i] < 1 || !d_sane(p->s[i]) || !d_sane(p->dl[i]) || !d_sane(p->pb[i]) ||
            !d_sane(p->pe[i]) || (p->k[i] >= 0 && !d_sane(p->k[i])))
            p->ok = false;
}

/* Output size of spatial dim i of a Conv (ceil_mode < 0) or pool; -1 when
 * unknown. Fails when the kernel provably does not fit. */
static prism_status spatial_out(const spatial *p, int32_t i, int64_t in, int ceil_mode, int64_t *out) {
    *out = -1;
    if (in < 0 || !p->ok) return PRISM_OK;
    int64_t s = p->s[i];
    if (p->auto_pad == AP_SAME_UPPER || p->auto_pad == AP_SAME_LOWER) {
        *out = in / s + (in % s != 0);
        return PRISM_OK;
    }
    int64_t k = p->k[i];
    if (k < 1) return PRISM_OK;
    int64_t pb = p->auto_pad == AP_VALID ? 0 : p->pb[i], pe = p->auto_pad == AP_VALID ? 0 : p->pe[i];
    int64_t dk, padded;
    if (!d_mul(k - 1, p->dl[i], &dk) || !d_add(dk, 1, &dk) || !d_add(in, pb, &padded) || !d_add(padded, pe, &padded))
        return PRISM_OK;
    if (padded < dk)
        return bad("spatial dim %d: the input is %lld (%lld with padding) but the dilated kernel spans %lld", i,
                   (long long)in, (long long)padded, (long long)dk);
    if (ceil_mode > 0 && p->auto_pad == AP_NOTSET) {
        int64_t o = (padded - dk) / s + ((padded - dk) % s != 0) + 1;
        if ((o - 1) * s >= in + pb) o--; /* the last window must start inside the input or the start padding */
        *out = o;
    } else {
        *out = (padded - dk) / s + 1;
    }
    return PRISM_OK;
}

/* Conv with X and W at inputs xi and wi (QLinearConv has them at 0 and 3). */
static prism_status conv_out(pr_graph *g, pr_node *n, uint32_t xi, uint32_t wi, int32_t dtype) {
    shp x, w, y;
    bool hx = in_shape(g, n, xi, &x), hw = in_shape(g, n, wi, &w);
    int32_t rank = hx ? x.rank : hw ? w.rank : -1;
    if (rank < 0) return set_rank(g, n, 0, dtype, -1);
    sbuf sa, sb;
    if (rank < 3) return bad("%s input %s needs rank >= 3", n->op_type, sh_str(hx ? &x : &w, &sa));
    if (hx && hw && x.rank != w.rank)
        return bad("%s X %s and W %s have different ranks", n->op_type, sh_str(&x, &sa), sh_str(&w, &sb));
    int64_t group = a_int(n, "group", 1);
    if (hx && hw && group >= 1 && x.d[1] >= 0 && w.d[1] >= 0 && x.d[1] != w.d[1] * group)
        return bad("%s X %s has %lld channels but W %s expects %lld x group %lld", n->op_type, sh_str(&x, &sa),
                   (long long)x.d[1], sh_str(&w, &sb), (long long)w.d[1], (long long)group);
    if (hw && group >= 1 && w.d[0] >= 0 && w.d[0] % group)
        return bad("%s W %s has %lld output channels, not divisible by group %lld", n->op_type, sh_str(&w, &sa),
                   (long long)w.d[0], (long long)group);
    spatial p;
    spatial_params(n, rank - 2, hw ? &w : NULL, &p);
    if (p.ok && hw) {
        for (int32_t i = 0; i < rank - 2; i++)
            if (w.d[2 + i] >= 0 && p.k[i] >= 0 && w.d[2 + i] != p.k[i])
                return bad("%s kernel_shape[%d] = %lld but W %s has %lld there", n->op_type, i, (long long)p.k[i],
                           sh_str(&w, &sa), (long long)w.d[2 + i]);
    }
    sh_unknown_dims(&y, rank);
    if (hx) sh_copy_dim(&y, 0, &x, 0);
    if (hw) sh_copy_dim(&y, 1, &w, 0);
    for (int32_t i = 0; i < rank - 2; i++) {
        int64_t o;
        prism_status st = spatial_out(&p, i, hx ? x.d[2 + i] : -1, -1, &o);
        if (st) return st;
        sh_dim(&y, 2 + i, o, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}
static prism_status r_conv(pr_graph *g, pr_node *n) { return conv_out(g, n, 0, 1, first_dtype(g, n, 0, 1)); }
static prism_status r_conv_integer(pr_graph *g, pr_node *n) { return conv_out(g, n, 0, 1, PRISM_DTYPE_INT32); }
static prism_status r_qlinear_conv(pr_graph *g, pr_node *n) { return conv_out(g, n, 0, 3, in_dtype(g, n, 7)); }

static prism_status r_conv_transpose(pr_graph *g, pr_node *n) {
    shp x, w, y;
    bool hx = in_shape(g, n, 0, &x), hw = in_shape(g, n, 1, &w);
    int32_t dtype = first_dtype(g, n, 0, 1);
    int32_t rank = hx ? x.rank : hw ? w.rank : -1;
    if (rank < 0) return set_rank(g, n, 0, dtype, -1);
    sbuf sa, sb;
    if (rank < 3) return bad("ConvTranspose input %s needs rank >= 3", sh_str(hx ? &x : &w, &sa));
    if (hx && hw && x.rank != w.rank)
        return bad("ConvTranspose X %s and W %s have different ranks", sh_str(&x, &sa), sh_str(&w, &sb));
    if (hx && hw && x.d[1] >= 0 && w.d[0] >= 0 && x.d[1] != w.d[0])
        return bad("ConvTranspose X %s has %lld channels but W %s has %lld", sh_str(&x, &sa), (long long)x.d[1],
                   sh_str(&w, &sb), (long long)w.d[0]);
    int32_t sp = rank - 2;
    int64_t group = a_int(n, "group", 1);
    spatial p;
    spatial_params(n, sp, hw ? &w : NULL, &p);
    sh_unknown_dims(&y, rank);
    if (hx) sh_copy_dim(&y, 0, &x, 0);
    int64_t m;
    if (hw && w.d[1] >= 0 && group >= 1 && d_mul(w.d[1], group, &m)) sh_dim(&y, 1, m, NULL);
    const int64_t *os, *op;
    size_t n_os, n_op;
    bool has_os = a_ints(n, "output_shape", &os, &n_os) && n_os >= (size_t)sp;
    bool has_op = a_ints(n, "output_padding", &op, &n_op) && n_op == (size_t)sp;
    for (int32_t i = 0; i < sp && p.ok; i++) {
        int64_t o = -1;
        if (has_os) {
            o = os[n_os - (size_t)sp + (size_t)i];
        } else {
            int64_t in = hx ? x.d[2 + i] : -1, k = p.k[i];
            if (in >= 0 && p.auto_pad != AP_NOTSET && p.auto_pad != AP_VALID) {
                if (!d_mul(in, p.s[i], &o)) o = -1;
            } else if (in >= 0 && k >= 1) {
                int64_t dk, t, pad = p.auto_pad == AP_VALID ? 0 : p.pb[i] + p.pe[i];
                int64_t opad = has_op ? op[i] : 0;
                if (d_mul(k - 1, p.dl[i], &dk) && d_add(dk, 1, &dk) && d_mul(in - 1, p.s[i], &t) && d_add(t, dk, &t) &&
                    d_sane(opad) && d_add(t, opad, &t) && d_add(t, -pad, &t))
                    o = t;
                if (o == 0 || o < -1) o = -1;
            }
        }
        sh_dim(&y, 2 + i, o, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

/* MaxPool, AveragePool, LpPool (MaxPool's output 1 is int64 indices). */
static prism_status r_pool(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) {
        set_rank(g, n, 1, PRISM_DTYPE_INT64, -1);
        return set_rank(g, n, 0, dtype, -1);
    }
    sbuf sa;
    if (x.rank < 3) return bad("%s input %s needs rank >= 3", n->op_type, sh_str(&x, &sa));
    spatial p;
    spatial_params(n, x.rank - 2, NULL, &p);
    int ceil_mode = (int)a_int(n, "ceil_mode", 0);
    y = x;
    for (int32_t i = 0; i < x.rank - 2; i++) {
        int64_t o;
        prism_status st = spatial_out(&p, i, x.d[2 + i], ceil_mode ? 1 : 0, &o);
        if (st) return st;
        sh_dim(&y, 2 + i, o, NULL);
    }
    prism_status st = set_shape(g, n, 0, dtype, &y);
    if (!st) st = set_shape(g, n, 1, PRISM_DTYPE_INT64, &y);
    return st;
}

static prism_status r_global_pool(pr_graph *g, pr_node *n) {
    shp x;
    if (in_shape(g, n, 0, &x)) {
        sbuf sa;
        if (x.rank < 2) return bad("%s input %s needs rank >= 2", n->op_type, sh_str(&x, &sa));
        for (int32_t i = 2; i < x.rank; i++) sh_dim(&x, i, 1, NULL);
    }
    return set_shape(g, n, 0, in_dtype(g, n, 0), &x);
}

/* ======================================================================
 * Gemm, MatMul, normalisation
 * ====================================================================== */

static prism_status r_gemm(pr_graph *g, pr_node *n) {
    shp a, b, y;
    bool ha = in_shape(g, n, 0, &a) && a.rank == 2, hb = in_shape(g, n, 1, &b) && b.rank == 2;
    int64_t ta = a_int(n, "transA", 0), tb = a_int(n, "transB", 0);
    sh_unknown_dims(&y, 2);
    if (ha) sh_copy_dim(&y, 0, &a, ta ? 1 : 0);
    if (hb) sh_copy_dim(&y, 1, &b, tb ? 0 : 1);
    if (ha && hb) {
        int64_t ka = a.d[ta ? 0 : 1], kb = b.d[tb ? 1 : 0];
        if (ka >= 0 && kb >= 0 && ka != kb) {
            sbuf sa, sb;
            return bad("Gemm A %s%s and B %s%s disagree on K: %lld vs %lld", sh_str(&a, &sa), ta ? "^T" : "",
                       sh_str(&b, &sb), tb ? "^T" : "", (long long)ka, (long long)kb);
        }
    }
    return set_shape(g, n, 0, first_dtype(g, n, 0, 2), &y);
}

/* numpy matmul shapes; dtype given by the caller. */
static prism_status matmul_out(pr_graph *g, pr_node *n, uint32_t ai, uint32_t bi, int32_t dtype) {
    shp a, b;
    if (!in_shape(g, n, ai, &a) || !in_shape(g, n, bi, &b)) return set_rank(g, n, 0, dtype, -1);
    sbuf sa, sb;
    if (a.rank == 0 || b.rank == 0) return bad("MatMul of a scalar: %s x %s", sh_str(&a, &sa), sh_str(&b, &sb));
    /* Promote 1-D operands: [K] -> [1,K] for A, [K] -> [K,1] for B. */
    shp a2 = a, b2 = b;
    if (a.rank == 1) {
        a2.rank = 2;
        sh_dim(&a2, 0, 1, NULL);
        sh_copy_dim(&a2, 1, &a, 0);
    }
    if (b.rank == 1) {
        b2.rank = 2;
        sh_copy_dim(&b2, 0, &b, 0);
        sh_dim(&b2, 1, 1, NULL);
    }
    int64_t ka = a2.d[a2.rank - 1], kb = b2.d[b2.rank - 2];
    if (ka >= 0 && kb >= 0 && ka != kb)
        return bad("%s %s x %s: the inner dims differ (%lld vs %lld)", n->op_type, sh_str(&a, &sa), sh_str(&b, &sb),
                   (long long)ka, (long long)kb);
    shp ba = a2, bb = b2, batch;
    ba.rank -= 2;
    bb.rank -= 2;
    prism_status st = bcast2(&batch, &ba, &bb);
    if (st) return st;
    shp y = batch;
    if (y.rank + 2 > SR_MAX) return set_rank(g, n, 0, dtype, -1);
    if (a.rank > 1) sh_copy_dim(&y, y.rank++, &a2, a2.rank - 2);
    if (b.rank > 1) sh_copy_dim(&y, y.rank++, &b2, b2.rank - 1);
    return set_shape(g, n, 0, dtype, &y);
}
static prism_status r_matmul(pr_graph *g, pr_node *n) { return matmul_out(g, n, 0, 1, first_dtype(g, n, 0, 2)); }
static prism_status r_matmul_integer(pr_graph *g, pr_node *n) { return matmul_out(g, n, 0, 1, PRISM_DTYPE_INT32); }
static prism_status r_qlinear_matmul(pr_graph *g, pr_node *n) { return matmul_out(g, n, 0, 3, in_dtype(g, n, 7)); }

static prism_status r_batchnorm(pr_graph *g, pr_node *n) {
    shp x;
    bool hx = in_shape(g, n, 0, &x);
    prism_status st = set_shape(g, n, 0, in_dtype(g, n, 0), &x);
    if (st || n->opset < 14) return st;
    /* Training mode: running mean / var of shape [C]. */
    shp c;
    sh_unknown_dims(&c, 1);
    if (hx && x.rank >= 2) sh_copy_dim(&c, 0, &x, 1);
    for (uint32_t k = 1; k < 3 && !st; k++) st = set_shape(g, n, k, first_dtype(g, n, 3, 2), &c);
    return st;
}

static prism_status r_layernorm(pr_graph *g, pr_node *n) {
    shp x;
    bool hx = in_shape(g, n, 0, &x);
    prism_status st = set_shape(g, n, 0, in_dtype(g, n, 0), &x);
    if (st || n->n_outputs < 2) return st;
    int64_t stash = a_int(n, "stash_type", PRISM_DTYPE_FLOAT);
    int32_t sdt = stash > 0 && stash <= PRISM_DTYPE_BFLOAT16 ? (int32_t)stash : 0;
    shp m;
    m.rank = -1;
    if (hx) {
        int32_t axis = 0;
        if ((st = norm_axis(a_int(n, "axis", -1), x.rank, &axis, "LayerNormalization axis"))) return st;
        m = x;
        for (int32_t i = axis; i < x.rank; i++) sh_dim(&m, i, 1, NULL);
    }
    for (uint32_t k = 1; k < 3 && !st; k++) st = set_shape(g, n, k, sdt, &m);
    return st;
}

/* Softmax family: same as input, with a checked axis. */
static prism_status r_softmax(pr_graph *g, pr_node *n) {
    shp x;
    if (in_shape(g, n, 0, &x) && x.rank > 0 && n->opset >= 13) {
        int32_t axis = 0;
        prism_status st = norm_axis(a_int(n, "axis", -1), x.rank, &axis, "axis");
        if (st) return st;
    }
    return set_shape(g, n, 0, in_dtype(g, n, 0), &x);
}

/* ======================================================================
 * Shape manipulation
 * ====================================================================== */

static prism_status r_shape(pr_graph *g, pr_node *n) {
    shp x;
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, PRISM_DTYPE_INT64, 1);
    int64_t r = x.rank, start = n->opset >= 15 ? a_int(n, "start", 0) : 0, end = n->opset >= 15 ? a_int(n, "end", r) : r;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    return pr_set_out(g, n, 0, PRISM_DTYPE_INT64, 1, &len, NULL);
}

static prism_status r_size(pr_graph *g, pr_node *n) { return set_rank(g, n, 0, PRISM_DTYPE_INT64, 0); }

/* Output dims of Reshape x by shape s[0..k). */
static prism_status reshape_dims(const shp *x, const int64_t *s, size_t k, bool allowzero, shp *y) {
    sbuf sa;
    sh_unknown_dims(y, (int32_t)k);
    int32_t neg = -1;
    bool has_zero = false;
    /* from[i]: the input dim output dim i copies (a 0 entry), or -1. */
    int32_t from[SR_MAX];
    for (size_t i = 0; i < k; i++) {
        from[i] = -1;
        if (s[i] == -1) {
            if (neg >= 0) return bad("Reshape shape has two -1 entries (%d and %zu)", neg, i);
            neg = (int32_t)i;
        } else if (s[i] < -1) {
            return bad("Reshape shape entry %zu is %lld", i, (long long)s[i]);
        } else if (s[i] == 0 && !allowzero) {
            if (x->rank >= 0) {
                if ((int64_t)i >= x->rank)
                    return bad("Reshape shape entry %zu is 0 (copy) but the input %s has rank %d", i, sh_str(x, &sa),
                               x->rank);
                sh_copy_dim(y, (int32_t)i, x, (int32_t)i);
                from[i] = (int32_t)i;
            }
        } else {
            if (s[i] == 0) has_zero = true;
            sh_dim(y, (int32_t)i, s[i], NULL);
        }
    }
    if (neg >= 0 && has_zero) return bad("Reshape with allowzero=1 has both 0 and -1 in its shape");
    if (x->rank < 0) return PRISM_OK;
    /* Compare element counts: input dims that output dims copy cancel out. */
    bool cancelled[SR_MAX] = {false};
    int64_t in_known = 1, out_known = 1;
    bool ok = true, in_zero = false;
    int32_t in_left = 0, left_at = -1;
    for (size_t i = 0; i < k; i++) {
        if ((int32_t)i == neg) continue;
        if (from[i] >= 0 && x->d[from[i]] < 0) cancelled[from[i]] = true;
        else if (y->d[i] >= 0 && !d_mul(out_known, y->d[i], &out_known)) ok = false;
        else if (y->d[i] < 0) ok = false;
    }
    for (int32_t j = 0; j < x->rank; j++) {
        if (x->d[j] >= 0) {
            if (x->d[j] == 0) in_zero = true;
            if (!d_mul(in_known, x->d[j], &in_known)) ok = false;
        } else if (!cancelled[j]) {
            in_left++;
            left_at = j;
        }
    }
    if (!ok) return PRISM_OK;
    if (neg >= 0) {
        if (in_left == 0) {
            if (out_known == 0) {
                if (in_known != 0) return bad("Reshape of %s: cannot infer -1 with a 0 in the shape", sh_str(x, &sa));
                return PRISM_OK; /* 0 elements: -1 is ambiguous */
            }
            if (in_known % out_known)
                return bad("Reshape of %s (%lld elements): not divisible by the %lld of the other dims", sh_str(x, &sa),
                           (long long)in_known, (long long)out_known);
            sh_dim(y, neg, in_known / out_known, NULL);
        } else if (in_left == 1 && in_known == out_known && !in_zero) {
            sh_dim(y, neg, -1, x->p[left_at]); /* the one unknown input dim moves there */
        }
    } else if (in_left == 0 && in_known != out_known) {
        sbuf sb;
        return bad("Reshape of %s (%lld elements) into %s (%lld elements)", sh_str(x, &sa), (long long)in_known,
                   sh_str(y, &sb), (long long)out_known);
    }
    return PRISM_OK;
}

static prism_status r_reshape(pr_graph *g, pr_node *n) {
    shp x, y, sshape;
    int32_t dtype = in_dtype(g, n, 0);
    in_shape(g, n, 0, &x);
    int64_t s[SR_MAX];
    size_t k;
    const int64_t *av;
    bool have = false;
    if (n->opset < 5) {
        have = a_ints(n, "shape", &av, &k) && k <= SR_MAX;
        if (have && k) memcpy(s, av, k * sizeof *s);
    } else {
        have = const_ints(g, n, 1, s, SR_MAX, &k);
    }
    if (have) {
        prism_status st = reshape_dims(&x, s, k, n->opset >= 14 && a_int(n, "allowzero", 0) != 0, &y);
        if (st) return st;
        return set_shape(g, n, 0, dtype, &y);
    }
    if (n->opset >= 5 && in_shape(g, n, 1, &sshape) && sshape.rank == 1 && sshape.d[0] >= 0 && sshape.d[0] <= SR_MAX)
        return set_rank(g, n, 0, dtype, (int32_t)sshape.d[0]);
    return set_rank(g, n, 0, dtype, -1);
}

static prism_status r_flatten(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    sh_unknown_dims(&y, 2);
    if (in_shape(g, n, 0, &x)) {
        int64_t axis = a_int(n, "axis", 1);
        if (axis < -(int64_t)x.rank || axis > x.rank)
            return bad("Flatten axis %lld is out of range for rank %d", (long long)axis, x.rank);
        if (axis < 0) axis += x.rank;
        sh_prod(&x, 0, (int32_t)axis, &y.d[0], &y.p[0]);
        sh_prod(&x, (int32_t)axis, x.rank, &y.d[1], &y.p[1]);
    }
    return set_shape(g, n, 0, dtype, &y);
}

/* Axes from the "axes" attribute (before opset `input_from`) or input 1. */
typedef enum { AXES_NONE, AXES_KNOWN, AXES_UNKNOWN } axes_kind;
static axes_kind get_axes(pr_graph *g, const pr_node *n, int64_t input_from, uint32_t input_k, int64_t *axes,
                          size_t *count) {
    *count = 0;
    const int64_t *av;
    size_t k;
    if (pr_in(g, n, input_k) && n->opset >= input_from) {
        if (const_ints(g, n, input_k, axes, SR_MAX, count)) return *count ? AXES_KNOWN : AXES_NONE;
        return AXES_UNKNOWN;
    }
    if (a_ints(n, "axes", &av, &k)) {
        if (k > SR_MAX) return AXES_UNKNOWN;
        if (k) memcpy(axes, av, k * sizeof *av);
        *count = k;
        return k ? AXES_KNOWN : AXES_NONE;
    }
    return AXES_NONE;
}

/* Normalise axes against rank into a mask; fails on out of range or repeats. */
static prism_status axes_mask(const int64_t *axes, size_t count, int32_t rank, bool *mask, const char *op) {
    for (int32_t i = 0; i < rank; i++) mask[i] = false;
    for (size_t i = 0; i < count; i++) {
        int32_t a;
        if (axes[i] < -(int64_t)rank || axes[i] >= rank)
            return bad("%s axis %lld is out of range for rank %d", op, (long long)axes[i], rank);
        a = (int32_t)(axes[i] < 0 ? axes[i] + rank : axes[i]);
        if (mask[a]) return bad("%s axis %lld is repeated", op, (long long)axes[i]);
        mask[a] = true;
    }
    return PRISM_OK;
}

static prism_status r_squeeze(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t axes[SR_MAX];
    size_t cnt;
    axes_kind ak = get_axes(g, n, 13, 1, axes, &cnt);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    y.rank = 0;
    if (ak == AXES_UNKNOWN) {
        shp as;
        if (n->opset >= 13 && in_shape(g, n, 1, &as) && as.rank == 1 && as.d[0] >= 0 && as.d[0] <= x.rank)
            return set_rank(g, n, 0, dtype, x.rank - (int32_t)as.d[0]);
        return set_rank(g, n, 0, dtype, -1);
    }
    if (ak == AXES_NONE) {
        for (int32_t i = 0; i < x.rank; i++) {
            if (x.d[i] < 0) return set_rank(g, n, 0, dtype, -1); /* might be 1 */
            if (x.d[i] != 1) sh_copy_dim(&y, y.rank++, &x, i);
        }
        return set_shape(g, n, 0, dtype, &y);
    }
    bool mask[SR_MAX];
    prism_status st = axes_mask(axes, cnt, x.rank, mask, "Squeeze");
    if (st) return st;
    for (int32_t i = 0; i < x.rank; i++) {
        if (!mask[i]) {
            sh_copy_dim(&y, y.rank++, &x, i);
        } else if (x.d[i] >= 0 && x.d[i] != 1) {
            sbuf sa;
            return bad("Squeeze of axis %d of %s, which is %lld, not 1", i, sh_str(&x, &sa), (long long)x.d[i]);
        }
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_unsqueeze(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t axes[SR_MAX];
    size_t cnt;
    axes_kind ak = get_axes(g, n, 13, 1, axes, &cnt);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    if (ak == AXES_UNKNOWN) {
        shp as;
        if (n->opset >= 13 && in_shape(g, n, 1, &as) && as.rank == 1 && as.d[0] >= 0 && x.rank + as.d[0] <= SR_MAX)
            return set_rank(g, n, 0, dtype, x.rank + (int32_t)as.d[0]);
        return set_rank(g, n, 0, dtype, -1);
    }
    if (x.rank + (int64_t)cnt > SR_MAX) return set_rank(g, n, 0, dtype, -1);
    int32_t r = x.rank + (int32_t)cnt;
    bool mask[SR_MAX];
    prism_status st = axes_mask(axes, cnt, r, mask, "Unsqueeze");
    if (st) return st;
    y.rank = r;
    for (int32_t i = 0, j = 0; i < r; i++) {
        if (mask[i]) sh_dim(&y, i, 1, NULL);
        else sh_copy_dim(&y, i, &x, j++);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_transpose(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    const int64_t *perm;
    size_t cnt;
    y.rank = x.rank;
    if (a_ints(n, "perm", &perm, &cnt) && cnt) {
        sbuf sa;
        if (cnt != (size_t)x.rank)
            return bad("Transpose perm has %zu entries for the input %s of rank %d", cnt, sh_str(&x, &sa), x.rank);
        bool seen[SR_MAX] = {false};
        for (size_t i = 0; i < cnt; i++) {
            if (perm[i] < 0 || perm[i] >= x.rank || seen[perm[i]])
                return bad("Transpose perm is not a permutation of 0..%d (entry %zu is %lld)", x.rank - 1, i,
                           (long long)perm[i]);
            seen[perm[i]] = true;
            sh_copy_dim(&y, (int32_t)i, &x, (int32_t)perm[i]);
        }
    } else {
        for (int32_t i = 0; i < x.rank; i++) sh_copy_dim(&y, i, &x, x.rank - 1 - i);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_concat(pr_graph *g, pr_node *n) {
    int32_t dtype = first_dtype(g, n, 0, n->n_inputs);
    if (!a_has(n, "axis") && n->opset >= 4) return set_rank(g, n, 0, dtype, -1);
    int64_t axis_attr = a_int(n, "axis", 1);
    int32_t rank = -1;
    uint32_t first = 0;
    sbuf sa, sb;
    shp s0;
    for (uint32_t k = 0; k < n->n_inputs; k++) {
        shp s;
        if (!pr_in(g, n, k) || !in_shape(g, n, k, &s)) continue;
        if (rank < 0) {
            rank = s.rank;
            first = k;
            s0 = s;
        } else if (s.rank != rank) {
            return bad("Concat inputs %u %s and %u %s have different ranks", first, sh_str(&s0, &sa), k,
                       sh_str(&s, &sb));
        }
    }
    if (rank < 0) return set_rank(g, n, 0, dtype, -1);
    int32_t axis = 0;
    prism_status st = norm_axis(axis_attr, rank, &axis, "Concat axis");
    if (st) return st;
    shp y;
    sh_unknown_dims(&y, rank);
    int64_t sum = 0;
    bool sum_ok = true;
    uint32_t n_present = 0;
    for (uint32_t k = 0; k < n->n_inputs; k++) {
        shp s;
        if (!pr_in(g, n, k)) continue;
        n_present++;
        if (!in_shape(g, n, k, &s)) {
            sum_ok = false;
            continue;
        }
        for (int32_t i = 0; i < rank; i++) {
            if (i == axis) continue;
            if (s.d[i] >= 0) {
                if (y.d[i] >= 0 && y.d[i] != s.d[i])
                    return bad("Concat on axis %d: input %u %s and input %u %s differ in dim %d (%lld vs %lld)", axis,
                               first, sh_str(&s0, &sa), k, sh_str(&s, &sb), i, (long long)y.d[i], (long long)s.d[i]);
                sh_dim(&y, i, s.d[i], NULL);
            } else if (y.d[i] < 0 && !y.p[i]) {
                y.p[i] = s.p[i];
            }
        }
        if (s.d[axis] < 0 || !d_add(sum, s.d[axis], &sum)) sum_ok = false;
    }
    if (sum_ok) sh_dim(&y, axis, sum, NULL);
    else if (n_present == 1) sh_copy_dim(&y, axis, &s0, axis);
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_split(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    uint32_t nout = n->n_outputs;
    if (!in_shape(g, n, 0, &x) || nout == 0) {
        for (uint32_t k = 0; k < nout; k++) set_rank(g, n, k, dtype, -1);
        return PRISM_OK;
    }
    int32_t axis = 0;
    prism_status st = norm_axis(a_int(n, "axis", 0), x.rank, &axis, "Split axis");
    if (st) return st;
    int64_t sizes[SR_MAX];
    size_t cnt = 0;
    bool have = false, unknown = false;
    const int64_t *av;
    if ((n->opset >= 13 || n->opset == 1) && pr_in(g, n, 1)) {
        have = const_ints(g, n, 1, sizes, SR_MAX, &cnt);
        unknown = !have;
    } else if (a_ints(n, "split", &av, &cnt) && cnt) {
        have = cnt <= SR_MAX;
        unknown = !have;
        if (have) memcpy(sizes, av, cnt * sizeof *av);
    }
    int64_t dim = x.d[axis];
    sbuf sa;
    if (have) {
        if (cnt != nout) return bad("Split gives %zu sizes for %u outputs", cnt, nout);
        int64_t sum = 0;
        for (size_t i = 0; i < cnt; i++)
            if (sizes[i] < 0 || !d_add(sum, sizes[i], &sum)) return bad("Split size %zu is %lld", i, (long long)sizes[i]);
        if (dim >= 0 && sum != dim)
            return bad("Split sizes add up to %lld but axis %d of %s is %lld", (long long)sum, axis, sh_str(&x, &sa),
                       (long long)dim);
    }
    int64_t chunk = dim >= 0 ? dim / nout + (dim % nout != 0) : -1;
    for (uint32_t k = 0; k < nout; k++) {
        shp y = x;
        int64_t d = -1;
        if (have) d = sizes[k];
        else if (!unknown && dim >= 0) {
            d = k + 1 < nout ? chunk : dim - chunk * (int64_t)(nout - 1);
            if (dim - chunk * (int64_t)(nout - 1) < 0) d = -1;
        }
        sh_dim(&y, axis, d, NULL);
        if (nout == 1 && !have) sh_copy_dim(&y, axis, &x, axis);
        if ((st = set_shape(g, n, k, dtype, &y))) return st;
    }
    return PRISM_OK;
}

/* Number of elements a Slice keeps of a dim of size dim. */
static int64_t slice_len(int64_t dim, int64_t start, int64_t end, int64_t step) {
    if (dim == 0) return 0;
    if (start < 0) start += dim;
    if (end < 0) end += dim;
    if (step > 0) {
        start = start < 0 ? 0 : start > dim ? dim : start;
        end = end < 0 ? 0 : end > dim ? dim : end;
        if (end <= start) return 0;
        uint64_t diff = (uint64_t)(end - start);
        return (int64_t)((diff + (uint64_t)step - 1) / (uint64_t)step);
    }
    start = start < 0 ? 0 : start > dim - 1 ? dim - 1 : start;
    end = end < -1 ? -1 : end > dim - 1 ? dim - 1 : end;
    if (start <= end) return 0;
    uint64_t diff = (uint64_t)(start - end), st = (uint64_t)0 - (uint64_t)step;
    return (int64_t)((diff + st - 1) / st);
}

static prism_status r_slice(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    int64_t starts[SR_MAX], ends[SR_MAX], axes[SR_MAX], steps[SR_MAX];
    size_t ns = 0, ne = 0, na = 0, nst = 0;
    bool hs, he, ha, hst;
    const int64_t *av;
    if (n->opset < 10) {
        hs = a_ints(n, "starts", &av, &ns) && ns <= SR_MAX;
        if (hs && ns) memcpy(starts, av, ns * sizeof *av);
        he = a_ints(n, "ends", &av, &ne) && ne <= SR_MAX;
        if (he && ne) memcpy(ends, av, ne * sizeof *av);
        ha = true;
        if (a_ints(n, "axes", &av, &na)) {
            ha = na <= SR_MAX;
            if (ha && na) memcpy(axes, av, na * sizeof *av);
        } else {
            na = (size_t)-1;
        }
        hst = true;
        nst = (size_t)-1;
    } else {
        hs = const_ints(g, n, 1, starts, SR_MAX, &ns);
        he = const_ints(g, n, 2, ends, SR_MAX, &ne);
        ha = true;
        na = (size_t)-1;
        if (pr_in(g, n, 3)) ha = const_ints(g, n, 3, axes, SR_MAX, &na);
        hst = true;
        nst = (size_t)-1;
        if (pr_in(g, n, 4)) hst = const_ints(g, n, 4, steps, SR_MAX, &nst);
    }
    y = x;
    if (!hs || !he || !ha || !hst) {
        /* Values unknown: the sliced axes lose their dims, the rest stay. */
        bool mask[SR_MAX];
        if (ha && na != (size_t)-1) {
            if (axes_mask(axes, na, x.rank, mask, "Slice")) return set_rank(g, n, 0, dtype, x.rank);
        } else if (!ha) {
            for (int32_t i = 0; i < x.rank; i++) mask[i] = true; /* axes unknown: any dim may change */
        } else {
            shp ss;
            int64_t k = hs ? (int64_t)ns : he ? (int64_t)ne : -1;
            if (k < 0 && n->opset >= 10 && in_shape(g, n, 1, &ss) && ss.rank == 1) k = ss.d[0];
            if (k < 0 || k > x.rank) return set_rank(g, n, 0, dtype, x.rank);
            for (int32_t i = 0; i < x.rank; i++) mask[i] = i < k;
        }
        for (int32_t i = 0; i < x.rank; i++)
            if (mask[i]) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    if (ns != ne) return bad("Slice has %zu starts but %zu ends", ns, ne);
    if (na == (size_t)-1) {
        if (ns > (size_t)x.rank) return bad("Slice has %zu starts for an input of rank %d", ns, x.rank);
        na = ns;
        for (size_t i = 0; i < na; i++) axes[i] = (int64_t)i;
    }
    if (nst == (size_t)-1) {
        nst = ns;
        for (size_t i = 0; i < nst; i++) steps[i] = 1;
    }
    if (na != ns || nst != ns) return bad("Slice has %zu starts, %zu axes and %zu steps", ns, na, nst);
    bool mask[SR_MAX];
    prism_status st = axes_mask(axes, na, x.rank, mask, "Slice");
    if (st) return st;
    for (size_t i = 0; i < ns; i++) {
        int32_t a = (int32_t)(axes[i] < 0 ? axes[i] + x.rank : axes[i]);
        int64_t dim = x.d[a], s = starts[i], e = ends[i], stp = steps[i];
        if (stp == 0) {
            sh_dim(&y, a, -1, NULL); /* invalid: the kernel reports it */
            continue;
        }
        if (dim >= 0) {
            sh_dim(&y, a, slice_len(dim, s, e, stp), NULL);
        } else if ((stp == 1 && s == 0 && e >= PR_MAX_ELEMENTS) ||
                   (stp == -1 && (s == -1 || s >= PR_MAX_ELEMENTS) && e <= -PR_MAX_ELEMENTS)) {
            /* the whole dim, forwards or backwards: unchanged (symbol kept) */
        } else {
            sh_dim(&y, a, -1, NULL);
        }
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_gather(pr_graph *g, pr_node *n) {
    shp x, ind, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    sbuf sa;
    if (x.rank == 0) return bad("Gather from a scalar");
    int32_t axis = 0;
    prism_status st = norm_axis(a_int(n, "axis", 0), x.rank, &axis, "Gather axis");
    if (st) return st;
    if (!in_shape(g, n, 1, &ind)) return set_rank(g, n, 0, dtype, -1);
    if (x.rank + ind.rank - 1 > SR_MAX) return set_rank(g, n, 0, dtype, -1);
    (void)sa;
    y.rank = 0;
    for (int32_t i = 0; i < axis; i++) sh_copy_dim(&y, y.rank++, &x, i);
    for (int32_t i = 0; i < ind.rank; i++) sh_copy_dim(&y, y.rank++, &ind, i);
    for (int32_t i = axis + 1; i < x.rank; i++) sh_copy_dim(&y, y.rank++, &x, i);
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_gather_elements(pr_graph *g, pr_node *n) {
    shp x, ind;
    bool hx = in_shape(g, n, 0, &x), hi = in_shape(g, n, 1, &ind);
    if (hx && hi && x.rank != ind.rank) {
        sbuf sa, sb;
        return bad("%s data %s and indices %s have different ranks", n->op_type, sh_str(&x, &sa), sh_str(&ind, &sb));
    }
    if (hx && x.rank > 0) {
        int32_t axis = 0;
        prism_status st = norm_axis(a_int(n, "axis", 0), x.rank, &axis, "axis");
        if (st) return st;
    }
    return set_shape(g, n, 0, in_dtype(g, n, 0), &ind);
}

static prism_status r_gather_nd(pr_graph *g, pr_node *n) {
    shp x, ind, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t b = a_int(n, "batch_dims", 0);
    if (!in_shape(g, n, 0, &x) || !in_shape(g, n, 1, &ind) || ind.rank < 1) return set_rank(g, n, 0, dtype, -1);
    int64_t last = ind.d[ind.rank - 1];
    if (last < 0 || b < 0) return set_rank(g, n, 0, dtype, -1);
    if (b + last > x.rank) {
        sbuf sa, sb;
        return bad("GatherND indices %s index %lld dims past batch_dims %lld of data %s", sh_str(&ind, &sb),
                   (long long)last, (long long)b, sh_str(&x, &sa));
    }
    y.rank = 0;
    for (int32_t i = 0; i < ind.rank - 1; i++) sh_copy_dim(&y, y.rank++, &ind, i);
    for (int32_t i = (int32_t)(b + last); i < x.rank && y.rank < SR_MAX; i++) sh_copy_dim(&y, y.rank++, &x, i);
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_expand(pr_graph *g, pr_node *n) {
    shp x, s, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t v[SR_MAX];
    size_t k;
    in_shape(g, n, 0, &x);
    if (const_ints(g, n, 1, v, SR_MAX, &k)) {
        s.rank = (int32_t)k;
        for (size_t i = 0; i < k; i++) {
            if (v[i] < 0) return bad("Expand shape entry %zu is %lld", i, (long long)v[i]);
            sh_dim(&s, (int32_t)i, v[i], NULL);
        }
    } else {
        shp ss;
        if (!in_shape(g, n, 1, &ss) || ss.rank != 1 || ss.d[0] < 0 || ss.d[0] > SR_MAX)
            return set_rank(g, n, 0, dtype, -1);
        sh_unknown_dims(&s, (int32_t)ss.d[0]);
    }
    if (x.rank < 0) return set_rank(g, n, 0, dtype, -1);
    prism_status st = bcast2(&y, &x, &s);
    if (st) return st;
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_constant_of_shape(pr_graph *g, pr_node *n) {
    const pr_attr *a = pr_node_attr(n, "value");
    int32_t dtype = a && a->type == PRISM_ATTR_TENSOR && a->tensors ? a->tensors[0].dtype : PRISM_DTYPE_FLOAT;
    int64_t v[SR_MAX];
    size_t k;
    shp y;
    if (const_ints(g, n, 0, v, SR_MAX, &k)) {
        y.rank = (int32_t)k;
        for (size_t i = 0; i < k; i++) {
            if (v[i] < 0) return bad("ConstantOfShape shape entry %zu is %lld", i, (long long)v[i]);
            sh_dim(&y, (int32_t)i, v[i], NULL);
        }
        return set_shape(g, n, 0, dtype, &y);
    }
    shp ss;
    if (in_shape(g, n, 0, &ss) && ss.rank == 1 && ss.d[0] >= 0 && ss.d[0] <= SR_MAX)
        return set_rank(g, n, 0, dtype, (int32_t)ss.d[0]);
    return set_rank(g, n, 0, dtype, -1);
}

static prism_status r_constant(pr_graph *g, pr_node *n) {
    /* Forms pr_fold_constants left in place (strings, sparse). */
    const pr_attr *a = n->n_attrs == 1 ? &n->attrs[0] : NULL;
    if (!a) return PRISM_OK;
    if (!strcmp(a->name, "value") && a->type == PRISM_ATTR_TENSOR && a->tensors) {
        const pr_const *t = &a->tensors[0];
        if (t->rank > SR_MAX) return PRISM_OK;
        return pr_set_out(g, n, 0, t->dtype, (int32_t)t->rank, t->dims, NULL);
    }
    if (!strcmp(a->name, "value_string") && a->type == PRISM_ATTR_STRING)
        return pr_set_out(g, n, 0, PRISM_DTYPE_STRING, 0, NULL, NULL);
    if (!strcmp(a->name, "value_strings") && a->type == PRISM_ATTR_STRINGS) {
        int64_t c = (int64_t)a->count;
        return pr_set_out(g, n, 0, PRISM_DTYPE_STRING, 1, &c, NULL);
    }
    if (!strcmp(a->name, "value_float") && a->type == PRISM_ATTR_FLOAT)
        return pr_set_out(g, n, 0, PRISM_DTYPE_FLOAT, 0, NULL, NULL);
    if (!strcmp(a->name, "value_int") && a->type == PRISM_ATTR_INT)
        return pr_set_out(g, n, 0, PRISM_DTYPE_INT64, 0, NULL, NULL);
    if (!strcmp(a->name, "value_floats") && a->type == PRISM_ATTR_FLOATS) {
        int64_t c = (int64_t)a->count;
        return pr_set_out(g, n, 0, PRISM_DTYPE_FLOAT, 1, &c, NULL);
    }
    if (!strcmp(a->name, "value_ints") && a->type == PRISM_ATTR_INTS) {
        int64_t c = (int64_t)a->count;
        return pr_set_out(g, n, 0, PRISM_DTYPE_INT64, 1, &c, NULL);
    }
    return PRISM_OK;
}

static prism_status r_range(pr_graph *g, pr_node *n) {
    int32_t dtype = first_dtype(g, n, 0, 3);
    int64_t len = -1;
    double s, l, d;
    if (const_scalar(g, n, 0, &s) && const_scalar(g, n, 1, &l) && const_scalar(g, n, 2, &d) && d != 0 &&
        isfinite(s) && isfinite(l) && isfinite(d)) {
        const pr_const *c0 = in_const(g, n, 0);
        if (c0->dtype == PRISM_DTYPE_INT64 || c0->dtype == PRISM_DTYPE_INT32 || c0->dtype == PRISM_DTYPE_INT16 ||
            c0->dtype == PRISM_DTYPE_INT8 || c0->dtype == PRISM_DTYPE_UINT8 || c0->dtype == PRISM_DTYPE_UINT16 ||
            c0->dtype == PRISM_DTYPE_UINT32) {
            /* exact in integers (these values fit a double only when small) */
            if (fabs(s) < 9e15 && fabs(l) < 9e15 && fabs(d) < 9e15) {
                int64_t si = (int64_t)s, li = (int64_t)l, di = (int64_t)d;
                uint64_t dist = di > 0 ? (li > si ? (uint64_t)(li - si) : 0) : (si > li ? (uint64_t)(si - li) : 0);
                uint64_t step = di > 0 ? (uint64_t)di : (uint64_t)(-di);
                len = (int64_t)(dist / step + (dist % step != 0));
            }
        } else if (c0->dtype == PRISM_DTYPE_FLOAT || c0->dtype == PRISM_DTYPE_DOUBLE) {
            double c = ceil((l - s) / d);
            if (c < (double)PR_MAX_ELEMENTS) len = c > 0 ? (int64_t)c : 0;
        }
    }
    return pr_set_out(g, n, 0, dtype, 1, &len, NULL);
}

static prism_status r_tile(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t rep[SR_MAX];
    size_t k;
    if (!in_shape(g, n, 0, &x)) {
        shp rs;
        if (in_shape(g, n, 1, &rs) && rs.rank == 1 && rs.d[0] >= 0 && rs.d[0] <= SR_MAX)
            return set_rank(g, n, 0, dtype, (int32_t)rs.d[0]);
        return set_rank(g, n, 0, dtype, -1);
    }
    y = x;
    if (!const_ints(g, n, 1, rep, SR_MAX, &k)) {
        for (int32_t i = 0; i < x.rank; i++) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    sbuf sa;
    if (k != (size_t)x.rank) return bad("Tile repeats has %zu entries for the input %s", k, sh_str(&x, &sa));
    for (int32_t i = 0; i < x.rank; i++) {
        int64_t o;
        if (rep[i] < 0) return bad("Tile repeats entry %d is %lld", i, (long long)rep[i]);
        if (rep[i] == 1) continue;
        if (x.d[i] >= 0 && d_mul(x.d[i], rep[i], &o)) sh_dim(&y, i, o, NULL);
        else sh_dim(&y, i, rep[i] == 0 ? 0 : -1, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_pad(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    int64_t pads[2 * SR_MAX] = {0}, axes[SR_MAX] = {0};
    size_t np = 0, na = 0;
    bool have;
    const int64_t *av;
    y = x;
    if (n->opset < 11) {
        have = (a_ints(n, "pads", &av, &np) || a_ints(n, "paddings", &av, &np)) && np <= 2 * SR_MAX;
        if (have && np) memcpy(pads, av, np * sizeof *av);
    } else {
        have = const_ints(g, n, 1, pads, 2 * SR_MAX, &np);
    }
    bool ax_known = true;
    if (n->opset >= 18 && pr_in(g, n, 3)) {
        ax_known = const_ints(g, n, 3, axes, SR_MAX, &na);
    } else {
        na = (size_t)x.rank;
        for (size_t i = 0; i < na; i++) axes[i] = (int64_t)i;
    }
    if (!have || !ax_known) {
        for (int32_t i = 0; i < x.rank; i++) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    sbuf sa;
    if (np != 2 * na) return bad("Pad has %zu pads for %zu axes of the input %s", np, na, sh_str(&x, &sa));
    bool mask[SR_MAX];
    prism_status st = axes_mask(axes, na, x.rank, mask, "Pad");
    if (st) return st;
    for (size_t i = 0; i < na; i++) {
        int32_t a = (int32_t)(axes[i] < 0 ? axes[i] + x.rank : axes[i]);
        int64_t pb = pads[i], pe = pads[i + na], o;
        if (pb == 0 && pe == 0) continue;
        if (x.d[a] < 0 || !d_sane(pb) || !d_sane(pe) || !d_add(x.d[a], pb, &o) || !d_add(o, pe, &o)) {
            sh_dim(&y, a, -1, NULL);
            continue;
        }
        if (o < 0)
            return bad("Pad of axis %d of %s by %lld and %lld leaves %lld elements", a, sh_str(&x, &sa), (long long)pb,
                       (long long)pe, (long long)o);
        sh_dim(&y, a, o, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_depth_to_space(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, 4);
    sbuf sa;
    if (x.rank != 4) return bad("%s input %s must have rank 4", n->op_type, sh_str(&x, &sa));
    int64_t b = a_int(n, "blocksize", 0), bb;
    y = x;
    if (b < 1 || !d_mul(b, b, &bb)) {
        for (int32_t i = 1; i < 4; i++) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    bool d2s = !strcmp(n->op_type, "DepthToSpace");
    for (int32_t i = 1; i < 4; i++) {
        int64_t d = x.d[i], o = -1, div = i == 1 ? bb : b;
        bool shrink = (i == 1) == d2s;
        if (d >= 0) {
            if (shrink) {
                if (d % div) return bad("%s: dim %d of %s is not divisible by %lld", n->op_type, i, sh_str(&x, &sa),
                                        (long long)div);
                o = d / div;
            } else if (!d_mul(d, div, &o)) {
                o = -1;
            }
        }
        sh_dim(&y, i, o, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

/* ======================================================================
 * Reductions, ArgMax/ArgMin, TopK
 * ====================================================================== */

static prism_status reduce_out(pr_graph *g, pr_node *n, int32_t dtype, const int64_t *axes, size_t cnt, bool all,
                               bool keep) {
    shp x, y;
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    bool mask[SR_MAX];
    if (all) {
        for (int32_t i = 0; i < x.rank; i++) mask[i] = true;
    } else {
        prism_status st = axes_mask(axes, cnt, x.rank, mask, n->op_type);
        if (st) return st;
    }
    y.rank = 0;
    for (int32_t i = 0; i < x.rank; i++) {
        if (!mask[i]) sh_copy_dim(&y, y.rank++, &x, i);
        else if (keep) sh_dim(&y, y.rank++, 1, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_reduce(pr_graph *g, pr_node *n) {
    int32_t dtype = in_dtype(g, n, 0);
    bool keep = a_int(n, "keepdims", 1) != 0;
    int64_t from = !strcmp(n->op_type, "ReduceSum") ? 13 : 18;
    int64_t axes[SR_MAX];
    size_t cnt;
    axes_kind ak = get_axes(g, n, from, 1, axes, &cnt);
    if (ak == AXES_UNKNOWN) {
        shp x;
        if (keep && in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, x.rank);
        return set_rank(g, n, 0, dtype, -1);
    }
    if (ak == AXES_NONE) {
        if (n->opset >= from && a_int(n, "noop_with_empty_axes", 0)) return r_same(g, n);
        return reduce_out(g, n, dtype, NULL, 0, true, keep);
    }
    return reduce_out(g, n, dtype, axes, cnt, false, keep);
}

static prism_status r_argmax(pr_graph *g, pr_node *n) {
    shp x;
    int64_t axis = a_int(n, "axis", 0);
    if (in_shape(g, n, 0, &x) && x.rank == 0) return bad("%s of a scalar", n->op_type);
    return reduce_out(g, n, PRISM_DTYPE_INT64, &axis, 1, false, a_int(n, "keepdims", 1) != 0);
}

static prism_status r_topk(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) {
        set_rank(g, n, 1, PRISM_DTYPE_INT64, -1);
        return set_rank(g, n, 0, dtype, -1);
    }
    sbuf sa;
    if (x.rank == 0) return bad("TopK of a scalar");
    int32_t axis = 0;
    prism_status st = norm_axis(a_int(n, "axis", -1), x.rank, &axis, "TopK axis");
    if (st) return st;
    int64_t k = -1, kv[1];
    size_t cnt;
    if (n->opset < 10) k = a_int(n, "k", -1);
    else if (const_ints(g, n, 1, kv, 1, &cnt) && cnt == 1) k = kv[0];
    if (k < -1 || (k >= 0 && x.d[axis] >= 0 && k > x.d[axis]))
        return bad("TopK k = %lld but axis %d of %s has %lld elements", (long long)k, axis, sh_str(&x, &sa),
                   (long long)x.d[axis]);
    sh_dim(&x, axis, k, NULL);
    st = set_shape(g, n, 0, dtype, &x);
    if (!st) st = set_shape(g, n, 1, PRISM_DTYPE_INT64, &x);
    return st;
}

/* ======================================================================
 * Other tensor ops
 * ====================================================================== */

static prism_status r_one_hot(pr_graph *g, pr_node *n) {
    shp ind, y;
    int32_t dtype = in_dtype(g, n, 2);
    if (!in_shape(g, n, 0, &ind) || ind.rank + 1 > SR_MAX) return set_rank(g, n, 0, dtype, -1);
    int32_t r = ind.rank + 1;
    int64_t axis = a_int(n, "axis", -1);
    if (axis < -(int64_t)r || axis >= r) return bad("OneHot axis %lld is out of range for rank %d", (long long)axis, r);
    if (axis < 0) axis += r;
    double depth;
    int64_t dv = -1;
    if (const_scalar(g, n, 1, &depth) && depth >= 1 && depth < (double)PR_MAX_ELEMENTS && depth == floor(depth))
        dv = (int64_t)depth;
    y.rank = r;
    for (int32_t i = 0, j = 0; i < r; i++) {
        if (i == axis) sh_dim(&y, i, dv, NULL);
        else sh_copy_dim(&y, i, &ind, j++);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_nonzero(pr_graph *g, pr_node *n) {
    shp x;
    int64_t dims[2] = {-1, -1};
    if (in_shape(g, n, 0, &x)) dims[0] = x.rank;
    return pr_set_out(g, n, 0, PRISM_DTYPE_INT64, 2, dims, NULL);
}

static prism_status r_compress(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    if (!a_has(n, "axis")) {
        int64_t d = -1;
        return pr_set_out(g, n, 0, dtype, 1, &d, NULL);
    }
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    int32_t axis = 0;
    prism_status st = norm_axis(a_int(n, "axis", 0), x.rank, &axis, "Compress axis");
    if (st) return st;
    sh_dim(&x, axis, -1, NULL);
    return set_shape(g, n, 0, dtype, &x);
}

static prism_status r_quantize(pr_graph *g, pr_node *n) {
    shp x;
    in_shape(g, n, 0, &x);
    int32_t dt = in_dtype(g, n, 2);
    int64_t od = a_int(n, "output_dtype", 0);
    if (!dt && od > 0 && od <= PRISM_DTYPE_BFLOAT16) dt = (int32_t)od;
    if (!dt && !pr_in(g, n, 2) && od == 0) dt = PRISM_DTYPE_UINT8;
    return set_shape(g, n, 0, dt, &x);
}

static prism_status r_dequantize(pr_graph *g, pr_node *n) {
    shp x;
    in_shape(g, n, 0, &x);
    int32_t dt = n->opset >= 19 ? in_dtype(g, n, 1) : PRISM_DTYPE_FLOAT;
    int64_t od = a_int(n, "output_dtype", 0);
    if (od > 0 && od <= PRISM_DTYPE_BFLOAT16) dt = (int32_t)od;
    return set_shape(g, n, 0, dt, &x);
}

/* ======================================================================
 * Quantisation, recurrent nets, losses, resizing and other model ops
 * ====================================================================== */

static prism_status r_dynamic_quantize(pr_graph *g, pr_node *n) {
    shp x;
    in_shape(g, n, 0, &x);
    prism_status st = set_shape(g, n, 0, PRISM_DTYPE_UINT8, &x);
    if (!st) st = set_rank(g, n, 1, PRISM_DTYPE_FLOAT, 0);
    if (!st) st = set_rank(g, n, 2, PRISM_DTYPE_UINT8, 0);
    return st;
}

/* RNN, GRU, LSTM: Y [seq, dirs, batch, hidden] (layout 1: [batch, seq,
 * dirs, hidden]), Y_h / Y_c [dirs, batch, hidden] ([batch, dirs, hidden]). */
static prism_status r_rnn(pr_graph *g, pr_node *n) {
    shp x, w, r;
    int32_t dtype = in_dtype(g, n, 0);
    bool hx = in_shape(g, n, 0, &x) && x.rank == 3, hw = in_shape(g, n, 1, &w) && w.rank == 3;
    bool hr = in_shape(g, n, 2, &r) && r.rank == 3;
    int64_t layout = n->opset >= 14 ? a_int(n, "layout", 0) : 0;
    const char *dir = a_str(n, "direction", "forward");
    int64_t dirs = !strcmp(dir, "bidirectional") ? 2 : !strcmp(dir, "forward") || !strcmp(dir, "reverse") ? 1 : -1;
    if (dirs < 0 && hw) dirs = w.d[0];
    int64_t hidden = a_int(n, "hidden_size", -1);
    if (hidden < 0 && hr) hidden = r.d[2];
    shp seq, batch, hid;
    sh_unknown_dims(&seq, 1);
    sh_unknown_dims(&batch, 1);
    if (hx) {
        sh_copy_dim(&seq, 0, &x, layout ? 1 : 0);
        sh_copy_dim(&batch, 0, &x, layout ? 0 : 1);
    }
    sh_unknown_dims(&hid, 1);
    sh_dim(&hid, 0, hidden, NULL);
    shp y;
    y.rank = 4;
    if (layout) {
        sh_copy_dim(&y, 0, &batch, 0);
        sh_copy_dim(&y, 1, &seq, 0);
        sh_dim(&y, 2, dirs, NULL);
    } else {
        sh_copy_dim(&y, 0, &seq, 0);
        sh_dim(&y, 1, dirs, NULL);
        sh_copy_dim(&y, 2, &batch, 0);
    }
    sh_copy_dim(&y, 3, &hid, 0);
    prism_status st = set_shape(g, n, 0, dtype, &y);
    shp h;
    h.rank = 3;
    sh_dim(&h, layout ? 1 : 0, dirs, NULL);
    sh_copy_dim(&h, layout ? 0 : 1, &batch, 0);
    sh_copy_dim(&h, 2, &hid, 0);
    for (uint32_t k = 1; k < n->n_outputs && !st; k++) st = set_shape(g, n, k, dtype, &h);
    return st;
}

/* NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss: the loss is the
 * target's shape with reduction "none", else a scalar. */
static prism_status r_loss(pr_graph *g, pr_node *n) {
    shp t, x;
    int32_t dtype = in_dtype(g, n, 0);
    const char *red = a_str(n, "reduction", "mean");
    prism_status st;
    if (!strcmp(red, "none")) {
        in_shape(g, n, 1, &t);
        st = set_shape(g, n, 0, dtype, &t);
    } else if (!strcmp(red, "mean") || !strcmp(red, "sum")) {
        st = set_rank(g, n, 0, dtype, 0);
    } else {
        st = set_rank(g, n, 0, dtype, -1);
    }
    if (!st && n->n_outputs > 1) { /* SoftmaxCrossEntropyLoss's log_prob */
        in_shape(g, n, 0, &x);
        st = set_shape(g, n, 1, dtype, &x);
    }
    return st;
}

/* Float constant input values (at most cap). */
static bool const_floats(pr_graph *g, const pr_node *n, uint32_t k, double *buf, size_t cap, size_t *count) {
    const pr_const *c = in_const(g, n, k);
    *count = 0;
    if (!c || c->count < 0 || (size_t)c->count > cap || (c->count && !c->data)) return false;
    for (int64_t i = 0; i < c->count; i++) {
        if (c->dtype == PRISM_DTYPE_FLOAT) {
            float f;
            memcpy(&f, (const char *)c->data + i * 4, 4);
            buf[i] = f;
        } else if (c->dtype == PRISM_DTYPE_DOUBLE) {
            memcpy(&buf[i], (const char *)c->data + i * 8, 8);
        } else {
            return false;
        }
    }
    *count = (size_t)c->count;
    return true;
}

/* Resize (opset 10: X, scales; 11+: X, roi, scales, sizes; 18+: axes and
 * keep_aspect_ratio_policy) and Upsample (scales attribute before opset 9,
 * input after). Sizes as the ONNX reference computes them: from scales
 * trunc(scale * dim) in double precision (the float scale widened), from
 * sizes as given, or with not_larger / not_smaller one common scale and
 * round-half-up. */
static prism_status r_resize(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    y = x;
    bool up = !strcmp(n->op_type, "Upsample");
    /* The axes the scales / sizes refer to. */
    int32_t axes[SR_MAX];
    size_t n_ax = (size_t)x.rank;
    const int64_t *av;
    size_t na;
    if (!up && n->opset >= 18 && a_ints(n, "axes", &av, &na)) {
        bool mask[SR_MAX];
        prism_status st = axes_mask(av, na, x.rank, mask, "Resize");
        if (st) return st;
        for (size_t i = 0; i < na; i++) axes[i] = (int32_t)(av[i] < 0 ? av[i] + x.rank : av[i]);
        n_ax = na;
    } else {
        for (int32_t i = 0; i < x.rank; i++) axes[i] = i;
    }
    for (size_t i = 0; i < n_ax; i++) sh_dim(&y, axes[i], -1, NULL);
    int64_t sizes[SR_MAX];
    double scales[SR_MAX];
    size_t cnt = 0;
    const char *keep = !up && n->opset >= 18 ? a_str(n, "keep_aspect_ratio_policy", "stretch") : "stretch";
    if (!up && n->opset >= 11 && pr_in(g, n, 3) && const_ints(g, n, 3, sizes, SR_MAX, &cnt) && cnt) {
        if (cnt != n_ax) return set_shape(g, n, 0, dtype, &y);
        for (size_t i = 0; i < cnt; i++)
            if (sizes[i] < 0) return set_shape(g, n, 0, dtype, &y);
        if (!strcmp(keep, "stretch")) {
            for (size_t i = 0; i < cnt; i++) sh_dim(&y, axes[i], sizes[i], NULL);
        } else if (!strcmp(keep, "not_larger") || !strcmp(keep, "not_smaller")) {
            bool larger = keep[4] == 'l';
            double common = larger ? INFINITY : 0;
            for (size_t i = 0; i < cnt; i++) {
                int64_t d = x.d[axes[i]];
                if (d < 0) return set_shape(g, n, 0, dtype, &y);
                double sc = d > 0 ? (double)sizes[i] / (double)d : 1.0;
                if (larger ? sc < common : sc > common) common = sc;
            }
            for (size_t i = 0; i < cnt; i++) {
                double o = common * (double)x.d[axes[i]] + 0.5;
                sh_dim(&y, axes[i], o >= 0 && o < (double)PR_MAX_ELEMENTS ? (int64_t)o : -1, NULL);
            }
        }
        return set_shape(g, n, 0, dtype, &y);
    }
    bool have = false;
    if (up && n->opset < 9) {
        const pr_attr *a = pr_node_attr(n, "scales");
        if (a && a->type == PRISM_ATTR_FLOATS && a->count <= SR_MAX && a->floats) {
            cnt = a->count;
            for (size_t i = 0; i < cnt; i++) scales[i] = a->floats[i];
            have = true;
        }
    } else {
        uint32_t k = !up && n->opset >= 11 ? 2 : 1;
        have = pr_in(g, n, k) && const_floats(g, n, k, scales, SR_MAX, &cnt) && cnt;
    }
    if (have && cnt == n_ax)
        for (size_t i = 0; i < cnt; i++) {
            int64_t d = x.d[axes[i]];
            if (scales[i] == 1.0) {
                sh_copy_dim(&y, axes[i], &x, axes[i]);
            } else if (d >= 0 && scales[i] > 0 && isfinite(scales[i])) {
                double o = scales[i] * (double)d;
                sh_dim(&y, axes[i], o < (double)PR_MAX_ELEMENTS ? (int64_t)o : -1, NULL);
            }
        }
    return set_shape(g, n, 0, dtype, &y);
}

/* Einsum without ellipsis: every letter's dim from whichever input knows it. */
static prism_status r_einsum(pr_graph *g, pr_node *n) {
    int32_t dtype = first_dtype(g, n, 0, n->n_inputs);
    const char *eq = a_str(n, "equation", NULL);
    if (!eq || strstr(eq, "...")) return set_rank(g, n, 0, dtype, -1);
    int64_t dim[52];
    char *sym[52];
    int count[52] = {0};
    bool seen[52] = {false};
    for (int i = 0; i < 52; i++) dim[i] = -1, sym[i] = NULL;
    const char *p = eq;
    uint32_t k = 0;
    int pos = 0;
    shp x;
    bool hx = in_shape(g, n, 0, &x);
    for (; *p && strncmp(p, "->", 2); p++) {
        char c = *p;
        if (c == ' ') continue;
        if (c == ',') {
            if (hx && pos != x.rank) return set_rank(g, n, 0, dtype, -1);
            k++;
            pos = 0;
            hx = in_shape(g, n, k, &x);
            continue;
        }
        int l = c >= 'a' && c <= 'z' ? c - 'a' : c >= 'A' && c <= 'Z' ? 26 + c - 'A' : -1;
        if (l < 0) return set_rank(g, n, 0, dtype, -1);
        count[l]++;
        seen[l] = true;
        if (hx && pos < x.rank) {
            if (x.d[pos] >= 0 && x.d[pos] != 1 && dim[l] < 0) dim[l] = x.d[pos];
            else if (x.d[pos] < 0 && !sym[l] && dim[l] < 0) sym[l] = x.p[pos];
        }
        pos++;
    }
    if (hx && pos != x.rank) return set_rank(g, n, 0, dtype, -1);
    /* A dim of 1 may broadcast: only trust it when no input says more. */
    k = 0;
    pos = 0;
    hx = in_shape(g, n, 0, &x);
    int64_t ones[52];
    for (int i = 0; i < 52; i++) ones[i] = 0;
    for (const char *q = eq; *q && strncmp(q, "->", 2); q++) {
        if (*q == ' ') continue;
        if (*q == ',') {
            k++;
            pos = 0;
            hx = in_shape(g, n, k, &x);
            continue;
        }
        int l = *q >= 'a' && *q <= 'z' ? *q - 'a' : 26 + *q - 'A';
        if (hx && pos < x.rank && x.d[pos] == 1) ones[l]++;
        pos++;
    }
    for (int l = 0; l < 52; l++)
        if (dim[l] < 0 && !sym[l] && ones[l] == count[l] && count[l] > 0) dim[l] = 1;
    shp y;
    y.rank = 0;
    if (!strncmp(p, "->", 2)) {
        for (p += 2; *p; p++) {
            if (*p == ' ') continue;
            int l = *p >= 'a' && *p <= 'z' ? *p - 'a' : *p >= 'A' && *p <= 'Z' ? 26 + *p - 'A' : -1;
            if (l < 0 || !seen[l] || y.rank >= SR_MAX) return set_rank(g, n, 0, dtype, -1);
            sh_dim(&y, y.rank++, dim[l], sym[l]);
        }
    } else {
        /* implicit: the letters used once, in ASCII order (upper case first) */
        for (int pass = 0; pass < 2; pass++)
            for (int l = pass ? 0 : 26; l < (pass ? 26 : 52); l++)
                if (count[l] == 1) sh_dim(&y, y.rank++, dim[l], sym[l]);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_grid_sample(pr_graph *g, pr_node *n) {
    shp x, grid, y;
    int32_t dtype = in_dtype(g, n, 0);
    bool hx = in_shape(g, n, 0, &x), hg = in_shape(g, n, 1, &grid);
    int32_t rank = hx ? x.rank : hg ? grid.rank : -1;
    if (rank < 3 || (hx && hg && x.rank != grid.rank)) return set_rank(g, n, 0, dtype, rank >= 0 ? rank : -1);
    sh_unknown_dims(&y, rank);
    if (hx) {
        sh_copy_dim(&y, 0, &x, 0);
        sh_copy_dim(&y, 1, &x, 1);
    } else {
        sh_copy_dim(&y, 0, &grid, 0);
    }
    if (hg)
        for (int32_t i = 2; i < rank; i++) sh_copy_dim(&y, i, &grid, i - 1);
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_roi_align(pr_graph *g, pr_node *n) {
    shp x, rois, y;
    sh_unknown_dims(&y, 4);
    if (in_shape(g, n, 1, &rois) && rois.rank == 2) sh_copy_dim(&y, 0, &rois, 0);
    if (in_shape(g, n, 0, &x) && x.rank == 4) sh_copy_dim(&y, 1, &x, 1);
    sh_dim(&y, 2, a_int(n, "output_height", 1), NULL);
    sh_dim(&y, 3, a_int(n, "output_width", 1), NULL);
    return set_shape(g, n, 0, in_dtype(g, n, 0), &y);
}

static prism_status r_nms(pr_graph *g, pr_node *n) {
    int64_t dims[2] = {-1, 3};
    return pr_set_out(g, n, 0, PRISM_DTYPE_INT64, 2, dims, NULL);
}

static prism_status r_det(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x) || x.rank < 2) return set_rank(g, n, 0, dtype, -1);
    x.rank -= 2;
    return set_shape(g, n, 0, dtype, &x);
}

/* HannWindow, HammingWindow, BlackmanWindow: [size]. */
static prism_status r_window(pr_graph *g, pr_node *n) {
    int64_t dt = a_int(n, "output_datatype", PRISM_DTYPE_FLOAT);
    double size;
    int64_t len = -1;
    if (const_scalar(g, n, 0, &size) && size >= 0 && size < (double)PR_MAX_ELEMENTS && size == floor(size))
        len = (int64_t)size;
    return pr_set_out(g, n, 0, dt > 0 && dt <= PRISM_DTYPE_BFLOAT16 ? (int32_t)dt : 0, 1, &len, NULL);
}

static prism_status r_unique(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    prism_status st;
    int64_t unk = -1;
    if (a_has(n, "axis") && in_shape(g, n, 0, &x)) {
        int32_t axis = 0;
        if ((st = norm_axis(a_int(n, "axis", 0), x.rank, &axis, "Unique axis"))) return st;
        sh_dim(&x, axis, -1, NULL);
        st = set_shape(g, n, 0, dtype, &x);
    } else {
        st = pr_set_out(g, n, 0, dtype, a_has(n, "axis") ? -1 : 1, &unk, NULL);
    }
    for (uint32_t k = 1; k < 4 && !st; k++) st = pr_set_out(g, n, k, PRISM_DTYPE_INT64, 1, &unk, NULL);
    return st;
}

static prism_status r_max_unpool(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x) || x.rank < 3) return set_rank(g, n, 0, dtype, -1);
    int64_t os[SR_MAX];
    size_t cnt;
    y = x;
    if (pr_in(g, n, 2)) {
        if (const_ints(g, n, 2, os, SR_MAX, &cnt) && cnt == (size_t)x.rank)
            for (int32_t i = 0; i < x.rank; i++) sh_dim(&y, i, os[i], NULL);
        else
            for (int32_t i = 2; i < x.rank; i++) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    spatial p;
    spatial_params(n, x.rank - 2, NULL, &p);
    for (int32_t i = 0; i < x.rank - 2; i++) {
        int64_t o = -1, t;
        if (p.ok && x.d[2 + i] >= 0 && p.k[i] >= 1 && d_mul(x.d[2 + i] - 1, p.s[i], &t) && d_add(t, p.k[i], &t) &&
            d_add(t, -(p.pb[i] + p.pe[i]), &t) && t >= 0)
            o = t;
        sh_dim(&y, 2 + i, o, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_center_crop_pad(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x)) return set_rank(g, n, 0, dtype, -1);
    y = x;
    int64_t sh[SR_MAX];
    size_t cnt;
    const int64_t *ax;
    size_t na = 0;
    bool has_axes = a_ints(n, "axes", &ax, &na) && na;
    if (!const_ints(g, n, 1, sh, SR_MAX, &cnt)) {
        for (int32_t i = 0; i < x.rank; i++) sh_dim(&y, i, -1, NULL);
        return set_shape(g, n, 0, dtype, &y);
    }
    if (!has_axes && cnt != (size_t)x.rank) return set_rank(g, n, 0, dtype, x.rank);
    if (has_axes && na != cnt) return set_rank(g, n, 0, dtype, x.rank);
    for (size_t i = 0; i < cnt; i++) {
        int64_t a = has_axes ? ax[i] : (int64_t)i;
        if (a < 0) a += x.rank;
        if (a < 0 || a >= x.rank) return set_rank(g, n, 0, dtype, x.rank);
        sh_dim(&y, (int32_t)a, sh[i], NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

static prism_status r_deform_conv(pr_graph *g, pr_node *n) { return conv_out(g, n, 0, 1, in_dtype(g, n, 0)); }

/* Col2Im: [N, C * prod(block), L] -> [N, C, image_shape...]. */
static prism_status r_col2im(pr_graph *g, pr_node *n) {
    shp x, y;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t img[SR_MAX], blk[SR_MAX];
    size_t ni, nb;
    bool hi = const_ints(g, n, 1, img, SR_MAX - 2, &ni), hb = const_ints(g, n, 2, blk, SR_MAX - 2, &nb);
    bool hx = in_shape(g, n, 0, &x) && x.rank == 3;
    if (!hi) {
        shp is;
        if (in_shape(g, n, 1, &is) && is.rank == 1 && is.d[0] >= 0 && is.d[0] <= SR_MAX - 2)
            return set_rank(g, n, 0, dtype, 2 + (int32_t)is.d[0]);
        return set_rank(g, n, 0, dtype, -1);
    }
    sh_unknown_dims(&y, 2 + (int32_t)ni);
    if (hx) sh_copy_dim(&y, 0, &x, 0);
    for (size_t i = 0; i < ni; i++) sh_dim(&y, 2 + (int32_t)i, img[i], NULL);
    int64_t prod = 1;
    bool ok = hb && nb == ni;
    for (size_t i = 0; ok && i < nb; i++) ok = blk[i] > 0 && d_mul(prod, blk[i], &prod);
    if (ok && hx && x.d[1] >= 0) {
        if (x.d[1] % prod) {
            sbuf sa;
            return bad("Col2Im input %s: dim 1 is not divisible by the block size %lld", sh_str(&x, &sa),
                       (long long)prod);
        }
        sh_dim(&y, 1, x.d[1] / prod, NULL);
    }
    return set_shape(g, n, 0, dtype, &y);
}

/* AffineGrid: theta [N, 2, 3] / [N, 3, 4], size [N, C, H, W] / [N, C, D, H, W]
 * -> [N, H, W, 2] / [N, D, H, W, 3]. */
static prism_status r_affine_grid(pr_graph *g, pr_node *n) {
    int32_t dtype = in_dtype(g, n, 0);
    int64_t sz[5];
    size_t cnt;
    if (!const_ints(g, n, 1, sz, 5, &cnt) || (cnt != 4 && cnt != 5)) {
        shp ss;
        if (in_shape(g, n, 1, &ss) && ss.rank == 1 && (ss.d[0] == 4 || ss.d[0] == 5))
            return set_rank(g, n, 0, dtype, (int32_t)ss.d[0]);
        return set_rank(g, n, 0, dtype, -1);
    }
    int32_t r = (int32_t)cnt - 2;
    int64_t dims[5];
    dims[0] = sz[0];
    for (int32_t i = 0; i < r; i++) dims[1 + i] = sz[2 + i];
    dims[r + 1] = r;
    return pr_set_out(g, n, 0, dtype, r + 2, dims, NULL);
}

/* MaxRoiPool: [num_rois, C, pooled_h, pooled_w]. */
static prism_status r_max_roi_pool(pr_graph *g, pr_node *n) {
    shp x, rois, y;
    sh_unknown_dims(&y, 4);
    if (in_shape(g, n, 1, &rois) && rois.rank == 2) sh_copy_dim(&y, 0, &rois, 0);
    if (in_shape(g, n, 0, &x) && x.rank == 4) sh_copy_dim(&y, 1, &x, 1);
    const int64_t *ps;
    size_t cnt;
    if (a_ints(n, "pooled_shape", &ps, &cnt) && cnt == 2) {
        sh_dim(&y, 2, ps[0], NULL);
        sh_dim(&y, 3, ps[1], NULL);
    }
    return set_shape(g, n, 0, in_dtype(g, n, 0), &y);
}

/* Attention (opset 23): Q [B, Hq, S, E] or [B, S, Hq*E]; K, V likewise
 * with Hkv heads; past_key / past_value [B, Hkv, P, E]. Outputs Y, present
 * key / value [B, Hkv, P+L, E|Ev] and the QK product [B, Hq, S, P+L]. */
static prism_status r_attention(pr_graph *g, pr_node *n) {
    shp q, k, v, pk;
    int32_t dtype = in_dtype(g, n, 0);
    bool hq = in_shape(g, n, 0, &q), hk = in_shape(g, n, 1, &k), hv = in_shape(g, n, 2, &v);
    bool past = pr_in(g, n, 4) != NULL, hp = past && in_shape(g, n, 4, &pk) && pk.rank == 4;
    int32_t qr = hq ? q.rank : -1;
    if (qr != 3 && qr != 4) return set_rank(g, n, 0, dtype, -1);
    bool three = qr == 3;
    int64_t hq_n = a_int(n, "q_num_heads", -1), hkv_n = a_int(n, "kv_num_heads", -1);
    /* Per-head sizes and counts. */
    int64_t B = q.d[0], Hq = three ? hq_n : q.d[1], S = three ? q.d[1] : q.d[2];
    int64_t Hkv = -1, L = -1, E = -1, Ev = -1;
    if (hk && k.rank == qr) {
        Hkv = three ? hkv_n : k.d[1];
        L = three ? k.d[1] : k.d[2];
        E = three ? (hkv_n > 0 && k.d[2] >= 0 && k.d[2] % hkv_n == 0 ? k.d[2] / hkv_n : -1) : k.d[3];
    }
    if (hv && v.rank == qr) Ev = three ? (hkv_n > 0 && v.d[2] >= 0 && v.d[2] % hkv_n == 0 ? v.d[2] / hkv_n : -1) : v.d[3];
    int64_t T = -1, P = hp ? pk.d[2] : past ? -1 : 0;
    if (L >= 0 && P >= 0 && !d_add(L, P, &T)) T = -1;
    shp y;
    sh_unknown_dims(&y, qr);
    sh_copy_dim(&y, 0, &q, 0);
    if (three) {
        sh_copy_dim(&y, 1, &q, 1);
        int64_t w;
        if (Hq > 0 && Ev >= 0 && d_mul(Hq, Ev, &w)) sh_dim(&y, 2, w, NULL);
    } else {
        sh_copy_dim(&y, 1, &q, 1);
        sh_copy_dim(&y, 2, &q, 2);
        sh_dim(&y, 3, Ev, NULL);
    }
    prism_status st = set_shape(g, n, 0, dtype, &y);
    int64_t pkd[4] = {B, Hkv, T, E}, pvd[4] = {B, Hkv, T, Ev}, qkd[4] = {B, Hq, S, T};
    if (!st) st = pr_set_out(g, n, 1, dtype, 4, pkd, NULL);
    if (!st) st = pr_set_out(g, n, 2, in_dtype(g, n, 2), 4, pvd, NULL);
    if (!st) st = pr_set_out(g, n, 3, dtype, 4, qkd, NULL);
    return st;
}

/* DFT: the signal axis becomes the DFT length (halved + 1 when onesided),
 * the last dim 2 (1 for an inverse onesided transform). */
static prism_status r_dft(pr_graph *g, pr_node *n) {
    shp x;
    int32_t dtype = in_dtype(g, n, 0);
    if (!in_shape(g, n, 0, &x) || x.rank < 2) return set_rank(g, n, 0, dtype, -1);
    int64_t axis = n->opset >= 20 ? -2 : a_int(n, "axis", 1), v[1];
    size_t cnt;
    if (n->opset >= 20 && pr_in(g, n, 2)) {
        if (!const_ints(g, n, 2, v, 1, &cnt) || cnt != 1) {
            sh_unknown_dims(&x, x.rank);
            return set_shape(g, n, 0, dtype, &x);
        }
        axis = v[0];
    }
    if (axis < -(int64_t)x.rank || axis > x.rank - 2 || axis == -1) return set_rank(g, n, 0, dtype, x.rank);
    if (axis < 0) axis += x.rank;
    bool inverse = a_int(n, "inverse", 0) != 0, onesided = a_int(n, "onesided", 0) != 0;
    bool irfft = inverse && onesided;
    int64_t nsig = x.d[axis], len = nsig >= 0 ? (irfft ? 2 * (nsig - 1) : nsig) : -1;
    if (pr_in(g, n, 1)) len = const_ints(g, n, 1, v, 1, &cnt) && cnt == 1 ? v[0] : -1;
    int64_t out = len >= 1 ? (onesided && !inverse ? len / 2 + 1 : len) : -1;
    sh_dim(&x, (int32_t)axis, out, NULL);
    sh_dim(&x, x.rank - 1, irfft ? 1 : 2, NULL);
    return set_shape(g, n, 0, dtype, &x);
}

/* STFT: [batch, length, 1|2] -> [batch, frames, bins, 2]. */
static prism_status r_stft(pr_graph *g, pr_node *n) {
    shp x, w;
    int32_t dtype = in_dtype(g, n, 0);
    int64_t dims[4] = {-1, -1, -1, 2}, v[1], step = -1, fl = -1;
    size_t cnt;
    bool hx = in_shape(g, n, 0, &x) && x.rank == 3;
    if (hx) dims[0] = x.d[0];
    if (const_ints(g, n, 1, v, 1, &cnt) && cnt == 1) step = v[0];
    if (pr_in(g, n, 3)) {
        if (const_ints(g, n, 3, v, 1, &cnt) && cnt == 1) fl = v[0];
    } else if (pr_in(g, n, 2)) {
        if (in_shape(g, n, 2, &w) && w.rank == 1) fl = w.d[0];
    } else if (hx) {
        fl = x.d[1];
    }
    if (fl >= 1) dims[2] = a_int(n, "onesided", 1) ? fl / 2 + 1 : fl;
    if (hx && x.d[1] >= 0 && fl >= 1 && fl <= x.d[1] && step >= 1) dims[1] = (x.d[1] - fl) / step + 1;
    return pr_set_out(g, n, 0, dtype, 4, dims, NULL);
}

static prism_status r_mel_weight_matrix(pr_graph *g, pr_node *n) {
    int64_t dt = a_int(n, "output_datatype", PRISM_DTYPE_FLOAT), dims[2] = {-1, -1}, v[1];
    size_t cnt;
    if (const_ints(g, n, 1, v, 1, &cnt) && cnt == 1 && v[0] >= 1) dims[0] = v[0] / 2 + 1;
    if (const_ints(g, n, 0, v, 1, &cnt) && cnt == 1 && v[0] >= 1) dims[1] = v[0];
    return pr_set_out(g, n, 0, dt > 0 && dt <= PRISM_DTYPE_BFLOAT16 ? (int32_t)dt : 0, 2, dims, NULL);
}

/* RandomUniform / RandomNormal: the shape and dtype attributes. */
static prism_status r_random(pr_graph *g, pr_node *n) {
    int64_t dt = a_int(n, "dtype", PRISM_DTYPE_FLOAT);
    const int64_t *sh;
    size_t cnt;
    int32_t dtype = dt > 0 && dt <= PRISM_DTYPE_BFLOAT16 ? (int32_t)dt : 0;
    if (!a_ints(n, "shape", &sh, &cnt) || cnt > SR_MAX) return set_rank(g, n, 0, dtype, -1);
    for (size_t i = 0; i < cnt; i++)
        if (sh[i] < 0) return set_rank(g, n, 0, dtype, (int32_t)cnt);
    return pr_set_out(g, n, 0, dtype, (int32_t)cnt, sh, NULL);
}

static prism_status r_tfidf(pr_graph *g, pr_node *n) {
    shp x;
    const int64_t *idx;
    size_t cnt;
    int64_t out = -1;
    if (a_ints(n, "ngram_indexes", &idx, &cnt)) {
        out = 0;
        for (size_t i = 0; i < cnt; i++)
            if (idx[i] + 1 > out) out = idx[i] + 1;
    }
    if (!in_shape(g, n, 0, &x) || x.rank > 2) return set_rank(g, n, 0, PRISM_DTYPE_FLOAT, -1);
    int64_t dims[2] = {x.rank == 2 ? x.d[0] : out, out};
    return x.rank == 2 ? pr_set_out(g, n, 0, PRISM_DTYPE_FLOAT, 2, dims, NULL)
                       : pr_set_out(g, n, 0, PRISM_DTYPE_FLOAT, 1, dims + 1, NULL);
}

static prism_status r_string_normalizer(pr_graph *g, pr_node *n) {
    shp x;
    int64_t dims[2] = {1, -1};
    if (!in_shape(g, n, 0, &x) || (x.rank != 1 && x.rank != 2))
        return set_rank(g, n, 0, PRISM_DTYPE_STRING, -1);
    return x.rank == 2 ? pr_set_out(g, n, 0, PRISM_DTYPE_STRING, 2, dims, NULL)
                       : pr_set_out(g, n, 0, PRISM_DTYPE_STRING, 1, dims + 1, NULL);
}

static prism_status r_string_concat(pr_graph *g, pr_node *n) { return binary_out(g, n, PRISM_DTYPE_STRING); }

static prism_status r_string_split(pr_graph *g, pr_node *n) {
    shp x, y;
    if (!in_shape(g, n, 0, &x) || x.rank + 1 > SR_MAX) {
        set_rank(g, n, 1, PRISM_DTYPE_INT64, -1);
        return set_rank(g, n, 0, PRISM_DTYPE_STRING, -1);
    }
    y = x;
    sh_dim(&y, y.rank++, -1, NULL);
    prism_status st = set_shape(g, n, 0, PRISM_DTYPE_STRING, &y);
    if (!st) st = set_shape(g, n, 1, PRISM_DTYPE_INT64, &x);
    return st;
}

/* ======================================================================
 * Control flow: the bodies' declared outputs (bodies are not inferred)
 * ====================================================================== */

static const pr_graph *attr_graph(const pr_node *n, const char *name) {
    const pr_attr *a = pr_node_attr(n, name);
    return a && a->type == PRISM_ATTR_GRAPH && a->graphs ? a->graphs[0] : NULL;
}

/* Output k of a body: its declared dtype and shape (unknown when absent). */
static int32_t body_out(const pr_graph *b, size_t k, shp *s) {
    s->rank = -1;
    if (!b || k >= b->n_outputs) return 0;
    const pr_value *v = &b->values[b->outputs[k]];
    sh_of(v, s);
    return v->dtype;
}

/* What two descriptions of one value agree on (the value is one or the
 * other at run time). */
static void sh_merge(shp *out, const shp *a, const shp *b) {
    if (a->rank < 0 || b->rank < 0 || a->rank != b->rank) {
        out->rank = -1;
        return;
    }
    shp r;
    r.rank = a->rank;
    for (int32_t i = 0; i < a->rank; i++) {
        if (a->d[i] >= 0 && a->d[i] == b->d[i]) sh_dim(&r, i, a->d[i], NULL);
        else sh_dim(&r, i, -1, a->d[i] < 0 && b->d[i] < 0 && sh_sym_eq(a->p[i], b->p[i]) ? a->p[i] : NULL);
    }
    *out = r;
}
static int32_t dt_merge(int32_t a, int32_t b) { return !a ? b : !b || a == b ? a : 0; }

static prism_status r_if(pr_graph *g, pr_node *n) {
    const pr_graph *t = attr_graph(n, "then_branch"), *e = attr_graph(n, "else_branch");
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        shp a, b, y;
        int32_t da = body_out(t, k, &a), db = body_out(e, k, &b);
        sh_merge(&y, &a, &b);
        prism_status st = set_shape(g, n, k, t && e ? (da && db ? dt_merge(da, db) : 0) : 0, &y);
        if (st) return st;
    }
    return PRISM_OK;
}

/* A scan output: the body's per-iteration shape with the iteration count
 * (len, -1 unknown) inserted at axis. */
static prism_status scan_out(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, const shp *elem, int64_t axis,
                             int64_t len) {
    if (elem->rank < 0 || elem->rank + 1 > SR_MAX) return set_rank(g, n, k, dtype, -1);
    int32_t r = elem->rank + 1;
    if (axis < -(int64_t)r || axis >= r) return set_rank(g, n, k, dtype, r);
    if (axis < 0) axis += r;
    shp y;
    y.rank = r;
    for (int32_t i = 0, j = 0; i < r; i++) {
        if (i == axis) sh_dim(&y, i, len, NULL);
        else sh_copy_dim(&y, i, elem, j++);
    }
    return set_shape(g, n, k, dtype, &y);
}

static prism_status r_loop(pr_graph *g, pr_node *n) {
    const pr_graph *body = attr_graph(n, "body");
    uint32_t carried = n->n_inputs > 2 ? n->n_inputs - 2 : 0;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        shp b;
        int32_t db = body_out(body, 1 + k, &b);
        prism_status st;
        if (k < carried) {
            shp init, y;
            in_shape(g, n, 2 + k, &init);
            sh_merge(&y, &init, &b);
            st = set_shape(g, n, k, dt_merge(in_dtype(g, n, 2 + k), db), &y);
        } else {
            st = scan_out(g, n, k, db, &b, 0, -1);
        }
        if (st) return st;
    }
    return PRISM_OK;
}

static prism_status r_scan(pr_graph *g, pr_node *n) {
    if (n->opset < 9) return PRISM_OK; /* Scan-8 has a batch dim and sequence_lens */
    const pr_graph *body = attr_graph(n, "body");
    int64_t m = a_int(n, "num_scan_inputs", -1);
    if (m < 1 || m > n->n_inputs) return PRISM_OK;
    uint32_t states = n->n_inputs - (uint32_t)m;
    /* The iteration count: scan input 0's dim along its scan axis. */
    int64_t len = -1;
    shp x0;
    if (in_shape(g, n, states, &x0)) {
        const int64_t *ax;
        size_t cnt;
        int64_t a = a_ints(n, "scan_input_axes", &ax, &cnt) && cnt ? ax[0] : 0;
        if (a < 0) a += x0.rank;
        if (a >= 0 && a < x0.rank) len = x0.d[a];
    }
    const int64_t *oax = NULL;
    size_t n_oax = 0;
    a_ints(n, "scan_output_axes", &oax, &n_oax);
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        shp b;
        int32_t db = body_out(body, k, &b);
        prism_status st;
        if (k < states) {
            shp init, y;
            in_shape(g, n, k, &init);
            sh_merge(&y, &init, &b);
            st = set_shape(g, n, k, dt_merge(in_dtype(g, n, k), db), &y);
        } else {
            uint32_t j = k - states;
            st = scan_out(g, n, k, db, &b, j < n_oax ? oax[j] : 0, len);
        }
        if (st) return st;
    }
    return PRISM_OK;
}

/* ======================================================================
 * The table
 * ====================================================================== */

static const pr_shape_rule pr_rules[] = {
    /* nn */
    {"", "Conv", r_conv},
    {"", "ConvTranspose", r_conv_transpose},
    {"", "MaxPool", r_pool},
    {"", "AveragePool", r_pool},
    {"", "LpPool", r_pool},
    {"", "GlobalMaxPool", r_global_pool},
    {"", "GlobalAveragePool", r_global_pool},
    {"", "GlobalLpPool", r_global_pool},
    {"", "Gemm", r_gemm},
    {"", "MatMul", r_matmul},
    {"", "MatMulInteger", r_matmul_integer},
    {"", "BatchNormalization", r_batchnorm},
    {"", "LayerNormalization", r_layernorm},
    {"", "InstanceNormalization", r_same},
    {"", "GroupNormalization", r_same},
    {"", "MeanVarianceNormalization", r_same},
    {"", "LpNormalization", r_same},
    {"", "LRN", r_same},
    {"", "Softmax", r_softmax},
    {"", "LogSoftmax", r_softmax},
    {"", "Hardmax", r_softmax},
    {"", "Dropout", r_dropout},
    /* unary elementwise */
    {"", "Relu", r_same},
    {"", "LeakyRelu", r_same},
    {"", "Elu", r_same},
    {"", "Selu", r_same},
    {"", "Celu", r_same},
    {"", "Gelu", r_same},
    {"", "Sigmoid", r_same},
    {"", "HardSigmoid", r_same},
    {"", "HardSwish", r_same},
    {"", "Softplus", r_same},
    {"", "Softsign", r_same},
    {"", "Mish", r_same},
    {"", "Shrink", r_same},
    {"", "ThresholdedRelu", r_same},
    {"", "Tanh", r_same},
    {"", "Erf", r_same},
    {"", "Exp", r_same},
    {"", "Log", r_same},
    {"", "Sqrt", r_same},
    {"", "Reciprocal", r_same},
    {"", "Abs", r_same},
    {"", "Neg", r_same},
    {"", "Sign", r_same},
    {"", "Floor", r_same},
    {"", "Ceil", r_same},
    {"", "Round", r_same},
    {"", "Sin", r_same},
    {"", "Cos", r_same},
    {"", "Tan", r_same},
    {"", "Asin", r_same},
    {"", "Acos", r_same},
    {"", "Atan", r_same},
    {"", "Sinh", r_same},
    {"", "Cosh", r_same},
    {"", "Asinh", r_same},
    {"", "Acosh", r_same},
    {"", "Atanh", r_same},
    {"", "Not", r_same},
    {"", "BitwiseNot", r_same},
    {"", "IsNaN", r_same_bool},
    {"", "IsInf", r_same_bool},
    {"", "Clip", r_same},
    {"", "Identity", r_same},
    {"", "Cast", r_cast},
    {"", "CastLike", r_castlike},
    {"", "EyeLike", r_like_dtype_attr},
    {"", "RandomNormalLike", r_like_dtype_attr},
    {"", "RandomUniformLike", r_like_dtype_attr},
    {"", "Bernoulli", r_like_dtype_attr},
    {"", "Trilu", r_same},
    {"", "CumSum", r_same},
    {"", "CumProd", r_same},
    {"", "Swish", r_same},
    {"", "ReverseSequence", r_same},
    {"", "Scatter", r_same},
    {"", "ScatterElements", r_same},
    {"", "ScatterND", r_same},
    {"", "QuantizeLinear", r_quantize},
    {"", "DequantizeLinear", r_dequantize},
    /* binary / variadic elementwise */
    {"", "Add", r_binary},
    {"", "Sub", r_binary},
    {"", "Mul", r_binary},
    {"", "Div", r_binary},
    {"", "Pow", r_binary},
    {"", "Mod", r_binary},
    {"", "BitShift", r_binary},
    {"", "BitwiseAnd", r_binary},
    {"", "BitwiseOr", r_binary},
    {"", "BitwiseXor", r_binary},
    {"", "PRelu", r_prelu},
    {"", "Max", r_variadic},
    {"", "Min", r_variadic},
    {"", "Sum", r_variadic},
    {"", "Mean", r_variadic},
    {"", "Equal", r_compare},
    {"", "Less", r_compare},
    {"", "Greater", r_compare},
    {"", "LessOrEqual", r_compare},
    {"", "GreaterOrEqual", r_compare},
    {"", "And", r_compare},
    {"", "Or", r_compare},
    {"", "Xor", r_compare},
    {"", "Where", r_where},
    /* shape manipulation */
    {"", "Shape", r_shape},
    {"", "Size", r_size},
    {"", "Reshape", r_reshape},
    {"", "Flatten", r_flatten},
    {"", "Squeeze", r_squeeze},
    {"", "Unsqueeze", r_unsqueeze},
    {"", "Transpose", r_transpose},
    {"", "Concat", r_concat},
    {"", "Split", r_split},
    {"", "Slice", r_slice},
    {"", "Gather", r_gather},
    {"", "GatherElements", r_gather_elements},
    {"", "GatherND", r_gather_nd},
    {"", "Expand", r_expand},
    {"", "ConstantOfShape", r_constant_of_shape},
    {"", "Constant", r_constant},
    {"", "Range", r_range},
    {"", "Tile", r_tile},
    {"", "Pad", r_pad},
    {"", "DepthToSpace", r_depth_to_space},
    {"", "SpaceToDepth", r_depth_to_space},
    {"", "OneHot", r_one_hot},
    {"", "NonZero", r_nonzero},
    {"", "Compress", r_compress},
    /* reductions */
    {"", "ReduceSum", r_reduce},
    {"", "ReduceMean", r_reduce},
    {"", "ReduceMax", r_reduce},
    {"", "ReduceMin", r_reduce},
    {"", "ReduceProd", r_reduce},
    {"", "ReduceL1", r_reduce},
    {"", "ReduceL2", r_reduce},
    {"", "ReduceLogSum", r_reduce},
    {"", "ReduceLogSumExp", r_reduce},
    {"", "ReduceSumSquare", r_reduce},
    {"", "ArgMax", r_argmax},
    {"", "ArgMin", r_argmax},
    {"", "TopK", r_topk},
    /* quantisation */
    {"", "DynamicQuantizeLinear", r_dynamic_quantize},
    {"", "ConvInteger", r_conv_integer},
    {"", "QLinearConv", r_qlinear_conv},
    {"", "QLinearMatMul", r_qlinear_matmul},
    /* recurrent nets, losses, image and other model ops */
    {"", "RNN", r_rnn},
    {"", "GRU", r_rnn},
    {"", "LSTM", r_rnn},
    {"", "NegativeLogLikelihoodLoss", r_loss},
    {"", "SoftmaxCrossEntropyLoss", r_loss},
    {"", "Resize", r_resize},
    {"", "Upsample", r_resize},
    {"", "Einsum", r_einsum},
    {"", "GridSample", r_grid_sample},
    {"", "RoiAlign", r_roi_align},
    {"", "NonMaxSuppression", r_nms},
    {"", "Det", r_det},
    {"", "HannWindow", r_window},
    {"", "HammingWindow", r_window},
    {"", "BlackmanWindow", r_window},
    {"", "Unique", r_unique},
    {"", "MaxUnpool", r_max_unpool},
    {"", "CenterCropPad", r_center_crop_pad},
    {"", "RMSNormalization", r_same},
    {"", "RotaryEmbedding", r_same},
    {"", "DeformConv", r_deform_conv},
    {"", "Col2Im", r_col2im},
    {"", "AffineGrid", r_affine_grid},
    {"", "MaxRoiPool", r_max_roi_pool},
    {"", "Attention", r_attention},
    {"", "DFT", r_dft},
    {"", "STFT", r_stft},
    {"", "MelWeightMatrix", r_mel_weight_matrix},
    {"", "RandomUniform", r_random},
    {"", "RandomNormal", r_random},
    {"", "TfIdfVectorizer", r_tfidf},
    {"", "StringNormalizer", r_string_normalizer},
    {"", "StringConcat", r_string_concat},
    {"", "StringSplit", r_string_split},
    {"", "RegexFullMatch", r_same_bool},
    /* control flow */
    {"", "If", r_if},
    {"", "Loop", r_loop},
    {"", "Scan", r_scan},
};

const pr_shape_rule *pr_shape_rule_find(const char *domain, const char *op_type) {
    for (size_t i = 0; i < sizeof pr_rules / sizeof pr_rules[0]; i++)
        if (!strcmp(pr_rules[i].domain, domain) && !strcmp(pr_rules[i].op_type, op_type)) return &pr_rules[i];
    return NULL;
}

size_t pr_shape_rule_count(void) { return sizeof pr_rules / sizeof pr_rules[0]; }

prism_status pr_infer_node(pr_graph *g, pr_node *n) {
    const pr_shape_rule *rule = pr_shape_rule_find(n->domain, n->op_type);
    return rule ? rule->infer(g, n) : PRISM_OK;
}
