/* cpu_util.c — dtype facts, shapes, broadcasting, float16/bfloat16. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

size_t cpu_dtype_size(int32_t dtype) {
    switch (dtype) {
    case PRISM_DTYPE_FLOAT: case PRISM_DTYPE_INT32: case PRISM_DTYPE_UINT32: return 4;
    case PRISM_DTYPE_UINT8: case PRISM_DTYPE_INT8: case PRISM_DTYPE_BOOL: return 1;
    case PRISM_DTYPE_UINT16: case PRISM_DTYPE_INT16: case PRISM_DTYPE_FLOAT16: case PRISM_DTYPE_BFLOAT16: return 2;
    case PRISM_DTYPE_INT64: case PRISM_DTYPE_UINT64: case PRISM_DTYPE_DOUBLE: case PRISM_DTYPE_COMPLEX64: return 8;
    case PRISM_DTYPE_COMPLEX128: return 16;
    case PRISM_DTYPE_STRING: return sizeof(char *);
    default: return 0;
    }
}

const char *cpu_dtype_name(int32_t dtype) {
    static const char *const names[] = {"undefined", "float",  "uint8",  "int8",   "uint16",    "int16",
                                        "int32",     "int64",  "string", "bool",   "float16",   "double",
                                        "uint32",    "uint64", "complex64", "complex128", "bfloat16"};
    return dtype >= 0 && dtype <= 16 ? names[dtype] : "unknown";
}

int64_t cpu_shape_count(int32_t rank, const int64_t *dims) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

int64_t cpu_tensor_int(const cpu_tensor *t, int64_t i) {
    switch (t->dtype) {
    case PRISM_DTYPE_INT64: return ((const int64_t *)t->data)[i];
    case PRISM_DTYPE_INT32: return ((const int32_t *)t->data)[i];
    case PRISM_DTYPE_INT16: return ((const int16_t *)t->data)[i];
    case PRISM_DTYPE_INT8: return ((const int8_t *)t->data)[i];
    case PRISM_DTYPE_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case PRISM_DTYPE_UINT32: return ((const uint32_t *)t->data)[i];
    case PRISM_DTYPE_UINT16: return ((const uint16_t *)t->data)[i];
    case PRISM_DTYPE_UINT8: case PRISM_DTYPE_BOOL: return ((const uint8_t *)t->data)[i];
    default: return 0;
    }
}

bool cpu_broadcast_shape(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *out_rank,
                         int64_t *out_dims) {
    int32_t r = ra > rb ? ra : rb;
    if (r > CPU_MAX_RANK) return false;
    for (int32_t i = 0; i < r; i++) {
        int64_t a = i < r - ra ? 1 : da[i - (r - ra)];
        int64_t b = i < r - rb ? 1 : db[i - (r - rb)];
        if (a != b && a != 1 && b != 1) return false;
        out_dims[i] = a == 1 ? b : a;
    }
    *out_rank = r;
    return true;
}

bool cpu_norm_axis(int64_t axis, int32_t r, int64_t *out) {
    if (axis < -(int64_t)r || axis >= (int64_t)(r ? r : 0)) {
        if (!(r == 0 && (axis == 0 || axis == -1))) return false;
        *out = 0;
        return true;
    }
    *out = axis < 0 ? axis + r : axis;
    return true;
}

float cpu_half_to_float(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else { /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | (uint32_t)(127 - 15 - e) << 23 | (man & 0x3ff) << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t cpu_float_to_half(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000;
    uint32_t ax = x & 0x7fffffffu;
    if (ax >= 0x7f800000u) return (uint16_t)(sign | 0x7c00 | (ax > 0x7f800000u ? 0x200 : 0)); /* inf / nan */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00); /* rounds past the largest half: inf */
    if (ax < 0x38800000u) { /* result is subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;
        uint32_t man = (ax & 0x7fffff) | 0x800000;
        int shift = 126 - (int)(ax >> 23); /* 14..24: the value is man * 2^-shift half-ulps */
        uint32_t q = man >> shift, rem = man & ((1u << shift) - 1), mid = 1u << (shift - 1);
        if (rem > mid || (rem == mid && (q & 1))) q++;
        return (uint16_t)(sign | q);
    }
    uint32_t r = ax + 0xc8000000u; /* rebias exponent from 127 to 15 */
    uint32_t q = r >> 13, rem = r & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (q & 1))) q++;
    return (uint16_t)(sign | q);
}

float cpu_bf16_to_float(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t cpu_float_to_bf16(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((x >> 16) | 0x40); /* quiet nan */
    uint32_t rounding = 0x7fff + ((x >> 16) & 1);
    return (uint16_t)((x + rounding) >> 16);
}

bool cpu_dtype_is_int(int32_t dt) {
    switch (dt) {
    case PRISM_DTYPE_INT8:
    case PRISM_DTYPE_INT16:
    case PRISM_DTYPE_INT32:
    case PRISM_DTYPE_INT64:
    case PRISM_DTYPE_UINT8:
    case PRISM_DTYPE_UINT16:
    case PRISM_DTYPE_UINT32:
    case PRISM_DTYPE_UINT64: return true;
    default: return false;
    }
}

bool cpu_dtype_is_half(int32_t dt) { return dt == PRISM_DTYPE_FLOAT16 || dt == PRISM_DTYPE_BFLOAT16; }

bool cpu_dtype_is_float(int32_t dt) { return dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || cpu_dtype_is_half(dt); }

double cpu_tensor_get_f64(const cpu_tensor *t, int64_t i) {
    switch (t->dtype) {
    case PRISM_DTYPE_FLOAT: return ((const float *)t->data)[i];
    case PRISM_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case PRISM_DTYPE_FLOAT16: return cpu_half_to_float(((const uint16_t *)t->data)[i]);
    case PRISM_DTYPE_BFLOAT16: return cpu_bf16_to_float(((const uint16_t *)t->data)[i]);
    default: return 0;
    }
}

void cpu_tensor_set_f64(cpu_tensor *t, int64_t i, double v) {
    switch (t->dtype) {
    case PRISM_DTYPE_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case PRISM_DTYPE_DOUBLE: ((double *)t->data)[i] = v; break;
    case PRISM_DTYPE_FLOAT16: ((uint16_t *)t->data)[i] = cpu_float_to_half((float)v); break;
    case PRISM_DTYPE_BFLOAT16: ((uint16_t *)t->data)[i] = cpu_float_to_bf16((float)v); break;
    default: break;
    }
}

bool cpu_count_checked(int32_t rank, const int64_t *dims, int64_t *out) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return false;
        if (dims[i] != 0 && n > CPU_MAX_ALLOC_COUNT / dims[i])
            return false;
        n *= dims[i];
    }
    *out = n;
    return true;
}

prism_status cpu_own_strings(cpu_ctx *ctx, cpu_tensor *out) {
    if (out->dtype != PRISM_DTYPE_STRING)
        return PRISM_OK;
    char **s = (char **)out->data;
    for (int64_t i = 0; i < out->count; i++) {
        char *d = strdup(s[i] ? s[i] : "");
        if (!d) {
            for (int64_t j = i; j < out->count; j++)
                s[j] = NULL;
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory copying strings");
        }
        s[i] = d;
    }
    return PRISM_OK;
}

prism_status cpu_int_list(cpu_ctx *ctx, const cpu_tensor *t, const char *what, const char *types, int64_t *out,
                          size_t cap, size_t *n) {
    if (t->rank > 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be a 1-D tensor, got rank %d", what, (int)t->rank);
    if (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be %s (got %s)", what, types, cpu_dtype_name(t->dtype));
    if (t->count > (int64_t)cap)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s has %lld values; at most %zu are supported", what,
                        (long long)t->count, cap);
    for (int64_t i = 0; i < t->count; i++)
        out[i] = cpu_tensor_int(t, i);
    *n = (size_t)t->count;
    return PRISM_OK;
}


float *cpu_half_widen(const cpu_tensor *t) {
    if (!t) return NULL;
    float *f = malloc((size_t)(t->count ? t->count : 1) * sizeof *f);
    if (!f) return NULL;
    const uint16_t *h = t->data;
    for (int64_t i = 0; i < t->count; i++)
        f[i] = t->dtype == PRISM_DTYPE_FLOAT16 ? cpu_half_to_float(h[i]) : cpu_bf16_to_float(h[i]);
    return f;
}

void cpu_half_narrow(const float *f, cpu_tensor *t) {
    uint16_t *h = t->data;
    for (int64_t i = 0; i < t->count; i++)
        h[i] = t->dtype == PRISM_DTYPE_FLOAT16 ? cpu_float_to_half(f[i]) : cpu_float_to_bf16(f[i]);
}
