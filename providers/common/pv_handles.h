/*
 * pv_handles.h — a table of device buffers behind opaque 64-bit handles.
 *
 * A provider with its own device memory must never hand the host a pointer
 * it would later dereference on the host's word: the host (or a bug in it)
 * could pass back a freed buffer, another instance's buffer or garbage. A
 * handle from this table is a tagged integer, never an address:
 *
 *     bit 63      always 1 (not a canonical user-space address on x86-64)
 *     bits 52-62  owner id (11 bits, given at init: one per instance)
 *     bits 36-51  generation of the slot (16 bits, bumped at every reuse)
 *     bits 4-35   slot index
 *     bits 0-3    the provider's tag nibble
 *
 * so a lookup refuses a handle of another provider (tag), of another table
 * (owner id), one already removed (generation) or anything else. Owner ids
 * repeat after 2048 tables and generations after 65536 reuses of one slot:
 * the check is a defence against mistakes, not against an adversary.
 *
 * Ownership: the table stores a payload pointer and a byte count per handle
 * and never interprets, frees or copies the payload; the caller releases
 * payloads it gets back from remove or drain.
 * Threading: every call except init and fini takes the table's mutex, so a
 * table may be used from several threads at once. init and fini must not race
 * with anything else on the same table.
 * Errors: init fails only when the mutex cannot be created, add only when the
 * table cannot grow (out of memory, or 2^32 live slots); lookups and removes
 * of unknown handles return false and change nothing.
 */
#ifndef PRISM_PV_HANDLES_H
#define PRISM_PV_HANDLES_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One slot. Private to pv_handles.c; here only so that tables can be
 * embedded by value. */
typedef struct pv_handle_slot {
    void *payload;
    size_t bytes;
    uint32_t gen;
    bool used;
    uint64_t next_free;
} pv_handle_slot;

typedef struct pv_handle_table {
    pthread_mutex_t lock;
    pv_handle_slot *slots;
    uint64_t n_slots, cap_slots, free_head;
    uint64_t tag, owner;
} pv_handle_table;

/* An empty table whose handles carry the low 4 bits of tag and the low 11
 * bits of owner. false: the mutex could not be created (t is then unusable,
 * and fini must not be called). */
bool pv_handles_init(pv_handle_table *t, uint32_t tag, uint32_t owner);
/* Free the table itself. Payloads still in it are not released: drain first.
 * NULL-safe; t may be initialised again afterwards. */
void pv_handles_fini(pv_handle_table *t);

/* A new handle for (payload, bytes) in *out_handle. false: the table cannot
 * grow; nothing changed and the caller still owns payload. */
bool pv_handles_add(pv_handle_table *t, void *payload, size_t bytes, void **out_handle);
/* The payload and byte count of a live handle (either out pointer may be
 * NULL). false, outputs untouched: not a live handle of this table. The
 * payload stays the caller's business: the table does not keep it alive. */
bool pv_handles_lookup(pv_handle_table *t, const void *handle, void **payload, size_t *bytes);
/* Forget a live handle, giving back its payload and byte count (either out
 * pointer may be NULL). false, outputs untouched: not a live handle. */
bool pv_handles_remove(pv_handle_table *t, const void *handle, void **payload, size_t *bytes);
/* Remove every live handle, calling release(ctx, payload, bytes) for each
 * outside the table's lock (release may use the table). */
void pv_handles_drain(pv_handle_table *t, void (*release)(void *ctx, void *payload, size_t bytes), void *ctx);

#endif
