/* test_tensor.c — public tensor objects and TensorProto files. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit_util.h"

static void test_create_owned(void) {
    int64_t dims[] = {2, 3};
    prism_tensor *t;
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_FLOAT, dims, 2, &t));
    CU_ASSERT_EQUAL(prism_tensor_element_count(t), 6);
    CU_ASSERT_EQUAL(prism_tensor_byte_size(t), 24);
    CU_ASSERT_EQUAL(prism_tensor_rank(t), 2);
    const float *d = prism_tensor_data(t);
    for (int i = 0; i < 6; i++) CU_ASSERT_EQUAL(d[i], 0.0f);
    prism_tensor_destroy(t);
    prism_tensor_destroy(NULL);
}

static void test_create_rejects_bad_shapes(void) {
    int64_t neg[] = {2, -1}, huge[] = {1ll << 40, 1ll << 40};
    prism_tensor *t = (prism_tensor *)0x1;
    CU_ASSERT_EQUAL(prism_tensor_create(PRISM_DTYPE_FLOAT, neg, 2, &t), PRISM_ERR_INVALID_ARGUMENT);
    CU_ASSERT_PTR_EQUAL(t, (prism_tensor *)0x1); /* out-parameter untouched on failure */
    CU_ASSERT_NOT_EQUAL(prism_tensor_create(PRISM_DTYPE_FLOAT, huge, 2, &t), PRISM_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(prism_last_error_message(), "overflow"));
    CU_ASSERT_EQUAL(prism_tensor_create((prism_dtype)99, NULL, 0, &t), PRISM_ERR_INVALID_ARGUMENT);
}

static void test_view_checks_size(void) {
    float buf[4] = {1, 2, 3, 4};
    int64_t dims[] = {2, 2}, big[] = {3, 3};
    prism_tensor *t;
    UNIT_OK(prism_tensor_create_view(PRISM_DTYPE_FLOAT, dims, 2, buf, sizeof buf, &t));
    CU_ASSERT_PTR_EQUAL(prism_tensor_data(t), buf);
    prism_tensor_destroy(t);
    CU_ASSERT_EQUAL(buf[3], 4.0f); /* the view does not free or touch caller memory */
    CU_ASSERT_EQUAL(prism_tensor_create_view(PRISM_DTYPE_FLOAT, big, 2, buf, sizeof buf, &t),
                    PRISM_ERR_INVALID_ARGUMENT);
}

static void test_pb_round_trip(void) {
    char path[] = "/tmp/prism_unit_XXXXXX";
    int fd = mkstemp(path);
    CU_ASSERT_FATAL(fd >= 0);
    close(fd);
    int64_t dims[] = {3};
    prism_tensor *t, *back;
    UNIT_OK(prism_tensor_create(PRISM_DTYPE_INT64, dims, 1, &t));
    int64_t *d = prism_tensor_data(t);
    d[0] = -7, d[1] = 0, d[2] = 1ll << 40;
    UNIT_OK(prism_tensor_save_pb(t, "x", path));
    const char *name;
    UNIT_OK(prism_tensor_load_pb(path, &back, &name));
    CU_ASSERT_STRING_EQUAL(name, "x");
    CU_ASSERT_EQUAL(prism_tensor_dtype(back), PRISM_DTYPE_INT64);
    CU_ASSERT_EQUAL(memcmp(prism_tensor_data(back), d, 24), 0);
    prism_tensor_destroy(back);
    prism_tensor_destroy(t);

    UNIT_OK(prism_tensor_create(PRISM_DTYPE_STRING, dims, 1, &t));
    UNIT_OK(prism_tensor_set_string(t, 0, "hello", 5));
    UNIT_OK(prism_tensor_set_string(t, 2, "", 0));
    UNIT_OK(prism_tensor_save_pb(t, "s", path));
    UNIT_OK(prism_tensor_load_pb(path, &back, NULL));
    char **s = prism_tensor_data(back);
    CU_ASSERT_STRING_EQUAL(s[0], "hello");
    CU_ASSERT_STRING_EQUAL(s[1], "");
    prism_tensor_destroy(back);
    prism_tensor_destroy(t);
    unlink(path);
}

static void test_pb_garbage(void) {
    prism_tensor *t;
    unsigned char junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f, 0x12};
    CU_ASSERT_EQUAL(prism_tensor_load_pb_memory(junk, sizeof junk, &t, NULL), PRISM_ERR_INVALID_MODEL);
    CU_ASSERT_EQUAL(prism_tensor_load_pb("/nonexistent/x.pb", &t, NULL), PRISM_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(prism_last_error_message(), "/nonexistent/x.pb"));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("tensor", NULL, NULL);
    CU_add_test(s, "create owned", test_create_owned);
    CU_add_test(s, "bad shapes", test_create_rejects_bad_shapes);
    CU_add_test(s, "views", test_view_checks_size);
    CU_add_test(s, "TensorProto round trip", test_pb_round_trip);
    CU_add_test(s, "TensorProto garbage", test_pb_garbage);
    return unit_run_all();
}
