/* tensor.c — public tensor objects: owned or views over caller memory. */
#include "tensor.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static const struct {
    const char *name;
    size_t size;
} pr_dtypes[] = {
    [PRISM_DTYPE_UNDEFINED] = {"undefined", 0}, [PRISM_DTYPE_FLOAT] = {"float", 4},
    [PRISM_DTYPE_UINT8] = {"uint8", 1},         [PRISM_DTYPE_INT8] = {"int8", 1},
    [PRISM_DTYPE_UINT16] = {"uint16", 2},       [PRISM_DTYPE_INT16] = {"int16", 2},
    [PRISM_DTYPE_INT32] = {"int32", 4},         [PRISM_DTYPE_INT64] = {"int64", 8},
    [PRISM_DTYPE_STRING] = {"string", sizeof(char *)}, [PRISM_DTYPE_BOOL] = {"bool", 1},
    [PRISM_DTYPE_FLOAT16] = {"float16", 2},     [PRISM_DTYPE_DOUBLE] = {"double", 8},
    [PRISM_DTYPE_UINT32] = {"uint32", 4},       [PRISM_DTYPE_UINT64] = {"uint64", 8},
    [PRISM_DTYPE_COMPLEX64] = {"complex64", 8}, [PRISM_DTYPE_COMPLEX128] = {"complex128", 16},
    [PRISM_DTYPE_BFLOAT16] = {"bfloat16", 2},
};

bool pr_dtype_known(int32_t dtype) {
    return dtype > 0 && (size_t)dtype < sizeof pr_dtypes / sizeof pr_dtypes[0];
}

const char *prism_dtype_name(prism_dtype dtype) {
    return pr_dtype_known((int32_t)dtype) ? pr_dtypes[dtype].name : "undefined";
}

size_t prism_dtype_size(prism_dtype dtype) { return pr_dtype_known((int32_t)dtype) ? pr_dtypes[dtype].size : 0; }

static prism_status pr_tensor_shell(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor: NULL output pointer");
    if (!pr_dtype_known((int32_t)dtype)) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor: unknown dtype %d", (int)dtype);
    if (rank && !dims) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor: dims is NULL with rank %zu", rank);
    int64_t count;
    if (!pr_shape_count(dims, rank, &count))
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor: negative dimension or element count overflows");
    size_t bytes;
    if (!pr_mul_size((size_t)count, prism_dtype_size(dtype), &bytes))
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "tensor: byte size overflows");
    prism_tensor *t = calloc(1, sizeof *t);
    if (!t) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "tensor: out of memory");
    if (rank) {
        t->dims = malloc(rank * sizeof *t->dims);
        if (!t->dims) {
            free(t);
            return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "tensor: out of memory");
        }
        memcpy(t->dims, dims, rank * sizeof *dims);
    }
    t->dtype = dtype;
    t->rank = rank;
    t->count = count;
    t->bytes = bytes;
    *out = t;
    return PRISM_OK;
}

static prism_status tensor_alloc(prism_dtype dtype, const int64_t *dims, size_t rank, bool zero, prism_tensor **out) {
    prism_tensor *t;
    prism_status st = pr_tensor_shell(dtype, dims, rank, &t);
    if (st) return st;
    /* String tensors always start as NULL pointers ("" strings). */
    t->data = zero || dtype == PRISM_DTYPE_STRING ? pr_aligned_calloc(t->bytes) : pr_aligned_alloc(t->bytes);
    if (!t->data) {
        size_t bytes = t->bytes;
        free(t->dims);
        free(t);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "tensor: cannot allocate %zu bytes", bytes);
    }
    t->owns_data = true;
    *out = t;
    return PRISM_OK;
}

prism_status pr_tensor_new(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out) {
    return tensor_alloc(dtype, dims, rank, true, out);
}

prism_status pr_tensor_new_uninit(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out) {
    return tensor_alloc(dtype, dims, rank, false, out);
}

prism_status pr_tensor_new_header(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out) {
    return pr_tensor_shell(dtype, dims, rank, out);
}

prism_status prism_tensor_create(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out_tensor) {
    return pr_tensor_new(dtype, dims, rank, out_tensor);
}

prism_status prism_tensor_create_view(prism_dtype dtype, const int64_t *dims, size_t rank, void *data,
                                      size_t data_bytes, prism_tensor **out_tensor) {
    if (dtype == PRISM_DTYPE_STRING)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor view: string tensors must own their data");
    prism_tensor *t;
    prism_status st = pr_tensor_shell(dtype, dims, rank, &t);
    if (st) return st;
    if (t->bytes && (!data || data_bytes < t->bytes)) {
        size_t need = t->bytes;
        prism_tensor_destroy(t);
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "tensor view: buffer of %zu bytes is smaller than the %zu needed",
                       data ? data_bytes : 0, need);
    }
    t->data = data;
    t->owns_data = false;
    *out_tensor = t;
    return PRISM_OK;
}

void prism_tensor_destroy(prism_tensor *t) {
    if (!t) return;
    if (t->owns_data) {
        if (t->dtype == PRISM_DTYPE_STRING && t->data) {
            char **s = t->data;
            for (int64_t i = 0; i < t->count; i++) free(s[i]);
        }
        pr_aligned_free(t->data);
    }
    free(t->dims);
    free(t->name);
    free(t);
}

prism_status pr_tensor_clone(const prism_tensor *src, prism_tensor **out) {
    prism_tensor *t;
    prism_status st = pr_tensor_new_uninit(src->dtype, src->dims, src->rank, &t);
    if (st) return st;
    if (src->dtype == PRISM_DTYPE_STRING) {
        char *const *s = src->data;
        for (int64_t i = 0; i < src->count; i++) {
            if (s[i] && prism_tensor_set_string(t, i, s[i], strlen(s[i])) != PRISM_OK) {
                prism_tensor_destroy(t);
                return PRISM_ERR_OUT_OF_MEMORY;
            }
        }
    } else if (src->bytes) {
        memcpy(t->data, src->data, src->bytes);
    }
    *out = t;
    return PRISM_OK;
}

prism_dtype prism_tensor_dtype(const prism_tensor *t) { return t ? t->dtype : PRISM_DTYPE_UNDEFINED; }
size_t prism_tensor_rank(const prism_tensor *t) { return t ? t->rank : 0; }
const int64_t *prism_tensor_dims(const prism_tensor *t) { return t ? t->dims : NULL; }
int64_t prism_tensor_element_count(const prism_tensor *t) { return t ? t->count : 0; }
size_t prism_tensor_byte_size(const prism_tensor *t) { return t ? t->bytes : 0; }
void *prism_tensor_data(prism_tensor *t) { return t ? t->data : NULL; }
const void *prism_tensor_data_const(const prism_tensor *t) { return t ? t->data : NULL; }

prism_status prism_tensor_set_string(prism_tensor *t, int64_t index, const char *value, size_t len) {
    if (!t || t->dtype != PRISM_DTYPE_STRING)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_string: not a string tensor");
    if (index < 0 || index >= t->count)
        return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "set_string: index %lld out of range [0, %lld)", (long long)index,
                       (long long)t->count);
    char *s = pr_strndup(value ? value : "", value ? len : 0);
    if (!s) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "set_string: out of memory");
    char **arr = t->data;
    free(arr[index]);
    arr[index] = s;
    return PRISM_OK;
}
