/*
 * xrt_internal.h — the XRT provider's objects and the functions its files
 * share. Nothing here is seen by the host: the library exports only
 * prism_provider_init and prism_provider_probe.
 *
 * Devices: the XRT devices found by xrtDeviceOpen(0, 1, ...) when the
 * environment is safe for XRT (xrt_env_check), then always one csim device
 * (the HLS kernels' C code on the host), enabled per instance by csim=1.
 *
 * Memory: PRISM_MEMORY_DEVICE. The host sees tagged handles from a table per
 * instance (xrt_memory.c); each names a backend buffer (an XRT buffer object
 * or a csim host buffer).
 *
 * Threading: the provider object is read-only after init (but for its atomic
 * owner counter). An instance's handle table has its own mutex; runs keep
 * their state on the stack.
 * Errors: functions returning prism_status have reported the reason through
 * host->set_error on the given context (or into an err buffer where noted).
 */
#ifndef PRISM_XRT_INTERNAL_H
#define PRISM_XRT_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/provider.h"
#include "pv_handles.h"
#include "xrt_backend.h"
#include "xrt_meta.h"

#define XR_ERR 512
/* Paths: the library folder and file paths derived from it. */
#define XR_LIBDIR 1024
#define XR_PATH (XR_LIBDIR + 64)
#define XR_MAX_RANK 8
#define XR_DEFAULT_TIMEOUT_MS 10000u
#define XR_XCLBIN_NAME "prism_xrt_kernels.xclbin"
#define XR_INI_NAME "prism_xrt.ini"
/* Rough throughputs for out_cost (GFLOP/s): an FPGA GEMM array, and the
 * HLS C code run unoptimised on one host core. */
#define XR_HW_GFLOPS 200.0
#define XR_CSIM_GFLOPS 2.0

/* ---- environment (xrt_env.c) ------------------------------------------------ */

/* Whether XRT can be called in this process without aborting it: XILINX_XRT
 * set and holding lib/<shim> for the mode, XCL_EMULATION_MODE unset or a
 * known non-empty value, sw_emu/hw_emu only with their Vitis files. Reads
 * the environment only. On false, why holds the reason. *mode receives
 * "hw", "noop", "sw_emu" or "hw_emu". */
bool xrt_env_check(char *why, size_t why_size, const char **mode);
/* Point XRT_INI_PATH at ini_path when the user has not set it and the file
 * exists (silences XRT's own stderr output). */
void xrt_env_quiet(const char *ini_path);

/* ---- operators (xrt_ops.c) ------------------------------------------------------ */

typedef enum xo_op {
    XO_CONV,
    XO_GEMM,
    XO_MATMUL,
    XO_ADD,
    XO_SUB,
    XO_MUL,
    XO_DIV,
    XO_RELU,
    XO_CLIP,
    XO_MAXPOOL,
    XO_AVGPOOL,
    XO_GAP,
    /* Data movement: no kernel. The views name their input's bytes with a new
     * shape; Concat is device-side buffer copies. */
    XO_IDENTITY,
    XO_FLATTEN,
    XO_RESHAPE,
    XO_SQUEEZE,
    XO_UNSQUEEZE,
    XO_CONCAT,
    XO_OP_COUNT
} xo_op;

/* Whether op only renames its input's bytes (Identity, Flatten, Reshape,
 * Squeeze, Unsqueeze). */
static inline bool xo_is_view(xo_op op) { return op >= XO_IDENTITY && op <= XO_UNSQUEEZE; }

/* Concat inputs at most (the step's input array), and device copies per run
 * at most (outer count x inputs, when known at session creation). */
#define XR_MAX_CONCAT_INPUTS 64
#define XR_MAX_CONCAT_COPIES 4096

typedef enum xo_auto_pad { XO_PAD_NOTSET, XO_PAD_VALID, XO_PAD_SAME_UPPER, XO_PAD_SAME_LOWER } xo_auto_pad;

typedef struct xo_params {
    /* Conv and pools: kernel (0 = from W), pads (top, left, bottom, right). */
    xo_auto_pad auto_pad;
    int64_t kernel[2], pads[4], strides[2], dilations[2], group;
    int ceil_mode, count_include_pad;
    /* Gemm. */
    float alpha, beta;
    int trans_a, trans_b;
    /* Clip bounds (attributes or constant inputs). */
    float clip_lo, clip_hi;
    /* Flatten and Concat: the axis as given (may be negative). */
    int64_t axis;
    /* Reshape: the constant target shape and allowzero. */
    int32_t n_shape;
    int64_t shape[XR_MAX_RANK];
    int allowzero;
    /* Squeeze/Unsqueeze: the constant axes as given (Squeeze: 0 = every
     * size-1 axis). */
    int32_t n_axes;
    int64_t axes[XR_MAX_RANK];
} xo_params;

const char *xo_op_name(xo_op op);
/* The kernels op needs (bit per xk_id) given its params. */
uint32_t xo_kernels(xo_op op, const xo_params *p);
/* Whether node `node` of g is an op the kernels run, with attributes, dtypes
 * and (known) shapes they support; fills op and params, or why. */
bool xo_parse(const prism_host_api *host, const prism_graph_view *g, uint32_t node, xo_op *op, xo_params *params,
              char *why, size_t why_size);
/* Rough seconds for the node at gflops. */
double xo_cost(const prism_host_api *host, const prism_graph_view *g, uint32_t node, xo_op op, double gflops);

/* Output spatial size and begin/end pads of one axis (ONNX Conv/pool rules). */
bool xo_spatial(const xo_params *p, int axis, int64_t in, int64_t k, int64_t *out, int64_t *pad_begin,
                int64_t *pad_end);

/* How b broadcasts into a's shape for prism_eltwise: same shape, one
 * element, or one axis (per channel: *inner elements per channel, *channels
 * channels). False when b has any other form or a is not the result shape. */
bool xo_bcast(int32_t ar, const int64_t *ad, int32_t br, const int64_t *bd, int *mode, int64_t *inner,
              int64_t *channels);

/* ---- provider objects (xrt_provider.c) ------------------------------------------- */

struct prism_provider {
    const prism_host_api *host;
    uint32_t n_hw;          /* XRT devices enumerated */
    bool xrt_ok;            /* XRT may be called */
    const char *mode;       /* "hw", "noop", ... */
    char hw_reason[XR_ERR]; /* why there is no hardware device (empty when there is) */
    char libdir[XR_LIBDIR];      /* folder of this library (default xclbin, ini) */
    char **hw_names, **hw_props;
    char csim_props[XR_PATH + XR_ERR + 512];
    atomic_uint next_owner; /* owner id of the next instance's handle table */
};

#define XR_INSTANCE_MAGIC 0x58525444u
/* Low nibble of every buffer handle of this provider (see pv_handles.h). */
#define XR_HANDLE_TAG 0xBu

struct prism_instance {
    uint32_t magic;
    prism_provider *prov;
    uint32_t device;
    bool csim_device; /* the csim device (last index) */
    bool enabled;     /* claims nodes (hardware device, or csim with csim=1) */
    char why_disabled[XR_ERR];
    unsigned timeout_ms;
    double gflops;
    char xclbin[XR_PATH];
    xm_xclbin meta;
    xk_binding bind[XK_COUNT];
    xb_backend *be;
    pv_handle_table handles; /* handle -> backend buffer */
};

/* Report a formatted error on hc and return st. */
prism_status xr_fail(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- device memory handles (xrt_memory.c) ----------------------------------------- */

/* An empty handle table for inst (false: out of resources). */
bool xr_mem_init(prism_instance *inst);
/* Free every live buffer and the table. */
void xr_mem_fini(prism_instance *inst);
/* A backend buffer of bytes, and its handle. err gets the reason. */
prism_status xr_mem_alloc(prism_instance *inst, size_t bytes, void **out_handle, void **out_buf, char *err,
                          size_t err_size);
void xr_mem_free(prism_instance *inst, void *handle);
/* The backend buffer and size of a live handle; false if it is not one. */
bool xr_mem_resolve(prism_instance *inst, const void *handle, void **out_buf, size_t *out_bytes);

prism_status xr_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer);
void xr_buffer_free(prism_instance *inst, void *buffer);
prism_status xr_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                               size_t bytes, prism_host_context *hc);
prism_status xr_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                 size_t bytes, prism_host_context *hc);
prism_status xr_synchronize(prism_instance *inst, prism_host_context *hc);

/* ---- compile, lower and run (xrt_compile.c, xrt_lower.c, xrt_run.c) --------------- */

/* A float tensor in device memory as the lowering sees it. */
typedef struct xr_tensor {
    int32_t rank;
    int64_t dims[XR_MAX_RANK];
    int64_t count;
    void *buf; /* backend buffer */
} xr_tensor;

enum xr_slot_kind { XR_SLOT_INPUT, XR_SLOT_CONST, XR_SLOT_INTERNAL, XR_SLOT_OUTPUT };

typedef struct xr_slot {
    int kind;
    uint32_t index;   /* INPUT/OUTPUT: index in the unit's inputs/outputs */
    int64_t last_use; /* step position of the last reader */
    xr_tensor konst;  /* CONST: uploaded at compile */
    void *konst_handle;
    /* A view's slot shares the buffer of this slot (the first slot of the
     * chain that owns or binds bytes); readers of the view keep it alive.
     * XR_NO_SLOT when the slot has its own buffer. */
    uint32_t alias;
} xr_slot;

#define XR_NO_SLOT UINT32_MAX
#define XR_MAX_INPUTS 3 /* inputs of a kernel step */
#define XR_MAX_STEP_INPUTS XR_MAX_CONCAT_INPUTS

typedef struct xr_step {
    xo_op op;
    xo_params p;
    char *name;
    int64_t opset;
    int64_t pos; /* position of its node in the unit (slot last_use) */
    uint32_t n_in;
    uint32_t in[XR_MAX_STEP_INPUTS];
    uint32_t out;
    int act; /* PRISM_HLS_ACT_* fused into this step */
    float act_lo, act_hi;
} xr_step;

struct prism_compiled {
    prism_instance *inst;
    xr_step *steps;
    size_t n_steps;
    xr_slot *slots;
    size_t n_slots;
    uint32_t n_inputs, n_outputs;
    uint32_t *output_slot;
};

prism_status xr_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                        const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                        prism_host_context *hc, prism_compiled **out);
void xr_compiled_destroy(prism_compiled *c);
prism_status xr_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc);

/* Launch a kernel call on the instance's backend (err gets the reason). */
prism_status xr_launch(prism_instance *inst, const xk_call *call, char *err, size_t err_size);
/* Output shape of a step from its input shapes; false with err on a shape
 * the kernels do not take. */
bool xr_plan(const xr_step *s, const xr_tensor *const *in, int32_t *rank, int64_t *dims, char *err, size_t n);
/* Run step s: in[] are its inputs, y its allocated output. A view step is
 * lowered only when its output has a buffer of its own (a unit output): a
 * device-side copy; inside a unit the run aliases it instead. */
prism_status xr_lower(prism_instance *inst, const xr_step *s, const xr_tensor *const *in, const xr_tensor *y,
                      char *err, size_t n);

#endif
