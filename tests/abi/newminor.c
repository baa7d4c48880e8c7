/* newminor.c — a provider built for a newer minor version (1.7) whose table
 * has grown at the end: minor versions are compatible both ways, so the host
 * loads it, ignores the member it does not know, and runs models on it. */
#include "plugin_base.h"

#define NEWMINOR_MINOR 7u

/* A 1.7 table: the 1.0 members, then one the host has never heard of. */
typedef struct newer_api {
    prism_provider_api v1;
    void (*future_member)(prism_provider *p);
} newer_api;

/* Filled at init: the test loads plugins from one thread. */
static newer_api table;

static void future(prism_provider *p) { (void)p; }

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) {
    return (PRISM_PROVIDER_ABI_MAJOR << 16) | NEWMINOR_MINOR;
}

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    if (PRISM_ABI_MAJOR_OF(host_abi_version) != PRISM_PROVIDER_ABI_MAJOR) {
        host->set_error(NULL, "newminor needs host ABI 1.x");
        return PRISM_ERR_ABI_MISMATCH;
    }
    table.v1 = *base_api();
    table.v1.struct_size = sizeof table;
    table.v1.abi_minor = NEWMINOR_MINOR;
    table.v1.name = "newminor";
    table.future_member = future;
    prism_status st = base_provider_create(host, out_provider);
    if (!st) *out_api = &table.v1;
    return st;
}
