/* initfail.c — a provider whose init fails with its own message (through
 * host->set_error with no context): the host's error must carry it. */
#include "plugin_base.h"

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    (void)out_provider;
    (void)out_api;
    host->set_error(NULL, "the frobnicator is not plugged in");
    return PRISM_ERR_NOT_FOUND;
}
