/* badinfo.c — a provider with one device whose device_info fails: the host
 * must refuse the provider, naming the call. */
#include "plugin_base.h"

/* Filled at init: the test loads plugins from one thread. */
static prism_provider_api table;

static prism_status bad_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    (void)p;
    (void)device;
    (void)out;
    return PRISM_ERR_INTERNAL;
}

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    table = *base_api();
    table.name = "badinfo";
    table.device_info = bad_device_info;
    prism_status st = base_provider_create(host, out_provider);
    if (!st) *out_api = &table;
    return st;
}
