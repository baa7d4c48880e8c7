/*
 * example_memory.c — the simulated device memory: a handle table per instance
 * and the copies in and out of it.
 *
 * A handle is a tagged integer from the instance's pv_handle_table, never a
 * host pointer: bit 63 is set, so the value is not a canonical user-space
 * address on x86-64. A host that dereferenced one would fault at once, which
 * is the point of the simulation: it proves the host moves data only through
 * the copy functions. A freed handle, or one of another instance, fails the
 * lookup even after its slot is reused.
 *
 * Runs happen on several threads at once: the table has its own lock, and
 * the instances' used bytes are guarded by the device's mutex. Kernels
 * resolve a handle to its backing store once and then work on the store
 * unlocked: the host never frees a buffer a run is still using.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_internal.h"

bool ex_device_init(ex_device *d, uint32_t index) {
    memset(d, 0, sizeof *d);
    d->index = index;
    return pthread_mutex_init(&d->lock, NULL) == 0;
}

void ex_device_fini(ex_device *d) { pthread_mutex_destroy(&d->lock); }

bool ex_mem_init_instance(prism_instance *inst) {
    unsigned owner = atomic_fetch_add_explicit(&inst->prov->next_owner, 1u, memory_order_relaxed) + 1u;
    return pv_handles_init(&inst->handles, EX_HANDLE_TAG, owner);
}

/* Give bytes of inst's capacity back. */
static void unaccount(prism_instance *inst, size_t bytes) {
    pthread_mutex_lock(&inst->dev->lock);
    inst->used -= bytes;
    pthread_mutex_unlock(&inst->dev->lock);
}

prism_status ex_mem_alloc(prism_instance *inst, size_t bytes, void **out_handle, void **out_ptr, char *err) {
    ex_device *d = inst->dev;
    /* 64-byte aligned like real device allocations (and good for the
     * kernels' vector loads); a zero-byte buffer still gets a distinct store. */
    size_t rounded = (bytes + 63) / 64 * 64;
    if (rounded < bytes) {
        snprintf(err, EX_ERR, "cannot allocate %zu bytes", bytes);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    /* Reserve the bytes first, so concurrent allocations never overrun the
     * capacity; a later failure gives them back. */
    pthread_mutex_lock(&d->lock);
    if (bytes > inst->capacity || inst->used > inst->capacity - bytes) {
        uint64_t used = inst->used;
        pthread_mutex_unlock(&d->lock);
        snprintf(err, EX_ERR,
                 "out of device memory on %s: %zu bytes requested, %llu of %llu bytes in use (capacity_mb=%.6g)",
                 d->name, bytes, (unsigned long long)used, (unsigned long long)inst->capacity,
                 inst->capacity_mb);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    inst->used += bytes;
    pthread_mutex_unlock(&d->lock);
    void *data = aligned_alloc(64, rounded ? rounded : 64);
    if (!data) {
        unaccount(inst, bytes);
        snprintf(err, EX_ERR, "cannot allocate %zu bytes of backing store", bytes);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (!pv_handles_add(&inst->handles, data, bytes, out_handle)) {
        free(data);
        unaccount(inst, bytes);
        snprintf(err, EX_ERR, "the buffer table of %s cannot grow", d->name);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (out_ptr) *out_ptr = data;
    return PRISM_OK;
}

void ex_mem_free(prism_instance *inst, void *handle) {
    if (!inst || !handle) return;
    void *data = NULL;
    size_t bytes = 0;
    if (!pv_handles_remove(&inst->handles, handle, &data, &bytes)) return;
    free(data);
    unaccount(inst, bytes);
}

bool ex_mem_resolve(prism_instance *inst, const void *handle, void **out_ptr, size_t *out_bytes) {
    return pv_handles_lookup(&inst->handles, handle, out_ptr, out_bytes);
}

static void release_store(void *ctx, void *data, size_t bytes) {
    free(data);
    unaccount(ctx, bytes);
}

void ex_mem_release_instance(prism_instance *inst) {
    pv_handles_drain(&inst->handles, release_store, inst);
    pv_handles_fini(&inst->handles);
}

/* ---- the ABI's memory members ------------------------------------------------ */

prism_status ex_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer) {
    if (!inst || !out_buffer) return PRISM_ERR_INVALID_ARGUMENT;
    char err[EX_ERR];
    prism_status st = ex_mem_alloc(inst, bytes, out_buffer, NULL, err);
    if (st) inst->prov->host->set_error(hc, err);
    return st;
}

void ex_buffer_free(prism_instance *inst, void *buffer) { ex_mem_free(inst, buffer); }

/* Resolve `handle` for a copy of `bytes` at `offset`, with a clear error
 * naming `what` (source/destination) otherwise. */
static prism_status checked(prism_instance *inst, const void *handle, size_t offset, size_t bytes, const char *what,
                            prism_host_context *hc, char **out) {
    void *ptr;
    size_t size;
    if (!ex_mem_resolve(inst, handle, &ptr, &size))
        return ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                       "%s buffer %p is not a live buffer of this instance on %s", what, handle, inst->dev->name);
    if (offset > size || bytes > size - offset)
        return ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                       "%s range [%zu, %zu + %zu) is outside the %zu-byte buffer", what, offset, offset, bytes, size);
    *out = (char *)ptr + offset;
    return PRISM_OK;
}

prism_status ex_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                               size_t bytes, prism_host_context *hc) {
    if (!inst) return PRISM_ERR_INVALID_ARGUMENT;
    if (!src && bytes) return ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy to device from a NULL host pointer");
    char *dst = NULL;
    prism_status st = checked(inst, dst_buffer, dst_offset, bytes, "destination", hc, &dst);
    if (st) return st;
    if (bytes) memcpy(dst, src, bytes);
    return PRISM_OK;
}

prism_status ex_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                 size_t bytes, prism_host_context *hc) {
    if (!inst) return PRISM_ERR_INVALID_ARGUMENT;
    if (!dst && bytes) return ex_fail(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy from device to a NULL host pointer");
    char *src = NULL;
    prism_status st = checked(inst, src_buffer, src_offset, bytes, "source", hc, &src);
    if (st) return st;
    if (bytes) memcpy(dst, src, bytes);
    return PRISM_OK;
}

prism_status ex_copy_device_to_device(prism_instance *dst_inst, void *dst_buffer, prism_instance *src_inst,
                                      const void *src_buffer, size_t bytes, prism_host_context *hc) {
    if (!dst_inst || !src_inst) return PRISM_ERR_INVALID_ARGUMENT;
    /* The host calls this through the destination's table, so dst_inst is
     * ours; the source may come from any provider's instance. */
    if (dst_inst->magic != EX_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (src_inst->magic != EX_INSTANCE_MAGIC)
        return ex_fail(dst_inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                       "device-to-device copy from an instance of another provider");
    char *src = NULL, *dst = NULL;
    prism_status st = checked(src_inst, src_buffer, 0, bytes, "source", hc, &src);
    if (!st) st = checked(dst_inst, dst_buffer, 0, bytes, "destination", hc, &dst);
    if (st) return st;
    if (bytes) memmove(dst, src, bytes);
    return PRISM_OK;
}

prism_status ex_synchronize(prism_instance *inst, prism_host_context *hc) {
    (void)inst;
    (void)hc;
    return PRISM_OK; /* every run and copy completes before it returns */
}
