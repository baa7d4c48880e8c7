/* options.h — session options (see prism.h) and their effective form after
 * the PRISM_* environment variables are applied. */
#ifndef PRISM_CORE_OPTIONS_H
#define PRISM_CORE_OPTIONS_H

#include <stdbool.h>

#include "prism/prism.h"

typedef struct pr_provider_opt {
    char *provider, *key, *value;
} pr_provider_opt;

/* key is a node name or an op type. */
typedef struct pr_affinity {
    char *key, *provider;
} pr_affinity;

/* A value for a symbolic dimension of the graph inputs. */
typedef struct pr_dim_value {
    char *name;
    int64_t value;
} pr_dim_value;

struct prism_session_options {
    char **providers; /* ordered names or paths */
    size_t n_providers;
    uint32_t threads; /* 0 = one per core */
    pr_provider_opt *popts;
    size_t n_popts, cap_popts;
    prism_policy policy;
    pr_affinity *affinity;
    size_t n_affinity, cap_affinity;
    pr_dim_value *dims;
    size_t n_dims, cap_dims;
    uint32_t min_subgraph; /* >= 1 */
    bool fallback;
    bool use_env;
};

/* A copy of o (or of the defaults when o is NULL) with the environment
 * variables applied when o allows it. Fails naming a variable whose value is
 * invalid. */
prism_status pr_options_effective(const prism_session_options *o, prism_session_options **out);

#endif
