/*
 * cpu_cost.c — the CPU provider's per-node time estimates for the latency
 * policy. Rough by design: contractions (Conv, Gemm, MatMul) at the GEMM
 * rate measured on this class of machine (about 60 GFLOP/s per core with
 * good OpenBLAS kernels, less when spread over threads), everything else
 * at memory bandwidth, plus a small dispatch cost. What matters to the
 * partitioner is the order of magnitude next to the cost of a copy.
 */
#include "cpu_internal.h"
#include "pv_cost.h"

double cpu_node_cost(const prism_instance *inst, const prism_graph_view *g, uint32_t node) {
    double flops, bytes;
    pv_node_work(inst->prov->host, g, node, &flops, &bytes);
    double threads = inst->threads > 0 ? inst->threads : 1;
    double gemm_rate = 60e9 * (1 + 0.8 * (threads - 1));
    return 1e-6 + flops / gemm_rate + bytes / 10e9;
}
