/*
 * test_xrt_bad_xclbin.c — the FPGA provider given a bad xclbin
 * (--provider-option xrt:xclbin=PATH) on its csim device.
 *
 * The provider parses the xclbin itself (header, section table, metadata
 * XML) before anything else uses it, so a missing, unreadable, empty,
 * truncated or corrupted file must give a clear error at session creation
 * or, where the damage only hides a kernel or an argument, leave the ops
 * that need it to the CPU — never a crash, and never a wrong result: every
 * session that is created must still compute Y = Relu(X + W) exactly.
 * Without the provider (no XRT SDK at build time) the tests pass with a
 * note.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model_builder.h"
#include "provider_compare.h"
#include "unit_util.h"

static prism_env *env;
static bool have_xrt;
static char *tmp;
static unsigned char *good; /* the build's xclbin */
static size_t good_size;

static int suite_init(void) {
    unsetenv("XILINX_XRT");
    unsetenv("XCL_EMULATION_MODE");
    if (prism_env_create(&env) != PRISM_OK) return 1;
    have_xrt = prism_env_load_provider(env, "xrt") == PRISM_OK;
    const char *lib = getenv("PRISM_PROVIDER_PATH");
    char path[4096];
    snprintf(path, sizeof path, "%s/prism_xrt_kernels.xclbin", lib ? lib : ".");
    FILE *f = have_xrt ? fopen(path, "rb") : NULL;
    if (f) {
        struct stat st;
        if (!fstat(fileno(f), &st) && st.st_size > 0) {
            good_size = (size_t)st.st_size;
            good = malloc(good_size);
            if (good && fread(good, 1, good_size, f) != good_size) good_size = 0;
        }
        fclose(f);
    }
    if (!have_xrt || !good_size) {
        fprintf(stderr, "\n  no xrt provider or xclbin here: nothing to test\n");
        have_xrt = false;
    }
    tmp = mb_tempdir();
    return tmp ? 0 : 1;
}

static int suite_clean(void) {
    prism_env_destroy(env);
    mb_rmtree(tmp);
    free(tmp);
    free(good);
    return 0;
}

#define NEED_XRT()                                                            \
    do {                                                                      \
        if (!have_xrt) {                                                      \
            printf("\n  (no xrt provider: %s skipped) ", __func__);          \
            return;                                                           \
        }                                                                     \
    } while (0)

/* A session of the Add+Relu model on xrt,cpu with csim and this xclbin. */
static prism_status open_with(const char *xclbin, bool fallback, prism_session **out) {
    char opt[4200];
    snprintf(opt, sizeof opt, "xrt:xclbin=%s", xclbin);
    const char *const opts[] = {"xrt:csim=1", opt, NULL};
    mb_model *m = mb_add_relu_model();
    prism_status st = pc_session(env, m, fallback ? "xrt,cpu" : "xrt", fallback, opts, out);
    mb_free(m);
    return st;
}

/* The created session computes the known Y. */
static void check_result(prism_session *s) {
    prism_tensor *x = mb_float_tensor(2, MB_D23, MB_X_VALUES), *y = NULL;
    const char *names[] = {"X"};
    UNIT_OK(prism_session_run(s, names, (const prism_tensor *const *)&x, 1, NULL, 1, &y));
    if (y) {
        const float *got = prism_tensor_data_const(y);
        for (int i = 0; i < 6; i++) CU_ASSERT_DOUBLE_EQUAL(got[i], MB_Y_VALUES[i], 1e-6);
    }
    prism_tensor_destroy(y);
    prism_tensor_destroy(x);
}

static char *write_file(const char *name, const void *data, size_t size) {
    char *path = mb_path(tmp, name);
    CU_ASSERT_FATAL(mb_write_file(path, data, size));
    return path;
}

/* The build's xclbin works (the baseline the other cases damage). */
static void test_good_file(void) {
    NEED_XRT();
    char *path = write_file("good.xclbin", good, good_size);
    prism_session *s = NULL;
    UNIT_OK(open_with(path, false, &s));
    check_result(s);
    prism_session_destroy(s);
    free(path);
}

/* Files that are not xclbins at all: a clear error naming the file. */
static void test_unreadable_files(void) {
    NEED_XRT();
    prism_session *s = NULL;
    char *missing = mb_path(tmp, "no-such.xclbin");
    MB_EXPECT_FAIL(PRISM_ERR_IO, open_with(missing, true, &s), "cannot open xclbin", "no-such.xclbin");
    MB_EXPECT_FAIL(PRISM_ERR_IO, open_with(tmp, true, &s), "xclbin");
    char *empty = write_file("empty.xclbin", "", 0);
    CU_ASSERT_NOT_EQUAL(open_with(empty, true, &s), PRISM_OK);
    MB_CONTAINS(prism_last_error_message(), "empty.xclbin");
    const char text[] = "this is not an xclbin, only some text that is long enough to look at";
    char *garbage = write_file("garbage.xclbin", text, sizeof text);
    CU_ASSERT_NOT_EQUAL(open_with(garbage, true, &s), PRISM_OK);
    MB_CONTAINS(prism_last_error_message(), "garbage.xclbin");
    CU_ASSERT_PTR_NULL(s);
    free(missing);
    free(empty);
    free(garbage);
}

/* Every prefix length at a spread of cut points: refused with a message,
 * or (when the cut leaves everything the provider reads) still exact. */
static void test_truncated(void) {
    NEED_XRT();
    int refused = 0;
    for (size_t cut = 1; cut < good_size; cut += 1 + cut / 7) {
        char *path = write_file("cut.xclbin", good, cut);
        prism_session *s = NULL;
        prism_status st = open_with(path, true, &s);
        if (st) {
            refused++;
            CU_ASSERT(strlen(prism_last_error_message()) > 0);
        } else {
            check_result(s);
        }
        prism_session_destroy(s);
        free(path);
    }
    CU_ASSERT(refused > 0);
}

/* Seeded random damage (bit flips and overwritten bytes anywhere in the
 * file): any outcome but a crash or a wrong answer is allowed. */
static void test_corrupted(void) {
    NEED_XRT();
    unsigned char *buf = malloc(good_size);
    CU_ASSERT_FATAL(buf != NULL);
    pc_seed(99);
    int created = 0, refused = 0;
    for (int round = 0; round < 300; round++) {
        memcpy(buf, good, good_size);
        /* Early rounds hit the header and section table, later ones anywhere. */
        const size_t span = round < 100 ? (good_size < 512 ? good_size : 512) : good_size;
        const int hits = 1 + (int)pc_rnd(0, 4);
        for (int h = 0; h < hits; h++) {
            size_t at = (size_t)pc_rnd(0, (float)span);
            if (at >= good_size) at = good_size - 1;
            if (pc_rnd(0, 1) < 0.5f) buf[at] ^= (unsigned char)(1u << (int)pc_rnd(0, 8));
            else buf[at] = (unsigned char)pc_rnd(0, 256);
        }
        char *path = write_file("damaged.xclbin", buf, good_size);
        prism_session *s = NULL;
        if (open_with(path, true, &s) == PRISM_OK) {
            created++;
            check_result(s);
        } else {
            refused++;
        }
        prism_session_destroy(s);
        free(path);
    }
    printf("\n  300 damaged xclbins: %d sessions created (all exact), %d refused ", created, refused);
    CU_ASSERT_EQUAL(created + refused, 300);
    free(buf);
}

int main(void) {
    CU_initialize_registry();
    CU_pSuite s = CU_add_suite("xrt_bad_xclbin", suite_init, suite_clean);
    CU_add_test(s, "the build's xclbin", test_good_file);
    CU_add_test(s, "missing, folder, empty and garbage files", test_unreadable_files);
    CU_add_test(s, "truncated files", test_truncated);
    CU_add_test(s, "randomly damaged files", test_corrupted);
    return unit_run_all();
}
