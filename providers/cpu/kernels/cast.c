/*
 * cast.c — Cast and CastLike between float, double, float16, bfloat16,
 * int8..int64, uint8..uint64, bool and string.
 *
 * Numeric pairs: one loop per (source, destination) pair, instantiated from
 * X-macros. A source element is read as int64 (signed), uint64 (unsigned,
 * bool) or double (float types, exact for all of them), and converted to the
 * destination by one rule per (destination family, source kind):
 *  - integer -> narrower integer keeps the low bits (modular), as the spec's
 *    "truncate bits" and numpy do;
 *  - float -> integer truncates toward zero; NaN gives 0 and values beyond
 *    the 64-bit range saturate before wrapping (C leaves out-of-range float
 *    to integer conversion undefined, so it is never done directly);
 *  - anything -> bool is (x != 0), so NaN is true;
 *  - float16/bfloat16 are produced from float, rounding to nearest even.
 * Strings: numbers print as the shortest text that reads back to the same
 * value (numpy's layout; "NaN", "INF", "-INF" as the spec names them); text
 * parses as a number, and text that is not a number is an error.
 * float8 and the 4/2-bit types are not supported (supports() says no).
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cpu_kernel.h"

#define CAST_NDT 17
#define CAST_BLOCK ((int64_t)1 << 15)

/* ---- safe float -> integer ---- */
static inline int64_t cast_f2i64(double v) {
    if (v != v)
        return 0;
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}
static inline uint64_t cast_f2u64(double v) {
    if (v != v)
        return 0;
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    if (v < 0)
        return (uint64_t)cast_f2i64(v); /* negative values wrap, like numpy */
    return (uint64_t)v;
}

/* ---- source kinds: how an element is read ---- */
#define CAST_CT_S int64_t
#define CAST_CT_U uint64_t
#define CAST_CT_F double
#define CAST_ID(v) (v)
#define CAST_LD_BOOL(v) ((v) != 0)

/* ---- destination rules: CAST_<family>_<source kind>(T, v) ---- */
#define CAST_DS_S(T, v) ((T)(v))
#define CAST_DS_U(T, v) ((T)(v))
#define CAST_DS_F(T, v) ((T)cast_f2i64(v))
#define CAST_DU_S(T, v) ((T)(v))
#define CAST_DU_U(T, v) ((T)(v))
#define CAST_DU_F(T, v) ((T)cast_f2u64(v))
#define CAST_DF_S(T, v) ((T)(v))
#define CAST_DF_U(T, v) ((T)(v))
#define CAST_DF_F(T, v) ((T)(v))
#define CAST_DH_S(T, v) cpu_float_to_half((float)(v))
#define CAST_DH_U(T, v) cpu_float_to_half((float)(v))
#define CAST_DH_F(T, v) cpu_float_to_half((float)(v))
#define CAST_DB_S(T, v) cpu_float_to_bf16((float)(v))
#define CAST_DB_U(T, v) cpu_float_to_bf16((float)(v))
#define CAST_DB_F(T, v) cpu_float_to_bf16((float)(v))
#define CAST_DBOOL_S(T, v) ((T)((v) != 0))
#define CAST_DBOOL_U(T, v) ((T)((v) != 0))
#define CAST_DBOOL_F(T, v) ((T)((v) != 0))

/* Sources: X(A..., E, storage type, kind, load). */
#define CAST_SRCS(X)                                                                                       \
    X(INT8, int8_t, S, CAST_ID)                                                                            \
    X(INT16, int16_t, S, CAST_ID) X(INT32, int32_t, S, CAST_ID) X(INT64, int64_t, S, CAST_ID)              \
    X(UINT8, uint8_t, U, CAST_ID) X(UINT16, uint16_t, U, CAST_ID) X(UINT32, uint32_t, U, CAST_ID)          \
    X(UINT64, uint64_t, U, CAST_ID) X(BOOL, uint8_t, U, CAST_LD_BOOL) X(FLOAT, float, F, CAST_ID)           \
    X(DOUBLE, double, F, CAST_ID) X(FLOAT16, uint16_t, F, cpu_half_to_float)                               \
    X(BFLOAT16, uint16_t, F, cpu_bf16_to_float)
/* Destinations: Y(source..., E, storage type, family). */
#define CAST_DSTS(Y, SE, ST, SK, SLD)                                                                      \
    Y(SE, ST, SK, SLD, INT8, int8_t, DS)                                                                   \
    Y(SE, ST, SK, SLD, INT16, int16_t, DS) Y(SE, ST, SK, SLD, INT32, int32_t, DS)                          \
    Y(SE, ST, SK, SLD, INT64, int64_t, DS) Y(SE, ST, SK, SLD, UINT8, uint8_t, DU)                          \
    Y(SE, ST, SK, SLD, UINT16, uint16_t, DU) Y(SE, ST, SK, SLD, UINT32, uint32_t, DU)                      \
    Y(SE, ST, SK, SLD, UINT64, uint64_t, DU) Y(SE, ST, SK, SLD, BOOL, uint8_t, DBOOL)                      \
    Y(SE, ST, SK, SLD, FLOAT, float, DF) Y(SE, ST, SK, SLD, DOUBLE, double, DF)                            \
    Y(SE, ST, SK, SLD, FLOAT16, uint16_t, DH) Y(SE, ST, SK, SLD, BFLOAT16, uint16_t, DB)

typedef void (*cast_fn)(const void *x, void *y, int64_t n);

#define CAST_DEF(SE, ST, SK, SLD, DE, DT, DF)                                   \
    static void cast_##SE##_##DE(const void *x_, void *y_, int64_t n) {         \
        const ST *x = x_;                                                       \
        DT *y = y_;                                                             \
        for (int64_t i = 0; i < n; i++) {                                       \
            const CAST_CT_##SK v = (CAST_CT_##SK)SLD(x[i]);                     \
            y[i] = CAST_##DF##_##SK(DT, v);                                     \
        }                                                                       \
    }
#define CAST_DEF_ROW(SE, ST, SK, SLD) CAST_DSTS(CAST_DEF, SE, ST, SK, SLD)
CAST_SRCS(CAST_DEF_ROW)

#define CAST_TAB(SE, ST, SK, SLD, DE, DT, DF) [PRISM_DTYPE_##SE][PRISM_DTYPE_##DE] = cast_##SE##_##DE,
#define CAST_TAB_ROW(SE, ST, SK, SLD) CAST_DSTS(CAST_TAB, SE, ST, SK, SLD)
static const cast_fn cast_tab[CAST_NDT][CAST_NDT] = {CAST_SRCS(CAST_TAB_ROW)};

static bool cast_numeric(int32_t dt) {
    return dt > 0 && dt < CAST_NDT && cast_tab[dt][PRISM_DTYPE_FLOAT] != NULL;
}
static bool cast_dtype_ok(int32_t dt) { return dt == PRISM_DTYPE_STRING || cast_numeric(dt); }

/* ---- numbers -> text ---- */

/* Shortest decimal that reads back to the same value of the source type,
 * laid out as numpy prints it: positional between 1e-4 and a per-type limit
 * (with ".0" on integral values), scientific ("1e-05", "1.5e+20") outside. */
static void cast_fmt_float(double v, int32_t dt, char *out, size_t cap) {
    if (v != v) {
        snprintf(out, cap, "NaN");
        return;
    }
    if (isinf(v)) {
        snprintf(out, cap, v < 0 ? "-INF" : "INF");
        return;
    }
    if (v == 0) {
        snprintf(out, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    int maxp = dt == PRISM_DTYPE_DOUBLE ? 17 : 9;
    char sci[40];
    int p = 1;
    for (; p <= maxp; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, v);
        bool same;
        switch (dt) {
        case PRISM_DTYPE_DOUBLE:
            same = strtod(sci, NULL) == v;
            break;
        case PRISM_DTYPE_FLOAT:
            same = strtof(sci, NULL) == (float)v;
            break;
        case PRISM_DTYPE_FLOAT16:
            same = cpu_float_to_half(strtof(sci, NULL)) == cpu_float_to_half((float)v);
            break;
        default:
            same = cpu_float_to_bf16(strtof(sci, NULL)) == cpu_float_to_bf16((float)v);
            break;
        }
        if (same)
            break;
    }
    if (p > maxp)
        p = maxp;
    /* sci is "[-]d.ddde[+-]xx": pull out the digits and the exponent */
    char digits[24];
    int nd = 0;
    const char *s = sci;
    bool neg = *s == '-';
    if (neg)
        s++;
    for (; *s && *s != 'e'; s++)
        if (isdigit((unsigned char)*s) && nd < (int)sizeof digits - 1)
            digits[nd++] = *s;
    while (nd > 1 && digits[nd - 1] == '0') /* %.*e may pad */
        nd--;
    digits[nd] = '\0';
    int e10 = *s == 'e' ? atoi(s + 1) : 0;
    const double a = fabs(v);
    const double hi = dt == PRISM_DTYPE_DOUBLE ? 1e16 : dt == PRISM_DTYPE_FLOAT16 ? 1e3 : 1e6;
    size_t len = 0;
#define CAST_PUT(...) (len += (size_t)snprintf(out + len, len < cap ? cap - len : 0, __VA_ARGS__))
    if (neg)
        CAST_PUT("-");
    if (a >= 1e-4 && a < hi) {
        if (e10 >= nd - 1) { /* integral */
            CAST_PUT("%s", digits);
            for (int k = 0; k < e10 - (nd - 1); k++)
                CAST_PUT("0");
            CAST_PUT(".0");
        } else if (e10 >= 0) {
            CAST_PUT("%.*s.%s", e10 + 1, digits, digits + e10 + 1);
        } else {
            CAST_PUT("0.");
            for (int k = 0; k < -e10 - 1; k++)
                CAST_PUT("0");
            CAST_PUT("%s", digits);
        }
    } else {
        CAST_PUT("%c", digits[0]);
        if (nd > 1)
            CAST_PUT(".%s", digits + 1);
        CAST_PUT("e%c%02d", e10 < 0 ? '-' : '+', e10 < 0 ? -e10 : e10);
    }
#undef CAST_PUT
}

static void cast_fmt(const void *x, int32_t dt, int64_t i, char *buf, size_t cap) {
    switch (dt) {
    case PRISM_DTYPE_INT8:
        snprintf(buf, cap, "%d", ((const int8_t *)x)[i]);
        break;
    case PRISM_DTYPE_INT16:
        snprintf(buf, cap, "%d", ((const int16_t *)x)[i]);
        break;
    case PRISM_DTYPE_INT32:
        snprintf(buf, cap, "%ld", (long)((const int32_t *)x)[i]);
        break;
    case PRISM_DTYPE_INT64:
        snprintf(buf, cap, "%lld", (long long)((const int64_t *)x)[i]);
        break;
    case PRISM_DTYPE_UINT8:
        snprintf(buf, cap, "%u", ((const uint8_t *)x)[i]);
        break;
    case PRISM_DTYPE_UINT16:
        snprintf(buf, cap, "%u", ((const uint16_t *)x)[i]);
        break;
    case PRISM_DTYPE_UINT32:
        snprintf(buf, cap, "%lu", (unsigned long)((const uint32_t *)x)[i]);
        break;
    case PRISM_DTYPE_UINT64:
        snprintf(buf, cap, "%llu", (unsigned long long)((const uint64_t *)x)[i]);
        break;
    case PRISM_DTYPE_BOOL: /* "1"/"0" read back as numbers, as ONNX Runtime writes them */
        snprintf(buf, cap, "%d", ((const uint8_t *)x)[i] ? 1 : 0);
        break;
    case PRISM_DTYPE_FLOAT:
        cast_fmt_float(((const float *)x)[i], dt, buf, cap);
        break;
    case PRISM_DTYPE_DOUBLE:
        cast_fmt_float(((const double *)x)[i], dt, buf, cap);
        break;
    case PRISM_DTYPE_FLOAT16:
        cast_fmt_float(cpu_half_to_float(((const uint16_t *)x)[i]), dt, buf, cap);
        break;
    default:
        cast_fmt_float(cpu_bf16_to_float(((const uint16_t *)x)[i]), dt, buf, cap);
        break;
    }
}

/* ---- text -> numbers ---- */

static bool cast_rest_blank(const char *end) {
    while (*end && isspace((unsigned char)*end))
        end++;
    return *end == '\0';
}

/* Parse s into one element of dtype dt at y[i]; false when s is not a
 * number. Integers parse exactly when written as integers; other numerals
 * ("100.5", "1e3") go through double and truncate. */
static bool cast_parse(const char *s, int32_t dt, void *y, int64_t i) {
    char *end;
    if (!s)
        s = "";
    switch (dt) {
    case PRISM_DTYPE_FLOAT: {
        float v = strtof(s, &end);
        if (end == s || !cast_rest_blank(end))
            return false;
        ((float *)y)[i] = v;
        return true;
    }
    case PRISM_DTYPE_DOUBLE:
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: {
        double v = strtod(s, &end);
        if (end == s || !cast_rest_blank(end))
            return false;
        if (dt == PRISM_DTYPE_DOUBLE)
            ((double *)y)[i] = v;
        else
            cast_tab[PRISM_DTYPE_DOUBLE][dt](&v, (char *)y + (size_t)i * 2, 1);
        return true;
    }
    default:
        break;
    }
    /* integer and bool targets */
    if (dt == PRISM_DTYPE_BOOL) {
        const char *t = s;
        while (isspace((unsigned char)*t))
            t++;
        if (strncasecmp(t, "true", 4) == 0 && cast_rest_blank(t + 4)) {
            ((uint8_t *)y)[i] = 1;
            return true;
        }
        if (strncasecmp(t, "false", 5) == 0 && cast_rest_blank(t + 5)) {
            ((uint8_t *)y)[i] = 0;
            return true;
        }
    }
    const bool is_unsigned = dt == PRISM_DTYPE_UINT64 || dt == PRISM_DTYPE_UINT32 || dt == PRISM_DTYPE_UINT16 ||
                             dt == PRISM_DTYPE_UINT8;
    if (is_unsigned && !strchr(s, '-')) {
        unsigned long long u = strtoull(s, &end, 10);
        if (end != s && cast_rest_blank(end)) {
            uint64_t v = u;
            cast_tab[PRISM_DTYPE_UINT64][dt](&v, (char *)y + (size_t)i * cpu_dtype_size(dt), 1);
            return true;
        }
    } else {
        long long l = strtoll(s, &end, 10);
        if (end != s && cast_rest_blank(end)) {
            int64_t v = l;
            cast_tab[PRISM_DTYPE_INT64][dt](&v, (char *)y + (size_t)i * cpu_dtype_size(dt), 1);
            return true;
        }
    }
    double d = strtod(s, &end);
    if (end == s || !cast_rest_blank(end))
        return false;
    cast_tab[PRISM_DTYPE_DOUBLE][dt](&d, (char *)y + (size_t)i * cpu_dtype_size(dt), 1);
    return true;
}

/* ---- driver ---- */

typedef struct cast_job {
    cast_fn fn;
    const char *x;
    char *y;
    size_t xsz, ysz;
    int64_t n;
} cast_job;

static void cast_chunk(void *arg, int64_t b, int64_t e) {
    const cast_job *j = arg;
    int64_t begin = b * CAST_BLOCK, end = e * CAST_BLOCK;
    if (end > j->n)
        end = j->n;
    j->fn(j->x + (size_t)begin * j->xsz, j->y + (size_t)begin * j->ysz, end - begin);
}

static char *cast_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

static prism_status cast_run_to(cpu_ctx *ctx, const cpu_tensor *x, int32_t to) {
    if (!cast_dtype_ok(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "cannot cast from dtype %s", cpu_dtype_name(x->dtype));
    if (!cast_dtype_ok(to))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "cannot cast to dtype %s (%d)", cpu_dtype_name(to), (int)to);
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, to, x->rank, x->dims, &y);
    if (st)
        return st;
    const int64_t n = x->count;
    if (n == 0)
        return PRISM_OK;
    if (to == PRISM_DTYPE_STRING) {
        char **ys = y->data;
        char buf[64];
        for (int64_t i = 0; i < n; i++) {
            const char *s = buf;
            if (x->dtype == PRISM_DTYPE_STRING) {
                s = ((char *const *)x->data)[i];
                if (!s)
                    s = "";
            } else {
                cast_fmt(x->data, x->dtype, i, buf, sizeof buf);
            }
            ys[i] = cast_strdup(s);
            if (!ys[i])
                return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory making strings");
        }
        return PRISM_OK;
    }
    if (x->dtype == PRISM_DTYPE_STRING) {
        char *const *xs = x->data;
        for (int64_t i = 0; i < n; i++)
            if (!cast_parse(xs[i], to, y->data, i))
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "element %lld, \"%.40s\", is not a number",
                                (long long)i, xs[i] ? xs[i] : "");
        return PRISM_OK;
    }
    if (x->dtype == to && to != PRISM_DTYPE_BOOL) {
        memcpy(y->data, x->data, (size_t)n * cpu_dtype_size(to));
        return PRISM_OK;
    }
    cast_job j = {cast_tab[x->dtype][to], x->data, y->data, cpu_dtype_size(x->dtype), cpu_dtype_size(to), n};
    int64_t blocks = (n + CAST_BLOCK - 1) / CAST_BLOCK;
    if (blocks > 1 && cpu_threads(ctx) > 1)
        cpu_parallel_for(ctx, blocks, cast_chunk, &j);
    else
        cast_chunk(&j, 0, blocks);
    return PRISM_OK;
}

/* Cast-1..5 name the target type with a string ("FLOAT"); later versions use
 * the TensorProto enum. Returns 0 when absent or unknown. */
static int32_t cast_target(const cpu_node *node) {
    static const struct {
        const char *name;
        int32_t dt;
    } names[] = {{"FLOAT", PRISM_DTYPE_FLOAT},     {"UINT8", PRISM_DTYPE_UINT8},     {"INT8", PRISM_DTYPE_INT8},
                 {"UINT16", PRISM_DTYPE_UINT16},   {"INT16", PRISM_DTYPE_INT16},     {"INT32", PRISM_DTYPE_INT32},
                 {"INT64", PRISM_DTYPE_INT64},     {"STRING", PRISM_DTYPE_STRING},   {"BOOL", PRISM_DTYPE_BOOL},
                 {"FLOAT16", PRISM_DTYPE_FLOAT16}, {"DOUBLE", PRISM_DTYPE_DOUBLE},   {"UINT32", PRISM_DTYPE_UINT32},
                 {"UINT64", PRISM_DTYPE_UINT64},   {"BFLOAT16", PRISM_DTYPE_BFLOAT16}};
    if (!cpu_attr_has(node, "to"))
        return 0;
    const char *s = cpu_attr_string(node, "to", NULL);
    if (s) {
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strcasecmp(s, names[k].name) == 0)
                return names[k].dt;
        return 0;
    }
    int64_t v = cpu_attr_int(node, "to", 0);
    return v > 0 && v <= INT32_MAX ? (int32_t)v : 0;
}

static prism_status cast_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "input 0 is missing");
    int32_t to = cast_target(node);
    if (!to)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attribute 'to' is missing or names an unknown type");
    return cast_run_to(ctx, in[0], to);
}
static bool cast_supports(const cpu_node *node) {
    int32_t in = cpu_node_input_dtype(node, 0);
    return cast_dtype_ok(cast_target(node)) && (in <= 0 || cast_dtype_ok(in));
}
const cpu_kernel_def cpu_op_Cast = {.run = cast_run, .supports = cast_supports};

/* CastLike: the target type is that of input 1. */
static prism_status castlike_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)state;
    (void)node;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "CastLike needs two inputs");
    return cast_run_to(ctx, in[0], in[1]->dtype);
}
static bool castlike_supports(const cpu_node *node) {
    int32_t in = cpu_node_input_dtype(node, 0), like = cpu_node_input_dtype(node, 1);
    return (in <= 0 || cast_dtype_ok(in)) && (like <= 0 || cast_dtype_ok(like));
}
const cpu_kernel_def cpu_op_CastLike = {.run = castlike_run, .supports = castlike_supports};
