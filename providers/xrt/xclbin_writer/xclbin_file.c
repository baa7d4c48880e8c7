/*
 * xclbin_file.c — assembles the axlf container: the fixed header, the
 * section table, then each section 8-byte aligned. The uuid is derived
 * from the section bytes and the platform name (two FNV-1a passes), so
 * rebuilding the same kernels gives the same uuid: XRT uses it to tell
 * xclbins apart, and a cached device image stays valid exactly as long as
 * the metadata does not change.
 */
#include <string.h>

#include "xclbin_format.h"
#include "xclbin_writer.h"

typedef struct section {
    uint32_t kind;
    const char *name;
    int (*build)(xw_buf *out, const char *platform);
} section;

/* Only the metadata names the platform. */
static int build_mem_topology(xw_buf *out, const char *platform) {
    (void)platform;
    return xw_mem_topology(out);
}
static int build_connectivity(xw_buf *out, const char *platform) {
    (void)platform;
    return xw_connectivity(out);
}
static int build_ip_layout(xw_buf *out, const char *platform) {
    (void)platform;
    return xw_ip_layout(out);
}

static const section sections[] = {
    {KIND_EMBEDDED_METADATA, "metadata", xw_metadata_xml},
    {KIND_MEM_TOPOLOGY, "mem_topology", build_mem_topology},
    {KIND_CONNECTIVITY, "connectivity", build_connectivity},
    {KIND_IP_LAYOUT, "ip_layout", build_ip_layout},
};
#define N_SECTIONS ((int)(sizeof sections / sizeof sections[0]))

static uint64_t fnv1a(uint64_t h, const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

/* 16 bytes of hash of the data from `from` to the end, and of platform,
 * marked as an RFC 4122 variant, version 8 (vendor-defined) uuid. */
static void derive_uuid(const xw_buf *b, size_t from, const char *platform, unsigned char uuid[16]) {
    uint64_t h1 = 0xcbf29ce484222325ull, h2 = 0x84222325cbf29ce4ull;
    h1 = fnv1a(h1, b->data + from, b->len - from);
    h2 = fnv1a(h2, (const unsigned char *)platform, strlen(platform));
    h2 = fnv1a(h2, b->data + from, b->len - from);
    for (int i = 0; i < 8; i++) {
        uuid[i] = (unsigned char)(h1 >> (8 * i));
        uuid[8 + i] = (unsigned char)(h2 >> (8 * i));
    }
    uuid[6] = (unsigned char)((uuid[6] & 0x0f) | 0x80);
    uuid[8] = (unsigned char)((uuid[8] & 0x3f) | 0x80);
}

int xw_build_xclbin(xw_buf *out, const char *platform, uint64_t timestamp) {
    if (!platform || !*platform) platform = XW_DEFAULT_PLATFORM;
    const size_t start = out->len;
    const size_t table = start + AXLF_SECTIONS;
    xw_append(out, NULL, AXLF_SECTIONS + (size_t)N_SECTIONS * SECTION_HEADER_SIZE);
    if (out->failed) return -1;

    /* Sections first, so their sizes and offsets are known. */
    for (int i = 0; i < N_SECTIONS; i++) {
        size_t misalign = (out->len - start) % SECTION_ALIGN;
        if (misalign) xw_append(out, NULL, SECTION_ALIGN - misalign);
        const size_t offset = out->len - start;
        if (sections[i].build(out, platform) != 0) return -1;
        const size_t entry = table + (size_t)i * SECTION_HEADER_SIZE;
        xw_put_u32(out, entry + SECTION_KIND, sections[i].kind);
        xw_put_str(out, entry + SECTION_NAME, sections[i].name, SECTION_NAME_SIZE);
        xw_put_u64(out, entry + SECTION_OFFSET, offset);
        xw_put_u64(out, entry + SECTION_SIZE, out->len - start - offset);
    }
    if (out->failed) return -1;

    unsigned char uuid[16];
    derive_uuid(out, table, platform, uuid);
    uint64_t unique_id = 0;
    for (int i = 0; i < 8; i++) unique_id |= (uint64_t)uuid[i] << (8 * i);

    memcpy(out->data + start + AXLF_MAGIC, XCLBIN_MAGIC, sizeof XCLBIN_MAGIC);
    xw_put_u32(out, start + AXLF_SIGNATURE_LENGTH, 0xffffffffu); /* -1: not signed */
    memset(out->data + start + AXLF_RESERVED, 0xff, AXLF_RESERVED_SIZE);
    memset(out->data + start + AXLF_KEY_BLOCK, 0xff, AXLF_KEY_BLOCK_SIZE);
    xw_put_u64(out, start + AXLF_UNIQUE_ID, unique_id);
    const size_t h = start + AXLF_HEADER;
    xw_put_u64(out, h + AXLF_H_LENGTH, out->len - start);
    xw_put_u64(out, h + AXLF_H_TIMESTAMP, timestamp);
    xw_put_u64(out, h + AXLF_H_FEATURE_ROM_TS, 0);
    /* Container format version of the xrt/xclbin.h this layout follows. */
    xw_put_u16(out, h + AXLF_H_VERSION_PATCH, 0);
    xw_put_u8(out, h + AXLF_H_VERSION_MAJOR, 2);
    xw_put_u8(out, h + AXLF_H_VERSION_MINOR, 13);
    xw_put_u16(out, h + AXLF_H_MODE, XCLBIN_MODE_FLAT);
    xw_put_u16(out, h + AXLF_H_ACTION_MASK, 0);
    xw_put_str(out, h + AXLF_H_PLATFORM_VBNV, platform, AXLF_H_PLATFORM_VBNV_SIZE);
    memcpy(out->data + h + AXLF_H_UUID, uuid, sizeof uuid);
    xw_put_u32(out, h + AXLF_H_NUM_SECTIONS, N_SECTIONS);
    return out->failed ? -1 : 0;
}
