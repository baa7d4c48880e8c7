/*
 * test_xrt_plumbing.c — PLUMBING tests of the XRT provider under XRT's noop
 * emulation (XCL_EMULATION_MODE=noop, XILINX_XRT pointing at a folder this
 * test creates whose lib links to the system's library folder).
 *
 * noop runs the whole host-side sequence but its kernels compute nothing,
 * so NOTHING here checks a number a kernel computed: these tests check that
 * the calls succeed, complete and tear down (device open, xclbin load,
 * kernel open, argument binding, buffer round trips, runs, device-side
 * copies (xrtBOCopy) for Concat, plugin load and unload in a loop, a model
 * run to completion), and that the environments
 * in which XRT would kill the process (XILINX_XRT unset or wrong,
 * XCL_EMULATION_MODE empty, unknown or sw_emu without Vitis) leave it alive
 * with the reason reported. Every XRT-touching case runs in a forked child,
 * because XRT's state is per process.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_builder.h"
#include "provider_compare.h"
#include "unit_util.h"

static char *xrt_root;    /* folder whose lib links to the system libraries */
static char xclbin[4096]; /* the provider's default xclbin */
static char ini[4200];    /* the provider's XRT ini (silences XRT's output) */
static bool have_xrt;

#define D(...) (const int64_t[]){__VA_ARGS__}

/* Under AddressSanitizer, a C program that gets libstdc++ only through
 * dlopen (XRT is C++) aborts at XRT's first internal exception: ASan could
 * not hook __cxa_throw at start-up. The tests that call into XRT are then
 * skipped, with a note; the environment checks (which never reach XRT) run. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

static bool xrt_calls_ok(void) {
    if (UNDER_ASAN) fprintf(stderr, "skipped under ASan (XRT's C++ exceptions) ... ");
    return have_xrt && !UNDER_ASAN;
}

static int suite_init(void) {
    const char *path = getenv("PRISM_PROVIDER_PATH");
    snprintf(xclbin, sizeof xclbin, "%s/prism_xrt_kernels.xclbin", path ? path : ".");
    snprintf(ini, sizeof ini, "%s/prism_xrt.ini", path ? path : ".");
    have_xrt = access(xclbin, R_OK) == 0 && access("/usr/lib/x86_64-linux-gnu/libxrt_noop.so.2", R_OK) == 0;
    prism_env *env = NULL;
    if (prism_env_create(&env)) return 1;
    have_xrt = have_xrt && prism_env_load_provider(env, "xrt") == PRISM_OK;
    prism_env_destroy(env);
    if (!have_xrt) fprintf(stderr, "\n  no xrt provider, xclbin or XRT noop shim here: nothing to test\n");
    xrt_root = mb_tempdir();
    char *lib = mb_path(xrt_root, "lib");
    int rc = symlink("/usr/lib/x86_64-linux-gnu", lib);
    free(lib);
    return rc ? 1 : 0;
}

static int suite_clean(void) {
    mb_rmtree(xrt_root);
    free(xrt_root);
    return 0;
}

/* Run fn in a child with the environment set by set_env; the child's exit
 * status (128 + signal when killed). */
static int in_child(void (*set_env)(void), int (*fn)(void)) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        set_env();
        _exit(fn());
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static void env_noop(void) {
    setenv("XRT_INI_PATH", ini, 1); /* silences XRT's own error lines */
    setenv("XILINX_XRT", xrt_root, 1);
    setenv("XCL_EMULATION_MODE", "noop", 1);
}

/* ---- raw XRT: the sequence the provider's backend makes -------------------------- */

typedef void *(*open_fn)(unsigned);
typedef int (*load_fn)(void *, const char *);
typedef int (*uuid_fn)(void *, unsigned char *);
typedef void *(*kopen_fn)(void *, const unsigned char *, const char *);
typedef int (*group_fn)(void *, int);
typedef void *(*boalloc_fn)(void *, size_t, uint64_t, uint32_t);
typedef int (*bowrite_fn)(void *, const void *, size_t, size_t);
typedef int (*bosync_fn)(void *, int, size_t, size_t);
typedef void *(*runopen_fn)(void *);
typedef int (*setarg_fn)(void *, int, ...);
typedef int (*int_fn)(void *);
typedef int (*wait_fn)(void *, unsigned);

/* noop completes every run in state 4 (ERT_CMD_STATE_COMPLETED). */
static int raw_sequence(void) {
    void *lib = dlopen("libxrt_coreutil.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return 10;
#define SYM(type, name) type name = (type)dlsym(lib, #name)
    SYM(open_fn, xrtDeviceOpen);
    SYM(load_fn, xrtDeviceLoadXclbinFile);
    SYM(uuid_fn, xrtDeviceGetXclbinUUID);
    SYM(kopen_fn, xrtPLKernelOpen);
    SYM(group_fn, xrtKernelArgGroupId);
    SYM(boalloc_fn, xrtBOAlloc);
    SYM(bowrite_fn, xrtBOWrite);
    SYM(bowrite_fn, xrtBORead);
    SYM(bosync_fn, xrtBOSync);
    SYM(int_fn, xrtBOFree);
    SYM(runopen_fn, xrtRunOpen);
    SYM(setarg_fn, xrtRunSetArg);
    SYM(int_fn, xrtRunStart);
    SYM(wait_fn, xrtRunWaitFor);
    SYM(int_fn, xrtRunClose);
    SYM(int_fn, xrtKernelClose);
    SYM(int_fn, xrtDeviceClose);
#undef SYM
    if (!xrtDeviceOpen || !xrtRunSetArg || !xrtDeviceClose || !xrtBORead) return 11;
    void *dev = xrtDeviceOpen(0);
    if (!dev) return 12;
    if (xrtDeviceLoadXclbinFile(dev, "/nonexistent.xclbin") == 0) return 13; /* error path returns an error */
    if (xrtDeviceLoadXclbinFile(dev, xclbin)) return 14;
    unsigned char uuid[16];
    if (xrtDeviceGetXclbinUUID(dev, uuid)) return 15;
    if (xrtPLKernelOpen(dev, uuid, "no_such_kernel")) return 16;
    /* prism_eltwise(a, b, y, n, op, b_mode, b_inner, b_channels, act, act_lo, act_hi) */
    void *k = xrtPLKernelOpen(dev, uuid, "prism_eltwise");
    if (!k) return 17;
    int group = xrtKernelArgGroupId(k, 0);
    if (group < 0) return 18;
    float in[64], out[64];
    for (int i = 0; i < 64; i++) in[i] = (float)i;
    void *bo[3];
    for (int i = 0; i < 3; i++)
        if (!(bo[i] = xrtBOAlloc(dev, sizeof in, 0, (uint32_t)group))) return 19;
    if (xrtBOWrite(bo[0], in, sizeof in, 0) || xrtBOSync(bo[0], 0 /* to device */, sizeof in, 0)) return 20;
    if (xrtBOSync(bo[0], 1 /* from device */, sizeof in, 0) || xrtBORead(bo[0], out, sizeof out, 0)) return 21;
    if (memcmp(in, out, sizeof in)) return 22; /* the host-side round trip, not a kernel result */
    if (xrtBOWrite(bo[0], in, sizeof in + 4, 0) == 0) return 23; /* past the end fails */
    void *run = xrtRunOpen(k);
    if (!run) return 24;
    int rc = xrtRunSetArg(run, 0, bo[0]) | xrtRunSetArg(run, 1, bo[1]) | xrtRunSetArg(run, 2, bo[2]) |
             xrtRunSetArg(run, 3, 64) | xrtRunSetArg(run, 4, 0) | xrtRunSetArg(run, 5, 0) | xrtRunSetArg(run, 6, 1) |
             xrtRunSetArg(run, 7, 1) | xrtRunSetArg(run, 8, 0) | xrtRunSetArg(run, 9, 0.0) |
             xrtRunSetArg(run, 10, 0.0);
    if (rc) return 25;
    if (xrtRunSetArg(run, 11, 0) == 0) return 26; /* an index past the metadata's arguments fails */
    if (xrtRunStart(run)) return 27;
    if (xrtRunWaitFor(run, 10000) != 4) return 28;
    xrtRunClose(run);
    for (int i = 0; i < 3; i++) xrtBOFree(bo[i]);
    xrtKernelClose(k);
    xrtDeviceClose(dev);
    dlclose(lib);
    return 0;
}

static void test_raw_sequence(void) {
    if (!xrt_calls_ok()) return;
    int rc = in_child(env_noop, raw_sequence);
    if (rc) fprintf(stderr, "\n  raw XRT sequence stopped at step %d\n", rc);
    CU_ASSERT_EQUAL(rc, 0);
}

/* ---- the provider under noop ------------------------------------------------------- */

/* Conv(+Relu) -> MaxPool -> Flatten (cpu) -> Gemm: a model split xrt/cpu. */
static mb_model *small_cnn(void) {
    mb_model *m = mb_new(13);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(1, 3, 8, 8));
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    float w[4 * 3 * 9], b[4], fw[10 * 64], fb[10];
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) w[i] = 0.01f * (float)i;
    for (size_t i = 0; i < sizeof fw / sizeof fw[0]; i++) fw[i] = 0.001f * (float)i;
    for (int i = 0; i < 4; i++) b[i] = 0.1f;
    for (int i = 0; i < 10; i++) fb[i] = 0.2f;
    mb_init_float(m, "W", 4, D(4, 3, 3, 3), w);
    mb_init_float(m, "B", 1, D(4), b);
    mb_init_float(m, "FW", 2, D(10, 64), fw);
    mb_init_float(m, "FB", 1, D(10), fb);
    Onnx__NodeProto *c = mb_node(m, "Conv", "conv", "X,W,B", "C");
    mb_attr_ints(m, c, "pads", 4, D(1, 1, 1, 1));
    mb_node(m, "Relu", "relu", "C", "R");
    Onnx__NodeProto *p = mb_node(m, "MaxPool", "pool", "R", "P");
    mb_attr_ints(m, p, "kernel_shape", 2, D(2, 2));
    mb_attr_ints(m, p, "strides", 2, D(2, 2));
    mb_node(m, "Flatten", "flat", "P", "F");
    Onnx__NodeProto *g = mb_node(m, "Gemm", "fc", "F,FW,FB", "Y");
    mb_attr_int(m, g, "transB", 1);
    return m;
}

/* Run s three times on a zero input X of shape in_dims (rank 4); each run
 * must succeed with an output of shape out_dims (rank 2). 0, or step (the
 * run failed) or step + 1 (wrong shape). Values are not looked at: noop
 * kernels compute nothing. */
static int run_three(prism_session *s, const int64_t *in_dims, const int64_t *out_dims, int step) {
    float *x = calloc((size_t)pc_count(4, in_dims), sizeof *x);
    if (!x) return step;
    prism_tensor *in = mb_float_tensor(4, in_dims, x), *y = NULL;
    free(x);
    const char *names[] = {"X"};
    int rc = 0;
    for (int r = 0; !rc && r < 3; r++) {
        if (prism_session_run(s, names, (const prism_tensor *const *)&in, 1, NULL, 1, &y)) {
            fprintf(stderr, "\n  run: %s\n", prism_last_error_message());
            rc = step;
        } else if (prism_tensor_rank(y) != 2 || prism_tensor_dims(y)[0] != out_dims[0] ||
                   prism_tensor_dims(y)[1] != out_dims[1]) {
            rc = step + 1;
        }
        prism_tensor_destroy(y);
        y = NULL;
    }
    prism_tensor_destroy(in);
    return rc;
}

/* One env: the noop device listed first, a session on it, three runs to
 * completion (the output's shape checked, its values not). */
static int provider_session(void) {
    prism_env *env = NULL;
    if (prism_env_create(&env) || prism_env_load_provider(env, "xrt")) return 30;
    size_t pi = 0;
    while (pi < prism_env_provider_count(env) && strcmp(prism_env_provider_name(env, pi), "xrt")) pi++;
    if (prism_env_device_count(env, pi) != 2) return 31; /* noop device + csim */
    mb_model *m = small_cnn();
    prism_session *s = NULL;
    int rc = 0;
    if (pc_session(env, m, "xrt,cpu", true, NULL, &s)) {
        fprintf(stderr, "\n  session: %s\n", prism_last_error_message());
        rc = 34;
    }
    mb_free(m);
    size_t on_xrt = 0;
    for (size_t i = 0; !rc && i < prism_session_node_count(s); i++) {
        prism_node_placement p = {.struct_size = sizeof p};
        if (prism_session_node_placement(s, i, &p)) rc = 35;
        else on_xrt += !strcmp(p.provider, "xrt") && p.device == 0;
    }
    /* Conv, Relu, MaxPool at least (the core may keep the small Gemm next
     * to the CPU's Flatten) */
    if (!rc && on_xrt < 3) {
        fprintf(stderr, "\n%s\n", prism_session_placement(s, "text"));
        rc = 36;
    }
    if (!rc) rc = run_three(s, D(1, 3, 8, 8), D(1, 10), 37);
    prism_session_destroy(s);
    prism_env_destroy(env);
    return rc;
}

static void test_provider_session(void) {
    if (!xrt_calls_ok()) return;
    int rc = in_child(env_noop, provider_session);
    if (rc) fprintf(stderr, "\n  noop session stopped at step %d\n", rc);
    CU_ASSERT_EQUAL(rc, 0);
}

/* The plugin loaded, used and unloaded several times in one process. */
static int reload_loop(void) {
    for (int i = 0; i < 4; i++) {
        int rc = provider_session();
        if (rc) return rc;
    }
    return 0;
}

static void test_reload_loop(void) {
    if (!xrt_calls_ok()) return;
    int rc = in_child(env_noop, reload_loop);
    if (rc) fprintf(stderr, "\n  reload loop stopped at step %d\n", rc);
    CU_ASSERT_EQUAL(rc, 0);
}

/* ---- device-side copies (Concat, view outputs) ------------------------------------------ */

typedef int (*bocopy_fn)(void *, void *, size_t, size_t, size_t);

/* xrtBOCopy as the backend calls it. What noop does with the bytes is not
 * checked (it accepts the call and, as observed with XRT 2.13, leaves the
 * destination as it was): only the return codes, including the zero-byte
 * and out-of-range errors the backend guards against. */
static int raw_copy(void) {
    void *lib = dlopen("libxrt_coreutil.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!lib) return 50;
    open_fn dev_open = (open_fn)dlsym(lib, "xrtDeviceOpen");
    load_fn load = (load_fn)dlsym(lib, "xrtDeviceLoadXclbinFile");
    boalloc_fn bo_alloc = (boalloc_fn)dlsym(lib, "xrtBOAlloc");
    bocopy_fn bo_copy = (bocopy_fn)dlsym(lib, "xrtBOCopy");
    int_fn bo_free = (int_fn)dlsym(lib, "xrtBOFree"), dev_close = (int_fn)dlsym(lib, "xrtDeviceClose");
    if (!dev_open || !load || !bo_alloc || !bo_copy || !bo_free || !dev_close) return 51;
    void *dev = dev_open(0);
    if (!dev || load(dev, xclbin)) return 52;
    void *a = bo_alloc(dev, 256, 0, 0), *b = bo_alloc(dev, 256, 0, 0);
    if (!a || !b) return 53;
    int rc = 0;
    if (bo_copy(b, a, 128, 64, 0)) rc = 54;            /* in range: accepted */
    if (!rc && bo_copy(b, a, 0, 0, 0) == 0) rc = 55;   /* zero bytes: an error */
    if (!rc && bo_copy(b, a, 256, 64, 0) == 0) rc = 56; /* past the end: an error */
    bo_free(a);
    bo_free(b);
    dev_close(dev);
    dlclose(lib);
    return rc;
}

static void test_raw_copy(void) {
    if (!xrt_calls_ok()) return;
    int rc = in_child(env_noop, raw_copy);
    if (rc) fprintf(stderr, "\n  raw xrtBOCopy stopped at step %d\n", rc);
    CU_ASSERT_EQUAL(rc, 0);
}

/* A fire module (SqueezeNet): Conv -> Relu -> two Convs -> Concat (axis 1,
 * batch 2: 4 xrtBOCopy calls) -> Flatten as the graph output (one more).
 * Every node on the noop device; three runs complete with the output's
 * shape right (its values are whatever noop left). */
static int concat_session(void) {
    prism_env *env = NULL;
    if (prism_env_create(&env) || prism_env_load_provider(env, "xrt")) return 60;
    mb_model *m = mb_new(13);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, D(2, 4, 5, 5));
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    float w1[3 * 4], w2[2 * 3], w3[5 * 3 * 9];
    for (size_t i = 0; i < sizeof w1 / sizeof w1[0]; i++) w1[i] = 0.1f;
    for (size_t i = 0; i < sizeof w2 / sizeof w2[0]; i++) w2[i] = 0.2f;
    for (size_t i = 0; i < sizeof w3 / sizeof w3[0]; i++) w3[i] = 0.3f;
    mb_init_float(m, "W1", 4, D(3, 4, 1, 1), w1);
    mb_init_float(m, "W2", 4, D(2, 3, 1, 1), w2);
    mb_init_float(m, "W3", 4, D(5, 3, 3, 3), w3);
    mb_node(m, "Conv", "squeeze", "X,W1", "S");
    mb_node(m, "Relu", "relu", "S", "R");
    mb_node(m, "Conv", "e1", "R,W2", "E1");
    Onnx__NodeProto *c = mb_node(m, "Conv", "e3", "R,W3", "E3");
    mb_attr_ints(m, c, "pads", 4, D(1, 1, 1, 1));
    Onnx__NodeProto *k = mb_node(m, "Concat", "concat", "E1,E3", "C");
    mb_attr_int(m, k, "axis", 1);
    mb_node(m, "Flatten", "flat", "C", "Y");
    prism_session *s = NULL;
    int rc = 0;
    if (pc_session(env, m, "xrt", false, NULL, &s)) { /* nothing may go to the CPU */
        fprintf(stderr, "\n  session: %s\n", prism_last_error_message());
        rc = 63;
    }
    mb_free(m);
    for (size_t i = 0; !rc && i < prism_session_node_count(s); i++) {
        prism_node_placement p = {.struct_size = sizeof p};
        if (prism_session_node_placement(s, i, &p) || strcmp(p.provider, "xrt") || p.device != 0) rc = 64;
    }
    if (!rc) rc = run_three(s, D(2, 4, 5, 5), D(2, 7 * 25), 65);
    prism_session_destroy(s);
    prism_env_destroy(env);
    return rc;
}

static void test_concat_session(void) {
    if (!xrt_calls_ok()) return;
    int rc = in_child(env_noop, concat_session);
    if (rc) fprintf(stderr, "\n  noop Concat session stopped at step %d\n", rc);
    CU_ASSERT_EQUAL(rc, 0);
}

/* ---- environments in which XRT would end the process --------------------------------- */

/* ---- damaged xclbins reaching XRT ------------------------------------------------- */

/* XRT reads an xclbin trusting its offsets, counts and indices: a damaged
 * file that passed a loose check crashed inside xrtDeviceLoadXclbinFile
 * (a section offset) and xrtPLKernelOpen (a connection's argument index).
 * Each file here goes to the noop device in a child: the session is created
 * or refused with a message, and the child never dies of a signal. */
static char damaged_path[4200];

static int damaged_session(void) {
    prism_env *env = NULL;
    if (prism_env_create(&env) || prism_env_load_provider(env, "xrt")) return 70;
    mb_model *m = small_cnn();
    char opt[4300];
    snprintf(opt, sizeof opt, "xrt:xclbin=%s", damaged_path);
    const char *const opts[] = {opt, NULL};
    prism_session *s = NULL;
    int rc = 0;
    if (pc_session(env, m, "xrt,cpu", true, opts, &s) && !*prism_last_error_message()) rc = 73;
    mb_free(m);
    prism_session_destroy(s);
    prism_env_destroy(env);
    return rc;
}

static void test_damaged_xclbins(void) {
    if (!xrt_calls_ok()) return;
    FILE *f = fopen(xclbin, "rb");
    CU_ASSERT_FATAL(f != NULL);
    unsigned char good[1 << 16];
    size_t n = fread(good, 1, sizeof good, f);
    fclose(f);
    CU_ASSERT_FATAL(n > 1024 && n < sizeof good);
    snprintf(damaged_path, sizeof damaged_path, "%s/damaged.xclbin", xrt_root);
    unsigned char buf[1 << 16];
    uint64_t rng = 31;
    int crashed = 0;
    for (int round = 0; round < 40; round++) {
        memcpy(buf, good, n);
        for (int h = 0; h < 1 + round % 3; h++) {
            rng = rng * 6364136223846793005ull + 1442695040888963407ull;
            /* Half the rounds in the header and section table, half anywhere. */
            size_t at = (size_t)(rng >> 33) % (round % 2 ? n : 1024);
            buf[at] ^= (unsigned char)(1u + (rng >> 20) % 255);
        }
        CU_ASSERT_FATAL(mb_write_file(damaged_path, buf, n));
        int rc = in_child(env_noop, damaged_session);
        if (rc >= 128) crashed++;
        CU_ASSERT(rc == 0);
    }
    CU_ASSERT_EQUAL(crashed, 0);
}

static const char *want_reason;

/* The provider loads, lists only the csim device, and its properties say why. */
static int only_csim_with_reason(void) {
    prism_env *env = NULL;
    if (prism_env_create(&env) || prism_env_load_provider(env, "xrt")) return 40;
    size_t pi = 0;
    while (pi < prism_env_provider_count(env) && strcmp(prism_env_provider_name(env, pi), "xrt")) pi++;
    if (prism_env_device_count(env, pi) != 1) return 41;
    prism_device_desc d = {.struct_size = sizeof d};
    if (prism_env_device(env, pi, 0, &d)) return 42;
    if (!strstr(d.name, "csim")) return 43;
    if (!d.properties || !strstr(d.properties, want_reason)) {
        fprintf(stderr, "\n  properties lack '%s':\n%s\n", want_reason, d.properties ? d.properties : "(none)");
        return 44;
    }
    prism_env_destroy(env);
    return 0;
}

static void env_unset(void) { unsetenv("XILINX_XRT"); unsetenv("XCL_EMULATION_MODE"); }
static void env_usr(void) { setenv("XILINX_XRT", "/usr", 1); unsetenv("XCL_EMULATION_MODE"); }
static void env_empty_mode(void) { setenv("XILINX_XRT", xrt_root, 1); setenv("XCL_EMULATION_MODE", "", 1); }
static void env_bogus_mode(void) { setenv("XILINX_XRT", xrt_root, 1); setenv("XCL_EMULATION_MODE", "bogus", 1); }
static void env_sw_emu(void) {
    setenv("XILINX_XRT", xrt_root, 1);
    setenv("XCL_EMULATION_MODE", "sw_emu", 1);
    unsetenv("XILINX_VITIS");
}

static void test_dangerous_envs(void) {
    if (!have_xrt) return;
    struct {
        void (*set)(void);
        const char *reason;
    } cases[] = {
        {env_unset, "XILINX_XRT is not set"},
        {env_usr, "has no lib/libxrt_core.so.2"},
        {env_empty_mode, "XCL_EMULATION_MODE is set but empty"},
        {env_bogus_mode, "XCL_EMULATION_MODE='bogus'"},
        {env_sw_emu, "sw_emu needs Vitis"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        want_reason = cases[i].reason;
        int rc = in_child(cases[i].set, only_csim_with_reason);
        if (rc) fprintf(stderr, "\n  case '%s': child ended with %d\n", cases[i].reason, rc);
        CU_ASSERT_EQUAL(rc, 0);
    }
}

/* `prism devices` in a subprocess: exit 0 with the reason printed. */
static void test_prism_devices(void) {
    const char *bin = getenv("PRISM_BIN");
    if (!have_xrt || !bin) return;
    char *dir = mb_tempdir();
    char root[4200];
    snprintf(root, sizeof root, "XILINX_XRT=%s", xrt_root);
    const char *const env_unset_xrt[] = {"XILINX_XRT=", "XCL_EMULATION_MODE=", NULL};
    const char *const env_bad_mode[] = {root, "XCL_EMULATION_MODE=bogus", NULL};
    const char *const env_noop_list[] = {root, "XCL_EMULATION_MODE=noop", NULL};
    const char *const args[] = {"devices", NULL};
    mb_result r = mb_run(bin, dir, env_unset_xrt, args);
    CU_ASSERT_EQUAL(r.status, 0);
    MB_CONTAINS(r.out, "XILINX_XRT is not set");
    mb_result_free(&r);
    r = mb_run(bin, dir, env_bad_mode, args);
    CU_ASSERT_EQUAL(r.status, 0);
    MB_CONTAINS(r.out, "is not sw_emu, hw_emu or noop");
    mb_result_free(&r);
    r = mb_run(bin, dir, env_noop_list, args);
    CU_ASSERT_EQUAL(r.status, 0);
    MB_CONTAINS(r.out, "emulation noop");
    MB_CONTAINS(r.out, "Prism HLS C simulation (csim)");
    mb_result_free(&r);
    mb_rmtree(dir);
    free(dir);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("xrt provider PLUMBING (noop emulation: no numeric checks)", suite_init, suite_clean);
    CU_add_test(s, "plumbing: raw XRT open/load/kernel/args/buffers/run/teardown", test_raw_sequence);
    CU_add_test(s, "plumbing: provider session on the noop device runs to completion", test_provider_session);
    CU_add_test(s, "plumbing: plugin load/unload loop", test_reload_loop);
    CU_add_test(s, "plumbing: raw xrtBOCopy return codes", test_raw_copy);
    CU_add_test(s, "plumbing: Concat and a Flatten output as xrtBOCopy on the noop device", test_concat_session);
    CU_add_test(s, "plumbing: damaged xclbins on the noop device never kill the process", test_damaged_xclbins);
    CU_add_test(s, "plumbing: environments that would abort XRT leave the process alive", test_dangerous_envs);
    CU_add_test(s, "plumbing: prism devices reports the reason and exits 0", test_prism_devices);
    return unit_run_all();
}
