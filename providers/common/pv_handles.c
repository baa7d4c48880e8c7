/*
 * pv_handles.c — the buffer handle table (layout of a handle in
 * pv_handles.h). Slots live in one growing array with a free list threaded
 * through the unused ones, so add and remove are O(1) and a slot's index
 * never changes while its handle is live.
 */
#include <stdlib.h>
#include <string.h>

#include "pv_handles.h"

#define TAG_BITS 4
#define SLOT_BITS 32
#define GEN_BITS 16
#define OWNER_BITS 11
#define SLOT_SHIFT TAG_BITS
#define GEN_SHIFT (SLOT_SHIFT + SLOT_BITS)
#define OWNER_SHIFT (GEN_SHIFT + GEN_BITS)
#define MASK(bits) ((UINT64_C(1) << (bits)) - 1)
#define NO_FREE UINT64_MAX

_Static_assert(OWNER_SHIFT + OWNER_BITS == 63, "the fields fill bits 0-62 of a handle");
_Static_assert(sizeof(uintptr_t) >= 8, "the handle encoding needs 64-bit pointers");

bool pv_handles_init(pv_handle_table *t, uint32_t tag, uint32_t owner) {
    memset(t, 0, sizeof *t);
    t->free_head = NO_FREE;
    t->tag = tag & MASK(TAG_BITS);
    t->owner = owner & MASK(OWNER_BITS);
    return pthread_mutex_init(&t->lock, NULL) == 0;
}

void pv_handles_fini(pv_handle_table *t) {
    if (!t) return;
    free(t->slots);
    t->slots = NULL;
    t->n_slots = t->cap_slots = 0;
    t->free_head = NO_FREE;
    pthread_mutex_destroy(&t->lock);
}

static void *make_handle(const pv_handle_table *t, uint64_t slot, uint32_t gen) {
    uint64_t v = (UINT64_C(1) << 63) | (t->owner << OWNER_SHIFT) | (((uint64_t)gen & MASK(GEN_BITS)) << GEN_SHIFT) |
                 (slot << SLOT_SHIFT) | t->tag;
    return (void *)(uintptr_t)v;
}

/* The live slot a handle names, or NULL. Call under t->lock. */
static pv_handle_slot *find(pv_handle_table *t, const void *handle) {
    uint64_t v = (uint64_t)(uintptr_t)handle;
    if (!(v >> 63) || (v & MASK(TAG_BITS)) != t->tag || ((v >> OWNER_SHIFT) & MASK(OWNER_BITS)) != t->owner)
        return NULL;
    uint64_t slot = (v >> SLOT_SHIFT) & MASK(SLOT_BITS);
    uint64_t gen = (v >> GEN_SHIFT) & MASK(GEN_BITS);
    if (slot >= t->n_slots) return NULL;
    pv_handle_slot *s = &t->slots[slot];
    return s->used && (s->gen & MASK(GEN_BITS)) == gen ? s : NULL;
}

/* Unlink s and put it on the free list. Call under t->lock. */
static void release_slot(pv_handle_table *t, pv_handle_slot *s) {
    s->payload = NULL;
    s->bytes = 0;
    s->used = false;
    s->next_free = t->free_head;
    t->free_head = (uint64_t)(s - t->slots);
}

bool pv_handles_add(pv_handle_table *t, void *payload, size_t bytes, void **out_handle) {
    pthread_mutex_lock(&t->lock);
    uint64_t slot = t->free_head;
    if (slot == NO_FREE) {
        if (t->n_slots == t->cap_slots) {
            uint64_t cap = t->cap_slots ? t->cap_slots * 2 : 64;
            if (cap > (UINT64_C(1) << SLOT_BITS)) cap = UINT64_C(1) << SLOT_BITS;
            pv_handle_slot *ns = cap <= t->cap_slots ? NULL : realloc(t->slots, cap * sizeof *ns);
            if (!ns) {
                pthread_mutex_unlock(&t->lock);
                return false;
            }
            t->slots = ns;
            t->cap_slots = cap;
        }
        slot = t->n_slots++;
        memset(&t->slots[slot], 0, sizeof t->slots[slot]);
    } else {
        t->free_head = t->slots[slot].next_free;
    }
    pv_handle_slot *s = &t->slots[slot];
    s->payload = payload;
    s->bytes = bytes;
    s->used = true;
    s->gen++;
    void *h = make_handle(t, slot, s->gen);
    pthread_mutex_unlock(&t->lock);
    *out_handle = h;
    return true;
}

/* Lookup and remove: read a live handle's entry and, when remove is set,
 * free its slot. */
static bool access_entry(pv_handle_table *t, const void *handle, void **payload, size_t *bytes, bool remove) {
    pthread_mutex_lock(&t->lock);
    pv_handle_slot *s = find(t, handle);
    if (s) {
        if (payload) *payload = s->payload;
        if (bytes) *bytes = s->bytes;
        if (remove) release_slot(t, s);
    }
    pthread_mutex_unlock(&t->lock);
    return s != NULL;
}

bool pv_handles_lookup(pv_handle_table *t, const void *handle, void **payload, size_t *bytes) {
    return access_entry(t, handle, payload, bytes, false);
}

bool pv_handles_remove(pv_handle_table *t, const void *handle, void **payload, size_t *bytes) {
    return access_entry(t, handle, payload, bytes, true);
}

void pv_handles_drain(pv_handle_table *t, void (*release)(void *ctx, void *payload, size_t bytes), void *ctx) {
    for (uint64_t i = 0;; i++) {
        pthread_mutex_lock(&t->lock);
        while (i < t->n_slots && !t->slots[i].used) i++;
        if (i >= t->n_slots) {
            pthread_mutex_unlock(&t->lock);
            return;
        }
        void *payload = t->slots[i].payload;
        size_t bytes = t->slots[i].bytes;
        release_slot(t, &t->slots[i]);
        pthread_mutex_unlock(&t->lock);
        if (release) release(ctx, payload, bytes);
    }
}
