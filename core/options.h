/* options.h — session options (see prism.h). */
#ifndef PRISM_CORE_OPTIONS_H
#define PRISM_CORE_OPTIONS_H

#include "prism/prism.h"

typedef struct pr_provider_opt {
    char *provider, *key, *value;
} pr_provider_opt;

struct prism_session_options {
    char **providers; /* ordered names */
    size_t n_providers;
    uint32_t threads; /* 0 = one per core */
    pr_provider_opt *popts;
    size_t n_popts, cap_popts;
};

#endif
