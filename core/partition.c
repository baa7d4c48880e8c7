/*
 * partition.c — the partitioner: node -> candidate assignment under the
 * session's preferences, then subgraphs, then the copy plan (partition_plan.c).
 *
 * Assignment happens in passes, each one recorded as the node's reason so
 * the report can say why a node runs where it does:
 *   1. initial: affinity, else the policy (first claiming candidate in
 *      preference order, or the cheapest under the latency policy);
 *   2. fusion groups a provider asked for are kept together;
 *   3. latency policy: local search over single units and whole same-device
 *      segments, minimising compute estimates + copy time; other policies:
 *      small computations (shape arithmetic) follow their inputs when that
 *      saves a copy;
 *   4. subgraphs smaller than min_subgraph go to the next preferred
 *      candidate, repeated until stable (nodes only move down the ranking,
 *      so this ends).
 * Everything iterates in index order, so equal inputs give equal plans.
 */
#include "partition.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition_internal.h"

static const char *nlabel(const pr_node *n) { return n->name && *n->name ? n->name : "(unnamed)"; }

int64_t pr_value_static_bytes(const pr_value *v) {
    if (!v->dtype || v->rank < 0 || v->dtype == PRISM_DTYPE_STRING) return -1;
    int64_t count = 1;
    for (int32_t d = 0; d < v->rank; d++) {
        if (v->dims[d] < 0) return -1;
        if (v->dims[d] && count > PR_MAX_ELEMENTS / v->dims[d]) return -1;
        count *= v->dims[d];
    }
    return count * (int64_t)prism_dtype_size((prism_dtype)v->dtype);
}

/* A copy costs a fixed latency (driver call, synchronisation) plus the bytes
 * over a PCIe-class link; unknown sizes count as 64 KiB. */
double pr_copy_seconds(int64_t bytes) { return 20e-6 + (double)(bytes < 0 ? 65536 : bytes) / 10e9; }

static int64_t elems_or(const pr_value *v, int64_t dflt) {
    int64_t b = pr_value_static_bytes(v);
    size_t es = v->dtype ? prism_dtype_size((prism_dtype)v->dtype) : 0;
    return b < 0 || !es ? dflt : b / (int64_t)es;
}

double pr_default_node_seconds(const pr_graph *g, uint32_t node) {
    const pr_node *n = &g->nodes[node];
    double flops = 0, bytes = 0;
    for (uint32_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] != PRISM_NO_VALUE) {
            int64_t e = elems_or(&g->values[n->outputs[k]], 4096);
            flops += (double)e;
            bytes += 4.0 * (double)e;
        }
    for (uint32_t k = 0; k < n->n_inputs; k++)
        if (n->inputs[k] != PRISM_NO_VALUE) bytes += 4.0 * (double)elems_or(&g->values[n->inputs[k]], 4096);
    /* Contractions: 2 * output elements * reduction length. */
    if (n->n_inputs >= 2 && n->inputs[1] != PRISM_NO_VALUE && n->n_outputs && n->outputs[0] != PRISM_NO_VALUE) {
        const pr_value *w = &g->values[n->inputs[1]];
        int64_t out = elems_or(&g->values[n->outputs[0]], 4096);
        if (!strcmp(n->op_type, "Conv") && w->rank >= 3 && w->dims[0] > 0) {
            int64_t per = elems_or(w, -1);
            if (per > 0) flops = 2.0 * (double)out * (double)(per / w->dims[0]);
        } else if ((!strcmp(n->op_type, "MatMul") || !strcmp(n->op_type, "Gemm")) && w->rank >= 2) {
            const pr_value *a = &g->values[n->inputs[0]];
            int64_t kdim = a->rank >= 1 ? a->dims[a->rank - 1] : -1;
            const pr_attr *ta = pr_node_attr(n, "transA");
            if (ta && ta->i && a->rank == 2) kdim = a->dims[0];
            if (kdim > 0) flops = 2.0 * (double)out * (double)kdim;
        }
    }
    return 2e-6 + flops / 20e9 + bytes / 10e9;
}

/* ---- helpers shared by the passes --------------------------------------- */

bool pr_reads_shape_only(const pr_graph *g, uint32_t n, uint32_t v) {
    const pr_node *nd = &g->nodes[n];
    if (*nd->domain || (strcmp(nd->op_type, "Shape") != 0 && strcmp(nd->op_type, "Size") != 0)) return false;
    for (uint32_t k = 1; k < nd->n_inputs; k++)
        if (nd->inputs[k] == v) return false;
    for (uint32_t k = 0; k < nd->n_implicit; k++)
        if (nd->implicit[k] == v) return false;
    return nd->n_inputs >= 1 && nd->inputs[0] == v;
}

/* Mark the memory spaces that need v's data: its readers' (a Shape or
 * Size in host memory needs none) and the host for a graph output. */
static void spaces_reading(pr_ctx *c, uint32_t v) {
    memset(c->seen_space, 0, c->n_spaces);
    if (c->in->g->values[v].is_graph_output) c->seen_space[0] = 1;
    for (uint32_t i = c->cons_off[v]; i < c->cons_off[v + 1]; i++) {
        uint32_t n = c->cons[i];
        int32_t sp = c->in->cands[c->cand[n]].space;
        if (sp == 0 && pr_reads_shape_only(c->in->g, n, v)) continue;
        c->seen_space[sp] = 1;
    }
}

static double node_cost(const pr_ctx *c, uint32_t n, int32_t k) {
    const pr_cand *cd = &c->in->cands[k];
    if (cd->costs && cd->costs[n] >= 0) return cd->costs[n];
    return c->default_cost[n];
}

static bool claims(const pr_ctx *c, int32_t k, uint32_t n) { return c->in->cands[k].claims[n] != 0; }

/* The copies one value implies: one per memory space that reads it other
 * than its own, plus one bounce through host memory when a device-to-device
 * move cannot be direct (shared by all such destinations). */
static double value_cost(pr_ctx *c, uint32_t v) {
    const pr_value *val = &c->in->g->values[v];
    if (val->constant) return 0;
    int32_t home = val->producer >= 0 ? c->in->cands[c->cand[val->producer]].space : 0;
    int32_t home_cand = val->producer >= 0 ? c->cand[val->producer] : -1;
    spaces_reading(c, v);
    double one = pr_copy_seconds(pr_value_static_bytes(val)), t = 0;
    bool bounce = false;
    for (size_t s = 0; s < c->n_spaces; s++) {
        if (!c->seen_space[s] || (int32_t)s == home) continue;
        t += one;
        if (home != 0 && s != 0) {
            const pr_cand *dst = &c->in->cands[c->space_cand[s]];
            bounce |= !(home_cand >= 0 && c->in->cands[home_cand].direct_copy &&
                        c->in->cands[home_cand].provider_id == dst->provider_id);
        }
    }
    return bounce && !c->seen_space[0] ? t + one : t;
}

/* Total estimate: every node's time on its candidate plus its values'
 * copies. */
double pr_plan_cost(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    double t = 0;
    for (size_t n = 0; n < g->n_nodes; n++) t += node_cost(c, (uint32_t)n, c->cand[n]);
    for (size_t v = 0; v < g->n_values; v++) t += value_cost(c, (uint32_t)v);
    return t;
}

/* The part of the estimate that a move of `nodes` can change: their own
 * times and the copies of every value they read or write (each once). */
static double local_cost(pr_ctx *c, const uint32_t *nodes, size_t count) {
    const pr_graph *g = c->in->g;
    if (++c->stamp == 0) {
        memset(c->vstamp, 0, g->n_values * sizeof *c->vstamp);
        c->stamp = 1;
    }
    double t = 0;
    for (size_t i = 0; i < count; i++) {
        const pr_node *nd = &g->nodes[nodes[i]];
        t += node_cost(c, nodes[i], c->cand[nodes[i]]);
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit + nd->n_outputs; k++) {
            uint32_t v = k < nd->n_inputs                  ? nd->inputs[k]
                         : k < nd->n_inputs + nd->n_implicit ? nd->implicit[k - nd->n_inputs]
                                                             : nd->outputs[k - nd->n_inputs - nd->n_implicit];
            if (v == PRISM_NO_VALUE || c->vstamp[v] == c->stamp) continue;
            c->vstamp[v] = c->stamp;
            t += value_cost(c, v);
        }
    }
    return t;
}

/* Number of copies the assignment implies (for the copy-saving rule). */
static size_t copies_of_value(pr_ctx *c, uint32_t v) {
    const pr_value *val = &c->in->g->values[v];
    if (val->constant) return 0;
    int32_t home = val->producer >= 0 ? c->in->cands[c->cand[val->producer]].space : 0;
    spaces_reading(c, v);
    size_t n = 0;
    for (size_t s = 0; s < c->n_spaces; s++) n += c->seen_space[s] && (int32_t)s != home;
    return n;
}

static size_t copies_around(pr_ctx *c, uint32_t node) {
    const pr_node *n = &c->in->g->nodes[node];
    size_t total = 0;
    for (uint32_t k = 0; k < n->n_inputs + n->n_implicit; k++) {
        uint32_t v = k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
        if (v != PRISM_NO_VALUE) total += copies_of_value(c, v);
    }
    for (uint32_t k = 0; k < n->n_outputs; k++)
        if (n->outputs[k] != PRISM_NO_VALUE) total += copies_of_value(c, n->outputs[k]);
    return total;
}

void pr_set_reason(pr_ctx *c, uint32_t n, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *r = pr_strdup(buf);
    if (!r) {
        c->oom = true;
        return;
    }
    free(c->reason[n]);
    c->reason[n] = r;
}

static bool pinned(const pr_ctx *c, uint32_t n) {
    return c->in->affinity && c->in->affinity[n] >= 0 && c->cand[n] == c->in->affinity[n];
}

/* Move every node of unit u (or just u's node when it has no group). */
static bool unit_claims(const pr_ctx *c, uint32_t head, int32_t k) {
    for (uint32_t n = head; n != UINT32_MAX; n = c->unit_next[n])
        if (!claims(c, k, n) || pinned(c, n)) return false;
    return true;
}
static void unit_move(pr_ctx *c, uint32_t head, int32_t k) {
    for (uint32_t n = head; n != UINT32_MAX; n = c->unit_next[n]) c->cand[n] = k;
}

/* ---- pass 1: initial assignment ----------------------------------------- */

static const char *type_name(int32_t t) {
    static const char *const names[] = {"CPU", "GPU", "FPGA", "accelerator", "other"};
    return t >= 0 && t <= 4 ? names[t] : "unknown";
}

static void assign_initial(pr_ctx *c, pr_buf *unsupported, size_t *n_unsupported) {
    const pr_plan_in *in = c->in;
    const pr_graph *g = in->g;
    for (size_t i = 0; i < g->n_nodes; i++) {
        uint32_t n = (uint32_t)i;
        c->cand[n] = -1;
        int32_t aff = in->affinity ? in->affinity[n] : -1;
        if (aff >= 0 && claims(c, aff, n)) {
            c->cand[n] = aff;
            pr_set_reason(c, n, "affinity %s=%s", in->affinity_key[n],
                          in->affinity_target && in->affinity_target[n] ? in->affinity_target[n] : in->cands[aff].provider);
            continue;
        }
        int32_t best = -1;
        double best_cost = 0;
        for (size_t k = 0; k < in->n_cands; k++) {
            if (!claims(c, (int32_t)k, n)) continue;
            if (in->policy != PRISM_POLICY_LATENCY) {
                best = (int32_t)k;
                break;
            }
            double t = node_cost(c, n, (int32_t)k);
            if (best < 0 || t < best_cost) best = (int32_t)k, best_cost = t;
        }
        if (best < 0) {
            const pr_node *nd = &g->nodes[n];
            pr_buf_printf(unsupported, "%s'%s' (%s, domain '%s', opset %lld)", *n_unsupported ? "; " : "",
                          nlabel(nd), nd->op_type, *nd->domain ? nd->domain : "ai.onnx", (long long)nd->opset);
            (*n_unsupported)++;
            continue;
        }
        c->cand[n] = best;
        if (in->policy == PRISM_POLICY_LATENCY) {
            pr_set_reason(c, n, "lowest estimated time (%.3g ms on %s)", best_cost * 1e3, in->cands[best].provider);
        } else if (best == 0) {
            pr_set_reason(c, n, "first choice");
        } else {
            char who[256] = "";
            size_t len = 0;
            for (int32_t k = 0; k < best && len < sizeof who - 70; k++) {
                bool dup = false;
                for (int32_t j = 0; j < k; j++) dup |= !strcmp(in->cands[j].provider, in->cands[k].provider);
                if (!dup) len += (size_t)snprintf(who + len, sizeof who - len, "%s%s", len ? ", " : "", in->cands[k].provider);
            }
            pr_set_reason(c, n, "not supported by %s", who);
        }
    }
}

/* ---- pass 2: fusion groups ---------------------------------------------- */

/* Nodes that the provider of their candidate put in one group move as one
 * unit from here on. The group's first node decides where it goes. */
static void link_groups(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    for (size_t n = 0; n < g->n_nodes; n++) c->unit_next[n] = UINT32_MAX, c->unit_head[n] = (uint32_t)n;
    for (size_t i = 0; i < g->n_nodes; i++) {
        int32_t k = c->cand[i];
        const uint32_t *grp = c->in->cands[k].groups;
        if (!grp || !grp[i] || c->unit_head[i] != i || c->unit_next[i] != UINT32_MAX) continue;
        uint32_t tail = (uint32_t)i;
        for (size_t j = i + 1; j < g->n_nodes; j++) {
            if (grp[j] != grp[i] || c->unit_head[j] != j || c->unit_next[j] != UINT32_MAX) continue;
            if (c->in->affinity && c->in->affinity[j] >= 0 && c->in->affinity[j] != k) continue;
            if (!claims(c, k, (uint32_t)j)) continue;
            if (c->cand[j] != k) pr_set_reason(c, (uint32_t)j, "fused with '%s' on %s (provider's group %u)",
                                               nlabel(&g->nodes[i]), c->in->cands[k].provider, grp[i]);
            c->cand[j] = k;
            c->unit_next[tail] = (uint32_t)j;
            c->unit_head[j] = (uint32_t)i;
            tail = (uint32_t)j;
        }
    }
}

/* ---- pass 3a: latency local search -------------------------------------- */

static uint32_t uf_find(uint32_t *p, uint32_t x) {
    while (p[x] != x) x = p[x] = p[p[x]];
    return x;
}

/* Try moving `nodes` (all claimed by k, none pinned) to k; keep the move
 * when the estimate falls. */
static bool try_move(pr_ctx *c, const uint32_t *nodes, size_t count, int32_t k) {
    int32_t from = c->cand[nodes[0]];
    double before = local_cost(c, nodes, count);
    for (size_t i = 0; i < count; i++) c->cand[nodes[i]] = k;
    double after = local_cost(c, nodes, count);
    if (after < before - 1e-12 * (before > 1 ? before : 1)) return true;
    for (size_t i = 0; i < count; i++) c->cand[nodes[i]] = from;
    return false;
}

static bool all_claim(const pr_ctx *c, const uint32_t *nodes, size_t count, int32_t k) {
    for (size_t i = 0; i < count; i++)
        if (!claims(c, k, nodes[i]) || pinned(c, nodes[i])) return false;
    return true;
}

/* Local search: single units (a node, or a provider's fusion group), then
 * whole same-candidate segments (connected through data edges), until no
 * move lowers the estimate. Each move is judged on the nodes it touches
 * and their values only, so a pass costs about the size of the graph. */
static void improve_latency(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    size_t nn = g->n_nodes;
    for (int pass = 0; pass < 8 && !c->oom; pass++) {
        bool moved = false;
        for (size_t i = 0; i < nn; i++) {
            if (c->unit_head[i] != i) continue;
            size_t count = 0;
            for (uint32_t n = (uint32_t)i; n != UINT32_MAX; n = c->unit_next[n]) c->members[count++] = n;
            for (size_t k = 0; k < c->in->n_cands; k++) {
                if ((int32_t)k == c->cand[i] || !all_claim(c, c->members, count, (int32_t)k)) continue;
                if (!try_move(c, c->members, count, (int32_t)k)) continue;
                moved = true;
                for (size_t j = 0; j < count; j++)
                    pr_set_reason(c, c->members[j], "estimated faster here with the copies counted (%s)",
                                  c->in->cands[k].provider);
            }
        }
        /* Segments: union-find over same-candidate edges, then the members
         * of each root listed contiguously (counting sort). */
        for (size_t n = 0; n < nn; n++) c->seg[n] = (uint32_t)n;
        for (size_t n = 0; n < nn; n++) {
            const pr_node *nd = &g->nodes[n];
            for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
                uint32_t v = k < nd->n_inputs ? nd->inputs[k] : nd->implicit[k - nd->n_inputs];
                if (v == PRISM_NO_VALUE || g->values[v].producer < 0) continue;
                uint32_t p = (uint32_t)g->values[v].producer;
                if (c->cand[p] == c->cand[n]) {
                    uint32_t a = uf_find(c->seg, p), b = uf_find(c->seg, (uint32_t)n);
                    if (a != b) c->seg[a < b ? b : a] = a < b ? a : b;
                }
            }
        }
        memset(c->seg_off, 0, (nn + 1) * sizeof *c->seg_off);
        for (size_t n = 0; n < nn; n++) c->seg_off[uf_find(c->seg, (uint32_t)n) + 1]++;
        for (size_t n = 0; n < nn; n++) c->seg_off[n + 1] += c->seg_off[n];
        memset(c->seg_fill, 0, nn * sizeof *c->seg_fill);
        for (size_t n = 0; n < nn; n++) {
            uint32_t r = uf_find(c->seg, (uint32_t)n);
            c->members[c->seg_off[r] + c->seg_fill[r]++] = (uint32_t)n;
        }
        for (size_t r = 0; r < nn; r++) {
            size_t count = c->seg_off[r + 1] - c->seg_off[r];
            if (!count) continue;
            const uint32_t *seg = c->members + c->seg_off[r];
            for (size_t k = 0; k < c->in->n_cands; k++) {
                if ((int32_t)k == c->cand[seg[0]] || !all_claim(c, seg, count, (int32_t)k)) continue;
                if (!try_move(c, seg, count, (int32_t)k)) continue;
                moved = true;
                for (size_t j = 0; j < count; j++)
                    pr_set_reason(c, seg[j], "moved with its segment to save copies (estimate, %s)",
                                  c->in->cands[k].provider);
            }
        }
        if (!moved) break;
    }
}

/* ---- pass 3b: small computations follow their inputs -------------------- */

#define PR_SMALL_BYTES 1024

/* Small: every output at most 1 KiB and, by the core's own estimate, less
 * work than one copy costs (a large contraction with a tiny result is not
 * shape arithmetic). */
static bool is_small(const pr_ctx *c, uint32_t node) {
    const pr_graph *g = c->in->g;
    const pr_node *n = &g->nodes[node];
    if (!n->n_outputs || c->default_cost[node] > pr_copy_seconds(0)) return false;
    for (uint32_t k = 0; k < n->n_outputs; k++) {
        if (n->outputs[k] == PRISM_NO_VALUE) continue;
        int64_t b = pr_value_static_bytes(&g->values[n->outputs[k]]);
        if (b < 0 || b > PR_SMALL_BYTES) return false;
    }
    return true;
}

static void follow_inputs(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    for (size_t i = 0; i < g->n_nodes; i++) {
        uint32_t n = (uint32_t)i;
        const pr_node *nd = &g->nodes[n];
        if (c->unit_next[n] != UINT32_MAX || c->unit_head[n] != n || pinned(c, n) || !is_small(c, n)) continue;
        int32_t src = -2; /* the one candidate all computed inputs come from */
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit && src != -3; k++) {
            uint32_t v = k < nd->n_inputs ? nd->inputs[k] : nd->implicit[k - nd->n_inputs];
            if (v == PRISM_NO_VALUE || g->values[v].constant || g->values[v].producer < 0) continue;
            int32_t pc = c->cand[g->values[v].producer];
            src = src == -2 || src == pc ? pc : -3;
        }
        if (src < 0 || src == c->cand[n] || !claims(c, src, n)) continue;
        if (c->in->cands[src].space == c->in->cands[c->cand[n]].space) continue;
        int32_t from = c->cand[n];
        size_t before = copies_around(c, n);
        c->cand[n] = src;
        if (copies_around(c, n) < before)
            pr_set_reason(c, n, "small computation kept next to its inputs on %s (saves a copy)",
                          c->in->cands[src].provider);
        else
            c->cand[n] = from;
    }
}

/* ---- pass 4: minimum subgraph size -------------------------------------- */

static bool demote_small_subgraphs(pr_ctx *c) {
    const pr_plan_in *in = c->in;
    bool moved = false;
    for (size_t s = 0; s < c->n_subs; s++) {
        pr_sub *sb = &c->subs[s];
        if (sb->n_nodes >= in->min_subgraph) continue;
        for (size_t j = 0; j < sb->n_nodes; j++) {
            uint32_t n = sb->nodes[j];
            if (c->unit_head[n] != n || pinned(c, n)) continue;
            int32_t from = c->cand[n];
            for (size_t k = (size_t)from + 1; k < in->n_cands; k++) {
                if (!unit_claims(c, n, (int32_t)k)) continue;
                unit_move(c, n, (int32_t)k);
                for (uint32_t m = n; m != UINT32_MAX; m = c->unit_next[m])
                    pr_set_reason(c, m, "its subgraph on %s had %zu node%s, below the minimum of %u",
                                  in->cands[from].provider, sb->n_nodes, sb->n_nodes == 1 ? "" : "s",
                                  in->min_subgraph);
                moved = true;
                break;
            }
        }
    }
    return moved;
}

/* ---- fallbacks ---------------------------------------------------------- */

int32_t pr_policy_device_type(prism_policy p) {
    switch (p) {
    case PRISM_POLICY_PREFER_GPU: return PRISM_DEVICE_GPU;
    case PRISM_POLICY_PREFER_FPGA: return PRISM_DEVICE_FPGA;
    case PRISM_POLICY_PREFER_CPU: return PRISM_DEVICE_CPU;
    case PRISM_POLICY_PREFER_ACCELERATOR: return PRISM_DEVICE_ACCELERATOR;
    default: return -1;
    }
}

static void mark_fallbacks(pr_ctx *c, pr_buf *msg, size_t *count) {
    const pr_plan_in *in = c->in;
    const pr_graph *g = in->g;
    int32_t want_type = pr_policy_device_type(in->policy);
    for (size_t i = 0; i < g->n_nodes; i++) {
        uint32_t n = (uint32_t)i;
        const pr_cand *cd = &in->cands[c->cand[n]];
        const pr_node *nd = &g->nodes[n];
        char why[256] = "";
        if (in->affinity_target && in->affinity_target[n] && c->cand[n] != (in->affinity ? in->affinity[n] : -1))
            snprintf(why, sizeof why, "affinity %s=%s cannot be honoured (%s)", in->affinity_key[n],
                     in->affinity_target[n],
                     in->affinity && in->affinity[n] >= 0 ? "that provider cannot run it" : "that provider has no device");
        else if (!cd->listed) {
            bool listed_can = false;
            for (size_t k = 0; k < in->n_cands; k++) listed_can |= in->cands[k].listed && claims(c, (int32_t)k, n);
            if (listed_can && c->reason[n]) snprintf(why, sizeof why, "%s", c->reason[n]);
            else snprintf(why, sizeof why, "no listed provider can run it");
        }
        else if (want_type >= 0 && cd->device_type != want_type)
            snprintf(why, sizeof why, "no %s device can run it", type_name(want_type));
        if (!*why) continue;
        c->fallback[n] = true;
        pr_set_reason(c, n, "fallback to %s: %s", cd->provider, why);
        pr_buf_printf(msg, "%s'%s' (%s): %s", *count ? "; " : "", nlabel(nd), nd->op_type, why);
        (*count)++;
    }
}

/* ---- driver ------------------------------------------------------------- */

static void ctx_free(pr_ctx *c) {
    free(c->cand);
    free(c->default_cost);
    free(c->cons_off);
    free(c->cons);
    free(c->seen_space);
    free(c->space_cand);
    free(c->unit_next);
    free(c->unit_head);
    free(c->seg);
    free(c->seg_off);
    free(c->seg_fill);
    free(c->members);
    free(c->vstamp);
    free(c->fallback);
    if (c->reason)
        for (size_t n = 0; n < c->in->g->n_nodes; n++) free(c->reason[n]);
    free(c->reason);
    pr_subs_free(c->subs, c->n_subs);
    free(c->node_sub);
}

static prism_status ctx_init(pr_ctx *c, const pr_plan_in *in) {
    const pr_graph *g = in->g;
    size_t nn = g->n_nodes, nv = g->n_values;
    c->in = in;
    int32_t max_space = 0;
    for (size_t k = 0; k < in->n_cands; k++)
        if (in->cands[k].space > max_space) max_space = in->cands[k].space;
    c->n_spaces = (size_t)max_space + 1;
    c->cand = calloc(nn + 1, sizeof *c->cand);
    c->default_cost = calloc(nn + 1, sizeof *c->default_cost);
    c->cons_off = calloc(nv + 2, sizeof *c->cons_off);
    c->seen_space = calloc(c->n_spaces, 1);
    c->space_cand = calloc(c->n_spaces, sizeof *c->space_cand);
    c->unit_next = calloc(nn + 1, sizeof *c->unit_next);
    c->unit_head = calloc(nn + 1, sizeof *c->unit_head);
    c->seg = calloc(nn + 1, sizeof *c->seg);
    c->seg_off = calloc(nn + 2, sizeof *c->seg_off);
    c->seg_fill = calloc(nn + 1, sizeof *c->seg_fill);
    c->members = calloc(nn + 1, sizeof *c->members);
    c->vstamp = calloc(nv + 1, sizeof *c->vstamp);
    c->fallback = calloc(nn + 1, sizeof *c->fallback);
    c->reason = calloc(nn + 1, sizeof *c->reason);
    c->node_sub = calloc(nn + 1, sizeof *c->node_sub);
    if (!c->cand || !c->default_cost || !c->cons_off || !c->seen_space || !c->space_cand || !c->unit_next ||
        !c->unit_head || !c->seg || !c->seg_off || !c->seg_fill || !c->members || !c->vstamp || !c->fallback || !c->reason || !c->node_sub)
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t k = in->n_cands; k-- > 0;) c->space_cand[in->cands[k].space] = (int32_t)k;
    /* Consumers of each value (CSR), implicit reads included. */
    size_t total = 0;
    for (size_t n = 0; n < nn; n++) {
        const pr_node *nd = &g->nodes[n];
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
            uint32_t v = k < nd->n_inputs ? nd->inputs[k] : nd->implicit[k - nd->n_inputs];
            if (v != PRISM_NO_VALUE) c->cons_off[v + 1]++, total++;
        }
    }
    for (size_t v = 0; v < nv; v++) c->cons_off[v + 1] += c->cons_off[v];
    c->cons = calloc(total + 1, sizeof *c->cons);
    uint32_t *fill = calloc(nv + 1, sizeof *fill);
    if (!c->cons || !fill) {
        free(fill);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t n = 0; n < nn; n++) {
        const pr_node *nd = &g->nodes[n];
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
            uint32_t v = k < nd->n_inputs ? nd->inputs[k] : nd->implicit[k - nd->n_inputs];
            if (v != PRISM_NO_VALUE) c->cons[c->cons_off[v] + fill[v]++] = (uint32_t)n;
        }
        c->default_cost[n] = pr_default_node_seconds(g, (uint32_t)n);
    }
    free(fill);
    return PRISM_OK;
}

prism_status pr_plan_build(const pr_plan_in *in, pr_plan *out) {
    memset(out, 0, sizeof *out);
    pr_ctx c = {0};
    prism_status st = ctx_init(&c, in);
    pr_buf msg = {0};
    size_t count = 0;
    if (!st) {
        assign_initial(&c, &msg, &count);
        if (count)
            st = pr_fail(PRISM_ERR_NOT_SUPPORTED, "no provider can run %zu node%s: %s", count, count == 1 ? "" : "s",
                         msg.data ? msg.data : "");
    }
    if (!st) {
        link_groups(&c);
        if (in->policy == PRISM_POLICY_LATENCY)
            improve_latency(&c);
        else
            follow_inputs(&c);
        st = pr_form_subgraphs(&c);
        for (size_t round = 0; !st && in->min_subgraph > 1 && round <= in->n_cands; round++) {
            if (!demote_small_subgraphs(&c)) break;
            st = pr_form_subgraphs(&c);
        }
    }
    if (!st) {
        mark_fallbacks(&c, &msg, &count);
        if (count && !in->fallback)
            st = pr_fail(PRISM_ERR_NOT_SUPPORTED,
                         "fallback is forbidden and %zu node%s would run outside the preferences: %s", count,
                         count == 1 ? "" : "s", msg.data ? msg.data : "");
    }
    if (!st && c.oom) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    if (!st) st = pr_plan_steps(&c, out);
    pr_buf_free(&msg);
    if (!st) {
        out->est_seconds = pr_plan_cost(&c);
        out->n_nodes = in->g->n_nodes;
        out->node_cand = c.cand, c.cand = NULL;
        out->node_sub = c.node_sub, c.node_sub = NULL;
        out->node_fallback = c.fallback, c.fallback = NULL;
        out->node_reason = c.reason, c.reason = NULL;
        out->subs = c.subs, c.subs = NULL;
        out->n_subs = c.n_subs, c.n_subs = 0;
    }
    ctx_free(&c);
    if (st) pr_plan_free(out);
    return st;
}

void pr_plan_free(pr_plan *p) {
    if (!p) return;
    if (p->node_reason)
        for (size_t n = 0; n < p->n_nodes; n++) free(p->node_reason[n]);
    free(p->node_reason);
    free(p->node_cand);
    free(p->node_sub);
    free(p->node_fallback);
    pr_subs_free(p->subs, p->n_subs);
    free(p->steps);
    memset(p, 0, sizeof *p);
}
