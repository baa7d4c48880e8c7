/* partition_internal.h — state shared by the partitioner's passes
 * (partition.c) and its subgraph/copy planning (partition_plan.c). */
#ifndef PRISM_CORE_PARTITION_INTERNAL_H
#define PRISM_CORE_PARTITION_INTERNAL_H

#include "partition.h"

typedef struct pr_ctx {
    const pr_plan_in *in;
    int32_t *cand;         /* per node: candidate */
    double *default_cost;  /* per node: the core's estimate */
    uint32_t *cons_off, *cons; /* consumers of each value (CSR) */
    size_t n_spaces;
    uint8_t *seen_space;   /* scratch, n_spaces */
    int32_t *space_cand;   /* a candidate of each space */
    uint32_t *unit_next, *unit_head; /* fusion-group chains */
    uint32_t *seg;         /* scratch union-find */
    uint32_t *seg_off, *seg_fill, *members; /* segments' members, contiguous */
    uint32_t *vstamp, stamp; /* values already counted by local_cost */
    bool *fallback;
    char **reason;
    bool oom;
    pr_sub *subs;
    size_t n_subs;
    int32_t *node_sub;
} pr_ctx;

double pr_plan_cost(pr_ctx *c);
void pr_set_reason(pr_ctx *c, uint32_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Group the nodes into connected subgraphs per candidate whose dependency
 * graph is acyclic, in an executable order (replaces c->subs). */
prism_status pr_form_subgraphs(pr_ctx *c);
/* Subgraph inputs/outputs and the run/copy program. */
prism_status pr_plan_steps(pr_ctx *c, pr_plan *out);
void pr_subs_free(pr_sub *subs, size_t n);

#endif
