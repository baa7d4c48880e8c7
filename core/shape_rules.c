/* shape_rules.c — the static inference rule table (see shape_rules.h). */
#include "shape_rules.h"

#include <stdlib.h>
#include <string.h>

pr_value *pr_in(pr_graph *g, const pr_node *n, uint32_t k) {
    return k < n->n_inputs && n->inputs[k] != PRISM_NO_VALUE ? &g->values[n->inputs[k]] : NULL;
}
pr_value *pr_out(pr_graph *g, const pr_node *n, uint32_t k) {
    return k < n->n_outputs && n->outputs[k] != PRISM_NO_VALUE ? &g->values[n->outputs[k]] : NULL;
}

prism_status pr_set_out(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        char *const *dim_params) {
    pr_value *v = pr_out(g, n, k);
    if (!v) return PRISM_OK;
    if (!v->dtype && dtype) v->dtype = dtype;
    if (v->rank >= 0 || rank < 0) return PRISM_OK;
    if (rank > 64) return pr_fail(PRISM_ERR_INVALID_MODEL, "inferred rank %d is absurd", rank);
    v->dims = calloc((size_t)rank + 1, sizeof(int64_t));
    v->dim_params = calloc((size_t)rank + 1, sizeof(char *));
    if (!v->dims || !v->dim_params) {
        free(v->dims);
        free(v->dim_params);
        v->dims = NULL;
        v->dim_params = NULL;
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    v->rank = rank;
    for (int32_t d = 0; d < rank; d++) {
        v->dims[d] = dims ? dims[d] : -1;
        if (dim_params && dim_params[d] && v->dims[d] < 0) v->dim_params[d] = pr_strdup(dim_params[d]);
    }
    return PRISM_OK;
}

/* Output 0 has input 0's type and shape. */
static prism_status same_as_input(pr_graph *g, pr_node *n) {
    pr_value *a = pr_in(g, n, 0);
    if (!a) return PRISM_OK;
    return pr_set_out(g, n, 0, a->dtype, a->rank, a->dims, a->dim_params);
}

static const pr_shape_rule pr_rules[] = {
    {"", "Relu", same_as_input},
    {"", "Identity", same_as_input},
};

const pr_shape_rule *pr_shape_rule_find(const char *domain, const char *op_type) {
    for (size_t i = 0; i < sizeof pr_rules / sizeof pr_rules[0]; i++)
        if (!strcmp(pr_rules[i].domain, domain) && !strcmp(pr_rules[i].op_type, op_type)) return &pr_rules[i];
    return NULL;
}
