/* badmajor.c — a provider whose init hands back a table of ABI 2.0: the host
 * must refuse it with PRISM_ERR_ABI_MISMATCH, naming both versions, and must
 * not call anything from a table whose layout it does not know, not even
 * destroy (which would abort the test here). The provider object is static
 * since nobody can free it. */
#include "plugin_base.h"

#include <stdlib.h>

/* Filled at init: the test loads plugins from one thread. */
static prism_provider_api table;
static prism_provider provider;

static void must_not_be_called(prism_provider *p) {
    (void)p;
    abort();
}

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    table = *base_api();
    table.name = "badmajor";
    table.abi_major = 2;
    table.abi_minor = 0;
    table.destroy = must_not_be_called;
    provider.host = host;
    *out_provider = &provider;
    *out_api = &table;
    return PRISM_OK;
}
