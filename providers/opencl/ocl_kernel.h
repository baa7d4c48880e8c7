/*
 * ocl_kernel.h — what an OpenCL op sees. Internal to the OpenCL provider.
 *
 * An op is an ocl_kernel_def: supports (capability, from the graph view
 * only), an optional prepare (parse attributes once at compile, upload
 * reordered weights, make sure the programs it needs are built), a run that
 * enqueues kernels on the instance's in-order queue, and an optional release.
 * Ops never talk to OpenCL setup or to the host directly: programs, kernels,
 * buffers, errors and outputs go through the helpers below.
 *
 * Device code lives in kernels/<program>.cl. A program is built once per
 * (device, program, element type) with -DT=<type> (and -DPRISM_FP16 for
 * half), so one templated body serves every dtype; binaries are cached on
 * disk (ocl_cache.c).
 *
 * Adding an op: one row in ocl_ops_nn.def or ocl_ops_tensor.def and one file
 * under ops/ (plus its .cl program when it needs new device code).
 */
#ifndef PRISM_OCL_KERNEL_H
#define PRISM_OCL_KERNEL_H

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/provider.h"

/* Highest tensor rank the OpenCL ops handle. */
#define OCL_MAX_RANK 8

/* A tensor as an op sees it: shape plus the device buffer holding it
 * (offset 0, row-major, densely packed). */
typedef struct ocl_tensor {
    int32_t dtype; /* prism_dtype */
    int32_t rank;
    int64_t dims[OCL_MAX_RANK];
    int64_t count; /* product of dims (1 for rank 0) */
    size_t bytes;  /* count * element size */
    cl_mem mem;    /* may be NULL when bytes == 0 */
    /* Host copy of the data when the tensor is a graph constant (valid for
     * the session), else NULL. */
    const void *host;
} ocl_tensor;

typedef struct ocl_ctx ocl_ctx;   /* per call (capability, prepare or run) */
typedef struct ocl_node ocl_node; /* one node of the graph / compiled unit */

/* An activation fused into a node's output 0 (Conv + Relu, say). */
typedef enum ocl_activation_kind {
    OCL_ACT_NONE = 0,
    OCL_ACT_RELU = 1,
    OCL_ACT_CLIP = 2,       /* min(max(x, lo), hi) */
    OCL_ACT_LEAKY_RELU = 3, /* x < 0 ? alpha * x : x */
} ocl_activation_kind;

typedef struct ocl_activation {
    ocl_activation_kind kind;
    float lo, hi, alpha;
} ocl_activation;

typedef struct ocl_kernel_def {
    /* Capability, from the view only (dtypes, ranks, attributes, which
     * inputs are constants). false: another provider takes the node; why
     * (a short sentence) goes into why. NULL = float32 (and float16 where
     * the device has it) on every input and output. */
    bool (*supports)(const ocl_node *node, char *why, size_t why_size);
    /* Once at compile. May keep parsed state in *state (freed by release).
     * Build the programs the op needs here (ocl_program_require) so build
     * errors surface at session creation. NULL: nothing to prepare. */
    prism_status (*prepare)(ocl_ctx *ctx, const ocl_node *node, void **state);
    /* Enqueue the node's work. in[k] is NULL for an omitted optional input.
     * Outputs come from ocl_output / ocl_output_view. Never wait for the
     * queue unless data must come back to the host (ocl_read_ints). */
    prism_status (*run)(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                        uint32_t n_in);
    void (*release)(void *state);
    /* true: run applies ocl_node_activation(node) to output 0. */
    bool fuses_activation;
} ocl_kernel_def;

/* ---- node facts (valid in supports, prepare and run) --------------------- */

const char *ocl_node_name(const ocl_node *node);
const char *ocl_node_op(const ocl_node *node);
int64_t ocl_node_opset(const ocl_node *node);
uint32_t ocl_node_input_count(const ocl_node *node);
uint32_t ocl_node_output_count(const ocl_node *node);
bool ocl_node_has_input(const ocl_node *node, uint32_t k);
bool ocl_node_has_output(const ocl_node *node, uint32_t k);
/* Static facts from the view: dtype 0, rank -1, dim -1 when unknown. */
int32_t ocl_node_input_dtype(const ocl_node *node, uint32_t k);
int32_t ocl_node_output_dtype(const ocl_node *node, uint32_t k);
int32_t ocl_node_input_rank(const ocl_node *node, uint32_t k);
int64_t ocl_node_input_dim(const ocl_node *node, uint32_t k, uint32_t axis);
/* Host data of input k when it is a graph constant (valid for the
 * session; fills t with mem = NULL when t is not NULL), else NULL. */
const void *ocl_node_input_constant(const ocl_node *node, uint32_t k, ocl_tensor *t);
/* Whether the device can compute in float16 (cl_khr_fp16). */
bool ocl_node_device_fp16(const ocl_node *node);
/* The activation fused into output 0, or NULL. */
const ocl_activation *ocl_node_activation(const ocl_node *node);

/* ---- attributes (same rules as the CPU provider's cpu_attr_*) ------------ */

bool ocl_attr_has(const ocl_node *node, const char *name);
int64_t ocl_attr_int(const ocl_node *node, const char *name, int64_t dflt);
float ocl_attr_float(const ocl_node *node, const char *name, float dflt);
const char *ocl_attr_string(const ocl_node *node, const char *name, const char *dflt);
size_t ocl_attr_ints(const ocl_node *node, const char *name, const int64_t **out);
size_t ocl_attr_floats(const ocl_node *node, const char *name, const float **out);

/* ---- programs and launches ------------------------------------------------ */

/* The OpenCL C element type for computing on dtype: "float" for FLOAT,
 * "half" for FLOAT16; NULL for others. */
const char *ocl_compute_type(int32_t dtype);
/* An unsigned integer type of the element size of dtype ("uchar",
 * "ushort", "uint", "ulong"), for ops that only move elements; NULL when
 * the size is not 1, 2, 4 or 8. */
const char *ocl_move_type(int32_t dtype);

/* Make sure kernels/<program>.cl is built for element type `type` on the
 * instance's device (from the disk cache when a valid entry exists). A build
 * failure returns PRISM_ERR_PROVIDER with the build log in the message. */
prism_status ocl_program_require(ocl_ctx *ctx, const char *program, const char *type);

/* One kernel argument: a value (buffer, scalar) or __local scratch. */
typedef struct ocl_arg {
    int local;   /* 1: __local memory of `size` bytes, v unused */
    size_t size; /* bytes of the value (or of the local memory) */
    union {
        cl_mem mem;
        cl_int i32;
        cl_long i64;
        cl_float f32;
    } v;
} ocl_arg;

static inline ocl_arg ocl_arg_mem(cl_mem m) { ocl_arg a = {0, sizeof(cl_mem), {.mem = m}}; return a; }
static inline ocl_arg ocl_arg_i32(int32_t x) { ocl_arg a = {0, sizeof(cl_int), {.i32 = x}}; return a; }
static inline ocl_arg ocl_arg_i64(int64_t x) { ocl_arg a = {0, sizeof(cl_long), {.i64 = x}}; return a; }
static inline ocl_arg ocl_arg_f32(float x) { ocl_arg a = {0, sizeof(cl_float), {.f32 = x}}; return a; }
static inline ocl_arg ocl_arg_local(size_t bytes) { ocl_arg a = {1, bytes, {.i64 = 0}}; return a; }

/* Enqueue kernel `kernel` of program/type (built by ocl_program_require;
 * built on demand otherwise) over an NDRange of work_dim (1-3) dimensions.
 * local may be NULL (the driver picks). Arguments are bound in order. Safe to call from
 * several threads on the same instance. Errors name the kernel and the
 * OpenCL call and code. */
prism_status ocl_launch(ocl_ctx *ctx, const char *program, const char *type, const char *kernel, uint32_t work_dim,
                        const size_t *global, const size_t *local, uint32_t n_args, const ocl_arg *args);

/* Elements per work-item of the CPU-device elementwise kernels
 * (ELT_CHUNK in kernels/eltwise.cl: keep the two equal). */
#define OCL_ELT_CHUNK 256
/* Outputs per work-item of strided_copy_chunk (COPY_CHUNK in
 * kernels/transpose.cl: keep the two equal). */
#define OCL_COPY_CHUNK 256

/* Largest work-group size of the device and its local memory in bytes. */
size_t ocl_device_max_group(ocl_ctx *ctx);
size_t ocl_device_local_mem(ocl_ctx *ctx);
/* The device's prism_device_type. */
int32_t ocl_device_type(ocl_ctx *ctx);
/* Whether ops should use their CPU-device forms (register blocking, no
 * local memory or barriers) rather than their GPU forms (local-memory
 * tiles): true on CPU devices, unless the session's provider option
 * kernels=gpu|cpu chose a family (kernels=gpu runs the GPU forms on a CPU
 * device, which is how they are tested on machines without a GPU). */
bool ocl_cpu_kernels(ocl_ctx *ctx);

/* ---- memory --------------------------------------------------------------- */

/* Allocate output k of the running node with this dtype and shape (device
 * memory, contents undefined). */
prism_status ocl_output(ocl_ctx *ctx, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        ocl_tensor **out);
/* Output k holds exactly the bytes of src under a new shape (Reshape,
 * Flatten, Squeeze, Unsqueeze, Identity): shares src's buffer when the
 * framework can (an internal value), else copies on the device. */
prism_status ocl_output_view(ocl_ctx *ctx, uint32_t k, const ocl_tensor *src, int32_t rank, const int64_t *dims,
                             ocl_tensor **out);
/* Scratch device memory for the current node, released after the node's
 * work completes (it is safe to release an object still in use by queued
 * commands: OpenCL keeps it alive until they finish). */
prism_status ocl_scratch(ocl_ctx *ctx, size_t bytes, cl_mem *out);
/* Upload host data into a new buffer owned by the compiled unit (prepare
 * only: reordered weights, lookup tables). Freed with the unit. */
prism_status ocl_upload(ocl_ctx *ctx, const void *data, size_t bytes, cl_mem *out);
/* Integer values of a small 1-D or scalar INT32/INT64 tensor (shape,
 * axes, starts...) on the host: from t->host when constant, else read back
 * from the device (waits for the queue). At most cap values. */
prism_status ocl_read_ints(ocl_ctx *ctx, const ocl_tensor *t, int64_t *out, size_t cap, size_t *n);
/* Same for a small float tensor (Resize scales, Clip min/max). */
prism_status ocl_read_floats(ocl_ctx *ctx, const ocl_tensor *t, float *out, size_t cap, size_t *n);

/* ---- errors and helpers --------------------------------------------------- */

/* Record an error naming the node and op; returns st. */
prism_status ocl_fail(ocl_ctx *ctx, prism_status st, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "CL_OUT_OF_RESOURCES" ... for an OpenCL error code ("CL_ERROR(-9999)"
 * style text for codes it does not know). */
const char *ocl_error_name(cl_int code);

size_t ocl_dtype_size(int32_t dtype);
int64_t ocl_shape_count(int32_t rank, const int64_t *dims);
/* numpy broadcast of two shapes (rank = max); false when incompatible. */
bool ocl_broadcast_shape(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *out_rank,
                         int64_t *out_dims);
/* Normalise axis for rank r; false when outside [-r, r-1]. */
bool ocl_norm_axis(int64_t axis, int32_t r, int64_t *out);

#endif /* PRISM_OCL_KERNEL_H */
