/* probemajor.c — a provider whose probe says ABI 2.0: the host must refuse it
 * from the probe alone, without calling init (which would say so). */
#include "plugin_base.h"

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return 2u << 16; }

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    (void)out_provider;
    (void)out_api;
    host->set_error(NULL, "init was called although the probe said ABI 2.0");
    return PRISM_ERR_INTERNAL;
}
