/*
 * plugin_base.c — see plugin_base.h. Deliberately tiny: it exists only so
 * that the broken plugins differ from a working provider in one member.
 */
#include "plugin_base.h"

#include <stdlib.h>
#include <string.h>

static void base_destroy(prism_provider *p) { free(p); }

static uint32_t base_device_count(prism_provider *p) {
    (void)p;
    return 1;
}

static prism_status base_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    (void)p;
    if (device != 0 || !out) return PRISM_ERR_NOT_FOUND;
    out->type = PRISM_DEVICE_OTHER;
    out->memory_kind = PRISM_MEMORY_HOST;
    out->name = "test device";
    out->vendor = "prism tests";
    out->memory_bytes = 0;
    out->properties = NULL;
    return PRISM_OK;
}

static prism_status base_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                         size_t option_count, prism_host_context *hc, prism_instance **out) {
    (void)options;
    (void)option_count;
    if (device != 0) {
        p->host->set_error(hc, "one device only");
        return PRISM_ERR_NOT_FOUND;
    }
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return PRISM_ERR_OUT_OF_MEMORY;
    inst->prov = p;
    *out = inst;
    return PRISM_OK;
}

static void base_instance_destroy(prism_instance *inst) { free(inst); }

/* Claims every ai.onnx Relu on a float tensor. */
static prism_status base_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                        uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    (void)hc;
    const prism_host_api *h = inst->prov->host;
    for (uint32_t n = 0; n < h->graph_node_count(g); n++) {
        const char *op = h->node_op_type(g, n), *domain = h->node_domain(g, n);
        uint32_t x = h->node_input_count(g, n) == 1 ? h->node_input(g, n, 0) : PRISM_NO_VALUE;
        out_supported[n] = op && domain && !strcmp(op, "Relu") && !*domain && x != PRISM_NO_VALUE &&
                           h->value_dtype(g, x) == PRISM_DTYPE_FLOAT;
        if (out_group) out_group[n] = 0;
        if (out_cost) out_cost[n] = 0.0;
    }
    return PRISM_OK;
}

static prism_status base_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes,
                                 size_t node_count, const uint32_t *inputs, size_t input_count,
                                 const uint32_t *outputs, size_t output_count, prism_host_context *hc,
                                 prism_compiled **out) {
    (void)g;
    (void)nodes;
    (void)inputs;
    (void)outputs;
    if (node_count != 1 || input_count != 1 || output_count != 1) {
        inst->prov->host->set_error(hc, "this test provider compiles one Relu at a time");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    prism_compiled *c = calloc(1, sizeof *c);
    if (!c) return PRISM_ERR_OUT_OF_MEMORY;
    c->host = inst->prov->host;
    *out = c;
    return PRISM_OK;
}

static void base_compiled_destroy(prism_compiled *c) { free(c); }

static prism_status base_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count,
                             prism_host_context *hc) {
    if (input_count != 1 || inputs[0].dtype != PRISM_DTYPE_FLOAT) {
        c->host->set_error(hc, "expected one float input");
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    void *data = NULL;
    prism_status st = c->host->output_alloc(hc, 0, PRISM_DTYPE_FLOAT, inputs[0].rank, inputs[0].dims, &data);
    if (st) return st;
    const float *x = inputs[0].data;
    float *y = data;
    for (size_t i = 0; i < inputs[0].byte_size / sizeof(float); i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return PRISM_OK;
}

static const prism_provider_api base_table = {
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    .name = "base",
    .version = "1.0-test",
    .destroy = base_destroy,
    .device_count = base_device_count,
    .device_info = base_device_info,
    .instance_create = base_instance_create,
    .instance_destroy = base_instance_destroy,
    .get_capability = base_get_capability,
    .compile = base_compile,
    .compiled_destroy = base_compiled_destroy,
    .run = base_run,
};

const prism_provider_api *base_api(void) { return &base_table; }

prism_status base_provider_create(const prism_host_api *host, prism_provider **out) {
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) {
        host->set_error(NULL, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    p->host = host;
    *out = p;
    return PRISM_OK;
}
