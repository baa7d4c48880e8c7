/*
 * xrt_backend_csim.c — the csim backend: the HLS kernels' C sources, linked
 * into the provider, called on the host.
 *
 * This is the C-simulation step of the Vitis flow run inside Prism: buffers
 * are host memory, and a launch calls prism_gemm/prism_im2col/... with the
 * arguments taken from the metadata-ordered vector through the same binding
 * the XRT backend uses. What csim checks is therefore the numerics of the
 * kernels and everything the host does around them; what it cannot check is
 * hardware timing and synthesis.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrt_backend.h"

#ifdef PRISM_XRT_HAVE_KERNELS
#include "prism_hls.h"
#endif

typedef struct csim_buf {
    size_t bytes;
    unsigned char *data;
} csim_buf;

static prism_status csim_alloc(xb_backend *b, size_t bytes, void **out, char *err, size_t n) {
    (void)b;
    size_t rounded = (bytes + 63) / 64 * 64;
    csim_buf *cb = rounded >= bytes ? malloc(sizeof *cb) : NULL;
    if (cb) cb->data = aligned_alloc(64, rounded ? rounded : 64);
    if (!cb || !cb->data) {
        free(cb);
        snprintf(err, n, "csim: cannot allocate a %zu-byte buffer", bytes);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    cb->bytes = bytes;
    *out = cb;
    return PRISM_OK;
}

static void csim_release(xb_backend *b, void *buf) {
    (void)b;
    csim_buf *cb = buf;
    if (!cb) return;
    free(cb->data);
    free(cb);
}

static bool in_range(const csim_buf *cb, size_t offset, size_t bytes) {
    return offset <= cb->bytes && bytes <= cb->bytes - offset;
}

static prism_status csim_write(xb_backend *b, void *buf, size_t offset, const void *src, size_t bytes, char *err,
                               size_t n) {
    (void)b;
    csim_buf *cb = buf;
    if (!in_range(cb, offset, bytes)) {
        snprintf(err, n, "csim: write of %zu bytes at %zu past a %zu-byte buffer", bytes, offset, cb->bytes);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    if (bytes) memcpy(cb->data + offset, src, bytes);
    return PRISM_OK;
}

static prism_status csim_read(xb_backend *b, void *buf, size_t offset, void *dst, size_t bytes, char *err,
                              size_t n) {
    (void)b;
    const csim_buf *cb = buf;
    if (!in_range(cb, offset, bytes)) {
        snprintf(err, n, "csim: read of %zu bytes at %zu past a %zu-byte buffer", bytes, offset, cb->bytes);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    if (bytes) memcpy(dst, cb->data + offset, bytes);
    return PRISM_OK;
}

static prism_status csim_copy(xb_backend *b, void *dst, size_t dst_offset, void *src, size_t src_offset,
                              size_t bytes, char *err, size_t n) {
    (void)b;
    csim_buf *d = dst;
    const csim_buf *sb = src;
    if (!in_range(d, dst_offset, bytes) || !in_range(sb, src_offset, bytes)) {
        snprintf(err, n, "csim: copy of %zu bytes from %zu (of %zu) to %zu (of %zu) is outside a buffer", bytes,
                 src_offset, sb->bytes, dst_offset, d->bytes);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    /* memmove: a copy within one buffer is legal for the caller to ask for */
    if (bytes) memmove(d->data + dst_offset, sb->data + src_offset, bytes);
    return PRISM_OK;
}

#ifdef PRISM_XRT_HAVE_KERNELS
/* Arguments by contract position, read through the binding. */
typedef struct args {
    const xk_binding *bind;
    const xk_value *by_id;
} args;

static float *P(const args *a, uint32_t pos) {
    const xk_value *v = &a->by_id[a->bind->index[pos]];
    const csim_buf *cb = v->buf;
    return cb ? (float *)(void *)(cb->data + v->offset) : NULL;
}
static int I(const args *a, uint32_t pos) { return (int)a->by_id[a->bind->index[pos]].i; }
static float F(const args *a, uint32_t pos) { return (float)a->by_id[a->bind->index[pos]].f; }
#endif

static prism_status csim_launch(xb_backend *b, xk_id k, const xk_binding *bind, const xk_value *by_id, char *err,
                                size_t n) {
    (void)b;
#ifdef PRISM_XRT_HAVE_KERNELS
    const args a = {bind, by_id};
    switch (k) {
    case XK_GEMM:
        prism_gemm(P(&a, 0), P(&a, 1), P(&a, 2), P(&a, 3), I(&a, 4), I(&a, 5), I(&a, 6), I(&a, 7), I(&a, 8),
                   I(&a, 9), I(&a, 10), I(&a, 11), I(&a, 12), I(&a, 13), I(&a, 14), I(&a, 15), I(&a, 16), F(&a, 17),
                   F(&a, 18), I(&a, 19), I(&a, 20), F(&a, 21), F(&a, 22));
        return PRISM_OK;
    case XK_IM2COL:
        prism_im2col(P(&a, 0), P(&a, 1), I(&a, 2), I(&a, 3), I(&a, 4), I(&a, 5), I(&a, 6), I(&a, 7), I(&a, 8),
                     I(&a, 9), I(&a, 10), I(&a, 11), I(&a, 12), I(&a, 13), I(&a, 14));
        return PRISM_OK;
    case XK_ELTWISE:
        prism_eltwise(P(&a, 0), P(&a, 1), P(&a, 2), I(&a, 3), I(&a, 4), I(&a, 5), I(&a, 6), I(&a, 7), I(&a, 8),
                      F(&a, 9), F(&a, 10));
        return PRISM_OK;
    case XK_POOL:
        prism_pool(P(&a, 0), P(&a, 1), I(&a, 2), I(&a, 3), I(&a, 4), I(&a, 5), I(&a, 6), I(&a, 7), I(&a, 8),
                   I(&a, 9), I(&a, 10), I(&a, 11), I(&a, 12), I(&a, 13), I(&a, 14), I(&a, 15), I(&a, 16), I(&a, 17),
                   I(&a, 18));
        return PRISM_OK;
    default: break;
    }
    snprintf(err, n, "csim: unknown kernel %d", (int)k);
    return PRISM_ERR_INTERNAL;
#else
    (void)bind;
    (void)by_id;
    snprintf(err, n, "csim: kernel %s is not linked into this build", xk_name(k));
    return PRISM_ERR_NOT_SUPPORTED;
#endif
}

static void csim_destroy(xb_backend *b) { free(b); }

static const xb_ops csim_ops = {
    .name = "csim",
    .alloc = csim_alloc,
    .release = csim_release,
    .write = csim_write,
    .read = csim_read,
    .copy = csim_copy,
    .launch = csim_launch,
    .destroy = csim_destroy,
};

bool xb_csim_available(void) {
#ifdef PRISM_XRT_HAVE_KERNELS
    return true;
#else
    return false;
#endif
}

prism_status xb_csim_create(xb_backend **out, char *err, size_t n) {
    if (!xb_csim_available()) {
        snprintf(err, n, "this build of the xrt provider does not contain the HLS kernels (csim unavailable)");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xb_backend *b = malloc(sizeof *b);
    if (!b) {
        snprintf(err, n, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    b->ops = &csim_ops;
    *out = b;
    return PRISM_OK;
}
