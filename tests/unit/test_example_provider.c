/*
 * test_example_provider.c — the example provider (a simulated accelerator
 * with its own memory): its devices and options through the public API; its
 * memory functions straight through the ABI (opaque handles, bounds,
 * capacity, device-to-device copies); and every op it claims, run on it as
 * single-node models and compared with the CPU provider, plus chains,
 * models split between it and the CPU, capacity errors and concurrent runs.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "provider_compare.h"
#include "prism/provider.h"
#include "unit_util.h"

static prism_env *env;

static int suite_init(void) {
    pc_seed(12345);
    return prism_env_create(&env) == PRISM_OK ? 0 : 1;
}
static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

/* A session on m in this program's env (see pc_session). */
static prism_status model_session(mb_model *m, const char *providers, int fallback, const char *const *opts,
                                  prism_session **out) {
    return pc_session(env, m, providers, fallback != 0, opts, out);
}

/* Run the model (output "Y") on the example provider alone and on the CPU
 * provider; every node must be placed on the example provider and the
 * results must agree. Frees m and the feed. */
static void compare_with_cpu(mb_model *m, pc_feed *f, const char *label) {
    prism_session *cpu = NULL, *ex = NULL;
    prism_status st = model_session(m, "cpu", 1, NULL, &cpu);
    if (st) fprintf(stderr, "\n  %s: cpu session: %s\n", label, prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    st = model_session(m, "example", 0, NULL, &ex);
    if (st) fprintf(stderr, "\n  %s: example session: %s\n", label, prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    if (cpu && ex) {
        for (size_t i = 0; i < prism_session_node_count(ex); i++) {
            prism_node_placement p = {.struct_size = sizeof p};
            UNIT_OK(prism_session_node_placement(ex, i, &p));
            CU_ASSERT_STRING_EQUAL(p.provider, "example");
        }
        prism_tensor *want = pc_run1(cpu, f), *got = pc_run1(ex, f);
        if (want && got) pc_expect_close(got, want, 1e-5f, 1e-4f, "example", label);
        prism_tensor_destroy(want);
        prism_tensor_destroy(got);
    }
    prism_session_destroy(cpu);
    prism_session_destroy(ex);
    pc_feed_free(f);
    mb_free(m);
}

#define D(...) (const int64_t[]){__VA_ARGS__}

/* ---- devices and options through the public API -------------------------------- */

static size_t provider_index(prism_env *e, const char *name) {
    for (size_t i = 0; i < prism_env_provider_count(e); i++)
        if (!strcmp(prism_env_provider_name(e, i), name)) return i;
    return SIZE_MAX;
}

static void test_device_info(void) {
    UNIT_OK(prism_env_load_provider(env, "example"));
    size_t p = provider_index(env, "example");
    CU_ASSERT_FATAL(p != SIZE_MAX);
    CU_ASSERT_EQUAL(prism_env_device_count(env, p), 1);
    prism_device_desc d = {.struct_size = sizeof d};
    UNIT_OK(prism_env_device(env, p, 0, &d));
    CU_ASSERT_EQUAL(d.type, PRISM_DEVICE_ACCELERATOR);
    CU_ASSERT_STRING_EQUAL(d.name, "Prism simulated accelerator 0");
    CU_ASSERT_STRING_EQUAL(d.vendor, "Prism example");
    CU_ASSERT_EQUAL(d.memory_bytes, 4096ull << 20);
    CU_ASSERT_FATAL(d.properties != NULL);
    MB_CONTAINS(d.properties, "simulated=1");
    MB_CONTAINS(d.properties, "ops=Add,Sub,Mul,Div,Relu,Sigmoid,Tanh,LeakyRelu,Clip,Conv,Gemm,MatMul");
    MB_CONTAINS(d.properties, "capacity_mb=4096");
    CU_ASSERT_EQUAL(prism_env_device(env, p, 1, &d), PRISM_ERR_NOT_FOUND);
}

/* The device count comes from PRISM_EXAMPLE_DEVICES when the provider loads. */
static void with_devices(const char *value, size_t want_count, const char *want_reason) {
    setenv("PRISM_EXAMPLE_DEVICES", value, 1);
    prism_env *e;
    UNIT_OK(prism_env_create(&e));
    prism_status st = prism_env_load_provider(e, "example");
    unsetenv("PRISM_EXAMPLE_DEVICES");
    size_t p = provider_index(e, "example");
    if (st == PRISM_OK && p != SIZE_MAX) {
        CU_ASSERT_EQUAL(prism_env_device_count(e, p), want_count);
        if (want_reason) MB_CONTAINS(prism_env_provider_reason(e, p), want_reason);
        if (want_count > 1) {
            prism_device_desc d = {.struct_size = sizeof d};
            UNIT_OK(prism_env_device(e, p, want_count - 1, &d));
            char name[64];
            snprintf(name, sizeof name, "Prism simulated accelerator %zu", want_count - 1);
            CU_ASSERT_STRING_EQUAL(d.name, name);
        }
    } else {
        /* A provider without devices may also be refused outright; the
         * reason must then be in the error. */
        CU_ASSERT_EQUAL(want_count, 0);
        if (want_reason) MB_CONTAINS(prism_last_error_message(), want_reason);
    }
    prism_env_destroy(e);
}

static void test_device_count_env(void) {
    with_devices("3", 3, NULL);
    with_devices("0", 0, "PRISM_EXAMPLE_DEVICES=0");
    with_devices("two", 0, "PRISM_EXAMPLE_DEVICES='two'");
    with_devices("-1", 0, "PRISM_EXAMPLE_DEVICES='-1'");
}

static void test_bad_options(void) {
    mb_model *m = pc_one_node(17, "Relu", "X", NULL);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(2, 3));
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   model_session(m, "example", 0, (const char *const[]){"example:bogus_key=1", NULL}, &s),
                   "bogus_key");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   model_session(m, "example", 0, (const char *const[]){"example:ops=Relu,NoSuchOp", NULL}, &s),
                   "NoSuchOp");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   model_session(m, "example", 0, (const char *const[]){"example:capacity_mb=-5", NULL}, &s),
                   "capacity_mb");
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT,
                   model_session(m, "example", 0, (const char *const[]){"example:throughput_gflops=0", NULL}, &s),
                   "throughput_gflops");
    /* Known options are accepted. */
    UNIT_OK(model_session(m, "example", 0,
                          (const char *const[]){"example:capacity_mb=1", "example:throughput_gflops=10",
                                                "example:ops=Relu,Add", NULL},
                          &s));
    prism_session_destroy(s);
    mb_free(m);
}

/* ops= restricts what the provider claims: a Relu left out of the list goes
 * to the CPU (or fails with fallback off). */
static void test_ops_option(void) {
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(2, 3));
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_node(m, "Sigmoid", "sig", "X", "S");
    mb_node(m, "Relu", "relu", "S", "Y");
    const char *const only_sigmoid[] = {"example:ops=Sigmoid", NULL};
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, model_session(m, "example", 0, only_sigmoid, &s), "relu");
    UNIT_OK(model_session(m, "example,cpu", 1, only_sigmoid, &s));
    prism_node_placement p = {.struct_size = sizeof p};
    for (size_t i = 0; i < prism_session_node_count(s); i++) {
        UNIT_OK(prism_session_node_placement(s, i, &p));
        CU_ASSERT_STRING_EQUAL(p.provider, strcmp(p.op_type, "Sigmoid") ? "cpu" : "example");
    }
    prism_session_destroy(s);
    mb_free(m);
}

/* ---- the memory functions, straight through the ABI ------------------------------ */

static char abi_error[512];
static void fake_set_error(prism_host_context *hc, const char *message) {
    (void)hc;
    snprintf(abi_error, sizeof abi_error, "%s", message ? message : "");
}
static void fake_log(prism_host_context *hc, int32_t level, const char *message) {
    (void)hc, (void)level, (void)message;
}
static void *fake_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

typedef struct abi_plugin {
    void *dl;
    prism_provider_init_fn init;
    prism_provider_probe_fn probe;
    prism_host_api host;
} abi_plugin;

static bool abi_open(abi_plugin *a) {
    memset(a, 0, sizeof *a);
    UNIT_OK(prism_env_load_provider(env, "example"));
    const char *path = prism_env_provider_path(env, provider_index(env, "example"));
    CU_ASSERT_FATAL(path != NULL);
    a->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CU_ASSERT_FATAL(a->dl != NULL);
    a->init = (prism_provider_init_fn)dlsym(a->dl, PRISM_PROVIDER_INIT_SYMBOL);
    a->probe = (prism_provider_probe_fn)dlsym(a->dl, PRISM_PROVIDER_PROBE_SYMBOL);
    CU_ASSERT_FATAL(a->init != NULL && a->probe != NULL);
    a->host.struct_size = sizeof a->host;
    a->host.abi_major = PRISM_PROVIDER_ABI_MAJOR;
    a->host.abi_minor = PRISM_PROVIDER_ABI_MINOR;
    a->host.set_error = fake_set_error;
    a->host.log = fake_log;
    a->host.mem_alloc = fake_alloc;
    a->host.mem_free = free;
    return true;
}

static void test_abi_entry(void) {
    abi_plugin a;
    abi_open(&a);
    CU_ASSERT_EQUAL(a.probe(), PRISM_PROVIDER_ABI_VERSION);
    /* Only the two entry points leave the library. */
    CU_ASSERT_PTR_NULL(dlsym(a.dl, "ex_run"));
    CU_ASSERT_PTR_NULL(dlsym(a.dl, "ex_sgemm"));
    prism_provider *p = NULL;
    const prism_provider_api *api = NULL;
    CU_ASSERT_EQUAL(a.init(&a.host, 2u << 16, &p, &api), PRISM_ERR_ABI_MISMATCH);
    MB_CONTAINS(abi_error, "host ABI 1.x");
    UNIT_OK(a.init(&a.host, PRISM_PROVIDER_ABI_VERSION, &p, &api));
    CU_ASSERT_STRING_EQUAL(api->name, "example");
    CU_ASSERT(api->struct_size >= PRISM_PROVIDER_API_V1_SIZE);
    CU_ASSERT_PTR_NOT_NULL(api->copy_device_to_device);
    CU_ASSERT_PTR_NOT_NULL(api->synchronize);
    prism_device_info info = {.struct_size = sizeof info};
    UNIT_OK(api->device_info(p, 0, &info));
    CU_ASSERT_EQUAL(info.memory_kind, PRISM_MEMORY_DEVICE);
    CU_ASSERT_PTR_NULL(api->reason(p));
    prism_instance *inst = NULL;
    const prism_option threads = {"intra_op_threads", "4"}, bad = {"colour", "blue"};
    UNIT_OK(api->instance_create(p, 0, &threads, 1, NULL, &inst));
    api->instance_destroy(inst);
    CU_ASSERT_EQUAL(api->instance_create(p, 0, &bad, 1, NULL, &inst), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "colour");
    CU_ASSERT_EQUAL(api->instance_create(p, 1, NULL, 0, NULL, &inst), PRISM_ERR_NOT_FOUND);
    api->destroy(p);
    dlclose(a.dl);
}

static void test_abi_memory(void) {
    abi_plugin a;
    abi_open(&a);
    setenv("PRISM_EXAMPLE_DEVICES", "2", 1);
    prism_provider *p = NULL;
    const prism_provider_api *api = NULL;
    prism_status st = a.init(&a.host, PRISM_PROVIDER_ABI_VERSION, &p, &api);
    unsetenv("PRISM_EXAMPLE_DEVICES");
    UNIT_OK(st);
    CU_ASSERT_EQUAL_FATAL(api->device_count(p), 2);
    prism_instance *i0 = NULL, *i1 = NULL;
    const prism_option one_mb = {"capacity_mb", "1"};
    UNIT_OK(api->instance_create(p, 0, &one_mb, 1, NULL, &i0));
    UNIT_OK(api->instance_create(p, 1, NULL, 0, NULL, &i1));

    /* Handles are not host addresses; 0 bytes is a valid buffer. */
    void *empty = NULL, *b0 = NULL, *b1 = NULL;
    UNIT_OK(api->buffer_alloc(i0, 0, NULL, &empty));
    CU_ASSERT_PTR_NOT_NULL(empty);
    CU_ASSERT((uintptr_t)empty >= ((uintptr_t)1 << 47)); /* outside x86-64 user space */
    char src[64], back[64];
    for (int i = 0; i < 64; i++) src[i] = (char)i;
    UNIT_OK(api->copy_to_device(i0, empty, 0, src, 0, NULL));
    CU_ASSERT_EQUAL(api->copy_to_device(i0, empty, 0, src, 1, NULL), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "outside the 0-byte buffer");

    UNIT_OK(api->buffer_alloc(i0, 64, NULL, &b0));
    CU_ASSERT(b0 != empty);
    UNIT_OK(api->copy_to_device(i0, b0, 0, src, 64, NULL));
    CU_ASSERT_EQUAL(api->copy_to_device(i0, b0, 60, src, 8, NULL), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "outside the 64-byte buffer");
    CU_ASSERT_EQUAL(api->copy_from_device(i0, back, b0, 65, 0, NULL), PRISM_ERR_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(api->copy_from_device(i0, back, b0, SIZE_MAX, 2, NULL), PRISM_ERR_INVALID_ARGUMENT);
    memset(back, 0, sizeof back);
    UNIT_OK(api->copy_from_device(i0, back, b0, 16, 48, NULL));
    CU_ASSERT(memcmp(back, src + 16, 48) == 0);
    UNIT_OK(api->synchronize(i0, NULL));

    /* Device to device, across the two devices. */
    UNIT_OK(api->buffer_alloc(i1, 64, NULL, &b1));
    UNIT_OK(api->copy_device_to_device(i1, b1, i0, b0, 64, NULL));
    memset(back, 0, sizeof back);
    UNIT_OK(api->copy_from_device(i1, back, b1, 0, 64, NULL));
    CU_ASSERT(memcmp(back, src, 64) == 0);
    CU_ASSERT_EQUAL(api->copy_device_to_device(i1, b1, i0, empty, 64, NULL), PRISM_ERR_INVALID_ARGUMENT);
    /* A handle is only good with the instance that made it. */
    CU_ASSERT_EQUAL(api->copy_from_device(i1, back, b0, 0, 1, NULL), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "not a live buffer");
    CU_ASSERT_EQUAL(api->copy_from_device(i0, back, (void *)src, 0, 1, NULL), PRISM_ERR_INVALID_ARGUMENT);

    /* A freed handle stays invalid, even once its slot is reused. */
    api->buffer_free(i0, b0);
    CU_ASSERT_EQUAL(api->copy_from_device(i0, back, b0, 0, 1, NULL), PRISM_ERR_INVALID_ARGUMENT);
    void *again = NULL;
    UNIT_OK(api->buffer_alloc(i0, 64, NULL, &again));
    CU_ASSERT(again != b0);
    CU_ASSERT_EQUAL(api->copy_from_device(i0, back, b0, 0, 1, NULL), PRISM_ERR_INVALID_ARGUMENT);
    api->buffer_free(i0, b0); /* ignored: stale */
    UNIT_OK(api->copy_from_device(i0, back, again, 0, 1, NULL));
    api->buffer_free(i0, NULL);

    /* Capacity: 1 MiB for i0, 64 bytes of which are in use. */
    void *big = NULL, *half = NULL, *half2 = NULL;
    CU_ASSERT_EQUAL(api->buffer_alloc(i0, 1u << 20, NULL, &big), PRISM_ERR_OUT_OF_MEMORY);
    MB_CONTAINS(abi_error, "out of device memory");
    MB_CONTAINS(abi_error, "capacity_mb=1");
    UNIT_OK(api->buffer_alloc(i0, 1u << 19, NULL, &half));
    CU_ASSERT_EQUAL(api->buffer_alloc(i0, 1u << 19, NULL, &half2), PRISM_ERR_OUT_OF_MEMORY);
    api->buffer_free(i0, again);
    UNIT_OK(api->buffer_alloc(i0, 1u << 19, NULL, &half2));
    /* i1 has its own (default) capacity. */
    UNIT_OK(api->buffer_alloc(i1, 1u << 21, NULL, &big));
    api->buffer_free(i1, big);

    /* Buffers still held are released with their instance. */
    api->instance_destroy(i0);
    api->instance_destroy(i1);
    api->destroy(p);

    setenv("PRISM_EXAMPLE_DEVICES", "0", 1);
    st = a.init(&a.host, PRISM_PROVIDER_ABI_VERSION, &p, &api);
    unsetenv("PRISM_EXAMPLE_DEVICES");
    UNIT_OK(st);
    CU_ASSERT_EQUAL(api->device_count(p), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(api->reason(p));
    MB_CONTAINS(api->reason(p), "PRISM_EXAMPLE_DEVICES=0");
    api->destroy(p);
    dlclose(a.dl);
}

/* ---- element-wise ops --------------------------------------------------------------- */

static void binary_case(const char *op, int ra, const int64_t *da, int rb, const int64_t *db) {
    mb_model *m = pc_one_node(17, op, "A,B", NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "A", ra, da, -2.0f, 2.0f);
    pc_feed_float(m, &f, "B", rb, db, 0.5f, 2.0f); /* away from 0 for Div */
    char label[64];
    snprintf(label, sizeof label, "%s rank %d x rank %d", op, ra, rb);
    compare_with_cpu(m, &f, label);
}

static void test_binary(void) {
    static const char *const ops[] = {"Add", "Sub", "Mul", "Div"};
    for (int i = 0; i < 4; i++) {
        binary_case(ops[i], 3, D(2, 3, 4), 3, D(2, 3, 4));
        binary_case(ops[i], 3, D(2, 3, 4), 1, D(4));
        binary_case(ops[i], 3, D(2, 1, 4), 2, D(3, 1));
        binary_case(ops[i], 0, NULL, 2, D(3, 5));
        binary_case(ops[i], 2, D(3, 5), 0, NULL);
        binary_case(ops[i], 4, D(2, 3, 4, 5), 3, D(3, 1, 5));
        binary_case(ops[i], 4, D(1, 3, 1, 7), 4, D(2, 1, 4, 1));
    }
    binary_case("Add", 2, D(0, 3), 1, D(3));          /* empty */
    binary_case("Mul", 4, D(1, 64, 7, 7), 3, D(64, 1, 1)); /* per-channel scale */
    /* A constant operand (uploaded once at compile). */
    mb_model *m = pc_one_node(13, "Mul", "A,W", NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "A", 2, D(4, 6), -1.0f, 1.0f);
    pc_init_float(m, "W", 1, D(6), -1.0f, 1.0f);
    compare_with_cpu(m, &f, "Mul by an initializer");
}

static void unary_case(int64_t opset, const char *op, const char *attr, float value) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(opset, op, "X", &n);
    if (attr) mb_attr_float(m, n, attr, value);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 3, D(2, 5, 11), -6.0f, 6.0f);
    compare_with_cpu(m, &f, op);
}

static void test_unary(void) {
    unary_case(14, "Relu", NULL, 0);
    unary_case(6, "Relu", NULL, 0);
    unary_case(13, "Sigmoid", NULL, 0);
    unary_case(13, "Tanh", NULL, 0);
    unary_case(16, "LeakyRelu", NULL, 0);
    unary_case(16, "LeakyRelu", "alpha", 0.25f);
}

static void test_clip(void) {
    /* Opset 6: bounds are attributes. */
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(6, "Clip", "X", &n);
    mb_attr_float(m, n, "min", -0.5f);
    mb_attr_float(m, n, "max", 1.5f);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 2, D(8, 9), -3.0f, 3.0f);
    compare_with_cpu(m, &f, "Clip-6");
    /* Opset 13: constant bounds. */
    m = pc_one_node(13, "Clip", "X,lo,hi", NULL);
    mb_init_float(m, "lo", 0, NULL, (const float[]){-1.0f});
    mb_init_float(m, "hi", 0, NULL, (const float[]){0.25f});
    pc_feed_float(m, &f, "X", 2, D(8, 9), -3.0f, 3.0f);
    compare_with_cpu(m, &f, "Clip-13 constant bounds");
    /* Runtime min (in device memory), no max. */
    m = pc_one_node(13, "Clip", "X,lo", NULL);
    pc_feed_float(m, &f, "X", 2, D(8, 9), -3.0f, 3.0f);
    pc_feed_float(m, &f, "lo", 0, NULL, -0.5f, 0.5f);
    compare_with_cpu(m, &f, "Clip-13 runtime min");
    /* Only max. */
    m = pc_one_node(12, "Clip", "X,,hi", NULL);
    pc_feed_float(m, &f, "X", 2, D(8, 9), -3.0f, 3.0f);
    pc_feed_float(m, &f, "hi", 0, NULL, -0.5f, 0.5f);
    compare_with_cpu(m, &f, "Clip-12 runtime max only");
    /* min > max: every element becomes max. */
    m = pc_one_node(13, "Clip", "X,lo,hi", NULL);
    mb_init_float(m, "lo", 0, NULL, (const float[]){1.0f});
    mb_init_float(m, "hi", 0, NULL, (const float[]){0.5f});
    pc_feed_float(m, &f, "X", 2, D(3, 4), -3.0f, 3.0f);
    compare_with_cpu(m, &f, "Clip-13 min > max");
    /* No bounds at all. */
    m = pc_one_node(13, "Clip", "X", NULL);
    pc_feed_float(m, &f, "X", 1, D(17), -3.0f, 3.0f);
    compare_with_cpu(m, &f, "Clip-13 unbounded");
}

/* ---- Conv ---------------------------------------------------------------------------- */

typedef struct conv_case {
    const char *label;
    int64_t x[4], w[4];
    bool bias;
    int64_t group;
    const char *auto_pad;
    const int64_t *pads, *strides, *dilations; /* NULL: default */
    bool kernel_shape;
} conv_case;

static void run_conv(const conv_case *c) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(11, "Conv", c->bias ? "X,W,B" : "X,W", &n);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, c->x, -1.0f, 1.0f);
    pc_init_float(m, "W", 4, c->w, -1.0f, 1.0f);
    if (c->bias) pc_init_float(m, "B", 1, c->w, -1.0f, 1.0f);
    if (c->group > 1) mb_attr_int(m, n, "group", c->group);
    if (c->auto_pad) mb_attr_string(m, n, "auto_pad", c->auto_pad);
    if (c->pads) mb_attr_ints(m, n, "pads", 4, c->pads);
    if (c->strides) mb_attr_ints(m, n, "strides", 2, c->strides);
    if (c->dilations) mb_attr_ints(m, n, "dilations", 2, c->dilations);
    if (c->kernel_shape) mb_attr_ints(m, n, "kernel_shape", 2, c->w + 2);
    compare_with_cpu(m, &f, c->label);
}

static void test_conv(void) {
    const conv_case cases[] = {
        {"3x3 pads 1 + bias", {2, 3, 10, 9}, {8, 3, 3, 3}, true, 1, NULL, D(1, 1, 1, 1), NULL, NULL, true},
        {"1x1 direct", {1, 16, 7, 7}, {24, 16, 1, 1}, true, 1, NULL, NULL, NULL, NULL, false},
        {"1x1 stride 2", {1, 16, 8, 8}, {8, 16, 1, 1}, false, 1, NULL, NULL, D(2, 2), NULL, false},
        {"strides + dilations", {1, 4, 15, 17}, {5, 4, 3, 3}, true, 1, NULL, D(2, 1, 0, 2), D(2, 3), D(2, 2), false},
        {"asymmetric kernel", {1, 3, 9, 12}, {4, 3, 2, 5}, false, 1, NULL, D(0, 2, 1, 1), NULL, NULL, false},
        {"groups", {2, 6, 8, 8}, {9, 2, 3, 3}, true, 3, NULL, D(1, 1, 1, 1), NULL, NULL, false},
        {"depthwise", {1, 8, 9, 9}, {8, 1, 3, 3}, true, 8, NULL, D(1, 1, 1, 1), D(2, 2), NULL, false},
        {"depthwise dilated", {1, 4, 11, 11}, {4, 1, 3, 3}, false, 4, NULL, D(2, 2, 2, 2), NULL, D(2, 2), false},
        {"SAME_UPPER", {1, 3, 9, 8}, {4, 3, 4, 4}, false, 1, "SAME_UPPER", NULL, D(2, 2), NULL, false},
        {"SAME_LOWER", {1, 3, 9, 8}, {4, 3, 4, 4}, false, 1, "SAME_LOWER", NULL, D(2, 2), NULL, false},
        {"VALID", {1, 3, 9, 8}, {4, 3, 3, 2}, true, 1, "VALID", NULL, D(2, 3), NULL, false},
        {"7x7 stride 2, tile edges", {1, 3, 40, 40}, {70, 3, 7, 7}, true, 1, NULL, D(3, 3, 3, 3), D(2, 2), NULL, false},
        {"K above one block", {1, 64, 12, 12}, {20, 64, 3, 3}, true, 1, NULL, D(1, 1, 1, 1), NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_conv(&cases[i]);
}

/* ---- Gemm and MatMul ---------------------------------------------------------------- */

static void gemm_case(const char *label, int64_t opset, int64_t m_, int64_t n_, int64_t k_, int ta, int tb,
                      float alpha, float beta, int c_rank, const int64_t *c_dims) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(opset, "Gemm", c_rank >= 0 ? "A,B,C" : "A,B", &n);
    pc_feed f = {0};
    int64_t da[2] = {ta ? k_ : m_, ta ? m_ : k_}, db[2] = {tb ? n_ : k_, tb ? k_ : n_};
    pc_feed_float(m, &f, "A", 2, da, -1.0f, 1.0f);
    pc_init_float(m, "B", 2, db, -1.0f, 1.0f);
    if (c_rank >= 0) pc_feed_float(m, &f, "C", c_rank, c_dims, -1.0f, 1.0f);
    if (ta) mb_attr_int(m, n, "transA", 1);
    if (tb) mb_attr_int(m, n, "transB", 1);
    if (alpha != 1.0f) mb_attr_float(m, n, "alpha", alpha);
    if (beta != 1.0f) mb_attr_float(m, n, "beta", beta);
    compare_with_cpu(m, &f, label);
}

static void test_gemm(void) {
    gemm_case("plain + C[M,N]", 13, 5, 7, 9, 0, 0, 1.0f, 1.0f, 2, D(5, 7));
    gemm_case("transA", 13, 5, 7, 9, 1, 0, 1.0f, 1.0f, 1, D(7));
    gemm_case("transB", 13, 5, 7, 9, 0, 1, 1.0f, 1.0f, 2, D(5, 1));
    gemm_case("both transposed, alpha, beta", 13, 6, 33, 300, 1, 1, 0.5f, -2.0f, 2, D(1, 33));
    gemm_case("scalar C", 13, 3, 4, 5, 0, 0, 2.0f, 0.5f, 0, NULL);
    gemm_case("no C", 13, 3, 4, 5, 0, 1, 1.0f, 1.0f, -1, NULL);
    gemm_case("opset 9", 9, 4, 4, 4, 0, 0, 1.0f, 1.0f, 1, D(1));
    gemm_case("classifier", 13, 2, 1000, 512, 0, 1, 1.0f, 1.0f, 1, D(1000));
}

static void matmul_case(const char *label, int ra, const int64_t *da, int rb, const int64_t *db, bool b_const) {
    mb_model *m = pc_one_node(13, "MatMul", "A,B", NULL);
    pc_feed f = {0};
    pc_feed_float(m, &f, "A", ra, da, -1.0f, 1.0f);
    if (b_const) pc_init_float(m, "B", rb, db, -1.0f, 1.0f);
    else pc_feed_float(m, &f, "B", rb, db, -1.0f, 1.0f);
    compare_with_cpu(m, &f, label);
}

static void test_matmul(void) {
    matmul_case("2-D", 2, D(3, 4), 2, D(4, 5), false);
    matmul_case("blocking edges", 2, D(70, 300), 2, D(300, 530), true);
    matmul_case("batched A, 2-D B", 4, D(2, 3, 4, 5), 2, D(5, 6), true);
    matmul_case("batched both", 3, D(3, 4, 5), 3, D(3, 5, 2), false);
    matmul_case("batch broadcast", 4, D(2, 1, 3, 4), 3, D(3, 4, 5), false);
    matmul_case("batch broadcast of B", 3, D(1, 4, 5), 3, D(3, 5, 6), false);
    matmul_case("1-D x 2-D", 1, D(4), 2, D(4, 3), false);
    matmul_case("2-D x 1-D", 2, D(3, 4), 1, D(4), false);
    matmul_case("1-D x 1-D", 1, D(6), 1, D(6), false);
    matmul_case("1-D x batched", 1, D(4), 3, D(2, 4, 3), false);
    matmul_case("batched x 1-D", 3, D(2, 3, 4), 1, D(4), false);
    matmul_case("empty K", 2, D(3, 0), 2, D(0, 2), false);
}

/* ---- several nodes, split models, errors, threads ---------------------------------- */

/* Conv -> Relu -> Conv(+bias) -> Add(skip) -> Sigmoid, with the first Relu
 * also a graph output: intermediates are made and freed on the device. */
static void test_chain(void) {
    mb_model *m = mb_new(13);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, D(1, 4, 9, 9), -1.0f, 1.0f);
    pc_init_float(m, "W1", 4, D(4, 4, 3, 3), -0.5f, 0.5f);
    pc_init_float(m, "W2", 4, D(4, 4, 3, 3), -0.5f, 0.5f);
    pc_init_float(m, "B2", 1, D(4), -0.5f, 0.5f);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_output(m, "R", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_attr_ints(m, mb_node(m, "Conv", "c1", "X,W1", "C1"), "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Relu", "r1", "C1", "R");
    mb_attr_ints(m, mb_node(m, "Conv", "c2", "R,W2,B2", "C2"), "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Add", "skip", "C2,X", "S");
    mb_node(m, "Sigmoid", "sig", "S", "Y");
    prism_session *cpu = NULL, *ex = NULL;
    UNIT_OK(model_session(m, "cpu", 1, NULL, &cpu));
    UNIT_OK(model_session(m, "example", 0, NULL, &ex));
    CU_ASSERT_EQUAL(prism_session_subgraph_count(ex), 1);
    prism_tensor *want[2] = {NULL, NULL}, *got[2] = {NULL, NULL};
    UNIT_OK(prism_session_run(cpu, f.names, (const prism_tensor *const *)f.t, f.n, NULL, 2, want));
    for (int rep = 0; rep < 2; rep++) { /* the second run reuses nothing of the first */
        UNIT_OK(prism_session_run(ex, f.names, (const prism_tensor *const *)f.t, f.n, NULL, 2, got));
        pc_expect_close(got[0], want[0], 1e-5f, 1e-4f, "example", "chain Y");
        pc_expect_close(got[1], want[1], 1e-5f, 1e-4f, "example", "chain R");
        prism_tensor_destroy(got[0]);
        prism_tensor_destroy(got[1]);
    }
    prism_tensor_destroy(want[0]);
    prism_tensor_destroy(want[1]);
    prism_session_destroy(cpu);
    prism_session_destroy(ex);
    pc_feed_free(&f);
    mb_free(m);
}

/* Relu -> MaxPool -> Relu: the pool is not the example provider's, so the
 * model splits. The partitioner may keep the last Relu next to the pool's
 * output; with an affinity both Relus run on the example device and the
 * data goes there, back, and there again. */
static void split_case(const char *affinity) {
    mb_model *m = mb_new(13);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, D(2, 3, 8, 8), -1.0f, 1.0f);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_node(m, "Relu", "r1", "X", "A");
    Onnx__NodeProto *pool = mb_node(m, "MaxPool", "pool", "A", "P");
    mb_attr_ints(m, pool, "kernel_shape", 2, D(2, 2));
    mb_attr_ints(m, pool, "strides", 2, D(2, 2));
    mb_node(m, "Relu", "r2", "P", "Y");
    prism_session *cpu = NULL, *mixed = NULL;
    UNIT_OK(model_session(m, "cpu", 1, NULL, &cpu));
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    prism_session_options_set_environment(o, 0);
    UNIT_OK(prism_session_options_set_providers(o, "example,cpu"));
    if (affinity) UNIT_OK(prism_session_options_set_affinity(o, affinity));
    UNIT_OK(prism_session_create_from_memory(env, bytes, size, o, &mixed));
    prism_session_options_destroy(o);
    free(bytes);
    for (size_t i = 0; i < prism_session_node_count(mixed); i++) {
        prism_node_placement p = {.struct_size = sizeof p};
        UNIT_OK(prism_session_node_placement(mixed, i, &p));
        if (!strcmp(p.name, "pool")) CU_ASSERT_STRING_EQUAL(p.provider, "cpu");
        if (!strcmp(p.name, "r1") || (affinity && !strcmp(p.name, "r2"))) CU_ASSERT_STRING_EQUAL(p.provider, "example");
    }
    /* X in, A out to the pool (and with the affinity: P in, Y out). */
    CU_ASSERT(prism_session_copy_count(mixed) >= (affinity ? 4u : 2u));
    prism_tensor *want = pc_run1(cpu, &f), *got = pc_run1(mixed, &f);
    if (want && got) pc_expect_close(got, want, 1e-5f, 1e-4f, "example", "Relu-MaxPool-Relu");
    prism_tensor_destroy(want);
    prism_tensor_destroy(got);
    prism_session_destroy(cpu);
    prism_session_destroy(mixed);
    pc_feed_free(&f);
    mb_free(m);
}

static void test_split_with_cpu(void) {
    split_case(NULL);
    split_case("Relu=example");
}

static void test_capacity(void) {
    /* The weights do not fit: session creation fails, naming the reason. */
    mb_model *m = pc_one_node(13, "Conv", "X,W", NULL);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(1, 16, 8, 8));
    pc_init_float(m, "W", 4, D(16, 16, 3, 3), -1.0f, 1.0f); /* 9216 bytes */
    prism_session *s = NULL;
    const char *const tiny[] = {"example:capacity_mb=0.005", NULL}; /* 5242 bytes */
    MB_EXPECT_FAIL(PRISM_ERR_OUT_OF_MEMORY, model_session(m, "example", 0, tiny, &s), "out of device memory",
                   "capacity_mb=0.005");
    mb_free(m);

    /* The data does not fit: the run fails; the session stays usable. */
    m = pc_one_node(13, "Relu", "X", NULL);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 2, D(-1, 64));
    const char *const small[] = {"example:capacity_mb=0.05", NULL}; /* 52428 bytes */
    UNIT_OK(model_session(m, "example", 0, small, &s));
    pc_feed f = {.n = 1, .names = {"X"}};
    float *v = pc_rnd_values(2, D(512, 64), -1.0f, 1.0f);
    f.t[0] = mb_float_tensor(2, D(512, 64), v); /* 128 KiB */
    prism_tensor *y = NULL;
    prism_status st = prism_session_run(s, f.names, (const prism_tensor *const *)f.t, 1, NULL, 1, &y);
    CU_ASSERT_NOT_EQUAL(st, PRISM_OK);
    MB_CONTAINS(prism_last_error_message(), "out of device memory");
    prism_tensor_destroy(f.t[0]);
    f.t[0] = mb_float_tensor(2, D(16, 64), v); /* 4 KiB in, 4 KiB out */
    for (int rep = 0; rep < 20; rep++) { /* nothing leaked by the failure or the runs */
        y = pc_run1(s, &f);
        CU_ASSERT_FATAL(y != NULL);
        const float *yd = prism_tensor_data_const(y);
        for (int i = 0; i < 16 * 64; i++) CU_ASSERT_EQUAL(yd[i], v[i] < 0 ? 0.0f : v[i]);
        prism_tensor_destroy(y);
    }
    free(v);
    pc_feed_free(&f);
    prism_session_destroy(s);
    mb_free(m);
}

/* A shape the kernel rejects at run time gives an error naming the node. */
static void test_runtime_shape_error(void) {
    mb_model *m = pc_one_node(13, "MatMul", "A,B", NULL);
    mb_input(m, "A", PRISM_DTYPE_FLOAT, 2, D(-1, -1));
    mb_input(m, "B", PRISM_DTYPE_FLOAT, 2, D(-1, -1));
    prism_session *s = NULL;
    UNIT_OK(model_session(m, "example", 0, NULL, &s));
    pc_feed f = {.n = 2, .names = {"A", "B"}};
    float z[12] = {0};
    f.t[0] = mb_float_tensor(2, D(2, 3), z);
    f.t[1] = mb_float_tensor(2, D(4, 3), z);
    prism_tensor *y = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_RUNTIME, prism_session_run(s, f.names, (const prism_tensor *const *)f.t, 2, NULL, 1, &y),
                   "n0", "MatMul", "A's last dim is 3");
    pc_feed_free(&f);
    prism_session_destroy(s);
    mb_free(m);
}

#define N_THREADS 4
#define N_RUNS 25

typedef struct worker {
    prism_session *s;
    const pc_feed *f;
    const float *want;
    int64_t count;
    int failures;
} worker;

static void *worker_main(void *arg) {
    worker *w = arg;
    for (int r = 0; r < N_RUNS; r++) {
        prism_tensor *y = NULL;
        if (prism_session_run(w->s, w->f->names, (const prism_tensor *const *)w->f->t, w->f->n, NULL, 1, &y) ||
            prism_tensor_element_count(y) != w->count ||
            memcmp(prism_tensor_data_const(y), w->want, (size_t)w->count * sizeof(float)))
            w->failures++;
        prism_tensor_destroy(y);
    }
    return NULL;
}

static void test_concurrent_runs(void) {
    mb_model *m = mb_new(13);
    pc_feed f = {0};
    pc_feed_float(m, &f, "X", 4, D(1, 3, 16, 16), -1.0f, 1.0f);
    pc_init_float(m, "W", 4, D(8, 3, 3, 3), -1.0f, 1.0f);
    pc_init_float(m, "M", 2, D(16, 10), -1.0f, 1.0f);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_attr_ints(m, mb_node(m, "Conv", "c", "X,W", "C"), "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Relu", "r", "C", "R");
    mb_node(m, "MatMul", "mm", "R,M", "Y");
    prism_session *s = NULL;
    UNIT_OK(model_session(m, "example", 0, NULL, &s));
    prism_tensor *ref = pc_run1(s, &f);
    CU_ASSERT_FATAL(ref != NULL);
    worker w[N_THREADS];
    pthread_t th[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.s = s, .f = &f, .want = prism_tensor_data_const(ref),
                        .count = prism_tensor_element_count(ref)};
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, worker_main, &w[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        CU_ASSERT_EQUAL(w[i].failures, 0);
    }
    prism_tensor_destroy(ref);
    prism_session_destroy(s);
    pc_feed_free(&f);
    mb_free(m);
}

/* What the provider does not claim goes elsewhere (or fails without
 * fallback): other dtypes, 1-D Conv. */
static void test_declined(void) {
    prism_session *s = NULL;
    mb_model *m = mb_new(13);
    mb_node(m, "Add", "n0", "A,B", "Y");
    mb_output(m, "Y", PRISM_DTYPE_INT64, 1, D(3));
    mb_input(m, "A", PRISM_DTYPE_INT64, 1, D(3));
    mb_input(m, "B", PRISM_DTYPE_INT64, 1, D(3));
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, model_session(m, "example", 0, NULL, &s), "n0");
    mb_free(m);
    Onnx__NodeProto *n;
    m = pc_one_node(13, "Conv", "X,W", &n);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 3, D(1, 2, 9));
    pc_init_float(m, "W", 3, D(2, 2, 3), -1.0f, 1.0f);
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, model_session(m, "example", 0, NULL, &s), "n0");
    UNIT_OK(model_session(m, "example,cpu", 1, NULL, &s)); /* goes to the CPU */
    prism_session_destroy(s);
    mb_free(m);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("example provider", suite_init, suite_clean);
    CU_add_test(s, "device info and properties", test_device_info);
    CU_add_test(s, "PRISM_EXAMPLE_DEVICES", test_device_count_env);
    CU_add_test(s, "bad options fail naming the key", test_bad_options);
    CU_add_test(s, "ops option restricts the claim", test_ops_option);
    CU_add_test(s, "ABI entry points and instances", test_abi_entry);
    CU_add_test(s, "ABI memory: handles, bounds, capacity, d2d", test_abi_memory);
    CU_add_test(s, "Add/Sub/Mul/Div with broadcasting vs CPU", test_binary);
    CU_add_test(s, "activations vs CPU", test_unary);
    CU_add_test(s, "Clip (attributes, constant and runtime bounds) vs CPU", test_clip);
    CU_add_test(s, "Conv vs CPU", test_conv);
    CU_add_test(s, "Gemm vs CPU", test_gemm);
    CU_add_test(s, "MatMul vs CPU", test_matmul);
    CU_add_test(s, "chain with intermediates and two outputs", test_chain);
    CU_add_test(s, "Relu-MaxPool-Relu split with the CPU", test_split_with_cpu);
    CU_add_test(s, "capacity errors", test_capacity);
    CU_add_test(s, "run-time shape error names the node", test_runtime_shape_error);
    CU_add_test(s, "concurrent runs", test_concurrent_runs);
    CU_add_test(s, "nodes it declines", test_declined);
    return unit_run_all();
}
