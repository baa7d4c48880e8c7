/* cli_common.c — see cli_common.h. */
#include "cli_common.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

int cli_error(const char *what, prism_status st) {
    const char *msg = prism_last_error_message();
    fprintf(stderr, "prism: %s: %s%s%s\n", what, prism_status_name(st), msg && *msg ? ": " : "", msg ? msg : "");
    return 1;
}

void cli_format_dims(const int64_t *dims, size_t rank, char *buf, size_t size) {
    size_t n = (size_t)snprintf(buf, size, "[");
    for (size_t i = 0; i < rank && n < size; i++)
        n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, i ? "," : "", dims[i]);
    if (n < size) snprintf(buf + n, size - n, "]");
}

void cli_format_shape(const prism_value_info *info, char *buf, size_t size) {
    if (info->rank < 0) {
        snprintf(buf, size, "(unknown rank)");
        return;
    }
    size_t n = (size_t)snprintf(buf, size, "[");
    for (int32_t i = 0; i < info->rank && n < size; i++) {
        const char *sep = i ? "," : "";
        if (info->dims[i] >= 0) n += (size_t)snprintf(buf + n, size - n, "%s%" PRId64, sep, info->dims[i]);
        else if (info->dim_params && info->dim_params[i]) n += (size_t)snprintf(buf + n, size - n, "%s%s", sep, info->dim_params[i]);
        else n += (size_t)snprintf(buf + n, size - n, "%s?", sep);
    }
    if (n < size) snprintf(buf + n, size - n, "]");
}

const char *cli_device_type(prism_device_type t) {
    switch (t) {
    case PRISM_DEVICE_CPU: return "CPU";
    case PRISM_DEVICE_GPU: return "GPU";
    case PRISM_DEVICE_FPGA: return "FPGA";
    case PRISM_DEVICE_ACCELERATOR: return "ACCELERATOR";
    default: return "OTHER";
    }
}

bool cli_parse_int(const char *flag, const char *text, long long min, long long max, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(text ? text : "", &end, 10);
    if (!text || !*text || *end || errno || v < min || v > max) {
        fprintf(stderr, "prism: %s expects an integer from %lld to %lld, got '%s'\n", flag, min, max, text ? text : "");
        return false;
    }
    *out = v;
    return true;
}

static uint64_t next_rand(uint64_t *s) { /* splitmix64: deterministic everywhere */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void cli_fill_random(prism_tensor *t, uint64_t seed) {
    int64_t n = prism_tensor_element_count(t);
    void *d = prism_tensor_data(t);
    uint64_t s = seed;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = next_rand(&s);
        double u = (double)(r >> 11) / 9007199254740992.0; /* [0,1) */
        switch (prism_tensor_dtype(t)) {
        case PRISM_DTYPE_FLOAT: ((float *)d)[i] = (float)(u * 2.0 - 1.0); break;
        case PRISM_DTYPE_DOUBLE: ((double *)d)[i] = u * 2.0 - 1.0; break;
        case PRISM_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)(r % 4); break;
        case PRISM_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)(r % 4); break;
        case PRISM_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)(r % 256); break;
        case PRISM_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)(r % 256 - 128); break;
        case PRISM_DTYPE_BOOL: ((uint8_t *)d)[i] = (uint8_t)(r & 1); break;
        default: break; /* left zero */
        }
    }
}

static double value_at(const prism_tensor *t, int64_t i, bool *ok) {
    const void *d = prism_tensor_data_const(t);
    *ok = true;
    switch (prism_tensor_dtype(t)) {
    case PRISM_DTYPE_FLOAT: return ((const float *)d)[i];
    case PRISM_DTYPE_DOUBLE: return ((const double *)d)[i];
    case PRISM_DTYPE_INT64: return (double)((const int64_t *)d)[i];
    case PRISM_DTYPE_INT32: return ((const int32_t *)d)[i];
    case PRISM_DTYPE_INT16: return ((const int16_t *)d)[i];
    case PRISM_DTYPE_INT8: return ((const int8_t *)d)[i];
    case PRISM_DTYPE_UINT8: case PRISM_DTYPE_BOOL: return ((const uint8_t *)d)[i];
    case PRISM_DTYPE_UINT16: return ((const uint16_t *)d)[i];
    case PRISM_DTYPE_UINT32: return ((const uint32_t *)d)[i];
    case PRISM_DTYPE_UINT64: return (double)((const uint64_t *)d)[i];
    default: *ok = false; return 0;
    }
}

void cli_summarize(const prism_tensor *t, FILE *out) {
    int64_t n = prism_tensor_element_count(t);
    bool ok = true;
    if (n == 0 || (value_at(t, 0, &ok), !ok)) {
        fprintf(out, "(%" PRId64 " elements)", n);
        return;
    }
    double mn = INFINITY, mx = -INFINITY, sum = 0;
    int64_t argmax = 0;
    for (int64_t i = 0; i < n; i++) {
        double v = value_at(t, i, &ok);
        if (v < mn) mn = v;
        if (v > mx) {
            mx = v;
            argmax = i;
        }
        sum += v;
    }
    fprintf(out, "min %.6g max %.6g (at %" PRId64 ") mean %.6g; first:", mn, mx, argmax, sum / (double)n);
    for (int64_t i = 0; i < n && i < 5; i++) fprintf(out, " %.6g", value_at(t, i, &ok));
    if (n > 5) fprintf(out, " ...");
}

void cli_print_policy_names(FILE *out) {
    /* The enum is contiguous from 0: list what the library names, so the
     * message never drifts from what it accepts. */
    for (int p = 0; prism_policy_name((prism_policy)p); p++)
        fprintf(out, "%s%s", p ? ", " : "", prism_policy_name((prism_policy)p));
}

bool cli_parse_policy(const char *flag, const char *text, prism_policy *out) {
    if (text && prism_policy_from_name(text, out) == PRISM_OK) return true;
    fprintf(stderr, "prism: %s: unknown policy '%s' (accepted: ", flag, text ? text : "");
    cli_print_policy_names(stderr);
    fprintf(stderr, ")\n");
    return false;
}

int cli_add_affinity(prism_session_options *opts, const char *flag, const char *spec) {
    /* Split here rather than in the library so a typo is a usage error that
     * names the flag and the offending entry. */
    for (const char *p = spec ? spec : "";;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (!eq || eq == p || eq == p + len - 1) {
            fprintf(stderr, "prism: %s expects KEY=PROVIDER[,KEY=PROVIDER...] (KEY: node name or op type), got '%.*s'\n",
                    flag, (int)len, p);
            return 2;
        }
        char *key = strndup(p, (size_t)(eq - p)), *provider = strndup(eq + 1, len - (size_t)(eq - p) - 1);
        prism_status st = key && provider ? prism_session_options_add_affinity(opts, key, provider)
                                          : PRISM_ERR_OUT_OF_MEMORY;
        free(key);
        free(provider);
        if (st) {
            cli_error(flag, st);
            return st == PRISM_ERR_INVALID_ARGUMENT ? 2 : 1;
        }
        if (!end) return 0;
        p = end + 1;
    }
}
