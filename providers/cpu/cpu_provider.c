/*
 * cpu_provider.c — the CPU provider's entry point and ABI table. It is a
 * plugin like any other: loaded with dlopen, talking to the host only
 * through prism_host_api.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cpu_internal.h"
#include "pv_init.h"

static void cpu_describe(prism_provider *p) {
    char model[128] = "CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f)) {
            if (strncmp(line, "model name", 10) != 0) continue;
            const char *colon = strchr(line, ':');
            if (colon) {
                snprintf(model, sizeof model, "%s", colon + 2);
                model[strcspn(model, "\n")] = '\0';
            }
            break;
        }
        fclose(f);
    }
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    p->memory_bytes = pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page : 0;
    snprintf(p->device_name, sizeof p->device_name, "%s", model);
    snprintf(p->properties, sizeof p->properties, "cores=%ld\nkernels=%zu\n%s", cores, cpu_kernel_count(),
             p->blas.description);
}

static void cpu_destroy(prism_provider *p) {
    if (!p) return;
    cpu_blas_unload(&p->blas);
    free(p);
}

static uint32_t cpu_device_count(prism_provider *p) {
    (void)p;
    return 1;
}

static prism_status cpu_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    if (device != 0 || !out) return PRISM_ERR_NOT_FOUND;
    out->type = PRISM_DEVICE_CPU;
    out->memory_kind = PRISM_MEMORY_HOST;
    out->name = p->device_name;
    out->vendor = "host";
    out->memory_bytes = p->memory_bytes;
    out->properties = p->properties;
    return PRISM_OK;
}

static prism_status cpu_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                        size_t option_count, prism_host_context *hc, prism_instance **out) {
    if (device != 0) {
        p->host->set_error(hc, "the CPU provider has one device (0)");
        return PRISM_ERR_NOT_FOUND;
    }
    long threads = 1;
    for (size_t i = 0; i < option_count; i++) {
        const char *k = options[i].key, *v = options[i].value;
        if (!strcmp(k, "intra_op_threads") || !strcmp(k, "threads")) {
            char *end;
            threads = strtol(v, &end, 10);
            if (*end || threads < 1 || threads > 1024) {
                char msg[160];
                snprintf(msg, sizeof msg, "option %s=%s: expected a thread count from 1 to 1024", k, v);
                p->host->set_error(hc, msg);
                return PRISM_ERR_INVALID_ARGUMENT;
            }
        } else {
            char msg[200];
            snprintf(msg, sizeof msg, "unknown option '%s' (the CPU provider knows: threads)", k);
            p->host->set_error(hc, msg);
            return PRISM_ERR_INVALID_ARGUMENT;
        }
    }
    if (!p->blas.sgemm) /* said once per session: init has no logger to say it to */
        p->host->log(hc, PRISM_LOG_WARNING, "OpenBLAS was not found: GEMM uses the provider's own, much slower loop");
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return PRISM_ERR_OUT_OF_MEMORY;
    inst->prov = p;
    inst->threads = (int)threads;
    inst->pool = cpu_pool_create((int)threads);
    if (!inst->pool) {
        free(inst);
        p->host->set_error(hc, "cannot create the thread pool");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    *out = inst;
    return PRISM_OK;
}

static void cpu_instance_destroy(prism_instance *inst) {
    if (!inst) return;
    cpu_pool_destroy(inst->pool);
    free(inst);
}

/* A node is supported when it has a kernel that accepts it and, for If /
 * Loop / Scan, when every node of its bodies is supported too: claiming a
 * node whose body cannot run would only fail later, at compile. */
static bool cpu_node_supported(const prism_host_api *host, const prism_graph_view *g, uint32_t i, int depth) {
    cpu_node n;
    cpu_node_bind(&n, host, g, i);
    const cpu_kernel_entry *e = cpu_kernel_lookup(host->node_domain(g, i), n.op, n.opset);
    if (!e || (e->def->supports && !e->def->supports(&n)) || depth > 64) return false;
    for (uint32_t a = 0; a < host->node_attr_count(g, i); a++)
        for (uint32_t b = 0; b < host->attr_graphs_count(g, i, a); b++) {
            const prism_graph_view *body = host->attr_graph(g, i, a, b);
            for (uint32_t k = 0; body && k < host->graph_node_count(body); k++)
                if (!cpu_node_supported(host, body, k, depth + 1)) return false;
        }
    return true;
}

static prism_status cpu_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                       uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    (void)hc;
    const prism_host_api *host = inst->prov->host;
    uint32_t nn = host->graph_node_count(g);
    for (uint32_t i = 0; i < nn; i++) {
        out_supported[i] = cpu_node_supported(host, g, i, 0);
        if (out_group) out_group[i] = 0;
        if (out_cost) out_cost[i] = out_supported[i] ? cpu_node_cost(inst, g, i) : -1.0;
    }
    return PRISM_OK;
}

static const prism_provider_api cpu_api = {
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    .name = "cpu",
    .version = "0.1.0",
    .destroy = cpu_destroy,
    .device_count = cpu_device_count,
    .device_info = cpu_device_info,
    .instance_create = cpu_instance_create,
    .instance_destroy = cpu_instance_destroy,
    .get_capability = cpu_get_capability,
    .compile = cpu_compile,
    .compiled_destroy = cpu_compiled_destroy,
    .run = cpu_run,
};

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    prism_status host_ok = pv_check_host(host, host_abi_version, out_provider, out_api, "the CPU provider");
    if (host_ok) return host_ok;
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) return PRISM_ERR_OUT_OF_MEMORY;
    p->host = host;
    cpu_blas_load(&p->blas);
    cpu_describe(p);
    *out_provider = p;
    *out_api = &cpu_api;
    return PRISM_OK;
}
