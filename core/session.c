/*
 * session.c — session creation (providers, placement, compilation) and runs.
 *
 * Placement here is by provider order: each node goes to the first provider
 * in the session's list whose instance claims it; consecutive nodes (in
 * topological order) on one instance form a part, compiled as one unit.
 * Because parts follow the topological order, running them in order is
 * always valid. A session is immutable after creation, so runs on several
 * threads share it without locks; all per-run state lives in pr_run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_api.h"
#include "ir.h"
#include "options.h"
#include "tensor.h"
#include "util.h"

typedef struct pr_inst {
    pr_provider *pv;
    uint32_t device;
    prism_instance *inst;
} pr_inst;

typedef struct pr_part {
    size_t inst;
    uint32_t *nodes, *inputs, *outputs;
    size_t n_nodes, n_inputs, n_outputs;
    prism_compiled *compiled;
} pr_part;

struct prism_session {
    prism_env *env;
    pr_model *model;
    pr_graph *g;
    uint32_t threads;
    pr_inst *insts;
    size_t n_insts;
    pr_part *parts;
    size_t n_parts;
    int32_t *last_use; /* value -> last part reading it, -1 if none */
    char *placement_text, *placement_json;
};

struct pr_run {
    prism_session *s;
    prism_tensor **vals;
    bool *owned;
};

static const char *node_label(const pr_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }

void prism_session_destroy(prism_session *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_parts; i++) {
        pr_part *p = &s->parts[i];
        if (p->compiled) s->insts[p->inst].pv->api->compiled_destroy(p->compiled);
        free(p->nodes);
        free(p->inputs);
        free(p->outputs);
    }
    free(s->parts);
    for (size_t i = 0; i < s->n_insts; i++)
        if (s->insts[i].inst) s->insts[i].pv->api->instance_destroy(s->insts[i].inst);
    free(s->insts);
    if (s->env) {
        pthread_mutex_lock(&s->env->lock);
        s->env->live_sessions--;
        pthread_mutex_unlock(&s->env->lock);
    }
    free(s->last_use);
    free(s->placement_text);
    free(s->placement_json);
    pr_model_free(s->model);
    free(s);
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

static prism_status create_instances(prism_session *s, const prism_session_options *o) {
    s->insts = calloc(o->n_providers + 1, sizeof *s->insts);
    if (!s->insts) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < o->n_providers; i++) {
        pr_provider *pv;
        prism_status st = pr_env_provider(s->env, o->providers[i], &pv);
        if (st) return st;
        bool dup = false;
        for (size_t j = 0; j < s->n_insts; j++) dup |= s->insts[j].pv == pv;
        if (dup) continue;
        if (!pv->n_devices) {
            pr_log(s->env, PRISM_LOG_WARNING, "provider '%s' has no device (%s): skipped", pv->name,
                   pv->reason ? pv->reason : "no reason given");
            continue;
        }
        /* Options for this provider, plus the host's own intra_op_threads. */
        prism_option *opts = calloc(o->n_popts + 1, sizeof *opts);
        if (!opts) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        size_t n_opts = 0;
        char threads[32];
        snprintf(threads, sizeof threads, "%u", s->threads);
        opts[n_opts++] = (prism_option){"intra_op_threads", threads};
        for (size_t k = 0; k < o->n_popts; k++)
            if (!strcmp(o->popts[k].provider, pv->name)) opts[n_opts++] = (prism_option){o->popts[k].key, o->popts[k].value};
        prism_host_context hc;
        pr_hc_init(&hc, s->env, pv->name);
        pr_inst *in = &s->insts[s->n_insts];
        in->pv = pv;
        in->device = 0;
        st = pv->api->instance_create(pv->p, 0, opts, n_opts, &hc, &in->inst);
        free(opts);
        if (st) return pr_hc_fail(&hc, st, "instance_create");
        pr_hc_clear(&hc);
        s->n_insts++;
    }
    if (!s->n_insts) return pr_fail(PRISM_ERR_NOT_FOUND, "none of the requested providers has a usable device");
    return PRISM_OK;
}

static prism_status assign_nodes(prism_session *s, int32_t *node_inst, const prism_session_options *o) {
    pr_graph *g = s->g;
    size_t nn = g->n_nodes;
    for (size_t i = 0; i < nn; i++) node_inst[i] = -1;
    uint8_t *claims = calloc(nn + 1, 1);
    if (!claims) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = 0; k < s->n_insts; k++) {
        pr_inst *in = &s->insts[k];
        memset(claims, 0, nn + 1);
        prism_host_context hc;
        pr_hc_init(&hc, s->env, in->pv->name);
        prism_status st = in->pv->api->get_capability(in->inst, (const prism_graph_view *)g, &hc, claims, NULL, NULL);
        if (st) {
            free(claims);
            return pr_hc_fail(&hc, st, "get_capability");
        }
        pr_hc_clear(&hc);
        for (size_t i = 0; i < nn; i++)
            if (node_inst[i] < 0 && claims[i]) node_inst[i] = (int32_t)k;
    }
    free(claims);
    pr_buf msg = {0};
    size_t missing = 0;
    for (size_t i = 0; i < nn; i++) {
        if (node_inst[i] >= 0) continue;
        const pr_node *n = &g->nodes[i];
        pr_buf_printf(&msg, "%s'%s' (%s, domain '%s', opset %lld)", missing ? "; " : "", node_label(n), n->op_type,
                      *n->domain ? n->domain : "ai.onnx", (long long)n->opset);
        missing++;
    }
    if (missing) {
        pr_buf list = {0};
        for (size_t i = 0; i < o->n_providers; i++) pr_buf_printf(&list, "%s%s", i ? "," : "", o->providers[i]);
        prism_status st = pr_fail(PRISM_ERR_NOT_SUPPORTED, "no provider in [%s] can run %zu node%s: %s",
                                  list.data ? list.data : "", missing, missing == 1 ? "" : "s",
                                  msg.data ? msg.data : "");
        pr_buf_free(&list);
        pr_buf_free(&msg);
        return st;
    }
    return PRISM_OK;
}

static bool add_unique(uint32_t *arr, size_t *n, uint32_t v) {
    for (size_t i = 0; i < *n; i++)
        if (arr[i] == v) return false;
    arr[(*n)++] = v;
    return true;
}

static prism_status build_parts(prism_session *s, const int32_t *node_inst) {
    pr_graph *g = s->g;
    size_t nn = g->n_nodes;
    s->parts = calloc(nn + 1, sizeof *s->parts);
    int32_t *node_part = malloc((nn + 1) * sizeof *node_part);
    if (!s->parts || !node_part) {
        free(node_part);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < nn; i++) {
        if (i == 0 || node_inst[i] != node_inst[i - 1]) {
            s->parts[s->n_parts].inst = (size_t)node_inst[i];
            s->n_parts++;
        }
        node_part[i] = (int32_t)s->n_parts - 1;
    }
    prism_status st = PRISM_OK;
    for (size_t p = 0; p < s->n_parts && !st; p++) {
        pr_part *part = &s->parts[p];
        size_t max_in = 0, max_out = 0, count = 0;
        for (size_t i = 0; i < nn; i++)
            if (node_part[i] == (int32_t)p) {
                count++;
                max_in += g->nodes[i].n_inputs + g->nodes[i].n_implicit;
                max_out += g->nodes[i].n_outputs;
            }
        part->nodes = malloc((count + 1) * sizeof(uint32_t));
        part->inputs = malloc((max_in + 1) * sizeof(uint32_t));
        part->outputs = malloc((max_out + 1) * sizeof(uint32_t));
        if (!part->nodes || !part->inputs || !part->outputs) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (size_t i = 0; i < nn; i++) {
            if (node_part[i] != (int32_t)p) continue;
            const pr_node *n = &g->nodes[i];
            part->nodes[part->n_nodes++] = (uint32_t)i;
            for (uint32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
                uint32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
                if (v == PRISM_NO_VALUE || g->values[v].constant) continue;
                int32_t prod = g->values[v].producer;
                if (prod >= 0 && node_part[prod] == (int32_t)p) continue;
                add_unique(part->inputs, &part->n_inputs, v);
                if (s->last_use[v] < (int32_t)p) s->last_use[v] = (int32_t)p;
            }
        }
    }
    /* A part's outputs: what it produces that a later part reads or the
     * graph returns. */
    for (size_t p = 0; p < s->n_parts && !st; p++)
        for (size_t q = 0; q < s->n_parts; q++) {
            if (q == p) continue;
            for (size_t k = 0; k < s->parts[q].n_inputs; k++) {
                uint32_t v = s->parts[q].inputs[k];
                if (g->values[v].producer >= 0 && node_part[g->values[v].producer] == (int32_t)p)
                    add_unique(s->parts[p].outputs, &s->parts[p].n_outputs, v);
            }
        }
    for (size_t k = 0; k < g->n_outputs && !st; k++) {
        uint32_t v = g->outputs[k];
        if (g->values[v].producer >= 0) {
            pr_part *part = &s->parts[node_part[g->values[v].producer]];
            add_unique(part->outputs, &part->n_outputs, v);
        }
    }
    free(node_part);
    return st;
}

static void build_placement(prism_session *s) {
    pr_graph *g = s->g;
    pr_buf t = {0}, j = {0};
    pr_buf_append(&t, "", 0); /* an empty report for a graph without nodes, never NULL */
    pr_buf_printf(&j, "{\"parts\":[");
    for (size_t p = 0; p < s->n_parts; p++) {
        pr_part *part = &s->parts[p];
        pr_inst *in = &s->insts[part->inst];
        const prism_device_info *d = &in->pv->devices[in->device];
        pr_buf_printf(&t, "part %zu: %s device %u (%s), %zu node%s\n", p, in->pv->name, in->device,
                      d->name ? d->name : "", part->n_nodes, part->n_nodes == 1 ? "" : "s");
        pr_buf_printf(&j, "%s{\"part\":%zu,\"provider\":", p ? "," : "", p);
        pr_buf_json_string(&j, in->pv->name);
        pr_buf_printf(&j, ",\"device\":%u,\"device_name\":", in->device);
        pr_buf_json_string(&j, d->name);
        pr_buf_printf(&j, ",\"nodes\":[");
        for (size_t k = 0; k < part->n_nodes; k++) {
            const pr_node *n = &g->nodes[part->nodes[k]];
            pr_buf_printf(&t, "  %-40s %-24s -> %s\n", node_label(n), n->op_type, in->pv->name);
            pr_buf_printf(&j, "%s{\"name\":", k ? "," : "");
            pr_buf_json_string(&j, n->name);
            pr_buf_printf(&j, ",\"op\":");
            pr_buf_json_string(&j, n->op_type);
            pr_buf_printf(&j, ",\"domain\":");
            pr_buf_json_string(&j, n->domain);
            pr_buf_printf(&j, "}");
        }
        pr_buf_printf(&j, "]}");
    }
    pr_buf_printf(&j, "]}\n");
    s->placement_text = t.failed ? NULL : t.data;
    s->placement_json = j.failed ? NULL : j.data;
    if (t.failed) pr_buf_free(&t);
    if (j.failed) pr_buf_free(&j);
}

static prism_status session_init(prism_session *s, const prism_session_options *options) {
    prism_session_options *defaults = NULL;
    prism_status st = PRISM_OK;
    if (!options) {
        if ((st = prism_session_options_create(&defaults))) return st;
        options = defaults;
    }
    s->g = s->model->graph;
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    s->threads = options->threads ? options->threads : (uint32_t)(cores > 0 ? cores : 1);
    pr_graph *g = s->g;
    int32_t *node_inst = malloc((g->n_nodes + 1) * sizeof *node_inst);
    s->last_use = malloc((g->n_values + 1) * sizeof *s->last_use);
    if (!node_inst || !s->last_use) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t v = 0; v < g->n_values; v++) s->last_use[v] = -1;
    if ((st = check_opsets(s->model))) goto done;
    if ((st = create_instances(s, options))) goto done;
    if ((st = assign_nodes(s, node_inst, options))) goto done;
    if ((st = build_parts(s, node_inst))) goto done;
    for (size_t p = 0; p < s->n_parts; p++) {
        pr_part *part = &s->parts[p];
        pr_inst *in = &s->insts[part->inst];
        prism_host_context hc;
        pr_hc_init(&hc, s->env, in->pv->name);
        st = in->pv->api->compile(in->inst, (const prism_graph_view *)g, part->nodes, part->n_nodes, part->inputs,
                                  part->n_inputs, part->outputs, part->n_outputs, &hc, &part->compiled);
        if (st) {
            part->compiled = NULL;
            pr_hc_fail(&hc, st, "compile");
            goto done;
        }
        pr_hc_clear(&hc);
    }
    build_placement(s);
done:
    free(node_inst);
    prism_session_options_destroy(defaults);
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
    pthread_mutex_lock(&env->lock);
    env->live_sessions++;
    pthread_mutex_unlock(&env->lock);
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

const char *prism_session_placement(const prism_session *s, const char *format) {
    if (!s) return NULL;
    return format && !strcmp(format, "json") ? s->placement_json : s->placement_text;
}

/* ---- running ------------------------------------------------------------ */

prism_status pr_run_output_alloc(prism_host_context *hc, uint32_t k, int32_t dtype, uint32_t rank, const int64_t *dims,
                                 void **out_data) {
    if (!hc || !hc->run || !out_data) return PRISM_ERR_INVALID_ARGUMENT;
    pr_run *r = hc->run;
    pr_part *part = &r->s->parts[hc->part];
    if (k >= part->n_outputs) {
        char m[128];
        snprintf(m, sizeof m, "output_alloc: output index %u out of range (%zu outputs)", k, part->n_outputs);
        r->s->env->host.set_error(hc, m);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    uint32_t v = part->outputs[k];
    if (r->vals[v]) {
        r->s->env->host.set_error(hc, "output_alloc: output allocated twice");
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    prism_tensor *t;
    prism_status st = pr_tensor_new_uninit((prism_dtype)dtype, dims, rank, &t);
    if (st) {
        r->s->env->host.set_error(hc, prism_last_error_message());
        return st;
    }
    r->vals[v] = t;
    r->owned[v] = true;
    *out_data = t->data;
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

static void run_free(pr_run *r) {
    for (size_t v = 0; v < r->s->g->n_values; v++)
        if (r->owned[v]) prism_tensor_destroy(r->vals[v]);
    free(r->vals);
    free(r->owned);
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
    /* Resolve requested outputs first: a typo fails before any work. */
    uint32_t *want = malloc((n_outputs + 1) * sizeof *want);
    if (!want) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < n_outputs; i++) {
        if (!output_names) {
            want[i] = g->outputs[i];
            continue;
        }
        uint32_t v;
        bool ok = output_names[i] && pr_graph_find(g, output_names[i], &v) && g->values[v].is_graph_output;
        if (!ok) {
            free(want);
            return pr_fail(PRISM_ERR_NOT_FOUND, "the model has no output named '%s'",
                           output_names[i] ? output_names[i] : "(null)");
        }
        want[i] = v;
    }
    pr_run r = {.s = s};
    r.vals = calloc(g->n_values + 1, sizeof *r.vals);
    r.owned = calloc(g->n_values + 1, sizeof *r.owned);
    prism_status st = PRISM_OK;
    if (!r.vals || !r.owned) {
        free(r.vals);
        free(r.owned);
        free(want);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t i = 0; i < n_inputs && !st; i++) {
        uint32_t v;
        if (!input_names[i] || !pr_graph_find(g, input_names[i], &v) || !g->values[v].is_graph_input) {
            st = pr_fail(PRISM_ERR_NOT_FOUND, "the model has no input named '%s'",
                         input_names[i] ? input_names[i] : "(null)");
            break;
        }
        if (r.vals[v]) {
            st = pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' is given twice", input_names[i]);
            break;
        }
        if ((st = check_input(&g->values[v], inputs[i]))) break;
        r.vals[v] = (prism_tensor *)inputs[i];
    }
    for (size_t i = 0; i < g->n_inputs && !st; i++)
        if (!r.vals[g->inputs[i]])
            st = pr_fail(PRISM_ERR_INVALID_ARGUMENT, "input '%s' is missing", g->values[g->inputs[i]].name);
    prism_tensor_desc *descs = NULL;
    size_t max_in = 1;
    for (size_t p = 0; p < s->n_parts; p++)
        if (s->parts[p].n_inputs > max_in) max_in = s->parts[p].n_inputs;
    if (!st && !(descs = calloc(max_in, sizeof *descs))) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t p = 0; p < s->n_parts && !st; p++) {
        pr_part *part = &s->parts[p];
        pr_inst *in = &s->insts[part->inst];
        for (size_t k = 0; k < part->n_inputs; k++) {
            const prism_tensor *t = r.vals[part->inputs[k]];
            if (!t) {
                st = pr_fail(PRISM_ERR_INTERNAL, "value '%s' is not computed before part %zu",
                             g->values[part->inputs[k]].name, p);
                break;
            }
            descs[k] = (prism_tensor_desc){.struct_size = sizeof descs[k], .dtype = (int32_t)t->dtype,
                                           .rank = (uint32_t)t->rank, .dims = t->dims, .data = t->data,
                                           .byte_size = t->bytes};
        }
        if (st) break;
        prism_host_context hc;
        pr_hc_init(&hc, s->env, in->pv->name);
        hc.run = &r;
        hc.part = p;
        hc.threads = s->threads;
        st = in->pv->api->run(part->compiled, descs, part->n_inputs, &hc);
        if (st) {
            pr_hc_fail(&hc, st, "run");
            break;
        }
        pr_hc_clear(&hc);
        for (size_t k = 0; k < part->n_outputs; k++)
            if (!r.vals[part->outputs[k]]) {
                st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s' did not produce output '%s'", in->pv->name,
                             g->values[part->outputs[k]].name);
                break;
            }
        /* Release what no later part reads. */
        for (size_t k = 0; k < part->n_inputs; k++) {
            uint32_t v = part->inputs[k];
            if (s->last_use[v] == (int32_t)p && r.owned[v] && !g->values[v].is_graph_output) {
                prism_tensor_destroy(r.vals[v]);
                r.vals[v] = NULL;
                r.owned[v] = false;
            }
        }
    }
    free(descs);
    prism_tensor **res = st ? NULL : calloc(n_outputs + 1, sizeof *res);
    if (!st && !res) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; i < n_outputs && !st; i++) {
        uint32_t v = want[i];
        const pr_value *val = &g->values[v];
        bool again = false;
        for (size_t j = i + 1; j < n_outputs; j++) again |= want[j] == v;
        if (r.owned[v] && !again) { /* hand the run's tensor over */
            res[i] = r.vals[v];
            r.owned[v] = false;
        } else if (r.vals[v]) {
            st = pr_tensor_clone(r.vals[v], &res[i]);
        } else if (val->constant) {
            st = tensor_from_const(val->constant, &res[i]);
        } else {
            st = pr_fail(PRISM_ERR_INTERNAL, "output '%s' was not computed", val->name);
        }
    }
    if (st && res)
        for (size_t i = 0; i < n_outputs; i++) prism_tensor_destroy(res[i]);
    if (!st)
        for (size_t i = 0; i < n_outputs; i++) outputs[i] = res[i];
    free(res);
    free(want);
    run_free(&r);
    return st;
}
