/*
 * example_memory.c — the simulated device memory: a handle table per device
 * and the copies in and out of it.
 *
 * A handle is a tagged integer, never a host pointer: bit 63 is set (so the
 * value is not a canonical user-space address on x86-64), bits 48-62 hold a
 * generation, bits 4-47 the table slot and the low nibble is 0xA. A host that
 * dereferenced one would fault at once, which is the point of the simulation:
 * it proves the host moves data only through the copy functions. The
 * generation makes a freed handle invalid even after its slot is reused.
 *
 * Runs happen on several threads at once, so the table is guarded by the
 * device's mutex. Kernels resolve a handle to its backing store once, under
 * the lock, and then work on the store unlocked: the host never frees a
 * buffer a run is still using.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_internal.h"

#define TAG 0xAu
#define SLOT_BITS 44
#define GEN_BITS 15
#define NO_FREE UINT64_MAX

_Static_assert(sizeof(uintptr_t) >= 8, "the handle encoding needs 64-bit pointers");

static void *make_handle(uint64_t slot, uint32_t gen) {
    uint64_t g = gen & ((1u << GEN_BITS) - 1);
    uint64_t v = (UINT64_C(1) << 63) | (g << (SLOT_BITS + 4)) | (slot << 4) | TAG;
    return (void *)(uintptr_t)v;
}

/* The live entry a handle names on device d, or NULL. Call under d->lock. */
static ex_buffer *lookup(ex_device *d, const void *handle) {
    uint64_t v = (uint64_t)(uintptr_t)handle;
    if ((v & 0xFu) != TAG || !(v >> 63)) return NULL;
    uint64_t slot = (v >> 4) & ((UINT64_C(1) << SLOT_BITS) - 1);
    uint32_t gen = (uint32_t)((v >> (SLOT_BITS + 4)) & ((1u << GEN_BITS) - 1));
    if (slot >= d->n_bufs) return NULL;
    ex_buffer *b = &d->bufs[slot];
    if (!b->used || (b->gen & ((1u << GEN_BITS) - 1)) != gen) return NULL;
    return b;
}

bool ex_device_init(ex_device *d, uint32_t index) {
    memset(d, 0, sizeof *d);
    d->index = index;
    d->free_head = NO_FREE;
    return pthread_mutex_init(&d->lock, NULL) == 0;
}

void ex_device_fini(ex_device *d) {
    for (uint64_t i = 0; i < d->n_bufs; i++)
        if (d->bufs[i].used) free(d->bufs[i].data);
    free(d->bufs);
    pthread_mutex_destroy(&d->lock);
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
    uint64_t slot = d->free_head;
    if (slot == NO_FREE) {
        if (d->n_bufs == d->cap_bufs) {
            uint64_t cap = d->cap_bufs ? d->cap_bufs * 2 : 64;
            ex_buffer *nb = cap >= (UINT64_C(1) << SLOT_BITS) ? NULL : realloc(d->bufs, cap * sizeof *nb);
            if (!nb) {
                pthread_mutex_unlock(&d->lock);
                snprintf(err, EX_ERR, "the buffer table of %s cannot grow", d->name);
                return PRISM_ERR_OUT_OF_MEMORY;
            }
            d->bufs = nb;
            d->cap_bufs = cap;
        }
        slot = d->n_bufs++;
        memset(&d->bufs[slot], 0, sizeof d->bufs[slot]);
    } else {
        d->free_head = d->bufs[slot].next_free;
    }
    ex_buffer *b = &d->bufs[slot];
    void *data = aligned_alloc(64, rounded ? rounded : 64);
    if (!data) {
        b->next_free = d->free_head;
        d->free_head = slot;
        pthread_mutex_unlock(&d->lock);
        snprintf(err, EX_ERR, "cannot allocate %zu bytes of backing store", bytes);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    b->data = data;
    b->bytes = bytes;
    b->owner = inst;
    b->used = true;
    b->gen++;
    inst->used += bytes;
    void *h = make_handle(slot, b->gen);
    pthread_mutex_unlock(&d->lock);
    *out_handle = h;
    if (out_ptr) *out_ptr = data;
    return PRISM_OK;
}

/* Free entry b (slot index slot) of device d. Call under d->lock. */
static void release(ex_device *d, ex_buffer *b) {
    prism_instance *owner = (prism_instance *)b->owner;
    owner->used -= b->bytes;
    free(b->data);
    b->data = NULL;
    b->bytes = 0;
    b->owner = NULL;
    b->used = false;
    b->next_free = d->free_head;
    d->free_head = (uint64_t)(b - d->bufs);
}

void ex_mem_free(prism_instance *inst, void *handle) {
    if (!inst || !handle) return;
    ex_device *d = inst->dev;
    pthread_mutex_lock(&d->lock);
    ex_buffer *b = lookup(d, handle);
    if (b && b->owner == inst) release(d, b);
    pthread_mutex_unlock(&d->lock);
}

bool ex_mem_resolve(const prism_instance *inst, const void *handle, void **out_ptr, size_t *out_bytes) {
    ex_device *d = inst->dev;
    pthread_mutex_lock(&d->lock);
    ex_buffer *b = lookup(d, handle);
    bool ok = b && b->owner == inst;
    if (ok) {
        *out_ptr = b->data;
        if (out_bytes) *out_bytes = b->bytes;
    }
    pthread_mutex_unlock(&d->lock);
    return ok;
}

void ex_mem_release_instance(prism_instance *inst) {
    ex_device *d = inst->dev;
    pthread_mutex_lock(&d->lock);
    for (uint64_t i = 0; i < d->n_bufs; i++)
        if (d->bufs[i].used && d->bufs[i].owner == inst) release(d, &d->bufs[i]);
    pthread_mutex_unlock(&d->lock);
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
