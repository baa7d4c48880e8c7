/*
 * test_hetero.c — heterogeneous execution end to end, with the simulated
 * accelerator of plugins/example (its own memory space, explicit copies)
 * and the CPU provider: partitions, copies, fallback, affinity, policies,
 * minimum subgraph size, environment variables, run errors inside a
 * provider, concurrent runs, and the env outliving its destroy call.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit_util.h"

static char *model_path;
static const int64_t IMG[4] = {2, 3, 32, 32};

static prism_tensor *image_n(int64_t n) {
    prism_tensor *t;
    const int64_t dims[4] = {n, IMG[1], IMG[2], IMG[3]};
    if (prism_tensor_create(PRISM_DTYPE_FLOAT, dims, 4, &t)) abort();
    float *d = prism_tensor_data(t);
    for (int64_t i = 0; i < prism_tensor_element_count(t); i++) d[i] = (float)sin((double)i * 0.37) * 1.5f;
    return t;
}

static prism_tensor *image(void) { return image_n(IMG[0]); }

static prism_session *session(prism_env *env, const char *providers, void (*tweak)(prism_session_options *)) {
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_environment(o, 0));
    UNIT_OK(prism_session_options_set_providers(o, providers));
    if (tweak) tweak(o);
    prism_session *s = NULL;
    prism_status st = prism_session_create(env, model_path, o, &s);
    prism_session_options_destroy(o);
    if (st) fprintf(stderr, "\n%s\n", prism_last_error_message());
    CU_ASSERT_EQUAL_FATAL(st, PRISM_OK);
    return s;
}

static prism_tensor *run(prism_session *s) {
    prism_tensor *x = image(), *y = NULL;
    const char *in[] = {"image"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y));
    prism_tensor_destroy(x);
    return y;
}

static void check_close(const prism_tensor *a, const prism_tensor *b) {
    CU_ASSERT_EQUAL_FATAL(prism_tensor_element_count(a), prism_tensor_element_count(b));
    const float *x = prism_tensor_data_const(a), *y = prism_tensor_data_const(b);
    for (int64_t i = 0; i < prism_tensor_element_count(a); i++) CU_ASSERT(fabsf(x[i] - y[i]) <= 1e-5f + 1e-4f * fabsf(y[i]));
}

static const char *placed_on(prism_session *s, const char *node) {
    for (size_t i = 0; i < prism_session_node_count(s); i++) {
        prism_node_placement p = {.struct_size = sizeof p};
        UNIT_OK(prism_session_node_placement(s, i, &p));
        if (!strcmp(p.name, node)) return p.provider;
    }
    return "(missing)";
}

static int node_fallback(prism_session *s, const char *node) {
    for (size_t i = 0; i < prism_session_node_count(s); i++) {
        prism_node_placement p = {.struct_size = sizeof p};
        UNIT_OK(prism_session_node_placement(s, i, &p));
        if (!strcmp(p.name, node)) return p.fallback;
    }
    return -1;
}

static prism_env *new_env(void) {
    prism_env *env;
    UNIT_OK(prism_env_create(&env));
    return env;
}

/* The split, its copies and the outputs against the CPU alone. */
static void test_split_matches_cpu(void) {
    prism_env *env = new_env();
    prism_session *cpu = session(env, "cpu", NULL), *het = session(env, "example,cpu", NULL);
    CU_ASSERT_STRING_EQUAL(placed_on(het, "conv1"), "example");
    CU_ASSERT_STRING_EQUAL(placed_on(het, "fc"), "example");
    CU_ASSERT_STRING_EQUAL(placed_on(het, "pool1"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(het, "softmax"), "cpu");
    CU_ASSERT_EQUAL(node_fallback(het, "pool1"), 0); /* cpu is listed */
    CU_ASSERT(prism_session_subgraph_count(het) > 2);
    CU_ASSERT_EQUAL(prism_session_subgraph_count(cpu), 1);
    CU_ASSERT_EQUAL(prism_session_copy_count(cpu), 0);
    size_t nc = prism_session_copy_count(het);
    CU_ASSERT(nc >= 4);
    /* The first copy brings the image to the accelerator; the last takes
     * an output back to host memory. */
    prism_copy_info c = {.struct_size = sizeof c};
    UNIT_OK(prism_session_copy(het, 0, &c));
    CU_ASSERT_STRING_EQUAL(c.value, "image");
    CU_ASSERT_STRING_EQUAL(c.from_provider, "host");
    CU_ASSERT_STRING_EQUAL(c.to_provider, "example");
    UNIT_OK(prism_session_copy(het, nc - 1, &c));
    CU_ASSERT_STRING_EQUAL(c.to_provider, "host");
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_copy(het, nc, &c), "no copy");
    prism_subgraph_info sg = {.struct_size = sizeof sg};
    UNIT_OK(prism_session_subgraph(het, 0, &sg));
    CU_ASSERT_STRING_EQUAL(sg.provider, "example");
    /* Reports in three formats. */
    MB_CONTAINS(prism_session_placement(het, "text"), "copy 'image' host:0 -> example:0");
    MB_CONTAINS(prism_session_placement(het, "json"), "\"copies\":[{\"value\":\"image\"");
    MB_CONTAINS(prism_session_placement(het, "dot"), "subgraph cluster_1");
    CU_ASSERT_PTR_NULL(prism_session_placement(het, "yaml"));
    prism_tensor *a = run(cpu), *b = run(het);
    check_close(b, a);
    prism_tensor_destroy(a);
    prism_tensor_destroy(b);
    prism_session_destroy(cpu);
    prism_session_destroy(het);
    prism_env_destroy(env);
}

typedef struct log_capture {
    char text[8192];
    size_t len;
    int warnings;
} log_capture;

static void capture(void *user, prism_log_level level, const char *msg) {
    log_capture *l = user;
    if (level == PRISM_LOG_WARNING) l->warnings++;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", msg);
    if (n > 0 && l->len + (size_t)n < sizeof l->text) l->len += (size_t)n;
}

static void no_fallback(prism_session_options *o) { UNIT_OK(prism_session_options_set_fallback(o, 0)); }

/* Only the accelerator listed: the CPU runs the rest as a logged, reported
 * fallback, or session creation fails naming every such node. */
static void test_fallback(void) {
    prism_env *env = new_env();
    log_capture log = {0};
    prism_env_set_logger(env, capture, &log, PRISM_LOG_WARNING);
    prism_session *s = session(env, "example", NULL);
    CU_ASSERT_STRING_EQUAL(placed_on(s, "pool1"), "cpu");
    CU_ASSERT_EQUAL(node_fallback(s, "pool1"), 1);
    CU_ASSERT_EQUAL(node_fallback(s, "conv1"), 0);
    CU_ASSERT_EQUAL(log.warnings, 5); /* pool1, bn, gap, flatten, softmax */
    MB_CONTAINS(log.text, "node 'pool1' (MaxPool): fallback to cpu: no listed provider can run it");
    MB_CONTAINS(prism_session_placement(s, "text"), "fallback: 'softmax' (Softmax): fallback to cpu");
    MB_CONTAINS(prism_session_placement(s, "json"), "\"fallbacks\":[{\"node\":\"pool1\"");
    prism_tensor *y = run(s);
    prism_tensor_destroy(y);
    prism_session_destroy(s);
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_environment(o, 0));
    UNIT_OK(prism_session_options_set_providers(o, "example"));
    no_fallback(o);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, prism_session_create(env, model_path, o, &s), "'pool1' (MaxPool",
                   "'bn' (BatchNormalization", "'gap' (GlobalAveragePool", "'flatten' (Flatten", "'softmax' (Softmax");
    prism_session_options_destroy(o);
    prism_env_destroy(env);
}

static void affinity(prism_session_options *o) { UNIT_OK(prism_session_options_set_affinity(o, "Conv=cpu,fc=cpu")); }
static void affinity_node(prism_session_options *o) {
    UNIT_OK(prism_session_options_set_affinity(o, "Conv=cpu,conv1=example"));
}

static void test_affinity(void) {
    prism_env *env = new_env();
    prism_session *s = session(env, "example,cpu", affinity);
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "dwconv"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "fc"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "relu1"), "example");
    prism_session_destroy(s);
    /* A node-name entry wins over an op-type entry. */
    s = session(env, "example,cpu", affinity_node);
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "example");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "dwconv"), "cpu");
    prism_session_destroy(s);
    /* Affinity for a provider that cannot run the op: a fallback. */
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_environment(o, 0));
    UNIT_OK(prism_session_options_set_providers(o, "cpu"));
    UNIT_OK(prism_session_options_set_affinity(o, "MaxPool=example"));
    UNIT_OK(prism_session_create(env, model_path, o, &s));
    CU_ASSERT_EQUAL(node_fallback(s, "pool1"), 1);
    prism_session_destroy(s);
    no_fallback(o);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, prism_session_create(env, model_path, o, &s), "'pool1' (MaxPool)",
                   "affinity MaxPool=example");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_affinity(o, "Conv"), "NODE_OR_OP=PROVIDER");
    UNIT_OK(prism_session_options_set_affinity(o, "Conv=nosuchprovider"));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_create(env, model_path, o, &s), "nosuchprovider");
    prism_session_options_destroy(o);
    prism_env_destroy(env);
}

static void min3(prism_session_options *o) { UNIT_OK(prism_session_options_set_min_subgraph(o, 3)); }
static void latency(prism_session_options *o) { UNIT_OK(prism_session_options_set_policy(o, PRISM_POLICY_LATENCY)); }

static void test_min_subgraph_and_latency(void) {
    prism_env *env = new_env();
    prism_session *order = session(env, "example,cpu", NULL), *small = session(env, "example,cpu", min3);
    for (size_t i = 0; i < prism_session_subgraph_count(small); i++) {
        prism_subgraph_info sg = {.struct_size = sizeof sg};
        UNIT_OK(prism_session_subgraph(small, i, &sg));
        if (!strcmp(sg.provider, "example")) CU_ASSERT(sg.node_count >= 3);
    }
    CU_ASSERT(prism_session_copy_count(small) < prism_session_copy_count(order));
    MB_CONTAINS(prism_session_placement(small, "text"), "below the minimum of 3");
    /* The latency policy weighs the copies: on this small model the
     * bounces between devices cost more than they save. */
    prism_session *lat = session(env, "example,cpu", latency);
    CU_ASSERT(prism_session_copy_count(lat) < prism_session_copy_count(order));
    MB_CONTAINS(prism_session_placement(lat, "json"), "\"policy\":\"latency\"");
    prism_tensor *a = run(order), *b = run(small), *c = run(lat);
    check_close(b, a);
    check_close(c, a);
    prism_tensor_destroy(a);
    prism_tensor_destroy(b);
    prism_tensor_destroy(c);
    prism_session_destroy(order);
    prism_session_destroy(small);
    prism_session_destroy(lat);
    prism_env_destroy(env);
}

/* Environment variables redirect a program that passes no options. */
static void test_environment(void) {
    prism_env *env = new_env();
    prism_session *s;
    setenv("PRISM_PROVIDERS", "example,cpu", 1);
    UNIT_OK(prism_session_create(env, model_path, NULL, &s));
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "example");
    prism_session_destroy(s);
    setenv("PRISM_AFFINITY", "conv1=cpu", 1);
    setenv("PRISM_MIN_SUBGRAPH", "2", 1);
    UNIT_OK(prism_session_create(env, model_path, NULL, &s));
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "cpu");
    MB_CONTAINS(prism_session_placement(s, "text"), "below the minimum of 2");
    prism_session_destroy(s);
    setenv("PRISM_POLICY", "bogus", 1);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create(env, model_path, NULL, &s), "PRISM_POLICY",
                   "bogus");
    setenv("PRISM_POLICY", "prefer-accelerator", 1);
    setenv("PRISM_FALLBACK", "0", 1);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, prism_session_create(env, model_path, NULL, &s), "no accelerator device");
    setenv("PRISM_FALLBACK", "2", 1);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create(env, model_path, NULL, &s), "PRISM_FALLBACK");
    unsetenv("PRISM_FALLBACK");
    unsetenv("PRISM_POLICY");
    unsetenv("PRISM_AFFINITY");
    unsetenv("PRISM_MIN_SUBGRAPH");
    setenv("PRISM_PROVIDER_OPTIONS", "example:ops=Relu", 1);
    UNIT_OK(prism_session_create(env, model_path, NULL, &s));
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "relu1"), "example");
    prism_session_destroy(s);
    setenv("PRISM_PROVIDER_OPTIONS", "example-ops", 1);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_create(env, model_path, NULL, &s),
                   "PRISM_PROVIDER_OPTIONS");
    /* A program may opt out. */
    s = session(env, "cpu", NULL);
    CU_ASSERT_STRING_EQUAL(placed_on(s, "conv1"), "cpu");
    prism_session_destroy(s);
    unsetenv("PRISM_PROVIDER_OPTIONS");
    unsetenv("PRISM_PROVIDERS");
    prism_env_destroy(env);
}

static void test_devices_option(void) {
    setenv("PRISM_EXAMPLE_DEVICES", "2", 1);
    prism_env *env = new_env();
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_environment(o, 0));
    UNIT_OK(prism_session_options_set_providers(o, "example,cpu"));
    UNIT_OK(prism_session_options_add_provider_option_string(o, "example:device=1"));
    prism_session *s;
    UNIT_OK(prism_session_create(env, model_path, o, &s));
    prism_node_placement p = {.struct_size = sizeof p};
    UNIT_OK(prism_session_node_placement(s, 0, &p));
    CU_ASSERT_STRING_EQUAL(p.provider, "example");
    CU_ASSERT_EQUAL(p.device, 1);
    prism_session_destroy(s);
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "device", "7"));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_create(env, model_path, o, &s), "device=7", "2 devices");
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "device", "all"));
    UNIT_OK(prism_session_create(env, model_path, o, &s));
    MB_CONTAINS(prism_session_placement(s, "text"), "device example:1");
    prism_session_destroy(s);
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_add_provider_option_string(o, "example:device"),
                   "PROVIDER:KEY=VALUE");
    /* Both devices in one session: affinity picks device 1 for two nodes;
     * the values between the two devices move directly, device to device. */
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "device", "0,1"));
    UNIT_OK(prism_session_options_set_affinity(o, "relu1=example:1,dwconv=example:1"));
    UNIT_OK(prism_session_create(env, model_path, o, &s));
    const char *text = prism_session_placement(s, "text");
    MB_CONTAINS(text, "device example:1");
    MB_CONTAINS(text, "copy 'conv1' example:0 -> example:1, size known at run time, direct");
    MB_CONTAINS(text, "affinity relu1=example:1");
    bool direct = false;
    for (size_t i = 0; i < prism_session_copy_count(s); i++) {
        prism_copy_info c = {.struct_size = sizeof c};
        UNIT_OK(prism_session_copy(s, i, &c));
        direct |= c.direct && c.from_device == 0 && c.to_device == 1;
    }
    CU_ASSERT_TRUE(direct);
    prism_session *cpu = session(env, "cpu", NULL);
    prism_tensor *a = run(cpu), *b = run(s);
    check_close(b, a);
    prism_tensor_destroy(a);
    prism_tensor_destroy(b);
    prism_session_destroy(cpu);
    prism_session_destroy(s);
    UNIT_OK(prism_session_options_set_affinity(o, "relu1=example:5"));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_create(env, model_path, o, &s), "example:5", "2 devices");
    UNIT_OK(prism_session_options_set_affinity(o, ""));
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "device", "0,x"));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_FOUND, prism_session_create(env, model_path, o, &s), "device=0,x");
    prism_session_options_destroy(o);
    prism_env_destroy(env);
    unsetenv("PRISM_EXAMPLE_DEVICES");
}

/* A provider failing inside run: the error carries its message, and the
 * session can be used again. */
static void tiny_memory(prism_session_options *o) {
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "capacity_mb", "1"));
}

static void test_run_error(void) {
    prism_env *env = new_env();
    prism_session *s = session(env, "example,cpu", tiny_memory);
    /* 64 images: the first Conv's output alone is 4 MiB. */
    prism_tensor *x = image_n(64), *y = NULL;
    const char *in[] = {"image"};
    for (int i = 0; i < 2; i++) {
        MB_EXPECT_FAIL(PRISM_ERR_OUT_OF_MEMORY,
                       prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y), "provider 'example'",
                       "'conv1' (Conv", "out of device memory");
        CU_ASSERT_PTR_NULL(y);
    }
    prism_tensor_destroy(x);
    /* Still usable with an input that fits. */
    prism_tensor *ok = run(s);
    prism_tensor_destroy(ok);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

typedef struct worker {
    prism_session *s;
    const prism_tensor *want;
    int bad;
} worker;

static void *work(void *arg) {
    worker *w = arg;
    for (int i = 0; i < 10; i++) {
        prism_tensor *x = image(), *y = NULL;
        const char *in[] = {"image"};
        if (prism_session_run(w->s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y) ||
            memcmp(prism_tensor_data_const(y), prism_tensor_data_const(w->want), prism_tensor_byte_size(y)))
            w->bad++;
        prism_tensor_destroy(x);
        prism_tensor_destroy(y);
    }
    return NULL;
}

/* Concurrent runs of one split session give identical results; the env
 * destroyed while the session lives stays loaded until the session goes. */
static void test_concurrent_and_env_lifetime(void) {
    prism_env *env = new_env();
    prism_session *s = session(env, "example,cpu", NULL);
    prism_env_destroy(env);
    prism_tensor *want = run(s);
    worker w[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){.s = s, .want = want};
        CU_ASSERT_EQUAL(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(w[i].bad, 0);
    }
    prism_tensor_destroy(want);
    prism_session_destroy(s);
}

/* ---- random graphs: the split computes what the CPU computes ----------- */

static uint64_t rng_state = 99;
static uint32_t rnd(uint32_t n) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33) % n;
}

static void random_options(prism_session_options *o) {
    static const char *const subsets[] = {"Add,Mul,Relu,Tanh", "Sigmoid,Sub,Add", "Add,Sub,Mul,Div,Relu,Sigmoid,Tanh",
                                          "Tanh,Sigmoid", "Mul,Relu,Tanh"};
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "ops", subsets[rnd(5)]));
    UNIT_OK(prism_session_options_set_provider_option(o, "example", "device", rnd(2) ? "0" : "0,1"));
    UNIT_OK(prism_session_options_set_min_subgraph(o, 1 + rnd(3)));
    UNIT_OK(prism_session_options_set_policy(o, rnd(3) ? PRISM_POLICY_PROVIDER_ORDER : PRISM_POLICY_LATENCY));
    UNIT_OK(prism_session_options_set_affinity(o, rnd(3) ? "Tanh=example:1,Sigmoid=example:1,n3=cpu" : "n3=cpu"));
}

/* Elementwise graphs (ops the accelerator runs, and Exp/Abs it does not)
 * with broadcasting, split at random between two accelerator devices and
 * the CPU: every output equals the CPU's alone. */
static void test_random_splits(void) {
    setenv("PRISM_EXAMPLE_DEVICES", "2", 1);
    prism_env *env = new_env();
    static const char *const ops[] = {"Add", "Sub", "Mul", "Relu", "Sigmoid", "Tanh", "Exp", "Abs"};
    const int64_t full[2] = {4, 8}, row[2] = {1, 8};
    size_t copies = 0, direct = 0, subgraphs = 0;
    for (int iter = 0; iter < 60; iter++) {
        mb_model *m = mb_new(17);
        mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, full);
        mb_input(m, "R", PRISM_DTYPE_FLOAT, 2, row);
        char names[32][16] = {"X", "R"};
        int count = 2, nodes = 4 + (int)rnd(12);
        for (int i = 0; i < nodes; i++) {
            const char *op = ops[rnd(8)];
            bool binary = !strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul");
            char node[16], ins[40];
            snprintf(node, sizeof node, "n%d", i);
            /* The first input always has the full shape; a binary op's
             * second may be the broadcast row. */
            const char *a = names[rnd((uint32_t)count)];
            if (!strcmp(a, "R")) a = "X";
            snprintf(ins, sizeof ins, binary ? "%s,%s" : "%s", a, names[rnd((uint32_t)count)]);
            snprintf(names[count], 16, "v%d", i);
            mb_node(m, op, node, ins, names[count++]);
        }
        mb_output(m, names[count - 1], PRISM_DTYPE_FLOAT, 2, full);
        if (count > 4) mb_output(m, names[count - 2], PRISM_DTYPE_FLOAT, 2, full);
        size_t size;
        uint8_t *bytes = mb_pack(m, &size);
        mb_free(m);
        prism_session_options *oc, *oh;
        UNIT_OK(prism_session_options_create(&oc));
        UNIT_OK(prism_session_options_create(&oh));
        UNIT_OK(prism_session_options_set_environment(oc, 0));
        UNIT_OK(prism_session_options_set_environment(oh, 0));
        UNIT_OK(prism_session_options_set_providers(oh, "example,cpu"));
        random_options(oh);
        prism_session *sc = NULL, *sh = NULL;
        UNIT_OK(prism_session_create_from_memory(env, bytes, size, oc, &sc));
        UNIT_OK(prism_session_create_from_memory(env, bytes, size, oh, &sh));
        free(bytes);
        subgraphs += prism_session_subgraph_count(sh);
        for (size_t i = 0; i < prism_session_copy_count(sh); i++) {
            prism_copy_info c = {.struct_size = sizeof c};
            UNIT_OK(prism_session_copy(sh, i, &c));
            copies++;
            direct += (size_t)c.direct;
        }
        size_t nout = prism_session_output_count(sc);
        prism_tensor *x, *r, *in[2], *yc[2] = {0}, *yh[2] = {0};
        UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, full, 2, &x));
        UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, row, 2, &r));
        for (int i = 0; i < 32; i++) ((float *)prism_tensor_data(x))[i] = (float)rnd(200) / 50.0f - 2.0f;
        for (int i = 0; i < 8; i++) ((float *)prism_tensor_data(r))[i] = (float)rnd(200) / 50.0f - 2.0f;
        in[0] = x;
        in[1] = r;
        const char *names_in[] = {"X", "R"};
        UNIT_OK(prism_session_run(sc, names_in, (const prism_tensor *const *)in, 2, NULL, nout, yc));
        UNIT_OK(prism_session_run(sh, names_in, (const prism_tensor *const *)in, 2, NULL, nout, yh));
        for (size_t k = 0; k < nout; k++) {
            check_close(yh[k], yc[k]);
            prism_tensor_destroy(yc[k]);
            prism_tensor_destroy(yh[k]);
        }
        prism_tensor_destroy(x);
        prism_tensor_destroy(r);
        prism_session_destroy(sc);
        prism_session_destroy(sh);
        prism_session_options_destroy(oc);
        prism_session_options_destroy(oh);
    }
    /* The splits were real: many subgraphs, copies, some device to device. */
    CU_ASSERT(subgraphs > 80);
    CU_ASSERT(copies > 60);
    CU_ASSERT(direct > 0);
    if (copies <= 60 || !direct) fprintf(stderr, "\n%zu subgraphs, %zu copies, %zu direct\n", subgraphs, copies, direct);
    prism_env_destroy(env);
    unsetenv("PRISM_EXAMPLE_DEVICES");
}

/* A fixed symbolic dim makes every copy's size known; runs then refuse
 * other sizes. */
static void dim_n2(prism_session_options *o) { UNIT_OK(prism_session_options_set_dim(o, "N", 2)); }

static void test_fixed_dims(void) {
    prism_env *env = new_env();
    prism_session *s = session(env, "example,cpu", dim_n2);
    CU_ASSERT(prism_session_copy_count(s) > 0);
    for (size_t i = 0; i < prism_session_copy_count(s); i++) {
        prism_copy_info c = {.struct_size = sizeof c};
        UNIT_OK(prism_session_copy(s, i, &c));
        CU_ASSERT(c.bytes > 0);
    }
    MB_CONTAINS(prism_session_placement(s, "text"), "copy 'image' host:0 -> example:0, 24576 bytes");
    prism_value_info vi = {.struct_size = sizeof vi};
    UNIT_OK(prism_session_input(s, 0, &vi));
    CU_ASSERT_EQUAL(vi.dims[0], 2);
    prism_tensor *y = run(s); /* IMG has N = 2 */
    prism_tensor_destroy(y);
    prism_tensor *x = image_n(3);
    const char *in[] = {"image"};
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y),
                   "dim 0 = 3", "expects 2");
    prism_tensor_destroy(x);
    prism_session_destroy(s);
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_dim(o, "N", -1), "dim 'N'");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, prism_session_options_set_dim(o, "", 1), "empty name");
    prism_session_options_destroy(o);
    prism_env_destroy(env);
}

/* Y = Relu(X) on the accelerator is read on the CPU only by Shape: its
 * shape reaches the host, its data does not. */
static void test_shape_only(void) {
    mb_model *m = mb_new(17);
    const int64_t dims[2] = {-1, 16};
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, dims);
    mb_node(m, "Relu", "relu", "X", "Y");
    mb_node(m, "Shape", "shape", "Y", "S");
    mb_node(m, "Sigmoid", "sig", "Y", "W");
    mb_output(m, "W", PRISM_DTYPE_FLOAT, 2, dims);
    mb_output(m, "S", PRISM_DTYPE_INT64, 1, (int64_t[]){2});
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    mb_free(m);
    prism_env *env = new_env();
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_environment(o, 0));
    UNIT_OK(prism_session_options_set_providers(o, "example,cpu"));
    prism_session *s;
    UNIT_OK(prism_session_create_from_memory(env, bytes, size, o, &s));
    free(bytes);
    prism_session_options_destroy(o);
    CU_ASSERT_STRING_EQUAL(placed_on(s, "shape"), "cpu");
    CU_ASSERT_STRING_EQUAL(placed_on(s, "relu"), "example");
    MB_CONTAINS(prism_session_placement(s, "text"), "shape of 'Y' example:0 -> host:0, no data moved");
    MB_CONTAINS(prism_session_placement(s, "json"), "\"shape_only\":true");
    size_t shape_steps = 0;
    for (size_t i = 0; i < prism_session_copy_count(s); i++) {
        prism_copy_info c = {.struct_size = sizeof c};
        UNIT_OK(prism_session_copy(s, i, &c));
        if (!strcmp(c.value, "Y")) {
            CU_ASSERT_TRUE(c.shape_only);
            CU_ASSERT_EQUAL(c.bytes, 0);
            shape_steps++;
        }
    }
    CU_ASSERT_EQUAL(shape_steps, 1);
    const int64_t xd[2] = {3, 16};
    prism_tensor *x, *out[2] = {0};
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, xd, 2, &x));
    for (int i = 0; i < 48; i++) ((float *)prism_tensor_data(x))[i] = (float)i - 20.0f;
    const char *in[] = {"X"};
    UNIT_OK(prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 2, out));
    const int64_t *shape = prism_tensor_data_const(out[1]);
    CU_ASSERT_EQUAL(shape[0], 3);
    CU_ASSERT_EQUAL(shape[1], 16);
    const float *w = prism_tensor_data_const(out[0]);
    CU_ASSERT(fabsf(w[0] - 0.5f) < 1e-6f);                       /* sigmoid(relu(-20)) */
    CU_ASSERT(fabsf(w[47] - 1.0f / (1.0f + expf(-27.0f))) < 1e-6f); /* sigmoid(27) */
    prism_tensor_destroy(out[0]);
    prism_tensor_destroy(out[1]);
    prism_tensor_destroy(x);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

/* The DOT report renders with Graphviz: one box per subgraph. */
static void test_dot_renders(void) {
    prism_env *env = new_env();
    prism_session *s = session(env, "example,cpu", NULL);
    char *dir = mb_tempdir(), *dot = mb_path(dir, "p.dot"), *svg = mb_path(dir, "p.svg");
    const char *text = prism_session_placement(s, "dot");
    CU_ASSERT_TRUE_FATAL(mb_write_file(dot, text, strlen(text)));
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "dot -Tsvg '%s' -o '%s'", dot, svg);
    CU_ASSERT_EQUAL(system(cmd), 0);
    FILE *f = fopen(svg, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    size_t clusters = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) clusters += strstr(line, "class=\"cluster\"") != NULL;
    fclose(f);
    CU_ASSERT_EQUAL(clusters, prism_session_subgraph_count(s));
    mb_rmtree(dir);
    free(dir);
    free(dot);
    free(svg);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

int main(void) {
    const char *src = getenv("PRISM_SOURCE_DIR");
    model_path = mb_path(src ? src : ".", "examples/tiny_cnn.onnx");
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("heterogeneous execution", NULL, NULL);
    CU_add_test(s, "split matches the CPU", test_split_matches_cpu);
    CU_add_test(s, "fallback reported or refused", test_fallback);
    CU_add_test(s, "affinity", test_affinity);
    CU_add_test(s, "min subgraph and latency policy", test_min_subgraph_and_latency);
    CU_add_test(s, "environment variables", test_environment);
    CU_add_test(s, "device option", test_devices_option);
    CU_add_test(s, "run error inside a provider", test_run_error);
    CU_add_test(s, "concurrent runs, env lifetime", test_concurrent_and_env_lifetime);
    CU_add_test(s, "DOT renders with Graphviz", test_dot_renders);
    CU_add_test(s, "fixed symbolic dims", test_fixed_dims);
    CU_add_test(s, "shape-only reads move no data", test_shape_only);
    CU_add_test(s, "random splits match the CPU", test_random_splits);
    int rc = unit_run_all();
    free(model_path);
    return rc;
}
