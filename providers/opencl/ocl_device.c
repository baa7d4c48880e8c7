/*
 * ocl_device.c — finding OpenCL devices through the ICD loader.
 *
 * Every device of every platform is offered; GPUs and accelerators come
 * first (lower indices) and CPU devices (PoCL, say) keep their true type, so
 * the host's policies rank them honestly. A machine with no platform is not
 * an error: the provider reports zero devices and says why. The context of
 * a device is created at its first instance and kept for the provider's
 * life, so programs built in it serve every later session.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

static void info_str(cl_device_id d, cl_device_info what, char *out, size_t size) {
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, size, out, NULL) != CL_SUCCESS) snprintf(out, size, "?");
    out[size - 1] = '\0';
}

static void platform_str(cl_platform_id p, cl_platform_info what, char *out, size_t size) {
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, size, out, NULL) != CL_SUCCESS) snprintf(out, size, "?");
    out[size - 1] = '\0';
}

/* Lower ranks are offered first. */
static int type_rank(int32_t t) { return t == PRISM_DEVICE_GPU ? 0 : t == PRISM_DEVICE_ACCELERATOR ? 1 : 2; }

static bool describe(ocl_device *d, cl_platform_id plat, cl_device_id id) {
    memset(d, 0, sizeof *d);
    d->platform = plat;
    d->id = id;
    cl_device_type t = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_TYPE, sizeof t, &t, NULL) != CL_SUCCESS) return false;
    d->type = (t & CL_DEVICE_TYPE_GPU)           ? PRISM_DEVICE_GPU
              : (t & CL_DEVICE_TYPE_ACCELERATOR) ? PRISM_DEVICE_ACCELERATOR
              : (t & CL_DEVICE_TYPE_CPU)         ? PRISM_DEVICE_CPU
                                                 : PRISM_DEVICE_ACCELERATOR;
    info_str(id, CL_DEVICE_NAME, d->name, sizeof d->name);
    info_str(id, CL_DEVICE_VENDOR, d->vendor, sizeof d->vendor);
    info_str(id, CL_DRIVER_VERSION, d->driver, sizeof d->driver);
    info_str(id, CL_DEVICE_VERSION, d->device_version, sizeof d->device_version);
    platform_str(plat, CL_PLATFORM_VERSION, d->platform_version, sizeof d->platform_version);
    platform_str(plat, CL_PLATFORM_NAME, d->platform_name, sizeof d->platform_name);
    cl_ulong mem = 0, local = 0;
    size_t group = 0;
    cl_uint units = 0;
    clGetDeviceInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
    clGetDeviceInfo(id, CL_DEVICE_LOCAL_MEM_SIZE, sizeof local, &local, NULL);
    clGetDeviceInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof group, &group, NULL);
    clGetDeviceInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
    d->memory_bytes = mem;
    d->local_mem = (size_t)local;
    d->max_group = group ? group : 1;
    d->compute_units = units;
    size_t ext_len = 0;
    if (clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, 0, NULL, &ext_len) == CL_SUCCESS && ext_len) {
        char *ext = malloc(ext_len + 1);
        if (ext && clGetDeviceInfo(id, CL_DEVICE_EXTENSIONS, ext_len, ext, NULL) == CL_SUCCESS) {
            ext[ext_len] = '\0';
            d->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
        }
        free(ext);
    }
    snprintf(d->properties, sizeof d->properties,
             "platform=%s\nplatform_version=%s\nopencl_version=%s\ndriver_version=%s\ncompute_units=%u\n"
             "fp16=%s\nlocal_mem=%zu\nmax_work_group=%zu\nclblast=%s",
             d->platform_name, d->platform_version, d->device_version, d->driver, (unsigned)units,
             d->fp16 ? "yes" : "no", d->local_mem, d->max_group, ocl_blas_available() ? "yes" : "no");
    return pthread_mutex_init(&d->lock, NULL) == 0;
}

void ocl_devices_enumerate(prism_provider *p) {
    cl_uint np = 0;
    cl_int err = clGetPlatformIDs(0, NULL, &np);
    if (err != CL_SUCCESS || np == 0) {
        snprintf(p->reason, sizeof p->reason, "no OpenCL platform found (clGetPlatformIDs: %s (%d))",
                 err == CL_SUCCESS ? "zero platforms" : ocl_error_name(err), (int)err);
        return;
    }
    cl_platform_id *plats = calloc(np, sizeof *plats);
    if (!plats || clGetPlatformIDs(np, plats, NULL) != CL_SUCCESS) {
        free(plats);
        snprintf(p->reason, sizeof p->reason, "clGetPlatformIDs failed listing %u platforms", (unsigned)np);
        return;
    }
    size_t cap = 0, n = 0;
    ocl_device *devs = NULL;
    for (cl_uint i = 0; i < np; i++) {
        cl_uint nd = 0;
        if (clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, 0, NULL, &nd) != CL_SUCCESS || !nd) continue;
        cl_device_id *ids = calloc(nd, sizeof *ids);
        if (!ids || clGetDeviceIDs(plats[i], CL_DEVICE_TYPE_ALL, nd, ids, NULL) != CL_SUCCESS) {
            free(ids);
            continue;
        }
        for (cl_uint j = 0; j < nd; j++) {
            if (n == cap) {
                size_t nc = cap ? cap * 2 : 4;
                ocl_device *nds = realloc(devs, nc * sizeof *nds);
                if (!nds) break;
                devs = nds;
                cap = nc;
            }
            if (describe(&devs[n], plats[i], ids[j])) n++;
        }
        free(ids);
    }
    free(plats);
    /* Stable order by type rank: GPUs, then accelerators, then CPUs. */
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && type_rank(devs[j].type) < type_rank(devs[j - 1].type); j--) {
            ocl_device t = devs[j];
            devs[j] = devs[j - 1];
            devs[j - 1] = t;
        }
    p->devices = devs;
    p->n_devices = (uint32_t)n;
    if (!n) snprintf(p->reason, sizeof p->reason, "%u OpenCL platform(s) found, but no usable device", (unsigned)np);
}

void ocl_devices_release(prism_provider *p) {
    for (uint32_t i = 0; i < p->n_devices; i++) {
        ocl_device *d = &p->devices[i];
        for (ocl_program_entry *e = d->programs, *next; e; e = next) {
            next = e->next;
            clReleaseProgram(e->program);
            free(e->key);
            free(e);
        }
        if (d->context) clReleaseContext(d->context);
        pthread_mutex_destroy(&d->lock);
    }
    free(p->devices);
    p->devices = NULL;
    p->n_devices = 0;
}

prism_status ocl_device_context(ocl_device *d, char *err, size_t err_size) {
    pthread_mutex_lock(&d->lock);
    prism_status st = PRISM_OK;
    if (!d->context) {
        cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
        cl_int e = CL_SUCCESS;
        d->context = clCreateContext(props, 1, &d->id, NULL, NULL, &e);
        if (!d->context || e != CL_SUCCESS) {
            d->context = NULL;
            snprintf(err, err_size, "clCreateContext failed on %s: %s (%d)", d->name, ocl_error_name(e), (int)e);
            st = PRISM_ERR_PROVIDER;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}
