/*
 * prism/provider.h — the execution-provider plugin ABI, version 1.
 *
 * A provider is a shared library that exports one symbol,
 *
 *     prism_status prism_provider_init(const prism_host_api *host,
 *                                      uint32_t host_abi_version,
 *                                      prism_provider **out_provider,
 *                                      const prism_provider_api **out_api);
 *
 * and, optionally, a cheap side-effect-free probe
 *
 *     uint32_t prism_provider_probe(void);   -- returns the provider's ABI version
 *
 * Rules that keep old plugins working with new hosts and the other way round:
 *  - Every table begins with struct_size, abi_major, abi_minor. Tables only grow
 *    at the end. A reader checks struct_size before touching a member past the
 *    ones of version 1.0, and treats a NULL function pointer as "optional, not
 *    provided".
 *  - A plugin whose ABI major differs from the host's is refused with an error
 *    naming both versions. Minor versions are compatible both ways.
 *  - Plugins never link libprism: everything they need from the host comes
 *    through prism_host_api. Error text crosses the boundary as a copy
 *    (host->set_error copies the string); no heap object is freed on the
 *    other side of the boundary.
 *  - The host never unloads a provider while anything it created is alive.
 *
 * Object model: provider (one per loaded library) -> devices it enumerates ->
 * instance (one per session and device) -> compiled subgraphs.
 *
 * Threading: device_count/device_info may be called from any thread. An
 * instance is used by one session; compile is called while the session is
 * being created (one thread). run on the same compiled subgraph may be called
 * from several threads at once (a session can be run concurrently): keep
 * per-run state on the stack or allocate it per call.
 *
 * This header needs only <stdint.h> and <stddef.h>.
 */
#ifndef PRISM_PROVIDER_H
#define PRISM_PROVIDER_H

#include "prism/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PRISM_PROVIDER_ABI_MAJOR 1u
#define PRISM_PROVIDER_ABI_MINOR 0u
#define PRISM_PROVIDER_ABI_VERSION ((PRISM_PROVIDER_ABI_MAJOR << 16) | PRISM_PROVIDER_ABI_MINOR)
#define PRISM_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define PRISM_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

#define PRISM_PROVIDER_INIT_SYMBOL "prism_provider_init"
#define PRISM_PROVIDER_PROBE_SYMBOL "prism_provider_probe"

/* A value id meaning "no value" (an omitted optional input). */
#define PRISM_NO_VALUE UINT32_MAX

/* ---- Objects owned by the host (opaque to plugins) ---------------------- */

/* A read-only view of a graph, valid for as long as any compiled subgraph
 * made from it is alive. Nodes are numbered 0..node_count-1 in a topological
 * order; values 0..value_count-1. */
typedef struct prism_graph_view prism_graph_view;

/* The context of one call into the plugin: where errors and log lines go, and
 * (during run) how outputs are allocated. Valid only during that call. */
typedef struct prism_host_context prism_host_context;

/* ---- Objects owned by the plugin (opaque to the host) ------------------- */
/* Each plugin defines these structs in its own sources. */
typedef struct prism_provider prism_provider;
typedef struct prism_instance prism_instance;
typedef struct prism_compiled prism_compiled;

/* Where a device's tensors live. */
typedef enum prism_memory_kind {
    /* Tensor data pointers are ordinary host pointers the host may read and
     * write directly (CPU providers, unified-memory devices). */
    PRISM_MEMORY_HOST = 0,
    /* Tensor data pointers are opaque device-buffer handles made by the
     * provider's alloc; the host moves data only through the copy functions. */
    PRISM_MEMORY_DEVICE = 1
} prism_memory_kind;

/* Attribute types: ONNX AttributeProto.AttributeType numbering. */
typedef enum prism_attr_type {
    PRISM_ATTR_UNDEFINED = 0,
    PRISM_ATTR_FLOAT = 1,
    PRISM_ATTR_INT = 2,
    PRISM_ATTR_STRING = 3,
    PRISM_ATTR_TENSOR = 4,
    PRISM_ATTR_GRAPH = 5,
    PRISM_ATTR_FLOATS = 6,
    PRISM_ATTR_INTS = 7,
    PRISM_ATTR_STRINGS = 8,
    PRISM_ATTR_TENSORS = 9,
    PRISM_ATTR_GRAPHS = 10,
    PRISM_ATTR_SPARSE_TENSOR = 11,
    PRISM_ATTR_SPARSE_TENSORS = 12,
    PRISM_ATTR_TYPE_PROTO = 13,
    PRISM_ATTR_TYPE_PROTOS = 14
} prism_attr_type;

/* A tensor crossing the boundary. dims points to rank int64 values owned by
 * whoever filled the struct, valid for the duration of the call. */
typedef struct prism_tensor_desc {
    uint32_t struct_size;
    int32_t dtype;      /* prism_dtype */
    uint32_t rank;
    const int64_t *dims;
    void *data;         /* host pointer or device buffer handle (see memory kind) */
    size_t byte_size;
} prism_tensor_desc;

/* One device of a provider, filled by device_info. Strings are owned by the
 * provider and live as long as the provider. */
typedef struct prism_device_info {
    uint32_t struct_size;
    int32_t type;          /* prism_device_type */
    int32_t memory_kind;   /* prism_memory_kind */
    const char *name;
    const char *vendor;
    uint64_t memory_bytes; /* 0 when unknown */
    /* Provider-specific properties as "key=value" lines separated by '\n'
     * (may be NULL). */
    const char *properties;
} prism_device_info;

/* A key=value option for a provider instance (device index, cache folder...). */
typedef struct prism_option {
    const char *key;
    const char *value;
} prism_option;

/* ---- The host's table, handed to the plugin at init --------------------- */

typedef struct prism_host_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* Diagnostics. set_error records the message (copied) for the call whose
     * context is hc; the plugin then returns a non-zero status. log sends a
     * line to the application's log callback. With hc == NULL (during init,
     * which has no context), set_error becomes the message of the failing
     * init and log is dropped. */
    void (*set_error)(prism_host_context *hc, const char *message);
    void (*log)(prism_host_context *hc, int32_t level, const char *message);

    /* Host memory for the plugin's own use (aligned to 64 bytes). */
    void *(*mem_alloc)(size_t bytes);
    void (*mem_free)(void *ptr);

    /* Graph view: structure. */
    uint32_t (*graph_node_count)(const prism_graph_view *g);
    uint32_t (*graph_value_count)(const prism_graph_view *g);
    uint32_t (*graph_input_count)(const prism_graph_view *g);
    uint32_t (*graph_input)(const prism_graph_view *g, uint32_t index);
    uint32_t (*graph_output_count)(const prism_graph_view *g);
    uint32_t (*graph_output)(const prism_graph_view *g, uint32_t index);

    const char *(*node_name)(const prism_graph_view *g, uint32_t node);
    const char *(*node_op_type)(const prism_graph_view *g, uint32_t node);
    const char *(*node_domain)(const prism_graph_view *g, uint32_t node); /* "" = ai.onnx */
    int64_t (*node_opset)(const prism_graph_view *g, uint32_t node);      /* of its domain */
    uint32_t (*node_input_count)(const prism_graph_view *g, uint32_t node);
    uint32_t (*node_input)(const prism_graph_view *g, uint32_t node, uint32_t k); /* or PRISM_NO_VALUE */
    uint32_t (*node_output_count)(const prism_graph_view *g, uint32_t node);
    uint32_t (*node_output)(const prism_graph_view *g, uint32_t node, uint32_t k); /* or PRISM_NO_VALUE */
    /* Implicit inputs: values of this graph that the node's subgraph
     * attributes (If/Loop/Scan bodies) read from the enclosing scope. The
     * node must not run before they exist, and they must stay alive until it
     * has run. */
    uint32_t (*node_implicit_input_count)(const prism_graph_view *g, uint32_t node);
    uint32_t (*node_implicit_input)(const prism_graph_view *g, uint32_t node, uint32_t k);

    /* Graph view: values. dtype 0 and rank -1 mean unknown; a dim of -1 is
     * unknown or symbolic (value_dim_param then names it, or returns NULL). */
    const char *(*value_name)(const prism_graph_view *g, uint32_t value);
    int32_t (*value_dtype)(const prism_graph_view *g, uint32_t value);
    int32_t (*value_rank)(const prism_graph_view *g, uint32_t value);
    int64_t (*value_dim)(const prism_graph_view *g, uint32_t value, uint32_t axis);
    const char *(*value_dim_param)(const prism_graph_view *g, uint32_t value, uint32_t axis);
    /* Constants (initializers, Constant outputs folded by the host): the data
     * is host memory owned by the host, valid as long as the view. Returns
     * NULL for a value that is not constant. */
    const void *(*value_constant)(const prism_graph_view *g, uint32_t value, size_t *out_bytes);

    /* Graph view: attributes, by index 0..node_attr_count-1. */
    uint32_t (*node_attr_count)(const prism_graph_view *g, uint32_t node);
    int32_t (*node_attr_find)(const prism_graph_view *g, uint32_t node, const char *name); /* -1 if absent */
    const char *(*attr_name)(const prism_graph_view *g, uint32_t node, uint32_t attr);
    int32_t (*attr_type)(const prism_graph_view *g, uint32_t node, uint32_t attr); /* prism_attr_type */
    int64_t (*attr_int)(const prism_graph_view *g, uint32_t node, uint32_t attr);
    float (*attr_float)(const prism_graph_view *g, uint32_t node, uint32_t attr);
    const char *(*attr_string)(const prism_graph_view *g, uint32_t node, uint32_t attr, size_t *out_len);
    const int64_t *(*attr_ints)(const prism_graph_view *g, uint32_t node, uint32_t attr, size_t *out_count);
    const float *(*attr_floats)(const prism_graph_view *g, uint32_t node, uint32_t attr, size_t *out_count);
    uint32_t (*attr_strings_count)(const prism_graph_view *g, uint32_t node, uint32_t attr);
    const char *(*attr_strings_item)(const prism_graph_view *g, uint32_t node, uint32_t attr, uint32_t i,
                                     size_t *out_len);
    /* A TENSOR attribute: fills desc (host memory, owned by the host). */
    prism_status (*attr_tensor)(const prism_graph_view *g, uint32_t node, uint32_t attr, prism_tensor_desc *desc);
    /* GRAPH / GRAPHS attributes: a view of the body graph (i = 0 for GRAPH). */
    uint32_t (*attr_graphs_count)(const prism_graph_view *g, uint32_t node, uint32_t attr);
    const prism_graph_view *(*attr_graph)(const prism_graph_view *g, uint32_t node, uint32_t attr, uint32_t i);

    /* During run only: allocate output k of the compiled subgraph with the
     * given type and shape, in the instance's memory. The host owns the
     * buffer; *out_data receives a host pointer or device buffer handle. */
    prism_status (*output_alloc)(prism_host_context *hc, uint32_t output_index, int32_t dtype, uint32_t rank,
                                 const int64_t *dims, void **out_data);
    /* During run only: the intra-op thread count the session asked for (>= 1). */
    uint32_t (*run_threads)(prism_host_context *hc);
} prism_host_api;

/* ---- The provider's table, returned by init ----------------------------- */

typedef struct prism_provider_api {
    uint32_t struct_size;
    uint16_t abi_major;
    uint16_t abi_minor;
    const char *name;    /* short name, e.g. "cpu" */
    const char *version; /* the provider's own version string */

    /* Required. Releases the provider; the host calls it once, after every
     * instance is destroyed, just before closing the library. */
    void (*destroy)(prism_provider *p);

    /* Required. Number of devices (0 is allowed: "no device here"; the
     * host then logs reason(), when given, and skips the provider). */
    uint32_t (*device_count)(prism_provider *p);
    prism_status (*device_info)(prism_provider *p, uint32_t device, prism_device_info *out);

    /* Required. An instance of one device for one session. options holds the
     * session's key=value options for this provider. */
    prism_status (*instance_create)(prism_provider *p, uint32_t device, const prism_option *options,
                                    size_t option_count, prism_host_context *hc, prism_instance **out);
    void (*instance_destroy)(prism_instance *inst);

    /* Required. Capability: for each node of g, out_supported[n] = 1 when the
     * instance can run it. Optional outputs (may be NULL):
     *   out_group[n]: nodes sharing a non-zero group id want to be fused and
     *                 compiled as one unit;
     *   out_cost[n]:  estimated seconds to run the node on this device. */
    prism_status (*get_capability)(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                   uint8_t *out_supported, uint32_t *out_group, double *out_cost);

    /* Required. Compile the nodes (ids in topological order) into one unit.
     * inputs/outputs are the value ids the unit receives and produces, in the
     * order run() will see them. Constant values are not inputs: read them
     * from the view. */
    prism_status (*compile)(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes,
                            size_t node_count, const uint32_t *inputs, size_t input_count,
                            const uint32_t *outputs, size_t output_count, prism_host_context *hc,
                            prism_compiled **out);
    void (*compiled_destroy)(prism_compiled *c);

    /* Required. Run a compiled unit. Outputs are allocated through
     * host->output_alloc(hc, k, ...) once their shape is known; every output
     * must be allocated before run returns PRISM_OK. */
    prism_status (*run)(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count,
                        prism_host_context *hc);

    /* Memory. For PRISM_MEMORY_HOST devices these may be NULL (the host then
     * uses its own allocator). For PRISM_MEMORY_DEVICE they are required. */
    prism_status (*buffer_alloc)(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer);
    void (*buffer_free)(prism_instance *inst, void *buffer);
    prism_status (*copy_to_device)(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                                   size_t bytes, prism_host_context *hc);
    prism_status (*copy_from_device)(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                     size_t bytes, prism_host_context *hc);
    /* Optional: copy between two buffers of this provider (possibly of two of
     * its instances). */
    prism_status (*copy_device_to_device)(prism_instance *dst_inst, void *dst_buffer, prism_instance *src_inst,
                                          const void *src_buffer, size_t bytes, prism_host_context *hc);
    /* Optional: wait until all work queued on the instance is done. A
     * provider that runs asynchronously completes outstanding work here; the
     * host calls it before reading results. */
    prism_status (*synchronize)(prism_instance *inst, prism_host_context *hc);

    /* Optional: a one-line reason when device_count() is 0. */
    const char *(*reason)(prism_provider *p);
} prism_provider_api;

/* Marks the entry symbols a provider exports (build with hidden visibility
 * and only these leave the library). */
#if defined(__GNUC__)
#define PRISM_PROVIDER_EXPORT __attribute__((visibility("default")))
#else
#define PRISM_PROVIDER_EXPORT
#endif

typedef prism_status (*prism_provider_init_fn)(const prism_host_api *host, uint32_t host_abi_version,
                                               prism_provider **out_provider, const prism_provider_api **out_api);
typedef uint32_t (*prism_provider_probe_fn)(void);

/* Size of the version-1.0 tables: a reader may touch members below these
 * offsets on any table whose struct_size is at least this large. */
#define PRISM_HOST_API_V1_SIZE (offsetof(prism_host_api, run_threads) + sizeof(void *))
#define PRISM_PROVIDER_API_V1_SIZE (offsetof(prism_provider_api, reason) + sizeof(void *))

#ifdef __cplusplus
}
#endif

#endif /* PRISM_PROVIDER_H */
