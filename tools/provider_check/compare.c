/*
 * compare.c — decide whether the provider's output matches the reference's.
 *
 * Floats are compared with a mixed tolerance (abs + rel * |reference|),
 * because two correct kernels may sum in different orders; everything else
 * (integers, bools, indices) must match exactly, because any difference there
 * is a wrong answer. A failure says where and by how much, so the provider's
 * author can tell a precision issue from a wrong index.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

void pc_format_dims(const int64_t *dims, size_t rank, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, i ? "," : "", dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

/* The multi-dimensional index of flat element i, as "[a,b,c]". */
static void format_index(const prism_tensor *t, int64_t i, char *buf, size_t size) {
    size_t rank = prism_tensor_rank(t);
    const int64_t *dims = prism_tensor_dims(t);
    int64_t idx[PC_MAX_RANK * 4];
    if (rank > sizeof idx / sizeof *idx) {
        snprintf(buf, size, "#%" PRId64, i);
        return;
    }
    for (size_t d = rank; d-- > 0;) {
        idx[d] = dims[d] ? i % dims[d] : 0;
        i = dims[d] ? i / dims[d] : 0;
    }
    pc_format_dims(idx, rank, buf, size);
}

static double float_at(const prism_tensor *t, int64_t i) {
    const void *d = prism_tensor_data_const(t);
    return prism_tensor_dtype(t) == PRISM_DTYPE_DOUBLE ? ((const double *)d)[i] : ((const float *)d)[i];
}

static bool compare_floats(const char *name, const prism_tensor *got, const prism_tensor *want, int64_t n, char *msg,
                           size_t size) {
    double max_abs = 0, max_rel = 0;
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++) {
        double g = float_at(got, i), w = float_at(want, i);
        bool ok;
        double abs_err;
        if (isnan(w) || isnan(g)) {
            ok = isnan(w) && isnan(g);
            abs_err = ok ? 0 : INFINITY;
        } else if (isinf(w) || isinf(g)) {
            ok = g == w;
            abs_err = ok ? 0 : INFINITY;
        } else {
            abs_err = fabs(g - w);
            ok = abs_err <= PC_ATOL + PC_RTOL * fabs(w);
        }
        if (abs_err > max_abs) max_abs = abs_err;
        if (w != 0 && abs_err / fabs(w) > max_rel) max_rel = abs_err / fabs(w); /* over nonzero references */
        if (!ok && !bad++) first = i;
    }
    if (!bad) return true;
    char where[128];
    format_index(want, first, where, sizeof where);
    snprintf(msg, size,
             "output '%s': %" PRId64 " of %" PRId64 " elements differ; first at %s: got %.9g, expected %.9g; "
             "max abs error %.3g, max rel error %.3g (allowed: %g + %g * |expected|)",
             name, bad, n, where, float_at(got, first), float_at(want, first), max_abs, max_rel, PC_ATOL, PC_RTOL);
    return false;
}

/* Elements as text for a message (integers and bools as numbers). */
static void format_element(const prism_tensor *t, int64_t i, char *buf, size_t size) {
    const void *d = prism_tensor_data_const(t);
    switch (prism_tensor_dtype(t)) {
    case PRISM_DTYPE_INT64: snprintf(buf, size, "%" PRId64, ((const int64_t *)d)[i]); break;
    case PRISM_DTYPE_INT32: snprintf(buf, size, "%" PRId32, ((const int32_t *)d)[i]); break;
    case PRISM_DTYPE_INT16: snprintf(buf, size, "%d", ((const int16_t *)d)[i]); break;
    case PRISM_DTYPE_INT8: snprintf(buf, size, "%d", ((const int8_t *)d)[i]); break;
    case PRISM_DTYPE_UINT8:
    case PRISM_DTYPE_BOOL: snprintf(buf, size, "%u", ((const uint8_t *)d)[i]); break;
    case PRISM_DTYPE_STRING: {
        const char *s = ((const char *const *)d)[i];
        snprintf(buf, size, "\"%s\"", s ? s : "");
        break;
    }
    default: {
        /* other widths: the bytes in hex */
        size_t w = prism_dtype_size(prism_tensor_dtype(t)), n = 0;
        const unsigned char *b = (const unsigned char *)d + (size_t)i * w;
        for (size_t k = 0; k < w && n + 3 < size; k++) n += (size_t)snprintf(buf + n, size - n, "%02x", b[k]);
        if (!w) snprintf(buf, size, "?");
    }
    }
}

static bool element_equal(const prism_tensor *got, const prism_tensor *want, int64_t i) {
    prism_dtype dt = prism_tensor_dtype(want);
    const void *g = prism_tensor_data_const(got), *w = prism_tensor_data_const(want);
    if (dt == PRISM_DTYPE_STRING) {
        const char *a = ((const char *const *)g)[i], *b = ((const char *const *)w)[i];
        return !strcmp(a ? a : "", b ? b : "");
    }
    if (dt == PRISM_DTYPE_BOOL) return (((const uint8_t *)g)[i] != 0) == (((const uint8_t *)w)[i] != 0);
    size_t sz = prism_dtype_size(dt);
    return !memcmp((const char *)g + (size_t)i * sz, (const char *)w + (size_t)i * sz, sz);
}

bool pc_compare(const char *name, const prism_tensor *got, const prism_tensor *want, char *msg, size_t size) {
    prism_dtype dt = prism_tensor_dtype(want);
    if (prism_tensor_dtype(got) != dt) {
        snprintf(msg, size, "output '%s': dtype %s, expected %s", name, prism_dtype_name(prism_tensor_dtype(got)),
                 prism_dtype_name(dt));
        return false;
    }
    size_t rank = prism_tensor_rank(want);
    if (prism_tensor_rank(got) != rank ||
        (rank && memcmp(prism_tensor_dims(got), prism_tensor_dims(want), rank * sizeof(int64_t)))) {
        char a[128], b[128];
        pc_format_dims(prism_tensor_dims(got), prism_tensor_rank(got), a, sizeof a);
        pc_format_dims(prism_tensor_dims(want), rank, b, sizeof b);
        snprintf(msg, size, "output '%s': shape %s, expected %s", name, a, b);
        return false;
    }
    int64_t n = prism_tensor_element_count(want);
    if (dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE) return compare_floats(name, got, want, n, msg, size);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < n; i++)
        if (!element_equal(got, want, i) && !bad++) first = i;
    if (!bad) return true;
    char where[128], g[64], w[64];
    format_index(want, first, where, sizeof where);
    format_element(got, first, g, sizeof g);
    format_element(want, first, w, sizeof w);
    snprintf(msg, size, "output '%s' (%s, compared exactly): %" PRId64 " of %" PRId64 " elements differ; first at %s: got %s, expected %s",
             name, prism_dtype_name(dt), bad, n, where, g, w);
    return false;
}

void pc_corrupt(prism_tensor *t) {
    int64_t n = prism_tensor_element_count(t);
    void *d = prism_tensor_data(t);
    for (int64_t i = 0; i < n; i++) {
        switch (prism_tensor_dtype(t)) {
        case PRISM_DTYPE_FLOAT: {
            float *f = &((float *)d)[i];
            *f = isfinite(*f) ? *f + 1e-2f * (1.0f + fabsf(*f)) : 0.0f; /* beyond abs + rel tolerance */
            break;
        }
        case PRISM_DTYPE_DOUBLE: {
            double *f = &((double *)d)[i];
            *f = isfinite(*f) ? *f + 1e-2 * (1.0 + fabs(*f)) : 0.0;
            break;
        }
        case PRISM_DTYPE_INT64: ((uint64_t *)d)[i] += 1; break;
        case PRISM_DTYPE_INT32: ((uint32_t *)d)[i] += 1; break;
        case PRISM_DTYPE_INT16: ((uint16_t *)d)[i] += 1; break;
        case PRISM_DTYPE_INT8:
        case PRISM_DTYPE_UINT8: ((uint8_t *)d)[i] += 1; break;
        case PRISM_DTYPE_BOOL: ((uint8_t *)d)[i] = !((uint8_t *)d)[i]; break;
        default: break; /* no case produces other dtypes */
        }
    }
}
