/*
 * xw_buf.c — the growable byte buffer the xclbin is assembled in. Errors
 * are sticky (xw_buf.failed) so that the section builders can append
 * freely and check once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xclbin_writer.h"

void xw_buf_free(xw_buf *b) {
    if (!b) return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int reserve(xw_buf *b, size_t more) {
    if (b->failed) return -1;
    if (more > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    if (b->len + more <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + more) cap *= 2;
    unsigned char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

void xw_append(xw_buf *b, const void *p, size_t n) {
    if (reserve(b, n) != 0) return;
    if (p)
        memcpy(b->data + b->len, p, n);
    else
        memset(b->data + b->len, 0, n);
    b->len += n;
}

void xw_appendf(xw_buf *b, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    if (reserve(b, (size_t)n + 1) != 0) return; /* +1: vsnprintf writes a NUL */
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void xw_append_xml_escaped(xw_buf *b, const char *text) {
    for (const char *s = text; *s; s++) {
        switch (*s) {
        case '&': xw_appendf(b, "&amp;"); break;
        case '<': xw_appendf(b, "&lt;"); break;
        case '>': xw_appendf(b, "&gt;"); break;
        case '"': xw_appendf(b, "&quot;"); break;
        case '\'': xw_appendf(b, "&apos;"); break;
        default: xw_append(b, s, 1);
        }
    }
}

static void put_le(xw_buf *b, size_t off, uint64_t v, int width) {
    if (b->failed || off > b->len || (size_t)width > b->len - off) {
        b->failed = 1;
        return;
    }
    for (int i = 0; i < width; i++) b->data[off + (size_t)i] = (unsigned char)(v >> (8 * i));
}

void xw_put_u8(xw_buf *b, size_t off, uint8_t v) { put_le(b, off, v, 1); }
void xw_put_u16(xw_buf *b, size_t off, uint16_t v) { put_le(b, off, v, 2); }
void xw_put_u32(xw_buf *b, size_t off, uint32_t v) { put_le(b, off, v, 4); }
void xw_put_u64(xw_buf *b, size_t off, uint64_t v) { put_le(b, off, v, 8); }

void xw_put_str(xw_buf *b, size_t off, const char *text, size_t field) {
    if (b->failed || field == 0 || off > b->len || field > b->len - off) {
        b->failed = 1;
        return;
    }
    size_t n = strlen(text);
    if (n > field - 1) n = field - 1;
    memcpy(b->data + off, text, n);
    memset(b->data + off + n, 0, field - n);
}
