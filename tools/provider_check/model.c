/*
 * model.c — serialize a case as a single-node ONNX model.
 *
 * The model is assembled from the protobuf-c structs generated from
 * onnx.proto (the same generated code the core loads models with) and
 * packed into bytes that prism_session_create_from_memory reads. A case is
 * bounded (PC_MAX_* in check.h), so every struct lives in one zeroed block
 * with fixed arrays: nothing to free but the block, no partial state on
 * failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "onnx.pb-c.h"

#define N_VI (2 * PC_MAX_IO)

typedef struct parts {
    Onnx__ModelProto model;
    Onnx__GraphProto graph;
    Onnx__OperatorSetIdProto opset;
    Onnx__OperatorSetIdProto *opset_ptr;
    Onnx__NodeProto node;
    Onnx__NodeProto *node_ptr;
    char op[PC_MAX_NAME], node_name[8], graph_name[8], producer[32], empty[1];
    /* value names, shared by the node, the value infos and the initializers */
    char in_names[PC_MAX_IO][PC_MAX_NAME], out_names[PC_MAX_IO][PC_MAX_NAME];
    char *node_inputs[PC_MAX_IO], *node_outputs[PC_MAX_IO];
    Onnx__AttributeProto attrs[PC_MAX_ATTRS];
    Onnx__AttributeProto *attr_ptrs[PC_MAX_ATTRS];
    char attr_names[PC_MAX_ATTRS][PC_MAX_NAME], attr_strings[PC_MAX_ATTRS][PC_MAX_NAME];
    int64_t attr_ints[PC_MAX_ATTRS][PC_MAX_LIST];
    float attr_floats[PC_MAX_ATTRS][PC_MAX_LIST];
    /* value infos: graph inputs first, then graph outputs */
    Onnx__ValueInfoProto vi[N_VI];
    Onnx__ValueInfoProto *input_ptrs[PC_MAX_IO], *output_ptrs[PC_MAX_IO];
    Onnx__TypeProto types[N_VI];
    Onnx__TypeProto__Tensor tensor_types[N_VI];
    Onnx__TensorShapeProto shapes[N_VI];
    Onnx__TensorShapeProto__Dimension dims[N_VI][PC_MAX_RANK];
    Onnx__TensorShapeProto__Dimension *dim_ptrs[N_VI][PC_MAX_RANK];
    char dim_params[N_VI][PC_MAX_RANK][PC_MAX_NAME + 16];
    Onnx__TensorProto inits[PC_MAX_IO];
    Onnx__TensorProto *init_ptrs[PC_MAX_IO];
    int64_t init_dims[PC_MAX_IO][PC_MAX_RANK];
} parts;

/* Copy a spec's NUL-terminated name (shorter than PC_MAX_NAME by parsing). */
static char *name_copy(char dst[PC_MAX_NAME], const char *src) {
    snprintf(dst, PC_MAX_NAME, "%s", src);
    return dst;
}

/* Value info k of the graph for spec s; dynamic specs get symbolic dims
 * named after the value, so they are unrelated to every other dim. */
static Onnx__ValueInfoProto *value_info(parts *m, size_t k, const pc_tensor_spec *s, char *name) {
    Onnx__ValueInfoProto *vi = &m->vi[k];
    onnx__value_info_proto__init(vi);
    vi->name = name;
    Onnx__TypeProto *tp = &m->types[k];
    onnx__type_proto__init(tp);
    Onnx__TypeProto__Tensor *tt = &m->tensor_types[k];
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = 1;
    tt->elem_type = (int32_t)s->dtype;
    if (s->rank >= 0) {
        Onnx__TensorShapeProto *sh = &m->shapes[k];
        onnx__tensor_shape_proto__init(sh);
        for (int d = 0; d < s->rank; d++) {
            Onnx__TensorShapeProto__Dimension *dim = &m->dims[k][d];
            onnx__tensor_shape_proto__dimension__init(dim);
            if (s->dynamic) {
                snprintf(m->dim_params[k][d], sizeof m->dim_params[k][d], "%s_d%d", s->name, d);
                dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                dim->dim_param = m->dim_params[k][d];
            } else {
                dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                dim->dim_value = s->dims[d];
            }
            m->dim_ptrs[k][d] = dim;
        }
        sh->n_dim = (size_t)s->rank;
        sh->dim = m->dim_ptrs[k];
        tt->shape = sh;
    }
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    vi->type = tp;
    return vi;
}

static void attribute(parts *m, size_t k, const pc_attr *a) {
    Onnx__AttributeProto *p = &m->attrs[k];
    onnx__attribute_proto__init(p);
    p->name = name_copy(m->attr_names[k], a->name);
    p->has_type = 1;
    switch (a->kind) {
    case PC_ATTR_INT:
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
        p->has_i = 1;
        p->i = a->i;
        break;
    case PC_ATTR_FLOAT:
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
        p->has_f = 1;
        p->f = a->f;
        break;
    case PC_ATTR_STRING:
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
        p->has_s = 1;
        p->s.data = (uint8_t *)name_copy(m->attr_strings[k], a->s);
        p->s.len = strlen(a->s);
        break;
    case PC_ATTR_INTS:
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
        memcpy(m->attr_ints[k], a->ints, a->n * sizeof *a->ints);
        p->n_ints = a->n;
        p->ints = m->attr_ints[k];
        break;
    case PC_ATTR_FLOATS:
        p->type = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
        memcpy(m->attr_floats[k], a->floats, a->n * sizeof *a->floats);
        p->n_floats = a->n;
        p->floats = m->attr_floats[k];
        break;
    }
    m->attr_ptrs[k] = p;
}

static void initializer(parts *m, size_t k, const pc_tensor_spec *s, char *name, void *data, size_t bytes) {
    Onnx__TensorProto *t = &m->inits[k];
    onnx__tensor_proto__init(t);
    t->name = name;
    t->has_data_type = 1;
    t->data_type = (int32_t)s->dtype;
    memcpy(m->init_dims[k], s->dims, (size_t)s->rank * sizeof *s->dims);
    t->n_dims = (size_t)s->rank;
    t->dims = m->init_dims[k];
    t->has_raw_data = 1;
    t->raw_data.data = data; /* read only by the packer */
    t->raw_data.len = bytes;
    m->init_ptrs[k] = t;
}

/* IR version that admits the opset (IR 8: opsets to 18, 9: 19-20, 10: 21+). */
static int64_t ir_version_for(int opset) { return opset <= 18 ? 8 : opset <= 20 ? 9 : 10; }

uint8_t *pc_build_model(const pc_case *c, const pc_parsed *p, void *const *data, const size_t *bytes,
                        size_t *out_size, char *msg, size_t msg_size) {
    parts *m = calloc(1, sizeof *m);
    if (!m) {
        snprintf(msg, msg_size, "out of memory building the model");
        return NULL;
    }
    onnx__model_proto__init(&m->model);
    onnx__graph_proto__init(&m->graph);
    m->model.has_ir_version = 1;
    m->model.ir_version = ir_version_for(p->opset);
    snprintf(m->producer, sizeof m->producer, "prism-provider-check");
    m->model.producer_name = m->producer;
    onnx__operator_set_id_proto__init(&m->opset);
    m->opset.domain = m->empty;
    m->opset.has_version = 1;
    m->opset.version = p->opset;
    m->opset_ptr = &m->opset;
    m->model.n_opset_import = 1;
    m->model.opset_import = &m->opset_ptr;
    m->model.graph = &m->graph;
    snprintf(m->graph_name, sizeof m->graph_name, "check");
    m->graph.name = m->graph_name;

    onnx__node_proto__init(&m->node);
    m->node.op_type = name_copy(m->op, c->op);
    snprintf(m->node_name, sizeof m->node_name, "n0");
    m->node.name = m->node_name;
    size_t n_vi = 0, n_inits = 0;
    for (size_t i = 0; i < p->n_inputs; i++) {
        const pc_tensor_spec *s = &p->inputs[i];
        m->node_inputs[i] = s->omitted ? m->empty : name_copy(m->in_names[i], s->name);
        if (s->omitted) continue;
        if (s->constant) initializer(m, n_inits++, s, m->in_names[i], data[i], bytes[i]);
        else m->input_ptrs[m->graph.n_input++] = value_info(m, n_vi++, s, m->in_names[i]);
    }
    m->node.n_input = p->n_inputs;
    m->node.input = m->node_inputs;
    for (size_t k = 0; k < p->n_outputs; k++) {
        m->node_outputs[k] = name_copy(m->out_names[k], p->outputs[k].name);
        m->output_ptrs[k] = value_info(m, n_vi++, &p->outputs[k], m->out_names[k]);
    }
    m->node.n_output = p->n_outputs;
    m->node.output = m->node_outputs;
    for (size_t k = 0; k < p->n_attrs; k++) attribute(m, k, &p->attrs[k]);
    m->node.n_attribute = p->n_attrs;
    m->node.attribute = m->attr_ptrs;
    m->node_ptr = &m->node;
    m->graph.n_node = 1;
    m->graph.node = &m->node_ptr;
    m->graph.input = m->input_ptrs;
    m->graph.n_output = p->n_outputs;
    m->graph.output = m->output_ptrs;
    m->graph.n_initializer = n_inits;
    m->graph.initializer = m->init_ptrs;

    size_t size = onnx__model_proto__get_packed_size(&m->model);
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        snprintf(msg, msg_size, "out of memory serializing the model");
    } else if (onnx__model_proto__pack(&m->model, buf) != size) {
        snprintf(msg, msg_size, "the model did not serialize to its computed size");
        free(buf);
        buf = NULL;
    } else {
        *out_size = size;
    }
    free(m);
    return buf;
}
