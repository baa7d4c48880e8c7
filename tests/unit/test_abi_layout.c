/* test_abi_layout.c — pins the layout of the version-1.0 ABI tables: every member at the
 * offset it had when 1.0 was published, checked at compile time (static assertions), so a
 * member inserted in the middle (instead of appended) breaks the build before it can break
 * old plugins or hosts. The sizes of the 1.0 tables are checked at run time too. */
#include <stddef.h>

#include "prism/provider.h"
#include "unit_util.h"

/* Header: struct_size (4 bytes) + abi_major, abi_minor (2 + 2); then pointer-sized members. */
#define SLOT(k) (8 + (k) * sizeof(void *))

static void test_host_api_layout(void) {
    _Static_assert(offsetof(prism_host_api, set_error) == SLOT(0), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, log) == SLOT(1), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, mem_alloc) == SLOT(2), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, mem_free) == SLOT(3), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_node_count) == SLOT(4), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_value_count) == SLOT(5), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_input_count) == SLOT(6), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_input) == SLOT(7), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_output_count) == SLOT(8), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, graph_output) == SLOT(9), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_name) == SLOT(10), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_op_type) == SLOT(11), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_domain) == SLOT(12), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_opset) == SLOT(13), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_input_count) == SLOT(14), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_input) == SLOT(15), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_output_count) == SLOT(16), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_output) == SLOT(17), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_implicit_input_count) == SLOT(18), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_implicit_input) == SLOT(19), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_name) == SLOT(20), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_dtype) == SLOT(21), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_rank) == SLOT(22), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_dim) == SLOT(23), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_dim_param) == SLOT(24), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, value_constant) == SLOT(25), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_attr_count) == SLOT(26), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, node_attr_find) == SLOT(27), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_name) == SLOT(28), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_type) == SLOT(29), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_int) == SLOT(30), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_float) == SLOT(31), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_string) == SLOT(32), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_ints) == SLOT(33), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_floats) == SLOT(34), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_strings_count) == SLOT(35), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_strings_item) == SLOT(36), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_tensor) == SLOT(37), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_graphs_count) == SLOT(38), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, attr_graph) == SLOT(39), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, output_alloc) == SLOT(40), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_host_api, run_threads) == SLOT(41), "ABI 1.0 layout");
    CU_ASSERT_EQUAL(PRISM_HOST_API_V1_SIZE, SLOT(42));
}

static void test_provider_api_layout(void) {
    _Static_assert(offsetof(prism_provider_api, name) == SLOT(0), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, version) == SLOT(1), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, destroy) == SLOT(2), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, device_count) == SLOT(3), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, device_info) == SLOT(4), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, instance_create) == SLOT(5), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, instance_destroy) == SLOT(6), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, get_capability) == SLOT(7), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, compile) == SLOT(8), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, compiled_destroy) == SLOT(9), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, run) == SLOT(10), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, buffer_alloc) == SLOT(11), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, buffer_free) == SLOT(12), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, copy_to_device) == SLOT(13), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, copy_from_device) == SLOT(14), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, copy_device_to_device) == SLOT(15), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, synchronize) == SLOT(16), "ABI 1.0 layout");
    _Static_assert(offsetof(prism_provider_api, reason) == SLOT(17), "ABI 1.0 layout");
    CU_ASSERT_EQUAL(PRISM_PROVIDER_API_V1_SIZE, SLOT(18));
}

static void test_descriptor_layouts(void) {
    _Static_assert(offsetof(prism_tensor_desc, struct_size) == 0, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_tensor_desc, dtype) == 4, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_tensor_desc, rank) == 8, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_tensor_desc, dims) == 16, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_device_info, struct_size) == 0, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_device_info, type) == 4, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_device_info, memory_kind) == 8, "ABI 1.0 layout");
    _Static_assert(offsetof(prism_device_info, name) == 16, "ABI 1.0 layout");
    CU_ASSERT_EQUAL(PRISM_PROVIDER_ABI_VERSION, (1u << 16) | 0u);
    CU_ASSERT_EQUAL(PRISM_NO_VALUE, UINT32_MAX);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 2;
    CU_pSuite s = CU_add_suite("abi layout", NULL, NULL);
    CU_add_test(s, "host table", test_host_api_layout);
    CU_add_test(s, "provider table", test_provider_api_layout);
    CU_add_test(s, "descriptors", test_descriptor_layouts);
    return unit_run_all();
}
