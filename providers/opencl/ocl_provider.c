/*
 * ocl_provider.c — the OpenCL provider's entry point and ABI table:
 * devices, instances (one in-order queue per session and device) and
 * capability. The provider talks to OpenCL only through the ICD loader, so
 * it loads (and reports zero devices) on machines without any driver.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"
#include "pv_init.h"

static void ocl_destroy(prism_provider *p) {
    if (!p) return;
    ocl_devices_release(p);
    pthread_mutex_destroy(&p->lock);
    free(p);
}

static uint32_t ocl_device_count(prism_provider *p) { return p ? p->n_devices : 0; }

static const char *ocl_reason(prism_provider *p) { return p && p->reason[0] ? p->reason : NULL; }

static prism_status ocl_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    if (!p || !out || device >= p->n_devices) return PRISM_ERR_NOT_FOUND;
    const ocl_device *d = &p->devices[device];
    out->type = d->type;
    out->memory_kind = PRISM_MEMORY_DEVICE;
    out->name = d->name;
    out->vendor = d->vendor;
    out->memory_bytes = d->memory_bytes;
    out->properties = d->properties;
    return PRISM_OK;
}

static prism_status set_option(prism_provider *p, prism_instance *inst, const char *k, const char *v,
                               prism_host_context *hc) {
    char msg[OCL_ERR];
    if (!strcmp(k, "cache_dir")) {
        if (strlen(v) >= sizeof inst->cache_dir) {
            snprintf(msg, sizeof msg, "option cache_dir: the path is longer than %zu bytes", sizeof inst->cache_dir - 1);
            goto bad;
        }
        snprintf(inst->cache_dir, sizeof inst->cache_dir, "%s", v);
        return PRISM_OK;
    }
    if (!strcmp(k, "clblast")) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            snprintf(msg, sizeof msg, "option clblast=%s: expected 0 or 1", v);
            goto bad;
        }
        inst->use_clblast = v[0] == '1';
        if (inst->use_clblast && !ocl_blas_available()) {
            snprintf(msg, sizeof msg, "option clblast=1: the provider was built without CLBlast");
            goto bad;
        }
        return PRISM_OK;
    }
    if (!strcmp(k, "build_options")) {
        if (strlen(v) >= sizeof inst->build_options) {
            snprintf(msg, sizeof msg, "option build_options: longer than %zu bytes", sizeof inst->build_options - 1);
            goto bad;
        }
        snprintf(inst->build_options, sizeof inst->build_options, "%s", v);
        return PRISM_OK;
    }
    if (!strcmp(k, "kernels")) {
        if (!strcmp(v, "auto")) inst->kernel_family = OCL_KERNELS_AUTO;
        else if (!strcmp(v, "cpu")) inst->kernel_family = OCL_KERNELS_CPU;
        else if (!strcmp(v, "gpu")) inst->kernel_family = OCL_KERNELS_GPU;
        else {
            snprintf(msg, sizeof msg, "option kernels=%s: expected auto, cpu or gpu", v);
            goto bad;
        }
        return PRISM_OK;
    }
    if (!strcmp(k, "fail_launch")) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(v, &end, 10);
        if (!*v || *end || errno || v[0] == '-') {
            snprintf(msg, sizeof msg, "option fail_launch=%s: expected a launch count (0 = never)", v);
            goto bad;
        }
        inst->fail_launch = n;
        return PRISM_OK;
    }
    if (!strcmp(k, "profile")) {
        if (strcmp(v, "0") && strcmp(v, "1")) {
            snprintf(msg, sizeof msg, "option profile=%s: expected 0 or 1", v);
            goto bad;
        }
        inst->profile = v[0] == '1';
        return PRISM_OK;
    }
    if (!strcmp(k, "intra_op_threads")) return PRISM_OK; /* the host's, for CPU providers: the device sets its own */
    snprintf(msg, sizeof msg, "unknown option '%s' (the OpenCL provider knows: cache_dir, clblast, build_options, kernels, fail_launch, profile)", k);
bad:
    p->host->set_error(hc, msg);
    return PRISM_ERR_INVALID_ARGUMENT;
}

static void ocl_instance_destroy(prism_instance *inst) {
    if (!inst) return;
    if (inst->queue) {
        clFinish(inst->queue);
        clReleaseCommandQueue(inst->queue);
    }
    ocl_profile_release(inst);
    ocl_kernels_release_all(inst);
    ocl_handles_release_all(inst);
    ocl_pool_release_all(inst);
    pthread_mutex_destroy(&inst->mem_lock);
    pthread_mutex_destroy(&inst->launch_lock);
    inst->magic = 0;
    free(inst);
}

static prism_status ocl_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                        size_t option_count, prism_host_context *hc, prism_instance **out) {
    if (!p || !out) return PRISM_ERR_INVALID_ARGUMENT;
    if (device >= p->n_devices) {
        char msg[160];
        snprintf(msg, sizeof msg, "the OpenCL provider has %u device(s); device %u does not exist", p->n_devices,
                 device);
        p->host->set_error(hc, msg);
        return PRISM_ERR_NOT_FOUND;
    }
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return PRISM_ERR_OUT_OF_MEMORY;
    if (pthread_mutex_init(&inst->mem_lock, NULL) != 0) {
        free(inst);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (pthread_mutex_init(&inst->launch_lock, NULL) != 0) {
        pthread_mutex_destroy(&inst->mem_lock);
        free(inst);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    pthread_mutex_lock(&p->lock);
    uint32_t tag = ++p->next_tag;
    pthread_mutex_unlock(&p->lock);
    if (!pv_handles_init(&inst->handles, OCL_HANDLE_TAG, tag)) {
        pthread_mutex_destroy(&inst->launch_lock);
        pthread_mutex_destroy(&inst->mem_lock);
        free(inst);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    inst->magic = OCL_INSTANCE_MAGIC;
    inst->prov = p;
    inst->dev = &p->devices[device];
    inst->use_clblast = false;
    ocl_cache_default_dir(inst->cache_dir, sizeof inst->cache_dir);
    prism_status st = PRISM_OK;
    for (size_t i = 0; i < option_count && !st; i++)
        st = set_option(p, inst, options[i].key ? options[i].key : "", options[i].value ? options[i].value : "", hc);
    char err[OCL_ERR];
    if (!st && (st = ocl_device_context(inst->dev, err, sizeof err))) p->host->set_error(hc, err);
    if (!st) {
        cl_int e = CL_SUCCESS;
        inst->queue = clCreateCommandQueue(inst->dev->context, inst->dev->id,
                                           inst->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &e);
        if (!inst->queue || e != CL_SUCCESS) {
            inst->queue = NULL;
            st = ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clCreateCommandQueue failed on %s: %s (%d)",
                            inst->dev->name, ocl_error_name(e), (int)e);
        }
    }
    if (st) {
        ocl_instance_destroy(inst);
        return st;
    }
    *out = inst;
    return PRISM_OK;
}

/* Whether node i has an op that accepts it; why says why not. */
static bool node_supported(prism_instance *inst, const prism_graph_view *g, uint32_t i, char *why, size_t why_size) {
    const prism_host_api *h = inst->prov->host;
    ocl_node n;
    ocl_node_bind(&n, inst, g, i);
    const char *domain = h->node_domain(g, i);
    const ocl_op_entry *e = ocl_op_lookup(domain, n.op, n.opset);
    if (!e) {
        snprintf(why, why_size, "no OpenCL kernel for %s%s%s opset %lld", domain && *domain ? domain : "",
                 domain && *domain ? "." : "", n.op ? n.op : "?", (long long)n.opset);
        return false;
    }
    if (e->def->supports) return e->def->supports(&n, why, why_size);
    /* Default: float32 (float16 where the device has it) everywhere. */
    for (uint32_t k = 0; k < n.n_in + n.n_out; k++) {
        bool in = k < n.n_in;
        uint32_t idx = in ? k : k - n.n_in;
        if (in ? !ocl_node_has_input(&n, idx) : !ocl_node_has_output(&n, idx)) continue;
        int32_t dt = in ? ocl_node_input_dtype(&n, idx) : ocl_node_output_dtype(&n, idx);
        if (dt == PRISM_DTYPE_FLOAT || (dt == PRISM_DTYPE_FLOAT16 && inst->dev->fp16)) continue;
        snprintf(why, why_size, "%s %u has dtype %d (float32%s only)", in ? "input" : "output", idx, (int)dt,
                 inst->dev->fp16 ? " and float16" : "");
        return false;
    }
    return true;
}

static prism_status ocl_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                       uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    const prism_host_api *h = inst->prov->host;
    uint32_t nn = h->graph_node_count(g);
    for (uint32_t i = 0; i < nn; i++) {
        char why[512] = "";
        out_supported[i] = node_supported(inst, g, i, why, sizeof why);
        if (!out_supported[i]) {
            char msg[800];
            const char *name = h->node_name(g, i);
            snprintf(msg, sizeof msg, "opencl: declines node '%s' (%s): %s", name ? name : "?",
                     h->node_op_type(g, i), why);
            h->log(hc, PRISM_LOG_DEBUG, msg);
        }
        if (out_cost) out_cost[i] = out_supported[i] ? ocl_node_cost(inst, g, i) : -1.0;
    }
    if (out_group) ocl_fuse_groups(inst, g, out_supported, out_group);
    return PRISM_OK;
}

static const prism_provider_api ocl_api = {
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    .name = "opencl",
    .version = "0.1.0",
    .destroy = ocl_destroy,
    .device_count = ocl_device_count,
    .device_info = ocl_device_info,
    .instance_create = ocl_instance_create,
    .instance_destroy = ocl_instance_destroy,
    .get_capability = ocl_get_capability,
    .compile = ocl_compile,
    .compiled_destroy = ocl_compiled_destroy,
    .run = ocl_run,
    .buffer_alloc = ocl_buffer_alloc,
    .buffer_free = ocl_buffer_free,
    .copy_to_device = ocl_copy_to_device,
    .copy_from_device = ocl_copy_from_device,
    .copy_device_to_device = ocl_copy_device_to_device,
    .synchronize = ocl_synchronize,
    .reason = ocl_reason,
};

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    prism_status host_ok = pv_check_host(host, host_abi_version, out_provider, out_api, "the OpenCL provider");
    if (host_ok) return host_ok;
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) return PRISM_ERR_OUT_OF_MEMORY;
    if (pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    p->host = host;
    ocl_devices_enumerate(p);
    *out_provider = p;
    *out_api = &ocl_api;
    return PRISM_OK;
}
