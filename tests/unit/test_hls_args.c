/*
 * test_hls_args.c — the kernel descriptor table (prism_hls_args.c) is
 * written by hand, so this test holds it to the three things it must agree
 * with: the prototypes of prism_hls.h (argument names, order, types), the
 * interface pragmas of the kernel sources (an m_axi bundle per buffer, an
 * s_axilite register per scalar), the bank connections of the Vitis
 * Makefile, and the xclbin that the build writes
 * from it (lib/prism_xrt_kernels.xclbin: header, sections, metadata XML,
 * compute units, connectivity).
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit_util.h"

#include "../../providers/xrt/kernels/prism_hls_args.c"
#include "../../providers/xrt/xclbin_writer/xclbin_format.h"

/* Whole file as a NUL-terminated string (binary safe through *size), or NULL. */
static char *slurp(const char *path, size_t *size) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char *data = NULL;
    size_t len = 0, cap = 0, got;
    char chunk[4096];
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + got + 1 > cap) {
            cap = (len + got + 1) * 2;
            char *p = realloc(data, cap);
            if (!p) break;
            data = p;
        }
        memcpy(data + len, chunk, got);
        len += got;
    }
    fclose(f);
    if (!data) data = calloc(1, 1);
    if (data) data[len] = 0;
    if (size) *size = len;
    return data;
}

static char *source_file(const char *relative) {
    const char *root = getenv("PRISM_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root ? root : ".", relative);
    char *text = slurp(path, NULL);
    if (!text) fprintf(stderr, "\ncannot read %s (is PRISM_SOURCE_DIR set?)\n", path);
    return text;
}

/* One parameter of a prototype: its name and the table's spelling of its type. */
typedef struct param {
    char name[64];
    char type[16];
} param;

/* Parses "void NAME(params);" out of header text; returns the parameter count or -1. */
static int parse_prototype(const char *header, const char *name, param *out, int max) {
    char needle[96];
    snprintf(needle, sizeof needle, "void %s(", name);
    const char *p = strstr(header, needle);
    if (!p) return -1;
    p += strlen(needle);
    const char *end = strchr(p, ')');
    if (!end) return -1;
    int n = 0;
    while (p < end && n < max) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *stop = comma ? comma : end;
        /* the name is the last identifier before the comma */
        const char *q = stop;
        while (q > p && isspace((unsigned char)q[-1])) q--;
        const char *name_end = q;
        while (q > p && (isalnum((unsigned char)q[-1]) || q[-1] == '_')) q--;
        size_t len = (size_t)(name_end - q);
        if (len == 0 || len >= sizeof out[n].name) return -1;
        memcpy(out[n].name, q, len);
        out[n].name[len] = 0;
        int pointer = memchr(p, '*', (size_t)(q - p)) != NULL;
        int is_float = strstr(p, "float") && strstr(p, "float") < q;
        snprintf(out[n].type, sizeof out[n].type, "%s", pointer ? "float*" : is_float ? "float" : "int");
        n++;
        p = stop + 1;
    }
    return n;
}

static int count_prototypes(const char *header) {
    int n = 0;
    for (const char *p = header; (p = strstr(p, "\nvoid prism_")) != NULL; p++) n++;
    return n;
}

/* Every prototype of prism_hls.h is in the table with the same arguments. */
static void test_table_matches_header(void) {
    char *header = source_file("providers/xrt/kernels/prism_hls.h");
    CU_ASSERT_PTR_NOT_NULL_FATAL(header);
    int n;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_EQUAL(count_prototypes(header), n);
    for (int i = 0; i < n; i++) {
        param params[64];
        int count = parse_prototype(header, kernels[i].name, params, 64);
        if (count != kernels[i].n_args)
            fprintf(stderr, "\n%s: %d arguments in prism_hls.h, %d in the table\n", kernels[i].name, count,
                    kernels[i].n_args);
        CU_ASSERT_EQUAL(count, kernels[i].n_args);
        for (int a = 0; a < count && a < kernels[i].n_args; a++) {
            const prism_hls_arg_desc *d = &kernels[i].args[a];
            if (strcmp(params[a].name, d->name) != 0 || strcmp(params[a].type, d->type) != 0)
                fprintf(stderr, "\n%s argument %d: header says %s %s, table says %s %s\n", kernels[i].name, a,
                        params[a].type, params[a].name, d->type, d->name);
            CU_ASSERT_STRING_EQUAL(params[a].name, d->name);
            CU_ASSERT_STRING_EQUAL(params[a].type, d->type);
            CU_ASSERT_EQUAL(d->is_buffer, strcmp(d->type, "float*") == 0);
            CU_ASSERT_EQUAL(d->size, d->is_buffer ? 8u : 4u);
            CU_ASSERT_EQUAL(d->bundle != NULL, d->is_buffer);
        }
    }
    free(header);
}

/* The pragma line at p with the spaces around '=' removed:
 * "#pragma HLS INTERFACE m_axi port=a offset=slave bundle=gmem0". */
static void normalize_pragma(const char *p, char *line, size_t size) {
    size_t n = 0;
    for (const char *q = p; *q && *q != '\n' && n + 1 < size; q++) {
        if (*q == ' ' && (q[1] == '=' || (n && line[n - 1] == '='))) continue;
        line[n++] = *q;
    }
    line[n] = 0;
}

/* True when a normalized interface pragma is about port. */
static int pragma_for(const char *line, const char *port) {
    char want[96];
    snprintf(want, sizeof want, " port=%s", port);
    const char *hit = strstr(line, want);
    return hit && (hit[strlen(want)] == ' ' || hit[strlen(want)] == 0);
}

/* Counts the interface pragmas of source about port: m_axi ones with the
 * given bundle, and s_axilite ones. */
static void count_interfaces(const char *source, const char *port, const char *bundle, int *m_axi, int *s_axilite) {
    char line[256], want[64];
    snprintf(want, sizeof want, " bundle=%s", bundle ? bundle : "?");
    *m_axi = *s_axilite = 0;
    for (const char *p = source; (p = strstr(p, "#pragma HLS INTERFACE")) != NULL; p++) {
        normalize_pragma(p, line, sizeof line);
        if (!pragma_for(line, port)) continue;
        if (strstr(line, " m_axi ") && strstr(line, want)) (*m_axi)++;
        if (strstr(line, " s_axilite ")) (*s_axilite)++;
    }
}

/* Each kernel source declares an m_axi bundle per buffer (the one in the
 * table) and an s_axilite register per argument and for the return. */
static void test_table_matches_pragmas(void) {
    int n;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    for (int i = 0; i < n; i++) {
        char path[128];
        snprintf(path, sizeof path, "providers/xrt/kernels/%s.c", kernels[i].name + strlen("prism_"));
        char *source = source_file(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(source);
        int m_axi, s_axilite;
        for (int a = 0; a < kernels[i].n_args; a++) {
            const prism_hls_arg_desc *d = &kernels[i].args[a];
            count_interfaces(source, d->name, d->bundle, &m_axi, &s_axilite);
            if (m_axi != d->is_buffer || s_axilite != 1)
                fprintf(stderr, "\n%s: argument %s has %d m_axi (bundle %s) and %d s_axilite pragmas\n", path,
                        d->name, m_axi, d->bundle ? d->bundle : "-", s_axilite);
            CU_ASSERT_EQUAL(m_axi, d->is_buffer);
            CU_ASSERT_EQUAL(s_axilite, 1);
        }
        count_interfaces(source, "return", NULL, &m_axi, &s_axilite);
        CU_ASSERT_EQUAL(s_axilite, 1);
        free(source);
    }
}

/* The Vitis Makefile puts each buffer argument of each compute unit on the
 * bank of its bundle: "sp=prism_gemm_1.a:$(BANK_gmem0)". */
static void test_table_matches_makefile(void) {
    char *makefile = source_file("providers/xrt/kernels/Makefile");
    CU_ASSERT_PTR_NOT_NULL_FATAL(makefile);
    int n, lines = 0;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    for (int i = 0; i < n; i++)
        for (int a = 0; a < kernels[i].n_args; a++) {
            const prism_hls_arg_desc *d = &kernels[i].args[a];
            if (!d->is_buffer) continue;
            char want[128];
            snprintf(want, sizeof want, "sp=%s_1.%s:$(BANK_%s)\"", kernels[i].name, d->name, d->bundle);
            if (!strstr(makefile, want)) fprintf(stderr, "\nMakefile lacks %s\n", want);
            CU_ASSERT_PTR_NOT_NULL(strstr(makefile, want));
            lines++;
        }
    int sp = 0;
    for (const char *p = makefile; (p = strstr(p, "echo \"sp=")) != NULL; p++) sp++;
    CU_ASSERT_EQUAL(sp, lines); /* and no connection for an argument that is not a buffer */
    free(makefile);
}

static void test_lookups(void) {
    const prism_hls_kernel_desc *gemm = prism_hls_find_kernel("prism_gemm");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gemm);
    CU_ASSERT_PTR_NULL(prism_hls_find_kernel("prism_conv"));
    CU_ASSERT_PTR_NULL(prism_hls_find_kernel(NULL));
    CU_ASSERT_EQUAL(prism_hls_find_arg(gemm, "a"), 0);
    CU_ASSERT_EQUAL(prism_hls_find_arg(gemm, "act_hi"), 22);
    CU_ASSERT_EQUAL(prism_hls_find_arg(gemm, "nope"), -1);
    CU_ASSERT_EQUAL(prism_hls_arg_offset(gemm, 0), 0x10);
    CU_ASSERT_EQUAL(prism_hls_arg_offset(gemm, 4), 0x30);
    CU_ASSERT_EQUAL(prism_hls_arg_offset(gemm, 23), -1);
    CU_ASSERT_EQUAL(prism_hls_arg_offset(gemm, -1), -1);
}

/* ------------------------------------------------- the built xclbin */

static uint64_t le(const unsigned char *p, int width) {
    uint64_t v = 0;
    for (int i = 0; i < width; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* Data and size of the section of the given kind, or NULL. */
static const unsigned char *section_of(const unsigned char *file, size_t size, uint32_t kind, size_t *len) {
    uint32_t n = (uint32_t)le(file + AXLF_HEADER + AXLF_H_NUM_SECTIONS, 4);
    for (uint32_t i = 0; i < n; i++) {
        const unsigned char *s = file + AXLF_SECTIONS + (size_t)i * SECTION_HEADER_SIZE;
        if (AXLF_SECTIONS + (size_t)(i + 1) * SECTION_HEADER_SIZE > size) return NULL;
        if (le(s + SECTION_KIND, 4) != kind) continue;
        uint64_t off = le(s + SECTION_OFFSET, 8), sz = le(s + SECTION_SIZE, 8);
        if (off > size || sz > size - off) return NULL;
        *len = (size_t)sz;
        return file + off;
    }
    return NULL;
}

static void test_built_xclbin(void) {
    const char *dir = getenv("PRISM_PROVIDER_PATH");
    char path[4096];
    snprintf(path, sizeof path, "%s/prism_xrt_kernels.xclbin", dir ? dir : "lib");
    size_t size = 0;
    unsigned char *file = (unsigned char *)slurp(path, &size);
    if (!file) fprintf(stderr, "\ncannot read %s (built by providers/xrt/xclbin_writer)\n", path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(file);
    CU_ASSERT_FATAL(size > AXLF_SECTIONS + 4 * SECTION_HEADER_SIZE);

    CU_ASSERT_EQUAL(memcmp(file, "xclbin2", 8), 0);
    CU_ASSERT_EQUAL(le(file + AXLF_HEADER + AXLF_H_LENGTH, 8), size);
    CU_ASSERT_EQUAL(le(file + AXLF_HEADER + AXLF_H_NUM_SECTIONS, 4), 4);
    CU_ASSERT_EQUAL(le(file + AXLF_HEADER + AXLF_H_MODE, 2), XCLBIN_MODE_FLAT);
    CU_ASSERT(le(file + AXLF_HEADER + AXLF_H_TIMESTAMP, 8) != 0 || getenv("SOURCE_DATE_EPOCH"));
    static const unsigned char zero[16];
    CU_ASSERT_NOT_EQUAL(memcmp(file + AXLF_HEADER + AXLF_H_UUID, zero, 16), 0);
    for (int i = 0; i < 4; i++) /* sections 8-byte aligned, inside the file */
        CU_ASSERT_EQUAL(le(file + AXLF_SECTIONS + (size_t)i * SECTION_HEADER_SIZE + SECTION_OFFSET, 8) % 8, 0);

    int n;
    const prism_hls_kernel_desc *kernels = prism_hls_kernel_table(&n);
    size_t len = 0;

    /* IP_LAYOUT: one AP_CTRL_HS kernel CU per kernel, "kernel:kernel_1", ascending bases */
    const unsigned char *ip = section_of(file, size, KIND_IP_LAYOUT, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ip);
    CU_ASSERT_EQUAL(len, (size_t)IP_LAYOUT_DATA + (size_t)n * IP_DATA_BYTES);
    CU_ASSERT_EQUAL(le(ip + IP_LAYOUT_COUNT, 4), (uint64_t)n);
    for (int i = 0; i < n && len >= (size_t)IP_LAYOUT_DATA + (size_t)n * IP_DATA_BYTES; i++) {
        const unsigned char *d = ip + IP_LAYOUT_DATA + (size_t)i * IP_DATA_BYTES;
        char want[IP_DATA_NAME_SIZE];
        snprintf(want, sizeof want, "%s:%s_1", kernels[i].name, kernels[i].name);
        CU_ASSERT_STRING_EQUAL((const char *)d + IP_DATA_NAME, want);
        CU_ASSERT_EQUAL(le(d + IP_DATA_TYPE, 4), IP_TYPE_KERNEL);
        CU_ASSERT_EQUAL((le(d + IP_DATA_PROPERTIES, 4) >> IP_CONTROL_SHIFT) & 0xff, IP_CONTROL_AP_CTRL_HS);
        if (i) CU_ASSERT(le(d + IP_DATA_BASE, 8) > le(d - IP_DATA_BYTES + IP_DATA_BASE, 8));
    }

    /* MEM_TOPOLOGY: one used bank */
    const unsigned char *mem = section_of(file, size, KIND_MEM_TOPOLOGY, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mem);
    CU_ASSERT_EQUAL(len, (size_t)MEM_TOPOLOGY_DATA + MEM_DATA_BYTES);
    CU_ASSERT_EQUAL(le(mem + MEM_TOPOLOGY_COUNT, 4), 1);
    CU_ASSERT_EQUAL(mem[MEM_TOPOLOGY_DATA + MEM_DATA_USED], 1);

    /* CONNECTIVITY: exactly the buffer arguments of every CU, all to bank 0 */
    const unsigned char *conn = section_of(file, size, KIND_CONNECTIVITY, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(conn);
    int buffers = 0;
    for (int i = 0; i < n; i++)
        for (int a = 0; a < kernels[i].n_args; a++) buffers += kernels[i].args[a].is_buffer;
    CU_ASSERT_EQUAL(le(conn + CONNECTIVITY_COUNT, 4), (uint64_t)buffers);
    CU_ASSERT_EQUAL_FATAL(len, (size_t)CONNECTIVITY_DATA + (size_t)buffers * CONNECTION_BYTES);
    for (int c = 0; c < buffers; c++) {
        const unsigned char *e = conn + CONNECTIVITY_DATA + (size_t)c * CONNECTION_BYTES;
        uint64_t cu = le(e + CONNECTION_IP_INDEX, 4), arg = le(e + CONNECTION_ARG_INDEX, 4);
        CU_ASSERT_FATAL(cu < (uint64_t)n && arg < (uint64_t)kernels[cu].n_args);
        CU_ASSERT(kernels[cu].args[arg].is_buffer);
        CU_ASSERT_EQUAL(le(e + CONNECTION_MEM_INDEX, 4), 0);
    }

    /* EMBEDDED_METADATA: every kernel with every argument, id, offset and type */
    const unsigned char *xml_data = section_of(file, size, KIND_EMBEDDED_METADATA, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml_data);
    char *xml = malloc(len + 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(xml);
    memcpy(xml, xml_data, len);
    xml[len] = 0;
    CU_ASSERT_PTR_NOT_NULL(strstr(xml, "<project"));
    for (int i = 0; i < n; i++) {
        char want[256];
        snprintf(want, sizeof want, "<kernel name=\"%s\"", kernels[i].name);
        char *k = strstr(xml, want);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        char *end = strstr(k, "</kernel>");
        CU_ASSERT_PTR_NOT_NULL_FATAL(end);
        *end = 0; /* search this kernel only */
        for (int a = 0; a < kernels[i].n_args; a++) {
            const prism_hls_arg_desc *d = &kernels[i].args[a];
            snprintf(want, sizeof want, "<arg name=\"%s\" addressQualifier=\"%d\" id=\"%d\"", d->name, d->is_buffer,
                     a);
            char *arg = strstr(k, want);
            if (!arg) fprintf(stderr, "\n%s: no %s in the metadata\n", kernels[i].name, want);
            CU_ASSERT_PTR_NOT_NULL_FATAL(arg);
            char *close = strstr(arg, "/>");
            CU_ASSERT_PTR_NOT_NULL_FATAL(close);
            *close = 0;
            snprintf(want, sizeof want, "offset=\"0x%lx\"", prism_hls_arg_offset(&kernels[i], a));
            CU_ASSERT_PTR_NOT_NULL(strstr(arg, want));
            snprintf(want, sizeof want, "type=\"%s\"", d->type);
            CU_ASSERT_PTR_NOT_NULL(strstr(arg, want));
            snprintf(want, sizeof want, "size=\"0x%x\"", d->size);
            CU_ASSERT_PTR_NOT_NULL(strstr(arg, want));
            *close = '/';
        }
        snprintf(want, sizeof want, "<instance name=\"%s_1\">", kernels[i].name);
        CU_ASSERT_PTR_NOT_NULL(strstr(k, want));
        CU_ASSERT_PTR_NOT_NULL(strstr(k, "<addrRemap base=\"0x"));
        *end = '<';
    }
    free(xml);
    free(file);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("hls_args", NULL, NULL);
    CU_add_test(s, "table = prism_hls.h prototypes", test_table_matches_header);
    CU_add_test(s, "table = interface pragmas of the kernel sources", test_table_matches_pragmas);
    CU_add_test(s, "table = bank connections of the Vitis Makefile", test_table_matches_makefile);
    CU_add_test(s, "lookups and register offsets", test_lookups);
    CU_add_test(s, "built xclbin carries the table", test_built_xclbin);
    return unit_run_all();
}
