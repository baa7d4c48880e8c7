/* options.c — session options: plain data. A session works on its own
 * copy (pr_options_effective), so the caller may change or destroy the
 * options right after creating a session, and environment variables never
 * modify the caller's object. */
#include "options.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static void free_providers(prism_session_options *o) {
    for (size_t i = 0; i < o->n_providers; i++) free(o->providers[i]);
    free(o->providers);
    o->providers = NULL;
    o->n_providers = 0;
}

prism_status prism_session_options_create(prism_session_options **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL output pointer");
    prism_session_options *o = calloc(1, sizeof *o);
    if (!o) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    o->min_subgraph = 1;
    o->fallback = true;
    o->use_env = true;
    if (prism_session_options_set_providers(o, "cpu") != PRISM_OK) {
        free(o);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    *out = o;
    return PRISM_OK;
}

void prism_session_options_destroy(prism_session_options *o) {
    if (!o) return;
    free_providers(o);
    for (size_t i = 0; i < o->n_popts; i++) {
        free(o->popts[i].provider);
        free(o->popts[i].key);
        free(o->popts[i].value);
    }
    free(o->popts);
    for (size_t i = 0; i < o->n_affinity; i++) {
        free(o->affinity[i].key);
        free(o->affinity[i].provider);
    }
    free(o->affinity);
    for (size_t i = 0; i < o->n_dims; i++) free(o->dims[i].name);
    free(o->dims);
    free(o);
}

prism_status prism_session_options_set_providers(prism_session_options *o, const char *list) {
    if (!o || !list) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_providers: NULL argument");
    size_t n = 1;
    for (const char *p = list; *p; p++) n += *p == ',';
    char **names = calloc(n, sizeof *names);
    if (!names) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    size_t k = 0;
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        while (len && (*p == ' ' || *p == '\t')) p++, len--;
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t')) len--;
        if (!len) {
            for (size_t i = 0; i < k; i++) free(names[i]);
            free(names);
            return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "provider list '%s' has an empty entry", list);
        }
        if (!(names[k++] = pr_strndup(p, len))) {
            for (size_t i = 0; i < k; i++) free(names[i]);
            free(names);
            return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        if (!e) break;
        p = e + 1;
    }
    free_providers(o);
    o->providers = names;
    o->n_providers = k;
    return PRISM_OK;
}

prism_status prism_session_options_set_threads(prism_session_options *o, uint32_t threads) {
    if (!o) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_threads: NULL options");
    if (threads > 1024) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_threads: %u threads is too many", threads);
    o->threads = threads;
    return PRISM_OK;
}

prism_status prism_session_options_set_provider_option(prism_session_options *o, const char *provider,
                                                       const char *key, const char *value) {
    if (!o || !provider || !key || !value)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_provider_option: NULL argument");
    for (size_t i = 0; i < o->n_popts; i++)
        if (!strcmp(o->popts[i].provider, provider) && !strcmp(o->popts[i].key, key)) {
            char *v = pr_strdup(value);
            if (!v) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            free(o->popts[i].value);
            o->popts[i].value = v;
            return PRISM_OK;
        }
    if (!pr_grow((void **)&o->popts, &o->cap_popts, o->n_popts + 1, sizeof *o->popts))
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    pr_provider_opt *po = &o->popts[o->n_popts];
    po->provider = pr_strdup(provider);
    po->key = pr_strdup(key);
    po->value = pr_strdup(value);
    if (!po->provider || !po->key || !po->value) {
        free(po->provider);
        free(po->key);
        free(po->value);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    o->n_popts++;
    return PRISM_OK;
}

prism_status prism_session_options_add_provider_option_string(prism_session_options *o, const char *spec) {
    if (!o || !spec) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "provider option: NULL argument");
    const char *colon = strchr(spec, ':');
    const char *eq = colon ? strchr(colon, '=') : NULL;
    if (!colon || !eq || colon == spec || eq == colon + 1 || !eq[1])
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "provider option '%s' is not of the form PROVIDER:KEY=VALUE", spec);
    char *prov = pr_strndup(spec, (size_t)(colon - spec));
    char *key = pr_strndup(colon + 1, (size_t)(eq - colon - 1));
    prism_status st = prov && key ? prism_session_options_set_provider_option(o, prov, key, eq + 1)
                                  : pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    free(prov);
    free(key);
    return st;
}

static const char *const policy_names[] = {"provider_order", "prefer_gpu", "prefer_fpga",
                                           "prefer_cpu",     "latency",    "prefer_accelerator"};
#define N_POLICIES (sizeof policy_names / sizeof *policy_names)

const char *prism_policy_name(prism_policy p) { return (unsigned)p < N_POLICIES ? policy_names[p] : NULL; }

prism_status prism_policy_from_name(const char *name, prism_policy *out) {
    if (!name || !out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "policy_from_name: NULL argument");
    char norm[32];
    size_t n = strlen(name);
    if (n < sizeof norm) {
        for (size_t i = 0; i <= n; i++) norm[i] = name[i] == '-' ? '_' : name[i];
        for (size_t i = 0; i < N_POLICIES; i++)
            if (!strcmp(norm, policy_names[i])) {
                *out = (prism_policy)i;
                return PRISM_OK;
            }
    }
    return pr_fail(PRISM_ERR_INVALID_ARGUMENT,
                   "unknown policy '%s' (expected provider_order, prefer_gpu, prefer_fpga, prefer_cpu, "
                   "prefer_accelerator or latency)",
                   name);
}

prism_status prism_session_options_set_policy(prism_session_options *o, prism_policy p) {
    if (!o) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_policy: NULL options");
    if (!prism_policy_name(p)) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_policy: unknown policy %d", (int)p);
    o->policy = p;
    return PRISM_OK;
}

prism_status prism_session_options_add_affinity(prism_session_options *o, const char *key, const char *provider) {
    if (!o || !key || !provider) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "add_affinity: NULL argument");
    if (!*key || !*provider) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "add_affinity: empty node/op or provider");
    for (size_t i = 0; i < o->n_affinity; i++)
        if (!strcmp(o->affinity[i].key, key)) {
            char *p = pr_strdup(provider);
            if (!p) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            free(o->affinity[i].provider);
            o->affinity[i].provider = p;
            return PRISM_OK;
        }
    if (!pr_grow((void **)&o->affinity, &o->cap_affinity, o->n_affinity + 1, sizeof *o->affinity))
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    pr_affinity *a = &o->affinity[o->n_affinity];
    a->key = pr_strdup(key);
    a->provider = pr_strdup(provider);
    if (!a->key || !a->provider) {
        free(a->key);
        free(a->provider);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    o->n_affinity++;
    return PRISM_OK;
}

/* Parse "K=P,K=P" into a fresh list; the options keep their old entries
 * when the spec is invalid. */
prism_status prism_session_options_set_affinity(prism_session_options *o, const char *spec) {
    if (!o || !spec) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_affinity: NULL argument");
    prism_session_options tmp = {0};
    prism_status st = PRISM_OK;
    for (const char *p = spec; *p && !st;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *item = pr_strndup(p, len);
        if (!item) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        char *eq = strchr(item, '=');
        if (!eq || eq == item || !eq[1]) {
            st = pr_fail(PRISM_ERR_INVALID_ARGUMENT, "affinity entry '%s' is not of the form NODE_OR_OP=PROVIDER", item);
        } else {
            *eq = '\0';
            st = prism_session_options_add_affinity(&tmp, item, eq + 1);
        }
        free(item);
        if (!e) break;
        p = e + 1;
    }
    if (st) {
        for (size_t i = 0; i < tmp.n_affinity; i++) free(tmp.affinity[i].key), free(tmp.affinity[i].provider);
        free(tmp.affinity);
        return st;
    }
    for (size_t i = 0; i < o->n_affinity; i++) free(o->affinity[i].key), free(o->affinity[i].provider);
    free(o->affinity);
    o->affinity = tmp.affinity;
    o->n_affinity = tmp.n_affinity;
    o->cap_affinity = tmp.cap_affinity;
    return PRISM_OK;
}

prism_status prism_session_options_set_dim(prism_session_options *o, const char *name, int64_t value) {
    if (!o || !name || !*name) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_dim: NULL options or empty name");
    if (value < 0 || value > ((int64_t)1 << 40))
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_dim: %lld is not a valid size for dim '%s'", (long long)value, name);
    for (size_t i = 0; i < o->n_dims; i++)
        if (!strcmp(o->dims[i].name, name)) {
            o->dims[i].value = value;
            return PRISM_OK;
        }
    if (!pr_grow((void **)&o->dims, &o->cap_dims, o->n_dims + 1, sizeof *o->dims))
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    if (!(o->dims[o->n_dims].name = pr_strdup(name))) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    o->dims[o->n_dims++].value = value;
    return PRISM_OK;
}

prism_status prism_session_options_set_min_subgraph(prism_session_options *o, uint32_t nodes) {
    if (!o) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_min_subgraph: NULL options");
    if (nodes > 1000000) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_min_subgraph: %u nodes is too many", nodes);
    o->min_subgraph = nodes ? nodes : 1;
    return PRISM_OK;
}

prism_status prism_session_options_set_fallback(prism_session_options *o, int allowed) {
    if (!o) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_fallback: NULL options");
    o->fallback = allowed != 0;
    return PRISM_OK;
}

prism_status prism_session_options_set_environment(prism_session_options *o, int enabled) {
    if (!o) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_environment: NULL options");
    o->use_env = enabled != 0;
    return PRISM_OK;
}

static prism_status copy_options(const prism_session_options *src, prism_session_options *o) {
    prism_status st = PRISM_OK;
    o->threads = src->threads;
    o->policy = src->policy;
    o->min_subgraph = src->min_subgraph;
    o->fallback = src->fallback;
    o->use_env = src->use_env;
    pr_buf list = {0};
    for (size_t i = 0; i < src->n_providers; i++) pr_buf_printf(&list, "%s%s", i ? "," : "", src->providers[i]);
    if (list.failed || !list.data) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    if (!st) st = prism_session_options_set_providers(o, list.data);
    pr_buf_free(&list);
    for (size_t i = 0; i < src->n_popts && !st; i++)
        st = prism_session_options_set_provider_option(o, src->popts[i].provider, src->popts[i].key,
                                                       src->popts[i].value);
    for (size_t i = 0; i < src->n_affinity && !st; i++)
        st = prism_session_options_add_affinity(o, src->affinity[i].key, src->affinity[i].provider);
    for (size_t i = 0; i < src->n_dims && !st; i++) st = prism_session_options_set_dim(o, src->dims[i].name, src->dims[i].value);
    return st;
}

/* Replaces the setting a variable names; the message names the variable so
 * a user who set it in a shell profile finds the culprit. */
static prism_status apply_env(prism_session_options *o) {
    const char *v;
    prism_status st = PRISM_OK;
    if ((v = getenv("PRISM_PROVIDERS")) && *v && (st = prism_session_options_set_providers(o, v)))
        return pr_fail_context(st, "environment variable PRISM_PROVIDERS");
    if ((v = getenv("PRISM_POLICY")) && *v) {
        prism_policy p;
        if ((st = prism_policy_from_name(v, &p))) return pr_fail_context(st, "environment variable PRISM_POLICY");
        o->policy = p;
    }
    if ((v = getenv("PRISM_AFFINITY")) && *v && (st = prism_session_options_set_affinity(o, v)))
        return pr_fail_context(st, "environment variable PRISM_AFFINITY");
    const char *ints[] = {"PRISM_MIN_SUBGRAPH", "PRISM_THREADS", "PRISM_FALLBACK"};
    for (size_t k = 0; k < 3; k++) {
        if (!(v = getenv(ints[k])) || !*v) continue;
        char *end;
        unsigned long long n = strtoull(v, &end, 10);
        bool bad = *end || *v == '-' || n > (k == 2 ? 1 : k == 1 ? 1024 : 1000000);
        if (bad)
            return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "environment variable %s='%s' is not %s", ints[k], v,
                           k == 2 ? "0 or 1" : "a valid count");
        if (k == 0) o->min_subgraph = n ? (uint32_t)n : 1;
        if (k == 1) o->threads = (uint32_t)n;
        if (k == 2) o->fallback = n == 1;
    }
    if ((v = getenv("PRISM_PROVIDER_OPTIONS")) && *v) {
        char *copy = pr_strdup(v);
        if (!copy) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (char *save = NULL, *item = strtok_r(copy, ";", &save); item && !st; item = strtok_r(NULL, ";", &save))
            st = prism_session_options_add_provider_option_string(o, item);
        free(copy);
        if (st) return pr_fail_context(st, "environment variable PRISM_PROVIDER_OPTIONS");
    }
    return PRISM_OK;
}

prism_status pr_options_effective(const prism_session_options *src, prism_session_options **out) {
    prism_session_options *o;
    prism_status st = prism_session_options_create(&o);
    if (st) return st;
    if (src) st = copy_options(src, o);
    if (!st && o->use_env) st = apply_env(o);
    if (st) {
        prism_session_options_destroy(o);
        return st;
    }
    *out = o;
    return PRISM_OK;
}
