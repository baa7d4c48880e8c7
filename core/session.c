/*
 * session.c — session creation: effective options, provider instances in
 * preference order, capabilities, the partition plan (partition.c), and
 * compilation of every subgraph. Runs are in session_run.c, the report in
 * session_report.c.
 */
#include "session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "options.h"
#include "tensor.h"
#include "util.h"

static const char *node_label(const pr_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }

void prism_session_destroy(prism_session *s) {
    if (!s) return;
    for (size_t i = 0; s->compiled && i < s->plan.n_subs; i++)
        if (s->compiled[i]) s->insts[s->plan.subs[i].cand].pv->api->compiled_destroy(s->compiled[i]);
    free(s->compiled);
    pr_plan_free(&s->plan);
    for (size_t i = 0; i < s->n_insts; i++)
        if (s->insts[i].inst) s->insts[i].pv->api->instance_destroy(s->insts[i].inst);
    free(s->insts);
    free(s->free_off);
    free(s->free_slot);
    free(s->report_text);
    free(s->report_json);
    free(s->report_dot);
    pr_model_free(s->model);
    prism_env *env = s->env;
    free(s);
    if (env) pr_env_release(env);
}

/* The model's opset imports must be ones whose semantics we know. */
static prism_status check_opsets(const pr_model *m) {
    for (size_t i = 0; i < m->n_opsets; i++) {
        const pr_opset *o = &m->opsets[i];
        int64_t max = !*o->domain ? PR_MAX_ONNX_OPSET : !strcmp(o->domain, "ai.onnx.ml") ? PR_MAX_ONNX_ML_OPSET : -1;
        if (max > 0 && o->version > max)
            return pr_fail(PRISM_ERR_NOT_SUPPORTED, "the model imports opset %lld of domain '%s'; Prism supports up to %lld",
                           (long long)o->version, *o->domain ? o->domain : "ai.onnx", (long long)max);
    }
    for (size_t i = 0; i < m->graph->n_nodes; i++) {
        const pr_node *n = &m->graph->nodes[i];
        if (n->opset < 0)
            return pr_fail(PRISM_ERR_INVALID_MODEL, "node '%s' (%s) uses domain '%s', which the model does not import",
                           node_label(n), n->op_type, *n->domain ? n->domain : "ai.onnx");
    }
    return PRISM_OK;
}

/* ---- instances ---------------------------------------------------------- */

static const char *popt(const prism_session_options *o, const char *provider, const char *key) {
    for (size_t i = 0; i < o->n_popts; i++)
        if (!strcmp(o->popts[i].provider, provider) && !strcmp(o->popts[i].key, key)) return o->popts[i].value;
    return NULL;
}

/* One instance of pv on `device` (unless the session has it already). */
static prism_status add_instance(prism_session *s, const prism_session_options *o, pr_provider *pv, uint32_t device,
                                 bool listed) {
    for (size_t j = 0; j < s->n_insts; j++)
        if (s->insts[j].pv == pv && s->insts[j].device == device) return PRISM_OK;
    const prism_provider_api *a = pv->api;
    bool dev_mem = pv->devices[device].memory_kind == PRISM_MEMORY_DEVICE;
    if (dev_mem && (!a->buffer_alloc || !a->buffer_free || !a->copy_to_device || !a->copy_from_device))
        return pr_fail(PRISM_ERR_PROVIDER,
                       "provider '%s' reports device memory but lacks buffer_alloc, buffer_free, copy_to_device or "
                       "copy_from_device",
                       pv->name);
    prism_option *opts = calloc(o->n_popts + 1, sizeof *opts);
    if (!opts) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_opts = 0;
    char threads[32];
    snprintf(threads, sizeof threads, "%u", s->threads);
    opts[n_opts++] = (prism_option){"intra_op_threads", threads};
    for (size_t k = 0; k < o->n_popts; k++)
        if (!strcmp(o->popts[k].provider, pv->name) && strcmp(o->popts[k].key, "device") != 0)
            opts[n_opts++] = (prism_option){o->popts[k].key, o->popts[k].value};
    if (!pr_grow((void **)&s->insts, &s->cap_insts, s->n_insts + 1, sizeof *s->insts)) {
        free(opts);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    prism_host_context hc;
    pr_hc_init(&hc, s->env, pv->name);
    pr_inst *in = &s->insts[s->n_insts];
    memset(in, 0, sizeof *in);
    in->pv = pv;
    in->device = device;
    in->device_memory = dev_mem;
    in->listed = listed;
    prism_status st = a->instance_create(pv->p, device, opts, n_opts, &hc, &in->inst);
    free(opts);
    if (st) {
        in->inst = NULL;
        return pr_hc_fail(&hc, st, "instance_create");
    }
    pr_hc_clear(&hc);
    s->n_insts++;
    return PRISM_OK;
}

/* Instances of pv on the devices its "device" option lists ("0", "0,1",
 * "all"; default 0). A provider without devices is skipped with a log
 * line. */
static prism_status add_provider(prism_session *s, const prism_session_options *o, pr_provider *pv, bool listed) {
    if (!pv->n_devices) {
        pr_log(s->env, PRISM_LOG_WARNING, "provider '%s' has no device (%s): skipped", pv->name,
               pv->reason ? pv->reason : "no reason given");
        return PRISM_OK;
    }
    const char *dv = popt(o, pv->name, "device");
    if (!dv) return add_instance(s, o, pv, 0, listed);
    if (!strcmp(dv, "all")) {
        prism_status st = PRISM_OK;
        for (uint32_t d = 0; d < pv->n_devices && !st; d++) st = add_instance(s, o, pv, d, listed);
        return st;
    }
    prism_status st = PRISM_OK;
    for (const char *p = dv; !st;) {
        char *end;
        unsigned long d = strtoul(p, &end, 10);
        if (end == p || *p == '-' || (*end && *end != ',') || d >= pv->n_devices)
            return pr_fail(PRISM_ERR_NOT_FOUND,
                           "provider '%s': option device=%s is not a list of device indices or 'all' (it has %u "
                           "device%s)",
                           pv->name, dv, pv->n_devices, pv->n_devices == 1 ? "" : "s");
        st = add_instance(s, o, pv, (uint32_t)d, listed);
        if (!*end) break;
        p = end + 1;
    }
    return st;
}

/* An affinity target is PROVIDER or PROVIDER:DEVICE. Returns the device
 * (-1 when none is given) and the provider part in *name (malloc'd, NULL on
 * OOM). */
static int64_t split_target(const char *target, char **name) {
    const char *colon = strrchr(target, ':');
    bool digits = colon && colon[1];
    for (const char *p = colon ? colon + 1 : ""; digits && *p; p++) digits = *p >= '0' && *p <= '9';
    if (!digits || colon - target == 0 || strlen(colon + 1) > 9) {
        *name = pr_strdup(target);
        return -1;
    }
    *name = pr_strndup(target, (size_t)(colon - target));
    return strtol(colon + 1, NULL, 10);
}

/* "all": every provider found that has a device, accelerators first. */
static prism_status add_all(prism_session *s, const prism_session_options *o) {
    prism_env_load_all_providers(s->env);
    prism_status st = PRISM_OK;
    for (int pass = 0; pass < 2 && !st; pass++)
        for (size_t i = 0; i < s->env->n_providers && !st; i++) {
            pr_provider *pv = s->env->providers[i];
            if (!pv->n_devices || (pv->devices[0].type == PRISM_DEVICE_CPU) != (pass == 1)) continue;
            st = add_provider(s, o, pv, true);
        }
    return st;
}

static prism_status create_instances(prism_session *s, const prism_session_options *o) {
    prism_status st = PRISM_OK;
    for (size_t i = 0; i < o->n_providers && !st; i++) {
        if (!strcmp(o->providers[i], "all")) {
            st = add_all(s, o);
            continue;
        }
        pr_provider *pv;
        if (!(st = pr_env_provider(s->env, o->providers[i], &pv))) st = add_provider(s, o, pv, true);
    }
    /* Providers named only by affinity entries join the list at its end. */
    for (size_t i = 0; i < o->n_affinity && !st; i++) {
        pr_provider *pv;
        char *name = NULL;
        int64_t device = split_target(o->affinity[i].provider, &name);
        if (!name) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        st = pr_env_provider(s->env, name, &pv);
        free(name);
        if (st) {
            pr_fail_context(st, "affinity %s=%s", o->affinity[i].key, o->affinity[i].provider);
        } else if (device < 0) {
            st = add_provider(s, o, pv, true);
        } else if (device >= pv->n_devices) {
            st = pr_fail(PRISM_ERR_NOT_FOUND, "affinity %s=%s: provider '%s' has %u device%s", o->affinity[i].key,
                         o->affinity[i].provider, pv->name, pv->n_devices, pv->n_devices == 1 ? "" : "s");
        } else {
            st = add_instance(s, o, pv, (uint32_t)device, true);
        }
    }
    if (st) return st;
    bool have_cpu = false;
    for (size_t i = 0; i < s->n_insts; i++) have_cpu |= !strcmp(s->insts[i].pv->name, "cpu");
    if (o->fallback && !have_cpu) {
        pr_provider *pv;
        if (pr_env_provider(s->env, "cpu", &pv) == PRISM_OK) {
            if ((st = add_provider(s, o, pv, false))) return st;
        } else {
            pr_log(s->env, PRISM_LOG_INFO, "no CPU provider for fallback: %s", prism_last_error_message());
            pr_clear_error();
        }
    }
    if (!s->n_insts) {
        /* Say which providers were unusable and why. */
        pr_buf why = {0};
        for (size_t i = 0; i < o->n_providers; i++) {
            pr_provider *pv;
            if (strcmp(o->providers[i], "all") != 0 && pr_env_provider(s->env, o->providers[i], &pv) == PRISM_OK)
                pr_buf_printf(&why, "%sprovider '%s' has no device (%s)", why.len ? "; " : "", pv->name,
                              pv->reason ? pv->reason : "no reason given");
        }
        st = pr_fail(PRISM_ERR_NOT_FOUND, "none of the requested providers has a usable device%s%s",
                     why.len ? ": " : "", why.data ? why.data : "");
        pr_buf_free(&why);
        return st;
    }
    /* Device-type policies rank the preferred type first (stable); the
     * last-resort CPU stays last. */
    int32_t want = pr_policy_device_type(o->policy);
    if (want >= 0) {
        pr_inst *sorted = malloc(s->n_insts * sizeof *sorted);
        if (!sorted) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        size_t k = 0;
        for (int pass = 0; pass < 3; pass++)
            for (size_t i = 0; i < s->n_insts; i++) {
                const pr_inst *in = &s->insts[i];
                int cls = !in->listed ? 2 : in->pv->devices[in->device].type == want ? 0 : 1;
                if (cls == pass) sorted[k++] = *in;
            }
        memcpy(s->insts, sorted, s->n_insts * sizeof *sorted);
        free(sorted);
    }
    int32_t space = 0;
    for (size_t i = 0; i < s->n_insts; i++) s->insts[i].space = s->insts[i].device_memory ? ++space : 0;
    s->n_spaces = (size_t)space + 1;
    return PRISM_OK;
}

/* ---- planning ----------------------------------------------------------- */

typedef struct plan_scratch {
    pr_cand *cands;
    uint8_t *claims;
    uint32_t *groups;
    double *costs;
    int32_t *affinity;
    const char **aff_key, **aff_target;
} plan_scratch;

static void scratch_free(plan_scratch *p) {
    free(p->cands);
    free(p->claims);
    free(p->groups);
    free(p->costs);
    free(p->affinity);
    free(p->aff_key);
    free(p->aff_target);
}

static prism_status plan_session(prism_session *s, const prism_session_options *o) {
    pr_graph *g = s->g;
    size_t nn = g->n_nodes, ni = s->n_insts;
    plan_scratch p = {0};
    p.cands = calloc(ni, sizeof *p.cands);
    p.claims = calloc(ni * nn + 1, 1);
    p.groups = calloc(ni * nn + 1, sizeof *p.groups);
    p.costs = calloc(ni * nn + 1, sizeof *p.costs);
    p.affinity = calloc(nn + 1, sizeof *p.affinity);
    p.aff_key = calloc(nn + 1, sizeof *p.aff_key);
    p.aff_target = calloc(nn + 1, sizeof *p.aff_target);
    prism_status st = PRISM_OK;
    if (!p.cands || !p.claims || !p.groups || !p.costs || !p.affinity || !p.aff_key || !p.aff_target)
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; k < ni && !st; k++) {
        pr_inst *in = &s->insts[k];
        uint8_t *cl = p.claims + k * nn;
        double *co = p.costs + k * nn;
        for (size_t n = 0; n < nn; n++) co[n] = -1;
        prism_host_context hc;
        pr_hc_init(&hc, s->env, in->pv->name);
        st = in->pv->api->get_capability(in->inst, (const prism_graph_view *)g, &hc, cl, p.groups + k * nn, co);
        if (st) {
            pr_hc_fail(&hc, st, "get_capability");
            break;
        }
        pr_hc_clear(&hc);
        size_t pid = k;
        for (size_t j = 0; j < k; j++)
            if (s->insts[j].pv == in->pv) pid = j;
        p.cands[k] = (pr_cand){.provider = in->pv->name, .device = in->device,
                               .device_type = in->pv->devices[in->device].type, .space = in->space,
                               .provider_id = (int32_t)pid, .direct_copy = in->pv->api->copy_device_to_device != NULL,
                               .listed = in->listed, .claims = cl, .groups = p.groups + k * nn, .costs = co};
    }
    /* Affinity: a node-name entry wins over an op-type entry. */
    for (size_t n = 0; n < nn && !st; n++) {
        const pr_node *nd = &g->nodes[n];
        const pr_affinity *hit = NULL;
        for (size_t i = 0; i < o->n_affinity && !hit; i++)
            if (nd->name && !strcmp(o->affinity[i].key, nd->name)) hit = &o->affinity[i];
        for (size_t i = 0; i < o->n_affinity && !hit; i++)
            if (!strcmp(o->affinity[i].key, nd->op_type)) hit = &o->affinity[i];
        p.affinity[n] = -1;
        if (!hit) continue;
        p.aff_key[n] = hit->key;
        p.aff_target[n] = hit->provider;
        char *name = NULL;
        int64_t device = split_target(hit->provider, &name);
        if (!name) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (size_t k = 0; k < ni && p.affinity[n] < 0; k++) {
            const pr_provider *pv = s->insts[k].pv;
            if ((!strcmp(pv->name, name) || !strcmp(pv->path, name)) && (device < 0 || s->insts[k].device == device))
                p.affinity[n] = (int32_t)k;
        }
        free(name);
    }
    if (!st) {
        pr_plan_in in = {.g = g, .cands = p.cands, .n_cands = ni, .policy = o->policy, .affinity = p.affinity,
                         .affinity_key = p.aff_key, .affinity_target = p.aff_target,
                         .min_subgraph = o->min_subgraph ? o->min_subgraph : 1, .fallback = o->fallback};
        st = pr_plan_build(&in, &s->plan);
    }
    scratch_free(&p);
    if (st) return st;
    for (size_t n = 0; n < nn; n++)
        if (s->plan.node_fallback[n])
            pr_log(s->env, PRISM_LOG_WARNING, "node '%s' (%s): %s", node_label(&g->nodes[n]), g->nodes[n].op_type,
                   s->plan.node_reason[n]);
    return PRISM_OK;
}

static prism_status compile_all(prism_session *s) {
    s->compiled = calloc(s->plan.n_subs + 1, sizeof *s->compiled);
    if (!s->compiled) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < s->plan.n_subs; i++) {
        pr_sub *sb = &s->plan.subs[i];
        pr_inst *in = &s->insts[sb->cand];
        prism_host_context hc;
        pr_hc_init(&hc, s->env, in->pv->name);
        prism_status st = in->pv->api->compile(in->inst, (const prism_graph_view *)s->g, sb->nodes, sb->n_nodes,
                                               sb->inputs, sb->n_inputs, sb->outputs, sb->n_outputs, &hc,
                                               &s->compiled[i]);
        if (st) {
            s->compiled[i] = NULL;
            return pr_hc_fail(&hc, st, "compile");
        }
        pr_hc_clear(&hc);
    }
    return PRISM_OK;
}

/* Symbolic input dims the options fix: set them on the graph inputs, then
 * infer again so the static sizes reach every value (and fold what became
 * constant). */
static prism_status apply_dims(prism_session *s, const prism_session_options *o) {
    if (!o->n_dims) return PRISM_OK;
    pr_graph *g = s->g;
    for (size_t i = 0; i < o->n_dims; i++) {
        bool used = false;
        for (size_t k = 0; k < g->n_inputs; k++) {
            pr_value *v = &g->values[g->inputs[k]];
            for (int32_t d = 0; v->dim_params && d < v->rank; d++)
                if (v->dims[d] < 0 && v->dim_params[d] && !strcmp(v->dim_params[d], o->dims[i].name)) {
                    v->dims[d] = o->dims[i].value;
                    used = true;
                }
        }
        if (!used)
            pr_log(s->env, PRISM_LOG_WARNING, "dim '%s' set in the options is not a symbolic dim of any model input",
                   o->dims[i].name);
    }
    prism_status st = pr_infer_shapes(g);
    return st ? pr_fail_context(st, "with the dims fixed by the session options") : PRISM_OK;
}

static prism_status session_init(prism_session *s, const prism_session_options *options) {
    prism_session_options *o = NULL;
    prism_status st = pr_options_effective(options, &o);
    if (st) return st;
    s->g = s->model->graph;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = o->threads ? o->threads : (uint32_t)(cores > 0 ? cores : 1);
    s->policy = o->policy;
    if (!(st = check_opsets(s->model)) && !(st = apply_dims(s, o)) && !(st = create_instances(s, o)) && !(st = plan_session(s, o)) &&
        !(st = pr_session_plan_lifetimes(s)) && !(st = compile_all(s)))
        st = pr_session_build_report(s);
    prism_session_options_destroy(o);
    return st;
}

static prism_status session_new(prism_env *env, pr_model *model, const prism_session_options *options,
                                prism_session **out) {
    prism_session *s = calloc(1, sizeof *s);
    if (!s) {
        pr_model_free(model);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    s->model = model;
    pr_env_retain(env);
    s->env = env;
    prism_status st = session_init(s, options);
    if (st) {
        prism_session_destroy(s);
        return st;
    }
    *out = s;
    return PRISM_OK;
}

prism_status prism_session_create(prism_env *env, const char *model_path, const prism_session_options *options,
                                  prism_session **out_session) {
    if (!env || !model_path || !out_session)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "session_create: NULL env, path or output pointer");
    pr_model *m;
    prism_status st = pr_model_from_file(model_path, &m);
    if (st) return st;
    st = session_new(env, m, options, out_session);
    if (st) pr_fail_context(st, "session for '%s'", model_path);
    return st;
}

prism_status prism_session_create_from_memory(prism_env *env, const void *data, size_t size,
                                              const prism_session_options *options, prism_session **out_session) {
    if (!env || !out_session) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "session_create: NULL env or output pointer");
    pr_model *m;
    prism_status st = pr_model_from_bytes(data, size, NULL, &m);
    if (st) return st;
    return session_new(env, m, options, out_session);
}

size_t prism_session_input_count(const prism_session *s) { return s ? s->g->n_inputs : 0; }
size_t prism_session_output_count(const prism_session *s) { return s ? s->g->n_outputs : 0; }

prism_status prism_session_input(const prism_session *s, size_t i, prism_value_info *info) {
    if (!s || !info || i >= s->g->n_inputs) return pr_fail(PRISM_ERR_NOT_FOUND, "no session input #%zu", i);
    return pr_value_info_out(&s->g->values[s->g->inputs[i]], info);
}

prism_status prism_session_output(const prism_session *s, size_t i, prism_value_info *info) {
    if (!s || !info || i >= s->g->n_outputs) return pr_fail(PRISM_ERR_NOT_FOUND, "no session output #%zu", i);
    return pr_value_info_out(&s->g->values[s->g->outputs[i]], info);
}
