/*
 * test_abi_plugins.c — the plugin loader against broken and unusual
 * providers (built beside this program, see CMakeLists.txt): every broken
 * library gets a clear error naming its fault, and the same env then still
 * loads the CPU provider and runs a model. Also the loader's search over a
 * folder of broken libraries, and the CLI's messages for them.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model_builder.h"
#include "prism/provider.h"
#include "unit_util.h"

static const char *plugin_dir; /* the test plugins ($PRISM_ABI_PLUGIN_DIR) */
static const char *prism_bin;  /* the CLI ($PRISM_BIN) */
static char *tmp;              /* temp folder: model file, garbage library, CLI output */
static char *model_path;       /* Y = Relu(X + W) */
static char *garbage_lib;      /* tmp/libprism_provider_garbage.so: not an ELF file */
static char host_abi[32];      /* "ABI 1.0" for this host */

/* Every plugin of tests/abi that must be refused. */
static const char *const broken_plugins[] = {"badmajor", "probemajor", "noinit",     "nullcompile",
                                             "initfail", "notable",    "smalltable", "badinfo"};
#define N_BROKEN (sizeof broken_plugins / sizeof broken_plugins[0])

static char *plugin(const char *name) {
    char file[128];
    snprintf(file, sizeof file, "libprism_provider_%s.so", name);
    return mb_path(plugin_dir, file);
}

/* ---- log capture ------------------------------------------------------------ */

typedef struct log_capture {
    pthread_mutex_t lock; /* the log callback may be called from any thread */
    char *text;
    size_t len;
} log_capture;

static void capture_line(void *user, prism_log_level level, const char *message) {
    log_capture *c = user;
    pthread_mutex_lock(&c->lock);
    size_t add = strlen(message) + 16;
    char *t = realloc(c->text, c->len + add);
    if (t) {
        c->text = t;
        c->len += (size_t)snprintf(t + c->len, add, "%d: %s\n", (int)level, message);
    }
    pthread_mutex_unlock(&c->lock);
}

static void capture_init(log_capture *c) {
    pthread_mutex_init(&c->lock, NULL);
    c->text = calloc(1, 1);
    c->len = 0;
}

static void capture_free(log_capture *c) {
    pthread_mutex_destroy(&c->lock);
    free(c->text);
}

/* ---- helpers ----------------------------------------------------------------- */

/* Index of the loaded provider called name, or -1. */
static long provider_index(const prism_env *env, const char *name) {
    for (size_t i = 0; i < prism_env_provider_count(env); i++)
        if (!strcmp(prism_env_provider_name(env, i), name)) return (long)i;
    return -1;
}

/* A session on providers (NULL: defaults), fallback forbidden and the PRISM_*
 * variables ignored so that the list is exactly the one given. */
static prism_status make_session(prism_env *env, const char *providers, prism_session **out) {
    prism_session_options *o = NULL;
    prism_status st = prism_session_options_create(&o);
    if (!st) st = prism_session_options_set_environment(o, 0);
    if (!st) st = prism_session_options_set_fallback(o, 0);
    if (!st && providers) st = prism_session_options_set_providers(o, providers);
    if (!st) {
        mb_model *m = mb_add_relu_model();
        size_t n;
        uint8_t *bytes = mb_pack(m, &n);
        st = prism_session_create_from_memory(env, bytes, n, o, out);
        free(bytes);
        mb_free(m);
    }
    prism_session_options_destroy(o);
    return st;
}

/* Run Y = Relu(X + W) on s: returns the status, and checks Y when it ran. */
static prism_status run_add_relu(prism_session *s) {
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *y = NULL;
    const char *in[] = {"X"};
    prism_status st = prism_session_run(s, in, (const prism_tensor *const *)&x, 1, NULL, 1, &y);
    if (!st) {
        CU_ASSERT_EQUAL(prism_tensor_element_count(y), 6);
        if (prism_tensor_element_count(y) == 6)
            CU_ASSERT_EQUAL(memcmp(prism_tensor_data(y), MB_Y_VALUES, sizeof MB_Y_VALUES), 0);
    }
    prism_tensor_destroy(y);
    prism_tensor_destroy(x);
    return st;
}

/* After a failure the env must be as good as new: CPU loads, a model runs. */
static void check_env_still_works(prism_env *env) {
    UNIT_OK(prism_env_load_provider(env, "cpu"));
    prism_session *s = NULL;
    UNIT_OK(make_session(env, "cpu", &s));
    UNIT_OK(run_add_relu(s));
    prism_session_destroy(s);
}

/* Load one broken plugin by path into a fresh env and check the error; the
 * env keeps nothing of it and still works. */
static void expect_refused(const char *name, prism_status expect, const char *const *needles) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    char *path = plugin(name);
    prism_status st = prism_env_load_provider(env, path);
    mb_check_fail(__FILE__, __LINE__, name, st, expect, needles);
    CU_ASSERT_EQUAL(prism_env_provider_count(env), 0);
    CU_ASSERT_EQUAL(provider_index(env, name), -1);
    /* Asking again fails again (nothing half-loaded was kept). */
    CU_ASSERT_EQUAL(prism_env_load_provider(env, path), expect);
    check_env_still_works(env);
    free(path);
    prism_env_destroy(env);
}

#define EXPECT_REFUSED(name, expect, ...) expect_refused(name, expect, (const char *const[]){__VA_ARGS__, NULL})

/* ---- suite ------------------------------------------------------------------- */

static int suite_init(void) {
    plugin_dir = getenv("PRISM_ABI_PLUGIN_DIR");
    prism_bin = getenv("PRISM_BIN");
    if (!plugin_dir || !prism_bin || access(prism_bin, X_OK) != 0) {
        fprintf(stderr, "PRISM_ABI_PLUGIN_DIR and PRISM_BIN must be set (ctest sets them)\n");
        return 1;
    }
    snprintf(host_abi, sizeof host_abi, "ABI %u.%u", PRISM_PROVIDER_ABI_MAJOR, PRISM_PROVIDER_ABI_MINOR);
    tmp = mb_tempdir();
    model_path = mb_path(tmp, "add_relu.onnx");
    garbage_lib = mb_path(tmp, "libprism_provider_garbage.so");
    mb_model *m = mb_add_relu_model();
    bool ok = mb_save(m, model_path);
    mb_free(m);
    static const char garbage[] = "this is not a shared library\n\x7f\x45\x4c\x46 (nor is this)";
    return ok && mb_write_file(garbage_lib, garbage, sizeof garbage) ? 0 : 1;
}

static int suite_clean(void) {
    mb_rmtree(tmp);
    free(tmp);
    free(model_path);
    free(garbage_lib);
    return 0;
}

/* ---- one broken library at a time ---------------------------------------------- */

static void test_table_of_other_major(void) {
    EXPECT_REFUSED("badmajor", PRISM_ERR_ABI_MISMATCH, "libprism_provider_badmajor.so", "ABI 2.0", host_abi);
}

static void test_probe_of_other_major(void) {
    EXPECT_REFUSED("probemajor", PRISM_ERR_ABI_MISMATCH, "libprism_provider_probemajor.so", "ABI 2.0", host_abi);
    /* Refused from the probe: init (whose message says it ran) never ran. */
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    char *path = plugin("probemajor");
    CU_ASSERT_EQUAL(prism_env_load_provider(env, path), PRISM_ERR_ABI_MISMATCH);
    CU_ASSERT_PTR_NULL(strstr(prism_last_error_message(), "init was called"));
    free(path);
    prism_env_destroy(env);
}

static void test_no_init_symbol(void) {
    EXPECT_REFUSED("noinit", PRISM_ERR_PROVIDER, "libprism_provider_noinit.so", PRISM_PROVIDER_INIT_SYMBOL);
}

static void test_required_member_null(void) {
    EXPECT_REFUSED("nullcompile", PRISM_ERR_PROVIDER, "libprism_provider_nullcompile.so", "'compile'");
}

static void test_init_fails_with_message(void) {
    EXPECT_REFUSED("initfail", PRISM_ERR_PROVIDER, "libprism_provider_initfail.so",
                   "the frobnicator is not plugged in", "PRISM_ERR_NOT_FOUND");
}

static void test_init_returns_no_table(void) {
    EXPECT_REFUSED("notable", PRISM_ERR_PROVIDER, "libprism_provider_notable.so", "no function table");
}

static void test_table_too_small(void) {
    char sizes[64];
    snprintf(sizes, sizeof sizes, "%zu bytes", (size_t)offsetof(prism_provider_api, buffer_alloc));
    char v1[64];
    snprintf(v1, sizeof v1, "%zu", (size_t)PRISM_PROVIDER_API_V1_SIZE);
    EXPECT_REFUSED("smalltable", PRISM_ERR_PROVIDER, "libprism_provider_smalltable.so", sizes, v1);
}

static void test_device_info_fails(void) {
    EXPECT_REFUSED("badinfo", PRISM_ERR_PROVIDER, "badinfo", "device_info");
}

static void test_not_a_library(void) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, prism_env_load_provider(env, garbage_lib), garbage_lib,
                   "cannot load provider library");
    CU_ASSERT_EQUAL(prism_env_provider_count(env), 0);
    /* A missing file is reported the same way, naming the path. */
    char *missing = mb_path(tmp, "libprism_provider_nothere.so");
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, prism_env_load_provider(env, missing), missing);
    free(missing);
    check_env_still_works(env);
    prism_env_destroy(env);
}

/* Every refused library, one after another in one env: no state leaks from
 * one failure into the next load. */
static void test_failures_in_one_env(void) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    for (size_t i = 0; i < N_BROKEN; i++) {
        char *path = plugin(broken_plugins[i]);
        prism_status st = prism_env_load_provider(env, path);
        CU_ASSERT_NOT_EQUAL(st, PRISM_OK);
        CU_ASSERT_PTR_NOT_NULL(strstr(prism_last_error_message(), broken_plugins[i]));
        free(path);
        check_env_still_works(env);
    }
    CU_ASSERT_EQUAL(prism_env_provider_count(env), 1); /* cpu */
    prism_env_destroy(env);
}

/* ---- providers that load ---------------------------------------------------------- */

static void test_zero_devices(void) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    log_capture log;
    capture_init(&log);
    prism_env_set_logger(env, capture_line, &log, PRISM_LOG_INFO);
    char *path = plugin("zerodev");
    UNIT_OK(prism_env_load_provider(env, path));
    free(path);
    long i = provider_index(env, "zerodev");
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(prism_env_device_count(env, (size_t)i), 0);
    CU_ASSERT_STRING_EQUAL(prism_env_provider_reason(env, (size_t)i), "no frobnicator card in this machine");
    prism_device_desc d = {.struct_size = sizeof d};
    CU_ASSERT_EQUAL(prism_env_device(env, (size_t)i, 0, &d), PRISM_ERR_NOT_FOUND);
    MB_CONTAINS(log.text, "no frobnicator card in this machine");

    /* "zerodev,cpu": zerodev is skipped (and the log says so), cpu runs all. */
    free(log.text);
    log.text = calloc(1, 1);
    log.len = 0;
    prism_session *s = NULL;
    UNIT_OK(make_session(env, "zerodev,cpu", &s));
    MB_CONTAINS(log.text, "zerodev");
    MB_CONTAINS(log.text, "no frobnicator card in this machine");
    const char *placement = prism_session_placement(s, "text");
    CU_ASSERT_PTR_NOT_NULL_FATAL(placement);
    MB_CONTAINS(placement, "cpu");
    CU_ASSERT_PTR_NULL(strstr(placement, "zerodev"));
    UNIT_OK(run_add_relu(s));
    prism_session_destroy(s);

    /* "zerodev" alone (no fallback): nothing can run the model, and the
     * error says which provider was unusable and why. */
    s = NULL;
    prism_status st = make_session(env, "zerodev", &s);
    CU_ASSERT_NOT_EQUAL(st, PRISM_OK);
    CU_ASSERT_PTR_NULL(s);
    MB_CONTAINS(prism_last_error_message(), "zerodev");
    MB_CONTAINS(prism_last_error_message(), "no frobnicator card in this machine");
    prism_session_destroy(s);
    check_env_still_works(env);
    prism_env_destroy(env);
    capture_free(&log);
}

static void test_run_fails(void) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    char *path = plugin("runfail");
    UNIT_OK(prism_env_load_provider(env, path));
    free(path);
    prism_session *s = NULL;
    UNIT_OK(make_session(env, "runfail,cpu", &s));
    const char *placement = prism_session_placement(s, "text");
    CU_ASSERT_PTR_NOT_NULL_FATAL(placement);
    MB_CONTAINS(placement, "runfail"); /* it claimed the Relu */
    for (int attempt = 0; attempt < 2; attempt++) {
        prism_status st = run_add_relu(s);
        CU_ASSERT_EQUAL(st, PRISM_ERR_RUNTIME);
        MB_CONTAINS(prism_last_error_message(), "the frobnicator overheated");
        MB_CONTAINS(prism_last_error_message(), "runfail");
    }
    prism_session_destroy(s);
    check_env_still_works(env);
    prism_env_destroy(env);
}

/* A table from a newer minor version, grown at the end, loads and runs. */
static void test_newer_minor(void) {
    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    char *path = plugin("newminor");
    UNIT_OK(prism_env_load_provider(env, path));
    free(path);
    long i = provider_index(env, "newminor");
    CU_ASSERT_FATAL(i >= 0);
    CU_ASSERT_EQUAL(prism_env_device_count(env, (size_t)i), 1);
    prism_session *s = NULL;
    UNIT_OK(make_session(env, "newminor,cpu", &s));
    const char *placement = prism_session_placement(s, "text");
    CU_ASSERT_PTR_NOT_NULL_FATAL(placement);
    MB_CONTAINS(placement, "newminor");
    UNIT_OK(run_add_relu(s));
    prism_session_destroy(s);
    prism_env_destroy(env);
}

/* ---- the search path ----------------------------------------------------------- */

static void test_load_all_skips_broken(void) {
    const char *old = getenv("PRISM_PROVIDER_PATH");
    char *saved = old ? strdup(old) : NULL;
    char *path = malloc(strlen(plugin_dir) + strlen(tmp) + 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(path);
    sprintf(path, "%s:%s", plugin_dir, tmp);
    setenv("PRISM_PROVIDER_PATH", path, 1);

    prism_env *env = NULL;
    UNIT_OK(prism_env_create(&env));
    log_capture log;
    capture_init(&log);
    prism_env_set_logger(env, capture_line, &log, PRISM_LOG_WARNING);
    UNIT_OK(prism_env_load_all_providers(env));
    for (size_t i = 0; i < N_BROKEN; i++) {
        char want[96];
        snprintf(want, sizeof want, "skipping provider '%s'", broken_plugins[i]);
        MB_CONTAINS(log.text, want);
        CU_ASSERT_EQUAL(provider_index(env, broken_plugins[i]), -1);
    }
    MB_CONTAINS(log.text, "skipping provider 'garbage'");
    MB_CONTAINS(log.text, "ABI 2.0");
    MB_CONTAINS(log.text, "the frobnicator is not plugged in");
    /* The good ones loaded: cpu (beside libprism) and the test plugins that
     * work, zerodev included (loaded, with no device). */
    const char *good[] = {"cpu", "zerodev", "runfail", "newminor"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        CU_ASSERT(provider_index(env, good[i]) >= 0);
        char not_want[96];
        snprintf(not_want, sizeof not_want, "skipping provider '%s'", good[i]);
        CU_ASSERT_PTR_NULL(strstr(log.text, not_want));
    }
    check_env_still_works(env);
    prism_env_destroy(env);
    capture_free(&log);

    if (saved) setenv("PRISM_PROVIDER_PATH", saved, 1);
    else unsetenv("PRISM_PROVIDER_PATH");
    free(saved);
    free(path);
}

/* ---- the CLI --------------------------------------------------------------------- */

typedef mb_result cli_result;

/* Run $PRISM_BIN with args (NULL-terminated) and PRISM_PROVIDER_PATH set to
 * provider_path (NULL: inherited). */
static cli_result run_cli(const char *provider_path, const char *const *args) {
    char *var = provider_path ? malloc(strlen(provider_path) + 32) : NULL;
    if (var) sprintf(var, "PRISM_PROVIDER_PATH=%s", provider_path);
    const char *env[] = {var, NULL};
    cli_result r = mb_run(prism_bin, tmp, var ? env : NULL, args);
    free(var);
    return r;
}

static void free_result(cli_result *r) { mb_result_free(r); }

static void test_cli_devices(void) {
    cli_result r = run_cli(plugin_dir, (const char *const[]){"devices", NULL});
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.err);
    /* Broken libraries are named with their fault; the others are listed. */
    MB_CONTAINS(r.err, "badmajor");
    MB_CONTAINS(r.err, "ABI 2.0");
    MB_CONTAINS(r.err, "nullcompile");
    MB_CONTAINS(r.err, "'compile'");
    MB_CONTAINS(r.err, "the frobnicator is not plugged in");
    MB_CONTAINS(r.out, "provider cpu");
    MB_CONTAINS(r.out, "provider runfail");
    MB_CONTAINS(r.out, "provider zerodev");
    MB_CONTAINS(r.out, "no frobnicator card in this machine");
    /* Libraries only probed on the search path are logged skips: listing
     * the devices that do work succeeds. */
    if (r.status != 0) fprintf(stderr, "\nprism devices: exit %d, expected 0\nstderr: %s\n", r.status, r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    free_result(&r);
}

static void test_cli_run_bad_provider(void) {
    char *path = plugin("badmajor");
    cli_result r = run_cli(NULL, (const char *const[]){"run", model_path, "--providers", path, NULL});
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.err);
    if (r.status != 1) fprintf(stderr, "\nprism run: exit %d, expected 1\nstderr: %s\n", r.status, r.err);
    CU_ASSERT_EQUAL(r.status, 1);
    MB_CONTAINS(r.err, path);
    MB_CONTAINS(r.err, "ABI 2.0");
    MB_CONTAINS(r.err, host_abi);
    free_result(&r);
    free(path);
}

static void test_cli_run_failing_provider(void) {
    char *path = plugin("runfail");
    char list[4200];
    snprintf(list, sizeof list, "%s,cpu", path);
    cli_result r = run_cli(NULL, (const char *const[]){"run", model_path, "--providers", list, NULL});
    CU_ASSERT_PTR_NOT_NULL_FATAL(r.err);
    CU_ASSERT_EQUAL(r.status, 1);
    MB_CONTAINS(r.err, "the frobnicator overheated");
    MB_CONTAINS(r.err, "runfail");
    free_result(&r);
    free(path);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("abi_plugins", suite_init, suite_clean);
    CU_add_test(s, "table of another major version", test_table_of_other_major);
    CU_add_test(s, "probe of another major version", test_probe_of_other_major);
    CU_add_test(s, "no init symbol", test_no_init_symbol);
    CU_add_test(s, "required member NULL", test_required_member_null);
    CU_add_test(s, "init fails with a message", test_init_fails_with_message);
    CU_add_test(s, "init returns no table", test_init_returns_no_table);
    CU_add_test(s, "table smaller than ABI 1.0", test_table_too_small);
    CU_add_test(s, "device_info fails", test_device_info_fails);
    CU_add_test(s, "not a shared library", test_not_a_library);
    CU_add_test(s, "every failure in one env", test_failures_in_one_env);
    CU_add_test(s, "zero devices with a reason", test_zero_devices);
    CU_add_test(s, "run fails with a message", test_run_fails);
    CU_add_test(s, "newer minor version", test_newer_minor);
    CU_add_test(s, "load_all skips broken libraries", test_load_all_skips_broken);
    CU_add_test(s, "prism devices", test_cli_devices);
    CU_add_test(s, "prism run with a refused provider", test_cli_run_bad_provider);
    CU_add_test(s, "prism run with a failing provider", test_cli_run_failing_provider);
    return unit_run_all();
}
