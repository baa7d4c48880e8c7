/*
 * xrt_backend.h — the seam between the XRT provider's lowering and the two
 * places its kernels run: an FPGA through XRT, or the host (csim, the same
 * HLS C functions called directly).
 *
 * Everything above this interface — tiling, im2col/GEMM lowering, fusion,
 * buffers per tensor, argument binding by name from the xclbin metadata — is
 * shared by both backends. A backend only allocates buffers, moves bytes in
 * and out of them and between two of them, and launches one kernel with its arguments already in
 * metadata order (xk_call), waiting for it to finish.
 *
 * Ownership: buffers returned by alloc belong to the caller until release.
 * Threading: every member may be called from several threads at once (a
 * session may run concurrently); backends keep no per-call state in the
 * object. Errors: members return a prism_status and write a sentence naming
 * the failing call (e.g. the XRT function) into err.
 */
#ifndef PRISM_XRT_BACKEND_H
#define PRISM_XRT_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/types.h"
#include "xrt_meta.h"

/* ---- the kernel contract of kernels/prism_hls.h, by name ------------------ */

typedef enum xk_id { XK_GEMM, XK_IM2COL, XK_ELTWISE, XK_POOL, XK_COUNT } xk_id;
typedef enum xk_kind { XK_ARG_BUF, XK_ARG_INT, XK_ARG_FLOAT } xk_kind;

#define XK_MAX_ARGS 32

/* Kernel name ("prism_gemm"...), argument count, and each argument's name
 * and kind as prism_hls.h declares them (contract order). */
const char *xk_name(xk_id k);
uint32_t xk_arg_count(xk_id k);
const char *xk_arg_name(xk_id k, uint32_t pos);
xk_kind xk_arg_kind(xk_id k, uint32_t pos);

/* Where each contract argument of a kernel sits in the xclbin metadata. */
typedef struct xk_binding {
    bool ok;                      /* every contract argument found with a compatible kind */
    char why[224];                /* when !ok: what is missing */
    const xm_kernel *meta;        /* the metadata kernel (NULL when absent) */
    int32_t index[XK_MAX_ARGS];   /* contract position -> metadata argument id */
} xk_binding;

/* Bind kernel k against metadata x (x must outlive the binding). */
void xk_bind(const xm_xclbin *x, xk_id k, xk_binding *out);

/* One argument value. Buffers are backend buffers plus a byte offset. */
typedef struct xk_value {
    xk_kind kind;
    void *buf;
    size_t offset;
    int64_t i;
    double f;
} xk_value;

/* A kernel call being assembled by argument name (contract order inside). */
typedef struct xk_call {
    xk_id kernel;
    xk_value v[XK_MAX_ARGS]; /* contract order */
    uint32_t set;            /* how many were given; checked at launch */
} xk_call;

void xk_call_init(xk_call *c, xk_id k);
/* Set argument `name`; a name not in the contract is a programming error
 * caught at launch (xk_call_complete). */
void xk_set_buf(xk_call *c, const char *name, void *buf, size_t offset);
void xk_set_int(xk_call *c, const char *name, int64_t v);
void xk_set_float(xk_call *c, const char *name, double v);
/* Whether every contract argument was set exactly once. */
bool xk_call_complete(const xk_call *c);
/* The arguments of c in metadata order (by_id[binding->index[p]] = v[p]). */
void xk_call_order(const xk_call *c, const xk_binding *b, xk_value *by_id);

/* ---- backends --------------------------------------------------------------- */

typedef struct xb_backend xb_backend;

typedef struct xb_ops {
    const char *name; /* "xrt" or "csim" */
    prism_status (*alloc)(xb_backend *b, size_t bytes, void **out_buf, char *err, size_t err_size);
    void (*release)(xb_backend *b, void *buf);
    prism_status (*write)(xb_backend *b, void *buf, size_t offset, const void *src, size_t bytes, char *err,
                          size_t err_size);
    prism_status (*read)(xb_backend *b, void *buf, size_t offset, void *dst, size_t bytes, char *err,
                         size_t err_size);
    /* Copy bytes from src at src_offset to dst at dst_offset without a trip
     * through host memory (XRT: xrtBOCopy; csim: memcpy). Both buffers are
     * this backend's; the ranges must lie inside them and not overlap.
     * Zero bytes is a no-op. */
    prism_status (*copy)(xb_backend *b, void *dst, size_t dst_offset, void *src, size_t src_offset, size_t bytes,
                         char *err, size_t err_size);
    /* Run kernel k to completion; by_id holds b->meta->n_args values. */
    prism_status (*launch)(xb_backend *b, xk_id k, const xk_binding *bind, const xk_value *by_id, char *err,
                           size_t err_size);
    void (*destroy)(xb_backend *b);
} xb_ops;

struct xb_backend {
    const xb_ops *ops;
};

/* The XRT backend: opens device `index`, loads the xclbin, opens every bound
 * kernel. Call only after xrt_env_check said XRT is safe to call. */
prism_status xb_xrt_create(unsigned index, const char *xclbin_path, const xm_xclbin *meta,
                           const xk_binding *binds, unsigned timeout_ms, xb_backend **out, char *err,
                           size_t err_size);
/* The csim backend: host memory buffers and direct calls of the HLS C
 * functions. Fails when the provider was built without them. */
prism_status xb_csim_create(xb_backend **out, char *err, size_t err_size);
/* Whether the HLS C functions are linked into this build. */
bool xb_csim_available(void);

#endif
