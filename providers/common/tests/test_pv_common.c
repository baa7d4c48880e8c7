/*
 * test_pv_common.c — the providers' shared helpers on their own: handle
 * tables (foreign, stale and garbage handles refused, growth, drain), the
 * attribute getters' type rule, the work counts and the host ABI check, over a small fake graph
 * view so that every branch can be reached without a model.
 */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pv_attr.h"
#include "pv_cost.h"
#include "pv_handles.h"
#include "pv_init.h"

/* ---- handles ---------------------------------------------------------------- */

static void test_handles_basic(void) {
    pv_handle_table a, b;
    CU_ASSERT_FATAL(pv_handles_init(&a, 0xA, 1));
    CU_ASSERT_FATAL(pv_handles_init(&b, 0xA, 2));
    int x = 0, y = 0;
    void *ha = NULL, *hb = NULL, *p = NULL;
    size_t n = 0;
    CU_ASSERT_FATAL(pv_handles_add(&a, &x, 12, &ha));
    CU_ASSERT_FATAL(pv_handles_add(&b, &y, 34, &hb));
    CU_ASSERT((uintptr_t)ha >> 63); /* never a user-space address */
    CU_ASSERT(((uintptr_t)ha & 0xF) == 0xA);
    CU_ASSERT(pv_handles_lookup(&a, ha, &p, &n));
    CU_ASSERT_PTR_EQUAL(p, &x);
    CU_ASSERT_EQUAL(n, 12);
    /* Same slot, same generation, another owner: refused both ways. */
    CU_ASSERT_FALSE(pv_handles_lookup(&a, hb, &p, &n));
    CU_ASSERT_FALSE(pv_handles_lookup(&b, ha, &p, &n));
    /* Garbage, host pointers, another tag. */
    CU_ASSERT_FALSE(pv_handles_lookup(&a, &x, NULL, NULL));
    CU_ASSERT_FALSE(pv_handles_lookup(&a, NULL, NULL, NULL));
    CU_ASSERT_FALSE(pv_handles_lookup(&a, (void *)((uintptr_t)ha ^ 0x6), NULL, NULL));
    CU_ASSERT_FALSE(pv_handles_lookup(&a, (void *)((uintptr_t)ha + ((uintptr_t)5 << 4)), NULL, NULL));
    /* Stale: removed, then the slot reused. Outputs untouched on failure. */
    p = NULL;
    n = 0;
    CU_ASSERT(pv_handles_remove(&a, ha, &p, &n));
    CU_ASSERT_PTR_EQUAL(p, &x);
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_FALSE(pv_handles_remove(&a, ha, &p, &n));
    void *again = NULL;
    CU_ASSERT_FATAL(pv_handles_add(&a, &y, 7, &again));
    CU_ASSERT_PTR_NOT_EQUAL(again, ha);
    p = &n;
    CU_ASSERT_FALSE(pv_handles_lookup(&a, ha, &p, &n));
    CU_ASSERT_PTR_EQUAL(p, &n);
    CU_ASSERT(pv_handles_lookup(&a, again, NULL, NULL));
    pv_handles_drain(&a, NULL, NULL);
    CU_ASSERT_FALSE(pv_handles_lookup(&a, again, NULL, NULL));
    pv_handles_fini(&a);
    pv_handles_fini(&b);
    pv_handles_fini(NULL);
}

typedef struct drained {
    size_t calls, bytes;
} drained;

static void count_release(void *ctx, void *payload, size_t bytes) {
    drained *d = ctx;
    d->calls++;
    d->bytes += bytes;
    (void)payload;
}

static void test_handles_growth_and_drain(void) {
    enum { N = 1000 };
    static void *h[N];
    static char store[N];
    pv_handle_table t;
    CU_ASSERT_FATAL(pv_handles_init(&t, 0xC, 77));
    for (size_t i = 0; i < N; i++) CU_ASSERT_FATAL(pv_handles_add(&t, &store[i], i, &h[i]));
    for (size_t i = 0; i < N; i += 2) CU_ASSERT(pv_handles_remove(&t, h[i], NULL, NULL));
    size_t live = 0, bytes = 0;
    for (size_t i = 0; i < N; i++) {
        void *p = NULL;
        size_t n = 0;
        bool ok = pv_handles_lookup(&t, h[i], &p, &n);
        CU_ASSERT_EQUAL(ok, i % 2 == 1);
        if (ok) {
            CU_ASSERT_PTR_EQUAL(p, &store[i]);
            CU_ASSERT_EQUAL(n, i);
            live++;
            bytes += n;
        }
    }
    drained d = {0, 0};
    pv_handles_drain(&t, count_release, &d);
    CU_ASSERT_EQUAL(d.calls, live);
    CU_ASSERT_EQUAL(d.bytes, bytes);
    for (size_t i = 0; i < N; i++) CU_ASSERT_FALSE(pv_handles_lookup(&t, h[i], NULL, NULL));
    pv_handles_fini(&t);
}

/* ---- a fake graph view: one node, a few attributes and values --------------- */

typedef struct fake_attr {
    const char *name;
    int32_t type;
    int64_t i;
    float f;
    const char *s;
    const int64_t *ints;
    const float *floats;
    size_t count;
} fake_attr;

typedef struct fake_value {
    int32_t rank;
    int64_t dims[4];
} fake_value;

typedef struct fake_graph {
    const char *op;
    const fake_attr *attrs;
    size_t n_attrs;
    const fake_value *values; /* inputs 0..n_in-1, then outputs */
    uint32_t n_in, n_out;
} fake_graph;

#define FG(g) ((const fake_graph *)(const void *)(g))

static int32_t f_find(const prism_graph_view *g, uint32_t node, const char *name) {
    (void)node;
    for (size_t i = 0; i < FG(g)->n_attrs; i++)
        if (!strcmp(FG(g)->attrs[i].name, name)) return (int32_t)i;
    return -1;
}
static int32_t f_type(const prism_graph_view *g, uint32_t node, uint32_t a) {
    (void)node;
    return FG(g)->attrs[a].type;
}
static int64_t f_int(const prism_graph_view *g, uint32_t node, uint32_t a) {
    (void)node;
    return FG(g)->attrs[a].i;
}
static float f_float(const prism_graph_view *g, uint32_t node, uint32_t a) {
    (void)node;
    return FG(g)->attrs[a].f;
}
static const char *f_string(const prism_graph_view *g, uint32_t node, uint32_t a, size_t *len) {
    (void)node;
    if (len) *len = FG(g)->attrs[a].s ? strlen(FG(g)->attrs[a].s) : 0;
    return FG(g)->attrs[a].s;
}
static const int64_t *f_ints(const prism_graph_view *g, uint32_t node, uint32_t a, size_t *count) {
    (void)node;
    *count = FG(g)->attrs[a].count;
    return FG(g)->attrs[a].ints;
}
static const float *f_floats(const prism_graph_view *g, uint32_t node, uint32_t a, size_t *count) {
    (void)node;
    *count = FG(g)->attrs[a].count;
    return FG(g)->attrs[a].floats;
}
static const char *f_op(const prism_graph_view *g, uint32_t node) {
    (void)node;
    return FG(g)->op;
}
static uint32_t f_nin(const prism_graph_view *g, uint32_t node) {
    (void)node;
    return FG(g)->n_in;
}
static uint32_t f_nout(const prism_graph_view *g, uint32_t node) {
    (void)node;
    return FG(g)->n_out;
}
static uint32_t f_in(const prism_graph_view *g, uint32_t node, uint32_t k) {
    (void)node;
    return FG(g)->values[k].rank == -2 ? PRISM_NO_VALUE : k;
}
static uint32_t f_out(const prism_graph_view *g, uint32_t node, uint32_t k) {
    (void)node;
    return FG(g)->n_in + k;
}
static int32_t f_rank(const prism_graph_view *g, uint32_t v) { return FG(g)->values[v].rank; }
static int64_t f_dim(const prism_graph_view *g, uint32_t v, uint32_t axis) { return FG(g)->values[v].dims[axis]; }

static prism_host_api fake_host(void) {
    prism_host_api h;
    memset(&h, 0, sizeof h);
    h.node_attr_find = f_find;
    h.attr_type = f_type;
    h.attr_int = f_int;
    h.attr_float = f_float;
    h.attr_string = f_string;
    h.attr_ints = f_ints;
    h.attr_floats = f_floats;
    h.node_op_type = f_op;
    h.node_input_count = f_nin;
    h.node_output_count = f_nout;
    h.node_input = f_in;
    h.node_output = f_out;
    h.value_rank = f_rank;
    h.value_dim = f_dim;
    return h;
}

static void test_attrs(void) {
    static const int64_t ints[] = {1, 2, 3};
    static const float floats[] = {0.5f, 1.5f};
    const fake_attr attrs[] = {
        {.name = "axis", .type = PRISM_ATTR_INT, .i = -1},
        {.name = "alpha", .type = PRISM_ATTR_FLOAT, .f = 0.25f},
        {.name = "mode", .type = PRISM_ATTR_STRING, .s = "nearest"},
        {.name = "pads", .type = PRISM_ATTR_INTS, .ints = ints, .count = 3},
        {.name = "scales", .type = PRISM_ATTR_FLOATS, .floats = floats, .count = 2},
        {.name = "bad", .type = PRISM_ATTR_FLOAT, .f = 9.0f, .i = 9},
        {.name = "nostr", .type = PRISM_ATTR_STRING, .s = NULL},
    };
    fake_graph fg = {.op = "X", .attrs = attrs, .n_attrs = sizeof attrs / sizeof *attrs};
    const prism_graph_view *g = (const prism_graph_view *)(const void *)&fg;
    prism_host_api h = fake_host();
    CU_ASSERT_EQUAL(pv_attr_find(&h, g, 0, "axis", PRISM_ATTR_INT), 0);
    CU_ASSERT_EQUAL(pv_attr_find(&h, g, 0, "axis", PRISM_ATTR_FLOAT), -1);
    CU_ASSERT_EQUAL(pv_attr_find(&h, g, 0, "none", PRISM_ATTR_INT), -1);
    CU_ASSERT(pv_attr_has(&h, g, 0, "bad"));
    CU_ASSERT_FALSE(pv_attr_has(&h, g, 0, "none"));
    CU_ASSERT_EQUAL(pv_attr_int(&h, g, 0, "axis", 5), -1);
    CU_ASSERT_EQUAL(pv_attr_int(&h, g, 0, "bad", 5), 5); /* wrong type = absent */
    CU_ASSERT_EQUAL(pv_attr_int(&h, g, 0, "none", 5), 5);
    CU_ASSERT_EQUAL(pv_attr_float(&h, g, 0, "alpha", 1.0f), 0.25f);
    CU_ASSERT_EQUAL(pv_attr_float(&h, g, 0, "axis", 1.0f), 1.0f);
    CU_ASSERT_STRING_EQUAL(pv_attr_string(&h, g, 0, "mode", "x"), "nearest");
    CU_ASSERT_STRING_EQUAL(pv_attr_string(&h, g, 0, "nostr", "x"), "x");
    CU_ASSERT_STRING_EQUAL(pv_attr_string(&h, g, 0, "alpha", "x"), "x");
    const int64_t *pi = ints + 1;
    CU_ASSERT_EQUAL(pv_attr_ints(&h, g, 0, "pads", &pi), 3);
    CU_ASSERT_PTR_EQUAL(pi, ints);
    CU_ASSERT_EQUAL(pv_attr_ints(&h, g, 0, "scales", &pi), 0);
    CU_ASSERT_PTR_NULL(pi);
    CU_ASSERT_EQUAL(pv_attr_ints(&h, g, 0, "pads", NULL), 3);
    const float *pf = NULL;
    CU_ASSERT_EQUAL(pv_attr_floats(&h, g, 0, "scales", &pf), 2);
    CU_ASSERT_PTR_EQUAL(pf, floats);
    CU_ASSERT_EQUAL(pv_attr_floats(&h, g, 0, "none", &pf), 0);
    CU_ASSERT_PTR_NULL(pf);
}

static void test_work(void) {
    prism_host_api h = fake_host();
    /* Conv: X 1x3x8x8, W 16x3x3x3, Y 1x16x6x6. */
    fake_value conv_v[] = {{4, {1, 3, 8, 8}}, {4, {16, 3, 3, 3}}, {4, {1, 16, 6, 6}}};
    fake_graph conv = {.op = "Conv", .values = conv_v, .n_in = 2, .n_out = 1};
    double flops = -1, bytes = -1;
    pv_node_work(&h, (const prism_graph_view *)(const void *)&conv, 0, &flops, &bytes);
    CU_ASSERT_DOUBLE_EQUAL(flops, 2.0 * 576 * 27, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(bytes, 4.0 * (192 + 432 + 576), 1e-9);
    /* Gemm with transA: A 5x7 (K = 5), B 5x3, Y 7x3; an unknown-rank C
     * counts 4096 elements. */
    const fake_attr ta[] = {{.name = "transA", .type = PRISM_ATTR_INT, .i = 1}};
    fake_value gemm_v[] = {{2, {5, 7}}, {2, {5, 3}}, {-1, {0}}, {2, {7, 3}}};
    fake_graph gemm = {.op = "Gemm", .attrs = ta, .n_attrs = 1, .values = gemm_v, .n_in = 3, .n_out = 1};
    pv_node_work(&h, (const prism_graph_view *)(const void *)&gemm, 0, &flops, &bytes);
    CU_ASSERT_DOUBLE_EQUAL(flops, 2.0 * 21 * 5, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(bytes, 4.0 * (35 + 15 + 4096 + 21), 1e-9);
    gemm.n_attrs = 0; /* K = 7 without transA */
    pv_node_work(&h, (const prism_graph_view *)(const void *)&gemm, 0, &flops, &bytes);
    CU_ASSERT_DOUBLE_EQUAL(flops, 2.0 * 21 * 7, 1e-9);
    /* MatMul with an unknown K; Relu: no FLOPs counted, an omitted input
     * costs nothing. */
    fake_value mm_v[] = {{3, {2, 4, -1}}, {2, {6, 3}}, {3, {2, 4, 3}}};
    fake_graph mm = {.op = "MatMul", .values = mm_v, .n_in = 2, .n_out = 1};
    pv_node_work(&h, (const prism_graph_view *)(const void *)&mm, 0, &flops, &bytes);
    CU_ASSERT_EQUAL(flops, 0);
    CU_ASSERT_DOUBLE_EQUAL(bytes, 4.0 * (4096 + 18 + 24), 1e-9);
    fake_value relu_v[] = {{1, {10}}, {-2, {0}}, {1, {10}}};
    fake_graph relu = {.op = "Relu", .values = relu_v, .n_in = 2, .n_out = 1};
    pv_node_work(&h, (const prism_graph_view *)(const void *)&relu, 0, &flops, &bytes);
    CU_ASSERT_EQUAL(flops, 0);
    CU_ASSERT_DOUBLE_EQUAL(bytes, 80.0, 1e-9);
    CU_ASSERT_EQUAL(pv_value_elems(&h, (const prism_graph_view *)(const void *)&relu, PRISM_NO_VALUE, 7), 0);
    CU_ASSERT_EQUAL(pv_value_elems(&h, (const prism_graph_view *)(const void *)&mm, 0, 7), 7);
}

/* ---- host ABI check ---------------------------------------------------------- */

static char last_error[256];
static void f_set_error(prism_host_context *hc, const char *message) {
    (void)hc;
    snprintf(last_error, sizeof last_error, "%s", message);
}

static void test_check_host(void) {
    prism_host_api h = fake_host();
    h.struct_size = sizeof h;
    h.set_error = f_set_error;
    int p = 0, a = 0;
    const uint32_t v1_3 = (1u << 16) | 3u, v2_0 = 2u << 16;
    CU_ASSERT_EQUAL(pv_check_host(&h, PRISM_PROVIDER_ABI_VERSION, &p, &a, "the test provider"), PRISM_OK);
    CU_ASSERT_EQUAL(pv_check_host(&h, v1_3, &p, &a, "the test provider"), PRISM_OK);
    CU_ASSERT_EQUAL(pv_check_host(NULL, v1_3, &p, &a, "x"), PRISM_ERR_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(pv_check_host(&h, v1_3, NULL, &a, "x"), PRISM_ERR_INVALID_ARGUMENT);
    last_error[0] = '\0';
    CU_ASSERT_EQUAL(pv_check_host(&h, v2_0, &p, &a, "the test provider"), PRISM_ERR_ABI_MISMATCH);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "the test provider needs host ABI 1.x; the host has 2.0"));
    h.struct_size = (uint32_t)PRISM_HOST_API_V1_SIZE - 8; /* a 1.x table too small for 1.0's members */
    last_error[0] = '\0';
    CU_ASSERT_EQUAL(pv_check_host(&h, v1_3, &p, &a, "the test provider"), PRISM_ERR_ABI_MISMATCH);
    CU_ASSERT_PTR_NOT_NULL(strstr(last_error, "the host has 1.3"));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("pv_common", NULL, NULL);
    CU_add_test(s, "handle tables: foreign, stale and garbage handles", test_handles_basic);
    CU_add_test(s, "handle tables: growth, free list and drain", test_handles_growth_and_drain);
    CU_add_test(s, "attribute getters: a mistyped attribute is absent", test_attrs);
    CU_add_test(s, "node work: bytes and contraction FLOPs", test_work);
    CU_add_test(s, "host ABI check: major version and table size", test_check_host);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
