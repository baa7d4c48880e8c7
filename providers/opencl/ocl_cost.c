/*
 * ocl_cost.c — per-node time estimates for the latency policy. Rough by
 * design: contractions (Conv, Gemm, MatMul) at a throughput guessed from
 * the device (compute units x clock-free per-unit rate: about 8 GFLOP/s per
 * CPU compute unit, 40 per GPU compute unit), everything else at a memory
 * rate, plus a launch overhead per node. The partitioner needs the order of
 * magnitude next to the cost of a copy, not a prediction.
 */
#include <string.h>

#include "ocl_internal.h"

static double value_elems(const prism_host_api *h, const prism_graph_view *g, uint32_t v, double dflt) {
    if (v == PRISM_NO_VALUE) return 0;
    int32_t rank = h->value_rank(g, v);
    if (rank < 0) return dflt;
    double n = 1;
    for (int32_t d = 0; d < rank; d++) {
        int64_t x = h->value_dim(g, v, (uint32_t)d);
        if (x < 0) return dflt;
        n *= (double)x;
    }
    return n;
}

double ocl_node_cost(const prism_instance *inst, const prism_graph_view *g, uint32_t node) {
    const prism_host_api *h = inst->prov->host;
    const ocl_device *d = inst->dev;
    const char *op = h->node_op_type(g, node);
    uint32_t nin = h->node_input_count(g, node), nout = h->node_output_count(g, node);
    double bytes = 0, out_elems = 0;
    for (uint32_t k = 0; k < nin; k++) bytes += 4 * value_elems(h, g, h->node_input(g, node, k), 4096);
    for (uint32_t k = 0; k < nout; k++) {
        double e = value_elems(h, g, h->node_output(g, node, k), 4096);
        out_elems += e;
        bytes += 4 * e;
    }
    double flops = 0;
    if (op && nin >= 2 && nout >= 1) {
        uint32_t a = h->node_input(g, node, 0), w = h->node_input(g, node, 1);
        if (!strcmp(op, "Conv") && w != PRISM_NO_VALUE && h->value_rank(g, w) >= 3) {
            double per = value_elems(h, g, w, -1);
            int64_t m = h->value_dim(g, w, 0);
            if (per > 0 && m > 0) flops = 2 * out_elems * per / (double)m;
        } else if ((!strcmp(op, "MatMul") || !strcmp(op, "Gemm")) && a != PRISM_NO_VALUE && h->value_rank(g, a) >= 1) {
            int32_t ra = h->value_rank(g, a);
            int64_t k = h->value_dim(g, a, (uint32_t)(ra - 1));
            int32_t ta = h->node_attr_find(g, node, "transA");
            if (ta >= 0 && h->attr_int(g, node, (uint32_t)ta) && ra == 2) k = h->value_dim(g, a, 0);
            if (k > 0) flops = 2 * out_elems * (double)k;
        }
    }
    double units = d->compute_units ? d->compute_units : 1;
    bool gpu = d->type == PRISM_DEVICE_GPU || d->type == PRISM_DEVICE_ACCELERATOR;
    double rate = units * (gpu ? 40e9 : 8e9);
    double bandwidth = gpu ? 100e9 : 8e9;
    double launch = gpu ? 10e-6 : 20e-6;
    return launch + flops / rate + bytes / bandwidth;
}
