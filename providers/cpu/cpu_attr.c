/* cpu_attr.c — node facts and attributes, read through the host's graph
 * view (the view outlives every compiled unit, so pointers into it stay
 * valid for the session). */
#include <string.h>

#include "cpu_internal.h"
#include "pv_attr.h"

void cpu_node_bind(cpu_node *n, const prism_host_api *host, const prism_graph_view *g, uint32_t id) {
    memset(n, 0, sizeof *n);
    n->host = host;
    n->g = g;
    n->id = id;
    n->name = host->node_name(g, id);
    n->op = host->node_op_type(g, id);
    n->opset = host->node_opset(g, id);
    n->n_in = host->node_input_count(g, id);
    n->n_out = host->node_output_count(g, id);
}

const char *cpu_node_name(const cpu_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }
const char *cpu_node_op(const cpu_node *n) { return n->op; }
int64_t cpu_node_opset(const cpu_node *n) { return n->opset; }
uint32_t cpu_node_input_count(const cpu_node *n) { return n->n_in; }
uint32_t cpu_node_output_count(const cpu_node *n) { return n->n_out; }

bool cpu_node_has_input(const cpu_node *n, uint32_t k) {
    return k < n->n_in && n->host->node_input(n->g, n->id, k) != PRISM_NO_VALUE;
}

bool cpu_node_has_output(const cpu_node *n, uint32_t k) {
    return k < n->n_out && n->host->node_output(n->g, n->id, k) != PRISM_NO_VALUE;
}

int32_t cpu_node_input_dtype(const cpu_node *n, uint32_t k) {
    uint32_t v = k < n->n_in ? n->host->node_input(n->g, n->id, k) : PRISM_NO_VALUE;
    return v == PRISM_NO_VALUE ? 0 : n->host->value_dtype(n->g, v);
}

int32_t cpu_node_output_dtype(const cpu_node *n, uint32_t k) {
    uint32_t v = k < n->n_out ? n->host->node_output(n->g, n->id, k) : PRISM_NO_VALUE;
    return v == PRISM_NO_VALUE ? 0 : n->host->value_dtype(n->g, v);
}

const void *cpu_node_input_constant(const cpu_node *n, uint32_t k, cpu_tensor *t) {
    uint32_t v = k < n->n_in ? n->host->node_input(n->g, n->id, k) : PRISM_NO_VALUE;
    if (v == PRISM_NO_VALUE) return NULL;
    size_t bytes = 0;
    const void *data = n->host->value_constant(n->g, v, &bytes);
    if (!data) return NULL;
    if (t) {
        int32_t rank = n->host->value_rank(n->g, v);
        if (rank < 0 || rank > CPU_MAX_RANK) return NULL;
        int64_t dims[CPU_MAX_RANK];
        for (int32_t d = 0; d < rank; d++) dims[d] = n->host->value_dim(n->g, v, (uint32_t)d);
        cpu_tensor_from_desc(t, n->host->value_dtype(n->g, v), (uint32_t)rank, dims, (void *)data);
    }
    return data;
}

/* Attribute getters: the shared rules of pv_attr.h (a mistyped attribute is
 * absent), over this node. */
PV_ATTR_NODE_GETTERS(cpu, cpu_node)

static int32_t find(const cpu_node *n, const char *name, int32_t type) {
    return pv_attr_find(n->host, n->g, n->id, name, type);
}

size_t cpu_attr_strings_count(const cpu_node *n, const char *name) {
    int32_t a = find(n, name, PRISM_ATTR_STRINGS);
    return a < 0 ? 0 : n->host->attr_strings_count(n->g, n->id, (uint32_t)a);
}

const char *cpu_attr_strings_item(const cpu_node *n, const char *name, size_t i) {
    int32_t a = find(n, name, PRISM_ATTR_STRINGS);
    const char *s = a < 0 ? NULL : n->host->attr_strings_item(n->g, n->id, (uint32_t)a, (uint32_t)i, NULL);
    return s ? s : "";
}

bool cpu_attr_tensor(const cpu_node *n, const char *name, cpu_tensor *t) {
    int32_t a = find(n, name, PRISM_ATTR_TENSOR);
    if (a < 0) return false;
    prism_tensor_desc d = {.struct_size = sizeof d};
    if (n->host->attr_tensor(n->g, n->id, (uint32_t)a, &d) != PRISM_OK) return false;
    return cpu_tensor_from_desc(t, d.dtype, d.rank, d.dims, d.data);
}
