/* zerodev.c — a provider that loads but finds no device and says why: the
 * host keeps it loaded, reports the reason and skips it in sessions. */
#include "plugin_base.h"

/* Filled at init: the test loads plugins from one thread. */
static prism_provider_api table;

static uint32_t zero_device_count(prism_provider *p) {
    (void)p;
    return 0;
}

static const char *zero_reason(prism_provider *p) {
    (void)p;
    return "no frobnicator card in this machine";
}

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    table = *base_api();
    table.name = "zerodev";
    table.device_count = zero_device_count;
    table.reason = zero_reason;
    prism_status st = base_provider_create(host, out_provider);
    if (!st) *out_api = &table;
    return st;
}
