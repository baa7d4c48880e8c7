/* util.c — see util.h. The last-error slot is thread-local so that concurrent
 * sessions never see each other's messages and no global state is shared. */
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PR_ERR_CAP 4096
static _Thread_local char pr_last_error[PR_ERR_CAP];

prism_status pr_vfail(prism_status st, const char *fmt, va_list ap) {
    vsnprintf(pr_last_error, sizeof pr_last_error, fmt, ap);
    return st;
}

prism_status pr_fail(prism_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    pr_vfail(st, fmt, ap);
    va_end(ap);
    return st;
}

prism_status pr_fail_context(prism_status st, const char *fmt, ...) {
    char prefix[1024], old[PR_ERR_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, pr_last_error, sizeof old);
    snprintf(pr_last_error, sizeof pr_last_error, "%.1000s: %.3000s", prefix, old);
    return st;
}

void pr_clear_error(void) { pr_last_error[0] = '\0'; }

const char *prism_last_error_message(void) { return pr_last_error; }

bool pr_mul_size(size_t a, size_t b, size_t *out) { return !__builtin_mul_overflow(a, b, out); }
bool pr_add_size(size_t a, size_t b, size_t *out) { return !__builtin_add_overflow(a, b, out); }

bool pr_shape_count(const int64_t *dims, size_t rank, int64_t *out) {
    int64_t n = 1;
    for (size_t i = 0; i < rank; i++) {
        if (dims[i] < 0) return false;
        if (dims[i] != 0 && n > PR_MAX_ELEMENTS / dims[i]) return false;
        n *= dims[i];
    }
    *out = n;
    return true;
}

char *pr_strdup(const char *s) { return s ? strdup(s) : NULL; }
char *pr_strndup(const char *s, size_t n) {
    char *r = malloc(n + 1);
    if (!r) return NULL;
    if (n) memcpy(r, s, n);
    r[n] = '\0';
    return r;
}

char *pr_asprintf(const char *fmt, ...) {
    va_list ap;
    char *out = NULL;
    va_start(ap, fmt);
    if (vasprintf(&out, fmt, ap) < 0) out = NULL;
    va_end(ap);
    return out;
}

void *pr_aligned_alloc(size_t bytes) {
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes ? bytes : 1) != 0) return NULL;
    return p;
}
void *pr_aligned_calloc(size_t bytes) {
    void *p = pr_aligned_alloc(bytes);
    if (p) memset(p, 0, bytes ? bytes : 1);
    return p;
}
void pr_aligned_free(void *p) { free(p); }

void pr_buf_append(pr_buf *b, const char *s, size_t n) {
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void pr_buf_printf(pr_buf *b, const char *fmt, ...) {
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        pr_buf_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    pr_buf_append(b, big, (size_t)n);
    free(big);
}

void pr_buf_json_string(pr_buf *b, const char *s) {
    pr_buf_append(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p == '"' || *p == '\\') {
            char e[2] = {'\\', (char)*p};
            pr_buf_append(b, e, 2);
        } else if (*p < 0x20) {
            pr_buf_printf(b, "\\u%04x", *p);
        } else {
            pr_buf_append(b, (const char *)p, 1);
        }
    }
    pr_buf_append(b, "\"", 1);
}

void pr_buf_free(pr_buf *b) {
    free(b->data);
    memset(b, 0, sizeof *b);
}

static uint64_t pr_hash(const char *s) {
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static bool pr_strmap_resize(pr_strmap *m, size_t cap) {
    const char **keys = calloc(cap, sizeof *keys);
    uint32_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = pr_hash(m->keys[i]) & (cap - 1);
        while (keys[j]) j = (j + 1) & (cap - 1);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return true;
}

bool pr_strmap_put(pr_strmap *m, const char *key, uint32_t val) {
    if ((m->count + 1) * 2 > m->cap && !pr_strmap_resize(m, m->cap ? m->cap * 2 : 16)) return false;
    size_t j = pr_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            m->vals[j] = val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->keys[j] = key;
    m->vals[j] = val;
    m->count++;
    return true;
}

bool pr_strmap_get(const pr_strmap *m, const char *key, uint32_t *out) {
    if (!m->cap || !key) return false;
    size_t j = pr_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (strcmp(m->keys[j], key) == 0) {
            *out = m->vals[j];
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

void pr_strmap_free(pr_strmap *m) {
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

bool pr_grow(void **arr, size_t *cap, size_t n, size_t elem) {
    if (n <= *cap) return true;
    size_t c = *cap ? *cap : 8;
    while (c < n) {
        if (c > SIZE_MAX / 2) return false;
        c *= 2;
    }
    size_t bytes;
    if (!pr_mul_size(c, elem, &bytes)) return false;
    void *p = realloc(*arr, bytes);
    if (!p) return false;
    memset((char *)p + *cap * elem, 0, (c - *cap) * elem);
    *arr = p;
    *cap = c;
    return true;
}
