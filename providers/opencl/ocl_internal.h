/*
 * ocl_internal.h — the OpenCL provider's own objects (ops see only
 * ocl_kernel.h).
 *
 * Ownership: the provider owns its devices; a device owns its cl_context and
 * the programs built for it (shared by every session of the process, guarded
 * by the device's mutex). An instance (one session on one device) owns its
 * in-order command queue, its buffer-handle table, its pool of free device
 * buffers and its kernel objects (guarded by the instance's mutexes). A
 * compiled unit owns its nodes and the constants it uploaded.
 *
 * Threading: several runs of one unit may enqueue on the instance's queue at
 * once; every shared table is behind a mutex. Errors are reported through
 * host->set_error on the call's host context.
 */
#ifndef PRISM_OCL_INTERNAL_H
#define PRISM_OCL_INTERNAL_H

#include <pthread.h>

#include "ocl_kernel.h"
#include "pv_handles.h"

#define OCL_ERR 1024
#define OCL_INSTANCE_MAGIC 0x4F434C49u /* "OCLI" */

/* ---- devices (ocl_device.c) ---------------------------------------------- */

typedef struct ocl_program_entry {
    char *key; /* "program|type|options" */
    cl_program program;
    struct ocl_program_entry *next;
} ocl_program_entry;

typedef struct ocl_device {
    cl_platform_id platform;
    cl_device_id id;
    int32_t type; /* prism_device_type */
    char name[256], vendor[256], driver[128], platform_version[256], device_version[128], platform_name[256];
    char properties[1536];
    uint64_t memory_bytes;
    size_t max_group, local_mem;
    cl_uint compute_units;
    bool fp16;
    pthread_mutex_t lock; /* context creation and the program list */
    cl_context context;   /* made at the first instance */
    ocl_program_entry *programs;
    /* Statistics of the program cache (under lock). */
    uint64_t disk_hits, disk_misses, source_builds;
} ocl_device;

struct prism_provider {
    const prism_host_api *host;
    ocl_device *devices;
    uint32_t n_devices;
    char reason[512];
    pthread_mutex_t lock; /* instance tags */
    uint32_t next_tag;
};

/* Enumerate every device of every platform (GPUs and accelerators first).
 * On none, fills p->reason. */
void ocl_devices_enumerate(prism_provider *p);
void ocl_devices_release(prism_provider *p);
/* The device's context, created on first use. */
prism_status ocl_device_context(ocl_device *d, char *err, size_t err_size);

/* ---- instances ------------------------------------------------------------ */

/* Low nibble of every buffer handle of this provider (see pv_handles.h). */
#define OCL_HANDLE_TAG 0xCu

typedef struct ocl_pooled {
    cl_mem mem;
    size_t cap;
} ocl_pooled;

typedef struct ocl_kernel_entry {
    char *key; /* "program|type|options|kernel" */
    cl_kernel kernel;
    struct ocl_kernel_entry *next;
} ocl_kernel_entry;

/* Kernel forms the ops pick (see ocl_cpu_kernels in ocl_kernel.h). */
typedef enum ocl_kernel_family { OCL_KERNELS_AUTO = 0, OCL_KERNELS_CPU, OCL_KERNELS_GPU } ocl_kernel_family;

struct prism_instance {
    uint32_t magic;
    prism_provider *prov;
    ocl_device *dev;
    cl_command_queue queue;
    char cache_dir[1024]; /* "" = no disk cache */
    char build_options[256];
    bool use_clblast;
    /* buffer handles (owner id: a per-provider counter), and the pool of
     * free buffers under mem_lock */
    pv_handle_table handles;
    pthread_mutex_t mem_lock;
    ocl_pooled *pool;
    size_t n_pool, cap_pool, pool_bytes;
    /* kernel objects: set-args + enqueue happen under launch_lock */
    pthread_mutex_t launch_lock;
    ocl_kernel_entry *kernels;
    /* Which kernel forms the ops use (provider option kernels). */
    ocl_kernel_family kernel_family;
    /* Launches so far and the one that fails on purpose (option
     * fail_launch=N, 0 = never): a test aid that makes the driver's failure
     * path run on a healthy device. Under launch_lock. */
    uint64_t launches, fail_launch;
    /* Option profile=1: the queue has CL_QUEUE_PROFILING_ENABLE, every
     * launch keeps its event in prof_events, and ocl_profile_collect folds
     * finished events into device time per kernel name. All under
     * launch_lock; untouched (no events) when profile is false. */
    bool profile;
    struct ocl_prof_event *prof_events;
    size_t n_prof_events, cap_prof_events;
    struct ocl_prof_kernel *prof_kernels;
    size_t n_prof_kernels, cap_prof_kernels;
};

/* ---- profiling (ocl_profile.c) -------------------------------------------- */

typedef struct ocl_prof_event {
    cl_event event;
    uint32_t kernel; /* index into prof_kernels */
} ocl_prof_event;

typedef struct ocl_prof_kernel {
    char *name;          /* "program.kernel" (malloc'd) */
    uint64_t launches;   /* since the last report */
    uint64_t ns;         /* device time (END - START) since the last report */
} ocl_prof_kernel;

/* Keep the event of a launch of program.kernel (launch_lock held). On
 * failure (out of memory) the event is released and the launch goes
 * unprofiled. */
void ocl_profile_add(prism_instance *inst, const char *program, const char *kernel, cl_event ev);
/* Wait for the kept events, add their device time to their kernels and
 * release them; when report, log (PRISM_LOG_INFO through hc) one line per
 * kernel since the last report, the largest first, and start over. Takes
 * launch_lock. */
void ocl_profile_collect(prism_instance *inst, prism_host_context *hc, bool report);
/* Release every kept event and the table (instance teardown). */
void ocl_profile_release(prism_instance *inst);

/* ---- memory (ocl_memory.c) ------------------------------------------------- */

/* Device buffers of at least `bytes` from the instance's pool (a new one when
 * none is free); put hands one back. Safe on an in-order queue: a buffer put
 * back after its last reader was enqueued is only reused by later commands. */
prism_status ocl_pool_get(prism_instance *inst, size_t bytes, cl_mem *out, char *err, size_t err_size);
void ocl_pool_put(prism_instance *inst, cl_mem mem);
void ocl_pool_release_all(prism_instance *inst);
/* The cl_mem and size behind a handle of this instance (false: not a live
 * handle of inst). */
bool ocl_handle_resolve(prism_instance *inst, const void *handle, cl_mem *mem, size_t *bytes);
/* Release the buffer of every live handle and the table (instance teardown). */
void ocl_handles_release_all(prism_instance *inst);

prism_status ocl_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer);
void ocl_buffer_free(prism_instance *inst, void *buffer);
prism_status ocl_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                                size_t bytes, prism_host_context *hc);
prism_status ocl_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                  size_t bytes, prism_host_context *hc);
prism_status ocl_copy_device_to_device(prism_instance *dst_inst, void *dst_buffer, prism_instance *src_inst,
                                       const void *src_buffer, size_t bytes, prism_host_context *hc);
prism_status ocl_synchronize(prism_instance *inst, prism_host_context *hc);

/* Report an error on hc (formatted); returns st. */
prism_status ocl_report(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* ---- programs (ocl_program.c, ocl_cache.c) ------------------------------------ */

/* The built program (program, type) for the instance's device and build
 * options; logs through hc. */
prism_status ocl_program_get(prism_instance *inst, prism_host_context *hc, const char *program, const char *type,
                             cl_program *out);
/* The cl_kernel `kernel` of that program for this instance; call with
 * inst->launch_lock held. */
prism_status ocl_kernel_get(prism_instance *inst, prism_host_context *hc, const char *program, const char *type,
                            const char *kernel, cl_kernel *out);
void ocl_kernels_release_all(prism_instance *inst);

/* Disk cache of program binaries. load: a binary for key (malloc'd, free
 * it) or NULL when absent, stale or corrupt (*why says which). store writes
 * atomically (temp file + rename); false on failure (*why). */
unsigned char *ocl_cache_load(const char *dir, const char *key, size_t *len, char *why, size_t why_size);
bool ocl_cache_store(const char *dir, const char *key, const unsigned char *bin, size_t len, char *why,
                     size_t why_size);
/* The folder from $XDG_CACHE_HOME or $HOME ("" when neither is set). */
void ocl_cache_default_dir(char *out, size_t size);
uint64_t ocl_hash64(const void *data, size_t n, uint64_t seed);

/* ---- kernel table (kernel_table.c) ---------------------------------------- */

typedef struct ocl_op_entry {
    const char *op_type;
    const char *domain;
    int64_t since;
    const ocl_kernel_def *def;
} ocl_op_entry;
const ocl_op_entry *ocl_op_lookup(const char *domain, const char *op_type, int64_t opset);
size_t ocl_op_count(void);

/* ---- nodes and compiled units (ocl_node.c, ocl_exec.c) ----------------------- */

#define OCL_NO_SLOT UINT32_MAX

struct ocl_node {
    const prism_host_api *host;
    const prism_graph_view *g;
    prism_instance *inst;
    uint32_t id;
    const char *name, *op;
    int64_t opset;
    const ocl_kernel_def *def;
    void *state;
    uint32_t n_in, n_out;
    uint32_t *in_slot, *out_slot;
    ocl_activation act;
    bool fused;
};

void ocl_node_bind(ocl_node *n, prism_instance *inst, const prism_graph_view *g, uint32_t id);

enum ocl_slot_kind { OCL_SLOT_INPUT, OCL_SLOT_CONST, OCL_SLOT_INTERNAL, OCL_SLOT_OUTPUT };

typedef struct ocl_slot {
    int kind;
    uint32_t index;   /* unit input/output index */
    int64_t last_use; /* position of the last reader */
    uint32_t reads;
    ocl_tensor konst; /* CONST: uploaded at compile */
} ocl_slot;

typedef struct ocl_upload_list {
    cl_mem mem;
    struct ocl_upload_list *next;
} ocl_upload_list;

struct prism_compiled {
    prism_instance *inst;
    const prism_graph_view *g;
    ocl_node *nodes;
    size_t n_nodes;
    ocl_slot *slots;
    size_t n_slots;
    uint32_t n_inputs, n_outputs;
    uint32_t *output_slot;
    pthread_mutex_t upload_lock;
    ocl_upload_list *uploads;
};

typedef struct ocl_run_val {
    ocl_tensor t;
    bool set;
    int32_t buf; /* index into the run's owned buffers, -1: not owned by the run */
} ocl_run_val;

typedef struct ocl_run_buf {
    cl_mem mem;
    uint32_t refs;
} ocl_run_buf;

struct ocl_ctx {
    prism_instance *inst;
    const prism_host_api *host;
    prism_host_context *hc;
    const ocl_node *node;
    prism_compiled *c;
    /* run only */
    ocl_run_val *vals;
    ocl_run_buf *bufs;
    size_t n_bufs, cap_bufs;
    cl_mem *scratch;
    size_t n_scratch, cap_scratch;
};

prism_status ocl_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                         const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                         prism_host_context *hc, prism_compiled **out);
void ocl_compiled_destroy(prism_compiled *c);
prism_status ocl_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc);

/* Capability (ocl_cost.c / ocl_fuse.c). */
double ocl_node_cost(const prism_instance *inst, const prism_graph_view *g, uint32_t node);
/* Fold activations into their producers in a compiled unit. */
void ocl_fuse_activations(prism_compiled *c);
/* Group ids for out_group: producer + activation pairs share one. */
void ocl_fuse_groups(prism_instance *inst, const prism_graph_view *g, const uint8_t *supported, uint32_t *group);

/* CLBlast (ocl_blas.c): C = alpha*op(A)*op(B) + beta*C, row-major float32.
 * false when CLBlast is absent, disabled or declined (the caller then runs
 * its own kernel). */
bool ocl_blas_sgemm(ocl_ctx *ctx, bool ta, bool tb, size_t m, size_t n, size_t k, float alpha, cl_mem a,
                    size_t a_off, size_t lda, cl_mem b, size_t b_off, size_t ldb, float beta, cl_mem c, size_t c_off,
                    size_t ldc);
bool ocl_blas_available(void);

#endif /* PRISM_OCL_INTERNAL_H */
