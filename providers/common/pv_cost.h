/*
 * pv_cost.h — the work of a node as the providers' latency estimates count
 * it: elements of the values it touches, and floating-point operations of
 * the contractions. Each provider turns this work into seconds with its own
 * rates; keeping the counting in one place keeps the estimates of different
 * providers comparable.
 *
 * Ownership: nothing is allocated or kept. Threading: read-only calls on the
 * host's graph view. Errors: none; unknown shapes give the documented
 * defaults.
 */
#ifndef PRISM_PV_COST_H
#define PRISM_PV_COST_H

#include <stdint.h>

#include "prism/provider.h"

/* Elements of value v: 0 for PRISM_NO_VALUE, dflt when its rank or any dim
 * is unknown. */
double pv_value_elems(const prism_host_api *host, const prism_graph_view *g, uint32_t value, double dflt);

/* The node's work: *bytes = 4 bytes per element of every input and output
 * (an unknown shape counts 4096 elements); *flops = 2 x output elements x
 * the reduction length for Conv (weight elements per output channel),
 * MatMul and Gemm (A's last dim, its first with transA on a 2-D A), else 0. */
void pv_node_work(const prism_host_api *host, const prism_graph_view *g, uint32_t node, double *flops,
                  double *bytes);

#endif
