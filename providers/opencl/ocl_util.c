/* ocl_util.c — dtype and shape helpers shared by the ops. */
#include <string.h>

#include "ocl_internal.h"

size_t ocl_dtype_size(int32_t dtype) {
    switch (dtype) {
    case PRISM_DTYPE_BOOL:
    case PRISM_DTYPE_INT8:
    case PRISM_DTYPE_UINT8: return 1;
    case PRISM_DTYPE_INT16:
    case PRISM_DTYPE_UINT16:
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: return 2;
    case PRISM_DTYPE_INT32:
    case PRISM_DTYPE_UINT32:
    case PRISM_DTYPE_FLOAT: return 4;
    case PRISM_DTYPE_INT64:
    case PRISM_DTYPE_UINT64:
    case PRISM_DTYPE_DOUBLE:
    case PRISM_DTYPE_COMPLEX64: return 8;
    case PRISM_DTYPE_COMPLEX128: return 16;
    default: return 0; /* UNDEFINED, STRING: not device data */
    }
}

const char *ocl_compute_type(int32_t dtype) {
    return dtype == PRISM_DTYPE_FLOAT ? "float" : dtype == PRISM_DTYPE_FLOAT16 ? "half" : NULL;
}

const char *ocl_move_type(int32_t dtype) {
    switch (ocl_dtype_size(dtype)) {
    case 1: return "uchar";
    case 2: return "ushort";
    case 4: return "uint";
    case 8: return "ulong";
    default: return NULL;
    }
}

int64_t ocl_shape_count(int32_t rank, const int64_t *dims) {
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) n *= dims[i];
    return n;
}

bool ocl_broadcast_shape(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *out_rank,
                         int64_t *out_dims) {
    int32_t r = ra > rb ? ra : rb;
    if (r > OCL_MAX_RANK) return false;
    for (int32_t i = 0; i < r; i++) {
        int64_t a = i - (r - ra) >= 0 ? da[i - (r - ra)] : 1;
        int64_t b = i - (r - rb) >= 0 ? db[i - (r - rb)] : 1;
        if (a != b && a != 1 && b != 1) return false;
        out_dims[i] = a == 1 ? b : a;
    }
    *out_rank = r;
    return true;
}

bool ocl_norm_axis(int64_t axis, int32_t r, int64_t *out) {
    if (axis < -(int64_t)r || axis >= (int64_t)r) return false;
    *out = axis < 0 ? axis + r : axis;
    return true;
}
