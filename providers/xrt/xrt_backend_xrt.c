/*
 * xrt_backend_xrt.c — the XRT backend: buffer objects, transfers and kernel
 * runs through XRT's native C API (libxrt_coreutil).
 *
 * Why each detail:
 *  - XRT's C functions report failure only by return value (-1, NULL, a run
 *    state); errno is unreliable, and xrtErrorGetString is not exported in
 *    XRT 2.13. So every message names the XRT call that failed.
 *  - xrtRunSetArg is variadic and XRT reads each argument with the C type of
 *    the metadata's <arg type>: "float" arrives as a double, "int" as int,
 *    other scalars by size, buffers as xrtBufferHandle. set_arg passes
 *    exactly that type; passing anything else is undefined behaviour.
 *  - A kernel argument that starts inside a buffer (an image of a batch) is
 *    a sub-buffer (xrtBOSubAlloc) for the duration of the run.
 *  - Every buffer lives in the memory bank of the GEMM kernel's first buffer
 *    argument (xrtKernelArgGroupId): the kernels share one bank in the
 *    project's xclbins, so any tensor may feed any kernel argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xrt/xrt_bo.h>
#include <xrt/xrt_device.h>
#include <xrt/xrt_kernel.h>

#include "xrt_backend.h"

typedef struct xrt_be {
    xb_backend base;
    unsigned index;
    unsigned timeout_ms;
    xrtDeviceHandle dev;
    xrtKernelHandle kernels[XK_COUNT];
    xrtMemoryGroup group;
} xrt_be;

typedef struct xrt_buf {
    xrtBufferHandle bo;
    size_t bytes;
} xrt_buf;

static prism_status xrt_alloc(xb_backend *b, size_t bytes, void **out, char *err, size_t n) {
    xrt_be *x = (xrt_be *)b;
    xrt_buf *xb = malloc(sizeof *xb);
    if (!xb) {
        snprintf(err, n, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    /* XRT refuses zero-byte buffer objects; a tensor may be empty. */
    xb->bo = xrtBOAlloc(x->dev, bytes ? bytes : 64, XRT_BO_FLAGS_NONE, x->group);
    if (!xb->bo) {
        free(xb);
        snprintf(err, n, "xrtBOAlloc(%zu bytes, memory group %u) failed on XRT device %u", bytes, x->group, x->index);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    xb->bytes = bytes;
    *out = xb;
    return PRISM_OK;
}

static void xrt_release(xb_backend *b, void *buf) {
    (void)b;
    xrt_buf *xb = buf;
    if (!xb) return;
    xrtBOFree(xb->bo);
    free(xb);
}

static prism_status range_error(const xrt_buf *xb, size_t offset, size_t bytes, char *err, size_t n) {
    if (offset <= xb->bytes && bytes <= xb->bytes - offset) return PRISM_OK;
    snprintf(err, n, "transfer of %zu bytes at %zu is outside a %zu-byte buffer", bytes, offset, xb->bytes);
    return PRISM_ERR_INVALID_ARGUMENT;
}

static prism_status xrt_write(xb_backend *b, void *buf, size_t offset, const void *src, size_t bytes, char *err,
                              size_t n) {
    xrt_be *x = (xrt_be *)b;
    xrt_buf *xb = buf;
    prism_status st = range_error(xb, offset, bytes, err, n);
    if (st || !bytes) return st;
    if (xrtBOWrite(xb->bo, src, bytes, offset)) {
        snprintf(err, n, "xrtBOWrite(%zu bytes at %zu) failed on XRT device %u", bytes, offset, x->index);
        return PRISM_ERR_PROVIDER;
    }
    if (xrtBOSync(xb->bo, XCL_BO_SYNC_BO_TO_DEVICE, bytes, offset)) {
        snprintf(err, n, "xrtBOSync(to device, %zu bytes at %zu) failed on XRT device %u", bytes, offset, x->index);
        return PRISM_ERR_PROVIDER;
    }
    return PRISM_OK;
}

static prism_status xrt_read(xb_backend *b, void *buf, size_t offset, void *dst, size_t bytes, char *err,
                             size_t n) {
    xrt_be *x = (xrt_be *)b;
    xrt_buf *xb = buf;
    prism_status st = range_error(xb, offset, bytes, err, n);
    if (st || !bytes) return st;
    if (xrtBOSync(xb->bo, XCL_BO_SYNC_BO_FROM_DEVICE, bytes, offset)) {
        snprintf(err, n, "xrtBOSync(from device, %zu bytes at %zu) failed on XRT device %u", bytes, offset,
                 x->index);
        return PRISM_ERR_PROVIDER;
    }
    if (xrtBORead(xb->bo, dst, bytes, offset)) {
        snprintf(err, n, "xrtBORead(%zu bytes at %zu) failed on XRT device %u", bytes, offset, x->index);
        return PRISM_ERR_PROVIDER;
    }
    return PRISM_OK;
}

/* A device-side copy: XRT uses the card's copy engine where the shell has
 * one and otherwise stages through host memory itself; either way the
 * provider never sees the bytes. XRT calls a zero-byte copy an error, so
 * that case returns before reaching it. */
static prism_status xrt_copy(xb_backend *b, void *dst, size_t dst_offset, void *src, size_t src_offset, size_t bytes,
                             char *err, size_t n) {
    xrt_be *x = (xrt_be *)b;
    xrt_buf *d = dst, *sb = src;
    prism_status st = range_error(d, dst_offset, bytes, err, n);
    if (!st) st = range_error(sb, src_offset, bytes, err, n);
    if (st || !bytes) return st;
    int rc = xrtBOCopy(d->bo, sb->bo, bytes, dst_offset, src_offset);
    if (rc) {
        snprintf(err, n, "xrtBOCopy(%zu bytes, dst offset %zu, src offset %zu) failed with %d on XRT device %u", bytes,
                 dst_offset, src_offset, rc, x->index);
        return PRISM_ERR_PROVIDER;
    }
    return PRISM_OK;
}

/* Pass argument id of the metadata with its exact C type. *sub receives a
 * sub-buffer the caller frees after the run. */
static int set_arg(xrtRunHandle run, const xm_arg *a, const xk_value *v, xrtBufferHandle *sub) {
    int id = a->id;
    switch (a->ctype) {
    case XM_BUFFER: {
        const xrt_buf *xb = v->buf;
        if (!xb || v->offset > xb->bytes) return -1;
        xrtBufferHandle bo = xb->bo;
        if (v->offset) {
            size_t left = xb->bytes - v->offset;
            *sub = xrtBOSubAlloc(xb->bo, left ? left : 4, v->offset);
            if (!*sub) return -2;
            bo = *sub;
        }
        return xrtRunSetArg(run, id, bo);
    }
    case XM_INT: return xrtRunSetArg(run, id, (int)v->i);
    case XM_UINT: return xrtRunSetArg(run, id, (unsigned int)v->i);
    case XM_FLOAT: return xrtRunSetArg(run, id, (double)(float)v->f); /* varargs promote float to double */
    case XM_DOUBLE: return xrtRunSetArg(run, id, v->f);
    case XM_U32: return xrtRunSetArg(run, id, (uint32_t)v->i);
    case XM_U64: return xrtRunSetArg(run, id, (uint64_t)v->i);
    case XM_UNKNOWN: break;
    }
    return -1;
}

static prism_status xrt_launch(xb_backend *b, xk_id k, const xk_binding *bind, const xk_value *by_id, char *err,
                               size_t n) {
    xrt_be *x = (xrt_be *)b;
    const xm_kernel *mk = bind->meta;
    if (!x->kernels[k] || !mk) {
        snprintf(err, n, "kernel %s is not open on XRT device %u", xk_name(k), x->index);
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xrtRunHandle run = xrtRunOpen(x->kernels[k]);
    if (!run) {
        snprintf(err, n, "xrtRunOpen(%s) failed on XRT device %u", mk->name, x->index);
        return PRISM_ERR_PROVIDER;
    }
    xrtBufferHandle subs[XK_MAX_ARGS] = {0};
    prism_status st = PRISM_OK;
    for (uint32_t i = 0; i < mk->n_args && !st; i++) {
        int rc = set_arg(run, &mk->args[i], &by_id[i], &subs[i]);
        if (rc == -2)
            snprintf(err, n, "xrtBOSubAlloc(offset %zu) for %s argument '%s' failed", by_id[i].offset, mk->name,
                     mk->args[i].name);
        else if (rc)
            snprintf(err, n, "xrtRunSetArg(%s, %u '%s', type %s) failed", mk->name, i, mk->args[i].name,
                     mk->args[i].type);
        if (rc) st = PRISM_ERR_PROVIDER;
    }
    if (!st && xrtRunStart(run)) {
        snprintf(err, n, "xrtRunStart(%s) failed on XRT device %u", mk->name, x->index);
        st = PRISM_ERR_PROVIDER;
    }
    if (!st) {
        enum ert_cmd_state s = xrtRunWaitFor(run, x->timeout_ms);
        if (s != ERT_CMD_STATE_COMPLETED) {
            snprintf(err, n, "xrtRunWaitFor(%s, %u ms) ended in state %d, not COMPLETED (%d)%s", mk->name,
                     x->timeout_ms, (int)s, (int)ERT_CMD_STATE_COMPLETED,
                     s == ERT_CMD_STATE_NEW || s == ERT_CMD_STATE_QUEUED || s == ERT_CMD_STATE_RUNNING
                         ? ": timed out (provider option timeout_ms)"
                         : "");
            st = PRISM_ERR_RUNTIME;
        }
    }
    xrtRunClose(run);
    for (uint32_t i = 0; i < mk->n_args; i++)
        if (subs[i]) xrtBOFree(subs[i]);
    return st;
}

static void xrt_destroy(xb_backend *b) {
    xrt_be *x = (xrt_be *)b;
    if (!x) return;
    for (int k = 0; k < XK_COUNT; k++)
        if (x->kernels[k]) xrtKernelClose(x->kernels[k]);
    if (x->dev) xrtDeviceClose(x->dev);
    free(x);
}

static const xb_ops xrt_ops = {
    .name = "xrt",
    .alloc = xrt_alloc,
    .release = xrt_release,
    .write = xrt_write,
    .read = xrt_read,
    .copy = xrt_copy,
    .launch = xrt_launch,
    .destroy = xrt_destroy,
};

prism_status xb_xrt_create(unsigned index, const char *xclbin_path, const xm_xclbin *meta, const xk_binding *binds,
                           unsigned timeout_ms, xb_backend **out, char *err, size_t n) {
    xrt_be *x = calloc(1, sizeof *x);
    if (!x) {
        snprintf(err, n, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    x->base.ops = &xrt_ops;
    x->index = index;
    x->timeout_ms = timeout_ms;
    x->dev = xrtDeviceOpen(index);
    prism_status st = PRISM_OK;
    if (!x->dev) {
        snprintf(err, n, "xrtDeviceOpen(%u) failed", index);
        st = PRISM_ERR_NOT_FOUND;
    } else if (xrtDeviceLoadXclbinFile(x->dev, xclbin_path)) {
        snprintf(err, n, "xrtDeviceLoadXclbinFile('%s') failed on XRT device %u", xclbin_path, index);
        st = PRISM_ERR_PROVIDER;
    }
    for (int k = 0; k < XK_COUNT && !st; k++) {
        if (!binds[k].ok) continue; /* its ops are not claimed */
        x->kernels[k] = xrtPLKernelOpen(x->dev, meta->uuid, xk_name((xk_id)k));
        if (!x->kernels[k]) {
            snprintf(err, n, "xrtPLKernelOpen(%s) failed on XRT device %u", xk_name((xk_id)k), index);
            st = PRISM_ERR_PROVIDER;
        }
    }
    if (!st) {
        int group = -1;
        if (binds[XK_GEMM].ok && x->kernels[XK_GEMM]) group = xrtKernelArgGroupId(x->kernels[XK_GEMM], binds[XK_GEMM].index[0]);
        for (int k = 0; k < XK_COUNT && group < 0; k++)
            if (x->kernels[k]) group = xrtKernelArgGroupId(x->kernels[k], binds[k].index[0]);
        if (group < 0) {
            snprintf(err, n,
                     "xrtKernelArgGroupId gave no memory group for the kernels' buffer arguments (does the xclbin "
                     "have a CONNECTIVITY section?)");
            st = PRISM_ERR_PROVIDER;
        }
        x->group = (xrtMemoryGroup)group;
    }
    if (st) {
        xrt_destroy(&x->base);
        return st;
    }
    *out = &x->base;
    return PRISM_OK;
}
