/* model_builder.c — see model_builder.h. */
#include "model_builder.h"

#include <CUnit/CUnit.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct mb_model {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    int64_t onnx_opset;
    void **allocs;
    size_t n_allocs, cap_allocs;
};

static void *mb_alloc(mb_model *m, size_t size) {
    void *p = calloc(1, size ? size : 1);
    if (!p) abort();
    if (m->n_allocs == m->cap_allocs) {
        size_t cap = m->cap_allocs ? m->cap_allocs * 2 : 64;
        void **a = realloc(m->allocs, cap * sizeof *a);
        if (!a) abort();
        m->allocs = a;
        m->cap_allocs = cap;
    }
    m->allocs[m->n_allocs++] = p;
    return p;
}

char *mb_str(mb_model *m, const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s);
    char *r = mb_alloc(m, n + 1);
    memcpy(r, s, n);
    return r;
}

/* Append one element to a builder-owned array (the old array stays in the
 * arena until mb_free: models here are small). */
static void mb_append(mb_model *m, void *arr_ptr, size_t *n, const void *item, size_t elem) {
    void **arr = arr_ptr;
    char *grown = mb_alloc(m, (*n + 1) * elem);
    if (*n) memcpy(grown, *arr, *n * elem);
    memcpy(grown + *n * elem, item, elem);
    *arr = grown;
    (*n)++;
}

static void mb_append_ptr(mb_model *m, void *arr_ptr, size_t *n, void *item) {
    mb_append(m, arr_ptr, n, &item, sizeof item);
}

/* Split "a,b,,c" into builder-owned strings appended to (*arr, *n). */
static void mb_split(mb_model *m, const char *list, char ***arr, size_t *n) {
    if (!list || !*list) return;
    for (const char *p = list;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *s = mb_alloc(m, len + 1);
        memcpy(s, p, len);
        mb_append_ptr(m, arr, n, s);
        if (!e) break;
        p = e + 1;
    }
}

static Onnx__OperatorSetIdProto *mb_opset_proto(mb_model *m, const char *domain, int64_t version) {
    Onnx__OperatorSetIdProto *o = mb_alloc(m, sizeof *o);
    onnx__operator_set_id_proto__init(o);
    o->domain = mb_str(m, domain);
    o->has_version = 1;
    o->version = version;
    return o;
}

mb_model *mb_new(int64_t onnx_opset) {
    mb_model *m = calloc(1, sizeof *m);
    if (!m) abort();
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    m->model.has_ir_version = 1;
    m->model.ir_version = 8;
    m->model.producer_name = mb_str(m, "prism-unit");
    m->model.producer_version = mb_str(m, "1.0");
    m->model.graph = &m->graph;
    m->graph.name = mb_str(m, "g");
    m->onnx_opset = onnx_opset;
    if (onnx_opset > 0) mb_opset(m, "", onnx_opset);
    return m;
}

void mb_free(mb_model *m) {
    if (!m) return;
    for (size_t i = 0; i < m->n_allocs; i++) free(m->allocs[i]);
    free(m->allocs);
    free(m);
}

Onnx__ModelProto *mb_proto(mb_model *m) { return &m->model; }
Onnx__GraphProto *mb_graph(mb_model *m) { return &m->graph; }

void mb_opset(mb_model *m, const char *domain, int64_t version) {
    mb_append_ptr(m, &m->model.opset_import, &m->model.n_opset_import, mb_opset_proto(m, domain, version));
}

static Onnx__ValueInfoProto *mb_vi(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *vi = mb_alloc(m, sizeof *vi);
    onnx__value_info_proto__init(vi);
    vi->name = mb_str(m, name);
    Onnx__TypeProto *tp = mb_alloc(m, sizeof *tp);
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = mb_alloc(m, sizeof *tt);
    onnx__type_proto__tensor__init(tt);
    if (dtype) {
        tt->has_elem_type = 1;
        tt->elem_type = dtype;
    }
    if (rank >= 0) {
        Onnx__TensorShapeProto *sh = mb_alloc(m, sizeof *sh);
        onnx__tensor_shape_proto__init(sh);
        for (int d = 0; d < rank; d++) {
            Onnx__TensorShapeProto__Dimension *dim = mb_alloc(m, sizeof *dim);
            onnx__tensor_shape_proto__dimension__init(dim);
            if (dims[d] == -1) {
                char buf[32];
                snprintf(buf, sizeof buf, "N%d", d);
                dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dim->dim_param = mb_str(m, buf);
            } else {
                dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dim->dim_value = dims[d];
            }
            mb_append_ptr(m, &sh->dim, &sh->n_dim, dim);
        }
        tt->shape = sh;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

Onnx__ValueInfoProto *mb_input(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *vi = mb_vi(m, name, dtype, rank, dims);
    mb_append_ptr(m, &m->graph.input, &m->graph.n_input, vi);
    return vi;
}

Onnx__ValueInfoProto *mb_output(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *vi = mb_vi(m, name, dtype, rank, dims);
    mb_append_ptr(m, &m->graph.output, &m->graph.n_output, vi);
    return vi;
}

Onnx__ValueInfoProto *mb_value_info(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims) {
    Onnx__ValueInfoProto *vi = mb_vi(m, name, dtype, rank, dims);
    mb_append_ptr(m, &m->graph.value_info, &m->graph.n_value_info, vi);
    return vi;
}

static Onnx__NodeProto *mb_new_node(mb_model *m, const char *op, const char *name, const char *inputs,
                                    const char *outputs) {
    Onnx__NodeProto *n = mb_alloc(m, sizeof *n);
    onnx__node_proto__init(n);
    n->op_type = mb_str(m, op);
    n->name = mb_str(m, name);
    mb_split(m, inputs, &n->input, &n->n_input);
    mb_split(m, outputs, &n->output, &n->n_output);
    return n;
}

Onnx__NodeProto *mb_node(mb_model *m, const char *op, const char *name, const char *inputs, const char *outputs) {
    Onnx__NodeProto *n = mb_new_node(m, op, name, inputs, outputs);
    mb_append_ptr(m, &m->graph.node, &m->graph.n_node, n);
    return n;
}

void mb_node_domain(mb_model *m, Onnx__NodeProto *n, const char *domain) { n->domain = mb_str(m, domain); }

static Onnx__AttributeProto *mb_attr(mb_model *m, Onnx__NodeProto *n, const char *name, int type) {
    Onnx__AttributeProto *a = mb_alloc(m, sizeof *a);
    onnx__attribute_proto__init(a);
    a->name = mb_str(m, name);
    a->has_type = 1;
    a->type = (Onnx__AttributeProto__AttributeType)type;
    mb_append_ptr(m, &n->attribute, &n->n_attribute, a);
    return a;
}

void mb_attr_int(mb_model *m, Onnx__NodeProto *n, const char *name, int64_t v) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
    a->has_i = 1;
    a->i = v;
}

void mb_attr_float(mb_model *m, Onnx__NodeProto *n, const char *name, float v) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
    a->has_f = 1;
    a->f = v;
}

void mb_attr_string(mb_model *m, Onnx__NodeProto *n, const char *name, const char *v) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
    a->has_s = 1;
    a->s.data = (uint8_t *)mb_str(m, v);
    a->s.len = strlen(v);
}

void mb_attr_ints(mb_model *m, Onnx__NodeProto *n, const char *name, size_t count, const int64_t *v) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
    a->ints = mb_alloc(m, count * sizeof *v);
    if (count) memcpy(a->ints, v, count * sizeof *v);
    a->n_ints = count;
}

void mb_attr_floats(mb_model *m, Onnx__NodeProto *n, const char *name, size_t count, const float *v) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
    a->floats = mb_alloc(m, count * sizeof *v);
    if (count) memcpy(a->floats, v, count * sizeof *v);
    a->n_floats = count;
}

void mb_attr_tensor(mb_model *m, Onnx__NodeProto *n, const char *name, Onnx__TensorProto *t) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
    a->t = t;
}

void mb_attr_ref(mb_model *m, Onnx__NodeProto *n, const char *name, const char *ref_name, int type) {
    Onnx__AttributeProto *a = mb_attr(m, n, name, type);
    a->ref_attr_name = mb_str(m, ref_name);
}

Onnx__TensorProto *mb_tensor(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims,
                             const void *data, size_t bytes) {
    Onnx__TensorProto *t = mb_alloc(m, sizeof *t);
    onnx__tensor_proto__init(t);
    t->name = mb_str(m, name);
    t->has_data_type = 1;
    t->data_type = dtype;
    t->dims = mb_alloc(m, (size_t)(rank > 0 ? rank : 0) * sizeof *dims);
    for (int d = 0; d < rank; d++) t->dims[d] = dims[d];
    t->n_dims = (size_t)(rank > 0 ? rank : 0);
    t->has_raw_data = 1;
    t->raw_data.data = mb_alloc(m, bytes);
    if (bytes) memcpy(t->raw_data.data, data, bytes);
    t->raw_data.len = bytes;
    return t;
}

Onnx__TensorProto *mb_init(mb_model *m, const char *name, int32_t dtype, int rank, const int64_t *dims,
                           const void *data, size_t bytes) {
    Onnx__TensorProto *t = mb_tensor(m, name, dtype, rank, dims, data, bytes);
    mb_append_ptr(m, &m->graph.initializer, &m->graph.n_initializer, t);
    return t;
}

Onnx__TensorProto *mb_init_float(mb_model *m, const char *name, int rank, const int64_t *dims, const float *values) {
    size_t count = 1;
    for (int d = 0; d < rank; d++) count *= (size_t)dims[d];
    return mb_init(m, name, 1 /* FLOAT */, rank, dims, values, count * sizeof(float));
}

static Onnx__StringStringEntryProto *mb_entry(mb_model *m, const char *key, const char *value) {
    Onnx__StringStringEntryProto *e = mb_alloc(m, sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = mb_str(m, key);
    e->value = mb_str(m, value);
    return e;
}

void mb_external(mb_model *m, Onnx__TensorProto *t, const char *location, const char *offset, const char *length) {
    t->has_raw_data = 0;
    t->raw_data.data = NULL;
    t->raw_data.len = 0;
    t->has_data_location = 1;
    t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    if (location) mb_append_ptr(m, &t->external_data, &t->n_external_data, mb_entry(m, "location", location));
    if (offset) mb_append_ptr(m, &t->external_data, &t->n_external_data, mb_entry(m, "offset", offset));
    if (length) mb_append_ptr(m, &t->external_data, &t->n_external_data, mb_entry(m, "length", length));
}

Onnx__FunctionProto *mb_function(mb_model *m, const char *domain, const char *name, const char *inputs,
                                 const char *outputs, const char *attrs) {
    Onnx__FunctionProto *f = mb_alloc(m, sizeof *f);
    onnx__function_proto__init(f);
    f->domain = mb_str(m, domain);
    f->name = mb_str(m, name);
    mb_split(m, inputs, &f->input, &f->n_input);
    mb_split(m, outputs, &f->output, &f->n_output);
    mb_split(m, attrs, &f->attribute, &f->n_attribute);
    if (m->onnx_opset > 0)
        mb_append_ptr(m, &f->opset_import, &f->n_opset_import, mb_opset_proto(m, "", m->onnx_opset));
    mb_append_ptr(m, &m->model.functions, &m->model.n_functions, f);
    return f;
}

Onnx__NodeProto *mb_fn_node(mb_model *m, Onnx__FunctionProto *f, const char *op, const char *name,
                            const char *inputs, const char *outputs) {
    Onnx__NodeProto *n = mb_new_node(m, op, name, inputs, outputs);
    mb_append_ptr(m, &f->node, &f->n_node, n);
    return n;
}

uint8_t *mb_pack(mb_model *m, size_t *size) {
    size_t n = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) abort();
    size_t w = onnx__model_proto__pack(&m->model, buf);
    if (w != n) abort();
    *size = n;
    return buf;
}

bool mb_save(mb_model *m, const char *path) {
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    bool ok = mb_write_file(path, buf, n);
    free(buf);
    return ok;
}

/* ---- file helpers ---- */

char *mb_slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    size_t cap = 4096, len = 0, n;
    char *buf = malloc(cap);
    if (!buf) abort();
    while (f && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap && !(buf = realloc(buf, cap *= 2))) abort();
    }
    if (f) fclose(f);
    buf[len] = '\0';
    return buf;
}

mb_result mb_run(const char *bin, const char *dir, const char *const *env, const char *const *args) {
    mb_result r = {.status = -1};
    char *out_path = mb_path(dir, "stdout.txt"), *err_path = mb_path(dir, "stderr.txt");
    size_t n = 0;
    while (args[n]) n++;
    const char **argv = calloc(n + 2, sizeof *argv);
    if (!argv) abort();
    argv[0] = bin;
    memcpy(argv + 1, args, n * sizeof *argv);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600), fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0) _exit(126);
        for (size_t i = 0; env && env[i]; i++) {
            const char *eq = strchr(env[i], '=');
            if (eq && !eq[1]) {
                char name[256];
                snprintf(name, sizeof name, "%.*s", (int)(eq - env[i]), env[i]);
                unsetenv(name);
            } else if (putenv((char *)env[i]) != 0) {
                _exit(125);
            }
        }
        dup2(fo, 1);
        dup2(fe, 2);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    int ws = 0;
    if (pid > 0 && waitpid(pid, &ws, 0) == pid)
        r.status = WIFEXITED(ws) ? WEXITSTATUS(ws) : WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : -1;
    r.out = mb_slurp(out_path);
    r.err = mb_slurp(err_path);
    free(argv);
    free(out_path);
    free(err_path);
    return r;
}

void mb_result_free(mb_result *r) {
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

char *mb_tempdir(void) {
    const char *tmp = getenv("TMPDIR");
    char *tmpl = NULL;
    if (asprintf(&tmpl, "%s/prism_unit_XXXXXX", tmp && *tmp ? tmp : "/tmp") < 0) abort();
    if (!mkdtemp(tmpl)) abort();
    return tmpl;
}

static int mb_rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

void mb_rmtree(const char *path) {
    if (path) nftw(path, mb_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

bool mb_write_file(const char *path, const void *data, size_t size) {
    FILE *f = fopen(path, "wb");
    if (!f) return false;
    bool ok = fwrite(data, 1, size, f) == size;
    return fclose(f) == 0 && ok;
}

char *mb_path(const char *dir, const char *name) {
    char *p = NULL;
    if (asprintf(&p, "%s/%s", dir, name) < 0) abort();
    return p;
}

/* ---- prism helpers ---- */

prism_status mb_load(mb_model *m, prism_model **out) {
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    prism_status st = prism_model_load_memory(buf, n, NULL, out);
    free(buf);
    return st;
}

prism_status mb_session(prism_env *env, mb_model *m, prism_session **out) {
    size_t n;
    uint8_t *buf = mb_pack(m, &n);
    prism_status st = prism_session_create_from_memory(env, buf, n, NULL, out);
    free(buf);
    return st;
}

prism_tensor *mb_float_tensor(int rank, const int64_t *dims, const float *values) {
    prism_tensor *t;
    if (prism_tensor_create(PRISM_DTYPE_FLOAT, dims, (size_t)rank, &t) != PRISM_OK) abort();
    size_t bytes = prism_tensor_byte_size(t);
    if (bytes) memcpy(prism_tensor_data(t), values, bytes);
    return t;
}

void mb_check_fail(const char *file, int line, const char *call, prism_status status, prism_status expect,
                   const char *const *needles) {
    const char *msg = prism_last_error_message();
    char cond[512];
    bool ok = status == expect;
    if (!ok) {
        fprintf(stderr, "\n%s:%d: %s returned %s, expected %s; message: %s\n", file, line, call,
                prism_status_name(status), prism_status_name(expect), msg);
        snprintf(cond, sizeof cond, "%s == %s", call, prism_status_name(expect));
        CU_assertImplementation(CU_FALSE, (unsigned)line, cond, file, "", CU_FALSE);
        return;
    }
    for (const char *const *n = needles; *n; n++) {
        if (strstr(msg, *n)) continue;
        fprintf(stderr, "\n%s:%d: %s: message lacks \"%s\": %s\n", file, line, call, *n, msg);
        snprintf(cond, sizeof cond, "message of %s contains \"%s\"", call, *n);
        CU_assertImplementation(CU_FALSE, (unsigned)line, cond, file, "", CU_FALSE);
        ok = false;
    }
    if (ok) CU_assertImplementation(CU_TRUE, (unsigned)line, call, file, "", CU_FALSE);
}

void mb_check_contains(const char *file, int line, const char *what, const char *text, const char *needle) {
    bool ok = text && strstr(text, needle);
    if (!ok) fprintf(stderr, "\n%s:%d: %s lacks \"%s\": %s\n", file, line, what, needle, text ? text : "(null)");
    char cond[512];
    snprintf(cond, sizeof cond, "%s contains \"%s\"", what, needle);
    CU_assertImplementation(ok ? CU_TRUE : CU_FALSE, (unsigned)line, cond, file, "", CU_FALSE);
}

const int64_t MB_D23[2] = {2, 3};
const float MB_W_VALUES[6] = {1, -2, 3, -4, 5, -6};
const float MB_X_VALUES[6] = {0.5f, 0.5f, -4, 4.5f, -6, 7};
const float MB_S_VALUES[6] = {1.5f, -1.5f, -1, 0.5f, -1, 1}; /* X + W */
const float MB_Y_VALUES[6] = {1.5f, 0, 0, 0.5f, 0, 1};       /* Relu(X + W) */

mb_model *mb_add_relu_model(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, MB_D23);
    mb_init_float(m, "W", 2, MB_D23, MB_W_VALUES);
    mb_node(m, "Add", "add0", "X,W", "S");
    mb_node(m, "Relu", "relu0", "S", "Y");
    return m;
}
