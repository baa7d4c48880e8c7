/* runfail.c — a provider that claims Relu and compiles it, but whose run
 * fails with its own message: the session's error must carry that message
 * and the provider's name, and the session must stay usable. */
#include "plugin_base.h"

/* Filled at init: the test loads plugins from one thread. */
static prism_provider_api table;

static prism_status fail_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count,
                             prism_host_context *hc) {
    (void)inputs;
    (void)input_count;
    c->host->set_error(hc, "the frobnicator overheated");
    return PRISM_ERR_RUNTIME;
}

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    (void)host_abi_version;
    table = *base_api();
    table.name = "runfail";
    table.run = fail_run;
    prism_status st = base_provider_create(host, out_provider);
    if (!st) *out_api = &table;
    return st;
}
