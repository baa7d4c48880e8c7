/*
 * test_partition.c — the partitioner (core/partition*.c) on synthetic
 * graphs with made-up capabilities: provider order, acyclic subgraphs,
 * minimum subgraph size, affinity, fallback reporting and refusal, the
 * latency policy against provider order, fusion groups, small computations
 * following their inputs, copy planning and determinism.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "model_builder.h"
#include "partition.h"
#include "unit_util.h"

static const int64_t D[2] = {1, 1024}; /* 4 KiB per float value */

static pr_model *load(mb_model *m) {
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    mb_free(m);
    pr_model *pm = NULL;
    prism_status st = pr_model_from_bytes(bytes, size, NULL, &pm);
    free(bytes);
    if (st) fprintf(stderr, "\n%s\n", prism_last_error_message());
    CU_ASSERT_EQUAL_FATAL(st, PRISM_OK);
    return pm;
}

/* X -> n0 -> n1 -> ... -> Y, all Relu. */
static pr_model *chain(int n) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, D);
    for (int i = 0; i < n; i++) {
        char name[16], in[16], out[16];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(in, sizeof in, i ? "v%d" : "X", i - 1);
        snprintf(out, sizeof out, i == n - 1 ? "Y" : "v%d", i);
        mb_node(m, "Relu", name, in, out);
    }
    return load(m);
}

/* a feeds b and c, which meet again in d = Add(b, c). */
static pr_model *diamond(void) {
    mb_model *mm = mb_new(17);
    mb_input(mm, "X", PRISM_DTYPE_FLOAT, 2, D);
    mb_output(mm, "Y", PRISM_DTYPE_FLOAT, 2, D);
    mb_node(mm, "Relu", "a", "X", "va");
    mb_node(mm, "Sigmoid", "b", "va", "vb");
    mb_node(mm, "Tanh", "c", "va", "vc");
    mb_node(mm, "Add", "d", "vb,vc", "Y");
    return load(mm);
}

/* Two candidates: an accelerator with its own memory (claims from a string
 * of '0'/'1' per node) and the CPU (claims everything). */
typedef struct fixture {
    pr_cand c[3];
    uint8_t acc_claims[64], cpu_claims[64];
    double acc_cost[64], cpu_cost[64];
    uint32_t groups[64];
    pr_plan_in in;
    pr_plan plan;
} fixture;

static void setup(fixture *f, const pr_graph *g, const char *acc) {
    memset(f, 0, sizeof *f);
    for (size_t n = 0; n < g->n_nodes; n++) {
        f->acc_claims[n] = acc[n] == '1';
        f->cpu_claims[n] = 1;
        f->acc_cost[n] = f->cpu_cost[n] = -1;
    }
    f->c[0] = (pr_cand){.provider = "acc", .device_type = PRISM_DEVICE_ACCELERATOR, .space = 1, .provider_id = 0,
                        .listed = true, .claims = f->acc_claims, .costs = f->acc_cost, .groups = f->groups};
    f->c[1] = (pr_cand){.provider = "cpu", .device_type = PRISM_DEVICE_CPU, .space = 0, .provider_id = 1,
                        .listed = true, .claims = f->cpu_claims, .costs = f->cpu_cost};
    f->in = (pr_plan_in){.g = g, .cands = f->c, .n_cands = 2, .policy = PRISM_POLICY_PROVIDER_ORDER,
                         .min_subgraph = 1, .fallback = true};
}

static size_t n_copies(const pr_plan *p) {
    size_t n = 0;
    for (size_t i = 0; i < p->n_steps; i++) n += p->steps[i].kind == PR_STEP_COPY;
    return n;
}

/* Every node's producers run in an earlier subgraph or earlier in its own,
 * and every subgraph's nodes are on its candidate. */
static void check_order(const pr_graph *g, const pr_plan *p) {
    for (size_t n = 0; n < g->n_nodes; n++) {
        const pr_node *nd = &g->nodes[n];
        CU_ASSERT_EQUAL(p->subs[p->node_sub[n]].cand, p->node_cand[n]);
        for (uint32_t k = 0; k < nd->n_inputs; k++) {
            int32_t prod = g->values[nd->inputs[k]].producer;
            if (prod >= 0) CU_ASSERT(p->node_sub[prod] <= p->node_sub[n]);
        }
    }
    /* Steps run every subgraph once, in order. */
    size_t next = 0;
    for (size_t i = 0; i < p->n_steps; i++)
        if (p->steps[i].kind == PR_STEP_RUN) CU_ASSERT_EQUAL(p->steps[i].sub, next++);
    CU_ASSERT_EQUAL(next, p->n_subs);
}

static void test_provider_order_and_copies(void) {
    pr_model *m = chain(5);
    fixture f;
    setup(&f, m->graph, "11011");
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    int32_t want[5] = {0, 0, 1, 0, 0};
    for (int n = 0; n < 5; n++) CU_ASSERT_EQUAL(f.plan.node_cand[n], want[n]);
    CU_ASSERT_EQUAL(f.plan.n_subs, 3);
    check_order(m->graph, &f.plan);
    /* X in, v1 out, v2 in, Y out: 4 copies of 4 KiB each. */
    CU_ASSERT_EQUAL(n_copies(&f.plan), 4);
    for (size_t i = 0; i < f.plan.n_steps; i++)
        if (f.plan.steps[i].kind == PR_STEP_COPY) CU_ASSERT_EQUAL(f.plan.steps[i].bytes, 4096);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[2], "not supported by acc"));
    CU_ASSERT_FALSE(f.plan.node_fallback[2]); /* cpu is listed: not a fallback */
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* a(acc) feeds b(cpu) and c(acc); d(acc) = Add(b, c). Putting a, c, d in
 * one subgraph would need b both before and after it. */
static void test_acyclic(void) {
    pr_model *m = diamond();
    fixture f;
    setup(&f, m->graph, "1011");
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    check_order(m->graph, &f.plan);
    /* a and c share a subgraph; d cannot join it. */
    const pr_graph *g = m->graph;
    int a = -1, b = -1, c = -1, d = -1;
    for (size_t n = 0; n < g->n_nodes; n++) {
        const char *nm = g->nodes[n].name;
        *(nm[0] == 'a' ? &a : nm[0] == 'b' ? &b : nm[0] == 'c' ? &c : &d) = (int)n;
    }
    CU_ASSERT_EQUAL(f.plan.node_sub[a], f.plan.node_sub[c]);
    CU_ASSERT_NOT_EQUAL(f.plan.node_sub[a], f.plan.node_sub[d]);
    CU_ASSERT(f.plan.node_sub[b] > f.plan.node_sub[a]);
    CU_ASSERT(f.plan.node_sub[d] > f.plan.node_sub[b]);
    CU_ASSERT_EQUAL(f.plan.n_subs, 3);
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* b and c both read a (on the CPU) and meet again in d: one subgraph. */
static void test_siblings_merge(void) {
    pr_model *m = diamond();
    fixture f;
    setup(&f, m->graph, "0111");
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.n_subs, 2);
    CU_ASSERT_EQUAL(f.plan.node_sub[1], f.plan.node_sub[2]);
    CU_ASSERT_EQUAL(f.plan.node_sub[2], f.plan.node_sub[3]);
    CU_ASSERT_EQUAL(n_copies(&f.plan), 2); /* va in once, Y out */
    check_order(m->graph, &f.plan);
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

static void test_min_subgraph(void) {
    pr_model *m = chain(5);
    fixture f;
    setup(&f, m->graph, "10111");
    f.in.min_subgraph = 2;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[0], 1); /* alone on acc: below the minimum */
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[0], "below the minimum of 2"));
    for (int n = 2; n < 5; n++) CU_ASSERT_EQUAL(f.plan.node_cand[n], 0);
    CU_ASSERT_EQUAL(f.plan.n_subs, 2);
    check_order(m->graph, &f.plan);
    pr_plan_free(&f.plan);
    /* With a minimum above every piece, everything ends on the CPU. */
    f.in.min_subgraph = 4;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    for (int n = 0; n < 5; n++) CU_ASSERT_EQUAL(f.plan.node_cand[n], 1);
    CU_ASSERT_EQUAL(f.plan.n_subs, 1);
    CU_ASSERT_EQUAL(n_copies(&f.plan), 0);
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

static void test_affinity_and_fallback(void) {
    pr_model *m = chain(4);
    fixture f;
    setup(&f, m->graph, "1101");
    int32_t aff[4] = {-1, 1, 0, -1};
    const char *key[4] = {NULL, "n1", "Relu", NULL}, *target[4] = {NULL, "cpu", "acc", NULL};
    f.in.affinity = aff;
    f.in.affinity_key = key;
    f.in.affinity_target = target;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[1], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[1], "affinity n1=cpu"));
    CU_ASSERT_FALSE(f.plan.node_fallback[1]);
    /* n2 asks for acc, which cannot run it: a reported fallback. */
    CU_ASSERT_EQUAL(f.plan.node_cand[2], 1);
    CU_ASSERT_TRUE(f.plan.node_fallback[2]);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[2], "affinity Relu=acc"));
    pr_plan_free(&f.plan);
    f.in.fallback = false;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, pr_plan_build(&f.in, &f.plan), "'n2' (Relu)", "affinity Relu=acc");
    CU_ASSERT_PTR_NULL(f.plan.node_cand);
    pr_model_free(m);
}

/* The CPU as last resort (not listed): its nodes are fallbacks, and
 * forbidding fallback names every one of them. */
static void test_no_fallback_names_nodes(void) {
    pr_model *m = chain(4);
    fixture f;
    setup(&f, m->graph, "1001");
    f.c[1].listed = false;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_TRUE(f.plan.node_fallback[1]);
    CU_ASSERT_TRUE(f.plan.node_fallback[2]);
    CU_ASSERT_FALSE(f.plan.node_fallback[0]);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[1], "no listed provider can run it"));
    pr_plan_free(&f.plan);
    f.in.fallback = false;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, pr_plan_build(&f.in, &f.plan), "2 nodes", "'n1' (Relu)", "'n2' (Relu)");
    /* A node nobody can run fails whatever the fallback setting. */
    memset(f.cpu_claims, 0, sizeof f.cpu_claims);
    f.in.fallback = true;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, pr_plan_build(&f.in, &f.plan), "no provider can run 2 nodes", "'n1'");
    pr_model_free(m);
}

/* Device-type policy: a node off the preferred type is a fallback. */
static void test_prefer_type_fallback(void) {
    pr_model *m = chain(3);
    fixture f;
    setup(&f, m->graph, "101");
    f.in.policy = PRISM_POLICY_PREFER_ACCELERATOR;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_TRUE(f.plan.node_fallback[1]);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[1], "no accelerator device"));
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* Provider order bounces cheap nodes between the devices; the latency
 * policy sees that the copies cost more than the accelerator saves. */
static void test_latency_beats_provider_order(void) {
    pr_model *m = chain(6);
    fixture f;
    setup(&f, m->graph, "101010");
    for (int n = 0; n < 6; n++) {
        f.acc_cost[n] = 1e-6;
        f.cpu_cost[n] = 3e-6;
    }
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    size_t order_copies = n_copies(&f.plan);
    double order_est = f.plan.est_seconds;
    CU_ASSERT_EQUAL(order_copies, 6);
    pr_plan_free(&f.plan);
    f.in.policy = PRISM_POLICY_LATENCY;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(n_copies(&f.plan), 0);
    CU_ASSERT_EQUAL(f.plan.n_subs, 1);
    CU_ASSERT(f.plan.est_seconds < order_est / 3);
    for (int n = 0; n < 6; n++) CU_ASSERT_EQUAL(f.plan.node_cand[n], 1);
    pr_plan_free(&f.plan);
    /* Heavy work on the accelerator is worth the copies: it stays there, and
     * so do its cheap neighbours (whole segments move together). */
    setup(&f, m->graph, "111111");
    for (int n = 0; n < 6; n++) {
        f.acc_cost[n] = 1e-6;
        f.cpu_cost[n] = n == 3 ? 1e-2 : 1e-6;
    }
    f.in.policy = PRISM_POLICY_LATENCY;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[3], 0);
    CU_ASSERT_EQUAL(f.plan.n_subs, 1);
    CU_ASSERT_EQUAL(n_copies(&f.plan), 2); /* X in, Y out */
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* Nodes a provider groups move together. */
static void test_groups(void) {
    pr_model *m = chain(4);
    fixture f;
    setup(&f, m->graph, "0110");
    f.groups[1] = f.groups[2] = 7;
    f.in.min_subgraph = 3;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[1], f.plan.node_cand[2]);
    CU_ASSERT_EQUAL(f.plan.node_cand[1], 1);
    pr_plan_free(&f.plan);
    f.in.min_subgraph = 1;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[1], 0);
    CU_ASSERT_EQUAL(f.plan.node_sub[1], f.plan.node_sub[2]);
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* A small computation after a device node runs on the device when the CPU
 * ranks first but keeping it there saves copies. */
static void test_small_follows_inputs(void) {
    mb_model *mm = mb_new(17);
    mb_input(mm, "X", PRISM_DTYPE_FLOAT, 2, D);
    mb_output(mm, "Y", PRISM_DTYPE_FLOAT, 2, D);
    mb_node(mm, "Relu", "big", "X", "v0");
    Onnx__NodeProto *r = mb_node(mm, "ReduceSum", "small", "v0", "v1");
    mb_attr_int(mm, r, "keepdims", 1);
    mb_node(mm, "Add", "out", "v0,v1", "Y");
    pr_model *m = load(mm);
    fixture f;
    setup(&f, m->graph, "111");
    f.cpu_claims[0] = 0; /* only the accelerator runs "big" */
    f.cpu_claims[2] = 0;
    /* CPU ranks first for "small". */
    pr_cand swap = f.c[0];
    f.c[0] = f.c[1];
    f.c[1] = swap;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[1], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(f.plan.node_reason[1], "small computation"));
    CU_ASSERT_EQUAL(n_copies(&f.plan), 2);
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* A contraction with a tiny result is not shape arithmetic: it stays where
 * the ranking puts it. */
static void test_heavy_small_output_stays(void) {
    enum { K = 65536 };
    mb_model *mm = mb_new(17);
    const int64_t xd[2] = {1, K}, wd[2] = {K, 4}, yd[2] = {1, 4};
    mb_input(mm, "X", PRISM_DTYPE_FLOAT, 2, xd);
    mb_output(mm, "Y", PRISM_DTYPE_FLOAT, 2, yd);
    float *w = calloc(K * 4, sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    mb_init_float(mm, "W", 2, wd, w);
    mb_node(mm, "Relu", "big", "X", "v0");
    mb_node(mm, "MatMul", "mm", "v0,W", "v1");
    mb_node(mm, "Relu", "out", "v1", "Y");
    pr_model *m = load(mm);
    free(w);
    fixture f;
    setup(&f, m->graph, "111");
    f.cpu_claims[0] = 0;
    f.cpu_claims[2] = 0;
    pr_cand swap = f.c[0];
    f.c[0] = f.c[1];
    f.c[1] = swap;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(f.plan.node_cand[1], 0); /* the CPU, first in the ranking */
    CU_ASSERT_PTR_NULL(strstr(f.plan.node_reason[1], "small computation"));
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

/* Two device spaces of one provider copy directly when it can; otherwise
 * through the host. */
static void test_device_to_device(void) {
    pr_model *m = chain(2);
    fixture f;
    setup(&f, m->graph, "10");
    f.c[1] = f.c[0];
    f.c[1].space = 2;
    f.c[1].device = 1;
    uint8_t second[2] = {0, 1};
    f.c[1].claims = second;
    f.c[0].direct_copy = f.c[1].direct_copy = true;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(n_copies(&f.plan), 3);
    bool direct = false;
    for (size_t i = 0; i < f.plan.n_steps; i++) direct |= f.plan.steps[i].direct;
    CU_ASSERT_TRUE(direct);
    pr_plan_free(&f.plan);
    f.c[0].direct_copy = f.c[1].direct_copy = false;
    UNIT_OK(pr_plan_build(&f.in, &f.plan));
    CU_ASSERT_EQUAL(n_copies(&f.plan), 4); /* X in, v0 out and in again, Y out */
    pr_plan_free(&f.plan);
    pr_model_free(m);
}

static void test_deterministic(void) {
    pr_model *m = chain(12);
    fixture f;
    setup(&f, m->graph, "110100111011");
    f.in.min_subgraph = 2;
    pr_plan a, b;
    UNIT_OK(pr_plan_build(&f.in, &a));
    UNIT_OK(pr_plan_build(&f.in, &b));
    CU_ASSERT_EQUAL(memcmp(a.node_cand, b.node_cand, 12 * sizeof *a.node_cand), 0);
    CU_ASSERT_EQUAL(a.n_steps, b.n_steps);
    for (size_t i = 0; i < a.n_steps && i < b.n_steps; i++) {
        CU_ASSERT_EQUAL(a.steps[i].kind, b.steps[i].kind);
        CU_ASSERT_EQUAL(a.steps[i].value, b.steps[i].value);
    }
    check_order(m->graph, &a);
    pr_plan_free(&a);
    pr_plan_free(&b);
    pr_model_free(m);
}

/* ---- random graphs: the plan's invariants ------------------------------ */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

/* A random DAG of unary and binary nodes over [1,1024] floats; some
 * intermediate values are graph outputs too. */
static pr_model *random_graph(int n) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D);
    mb_input(m, "Z", PRISM_DTYPE_FLOAT, 2, D);
    char names[64][16];
    int count = 0;
    snprintf(names[count++], 16, "X");
    snprintf(names[count++], 16, "Z");
    for (int i = 0; i < n; i++) {
        char node[16], ins[40];
        snprintf(node, sizeof node, "n%d", i);
        const char *a = names[rnd((uint32_t)count)], *b = names[rnd((uint32_t)count)];
        bool binary = rnd(2);
        snprintf(ins, sizeof ins, binary ? "%s,%s" : "%s", a, b);
        snprintf(names[count], 16, "v%d", i);
        mb_node(m, binary ? "Add" : "Relu", node, ins, names[count]);
        count++;
    }
    mb_output(m, names[count - 1], PRISM_DTYPE_FLOAT, 2, D);
    for (int i = 2; i < count - 1; i++)
        if (!rnd(5)) mb_output(m, names[i], PRISM_DTYPE_FLOAT, 2, D);
    return load(m);
}

/* Replays the steps: every subgraph finds its inputs in its own memory
 * space, every copy reads a value that exists and writes one that does
 * not, and the graph outputs end in host memory. */
static void check_program(const pr_graph *g, const pr_cand *cands, const pr_plan *p) {
    size_t ns = 4;
    uint8_t *have = calloc(g->n_values * ns, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(have);
    for (size_t v = 0; v < g->n_values; v++)
        if (g->values[v].producer < 0 && !g->values[v].constant) have[v * ns] = 1;
    for (size_t i = 0; i < p->n_steps; i++) {
        const pr_step *st = &p->steps[i];
        if (st->kind == PR_STEP_COPY) {
            CU_ASSERT_NOT_EQUAL(st->from_space, st->to_space);
            CU_ASSERT_EQUAL(have[st->value * ns + (size_t)st->from_space], 1);
            CU_ASSERT_NOT_EQUAL(have[st->value * ns + (size_t)st->to_space], 1);
            if (st->direct) CU_ASSERT(st->from_space > 0 && st->to_space > 0);
            have[st->value * ns + (size_t)st->to_space] = st->shape_only ? 2 : 1;
            continue;
        }
        const pr_sub *sb = &p->subs[st->sub];
        size_t sp = (size_t)cands[sb->cand].space;
        for (size_t k = 0; k < sb->n_inputs; k++) CU_ASSERT_TRUE(have[sb->inputs[k] * ns + sp]); /* 2: Shape/Size readers */
        for (size_t k = 0; k < sb->n_outputs; k++) have[sb->outputs[k] * ns + sp] = 1;
    }
    for (size_t k = 0; k < g->n_outputs; k++) CU_ASSERT_EQUAL(have[g->outputs[k] * ns], 1);
    free(have);
}

static void test_random_graphs(void) {
    rng_state = 12345;
    for (int iter = 0; iter < 300; iter++) {
        pr_model *m = random_graph(3 + (int)rnd(28));
        const pr_graph *g = m->graph;
        fixture f;
        char claims[64] = {0};
        for (size_t n = 0; n < g->n_nodes; n++) claims[n] = rnd(3) ? '1' : '0';
        setup(&f, g, claims);
        /* A second device of the accelerator's provider with its own claims. */
        uint8_t second[64];
        for (size_t n = 0; n < g->n_nodes; n++) {
            second[n] = (uint8_t)rnd(2);
            f.acc_cost[n] = 1e-6 * (1 + rnd(100));
            f.cpu_cost[n] = 1e-6 * (1 + rnd(100));
            f.groups[n] = rnd(6) ? 0 : 1 + rnd(2);
        }
        f.c[2] = f.c[1];
        f.c[1] = f.c[0];
        f.c[1].space = 2;
        f.c[1].device = 1;
        f.c[1].claims = second;
        f.c[1].groups = NULL;
        f.c[0].direct_copy = f.c[1].direct_copy = rnd(2);
        f.in.n_cands = 3;
        f.in.policy = (prism_policy)rnd(6);
        f.in.min_subgraph = 1 + rnd(4);
        UNIT_OK(pr_plan_build(&f.in, &f.plan));
        check_order(g, &f.plan);
        check_program(g, f.c, &f.plan);
        for (size_t n = 0; n < g->n_nodes; n++) CU_ASSERT_TRUE(f.c[f.plan.node_cand[n]].claims[n]);
        /* The same inputs give the same plan. */
        pr_plan again;
        UNIT_OK(pr_plan_build(&f.in, &again));
        CU_ASSERT_EQUAL(memcmp(again.node_cand, f.plan.node_cand, g->n_nodes * sizeof *again.node_cand), 0);
        CU_ASSERT_EQUAL(again.n_steps, f.plan.n_steps);
        pr_plan_free(&again);
        pr_plan_free(&f.plan);
        pr_model_free(m);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("partition", NULL, NULL);
    CU_add_test(s, "provider order and copies", test_provider_order_and_copies);
    CU_add_test(s, "subgraphs stay acyclic", test_acyclic);
    CU_add_test(s, "siblings merge", test_siblings_merge);
    CU_add_test(s, "minimum subgraph size", test_min_subgraph);
    CU_add_test(s, "affinity and fallback", test_affinity_and_fallback);
    CU_add_test(s, "no fallback names every node", test_no_fallback_names_nodes);
    CU_add_test(s, "device-type policy fallback", test_prefer_type_fallback);
    CU_add_test(s, "latency policy beats provider order", test_latency_beats_provider_order);
    CU_add_test(s, "fusion groups move together", test_groups);
    CU_add_test(s, "small computations follow their inputs", test_small_follows_inputs);
    CU_add_test(s, "heavy nodes with small outputs stay", test_heavy_small_output_stays);
    CU_add_test(s, "device to device copies", test_device_to_device);
    CU_add_test(s, "deterministic", test_deterministic);
    CU_add_test(s, "random graphs keep every invariant", test_random_graphs);
    return unit_run_all();
}
