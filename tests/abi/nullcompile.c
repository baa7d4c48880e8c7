/* nullcompile.c — a provider whose table lacks the required member compile:
 * the host must name the member. */
#include "plugin_base.h"

/* Filled at init: the test loads plugins from one thread. */
static prism_provider_api table;

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    table = *base_api();
    table.name = "nullcompile";
    table.compile = NULL;
    prism_status st = base_provider_create(host, out_provider);
    if (!st) *out_api = &table;
    return st;
}
