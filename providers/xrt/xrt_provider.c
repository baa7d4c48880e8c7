/*
 * xrt_provider.c — the XRT provider's entry points, devices, instances and
 * capability answers.
 *
 * Init checks the environment first (xrt_env.c) and only then calls XRT, to
 * count devices; whatever is missing becomes the reason shown on the csim
 * device, which is always listed after the hardware devices so `prism
 * devices` can say why there is no FPGA. The csim device runs the HLS C
 * kernels on the host and claims nodes only when the session asks for it
 * (csim=1): it is a correctness tool, not a fast path.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xrt/xrt_device.h>

#include "xrt_internal.h"
#include "pv_init.h"

/* Hardware devices probed at most (noop emulation opens any index). */
#define XR_MAX_HW 256u

prism_status xr_fail(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...) {
    char msg[XR_ERR * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->prov->host->set_error(hc, msg);
    return st;
}

static void xr_destroy(prism_provider *p) {
    if (!p) return;
    for (uint32_t i = 0; i < p->n_hw; i++) {
        free(p->hw_names ? p->hw_names[i] : NULL);
        free(p->hw_props ? p->hw_props[i] : NULL);
    }
    free(p->hw_names);
    free(p->hw_props);
    free(p);
}

static uint32_t xr_device_count(prism_provider *p) { return p->n_hw + 1; }

static const char *xr_reason(prism_provider *p) { return p->hw_reason[0] ? p->hw_reason : NULL; }

static prism_status xr_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    if (!out || device > p->n_hw) return PRISM_ERR_NOT_FOUND;
    out->type = PRISM_DEVICE_FPGA;
    out->memory_kind = PRISM_MEMORY_DEVICE;
    out->vendor = "Xilinx (XRT)";
    out->memory_bytes = 0;
    if (device < p->n_hw) {
        out->name = p->hw_names[device];
        out->properties = p->hw_props[device];
    } else {
        out->name = "Prism HLS C simulation (csim)";
        out->vendor = "Prism";
        out->properties = p->csim_props;
    }
    return PRISM_OK;
}

/* The folder holding this library (for the default xclbin and ini). */
static void find_libdir(char *out, size_t size) {
    Dl_info info;
    out[0] = '\0';
    if (!dladdr((void *)&find_libdir, &info) || !info.dli_fname) return;
    snprintf(out, size, "%s", info.dli_fname);
    char *slash = strrchr(out, '/');
    if (slash) *slash = '\0';
    else snprintf(out, size, ".");
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out) {
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (end == v || *end || errno || v[0] == '-' || x > max) return false;
    *out = x;
    return true;
}

static prism_status xr_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                       size_t option_count, prism_host_context *hc, prism_instance **out) {
    char msg[XR_ERR * 2];
    if (device > p->n_hw) {
        snprintf(msg, sizeof msg, "the xrt provider has %u device(s); device %u does not exist", p->n_hw + 1, device);
        p->host->set_error(hc, msg);
        return PRISM_ERR_NOT_FOUND;
    }
    bool csim = false;
    unsigned long timeout = XR_DEFAULT_TIMEOUT_MS;
    char xclbin[XR_PATH];
    snprintf(xclbin, sizeof xclbin, "%s/%s", p->libdir[0] ? p->libdir : ".", XR_XCLBIN_NAME);
    for (size_t i = 0; i < option_count; i++) {
        const char *k = options[i].key ? options[i].key : "", *v = options[i].value ? options[i].value : "";
        unsigned long x = 0;
        if (!strcmp(k, "csim")) {
            if (!parse_uint(v, 1, &x)) {
                snprintf(msg, sizeof msg, "option csim=%.64s: expected 0 or 1", v);
                p->host->set_error(hc, msg);
                return PRISM_ERR_INVALID_ARGUMENT;
            }
            csim = x == 1;
        } else if (!strcmp(k, "timeout_ms")) {
            if (!parse_uint(v, 86400000ul, &x) || !x) {
                snprintf(msg, sizeof msg, "option timeout_ms=%.64s: expected milliseconds from 1 to 86400000", v);
                p->host->set_error(hc, msg);
                return PRISM_ERR_INVALID_ARGUMENT;
            }
            timeout = x;
        } else if (!strcmp(k, "xclbin")) {
            if (!*v || strlen(v) >= sizeof xclbin) {
                snprintf(msg, sizeof msg, "option xclbin: expected a path shorter than %zu bytes", sizeof xclbin);
                p->host->set_error(hc, msg);
                return PRISM_ERR_INVALID_ARGUMENT;
            }
            snprintf(xclbin, sizeof xclbin, "%s", v);
        } else if (!strcmp(k, "device") || !strcmp(k, "intra_op_threads")) {
            continue; /* handled by the core / runs are single-threaded */
        } else {
            snprintf(msg, sizeof msg, "unknown option '%.64s' (the xrt provider knows xclbin, csim, timeout_ms)", k);
            p->host->set_error(hc, msg);
            return PRISM_ERR_INVALID_ARGUMENT;
        }
    }
    bool csim_device = device == p->n_hw;
    if (csim && !csim_device) {
        snprintf(msg, sizeof msg, "option csim=1 applies to the csim device: add xrt:device=%u (device %u is an XRT device)",
                 p->n_hw, device);
        p->host->set_error(hc, msg);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) return PRISM_ERR_OUT_OF_MEMORY;
    inst->magic = XR_INSTANCE_MAGIC;
    inst->prov = p;
    inst->device = device;
    inst->csim_device = csim_device;
    inst->timeout_ms = (unsigned)timeout;
    inst->gflops = csim_device ? XR_CSIM_GFLOPS : XR_HW_GFLOPS;
    snprintf(inst->xclbin, sizeof inst->xclbin, "%s", xclbin);
    if (!xr_mem_init(inst)) {
        free(inst);
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (csim_device && !csim) {
        /* No backend: the instance claims nothing, so it never allocates. */
        snprintf(inst->why_disabled, sizeof inst->why_disabled,
                 "the csim device runs only with the provider option csim=1 (--provider-option xrt:csim=1)");
        p->host->log(hc, PRISM_LOG_INFO, "xrt: csim device not enabled (csim=1 not given): it claims no node");
        *out = inst;
        return PRISM_OK;
    }
    char err[XR_ERR];
    prism_status st = xm_load(inst->xclbin, &inst->meta, err, sizeof err);
    if (!st) {
        for (int k = 0; k < XK_COUNT; k++) xk_bind(&inst->meta, (xk_id)k, &inst->bind[k]);
        st = csim_device ? xb_csim_create(&inst->be, err, sizeof err)
                         : xb_xrt_create(device, inst->xclbin, &inst->meta, inst->bind, inst->timeout_ms, &inst->be,
                                         err, sizeof err);
    }
    if (st) {
        snprintf(msg, sizeof msg, "xrt device %u (%s): %s", device, csim_device ? "csim" : p->hw_names[device], err);
        p->host->set_error(hc, msg);
        xm_free(&inst->meta);
        xr_mem_fini(inst);
        free(inst);
        return st;
    }
    inst->enabled = true;
    if (!csim_device && !strcmp(p->mode, "noop"))
        p->host->log(hc, PRISM_LOG_WARNING,
                     "XCL_EMULATION_MODE=noop: the host-side sequence runs but the kernels compute nothing, "
                     "so outputs of nodes placed on this device are meaningless");
    for (int k = 0; k < XK_COUNT; k++)
        if (!inst->bind[k].ok) {
            snprintf(msg, sizeof msg, "xrt: %s: the ops needing it are not claimed", inst->bind[k].why);
            p->host->log(hc, PRISM_LOG_WARNING, msg);
        }
    *out = inst;
    return PRISM_OK;
}

static void xr_instance_destroy(prism_instance *inst) {
    if (!inst) return;
    xr_mem_fini(inst);
    if (inst->be) inst->be->ops->destroy(inst->be);
    xm_free(&inst->meta);
    inst->magic = 0;
    free(inst);
}

static prism_status xr_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                      uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    const prism_host_api *host = inst->prov->host;
    if (!out_supported) return PRISM_ERR_INVALID_ARGUMENT;
    uint32_t nn = host->graph_node_count(g), claimed = 0;
    for (uint32_t i = 0; i < nn; i++) {
        xo_op op = XO_OP_COUNT;
        xo_params params;
        char why[XR_ERR] = "";
        bool ok = inst->enabled;
        if (!ok) snprintf(why, sizeof why, "%s", inst->why_disabled);
        if (ok) ok = xo_parse(host, g, i, &op, &params, why, sizeof why);
        if (ok) {
            uint32_t need = xo_kernels(op, &params);
            for (int k = 0; k < XK_COUNT && ok; k++)
                if ((need & (1u << k)) && !inst->bind[k].ok) {
                    ok = false;
                    snprintf(why, sizeof why, "%s", inst->bind[k].why);
                }
        }
        out_supported[i] = ok;
        claimed += ok;
        if (out_group) out_group[i] = 0;
        if (out_cost) out_cost[i] = ok ? xo_cost(host, g, i, op, inst->gflops) : 0.0;
        if (!ok && inst->enabled) {
            char line[XR_ERR * 2];
            const char *name = host->node_name(g, i), *opt = host->node_op_type(g, i);
            snprintf(line, sizeof line, "xrt: node '%s' (%s) not claimed: %s", name ? name : "", opt ? opt : "?",
                     why);
            host->log(hc, PRISM_LOG_DEBUG, line);
        }
    }
    char line[256];
    snprintf(line, sizeof line, "xrt device %u (%s): claims %u of %u nodes", inst->device,
             inst->csim_device ? "csim" : "XRT", claimed, nn);
    host->log(hc, PRISM_LOG_INFO, line);
    return PRISM_OK;
}

static const prism_provider_api xr_api = {
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    .name = "xrt",
    .version = "0.1.0",
    .destroy = xr_destroy,
    .device_count = xr_device_count,
    .device_info = xr_device_info,
    .instance_create = xr_instance_create,
    .instance_destroy = xr_instance_destroy,
    .get_capability = xr_get_capability,
    .compile = xr_compile,
    .compiled_destroy = xr_compiled_destroy,
    .run = xr_run,
    .buffer_alloc = xr_buffer_alloc,
    .buffer_free = xr_buffer_free,
    .copy_to_device = xr_copy_to_device,
    .copy_from_device = xr_copy_from_device,
    .synchronize = xr_synchronize,
    .reason = xr_reason,
};

/* Enumerate XRT devices (only once the environment is known safe). */
static prism_status enumerate(prism_provider *p) {
    p->hw_names = calloc(XR_MAX_HW, sizeof *p->hw_names);
    p->hw_props = calloc(XR_MAX_HW, sizeof *p->hw_props);
    if (!p->hw_names || !p->hw_props) return PRISM_ERR_OUT_OF_MEMORY;
    /* noop emulation opens every index: one emulated device is enough. */
    uint32_t max = !strcmp(p->mode, "noop") ? 1u : XR_MAX_HW;
    for (uint32_t i = 0; i < max; i++) {
        xrtDeviceHandle d = xrtDeviceOpen(i);
        if (!d) break;
        xrtDeviceClose(d);
        char name[128], props[XR_PATH + 512];
        snprintf(name, sizeof name, "Xilinx FPGA %u (XRT%s%s)", i, strcmp(p->mode, "hw") ? ", emulation " : "",
                 strcmp(p->mode, "hw") ? p->mode : "");
        snprintf(props, sizeof props,
                 "xrt_index=%u\nmode=%s\nxclbin_default=%s/%s\nmemory=device (XRT buffer objects)%s", i, p->mode,
                 p->libdir, XR_XCLBIN_NAME,
                 !strcmp(p->mode, "noop") ? "\nnote=noop emulation: kernels compute nothing" : "");
        p->hw_names[i] = strdup(name);
        p->hw_props[i] = strdup(props);
        p->n_hw = i + 1; /* counted even if strdup failed, so destroy frees what exists */
        if (!p->hw_names[i] || !p->hw_props[i]) return PRISM_ERR_OUT_OF_MEMORY;
    }
    if (!p->n_hw)
        snprintf(p->hw_reason, sizeof p->hw_reason, "XRT (mode %s) found no device: xrtDeviceOpen(0) failed",
                 p->mode);
    return PRISM_OK;
}

PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }

PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    prism_status host_ok = pv_check_host(host, host_abi_version, out_provider, out_api, "the xrt provider");
    if (host_ok) return host_ok;
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) return PRISM_ERR_OUT_OF_MEMORY;
    p->host = host;
    find_libdir(p->libdir, sizeof p->libdir);
    p->xrt_ok = xrt_env_check(p->hw_reason, sizeof p->hw_reason, &p->mode);
    if (p->xrt_ok) {
        char ini[XR_PATH];
        snprintf(ini, sizeof ini, "%s/%s", p->libdir, XR_INI_NAME);
        xrt_env_quiet(ini);
        if (enumerate(p)) {
            xr_destroy(p);
            host->set_error(NULL, "the xrt provider ran out of memory listing devices");
            return PRISM_ERR_OUT_OF_MEMORY;
        }
    }
    snprintf(p->csim_props, sizeof p->csim_props,
             "simulated=1\nenable=provider option csim=1\nkernels=%s\nxclbin_default=%s/%s\nhardware_devices=%u\n"
             "hardware=%s",
             xb_csim_available() ? "HLS C sources linked in" : "not built (csim unavailable)", p->libdir,
             XR_XCLBIN_NAME, p->n_hw, p->hw_reason[0] ? p->hw_reason : "XRT devices listed before this one");
    *out_provider = p;
    *out_api = &xr_api;
    return PRISM_OK;
}
