/* tensor.h — the core's view of prism_tensor (public handle). */
#ifndef PRISM_CORE_TENSOR_H
#define PRISM_CORE_TENSOR_H

#include <stdbool.h>

#include "prism/prism.h"

struct prism_tensor {
    prism_dtype dtype;
    size_t rank;
    int64_t *dims;  /* rank entries (NULL when rank == 0) */
    int64_t count;  /* elements */
    size_t bytes;   /* count * dtype size */
    void *data;     /* STRING: char *[count], each owned (NULL = "") */
    bool owns_data; /* false for views over caller memory */
    char *name;     /* from a TensorProto, may be NULL */
};

/* New tensor with owned, zero-initialised storage. */
prism_status pr_tensor_new(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out);
/* Same, with the elements left uninitialised (strings still NULL): for
 * buffers about to be filled, such as kernel outputs. */
prism_status pr_tensor_new_uninit(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out);
/* Shape and type only, no storage (data NULL, not owned): the header of a
 * tensor that lives in device memory. */
prism_status pr_tensor_new_header(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out);
/* Deep copy (strings duplicated). */
prism_status pr_tensor_clone(const prism_tensor *src, prism_tensor **out);
bool pr_dtype_known(int32_t dtype);

#endif
