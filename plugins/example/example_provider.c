/*
 * example_provider.c — the example provider's entry points, devices,
 * instances and capability answers.
 *
 * It simulates an accelerator with its own memory (PRISM_MEMORY_DEVICE), so
 * the host has to plan copies in and out of it; its op list is deliberately
 * short (element-wise ops, Conv, Gemm, MatMul: no pooling, no shape ops), so
 * real models split between it and another provider. The number of devices
 * comes from PRISM_EXAMPLE_DEVICES, read once at init.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "example_internal.h"
#include "pv_init.h"

#define MAX_DEVICES 1024u
#define ALL_OPS ((1u << EX_OP_COUNT) - 1u)

prism_status ex_fail(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->prov->host->set_error(hc, msg);
    return st;
}

/* "Add,Sub,..." for the ops in mask. */
static void op_list(uint32_t mask, char *out, size_t size) {
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < EX_OP_COUNT; i++)
        if (mask & (1u << i)) {
            int n = snprintf(out + len, size - len, "%s%s", len ? "," : "", ex_op_name((ex_op)i));
            if (n < 0 || (size_t)n >= size - len) break;
            len += (size_t)n;
        }
}

/* The device count from PRISM_EXAMPLE_DEVICES: 1 when unset, 0 with a
 * reason when 0 or not a count. */
static uint32_t read_device_count(prism_provider *p) {
    const char *s = getenv("PRISM_EXAMPLE_DEVICES");
    if (!s) return 1;
    char *end;
    errno = 0;
    unsigned long n = strtoul(s, &end, 10);
    if (end == s || *end || errno || s[0] == '-' || n > MAX_DEVICES) {
        snprintf(p->reason, sizeof p->reason,
                 "PRISM_EXAMPLE_DEVICES='%.64s' is not a device count from 0 to %u: no simulated device", s,
                 MAX_DEVICES);
        return 0;
    }
    if (!n) snprintf(p->reason, sizeof p->reason, "PRISM_EXAMPLE_DEVICES=0 asks for no simulated device");
    return (uint32_t)n;
}

static void ex_destroy(prism_provider *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->n_devices; i++) ex_device_fini(&p->devices[i]);
    free(p->devices);
    free(p);
}

static uint32_t ex_device_count(prism_provider *p) { return p->n_devices; }

static const char *ex_reason(prism_provider *p) { return p->reason[0] ? p->reason : NULL; }

static prism_status ex_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    if (!out || device >= p->n_devices) return PRISM_ERR_NOT_FOUND;
    out->type = PRISM_DEVICE_ACCELERATOR;
    out->memory_kind = PRISM_MEMORY_DEVICE;
    out->name = p->devices[device].name;
    out->vendor = "Prism example";
    out->memory_bytes = (uint64_t)(EX_DEFAULT_CAPACITY_MB * 1024.0 * 1024.0);
    out->properties = p->devices[device].properties;
    return PRISM_OK;
}

/* A non-negative finite number (positive when positive is set). */
static bool parse_number(const char *v, bool positive, double *out) {
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(d) || d < 0.0 || (positive && d == 0.0)) return false;
    *out = d;
    return true;
}

/* The ops option: a comma-separated list of op names. */
static bool parse_ops(const char *v, uint32_t *mask, char *bad, size_t bad_size) {
    uint32_t m = 0;
    const char *p = v;
    for (;;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char name[32];
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, p, len);
        name[len] = '\0';
        ex_op op = ex_op_find(name);
        if (op == EX_OP_COUNT) {
            snprintf(bad, bad_size, "%s", name);
            return false;
        }
        m |= 1u << op;
        if (!e) break;
        p = e + 1;
    }
    *mask = m;
    return true;
}

static prism_status ex_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                       size_t option_count, prism_host_context *hc, prism_instance **out) {
    char msg[512];
    if (device >= p->n_devices) {
        snprintf(msg, sizeof msg, "the example provider has %u device(s); device %u does not exist", p->n_devices,
                 device);
        p->host->set_error(hc, msg);
        return PRISM_ERR_NOT_FOUND;
    }
    double capacity_mb = EX_DEFAULT_CAPACITY_MB, gflops = EX_DEFAULT_GFLOPS;
    uint32_t mask = ALL_OPS;
    for (size_t i = 0; i < option_count; i++) {
        const char *k = options[i].key ? options[i].key : "", *v = options[i].value ? options[i].value : "";
        bool ok = true;
        char bad[32] = "";
        if (!strcmp(k, "capacity_mb")) ok = parse_number(v, false, &capacity_mb) && capacity_mb < 1e12;
        else if (!strcmp(k, "throughput_gflops")) ok = parse_number(v, true, &gflops);
        else if (!strcmp(k, "ops")) ok = parse_ops(v, &mask, bad, sizeof bad);
        else if (!strcmp(k, "intra_op_threads")) continue; /* runs are single-threaded */
        else {
            snprintf(msg, sizeof msg,
                     "unknown option '%.64s' (the example provider knows capacity_mb, throughput_gflops, ops)", k);
            p->host->set_error(hc, msg);
            return PRISM_ERR_INVALID_ARGUMENT;
        }
        if (!ok) {
            char all[160];
            op_list(ALL_OPS, all, sizeof all);
            if (bad[0] || !strcmp(k, "ops"))
                snprintf(msg, sizeof msg, "option ops=%.64s: '%s' is not an op of the example provider (%s)", v, bad,
                         all);
            else
                snprintf(msg, sizeof msg, "option %s=%.64s: expected a %s number", k, v,
                         strcmp(k, "capacity_mb") ? "positive" : "non-negative");
            p->host->set_error(hc, msg);
            return PRISM_ERR_INVALID_ARGUMENT;
        }
    }
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return PRISM_ERR_OUT_OF_MEMORY;
    inst->magic = EX_INSTANCE_MAGIC;
    inst->prov = p;
    inst->dev = &p->devices[device];
    inst->capacity = (uint64_t)(capacity_mb * 1024.0 * 1024.0);
    inst->capacity_mb = capacity_mb;
    inst->gflops = gflops;
    inst->op_mask = mask;
    if (!ex_mem_init_instance(inst)) {
        free(inst);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    *out = inst;
    return PRISM_OK;
}

static void ex_instance_destroy(prism_instance *inst) {
    if (!inst) return;
    ex_mem_release_instance(inst); /* buffers the host did not free */
    inst->magic = 0;
    free(inst);
}

static prism_status ex_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                      uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    (void)hc;
    const prism_host_api *host = inst->prov->host;
    if (!out_supported) return PRISM_ERR_INVALID_ARGUMENT;
    uint32_t nn = host->graph_node_count(g);
    for (uint32_t i = 0; i < nn; i++) {
        ex_op op;
        ex_params params;
        char why[EX_ERR];
        bool ok = ex_node_parse(host, g, i, &op, &params, why, sizeof why) && (inst->op_mask & (1u << op));
        out_supported[i] = ok;
        if (out_group) out_group[i] = 0;
        if (out_cost) out_cost[i] = ok ? ex_node_cost(host, g, i, op, &params, inst->gflops) : 0.0;
    }
    return PRISM_OK;
}

static const prism_provider_api ex_api = {
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    .name = "example",
    .version = "0.1.0",
    .destroy = ex_destroy,
    .device_count = ex_device_count,
    .device_info = ex_device_info,
    .instance_create = ex_instance_create,
    .instance_destroy = ex_instance_destroy,
    .get_capability = ex_get_capability,
    .compile = ex_compile,
    .compiled_destroy = ex_compiled_destroy,
    .run = ex_run,
    .buffer_alloc = ex_buffer_alloc,
    .buffer_free = ex_buffer_free,
    .copy_to_device = ex_copy_to_device,
    .copy_from_device = ex_copy_from_device,
    .copy_device_to_device = ex_copy_device_to_device,
    .synchronize = ex_synchronize,
    .reason = ex_reason,
};

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    prism_status host_ok = pv_check_host(host, host_abi_version, out_provider, out_api, "the example provider");
    if (host_ok) return host_ok;
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) return PRISM_ERR_OUT_OF_MEMORY;
    p->host = host;
    uint32_t n = read_device_count(p);
    p->devices = calloc(n ? n : 1, sizeof *p->devices);
    if (!p->devices) {
        free(p);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    char ops[160];
    op_list(ALL_OPS, ops, sizeof ops);
    for (; p->n_devices < n; p->n_devices++) {
        ex_device *d = &p->devices[p->n_devices];
        if (!ex_device_init(d, p->n_devices)) {
            ex_destroy(p);
            host->set_error(NULL, "the example provider cannot create a device lock");
            return PRISM_ERR_PROVIDER;
        }
        snprintf(d->name, sizeof d->name, "Prism simulated accelerator %u", p->n_devices);
        snprintf(d->properties, sizeof d->properties,
                 "simulated=1\ndevice_index=%u\nops=%s\ncapacity_mb=%.0f\nthroughput_gflops=%.0f\n"
                 "memory=device (opaque handles; host copies only)",
                 p->n_devices, ops, EX_DEFAULT_CAPACITY_MB, EX_DEFAULT_GFLOPS);
    }
    *out_provider = p;
    *out_api = &ex_api;
    return PRISM_OK;
}
