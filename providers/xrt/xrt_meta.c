/*
 * xrt_meta.c — reading kernel names and argument layouts out of an xclbin.
 *
 * Why parse the file ourselves: XRT's C API has no call that lists a
 * kernel's arguments (the xclbin query functions are C++ or not exported in
 * XRT 2.13), and the csim device must bind arguments exactly as the card
 * does, without XRT. The layout of the axlf header and section table is
 * taken from XRT's own xclbin.h (offsetof), so it cannot drift; the
 * EMBEDDED_METADATA section is XML, scanned here with a small bounded
 * reader that understands just elements and quoted attributes.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xclbin.h>

#include "xrt_meta.h"

/* Largest xclbin read (real bitstreams are tens of MiB). */
#define XM_MAX_FILE ((size_t)1 << 30)

static prism_status fail(char *err, size_t n, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static prism_status fail(char *err, size_t n, prism_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return st;
}

static uint64_t rd64(const unsigned char *p) {
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static uint32_t rd32(const unsigned char *p) {
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

xm_ctype xm_arg_ctype(const char *type, uint32_t size, int32_t address_qualifier) {
    if (address_qualifier == 1) return XM_BUFFER;
    if (address_qualifier != 0) return XM_UNKNOWN;
    if (!strcmp(type, "int")) return XM_INT;
    if (!strcmp(type, "uint") || !strcmp(type, "unsigned int")) return XM_UINT;
    if (!strcmp(type, "float")) return XM_FLOAT;
    if (!strcmp(type, "double")) return XM_DOUBLE;
    if (size == 4) return XM_U32;
    if (size == 8) return XM_U64;
    return XM_UNKNOWN;
}

/* ---- a bounded XML scanner ------------------------------------------------ */

typedef struct span {
    const char *p, *end;
} span;

/* The next start tag `<name` (followed by space, '/' or '>') in s, or NULL. */
static const char *find_tag(span s, const char *name) {
    size_t len = strlen(name);
    for (const char *p = s.p; p + len + 1 < s.end; p++) {
        if (p[0] != '<' || memcmp(p + 1, name, len)) continue;
        char c = p[1 + len];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '/' || c == '>') return p;
    }
    return NULL;
}

/* End of the start tag beginning at tag (one past its '>'), or NULL. */
static const char *tag_end(const char *tag, const char *end) {
    char quote = 0;
    for (const char *p = tag; p < end; p++) {
        if (quote) {
            if (*p == quote) quote = 0;
        } else if (*p == '"' || *p == '\'') {
            quote = *p;
        } else if (*p == '>') {
            return p + 1;
        }
    }
    return NULL;
}

/* Copies attribute `name` of the start tag [tag, tend) into out; false when
 * absent, too long or holding an entity. */
static bool attr(const char *tag, const char *tend, const char *name, char *out, size_t out_size) {
    size_t len = strlen(name);
    for (const char *p = tag; p + len + 2 < tend; p++) {
        if (p == tag) continue;
        char before = p[-1];
        if ((before != ' ' && before != '\t' && before != '\n' && before != '\r')) continue;
        if (memcmp(p, name, len) || p[len] != '=') continue;
        char q = p[len + 1];
        if (q != '"' && q != '\'') return false;
        const char *v = p + len + 2, *ve = v;
        while (ve < tend && *ve != q) ve++;
        if (ve >= tend || (size_t)(ve - v) >= out_size || memchr(v, '&', (size_t)(ve - v))) return false;
        memcpy(out, v, (size_t)(ve - v));
        out[ve - v] = '\0';
        return true;
    }
    return false;
}

static bool attr_int(const char *tag, const char *tend, const char *name, long long lo, long long hi, long long *out) {
    char buf[32];
    if (!attr(tag, tend, name, buf, sizeof buf)) return false;
    char *e;
    errno = 0;
    long long v = strtoll(buf, &e, 0);
    if (e == buf || *e || errno || v < lo || v > hi) return false;
    *out = v;
    return true;
}

static int cmp_arg(const void *a, const void *b) {
    const xm_arg *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Parse the <arg> elements of one kernel element body. */
static prism_status parse_args(span body, xm_kernel *k, char *err, size_t n) {
    uint32_t count = 0;
    for (span s = body;;) {
        const char *t = find_tag(s, "arg");
        if (!t) break;
        count++;
        s.p = t + 4;
    }
    if (count > 1024) return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "kernel %s has %u arguments", k->name, count);
    k->args = calloc(count ? count : 1, sizeof *k->args);
    if (!k->args) return fail(err, n, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    span s = body;
    for (uint32_t i = 0; i < count; i++) {
        const char *t = find_tag(s, "arg"), *te = t ? tag_end(t, s.end) : NULL;
        if (!te) return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "kernel %s: unterminated <arg>", k->name);
        xm_arg *a = &k->args[i];
        long long id, aq, size;
        if (!attr(t, te, "name", a->name, sizeof a->name) || !attr(t, te, "type", a->type, sizeof a->type) ||
            !attr_int(t, te, "id", 0, 1023, &id) || !attr_int(t, te, "addressQualifier", 0, 4, &aq) ||
            !attr_int(t, te, "size", 0, 1 << 20, &size))
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT,
                        "kernel %s: argument %u lacks a valid name, type, id, addressQualifier or size", k->name, i);
        a->id = (int32_t)id;
        a->address_qualifier = (int32_t)aq;
        a->size = (uint32_t)size;
        a->ctype = xm_arg_ctype(a->type, a->size, a->address_qualifier);
        s.p = te;
    }
    k->n_args = count;
    qsort(k->args, count, sizeof *k->args, cmp_arg);
    for (uint32_t i = 0; i < count; i++)
        if (k->args[i].id != (int32_t)i)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "kernel %s: argument ids are not 0..%u", k->name,
                        count - 1);
    return PRISM_OK;
}

static prism_status parse_xml(span xml, xm_xclbin *x, char *err, size_t n) {
    uint32_t count = 0;
    for (span s = xml;;) {
        const char *t = find_tag(s, "kernel");
        if (!t) break;
        count++;
        s.p = t + 7;
    }
    if (count > 4096) return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "the metadata lists %u kernels", count);
    x->kernels = calloc(count ? count : 1, sizeof *x->kernels);
    if (!x->kernels) return fail(err, n, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    span s = xml;
    for (uint32_t i = 0; i < count; i++) {
        const char *t = find_tag(s, "kernel"), *te = t ? tag_end(t, s.end) : NULL;
        if (!te) return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "unterminated <kernel> element");
        xm_kernel *k = &x->kernels[i];
        x->n_kernels = i + 1;
        if (!attr(t, te, "name", k->name, sizeof k->name))
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "kernel element %u has no valid name", i);
        span body = {te, s.end};
        if (te[-2] != '/') { /* not <kernel .../>: the body ends at </kernel> */
            const char *close = te;
            while (close + 9 <= s.end && memcmp(close, "</kernel>", 9)) close++;
            if (close + 9 > s.end) return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "kernel %s is not closed", k->name);
            body.end = close;
        } else {
            body.end = te;
        }
        prism_status st = parse_args(body, k, err, n);
        if (st) return st;
        s.p = body.end;
    }
    return PRISM_OK;
}

/* A NUL within the first `cap` bytes of p. */
static bool terminated(const unsigned char *p, size_t cap) { return memchr(p, 0, cap) != NULL; }

/*
 * XRT reads an xclbin trusting its numbers: section offsets and sizes, the
 * entry counts of IP_LAYOUT, MEM_TOPOLOGY and CONNECTIVITY, the indices a
 * connection holds, the NUL of every name. A damaged file then makes it
 * read past its buffers and crash the process (seen: a corrupted section
 * offset ends in a segfault inside xrtDeviceLoadXclbinFile). So before a
 * file goes anywhere near XRT, every one of those is checked here.
 */
static prism_status check_layout(const unsigned char *data, size_t bytes, uint32_t n_sections, const xm_xclbin *meta,
                                 char *err, size_t n) {
    const size_t hdr = offsetof(struct axlf, m_sections), sh = sizeof(struct axlf_section_header);
    int64_t n_ip = -1, n_mem = -1;
    const unsigned char *conn = NULL, *ips = NULL;
    uint64_t conn_size = 0;
    for (uint32_t i = 0; i < n_sections; i++) {
        const unsigned char *s = data + hdr + (size_t)i * sh;
        uint32_t kind = rd32(s + offsetof(struct axlf_section_header, m_sectionKind));
        uint64_t off = rd64(s + offsetof(struct axlf_section_header, m_sectionOffset));
        uint64_t size = rd64(s + offsetof(struct axlf_section_header, m_sectionSize));
        if (off > bytes || size > bytes - off || off < hdr + (uint64_t)n_sections * sh)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT,
                        "xclbin section %u (kind %u) at %llu+%llu lies outside the file (%zu bytes)", i, kind,
                        (unsigned long long)off, (unsigned long long)size, bytes);
        if (!terminated(s + offsetof(struct axlf_section_header, m_sectionName), 16))
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "xclbin section %u has an unterminated name", i);
        const unsigned char *sec = data + off;
        size_t entry = kind == IP_LAYOUT      ? sizeof(struct ip_data)
                       : kind == MEM_TOPOLOGY ? sizeof(struct mem_data)
                       : kind == CONNECTIVITY ? sizeof(struct connection)
                                              : 0;
        if (!entry) continue;
        /* All three start with an int32 count, their array at offset 8 (ip,
         * mem: 8-byte aligned) or 4 (connection). */
        size_t first = kind == CONNECTIVITY ? offsetof(struct connectivity, m_connection)
                       : kind == IP_LAYOUT  ? offsetof(struct ip_layout, m_ip_data)
                                            : offsetof(struct mem_topology, m_mem_data);
        int32_t count = size >= 4 ? (int32_t)rd32(sec) : -1;
        if (count < 0 || size < first || (uint64_t)count > (size - first) / entry)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT,
                        "xclbin section %u (kind %u) counts %d entries that do not fit in its %llu bytes", i, kind,
                        count, (unsigned long long)size);
        for (int32_t e = 0; e < count; e++) {
            const unsigned char *item = sec + first + (size_t)e * entry;
            bool ok = kind == IP_LAYOUT      ? terminated(item + offsetof(struct ip_data, m_name), 64)
                      : kind == MEM_TOPOLOGY ? terminated(item + offsetof(struct mem_data, m_tag), 16)
                                             : true;
            if (!ok)
                return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "xclbin section %u entry %d has an unterminated name",
                            i, e);
        }
        if (kind == IP_LAYOUT) n_ip = count, ips = sec + first;
        if (kind == MEM_TOPOLOGY) n_mem = count;
        if (kind == CONNECTIVITY) conn = sec, conn_size = (uint64_t)count;
    }
    /* Every connection names an existing compute unit and memory bank, and
     * an argument that the unit's kernel (its IP name is "kernel:instance")
     * has in the metadata. */
    for (uint64_t e = 0; conn && e < conn_size; e++) {
        const unsigned char *c = conn + offsetof(struct connectivity, m_connection) + e * sizeof(struct connection);
        int32_t arg = (int32_t)rd32(c + offsetof(struct connection, arg_index));
        int32_t ip = (int32_t)rd32(c + offsetof(struct connection, m_ip_layout_index));
        int32_t mem = (int32_t)rd32(c + offsetof(struct connection, mem_data_index));
        if (arg < 0 || ip < 0 || mem < 0 || ip >= n_ip || mem >= n_mem)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT,
                        "xclbin connection %llu (argument %d, compute unit %d, bank %d) points outside IP_LAYOUT or "
                        "MEM_TOPOLOGY",
                        (unsigned long long)e, arg, ip, mem);
        const char *ip_name = (const char *)ips + (size_t)ip * sizeof(struct ip_data) + offsetof(struct ip_data, m_name);
        char kernel[XM_NAME];
        size_t len = strcspn(ip_name, ":");
        snprintf(kernel, sizeof kernel, "%.*s", (int)(len < sizeof kernel ? len : sizeof kernel - 1), ip_name);
        const xm_kernel *k = xm_find_kernel(meta, kernel);
        if (!k || (uint32_t)arg >= k->n_args)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT,
                        "xclbin connection %llu names argument %d of compute unit '%.64s', which the metadata does "
                        "not have",
                        (unsigned long long)e, arg, kernel);
    }
    return PRISM_OK;
}

prism_status xm_parse(const unsigned char *data, size_t bytes, xm_xclbin *out, char *err, size_t n) {
    memset(out, 0, sizeof *out);
    const size_t hdr = offsetof(struct axlf, m_sections);
    const size_t sh = sizeof(struct axlf_section_header);
    if (bytes < hdr || memcmp(data, "xclbin2", 8))
        return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "not an xclbin (no 'xclbin2' magic)");
    uint64_t length = rd64(data + offsetof(struct axlf, m_header.m_length));
    uint32_t n_sections = rd32(data + offsetof(struct axlf, m_header.m_numSections));
    if (length != bytes)
        return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "the xclbin header claims %llu bytes; the file has %zu",
                    (unsigned long long)length, bytes);
    if (n_sections > XCLBIN_MAX_NUM_SECTION || hdr + (size_t)n_sections * sh > bytes)
        return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "the xclbin section table (%u sections) is truncated",
                    n_sections);

    memcpy(out->uuid, data + offsetof(struct axlf, m_header.uuid), 16);
    for (uint32_t i = 0; i < n_sections; i++) {
        const unsigned char *s = data + hdr + (size_t)i * sh;
        if (rd32(s + offsetof(struct axlf_section_header, m_sectionKind)) != EMBEDDED_METADATA) continue;
        uint64_t off = rd64(s + offsetof(struct axlf_section_header, m_sectionOffset));
        uint64_t size = rd64(s + offsetof(struct axlf_section_header, m_sectionSize));
        if (off > bytes || size > bytes - off)
            return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "the EMBEDDED_METADATA section lies outside the file");
        span xml = {(const char *)data + off, (const char *)data + off + size};
        prism_status st = parse_xml(xml, out, err, n);
        if (!st) st = check_layout(data, bytes, n_sections, out, err, n);
        if (st) xm_free(out);
        return st;
    }
    return fail(err, n, PRISM_ERR_INVALID_ARGUMENT, "the xclbin has no EMBEDDED_METADATA section");
}

prism_status xm_load(const char *path, xm_xclbin *out, char *err, size_t n) {
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return fail(err, n, PRISM_ERR_IO, "cannot open xclbin '%s': %s", path, strerror(errno));
    unsigned char *data = NULL;
    long size = -1;
    if (!fseek(f, 0, SEEK_END)) size = ftell(f);
    if (size < 0 || (unsigned long)size > XM_MAX_FILE || fseek(f, 0, SEEK_SET)) {
        fclose(f);
        return fail(err, n, PRISM_ERR_IO, "cannot read xclbin '%s' (unreadable or larger than 1 GiB)", path);
    }
    data = malloc(size ? (size_t)size : 1);
    size_t got = data ? fread(data, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!data || got != (size_t)size) {
        free(data);
        return fail(err, n, PRISM_ERR_IO, "cannot read xclbin '%s'", path);
    }
    char why[256];
    prism_status st = xm_parse(data, (size_t)size, out, why, sizeof why);
    free(data);
    if (st) return fail(err, n, st, "xclbin '%s': %s", path, why);
    return PRISM_OK;
}

void xm_free(xm_xclbin *x) {
    if (!x) return;
    for (uint32_t i = 0; i < x->n_kernels; i++) free(x->kernels[i].args);
    free(x->kernels);
    memset(x, 0, sizeof *x);
}

const xm_kernel *xm_find_kernel(const xm_xclbin *x, const char *name) {
    for (uint32_t i = 0; i < x->n_kernels; i++)
        if (!strcmp(x->kernels[i].name, name)) return &x->kernels[i];
    return NULL;
}
