/* model_api.c — inspecting a model without a session (prism info). */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

struct prism_model {
    pr_model *m;
};

prism_status prism_model_load(const char *path, prism_model **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "model_load: NULL output pointer");
    prism_model *pm = calloc(1, sizeof *pm);
    if (!pm) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = pr_model_from_file(path, &pm->m);
    if (st) {
        free(pm);
        return st;
    }
    *out = pm;
    return PRISM_OK;
}

prism_status prism_model_load_memory(const void *data, size_t size, const char *base_dir, prism_model **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "model_load: NULL output pointer");
    prism_model *pm = calloc(1, sizeof *pm);
    if (!pm) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = pr_model_from_bytes(data, size, base_dir, &pm->m);
    if (st) {
        free(pm);
        return st;
    }
    *out = pm;
    return PRISM_OK;
}

void prism_model_destroy(prism_model *pm) {
    if (!pm) return;
    pr_model_free(pm->m);
    free(pm);
}

int64_t prism_model_ir_version(const prism_model *pm) { return pm ? pm->m->ir_version : 0; }
const char *prism_model_producer(const prism_model *pm) { return pm ? pm->m->producer : NULL; }
size_t prism_model_opset_count(const prism_model *pm) { return pm ? pm->m->n_opsets : 0; }
void prism_model_opset(const prism_model *pm, size_t i, const char **domain, int64_t *version) {
    if (!pm || i >= pm->m->n_opsets) return;
    if (domain) *domain = pm->m->opsets[i].domain;
    if (version) *version = pm->m->opsets[i].version;
}
size_t prism_model_node_count(const prism_model *pm) { return pm ? pm->m->graph->n_nodes : 0; }
void prism_model_node(const prism_model *pm, size_t i, const char **name, const char **domain, const char **op_type) {
    if (!pm || i >= pm->m->graph->n_nodes) return;
    const pr_node *n = &pm->m->graph->nodes[i];
    if (name) *name = n->name;
    if (domain) *domain = n->domain;
    if (op_type) *op_type = n->op_type;
}
size_t prism_model_initializer_count(const prism_model *pm) { return pm ? pm->m->n_initializers : 0; }
size_t prism_model_input_count(const prism_model *pm) { return pm ? pm->m->graph->n_inputs : 0; }
size_t prism_model_output_count(const prism_model *pm) { return pm ? pm->m->graph->n_outputs : 0; }

prism_status prism_model_input(const prism_model *pm, size_t i, prism_value_info *info) {
    if (!pm || !info || i >= pm->m->graph->n_inputs) return pr_fail(PRISM_ERR_NOT_FOUND, "no model input #%zu", i);
    return pr_value_info_out(&pm->m->graph->values[pm->m->graph->inputs[i]], info);
}

prism_status prism_model_output(const prism_model *pm, size_t i, prism_value_info *info) {
    if (!pm || !info || i >= pm->m->graph->n_outputs) return pr_fail(PRISM_ERR_NOT_FOUND, "no model output #%zu", i);
    return pr_value_info_out(&pm->m->graph->values[pm->m->graph->outputs[i]], info);
}
