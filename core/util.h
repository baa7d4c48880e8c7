/*
 * util.h — small helpers shared by the core: errors, checked arithmetic,
 * strings, a string->index hash map, growable arrays.
 */
#ifndef PRISM_CORE_UTIL_H
#define PRISM_CORE_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/prism.h"

/* Record the thread's last error message and return st (so callers write
 * `return pr_fail(PRISM_ERR_IO, "cannot open '%s'", path);`). */
prism_status pr_fail(prism_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
prism_status pr_vfail(prism_status st, const char *fmt, va_list ap);
/* Prefix the current message with more context ("while loading X: ..."). */
prism_status pr_fail_context(prism_status st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pr_clear_error(void);

/* Checked size arithmetic: false on overflow. */
bool pr_mul_size(size_t a, size_t b, size_t *out);
bool pr_add_size(size_t a, size_t b, size_t *out);
/* Element count of a shape; false on negative dims or overflow past
 * PR_MAX_ELEMENTS. */
#define PR_MAX_ELEMENTS ((int64_t)1 << 50)
bool pr_shape_count(const int64_t *dims, size_t rank, int64_t *out);

char *pr_strdup(const char *s);
char *pr_strndup(const char *s, size_t n);
char *pr_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* 64-byte aligned allocation; pr_aligned_free accepts NULL. */
void *pr_aligned_alloc(size_t bytes);
void *pr_aligned_calloc(size_t bytes);
void pr_aligned_free(void *p);

/* A growable byte string. */
typedef struct pr_buf {
    char *data;
    size_t len, cap;
    bool failed; /* an allocation failed: the content is truncated */
} pr_buf;
void pr_buf_printf(pr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pr_buf_append(pr_buf *b, const char *s, size_t n);
void pr_buf_json_string(pr_buf *b, const char *s); /* quoted, escaped */
void pr_buf_free(pr_buf *b);

/* Open-addressing map from NUL-terminated strings (not copied: they must
 * outlive the map) to uint32 indices. */
typedef struct pr_strmap {
    const char **keys;
    uint32_t *vals;
    size_t cap, count;
} pr_strmap;
bool pr_strmap_put(pr_strmap *m, const char *key, uint32_t val); /* false on OOM; overwrites */
bool pr_strmap_get(const pr_strmap *m, const char *key, uint32_t *out);
void pr_strmap_free(pr_strmap *m);

/* Grow *arr (of elements of size elem) to hold at least n; false on OOM. */
bool pr_grow(void **arr, size_t *cap, size_t n, size_t elem);

#endif
