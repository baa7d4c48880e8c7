/* ir.c — graph containers, topological sort, lookups. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

pr_graph *pr_graph_new(void) { return calloc(1, sizeof(pr_graph)); }

void pr_attr_clear(pr_attr *a) {
    free(a->name);
    free(a->s);
    free(a->ints);
    free(a->floats);
    if (a->strings)
        for (size_t i = 0; i < a->count; i++) free(a->strings[i]);
    free(a->strings);
    free(a->string_lens);
    if (a->tensors) {
        size_t n = a->type == PRISM_ATTR_TENSOR ? 1 : a->count;
        for (size_t i = 0; i < n; i++) pr_const_clear(&a->tensors[i]);
        free(a->tensors);
    }
    if (a->graphs) {
        size_t n = a->type == PRISM_ATTR_GRAPH ? 1 : a->count;
        for (size_t i = 0; i < n; i++) pr_graph_free(a->graphs[i]);
        free(a->graphs);
    }
    memset(a, 0, sizeof *a);
}

void pr_node_clear(pr_node *n) {
    free(n->name);
    free(n->op_type);
    free(n->domain);
    free(n->inputs);
    free(n->outputs);
    free(n->implicit);
    for (uint32_t i = 0; i < n->n_attrs; i++) pr_attr_clear(&n->attrs[i]);
    free(n->attrs);
    memset(n, 0, sizeof *n);
}

void pr_graph_free(pr_graph *g) {
    if (!g) return;
    for (size_t i = 0; i < g->n_nodes; i++) pr_node_clear(&g->nodes[i]);
    free(g->nodes);
    for (size_t i = 0; i < g->n_values; i++) {
        pr_value *v = &g->values[i];
        if (v->dim_params)
            for (int32_t d = 0; d < v->rank; d++) free(v->dim_params[d]);
        free(v->dim_params);
        free(v->dims);
        if (v->constant) {
            pr_const_clear(v->constant);
            free(v->constant);
        }
        free(v->name);
    }
    free(g->values);
    free(g->inputs);
    free(g->outputs);
    free(g->name);
    pr_strmap_free(&g->names);
    free(g);
}

void pr_model_free(pr_model *m) {
    if (!m) return;
    pr_graph_free(m->graph);
    for (size_t i = 0; i < m->n_opsets; i++) free(m->opsets[i].domain);
    free(m->opsets);
    free(m->producer);
    free(m->base_dir);
    free(m);
}

bool pr_graph_find(const pr_graph *g, const char *name, uint32_t *out) { return pr_strmap_get(&g->names, name, out); }

uint32_t pr_graph_value(pr_graph *g, const char *name, bool *created) {
    uint32_t id;
    if (created) *created = false;
    if (pr_strmap_get(&g->names, name, &id)) return id;
    if (!pr_grow((void **)&g->values, &g->cap_values, g->n_values + 1, sizeof *g->values)) return PRISM_NO_VALUE;
    pr_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = pr_strdup(name);
    v->rank = -1;
    v->producer = -1;
    if (!v->name) return PRISM_NO_VALUE;
    id = (uint32_t)g->n_values;
    /* Keys point into the values array's strings, which never move. */
    if (!pr_strmap_put(&g->names, v->name, id)) {
        free(v->name);
        v->name = NULL;
        return PRISM_NO_VALUE;
    }
    g->n_values++;
    if (created) *created = true;
    return id;
}

bool pr_graph_add_node(pr_graph *g, pr_node *node) {
    if (!pr_grow((void **)&g->nodes, &g->cap_nodes, g->n_nodes + 1, sizeof *g->nodes)) return false;
    g->nodes[g->n_nodes++] = *node;
    memset(node, 0, sizeof *node);
    return true;
}

const pr_attr *pr_node_attr(const pr_node *n, const char *name) {
    for (uint32_t i = 0; i < n->n_attrs; i++)
        if (n->attrs[i].name && !strcmp(n->attrs[i].name, name)) return &n->attrs[i];
    return NULL;
}

prism_status pr_value_info_out(const pr_value *v, prism_value_info *info) {
    if (info->struct_size < sizeof *info)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "prism_value_info.struct_size must be set to sizeof(prism_value_info)");
    info->struct_size = sizeof *info;
    info->name = v->name;
    info->dtype = (prism_dtype)v->dtype;
    info->rank = v->rank;
    info->dims = v->dims;
    info->dim_params = (const char *const *)v->dim_params;
    return PRISM_OK;
}

int64_t pr_graph_opset(const pr_graph *g, const char *domain) {
    for (size_t i = 0; i < g->n_opsets; i++)
        if (!strcmp(g->opsets[i].domain, domain)) return g->opsets[i].version;
    return -1;
}

/* Dependency k of a node: its inputs, then its implicit inputs. */
static uint32_t pr_node_dep(const pr_node *n, uint32_t k) {
    return k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
}

static const char *pr_node_label(const pr_node *n) { return n->name && *n->name ? n->name : n->op_type; }

prism_status pr_graph_toposort(pr_graph *g) {
    size_t nn = g->n_nodes, nv = g->n_values;
    for (size_t v = 0; v < nv; v++) g->values[v].producer = -1;
    for (size_t i = 0; i < nn; i++) {
        pr_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->n_outputs; k++) {
            uint32_t v = n->outputs[k];
            if (v == PRISM_NO_VALUE) continue;
            pr_value *val = &g->values[v];
            if (val->producer >= 0 || val->constant || val->is_graph_input)
                return pr_fail(PRISM_ERR_INVALID_MODEL,
                               "value '%s' is produced twice (again by node '%s' (%s)): graphs must be in SSA form",
                               val->name, pr_node_label(n), n->op_type);
            val->producer = (int32_t)i;
        }
    }
    /* Kahn's algorithm; the ready queue is a min-heap-free scan in file order,
     * which keeps an already sorted graph unchanged. */
    uint32_t *pending = calloc(nn ? nn : 1, sizeof *pending);
    uint32_t *order = malloc((nn ? nn : 1) * sizeof *order);
    size_t *uses_off = calloc(nv + 1, sizeof *uses_off);
    uint32_t *uses = NULL;
    prism_status st = PRISM_OK;
    if (!pending || !order || !uses_off) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    size_t total = 0;
    for (size_t i = 0; i < nn; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_inputs + g->nodes[i].n_implicit; k++) {
            uint32_t v = pr_node_dep(&g->nodes[i], k);
            if (v != PRISM_NO_VALUE && g->values[v].producer >= 0) {
                uses_off[v + 1]++;
                pending[i]++;
                total++;
            }
        }
    for (size_t v = 0; v < nv; v++) uses_off[v + 1] += uses_off[v];
    uses = malloc((total ? total : 1) * sizeof *uses);
    size_t *fill = calloc(nv + 1, sizeof *fill);
    if (!uses || !fill) {
        free(fill);
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nn; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_inputs + g->nodes[i].n_implicit; k++) {
            uint32_t v = pr_node_dep(&g->nodes[i], k);
            if (v != PRISM_NO_VALUE && g->values[v].producer >= 0) uses[uses_off[v] + fill[v]++] = (uint32_t)i;
        }
    free(fill);
    size_t head = 0, tail = 0;
    for (size_t i = 0; i < nn; i++)
        if (!pending[i]) order[tail++] = (uint32_t)i;
    while (head < tail) {
        uint32_t i = order[head++];
        pr_node *n = &g->nodes[i];
        for (uint32_t k = 0; k < n->n_outputs; k++) {
            uint32_t v = n->outputs[k];
            if (v == PRISM_NO_VALUE) continue;
            for (size_t u = uses_off[v]; u < uses_off[v + 1]; u++)
                if (--pending[uses[u]] == 0) order[tail++] = uses[u];
        }
    }
    if (tail != nn) {
        for (size_t i = 0; i < nn; i++)
            if (pending[i]) {
                st = pr_fail(PRISM_ERR_INVALID_MODEL, "the graph has a cycle through node '%s' (%s)",
                             pr_node_label(&g->nodes[i]), g->nodes[i].op_type);
                break;
            }
        goto done;
    }
    pr_node *sorted = malloc((nn ? nn : 1) * sizeof *sorted);
    if (!sorted) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < nn; i++) sorted[i] = g->nodes[order[i]];
    free(g->nodes);
    g->nodes = sorted;
    g->cap_nodes = nn;
    for (size_t i = 0; i < nn; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] != PRISM_NO_VALUE) g->values[g->nodes[i].outputs[k]].producer = (int32_t)i;
done:
    free(pending);
    free(order);
    free(uses_off);
    free(uses);
    return st;
}
