/*
 * session_run.c — the executor: runs the plan's steps (compiled subgraphs
 * and copies between memory spaces) for one call of prism_session_run.
 *
 * Every value may exist once per memory space: slot (value, space). Host
 * slots hold ordinary tensors; device slots hold a tensor header whose data
 * is the provider's buffer handle, which the host never dereferences. Each
 * slot is released after the last step that reads it (computed once per
 * session), so peak memory follows the graph, not its size. All per-run
 * state lives in pr_run: runs on several threads share only the session,
 * which is immutable.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "tensor.h"
#include "util.h"

typedef struct pr_slot {
    prism_tensor *t;
    bool owned;
    bool shape_only; /* right shape, data never transferred (for Shape/Size) */
    int32_t cand;    /* >= 0: t->data is a buffer of this instance */
} pr_slot;

struct pr_run {
    prism_session *s;
    pr_slot *slots; /* n_values * n_spaces */
};

prism_status pr_session_plan_lifetimes(prism_session *s) {
    const pr_plan *p = &s->plan;
    size_t ns = s->n_spaces, nslots = s->g->n_values * ns;
    int64_t *last = malloc((nslots + 1) * sizeof *last);
    s->free_off = calloc(p->n_steps + 2, sizeof *s->free_off);
    if (!last || !s->free_off) {
        free(last);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < nslots; i++) last[i] = -1;
    for (size_t i = 0; i < p->n_steps; i++) {
        const pr_step *st = &p->steps[i];
        if (st->kind == PR_STEP_COPY) {
            last[(size_t)st->value * ns + (size_t)st->from_space] = (int64_t)i;
            continue;
        }
        const pr_sub *sb = &p->subs[st->sub];
        for (size_t k = 0; k < sb->n_inputs; k++) last[(size_t)sb->inputs[k] * ns + (size_t)st->to_space] = (int64_t)i;
    }
    /* Host copies of graph outputs are handed to the caller, never freed. */
    for (size_t k = 0; k < s->g->n_outputs; k++) last[(size_t)s->g->outputs[k] * ns] = -1;
    size_t total = 0;
    for (size_t i = 0; i < nslots; i++)
        if (last[i] >= 0) s->free_off[last[i] + 1]++, total++;
    for (size_t i = 0; i < p->n_steps; i++) s->free_off[i + 1] += s->free_off[i];
    s->free_slot = malloc((total + 1) * sizeof *s->free_slot);
    size_t *fill = calloc(p->n_steps + 1, sizeof *fill);
    if (!s->free_slot || !fill) {
        free(last);
        free(fill);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < nslots; i++)
        if (last[i] >= 0) s->free_slot[s->free_off[last[i]] + fill[last[i]]++] = (uint32_t)i;
    free(last);
    free(fill);
    return PRISM_OK;
}

static void slot_release(prism_session *s, pr_slot *sl) {
    if (!sl->t) return;
    if (sl->cand >= 0) {
        const pr_inst *in = &s->insts[sl->cand];
        in->pv->api->buffer_free(in->inst, sl->t->data);
        prism_tensor_destroy(sl->t);
    } else if (sl->owned) {
        prism_tensor_destroy(sl->t);
    }
    *sl = (pr_slot){.cand = -1};
}

/* A slot for value v in the memory of instance `cand`: a host tensor, or a
 * header plus a buffer from the instance's allocator. */
static prism_status slot_alloc(prism_session *s, pr_slot *sl, int32_t cand, prism_dtype dtype, size_t rank,
                               const int64_t *dims, prism_host_context *hc) {
    const pr_inst *in = &s->insts[cand];
    prism_tensor *t;
    prism_status st = in->device_memory ? pr_tensor_new_header(dtype, dims, rank, &t)
                                        : pr_tensor_new_uninit(dtype, dims, rank, &t);
    if (st) return st;
    if (in->device_memory) {
        void *buf = NULL;
        st = in->pv->api->buffer_alloc(in->inst, t->bytes, hc, &buf);
        if (st) {
            prism_tensor_destroy(t);
            return pr_hc_fail(hc, st, "buffer_alloc");
        }
        t->data = buf;
    }
    *sl = (pr_slot){.t = t, .owned = true, .cand = in->device_memory ? cand : -1};
    return PRISM_OK;
}

prism_status pr_run_output_alloc(prism_host_context *hc, uint32_t k, int32_t dtype, uint32_t rank, const int64_t *dims,
                                 void **out_data) {
    if (!hc || !hc->run || !out_data) return PRISM_ERR_INVALID_ARGUMENT;
    pr_run *r = hc->run;
    prism_session *s = r->s;
    const pr_sub *sb = &s->plan.subs[hc->part];
    char m[160];
    if (k >= sb->n_outputs) {
        snprintf(m, sizeof m, "output_alloc: output index %u out of range (%zu outputs)", k, sb->n_outputs);
        s->env->host.set_error(hc, m);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    if (rank && !dims) {
        s->env->host.set_error(hc, "output_alloc: dims is NULL");
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    pr_slot *sl = &r->slots[(size_t)sb->outputs[k] * s->n_spaces + (size_t)s->insts[sb->cand].space];
    if (sl->t) {
        s->env->host.set_error(hc, "output_alloc: output allocated twice");
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    prism_host_context inner;
    pr_hc_init(&inner, s->env, hc->provider);
    prism_status st = slot_alloc(s, sl, sb->cand, (prism_dtype)dtype, rank, dims, &inner);
    if (st) {
        s->env->host.set_error(hc, prism_last_error_message());
        return st;
    }
    *out_data = sl->t->data;
    return PRISM_OK;
}

static prism_status run_copy(prism_session *s, pr_run *r, const pr_step *step) {
    size_t ns = s->n_spaces;
    pr_slot *src = &r->slots[(size_t)step->value * ns + (size_t)step->from_space];
    pr_slot *dst = &r->slots[(size_t)step->value * ns + (size_t)step->to_space];
    const char *vname = s->g->values[step->value].name;
    if (!src->t) return pr_fail(PRISM_ERR_INTERNAL, "copy of '%s': the value does not exist in its source memory", vname);
    if (dst->t && !dst->shape_only) return PRISM_OK;
    slot_release(s, dst); /* a shape-only stand-in gives way to the data */
    prism_tensor *t = src->t;
    if (step->shape_only) {
        /* calloc: the zero pages are never touched, since the readers look
         * only at the shape. */
        prism_tensor *h;
        prism_status st = pr_tensor_new_header(t->dtype, t->dims, t->rank, &h);
        if (st) return st;
        if (!(h->data = calloc(1, t->bytes ? t->bytes : 1))) {
            prism_tensor_destroy(h);
            return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory for the shape of '%s'", vname);
        }
        h->owns_data = true;
        *dst = (pr_slot){.t = h, .owned = true, .shape_only = true, .cand = -1};
        return PRISM_OK;
    }
    if (t->dtype == PRISM_DTYPE_STRING)
        return pr_fail(PRISM_ERR_NOT_SUPPORTED, "value '%s' holds strings, which cannot be copied to or from device memory",
                       vname);
    int32_t owner = step->to_cand >= 0 ? step->to_cand : step->from_cand;
    prism_host_context hc;
    pr_hc_init(&hc, s->env, s->insts[owner].pv->name);
    int32_t alloc_cand = step->to_cand >= 0 ? step->to_cand : 0;
    prism_status st;
    if (step->to_cand < 0) {
        /* Host destination: any host-memory tensor will do. */
        prism_tensor *h;
        if ((st = pr_tensor_new_uninit(t->dtype, t->dims, t->rank, &h))) return st;
        *dst = (pr_slot){.t = h, .owned = true, .cand = -1};
    } else if ((st = slot_alloc(s, dst, alloc_cand, t->dtype, t->rank, t->dims, &hc))) {
        return pr_fail_context(st, "copy of '%s'", vname);
    }
    if (!t->bytes) return PRISM_OK;
    const char *what;
    if (step->from_cand < 0) {
        const pr_inst *to = &s->insts[step->to_cand];
        what = "copy_to_device";
        st = to->pv->api->copy_to_device(to->inst, dst->t->data, 0, t->data, t->bytes, &hc);
    } else {
        const pr_inst *from = &s->insts[step->from_cand];
        if (from->pv->api->synchronize && (st = from->pv->api->synchronize(from->inst, &hc)) != PRISM_OK) {
            what = "synchronize";
        } else if (step->to_cand < 0) {
            what = "copy_from_device";
            st = from->pv->api->copy_from_device(from->inst, dst->t->data, t->data, 0, t->bytes, &hc);
        } else {
            const pr_inst *to = &s->insts[step->to_cand];
            what = "copy_device_to_device";
            st = to->pv->api->copy_device_to_device(to->inst, dst->t->data, from->inst, t->data, t->bytes, &hc);
        }
    }
    if (st) {
        slot_release(s, dst);
        pr_hc_fail(&hc, st, what);
        return pr_fail_context(st, "copying '%s' (%zu bytes)", vname, t->bytes);
    }
    pr_hc_clear(&hc);
    return PRISM_OK;
}

static prism_status run_sub(prism_session *s, pr_run *r, size_t si, prism_tensor_desc *descs) {
    const pr_sub *sb = &s->plan.subs[si];
    const pr_inst *in = &s->insts[sb->cand];
    size_t base = (size_t)in->space;
    for (size_t k = 0; k < sb->n_inputs; k++) {
        const prism_tensor *t = r->slots[(size_t)sb->inputs[k] * s->n_spaces + base].t;
        if (!t)
            return pr_fail(PRISM_ERR_INTERNAL, "value '%s' is not available before subgraph %zu",
                           s->g->values[sb->inputs[k]].name, si);
        descs[k] = (prism_tensor_desc){.struct_size = sizeof descs[k], .dtype = (int32_t)t->dtype,
                                       .rank = (uint32_t)t->rank, .dims = t->dims, .data = t->data,
                                       .byte_size = t->bytes};
    }
    prism_host_context hc;
    pr_hc_init(&hc, s->env, in->pv->name);
    hc.run = r;
    hc.part = si;
    hc.threads = s->threads;
    prism_status st = in->pv->api->run(s->compiled[si], descs, sb->n_inputs, &hc);
    if (st) {
        pr_hc_fail(&hc, st, "run");
        return pr_fail_context(st, "subgraph %zu (%zu nodes, first '%s')", si, sb->n_nodes,
                               s->g->nodes[sb->nodes[0]].name ? s->g->nodes[sb->nodes[0]].name : "");
    }
    pr_hc_clear(&hc);
    for (size_t k = 0; k < sb->n_outputs; k++)
        if (!r->slots[(size_t)sb->outputs[k] * s->n_spaces + base].t)
            return pr_fail(PRISM_ERR_PROVIDER, "provider '%s' did not produce output '%s'", in->pv->name,
                           s->g->values[sb->outputs[k]].name);
    return PRISM_OK;
}

static prism_status check_input(const pr_value *v, const prism_tensor *t) {
    if (!t) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' is NULL", v->name);
    if (v->dtype && (int32_t)t->dtype != v->dtype)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' has dtype %s; the model expects %s", v->name,
                       prism_dtype_name(t->dtype), prism_dtype_name((prism_dtype)v->dtype));
    if (v->rank >= 0 && (int32_t)t->rank != v->rank)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' has rank %zu; the model expects rank %d", v->name,
                       t->rank, v->rank);
    for (int32_t d = 0; v->rank >= 0 && d < v->rank; d++)
        if (v->dims[d] >= 0 && t->dims[d] != v->dims[d])
            return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' has dim %d = %lld; the model expects %lld", v->name,
                           d, (long long)t->dims[d], (long long)v->dims[d]);
    return PRISM_OK;
}

static prism_status tensor_from_const(const pr_const *c, prism_tensor **out) {
    prism_tensor view = {.dtype = (prism_dtype)c->dtype, .rank = c->rank, .dims = c->dims, .count = c->count,
                         .bytes = c->bytes, .data = c->data};
    return pr_tensor_clone(&view, out);
}

static prism_status resolve_outputs(const pr_graph *g, const char *const *names, size_t n, uint32_t *want) {
    for (size_t i = 0; i < n; i++) {
        if (!names) {
            want[i] = g->outputs[i];
            continue;
        }
        uint32_t v;
        if (!names[i] || !pr_graph_find(g, names[i], &v) || !g->values[v].is_graph_output)
            return pr_fail(PRISM_ERR_NOT_FOUND, "the model has no output named '%s'", names[i] ? names[i] : "(null)");
        want[i] = v;
    }
    return PRISM_OK;
}

static prism_status bind_inputs(prism_session *s, pr_run *r, const char *const *names,
                                const prism_tensor *const *inputs, size_t n) {
    const pr_graph *g = s->g;
    size_t ns = s->n_spaces;
    for (size_t i = 0; i < n; i++) {
        uint32_t v;
        if (!names[i] || !pr_graph_find(g, names[i], &v) || !g->values[v].is_graph_input)
            return pr_fail(PRISM_ERR_NOT_FOUND, "the model has no input named '%s'", names[i] ? names[i] : "(null)");
        if (r->slots[(size_t)v * ns].t) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' is given twice", names[i]);
        prism_status st = check_input(&g->values[v], inputs[i]);
        if (st) return st;
        r->slots[(size_t)v * ns] = (pr_slot){.t = (prism_tensor *)inputs[i], .owned = false, .cand = -1};
    }
    for (size_t i = 0; i < g->n_inputs; i++)
        if (!r->slots[(size_t)g->inputs[i] * ns].t)
            return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' is missing", g->values[g->inputs[i]].name);
    return PRISM_OK;
}

/* Hand the requested outputs over (a tensor asked for twice is cloned). */
static prism_status collect_outputs(prism_session *s, pr_run *r, const uint32_t *want, size_t n,
                                    prism_tensor **outputs) {
    prism_tensor **res = calloc(n + 1, sizeof *res);
    if (!res) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = PRISM_OK;
    for (size_t i = 0; i < n && !st; i++) {
        uint32_t v = want[i];
        const pr_value *val = &s->g->values[v];
        pr_slot *sl = &r->slots[(size_t)v * s->n_spaces];
        bool again = false;
        for (size_t j = i + 1; j < n; j++) again |= want[j] == v;
        if (sl->t && sl->owned && !again) {
            res[i] = sl->t;
            sl->owned = false;
            sl->t = NULL;
        } else if (sl->t) {
            st = pr_tensor_clone(sl->t, &res[i]);
        } else if (val->constant) {
            st = tensor_from_const(val->constant, &res[i]);
        } else {
            st = pr_fail(PRISM_ERR_INTERNAL, "output '%s' was not computed", val->name);
        }
    }
    if (st)
        for (size_t i = 0; i < n; i++) prism_tensor_destroy(res[i]);
    else
        memcpy(outputs, res, n * sizeof *res);
    free(res);
    return st;
}

prism_status prism_session_run(prism_session *s, const char *const *input_names, const prism_tensor *const *inputs,
                               size_t n_inputs, const char *const *output_names, size_t n_outputs,
                               prism_tensor **outputs) {
    if (!s || (n_inputs && (!input_names || !inputs)) || (n_outputs && !outputs))
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "session_run: NULL argument");
    pr_graph *g = s->g;
    if (!output_names && n_outputs != g->n_outputs)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT,
                       "session_run: output_names is NULL, so n_outputs must be the model's %zu outputs (got %zu)",
                       g->n_outputs, n_outputs);
    size_t nslots = g->n_values * s->n_spaces, max_in = 1;
    for (size_t i = 0; i < s->plan.n_subs; i++)
        if (s->plan.subs[i].n_inputs > max_in) max_in = s->plan.subs[i].n_inputs;
    uint32_t *want = malloc((n_outputs + 1) * sizeof *want);
    pr_run r = {.s = s, .slots = malloc((nslots + 1) * sizeof *r.slots)};
    prism_tensor_desc *descs = calloc(max_in, sizeof *descs);
    prism_status st = PRISM_OK;
    if (!want || !r.slots || !descs) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; r.slots && i < nslots; i++) r.slots[i] = (pr_slot){.cand = -1};
    /* Resolve names first: a typo fails before any work. */
    if (!st) st = resolve_outputs(g, output_names, n_outputs, want);
    if (!st) st = bind_inputs(s, &r, input_names, inputs, n_inputs);
    for (size_t i = 0; i < s->plan.n_steps && !st; i++) {
        const pr_step *step = &s->plan.steps[i];
        st = step->kind == PR_STEP_RUN ? run_sub(s, &r, step->sub, descs) : run_copy(s, &r, step);
        for (size_t k = s->free_off[i]; k < s->free_off[i + 1] && !st; k++) slot_release(s, &r.slots[s->free_slot[k]]);
    }
    if (!st) st = collect_outputs(s, &r, want, n_outputs, outputs);
    for (size_t i = 0; r.slots && i < nslots; i++) slot_release(s, &r.slots[i]);
    free(r.slots);
    free(descs);
    free(want);
    return st;
}
