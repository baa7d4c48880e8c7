/*
 * cpu_fuse.c — folding an activation into the node that produces its input
 * (Conv -> Relu, Conv -> Clip, ...). The producer's kernel applies it to its
 * output while the values are in cache; the activation node is skipped and
 * the producer writes straight into the activation's output slot, so one
 * buffer and one pass over memory disappear per pair.
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "cpu_internal.h"

const cpu_activation *cpu_node_activation(const cpu_node *node) {
    return node->act.kind == CPU_ACT_NONE ? NULL : &node->act;
}

void cpu_activation_apply(const cpu_activation *act, float *y, int64_t n) {
    if (!act) return;
    switch (act->kind) {
    case CPU_ACT_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? 0.0f : y[i]; /* as the Relu kernel: NaN stays */
        break;
    case CPU_ACT_CLIP: {
        const float lo = act->lo, hi = act->hi;
        for (int64_t i = 0; i < n; i++) {
            float v = y[i];
            v = v < lo ? lo : v;
            y[i] = v > hi ? hi : v;
        }
        break;
    }
    case CPU_ACT_LEAKY_RELU:
        for (int64_t i = 0; i < n; i++) y[i] = y[i] < 0.0f ? act->alpha * y[i] : y[i];
        break;
    default:
        break;
    }
}

/* A scalar float constant input k of node n, if it is one. */
static bool const_scalar(const cpu_node *n, uint32_t k, float *out) {
    cpu_tensor t;
    if (!cpu_node_input_constant(n, k, &t) || t.count != 1 || t.dtype != PRISM_DTYPE_FLOAT) return false;
    *out = *(const float *)t.data;
    return true;
}

/* Which activation node a is, if it is one we can fold. */
static bool activation_of(const cpu_node *a, cpu_activation *act) {
    memset(act, 0, sizeof *act);
    if (!strcmp(a->op, "Relu")) {
        act->kind = CPU_ACT_RELU;
        return true;
    }
    if (!strcmp(a->op, "LeakyRelu")) {
        act->kind = CPU_ACT_LEAKY_RELU;
        act->alpha = cpu_attr_float(a, "alpha", 0.01f);
        return true;
    }
    if (!strcmp(a->op, "Clip")) {
        act->kind = CPU_ACT_CLIP;
        act->lo = -INFINITY;
        act->hi = INFINITY;
        if (a->opset < 11) { /* attributes; Clip-6 defaults them to -+FLT_MAX, Clip-1 to unbounded */
            const float dflt = a->opset >= 6 ? FLT_MAX : INFINITY;
            act->lo = cpu_attr_float(a, "min", -dflt);
            act->hi = cpu_attr_float(a, "max", dflt);
            return true;
        }
        /* Bounds must be constants to be known now; NaN bounds are left to
         * the Clip kernel's own rules. */
        if (cpu_node_has_input(a, 1) && !const_scalar(a, 1, &act->lo)) return false;
        if (cpu_node_has_input(a, 2) && !const_scalar(a, 2, &act->hi)) return false;
        return !isnan(act->lo) && !isnan(act->hi);
    }
    return false;
}

void cpu_fuse_activations(prism_compiled *c) {
    for (size_t i = 0; i < c->n_nodes; i++) {
        cpu_node *p = &c->nodes[i];
        if (p->fused || !p->def->fuses_activation || p->n_out < 1) continue;
        if (cpu_node_input_dtype(p, 0) != PRISM_DTYPE_FLOAT) continue;
        uint32_t s = p->out_slot[0];
        const cpu_slot *sl = &c->slots[s];
        /* The value must live only between the two nodes. */
        if (sl->kind != CPU_SLOT_INTERNAL || sl->reads != 1) continue;
        for (size_t j = i + 1; j < c->n_nodes; j++) {
            cpu_node *a = &c->nodes[j];
            if (a->n_in < 1 || a->in_slot[0] != s) continue;
            cpu_activation act;
            if (a->n_out == 1 && activation_of(a, &act)) {
                p->act = act;
                p->out_slot[0] = a->out_slot[0];
                a->fused = true;
            }
            break;
        }
    }
}
