/*
 * partition.h — assigning nodes to provider instances, grouping them into
 * subgraphs that form an acyclic graph, and planning the copies between
 * memory spaces. Pure planning: nothing here calls a provider, so the unit
 * tests drive it with made-up capabilities.
 */
#ifndef PRISM_CORE_PARTITION_H
#define PRISM_CORE_PARTITION_H

#include <stdbool.h>
#include <stdint.h>

#include "ir.h"

/* A candidate: one provider instance of the session, as the partitioner
 * sees it. Candidates are given in preference order (rank 0 first). */
typedef struct pr_cand {
    const char *provider; /* name, for reasons and reports */
    uint32_t device;
    int32_t device_type; /* prism_device_type */
    int32_t space;       /* memory space: 0 = host, > 0 = a device's own memory */
    int32_t provider_id; /* equal for instances of one provider library */
    bool direct_copy;    /* the provider copies device to device itself */
    bool listed;         /* the user asked for it (false: last-resort CPU) */
    const uint8_t *claims; /* per node: 1 = can run it */
    const uint32_t *groups; /* per node: non-zero ids to fuse as one unit, or NULL */
    const double *costs;    /* per node: estimated seconds (< 0 unknown), or NULL */
} pr_cand;

typedef struct pr_plan_in {
    const pr_graph *g;
    const pr_cand *cands;
    size_t n_cands;
    prism_policy policy;
    const int32_t *affinity;            /* per node: wanted candidate or -1; NULL = none */
    const char *const *affinity_key;    /* per node: the entry that set it (for reasons), or NULL */
    const char *const *affinity_target; /* per node: the provider asked for (may be absent), or NULL */
    uint32_t min_subgraph;
    bool fallback; /* may nodes run outside the preferences? */
} pr_plan_in;

typedef struct pr_sub {
    int32_t cand;
    uint32_t *nodes, *inputs, *outputs; /* nodes in topological order */
    size_t n_nodes, n_inputs, n_outputs;
} pr_sub;

typedef enum pr_step_kind { PR_STEP_RUN = 0, PR_STEP_COPY = 1 } pr_step_kind;

/* The executor's program: run subgraph `sub`, or copy `value` between two
 * memory spaces (from_cand/to_cand are -1 for host memory). */
typedef struct pr_step {
    pr_step_kind kind;
    size_t sub;
    uint32_t value;
    int32_t from_space, to_space;
    int32_t from_cand, to_cand;
    bool direct;     /* device to device through the provider */
    bool shape_only; /* the readers need only the shape (Shape, Size): no data moves */
    int64_t bytes; /* static size, -1 when known only at run time */
} pr_step;

typedef struct pr_plan {
    size_t n_nodes;
    int32_t *node_cand;    /* per node */
    int32_t *node_sub;     /* per node: index into subs */
    bool *node_fallback;   /* per node */
    char **node_reason;    /* per node, owned */
    pr_sub *subs;          /* in execution order */
    size_t n_subs;
    pr_step *steps;
    size_t n_steps;
    double est_seconds; /* the cost model's estimate of the whole plan */
} pr_plan;

/* Plan the partition. Errors: PRISM_ERR_NOT_SUPPORTED naming every node no
 * candidate can run, or (fallback forbidden) every node that would run
 * outside the preferences, with its op; PRISM_ERR_OUT_OF_MEMORY. On
 * failure *out is left empty. */
prism_status pr_plan_build(const pr_plan_in *in, pr_plan *out);
void pr_plan_free(pr_plan *p);

/* Estimated seconds of a copy of `bytes` bytes between memory spaces (the
 * latency policy's copy model). */
double pr_copy_seconds(int64_t bytes);
/* The core's own estimate for a node when its provider gives none. */
double pr_default_node_seconds(const pr_graph *g, uint32_t node);
/* Whether node n reads value v only for its shape (input 0 of Shape and
 * Size): such a reader in host memory needs no copy of the data. */
bool pr_reads_shape_only(const pr_graph *g, uint32_t n, uint32_t v);
/* The device type a prefer_* policy asks for, -1 for the others. */
int32_t pr_policy_device_type(prism_policy policy);
/* Static byte size of a value (-1 when unknown). */
int64_t pr_value_static_bytes(const pr_value *v);

#endif
