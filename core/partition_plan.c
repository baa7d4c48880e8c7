/*
 * partition_plan.c — from a node assignment to subgraphs and a program.
 *
 * Subgraphs are grown in topological order. A node joins a subgraph of its
 * own candidate that feeds it directly unless that subgraph also reaches it
 * through another subgraph (joining would then close a cycle); otherwise it
 * starts a new one. Each subgraph keeps the set of subgraphs it depends on
 * (a bitset, kept transitively closed), which makes that test one bit.
 *
 * The program runs the subgraphs in a topological order of their
 * dependencies and copies each value once per memory space that reads it:
 * host to device, device to host, device to device directly when both ends
 * belong to a provider that copies between its own buffers, otherwise
 * through host memory (and the host copy is then reused).
 */
#include <stdlib.h>
#include <string.h>

#include "partition_internal.h"

void pr_subs_free(pr_sub *subs, size_t n) {
    for (size_t i = 0; i < n && subs; i++) {
        free(subs[i].nodes);
        free(subs[i].inputs);
        free(subs[i].outputs);
    }
    free(subs);
}

#define BIT_TEST(set, i) (((set)[(i) >> 6] >> ((i)&63)) & 1u)
#define BIT_SET(set, i) ((set)[(i) >> 6] |= (uint64_t)1 << ((i)&63))
#define BIT_CLEAR(set, i) ((set)[(i) >> 6] &= ~((uint64_t)1 << ((i)&63)))

static uint32_t input_at(const pr_node *n, uint32_t k) {
    return k < n->n_inputs ? n->inputs[k] : n->implicit[k - n->n_inputs];
}

prism_status pr_form_subgraphs(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    size_t nn = g->n_nodes, words = nn / 64 + 1;
    pr_subs_free(c->subs, c->n_subs);
    c->subs = NULL;
    c->n_subs = 0;
    uint64_t **anc = calloc(nn + 1, sizeof *anc);
    uint64_t *dep = calloc(words, sizeof *dep), *via = calloc(words, sizeof *via);
    uint64_t *dead = calloc(words, sizeof *dead); /* subgraphs merged into another */
    int32_t *sub_cand = calloc(nn + 1, sizeof *sub_cand);
    size_t n_subs = 0;
    prism_status st = PRISM_OK;
    if (!anc || !dep || !via || !dead || !sub_cand) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t n = 0; n < nn && !st; n++) {
        const pr_node *nd = &g->nodes[n];
        memset(dep, 0, words * sizeof *dep);
        memset(via, 0, words * sizeof *via);
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
            uint32_t v = input_at(nd, k);
            if (v == PRISM_NO_VALUE || g->values[v].producer < 0) continue;
            size_t s = (size_t)c->node_sub[g->values[v].producer];
            for (size_t w = 0; w < words; w++) dep[w] |= anc[s][w], via[w] |= anc[s][w];
            BIT_SET(dep, s);
        }
        int32_t join = -1;
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
            uint32_t v = input_at(nd, k);
            if (v == PRISM_NO_VALUE || g->values[v].producer < 0) continue;
            uint32_t p = (uint32_t)g->values[v].producer;
            int32_t s = c->node_sub[p];
            if (c->cand[p] == c->cand[n] && !BIT_TEST(via, (size_t)s) && (join < 0 || s < join)) join = s;
        }
        if (join < 0) {
            if (!(anc[n_subs] = calloc(words, sizeof **anc))) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            memcpy(anc[n_subs], dep, words * sizeof *dep);
            sub_cand[n_subs] = c->cand[n];
            join = (int32_t)n_subs++;
        } else {
            uint64_t *a = anc[join];
            /* Every other subgraph of this candidate that feeds n without a
             * path through another subgraph merges into the joined one: no
             * path links them except direct edges, so no cycle can form
             * (siblings that read the same value become one subgraph). */
            for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
                uint32_t v = input_at(nd, k);
                if (v == PRISM_NO_VALUE || g->values[v].producer < 0) continue;
                uint32_t p = (uint32_t)g->values[v].producer;
                int32_t t = c->node_sub[p];
                if (t == join || c->cand[p] != c->cand[n] || BIT_TEST(via, (size_t)t)) continue;
                for (size_t m = 0; m < n; m++)
                    if (c->node_sub[m] == t) c->node_sub[m] = join;
                for (size_t w = 0; w < words; w++) a[w] |= anc[t][w];
                memset(anc[t], 0, words * sizeof **anc);
                BIT_SET(dead, (size_t)t);
                for (size_t u = 0; u < n_subs; u++)
                    if (BIT_TEST(anc[u], (size_t)t)) {
                        BIT_CLEAR(anc[u], (size_t)t);
                        BIT_SET(anc[u], (size_t)join);
                    }
                BIT_CLEAR(dep, (size_t)t);
            }
            for (size_t w = 0; w < words; w++) a[w] |= dep[w];
            BIT_CLEAR(a, (size_t)join);
            /* Whoever depended on the joined subgraph now also depends on
             * what it depends on. */
            for (size_t t = 0; t < n_subs; t++)
                if ((int32_t)t != join && BIT_TEST(anc[t], (size_t)join))
                    for (size_t w = 0; w < words; w++) anc[t][w] |= a[w];
        }
        c->node_sub[n] = join;
    }
    /* Execution order: repeatedly the ready subgraph with the lowest id
     * (ids follow the first node's topological position). */
    size_t *order = NULL, *rank = NULL, n_live = 0;
    uint64_t *done = NULL;
    if (!st) {
        order = calloc(n_subs + 1, sizeof *order);
        rank = calloc(n_subs + 1, sizeof *rank);
        done = calloc(words, sizeof *done);
        if (!order || !rank || !done) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!st) {
        memcpy(done, dead, words * sizeof *dead);
        for (size_t i = 0; i < n_subs; i++) n_live += !BIT_TEST(dead, i);
    }
    for (size_t i = 0; i < n_live && !st; i++) {
        size_t pick = SIZE_MAX;
        for (size_t s = 0; s < n_subs && pick == SIZE_MAX; s++) {
            if (BIT_TEST(done, s)) continue;
            bool ready = true;
            for (size_t w = 0; w < words && ready; w++) ready = !(anc[s][w] & ~done[w]);
            if (ready) pick = s;
        }
        if (pick == SIZE_MAX) {
            st = pr_fail(PRISM_ERR_INTERNAL, "partitioner: the subgraphs depend on each other in a cycle");
            break;
        }
        BIT_SET(done, pick);
        order[i] = pick;
        rank[pick] = i;
    }
    if (!st) {
        c->subs = calloc(n_live + 1, sizeof *c->subs);
        if (!c->subs) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!st) {
        c->n_subs = n_live;
        for (size_t n = 0; n < nn; n++) {
            c->node_sub[n] = (int32_t)rank[c->node_sub[n]];
            c->subs[c->node_sub[n]].n_nodes++;
        }
        for (size_t s = 0; s < n_live && !st; s++) {
            c->subs[s].cand = sub_cand[order[s]];
            if (!(c->subs[s].nodes = malloc(c->subs[s].n_nodes * sizeof(uint32_t))))
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            c->subs[s].n_nodes = 0;
        }
        for (size_t n = 0; n < nn && !st; n++) {
            pr_sub *sb = &c->subs[c->node_sub[n]];
            sb->nodes[sb->n_nodes++] = (uint32_t)n;
        }
    }
    for (size_t s = 0; anc && s < n_subs; s++) free(anc[s]);
    free(anc);
    free(dep);
    free(via);
    free(dead);
    free(sub_cand);
    free(order);
    free(rank);
    free(done);
    return st;
}

static bool add_unique(uint32_t *arr, size_t *n, uint32_t v) {
    for (size_t i = 0; i < *n; i++)
        if (arr[i] == v) return false;
    arr[(*n)++] = v;
    return true;
}

static prism_status sub_io(pr_ctx *c) {
    const pr_graph *g = c->in->g;
    for (size_t s = 0; s < c->n_subs; s++) {
        pr_sub *sb = &c->subs[s];
        size_t max_in = 1, max_out = 1;
        for (size_t j = 0; j < sb->n_nodes; j++) {
            const pr_node *nd = &g->nodes[sb->nodes[j]];
            max_in += nd->n_inputs + nd->n_implicit;
            max_out += nd->n_outputs;
        }
        free(sb->inputs);
        free(sb->outputs);
        sb->inputs = malloc(max_in * sizeof(uint32_t));
        sb->outputs = malloc(max_out * sizeof(uint32_t));
        sb->n_inputs = sb->n_outputs = 0;
        if (!sb->inputs || !sb->outputs) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t j = 0; j < sb->n_nodes; j++) {
            const pr_node *nd = &g->nodes[sb->nodes[j]];
            for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit; k++) {
                uint32_t v = input_at(nd, k);
                if (v == PRISM_NO_VALUE || g->values[v].constant) continue;
                int32_t p = g->values[v].producer;
                if (p >= 0 && c->node_sub[p] == (int32_t)s) continue;
                add_unique(sb->inputs, &sb->n_inputs, v);
            }
            for (uint32_t k = 0; k < nd->n_outputs; k++) {
                uint32_t v = nd->outputs[k];
                if (v == PRISM_NO_VALUE) continue;
                bool out = g->values[v].is_graph_output;
                for (uint32_t i = c->cons_off[v]; i < c->cons_off[v + 1] && !out; i++)
                    out = c->node_sub[c->cons[i]] != (int32_t)s;
                if (out) add_unique(sb->outputs, &sb->n_outputs, v);
            }
        }
    }
    return PRISM_OK;
}

typedef struct step_list {
    pr_step *steps;
    size_t n, cap;
} step_list;

static prism_status push_copy(pr_ctx *c, step_list *l, uint32_t v, int32_t from, int32_t to, bool direct,
                              bool shape_only) {
    const pr_value *val = &c->in->g->values[v];
    if (val->dtype == PRISM_DTYPE_STRING)
        return pr_fail(PRISM_ERR_NOT_SUPPORTED,
                       "value '%s' holds strings and would have to be copied %s device memory (of %s), which cannot "
                       "hold strings",
                       val->name, to ? "into" : "out of", c->in->cands[c->space_cand[to ? to : from]].provider);
    if (!pr_grow((void **)&l->steps, &l->cap, l->n + 1, sizeof *l->steps))
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    l->steps[l->n++] = (pr_step){.kind = PR_STEP_COPY, .value = v, .from_space = from, .to_space = to,
                                 .from_cand = from ? c->space_cand[from] : -1, .to_cand = to ? c->space_cand[to] : -1,
                                 .direct = direct, .shape_only = shape_only,
                                 .bytes = shape_only ? 0 : pr_value_static_bytes(val)};
    return PRISM_OK;
}

/* Make v available in space `to`, adding the copies needed. avail holds,
 * per value and space, 0 (absent), 1 (present) or 2 (its shape only). A
 * reader that needs only the shape, in host memory, gets a shape-only step:
 * a host tensor of the right shape whose data is never transferred. */
static prism_status ensure(pr_ctx *c, step_list *l, uint8_t *avail, uint32_t v, int32_t to, bool shape_only) {
    size_t ns = c->n_spaces;
    uint8_t *a = &avail[(size_t)v * ns];
    if (a[to] == 1 || (shape_only && a[to] == 2)) return PRISM_OK;
    prism_status st;
    if (shape_only && to == 0) {
        const pr_value *val = &c->in->g->values[v];
        int32_t home = val->producer >= 0 ? c->in->cands[c->cand[val->producer]].space : 0;
        st = push_copy(c, l, v, home, 0, false, true);
        a[0] = 2;
        return st;
    }
    if (a[0] == 1) {
        st = push_copy(c, l, v, 0, to, false, false);
    } else {
        const pr_value *val = &c->in->g->values[v];
        int32_t home = val->producer >= 0 ? c->in->cands[c->cand[val->producer]].space : -1;
        if (home < 0 || a[home] != 1)
            return pr_fail(PRISM_ERR_INTERNAL, "partitioner: value '%s' has no copy", val->name);
        const pr_cand *src = &c->in->cands[c->space_cand[home]];
        const pr_cand *dst = to ? &c->in->cands[c->space_cand[to]] : NULL;
        if (to == 0) {
            st = push_copy(c, l, v, home, 0, false, false);
        } else if (src->direct_copy && src->provider_id == dst->provider_id) {
            st = push_copy(c, l, v, home, to, true, false);
        } else {
            st = push_copy(c, l, v, home, 0, false, false);
            a[0] = 1;
            if (!st) st = push_copy(c, l, v, 0, to, false, false);
        }
    }
    a[to] = 1;
    return st;
}

/* Does every reader of v in subgraph sb need only its shape? */
static bool sub_reads_shape_only(const pr_ctx *c, const pr_sub *sb, uint32_t v) {
    const pr_graph *g = c->in->g;
    for (size_t j = 0; j < sb->n_nodes; j++) {
        const pr_node *nd = &g->nodes[sb->nodes[j]];
        bool reads = false;
        for (uint32_t k = 0; k < nd->n_inputs + nd->n_implicit && !reads; k++) reads = input_at(nd, k) == v;
        if (reads && !pr_reads_shape_only(g, sb->nodes[j], v)) return false;
    }
    return true;
}

prism_status pr_plan_steps(pr_ctx *c, pr_plan *out) {
    const pr_graph *g = c->in->g;
    prism_status st = sub_io(c);
    if (st) return st;
    size_t ns = c->n_spaces;
    uint8_t *avail = calloc(g->n_values * ns + 1, 1);
    if (!avail) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].producer < 0 && !g->values[v].constant) avail[v * ns] = 1; /* graph inputs */
    step_list l = {0};
    for (size_t s = 0; s < c->n_subs && !st; s++) {
        pr_sub *sb = &c->subs[s];
        int32_t sp = c->in->cands[sb->cand].space;
        for (size_t k = 0; k < sb->n_inputs && !st; k++)
            st = ensure(c, &l, avail, sb->inputs[k], sp, sub_reads_shape_only(c, sb, sb->inputs[k]));
        if (st) break;
        if (!pr_grow((void **)&l.steps, &l.cap, l.n + 1, sizeof *l.steps)) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        l.steps[l.n++] = (pr_step){.kind = PR_STEP_RUN, .sub = s, .from_cand = sb->cand, .to_cand = sb->cand,
                                   .from_space = sp, .to_space = sp, .bytes = -1};
        for (size_t k = 0; k < sb->n_outputs; k++) avail[(size_t)sb->outputs[k] * ns + (size_t)sp] = 1;
    }
    for (size_t k = 0; k < g->n_outputs && !st; k++) {
        uint32_t v = g->outputs[k];
        if (!g->values[v].constant && g->values[v].producer >= 0) st = ensure(c, &l, avail, v, 0, false);
    }
    free(avail);
    if (st) {
        free(l.steps);
        return st;
    }
    out->steps = l.steps;
    out->n_steps = l.n;
    return PRISM_OK;
}
