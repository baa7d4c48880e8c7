/*
 * example_run.c — running a compiled unit on the simulated device.
 *
 * Inputs arrive as device buffer handles; they are resolved once to the
 * backing store, and every step computes its output shape from the run's
 * shapes, allocates the output in device memory (through the host's
 * output_alloc for the unit's outputs), runs its kernel and frees the
 * intermediates nobody reads any more. All state of a run lives in the call,
 * so several threads may run one unit at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_internal.h"

typedef struct run_state {
    prism_compiled *c;
    prism_host_context *hc;
    ex_tensor *vals; /* per slot */
    bool *owned;     /* per slot: an intermediate this run allocated and has not freed */
} run_state;

static prism_status step_fail(const run_state *r, const ex_step *s, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static prism_status step_fail(const run_state *r, const ex_step *s, prism_status st, const char *fmt, ...) {
    char msg[EX_ERR * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ex_fail(r->c->inst, r->hc, st, "node '%s' (%s, opset %lld): %s", s->name, ex_op_name(s->op),
                   (long long)s->opset, msg);
}

/* Element count of a shape, false past 2^50 or for a negative dim. */
static bool shape_count(int32_t rank, const int64_t *dims, int64_t *out) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && n > (INT64_C(1) << 50) / dims[i])) return false;
        n *= dims[i];
    }
    *out = n;
    return true;
}

static prism_status bind_input(run_state *r, uint32_t slot, const prism_tensor_desc *d) {
    prism_compiled *c = r->c;
    uint32_t k = c->slots[slot].index;
    ex_tensor *t = &r->vals[slot];
    if (d->dtype != PRISM_DTYPE_FLOAT)
        return ex_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u has dtype %d, not float32", k,
                       (int)d->dtype);
    if (d->rank > EX_MAX_RANK || (d->rank && !d->dims))
        return ex_fail(c->inst, r->hc, PRISM_ERR_NOT_SUPPORTED, "unit input %u has rank %u (at most %d)", k, d->rank,
                       EX_MAX_RANK);
    t->rank = (int32_t)d->rank;
    for (uint32_t i = 0; i < d->rank; i++) t->dims[i] = d->dims[i];
    if (!shape_count(t->rank, t->dims, &t->count))
        return ex_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u has a negative or huge dim", k);
    void *ptr;
    size_t bytes;
    if (!ex_mem_resolve(c->inst, d->data, &ptr, &bytes))
        return ex_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT,
                       "unit input %u: %p is not a live buffer of this instance on %s", k, d->data,
                       c->inst->dev->name);
    if (bytes < (size_t)t->count * sizeof(float))
        return ex_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT,
                       "unit input %u: the buffer has %zu bytes, too few for %lld floats", k, bytes,
                       (long long)t->count);
    t->data = ptr;
    t->handle = d->data;
    return PRISM_OK;
}

/* A scalar bound of Clip (opset 11+), read from device memory. */
static prism_status clip_bound(const run_state *r, const ex_step *s, const ex_tensor *t, const char *which,
                               float *out) {
    if (!t) return PRISM_OK;
    if (t->count != 1)
        return step_fail(r, s, PRISM_ERR_RUNTIME, "%s has %lld elements; it must be a scalar", which,
                         (long long)t->count);
    *out = t->data[0];
    return PRISM_OK;
}

/* Shape of the step's output and the scratch its kernel needs. */
static prism_status plan_step(const run_state *r, const ex_step *s, const ex_tensor *const *in, int32_t *rank,
                              int64_t *dims, size_t *ws, float *p0, float *p1) {
    char err[EX_ERR] = "";
    bool ok = true;
    *ws = 0;
    switch (s->op) {
    case EX_ADD:
    case EX_SUB:
    case EX_MUL:
    case EX_DIV: ok = ex_broadcast_shape(in[0], in[1], rank, dims, err); break;
    case EX_CONV: ok = ex_conv_shape(&s->params, in[0], in[1], in[2], rank, dims, ws, err); break;
    case EX_GEMM: ok = ex_gemm_shape(&s->params, in[0], in[1], in[2], rank, dims, ws, err); break;
    case EX_MATMUL: ok = ex_matmul_shape(in[0], in[1], rank, dims, ws, err); break;
    default: /* activations keep the shape */
        *rank = in[0]->rank;
        memcpy(dims, in[0]->dims, sizeof in[0]->dims);
        *p0 = s->op == EX_CLIP ? s->params.clip_min : s->params.alpha;
        *p1 = s->params.clip_max;
        if (s->op == EX_CLIP && s->opset >= 11) {
            prism_status st = clip_bound(r, s, in[1], "min", p0);
            if (!st) st = clip_bound(r, s, in[2], "max", p1);
            if (st) return st;
        }
        break;
    }
    return ok ? PRISM_OK : step_fail(r, s, PRISM_ERR_RUNTIME, "%s", err);
}

static prism_status exec_step(run_state *r, size_t i) {
    prism_compiled *c = r->c;
    const ex_step *s = &c->steps[i];
    const ex_tensor *in[EX_MAX_INPUTS] = {NULL};
    for (uint32_t k = 0; k < s->n_in; k++) in[k] = s->in[k] == EX_NO_SLOT ? NULL : &r->vals[s->in[k]];
    int32_t rank = 0;
    int64_t dims[EX_MAX_RANK];
    size_t ws_bytes = 0;
    float p0 = 0.0f, p1 = 0.0f;
    prism_status st = plan_step(r, s, in, &rank, dims, &ws_bytes, &p0, &p1);
    if (st) return st;
    ex_tensor *y = &r->vals[s->out];
    y->rank = rank;
    memcpy(y->dims, dims, (size_t)rank * sizeof *dims);
    if (!shape_count(rank, dims, &y->count))
        return step_fail(r, s, PRISM_ERR_RUNTIME, "the output would have more than 2^50 elements");
    size_t bytes = (size_t)y->count * sizeof(float);
    char err[EX_ERR];
    void *ptr = NULL;
    const ex_slot *slot = &c->slots[s->out];
    if (slot->kind == EX_SLOT_OUTPUT) {
        st = c->inst->prov->host->output_alloc(r->hc, slot->index, PRISM_DTYPE_FLOAT, (uint32_t)rank, dims,
                                               &y->handle);
        if (st) return st;
        size_t got = 0;
        if (!ex_mem_resolve(c->inst, y->handle, &ptr, &got) || got < bytes)
            return step_fail(r, s, PRISM_ERR_INTERNAL,
                             "the host's output_alloc gave a buffer this instance did not make, or too small a one");
    } else {
        st = ex_mem_alloc(c->inst, bytes, &y->handle, &ptr, err);
        if (st) return step_fail(r, s, st, "%s", err);
        r->owned[s->out] = true;
    }
    y->data = ptr;
    void *ws_handle = NULL, *ws = NULL;
    if (ws_bytes && (st = ex_mem_alloc(c->inst, ws_bytes, &ws_handle, &ws, err)))
        return step_fail(r, s, st, "workspace: %s", err);
    switch (s->op) {
    case EX_ADD:
    case EX_SUB:
    case EX_MUL:
    case EX_DIV: ex_binary(s->op, in[0], in[1], y); break;
    case EX_CONV: ex_conv(&s->params, in[0], in[1], in[2], y, ws); break;
    case EX_GEMM: ex_gemm_op(&s->params, in[0], in[1], in[2], y, ws); break;
    case EX_MATMUL: ex_matmul(in[0], in[1], y, ws); break;
    default: ex_unary(s->op, p0, p1, in[0], y); break;
    }
    ex_mem_free(c->inst, ws_handle);
    return PRISM_OK;
}

/* Output k whose value is another output or a unit input gets a copy. */
static prism_status copy_output(run_state *r, uint32_t k) {
    prism_compiled *c = r->c;
    const ex_tensor *src = &r->vals[c->output_slot[k]];
    void *handle, *ptr;
    size_t got = 0;
    prism_status st = c->inst->prov->host->output_alloc(r->hc, k, PRISM_DTYPE_FLOAT, (uint32_t)src->rank, src->dims,
                                                        &handle);
    if (st) return st;
    if (!ex_mem_resolve(c->inst, handle, &ptr, &got) || got < (size_t)src->count * sizeof(float))
        return ex_fail(c->inst, r->hc, PRISM_ERR_INTERNAL, "the host's output_alloc gave an unusable buffer");
    if (src->count) memcpy(ptr, src->data, (size_t)src->count * sizeof(float));
    return PRISM_OK;
}

prism_status ex_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc) {
    if (!c) return PRISM_ERR_INVALID_ARGUMENT;
    if (input_count < c->n_inputs || (c->n_inputs && !inputs))
        return ex_fail(c->inst, hc, PRISM_ERR_INVALID_ARGUMENT, "run got %zu inputs; the unit needs %u", input_count,
                       c->n_inputs);
    run_state r = {.c = c, .hc = hc};
    r.vals = calloc(c->n_slots + 1, sizeof *r.vals);
    r.owned = calloc(c->n_slots + 1, sizeof *r.owned);
    prism_status st = PRISM_OK;
    if (!r.vals || !r.owned) st = ex_fail(c->inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t s = 0; s < c->n_slots && !st; s++) {
        if (c->slots[s].kind == EX_SLOT_INPUT) st = bind_input(&r, (uint32_t)s, &inputs[c->slots[s].index]);
        else if (c->slots[s].kind == EX_SLOT_CONST) r.vals[s] = c->slots[s].konst;
    }
    for (size_t i = 0; i < c->n_steps && !st; i++) {
        st = exec_step(&r, i);
        for (size_t s = 0; s < c->n_slots && !st; s++)
            if (r.owned[s] && c->slots[s].last_use == (int64_t)i) {
                ex_mem_free(c->inst, r.vals[s].handle);
                r.owned[s] = false;
            }
    }
    for (uint32_t k = 0; k < c->n_outputs && !st; k++) {
        const ex_slot *sl = &c->slots[c->output_slot[k]];
        if (sl->kind != EX_SLOT_OUTPUT || sl->index != k) st = copy_output(&r, k);
    }
    for (size_t s = 0; r.owned && s < c->n_slots; s++)
        if (r.owned[s]) ex_mem_free(c->inst, r.vals[s].handle);
    free(r.vals);
    free(r.owned);
    return st;
}
