/*
 * fold_shapes.c — constant folding of shape arithmetic.
 *
 * Exported models compute shapes at run time: Shape -> Gather -> Unsqueeze
 * -> Concat -> Reshape, Shape -> Slice -> Cast -> Mul -> ... When the shape
 * fed to Shape is static, every value of such a chain is known at load time.
 * pr_fold_node computes it (for tensors of at most PR_FOLD_MAX_ELEMENTS
 * elements of int64/int32/bool/float/double) and turns the node's output
 * into a constant, so the rules downstream (Reshape, Expand, Slice,
 * ConstantOfShape ...) see constant inputs, and the node itself goes away.
 *
 * What may fold: Shape / Size of a value whose needed dims are all concrete
 * (declared or inferred; a symbolic or unknown dim never folds), and a small
 * set of ops whose inputs are all constants (initializers, Constant nodes,
 * earlier folds). A graph input is never a constant here, so nothing that
 * depends on a runtime value folds. Arithmetic follows the CPU kernels:
 * integers wrap, integer division truncates, float32 results are rounded to
 * float32 after every op; anything the kernels would reject (division by
 * zero, out-of-range indices, NaN in Max/Min, a float that does not fit the
 * integer it is cast to) is simply not folded, so the kernel reports it.
 * A folded value must agree with what the model declared for it, else it is
 * left to run. Values read by a subgraph (If/Loop/Scan bodies) never fold.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shape_rules.h"

#define FT_MAX_RANK 16
#define FT_N PR_FOLD_MAX_ELEMENTS

/* A small tensor being folded: integers and bools in i[], floats in f[]. */
typedef struct ft {
    int32_t dtype;
    int32_t rank;
    int64_t dims[FT_MAX_RANK];
    int64_t count;
    int64_t i[FT_N];
    double f[FT_N];
} ft;

static bool dt_int(int32_t dt) { return dt == PRISM_DTYPE_INT64 || dt == PRISM_DTYPE_INT32 || dt == PRISM_DTYPE_BOOL; }
static bool dt_flt(int32_t dt) { return dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE; }
static bool dt_ok(int32_t dt) { return dt_int(dt) || dt_flt(dt); }

/* Bring a value into the range of its dtype (wrapping like the kernels). */
static int64_t wrap_int(int32_t dt, int64_t v) {
    if (dt == PRISM_DTYPE_INT32) return (int64_t)(int32_t)(uint32_t)(uint64_t)v;
    if (dt == PRISM_DTYPE_BOOL) return v != 0;
    return v;
}
static double round_flt(int32_t dt, double v) { return dt == PRISM_DTYPE_FLOAT ? (double)(float)v : v; }

static bool ft_set_shape(ft *t, int32_t dtype, int32_t rank, const int64_t *dims) {
    if (rank < 0 || rank > FT_MAX_RANK) return false;
    int64_t count = 1;
    for (int32_t d = 0; d < rank; d++) {
        if (dims[d] < 0 || (dims[d] && count > FT_N / dims[d])) return false;
        count *= dims[d];
    }
    if (count > FT_N) return false;
    t->dtype = dtype;
    t->rank = rank;
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    t->count = count;
    return true;
}

static bool ft_load(const pr_const *c, ft *t) {
    if (!c || !dt_ok(c->dtype) || c->rank > FT_MAX_RANK || c->count < 0 || c->count > FT_N) return false;
    if (c->count && !c->data) return false;
    if (!ft_set_shape(t, c->dtype, (int32_t)c->rank, c->dims) || t->count != c->count) return false;
    size_t es = prism_dtype_size((prism_dtype)c->dtype);
    if (c->bytes < (size_t)c->count * es) return false;
    for (int64_t k = 0; k < c->count; k++) {
        const char *p = (const char *)c->data + (size_t)k * es;
        switch (c->dtype) {
        case PRISM_DTYPE_INT64: memcpy(&t->i[k], p, 8); break;
        case PRISM_DTYPE_INT32: { int32_t x; memcpy(&x, p, 4); t->i[k] = x; break; }
        case PRISM_DTYPE_BOOL: t->i[k] = *(const uint8_t *)p != 0; break;
        case PRISM_DTYPE_FLOAT: { float x; memcpy(&x, p, 4); t->f[k] = x; break; }
        default: { double x; memcpy(&x, p, 8); t->f[k] = x; break; }
        }
    }
    return true;
}

/* Copy element k of src to element j of dst (same dtype). */
static void ft_copy_el(ft *dst, int64_t j, const ft *src, int64_t k) {
    dst->i[j] = src->i[k];
    dst->f[j] = src->f[k];
}

/* ---- broadcasting ---- */

static bool bcast_dims(const ft *a, const ft *b, int32_t *rank, int64_t *dims) {
    int32_t r = a->rank > b->rank ? a->rank : b->rank;
    for (int32_t i = 0; i < r; i++) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        if (da != db && da != 1 && db != 1) return false;
        dims[i] = da == 1 ? db : da;
    }
    *rank = r;
    return true;
}

/* Flat index into `in` of element `idx` of the broadcast output `out`. */
static int64_t bcast_index(const ft *in, const ft *out, int64_t idx) {
    int64_t off = 0, stride = 1;
    for (int32_t i = out->rank - 1; i >= 0; i--) {
        int64_t c = idx % out->dims[i];
        idx /= out->dims[i];
        int32_t ii = i - (out->rank - in->rank);
        if (ii < 0) break;
        if (in->dims[ii] != 1) off += c * stride;
        stride *= in->dims[ii];
    }
    return off;
}

/* ---- elementwise ops ---- */

typedef enum {
    OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_MAX, OP_MIN, OP_EQ, OP_LT, OP_GT, OP_LE, OP_GE, OP_AND, OP_OR, OP_XOR
} binop;

static bool is_compare(binop op) { return op >= OP_EQ; }

static bool apply_int(binop op, int32_t dt, int64_t a, int64_t b, int64_t *r) {
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case OP_ADD: *r = wrap_int(dt, (int64_t)(ua + ub)); return true;
    case OP_SUB: *r = wrap_int(dt, (int64_t)(ua - ub)); return true;
    case OP_MUL: *r = wrap_int(dt, (int64_t)(ua * ub)); return true;
    case OP_DIV:
        if (b == 0) return false; /* the kernel's business */
        *r = wrap_int(dt, b == -1 ? (int64_t)(0 - ua) : a / b);
        return true;
    case OP_MAX: *r = a > b ? a : b; return true;
    case OP_MIN: *r = a < b ? a : b; return true;
    case OP_EQ: *r = a == b; return true;
    case OP_LT: *r = a < b; return true;
    case OP_GT: *r = a > b; return true;
    case OP_LE: *r = a <= b; return true;
    case OP_GE: *r = a >= b; return true;
    case OP_AND: *r = a && b; return true;
    case OP_OR: *r = a || b; return true;
    case OP_XOR: *r = (a != 0) != (b != 0); return true;
    }
    return false;
}

static bool apply_flt(binop op, int32_t dt, double a, double b, double *r, int64_t *ri) {
    switch (op) {
    case OP_ADD: *r = round_flt(dt, a + b); return true;
    case OP_SUB: *r = round_flt(dt, a - b); return true;
    case OP_MUL: *r = round_flt(dt, a * b); return true;
    case OP_DIV: *r = round_flt(dt, a / b); return true;
    case OP_MAX:
    case OP_MIN:
        if (isnan(a) || isnan(b)) return false;
        *r = op == OP_MAX ? (a > b ? a : b) : (a < b ? a : b);
        return true;
    case OP_EQ: *ri = a == b; return true;
    case OP_LT: *ri = a < b; return true;
    case OP_GT: *ri = a > b; return true;
    case OP_LE: *ri = a <= b; return true;
    case OP_GE: *ri = a >= b; return true;
    default: return false;
    }
}

static bool fold_binary(binop op, const ft *a, const ft *b, ft *y) {
    if (a->dtype != b->dtype) return false;
    bool logic = op == OP_AND || op == OP_OR || op == OP_XOR;
    if (logic != (a->dtype == PRISM_DTYPE_BOOL) && (logic || op != OP_EQ)) return false;
    int32_t rank;
    int64_t dims[FT_MAX_RANK];
    if (!bcast_dims(a, b, &rank, dims)) return false;
    if (!ft_set_shape(y, is_compare(op) ? PRISM_DTYPE_BOOL : a->dtype, rank, dims)) return false;
    for (int64_t k = 0; k < y->count; k++) {
        int64_t ia = bcast_index(a, y, k), ib = bcast_index(b, y, k);
        if (dt_int(a->dtype)) {
            if (!apply_int(op, a->dtype, a->i[ia], b->i[ib], &y->i[k])) return false;
        } else if (!apply_flt(op, a->dtype, a->f[ia], b->f[ib], &y->f[k], &y->i[k])) {
            return false;
        }
    }
    return true;
}

static bool fold_where(const ft *c, const ft *x, const ft *yv, ft *y) {
    if (c->dtype != PRISM_DTYPE_BOOL || x->dtype != yv->dtype) return false;
    ft tmp;
    int32_t rank;
    int64_t dims[FT_MAX_RANK];
    if (!bcast_dims(c, x, &rank, dims) || !ft_set_shape(&tmp, x->dtype, rank, dims)) return false;
    if (!bcast_dims(&tmp, yv, &rank, dims) || !ft_set_shape(y, x->dtype, rank, dims)) return false;
    for (int64_t k = 0; k < y->count; k++) {
        const ft *src = c->i[bcast_index(c, y, k)] ? x : yv;
        ft_copy_el(y, k, src, bcast_index(src, y, k));
    }
    return true;
}

static bool fold_unary(const char *op, const ft *x, ft *y) {
    *y = *x;
    for (int64_t k = 0; k < x->count; k++) {
        if (!strcmp(op, "Not")) {
            if (x->dtype != PRISM_DTYPE_BOOL) return false;
            y->i[k] = !x->i[k];
        } else if (!strcmp(op, "Neg")) {
            if (x->dtype == PRISM_DTYPE_BOOL) return false;
            if (dt_int(x->dtype)) y->i[k] = wrap_int(x->dtype, (int64_t)(0 - (uint64_t)x->i[k]));
            else y->f[k] = -x->f[k];
        } else if (!strcmp(op, "Abs")) {
            if (x->dtype == PRISM_DTYPE_BOOL) return false;
            if (dt_int(x->dtype)) y->i[k] = wrap_int(x->dtype, x->i[k] < 0 ? (int64_t)(0 - (uint64_t)x->i[k]) : x->i[k]);
            else y->f[k] = fabs(x->f[k]);
        } else if (!strcmp(op, "Floor") || !strcmp(op, "Ceil")) {
            if (!dt_flt(x->dtype)) return false;
            y->f[k] = op[0] == 'F' ? floor(x->f[k]) : ceil(x->f[k]);
        } else {
            return false;
        }
    }
    return true;
}

static bool fold_cast(int32_t to, const ft *x, ft *y) {
    if (!dt_ok(to) || !ft_set_shape(y, to, x->rank, x->dims)) return false;
    for (int64_t k = 0; k < x->count; k++) {
        if (dt_int(x->dtype) && dt_int(to)) {
            y->i[k] = wrap_int(to, x->i[k]);
        } else if (dt_int(x->dtype)) {
            y->f[k] = round_flt(to, (double)x->i[k]);
            if (to == PRISM_DTYPE_FLOAT) y->f[k] = (double)(float)x->i[k]; /* one rounding, like the kernel */
        } else if (dt_flt(to)) {
            y->f[k] = round_flt(to, x->f[k]);
        } else if (to == PRISM_DTYPE_BOOL) {
            y->i[k] = x->f[k] != 0;
        } else {
            double v = x->f[k];
            double lim = to == PRISM_DTYPE_INT32 ? 2147483648.0 : 9223372036854775808.0;
            if (!isfinite(v) || v >= lim || v <= -lim - 1) return false;
            y->i[k] = (int64_t)v; /* truncates toward zero */
        }
    }
    return true;
}

/* ---- shape ops ---- */

static bool norm_axis(int64_t a, int32_t rank, int32_t *out) {
    if (a < -(int64_t)rank || a >= rank) return false;
    *out = (int32_t)(a < 0 ? a + rank : a);
    return true;
}

/* Integer values of a folded tensor as axes / shapes. */
static bool ft_ints(const ft *t, int64_t *out, size_t cap, size_t *n) {
    if (!t || (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32) || (size_t)t->count > cap) return false;
    for (int64_t k = 0; k < t->count; k++) out[k] = t->i[k];
    *n = (size_t)t->count;
    return true;
}

static int64_t a_int(const pr_node *n, const char *name, int64_t def) {
    const pr_attr *a = pr_node_attr(n, name);
    return a && a->type == PRISM_ATTR_INT ? a->i : def;
}
static bool a_ints(const pr_node *n, const char *name, int64_t *out, size_t cap, size_t *cnt) {
    const pr_attr *a = pr_node_attr(n, name);
    if (!a || a->type != PRISM_ATTR_INTS || a->count > cap || (a->count && !a->ints)) return false;
    if (a->count) memcpy(out, a->ints, a->count * sizeof *out);
    *cnt = a->count;
    return true;
}

/* The axes of Squeeze / Unsqueeze: attribute before opset 13, input after. */
static int axes_of(const pr_node *n, ft *const *in, uint32_t nin, int64_t *axes, size_t *cnt) {
    *cnt = 0;
    if (n->opset >= 13) {
        if (nin < 2 || !in[1]) return 0;
        return ft_ints(in[1], axes, FT_MAX_RANK * 2, cnt) ? 1 : -1;
    }
    if (!pr_node_attr(n, "axes")) return 0;
    return a_ints(n, "axes", axes, FT_MAX_RANK * 2, cnt) ? 1 : -1;
}

static bool fold_squeeze(const pr_node *n, ft *const *in, uint32_t nin, ft *y) {
    const ft *x = in[0];
    int64_t axes[FT_MAX_RANK * 2], dims[FT_MAX_RANK];
    size_t cnt;
    int got = axes_of(n, in, nin, axes, &cnt);
    if (got < 0) return false;
    bool mask[FT_MAX_RANK] = {false};
    for (size_t i = 0; i < cnt; i++) {
        int32_t a;
        if (!norm_axis(axes[i], x->rank, &a) || mask[a] || x->dims[a] != 1) return false;
        mask[a] = true;
    }
    int32_t r = 0;
    for (int32_t i = 0; i < x->rank; i++)
        if (cnt ? !mask[i] : x->dims[i] != 1) dims[r++] = x->dims[i];
    *y = *x;
    return ft_set_shape(y, x->dtype, r, dims);
}

static bool fold_unsqueeze(const pr_node *n, ft *const *in, uint32_t nin, ft *y) {
    const ft *x = in[0];
    int64_t axes[FT_MAX_RANK * 2], dims[FT_MAX_RANK];
    size_t cnt;
    if (axes_of(n, in, nin, axes, &cnt) <= 0) return false;
    int64_t r = x->rank + (int64_t)cnt;
    if (r > FT_MAX_RANK) return false;
    bool mask[FT_MAX_RANK] = {false};
    for (size_t i = 0; i < cnt; i++) {
        int32_t a;
        if (!norm_axis(axes[i], (int32_t)r, &a) || mask[a]) return false;
        mask[a] = true;
    }
    for (int32_t i = 0, j = 0; i < r; i++) dims[i] = mask[i] ? 1 : x->dims[j++];
    *y = *x;
    return ft_set_shape(y, x->dtype, (int32_t)r, dims);
}

static bool fold_reshape(const pr_node *n, ft *const *in, uint32_t nin, ft *y) {
    const ft *x = in[0];
    int64_t s[FT_MAX_RANK];
    size_t k;
    if (n->opset < 5) {
        if (!a_ints(n, "shape", s, FT_MAX_RANK, &k)) return false;
    } else if (nin < 2 || !ft_ints(in[1], s, FT_MAX_RANK, &k)) {
        return false;
    }
    bool allowzero = n->opset >= 14 && a_int(n, "allowzero", 0) != 0;
    int32_t neg = -1;
    int64_t known = 1;
    for (size_t i = 0; i < k; i++) {
        if (s[i] == -1) {
            if (neg >= 0) return false;
            neg = (int32_t)i;
            continue;
        }
        if (s[i] < -1) return false;
        if (s[i] == 0 && !allowzero) {
            if ((int64_t)i >= x->rank) return false;
            s[i] = x->dims[i];
        }
        if (s[i] > FT_N) return false;
        known *= s[i];
        if (known > FT_N) return false;
    }
    if (neg >= 0) {
        if (known == 0 || x->count % known) return false;
        s[neg] = x->count / known;
    } else if (known != x->count) {
        return false;
    }
    *y = *x;
    return ft_set_shape(y, x->dtype, (int32_t)k, s) && y->count == x->count;
}

static bool fold_flatten(const pr_node *n, const ft *x, ft *y) {
    int64_t axis = a_int(n, "axis", 1);
    if (axis < -(int64_t)x->rank || axis > x->rank) return false;
    if (axis < 0) axis += x->rank;
    int64_t d[2] = {1, 1};
    for (int32_t i = 0; i < x->rank; i++) d[i >= axis] *= x->dims[i];
    *y = *x;
    return ft_set_shape(y, x->dtype, 2, d);
}

static bool fold_gather(const pr_node *n, const ft *x, const ft *ind, ft *y) {
    if (!ind || (ind->dtype != PRISM_DTYPE_INT64 && ind->dtype != PRISM_DTYPE_INT32) || x->rank < 1) return false;
    int32_t axis;
    if (!norm_axis(a_int(n, "axis", 0), x->rank, &axis)) return false;
    int64_t dims[FT_MAX_RANK];
    int32_t r = 0;
    if (x->rank + ind->rank - 1 > FT_MAX_RANK) return false;
    for (int32_t i = 0; i < axis; i++) dims[r++] = x->dims[i];
    for (int32_t i = 0; i < ind->rank; i++) dims[r++] = ind->dims[i];
    for (int32_t i = axis + 1; i < x->rank; i++) dims[r++] = x->dims[i];
    if (!ft_set_shape(y, x->dtype, r, dims)) return false;
    int64_t outer = 1, inner = 1, dim = x->dims[axis];
    for (int32_t i = 0; i < axis; i++) outer *= x->dims[i];
    for (int32_t i = axis + 1; i < x->rank; i++) inner *= x->dims[i];
    int64_t k = 0;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < ind->count; j++) {
            int64_t idx = ind->i[j];
            if (idx < -dim || idx >= dim) return false;
            if (idx < 0) idx += dim;
            for (int64_t e = 0; e < inner; e++) ft_copy_el(y, k++, x, (o * dim + idx) * inner + e);
        }
    return k == y->count;
}

static bool fold_concat(const pr_node *n, ft *const *in, uint32_t nin, ft *y) {
    if (nin == 0 || !pr_node_attr(n, "axis")) {
        if (n->opset >= 4 || nin == 0) return false;
    }
    const ft *f = NULL;
    for (uint32_t k = 0; k < nin; k++)
        if (in[k]) {
            f = in[k];
            break;
        }
    if (!f) return false;
    int32_t axis;
    if (!norm_axis(a_int(n, "axis", 1), f->rank, &axis)) return false;
    int64_t dims[FT_MAX_RANK];
    memcpy(dims, f->dims, (size_t)f->rank * sizeof *dims);
    dims[axis] = 0;
    for (uint32_t k = 0; k < nin; k++) {
        const ft *t = in[k];
        if (!t) continue;
        if (t->dtype != f->dtype || t->rank != f->rank) return false;
        for (int32_t i = 0; i < f->rank; i++)
            if (i != axis && t->dims[i] != f->dims[i]) return false;
        dims[axis] += t->dims[axis];
        if (dims[axis] > FT_N) return false;
    }
    if (!ft_set_shape(y, f->dtype, f->rank, dims)) return false;
    int64_t outer = 1, inner = 1;
    for (int32_t i = 0; i < axis; i++) outer *= dims[i];
    for (int32_t i = axis + 1; i < f->rank; i++) inner *= dims[i];
    int64_t j = 0;
    for (int64_t o = 0; o < outer; o++)
        for (uint32_t k = 0; k < nin; k++) {
            const ft *t = in[k];
            if (!t) continue;
            int64_t block = t->dims[axis] * inner;
            for (int64_t e = 0; e < block; e++) ft_copy_el(y, j++, t, o * block + e);
        }
    return j == y->count;
}

static bool fold_slice(const pr_node *n, ft *const *in, uint32_t nin, ft *y) {
    const ft *x = in[0];
    int64_t starts[FT_MAX_RANK], ends[FT_MAX_RANK], axes[FT_MAX_RANK], steps[FT_MAX_RANK];
    size_t ns, ne, na, nst;
    if (n->opset < 10) {
        if (!a_ints(n, "starts", starts, FT_MAX_RANK, &ns) || !a_ints(n, "ends", ends, FT_MAX_RANK, &ne)) return false;
        if (pr_node_attr(n, "axes")) {
            if (!a_ints(n, "axes", axes, FT_MAX_RANK, &na)) return false;
        } else {
            na = (size_t)-1;
        }
        nst = (size_t)-1;
    } else {
        if (nin < 3 || !ft_ints(in[1], starts, FT_MAX_RANK, &ns) || !ft_ints(in[2], ends, FT_MAX_RANK, &ne))
            return false;
        na = nst = (size_t)-1;
        if (nin > 3 && in[3] && !ft_ints(in[3], axes, FT_MAX_RANK, &na)) return false;
        if (nin > 4 && in[4] && !ft_ints(in[4], steps, FT_MAX_RANK, &nst)) return false;
    }
    if (ns != ne || ns > (size_t)x->rank) return false;
    if (na == (size_t)-1) {
        na = ns;
        for (size_t i = 0; i < na; i++) axes[i] = (int64_t)i;
    }
    if (nst == (size_t)-1) {
        nst = ns;
        for (size_t i = 0; i < nst; i++) steps[i] = 1;
    }
    if (na != ns || nst != ns) return false;
    int64_t st[FT_MAX_RANK], sp[FT_MAX_RANK], dims[FT_MAX_RANK];
    bool seen[FT_MAX_RANK] = {false};
    for (int32_t i = 0; i < x->rank; i++) {
        st[i] = 0;
        sp[i] = 1;
        dims[i] = x->dims[i];
    }
    for (size_t i = 0; i < ns; i++) {
        int32_t a;
        if (!norm_axis(axes[i], x->rank, &a) || seen[a] || steps[i] == 0) return false;
        seen[a] = true;
        int64_t dim = x->dims[a], s = starts[i], e = ends[i], step = steps[i], len;
        if (s < 0) s += dim;
        if (e < 0) e += dim;
        if (step > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            len = e > s ? (int64_t)(((uint64_t)(e - s) + (uint64_t)step - 1) / (uint64_t)step) : 0;
        } else {
            s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            uint64_t m = (uint64_t)0 - (uint64_t)step;
            len = s > e ? (int64_t)(((uint64_t)(s - e) + m - 1) / m) : 0;
        }
        if (dim == 0) len = 0;
        st[a] = s;
        sp[a] = len > 1 ? step : 1; /* a step beyond the dim is only used once */
        dims[a] = len;
    }
    if (!ft_set_shape(y, x->dtype, x->rank, dims)) return false;
    for (int64_t k = 0; k < y->count; k++) {
        int64_t idx = k, off = 0, stride = 1;
        for (int32_t i = x->rank - 1; i >= 0; i--) {
            int64_t c = idx % dims[i];
            idx /= dims[i];
            off += (st[i] + c * sp[i]) * stride;
            stride *= x->dims[i];
        }
        ft_copy_el(y, k, x, off);
    }
    return true;
}

static bool fold_expand(const ft *x, const ft *shape, ft *y) {
    int64_t s[FT_MAX_RANK];
    size_t k;
    if (!ft_ints(shape, s, FT_MAX_RANK, &k)) return false;
    ft sh;
    for (size_t i = 0; i < k; i++)
        if (s[i] < 0) return false;
    sh.rank = (int32_t)k;
    if (k) memcpy(sh.dims, s, k * sizeof *s);
    int32_t rank;
    int64_t dims[FT_MAX_RANK];
    if (!bcast_dims(x, &sh, &rank, dims) || !ft_set_shape(y, x->dtype, rank, dims)) return false;
    for (int64_t j = 0; j < y->count; j++) ft_copy_el(y, j, x, bcast_index(x, y, j));
    return true;
}

static bool fold_constant_of_shape(const pr_node *n, const ft *shape, ft *y) {
    int64_t s[FT_MAX_RANK];
    size_t k;
    if (!ft_ints(shape, s, FT_MAX_RANK, &k)) return false;
    const pr_attr *a = pr_node_attr(n, "value");
    ft v;
    if (a) {
        if (a->type != PRISM_ATTR_TENSOR || !a->tensors || a->tensors[0].count != 1 || !ft_load(&a->tensors[0], &v))
            return false;
    } else {
        v.dtype = PRISM_DTYPE_FLOAT;
        v.i[0] = 0;
        v.f[0] = 0;
    }
    if (!ft_set_shape(y, v.dtype, (int32_t)k, s)) return false;
    for (int64_t j = 0; j < y->count; j++) ft_copy_el(y, j, &v, 0);
    return true;
}

static bool fold_range(ft *const *in, uint32_t nin, ft *y) {
    if (nin < 3 || !in[0] || !in[1] || !in[2]) return false;
    int32_t dt = in[0]->dtype;
    if ((dt != PRISM_DTYPE_INT64 && dt != PRISM_DTYPE_INT32) || in[1]->dtype != dt || in[2]->dtype != dt) return false;
    if (in[0]->count != 1 || in[1]->count != 1 || in[2]->count != 1) return false;
    int64_t s = in[0]->i[0], l = in[1]->i[0], d = in[2]->i[0];
    if (d == 0) return false;
    uint64_t dist = d > 0 ? (l > s ? (uint64_t)l - (uint64_t)s : 0) : (s > l ? (uint64_t)s - (uint64_t)l : 0);
    uint64_t step = d > 0 ? (uint64_t)d : (uint64_t)0 - (uint64_t)d;
    uint64_t cnt = dist / step + (dist % step != 0);
    if (cnt > FT_N) return false;
    int64_t len = (int64_t)cnt;
    if (!ft_set_shape(y, dt, 1, &len)) return false;
    for (int64_t k = 0; k < len; k++) y->i[k] = wrap_int(dt, (int64_t)((uint64_t)s + (uint64_t)k * (uint64_t)d));
    return true;
}

/* Shape (with opset 15's start/end) of a value whose needed dims are all
 * concrete. */
static bool fold_shape_of(const pr_node *n, const pr_value *v, ft *y) {
    if (!v || v->rank < 0 || (v->rank && !v->dims)) return false;
    int64_t r = v->rank, start = n->opset >= 15 ? a_int(n, "start", 0) : 0, end = n->opset >= 15 ? a_int(n, "end", r) : r;
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    if (!ft_set_shape(y, PRISM_DTYPE_INT64, 1, &len)) return false;
    for (int64_t k = 0; k < len; k++) {
        if (v->dims[start + k] < 0) return false;
        y->i[k] = v->dims[start + k];
    }
    return true;
}

static bool fold_size_of(const pr_value *v, ft *y) {
    if (!v || v->rank < 0 || (v->rank && !v->dims)) return false;
    int64_t count = 1;
    for (int32_t d = 0; d < v->rank; d++) {
        if (v->dims[d] < 0) return false;
        if (v->dims[d] && count > PR_MAX_ELEMENTS / v->dims[d]) return false;
        count *= v->dims[d];
    }
    if (!ft_set_shape(y, PRISM_DTYPE_INT64, 0, NULL)) return false;
    y->i[0] = count;
    return true;
}

/* ---- the graph side ---- */

/* Is the value read by a subgraph (an implicit input of some node)? Those
 * stay computed values: the executor binds them into the bodies. */
static bool read_by_subgraph(const pr_graph *g, uint32_t id) {
    for (size_t i = 0; i < g->n_nodes; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_implicit; k++)
            if (g->nodes[i].implicit[k] == id) return true;
    return false;
}

/* Does the folded tensor agree with what is declared for v? */
static bool fits_declared(const pr_value *v, const ft *t) {
    if (v->dtype && v->dtype != t->dtype) return false;
    if (v->rank < 0) return true;
    if (v->rank != t->rank) return false;
    for (int32_t d = 0; d < t->rank; d++)
        if (v->dims[d] >= 0 && v->dims[d] != t->dims[d]) return false;
    return true;
}

static prism_status store(pr_value *v, const ft *t) {
    pr_const *c = calloc(1, sizeof *c);
    int64_t *vdims = calloc((size_t)t->rank + 1, sizeof *vdims);
    char **vparams = calloc((size_t)t->rank + 1, sizeof *vparams);
    size_t es = prism_dtype_size((prism_dtype)t->dtype);
    if (c) {
        c->dtype = t->dtype;
        c->rank = (uint32_t)t->rank;
        c->count = t->count;
        c->bytes = (size_t)t->count * es;
        c->dims = calloc((size_t)t->rank + 1, sizeof *c->dims);
        c->data = pr_aligned_calloc(c->bytes);
    }
    if (!c || !c->dims || !c->data || !vdims || !vparams) {
        if (c) pr_const_clear(c);
        free(c);
        free(vdims);
        free(vparams);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (t->rank) {
        memcpy(c->dims, t->dims, (size_t)t->rank * sizeof *c->dims);
        memcpy(vdims, t->dims, (size_t)t->rank * sizeof *vdims);
    }
    for (int64_t k = 0; k < t->count; k++) {
        char *p = (char *)c->data + (size_t)k * es;
        switch (t->dtype) {
        case PRISM_DTYPE_INT64: memcpy(p, &t->i[k], 8); break;
        case PRISM_DTYPE_INT32: { int32_t x = (int32_t)t->i[k]; memcpy(p, &x, 4); break; }
        case PRISM_DTYPE_BOOL: *(uint8_t *)p = t->i[k] != 0; break;
        case PRISM_DTYPE_FLOAT: { float x = (float)t->f[k]; memcpy(p, &x, 4); break; }
        default: memcpy(p, &t->f[k], 8); break;
        }
    }
    if (v->dim_params)
        for (int32_t d = 0; d < v->rank; d++) free(v->dim_params[d]);
    free(v->dims);
    free(v->dim_params);
    v->dims = vdims;
    v->dim_params = vparams;
    v->rank = t->rank;
    v->dtype = t->dtype;
    v->constant = c;
    v->producer = -1;
    return PRISM_OK;
}

#define FOLD_MAX_INPUTS 64

static bool fold_compute(pr_graph *g, const pr_node *n, ft *y) {
    const char *op = n->op_type;
    if (!strcmp(op, "Shape")) return fold_shape_of(n, pr_in(g, n, 0), y);
    if (!strcmp(op, "Size")) return fold_size_of(pr_in(g, n, 0), y);
    static const char *const foldable[] = {
        "Identity", "Cast", "Neg", "Abs", "Floor", "Ceil", "Not", "Add", "Sub", "Mul", "Div", "Max", "Min",
        "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor", "Where", "Gather",
        "Unsqueeze", "Squeeze", "Reshape", "Flatten", "Concat", "Slice", "Expand", "ConstantOfShape", "Range"};
    bool known = false;
    for (size_t i = 0; i < sizeof foldable / sizeof foldable[0] && !known; i++) known = !strcmp(op, foldable[i]);
    if (!known || n->n_inputs == 0 || n->n_inputs > FOLD_MAX_INPUTS || n->inputs[0] == PRISM_NO_VALUE) return false;
    /* Every present input must be a small constant. */
    for (uint32_t k = 0; k < n->n_inputs; k++) {
        const pr_value *v = pr_in(g, n, k);
        if (v && (!v->constant || v->constant->count > FT_N)) return false;
    }
    uint32_t nin = n->n_inputs;
    ft *buf = malloc(nin * sizeof *buf);
    ft *in[FOLD_MAX_INPUTS];
    bool ok = buf != NULL;
    for (uint32_t k = 0; k < nin && ok; k++) {
        const pr_value *v = pr_in(g, n, k);
        in[k] = v ? &buf[k] : NULL;
        if (v && !ft_load(v->constant, &buf[k])) ok = false;
    }
    if (ok) {
        const ft *x = in[0];
        static const struct {
            const char *name;
            binop op;
        } bins[] = {{"Add", OP_ADD},   {"Sub", OP_SUB},          {"Mul", OP_MUL},           {"Div", OP_DIV},
                    {"Max", OP_MAX},   {"Min", OP_MIN},          {"Equal", OP_EQ},          {"Less", OP_LT},
                    {"Greater", OP_GT}, {"LessOrEqual", OP_LE}, {"GreaterOrEqual", OP_GE}, {"And", OP_AND},
                    {"Or", OP_OR},     {"Xor", OP_XOR}};
        int bi = -1;
        for (size_t i = 0; i < sizeof bins / sizeof bins[0]; i++)
            if (!strcmp(op, bins[i].name)) bi = (int)i;
        if (bi >= 0) {
            bool variadic = bins[bi].op == OP_MAX || bins[bi].op == OP_MIN;
            if ((!variadic && nin != 2) || (variadic && n->opset < 8 && nin > 1) || n->opset < 7) {
                ok = false; /* legacy broadcasting forms: left to the kernel */
            } else if (nin == 1) {
                *y = *x;
            } else {
                ft acc = *x;
                for (uint32_t k = 1; k < nin && ok; k++) {
                    ok = in[k] && fold_binary(bins[bi].op, &acc, in[k], y);
                    acc = *y;
                }
            }
        } else if (!strcmp(op, "Identity")) {
            *y = *x;
        } else if (!strcmp(op, "Cast")) {
            ok = fold_cast(pr_cast_target(n), x, y);
        } else if (!strcmp(op, "Where")) {
            ok = nin == 3 && in[1] && in[2] && fold_where(x, in[1], in[2], y);
        } else if (!strcmp(op, "Gather")) {
            ok = nin == 2 && fold_gather(n, x, in[1], y);
        } else if (!strcmp(op, "Unsqueeze")) {
            ok = fold_unsqueeze(n, in, nin, y);
        } else if (!strcmp(op, "Squeeze")) {
            ok = fold_squeeze(n, in, nin, y);
        } else if (!strcmp(op, "Reshape")) {
            ok = fold_reshape(n, in, nin, y);
        } else if (!strcmp(op, "Flatten")) {
            ok = fold_flatten(n, x, y);
        } else if (!strcmp(op, "Concat")) {
            ok = fold_concat(n, in, nin, y);
        } else if (!strcmp(op, "Slice")) {
            ok = fold_slice(n, in, nin, y);
        } else if (!strcmp(op, "Expand")) {
            ok = n->opset >= 8 && nin == 2 && in[1] && fold_expand(x, in[1], y);
        } else if (!strcmp(op, "ConstantOfShape")) {
            ok = fold_constant_of_shape(n, x, y);
        } else if (!strcmp(op, "Range")) {
            ok = fold_range(in, nin, y);
        } else {
            ok = fold_unary(op, x, y);
        }
    }
    free(buf);
    return ok;
}

prism_status pr_fold_node(pr_graph *g, pr_node *n, bool *folded) {
    *folded = false;
    if (*n->domain || n->n_outputs != 1 || n->outputs[0] == PRISM_NO_VALUE) return PRISM_OK;
    pr_value *out = &g->values[n->outputs[0]];
    if (out->constant) return PRISM_OK;
    ft *y = malloc(sizeof *y);
    if (!y) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = PRISM_OK;
    if (fold_compute(g, n, y) && fits_declared(out, y) && !read_by_subgraph(g, n->outputs[0])) {
        st = store(out, y);
        *folded = st == PRISM_OK;
    }
    free(y);
    return st;
}

prism_status pr_fold_remove(pr_graph *g, const bool *dead) {
    size_t kept = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        if (dead[i]) {
            pr_node_clear(&g->nodes[i]);
            continue;
        }
        g->nodes[kept++] = g->nodes[i];
    }
    g->n_nodes = kept;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] != PRISM_NO_VALUE) g->values[g->nodes[i].outputs[k]].producer = (int32_t)i;
    return PRISM_OK;
}

prism_status pr_fold_shape_arith(pr_graph *g) {
    bool *dead = calloc(g->n_nodes + 1, sizeof *dead);
    if (!dead) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_dead = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        bool folded;
        prism_status st = pr_fold_node(g, &g->nodes[i], &folded);
        if (st) {
            free(dead);
            return pr_fail_context(st, "folding node '%s' (%s)", g->nodes[i].name, g->nodes[i].op_type);
        }
        dead[i] = folded;
        n_dead += folded;
    }
    prism_status st = n_dead ? pr_fold_remove(g, dead) : PRISM_OK;
    free(dead);
    return st;
}
