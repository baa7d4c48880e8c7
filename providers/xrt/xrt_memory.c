/*
 * xrt_memory.c — device buffers as the host sees them: tagged handles into a
 * per-instance table, and the ABI's copy functions.
 *
 * Why a table and not the backend pointer: the host must never be able to
 * pass us a stale or foreign pointer that we would then hand to XRT. A
 * handle is an integer with bit 63 set (not a user-space address on x86-64),
 * a 15-bit generation, the slot and a 0xC tag; it is looked up under the
 * instance's lock, so freed or foreign handles are refused with a message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xrt_internal.h"

#define TAG 0xCu
#define SLOT_BITS 44
#define GEN_BITS 15
#define NO_FREE UINT64_MAX

_Static_assert(sizeof(uintptr_t) >= 8, "the handle encoding needs 64-bit pointers");

static void *make_handle(uint64_t slot, uint32_t gen) {
    uint64_t g = gen & ((1u << GEN_BITS) - 1);
    return (void *)(uintptr_t)((UINT64_C(1) << 63) | (g << (SLOT_BITS + 4)) | (slot << 4) | TAG);
}

/* The live slot a handle names, or NULL. Call under inst->lock. */
static xr_handle_slot *lookup(prism_instance *inst, const void *handle) {
    uint64_t v = (uint64_t)(uintptr_t)handle;
    if ((v & 0xFu) != TAG || !(v >> 63)) return NULL;
    uint64_t slot = (v >> 4) & ((UINT64_C(1) << SLOT_BITS) - 1);
    uint32_t gen = (uint32_t)((v >> (SLOT_BITS + 4)) & ((1u << GEN_BITS) - 1));
    if (slot >= inst->n_slots) return NULL;
    xr_handle_slot *s = &inst->slots[slot];
    return s->used && (s->gen & ((1u << GEN_BITS) - 1)) == gen ? s : NULL;
}

void xr_mem_init(prism_instance *inst) {
    inst->slots = NULL;
    inst->n_slots = inst->cap_slots = 0;
    inst->free_head = NO_FREE;
    pthread_mutex_init(&inst->lock, NULL);
}

void xr_mem_fini(prism_instance *inst) {
    for (uint64_t i = 0; i < inst->n_slots; i++)
        if (inst->slots[i].used && inst->be) inst->be->ops->release(inst->be, inst->slots[i].buf);
    free(inst->slots);
    inst->slots = NULL;
    inst->n_slots = 0;
    pthread_mutex_destroy(&inst->lock);
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
    pthread_mutex_lock(&inst->lock);
    uint64_t slot = inst->free_head;
    if (slot == NO_FREE) {
        if (inst->n_slots == inst->cap_slots) {
            uint64_t cap = inst->cap_slots ? inst->cap_slots * 2 : 64;
            xr_handle_slot *ns =
                cap >= (UINT64_C(1) << SLOT_BITS) ? NULL : realloc(inst->slots, cap * sizeof *ns);
            if (!ns) {
                pthread_mutex_unlock(&inst->lock);
                inst->be->ops->release(inst->be, buf);
                snprintf(err, n, "the buffer table of xrt device %u cannot grow", inst->device);
                return PRISM_ERR_OUT_OF_MEMORY;
            }
            inst->slots = ns;
            inst->cap_slots = cap;
        }
        slot = inst->n_slots++;
        memset(&inst->slots[slot], 0, sizeof inst->slots[slot]);
    } else {
        inst->free_head = inst->slots[slot].next_free;
    }
    xr_handle_slot *s = &inst->slots[slot];
    s->buf = buf;
    s->bytes = bytes;
    s->used = true;
    s->gen++;
    void *h = make_handle(slot, s->gen);
    pthread_mutex_unlock(&inst->lock);
    *out_handle = h;
    if (out_buf) *out_buf = buf;
    return PRISM_OK;
}

void xr_mem_free(prism_instance *inst, void *handle) {
    if (!inst || !handle) return;
    pthread_mutex_lock(&inst->lock);
    xr_handle_slot *s = lookup(inst, handle);
    void *buf = NULL;
    if (s) {
        buf = s->buf;
        s->buf = NULL;
        s->bytes = 0;
        s->used = false;
        s->next_free = inst->free_head;
        inst->free_head = (uint64_t)(s - inst->slots);
    }
    pthread_mutex_unlock(&inst->lock);
    if (buf) inst->be->ops->release(inst->be, buf);
}

bool xr_mem_resolve(prism_instance *inst, const void *handle, void **out_buf, size_t *out_bytes) {
    pthread_mutex_lock(&inst->lock);
    xr_handle_slot *s = lookup(inst, handle);
    if (s) {
        *out_buf = s->buf;
        if (out_bytes) *out_bytes = s->bytes;
    }
    pthread_mutex_unlock(&inst->lock);
    return s != NULL;
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
