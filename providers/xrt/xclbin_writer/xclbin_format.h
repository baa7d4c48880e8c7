/*
 * xclbin_format.h — byte layout of the xclbin container ("axlf") and of the
 * binary sections the XRT provider's xclbin carries, as offsets from the
 * start of each structure. All integers are little-endian.
 *
 * The layout is that of XRT's xrt/xclbin.h (struct axlf, axlf_header,
 * axlf_section_header, mem_topology/mem_data, connectivity/connection,
 * ip_layout/ip_data). The writer serialises field by field at these
 * offsets instead of using that header, so it builds without XRT; where
 * the header is installed, xclbin_layout_check.c compares every offset
 * here with offsetof() on XRT's own structs at compile time.
 */
#ifndef PRISM_XCLBIN_FORMAT_H
#define PRISM_XCLBIN_FORMAT_H

#define XCLBIN_MAGIC "xclbin2" /* 8 bytes with its NUL */

/* struct axlf */
#define AXLF_MAGIC 0              /* char[8] */
#define AXLF_SIGNATURE_LENGTH 8   /* int32, -1 = unsigned */
#define AXLF_RESERVED 12          /* 28 bytes of 0xFF */
#define AXLF_RESERVED_SIZE 28
#define AXLF_KEY_BLOCK 40         /* 256 bytes of 0xFF */
#define AXLF_KEY_BLOCK_SIZE 256
#define AXLF_UNIQUE_ID 296        /* uint64 */
#define AXLF_HEADER 304           /* struct axlf_header */
#define AXLF_SECTIONS 456         /* struct axlf_section_header[m_numSections] */

/* struct axlf_header, relative to AXLF_HEADER */
#define AXLF_H_LENGTH 0           /* uint64: size of the whole file */
#define AXLF_H_TIMESTAMP 8        /* uint64: seconds since the epoch */
#define AXLF_H_FEATURE_ROM_TS 16  /* uint64 */
#define AXLF_H_VERSION_PATCH 24   /* uint16 */
#define AXLF_H_VERSION_MAJOR 26   /* uint8 */
#define AXLF_H_VERSION_MINOR 27   /* uint8 */
#define AXLF_H_MODE 28            /* uint16: XCLBIN_MODE */
#define AXLF_H_ACTION_MASK 30     /* uint16 */
#define AXLF_H_ROM_UUID 32        /* 16 bytes */
#define AXLF_H_PLATFORM_VBNV 48   /* char[64], NUL-terminated */
#define AXLF_H_PLATFORM_VBNV_SIZE 64
#define AXLF_H_UUID 112           /* 16 bytes: this xclbin's uuid */
#define AXLF_H_DEBUG_BIN 128      /* char[16] */
#define AXLF_H_NUM_SECTIONS 144   /* uint32 */
#define AXLF_HEADER_SIZE 152

/* struct axlf_section_header */
#define SECTION_KIND 0            /* uint32: axlf_section_kind */
#define SECTION_NAME 4            /* char[16] */
#define SECTION_NAME_SIZE 16
#define SECTION_OFFSET 24         /* uint64: file offset of the data */
#define SECTION_SIZE 32           /* uint64: bytes of data */
#define SECTION_HEADER_SIZE 40
#define SECTION_ALIGN 8           /* every section starts 8-byte aligned */

/* enum axlf_section_kind (the ones written here) */
#define KIND_EMBEDDED_METADATA 2
#define KIND_MEM_TOPOLOGY 6
#define KIND_CONNECTIVITY 7
#define KIND_IP_LAYOUT 8

/* enum XCLBIN_MODE */
#define XCLBIN_MODE_FLAT 0

/* struct mem_topology { int32 m_count; struct mem_data m_mem_data[]; } */
#define MEM_TOPOLOGY_COUNT 0
#define MEM_TOPOLOGY_DATA 8
#define MEM_DATA_TYPE 0           /* uint8: MEM_TYPE */
#define MEM_DATA_USED 1           /* uint8 */
#define MEM_DATA_SIZE_KB 8        /* uint64 */
#define MEM_DATA_BASE 16          /* uint64 */
#define MEM_DATA_TAG 24           /* char[16] */
#define MEM_DATA_TAG_SIZE 16
#define MEM_DATA_BYTES 40
#define MEM_TYPE_DDR4 1

/* struct connectivity { int32 m_count; struct connection m_connection[]; } */
#define CONNECTIVITY_COUNT 0
#define CONNECTIVITY_DATA 4
#define CONNECTION_ARG_INDEX 0    /* int32 */
#define CONNECTION_IP_INDEX 4     /* int32: index into IP_LAYOUT */
#define CONNECTION_MEM_INDEX 8    /* int32: index into MEM_TOPOLOGY */
#define CONNECTION_BYTES 12

/* struct ip_layout { int32 m_count; struct ip_data m_ip_data[]; } */
#define IP_LAYOUT_COUNT 0
#define IP_LAYOUT_DATA 8
#define IP_DATA_TYPE 0            /* uint32: IP_TYPE */
#define IP_DATA_PROPERTIES 4      /* uint32: for IP_KERNEL, control protocol << 8 */
#define IP_DATA_BASE 8            /* uint64: AXI-Lite base address */
#define IP_DATA_NAME 16           /* char[64]: "kernel:instance" */
#define IP_DATA_NAME_SIZE 64
#define IP_DATA_BYTES 80
#define IP_TYPE_KERNEL 1
#define IP_CONTROL_AP_CTRL_HS 0
#define IP_CONTROL_SHIFT 8

_Static_assert(AXLF_HEADER + AXLF_HEADER_SIZE == AXLF_SECTIONS, "axlf: the section table follows the header");
_Static_assert(AXLF_SECTIONS + SECTION_HEADER_SIZE == 496, "axlf with one section header is 496 bytes");
_Static_assert(AXLF_H_NUM_SECTIONS + 4 <= AXLF_HEADER_SIZE, "axlf_header is 152 bytes");
_Static_assert(SECTION_SIZE + 8 == SECTION_HEADER_SIZE, "axlf_section_header is 40 bytes");
_Static_assert(MEM_TOPOLOGY_DATA + MEM_DATA_BYTES == 48, "mem_topology with one bank is 48 bytes");
_Static_assert(CONNECTIVITY_DATA + CONNECTION_BYTES == 16, "connectivity with one connection is 16 bytes");
_Static_assert(IP_LAYOUT_DATA + IP_DATA_BYTES == 88, "ip_layout with one IP is 88 bytes");

#endif /* PRISM_XCLBIN_FORMAT_H */
