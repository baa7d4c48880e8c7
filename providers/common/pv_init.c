/* pv_init.c — see pv_init.h. */
#include "pv_init.h"

#include <stdio.h>

prism_status pv_check_host(const prism_host_api *host, uint32_t host_abi_version, const void *out_provider,
                           const void *out_api, const char *provider_label) {
    if (!host || !out_provider || !out_api) return PRISM_ERR_INVALID_ARGUMENT;
    if (PRISM_ABI_MAJOR_OF(host_abi_version) == PRISM_PROVIDER_ABI_MAJOR && host->struct_size >= PRISM_HOST_API_V1_SIZE)
        return PRISM_OK;
    char msg[160];
    snprintf(msg, sizeof msg, "%s needs host ABI %u.x; the host has %u.%u (table of %u bytes)", provider_label,
             PRISM_PROVIDER_ABI_MAJOR, PRISM_ABI_MAJOR_OF(host_abi_version), PRISM_ABI_MINOR_OF(host_abi_version),
             host->struct_size);
    if (host->set_error) host->set_error(NULL, msg);
    return PRISM_ERR_ABI_MISMATCH;
}
