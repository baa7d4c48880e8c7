/*
 * example_internal.h — the example provider's own objects and the functions
 * its files share. The provider simulates an accelerator whose memory the
 * host cannot address: buffers are opaque handles into a per-instance table,
 * and kernels reach the memory only through that table.
 *
 * Nothing here is seen by the host: the library exports only
 * prism_provider_init and prism_provider_probe.
 */
#ifndef PRISM_EXAMPLE_INTERNAL_H
#define PRISM_EXAMPLE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/provider.h"
#include "pv_handles.h"

/* Size of the buffers that carry a reason between the provider's files. */
#define EX_ERR 256
/* Highest tensor rank the kernels handle. */
#define EX_MAX_RANK 8
/* Instance option defaults. */
#define EX_DEFAULT_CAPACITY_MB 4096.0
#define EX_DEFAULT_GFLOPS 50.0

/* ---- operators (example_ops.c) ------------------------------------------- */

typedef enum ex_op {
    EX_ADD,
    EX_SUB,
    EX_MUL,
    EX_DIV,
    EX_RELU,
    EX_SIGMOID,
    EX_TANH,
    EX_LEAKY_RELU,
    EX_CLIP,
    EX_CONV,
    EX_GEMM,
    EX_MATMUL,
    EX_OP_COUNT
} ex_op;

typedef enum ex_auto_pad { EX_PAD_NOTSET, EX_PAD_VALID, EX_PAD_SAME_UPPER, EX_PAD_SAME_LOWER } ex_auto_pad;

/* A node's attributes, parsed once (capability and compile). */
typedef struct ex_params {
    float alpha, beta;    /* LeakyRelu alpha; Gemm alpha, beta */
    float clip_min, clip_max; /* Clip before opset 11 (attributes) */
    int trans_a, trans_b; /* Gemm */
    /* Conv (2-D): kernel_shape (0 = from W), pads (top, left, bottom, right),
     * strides, dilations, group. */
    ex_auto_pad auto_pad;
    int64_t kernel[2], pads[4], strides[2], dilations[2], group;
} ex_params;

/* "Add" ... "MatMul"; NULL for an op out of range. */
const char *ex_op_name(ex_op op);
/* The op with this ai.onnx name, or EX_OP_COUNT. */
ex_op ex_op_find(const char *name);
/* Whether this provider runs node `node` of g as op *out_op (ai.onnx, a
 * known op at a supported opset, single output, attributes it implements
 * with valid values); fills *out_params. When it does not, why (a short
 * sentence) goes into why. */
bool ex_node_parse(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op *out_op,
                   ex_params *out_params, char *why, size_t why_size);
/* Estimated seconds to run the node on a device of `gflops` GFLOP/s, from
 * the shapes the view knows (unknown dims are guessed). */
double ex_node_cost(const prism_host_api *host, const prism_graph_view *g, uint32_t node, ex_op op,
                    const ex_params *params, double gflops);

/* ---- provider objects (example_provider.c) -------------------------------- */

/* Device buffers: the backing store is host memory inside the provider; the
 * host only ever sees a handle from the owning instance's table. */
#define EX_HANDLE_TAG 0xAu

typedef struct ex_device {
    uint32_t index;
    char name[64];
    char properties[512];
    pthread_mutex_t lock; /* guards the used bytes of the device's instances */
} ex_device;

struct prism_provider {
    const prism_host_api *host;
    uint32_t n_devices;
    ex_device *devices;
    char reason[256];
    atomic_uint next_owner; /* owner id of the next instance's handle table */
};

#define EX_INSTANCE_MAGIC 0x45584d50u /* "EXMP": tells our instances from others' */

struct prism_instance {
    uint32_t magic;
    prism_provider *prov;
    ex_device *dev;
    uint64_t capacity; /* bytes this instance may hold on the device */
    double capacity_mb; /* as given, for messages */
    uint64_t used;     /* under dev->lock */
    pv_handle_table handles; /* handle -> backing store */
    double gflops;
    uint32_t op_mask;  /* bit per ex_op it claims */
};

/* ---- device memory (example_memory.c) -------------------------------------- */

bool ex_device_init(ex_device *d, uint32_t index);
void ex_device_fini(ex_device *d);
/* Allocate `bytes` (0 allowed) for inst; *out_handle receives the opaque
 * handle and, when out_ptr is not NULL, *out_ptr the backing store (for the
 * provider's own kernels). Past the instance's capacity it fails with
 * PRISM_ERR_OUT_OF_MEMORY and the reason in err (EX_ERR bytes). */
prism_status ex_mem_alloc(prism_instance *inst, size_t bytes, void **out_handle, void **out_ptr, char *err);
/* Free a handle of inst (unknown handles are ignored). */
void ex_mem_free(prism_instance *inst, void *handle);
/* The backing store and size of a live handle of inst; false if the handle
 * is not one. The store stays valid until the handle is freed. */
bool ex_mem_resolve(prism_instance *inst, const void *handle, void **out_ptr, size_t *out_bytes);
/* An empty handle table for a new instance (false: out of resources). */
bool ex_mem_init_instance(prism_instance *inst);
/* Free every buffer inst still holds, and its table (instance destruction). */
void ex_mem_release_instance(prism_instance *inst);

/* The ABI's memory members. */
prism_status ex_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer);
void ex_buffer_free(prism_instance *inst, void *buffer);
prism_status ex_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                               size_t bytes, prism_host_context *hc);
prism_status ex_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                 size_t bytes, prism_host_context *hc);
prism_status ex_copy_device_to_device(prism_instance *dst_inst, void *dst_buffer, prism_instance *src_inst,
                                      const void *src_buffer, size_t bytes, prism_host_context *hc);
prism_status ex_synchronize(prism_instance *inst, prism_host_context *hc);

/* ---- tensors and kernels (example_kernels.c, example_linalg.c) ----------- */

/* A float tensor in device memory, as the kernels see it. */
typedef struct ex_tensor {
    int32_t rank;
    int64_t dims[EX_MAX_RANK];
    int64_t count;
    float *data;  /* backing store of the buffer */
    void *handle; /* the device buffer handle */
} ex_tensor;


/* Multidirectional (numpy) broadcast of a and b into rank/dims. */
bool ex_broadcast_shape(const ex_tensor *a, const ex_tensor *b, int32_t *rank, int64_t *dims, char *err);
/* y = a OP b for op in Add..Div, y already shaped by ex_broadcast_shape. */
void ex_binary(ex_op op, const ex_tensor *a, const ex_tensor *b, ex_tensor *y);
/* y = f(x) for Relu, Sigmoid, Tanh, LeakyRelu (p0 = alpha), Clip (p0 = min,
 * p1 = max); y has x's shape. */
void ex_unary(ex_op op, float p0, float p1, const ex_tensor *x, ex_tensor *y);

/* C (row stride ldc) += alpha * A * B with A(i, k) = a[i * ars + k * acs]
 * (m x k) and B(k, j) = b[k * brs + j * bcs] (k x n). pack is scratch of
 * ex_sgemm_pack_floats(n, k) floats. */
size_t ex_sgemm_pack_floats(int64_t n, int64_t k);
void ex_sgemm(int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t ars, int64_t acs, const float *b,
              int64_t brs, int64_t bcs, float *c, int64_t ldc, float *pack);

/* Workspace sizes, shape checks and kernels of Conv, Gemm and MatMul. The
 * shape functions fill the output rank/dims and *ws_bytes (scratch device
 * memory the kernel needs). */
bool ex_conv_shape(const ex_params *p, const ex_tensor *x, const ex_tensor *w, const ex_tensor *b, int32_t *rank,
                   int64_t *dims, size_t *ws_bytes, char *err);
void ex_conv(const ex_params *p, const ex_tensor *x, const ex_tensor *w, const ex_tensor *b, ex_tensor *y, float *ws);
bool ex_gemm_shape(const ex_params *p, const ex_tensor *a, const ex_tensor *b, const ex_tensor *c, int32_t *rank,
                   int64_t *dims, size_t *ws_bytes, char *err);
void ex_gemm_op(const ex_params *p, const ex_tensor *a, const ex_tensor *b, const ex_tensor *c, ex_tensor *y,
                float *ws);
bool ex_matmul_shape(const ex_tensor *a, const ex_tensor *b, int32_t *rank, int64_t *dims, size_t *ws_bytes,
                     char *err);
void ex_matmul(const ex_tensor *a, const ex_tensor *b, ex_tensor *y, float *ws);

/* ---- compile and run (example_compile.c, example_run.c) ------------------- */

enum ex_slot_kind { EX_SLOT_INPUT, EX_SLOT_CONST, EX_SLOT_INTERNAL, EX_SLOT_OUTPUT };

typedef struct ex_slot {
    int kind;
    uint32_t index;   /* INPUT/OUTPUT: index in the unit's inputs/outputs */
    int64_t last_use; /* position of the last step reading it (INTERNAL: freed after it) */
    ex_tensor konst;  /* CONST: uploaded at compile, freed with the unit */
} ex_slot;

#define EX_NO_SLOT UINT32_MAX
#define EX_MAX_INPUTS 3

typedef struct ex_step {
    ex_op op;
    ex_params params;
    char *name; /* node name (or "#id") for messages */
    int64_t opset;
    uint32_t n_in;
    uint32_t in[EX_MAX_INPUTS]; /* slots; EX_NO_SLOT for an omitted input */
    uint32_t out;
} ex_step;

struct prism_compiled {
    prism_instance *inst;
    ex_step *steps;
    size_t n_steps;
    ex_slot *slots;
    size_t n_slots;
    uint32_t n_inputs, n_outputs;
    uint32_t *output_slot; /* unit output k -> slot */
};

prism_status ex_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                        const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                        prism_host_context *hc, prism_compiled **out);
void ex_compiled_destroy(prism_compiled *c);
prism_status ex_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc);

/* Report a formatted error on hc and return st. */
prism_status ex_fail(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
