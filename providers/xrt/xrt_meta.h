/*
 * xrt_meta.h — what the XRT provider reads from an xclbin file: its uuid and
 * the kernels and arguments described by the EMBEDDED_METADATA XML.
 *
 * The parser never trusts the file: every offset and size of the axlf header
 * and section table is checked against the file size, and the XML is scanned
 * with bounds on every read. It makes no XRT call, so it is safe in any
 * environment and is shared by the XRT and csim backends.
 *
 * Ownership: xm_load fills a caller-owned xm_xclbin whose arrays it allocates
 * (malloc); xm_free releases them. Threading: no shared state; an xm_xclbin
 * may be read from several threads once loaded. Errors: xm_load returns
 * PRISM_ERR_IO (cannot read the file) or PRISM_ERR_INVALID_ARGUMENT (not a
 * valid xclbin) with the reason in err.
 */
#ifndef PRISM_XRT_META_H
#define PRISM_XRT_META_H

#include <stddef.h>
#include <stdint.h>

#include "prism/types.h"

/* The C type XRT reads a scalar argument as (from the metadata's type and
 * size; see xm_arg_ctype). */
typedef enum xm_ctype {
    XM_BUFFER = 0, /* global memory: an xrtBufferHandle */
    XM_INT,        /* "int": int */
    XM_UINT,       /* "unsigned int" / "uint": unsigned int */
    XM_FLOAT,      /* "float": passed through varargs as double */
    XM_DOUBLE,     /* "double": double */
    XM_U32,        /* any other 4-byte type: uint32_t */
    XM_U64,        /* any other 8-byte type: uint64_t */
    XM_UNKNOWN     /* a type XRT cannot pass */
} xm_ctype;

#define XM_NAME 64

typedef struct xm_arg {
    char name[XM_NAME];
    char type[XM_NAME];     /* as written in the metadata, e.g. "float*", "int" */
    int32_t id;             /* argument index for xrtRunSetArg */
    int32_t address_qualifier; /* 1 global buffer, 0 scalar */
    uint32_t size;          /* bytes */
    xm_ctype ctype;
} xm_arg;

typedef struct xm_kernel {
    char name[XM_NAME];
    xm_arg *args;  /* sorted by id; ids are 0..n_args-1 */
    uint32_t n_args;
} xm_kernel;

typedef struct xm_xclbin {
    unsigned char uuid[16];
    xm_kernel *kernels;
    uint32_t n_kernels;
} xm_xclbin;

/* Parse the xclbin at path. */
prism_status xm_load(const char *path, xm_xclbin *out, char *err, size_t err_size);
/* Parse an xclbin image already in memory (bytes long). */
prism_status xm_parse(const unsigned char *data, size_t bytes, xm_xclbin *out, char *err, size_t err_size);
void xm_free(xm_xclbin *x);
/* The kernel named name, or NULL. */
const xm_kernel *xm_find_kernel(const xm_xclbin *x, const char *name);
/* The C type for a metadata (type, size, addressQualifier). */
xm_ctype xm_arg_ctype(const char *type, uint32_t size, int32_t address_qualifier);

#endif
