/*
 * data.c — deterministic input data for the cases.
 *
 * Each input of each case gets its own seed, derived from the user's seed,
 * the case's op and description and the input's position, so a case sees the
 * same values whether it runs alone (--filter) or with the whole table, and
 * a failure can be reproduced by naming its op.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

/* splitmix64: small, fast, and the same on every machine. */
static uint64_t next_u64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static double next_unit(uint64_t *state) { return (double)(next_u64(state) >> 11) / 9007199254740992.0; }

static uint64_t fnv1a(uint64_t h, const char *s) {
    for (; s && *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

uint64_t pc_input_seed(uint64_t user_seed, const pc_case *c, size_t index) {
    uint64_t h = fnv1a(fnv1a(0xcbf29ce484222325ull, c->op), c->desc);
    uint64_t state = h ^ (user_seed * 0xd1342543de82ef95ull) ^ ((uint64_t)index << 32);
    return next_u64(&state);
}

/* One value drawn as the spec asks, before conversion to the dtype. */
static double draw(const pc_tensor_spec *s, uint64_t *state, int64_t i) {
    bool integral = s->dtype != PRISM_DTYPE_FLOAT && s->dtype != PRISM_DTYPE_DOUBLE;
    double u = next_unit(state);
    switch (s->gen) {
    case PC_GEN_VALUES: return s->values[i];
    case PC_GEN_SIGNED: {
        double mag = integral ? s->lo + floor(u * (s->hi - s->lo + 1)) : s->lo + u * (s->hi - s->lo);
        return (next_u64(state) & 1) ? -mag : mag;
    }
    case PC_GEN_RANGE:
    default: return integral ? s->lo + floor(u * (s->hi - s->lo + 1)) : s->lo + u * (s->hi - s->lo);
    }
}

bool pc_generate(const pc_tensor_spec *s, uint64_t seed, void **out_data, size_t *out_bytes, char *msg,
                 size_t msg_size) {
    int64_t n = pc_spec_elements(s);
    size_t elem = prism_dtype_size(s->dtype);
    size_t bytes = (size_t)n * elem;
    void *d = malloc(bytes ? bytes : 1);
    if (!d) {
        snprintf(msg, msg_size, "out of memory generating input '%s'", s->name);
        return false;
    }
    uint64_t state = seed;
    for (int64_t i = 0; i < n; i++) {
        double v = draw(s, &state, i);
        switch (s->dtype) {
        case PRISM_DTYPE_FLOAT: ((float *)d)[i] = (float)v; break;
        case PRISM_DTYPE_DOUBLE: ((double *)d)[i] = v; break;
        case PRISM_DTYPE_INT64: ((int64_t *)d)[i] = (int64_t)fmin(fmax(v, -9e18), 9e18); break;
        case PRISM_DTYPE_INT32: ((int32_t *)d)[i] = (int32_t)fmin(fmax(v, INT32_MIN), INT32_MAX); break;
        case PRISM_DTYPE_INT8: ((int8_t *)d)[i] = (int8_t)fmin(fmax(v, -128), 127); break;
        case PRISM_DTYPE_UINT8: ((uint8_t *)d)[i] = (uint8_t)fmin(fmax(v, 0), 255); break;
        case PRISM_DTYPE_BOOL: ((uint8_t *)d)[i] = v != 0; break;
        default:
            free(d);
            snprintf(msg, msg_size, "cannot generate %s data for '%s'", prism_dtype_name(s->dtype), s->name);
            return false;
        }
    }
    *out_data = d;
    *out_bytes = bytes;
    return true;
}
