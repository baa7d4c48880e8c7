/*
 * ir.h — the graph IR: values (SSA: each produced once), nodes in topological
 * order, attributes, constants. Built by model_load.c from a ModelProto and
 * read by providers through the graph view (graph_view.c).
 */
#ifndef PRISM_CORE_IR_H
#define PRISM_CORE_IR_H

#include <stdbool.h>
#include <stdint.h>

#include "prism/prism.h"
#include "prism/provider.h"
#include "util.h"

typedef struct pr_graph pr_graph;

/* A constant tensor held by the IR (initializer, TENSOR attribute). */
typedef struct pr_const {
    int32_t dtype;
    uint32_t rank;
    int64_t *dims;
    int64_t count;
    void *data; /* owned; STRING: char*[count], each owned */
    size_t bytes;
} pr_const;

typedef struct pr_attr {
    char *name;
    int32_t type; /* prism_attr_type */
    int64_t i;
    float f;
    char *s;      /* STRING (NUL-terminated copy) */
    size_t s_len;
    int64_t *ints;
    float *floats;
    char **strings;
    size_t *string_lens;
    size_t count; /* for INTS / FLOATS / STRINGS / TENSORS / GRAPHS */
    pr_const *tensors; /* TENSOR: tensors[0] */
    pr_graph **graphs; /* GRAPH: graphs[0] */
} pr_attr;

typedef struct pr_value {
    char *name;
    int32_t dtype; /* 0 unknown */
    int32_t rank;  /* -1 unknown */
    int64_t *dims; /* -1 for unknown/symbolic */
    char **dim_params;
    pr_const *constant; /* non-NULL for initializers and folded constants */
    int32_t producer;   /* node index, -1 for graph inputs, constants, outer-scope values */
    bool is_graph_input, is_graph_output, is_outer;
} pr_value;

typedef struct pr_node {
    char *name;
    char *op_type;
    char *domain; /* "" for ai.onnx */
    int64_t opset;
    uint32_t n_inputs, n_outputs;
    uint32_t *inputs;  /* value ids, PRISM_NO_VALUE for omitted */
    uint32_t *outputs; /* value ids, PRISM_NO_VALUE for omitted */
    pr_attr *attrs;
    uint32_t n_attrs;
    uint32_t *implicit; /* values of this graph read by the node's subgraphs */
    uint32_t n_implicit;
} pr_node;

typedef struct pr_opset {
    char *domain;
    int64_t version;
} pr_opset;

struct pr_graph {
    char *name;
    pr_value *values;
    size_t n_values, cap_values;
    pr_node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t *inputs;  /* graph inputs that are not initializers */
    size_t n_inputs;
    uint32_t *outputs;
    size_t n_outputs;
    pr_strmap names; /* value name -> id (keys are the values' names) */
    const pr_opset *opsets; /* the model's opset imports (shared) */
    size_t n_opsets;
};

typedef struct pr_model {
    int64_t ir_version;
    char *producer;
    pr_opset *opsets;
    size_t n_opsets;
    pr_graph *graph;
    char *base_dir; /* folder for external data, NULL when none allowed */
    size_t n_initializers;
} pr_model;

/* Highest ai.onnx opset whose operator semantics Prism knows. */
#define PR_MAX_ONNX_OPSET 28
#define PR_MAX_ONNX_ML_OPSET 5

prism_status pr_model_from_bytes(const void *data, size_t size, const char *base_dir, pr_model **out);
prism_status pr_model_from_file(const char *path, pr_model **out);
void pr_model_free(pr_model *m);

pr_graph *pr_graph_new(void);
void pr_graph_free(pr_graph *g);
/* Find or add a value by name; returns its id or PRISM_NO_VALUE on OOM. */
uint32_t pr_graph_value(pr_graph *g, const char *name, bool *created);
bool pr_graph_find(const pr_graph *g, const char *name, uint32_t *out);
/* Append a node (fields moved in); false on OOM. */
bool pr_graph_add_node(pr_graph *g, pr_node *node);
/* Sort nodes topologically (stable: keeps the file order where allowed) and
 * set value producers; fails naming a node on a cycle or a value produced
 * twice. */
prism_status pr_graph_toposort(pr_graph *g);
const pr_attr *pr_node_attr(const pr_node *n, const char *name);
/* Describe v in a caller's prism_value_info (whose struct_size must be set). */
prism_status pr_value_info_out(const pr_value *v, prism_value_info *info);
void pr_node_clear(pr_node *n);
void pr_attr_clear(pr_attr *a);
void pr_const_clear(pr_const *c);
int64_t pr_graph_opset(const pr_graph *g, const char *domain); /* -1 if not imported */

/* Constant tensors from TensorProtos (model_tensor.c). */
struct Onnx__TensorProto;
prism_status pr_const_from_proto(const struct Onnx__TensorProto *tp, const char *base_dir, pr_const *out);
prism_status pr_const_from_proto_take(struct Onnx__TensorProto *tp, const char *base_dir, pr_const *out);
/* Static type and shape inference over the graph (shape_infer.c). */
/* Read a whole regular file into a malloc'd buffer. */
prism_status pr_read_file(const char *path, void **out_data, size_t *out_size);
prism_status pr_infer_shapes(pr_graph *g);
/* Fold Constant nodes into constant values (optimize.c). */
prism_status pr_fold_constants(pr_graph *g);

#endif
