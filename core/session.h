/* session.h — the core's view of a session: the provider instances it
 * uses, the partition plan, compiled subgraphs and the report. A session is
 * immutable after creation, so concurrent runs share it without locks. */
#ifndef PRISM_CORE_SESSION_H
#define PRISM_CORE_SESSION_H

#include "host_api.h"
#include "ir.h"
#include "partition.h"

typedef struct pr_inst {
    pr_provider *pv;
    uint32_t device;
    prism_instance *inst;
    bool device_memory; /* PRISM_MEMORY_DEVICE: data pointers are buffer handles */
    bool listed;        /* asked for by the user (false: last-resort CPU) */
    int32_t space;      /* 0 = host memory */
} pr_inst;

struct prism_session {
    prism_env *env;
    pr_model *model;
    pr_graph *g;
    uint32_t threads;
    prism_policy policy;
    pr_inst *insts; /* in preference order; the plan's candidates index these */
    size_t n_insts, cap_insts;
    size_t n_spaces;
    pr_plan plan;
    prism_compiled **compiled; /* per subgraph */
    /* Per step: the (value, space) slots whose last reader it is. */
    size_t *free_off;
    uint32_t *free_slot; /* value * n_spaces + space */
    char *report_text, *report_json, *report_dot;
};

/* Build the three report formats (session_report.c). */
prism_status pr_session_build_report(prism_session *s);
/* Work out when each slot can be released (session_run.c). */
prism_status pr_session_plan_lifetimes(prism_session *s);

#endif
