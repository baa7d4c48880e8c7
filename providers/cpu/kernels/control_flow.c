/*
 * control_flow.c — If, Loop and Scan. Their bodies are compiled once at
 * prepare (cpu_body_compile) and run per iteration on the same thread; values
 * a body reads from the enclosing graph are bound by the executor.
 */
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

/* Copy n elements of esize bytes; strings are duplicated (dst owns them). */
static bool copy_elems(void *dst, int64_t doff, const void *src, int64_t soff, int64_t n, int32_t dtype) {
    if (dtype != PRISM_DTYPE_STRING) {
        size_t es = cpu_dtype_size(dtype);
        if (n > 0) memcpy((char *)dst + doff * (int64_t)es, (const char *)src + soff * (int64_t)es, (size_t)n * es);
        return true;
    }
    char **d = (char **)dst + doff;
    char *const *s = (char *const *)src + soff;
    for (int64_t i = 0; i < n; i++) {
        free(d[i]);
        d[i] = s[i] ? strdup(s[i]) : NULL;
        if (s[i] && !d[i]) return false;
    }
    return true;
}

/* Node output k := t (copied). */
static prism_status emit(cpu_ctx *ctx, uint32_t k, const cpu_tensor *t) {
    cpu_tensor *o;
    prism_status st = cpu_output(ctx, k, t->dtype, t->rank, t->dims, &o);
    if (st) return st;
    if (!copy_elems(o->data, 0, t->data, 0, t->count, t->dtype))
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory copying output %u", k);
    return PRISM_OK;
}

static void release_all(cpu_ctx *ctx, cpu_tensor *ts, uint32_t n) {
    for (uint32_t i = 0; i < n; i++) cpu_tensor_release(ctx, &ts[i]);
}

static bool scalar_true(const cpu_tensor *t) {
    return t && t->count >= 1 && (t->dtype == PRISM_DTYPE_BOOL ? ((const uint8_t *)t->data)[0] != 0
                                                                : cpu_tensor_int(t, 0) != 0);
}

/* ---- If ------------------------------------------------------------------------ */

typedef struct if_state {
    cpu_body *then_body, *else_body;
} if_state;

static void if_release(void *p) {
    if_state *s = p;
    if (!s) return;
    cpu_body_destroy(s->then_body);
    cpu_body_destroy(s->else_body);
    free(s);
}

static prism_status if_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    if_state *s = calloc(1, sizeof *s);
    if (!s) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = cpu_body_compile(ctx, node, "then_branch", &s->then_body);
    if (!st) st = cpu_body_compile(ctx, node, "else_branch", &s->else_body);
    if (!st && (cpu_body_output_count(s->then_body) != cpu_node_output_count(node) ||
                cpu_body_output_count(s->else_body) != cpu_node_output_count(node)))
        st = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "the branches have %u and %u outputs; the node has %u",
                      cpu_body_output_count(s->then_body), cpu_body_output_count(s->else_body),
                      cpu_node_output_count(node));
    if (st) {
        if_release(s);
        return st;
    }
    *state = s;
    return PRISM_OK;
}

static prism_status if_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                           uint32_t n_in) {
    if_state *s = state;
    if (n_in < 1 || !in[0] || in[0]->count != 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the condition must be a tensor of one element");
    const cpu_body *body = scalar_true(in[0]) ? s->then_body : s->else_body;
    uint32_t n = cpu_body_output_count(body);
    cpu_tensor *outs = calloc((size_t)n + 1, sizeof *outs);
    if (!outs) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = cpu_body_run(ctx, body, NULL, outs);
    for (uint32_t k = 0; !st && k < n; k++) st = emit(ctx, k, &outs[k]);
    if (!st || outs[0].data) release_all(ctx, outs, n);
    free(outs);
    (void)node;
    return st;
}

const cpu_kernel_def cpu_op_If = {.prepare = if_prepare, .run = if_run, .release = if_release};

/* ---- stacking per-iteration outputs (Loop and Scan) ------------------------------- */

typedef struct stack {
    cpu_tensor first; /* shape and dtype of iteration 0 (data unused) */
    char *data;       /* iterations * per bytes */
    int64_t iters, cap, per; /* per = elements per iteration */
} stack;

static prism_status stack_push(cpu_ctx *ctx, stack *s, const cpu_tensor *t, uint32_t k) {
    if (s->iters == 0) {
        s->first = *t;
        s->per = t->count;
    } else if (t->dtype != s->first.dtype || t->rank != s->first.rank ||
               memcmp(t->dims, s->first.dims, sizeof(int64_t) * (size_t)t->rank) != 0) {
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scan output %u changes shape or type between iterations", k);
    }
    size_t es = cpu_dtype_size(t->dtype);
    if (s->iters == s->cap) {
        int64_t cap = s->cap ? s->cap * 2 : 8;
        char *d = realloc(s->data, (size_t)cap * (size_t)(s->per ? s->per : 1) * es);
        if (!d) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory stacking scan output %u", k);
        if (t->dtype == PRISM_DTYPE_STRING)
            memset(d + (size_t)s->cap * (size_t)s->per * es, 0, (size_t)(cap - s->cap) * (size_t)s->per * es);
        s->data = d;
        s->cap = cap;
    }
    if (!copy_elems(s->data, s->iters * s->per, t->data, 0, t->count, t->dtype))
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    s->iters++;
    return PRISM_OK;
}

static void stack_free(stack *s) {
    if (s->first.dtype == PRISM_DTYPE_STRING && s->data)
        for (int64_t i = 0; i < s->iters * s->per; i++) free(((char **)s->data)[i]);
    free(s->data);
    memset(s, 0, sizeof *s);
}

/* Output k := the iterations stacked along `axis` of the result (a new axis
 * inserted at that position); reversed when reverse is set. */
static prism_status stack_emit(cpu_ctx *ctx, const stack *s, uint32_t k, int64_t axis, bool reverse,
                               int32_t fallback_dtype) {
    if (s->iters == 0) { /* no iteration ran: an empty [0] tensor */
        int64_t zero = 0;
        cpu_tensor *o;
        return cpu_output(ctx, k, s->first.dtype ? s->first.dtype : fallback_dtype, 1, &zero, &o);
    }
    int32_t r = s->first.rank;
    if (axis < 0) axis += r + 1;
    if (axis < 0 || axis > r) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "scan output axis out of range");
    int64_t dims[CPU_MAX_RANK];
    if (r + 1 > CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "scan output rank too high");
    int64_t outer = 1, inner = 1;
    for (int32_t i = 0, j = 0; i <= r; i++) {
        if (i == axis) dims[i] = s->iters;
        else {
            dims[i] = s->first.dims[j];
            if (i < axis) outer *= s->first.dims[j];
            else inner *= s->first.dims[j];
            j++;
        }
    }
    cpu_tensor *o;
    prism_status st = cpu_output(ctx, k, s->first.dtype, r + 1, dims, &o);
    if (st) return st;
    for (int64_t t = 0; t < s->iters; t++) {
        int64_t pos = reverse ? s->iters - 1 - t : t;
        for (int64_t a = 0; a < outer; a++)
            if (!copy_elems(o->data, (a * s->iters + pos) * inner, s->data, t * s->per + a * inner, inner, s->first.dtype))
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    return PRISM_OK;
}

/* ---- Loop ------------------------------------------------------------------------ */

typedef struct loop_state {
    cpu_body *body;
} loop_state;

static void loop_release(void *p) {
    loop_state *s = p;
    if (!s) return;
    cpu_body_destroy(s->body);
    free(s);
}

static prism_status loop_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    loop_state *s = calloc(1, sizeof *s);
    if (!s) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = cpu_body_compile(ctx, node, "body", &s->body);
    uint32_t n_in = cpu_node_input_count(node), n_carried = n_in >= 2 ? n_in - 2 : 0;
    if (!st && (cpu_body_input_count(s->body) != n_carried + 2 || cpu_body_output_count(s->body) < n_carried + 1 ||
                cpu_node_output_count(node) != cpu_body_output_count(s->body) - 1))
        st = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                      "the body has %u inputs and %u outputs; with %u loop-carried values it needs %u inputs and "
                      "the node %u outputs",
                      cpu_body_input_count(s->body), cpu_body_output_count(s->body), n_carried, n_carried + 2,
                      cpu_body_output_count(s->body) - 1);
    if (st) {
        loop_release(s);
        return st;
    }
    *state = s;
    return PRISM_OK;
}

static prism_status loop_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    loop_state *s = state;
    uint32_t n_carried = n_in - 2, n_body_out = cpu_body_output_count(s->body);
    uint32_t n_scan = n_body_out - 1 - n_carried;
    bool has_max = in[0] != NULL, cond = in[1] ? scalar_true(in[1]) : true;
    int64_t max_trip = has_max ? (in[0]->count ? cpu_tensor_int(in[0], 0) : 0) : INT64_MAX;
    cpu_tensor *carried = calloc((size_t)n_carried + 1, sizeof *carried); /* owned copies after iteration 0 */
    const cpu_tensor **body_in = calloc((size_t)n_carried + 3, sizeof *body_in);
    cpu_tensor *outs = calloc((size_t)n_body_out + 1, sizeof *outs);
    stack *scans = calloc((size_t)n_scan + 1, sizeof *scans);
    prism_status st = PRISM_OK;
    bool owned = false; /* carried[] holds body outputs (to release) rather than the inputs */
    if (!carried || !body_in || !outs || !scans) {
        st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < n_carried; k++) {
        if (!in[k + 2]) {
            st = cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "loop-carried value %u is omitted (optional values are not supported)", k);
            goto done;
        }
        carried[k] = *in[k + 2];
    }
    int64_t iter = 0;
    uint8_t cond_byte;
    cpu_tensor iter_t = {.dtype = PRISM_DTYPE_INT64, .count = 1, .bytes = 8, .data = &iter};
    cpu_tensor cond_t = {.dtype = PRISM_DTYPE_BOOL, .count = 1, .bytes = 1, .data = &cond_byte};
    while (cond && iter < max_trip) {
        cond_byte = 1;
        body_in[0] = &iter_t;
        body_in[1] = &cond_t;
        for (uint32_t k = 0; k < n_carried; k++) body_in[k + 2] = &carried[k];
        st = cpu_body_run(ctx, s->body, body_in, outs);
        if (st) goto done;
        cond = scalar_true(&outs[0]);
        cpu_tensor_release(ctx, &outs[0]);
        if (owned) release_all(ctx, carried, n_carried);
        for (uint32_t k = 0; k < n_carried; k++) carried[k] = outs[1 + k];
        owned = true;
        for (uint32_t k = 0; k < n_scan && !st; k++) st = stack_push(ctx, &scans[k], &outs[1 + n_carried + k], k);
        for (uint32_t k = 0; k < n_scan; k++) cpu_tensor_release(ctx, &outs[1 + n_carried + k]);
        if (st) goto done;
        iter++;
    }
    for (uint32_t k = 0; k < n_carried && !st; k++) st = emit(ctx, k, &carried[k]);
    for (uint32_t k = 0; k < n_scan && !st; k++)
        st = stack_emit(ctx, &scans[k], n_carried + k, 0, false, cpu_node_output_dtype(node, n_carried + k));
done:
    if (owned && carried) release_all(ctx, carried, n_carried);
    for (uint32_t k = 0; scans && k < n_scan; k++) stack_free(&scans[k]);
    free(carried);
    free(body_in);
    free(outs);
    free(scans);
    return st;
}

const cpu_kernel_def cpu_op_Loop = {.prepare = loop_prepare, .run = loop_run, .release = loop_release};

/* ---- Scan (opset 9+) ---------------------------------------------------------------- */

typedef struct scan_state {
    cpu_body *body;
    int64_t n_scan_in;
    const int64_t *in_axes, *in_dirs, *out_axes, *out_dirs;
    size_t n_in_axes, n_in_dirs, n_out_axes, n_out_dirs;
} scan_state;

static void scan_release(void *p) {
    scan_state *s = p;
    if (!s) return;
    cpu_body_destroy(s->body);
    free(s);
}

static prism_status scan_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    scan_state *s = calloc(1, sizeof *s);
    if (!s) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    s->n_scan_in = cpu_attr_int(node, "num_scan_inputs", -1);
    s->n_in_axes = cpu_attr_ints(node, "scan_input_axes", &s->in_axes);
    s->n_in_dirs = cpu_attr_ints(node, "scan_input_directions", &s->in_dirs);
    s->n_out_axes = cpu_attr_ints(node, "scan_output_axes", &s->out_axes);
    s->n_out_dirs = cpu_attr_ints(node, "scan_output_directions", &s->out_dirs);
    prism_status st = cpu_body_compile(ctx, node, "body", &s->body);
    uint32_t n_in = cpu_node_input_count(node);
    if (!st && (s->n_scan_in < 1 || s->n_scan_in > (int64_t)n_in))
        st = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "num_scan_inputs %lld is not in [1, %u]", (long long)s->n_scan_in,
                      n_in);
    if (!st && (cpu_body_input_count(s->body) != n_in || cpu_body_output_count(s->body) != cpu_node_output_count(node)))
        st = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "the body's inputs/outputs do not match the node's");
    uint32_t n_state = n_in - (uint32_t)(s->n_scan_in > 0 ? s->n_scan_in : 0);
    uint32_t n_scan_out = cpu_node_output_count(node) - n_state;
    if (!st && ((s->n_in_axes && s->n_in_axes != (size_t)s->n_scan_in) ||
                (s->n_in_dirs && s->n_in_dirs != (size_t)s->n_scan_in) ||
                (s->n_out_axes && s->n_out_axes != n_scan_out) || (s->n_out_dirs && s->n_out_dirs != n_scan_out)))
        st = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "scan axes/directions attributes have the wrong length");
    if (st) {
        scan_release(s);
        return st;
    }
    *state = s;
    return PRISM_OK;
}

static prism_status scan_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    scan_state *s = state;
    uint32_t m = (uint32_t)s->n_scan_in, n_state = n_in - m;
    uint32_t n_out = cpu_node_output_count(node), n_scan_out = n_out - n_state;
    int64_t len = -1;
    int64_t axes[64];
    if (m > 64) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "more than 64 scan inputs");
    for (uint32_t j = 0; j < m; j++) {
        const cpu_tensor *t = in[n_state + j];
        if (!t) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scan input %u is missing", j);
        int64_t ax = s->n_in_axes ? s->in_axes[j] : 0;
        if (!cpu_norm_axis(ax, t->rank, &axes[j]) || t->rank < 1)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scan input %u: axis %lld out of range for rank %d", j,
                            (long long)ax, t->rank);
        int64_t l = t->dims[axes[j]];
        if (len >= 0 && l != len)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scan inputs have different lengths (%lld and %lld)",
                            (long long)len, (long long)l);
        len = l;
    }
    for (uint32_t k = 0; k < n_state; k++)
        if (!in[k]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "state input %u is missing", k);
    cpu_tensor *state_t = calloc((size_t)n_state + 1, sizeof *state_t);
    cpu_tensor *slices = calloc((size_t)m + 1, sizeof *slices);
    const cpu_tensor **body_in = calloc((size_t)n_in + 1, sizeof *body_in);
    cpu_tensor *outs = calloc((size_t)n_out + 1, sizeof *outs);
    stack *scans = calloc((size_t)n_scan_out + 1, sizeof *scans);
    prism_status st = PRISM_OK;
    bool owned = false;
    if (!state_t || !slices || !body_in || !outs || !scans) {
        st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (uint32_t k = 0; k < n_state; k++) state_t[k] = *in[k];
    /* Per-iteration slices: one buffer per scan input, refilled each step. */
    for (uint32_t j = 0; j < m; j++) {
        const cpu_tensor *t = in[n_state + j];
        int64_t dims[CPU_MAX_RANK];
        for (int32_t d = 0, e = 0; d < t->rank; d++)
            if (d != axes[j]) dims[e++] = t->dims[d];
        slices[j] = (cpu_tensor){.dtype = t->dtype, .rank = t->rank - 1, .count = cpu_shape_count(t->rank - 1, dims)};
        memcpy(slices[j].dims, dims, sizeof(int64_t) * (size_t)(t->rank - 1));
        slices[j].bytes = (size_t)slices[j].count * cpu_dtype_size(t->dtype);
        slices[j].data = calloc((size_t)(slices[j].count ? slices[j].count : 1), cpu_dtype_size(t->dtype));
        if (!slices[j].data) {
            st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    for (int64_t it = 0; it < len; it++) {
        for (uint32_t j = 0; j < m; j++) {
            const cpu_tensor *t = in[n_state + j];
            int64_t pos = (s->n_in_dirs && s->in_dirs[j]) ? len - 1 - it : it;
            int64_t outer = 1, inner = 1;
            for (int32_t d = 0; d < t->rank; d++) {
                if (d < axes[j]) outer *= t->dims[d];
                else if (d > axes[j]) inner *= t->dims[d];
            }
            /* Strings are borrowed (the body never frees its inputs). */
            size_t es = cpu_dtype_size(t->dtype);
            for (int64_t a = 0; a < outer; a++)
                memcpy((char *)slices[j].data + (size_t)(a * inner) * es,
                       (const char *)t->data + (size_t)((a * len + pos) * inner) * es, (size_t)inner * es);
            body_in[n_state + j] = &slices[j];
        }
        for (uint32_t k = 0; k < n_state; k++) body_in[k] = &state_t[k];
        st = cpu_body_run(ctx, s->body, body_in, outs);
        if (st) goto done;
        if (owned) release_all(ctx, state_t, n_state);
        for (uint32_t k = 0; k < n_state; k++) state_t[k] = outs[k];
        owned = true;
        for (uint32_t k = 0; k < n_scan_out && !st; k++) st = stack_push(ctx, &scans[k], &outs[n_state + k], k);
        for (uint32_t k = 0; k < n_scan_out; k++) cpu_tensor_release(ctx, &outs[n_state + k]);
        if (st) goto done;
    }
    for (uint32_t k = 0; k < n_state && !st; k++) st = emit(ctx, k, &state_t[k]);
    for (uint32_t k = 0; k < n_scan_out && !st; k++)
        st = stack_emit(ctx, &scans[k], n_state + k, s->n_out_axes ? s->out_axes[k] : 0,
                        s->n_out_dirs && s->out_dirs[k], cpu_node_output_dtype(node, n_state + k));
done:
    if (owned && state_t) release_all(ctx, state_t, n_state);
    for (uint32_t j = 0; slices && j < m; j++) free(slices[j].data);
    for (uint32_t k = 0; scans && k < n_scan_out; k++) stack_free(&scans[k]);
    free(state_t);
    free(slices);
    free(body_in);
    free(outs);
    free(scans);
    return st;
}

const cpu_kernel_def cpu_op_Scan = {.prepare = scan_prepare, .run = scan_run, .release = scan_release};
