/*
 * xrt_compile.c — a unit's nodes as a program of steps over value slots, with
 * Relu/Clip fused into the step that produces their input.
 *
 * Constants (weights, biases) are uploaded to device memory once, here.
 * Fusion: a Relu or Clip whose input is made by a Conv, Gemm, MatMul or
 * element-wise step of the same unit, and read by nothing else (no other
 * node of the graph, not a graph or unit output), becomes that step's
 * activation (the kernels apply it at write-back), saving a pass over memory
 * and a launch.
 * Views: the output slot of Identity/Flatten/Reshape/Squeeze/Unsqueeze
 * aliases the slot whose buffer holds the bytes, and every reader of the
 * view extends that buffer's life, so a view costs nothing inside a unit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prism_hls.h"
#include "xrt_internal.h"

void xr_compiled_destroy(prism_compiled *c) {
    if (!c) return;
    for (size_t s = 0; s < c->n_slots; s++)
        if (c->slots[s].kind == XR_SLOT_CONST) xr_mem_free(c->inst, c->slots[s].konst_handle);
    for (size_t i = 0; i < c->n_steps; i++) free(c->steps[i].name);
    free(c->steps);
    free(c->slots);
    free(c->output_slot);
    free(c);
}

typedef struct builder {
    prism_compiled *c;
    const prism_host_api *host;
    const prism_graph_view *g;
    prism_host_context *hc;
    uint32_t *of_value; /* value id -> slot */
    uint32_t n_values;
    const uint32_t *outputs;
    size_t output_count;
} builder;

static uint32_t new_slot(prism_compiled *c, int kind, uint32_t index) {
    xr_slot *s = &c->slots[c->n_slots];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->index = index;
    s->last_use = -1;
    s->alias = XR_NO_SLOT;
    return (uint32_t)c->n_slots++;
}

static const char *value_label(const builder *b, uint32_t v) {
    const char *name = b->host->value_name(b->g, v);
    return name && *name ? name : "(unnamed)";
}

static prism_status upload(builder *b, const xr_step *step, uint32_t v, uint32_t *out) {
    prism_compiled *c = b->c;
    size_t bytes = 0;
    const void *data = b->host->value_constant(b->g, v, &bytes);
    int32_t rank = b->host->value_rank(b->g, v);
    const char *name = value_label(b, v);
    if (!data)
        return xr_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT,
                       "node '%s' (%s): input '%s' is not a unit input, a constant or computed before it", step->name,
                       xo_op_name(step->op), name);
    if (b->host->value_dtype(b->g, v) != PRISM_DTYPE_FLOAT || rank < 0 || rank > XR_MAX_RANK)
        return xr_fail(c->inst, b->hc, PRISM_ERR_NOT_SUPPORTED, "node '%s': constant '%s' is not float32 of rank <= %d",
                       step->name, name, XR_MAX_RANK);
    uint32_t s = new_slot(c, XR_SLOT_CONST, 0);
    xr_tensor *t = &c->slots[s].konst;
    t->rank = rank;
    t->count = 1;
    for (int32_t i = 0; i < rank; i++) {
        t->dims[i] = b->host->value_dim(b->g, v, (uint32_t)i);
        if (t->dims[i] < 0 || (t->dims[i] && t->count > (INT64_C(1) << 40) / t->dims[i]))
            return xr_fail(c->inst, b->hc, PRISM_ERR_INVALID_MODEL, "constant '%s' has an unknown or huge dim %d", name,
                           i);
        t->count *= t->dims[i];
    }
    if (bytes != (size_t)t->count * sizeof(float))
        return xr_fail(c->inst, b->hc, PRISM_ERR_INVALID_MODEL, "constant '%s' has %zu bytes for %lld floats", name,
                       bytes, (long long)t->count);
    char err[XR_ERR];
    prism_status st = xr_mem_alloc(c->inst, bytes, &c->slots[s].konst_handle, &t->buf, err, sizeof err);
    if (!st) st = c->inst->be->ops->write(c->inst->be, t->buf, 0, data, bytes, err, sizeof err);
    if (st)
        return xr_fail(c->inst, b->hc, st, "node '%s': uploading constant '%s': %s", step->name, name, err);
    *out = b->of_value[v] = s;
    return PRISM_OK;
}

static uint32_t output_index(const builder *b, uint32_t v) {
    for (size_t k = 0; k < b->output_count; k++)
        if (b->outputs[k] == v) return (uint32_t)k;
    return UINT32_MAX;
}

/* How many inputs of the whole graph read v, plus one if it is a graph output. */
static uint32_t readers(const builder *b, uint32_t v) {
    const prism_host_api *h = b->host;
    uint32_t n = 0, nn = h->graph_node_count(b->g);
    for (uint32_t i = 0; i < nn; i++) {
        uint32_t ni = h->node_input_count(b->g, i);
        for (uint32_t k = 0; k < ni; k++) n += h->node_input(b->g, i, k) == v;
        uint32_t nimp = h->node_implicit_input_count ? h->node_implicit_input_count(b->g, i) : 0;
        for (uint32_t k = 0; k < nimp; k++) n += h->node_implicit_input(b->g, i, k) == v;
    }
    uint32_t no = h->graph_output_count(b->g);
    for (uint32_t k = 0; k < no; k++) n += h->graph_output(b->g, k) == v;
    return n;
}

static prism_status add_step(builder *b, uint32_t node, int64_t position, uint32_t fused_node) {
    prism_compiled *c = b->c;
    const prism_host_api *host = b->host;
    xr_step *step = &c->steps[c->n_steps];
    memset(step, 0, sizeof *step);
    for (int k = 0; k < XR_MAX_INPUTS; k++) step->in[k] = XR_NO_SLOT;
    const char *nm = host->node_name(b->g, node);
    char idname[32];
    snprintf(idname, sizeof idname, "#%u", node);
    step->name = strdup(nm && *nm ? nm : idname);
    if (!step->name) return xr_fail(c->inst, b->hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    c->n_steps++;
    step->opset = host->node_opset(b->g, node);
    step->pos = position;
    char why[XR_ERR] = "";
    if (!xo_parse(host, b->g, node, &step->op, &step->p, why, sizeof why)) {
        const char *op = host->node_op_type(b->g, node);
        return xr_fail(c->inst, b->hc, PRISM_ERR_NOT_SUPPORTED, "node '%s' (%s, opset %lld): %s", step->name,
                       op ? op : "?", (long long)step->opset, why);
    }
    step->act = PRISM_HLS_ACT_NONE;
    if (step->op == XO_RELU) step->act = PRISM_HLS_ACT_RELU;
    if (step->op == XO_CLIP) {
        step->act = PRISM_HLS_ACT_CLIP;
        step->act_lo = step->p.clip_lo;
        step->act_hi = step->p.clip_hi;
    }
    uint32_t n_in = host->node_input_count(b->g, node);
    /* Clip's bounds, Reshape's shape and Squeeze/Unsqueeze's axes were read at
     * parse time; only their data input is a slot. Concat's inputs are all
     * data (xo_parse bounds their count). */
    uint32_t used = step->op == XO_CLIP || xo_is_view(step->op) ? 1
                    : step->op == XO_CONCAT                      ? n_in
                    : n_in < XR_MAX_INPUTS                       ? n_in
                                                                 : XR_MAX_INPUTS;
    if (used > XR_MAX_STEP_INPUTS)
        return xr_fail(c->inst, b->hc, PRISM_ERR_INTERNAL, "node '%s': %u inputs", step->name, used);
    for (uint32_t k = 0; k < used; k++) {
        uint32_t v = host->node_input(b->g, node, k), s;
        if (v == PRISM_NO_VALUE) continue;
        if (v >= b->n_values)
            return xr_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT, "node '%s': input %u is not a value", step->name,
                           k);
        s = b->of_value[v];
        if (s == XR_NO_SLOT) {
            prism_status st = upload(b, step, v, &s);
            if (st) return st;
        }
        step->in[k] = s;
        c->slots[s].last_use = position;
        if (c->slots[s].alias != XR_NO_SLOT) c->slots[c->slots[s].alias].last_use = position;
    }
    step->n_in = used;
    uint32_t v = host->node_output(b->g, node, 0);
    if (fused_node != UINT32_MAX) {
        xo_op fop;
        xo_params fp;
        if (!xo_parse(host, b->g, fused_node, &fop, &fp, why, sizeof why))
            return xr_fail(c->inst, b->hc, PRISM_ERR_INTERNAL, "fused node %u no longer parses", fused_node);
        step->act = fop == XO_RELU ? PRISM_HLS_ACT_RELU : PRISM_HLS_ACT_CLIP;
        step->act_lo = fp.clip_lo;
        step->act_hi = fp.clip_hi;
        v = host->node_output(b->g, fused_node, 0);
    }
    if (v >= b->n_values || b->of_value[v] != XR_NO_SLOT)
        return xr_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT, "node '%s': its output is defined twice",
                       step->name);
    uint32_t oi = output_index(b, v);
    step->out = new_slot(c, oi == UINT32_MAX ? XR_SLOT_INTERNAL : XR_SLOT_OUTPUT, oi);
    c->slots[step->out].last_use = position;
    if (xo_is_view(step->op) && oi == UINT32_MAX) { /* a unit output has bytes of its own */
        uint32_t src = step->in[0];
        c->slots[step->out].alias = c->slots[src].alias != XR_NO_SLOT ? c->slots[src].alias : src;
    }
    b->of_value[v] = step->out;
    return PRISM_OK;
}

/* fuse[i] = position j of a Relu/Clip folded into node i; skip[j] set. */
static void plan_fusion(const builder *b, const uint32_t *nodes, size_t count, uint32_t *fuse, uint8_t *skip) {
    const prism_host_api *h = b->host;
    for (size_t j = 0; j < count; j++) {
        xo_op op;
        xo_params p;
        char why[XR_ERR];
        if (!xo_parse(h, b->g, nodes[j], &op, &p, why, sizeof why) || (op != XO_RELU && op != XO_CLIP)) continue;
        uint32_t v = h->node_input(b->g, nodes[j], 0);
        for (size_t i = 0; i < j; i++) {
            if (h->node_output_count(b->g, nodes[i]) < 1 || h->node_output(b->g, nodes[i], 0) != v) continue;
            xo_op pop;
            xo_params pp;
            bool ok = !skip[i] && fuse[i] == UINT32_MAX && xo_parse(h, b->g, nodes[i], &pop, &pp, why, sizeof why) &&
                      pop <= XO_DIV && output_index(b, v) == UINT32_MAX && readers(b, v) == 1;
            if (ok) {
                fuse[i] = nodes[j];
                skip[j] = 1;
            }
            break;
        }
    }
}

prism_status xr_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                        const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                        prism_host_context *hc, prism_compiled **out) {
    const prism_host_api *host = inst->prov->host;
    if (!out || (node_count && !nodes) || (input_count && !inputs) || (output_count && !outputs))
        return xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "compile: NULL argument");
    if (!inst->enabled || !inst->be)
        return xr_fail(inst, hc, PRISM_ERR_NOT_SUPPORTED, "xrt device %u runs no node: %s", inst->device,
                       inst->why_disabled);
    builder b = {.host = host, .g = g, .hc = hc, .n_values = host->graph_value_count(g), .outputs = outputs,
                 .output_count = output_count};
    prism_compiled *c = calloc(1, sizeof *c);
    /* a slot per unit input, per constant a node reads, per node output */
    size_t max_slots = input_count + node_count + 1;
    for (size_t i = 0; i < node_count; i++)
        if (nodes[i] < host->graph_node_count(g)) max_slots += host->node_input_count(g, nodes[i]);
    if (c) {
        c->inst = inst;
        c->steps = calloc(node_count + 1, sizeof *c->steps);
        c->slots = calloc(max_slots, sizeof *c->slots);
        c->output_slot = calloc(output_count + 1, sizeof *c->output_slot);
    }
    b.c = c;
    b.of_value = malloc(((size_t)b.n_values + 1) * sizeof *b.of_value);
    uint32_t *fuse = malloc((node_count + 1) * sizeof *fuse);
    uint8_t *skip = calloc(node_count + 1, 1);
    if (!c || !c->steps || !c->slots || !c->output_slot || !b.of_value || !fuse || !skip) {
        xr_compiled_destroy(c);
        free(b.of_value);
        free(fuse);
        free(skip);
        return xr_fail(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory compiling %zu nodes", node_count);
    }
    c->n_inputs = (uint32_t)input_count;
    c->n_outputs = (uint32_t)output_count;
    for (uint32_t v = 0; v < b.n_values; v++) b.of_value[v] = XR_NO_SLOT;
    for (size_t i = 0; i < node_count; i++) fuse[i] = UINT32_MAX;
    prism_status st = PRISM_OK;
    for (size_t i = 0; i < node_count && !st; i++)
        if (nodes[i] >= host->graph_node_count(g))
            st = xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "node id %u is not a node of the graph", nodes[i]);
    for (size_t k = 0; k < input_count && !st; k++) {
        if (inputs[k] >= b.n_values)
            st = xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %zu is not a value of the graph", k);
        else if (b.of_value[inputs[k]] == XR_NO_SLOT)
            b.of_value[inputs[k]] = new_slot(c, XR_SLOT_INPUT, (uint32_t)k);
    }
    if (!st) plan_fusion(&b, nodes, node_count, fuse, skip);
    for (size_t i = 0; i < node_count && !st; i++)
        if (!skip[i]) st = add_step(&b, nodes[i], (int64_t)i, fuse[i]);
    for (size_t k = 0; k < output_count && !st; k++) {
        uint32_t s = outputs[k] < b.n_values ? b.of_value[outputs[k]] : XR_NO_SLOT;
        if (s == XR_NO_SLOT || c->slots[s].kind == XR_SLOT_CONST) {
            st = xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit output %zu ('%s') is not computed by the unit", k,
                         outputs[k] < b.n_values ? value_label(&b, outputs[k]) : "?");
            break;
        }
        c->output_slot[k] = s;
    }
    free(b.of_value);
    free(fuse);
    free(skip);
    if (st) {
        xr_compiled_destroy(c);
        return st;
    }
    *out = c;
    return PRISM_OK;
}
