/*
 * test_opencl_provider.c — the OpenCL provider: device enumeration, the
 * no-platform case, device memory through the ABI (round trip, foreign and
 * stale handles, device-to-device), the program cache on disk (hit, corrupt
 * entry rebuilt, unwritable folder), build errors with the build log, the
 * error-name table, every nn op it claims (Conv, Gemm, MatMul, pools,
 * BatchNormalization) against the CPU provider on random inputs, fused
 * activations, and one session run from four threads.
 *
 * Every test passes with a printed note when the machine has no OpenCL
 * device. The program cache lives in a folder inside the build tree.
 */
#include <dlfcn.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_builder.h"
#include "provider_compare.h"
#if PRISM_TEST_HAVE_OPENCL
#include "ocl_kernel.h"
#endif
#include "prism/provider.h"
#include "unit_util.h"

static prism_env *env;
static bool have_device;
static char cache_dir[1024], cache_opt[1100];

#define D(...) (const int64_t[]){__VA_ARGS__}
#define SKIP_WITHOUT_DEVICE()                                                   \
    do {                                                                        \
        if (!have_device) {                                                     \
            printf("\n  (no OpenCL device: %s skipped) ", __func__);           \
            return;                                                             \
        }                                                                       \
    } while (0)

static size_t provider_index(prism_env *e, const char *name) {
    for (size_t i = 0; i < prism_env_provider_count(e); i++)
        if (!strcmp(prism_env_provider_name(e, i), name)) return i;
    return SIZE_MAX;
}

static int suite_init(void) {
    pc_seed(777);
    if (prism_env_create(&env) != PRISM_OK) return 1;
    if (prism_env_load_provider(env, "opencl") == PRISM_OK) {
        size_t p = provider_index(env, "opencl");
        have_device = p != SIZE_MAX && prism_env_device_count(env, p) > 0;
    }
    snprintf(cache_dir, sizeof cache_dir, "%s/opencl-test-cache", PRISM_TEST_BUILD_DIR);
    snprintf(cache_opt, sizeof cache_opt, "opencl:cache_dir=%s", cache_dir);
    return 0;
}

static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}

/* ---- helpers ------------------------------------------------------------------ */

static prism_status model_session_in(prism_env *e, mb_model *m, const char *providers, const char *const *opts,
                                     prism_session **out) {
    const char *all[16];
    size_t n = 0;
    if (strstr(providers, "opencl")) all[n++] = cache_opt;
    for (size_t i = 0; opts && opts[i] && n < 15; i++) all[n++] = opts[i];
    all[n] = NULL;
    return pc_session(e, m, providers, false, all, out);
}

static prism_status model_session(mb_model *m, const char *providers, prism_session **out) {
    return model_session_in(env, m, providers, NULL, out);
}

/* Run m (output "Y") on opencl alone (no fallback: every node must be
 * claimed) and on the CPU; results must agree. Frees m and the feed. */
static void compare_with_cpu(mb_model *m, pc_feed *f, const char *label) {
    prism_session *cpu = NULL, *ocl = NULL;
    prism_status st = model_session(m, "cpu", &cpu);
    CU_ASSERT_EQUAL(st, PRISM_OK);
    st = model_session(m, "opencl", &ocl);
    if (st) fprintf(stderr, "\n  %s: opencl session: %s\n", label, prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    if (cpu && ocl) {
        prism_tensor *want = pc_run1(cpu, f), *got = pc_run1(ocl, f);
        if (want && got) pc_expect_close(got, want, 1e-4f, 1e-4f, "opencl", label);
        prism_tensor_destroy(want);
        prism_tensor_destroy(got);
    }
    prism_session_destroy(cpu);
    prism_session_destroy(ocl);
    pc_feed_free(f);
    mb_free(m);
}

/* ---- devices ------------------------------------------------------------------- */

static void test_devices(void) {
    SKIP_WITHOUT_DEVICE();
    size_t p = provider_index(env, "opencl");
    for (size_t i = 0; i < prism_env_device_count(env, p); i++) {
        prism_device_desc d = {.struct_size = sizeof d};
        UNIT_OK(prism_env_device(env, p, i, &d));
        CU_ASSERT(d.name && *d.name);
        CU_ASSERT(d.memory_bytes > 0);
        CU_ASSERT_FATAL(d.properties != NULL);
        MB_CONTAINS(d.properties, "fp16=");
        MB_CONTAINS(d.properties, "opencl_version=OpenCL");
        MB_CONTAINS(d.properties, "max_work_group=");
        CU_ASSERT(d.type == PRISM_DEVICE_CPU || d.type == PRISM_DEVICE_GPU || d.type == PRISM_DEVICE_ACCELERATOR);
        /* GPUs and accelerators are listed before CPU devices. */
        if (i > 0 && d.type != PRISM_DEVICE_CPU) {
            prism_device_desc prev = {.struct_size = sizeof prev};
            UNIT_OK(prism_env_device(env, p, i - 1, &prev));
            CU_ASSERT(prev.type != PRISM_DEVICE_CPU);
        }
    }
}

/* Loaded where the ICD loader finds no platform: zero devices, a reason,
 * and the process goes on (a child process: the loader reads its
 * configuration once per process). */
static void test_no_platform(void) {
    const char *bin = getenv("PRISM_BIN");
    if (!bin) {
        printf("\n  (PRISM_BIN unset: skipped) ");
        return;
    }
    char *dir = mb_tempdir();
    mb_result r = mb_run(bin, dir, (const char *const[]){"OCL_ICD_VENDORS=/nonexistent", NULL},
                         (const char *const[]){"devices", NULL});
    CU_ASSERT_EQUAL(r.status, 0);
    MB_CONTAINS(r.out, "provider opencl");
    MB_CONTAINS(r.out, "0 devices");
    MB_CONTAINS(r.out, "no OpenCL platform found");
    mb_result_free(&r);
    mb_rmtree(dir);
    free(dir);
}

/* ---- memory through the ABI ------------------------------------------------------ */

static char abi_error[2048];
static void fake_set_error(prism_host_context *hc, const char *message) {
    (void)hc;
    snprintf(abi_error, sizeof abi_error, "%s", message ? message : "");
}
static void fake_log(prism_host_context *hc, int32_t level, const char *message) {
    (void)hc, (void)level, (void)message;
}
static void *fake_alloc(size_t bytes) { return aligned_alloc(64, (bytes + 63) / 64 * 64); }

static void test_memory(void) {
    SKIP_WITHOUT_DEVICE();
    const char *path = prism_env_provider_path(env, provider_index(env, "opencl"));
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    CU_ASSERT_FATAL(dl != NULL);
    prism_provider_init_fn init = (prism_provider_init_fn)dlsym(dl, PRISM_PROVIDER_INIT_SYMBOL);
    CU_ASSERT_FATAL(init != NULL);
    CU_ASSERT_PTR_NULL(dlsym(dl, "ocl_run")); /* only the entry points are exported */
    prism_host_api host = {.struct_size = sizeof host, .abi_major = PRISM_PROVIDER_ABI_MAJOR,
                           .abi_minor = PRISM_PROVIDER_ABI_MINOR, .set_error = fake_set_error, .log = fake_log,
                           .mem_alloc = fake_alloc, .mem_free = free};
    prism_provider *p = NULL;
    const prism_provider_api *api = NULL;
    UNIT_OK(init(&host, PRISM_PROVIDER_ABI_VERSION, &p, &api));
    prism_device_info info = {.struct_size = sizeof info};
    UNIT_OK(api->device_info(p, 0, &info));
    CU_ASSERT_EQUAL(info.memory_kind, PRISM_MEMORY_DEVICE);
    const prism_option opt = {"cache_dir", ""};
    prism_instance *a = NULL, *b = NULL;
    UNIT_OK(api->instance_create(p, 0, &opt, 1, NULL, &a));
    UNIT_OK(api->instance_create(p, 0, &opt, 1, NULL, &b));
    const prism_option bad = {"colour", "blue"};
    prism_instance *c = NULL;
    CU_ASSERT_EQUAL(api->instance_create(p, 0, &bad, 1, NULL, &c), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "colour");
    enum { N = 1000 };
    float src[N], dst[N];
    for (int i = 0; i < N; i++) src[i] = (float)i * 0.5f;
    void *h = NULL, *h2 = NULL, *hb = NULL;
    UNIT_OK(api->buffer_alloc(a, sizeof src, NULL, &h));
    UNIT_OK(api->buffer_alloc(a, sizeof src, NULL, &h2));
    UNIT_OK(api->buffer_alloc(b, sizeof src, NULL, &hb));
    UNIT_OK(api->copy_to_device(a, h, 0, src, sizeof src, NULL));
    UNIT_OK(api->copy_device_to_device(a, h2, a, h, sizeof src, NULL));
    UNIT_OK(api->copy_device_to_device(b, hb, a, h2, sizeof src, NULL));
    memset(dst, 0, sizeof dst);
    UNIT_OK(api->copy_from_device(b, dst, hb, 0, sizeof dst, NULL));
    CU_ASSERT_EQUAL(memcmp(src, dst, sizeof src), 0);
    /* Offsets and bounds. */
    UNIT_OK(api->copy_from_device(a, dst, h, 400, 40, NULL));
    CU_ASSERT_EQUAL(dst[0], src[100]);
    CU_ASSERT_EQUAL(api->copy_from_device(a, dst, h, 3996, 8, NULL), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "outside");
    /* Foreign handles: a host pointer, another instance's handle, garbage. */
    CU_ASSERT_EQUAL(api->copy_to_device(a, src, 0, src, 4, NULL), PRISM_ERR_INVALID_ARGUMENT);
    MB_CONTAINS(abi_error, "not a live buffer");
    CU_ASSERT_EQUAL(api->copy_to_device(a, hb, 0, src, 4, NULL), PRISM_ERR_INVALID_ARGUMENT);
    CU_ASSERT_EQUAL(api->copy_from_device(a, dst, (void *)(uintptr_t)0x800000000000001Aull, 0, 4, NULL),
                    PRISM_ERR_INVALID_ARGUMENT);
    /* A freed handle is stale, even after its slot is reused. */
    api->buffer_free(a, h);
    CU_ASSERT_EQUAL(api->copy_from_device(a, dst, h, 0, 4, NULL), PRISM_ERR_INVALID_ARGUMENT);
    void *h3 = NULL;
    UNIT_OK(api->buffer_alloc(a, 16, NULL, &h3));
    CU_ASSERT_NOT_EQUAL(h3, h);
    CU_ASSERT_EQUAL(api->copy_from_device(a, dst, h, 0, 4, NULL), PRISM_ERR_INVALID_ARGUMENT);
    api->buffer_free(a, h);  /* double free: ignored */
    api->buffer_free(a, src); /* foreign: ignored */
    /* Zero-byte buffers are valid. */
    void *h0 = NULL;
    UNIT_OK(api->buffer_alloc(a, 0, NULL, &h0));
    UNIT_OK(api->copy_to_device(a, h0, 0, NULL, 0, NULL));
    UNIT_OK(api->synchronize(a, NULL));
    api->buffer_free(a, h0);
    api->buffer_free(a, h2);
    api->buffer_free(a, h3);
    api->buffer_free(b, hb);
    api->instance_destroy(a);
    api->instance_destroy(b);
    api->destroy(p);
    dlclose(dl);
}

/* ---- program cache --------------------------------------------------------------- */

typedef struct log_capture {
    pthread_mutex_t lock;
    char text[65536];
    size_t len;
} log_capture;

static void capture(void *user, prism_log_level level, const char *message) {
    (void)level;
    log_capture *c = user;
    pthread_mutex_lock(&c->lock);
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "%s\n", message);
    if (n > 0 && c->len + (size_t)n < sizeof c->text) c->len += (size_t)n;
    pthread_mutex_unlock(&c->lock);
}

static mb_model *gemm_model(pc_feed *f) {
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(13, "Gemm", "A,B,C", &n);
    pc_feed_float(m, f, "A", 2, D(70, 40), -1.0f, 1.0f);
    pc_init_float(m, "B", 2, D(40, 50), -1.0f, 1.0f);
    pc_init_float(m, "C", 1, D(50), -1.0f, 1.0f);
    return m;
}

/* One fresh env (a fresh provider, so no program built in memory) running
 * the Gemm model with `dir` as cache; returns the log. */
static void run_fresh(const char *dir, log_capture *log, const prism_tensor *want) {
    prism_env *e = NULL;
    UNIT_OK(prism_env_create(&e));
    memset(log->text, 0, sizeof log->text);
    log->len = 0;
    prism_env_set_logger(e, capture, log, PRISM_LOG_DEBUG);
    UNIT_OK(prism_env_load_provider(e, "cpu"));
    UNIT_OK(prism_env_load_provider(e, "opencl"));
    pc_feed f = {0};
    pc_seed(4242);
    mb_model *m = gemm_model(&f);
    prism_session *s = NULL;
    size_t size;
    uint8_t *bytes = mb_pack(m, &size);
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    prism_session_options_set_environment(o, 0);
    prism_session_options_set_fallback(o, 0);
    UNIT_OK(prism_session_options_set_providers(o, "opencl"));
    UNIT_OK(prism_session_options_set_provider_option(o, "opencl", "cache_dir", dir));
    prism_status st = prism_session_create_from_memory(e, bytes, size, o, &s);
    prism_session_options_destroy(o);
    free(bytes);
    if (st) fprintf(stderr, "\n  session: %s\n", prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    if (s) {
        prism_tensor *got = pc_run1(s, &f);
        if (got && want) pc_expect_close(got, want, 1e-4f, 1e-4f, "opencl", "gemm through the cache");
        prism_tensor_destroy(got);
    }
    prism_session_destroy(s);
    pc_feed_free(&f);
    mb_free(m);
    prism_env_destroy(e);
}

static void test_program_cache(void) {
    SKIP_WITHOUT_DEVICE();
    static log_capture log = {.lock = PTHREAD_MUTEX_INITIALIZER};
    char dir[1600];
    snprintf(dir, sizeof dir, "%s/cache-check", cache_dir);
    mb_rmtree(dir);
    /* The reference result, on the CPU. */
    pc_feed f = {0};
    pc_seed(4242);
    mb_model *m = gemm_model(&f);
    prism_session *cpu = NULL;
    UNIT_OK(model_session(m, "cpu", &cpu));
    prism_tensor *want = pc_run1(cpu, &f);
    prism_session_destroy(cpu);
    pc_feed_free(&f);
    mb_free(m);

    run_fresh(dir, &log, want); /* cold: built from source, written */
    MB_CONTAINS(log.text, "kernels/gemm.cl (T=float) built from source");
    run_fresh(dir, &log, want); /* warm: from the disk */
    MB_CONTAINS(log.text, "kernels/gemm.cl (T=float) loaded from the disk cache");
    CU_ASSERT_PTR_NULL(strstr(log.text, "gemm.cl (T=float) built from source"));

    /* Corrupt every entry (flip bytes in the middle): detected, rebuilt,
     * rewritten, and the result is still right. */
    char cmd[2000];
    snprintf(cmd, sizeof cmd,
             "for f in '%s'/*.bin; do s=$(stat -c %%s \"$f\"); printf 'XXXXXXXX' | dd of=\"$f\" bs=1 seek=$((s/2)) "
             "conv=notrunc 2>/dev/null; done",
             dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    run_fresh(dir, &log, want);
    MB_CONTAINS(log.text, "stale cache entry for kernels/gemm.cl (T=float): checksum mismatch");
    MB_CONTAINS(log.text, "kernels/gemm.cl (T=float) built from source");
    run_fresh(dir, &log, want); /* the rewritten entry is good again */
    MB_CONTAINS(log.text, "kernels/gemm.cl (T=float) loaded from the disk cache");

    /* A truncated entry too. */
    snprintf(cmd, sizeof cmd, "for f in '%s'/*.bin; do truncate -s 20 \"$f\"; done", dir);
    CU_ASSERT_EQUAL(system(cmd), 0);
    run_fresh(dir, &log, want);
    MB_CONTAINS(log.text, "stale cache entry for kernels/gemm.cl");

    /* A folder that cannot be written: still works, says why. */
    char blocker[1300];
    snprintf(blocker, sizeof blocker, "%s/file-not-dir", cache_dir);
    CU_ASSERT(mb_write_file(blocker, "x", 1));
    snprintf(dir, sizeof dir, "%s/sub", blocker);
    run_fresh(dir, &log, want);
    MB_CONTAINS(log.text, "program cache not written");
    MB_CONTAINS(log.text, "built from source");
    /* An empty cache_dir disables the disk cache. */
    run_fresh("", &log, want);
    CU_ASSERT_PTR_NULL(strstr(log.text, "disk cache"));
    CU_ASSERT_PTR_NULL(strstr(log.text, "program cache not written"));
    prism_tensor_destroy(want);
}

/* A program that does not compile: the error carries the build log. */
static void test_build_error(void) {
    SKIP_WITHOUT_DEVICE();
    pc_feed f = {0};
    mb_model *m = gemm_model(&f);
    const char *opts[] = {"opencl:build_options=-DT=no_such_type_here", NULL};
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, model_session_in(env, m, "opencl", opts, &s), "clBuildProgram failed",
                   "CL_BUILD_PROGRAM_FAILURE (-11)", "build log", "no_such_type_here");
    pc_feed_free(&f);
    mb_free(m);
    /* The provider is still usable afterwards. */
    m = gemm_model(&f);
    compare_with_cpu(m, &f, "gemm after a failed build");
}

static void test_error_names(void) {
#if PRISM_TEST_HAVE_OPENCL
    CU_ASSERT_STRING_EQUAL(ocl_error_name(CL_SUCCESS), "CL_SUCCESS");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(CL_INVALID_WORK_GROUP_SIZE), "CL_INVALID_WORK_GROUP_SIZE");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(-72), "CL_MAX_SIZE_RESTRICTION_EXCEEDED");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR");
    CU_ASSERT_STRING_EQUAL(ocl_error_name(-9999), "CL_ERROR(-9999)");
    /* Every code from -1 to -72 that CL/cl.h defines has a name. */
    for (int c = -1; c >= -72; c--)
        if (c > -20 || c <= -30) CU_ASSERT(strncmp(ocl_error_name(c), "CL_ERROR(", 9) != 0);
#else
    printf("\n  (built without OpenCL headers: skipped) ");
#endif
}

/* ---- ops vs the CPU provider ------------------------------------------------------ */

typedef struct conv_case {
    const char *label;
    int rank;
    int64_t x[5], w[5];
    int64_t group;
    const char *auto_pad;
    int64_t strides[3], dil[3], pads[6];
    bool bias, has_pads;
} conv_case;

static void test_conv(void) {
    SKIP_WITHOUT_DEVICE();
    const conv_case cases[] = {
        {"3x3 pad 1", 4, {2, 3, 9, 11}, {8, 3, 3, 3}, 1, NULL, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true},
        {"1x1 pointwise", 4, {2, 16, 7, 5}, {40, 16, 1, 1}, 1, NULL, {1, 1}, {1, 1}, {0}, true, false},
        {"large tiles", 4, {1, 32, 20, 20}, {70, 32, 3, 3}, 1, NULL, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true},
        {"stride 2 asymmetric pads", 4, {1, 4, 13, 10}, {6, 4, 3, 2}, 1, NULL, {2, 2}, {1, 1}, {0, 1, 2, 0}, false, true},
        {"dilation 2", 4, {1, 3, 12, 12}, {5, 3, 3, 3}, 1, NULL, {1, 1}, {2, 2}, {2, 2, 2, 2}, true, true},
        {"groups 2", 4, {2, 6, 8, 8}, {4, 3, 3, 3}, 2, NULL, {1, 1}, {1, 1}, {1, 1, 1, 1}, true, true},
        {"depthwise", 4, {2, 8, 10, 9}, {8, 1, 3, 3}, 8, NULL, {2, 1}, {1, 1}, {1, 1, 1, 1}, true, true},
        {"depthwise x2", 4, {1, 4, 7, 7}, {8, 1, 5, 5}, 4, NULL, {1, 1}, {2, 2}, {4, 4, 4, 4}, false, true},
        {"SAME_UPPER", 4, {1, 3, 10, 9}, {4, 3, 4, 3}, 1, "SAME_UPPER", {2, 2}, {1, 1}, {0}, true, false},
        {"SAME_LOWER", 4, {1, 3, 10, 9}, {4, 3, 4, 3}, 1, "SAME_LOWER", {2, 3}, {1, 1}, {0}, true, false},
        {"VALID", 4, {1, 3, 10, 9}, {4, 3, 3, 3}, 1, "VALID", {2, 2}, {1, 1}, {0}, false, false},
        {"1-D", 3, {2, 3, 17}, {5, 3, 4}, 1, NULL, {2}, {1}, {1, 2}, true, true},
        {"3-D", 5, {1, 2, 5, 6, 7}, {3, 2, 2, 3, 2}, 1, NULL, {1, 2, 1}, {1, 1, 2}, {1, 0, 1, 0, 1, 1}, true, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const conv_case *c = &cases[i];
        const int sp = c->rank - 2;
        Onnx__NodeProto *n;
        pc_feed f = {0};
        mb_model *m = pc_one_node(13, "Conv", c->bias ? "X,W,B" : "X,W", &n);
        pc_feed_float(m, &f, "X", c->rank, c->x, -1.0f, 1.0f);
        pc_init_float(m, "W", c->rank, c->w, -1.0f, 1.0f);
        if (c->bias) pc_init_float(m, "B", 1, D(c->w[0]), -1.0f, 1.0f);
        mb_attr_int(m, n, "group", c->group);
        mb_attr_ints(m, n, "strides", (size_t)sp, c->strides);
        mb_attr_ints(m, n, "dilations", (size_t)sp, c->dil);
        if (c->has_pads) mb_attr_ints(m, n, "pads", (size_t)(2 * sp), c->pads);
        if (c->auto_pad) mb_attr_string(m, n, "auto_pad", c->auto_pad);
        compare_with_cpu(m, &f, c->label);
    }
}

static void test_gemm(void) {
    SKIP_WITHOUT_DEVICE();
    struct {
        int64_t m, k, n;
        int ta, tb;
        float alpha, beta;
        int crank;
    } cases[] = {{70, 40, 50, 0, 0, 1.0f, 1.0f, 1}, {1, 64, 100, 0, 1, 1.0f, 1.0f, 1},
                 {33, 65, 97, 1, 0, 0.5f, 2.0f, 2}, {65, 31, 64, 1, 1, 1.5f, 0.0f, 0},
                 {128, 96, 130, 0, 1, 1.0f, 1.0f, 2}, {5, 7, 3, 0, 0, 1.0f, 1.0f, -1},
                 /* CPU devices: ragged N with a transposed B copied first,
                  * N of exactly one block, K of one, a full [M, N] C,
                  * and a K long enough to split the rows into bands. */
                 {40, 300, 17, 0, 1, 1.0f, 1.0f, 2}, {9, 33, 16, 1, 0, 1.0f, 1.0f, 1},
                 {64, 1, 40, 0, 0, 1.0f, 1.0f, 3}, {100, 2048, 40, 0, 0, 1.0f, 0.5f, 3}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Onnx__NodeProto *n;
        pc_feed f = {0};
        bool has_c = cases[i].crank >= 0;
        mb_model *m = pc_one_node(13, "Gemm", has_c ? "A,B,C" : "A,B", &n);
        int64_t M = cases[i].m, K = cases[i].k, N = cases[i].n;
        pc_feed_float(m, &f, "A", 2, cases[i].ta ? D(K, M) : D(M, K), -1.0f, 1.0f);
        pc_init_float(m, "B", 2, cases[i].tb ? D(N, K) : D(K, N), -1.0f, 1.0f);
        if (cases[i].crank == 0) pc_init_float(m, "C", 0, NULL, -1.0f, 1.0f);
        if (cases[i].crank == 1) pc_init_float(m, "C", 1, D(N), -1.0f, 1.0f);
        if (cases[i].crank == 2) pc_init_float(m, "C", 2, D(M, 1), -1.0f, 1.0f);
        if (cases[i].crank == 3) pc_init_float(m, "C", 2, D(M, N), -1.0f, 1.0f);
        mb_attr_int(m, n, "transA", cases[i].ta);
        mb_attr_int(m, n, "transB", cases[i].tb);
        mb_attr_float(m, n, "alpha", cases[i].alpha);
        mb_attr_float(m, n, "beta", cases[i].beta);
        char label[64];
        snprintf(label, sizeof label, "gemm case %zu", i);
        compare_with_cpu(m, &f, label);
    }
}

static void test_matmul(void) {
    SKIP_WITHOUT_DEVICE();
    struct {
        int ra, rb;
        int64_t a[4], b[4];
    } cases[] = {
        {2, 2, {64, 48}, {48, 80}},          {3, 2, {3, 40, 33}, {33, 70}},       {3, 3, {4, 5, 6}, {4, 6, 7}},
        {4, 3, {2, 3, 9, 8}, {3, 8, 10}},    {4, 4, {2, 1, 9, 8}, {1, 3, 8, 10}}, {1, 2, {16}, {16, 9}},
        {2, 1, {9, 16}, {16}},               {1, 3, {16}, {2, 16, 5}},             {3, 2, {2, 100, 70}, {70, 90}},
        {3, 3, {3, 20, 50}, {3, 50, 33}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pc_feed f = {0};
        mb_model *m = pc_one_node(13, "MatMul", "A,B", NULL);
        pc_feed_float(m, &f, "A", cases[i].ra, cases[i].a, -1.0f, 1.0f);
        pc_feed_float(m, &f, "B", cases[i].rb, cases[i].b, -1.0f, 1.0f);
        char label[64];
        snprintf(label, sizeof label, "matmul case %zu", i);
        compare_with_cpu(m, &f, label);
    }
}

static void test_pools(void) {
    SKIP_WITHOUT_DEVICE();
    struct {
        const char *op, *label, *auto_pad;
        int rank;
        int64_t x[5], k[3], s[3], pads[6], dil[3];
        int ceil, include_pad;
    } cases[] = {
        {"MaxPool", "max 3x3 s2 p1", NULL, 4, {2, 3, 11, 11}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0, 0},
        {"MaxPool", "max ceil", NULL, 4, {1, 2, 10, 9}, {3, 2}, {2, 2}, {0, 0, 1, 0}, {1, 1}, 1, 0},
        {"MaxPool", "max dilated", NULL, 4, {1, 2, 12, 12}, {2, 3}, {1, 2}, {1, 0, 0, 1}, {2, 2}, 0, 0},
        {"MaxPool", "max SAME_UPPER", "SAME_UPPER", 4, {1, 2, 9, 8}, {3, 3}, {2, 2}, {0}, {1, 1}, 0, 0},
        {"MaxPool", "max 1-D", NULL, 3, {2, 3, 15}, {4}, {3}, {1, 2}, {1}, 1, 0},
        {"MaxPool", "max 3-D", NULL, 5, {1, 2, 6, 7, 5}, {2, 3, 2}, {2, 1, 2}, {0, 1, 0, 1, 1, 0}, {1, 1, 1}, 0, 0},
        {"AveragePool", "avg exclude pad", NULL, 4, {2, 3, 9, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0, 0},
        {"AveragePool", "avg include pad", NULL, 4, {2, 3, 9, 9}, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0, 1},
        {"AveragePool", "avg ceil include pad", NULL, 4, {1, 2, 10, 7}, {3, 3}, {2, 2}, {1, 0, 0, 1}, {1, 1}, 1, 1},
        {"AveragePool", "avg SAME_LOWER", "SAME_LOWER", 4, {1, 2, 8, 9}, {3, 2}, {2, 2}, {0}, {1, 1}, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const int sp = cases[i].rank - 2;
        Onnx__NodeProto *n;
        pc_feed f = {0};
        mb_model *m = pc_one_node(19, cases[i].op, "X", &n);
        pc_feed_float(m, &f, "X", cases[i].rank, cases[i].x, -1.0f, 1.0f);
        mb_attr_ints(m, n, "kernel_shape", (size_t)sp, cases[i].k);
        mb_attr_ints(m, n, "strides", (size_t)sp, cases[i].s);
        if (!cases[i].auto_pad) mb_attr_ints(m, n, "pads", (size_t)(2 * sp), cases[i].pads);
        else mb_attr_string(m, n, "auto_pad", cases[i].auto_pad);
        if (!strcmp(cases[i].op, "MaxPool")) mb_attr_ints(m, n, "dilations", (size_t)sp, cases[i].dil);
        else mb_attr_int(m, n, "count_include_pad", cases[i].include_pad);
        mb_attr_int(m, n, "ceil_mode", cases[i].ceil);
        compare_with_cpu(m, &f, cases[i].label);
    }
    const char *globals[] = {"GlobalAveragePool", "GlobalMaxPool"};
    for (int g = 0; g < 2; g++) {
        pc_feed f = {0};
        mb_model *m = pc_one_node(13, globals[g], "X", NULL);
        pc_feed_float(m, &f, "X", 4, D(2, 5, 13, 11), -1.0f, 1.0f);
        compare_with_cpu(m, &f, globals[g]);
    }
}

static void test_batchnorm(void) {
    SKIP_WITHOUT_DEVICE();
    pc_feed f = {0};
    Onnx__NodeProto *n;
    mb_model *m = pc_one_node(15, "BatchNormalization", "X,S,B,M,V", &n);
    pc_feed_float(m, &f, "X", 4, D(2, 6, 5, 7), -1.0f, 1.0f);
    pc_init_float(m, "S", 1, D(6), 0.5f, 2.0f);
    pc_init_float(m, "B", 1, D(6), -1.0f, 1.0f);
    pc_init_float(m, "M", 1, D(6), -0.5f, 0.5f);
    pc_init_float(m, "V", 1, D(6), 0.1f, 2.0f);
    mb_attr_float(m, n, "epsilon", 1e-3f);
    compare_with_cpu(m, &f, "batchnorm");
}

/* Conv -> Relu and Gemm -> Clip: fused on the device, same results. */
static void test_fused_activation(void) {
    SKIP_WITHOUT_DEVICE();
    pc_feed f = {0};
    mb_model *m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed_float(m, &f, "X", 4, D(1, 3, 9, 9), -1.0f, 1.0f);
    pc_init_float(m, "W", 4, D(4, 3, 3, 3), -1.0f, 1.0f);
    mb_node(m, "Conv", "c", "X,W", "T");
    mb_node(m, "Relu", "r", "T", "Y");
    compare_with_cpu(m, &f, "conv+relu");
    m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed_float(m, &f, "A", 2, D(40, 40), -1.0f, 1.0f);
    pc_init_float(m, "B", 2, D(40, 40), -1.0f, 1.0f);
    mb_init_float(m, "lo", 0, NULL, (const float[]){-0.25f});
    mb_init_float(m, "hi", 0, NULL, (const float[]){0.5f});
    mb_node(m, "Gemm", "g", "A,B", "T");
    mb_node(m, "Clip", "c", "T,lo,hi", "Y");
    compare_with_cpu(m, &f, "gemm+clip");
}

/* ---- concurrency ------------------------------------------------------------------ */

typedef struct thread_arg {
    prism_session *s;
    const pc_feed *f;
    const prism_tensor *want;
    int bad;
} thread_arg;

static void *runner(void *p) {
    thread_arg *a = p;
    for (int it = 0; it < 8; it++) {
        prism_tensor *y = NULL;
        if (prism_session_run(a->s, a->f->names, (const prism_tensor *const *)a->f->t, a->f->n, NULL, 1, &y)) {
            a->bad++;
            continue;
        }
        const float *g = prism_tensor_data_const(y), *w = prism_tensor_data_const(a->want);
        for (int64_t i = 0; i < prism_tensor_element_count(a->want); i++)
            if (fabsf(g[i] - w[i]) > 1e-4f + 1e-4f * fabsf(w[i])) {
                a->bad++;
                break;
            }
        prism_tensor_destroy(y);
    }
    return NULL;
}

static void test_concurrent_runs(void) {
    SKIP_WITHOUT_DEVICE();
    pc_feed f = {0};
    mb_model *m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    pc_feed_float(m, &f, "X", 4, D(1, 4, 12, 12), -1.0f, 1.0f);
    pc_init_float(m, "W", 4, D(8, 4, 3, 3), -1.0f, 1.0f);
    pc_init_float(m, "W2", 4, D(8, 8, 1, 1), -1.0f, 1.0f);
    mb_node(m, "Conv", "c1", "X,W", "T");
    Onnx__NodeProto *p = mb_node(m, "MaxPool", "p", "T", "U");
    mb_attr_ints(m, p, "kernel_shape", 2, D(2, 2));
    mb_node(m, "Conv", "c2", "U,W2", "V");
    mb_node(m, "GlobalAveragePool", "g", "V", "Y");
    prism_session *cpu = NULL, *ocl = NULL;
    UNIT_OK(model_session(m, "cpu", &cpu));
    UNIT_OK(model_session(m, "opencl", &ocl));
    prism_tensor *want = pc_run1(cpu, &f);
    CU_ASSERT_FATAL(want != NULL);
    pthread_t th[4];
    thread_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){ocl, &f, want, 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, runner, &args[i]), 0);
    }
    int bad = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        bad += args[i].bad;
    }
    CU_ASSERT_EQUAL(bad, 0);
    prism_tensor_destroy(want);
    prism_session_destroy(cpu);
    prism_session_destroy(ocl);
    pc_feed_free(&f);
    mb_free(m);
}

/* Nodes it declines go elsewhere with fallback, and fail clearly without. */
static void test_declined(void) {
    SKIP_WITHOUT_DEVICE();
    mb_model *m = mb_new(13);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(1, 1, 4, 4));
    Onnx__NodeProto *n = mb_node(m, "MaxPool", "mp", "X", "Y,I");
    mb_attr_ints(m, n, "kernel_shape", 2, D(2, 2));
    prism_session *s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_NOT_SUPPORTED, model_session(m, "opencl", &s), "mp");
    mb_free(m);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("opencl provider", suite_init, suite_clean);
    CU_add_test(s, "devices and properties", test_devices);
    CU_add_test(s, "no platform: zero devices and a reason", test_no_platform);
    CU_add_test(s, "ABI memory: round trip, bounds, foreign and stale handles", test_memory);
    CU_add_test(s, "program cache: hit, corrupt, truncated, unwritable", test_program_cache);
    CU_add_test(s, "build errors carry the build log", test_build_error);
    CU_add_test(s, "error names", test_error_names);
    CU_add_test(s, "Conv vs CPU", test_conv);
    CU_add_test(s, "Gemm vs CPU", test_gemm);
    CU_add_test(s, "MatMul vs CPU", test_matmul);
    CU_add_test(s, "pools vs CPU", test_pools);
    CU_add_test(s, "BatchNormalization vs CPU", test_batchnorm);
    CU_add_test(s, "fused activations", test_fused_activation);
    CU_add_test(s, "one session from four threads", test_concurrent_runs);
    CU_add_test(s, "declined nodes", test_declined);
    return unit_run_all();
}
