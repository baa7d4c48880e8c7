/*
 * cpu_kernel.h — what a CPU kernel sees. Internal to the CPU provider.
 *
 * A kernel is a cpu_kernel_def: an optional prepare (parse attributes once at
 * session creation, validate, precompute), a run, and an optional release.
 * Kernels never talk to the host directly: attributes, errors, outputs and
 * threads go through the helpers below, so the provider can change how it
 * talks to the host in one place.
 *
 * Adding an op: one row in cpu_ops.def and one kernel file under kernels/.
 */
#ifndef PRISM_CPU_KERNEL_H
#define PRISM_CPU_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "prism/provider.h"

/* Highest tensor rank the CPU kernels handle; checked when a tensor is made. */
#define CPU_MAX_RANK 12

typedef struct cpu_tensor {
    int32_t dtype; /* prism_dtype */
    int32_t rank;
    int64_t dims[CPU_MAX_RANK];
    int64_t count; /* number of elements (product of dims; 1 for rank 0) */
    void *data;    /* for STRING: char ** (array of count NUL-terminated strings) */
    size_t bytes;
} cpu_tensor;

typedef struct cpu_ctx cpu_ctx;   /* per-call context (prepare or run) */
typedef struct cpu_node cpu_node; /* one node of a compiled subgraph */

/* An activation the provider fused into a node's output 0 (a Conv followed
 * by Relu, say): the kernel applies it to its float32 output before
 * returning, while the values are still in cache, and the activation node
 * does not run. */
typedef enum cpu_activation_kind {
    CPU_ACT_NONE = 0,
    CPU_ACT_RELU,
    CPU_ACT_CLIP,       /* min(max(x, lo), hi) */
    CPU_ACT_LEAKY_RELU, /* x < 0 ? alpha * x : x */
} cpu_activation_kind;

typedef struct cpu_activation {
    cpu_activation_kind kind;
    float lo, hi, alpha;
} cpu_activation;

typedef struct cpu_kernel_def {
    /* Called once at compile. May store parsed state in *state (released
     * with release). NULL: nothing to prepare. */
    prism_status (*prepare)(cpu_ctx *ctx, const cpu_node *node, void **state);
    /* Runs the node. in[k] is NULL for an omitted optional input. Outputs are
     * made with cpu_output(). */
    prism_status (*run)(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                        uint32_t n_in);
    void (*release)(void *state);
    /* Optional: can this node (with its dtypes/attributes as in the view) run
     * here? Return false to let another provider take it. NULL = yes. */
    bool (*supports)(const cpu_node *node);
    /* true: run() applies cpu_node_activation(node) to float32 output 0. */
    bool fuses_activation;
} cpu_kernel_def;

/* ---- node facts ---------------------------------------------------------- */

const char *cpu_node_name(const cpu_node *node);
const char *cpu_node_op(const cpu_node *node);
int64_t cpu_node_opset(const cpu_node *node);
uint32_t cpu_node_input_count(const cpu_node *node);
uint32_t cpu_node_output_count(const cpu_node *node);
/* Static type facts from the graph view (0 / -1 when unknown). */
int32_t cpu_node_input_dtype(const cpu_node *node, uint32_t k);
int32_t cpu_node_output_dtype(const cpu_node *node, uint32_t k);
/* Whether input k / output k is present (not omitted). */
bool cpu_node_has_input(const cpu_node *node, uint32_t k);
bool cpu_node_has_output(const cpu_node *node, uint32_t k);
/* Constant data of input k (host memory, lives as long as the session), or
 * NULL when input k is not a constant. Fills t when non-NULL. */
const void *cpu_node_input_constant(const cpu_node *node, uint32_t k, cpu_tensor *t);

/* The activation fused into output 0, or NULL when none. */
const cpu_activation *cpu_node_activation(const cpu_node *node);
/* Apply act to n floats in place (NULL act: nothing). */
void cpu_activation_apply(const cpu_activation *act, float *data, int64_t n);

/* ---- attributes ---------------------------------------------------------- */

bool cpu_attr_has(const cpu_node *node, const char *name);
int64_t cpu_attr_int(const cpu_node *node, const char *name, int64_t dflt);
float cpu_attr_float(const cpu_node *node, const char *name, float dflt);
/* NULL-terminated view of a STRING attribute, or dflt when absent. */
const char *cpu_attr_string(const cpu_node *node, const char *name, const char *dflt);
/* INTS / FLOATS: returns the count (0 when absent), *out points into the
 * graph (valid for the session). */
size_t cpu_attr_ints(const cpu_node *node, const char *name, const int64_t **out);
size_t cpu_attr_floats(const cpu_node *node, const char *name, const float **out);
/* STRINGS: the count (0 when absent) and item i ("" past the end or when
 * absent; the text points into the graph). */
size_t cpu_attr_strings_count(const cpu_node *node, const char *name);
const char *cpu_attr_strings_item(const cpu_node *node, const char *name, size_t i);
/* TENSOR attribute into t (data points into the graph). false when absent. */
bool cpu_attr_tensor(const cpu_node *node, const char *name, cpu_tensor *t);

/* ---- outputs, errors, threads ------------------------------------------- */

/* Allocate output k of the running node with the given dtype and shape.
 * The data is uninitialised (zeroed for STRING). */
prism_status cpu_output(cpu_ctx *ctx, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        cpu_tensor **out);

/* Record an error naming the node and op; returns st so kernels can write
 * `return cpu_fail(ctx, PRISM_ERR_RUNTIME, "...", ...);` */
prism_status cpu_fail(cpu_ctx *ctx, prism_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Threads available to this call (>= 1). */
int cpu_threads(cpu_ctx *ctx);
/* Split [0, n) into chunks and run fn on each, on up to cpu_threads(ctx)
 * threads; returns when all chunks are done. fn must not fail. */
void cpu_parallel_for(cpu_ctx *ctx, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg);

/* Row-major single-precision GEMM: C = alpha * op(A) * op(B) + beta * C,
 * op(A) is MxK, op(B) is KxN. Uses OpenBLAS, split across cpu_threads(ctx). */
void cpu_sgemm(cpu_ctx *ctx, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t k, float alpha,
               const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);
/* Row-major double GEMM: C = op(A) * B + beta * C, op(A) MxK (A stored KxM
 * when trans_a), split across cpu_threads(ctx). */
void cpu_dgemm(cpu_ctx *ctx, bool trans_a, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda,
               const double *b, int64_t ldb, double beta, double *c, int64_t ldc);

/* ---- subgraphs (If / Loop / Scan bodies) -------------------------------- */

typedef struct prism_compiled cpu_body;
/* Compile the GRAPH attribute attr of node as a body (at prepare). Values
 * the body reads from the enclosing scope are bound when it runs. */
prism_status cpu_body_compile(cpu_ctx *ctx, const cpu_node *node, const char *attr, cpu_body **out);
void cpu_body_destroy(cpu_body *body);
uint32_t cpu_body_input_count(const cpu_body *body);
uint32_t cpu_body_output_count(const cpu_body *body);
/* Run a body: inputs[k] feeds body input k (NULL = not given). outputs[k]
 * receives body output k with data owned by the caller, released with
 * cpu_tensor_release. On failure no output is left allocated. */
prism_status cpu_body_run(cpu_ctx *ctx, const cpu_body *body, const cpu_tensor *const *inputs, cpu_tensor *outputs);
void cpu_tensor_release(cpu_ctx *ctx, cpu_tensor *t);
/* Copy the elements (strings duplicated) of src into dst, which must have
 * the same dtype and count. false on allocation failure. */
bool cpu_tensor_copy_data(cpu_tensor *dst, const cpu_tensor *src);

/* ---- tensor helpers ------------------------------------------------------ */

size_t cpu_dtype_size(int32_t dtype); /* 0 for UNDEFINED/unknown; sizeof(char*) for STRING */
const char *cpu_dtype_name(int32_t dtype);
int64_t cpu_shape_count(int32_t rank, const int64_t *dims);
/* Read element i of an integer tensor (any integer or bool dtype) as int64. */
int64_t cpu_tensor_int(const cpu_tensor *t, int64_t i);
/* numpy-style broadcast of two shapes into out (rank = max); false if
 * incompatible. */
bool cpu_broadcast_shape(int32_t ra, const int64_t *da, int32_t rb, const int64_t *db, int32_t *out_rank,
                         int64_t *out_dims);
/* Normalise a possibly negative axis for a tensor of rank r; false when out
 * of range [-r, r-1]. */
bool cpu_norm_axis(int64_t axis, int32_t r, int64_t *out);

/* Checked int64 arithmetic for sizes computed from data: false on overflow. */
static inline bool cpu_mul_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_mul_overflow(a, b, r); }
static inline bool cpu_add_ok(int64_t a, int64_t b, int64_t *r) { return !__builtin_add_overflow(a, b, r); }

/* float, double, float16 or bfloat16. */
bool cpu_dtype_is_float(int32_t dtype);
/* float16 or bfloat16 (computed in float, stored narrow). */
bool cpu_dtype_is_half(int32_t dtype);
/* Any signed or unsigned integer type (not bool). */
bool cpu_dtype_is_int(int32_t dtype);
/* Element i of a floating-point tensor (any of the four float dtypes) as a
 * double, and the reverse (rounded to the tensor's dtype). For kernels whose
 * cost is not in the element access (normalisations, recurrences). */
double cpu_tensor_get_f64(const cpu_tensor *t, int64_t i);
void cpu_tensor_set_f64(cpu_tensor *t, int64_t i, double v);

/* ---- helpers shared by several kernel files ---------------------------- */

/* Largest element count a kernel allocates: keeps count * element size
 * (<= 16 bytes) and index arithmetic far from overflowing size_t/int64. */
#define CPU_MAX_ALLOC_COUNT (INT64_MAX / 64)
/* Product of dims with sign and overflow checks (limit CPU_MAX_ALLOC_COUNT). */
bool cpu_count_checked(int32_t rank, const int64_t *dims, int64_t *out);
/* Replace the borrowed string pointers just copied into a STRING output by
 * private copies (the output owns its strings); no-op for other dtypes. On
 * failure the rest are cleared so nobody frees a string it does not own. */
prism_status cpu_own_strings(cpu_ctx *ctx, cpu_tensor *out);
/* Integer list from a 1-D (or scalar) INT32/INT64 tensor, at most cap values.
 * types names the accepted dtypes in the error message. */
prism_status cpu_int_list(cpu_ctx *ctx, const cpu_tensor *t, const char *what, const char *types, int64_t *out,
                          size_t cap, size_t *n);
/* cpu_tensor_load_f64 / cpu_store_f64_sat: inline, at the end of this file. */

/* A float16 or bfloat16 tensor as a new malloc'd float array (NULL for a
 * NULL tensor or on allocation failure; free() it), and the reverse into a
 * float16/bfloat16 tensor of the same count: for kernels that compute half
 * types through float. */
float *cpu_half_widen(const cpu_tensor *t);
void cpu_half_narrow(const float *f, cpu_tensor *t);

/* float16 / bfloat16 conversions (round to nearest even). */
float cpu_half_to_float(uint16_t h);
uint16_t cpu_float_to_half(float f);
float cpu_bf16_to_float(uint16_t h);
uint16_t cpu_float_to_bf16(float f);

/* Type lists for one templated body per dtype family (X(ENUM, ctype)). */
#define CPU_FOR_FLOAT_TYPES(X) X(PRISM_DTYPE_FLOAT, float) X(PRISM_DTYPE_DOUBLE, double)
#define CPU_FOR_INT_TYPES(X)                                                                     \
    X(PRISM_DTYPE_INT8, int8_t) X(PRISM_DTYPE_INT16, int16_t) X(PRISM_DTYPE_INT32, int32_t)      \
    X(PRISM_DTYPE_INT64, int64_t) X(PRISM_DTYPE_UINT8, uint8_t) X(PRISM_DTYPE_UINT16, uint16_t) \
    X(PRISM_DTYPE_UINT32, uint32_t) X(PRISM_DTYPE_UINT64, uint64_t)
#define CPU_FOR_NUMERIC_TYPES(X) CPU_FOR_FLOAT_TYPES(X) CPU_FOR_INT_TYPES(X)

/* Element i of any numeric tensor as a double: the four float dtypes
 * converted, every other dtype through cpu_tensor_int. */
static inline double cpu_tensor_load_f64(const cpu_tensor *t, int64_t i) {
    switch (t->dtype) {
    case PRISM_DTYPE_FLOAT: return ((const float *)t->data)[i];
    case PRISM_DTYPE_DOUBLE: return ((const double *)t->data)[i];
    case PRISM_DTYPE_FLOAT16: return cpu_half_to_float(((const uint16_t *)t->data)[i]);
    case PRISM_DTYPE_BFLOAT16: return cpu_bf16_to_float(((const uint16_t *)t->data)[i]);
    default: return (double)cpu_tensor_int(t, i);
    }
}

/* Store v into the element at p of dtype dt: floats round, integers
 * truncate and saturate (NaN -> 0), bool is v != 0. False for other dtypes
 * (nothing is written). */
static inline bool cpu_store_f64_sat(void *p, int32_t dt, double v) {
#define CPU_STORE_F(E, T) \
    case E: *(T *)p = (T)v; return true;
#define CPU_STORE_I(E, T)                                                                          \
    case E: {                                                                                      \
        const bool sgn = (T)~(T)0 < (T)1;                                                          \
        const T hi = sgn ? (T)(((uint64_t)1 << (sizeof(T) * 8 - 1)) - 1) : (T) ~(T)0;              \
        const T lo = sgn ? (T)(-hi - 1) : (T)0;                                                    \
        *(T *)p = v != v ? (T)0 : v <= (double)lo ? lo : v >= (double)hi ? hi : (T)v;              \
        return true;                                                                               \
    }
    switch (dt) {
        CPU_FOR_FLOAT_TYPES(CPU_STORE_F)
        CPU_FOR_INT_TYPES(CPU_STORE_I)
    case PRISM_DTYPE_BOOL: *(uint8_t *)p = v != 0; return true;
    case PRISM_DTYPE_FLOAT16: *(uint16_t *)p = cpu_float_to_half((float)v); return true;
    case PRISM_DTYPE_BFLOAT16: *(uint16_t *)p = cpu_float_to_bf16((float)v); return true;
    default: return false;
    }
#undef CPU_STORE_F
#undef CPU_STORE_I
}

#endif /* PRISM_CPU_KERNEL_H */
