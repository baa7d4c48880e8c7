/*
 * prism/prism.h — the Prism runtime API.
 *
 * Conventions
 *  - Every fallible function returns prism_status (PRISM_OK == 0). On failure
 *    a detailed message (node, op, opset, provider, file ...) is available
 *    from prism_last_error_message() on the same thread, until the next Prism
 *    call on that thread.
 *  - Out-parameters come last and are written only on success.
 *  - Objects come in create/destroy pairs; destroy accepts NULL.
 *  - The library never prints: it logs through the environment's callback.
 *  - No global mutable state: two environments are fully independent.
 *
 * Threading
 *  - A prism_env may be shared by threads; loading providers and creating
 *    sessions on one env from several threads at once is safe.
 *  - prism_session_run may be called from several threads at once on the same
 *    session. Creating or destroying a session races with nothing but its own
 *    use: do not destroy a session while a run on it is in progress.
 *  - Tensors and session options are not synchronised: do not modify one
 *    from two threads at once.
 */
#ifndef PRISM_PRISM_H
#define PRISM_PRISM_H

#include "prism/types.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PRISM_VERSION_MAJOR 0
#define PRISM_VERSION_MINOR 1
#define PRISM_VERSION_PATCH 0

typedef struct prism_env prism_env;
typedef struct prism_session_options prism_session_options;
typedef struct prism_session prism_session;
typedef struct prism_tensor prism_tensor;
typedef struct prism_model prism_model;

/* ---- errors and versions ------------------------------------------------ */

/* The detailed message of the last failed Prism call on this thread ("" if
 * none). The pointer stays valid until the next Prism call on this thread. */
const char *prism_last_error_message(void);
/* A short name for a status code ("PRISM_ERR_INVALID_MODEL"); never NULL. */
const char *prism_status_name(prism_status status);
/* "0.1.0" — never NULL, static storage. */
const char *prism_version_string(void);
/* "float", "int64", ... ; "undefined" for unknown values. Static storage. */
const char *prism_dtype_name(prism_dtype dtype);
/* Bytes per element (sizeof(char*) for STRING), 0 for undefined. */
size_t prism_dtype_size(prism_dtype dtype);

/* ---- environment -------------------------------------------------------- */

/* Receives every log line of the env and its sessions and providers, from any
 * thread (the callback must be thread-safe). message is valid during the call. */
typedef void (*prism_log_fn)(void *user_data, prism_log_level level, const char *message);

/* Create an environment: it owns the loaded provider plugins. Providers are
 * found by name in PRISM_PROVIDER_PATH (':'-separated), then next to the
 * libprism shared object, then in the install folder.
 * Errors: PRISM_ERR_OUT_OF_MEMORY. */
prism_status prism_env_create(prism_env **out_env);
/* Destroys the env. Sessions still alive keep it (and its providers)
 * loaded: the last of them to be destroyed unloads the providers. Accepts
 * NULL. */
void prism_env_destroy(prism_env *env);
/* Set the log callback and the lowest level passed to it (default: no
 * callback, WARNING). Not synchronised with concurrent logging: call before
 * sharing the env. */
void prism_env_set_logger(prism_env *env, prism_log_fn fn, void *user_data, prism_log_level min_level);

/* Load a provider by name ("cpu") or by path (anything containing '/'), if
 * not loaded yet. Errors: PRISM_ERR_NOT_FOUND (no such library; the message
 * lists the folders searched), PRISM_ERR_ABI_MISMATCH (other ABI major; both
 * versions named), PRISM_ERR_PROVIDER (init failed, or a required table
 * member is NULL). The env keeps running after any of these. */
prism_status prism_env_load_provider(prism_env *env, const char *name_or_path);
/* Try to load every provider library found on the search path
 * (libprism_provider_*.so). Failures are logged and skipped. */
prism_status prism_env_load_all_providers(prism_env *env);

/* Loaded providers and their devices. Strings are owned by the env. */
size_t prism_env_provider_count(const prism_env *env);
const char *prism_env_provider_name(const prism_env *env, size_t index);
const char *prism_env_provider_version(const prism_env *env, size_t index);
const char *prism_env_provider_path(const prism_env *env, size_t index);
/* Why the provider has no devices ("" when it has some or gave no reason). */
const char *prism_env_provider_reason(const prism_env *env, size_t index);
size_t prism_env_device_count(const prism_env *env, size_t provider_index);

typedef struct prism_device_desc {
    uint32_t struct_size; /* set to sizeof(prism_device_desc) before the call */
    prism_device_type type;
    const char *name;
    const char *vendor;
    uint64_t memory_bytes;
    const char *properties; /* "key=value" lines, may be NULL */
} prism_device_desc;
/* Errors: PRISM_ERR_NOT_FOUND for a bad index; PRISM_ERR_INVALID_ARGUMENT if
 * struct_size is too small. */
prism_status prism_env_device(const prism_env *env, size_t provider_index, size_t device_index,
                              prism_device_desc *desc);

/* ---- session options ---------------------------------------------------- */

prism_status prism_session_options_create(prism_session_options **out_options);
void prism_session_options_destroy(prism_session_options *options);
/* Ordered, comma-separated provider list ("opencl,cpu"). Default: "cpu".
 * Entries are provider names, loaded on demand at session creation, or
 * paths to provider libraries (anything containing '/'). "all" means every
 * provider found on the search path that has a device, accelerators first,
 * CPU last. When fallback is allowed and "cpu" is not listed, the CPU
 * provider is the last resort for nodes no listed provider can run. */
prism_status prism_session_options_set_providers(prism_session_options *options, const char *list);
/* Intra-op threads for each run (>= 1; 0 = one per core). Default 0. */
prism_status prism_session_options_set_threads(prism_session_options *options, uint32_t threads);
/* A key=value option passed to one provider's instances. The key "device"
 * is the core's: the device index of the provider's instance (default 0),
 * a list ("0,1": one instance per device, in that order of preference) or
 * "all". */
prism_status prism_session_options_set_provider_option(prism_session_options *options, const char *provider,
                                                       const char *key, const char *value);

/* A provider option given as one string "PROVIDER:KEY=VALUE" (the CLI's and
 * PRISM_PROVIDER_OPTIONS' form). Errors: PRISM_ERR_INVALID_ARGUMENT for a
 * string without ':' or '=' or with an empty part. */
prism_status prism_session_options_add_provider_option_string(prism_session_options *options, const char *spec);

/* Device-placement policies (see docs/session-options.md). */
typedef enum prism_policy {
    /* Each node goes to the first provider in the list that can run it. */
    PRISM_POLICY_PROVIDER_ORDER = 0,
    /* Providers whose device has the named type come first (in list order),
     * then the others; a node placed elsewhere is a fallback. */
    PRISM_POLICY_PREFER_GPU = 1,
    PRISM_POLICY_PREFER_FPGA = 2,
    PRISM_POLICY_PREFER_CPU = 3,
    /* Minimise estimated latency: the providers' per-node cost estimates
     * plus the time of the copies a placement implies. */
    PRISM_POLICY_LATENCY = 4,
    PRISM_POLICY_PREFER_ACCELERATOR = 5
} prism_policy;
/* "provider_order", "prefer_gpu", "prefer_fpga", "prefer_cpu",
 * "prefer_accelerator", "latency"; NULL for an unknown value. Static storage. */
const char *prism_policy_name(prism_policy policy);
/* Parse a policy name (as above; '-' may stand for '_'). Errors:
 * PRISM_ERR_INVALID_ARGUMENT naming the accepted names. */
prism_status prism_policy_from_name(const char *name, prism_policy *out_policy);
/* Default PRISM_POLICY_PROVIDER_ORDER. */
prism_status prism_session_options_set_policy(prism_session_options *options, prism_policy policy);

/* Per-node affinity: "KEY=TARGET[,KEY=TARGET...]" where KEY is a node name
 * or an op type and TARGET is PROVIDER or PROVIDER:DEVICE ("Conv=xrt,
 * node_17=cpu,fc=opencl:1"); a node-name entry wins over an op-type entry.
 * Replaces earlier entries; "" clears them. A provider (or device) the
 * session does not use yet is added after the listed ones. A node whose
 * affinity provider cannot run it is placed by the other rules and
 * reported as a fallback. */
prism_status prism_session_options_set_affinity(prism_session_options *options, const char *spec);
/* Add one affinity entry (key = node name or op type). */
prism_status prism_session_options_add_affinity(prism_session_options *options, const char *key,
                                                const char *provider);

/* Fix a symbolic dimension of the graph inputs (the dim_param `name`, e.g.
 * "batch") to `value` for the session: shapes become static, so providers
 * see them when they decide what to run, the partition report gives every
 * copy's size, and runs refuse inputs of another size. A name no input
 * uses is logged and ignored. Errors: PRISM_ERR_INVALID_ARGUMENT (empty
 * name, negative or absurd value). */
prism_status prism_session_options_set_dim(prism_session_options *options, const char *name, int64_t value);

/* Minimum subgraph size in nodes (default 1). A subgraph smaller than this
 * goes back to the next preferred provider that can run its nodes (a
 * subgraph on the last resort provider stays). */
prism_status prism_session_options_set_min_subgraph(prism_session_options *options, uint32_t nodes);

/* Whether a node may run outside the session's preferences: on the CPU
 * provider when no listed provider can run it, against its affinity, or on
 * another device type than the policy prefers. Default allowed: every
 * fallback is then logged at WARNING level and listed in the partition
 * report. When forbidden, session creation fails with
 * PRISM_ERR_NOT_SUPPORTED naming every such node with its op. */
prism_status prism_session_options_set_fallback(prism_session_options *options, int allowed);

/* Whether session creation applies the PRISM_* environment variables
 * (default 1): PRISM_PROVIDERS, PRISM_POLICY, PRISM_AFFINITY,
 * PRISM_MIN_SUBGRAPH, PRISM_FALLBACK (0 or 1), PRISM_THREADS and
 * PRISM_PROVIDER_OPTIONS ("P:K=V;P:K=V"). A variable that is set replaces
 * the program's setting (so an unmodified program can be redirected); an
 * invalid value makes session creation fail naming the variable. */
prism_status prism_session_options_set_environment(prism_session_options *options, int enabled);

/* ---- models (inspection without a session) ------------------------------ */

/* Load and validate a model file (external data is resolved relative to the
 * file's folder). Errors: PRISM_ERR_IO, PRISM_ERR_INVALID_MODEL. */
prism_status prism_model_load(const char *path, prism_model **out_model);
/* Load from memory; external data (if any) is resolved relative to base_dir,
 * which may be NULL (then external data is refused). The bytes are copied. */
prism_status prism_model_load_memory(const void *data, size_t size, const char *base_dir, prism_model **out_model);
void prism_model_destroy(prism_model *model);
int64_t prism_model_ir_version(const prism_model *model);
const char *prism_model_producer(const prism_model *model);
size_t prism_model_opset_count(const prism_model *model);
/* domain "" is ai.onnx. */
void prism_model_opset(const prism_model *model, size_t index, const char **domain, int64_t *version);
size_t prism_model_node_count(const prism_model *model);
void prism_model_node(const prism_model *model, size_t index, const char **name, const char **domain,
                      const char **op_type);
size_t prism_model_initializer_count(const prism_model *model);

/* Value descriptions of graph inputs and outputs. Strings and arrays are
 * owned by the model (or session) and live as long as it. dims[i] is -1 for
 * an unknown or symbolic dim; dim_params[i] then names it or is NULL. rank is
 * -1 when unknown. */
typedef struct prism_value_info {
    uint32_t struct_size;
    const char *name;
    prism_dtype dtype;
    int32_t rank;
    const int64_t *dims;
    const char *const *dim_params;
} prism_value_info;
size_t prism_model_input_count(const prism_model *model);
size_t prism_model_output_count(const prism_model *model);
prism_status prism_model_input(const prism_model *model, size_t index, prism_value_info *info);
prism_status prism_model_output(const prism_model *model, size_t index, prism_value_info *info);

/* ---- sessions ----------------------------------------------------------- */

/* Create a session: load the model, infer types and shapes, optimise, assign
 * every node to a provider, compile. options may be NULL (defaults).
 * Errors: those of prism_model_load; PRISM_ERR_NOT_SUPPORTED naming every
 * node (name, op, domain, opset) that no chosen provider can run;
 * PRISM_ERR_NOT_FOUND for an unknown provider; PRISM_ERR_PROVIDER. */
prism_status prism_session_create(prism_env *env, const char *model_path, const prism_session_options *options,
                                  prism_session **out_session);
prism_status prism_session_create_from_memory(prism_env *env, const void *data, size_t size,
                                              const prism_session_options *options, prism_session **out_session);
void prism_session_destroy(prism_session *session);

/* Graph inputs (initializers excluded) and outputs. */
size_t prism_session_input_count(const prism_session *session);
size_t prism_session_output_count(const prism_session *session);
prism_status prism_session_input(const prism_session *session, size_t index, prism_value_info *info);
prism_status prism_session_output(const prism_session *session, size_t index, prism_value_info *info);

/* Run. inputs[i] feeds the graph input named input_names[i]; every graph
 * input without an initializer must be fed. outputs[i] receives a new tensor
 * (owned by the caller) for output_names[i]; output_names may be NULL with
 * n_outputs == prism_session_output_count() to get all outputs in order.
 * Thread-safe (see the top of this file).
 * Errors: PRISM_ERR_NOT_FOUND (unknown name), PRISM_ERR_INVALID_ARGUMENT
 * (missing input, wrong dtype or rank, dim that contradicts the model),
 * PRISM_ERR_RUNTIME / PRISM_ERR_PROVIDER (a kernel failed; the message names
 * the node and provider). The session stays usable after an error. */
prism_status prism_session_run(prism_session *session, const char *const *input_names,
                               const prism_tensor *const *inputs, size_t n_inputs, const char *const *output_names,
                               size_t n_outputs, prism_tensor **outputs);

/* The partition report: which provider and device runs each node and why,
 * the subgraphs, every copy between memory spaces with its size, and every
 * fallback with its reason. format: "text", "json" or "dot" (Graphviz:
 * nodes coloured by device, subgraphs boxed). The string is owned by the
 * session; NULL for an unknown format. */
const char *prism_session_placement(const prism_session *session, const char *format);

/* The same report, item by item. Strings are owned by the session. */
typedef struct prism_node_placement {
    uint32_t struct_size; /* set to sizeof(prism_node_placement) before the call */
    const char *name;     /* node name ("" when the model gives none) */
    const char *op_type;
    const char *provider;
    uint32_t device;
    size_t subgraph;    /* index into the session's subgraphs */
    int fallback;       /* 1 when the node runs outside the preferences */
    const char *reason; /* why it was placed there */
} prism_node_placement;
size_t prism_session_node_count(const prism_session *session);
/* Errors: PRISM_ERR_NOT_FOUND (bad index), PRISM_ERR_INVALID_ARGUMENT
 * (struct_size too small). */
prism_status prism_session_node_placement(const prism_session *session, size_t node, prism_node_placement *out);

typedef struct prism_subgraph_info {
    uint32_t struct_size;
    const char *provider;
    uint32_t device;
    size_t node_count;
    size_t input_count, output_count;
} prism_subgraph_info;
/* Subgraphs in execution order. */
size_t prism_session_subgraph_count(const prism_session *session);
prism_status prism_session_subgraph(const prism_session *session, size_t index, prism_subgraph_info *out);

typedef struct prism_copy_info {
    uint32_t struct_size;
    const char *value;         /* the value copied */
    const char *from_provider; /* "host" for host memory */
    uint32_t from_device;
    const char *to_provider; /* "host" for host memory */
    uint32_t to_device;
    int64_t bytes;           /* -1 when the size is known only at run time */
    int direct;              /* 1: device to device without a host bounce */
    int shape_only;          /* 1: its readers (Shape, Size) need only the shape: no data moves */
} prism_copy_info;
/* Copies the executor makes on every run, in execution order. */
size_t prism_session_copy_count(const prism_session *session);
prism_status prism_session_copy(const prism_session *session, size_t index, prism_copy_info *out);

/* ---- tensors ------------------------------------------------------------ */

/* A tensor owning zero-initialised memory for its elements. dims may be NULL
 * when rank is 0. Errors: PRISM_ERR_INVALID_ARGUMENT (negative dim, unknown
 * dtype), PRISM_ERR_OUT_OF_MEMORY (including sizes that overflow). */
prism_status prism_tensor_create(prism_dtype dtype, const int64_t *dims, size_t rank, prism_tensor **out_tensor);
/* A tensor over caller memory (not copied, not freed): data must hold at
 * least the tensor's byte size and outlive the tensor. Not for STRING. */
prism_status prism_tensor_create_view(prism_dtype dtype, const int64_t *dims, size_t rank, void *data,
                                      size_t data_bytes, prism_tensor **out_tensor);
void prism_tensor_destroy(prism_tensor *tensor);
prism_dtype prism_tensor_dtype(const prism_tensor *tensor);
size_t prism_tensor_rank(const prism_tensor *tensor);
const int64_t *prism_tensor_dims(const prism_tensor *tensor);
int64_t prism_tensor_element_count(const prism_tensor *tensor);
size_t prism_tensor_byte_size(const prism_tensor *tensor);
/* Element data. For STRING tensors: an array of char* (NULL = empty string)
 * owned by the tensor; set elements with prism_tensor_set_string. */
void *prism_tensor_data(prism_tensor *tensor);
const void *prism_tensor_data_const(const prism_tensor *tensor);
prism_status prism_tensor_set_string(prism_tensor *tensor, int64_t index, const char *value, size_t len);

/* Read a serialized ONNX TensorProto (the backend-test input_K.pb layout),
 * optionally returning its name (owned by the tensor, may be ""). */
prism_status prism_tensor_load_pb(const char *path, prism_tensor **out_tensor, const char **out_name);
prism_status prism_tensor_load_pb_memory(const void *data, size_t size, prism_tensor **out_tensor,
                                         const char **out_name);
/* Write a tensor as a serialized TensorProto with the given name. */
prism_status prism_tensor_save_pb(const prism_tensor *tensor, const char *name, const char *path);

#ifdef __cplusplus
}
#endif

#endif /* PRISM_PRISM_H */
