/* noinit.c — a library that has the probe but not prism_provider_init: the
 * host must say which symbol is missing. */
#include "plugin_base.h"

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }
