/*
 * xrt_run.c — running a compiled unit: shapes from the run's inputs, device
 * buffers per tensor, kernels through the lowering, intermediates freed
 * after their last reader.
 *
 * All state of a run lives in the call, so several threads may run one unit
 * at once. Unit outputs are allocated through the host (output_alloc), which
 * hands back our own handles; intermediates are backend buffers owned by the
 * run. A view inside the unit takes its input's buffer (xrt_compile.c keeps
 * that buffer alive for the view's readers); a view that is a unit output
 * gets its bytes by a device-side copy.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrt_internal.h"

typedef struct run_state {
    prism_compiled *c;
    prism_host_context *hc;
    xr_tensor *vals;
    bool *owned;
} run_state;

static prism_status step_fail(const run_state *r, const xr_step *s, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static prism_status step_fail(const run_state *r, const xr_step *s, prism_status st, const char *fmt, ...) {
    char msg[XR_ERR * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return xr_fail(r->c->inst, r->hc, st, "node '%s' (%s, opset %lld) on xrt device %u: %s", s->name,
                   xo_op_name(s->op), (long long)s->opset, r->c->inst->device, msg);
}

static bool shape_count(int32_t rank, const int64_t *dims, int64_t *out) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && n > (INT64_C(1) << 40) / dims[i])) return false;
        n *= dims[i];
    }
    *out = n;
    return true;
}

static prism_status bind_input(run_state *r, uint32_t slot, const prism_tensor_desc *d) {
    prism_compiled *c = r->c;
    uint32_t k = c->slots[slot].index;
    xr_tensor *t = &r->vals[slot];
    if (d->dtype != PRISM_DTYPE_FLOAT)
        return xr_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u has dtype %d, not float32", k,
                       (int)d->dtype);
    if (d->rank > XR_MAX_RANK || (d->rank && !d->dims))
        return xr_fail(c->inst, r->hc, PRISM_ERR_NOT_SUPPORTED, "unit input %u has rank %u (at most %d)", k, d->rank,
                       XR_MAX_RANK);
    t->rank = (int32_t)d->rank;
    for (uint32_t i = 0; i < d->rank; i++) t->dims[i] = d->dims[i];
    if (!shape_count(t->rank, t->dims, &t->count))
        return xr_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u has a negative or huge dim", k);
    size_t bytes = 0;
    if (!xr_mem_resolve(c->inst, d->data, &t->buf, &bytes))
        return xr_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u: %p is not a live buffer of xrt device %u",
                       k, d->data, c->inst->device);
    if (bytes < (size_t)t->count * sizeof(float))
        return xr_fail(c->inst, r->hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %u: %zu bytes, too few for %lld floats", k,
                       bytes, (long long)t->count);
    return PRISM_OK;
}

static prism_status exec_step(run_state *r, size_t i) {
    prism_compiled *c = r->c;
    prism_instance *inst = c->inst;
    const xr_step *s = &c->steps[i];
    const xr_tensor *in[XR_MAX_STEP_INPUTS] = {NULL};
    for (uint32_t k = 0; k < s->n_in; k++) in[k] = s->in[k] == XR_NO_SLOT ? NULL : &r->vals[s->in[k]];
    if (!in[0] || (s->op <= XO_DIV && !in[1]))
        return step_fail(r, s, PRISM_ERR_INVALID_ARGUMENT, "a required input is missing");
    char err[XR_ERR] = "";
    xr_tensor *y = &r->vals[s->out];
    if (!xr_plan(s, in, &y->rank, y->dims, err, sizeof err)) return step_fail(r, s, PRISM_ERR_RUNTIME, "%s", err);
    if (!shape_count(y->rank, y->dims, &y->count))
        return step_fail(r, s, PRISM_ERR_RUNTIME, "the output would have more than 2^40 elements");
    size_t bytes = (size_t)y->count * sizeof(float);
    const xr_slot *slot = &c->slots[s->out];
    prism_status st;
    if (xo_is_view(s->op) && slot->alias != XR_NO_SLOT) {
        if (y->count != in[0]->count)
            return step_fail(r, s, PRISM_ERR_INTERNAL, "a view of %lld elements as %lld", (long long)in[0]->count,
                             (long long)y->count);
        y->buf = in[0]->buf; /* the same bytes; the aliased slot owns them */
        return PRISM_OK;
    }
    if (slot->kind == XR_SLOT_OUTPUT) {
        void *handle = NULL;
        st = inst->prov->host->output_alloc(r->hc, slot->index, PRISM_DTYPE_FLOAT, (uint32_t)y->rank, y->dims, &handle);
        if (st) return st;
        size_t got = 0;
        if (!xr_mem_resolve(inst, handle, &y->buf, &got) || got < bytes)
            return step_fail(r, s, PRISM_ERR_INTERNAL, "output_alloc gave a buffer this instance did not make");
    } else {
        st = inst->be->ops->alloc(inst->be, bytes, &y->buf, err, sizeof err);
        if (st) return step_fail(r, s, st, "%s", err);
        r->owned[s->out] = true;
    }
    st = xr_lower(inst, s, in, y, err, sizeof err);
    return st ? step_fail(r, s, st, "%s", err) : PRISM_OK;
}

/* Output k whose value is another output or a unit input gets a copy. */
static prism_status copy_output(run_state *r, uint32_t k) {
    prism_compiled *c = r->c;
    prism_instance *inst = c->inst;
    const xr_tensor *src = &r->vals[c->output_slot[k]];
    void *handle, *dst;
    size_t got = 0, bytes = (size_t)src->count * sizeof(float);
    prism_status st = inst->prov->host->output_alloc(r->hc, k, PRISM_DTYPE_FLOAT, (uint32_t)src->rank, src->dims,
                                                     &handle);
    if (st) return st;
    if (!xr_mem_resolve(inst, handle, &dst, &got) || got < bytes)
        return xr_fail(inst, r->hc, PRISM_ERR_INTERNAL, "output_alloc gave an unusable buffer");
    char err[XR_ERR];
    st = inst->be->ops->copy(inst->be, dst, 0, src->buf, 0, bytes, err, sizeof err);
    return st ? xr_fail(inst, r->hc, st, "copying unit output %u: %s", k, err) : PRISM_OK;
}

prism_status xr_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc) {
    if (!c) return PRISM_ERR_INVALID_ARGUMENT;
    if (input_count < c->n_inputs || (c->n_inputs && !inputs))
        return xr_fail(c->inst, hc, PRISM_ERR_INVALID_ARGUMENT, "run got %zu inputs; the unit needs %u", input_count,
                       c->n_inputs);
    run_state r = {.c = c, .hc = hc};
    r.vals = calloc(c->n_slots + 1, sizeof *r.vals);
    r.owned = calloc(c->n_slots + 1, sizeof *r.owned);
    prism_status st = PRISM_OK;
    if (!r.vals || !r.owned) st = xr_fail(c->inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t s = 0; s < c->n_slots && !st; s++) {
        if (c->slots[s].kind == XR_SLOT_INPUT) st = bind_input(&r, (uint32_t)s, &inputs[c->slots[s].index]);
        else if (c->slots[s].kind == XR_SLOT_CONST) r.vals[s] = c->slots[s].konst;
    }
    xb_backend *be = c->inst->be;
    for (size_t i = 0; i < c->n_steps && !st; i++) {
        st = exec_step(&r, i);
        for (size_t s = 0; s < c->n_slots && !st; s++)
            if (r.owned[s] && c->slots[s].last_use <= c->steps[i].pos) {
                be->ops->release(be, r.vals[s].buf);
                r.owned[s] = false;
            }
    }
    for (uint32_t k = 0; k < c->n_outputs && !st; k++) {
        const xr_slot *sl = &c->slots[c->output_slot[k]];
        if (sl->kind != XR_SLOT_OUTPUT || sl->index != k) st = copy_output(&r, k);
    }
    for (size_t s = 0; r.owned && s < c->n_slots; s++)
        if (r.owned[s]) be->ops->release(be, r.vals[s].buf);
    free(r.vals);
    free(r.owned);
    return st;
}
