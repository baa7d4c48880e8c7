/* pv_cost.c — one count of a node's bytes and FLOPs for every provider's
 * latency estimate, so the partitioner compares like with like. */
#include <string.h>

#include "pv_cost.h"

double pv_value_elems(const prism_host_api *host, const prism_graph_view *g, uint32_t value, double dflt) {
    if (value == PRISM_NO_VALUE) return 0;
    int32_t rank = host->value_rank(g, value);
    if (rank < 0) return dflt;
    double n = 1;
    for (int32_t d = 0; d < rank; d++) {
        int64_t x = host->value_dim(g, value, (uint32_t)d);
        if (x < 0) return dflt;
        n *= (double)x;
    }
    return n;
}

/* 2 x out_elems x the contraction length of a Conv, MatMul or Gemm node. */
static double contraction_flops(const prism_host_api *h, const prism_graph_view *g, uint32_t node, const char *op,
                                double out_elems) {
    uint32_t a = h->node_input(g, node, 0), w = h->node_input(g, node, 1);
    if (!strcmp(op, "Conv") && w != PRISM_NO_VALUE && h->value_rank(g, w) >= 3) {
        double per = pv_value_elems(h, g, w, -1);
        int64_t m = h->value_dim(g, w, 0);
        return per > 0 && m > 0 ? 2 * out_elems * per / (double)m : 0;
    }
    if ((!strcmp(op, "MatMul") || !strcmp(op, "Gemm")) && a != PRISM_NO_VALUE && h->value_rank(g, a) >= 1) {
        int32_t ra = h->value_rank(g, a);
        int64_t k = h->value_dim(g, a, (uint32_t)(ra - 1));
        int32_t ta = h->node_attr_find(g, node, "transA");
        if (ta >= 0 && h->attr_int(g, node, (uint32_t)ta) && ra == 2) k = h->value_dim(g, a, 0);
        return k > 0 ? 2 * out_elems * (double)k : 0;
    }
    return 0;
}

void pv_node_work(const prism_host_api *host, const prism_graph_view *g, uint32_t node, double *flops,
                  double *bytes) {
    const char *op = host->node_op_type(g, node);
    uint32_t nin = host->node_input_count(g, node), nout = host->node_output_count(g, node);
    double b = 0, out_elems = 0;
    for (uint32_t k = 0; k < nin; k++) b += 4 * pv_value_elems(host, g, host->node_input(g, node, k), 4096);
    for (uint32_t k = 0; k < nout; k++) {
        double e = pv_value_elems(host, g, host->node_output(g, node, k), 4096);
        out_elems += e;
        b += 4 * e;
    }
    *flops = op && nin >= 2 && nout >= 1 ? contraction_flops(host, g, node, op, out_elems) : 0;
    *bytes = b;
}
