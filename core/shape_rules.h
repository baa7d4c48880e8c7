/* shape_rules.h — per-op static type/shape inference rules (one table row
 * per op in shape_rules.c) and the folding of small shape arithmetic
 * (fold_shapes.c). A rule fills what it can about a node's outputs and leaves
 * the rest unknown; it fails only on a model that is provably inconsistent
 * (e.g. Add of [2,3] and [4,5]). */
#ifndef PRISM_CORE_SHAPE_RULES_H
#define PRISM_CORE_SHAPE_RULES_H

#include "ir.h"

typedef struct pr_shape_rule {
    const char *domain;
    const char *op_type;
    prism_status (*infer)(pr_graph *g, pr_node *n);
} pr_shape_rule;

const pr_shape_rule *pr_shape_rule_find(const char *domain, const char *op_type);
/* Number of rows in the rule table (for reports and tests). */
size_t pr_shape_rule_count(void);
/* Run the rule of one node, if its op has one. */
prism_status pr_infer_node(pr_graph *g, pr_node *n);

/* Helpers for rules. */
/* Input k's value, or NULL when omitted / absent. */
pr_value *pr_in(pr_graph *g, const pr_node *n, uint32_t k);
pr_value *pr_out(pr_graph *g, const pr_node *n, uint32_t k);
/* Set an output's type: dtype (0 keeps), rank (-1 = unknown) and dims
 * (-1 entries unknown; dim_params may be NULL). Never overrides a dtype or
 * shape the model declared; where the model declared the same rank with
 * some dims unknown, the inferred dims fill those in. */
prism_status pr_set_out(pr_graph *g, const pr_node *n, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        char *const *dim_params);
/* The dtype a Cast node converts to ("to" is an INT, or a STRING such as
 * "FLOAT" in opset 1-5); 0 when unknown. */
int32_t pr_cast_target(const pr_node *n);

/* ---- folding of shape arithmetic (fold_shapes.c) ----
 * Most elements a folded value may have. */
#define PR_FOLD_MAX_ELEMENTS 64
/* Try to compute node n's outputs statically: Shape/Size of a value whose
 * (needed) dims are all concrete, or a small op (Gather, Concat, Unsqueeze,
 * Slice, Cast, Add, ...) whose inputs are all small constants. On success
 * every output of n becomes a constant owned by its value (producer -1) and
 * *folded is true; n itself is left in place for the caller to drop. Never
 * folds what depends on a graph input's runtime value or a symbolic dim. */
prism_status pr_fold_node(pr_graph *g, pr_node *n, bool *folded);
/* Drop the nodes with dead[i] set (their outputs are constants now):
 * compacts g->nodes and renumbers value producers. */
prism_status pr_fold_remove(pr_graph *g, const bool *dead);
/* A folding-only pass over the graph (uses the shapes already known): one
 * topological walk of pr_fold_node, then the folded nodes are removed.
 * pr_infer_shapes runs the same folding interleaved with inference. */
prism_status pr_fold_shape_arith(pr_graph *g);

#endif
