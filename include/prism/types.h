/*
 * prism/types.h — value types shared by the runtime API (prism.h) and the
 * provider plugin ABI (provider.h).
 *
 * Needs only <stdint.h> and <stddef.h>. Every enum value below is part of the
 * stable ABI: values are never renumbered or reused, new ones are appended.
 */
#ifndef PRISM_TYPES_H
#define PRISM_TYPES_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. 0 is success; every other value is an error whose detailed
 * message is available from prism_last_error_message() (runtime API) or was
 * handed to the host through prism_host_api.set_error (plugins). */
typedef enum prism_status {
    PRISM_OK = 0,
    PRISM_ERR_INVALID_ARGUMENT = 1, /* a caller passed a bad pointer, name, shape, dtype ... */
    PRISM_ERR_INVALID_MODEL = 2,    /* the model file is malformed or inconsistent */
    PRISM_ERR_NOT_SUPPORTED = 3,    /* no provider can run an op / feature not implemented */
    PRISM_ERR_OUT_OF_MEMORY = 4,
    PRISM_ERR_IO = 5,               /* a file could not be opened or read */
    PRISM_ERR_PROVIDER = 6,         /* a provider reported a failure */
    PRISM_ERR_ABI_MISMATCH = 7,     /* a plugin was built for another ABI major version */
    PRISM_ERR_NOT_FOUND = 8,        /* a named input, output, provider or device does not exist */
    PRISM_ERR_RUNTIME = 9,          /* a kernel failed while running (bad data, shape mismatch) */
    PRISM_ERR_INTERNAL = 10         /* a bug in Prism: please report it */
} prism_status;

/* Element types. The numbering is ONNX's TensorProto.DataType, so a value read
 * from a model maps one to one. */
typedef enum prism_dtype {
    PRISM_DTYPE_UNDEFINED = 0,
    PRISM_DTYPE_FLOAT = 1,
    PRISM_DTYPE_UINT8 = 2,
    PRISM_DTYPE_INT8 = 3,
    PRISM_DTYPE_UINT16 = 4,
    PRISM_DTYPE_INT16 = 5,
    PRISM_DTYPE_INT32 = 6,
    PRISM_DTYPE_INT64 = 7,
    PRISM_DTYPE_STRING = 8, /* data is an array of NUL-terminated char pointers */
    PRISM_DTYPE_BOOL = 9,   /* one byte per element, 0 or 1 */
    PRISM_DTYPE_FLOAT16 = 10,
    PRISM_DTYPE_DOUBLE = 11,
    PRISM_DTYPE_UINT32 = 12,
    PRISM_DTYPE_UINT64 = 13,
    PRISM_DTYPE_COMPLEX64 = 14,
    PRISM_DTYPE_COMPLEX128 = 15,
    PRISM_DTYPE_BFLOAT16 = 16
} prism_dtype;

/* Kinds of device a provider can expose. */
typedef enum prism_device_type {
    PRISM_DEVICE_CPU = 0,
    PRISM_DEVICE_GPU = 1,
    PRISM_DEVICE_FPGA = 2,
    PRISM_DEVICE_ACCELERATOR = 3,
    PRISM_DEVICE_OTHER = 4
} prism_device_type;

/* Log levels, most verbose first. */
typedef enum prism_log_level {
    PRISM_LOG_DEBUG = 0,
    PRISM_LOG_INFO = 1,
    PRISM_LOG_WARNING = 2,
    PRISM_LOG_ERROR = 3
} prism_log_level;

#ifdef __cplusplus
}
#endif

#endif /* PRISM_TYPES_H */
