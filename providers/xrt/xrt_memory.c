/*
 * xrt_memory.c — device buffers as the host sees them: tagged handles into a
 * per-instance table, and the ABI's copy functions.
 *
 * Why a table and not the backend pointer: the host must never be able to
 * pass us a stale or foreign pointer that we would then hand to XRT. A
 * handle is a tagged integer from the instance's pv_handle_table (bit 63
 * set, so not a user-space address on x86-64); freed, foreign or another
 * instance's handles fail the lookup and are refused with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrt_internal.h"

bool xr_mem_init(prism_instance *inst) {
    unsigned owner = atomic_fetch_add_explicit(&inst->prov->next_owner, 1u, memory_order_relaxed) + 1u;
    return pv_handles_init(&inst->handles, XR_HANDLE_TAG, owner);
}

static void release_buf(void *ctx, void *payload, size_t bytes) {
    (void)bytes;
    prism_instance *inst = ctx;
    if (inst->be) inst->be->ops->release(inst->be, payload);
}

void xr_mem_fini(prism_instance *inst) {
    pv_handles_drain(&inst->handles, release_buf, inst);
    pv_handles_fini(&inst->handles);
}

prism_status xr_mem_alloc(prism_instance *inst, size_t bytes, void **out_handle, void **out_buf, char *err,
                          size_t n) {
    if (!inst->be) {
        snprintf(err, n, "xrt device %u has no backend (%s)", inst->device, inst->why_disabled);
        return PRISM_ERR_NOT_SUPPORTED;
    }
    void *buf = NULL;
    prism_status st = inst->be->ops->alloc(inst->be, bytes, &buf, err, n);
    if (st) return st;
    if (!pv_handles_add(&inst->handles, buf, bytes, out_handle)) {
        inst->be->ops->release(inst->be, buf);
        snprintf(err, n, "the buffer table of xrt device %u cannot grow", inst->device);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (out_buf) *out_buf = buf;
    return PRISM_OK;
}

void xr_mem_free(prism_instance *inst, void *handle) {
    if (!inst || !handle) return;
    void *buf = NULL;
    if (pv_handles_remove(&inst->handles, handle, &buf, NULL) && buf) inst->be->ops->release(inst->be, buf);
}

bool xr_mem_resolve(prism_instance *inst, const void *handle, void **out_buf, size_t *out_bytes) {
    return pv_handles_lookup(&inst->handles, handle, out_buf, out_bytes);
}

prism_status xr_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer) {
    if (!inst || inst->magic != XR_INSTANCE_MAGIC || !out_buffer) return PRISM_ERR_INVALID_ARGUMENT;
    char err[XR_ERR];
    prism_status st = xr_mem_alloc(inst, bytes, out_buffer, NULL, err, sizeof err);
    if (st) inst->prov->host->set_error(hc, err);
    return st;
}

void xr_buffer_free(prism_instance *inst, void *buffer) {
    if (inst && inst->magic == XR_INSTANCE_MAGIC) xr_mem_free(inst, buffer);
}

/* The backend buffer of a handle, checked for a copy of bytes at offset. */
static prism_status checked(prism_instance *inst, const void *handle, size_t offset, size_t bytes, const char *what,
                            prism_host_context *hc, void **out) {
    size_t size = 0;
    if (!xr_mem_resolve(inst, handle, out, &size))
        return xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "%s buffer %p is not a live buffer of xrt device %u",
                       what, handle, inst->device);
    if (offset > size || bytes > size - offset)
        return xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "%s range [%zu, %zu + %zu) is outside the %zu-byte buffer",
                       what, offset, offset, bytes, size);
    return PRISM_OK;
}

prism_status xr_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                               size_t bytes, prism_host_context *hc) {
    if (!inst || inst->magic != XR_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (!src && bytes) return xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy to device from a NULL host pointer");
    void *buf;
    prism_status st = checked(inst, dst_buffer, dst_offset, bytes, "destination", hc, &buf);
    if (st) return st;
    char err[XR_ERR];
    st = inst->be->ops->write(inst->be, buf, dst_offset, src, bytes, err, sizeof err);
    return st ? xr_fail(inst, hc, st, "copy to device: %s", err) : PRISM_OK;
}

prism_status xr_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                 size_t bytes, prism_host_context *hc) {
    if (!inst || inst->magic != XR_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (!dst && bytes) return xr_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy from device to a NULL host pointer");
    void *buf;
    prism_status st = checked(inst, src_buffer, src_offset, bytes, "source", hc, &buf);
    if (st) return st;
    char err[XR_ERR];
    st = inst->be->ops->read(inst->be, buf, src_offset, dst, bytes, err, sizeof err);
    return st ? xr_fail(inst, hc, st, "copy from device: %s", err) : PRISM_OK;
}

prism_status xr_synchronize(prism_instance *inst, prism_host_context *hc) {
    (void)inst;
    (void)hc;
    return PRISM_OK; /* every run and copy waits for completion before returning */
}
