/*
 * env.c — environments and provider plugins: search, dlopen, ABI
 * negotiation, validation of the plugin's table. Every failure leaves the
 * env usable; a provider is unloaded only when the env is destroyed, after
 * every session (and so every instance) made from it is gone.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host_api.h"
#include "util.h"

#ifndef PRISM_INSTALL_PROVIDER_DIR
#define PRISM_INSTALL_PROVIDER_DIR "/usr/local/lib/prism"
#endif

prism_status prism_env_create(prism_env **out_env) {
    if (!out_env) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "env_create: NULL output pointer");
    prism_env *env = calloc(1, sizeof *env);
    if (!env) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    env->log_level = PRISM_LOG_WARNING;
    pr_host_api_init(&env->host);
    if (pthread_mutex_init(&env->lock, NULL) != 0) {
        free(env);
        return pr_fail(PRISM_ERR_INTERNAL, "cannot create a mutex");
    }
    *out_env = env;
    return PRISM_OK;
}

static void pr_provider_unload(pr_provider *pv) {
    if (!pv) return;
    if (pv->api && pv->p && pv->api->destroy) pv->api->destroy(pv->p);
    if (pv->dl) dlclose(pv->dl);
    free(pv->devices);
    free(pv->name);
    free(pv->path);
    free(pv->version);
    free(pv->reason);
    free(pv);
}

static void env_free(prism_env *env) {
    for (size_t i = 0; i < env->n_providers; i++) pr_provider_unload(env->providers[i]);
    free(env->providers);
    pthread_mutex_destroy(&env->lock);
    free(env);
}

/* Providers must outlive every instance and compiled unit they made, so an
 * env destroyed while sessions live is only marked; the last session frees
 * it. */
void prism_env_destroy(prism_env *env) {
    if (!env) return;
    pthread_mutex_lock(&env->lock);
    bool later = env->live_sessions > 0;
    env->destroyed = true;
    pthread_mutex_unlock(&env->lock);
    if (!later) env_free(env);
}

void pr_env_retain(prism_env *env) {
    pthread_mutex_lock(&env->lock);
    env->live_sessions++;
    pthread_mutex_unlock(&env->lock);
}

void pr_env_release(prism_env *env) {
    pthread_mutex_lock(&env->lock);
    bool last = --env->live_sessions == 0 && env->destroyed;
    pthread_mutex_unlock(&env->lock);
    if (last) env_free(env);
}

void prism_env_set_logger(prism_env *env, prism_log_fn fn, void *user_data, prism_log_level min_level) {
    if (!env) return;
    env->log_fn = fn;
    env->log_user = user_data;
    env->log_level = min_level;
}

/* The folder holding libprism itself: providers built or installed next to
 * it are found without any configuration. */
static char *pr_self_dir(void) {
    Dl_info info;
    if (!dladdr((void *)pr_self_dir, &info) || !info.dli_fname) return NULL;
    char *copy = pr_strdup(info.dli_fname);
    if (!copy) return NULL;
    char *slash = strrchr(copy, '/');
    if (!slash) {
        free(copy);
        return NULL;
    }
    *slash = '\0';
    return copy;
}

static bool pr_valid_provider_name(const char *name) {
    if (!*name || strlen(name) > 64) return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')) return false;
    return true;
}

/* Every folder searched, in order, as one ':'-separated string (for error
 * messages and for prism_env_load_all_providers). */
static char *pr_search_path(void) {
    const char *envp = getenv("PRISM_PROVIDER_PATH");
    char *self = pr_self_dir();
    char *s = pr_asprintf("%s%s%s%s%s%s%s", envp && *envp ? envp : "", envp && *envp ? ":" : "", self ? self : "",
                          self ? ":" : "", self ? self : "", self ? "/prism:" : "", PRISM_INSTALL_PROVIDER_DIR);
    free(self);
    return s;
}

static prism_status pr_find_library(const char *name, char **out_path) {
    if (!pr_valid_provider_name(name))
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT,
                       "'%s' is not a valid provider name (letters, digits, '_' and '-' only; or give a path with '/')",
                       name);
    char *path = pr_search_path();
    if (!path) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *file = pr_asprintf("%s/libprism_provider_%s.so", dir, name);
        if (file && access(file, R_OK) == 0) {
            free(path);
            *out_path = file;
            return PRISM_OK;
        }
        free(file);
    }
    free(path);
    char *shown = pr_search_path();
    prism_status st = pr_fail(PRISM_ERR_NOT_FOUND,
                              "provider '%s' not found: no libprism_provider_%s.so in PRISM_PROVIDER_PATH, next to "
                              "libprism or in the install folder (searched: %s)",
                              name, name, shown ? shown : "?");
    free(shown);
    return st;
}

static const char *pr_missing_member(const prism_provider_api *a) {
    if (!a->name || !*a->name) return "name";
    if (!a->destroy) return "destroy";
    if (!a->device_count) return "device_count";
    if (!a->device_info) return "device_info";
    if (!a->instance_create) return "instance_create";
    if (!a->instance_destroy) return "instance_destroy";
    if (!a->get_capability) return "get_capability";
    if (!a->compile) return "compile";
    if (!a->compiled_destroy) return "compiled_destroy";
    if (!a->run) return "run";
    return NULL;
}

static prism_status pr_load_library(prism_env *env, const char *path, pr_provider **out) {
    pr_clear_error();
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl) {
        const char *e = dlerror();
        return pr_fail(PRISM_ERR_PROVIDER, "cannot load provider library '%s': %s", path, e ? e : "unknown error");
    }
    prism_status st = PRISM_OK;
    pr_provider *pv = calloc(1, sizeof *pv);
    if (!pv) {
        dlclose(dl);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    pv->dl = dl;
    pv->path = pr_strdup(path);
    if (!pv->path) {
        pr_provider_unload(pv);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    prism_provider_probe_fn probe = (prism_provider_probe_fn)(uintptr_t)dlsym(dl, PRISM_PROVIDER_PROBE_SYMBOL);
    if (probe) {
        uint32_t v = probe();
        if (PRISM_ABI_MAJOR_OF(v) != PRISM_PROVIDER_ABI_MAJOR) {
            st = pr_fail(PRISM_ERR_ABI_MISMATCH,
                         "provider library '%s' was built for provider ABI %u.%u; this Prism speaks ABI %u.%u", path,
                         PRISM_ABI_MAJOR_OF(v), PRISM_ABI_MINOR_OF(v), PRISM_PROVIDER_ABI_MAJOR,
                         PRISM_PROVIDER_ABI_MINOR);
            goto fail;
        }
    }
    prism_provider_init_fn init = (prism_provider_init_fn)(uintptr_t)dlsym(dl, PRISM_PROVIDER_INIT_SYMBOL);
    if (!init) {
        st = pr_fail(PRISM_ERR_PROVIDER, "'%s' is not a Prism provider: it does not export %s", path,
                     PRISM_PROVIDER_INIT_SYMBOL);
        goto fail;
    }
    pr_clear_error();
    st = init(&env->host, PRISM_PROVIDER_ABI_VERSION, &pv->p, &pv->api);
    if (st) {
        char *msg = pr_strdup(prism_last_error_message());
        if (st == PRISM_ERR_ABI_MISMATCH)
            st = pr_fail(PRISM_ERR_ABI_MISMATCH, "provider '%s' refused host ABI %u.%u: %s", path,
                         PRISM_PROVIDER_ABI_MAJOR, PRISM_PROVIDER_ABI_MINOR, msg && *msg ? msg : "no message");
        else
            st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s' failed to initialise (%s): %s", path, prism_status_name(st),
                         msg && *msg ? msg : "no message");
        free(msg);
        pv->p = NULL;
        pv->api = NULL;
        goto fail;
    }
    const prism_provider_api *a = pv->api;
    if (!a) {
        st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s' initialised but returned no function table", path);
        goto fail;
    }
    if (a->abi_major != PRISM_PROVIDER_ABI_MAJOR) {
        st = pr_fail(PRISM_ERR_ABI_MISMATCH, "provider '%s' speaks provider ABI %u.%u; this Prism speaks ABI %u.%u",
                     path, a->abi_major, a->abi_minor, PRISM_PROVIDER_ABI_MAJOR, PRISM_PROVIDER_ABI_MINOR);
        goto fail_table;
    }
    if (a->struct_size < PRISM_PROVIDER_API_V1_SIZE) {
        st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s': its function table is %u bytes, smaller than ABI 1.0's %zu",
                     path, a->struct_size, (size_t)PRISM_PROVIDER_API_V1_SIZE);
        goto fail_table;
    }
    const char *missing = pr_missing_member(a);
    if (missing) {
        st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s': required function table member '%s' is missing (NULL)", path,
                     missing);
        goto fail_table;
    }
    pv->name = pr_strdup(a->name);
    pv->version = pr_strdup(a->version ? a->version : "");
    pv->n_devices = a->device_count(pv->p);
    if (pv->n_devices > 4096) pv->n_devices = 4096; /* a plugin may lie; enumerate what is plausible */
    pv->devices = calloc(pv->n_devices + 1, sizeof *pv->devices);
    if (!pv->name || !pv->version || !pv->devices) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail_table;
    }
    for (uint32_t d = 0; d < pv->n_devices; d++) {
        pv->devices[d].struct_size = sizeof pv->devices[d];
        if (a->device_info(pv->p, d, &pv->devices[d]) != PRISM_OK) {
            st = pr_fail(PRISM_ERR_PROVIDER, "provider '%s': device_info(%u) failed", pv->name, d);
            goto fail_table;
        }
    }
    if (!pv->n_devices) {
        const char *why = a->reason ? a->reason(pv->p) : NULL;
        pv->reason = pr_strdup(why && *why ? why : "the provider reported no device");
        pr_log(env, PRISM_LOG_INFO, "provider '%s' has no device: %s", pv->name, pv->reason ? pv->reason : "");
    }
    *out = pv;
    return PRISM_OK;
fail_table:
    /* Only a table of our major version, large enough to hold destroy, has
     * destroy where we look for it: the provider object of any other table is
     * abandoned rather than calling a pointer of unknown meaning. */
    if (a && a->abi_major == PRISM_PROVIDER_ABI_MAJOR &&
        a->struct_size >= offsetof(prism_provider_api, destroy) + sizeof a->destroy && a->destroy)
        a->destroy(pv->p);
    pv->p = NULL;
    pv->api = NULL;
fail:
    pr_provider_unload(pv);
    return st;
}

prism_status pr_env_provider(prism_env *env, const char *name_or_path, pr_provider **out) {
    if (!env || !name_or_path) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL env or provider name");
    bool is_path = strchr(name_or_path, '/') != NULL;
    pthread_mutex_lock(&env->lock);
    for (size_t i = 0; i < env->n_providers; i++) {
        pr_provider *pv = env->providers[i];
        if (!strcmp(is_path ? pv->path : pv->name, name_or_path)) {
            pthread_mutex_unlock(&env->lock);
            *out = pv;
            return PRISM_OK;
        }
    }
    char *path = NULL;
    prism_status st = is_path ? ((path = pr_strdup(name_or_path)) ? PRISM_OK : PRISM_ERR_OUT_OF_MEMORY)
                              : pr_find_library(name_or_path, &path);
    pr_provider *pv = NULL;
    if (!st) st = pr_load_library(env, path, &pv);
    free(path);
    if (!st) {
        /* Two libraries may claim one name: the first loaded keeps it. */
        for (size_t i = 0; i < env->n_providers; i++)
            if (!strcmp(env->providers[i]->name, pv->name)) {
                pr_log(env, PRISM_LOG_WARNING, "provider '%s' from '%s' is already loaded from '%s'; using that one",
                       pv->name, pv->path, env->providers[i]->path);
                pr_provider *keep = env->providers[i];
                pr_provider_unload(pv);
                pthread_mutex_unlock(&env->lock);
                *out = keep;
                return PRISM_OK;
            }
        if (!pr_grow((void **)&env->providers, &env->cap_providers, env->n_providers + 1, sizeof(pr_provider *))) {
            pr_provider_unload(pv);
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            env->providers[env->n_providers++] = pv;
            pr_log(env, PRISM_LOG_INFO, "loaded provider '%s' %s from %s (%u devices)", pv->name, pv->version, pv->path,
                   pv->n_devices);
        }
    }
    pthread_mutex_unlock(&env->lock);
    if (!st) *out = pv;
    return st;
}

prism_status prism_env_load_provider(prism_env *env, const char *name_or_path) {
    pr_provider *pv;
    return pr_env_provider(env, name_or_path, &pv);
}

prism_status prism_env_load_all_providers(prism_env *env) {
    if (!env) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL env");
    char *path = pr_search_path();
    if (!path) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (char *save = NULL, *dir = strtok_r(path, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        DIR *d = opendir(dir);
        if (!d) continue;
        struct dirent *e;
        while ((e = readdir(d))) {
            const char *n = e->d_name;
            size_t len = strlen(n);
            if (strncmp(n, "libprism_provider_", 18) != 0 || len < 22 || strcmp(n + len - 3, ".so") != 0) continue;
            char *name = pr_strndup(n + 18, len - 21);
            if (!name) continue;
            pr_provider *pv;
            if (pr_env_provider(env, name, &pv) != PRISM_OK)
                pr_log(env, PRISM_LOG_WARNING, "skipping provider '%s': %s", name, prism_last_error_message());
            free(name);
        }
        closedir(d);
    }
    free(path);
    pr_clear_error();
    return PRISM_OK;
}

static pr_provider *pr_env_at(const prism_env *env, size_t i) {
    return env && i < env->n_providers ? env->providers[i] : NULL;
}
size_t prism_env_provider_count(const prism_env *env) { return env ? env->n_providers : 0; }
const char *prism_env_provider_name(const prism_env *env, size_t i) {
    pr_provider *p = pr_env_at(env, i);
    return p ? p->name : NULL;
}
const char *prism_env_provider_version(const prism_env *env, size_t i) {
    pr_provider *p = pr_env_at(env, i);
    return p ? p->version : NULL;
}
const char *prism_env_provider_path(const prism_env *env, size_t i) {
    pr_provider *p = pr_env_at(env, i);
    return p ? p->path : NULL;
}
const char *prism_env_provider_reason(const prism_env *env, size_t i) {
    pr_provider *p = pr_env_at(env, i);
    return p && p->reason ? p->reason : "";
}
size_t prism_env_device_count(const prism_env *env, size_t i) {
    pr_provider *p = pr_env_at(env, i);
    return p ? p->n_devices : 0;
}
prism_status prism_env_device(const prism_env *env, size_t pi, size_t di, prism_device_desc *desc) {
    pr_provider *p = pr_env_at(env, pi);
    if (!p || di >= p->n_devices) return pr_fail(PRISM_ERR_NOT_FOUND, "no device %zu of provider %zu", di, pi);
    if (!desc || desc->struct_size < sizeof *desc)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "device desc: struct_size must be set to sizeof(prism_device_desc)");
    const prism_device_info *d = &p->devices[di];
    desc->type = (prism_device_type)d->type;
    desc->name = d->name ? d->name : "";
    desc->vendor = d->vendor ? d->vendor : "";
    desc->memory_bytes = d->memory_bytes;
    desc->properties = d->properties;
    return PRISM_OK;
}
