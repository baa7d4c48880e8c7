/*
 * model_builder.h — build small ONNX models in C (protobuf-c structs) for the
 * unit tests, plus file-system helpers. Everything a builder allocates lives
 * until mb_free. Allocation failures abort: this is test code.
 *
 *   mb_model *m = mb_new(17);
 *   mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
 *   mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, (int64_t[]){2, 3});
 *   mb_node(m, "Relu", "relu0", "X", "Y");
 *   uint8_t *bytes = mb_pack(m, &size);   // malloc'd, free() it
 *   mb_free(m);
 */
#ifndef PRISM_UNIT_MODEL_BUILDER_H
#define PRISM_UNIT_MODEL_BUILDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx.pb-c.h"
#include "prism/prism.h"

typedef struct mb_model mb_model;

/* A model with IR version 8, producer "prism-unit" "1.0", graph "g" and
 * ai.onnx imported at onnx_opset (no import when onnx_opset <= 0). */
mb_model *mb_new(int64_t onnx_opset);
void mb_free(mb_model *m);
Onnx__ModelProto *mb_proto(mb_model *m);
Onnx__GraphProto *mb_graph(mb_model *m);
/* A copy of s owned by the builder. */
char *mb_str(mb_model *m, const char *s);

/* Import another domain ("" is ai.onnx). */
void mb_opset(mb_model *m, const char *domain, int64_t version);

/* Graph inputs/outputs of tensor type. dims[i] == -1 is a symbolic dim named
 * "N<i>"; rank < 0 declares no shape; dtype 0 declares no element type. */
Onnx__ValueInfoProto *mb_input(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims);
Onnx__ValueInfoProto *mb_output(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims);
Onnx__ValueInfoProto *mb_value_info(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims);

/* A graph node. inputs/outputs are comma-separated value names; an empty
 * entry ("A,,C") is an omitted optional input. name may be NULL. */
Onnx__NodeProto *mb_node(mb_model *m, const char *op, const char *name, const char *inputs, const char *outputs);
/* Set the node's domain. */
void mb_node_domain(mb_model *m, Onnx__NodeProto *n, const char *domain);

/* Attributes. */
void mb_attr_int(mb_model *m, Onnx__NodeProto *n, const char *name, int64_t v);
void mb_attr_float(mb_model *m, Onnx__NodeProto *n, const char *name, float v);
void mb_attr_string(mb_model *m, Onnx__NodeProto *n, const char *name, const char *v);
void mb_attr_ints(mb_model *m, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v);
void mb_attr_floats(mb_model *m, Onnx__NodeProto *n, const char *name, size_t count, const float *v);
void mb_attr_tensor(mb_model *m, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t);
/* An attribute of a node inside a function body that refers to the call
 * site's attribute ref_name (type is an ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__*). */
void mb_attr_ref(mb_model *m, Onnx__NodeProto *n, const char *name, const char *ref_name, int type);

/* A free-standing tensor with raw_data holding `bytes` bytes of data (which
 * need not match the dims: tests use that). */
Onnx__TensorProto *mb_tensor(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims,
                             const void *data, size_t bytes);
/* Graph initializers: raw bytes, or float values (count from the dims). */
Onnx__TensorProto *mb_init(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims,
                           const void *data, size_t bytes);
Onnx__TensorProto *mb_init_float(mb_model *m, const char *name, int rank, const int64_t *dims, const float *values);
/* Turn t into an external-data tensor: location, offset, length as given
 * (NULL leaves that key out). */
void mb_external(mb_model *m, Onnx__TensorProto *t, const char *location, const char *offset, const char *length);

/* A model-local function. inputs/outputs/attrs are comma-separated (attrs
 * may be NULL or ""). The function imports ai.onnx at the model's version
 * when mb_new got one. */
Onnx__FunctionProto *mb_function(mb_model *m, const char *domain, const char *name, const char *inputs,
                                 const char *outputs, const char *attrs);
Onnx__NodeProto *mb_fn_node(mb_model *m, Onnx__FunctionProto *f, const char *op, const char *name,
                            const char *inputs, const char *outputs);

/* Serialize: a malloc'd buffer (free it) and its size. */
uint8_t *mb_pack(mb_model *m, size_t *size);
/* Serialize to a file; false on I/O error. */
bool mb_save(mb_model *m, const char *path);

/* ---- file helpers ---- */
/* A fresh folder under $TMPDIR or /tmp (malloc'd path; abort on failure). */
char *mb_tempdir(void);
/* Remove a folder tree (symlinks are removed, not followed). */
void mb_rmtree(const char *path);
/* Write a whole file; false on error. */
bool mb_write_file(const char *path, const void *data, size_t size);
/* malloc'd "dir/name". */
char *mb_path(const char *dir, const char *name);

/* ---- running a program ---- */
typedef struct mb_result {
    int status; /* exit status, or 128 + signal, or -1 when it could not run */
    char *out, *err; /* all of stdout and stderr (malloc'd, never NULL) */
} mb_result;
/* Run bin with args (NULL-terminated, without argv[0]) and, when env is not
 * NULL, the extra "NAME=VALUE" variables it lists (NULL-terminated; "NAME="
 * with nothing after it unsets NAME). stdout and stderr go through files in
 * dir. */
mb_result mb_run(const char *bin, const char *dir, const char *const *env, const char *const *args);
void mb_result_free(mb_result *r);
/* A whole file as a NUL-terminated malloc'd string ("" when unreadable). */
char *mb_slurp(const char *path);

/* ---- prism helpers ---- */
/* Pack m and load it with prism_model_load_memory / create a session from
 * it (default options). */
prism_status mb_load(mb_model *m, prism_model **out);
prism_status mb_session(prism_env *env, mb_model *m, prism_session **out);
/* An owned float tensor with the given values (count from dims); aborts on failure. */
prism_tensor *mb_float_tensor(int rank, const int64_t *dims, const float *values);

/* CUnit check: `status` equals `expect` and the thread's last error message
 * contains every string in the NULL-terminated list. Prints the message when
 * it does not. */
void mb_check_fail(const char *file, int line, const char *call, prism_status status, prism_status expect,
                   const char *const *needles);
#define MB_EXPECT_FAIL(expect, call, ...)                                                              \
    mb_check_fail(__FILE__, __LINE__, #call, (call), (expect), (const char *const[]){__VA_ARGS__, NULL})
/* CUnit check that text contains needle (printing text when not). */
void mb_check_contains(const char *file, int line, const char *what, const char *text, const char *needle);
#define MB_CONTAINS(text, needle) mb_check_contains(__FILE__, __LINE__, #text, (text), (needle))


/* The small fixture several test programs share: Y = Relu(X + W), with X, W
 * and Y float [2,3], W an initializer, and known values for X, S = X + W and
 * Y. */
extern const int64_t MB_D23[2];
extern const float MB_W_VALUES[6], MB_X_VALUES[6], MB_S_VALUES[6], MB_Y_VALUES[6];
mb_model *mb_add_relu_model(void);

#endif
