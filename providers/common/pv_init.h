/*
 * pv_init.h — the check every provider makes first in prism_provider_init:
 * the host speaks the same ABI major version, and its table is at least as
 * large as version 1.0's, so every member the provider calls exists.
 *
 * Ownership: nothing is kept. Threading: any. Errors: PRISM_ERR_INVALID_ARGUMENT
 * for NULL pointers; PRISM_ERR_ABI_MISMATCH with a message (through
 * host->set_error) naming the provider and both versions.
 */
#ifndef PRISM_PV_INIT_H
#define PRISM_PV_INIT_H

#include <stdint.h>

#include "prism/provider.h"

/* provider_label names the provider in the message ("the xrt provider"). */
prism_status pv_check_host(const prism_host_api *host, uint32_t host_abi_version, const void *out_provider,
                           const void *out_api, const char *provider_label);

#endif
