/* host_api.c — the host table given to every plugin, and call contexts.
 * Error text from a plugin is copied into the context (never freed across
 * the boundary); with no context it becomes the thread's last error. */
#include "host_api.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void pr_log(const prism_env *env, prism_log_level level, const char *fmt, ...) {
    if (!env || !env->log_fn || level < env->log_level) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    env->log_fn(env->log_user, level, msg);
}

void pr_hc_init(prism_host_context *hc, const prism_env *env, const char *provider) {
    memset(hc, 0, sizeof *hc);
    hc->env = env;
    hc->provider = provider;
    hc->threads = 1;
}

void pr_hc_clear(prism_host_context *hc) {
    free(hc->error);
    hc->error = NULL;
}

prism_status pr_hc_fail(prism_host_context *hc, prism_status st, const char *what) {
    const char *msg = hc->error ? hc->error : prism_last_error_message();
    if (!msg || !*msg) msg = "no message given";
    char *copy = pr_strdup(msg); /* the thread error may be msg itself */
    pr_fail(st, "provider '%s': %s failed (%s): %s", hc->provider ? hc->provider : "?", what, prism_status_name(st),
            copy ? copy : msg);
    free(copy);
    pr_hc_clear(hc);
    return st;
}

static void host_set_error(prism_host_context *hc, const char *message) {
    if (!message) message = "(no message)";
    if (!hc) {
        pr_fail(PRISM_ERR_PROVIDER, "%s", message);
        return;
    }
    char *copy = pr_strdup(message);
    if (!copy) return;
    free(hc->error);
    hc->error = copy;
}

static void host_log(prism_host_context *hc, int32_t level, const char *message) {
    if (!hc || !message) return;
    pr_log(hc->env, (prism_log_level)level, "[%s] %s", hc->provider ? hc->provider : "provider", message);
}

static void *host_mem_alloc(size_t bytes) { return pr_aligned_alloc(bytes); }
static void host_mem_free(void *p) { pr_aligned_free(p); }

static uint32_t host_run_threads(prism_host_context *hc) { return hc && hc->threads ? hc->threads : 1; }

void pr_host_api_init(prism_host_api *h) {
    memset(h, 0, sizeof *h);
    h->struct_size = sizeof *h;
    h->abi_major = PRISM_PROVIDER_ABI_MAJOR;
    h->abi_minor = PRISM_PROVIDER_ABI_MINOR;
    h->set_error = host_set_error;
    h->log = host_log;
    h->mem_alloc = host_mem_alloc;
    h->mem_free = host_mem_free;
    pr_host_api_fill_graph(h);
    h->output_alloc = pr_run_output_alloc;
    h->run_threads = host_run_threads;
}

const char *prism_status_name(prism_status s) {
    switch (s) {
    case PRISM_OK: return "PRISM_OK";
    case PRISM_ERR_INVALID_ARGUMENT: return "PRISM_ERR_INVALID_ARGUMENT";
    case PRISM_ERR_INVALID_MODEL: return "PRISM_ERR_INVALID_MODEL";
    case PRISM_ERR_NOT_SUPPORTED: return "PRISM_ERR_NOT_SUPPORTED";
    case PRISM_ERR_OUT_OF_MEMORY: return "PRISM_ERR_OUT_OF_MEMORY";
    case PRISM_ERR_IO: return "PRISM_ERR_IO";
    case PRISM_ERR_PROVIDER: return "PRISM_ERR_PROVIDER";
    case PRISM_ERR_ABI_MISMATCH: return "PRISM_ERR_ABI_MISMATCH";
    case PRISM_ERR_NOT_FOUND: return "PRISM_ERR_NOT_FOUND";
    case PRISM_ERR_RUNTIME: return "PRISM_ERR_RUNTIME";
    case PRISM_ERR_INTERNAL: return "PRISM_ERR_INTERNAL";
    }
    return "PRISM_ERR_UNKNOWN";
}

const char *prism_version_string(void) { return "0.1.0"; }
