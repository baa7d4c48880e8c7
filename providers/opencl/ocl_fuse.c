/*
 * ocl_fuse.c — folding an activation (Relu, Clip, LeakyRelu) into the
 * Conv/Gemm/MatMul that produces its only input, so the activation costs no
 * launch and no pass over memory. At capability time the pair is given one
 * group id, so the partitioner keeps both on this device in one unit; at
 * compile the producer writes straight into the activation's output slot
 * and the activation node is skipped.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

static bool const_scalar(const ocl_node *n, uint32_t k, float *out) {
    ocl_tensor t;
    if (!ocl_node_input_constant(n, k, &t) || t.count != 1 || t.dtype != PRISM_DTYPE_FLOAT) return false;
    memcpy(out, t.host, sizeof *out);
    return true;
}

/* Which foldable activation node a is. */
static bool activation_of(const ocl_node *a, ocl_activation *act) {
    memset(act, 0, sizeof *act);
    if (!a->op || a->n_out != 1) return false;
    if (!strcmp(a->op, "Relu")) {
        act->kind = OCL_ACT_RELU;
        return true;
    }
    if (!strcmp(a->op, "LeakyRelu")) {
        act->kind = OCL_ACT_LEAKY_RELU;
        act->alpha = ocl_attr_float(a, "alpha", 0.01f);
        return true;
    }
    if (!strcmp(a->op, "Clip")) {
        act->kind = OCL_ACT_CLIP;
        act->lo = -INFINITY;
        act->hi = INFINITY;
        if (a->opset < 11) {
            const float dflt = a->opset >= 6 ? FLT_MAX : INFINITY;
            act->lo = ocl_attr_float(a, "min", -dflt);
            act->hi = ocl_attr_float(a, "max", dflt);
            return true;
        }
        if (ocl_node_has_input(a, 1) && !const_scalar(a, 1, &act->lo)) return false;
        if (ocl_node_has_input(a, 2) && !const_scalar(a, 2, &act->hi)) return false;
        return !isnan(act->lo) && !isnan(act->hi);
    }
    return false;
}

static bool producer_op(const char *op) {
    return op && (!strcmp(op, "Conv") || !strcmp(op, "Gemm") || !strcmp(op, "MatMul"));
}

void ocl_fuse_activations(prism_compiled *c) {
    for (size_t i = 0; i < c->n_nodes; i++) {
        ocl_node *p = &c->nodes[i];
        if (p->fused || !p->def->fuses_activation || p->n_out < 1) continue;
        if (ocl_node_output_dtype(p, 0) != PRISM_DTYPE_FLOAT) continue;
        uint32_t s = p->out_slot[0];
        const ocl_slot *sl = &c->slots[s];
        if (sl->kind != OCL_SLOT_INTERNAL || sl->reads != 1) continue;
        for (size_t j = i + 1; j < c->n_nodes; j++) {
            ocl_node *a = &c->nodes[j];
            bool reads = false;
            for (uint32_t k = 0; k < a->n_in; k++) reads |= a->in_slot[k] == s;
            if (!reads) continue;
            ocl_activation act;
            if (a->in_slot[0] == s && activation_of(a, &act)) {
                p->act = act;
                p->out_slot[0] = a->out_slot[0];
                a->fused = true;
            }
            break;
        }
    }
}

void ocl_fuse_groups(prism_instance *inst, const prism_graph_view *g, const uint8_t *supported, uint32_t *group) {
    const prism_host_api *h = inst->prov->host;
    uint32_t nn = h->graph_node_count(g), nv = h->graph_value_count(g);
    for (uint32_t i = 0; i < nn; i++) group[i] = 0;
    /* readers[v]: how many node inputs read v; reader[v]: the last one. */
    uint32_t *readers = calloc((size_t)nv + 1, sizeof *readers), *reader = calloc((size_t)nv + 1, sizeof *reader);
    if (!readers || !reader) {
        free(readers);
        free(reader);
        return; /* grouping is only a hint */
    }
    for (uint32_t i = 0; i < nn; i++)
        for (uint32_t k = 0; k < h->node_input_count(g, i); k++) {
            uint32_t v = h->node_input(g, i, k);
            if (v < nv) {
                readers[v]++;
                reader[v] = i;
            }
        }
    for (uint32_t k = 0; k < h->graph_output_count(g); k++) {
        uint32_t v = h->graph_output(g, k);
        if (v < nv) readers[v] += 2; /* a graph output must stay materialised */
    }
    for (uint32_t i = 0; i < nn; i++) {
        if (!supported[i] || !producer_op(h->node_op_type(g, i)) || h->node_output_count(g, i) < 1) continue;
        uint32_t v = h->node_output(g, i, 0);
        if (v >= nv || readers[v] != 1) continue;
        uint32_t a = reader[v];
        if (!supported[a] || h->node_input(g, a, 0) != v) continue;
        ocl_node an;
        ocl_activation act;
        ocl_node_bind(&an, inst, g, a);
        if (!activation_of(&an, &act)) continue;
        group[i] = group[a] = i + 1;
    }
    free(readers);
    free(reader);
}
