/* host_api.h — the core's side of the provider ABI: the host table, call
 * contexts, and loaded providers. */
#ifndef PRISM_CORE_HOST_API_H
#define PRISM_CORE_HOST_API_H

#include <pthread.h>
#include <stdbool.h>

#include "prism/prism.h"
#include "prism/provider.h"

typedef struct pr_run pr_run;

/* One loaded provider library. */
typedef struct pr_provider {
    char *name;
    char *path;
    char *version;
    char *reason; /* why it has no devices, or NULL */
    void *dl;
    prism_provider *p;
    const prism_provider_api *api;
    uint32_t n_devices;
    prism_device_info *devices; /* n_devices entries, strings owned by the plugin */
} pr_provider;

struct prism_host_context {
    const prism_env *env;
    const char *provider; /* name, for log prefixes */
    prism_status status;
    char *error; /* copied from set_error */
    /* During run only. */
    pr_run *run;
    size_t part;
    uint32_t threads;
};

struct prism_env {
    prism_log_fn log_fn;
    void *log_user;
    prism_log_level log_level;
    prism_host_api host;
    pthread_mutex_t lock; /* guards providers */
    pr_provider **providers;
    size_t n_providers, cap_providers;
    size_t live_sessions;
    bool destroyed; /* prism_env_destroy was called while sessions lived */
};

void pr_host_api_init(prism_host_api *h);
void pr_host_api_fill_graph(prism_host_api *h);
void pr_log(const prism_env *env, prism_log_level level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Host context helpers. */
void pr_hc_init(prism_host_context *hc, const prism_env *env, const char *provider);
/* Turn a failed plugin call into the thread's error, with context. */
prism_status pr_hc_fail(prism_host_context *hc, prism_status st, const char *what);
void pr_hc_clear(prism_host_context *hc);
/* Find a loaded provider by name, loading it when needed. */
prism_status pr_env_provider(prism_env *env, const char *name_or_path, pr_provider **out);
/* Sessions keep their env (and so its providers) alive. */
void pr_env_retain(prism_env *env);
void pr_env_release(prism_env *env);
/* Run-time output allocation (session_run.c). */
prism_status pr_run_output_alloc(prism_host_context *hc, uint32_t k, int32_t dtype, uint32_t rank, const int64_t *dims,
                                 void **out_data);

#endif
