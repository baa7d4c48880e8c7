/*
 * ocl_cost.c — per-node time estimates for the latency policy. Rough by
 * design: contractions (Conv, Gemm, MatMul) at a throughput guessed from
 * the device (compute units x clock-free per-unit rate: about 8 GFLOP/s per
 * CPU compute unit, 40 per GPU compute unit), everything else at a memory
 * rate, plus a launch overhead per node. The partitioner needs the order of
 * magnitude next to the cost of a copy, not a prediction.
 */
#include "ocl_internal.h"
#include "pv_cost.h"

double ocl_node_cost(const prism_instance *inst, const prism_graph_view *g, uint32_t node) {
    const ocl_device *d = inst->dev;
    double flops, bytes;
    pv_node_work(inst->prov->host, g, node, &flops, &bytes);
    double units = d->compute_units ? d->compute_units : 1;
    bool gpu = d->type == PRISM_DEVICE_GPU || d->type == PRISM_DEVICE_ACCELERATOR;
    double rate = units * (gpu ? 40e9 : 8e9);
    double bandwidth = gpu ? 100e9 : 8e9;
    double launch = gpu ? 10e-6 : 20e-6;
    return launch + flops / rate + bytes / bandwidth;
}
