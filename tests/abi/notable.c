/* notable.c — a provider whose init succeeds but returns no table: the host
 * must refuse it (and cannot destroy anything, so nothing is allocated). */
#include "plugin_base.h"

#include <stddef.h>

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host;
    (void)host_abi_version;
    *out_provider = NULL;
    *out_api = NULL;
    return PRISM_OK;
}
