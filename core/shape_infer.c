/*
 * shape_infer.c — static type and shape inference. Fills dtype/rank/dims of
 * values the model leaves undeclared, so providers can judge capability and
 * plan memory before any run. Symbolic dims stay -1 (named where known);
 * concrete shapes are always recomputed by the kernels at run time, so an
 * op without a rule here still runs — it only shows fewer facts in the view.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "shape_rules.h"

static bool value_known(const pr_value *v) { return v->dtype != 0 && v->rank >= 0; }

prism_status pr_infer_shapes(pr_graph *g) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        pr_node *n = &g->nodes[i];
        bool all_known = true;
        for (uint32_t k = 0; k < n->n_outputs; k++)
            if (n->outputs[k] != PRISM_NO_VALUE && !value_known(&g->values[n->outputs[k]])) all_known = false;
        if (all_known) continue;
        const pr_shape_rule *rule = pr_shape_rule_find(n->domain, n->op_type);
        if (!rule) continue;
        prism_status st = rule->infer(g, n);
        if (st) return pr_fail_context(st, "shape inference of node '%s' (%s)", n->name, n->op_type);
    }
    return PRISM_OK;
}
