/* shape_rules.h — per-op static type/shape inference rules (one table row
 * per op in shape_rules.c). A rule fills what it can about a node's outputs
 * and leaves the rest unknown; it fails only on a model that is provably
 * inconsistent (e.g. Add of [2,3] and [4,5]). */
#ifndef PRISM_CORE_SHAPE_RULES_H
#define PRISM_CORE_SHAPE_RULES_H

#include "ir.h"

typedef struct pr_shape_rule {
    const char *domain;
    const char *op_type;
    prism_status (*infer)(pr_graph *g, pr_node *n);
} pr_shape_rule;

const pr_shape_rule *pr_shape_rule_find(const char *domain, const char *op_type);

/* Helpers for rules. */
/* Input k's value, or NULL when omitted / absent. */
pr_value *pr_in(pr_graph *g, const pr_node *n, uint32_t k);
pr_value *pr_out(pr_graph *g, const pr_node *n, uint32_t k);
/* Set an output's type: dtype (0 keeps), rank (-1 = unknown) and dims
 * (-1 entries unknown; dim_params may be NULL). Never overrides a dtype or
 * shape the model declared. */
prism_status pr_set_out(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        char *const *dim_params);

#endif
