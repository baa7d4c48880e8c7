/*
 * plugin_base.h — a minimal, correct provider (one device, host memory,
 * float Relu) shared by the test plugins of tests/abi. Each test plugin copies
 * base_api() and breaks one thing in its copy, so that a failure has exactly
 * one cause. Built into every test plugin with hidden visibility: only the
 * entry symbols each plugin defines leave its library.
 */
#ifndef PRISM_TESTS_ABI_PLUGIN_BASE_H
#define PRISM_TESTS_ABI_PLUGIN_BASE_H

#include "prism/provider.h"

struct prism_provider {
    const prism_host_api *host;
};
struct prism_instance {
    prism_provider *prov;
};
struct prism_compiled {
    const prism_host_api *host;
};

/* The complete, valid table (name "base"). Static storage. */
const prism_provider_api *base_api(void);

/* A provider object for host (freed by the table's destroy). Returns
 * PRISM_ERR_OUT_OF_MEMORY, with a message through host->set_error(NULL, ..),
 * when allocation fails. */
prism_status base_provider_create(const prism_host_api *host, prism_provider **out);

#endif
