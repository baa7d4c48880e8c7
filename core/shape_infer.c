/*
 * shape_infer.c — static type and shape inference. Fills dtype/rank/dims of
 * values the model leaves undeclared, so providers can judge capability and
 * plan memory before any run. Symbolic dims stay -1 (named where known);
 * concrete shapes are always recomputed by the kernels at run time, so an
 * op without a rule here still runs — it only shows fewer facts in the view.
 *
 * One topological walk does two things per node: first it tries to fold the
 * node (small shape arithmetic on static shapes and constants becomes a
 * constant, fold_shapes.c), and if that is not possible it runs the node's
 * inference rule (shape_rules.c). Folding first means the rules downstream
 * see the folded constants (Reshape's shape, Expand's shape ...). Folded
 * nodes are dropped at the end of the walk.
 */
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "shape_rules.h"

prism_status pr_infer_shapes(pr_graph *g) {
    bool *dead = calloc(g->n_nodes + 1, sizeof *dead);
    if (!dead) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    size_t n_dead = 0;
    prism_status st = PRISM_OK;
    for (size_t i = 0; i < g->n_nodes && !st; i++) {
        pr_node *n = &g->nodes[i];
        bool folded = false;
        st = pr_fold_node(g, n, &folded);
        if (!st && !folded) st = pr_infer_node(g, n);
        if (st) {
            pr_fail_context(st, "shape inference of node '%s' (%s, opset %lld)", n->name, n->op_type,
                            (long long)n->opset);
            break;
        }
        dead[i] = folded;
        n_dead += folded;
    }
    if (!st && n_dead) st = pr_fold_remove(g, dead);
    free(dead);
    return st;
}
