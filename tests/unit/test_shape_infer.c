/* test_shape_infer.c — static type/shape inference rules (core/shape_rules.c)
 * and the folding of shape arithmetic (core/fold_shapes.c).
 *
 * Each test builds a small ModelProto with protobuf-c (graph outputs declared
 * without a type, so what the IR shows is what inference found), loads it
 * with pr_model_from_bytes and checks the IR values. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "onnx.pb-c.h"
#include "shape_rules.h"
#include "unit_util.h"

/* ======================================================================
 * A tiny model builder (everything lives in one arena until tb_reset)
 * ====================================================================== */

static void **tb_arena;
static size_t tb_n_arena, tb_cap_arena;

static void *tb_alloc(size_t n) {
    void *p = calloc(1, n ? n : 1);
    if (!p) abort();
    if (tb_n_arena == tb_cap_arena) {
        tb_cap_arena = tb_cap_arena ? tb_cap_arena * 2 : 64;
        tb_arena = realloc(tb_arena, tb_cap_arena * sizeof *tb_arena);
        if (!tb_arena) abort();
    }
    tb_arena[tb_n_arena++] = p;
    return p;
}
static char *tb_str(const char *s) {
    char *p = tb_alloc(strlen(s) + 1);
    memcpy(p, s, strlen(s) + 1);
    return p;
}
/* Append p to a growable pointer array (*arr, *n): arrays are re-allocated
 * from the arena on every append, which is fine for tests. */
static void tb_push(void ***arr, size_t *n, void *p) {
    void **a = tb_alloc((*n + 1) * sizeof *a);
    if (*n) memcpy(a, *arr, *n * sizeof *a);
    a[(*n)++] = p;
    *arr = a;
}

static Onnx__ModelProto tb_model;
static Onnx__GraphProto tb_graph;
static Onnx__GraphProto *tb_cur = &tb_graph; /* where tb_input/tb_node/... add */
static Onnx__OperatorSetIdProto tb_opset, *tb_opsets[1];

static void tb_reset(int64_t opset) {
    for (size_t i = 0; i < tb_n_arena; i++) free(tb_arena[i]);
    tb_n_arena = 0;
    onnx__model_proto__init(&tb_model);
    onnx__graph_proto__init(&tb_graph);
    onnx__operator_set_id_proto__init(&tb_opset);
    tb_opset.domain = tb_str("");
    tb_opset.has_version = 1;
    tb_opset.version = opset;
    tb_opsets[0] = &tb_opset;
    tb_model.has_ir_version = 1;
    tb_model.ir_version = 8;
    tb_model.n_opset_import = 1;
    tb_model.opset_import = tb_opsets;
    tb_graph.name = tb_str("g");
    tb_model.graph = &tb_graph;
    tb_cur = &tb_graph;
}

/* A tensor value info: rank < 0 declares no shape, dtype 0 no type at all.
 * dims[i] < 0 is a symbolic dim named syms[i] (or unnamed when NULL). */
static Onnx__ValueInfoProto *tb_vi(const char *name, int32_t dtype, int rank, const int64_t *dims,
                                   const char *const *syms) {
    Onnx__ValueInfoProto *vi = tb_alloc(sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = tb_str(name);
    if (!dtype) return vi;
    Onnx__TypeProto *tp = tb_alloc(sizeof *tp);
    Onnx__TypeProto__Tensor *tt = tb_alloc(sizeof *tt);
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = 1;
    tt->elem_type = dtype;
    if (rank >= 0) {
        Onnx__TensorShapeProto *sp = tb_alloc(sizeof *sp);
        onnx__tensor_shape_proto__init(sp);
        sp->n_dim = (size_t)rank;
        sp->dim = tb_alloc(((size_t)rank + 1) * sizeof *sp->dim);
        for (int i = 0; i < rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = tb_alloc(sizeof *d);
            onnx__tensor_shape_proto__dimension__init(d);
            if (dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = dims[i];
            } else if (syms && syms[i]) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = tb_str(syms[i]);
            }
            sp->dim[i] = d;
        }
        tt->shape = sp;
    }
    vi->type = tp;
    return vi;
}

static void tb_input(const char *name, int32_t dtype, int rank, const int64_t *dims, const char *const *syms) {
    tb_push((void ***)&tb_cur->input, &tb_cur->n_input, tb_vi(name, dtype, rank, dims, syms));
}
/* A graph output with no declared type. */
static void tb_output(const char *name) {
    tb_push((void ***)&tb_cur->output, &tb_cur->n_output, tb_vi(name, 0, -1, NULL, NULL));
}
static void tb_output_typed(const char *name, int32_t dtype, int rank, const int64_t *dims, const char *const *syms) {
    tb_push((void ***)&tb_cur->output, &tb_cur->n_output, tb_vi(name, dtype, rank, dims, syms));
}

static Onnx__TensorProto *tb_tensor(const char *name, int32_t dtype, int rank, const int64_t *dims, const void *data,
                                    size_t bytes) {
    Onnx__TensorProto *t = tb_alloc(sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = tb_str(name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->n_dims = (size_t)rank;
    t->dims = tb_alloc(((size_t)rank + 1) * sizeof *t->dims);
    if (rank) memcpy(t->dims, dims, (size_t)rank * sizeof *dims);
    t->has_raw_data = 1;
    t->raw_data.len = bytes;
    t->raw_data.data = tb_alloc(bytes);
    if (bytes) memcpy(t->raw_data.data, data, bytes);
    return t;
}

/* An int64 initializer [count] (rank 1), or a scalar when rank is 0. */
static void tb_init_i64(const char *name, int rank, const int64_t *vals, size_t count) {
    int64_t d = (int64_t)count;
    tb_push((void ***)&tb_cur->initializer, &tb_cur->n_initializer,
            tb_tensor(name, PRISM_DTYPE_INT64, rank, &d, vals, count * sizeof *vals));
}
/* A float initializer of the given shape (zeros). */
static void tb_init_f32(const char *name, int rank, const int64_t *dims) {
    int64_t count = 1;
    for (int i = 0; i < rank; i++) count *= dims[i];
    void *zeros = tb_alloc((size_t)count * 4);
    tb_push((void ***)&tb_cur->initializer, &tb_cur->n_initializer,
            tb_tensor(name, PRISM_DTYPE_FLOAT, rank, dims, zeros, (size_t)count * 4));
}

/* Comma-separated names ("A,,C": the empty one is omitted). */
static void tb_names(const char *csv, char ***out, size_t *n) {
    *n = 0;
    *out = NULL;
    if (!csv || !*csv) return;
    const char *p = csv;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = tb_alloc(len + 1);
        memcpy(s, p, len);
        tb_push((void ***)out, n, s);
        if (!e) break;
        p = e + 1;
    }
}

static Onnx__NodeProto *tb_node(const char *op, const char *inputs, const char *outputs) {
    Onnx__NodeProto *n = tb_alloc(sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = tb_str(op);
    char name[64];
    snprintf(name, sizeof name, "%s%zu", tb_cur == &tb_graph ? "n" : "body_n", tb_cur->n_node);
    n->name = tb_str(name);
    n->domain = tb_str("");
    tb_names(inputs, &n->input, &n->n_input);
    tb_names(outputs, &n->output, &n->n_output);
    tb_push((void ***)&tb_cur->node, &tb_cur->n_node, n);
    return n;
}

static Onnx__AttributeProto *tb_attr(Onnx__NodeProto *n, const char *name, Onnx__AttributeProto__AttributeType type) {
    Onnx__AttributeProto *a = tb_alloc(sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = tb_str(name);
    a->has_type = 1;
    a->type = type;
    tb_push((void ***)&n->attribute, &n->n_attribute, a);
    return a;
}
static void tb_attr_int(Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = tb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}
static void tb_attr_ints(Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v) {
    Onnx__AttributeProto *a = tb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->n_ints = count;
    a->ints = tb_alloc((count + 1) * sizeof *a->ints);
    if (count) memcpy(a->ints, v, count * sizeof *v);
}
static void tb_attr_string(Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = tb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.len = strlen(v);
    a->s.data = (uint8_t *)tb_str(v);
}
/* A graph attribute: returns the new (empty) body and makes it current;
 * tb_end_body() goes back to the main graph. */
static Onnx__GraphProto *tb_attr_body(Onnx__NodeProto *n, const char *name) {
    Onnx__AttributeProto *a = tb_attr(n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
    Onnx__GraphProto *b = tb_alloc(sizeof *b);
    onnx__graph_proto__init(b);
    b->name = tb_str(name);
    a->g = b;
    tb_cur = b;
    return b;
}
static void tb_end_body(void) { tb_cur = &tb_graph; }
#define INTS(...) (sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (const int64_t[]){__VA_ARGS__}

static void *tb_pack(size_t *size) {
    *size = onnx__model_proto__get_packed_size(&tb_model);
    void *buf = tb_alloc(*size);
    onnx__model_proto__pack(&tb_model, buf);
    return buf;
}

/* Load the model built so far (inference and folding run here). */
static prism_status tb_load(pr_model **out) {
    size_t size;
    void *buf = tb_pack(&size);
    return pr_model_from_bytes(buf, size, NULL, out);
}

static const pr_value *find(const pr_model *m, const char *name) {
    uint32_t id;
    if (!pr_graph_find(m->graph, name, &id)) return NULL;
    return &m->graph->values[id];
}

/* Check a value: dtype, rank, then each dim: a number, or -1 with the symbol
 * syms[i] (NULL: unnamed). rank -1 checks that the rank is unknown. */
static void check_value(const pr_model *m, const char *name, int32_t dtype, int32_t rank, const int64_t *dims,
                        const char *const *syms, int line) {
    const pr_value *v = find(m, name);
    char got[512];
    size_t len = 0;
    if (!v) {
        fprintf(stderr, "\nline %d: no value '%s'\n", line, name);
        CU_FAIL("value missing");
        return;
    }
    len += (size_t)snprintf(got + len, sizeof got - len, "dtype %d rank %d [", v->dtype, v->rank);
    for (int32_t d = 0; d < v->rank && len < 400; d++)
        len += (size_t)snprintf(got + len, sizeof got - len, "%s%lld%s%s", d ? "," : "", (long long)v->dims[d],
                                v->dim_params && v->dim_params[d] ? ":" : "",
                                v->dim_params && v->dim_params[d] ? v->dim_params[d] : "");
    snprintf(got + len, sizeof got - len, "]");
    bool ok = v->dtype == dtype && v->rank == rank;
    for (int32_t d = 0; ok && d < rank; d++) {
        if (v->dims[d] != dims[d]) ok = false;
        const char *want = dims[d] < 0 && syms ? syms[d] : NULL;
        const char *have = v->dim_params ? v->dim_params[d] : NULL;
        if ((want == NULL) != (have == NULL) || (want && strcmp(want, have))) ok = false;
    }
    if (!ok) fprintf(stderr, "\nline %d: value '%s' is %s\n", line, name, got);
    CU_ASSERT(ok);
}
#define CHECK(m, name, dtype, rank, dims, syms) check_value(m, name, dtype, rank, dims, syms, __LINE__)
#define DIMS(...) ((const int64_t[]){__VA_ARGS__})
#define SYMS(...) ((const char *const[]){__VA_ARGS__})

/* Expect the model to be rejected with INVALID_MODEL and a message holding
 * every needle. */
static void expect_invalid(const char *const *needles, int line) {
    pr_model *m = NULL;
    prism_status st = tb_load(&m);
    bool ok = st == PRISM_ERR_INVALID_MODEL;
    for (size_t i = 0; ok && needles[i]; i++)
        if (!strstr(prism_last_error_message(), needles[i])) ok = false;
    if (!ok)
        fprintf(stderr, "\nline %d: status %s, message: %s\n", line, prism_status_name(st),
                prism_last_error_message());
    CU_ASSERT(ok);
    if (!st) pr_model_free(m);
}
#define EXPECT_INVALID(...) expect_invalid((const char *const[]){__VA_ARGS__, NULL}, __LINE__)

#define F32 PRISM_DTYPE_FLOAT
#define I64 PRISM_DTYPE_INT64
#define BOOL PRISM_DTYPE_BOOL

/* ======================================================================
 * Conv / pooling
 * ====================================================================== */

static void add_conv(const char *out, const char *auto_pad, const int64_t *pads, const int64_t *strides,
                     const int64_t *dils) {
    Onnx__NodeProto *n = tb_node("Conv", "X,W", out);
    if (auto_pad) tb_attr_string(n, "auto_pad", auto_pad);
    if (pads) tb_attr_ints(n, "pads", 4, pads);
    if (strides) tb_attr_ints(n, "strides", 2, strides);
    if (dils) tb_attr_ints(n, "dilations", 2, dils);
    tb_output(out);
}

static void test_conv_padding_modes(void) {
    tb_reset(17);
    tb_input("X", F32, 4, DIMS(-1, 3, 7, 9), SYMS("N", NULL, NULL, NULL));
    tb_init_f32("W", 4, DIMS(8, 3, 3, 3));
    add_conv("explicit", NULL, DIMS(1, 1, 1, 1), DIMS(2, 2), NULL);
    add_conv("asym", "NOTSET", DIMS(0, 2, 1, 0), NULL, NULL);
    add_conv("upper", "SAME_UPPER", NULL, DIMS(2, 2), NULL);
    add_conv("lower", "SAME_LOWER", NULL, DIMS(3, 3), NULL);
    add_conv("valid", "VALID", DIMS(5, 5, 5, 5), NULL, DIMS(2, 2)); /* VALID ignores pads */
    add_conv("dilated", NULL, DIMS(2, 2, 2, 2), DIMS(1, 2), DIMS(2, 3));
    pr_model *m;
    UNIT_OK(tb_load(&m));
    /* (in + pb + pe - ((k-1)*d+1)) / s + 1 */
    CHECK(m, "explicit", F32, 4, DIMS(-1, 8, 4, 5), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "asym", F32, 4, DIMS(-1, 8, 6, 9), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "upper", F32, 4, DIMS(-1, 8, 4, 5), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "lower", F32, 4, DIMS(-1, 8, 3, 3), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "valid", F32, 4, DIMS(-1, 8, 3, 5), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "dilated", F32, 4, DIMS(-1, 8, 7, 4), SYMS("N", NULL, NULL, NULL));
    pr_model_free(m);

    /* Grouped 1-D conv with an unknown spatial dim and a symbolic one. */
    tb_reset(11);
    tb_input("X", F32, 3, DIMS(2, 6, -1), SYMS(NULL, NULL, "L"));
    tb_init_f32("W", 3, DIMS(4, 3, 5));
    Onnx__NodeProto *n = tb_node("Conv", "X,W", "Y");
    tb_attr_int(n, "group", 2);
    tb_output("Y");
    UNIT_OK(tb_load(&m));
    CHECK(m, "Y", F32, 3, DIMS(2, 4, -1), NULL); /* the length changes: no symbol */
    pr_model_free(m);
}

static void test_conv_transpose(void) {
    tb_reset(17);
    tb_input("X", F32, 4, DIMS(1, 3, 5, 5), NULL);
    tb_init_f32("W", 4, DIMS(3, 2, 3, 3));
    Onnx__NodeProto *n = tb_node("ConvTranspose", "X,W", "Y");
    tb_attr_ints(n, "strides", INTS(2, 2));
    tb_attr_ints(n, "pads", INTS(1, 1, 1, 1));
    tb_attr_ints(n, "output_padding", INTS(1, 0));
    tb_output("Y");
    n = tb_node("ConvTranspose", "X,W", "Z");
    tb_attr_string(n, "auto_pad", "SAME_UPPER");
    tb_attr_int(n, "group", 1);
    tb_attr_ints(n, "strides", INTS(3, 2));
    tb_output("Z");
    pr_model *m;
    UNIT_OK(tb_load(&m));
    /* s*(in-1) + output_padding + (k-1)*d+1 - pb - pe */
    CHECK(m, "Y", F32, 4, DIMS(1, 2, 10, 9), NULL);
    CHECK(m, "Z", F32, 4, DIMS(1, 2, 15, 10), NULL);
    pr_model_free(m);
}

static Onnx__NodeProto *add_pool(const char *op, const char *out, const char *outs, const char *auto_pad,
                                 const int64_t *k, const int64_t *pads, const int64_t *strides, int ceil_mode) {
    Onnx__NodeProto *n = tb_node(op, "X", outs ? outs : out);
    tb_attr_ints(n, "kernel_shape", 2, k);
    if (auto_pad) tb_attr_string(n, "auto_pad", auto_pad);
    if (pads) tb_attr_ints(n, "pads", 4, pads);
    if (strides) tb_attr_ints(n, "strides", 2, strides);
    if (ceil_mode) tb_attr_int(n, "ceil_mode", 1);
    tb_output(out);
    return n;
}

static void test_pool_padding_modes(void) {
    tb_reset(17);
    tb_input("X", F32, 4, DIMS(-1, -1, 6, 3), SYMS("N", "C", NULL, NULL));
    add_pool("MaxPool", "floor", "floor,idx", NULL, DIMS(3, 2), NULL, DIMS(2, 2), 0);
    tb_output("idx");
    add_pool("MaxPool", "ceil", NULL, NULL, DIMS(3, 2), NULL, DIMS(2, 2), 1);
    /* in 3, k 2, s 2, pads 1+1: ceil((5-2)/2)+1 = 3, but the third window
     * would start in the end padding, so 2. */
    add_pool("AveragePool", "lastwin", NULL, "NOTSET", DIMS(2, 2), DIMS(1, 1, 1, 1), DIMS(2, 2), 1);
    add_pool("AveragePool", "upper", NULL, "SAME_UPPER", DIMS(3, 3), NULL, DIMS(4, 2), 0);
    add_pool("AveragePool", "lower", NULL, "SAME_LOWER", DIMS(3, 3), NULL, NULL, 0);
    add_pool("MaxPool", "valid", NULL, "VALID", DIMS(2, 2), NULL, DIMS(3, 1), 1);
    tb_node("GlobalAveragePool", "X", "gap");
    tb_output("gap");
    pr_model *m;
    UNIT_OK(tb_load(&m));
    const char *const *nc = SYMS("N", "C", NULL, NULL);
    CHECK(m, "floor", F32, 4, DIMS(-1, -1, 2, 1), nc);
    CHECK(m, "idx", I64, 4, DIMS(-1, -1, 2, 1), nc);
    CHECK(m, "ceil", F32, 4, DIMS(-1, -1, 3, 2), nc);
    CHECK(m, "lastwin", F32, 4, DIMS(-1, -1, 4, 2), nc);
    CHECK(m, "upper", F32, 4, DIMS(-1, -1, 2, 2), nc);
    CHECK(m, "lower", F32, 4, DIMS(-1, -1, 6, 3), nc);
    CHECK(m, "valid", F32, 4, DIMS(-1, -1, 2, 2), nc);
    CHECK(m, "gap", F32, 4, DIMS(-1, -1, 1, 1), nc);
    pr_model_free(m);

    /* A kernel that cannot fit is a provably broken model. */
    tb_reset(17);
    tb_input("X", F32, 4, DIMS(1, 1, 2, 2), NULL);
    add_pool("MaxPool", "Y", NULL, NULL, DIMS(3, 3), NULL, NULL, 0);
    EXPECT_INVALID("MaxPool", "kernel spans 3");
}

/* ======================================================================
 * Elementwise and broadcasting
 * ====================================================================== */

static void test_broadcast_symbols(void) {
    tb_reset(17);
    tb_input("A", F32, 3, DIMS(-1, 1, 3), SYMS("N", NULL, NULL));
    tb_input("B", F32, 3, DIMS(1, -1, 3), SYMS(NULL, "M", NULL));
    tb_input("C", F32, 2, DIMS(-1, 4), SYMS("N", NULL));
    tb_input("D", F32, 1, DIMS(-1), SYMS("K"));
    tb_input("E", F32, 2, DIMS(5, -1), SYMS(NULL, "K"));
    tb_input("U", F32, 1, DIMS(-1), NULL);
    tb_input("c", BOOL, 0, NULL, NULL);
    tb_node("Add", "A,B", "ab");
    tb_node("Mul", "C,C", "cc");
    tb_node("Sub", "C,D", "cd");   /* N vs ... 4 vs K: 4 */
    tb_node("Div", "E,D", "ed");   /* [5,K] / [K] */
    tb_node("Pow", "D,U", "du");   /* K vs unknown: unknown */
    tb_node("Less", "A,B", "lt");  /* bool */
    tb_node("Where", "c,E,D", "w");
    tb_node("Relu", "A", "relu");
    Onnx__NodeProto *cn = tb_node("Cast", "A", "cast");
    tb_attr_int(cn, "to", PRISM_DTYPE_INT64);
    tb_node("Sqrt", "E", "sqrt");
    tb_node("Sum", "A,B,D", "sum"); /* [N,1,3] + [1,M,3] + [K]: K must be 3 */
    const char *outs[] = {"ab", "cc", "cd", "ed", "du", "lt", "w", "relu", "cast", "sqrt", "sum"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "ab", F32, 3, DIMS(-1, -1, 3), SYMS("N", "M", NULL));
    CHECK(m, "cc", F32, 2, DIMS(-1, 4), SYMS("N", NULL));
    CHECK(m, "cd", F32, 2, DIMS(-1, 4), SYMS("N", NULL));
    CHECK(m, "ed", F32, 2, DIMS(5, -1), SYMS(NULL, "K"));
    CHECK(m, "du", F32, 1, DIMS(-1), NULL);
    CHECK(m, "lt", BOOL, 3, DIMS(-1, -1, 3), SYMS("N", "M", NULL));
    CHECK(m, "w", F32, 2, DIMS(5, -1), SYMS(NULL, "K"));
    CHECK(m, "relu", F32, 3, DIMS(-1, 1, 3), SYMS("N", NULL, NULL));
    CHECK(m, "cast", I64, 3, DIMS(-1, 1, 3), SYMS("N", NULL, NULL));
    CHECK(m, "sqrt", F32, 2, DIMS(5, -1), SYMS(NULL, "K"));
    CHECK(m, "sum", F32, 3, DIMS(-1, -1, 3), SYMS("N", "M", NULL));
    pr_model_free(m);
}

/* ======================================================================
 * Reshape and friends
 * ====================================================================== */

static void test_reshape_rules(void) {
    tb_reset(14);
    tb_input("X", F32, 3, DIMS(-1, 3, 4), SYMS("N", NULL, NULL));
    tb_input("S", F32, 3, DIMS(2, 3, 4), NULL);
    tb_input("Z", F32, 2, DIMS(0, 3), NULL);
    tb_init_i64("s_copy_rest", 1, (const int64_t[]){0, -1}, 2);
    tb_init_i64("s_rest_12", 1, (const int64_t[]){-1, 12}, 2);
    tb_init_i64("s_static", 1, (const int64_t[]){4, 0, -1}, 3);
    tb_init_i64("s_flat", 1, (const int64_t[]){-1}, 1);
    tb_init_i64("s_zero", 1, (const int64_t[]){3, 0}, 2);
    tb_node("Reshape", "X,s_copy_rest", "a");
    tb_node("Reshape", "X,s_rest_12", "b");
    tb_node("Reshape", "S,s_static", "c");
    tb_node("Reshape", "S,s_flat", "d");
    Onnx__NodeProto *n = tb_node("Reshape", "Z,s_zero", "e");
    tb_attr_int(n, "allowzero", 1);
    tb_node("Flatten", "X", "f");
    n = tb_node("Flatten", "S", "g");
    tb_attr_int(n, "axis", -1);
    const char *outs[] = {"a", "b", "c", "d", "e", "f", "g"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "a", F32, 2, DIMS(-1, 12), SYMS("N", NULL));
    CHECK(m, "b", F32, 2, DIMS(-1, 12), SYMS("N", NULL));
    CHECK(m, "c", F32, 3, DIMS(4, 3, 2), NULL);
    CHECK(m, "d", F32, 1, DIMS(24), NULL);
    CHECK(m, "e", F32, 2, DIMS(3, 0), NULL);
    CHECK(m, "f", F32, 2, DIMS(-1, 12), SYMS("N", NULL));
    CHECK(m, "g", F32, 2, DIMS(6, 4), NULL);
    pr_model_free(m);

    /* Element counts that cannot match. */
    tb_reset(14);
    tb_input("S", F32, 2, DIMS(2, 3), NULL);
    tb_init_i64("s", 1, (const int64_t[]){4, 2}, 2);
    tb_node("Reshape", "S,s", "y");
    tb_output("y");
    EXPECT_INVALID("Reshape", "6 elements", "8 elements");

    tb_reset(14);
    tb_input("S", F32, 2, DIMS(2, 3), NULL);
    tb_init_i64("s", 1, (const int64_t[]){4, -1}, 2);
    tb_node("Reshape", "S,s", "y");
    tb_output("y");
    EXPECT_INVALID("Reshape", "not divisible");

    /* A shape that is computed at run time: only the rank is known. */
    tb_reset(14);
    tb_input("S", F32, 2, DIMS(2, 3), NULL);
    tb_input("shape", I64, 1, DIMS(3), NULL);
    tb_node("Reshape", "S,shape", "y");
    tb_output("y");
    UNIT_OK(tb_load(&m));
    CHECK(m, "y", F32, 3, DIMS(-1, -1, -1), NULL);
    pr_model_free(m);
}

static void test_tensor_ops(void) {
    tb_reset(13);
    tb_input("X", F32, 4, DIMS(-1, 3, 8, 1), SYMS("N", NULL, NULL, NULL));
    tb_init_i64("starts", 1, (const int64_t[]){1, -3}, 2);
    tb_init_i64("ends", 1, (const int64_t[]){INT64_MAX, 100}, 2);
    tb_init_i64("axes", 1, (const int64_t[]){1, 2}, 2);
    tb_init_i64("steps", 1, (const int64_t[]){1, 2}, 2);
    tb_init_i64("ax3", 1, (const int64_t[]){3}, 1);
    tb_init_i64("ax0", 1, (const int64_t[]){0, -1}, 2);
    tb_init_i64("split", 1, (const int64_t[]){1, 2}, 2);
    tb_init_i64("pads", 1, (const int64_t[]){0, 0, 1, 0, 0, 0, 2, 0}, 8);
    tb_init_i64("reps", 1, (const int64_t[]){1, 2, 1, 3}, 4);
    tb_node("Slice", "X,starts,ends,axes,steps", "slice");
    tb_node("Squeeze", "X,ax3", "sq");
    tb_node("Unsqueeze", "X,ax0", "unsq");
    Onnx__NodeProto *n = tb_node("Transpose", "X", "tr");
    tb_attr_ints(n, "perm", INTS(0, 2, 3, 1));
    n = tb_node("Concat", "X,X", "cat");
    tb_attr_int(n, "axis", 1);
    n = tb_node("Split", "X,split", "sp0,sp1");
    tb_attr_int(n, "axis", 1);
    tb_node("Pad", "X,pads", "pad");
    tb_node("Tile", "X,reps", "tile");
    const char *outs[] = {"slice", "sq", "unsq", "tr", "cat", "sp0", "sp1", "pad", "tile"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "slice", F32, 4, DIMS(-1, 2, 2, 1), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "sq", F32, 3, DIMS(-1, 3, 8), SYMS("N", NULL, NULL));
    CHECK(m, "unsq", F32, 6, DIMS(1, -1, 3, 8, 1, 1), SYMS(NULL, "N", NULL, NULL, NULL, NULL));
    CHECK(m, "tr", F32, 4, DIMS(-1, 8, 1, 3), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "cat", F32, 4, DIMS(-1, 6, 8, 1), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "sp0", F32, 4, DIMS(-1, 1, 8, 1), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "sp1", F32, 4, DIMS(-1, 2, 8, 1), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "pad", F32, 4, DIMS(-1, 3, 11, 1), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "tile", F32, 4, DIMS(-1, 6, 8, 3), SYMS("N", NULL, NULL, NULL));
    pr_model_free(m);
}

static void test_more_tensor_ops(void) {
    /* TopK asking for 5 of 1: a provable inconsistency. */
    tb_reset(13);
    tb_input("X", F32, 2, DIMS(4, 1), NULL);
    tb_init_i64("k", 1, (const int64_t[]){5}, 1);
    tb_node("TopK", "X,k", "v,i");
    tb_output("v");
    EXPECT_INVALID("TopK", "k = 5");

    tb_reset(13);
    tb_input("X", F32, 4, DIMS(-1, 3, 8, 6), SYMS("N", NULL, NULL, NULL));
    tb_init_i64("k", 1, (const int64_t[]){5}, 1);
    tb_init_i64("ax3", 1, (const int64_t[]){3}, 1);
    tb_init_i64("idx", 1, (const int64_t[]){0, 1}, 2);
    tb_init_i64("eshape", 1, (const int64_t[]){2, 1, 1, 1, 6}, 5);
    tb_init_i64("cshape", 1, (const int64_t[]){2, 5}, 2);
    tb_node("TopK", "X,k", "topv,topi");
    Onnx__NodeProto *n = tb_node("ReduceSum", "X,ax3", "rsum");
    tb_attr_int(n, "keepdims", 0);
    n = tb_node("ReduceMean", "X", "rmean");
    tb_attr_ints(n, "axes", INTS(1, 2));
    n = tb_node("ArgMax", "X", "amax");
    tb_attr_int(n, "axis", 2);
    tb_attr_int(n, "keepdims", 0);
    n = tb_node("Gather", "X,idx", "gat");
    tb_attr_int(n, "axis", 2);
    tb_node("Expand", "X,eshape", "exp");
    tb_node("ConstantOfShape", "cshape", "cos");
    tb_node("Shape", "X", "shp");
    tb_node("Size", "X", "size");
    n = tb_node("Gemm", "W,V", "gemm");
    tb_attr_int(n, "transA", 1);
    tb_input("W", F32, 2, DIMS(7, -1), SYMS(NULL, "M"));
    tb_input("V", F32, 2, DIMS(7, 2), NULL);
    tb_node("MatMul", "X,V6", "mm");
    tb_init_f32("V6", 2, DIMS(6, 9));
    tb_node("MatMul", "Vec6,X", "mmv");
    tb_init_f32("Vec6", 1, DIMS(8));
    const char *outs[] = {"topv", "topi", "rsum", "rmean", "amax", "gat", "exp", "cos", "shp", "size", "gemm",
                          "mm", "mmv"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    const char *const *n4 = SYMS("N", NULL, NULL, NULL);
    CHECK(m, "topv", F32, 4, DIMS(-1, 3, 8, 5), n4);
    CHECK(m, "topi", I64, 4, DIMS(-1, 3, 8, 5), n4);
    CHECK(m, "rsum", F32, 3, DIMS(-1, 3, 8), n4);
    CHECK(m, "rmean", F32, 4, DIMS(-1, 1, 1, 6), n4);
    CHECK(m, "amax", I64, 3, DIMS(-1, 3, 6), n4);
    CHECK(m, "gat", F32, 4, DIMS(-1, 3, 2, 6), n4);
    CHECK(m, "exp", F32, 5, DIMS(2, -1, 3, 8, 6), SYMS(NULL, "N", NULL, NULL, NULL));
    CHECK(m, "cos", F32, 2, DIMS(2, 5), NULL);
    CHECK(m, "shp", I64, 1, DIMS(4), NULL);
    CHECK(m, "size", I64, 0, NULL, NULL);
    CHECK(m, "gemm", F32, 2, DIMS(-1, 2), SYMS("M", NULL));
    CHECK(m, "mm", F32, 4, DIMS(-1, 3, 8, 9), n4);
    CHECK(m, "mmv", F32, 3, DIMS(-1, 3, 6), SYMS("N", NULL, NULL));
    pr_model_free(m);

    /* Squeeze / Unsqueeze / Slice take attributes in old opsets. */
    tb_reset(9);
    tb_input("X", F32, 3, DIMS(1, -1, 1), SYMS(NULL, "T", NULL));
    n = tb_node("Squeeze", "X", "sq");
    tb_attr_ints(n, "axes", INTS(0, -1));
    n = tb_node("Unsqueeze", "X", "un");
    tb_attr_ints(n, "axes", INTS(1));
    n = tb_node("Slice", "X", "sl");
    tb_attr_ints(n, "starts", INTS(0));
    tb_attr_ints(n, "ends", INTS(INT64_MAX));
    tb_attr_ints(n, "axes", INTS(1));
    tb_output("sq");
    tb_output("un");
    tb_output("sl");
    UNIT_OK(tb_load(&m));
    CHECK(m, "sq", F32, 1, DIMS(-1), SYMS("T"));
    CHECK(m, "un", F32, 4, DIMS(1, 1, -1, 1), SYMS(NULL, NULL, "T", NULL));
    CHECK(m, "sl", F32, 3, DIMS(1, -1, 1), SYMS(NULL, "T", NULL)); /* the whole dim: kept */
    pr_model_free(m);

    /* Opset 18: Split by num_outputs, uneven (the last chunk is smaller). */
    tb_reset(18);
    tb_input("X", F32, 2, DIMS(10, 2), NULL);
    n = tb_node("Split", "X", "a,b,c");
    tb_attr_int(n, "num_outputs", 3);
    tb_output("a");
    tb_output("b");
    tb_output("c");
    UNIT_OK(tb_load(&m));
    CHECK(m, "a", F32, 2, DIMS(4, 2), NULL);
    CHECK(m, "c", F32, 2, DIMS(2, 2), NULL);
    pr_model_free(m);
}

/* ======================================================================
 * Folding of shape arithmetic
 * ====================================================================== */

/* X -> Shape -> Gather(0) -> Unsqueeze -> Concat(-1) -> Reshape(X): the
 * torch export of x.view(x.size(0), -1). */
static void build_view_chain(const int64_t *xdims, const char *const *syms) {
    tb_reset(13);
    tb_input("X", F32, 4, xdims, syms);
    tb_init_i64("zero", 0, (const int64_t[]){0}, 1);
    tb_init_i64("ax0", 1, (const int64_t[]){0}, 1);
    tb_init_i64("minus1", 1, (const int64_t[]){-1}, 1);
    tb_node("Shape", "X", "shape");
    Onnx__NodeProto *n = tb_node("Gather", "shape,zero", "batch");
    tb_attr_int(n, "axis", 0);
    tb_node("Unsqueeze", "batch,ax0", "batch1");
    n = tb_node("Concat", "batch1,minus1", "newshape");
    tb_attr_int(n, "axis", 0);
    tb_node("Reshape", "X,newshape", "Y");
    tb_output("Y");
}

static void test_fold_view_chain(void) {
    build_view_chain(DIMS(2, 3, 8, 8), NULL);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "Y", F32, 2, DIMS(2, 192), NULL);
    /* Only the Reshape is left; its shape input is a constant now. */
    CU_ASSERT_EQUAL(m->graph->n_nodes, 1);
    CU_ASSERT_STRING_EQUAL(m->graph->nodes[0].op_type, "Reshape");
    const pr_value *s = find(m, "newshape");
    CU_ASSERT_FATAL(s && s->constant);
    CU_ASSERT_EQUAL(s->producer, -1);
    CU_ASSERT_EQUAL(s->constant->dtype, PRISM_DTYPE_INT64);
    CU_ASSERT_EQUAL(s->constant->count, 2);
    const int64_t *v = s->constant->data;
    CU_ASSERT(v[0] == 2 && v[1] == -1);
    CHECK(m, "batch", I64, 0, NULL, NULL);
    CU_ASSERT_EQUAL(m->graph->values[m->graph->outputs[0]].producer, 0);
    pr_model_free(m);

    /* A symbolic batch: nothing folds, the Reshape still gets its rank. */
    build_view_chain(DIMS(-1, 3, 8, 8), SYMS("N", NULL, NULL, NULL));
    UNIT_OK(tb_load(&m));
    CU_ASSERT_EQUAL(m->graph->n_nodes, 5);
    CU_ASSERT_PTR_NULL(find(m, "newshape")->constant);
    CHECK(m, "newshape", I64, 1, DIMS(2), NULL);
    CHECK(m, "Y", F32, 2, DIMS(-1, -1), NULL);
    pr_model_free(m);
}

/* Folding arithmetic on shapes: Shape -> Slice -> Cast -> Mul/Div/Add ->
 * Cast -> Concat -> Expand / ConstantOfShape / Range, plus Equal + Where. */
static void build_arith(bool with_expand) {
    tb_reset(13);
    tb_input("X", F32, 3, DIMS(2, 6, 4), NULL);
    tb_init_i64("s1", 1, (const int64_t[]){1}, 1);
    tb_init_i64("e3", 1, (const int64_t[]){3}, 1);
    tb_init_i64("two", 0, (const int64_t[]){2}, 1);
    tb_init_i64("ones", 1, (const int64_t[]){1, 1}, 2);
    tb_node("Shape", "X", "shape");             /* [2,6,4] */
    tb_node("Slice", "shape,s1,e3", "hw");      /* [6,4] */
    Onnx__NodeProto *n = tb_node("Cast", "hw", "hwf");
    tb_attr_int(n, "to", PRISM_DTYPE_FLOAT);    /* [6.0,4.0] */
    tb_node("Div", "hw,two", "half");           /* [3,2] */
    tb_node("Mul", "half,two", "back");         /* [6,4] */
    tb_node("Equal", "back,hw", "eq");          /* [true,true] */
    tb_node("Where", "eq,half,ones", "sel");    /* [3,2] */
    tb_node("Sub", "sel,ones", "dec");          /* [2,1] */
    tb_node("ConstantOfShape", "sel", "zeros"); /* float zeros [3,2] */
    tb_output("zeros");
    tb_output("sel");
    tb_output("hwf");
    if (with_expand) {
        tb_node("Expand", "X,dec", "xe"); /* [2,6,4] with [2,1]: 6 vs 2 */
        tb_output("xe");
    }
}

static void test_fold_arithmetic(void) {
    pr_model *m;
    build_arith(false);
    UNIT_OK(tb_load(&m));
    const pr_value *sel = find(m, "sel");
    CU_ASSERT_FATAL(sel && sel->constant && sel->constant->count == 2);
    CU_ASSERT(((const int64_t *)sel->constant->data)[0] == 3 && ((const int64_t *)sel->constant->data)[1] == 2);
    const pr_value *z = find(m, "zeros");
    CU_ASSERT_FATAL(z && z->constant);
    CHECK(m, "zeros", F32, 2, DIMS(3, 2), NULL);
    const pr_value *hwf = find(m, "hwf");
    CU_ASSERT_FATAL(hwf && hwf->constant && hwf->constant->dtype == PRISM_DTYPE_FLOAT);
    CU_ASSERT(((const float *)hwf->constant->data)[1] == 4.0f);
    CU_ASSERT_EQUAL(m->graph->n_nodes, 0); /* everything folded: the outputs are constants */
    pr_model_free(m);

    /* The Expand's folded shape [2,1] broadcasts 6 against 2: the rule
     * downstream of the folds sees the constant and rejects the model. */
    build_arith(true);
    EXPECT_INVALID("Expand", "cannot broadcast", "6 vs 2");
}

/* Folding stops at what is not static: division by zero, a graph input's
 * value, a declared type that disagrees. */
static void test_fold_limits(void) {
    tb_reset(13);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_input("runtime", I64, 1, DIMS(2), NULL);
    tb_init_i64("zero", 1, (const int64_t[]){0, 1}, 2);
    tb_node("Shape", "X", "shape");
    tb_node("Div", "shape,zero", "dz");       /* not folded: 2/0 */
    tb_node("Add", "shape,runtime", "rt");    /* not folded: a runtime value */
    tb_node("Reshape", "X,rt", "Y");
    tb_output("dz");
    tb_output("Y");
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CU_ASSERT_PTR_NOT_NULL(find(m, "shape")->constant);
    CU_ASSERT_PTR_NULL(find(m, "dz")->constant);
    CU_ASSERT_PTR_NULL(find(m, "rt")->constant);
    CHECK(m, "dz", I64, 1, DIMS(2), NULL);
    CHECK(m, "rt", I64, 1, DIMS(2), NULL);
    CHECK(m, "Y", F32, 2, DIMS(-1, -1), NULL);
    CU_ASSERT_EQUAL(m->graph->n_nodes, 3);
    pr_model_free(m);
}

/* End to end: a session returns a folded graph output (the graph has no
 * node left) and runs a Reshape whose shape was folded. */
static void test_fold_session(void) {
    build_view_chain(DIMS(2, 3, 2, 2), NULL);
    tb_output("newshape");
    size_t size;
    void *bytes = tb_pack(&size);
    prism_env *env;
    prism_session *s;
    UNIT_OK(prism_env_create(&env));
    UNIT_OK(prism_session_create_from_memory(env, bytes, size, NULL, &s));
    prism_tensor *x, *out[2] = {NULL, NULL};
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, DIMS(2, 3, 2, 2), 4, &x));
    float *xd = prism_tensor_data(x);
    for (int i = 0; i < 24; i++) xd[i] = (float)i;
    const char *in_names[] = {"X"};
    UNIT_OK(prism_session_run(s, in_names, (const prism_tensor *const *)&x, 1, NULL, 2, out));
    CU_ASSERT_EQUAL(prism_tensor_rank(out[0]), 2);
    CU_ASSERT(prism_tensor_dims(out[0])[0] == 2 && prism_tensor_dims(out[0])[1] == 12);
    CU_ASSERT_EQUAL(((const float *)prism_tensor_data_const(out[0]))[23], 23.0f);
    CU_ASSERT_EQUAL(prism_tensor_dtype(out[1]), PRISM_DTYPE_INT64);
    const int64_t *ns = prism_tensor_data_const(out[1]);
    CU_ASSERT(ns[0] == 2 && ns[1] == -1);
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(out[1]);

    /* A graph made only of foldable nodes: Shape of a static input. */
    prism_session *s2;
    tb_reset(13);
    tb_input("X", F32, 2, DIMS(5, 7), NULL);
    tb_node("Shape", "X", "shape");
    tb_output("shape");
    bytes = tb_pack(&size);
    UNIT_OK(prism_session_create_from_memory(env, bytes, size, NULL, &s2));
    prism_tensor *x2;
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, DIMS(5, 7), 2, &x2));
    UNIT_OK(prism_session_run(s2, in_names, (const prism_tensor *const *)&x2, 1, NULL, 1, out));
    prism_tensor_destroy(x2);
    ns = prism_tensor_data_const(out[0]);
    CU_ASSERT(prism_tensor_element_count(out[0]) == 2 && ns[0] == 5 && ns[1] == 7);
    prism_tensor_destroy(out[0]);
    prism_session_destroy(s2);
    prism_tensor_destroy(x);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

/* ======================================================================
 * Declarations and errors
 * ====================================================================== */

static void test_declared_wins(void) {
    tb_reset(17);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_node("Relu", "X", "Z");
    tb_output_typed("Z", F32, 2, DIMS(-1, 3), SYMS("batch", NULL)); /* symbolic dim filled in */
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "Z", F32, 2, DIMS(2, 3), NULL);
    pr_model_free(m);
    /* Declarations that contradict what the node computes are refused:
     * planning with them would size copies and buffers wrongly. */
    tb_reset(17);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_node("Relu", "X", "Y");
    tb_output_typed("Y", PRISM_DTYPE_DOUBLE, -1, NULL, NULL);
    EXPECT_INVALID("'Y' is declared double but the node computes float");
    tb_reset(17);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_node("Relu", "X", "W");
    tb_output_typed("W", F32, 3, DIMS(1, 2, 3), NULL);
    EXPECT_INVALID("'W' is declared with rank 3 but the node computes rank 2");
    tb_reset(17);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_node("Relu", "X", "V");
    tb_output_typed("V", F32, 2, DIMS(2, 4), NULL);
    EXPECT_INVALID("'V' is declared with dim 1 = 4 but the node computes 3");
}

static void test_inconsistent_models(void) {
    tb_reset(13);
    tb_input("A", F32, 2, DIMS(2, 3), NULL);
    tb_input("B", F32, 2, DIMS(4, 5), NULL);
    tb_node("MatMul", "A,B", "Y");
    tb_output("Y");
    EXPECT_INVALID("MatMul", "[2,3]", "[4,5]", "3 vs 4");

    tb_reset(13);
    tb_input("A", F32, 2, DIMS(2, 3), NULL);
    tb_input("B", F32, 2, DIMS(4, 3), NULL);
    tb_node("Add", "A,B", "Y");
    tb_output("Y");
    EXPECT_INVALID("Add", "cannot broadcast [2,3] with [4,3]", "2 vs 4");

    tb_reset(13);
    tb_input("A", F32, 2, DIMS(2, 3), NULL);
    tb_input("B", F32, 3, DIMS(2, 3, 1), NULL);
    Onnx__NodeProto *n = tb_node("Concat", "A,B", "Y");
    tb_attr_int(n, "axis", 0);
    tb_output("Y");
    EXPECT_INVALID("Concat", "different ranks");

    tb_reset(13);
    tb_input("A", F32, 2, DIMS(2, 3), NULL);
    tb_input("B", F32, 2, DIMS(2, 4), NULL);
    n = tb_node("Concat", "A,B", "Y");
    tb_attr_int(n, "axis", 0);
    tb_output("Y");
    EXPECT_INVALID("Concat", "dim 1 (3 vs 4)");

    tb_reset(13);
    tb_input("X", F32, 4, DIMS(1, 4, 5, 5), NULL);
    tb_init_f32("W", 4, DIMS(8, 3, 3, 3));
    tb_node("Conv", "X,W", "Y");
    tb_output("Y");
    EXPECT_INVALID("Conv", "4 channels");

    tb_reset(13);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_init_i64("ax", 1, (const int64_t[]){1}, 1);
    tb_node("Squeeze", "X,ax", "Y");
    tb_output("Y");
    EXPECT_INVALID("Squeeze", "not 1");

    /* Unknowns are never errors: [N,3] + [M,4] needs N and M to broadcast,
     * but 3 vs 4 is concrete: an error; [N,3] + [M,3] is fine. */
    tb_reset(13);
    tb_input("A", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_input("B", F32, 2, DIMS(-1, 3), SYMS("M", NULL));
    tb_node("Add", "A,B", "Y");
    tb_output("Y");
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "Y", F32, 2, DIMS(-1, 3), NULL);
    pr_model_free(m);
}

/* A float initializer with given values (rank 1). */
static void tb_init_f32_vals(const char *name, const float *vals, size_t count) {
    int64_t d = (int64_t)count;
    tb_push((void ***)&tb_cur->initializer, &tb_cur->n_initializer,
            tb_tensor(name, F32, 1, &d, vals, count * sizeof *vals));
}

/* Resize, recurrent nets, Einsum, quantised ops, losses. */
static void test_model_ops(void) {
    tb_reset(19);
    tb_input("X", F32, 4, DIMS(-1, 3, 5, 7), SYMS("N", NULL, NULL, NULL));
    tb_init_f32_vals("scales", (const float[]){1.0f, 1.0f, 0.6f, 2.5f}, 4);
    tb_init_i64("sizes", 1, (const int64_t[]){10, 10}, 2);
    tb_node("Resize", "X,,scales", "rs_scales"); /* trunc(0.6 * 5) = 3 (0.6f is a hair above 0.6) */
    Onnx__NodeProto *n = tb_node("Resize", "X,,,sizes", "rs_keep");
    tb_attr_ints(n, "axes", INTS(2, 3));
    tb_attr_string(n, "keep_aspect_ratio_policy", "not_larger"); /* scale min(10/5, 10/7) */
    tb_input("seq", F32, 3, DIMS(9, -1, 4), SYMS(NULL, "B", NULL));
    tb_init_f32("W", 3, DIMS(2, 24, 4));
    tb_init_f32("R", 3, DIMS(2, 24, 6));
    n = tb_node("LSTM", "seq,W,R", "Y,Y_h,Y_c");
    tb_attr_string(n, "direction", "bidirectional");
    tb_input("A", F32, 3, DIMS(-1, 2, 3), SYMS("N", NULL, NULL));
    tb_input("Bm", F32, 2, DIMS(3, 4), NULL);
    n = tb_node("Einsum", "A,Bm", "ein");
    tb_attr_string(n, "equation", "bij,jk->bki");
    n = tb_node("Einsum", "Bm", "ein_t");
    tb_attr_string(n, "equation", "ji");
    tb_input("Q", PRISM_DTYPE_UINT8, 4, DIMS(1, 3, 5, 5), NULL);
    tb_init_f32("s", 0, NULL);
    tb_input("Wq", PRISM_DTYPE_INT8, 4, DIMS(8, 3, 3, 3), NULL);
    tb_input("zi8", PRISM_DTYPE_INT8, 0, NULL, NULL);
    tb_input("zu8", PRISM_DTYPE_UINT8, 0, NULL, NULL);
    tb_node("QLinearConv", "Q,s,zu8,Wq,s,zi8,s,zu8", "qconv");
    tb_node("ConvInteger", "Q,Wq", "iconv");
    tb_input("labels", I64, 2, DIMS(-1, 5), SYMS("N", NULL));
    tb_input("scores", F32, 3, DIMS(-1, 10, 5), SYMS("N", NULL, NULL));
    n = tb_node("SoftmaxCrossEntropyLoss", "scores,labels", "loss,logp");
    tb_attr_string(n, "reduction", "none");
    const char *outs[] = {"rs_scales", "rs_keep", "Y", "Y_h", "Y_c", "ein", "ein_t", "qconv", "iconv", "loss", "logp"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "rs_scales", F32, 4, DIMS(-1, 3, 3, 17), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "rs_keep", F32, 4, DIMS(-1, 3, 7, 10), SYMS("N", NULL, NULL, NULL));
    CHECK(m, "Y", F32, 4, DIMS(9, 2, -1, 6), SYMS(NULL, NULL, "B", NULL));
    CHECK(m, "Y_h", F32, 3, DIMS(2, -1, 6), SYMS(NULL, "B", NULL));
    CHECK(m, "Y_c", F32, 3, DIMS(2, -1, 6), SYMS(NULL, "B", NULL));
    CHECK(m, "ein", F32, 3, DIMS(-1, 4, 2), SYMS("N", NULL, NULL));
    CHECK(m, "ein_t", F32, 2, DIMS(4, 3), NULL);
    CHECK(m, "qconv", PRISM_DTYPE_UINT8, 4, DIMS(1, 8, 3, 3), NULL);
    CHECK(m, "iconv", PRISM_DTYPE_INT32, 4, DIMS(1, 8, 3, 3), NULL);
    CHECK(m, "loss", F32, 2, DIMS(-1, 5), SYMS("N", NULL));
    CHECK(m, "logp", F32, 3, DIMS(-1, 10, 5), SYMS("N", NULL, NULL));
    pr_model_free(m);
}

/* If / Loop / Scan: outputs from the bodies' declared outputs. */
static void test_control_flow(void) {
    tb_reset(16);
    tb_input("X", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_input("c", BOOL, 0, NULL, NULL);
    tb_input("S", F32, 3, DIMS(5, 2, 3), NULL);
    tb_init_i64("M", 0, (const int64_t[]){4}, 1);
    Onnx__NodeProto *n = tb_node("If", "c", "if_out");
    tb_attr_body(n, "then_branch");
    tb_node("Relu", "X", "t");
    tb_output_typed("t", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_end_body();
    tb_attr_body(n, "else_branch");
    tb_node("Concat", "X,X", "e");
    tb_output_typed("e", F32, 2, DIMS(-1, 6), SYMS("N", NULL));
    tb_end_body();
    /* Loop: carried v [N,3] (kept), scan output of [3] per iteration. */
    n = tb_node("Loop", "M,,X", "loop_v,loop_scan");
    tb_attr_body(n, "body");
    tb_input("i", I64, 0, NULL, NULL);
    tb_input("cond", BOOL, 0, NULL, NULL);
    tb_input("v", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_node("Identity", "cond", "cond_out");
    tb_node("Add", "v,v", "v_out");
    tb_node("ReduceSum", "v", "row");
    tb_output_typed("cond_out", BOOL, 0, NULL, NULL);
    tb_output_typed("v_out", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_output_typed("row", F32, 1, DIMS(3), NULL);
    tb_end_body();
    /* Scan over axis 0 of S [5,2,3]: state [3], per-step output [2,3]
     * stacked on axis 1. */
    n = tb_node("Scan", "X,S", "scan_state,scan_out");
    tb_attr_int(n, "num_scan_inputs", 1);
    tb_attr_ints(n, "scan_output_axes", INTS(1));
    tb_attr_body(n, "body");
    tb_input("st", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    tb_input("slice", F32, 2, DIMS(2, 3), NULL);
    tb_node("Identity", "st", "st_out");
    tb_node("Identity", "slice", "el");
    tb_output_typed("st_out", F32, 2, DIMS(-1, 3), NULL); /* a less precise declaration */
    tb_output_typed("el", F32, 2, DIMS(2, 3), NULL);
    tb_end_body();
    const char *outs[] = {"if_out", "loop_v", "loop_scan", "scan_state", "scan_out"};
    for (size_t i = 0; i < sizeof outs / sizeof outs[0]; i++) tb_output(outs[i]);
    pr_model *m;
    UNIT_OK(tb_load(&m));
    CHECK(m, "if_out", F32, 2, DIMS(-1, -1), SYMS("N", NULL));
    CHECK(m, "loop_v", F32, 2, DIMS(-1, 3), SYMS("N", NULL));
    CHECK(m, "loop_scan", F32, 2, DIMS(-1, 3), NULL);
    CHECK(m, "scan_state", F32, 2, DIMS(-1, 3), NULL);
    CHECK(m, "scan_out", F32, 3, DIMS(2, 5, 3), NULL);
    pr_model_free(m);

    /* A value a body reads from the outer graph is not folded away. */
    tb_reset(16);
    tb_input("X", F32, 2, DIMS(2, 3), NULL);
    tb_input("c", BOOL, 0, NULL, NULL);
    tb_node("Shape", "X", "shape");
    n = tb_node("If", "c", "y");
    tb_attr_body(n, "then_branch");
    tb_node("Identity", "shape", "t");
    tb_output_typed("t", I64, 1, DIMS(2), NULL);
    tb_end_body();
    tb_attr_body(n, "else_branch");
    tb_node("Neg", "shape", "e");
    tb_output_typed("e", I64, 1, DIMS(2), NULL);
    tb_end_body();
    tb_output("y");
    UNIT_OK(tb_load(&m));
    CU_ASSERT_PTR_NULL(find(m, "shape")->constant);
    CU_ASSERT_EQUAL(m->graph->n_nodes, 2);
    CHECK(m, "y", I64, 1, DIMS(2), NULL);
    pr_model_free(m);
}

static void test_rule_table_covers_cpu_ops(void) {
    /* Every op of the CPU provider's table has a rule (cpu_ops.def is read
     * from the source tree when the test knows where that is). */
    const char *src = getenv("PRISM_SOURCE_DIR");
    CU_ASSERT(pr_shape_rule_count() >= 100);
    if (!src) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/providers/cpu/cpu_ops.def", src);
    FILE *f = fopen(path, "r");
    if (!f) return;
    char line[512];
    int missing = 0;
    while (fgets(line, sizeof line, f)) {
        /* CPU_OP(symbol, "OpType", "domain", version) */
        if (strncmp(line, "CPU_OP(", 7)) continue;
        char *q1 = strchr(line, '"'), *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        char *q3 = q2 ? strchr(q2 + 1, '"') : NULL, *q4 = q3 ? strchr(q3 + 1, '"') : NULL;
        if (!q4) continue;
        *q2 = *q4 = '\0';
        const char *op = q1 + 1, *dom = q3 + 1;
        if (!strcmp(op, "Constant")) continue; /* folded at load */
        if (!pr_shape_rule_find(dom, op)) {
            fprintf(stderr, "\nno shape rule for CPU op %s (domain '%s')\n", op, dom);
            missing++;
        }
    }
    fclose(f);
    CU_ASSERT_EQUAL(missing, 0);
}

static void cleanup(void) {
    for (size_t i = 0; i < tb_n_arena; i++) free(tb_arena[i]);
    free(tb_arena);
    tb_arena = NULL;
    tb_n_arena = tb_cap_arena = 0;
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("shape_infer", NULL, NULL);
    CU_add_test(s, "conv_padding_modes", test_conv_padding_modes);
    CU_add_test(s, "conv_transpose", test_conv_transpose);
    CU_add_test(s, "pool_padding_modes", test_pool_padding_modes);
    CU_add_test(s, "broadcast_symbols", test_broadcast_symbols);
    CU_add_test(s, "reshape_rules", test_reshape_rules);
    CU_add_test(s, "tensor_ops", test_tensor_ops);
    CU_add_test(s, "more_tensor_ops", test_more_tensor_ops);
    CU_add_test(s, "fold_view_chain", test_fold_view_chain);
    CU_add_test(s, "fold_arithmetic", test_fold_arithmetic);
    CU_add_test(s, "fold_limits", test_fold_limits);
    CU_add_test(s, "fold_session", test_fold_session);
    CU_add_test(s, "declared_wins", test_declared_wins);
    CU_add_test(s, "inconsistent_models", test_inconsistent_models);
    CU_add_test(s, "model_ops", test_model_ops);
    CU_add_test(s, "control_flow", test_control_flow);
    CU_add_test(s, "rule_table_covers_cpu_ops", test_rule_table_covers_cpu_ops);
    int rc = unit_run_all();
    cleanup();
    return rc;
}
