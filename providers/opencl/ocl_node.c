/* ocl_node.c — node facts and attributes for ops, read through the host's
 * graph view (which outlives every compiled unit, so pointers into it stay
 * valid for the session). */
#include <string.h>

#include "ocl_internal.h"
#include "pv_attr.h"

void ocl_node_bind(ocl_node *n, prism_instance *inst, const prism_graph_view *g, uint32_t id) {
    const prism_host_api *host = inst->prov->host;
    memset(n, 0, sizeof *n);
    n->host = host;
    n->g = g;
    n->inst = inst;
    n->id = id;
    n->name = host->node_name(g, id);
    n->op = host->node_op_type(g, id);
    n->opset = host->node_opset(g, id);
    n->n_in = host->node_input_count(g, id);
    n->n_out = host->node_output_count(g, id);
}

const char *ocl_node_name(const ocl_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }
const char *ocl_node_op(const ocl_node *n) { return n->op ? n->op : "?"; }
int64_t ocl_node_opset(const ocl_node *n) { return n->opset; }
uint32_t ocl_node_input_count(const ocl_node *n) { return n->n_in; }
uint32_t ocl_node_output_count(const ocl_node *n) { return n->n_out; }
bool ocl_node_device_fp16(const ocl_node *n) { return n->inst && n->inst->dev->fp16; }
const ocl_activation *ocl_node_activation(const ocl_node *n) { return n->act.kind == OCL_ACT_NONE ? NULL : &n->act; }

static uint32_t input_value(const ocl_node *n, uint32_t k) {
    return k < n->n_in ? n->host->node_input(n->g, n->id, k) : PRISM_NO_VALUE;
}
static uint32_t output_value(const ocl_node *n, uint32_t k) {
    return k < n->n_out ? n->host->node_output(n->g, n->id, k) : PRISM_NO_VALUE;
}

bool ocl_node_has_input(const ocl_node *n, uint32_t k) { return input_value(n, k) != PRISM_NO_VALUE; }
bool ocl_node_has_output(const ocl_node *n, uint32_t k) { return output_value(n, k) != PRISM_NO_VALUE; }

int32_t ocl_node_input_dtype(const ocl_node *n, uint32_t k) {
    uint32_t v = input_value(n, k);
    return v == PRISM_NO_VALUE ? 0 : n->host->value_dtype(n->g, v);
}
int32_t ocl_node_output_dtype(const ocl_node *n, uint32_t k) {
    uint32_t v = output_value(n, k);
    return v == PRISM_NO_VALUE ? 0 : n->host->value_dtype(n->g, v);
}
int32_t ocl_node_input_rank(const ocl_node *n, uint32_t k) {
    uint32_t v = input_value(n, k);
    return v == PRISM_NO_VALUE ? -1 : n->host->value_rank(n->g, v);
}
int64_t ocl_node_input_dim(const ocl_node *n, uint32_t k, uint32_t axis) {
    uint32_t v = input_value(n, k);
    if (v == PRISM_NO_VALUE) return -1;
    int32_t r = n->host->value_rank(n->g, v);
    return r < 0 || axis >= (uint32_t)r ? -1 : n->host->value_dim(n->g, v, axis);
}

const void *ocl_node_input_constant(const ocl_node *n, uint32_t k, ocl_tensor *t) {
    uint32_t v = input_value(n, k);
    if (v == PRISM_NO_VALUE) return NULL;
    size_t bytes = 0;
    const void *data = n->host->value_constant(n->g, v, &bytes);
    if (!data) return NULL;
    if (t) {
        int32_t rank = n->host->value_rank(n->g, v);
        if (rank < 0 || rank > OCL_MAX_RANK) return NULL;
        memset(t, 0, sizeof *t);
        t->dtype = n->host->value_dtype(n->g, v);
        t->rank = rank;
        for (int32_t d = 0; d < rank; d++) t->dims[d] = n->host->value_dim(n->g, v, (uint32_t)d);
        t->count = ocl_shape_count(rank, t->dims);
        t->bytes = bytes;
        t->host = data;
    }
    return data;
}

/* Attribute getters: the shared rules of pv_attr.h (a mistyped attribute is
 * absent), over this node. */
PV_ATTR_NODE_GETTERS(ocl, ocl_node)
