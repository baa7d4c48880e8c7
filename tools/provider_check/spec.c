/*
 * spec.c — parse the text specs of a case (syntax in cases.c).
 *
 * The table is written as short text rather than nested C initialisers so
 * that a case stays one readable line; the price is this parser, which
 * rejects anything it does not understand with a message naming the token,
 * so a mistyped case shows up as a FAIL of that case instead of a silently
 * different model.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define TOKEN_MAX 256

static bool fail(char *msg, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, size, fmt, ap);
    va_end(ap);
    return false;
}

/* Next whitespace-separated token of *p into tok; false at the end. */
static bool next_token(const char **p, char *tok, size_t size, bool *too_long) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s) return false;
    size_t n = strcspn(s, " \t");
    *too_long = n >= size;
    if (!*too_long) {
        memcpy(tok, s, n);
        tok[n] = '\0';
    }
    *p = s + n;
    return true;
}

/* The whole of text[0..len) as a number. */
static bool parse_number(const char *text, size_t len, double *out) {
    char buf[64];
    if (!len || len >= sizeof buf) return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    double v = strtod(buf, &end);
    if (*end || errno) return false;
    *out = v;
    return true;
}

static bool parse_int64(const char *text, size_t len, int64_t *out) {
    char buf[32];
    if (!len || len >= sizeof buf) return false;
    memcpy(buf, text, len);
    buf[len] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (*end || errno) return false;
    *out = (int64_t)v;
    return true;
}

static bool looks_float(const char *text, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (strchr(".eEnN", text[i])) return true; /* '.', exponent, inf, nan */
    return false;
}

static bool is_name(const char *s, size_t len) {
    if (!len || len >= PC_MAX_NAME) return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (i && c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

static const struct {
    const char *name;
    prism_dtype dtype;
} type_names[] = {
    {"f32", PRISM_DTYPE_FLOAT}, {"f64", PRISM_DTYPE_DOUBLE}, {"i64", PRISM_DTYPE_INT64},
    {"i32", PRISM_DTYPE_INT32}, {"i8", PRISM_DTYPE_INT8},    {"u8", PRISM_DTYPE_UINT8},
    {"bool", PRISM_DTYPE_BOOL},
};

/* "a,b,c" (between brackets or braces) into up to max numbers. */
static bool parse_list(const char *s, size_t len, double *vals, size_t max, size_t *n) {
    *n = 0;
    if (!len) return true;
    for (const char *p = s, *end = s + len;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        size_t l = comma ? (size_t)(comma - p) : (size_t)(end - p);
        if (*n == max || !parse_number(p, l, &vals[*n])) return false;
        (*n)++;
        if (!comma) return true;
        p = comma + 1;
    }
}

/* A ':'-introduced modifier of an input. */
static bool parse_modifier(const char *m, size_t len, pc_tensor_spec *s, const char *tok, char *msg, size_t size) {
    if (len == 5 && !strncmp(m, "const", 5)) {
        s->constant = true;
        return true;
    }
    if (len == 3 && !strncmp(m, "dyn", 3)) {
        s->dynamic = true;
        return true;
    }
    if (len >= 2 && m[0] == '{' && m[len - 1] == '}') {
        s->gen = PC_GEN_VALUES;
        if (!parse_list(m + 1, len - 2, s->values, PC_MAX_LIST, &s->n_values))
            return fail(msg, size, "bad value list in '%s' (numbers, at most %d)", tok, PC_MAX_LIST);
        return true;
    }
    s->gen = PC_GEN_RANGE;
    if (len > 2 && m[0] == '+' && m[1] == '-') {
        s->gen = PC_GEN_SIGNED;
        m += 2;
        len -= 2;
    }
    const char *dots = NULL;
    for (size_t i = 0; i + 1 < len && !dots; i++)
        if (m[i] == '.' && m[i + 1] == '.') dots = m + i;
    if (!dots || !parse_number(m, (size_t)(dots - m), &s->lo) ||
        !parse_number(dots + 2, len - (size_t)(dots - m) - 2, &s->hi) || !(s->lo <= s->hi))
        return fail(msg, size, "bad modifier '%.*s' in '%s' (const, dyn, LO..HI, +-LO..HI or {v,...})", (int)len, m,
                    tok);
    if (s->gen == PC_GEN_SIGNED && s->lo < 0) return fail(msg, size, "negative magnitude in '%s'", tok);
    return true;
}

/* Default ranges: small values around zero for floats, small non-negative
 * integers (valid as indices or counts) for integers. */
static void default_range(pc_tensor_spec *s) {
    s->gen = PC_GEN_RANGE;
    if (s->dtype == PRISM_DTYPE_FLOAT || s->dtype == PRISM_DTYPE_DOUBLE) {
        s->lo = -2;
        s->hi = 2;
    } else {
        s->lo = 0;
        s->hi = s->dtype == PRISM_DTYPE_BOOL ? 1 : 9;
    }
}

static bool parse_tensor(const char *tok, bool is_input, pc_tensor_spec *s, char *msg, size_t size) {
    memset(s, 0, sizeof *s);
    s->rank = -1;
    if (is_input && !strcmp(tok, "_")) {
        s->omitted = true;
        return true;
    }
    const char *colon = strchr(tok, ':');
    if (!colon || !is_name(tok, (size_t)(colon - tok)))
        return fail(msg, size, "'%s' is not NAME:TYPE[DIMS] (names: letters, digits, '_', under %d chars)", tok,
                    PC_MAX_NAME);
    memcpy(s->name, tok, (size_t)(colon - tok));
    const char *t = colon + 1;
    size_t tlen = strcspn(t, "[:");
    for (size_t i = 0; i < sizeof type_names / sizeof *type_names && !s->dtype; i++)
        if (strlen(type_names[i].name) == tlen && !strncmp(t, type_names[i].name, tlen)) s->dtype = type_names[i].dtype;
    if (!s->dtype) return fail(msg, size, "unknown type in '%s' (f32, f64, i64, i32, i8, u8, bool)", tok);
    const char *p = t + tlen;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        double d[PC_MAX_RANK];
        size_t n;
        if (!close || !parse_list(p + 1, (size_t)(close - p - 1), d, PC_MAX_RANK, &n))
            return fail(msg, size, "bad dims in '%s' (at most %d, like [2,3])", tok, PC_MAX_RANK);
        double elements = 1;
        for (size_t i = 0; i < n; i++) {
            if (d[i] < 0 || d[i] != floor(d[i]) || (elements *= d[i]) > PC_MAX_ELEMENTS)
                return fail(msg, size, "bad dims in '%s' (whole numbers, at most %d elements)", tok, PC_MAX_ELEMENTS);
            s->dims[i] = (int64_t)d[i];
        }
        s->rank = (int)n;
        p = close + 1;
    } else if (is_input) {
        return fail(msg, size, "input '%s' needs a shape ([] for a scalar)", tok);
    }
    default_range(s);
    while (*p == ':') {
        if (!is_input) return fail(msg, size, "output '%s' takes no modifiers", tok);
        const char *m = p + 1;
        size_t len = strcspn(m, ":");
        if (!parse_modifier(m, len, s, tok, msg, size)) return false;
        p = m + len;
    }
    if (*p) return fail(msg, size, "trailing text '%s' in '%s'", p, tok);
    if (s->gen == PC_GEN_VALUES && (int64_t)s->n_values != pc_spec_elements(s))
        return fail(msg, size, "'%s' lists %zu values for %lld elements", tok, s->n_values,
                    (long long)pc_spec_elements(s));
    if (s->dynamic && s->constant) return fail(msg, size, "'%s': a constant cannot have dynamic dims", tok);
    return true;
}

static bool parse_tensors(const char *text, bool is_input, pc_tensor_spec *out, size_t *n, char *msg, size_t size) {
    char tok[TOKEN_MAX];
    bool too_long;
    *n = 0;
    for (const char *p = text ? text : ""; next_token(&p, tok, sizeof tok, &too_long);) {
        if (too_long) return fail(msg, size, "a token of '%s' is too long", text);
        if (*n == PC_MAX_IO) return fail(msg, size, "more than %d %s", PC_MAX_IO, is_input ? "inputs" : "outputs");
        if (!parse_tensor(tok, is_input, &out[*n], msg, size)) return false;
        for (size_t k = 0; k < *n; k++)
            if (!out[*n].omitted && !strcmp(out[k].name, out[*n].name))
                return fail(msg, size, "name '%s' used twice", out[k].name);
        (*n)++;
    }
    if (!is_input && !*n) return fail(msg, size, "no outputs");
    return true;
}

static bool parse_attr(const char *tok, pc_attr *a, char *msg, size_t size) {
    memset(a, 0, sizeof *a);
    const char *eq = strchr(tok, '=');
    if (!eq || !is_name(tok, (size_t)(eq - tok)) || !eq[1])
        return fail(msg, size, "'%s' is not NAME=VALUE", tok);
    memcpy(a->name, tok, (size_t)(eq - tok));
    const char *v = eq + 1;
    size_t len = strlen(v);
    if (v[0] == '[') {
        double vals[PC_MAX_LIST];
        if (v[len - 1] != ']' || len < 2 || !parse_list(v + 1, len - 2, vals, PC_MAX_LIST, &a->n))
            return fail(msg, size, "bad list in '%s' (at most %d numbers)", tok, PC_MAX_LIST);
        a->kind = looks_float(v + 1, len - 2) ? PC_ATTR_FLOATS : PC_ATTR_INTS;
        for (size_t i = 0; i < a->n; i++) {
            if (a->kind == PC_ATTR_FLOATS) {
                a->floats[i] = (float)vals[i];
            } else {
                if (vals[i] != floor(vals[i]) || fabs(vals[i]) > 9e15)
                    return fail(msg, size, "bad integer in '%s'", tok);
                a->ints[i] = (int64_t)vals[i];
            }
        }
        return true;
    }
    if ((v[0] >= 'a' && v[0] <= 'z') || (v[0] >= 'A' && v[0] <= 'Z')) {
        if (len >= sizeof a->s) return fail(msg, size, "string too long in '%s'", tok);
        a->kind = PC_ATTR_STRING;
        memcpy(a->s, v, len + 1);
        return true;
    }
    if (looks_float(v, len)) {
        double f;
        if (!parse_number(v, len, &f)) return fail(msg, size, "bad float in '%s'", tok);
        a->kind = PC_ATTR_FLOAT;
        a->f = (float)f;
        return true;
    }
    if (!parse_int64(v, len, &a->i)) return fail(msg, size, "bad integer in '%s'", tok);
    a->kind = PC_ATTR_INT;
    return true;
}

bool pc_parse_case(const pc_case *c, pc_parsed *out, char *msg, size_t size) {
    memset(out, 0, sizeof *out);
    if (!c->op || !is_name(c->op, strlen(c->op))) return fail(msg, size, "bad op name");
    out->opset = c->opset ? c->opset : PC_DEFAULT_OPSET;
    if (!parse_tensors(c->inputs, true, out->inputs, &out->n_inputs, msg, size)) return false;
    if (!parse_tensors(c->outputs, false, out->outputs, &out->n_outputs, msg, size)) return false;
    for (size_t i = 0; i < out->n_inputs; i++)
        for (size_t k = 0; k < out->n_outputs; k++)
            if (!out->inputs[i].omitted && !strcmp(out->inputs[i].name, out->outputs[k].name))
                return fail(msg, size, "name '%s' is both an input and an output", out->outputs[k].name);
    char tok[TOKEN_MAX];
    bool too_long;
    for (const char *p = c->attrs ? c->attrs : ""; next_token(&p, tok, sizeof tok, &too_long);) {
        if (too_long) return fail(msg, size, "an attribute of '%s' is too long", c->attrs);
        if (out->n_attrs == PC_MAX_ATTRS) return fail(msg, size, "more than %d attributes", PC_MAX_ATTRS);
        if (!parse_attr(tok, &out->attrs[out->n_attrs], msg, size)) return false;
        for (size_t k = 0; k < out->n_attrs; k++)
            if (!strcmp(out->attrs[k].name, out->attrs[out->n_attrs].name))
                return fail(msg, size, "attribute '%s' given twice", out->attrs[k].name);
        out->n_attrs++;
    }
    return true;
}

int64_t pc_spec_elements(const pc_tensor_spec *s) {
    int64_t n = 1;
    for (int i = 0; i < s->rank; i++) n *= s->dims[i]; /* the parser caps the product at PC_MAX_ELEMENTS */
    return n;
}
