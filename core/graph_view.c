/*
 * graph_view.c — the read-only graph accessors of prism_host_api. A
 * prism_graph_view is the IR graph itself; every index from the plugin is
 * range-checked, so a buggy plugin gets NULL / 0 / -1, never a crash.
 */
#include <string.h>

#include "host_api.h"
#include "ir.h"

#define G(v) ((const pr_graph *)(v))

static const pr_node *gv_node(const prism_graph_view *g, uint32_t n) {
    return g && n < G(g)->n_nodes ? &G(g)->nodes[n] : NULL;
}
static const pr_value *gv_value(const prism_graph_view *g, uint32_t v) {
    return g && v < G(g)->n_values ? &G(g)->values[v] : NULL;
}
static const pr_attr *gv_attr(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_node *node = gv_node(g, n);
    return node && a < node->n_attrs ? &node->attrs[a] : NULL;
}

static uint32_t gv_node_count(const prism_graph_view *g) { return g ? (uint32_t)G(g)->n_nodes : 0; }
static uint32_t gv_value_count(const prism_graph_view *g) { return g ? (uint32_t)G(g)->n_values : 0; }
static uint32_t gv_input_count(const prism_graph_view *g) { return g ? (uint32_t)G(g)->n_inputs : 0; }
static uint32_t gv_input(const prism_graph_view *g, uint32_t i) {
    return g && i < G(g)->n_inputs ? G(g)->inputs[i] : PRISM_NO_VALUE;
}
static uint32_t gv_output_count(const prism_graph_view *g) { return g ? (uint32_t)G(g)->n_outputs : 0; }
static uint32_t gv_output(const prism_graph_view *g, uint32_t i) {
    return g && i < G(g)->n_outputs ? G(g)->outputs[i] : PRISM_NO_VALUE;
}
static const char *gv_node_name(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->name : NULL;
}
static const char *gv_node_op(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->op_type : NULL;
}
static const char *gv_node_domain(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->domain : NULL;
}
static int64_t gv_node_opset(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->opset : -1;
}
static uint32_t gv_node_input_count(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->n_inputs : 0;
}
static uint32_t gv_node_input(const prism_graph_view *g, uint32_t n, uint32_t k) {
    const pr_node *x = gv_node(g, n);
    return x && k < x->n_inputs ? x->inputs[k] : PRISM_NO_VALUE;
}
static uint32_t gv_node_output_count(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->n_outputs : 0;
}
static uint32_t gv_node_output(const prism_graph_view *g, uint32_t n, uint32_t k) {
    const pr_node *x = gv_node(g, n);
    return x && k < x->n_outputs ? x->outputs[k] : PRISM_NO_VALUE;
}
static uint32_t gv_node_implicit_count(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->n_implicit : 0;
}
static uint32_t gv_node_implicit(const prism_graph_view *g, uint32_t n, uint32_t k) {
    const pr_node *x = gv_node(g, n);
    return x && k < x->n_implicit ? x->implicit[k] : PRISM_NO_VALUE;
}
static const char *gv_value_name(const prism_graph_view *g, uint32_t v) {
    const pr_value *x = gv_value(g, v);
    return x ? x->name : NULL;
}
static int32_t gv_value_dtype(const prism_graph_view *g, uint32_t v) {
    const pr_value *x = gv_value(g, v);
    return x ? x->dtype : 0;
}
static int32_t gv_value_rank(const prism_graph_view *g, uint32_t v) {
    const pr_value *x = gv_value(g, v);
    return x ? x->rank : -1;
}
static int64_t gv_value_dim(const prism_graph_view *g, uint32_t v, uint32_t axis) {
    const pr_value *x = gv_value(g, v);
    return x && x->rank >= 0 && axis < (uint32_t)x->rank ? x->dims[axis] : -1;
}
static const char *gv_value_dim_param(const prism_graph_view *g, uint32_t v, uint32_t axis) {
    const pr_value *x = gv_value(g, v);
    return x && x->rank >= 0 && axis < (uint32_t)x->rank && x->dim_params ? x->dim_params[axis] : NULL;
}
static const void *gv_value_constant(const prism_graph_view *g, uint32_t v, size_t *out_bytes) {
    const pr_value *x = gv_value(g, v);
    if (!x || !x->constant) return NULL;
    if (out_bytes) *out_bytes = x->constant->bytes;
    return x->constant->data ? x->constant->data : (const void *)x; /* non-NULL even when empty */
}
static uint32_t gv_attr_count(const prism_graph_view *g, uint32_t n) {
    const pr_node *x = gv_node(g, n);
    return x ? x->n_attrs : 0;
}
static int32_t gv_attr_find(const prism_graph_view *g, uint32_t n, const char *name) {
    const pr_node *x = gv_node(g, n);
    if (!x || !name) return -1;
    for (uint32_t i = 0; i < x->n_attrs; i++)
        if (!strcmp(x->attrs[i].name, name)) return (int32_t)i;
    return -1;
}
static const char *gv_attr_name(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    return x ? x->name : NULL;
}
static int32_t gv_attr_type(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    return x ? x->type : 0;
}
static int64_t gv_attr_int(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    return x ? x->i : 0;
}
static float gv_attr_float(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    return x ? x->f : 0.0f;
}
static const char *gv_attr_string(const prism_graph_view *g, uint32_t n, uint32_t a, size_t *len) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x || x->type != PRISM_ATTR_STRING) return NULL;
    if (len) *len = x->s_len;
    return x->s;
}
static const int64_t *gv_attr_ints(const prism_graph_view *g, uint32_t n, uint32_t a, size_t *count) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x || x->type != PRISM_ATTR_INTS) return NULL;
    if (count) *count = x->count;
    return x->ints;
}
static const float *gv_attr_floats(const prism_graph_view *g, uint32_t n, uint32_t a, size_t *count) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x || x->type != PRISM_ATTR_FLOATS) return NULL;
    if (count) *count = x->count;
    return x->floats;
}
static uint32_t gv_attr_strings_count(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    return x && x->type == PRISM_ATTR_STRINGS ? (uint32_t)x->count : 0;
}
static const char *gv_attr_strings_item(const prism_graph_view *g, uint32_t n, uint32_t a, uint32_t i, size_t *len) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x || x->type != PRISM_ATTR_STRINGS || i >= x->count) return NULL;
    if (len) *len = x->string_lens[i];
    return x->strings[i];
}
static prism_status gv_attr_tensor(const prism_graph_view *g, uint32_t n, uint32_t a, prism_tensor_desc *d) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x || x->type != PRISM_ATTR_TENSOR || !x->tensors || !d) return PRISM_ERR_NOT_FOUND;
    const pr_const *c = &x->tensors[0];
    d->struct_size = sizeof *d;
    d->dtype = c->dtype;
    d->rank = c->rank;
    d->dims = c->dims;
    d->data = c->data;
    d->byte_size = c->bytes;
    return PRISM_OK;
}
static uint32_t gv_attr_graphs_count(const prism_graph_view *g, uint32_t n, uint32_t a) {
    const pr_attr *x = gv_attr(g, n, a);
    if (!x) return 0;
    return x->type == PRISM_ATTR_GRAPH ? 1 : x->type == PRISM_ATTR_GRAPHS ? (uint32_t)x->count : 0;
}
static const prism_graph_view *gv_attr_graph(const prism_graph_view *g, uint32_t n, uint32_t a, uint32_t i) {
    if (i >= gv_attr_graphs_count(g, n, a)) return NULL;
    return (const prism_graph_view *)gv_attr(g, n, a)->graphs[i];
}

void pr_host_api_fill_graph(prism_host_api *h) {
    h->graph_node_count = gv_node_count;
    h->graph_value_count = gv_value_count;
    h->graph_input_count = gv_input_count;
    h->graph_input = gv_input;
    h->graph_output_count = gv_output_count;
    h->graph_output = gv_output;
    h->node_name = gv_node_name;
    h->node_op_type = gv_node_op;
    h->node_domain = gv_node_domain;
    h->node_opset = gv_node_opset;
    h->node_input_count = gv_node_input_count;
    h->node_input = gv_node_input;
    h->node_output_count = gv_node_output_count;
    h->node_output = gv_node_output;
    h->node_implicit_input_count = gv_node_implicit_count;
    h->node_implicit_input = gv_node_implicit;
    h->value_name = gv_value_name;
    h->value_dtype = gv_value_dtype;
    h->value_rank = gv_value_rank;
    h->value_dim = gv_value_dim;
    h->value_dim_param = gv_value_dim_param;
    h->value_constant = gv_value_constant;
    h->node_attr_count = gv_attr_count;
    h->node_attr_find = gv_attr_find;
    h->attr_name = gv_attr_name;
    h->attr_type = gv_attr_type;
    h->attr_int = gv_attr_int;
    h->attr_float = gv_attr_float;
    h->attr_string = gv_attr_string;
    h->attr_ints = gv_attr_ints;
    h->attr_floats = gv_attr_floats;
    h->attr_strings_count = gv_attr_strings_count;
    h->attr_strings_item = gv_attr_strings_item;
    h->attr_tensor = gv_attr_tensor;
    h->attr_graphs_count = gv_attr_graphs_count;
    h->attr_graph = gv_attr_graph;
}
