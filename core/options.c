/* options.c — session options: plain data, copied by value where kept. */
#include "options.h"

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
