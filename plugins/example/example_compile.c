/*
 * example_compile.c — turning a unit's nodes into a program of steps over
 * value slots.
 *
 * Every value the unit touches gets a slot: an input of the unit (a device
 * buffer the host passes to run), a constant (uploaded to device memory once,
 * here, and freed with the unit), an intermediate (allocated in device memory
 * during a run and freed after its last reader) or an output of the unit
 * (allocated through the host's output_alloc). Compilation checks everything
 * it can so that a run fails only on what depends on the run's shapes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_internal.h"

void ex_compiled_destroy(prism_compiled *c) {
    if (!c) return;
    for (size_t s = 0; s < c->n_slots; s++)
        if (c->slots[s].kind == EX_SLOT_CONST) ex_mem_free(c->inst, c->slots[s].konst.handle);
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
    uint32_t *of_value; /* value id -> slot, EX_NO_SLOT when none yet */
    uint32_t n_values;
} builder;

static uint32_t new_slot(prism_compiled *c, int kind, uint32_t index) {
    ex_slot *s = &c->slots[c->n_slots];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->index = index;
    s->last_use = -1;
    return (uint32_t)c->n_slots++;
}

static const char *value_label(const builder *b, uint32_t v) {
    const char *name = b->host->value_name(b->g, v);
    return name && *name ? name : "(unnamed)";
}

/* A constant value of the view, copied into device memory: its slot. */
static prism_status upload(builder *b, const ex_step *step, uint32_t v, uint32_t *out) {
    prism_compiled *c = b->c;
    size_t bytes = 0;
    const void *data = b->host->value_constant(b->g, v, &bytes);
    int32_t rank = b->host->value_rank(b->g, v);
    const char *name = value_label(b, v);
    if (!data)
        return ex_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT,
                       "node '%s' (%s): input '%s' is not an input of the unit, a constant, or computed before it "
                       "in the unit",
                       step->name, ex_op_name(step->op), name);
    if (b->host->value_dtype(b->g, v) != PRISM_DTYPE_FLOAT || rank < 0 || rank > EX_MAX_RANK)
        return ex_fail(c->inst, b->hc, PRISM_ERR_NOT_SUPPORTED,
                       "node '%s' (%s): constant '%s' is not a float32 tensor of rank 0 to %d", step->name,
                       ex_op_name(step->op), name, EX_MAX_RANK);
    uint32_t s = new_slot(c, EX_SLOT_CONST, 0);
    ex_tensor *t = &c->slots[s].konst;
    t->rank = rank;
    t->count = 1;
    for (int32_t i = 0; i < rank; i++) {
        t->dims[i] = b->host->value_dim(b->g, v, (uint32_t)i);
        if (t->dims[i] < 0 || (t->dims[i] && t->count > (INT64_C(1) << 50) / t->dims[i]))
            return ex_fail(c->inst, b->hc, PRISM_ERR_INVALID_MODEL, "constant '%s' has an unknown or huge dim %d",
                           name, i);
        t->count *= t->dims[i];
    }
    if (bytes != (size_t)t->count * sizeof(float))
        return ex_fail(c->inst, b->hc, PRISM_ERR_INVALID_MODEL, "constant '%s' has %zu bytes for %lld floats", name,
                       bytes, (long long)t->count);
    char err[EX_ERR];
    void *ptr;
    prism_status st = ex_mem_alloc(c->inst, bytes, &t->handle, &ptr, err);
    if (st)
        return ex_fail(c->inst, b->hc, st, "node '%s' (%s): uploading constant '%s': %s", step->name,
                       ex_op_name(step->op), name, err);
    if (bytes) memcpy(ptr, data, bytes);
    t->data = ptr;
    *out = b->of_value[v] = s;
    return PRISM_OK;
}

static prism_status add_step(builder *b, uint32_t node, int64_t position, const uint32_t *outputs,
                             size_t output_count) {
    prism_compiled *c = b->c;
    const prism_host_api *host = b->host;
    ex_step *step = &c->steps[c->n_steps];
    memset(step, 0, sizeof *step);
    for (int k = 0; k < EX_MAX_INPUTS; k++) step->in[k] = EX_NO_SLOT;
    const char *nm = host->node_name(b->g, node);
    char idname[32];
    snprintf(idname, sizeof idname, "#%u", node);
    step->name = strdup(nm && *nm ? nm : idname);
    if (!step->name) return ex_fail(c->inst, b->hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    c->n_steps++;
    step->opset = host->node_opset(b->g, node);
    char why[EX_ERR];
    if (!ex_node_parse(host, b->g, node, &step->op, &step->params, why, sizeof why)) {
        const char *op = host->node_op_type(b->g, node);
        return ex_fail(c->inst, b->hc, PRISM_ERR_NOT_SUPPORTED, "node '%s' (%s, opset %lld): %s", step->name,
                       op ? op : "?", (long long)step->opset, why);
    }
    if (!(c->inst->op_mask & (1u << step->op)))
        return ex_fail(c->inst, b->hc, PRISM_ERR_NOT_SUPPORTED, "node '%s' (%s): the instance's ops option excludes %s",
                       step->name, ex_op_name(step->op), ex_op_name(step->op));
    uint32_t n_in = host->node_input_count(b->g, node);
    for (uint32_t k = 0; k < n_in; k++) {
        uint32_t v = host->node_input(b->g, node, k), s;
        if (k >= EX_MAX_INPUTS) continue; /* trailing omitted inputs (checked by ex_node_parse) */
        if (v == PRISM_NO_VALUE) continue;
        if (v >= b->n_values)
            return ex_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT, "node '%s': input %u is not a value", step->name,
                           k);
        s = b->of_value[v];
        if (s == EX_NO_SLOT) {
            prism_status st = upload(b, step, v, &s);
            if (st) return st;
        }
        step->in[k] = s;
        c->slots[s].last_use = position;
    }
    step->n_in = n_in < EX_MAX_INPUTS ? n_in : EX_MAX_INPUTS;
    uint32_t v = host->node_output(b->g, node, 0);
    if (v >= b->n_values || b->of_value[v] != EX_NO_SLOT)
        return ex_fail(c->inst, b->hc, PRISM_ERR_INVALID_ARGUMENT, "node '%s': its output '%s' is defined twice",
                       step->name, v < b->n_values ? value_label(b, v) : "?");
    uint32_t out_index = UINT32_MAX;
    for (size_t k = 0; k < output_count && out_index == UINT32_MAX; k++)
        if (outputs[k] == v) out_index = (uint32_t)k;
    step->out = new_slot(c, out_index == UINT32_MAX ? EX_SLOT_INTERNAL : EX_SLOT_OUTPUT, out_index);
    c->slots[step->out].last_use = position; /* an unread intermediate is freed right away */
    b->of_value[v] = step->out;
    return PRISM_OK;
}

prism_status ex_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                        const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                        prism_host_context *hc, prism_compiled **out) {
    const prism_host_api *host = inst->prov->host;
    if (!out || (node_count && !nodes) || (input_count && !inputs) || (output_count && !outputs))
        return ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "compile: NULL argument");
    builder b = {.host = host, .g = g, .hc = hc, .n_values = host->graph_value_count(g)};
    prism_compiled *c = calloc(1, sizeof *c);
    size_t max_slots = input_count + node_count * (EX_MAX_INPUTS + 1) + 1;
    if (c) {
        c->inst = inst;
        c->steps = calloc(node_count + 1, sizeof *c->steps);
        c->slots = calloc(max_slots, sizeof *c->slots);
        c->output_slot = calloc(output_count + 1, sizeof *c->output_slot);
    }
    b.c = c;
    b.of_value = malloc(((size_t)b.n_values + 1) * sizeof *b.of_value);
    if (!c || !c->steps || !c->slots || !c->output_slot || !b.of_value) {
        ex_compiled_destroy(c);
        free(b.of_value);
        return ex_fail(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory compiling %zu nodes", node_count);
    }
    c->n_inputs = (uint32_t)input_count;
    c->n_outputs = (uint32_t)output_count;
    for (uint32_t v = 0; v < b.n_values; v++) b.of_value[v] = EX_NO_SLOT;
    prism_status st = PRISM_OK;
    for (size_t k = 0; k < input_count && !st; k++) {
        if (inputs[k] >= b.n_values)
            st = ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %zu is not a value of the graph", k);
        else if (b.of_value[inputs[k]] == EX_NO_SLOT)
            b.of_value[inputs[k]] = new_slot(c, EX_SLOT_INPUT, (uint32_t)k);
    }
    for (size_t i = 0; i < node_count && !st; i++) {
        if (nodes[i] >= host->graph_node_count(g))
            st = ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "node id %u is not a node of the graph", nodes[i]);
        else
            st = add_step(&b, nodes[i], (int64_t)i, outputs, output_count);
    }
    /* An output listed twice, or one that is a unit input, is copied into
     * its own buffer at the end of the run: keep its source alive. */
    for (size_t k = 0; k < output_count && !st; k++) {
        uint32_t s = outputs[k] < b.n_values ? b.of_value[outputs[k]] : EX_NO_SLOT;
        if (s == EX_NO_SLOT || c->slots[s].kind == EX_SLOT_CONST) {
            st = ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit output %zu ('%s') is not computed by the unit", k,
                         outputs[k] < b.n_values ? value_label(&b, outputs[k]) : "?");
            break;
        }
        c->output_slot[k] = s;
    }
    free(b.of_value);
    if (st) {
        ex_compiled_destroy(c);
        return st;
    }
    *out = c;
    return PRISM_OK;
}
