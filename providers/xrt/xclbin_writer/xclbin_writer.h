/*
 * xclbin_writer.h — internals of prism-xclbin-writer, the build-time tool
 * that writes the xclbin describing the kernels of prism_hls.h (metadata
 * only: no bitstream). The kernel and argument list comes from
 * prism_hls_args.h; the byte layout from xclbin_format.h.
 *
 * Ownership: an xw_buf owns its bytes; free them with xw_buf_free.
 * Threading: no shared state; distinct buffers may be used from distinct
 * threads. Errors: an allocation failure sets xw_buf.failed and makes
 * every later append a no-op, so callers check once at the end; the
 * builders return 0 on success and -1 on failure.
 */
#ifndef PRISM_XCLBIN_WRITER_H
#define PRISM_XCLBIN_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* AXI-Lite base address of compute unit i (one per kernel, in table order). */
#define XW_CU_BASE 0x1800000u
#define XW_CU_STRIDE 0x10000u
/* The single memory bank every buffer argument is connected to. */
#define XW_BANK_TAG "DDR[0]"
#define XW_BANK_SIZE_KB (16ull * 1024 * 1024) /* 16 GiB */
/* Platform name written when none is given: this file carries no bitstream. */
#define XW_DEFAULT_PLATFORM "prism_metadata_only"

typedef struct xw_buf {
    unsigned char *data;
    size_t len, cap;
    int failed;
} xw_buf;

void xw_buf_free(xw_buf *b);
/* Appends n bytes (zeros when p is NULL). */
void xw_append(xw_buf *b, const void *p, size_t n);
/* Appends printf-formatted text, without its NUL. */
void xw_appendf(xw_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Appends text with &, <, >, " and ' escaped for an XML attribute. */
void xw_append_xml_escaped(xw_buf *b, const char *text);
/* Little-endian stores into bytes already appended (off + width <= len). */
void xw_put_u8(xw_buf *b, size_t off, uint8_t v);
void xw_put_u16(xw_buf *b, size_t off, uint16_t v);
void xw_put_u32(xw_buf *b, size_t off, uint32_t v);
void xw_put_u64(xw_buf *b, size_t off, uint64_t v);
/* Copies text into a field of `field` bytes, truncated so that it always
 * ends in NUL, and NUL-filled. */
void xw_put_str(xw_buf *b, size_t off, const char *text, size_t field);

/* Section builders: each appends one section's data to out. */
int xw_metadata_xml(xw_buf *out, const char *platform);
int xw_ip_layout(xw_buf *out);
int xw_mem_topology(xw_buf *out);
int xw_connectivity(xw_buf *out);

/* The whole xclbin for platform (NULL: XW_DEFAULT_PLATFORM) stamped with
 * timestamp (seconds since the epoch). Its uuid is a hash of the section
 * contents and the platform name, so the same kernels give the same uuid. */
int xw_build_xclbin(xw_buf *out, const char *platform, uint64_t timestamp);

#endif /* PRISM_XCLBIN_WRITER_H */
