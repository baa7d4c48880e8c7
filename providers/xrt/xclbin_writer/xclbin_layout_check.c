/*
 * xclbin_layout_check.c — compile-time proof that xclbin_format.h agrees
 * with XRT's own xrt/xclbin.h, where that header (and the uuid header it
 * needs) is installed. Elsewhere this file compiles to nothing and the
 * static assertions of xclbin_format.h stand alone.
 */
#include "xclbin_format.h"

#if defined(__has_include)
#if __has_include(<xrt/xclbin.h>) && __has_include(<uuid/uuid.h>)
#include <stddef.h>
#include <xrt/xclbin.h>

#define SAME(ours, type, member) _Static_assert((ours) == offsetof(type, member), #type "." #member)

SAME(AXLF_SIGNATURE_LENGTH, struct axlf, m_signature_length);
SAME(AXLF_RESERVED, struct axlf, reserved);
SAME(AXLF_KEY_BLOCK, struct axlf, m_keyBlock);
SAME(AXLF_UNIQUE_ID, struct axlf, m_uniqueId);
SAME(AXLF_HEADER, struct axlf, m_header);
SAME(AXLF_SECTIONS, struct axlf, m_sections);
SAME(AXLF_H_LENGTH, struct axlf_header, m_length);
SAME(AXLF_H_TIMESTAMP, struct axlf_header, m_timeStamp);
SAME(AXLF_H_FEATURE_ROM_TS, struct axlf_header, m_featureRomTimeStamp);
SAME(AXLF_H_VERSION_PATCH, struct axlf_header, m_versionPatch);
SAME(AXLF_H_VERSION_MAJOR, struct axlf_header, m_versionMajor);
SAME(AXLF_H_VERSION_MINOR, struct axlf_header, m_versionMinor);
SAME(AXLF_H_MODE, struct axlf_header, m_mode);
SAME(AXLF_H_ACTION_MASK, struct axlf_header, m_actionMask);
SAME(AXLF_H_ROM_UUID, struct axlf_header, rom_uuid);
SAME(AXLF_H_PLATFORM_VBNV, struct axlf_header, m_platformVBNV);
SAME(AXLF_H_UUID, struct axlf_header, uuid);
SAME(AXLF_H_DEBUG_BIN, struct axlf_header, m_debug_bin);
SAME(AXLF_H_NUM_SECTIONS, struct axlf_header, m_numSections);
_Static_assert(AXLF_HEADER_SIZE == sizeof(struct axlf_header), "axlf_header size");
SAME(SECTION_KIND, struct axlf_section_header, m_sectionKind);
SAME(SECTION_NAME, struct axlf_section_header, m_sectionName);
SAME(SECTION_OFFSET, struct axlf_section_header, m_sectionOffset);
SAME(SECTION_SIZE, struct axlf_section_header, m_sectionSize);
_Static_assert(SECTION_HEADER_SIZE == sizeof(struct axlf_section_header), "axlf_section_header size");
SAME(MEM_TOPOLOGY_DATA, struct mem_topology, m_mem_data);
SAME(MEM_DATA_TYPE, struct mem_data, m_type);
SAME(MEM_DATA_USED, struct mem_data, m_used);
SAME(MEM_DATA_SIZE_KB, struct mem_data, m_size);
SAME(MEM_DATA_BASE, struct mem_data, m_base_address);
SAME(MEM_DATA_TAG, struct mem_data, m_tag);
_Static_assert(MEM_DATA_BYTES == sizeof(struct mem_data), "mem_data size");
SAME(CONNECTIVITY_DATA, struct connectivity, m_connection);
SAME(CONNECTION_ARG_INDEX, struct connection, arg_index);
SAME(CONNECTION_IP_INDEX, struct connection, m_ip_layout_index);
SAME(CONNECTION_MEM_INDEX, struct connection, mem_data_index);
_Static_assert(CONNECTION_BYTES == sizeof(struct connection), "connection size");
SAME(IP_LAYOUT_DATA, struct ip_layout, m_ip_data);
SAME(IP_DATA_TYPE, struct ip_data, m_type);
SAME(IP_DATA_PROPERTIES, struct ip_data, properties);
SAME(IP_DATA_BASE, struct ip_data, m_base_address);
SAME(IP_DATA_NAME, struct ip_data, m_name);
_Static_assert(IP_DATA_BYTES == sizeof(struct ip_data), "ip_data size");
_Static_assert(KIND_EMBEDDED_METADATA == EMBEDDED_METADATA && KIND_MEM_TOPOLOGY == MEM_TOPOLOGY &&
                   KIND_CONNECTIVITY == CONNECTIVITY && KIND_IP_LAYOUT == IP_LAYOUT,
               "section kinds");
_Static_assert(MEM_TYPE_DDR4 == MEM_DDR4 && IP_TYPE_KERNEL == IP_KERNEL && IP_CONTROL_AP_CTRL_HS == AP_CTRL_HS &&
                   XCLBIN_MODE_FLAT == XCLBIN_FLAT,
               "enum values");
#define PRISM_XCLBIN_LAYOUT_CHECKED 1
#endif
#endif

/* An object file must declare something (ISO C forbids an empty unit). */
int prism_xclbin_layout_checked(void);
int prism_xclbin_layout_checked(void) {
#ifdef PRISM_XCLBIN_LAYOUT_CHECKED
    return 1;
#else
    return 0;
#endif
}
