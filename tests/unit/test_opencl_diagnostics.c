/*
 * test_opencl_diagnostics.c — what the OpenCL provider says when something
 * goes wrong, and what it reports when asked to profile.
 *
 * Failures:
 * The provider option fail_launch=N makes the instance's Nth kernel launch
 * fail with CL_OUT_OF_RESOURCES, the code a driver gives when a device runs
 * out of resources or goes away, on a healthy device. The run must fail
 * with a message naming the OpenCL call, the code's name, the provider and
 * the node; nothing may leak; and the same session must run correctly
 * afterwards (the failure was transient).
 *
 * Profiling: with profile=1 every synchronisation logs the device time per
 * kernel ("opencl profile: ..." at INFO); without it nothing is logged.
 *
 * Without an OpenCL device the tests pass with a note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit_util.h"

static prism_env *env;
static bool have_device;
static char cache_opt[1024];

static int suite_init(void) {
    if (prism_env_create(&env) != PRISM_OK) return 1;
    const char *lib = getenv("PRISM_PROVIDER_PATH");
    snprintf(cache_opt, sizeof cache_opt, "opencl:cache_dir=%s%sopencl-cache", lib ? lib : ".", lib ? "/../" : "/");
    if (prism_env_load_provider(env, "opencl") == PRISM_OK)
        for (size_t i = 0; i < prism_env_provider_count(env); i++)
            if (!strcmp(prism_env_provider_name(env, i), "opencl")) have_device = prism_env_device_count(env, i) > 0;
    return 0;
}
static int suite_clean(void) {
    prism_env_destroy(env);
    return 0;
}

#define NEED_DEVICE()                                                   \
    do {                                                                \
        if (!have_device) {                                             \
            printf("\n  (no OpenCL device: %s skipped) ", __func__);   \
            return;                                                     \
        }                                                               \
    } while (0)

/* The shared Y = Relu(X + W) model on opencl alone with the given extra
 * provider option (NULL: none). */
static prism_status open_session(const char *extra, prism_session **out) {
    mb_model *m = mb_add_relu_model();
    size_t size = 0;
    uint8_t *bytes = mb_pack(m, &size);
    prism_session_options *so = NULL;
    prism_status st = prism_session_options_create(&so);
    if (!st) st = prism_session_options_set_providers(so, "opencl");
    if (!st) st = prism_session_options_set_fallback(so, 0);
    if (!st) st = prism_session_options_set_environment(so, 0);
    if (!st) st = prism_session_options_add_provider_option_string(so, cache_opt);
    if (!st && extra) st = prism_session_options_add_provider_option_string(so, extra);
    if (!st) st = prism_session_create_from_memory(env, bytes, size, so, out);
    prism_session_options_destroy(so);
    free(bytes);
    mb_free(m);
    return st;
}

/* Run once; on success check Y against the known values. */
static prism_status run_once(prism_session *s) {
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *y = NULL;
    const char *names[] = {"X"};
    prism_status st = prism_session_run(s, names, (const prism_tensor *const *)&x, 1, NULL, 1, &y);
    if (!st) {
        const float *got = prism_tensor_data_const(y);
        for (int i = 0; i < 6; i++) CU_ASSERT_DOUBLE_EQUAL(got[i], MB_Y_VALUES[i], 1e-6);
    }
    prism_tensor_destroy(y);
    prism_tensor_destroy(x);
    return st;
}

/* The second launch (Relu) fails: the run reports it, then runs again fine. */
static void test_launch_failure_fails_the_run_only(void) {
    NEED_DEVICE();
    prism_session *s = NULL;
    UNIT_OK(open_session("opencl:fail_launch=2", &s));
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, run_once(s), "clEnqueueNDRangeKernel", "CL_OUT_OF_RESOURCES (-5)", "opencl",
                   "relu0", "Relu");
    UNIT_OK(run_once(s));
    UNIT_OK(run_once(s));
    prism_session_destroy(s);
}

/* The very first launch fails: nothing has run yet on the device. */
static void test_first_launch_failure(void) {
    NEED_DEVICE();
    prism_session *s = NULL;
    UNIT_OK(open_session("opencl:fail_launch=1", &s));
    MB_EXPECT_FAIL(PRISM_ERR_PROVIDER, run_once(s), "CL_OUT_OF_RESOURCES", "add0");
    UNIT_OK(run_once(s));
    prism_session_destroy(s);
}

/* A healthy session, and a bad option value refused at session creation. */
static void test_option_checked(void) {
    NEED_DEVICE();
    prism_session *s = NULL;
    UNIT_OK(open_session(NULL, &s));
    for (int i = 0; i < 3; i++) UNIT_OK(run_once(s));
    prism_session_destroy(s);
    s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, open_session("opencl:fail_launch=-1", &s), "fail_launch");
    CU_ASSERT_PTR_NULL(s);
}

/* Log lines collected by the env's logger. */
static char log_text[1 << 16];
static void collect(void *user, prism_log_level level, const char *message) {
    (void)user, (void)level;
    size_t used = strlen(log_text);
    snprintf(log_text + used, sizeof log_text - used, "%s\n", message);
}

static void test_profile(void) {
    NEED_DEVICE();
    prism_env_set_logger(env, collect, NULL, PRISM_LOG_INFO);
    log_text[0] = '\0';
    prism_session *s = NULL;
    UNIT_OK(open_session(NULL, &s));
    UNIT_OK(run_once(s));
    prism_session_destroy(s);
    CU_ASSERT_PTR_NULL(strstr(log_text, "opencl profile:"));
    log_text[0] = '\0';
    s = NULL;
    UNIT_OK(open_session("opencl:profile=1", &s));
    UNIT_OK(run_once(s));
    prism_session_destroy(s);
    /* A header line and one line per kernel that ran (Add and Relu). */
    MB_CONTAINS(log_text, "opencl profile: ");
    MB_CONTAINS(log_text, " launches, ");
    MB_CONTAINS(log_text, "eltwise.");
    s = NULL;
    MB_EXPECT_FAIL(PRISM_ERR_INVALID_ARGUMENT, open_session("opencl:profile=2", &s), "profile");
    CU_ASSERT_PTR_NULL(s);
    prism_env_set_logger(env, NULL, NULL, PRISM_LOG_WARNING);
}

int main(void) {
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("opencl_diagnostics", suite_init, suite_clean);
    CU_add_test(s, "a failed launch fails that run only", test_launch_failure_fails_the_run_only);
    CU_add_test(s, "the first launch fails", test_first_launch_failure);
    CU_add_test(s, "fail_launch option checked", test_option_checked);
    CU_add_test(s, "profile=1 logs device time per kernel", test_profile);
    return unit_run_all();
}
