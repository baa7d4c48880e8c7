/*
 * session_report.c — the partition report (text, JSON, Graphviz DOT) and
 * its item-by-item accessors. Built once at session creation from the plan,
 * so reading it costs nothing and is safe from any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "session.h"
#include "util.h"

static const char *nname(const pr_node *n) { return n->name ? n->name : ""; }
static const char *nlabel(const pr_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }

static const char *type_name(int32_t t) {
    static const char *const names[] = {"cpu", "gpu", "fpga", "accelerator", "other"};
    return t >= 0 && t <= 4 ? names[t] : "unknown";
}

static const char *space_provider(const prism_session *s, int32_t cand) {
    return cand < 0 ? "host" : s->insts[cand].pv->name;
}
static uint32_t space_device(const prism_session *s, int32_t cand) { return cand < 0 ? 0 : s->insts[cand].device; }

/* Index of the subgraph that the copy at step i feeds (n_subs: the end). */
static size_t copy_before(const prism_session *s, size_t i) {
    for (size_t j = i; j < s->plan.n_steps; j++)
        if (s->plan.steps[j].kind == PR_STEP_RUN) return s->plan.steps[j].sub;
    return s->plan.n_subs;
}

static size_t count_fallbacks(const prism_session *s) {
    size_t n = 0;
    for (size_t i = 0; i < s->plan.n_nodes; i++) n += s->plan.node_fallback[i];
    return n;
}

static void summary(const prism_session *s, size_t *copies, int64_t *bytes, bool *unknown) {
    *copies = 0, *bytes = 0, *unknown = false;
    for (size_t i = 0; i < s->plan.n_steps; i++) {
        const pr_step *st = &s->plan.steps[i];
        if (st->kind != PR_STEP_COPY) continue;
        (*copies)++;
        if (st->bytes < 0) *unknown = true;
        else *bytes += st->bytes;
    }
}

static void build_text(const prism_session *s, pr_buf *t) {
    const pr_graph *g = s->g;
    size_t copies, nfall = count_fallbacks(s);
    int64_t bytes;
    bool unknown;
    summary(s, &copies, &bytes, &unknown);
    pr_buf_printf(t, "%zu node%s in %zu subgraph%s, %zu cop%s (%lld bytes%s per run), %zu fallback%s; estimate %.3f ms\n",
                  g->n_nodes, g->n_nodes == 1 ? "" : "s", s->plan.n_subs, s->plan.n_subs == 1 ? "" : "s", copies,
                  copies == 1 ? "y" : "ies", (long long)bytes, unknown ? " + sizes known at run time" : "", nfall,
                  nfall == 1 ? "" : "s", s->plan.est_seconds * 1e3);
    for (size_t i = 0; i < s->n_insts; i++) {
        const pr_inst *in = &s->insts[i];
        const prism_device_info *d = &in->pv->devices[in->device];
        pr_buf_printf(t, "device %s:%u  %s (%s, %s memory)%s\n", in->pv->name, in->device, d->name ? d->name : "",
                      type_name(d->type), in->device_memory ? "own" : "host", in->listed ? "" : "  [fallback only]");
    }
    size_t step = 0;
    for (size_t si = 0; si < s->plan.n_subs; si++) {
        for (; step < s->plan.n_steps && s->plan.steps[step].kind == PR_STEP_COPY; step++) {
            const pr_step *c = &s->plan.steps[step];
            pr_buf_printf(t, "%s '%s' %s:%u -> %s:%u, ", c->shape_only ? "shape of" : "copy", g->values[c->value].name,
                          space_provider(s, c->from_cand), space_device(s, c->from_cand), space_provider(s, c->to_cand),
                          space_device(s, c->to_cand));
            if (c->shape_only) pr_buf_printf(t, "no data moved (read only by Shape/Size)\n");
            else if (c->bytes >= 0) pr_buf_printf(t, "%lld bytes%s\n", (long long)c->bytes, c->direct ? ", direct" : "");
            else pr_buf_printf(t, "size known at run time%s\n", c->direct ? ", direct" : "");
        }
        step++; /* the run step of si */
        const pr_sub *sb = &s->plan.subs[si];
        const pr_inst *in = &s->insts[sb->cand];
        const prism_device_info *d = &in->pv->devices[in->device];
        pr_buf_printf(t, "subgraph %zu: %s device %u (%s), %zu node%s, %zu input%s, %zu output%s\n", si, in->pv->name,
                      in->device, d->name ? d->name : "", sb->n_nodes, sb->n_nodes == 1 ? "" : "s", sb->n_inputs,
                      sb->n_inputs == 1 ? "" : "s", sb->n_outputs, sb->n_outputs == 1 ? "" : "s");
        for (size_t k = 0; k < sb->n_nodes; k++) {
            uint32_t n = sb->nodes[k];
            pr_buf_printf(t, "  %-40s %-24s -> %s  (%s)\n", nlabel(&g->nodes[n]), g->nodes[n].op_type, in->pv->name,
                          s->plan.node_reason[n] ? s->plan.node_reason[n] : "");
        }
    }
    for (; step < s->plan.n_steps; step++) {
        const pr_step *c = &s->plan.steps[step];
        pr_buf_printf(t, "copy '%s' %s:%u -> host (graph output), ", g->values[c->value].name,
                      space_provider(s, c->from_cand), space_device(s, c->from_cand));
        if (c->bytes >= 0) pr_buf_printf(t, "%lld bytes\n", (long long)c->bytes);
        else pr_buf_printf(t, "size known at run time\n");
    }
    for (size_t n = 0; n < g->n_nodes; n++)
        if (s->plan.node_fallback[n])
            pr_buf_printf(t, "fallback: '%s' (%s): %s\n", nlabel(&g->nodes[n]), g->nodes[n].op_type,
                          s->plan.node_reason[n]);
}

static void json_place(const prism_session *s, pr_buf *j, int32_t cand) {
    pr_buf_printf(j, "{\"provider\":");
    pr_buf_json_string(j, space_provider(s, cand));
    pr_buf_printf(j, ",\"device\":%u}", space_device(s, cand));
}

static void json_values(const pr_graph *g, pr_buf *j, const uint32_t *v, size_t n) {
    pr_buf_printf(j, "[");
    for (size_t i = 0; i < n; i++) {
        if (i) pr_buf_printf(j, ",");
        pr_buf_json_string(j, g->values[v[i]].name);
    }
    pr_buf_printf(j, "]");
}

static void build_json(const prism_session *s, pr_buf *j, prism_policy policy) {
    const pr_graph *g = s->g;
    pr_buf_printf(j, "{\"policy\":\"%s\",\"estimated_ms\":%.6g,\"devices\":[", prism_policy_name(policy),
                  s->plan.est_seconds * 1e3);
    for (size_t i = 0; i < s->n_insts; i++) {
        const pr_inst *in = &s->insts[i];
        const prism_device_info *d = &in->pv->devices[in->device];
        pr_buf_printf(j, "%s{\"provider\":", i ? "," : "");
        pr_buf_json_string(j, in->pv->name);
        pr_buf_printf(j, ",\"device\":%u,\"name\":", in->device);
        pr_buf_json_string(j, d->name);
        pr_buf_printf(j, ",\"type\":\"%s\",\"memory\":\"%s\",\"listed\":%s}", type_name(d->type),
                      in->device_memory ? "device" : "host", in->listed ? "true" : "false");
    }
    pr_buf_printf(j, "],\"nodes\":[");
    for (size_t n = 0; n < g->n_nodes; n++) {
        const pr_node *nd = &g->nodes[n];
        const pr_inst *in = &s->insts[s->plan.node_cand[n]];
        pr_buf_printf(j, "%s{\"name\":", n ? "," : "");
        pr_buf_json_string(j, nname(nd));
        pr_buf_printf(j, ",\"op\":");
        pr_buf_json_string(j, nd->op_type);
        pr_buf_printf(j, ",\"domain\":");
        pr_buf_json_string(j, nd->domain);
        pr_buf_printf(j, ",\"provider\":");
        pr_buf_json_string(j, in->pv->name);
        pr_buf_printf(j, ",\"device\":%u,\"subgraph\":%d,\"fallback\":%s,\"reason\":", in->device, s->plan.node_sub[n],
                      s->plan.node_fallback[n] ? "true" : "false");
        pr_buf_json_string(j, s->plan.node_reason[n]);
        /* The element type of the first output: tells shape arithmetic
         * (int64) from tensor work when reading a placement. */
        const uint32_t out0 = nd->n_outputs ? nd->outputs[0] : PRISM_NO_VALUE;
        pr_buf_printf(j, ",\"dtype\":");
        pr_buf_json_string(j, out0 != PRISM_NO_VALUE ? prism_dtype_name((prism_dtype)g->values[out0].dtype) : "");
        pr_buf_printf(j, "}");
    }
    pr_buf_printf(j, "],\"subgraphs\":[");
    for (size_t si = 0; si < s->plan.n_subs; si++) {
        const pr_sub *sb = &s->plan.subs[si];
        const pr_inst *in = &s->insts[sb->cand];
        pr_buf_printf(j, "%s{\"index\":%zu,\"provider\":", si ? "," : "", si);
        pr_buf_json_string(j, in->pv->name);
        pr_buf_printf(j, ",\"device\":%u,\"nodes\":[", in->device);
        for (size_t k = 0; k < sb->n_nodes; k++) {
            if (k) pr_buf_printf(j, ",");
            pr_buf_json_string(j, nname(&g->nodes[sb->nodes[k]]));
        }
        pr_buf_printf(j, "],\"inputs\":");
        json_values(g, j, sb->inputs, sb->n_inputs);
        pr_buf_printf(j, ",\"outputs\":");
        json_values(g, j, sb->outputs, sb->n_outputs);
        pr_buf_printf(j, "}");
    }
    pr_buf_printf(j, "],\"copies\":[");
    bool first = true;
    for (size_t i = 0; i < s->plan.n_steps; i++) {
        const pr_step *c = &s->plan.steps[i];
        if (c->kind != PR_STEP_COPY) continue;
        pr_buf_printf(j, "%s{\"value\":", first ? "" : ",");
        first = false;
        pr_buf_json_string(j, g->values[c->value].name);
        pr_buf_printf(j, ",\"from\":");
        json_place(s, j, c->from_cand);
        pr_buf_printf(j, ",\"to\":");
        json_place(s, j, c->to_cand);
        size_t before = copy_before(s, i);
        pr_buf_printf(j, ",\"bytes\":%lld,\"direct\":%s,\"shape_only\":%s,\"before_subgraph\":", (long long)c->bytes,
                      c->direct ? "true" : "false", c->shape_only ? "true" : "false");
        if (before < s->plan.n_subs) pr_buf_printf(j, "%zu}", before);
        else pr_buf_printf(j, "null}");
    }
    pr_buf_printf(j, "],\"fallbacks\":[");
    first = true;
    for (size_t n = 0; n < g->n_nodes; n++) {
        if (!s->plan.node_fallback[n]) continue;
        pr_buf_printf(j, "%s{\"node\":", first ? "" : ",");
        first = false;
        pr_buf_json_string(j, nname(&g->nodes[n]));
        pr_buf_printf(j, ",\"op\":");
        pr_buf_json_string(j, g->nodes[n].op_type);
        pr_buf_printf(j, ",\"provider\":");
        pr_buf_json_string(j, s->insts[s->plan.node_cand[n]].pv->name);
        pr_buf_printf(j, ",\"reason\":");
        pr_buf_json_string(j, s->plan.node_reason[n]);
        pr_buf_printf(j, "}");
    }
    pr_buf_printf(j, "]}\n");
}

/* DOT strings: quotes and backslashes escaped, control characters dropped. */
static void dot_string_tail(pr_buf *b, const char *s);
static void dot_string(pr_buf *b, const char *s) {
    pr_buf_append(b, "\"", 1);
    dot_string_tail(b, s);
}

/* The rest of a string dot_string opened (escaped, then closed). */
static void dot_string_tail(pr_buf *b, const char *s) {
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '"' || *p == '\\') pr_buf_append(b, "\\", 1);
        if ((unsigned char)*p >= 0x20) pr_buf_append(b, p, 1);
    }
    pr_buf_append(b, "\"", 1);
}

static const char *const palette[] = {"#8ecae6", "#ffb703", "#90be6d", "#f28482", "#cdb4db", "#f6bd60", "#84a59d"};

static void build_dot(const prism_session *s, pr_buf *d) {
    const pr_graph *g = s->g;
    size_t ns = s->n_spaces;
    pr_buf_printf(d, "digraph prism {\n  rankdir=TB;\n  node [shape=box, style=\"filled,rounded\", fontname=\"Helvetica\"];\n");
    pr_buf_printf(d, "  legend [shape=plaintext, style=\"\", label=<<table border=\"0\" cellborder=\"1\">");
    for (size_t i = 0; i < s->n_insts; i++) {
        const pr_inst *in = &s->insts[i];
        char label[160];
        snprintf(label, sizeof label, "%s:%u", in->pv->name, in->device);
        pr_buf_printf(d, "<tr><td bgcolor=\"%s\">", palette[i % (sizeof palette / sizeof *palette)]);
        for (const char *p = label; *p; p++) { /* HTML label: keep it plain */
            if (*p == '<' || *p == '>' || *p == '&' || *p == '"') continue;
            pr_buf_append(d, p, 1);
        }
        pr_buf_printf(d, "</td></tr>");
    }
    pr_buf_printf(d, "</table>>];\n");
    for (size_t si = 0; si < s->plan.n_subs; si++) {
        const pr_sub *sb = &s->plan.subs[si];
        const pr_inst *in = &s->insts[sb->cand];
        char label[160];
        snprintf(label, sizeof label, "subgraph %zu: %s:%u", si, in->pv->name, in->device);
        pr_buf_printf(d, "  subgraph cluster_%zu {\n    label=", si);
        dot_string(d, label);
        pr_buf_printf(d, ";\n    style=dashed;\n");
        for (size_t k = 0; k < sb->n_nodes; k++) {
            uint32_t n = sb->nodes[k];
            pr_buf_printf(d, "    n%u [label=", n);
            dot_string(d, nlabel(&g->nodes[n]));
            d->len--; /* reopen the string: DOT's line break, then the op */
            pr_buf_append(d, "\\n", 2);
            dot_string_tail(d, g->nodes[n].op_type);
            pr_buf_printf(d, ", fillcolor=\"%s\"%s];\n", palette[(size_t)sb->cand % (sizeof palette / sizeof *palette)],
                          s->plan.node_fallback[n] ? ", penwidth=3, color=red" : "");
        }
        pr_buf_printf(d, "  }\n");
    }
    /* Graph inputs and outputs, then data edges; an edge that crosses
     * memory spaces is a copy, drawn red with its size. */
    for (size_t i = 0; i < g->n_inputs; i++) {
        pr_buf_printf(d, "  v%u [shape=ellipse, style=\"\", label=", g->inputs[i]);
        dot_string(d, g->values[g->inputs[i]].name);
        pr_buf_printf(d, "];\n");
    }
    for (size_t i = 0; i < g->n_outputs; i++) {
        pr_buf_printf(d, "  o%u [shape=ellipse, style=\"\", label=", g->outputs[i]);
        dot_string(d, g->values[g->outputs[i]].name);
        pr_buf_printf(d, "];\n");
        int32_t p = g->values[g->outputs[i]].producer;
        if (p >= 0) {
            int32_t sp = s->insts[s->plan.node_cand[p]].space;
            pr_buf_printf(d, "  n%d -> o%u%s;\n", p, g->outputs[i], sp ? " [color=red, penwidth=2]" : "");
        }
    }
    for (size_t n = 0; n < g->n_nodes; n++) {
        const pr_node *nd = &g->nodes[n];
        int32_t sp = s->insts[s->plan.node_cand[n]].space;
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
            uint32_t v = k < nd->n_inputs ? nd->inputs[k] : nd->implicit[k - nd->n_inputs];
            if (v == PRISM_NO_VALUE || g->values[v].constant) continue;
            int32_t p = g->values[v].producer;
            int32_t from_sp = p >= 0 ? s->insts[s->plan.node_cand[p]].space : 0;
            if (p >= 0) pr_buf_printf(d, "  n%d -> n%zu", p, n);
            else if (g->values[v].is_graph_input) pr_buf_printf(d, "  v%u -> n%zu", v, n);
            else continue;
            if (from_sp != sp && sp == 0 && pr_reads_shape_only(g, (uint32_t)n, v)) {
                pr_buf_printf(d, " [style=dashed, label=\"shape only\"]");
            } else if (from_sp != sp) {
                int64_t b = pr_value_static_bytes(&g->values[v]);
                if (b >= 0) pr_buf_printf(d, " [color=red, penwidth=2, label=\"copy %lld B\"]", (long long)b);
                else pr_buf_printf(d, " [color=red, penwidth=2, label=\"copy\"]");
            }
            pr_buf_printf(d, ";\n");
        }
    }
    (void)ns;
    pr_buf_printf(d, "}\n");
}

static char *take(pr_buf *b) {
    if (b->failed) {
        pr_buf_free(b);
        return NULL;
    }
    return b->data;
}

prism_status pr_session_build_report(prism_session *s) {
    pr_buf t = {0}, j = {0}, d = {0};
    pr_buf_append(&t, "", 0);
    build_text(s, &t);
    build_json(s, &j, s->policy);
    build_dot(s, &d);
    s->report_text = take(&t);
    s->report_json = take(&j);
    s->report_dot = take(&d);
    if (!s->report_text || !s->report_json || !s->report_dot)
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory building the partition report");
    return PRISM_OK;
}

const char *prism_session_placement(const prism_session *s, const char *format) {
    if (!s) return NULL;
    if (!format || !strcmp(format, "text")) return s->report_text;
    if (!strcmp(format, "json")) return s->report_json;
    if (!strcmp(format, "dot")) return s->report_dot;
    return NULL;
}

size_t prism_session_node_count(const prism_session *s) { return s ? s->g->n_nodes : 0; }

prism_status prism_session_node_placement(const prism_session *s, size_t node, prism_node_placement *out) {
    if (!s || node >= s->g->n_nodes) return pr_fail(PRISM_ERR_NOT_FOUND, "no node #%zu in the session", node);
    if (!out || out->struct_size < sizeof *out)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "node_placement: struct_size must be sizeof(prism_node_placement)");
    const pr_node *nd = &s->g->nodes[node];
    const pr_inst *in = &s->insts[s->plan.node_cand[node]];
    out->name = nname(nd);
    out->op_type = nd->op_type;
    out->provider = in->pv->name;
    out->device = in->device;
    out->subgraph = (size_t)s->plan.node_sub[node];
    out->fallback = s->plan.node_fallback[node];
    out->reason = s->plan.node_reason[node] ? s->plan.node_reason[node] : "";
    return PRISM_OK;
}

size_t prism_session_subgraph_count(const prism_session *s) { return s ? s->plan.n_subs : 0; }

prism_status prism_session_subgraph(const prism_session *s, size_t i, prism_subgraph_info *out) {
    if (!s || i >= s->plan.n_subs) return pr_fail(PRISM_ERR_NOT_FOUND, "no subgraph #%zu in the session", i);
    if (!out || out->struct_size < sizeof *out)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "subgraph: struct_size must be sizeof(prism_subgraph_info)");
    const pr_sub *sb = &s->plan.subs[i];
    out->provider = s->insts[sb->cand].pv->name;
    out->device = s->insts[sb->cand].device;
    out->node_count = sb->n_nodes;
    out->input_count = sb->n_inputs;
    out->output_count = sb->n_outputs;
    return PRISM_OK;
}

size_t prism_session_copy_count(const prism_session *s) {
    size_t n = 0;
    for (size_t i = 0; s && i < s->plan.n_steps; i++) n += s->plan.steps[i].kind == PR_STEP_COPY;
    return n;
}

prism_status prism_session_copy(const prism_session *s, size_t index, prism_copy_info *out) {
    size_t k = 0;
    for (size_t i = 0; s && i < s->plan.n_steps; i++) {
        const pr_step *c = &s->plan.steps[i];
        if (c->kind != PR_STEP_COPY || k++ != index) continue;
        if (!out || out->struct_size < sizeof *out)
            return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "copy: struct_size must be sizeof(prism_copy_info)");
        out->value = s->g->values[c->value].name;
        out->from_provider = space_provider(s, c->from_cand);
        out->from_device = space_device(s, c->from_cand);
        out->to_provider = space_provider(s, c->to_cand);
        out->to_device = space_device(s, c->to_cand);
        out->bytes = c->bytes;
        out->direct = c->direct;
        out->shape_only = c->shape_only;
        return PRISM_OK;
    }
    return pr_fail(PRISM_ERR_NOT_FOUND, "no copy #%zu in the session", index);
}
