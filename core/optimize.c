/* optimize.c — graph rewrites done once at load: Constant nodes become
 * constant values, so providers see them as weights (and a device provider
 * uploads them once) instead of running a node every time. */
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* Build the constant of a Constant node from whichever value_* attribute it
 * carries; returns PRISM_ERR_NOT_SUPPORTED for forms left to the kernel. */
static prism_status constant_from_attrs(const pr_node *n, pr_const *c) {
    memset(c, 0, sizeof *c);
    if (n->n_attrs != 1) return PRISM_ERR_NOT_SUPPORTED;
    const pr_attr *a = &n->attrs[0];
    size_t count = 1, esize;
    const void *src;
    int32_t dtype;
    bool scalar = false;
    if (!strcmp(a->name, "value") && a->type == PRISM_ATTR_TENSOR) {
        const pr_const *t = &a->tensors[0];
        dtype = t->dtype;
        if (dtype == PRISM_DTYPE_STRING) return PRISM_ERR_NOT_SUPPORTED;
        c->rank = t->rank;
        count = (size_t)t->count;
        src = t->data;
    } else if (!strcmp(a->name, "value_float") && a->type == PRISM_ATTR_FLOAT) {
        dtype = PRISM_DTYPE_FLOAT, src = &a->f, scalar = true;
    } else if (!strcmp(a->name, "value_int") && a->type == PRISM_ATTR_INT) {
        dtype = PRISM_DTYPE_INT64, src = &a->i, scalar = true;
    } else if (!strcmp(a->name, "value_floats") && a->type == PRISM_ATTR_FLOATS) {
        dtype = PRISM_DTYPE_FLOAT, src = a->floats, count = a->count, c->rank = 1;
    } else if (!strcmp(a->name, "value_ints") && a->type == PRISM_ATTR_INTS) {
        dtype = PRISM_DTYPE_INT64, src = a->ints, count = a->count, c->rank = 1;
    } else {
        return PRISM_ERR_NOT_SUPPORTED;
    }
    (void)scalar;
    esize = prism_dtype_size((prism_dtype)dtype);
    c->dtype = dtype;
    c->count = (int64_t)count;
    c->bytes = count * esize;
    c->dims = calloc(c->rank + 1, sizeof(int64_t));
    c->data = pr_aligned_alloc(c->bytes);
    if (!c->dims || !c->data) {
        pr_const_clear(c);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (c->rank == 1 && a->type != PRISM_ATTR_TENSOR) c->dims[0] = (int64_t)count;
    else if (c->rank) memcpy(c->dims, a->tensors[0].dims, c->rank * sizeof(int64_t));
    if (c->bytes) memcpy(c->data, src, c->bytes);
    return PRISM_OK;
}

prism_status pr_fold_constants(pr_graph *g) {
    size_t kept = 0;
    for (size_t i = 0; i < g->n_nodes; i++) {
        pr_node *n = &g->nodes[i];
        if (!strcmp(n->op_type, "Constant") && !*n->domain && n->n_outputs == 1 && n->outputs[0] != PRISM_NO_VALUE) {
            pr_const c;
            prism_status st = constant_from_attrs(n, &c);
            if (st == PRISM_OK) {
                pr_value *v = &g->values[n->outputs[0]];
                v->constant = malloc(sizeof *v->constant);
                if (!v->constant) {
                    pr_const_clear(&c);
                    return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                }
                *v->constant = c;
                v->dtype = c.dtype;
                if (v->dim_params)
                    for (int32_t d = 0; d < v->rank; d++) free(v->dim_params[d]);
                free(v->dims);
                free(v->dim_params);
                v->rank = (int32_t)c.rank;
                v->dims = calloc(c.rank + 1, sizeof(int64_t));
                v->dim_params = calloc(c.rank + 1, sizeof(char *));
                if (!v->dims || !v->dim_params) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                if (c.rank) memcpy(v->dims, c.dims, c.rank * sizeof(int64_t));
                v->producer = -1;
                pr_node_clear(n);
                continue;
            }
            if (st != PRISM_ERR_NOT_SUPPORTED) return st;
        }
        g->nodes[kept++] = *n;
    }
    g->n_nodes = kept;
    for (size_t i = 0; i < g->n_nodes; i++)
        for (uint32_t k = 0; k < g->nodes[i].n_outputs; k++)
            if (g->nodes[i].outputs[k] != PRISM_NO_VALUE) g->values[g->nodes[i].outputs[k]].producer = (int32_t)i;
    return PRISM_OK;
}
