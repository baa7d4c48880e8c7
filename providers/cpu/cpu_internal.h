/* cpu_internal.h — the CPU provider's own objects (not seen by kernels). */
#ifndef PRISM_CPU_INTERNAL_H
#define PRISM_CPU_INTERNAL_H

#include <pthread.h>

#include "cpu_kernel.h"

/* ---- BLAS (cpu_blas.c) ---- */
typedef void (*cpu_sgemm_fn)(int order, int ta, int tb, int m, int n, int k, float alpha, const float *a, int lda,
                             const float *b, int ldb, float beta, float *c, int ldc);
typedef struct cpu_blas {
    void *dl;
    cpu_sgemm_fn sgemm; /* NULL: the provider's own fallback GEMM is used */
    char description[256];
} cpu_blas;
void cpu_blas_load(cpu_blas *b);
void cpu_blas_unload(cpu_blas *b);

/* ---- thread pool (cpu_threads.c) ---- */
typedef struct cpu_pool cpu_pool;
cpu_pool *cpu_pool_create(int threads);
void cpu_pool_destroy(cpu_pool *p);
int cpu_pool_threads(const cpu_pool *p);
void cpu_pool_run(cpu_pool *p, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg);

/* ---- kernel table (kernel_table.c) ---- */
typedef struct cpu_kernel_entry {
    const char *op_type;
    const char *domain;
    int64_t since;
    const cpu_kernel_def *def;
} cpu_kernel_entry;
const cpu_kernel_entry *cpu_kernel_lookup(const char *domain, const char *op_type, int64_t opset);
size_t cpu_kernel_count(void);
const cpu_kernel_entry *cpu_kernel_at(size_t i);

/* ---- objects ---- */
struct prism_provider {
    const prism_host_api *host;
    cpu_blas blas;
    char device_name[160];
    char properties[768];
    uint64_t memory_bytes;
};

struct prism_instance {
    prism_provider *prov;
    cpu_pool *pool;
    int threads;
};

/* Estimated seconds to run a node (cpu_cost.c), for the latency policy. */
double cpu_node_cost(const prism_instance *inst, const prism_graph_view *g, uint32_t node);

#define CPU_NO_SLOT UINT32_MAX

struct cpu_node {
    const prism_host_api *host;
    const prism_graph_view *g;
    uint32_t id;
    const char *name, *op;
    int64_t opset;
    const cpu_kernel_def *def;
    void *state;
    uint32_t n_in, n_out;
    uint32_t *in_slot;  /* CPU_NO_SLOT for omitted inputs */
    uint32_t *out_slot; /* every output has a slot, omitted ones a scratch slot */
    const prism_compiled *unit; /* the unit the node belongs to */
    cpu_activation act;         /* fused into output 0 (kind NONE: none) */
    bool fused;                 /* an activation folded into its producer: skipped */
};

/* INPUT: fed by the caller; CONST: host data; INTERNAL: made and freed
 * during the run; OUTPUT: made during the run and handed to the caller;
 * OUTER: a body's view of a value of the enclosing unit (index = its slot
 * there). */
enum cpu_slot_kind { CPU_SLOT_INPUT, CPU_SLOT_CONST, CPU_SLOT_INTERNAL, CPU_SLOT_OUTPUT, CPU_SLOT_OUTER };

typedef struct cpu_slot {
    int kind;
    uint32_t index;    /* input or output index of the compiled unit */
    int64_t last_use;  /* last node (position) reading it; internal slots are freed after it */
    uint32_t reads;    /* how many node inputs (implicit ones included) read it */
    cpu_tensor tensor; /* CONST: filled at compile */
} cpu_slot;

/* A compiled unit (a part of the top graph), or the body of an If/Loop/Scan
 * node (is_body), whose outputs are handed to the kernel that runs it. */
struct prism_compiled {
    prism_instance *inst;
    const prism_graph_view *g;
    cpu_node *nodes;
    size_t n_nodes;
    cpu_slot *slots;
    size_t n_slots;
    uint32_t *of_value; /* value id -> slot (CPU_NO_SLOT), for bodies' outer lookups */
    uint32_t n_values;
    const prism_compiled *parent; /* bodies: the enclosing unit */
    bool is_body;
    uint32_t n_inputs, n_outputs;
    uint32_t *output_slot; /* bodies: body output k -> slot */
};

struct cpu_ctx {
    prism_instance *inst;
    const prism_host_api *host;
    prism_host_context *hc;
    const cpu_node *node;
    prism_compiled *c;     /* the unit being compiled or run */
    const cpu_ctx *parent; /* run of a body: the enclosing run */
    /* run only */
    cpu_tensor **vals; /* per slot */
    cpu_tensor *store; /* per slot storage for values made during the run */
};

/* Fill a cpu_node for queries (capability) or compile. */
void cpu_node_bind(cpu_node *n, const prism_host_api *host, const prism_graph_view *g, uint32_t id);
/* Fill t from a descriptor; false when the rank is too high. */
bool cpu_tensor_from_desc(cpu_tensor *t, int32_t dtype, uint32_t rank, const int64_t *dims, void *data);
void cpu_tensor_free_data(const prism_host_api *host, cpu_tensor *t);

prism_status cpu_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                         const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                         prism_host_context *hc, prism_compiled **out);
void cpu_compiled_destroy(prism_compiled *c);
/* Fold activations into their producers (cpu_fuse.c). */
void cpu_fuse_activations(prism_compiled *c);
prism_status cpu_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc);

#endif
