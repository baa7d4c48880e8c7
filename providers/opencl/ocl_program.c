/*
 * ocl_program.c — building programs once per (device, program, element
 * type, build options) for the whole process, and the per-instance kernel
 * objects made from them.
 *
 * Built programs live on the device (under its mutex), so every session of
 * the process shares them; the build itself is also done under that mutex,
 * so two sessions never compile the same program twice. Before compiling
 * from source the disk cache is asked for a binary; a binary the driver
 * refuses is treated like a stale entry: rebuilt from source and rewritten.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"
#include "ocl_sources.h"

static const ocl_source *find_source(const char *name) {
    for (const ocl_source *s = ocl_sources; s->name; s++)
        if (!strcmp(s->name, name)) return s;
    return NULL;
}

static void logf_(prism_instance *inst, prism_host_context *hc, int32_t level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void logf_(prism_instance *inst, prism_host_context *hc, int32_t level, const char *fmt, ...) {
    char msg[OCL_ERR];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->prov->host->log(hc, level, msg);
}

static prism_status build(prism_instance *inst, prism_host_context *hc, cl_program prog, const char *options,
                          const char *what) {
    ocl_device *d = inst->dev;
    cl_int e = clBuildProgram(prog, 1, &d->id, options, NULL, NULL);
    if (e == CL_SUCCESS) return PRISM_OK;
    size_t log_len = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_len) == CL_SUCCESS && log_len) {
        log = malloc(log_len + 1);
        if (log && clGetProgramBuildInfo(prog, d->id, CL_PROGRAM_BUILD_LOG, log_len, log, NULL) == CL_SUCCESS)
            log[log_len] = '\0';
        else if (log)
            log[0] = '\0';
    }
    /* The message keeps the start of the log, where the first error is. */
    ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clBuildProgram failed for %s on %s: %s (%d); build log:\n%.1500s", what,
               d->name, ocl_error_name(e), (int)e, log && *log ? log : "(empty)");
    free(log);
    return PRISM_ERR_PROVIDER;
}

static void store_binary(prism_instance *inst, prism_host_context *hc, cl_program prog, const char *key) {
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS || !size) return;
    unsigned char *bin = malloc(size);
    if (!bin) return;
    unsigned char *bins[1] = {bin};
    char why[OCL_ERR];
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bins, bins, NULL) == CL_SUCCESS &&
        !ocl_cache_store(inst->cache_dir, key, bin, size, why, sizeof why))
        logf_(inst, hc, PRISM_LOG_INFO, "opencl: program cache not written: %s", why);
    free(bin);
}

/* Build (program, type) for inst's device: from the disk cache when it has
 * a valid binary, else from the embedded source. Call under d->lock. */
static prism_status make_program(prism_instance *inst, prism_host_context *hc, const char *program, const char *type,
                                 cl_program *out) {
    ocl_device *d = inst->dev;
    const ocl_source *src = find_source(program);
    if (!src)
        return ocl_report(inst, hc, PRISM_ERR_INTERNAL, "no OpenCL program kernels/%s.cl is built into the provider",
                          program);
    char options[512], what[128];
    snprintf(options, sizeof options, "-DT=%s%s%s%s", type, strcmp(type, "half") ? "" : " -DPRISM_FP16",
             inst->build_options[0] ? " " : "", inst->build_options);
    snprintf(what, sizeof what, "kernels/%s.cl (T=%s)", program, type);
    char key[2048];
    snprintf(key, sizeof key, "prism-opencl 1\ndevice=%s\ndriver=%s\nplatform=%s\noptions=%s\nsource=%016llx", d->name,
             d->driver, d->platform_version, options,
             (unsigned long long)ocl_hash64(src->text, src->length, 0));
    cl_int e = CL_SUCCESS;
    if (inst->cache_dir[0]) {
        size_t len = 0;
        char why[OCL_ERR];
        unsigned char *bin = ocl_cache_load(inst->cache_dir, key, &len, why, sizeof why);
        if (bin) {
            const unsigned char *bins[1] = {bin};
            cl_int bin_status = CL_SUCCESS;
            cl_program prog = clCreateProgramWithBinary(d->context, 1, &d->id, &len, bins, &bin_status, &e);
            free(bin);
            if (prog && e == CL_SUCCESS && bin_status == CL_SUCCESS &&
                clBuildProgram(prog, 1, &d->id, options, NULL, NULL) == CL_SUCCESS) {
                d->disk_hits++;
                logf_(inst, hc, PRISM_LOG_DEBUG, "opencl: %s loaded from the disk cache", what);
                *out = prog;
                return PRISM_OK;
            }
            if (prog) clReleaseProgram(prog);
            logf_(inst, hc, PRISM_LOG_INFO, "opencl: the cached binary of %s was refused by the driver; rebuilding",
                  what);
        } else if (strcmp(why, "no entry") != 0) {
            logf_(inst, hc, PRISM_LOG_INFO, "opencl: stale cache entry for %s: %s; rebuilding", what, why);
        }
        d->disk_misses++;
    }
    const char *text = src->text;
    size_t len = src->length;
    cl_program prog = clCreateProgramWithSource(d->context, 1, &text, &len, &e);
    if (!prog || e != CL_SUCCESS)
        return ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clCreateProgramWithSource failed for %s: %s (%d)", what,
                          ocl_error_name(e), (int)e);
    prism_status st = build(inst, hc, prog, options, what);
    if (st) {
        clReleaseProgram(prog);
        return st;
    }
    d->source_builds++;
    logf_(inst, hc, PRISM_LOG_DEBUG, "opencl: %s built from source", what);
    if (inst->cache_dir[0]) store_binary(inst, hc, prog, key);
    *out = prog;
    return PRISM_OK;
}

prism_status ocl_program_get(prism_instance *inst, prism_host_context *hc, const char *program, const char *type,
                             cl_program *out) {
    if (!program || !type) return ocl_report(inst, hc, PRISM_ERR_INTERNAL, "program or element type missing");
    ocl_device *d = inst->dev;
    char key[512];
    snprintf(key, sizeof key, "%s|%s|%s", program, type, inst->build_options);
    pthread_mutex_lock(&d->lock);
    for (ocl_program_entry *e = d->programs; e; e = e->next)
        if (!strcmp(e->key, key)) {
            *out = e->program;
            pthread_mutex_unlock(&d->lock);
            return PRISM_OK;
        }
    cl_program prog = NULL;
    prism_status st = make_program(inst, hc, program, type, &prog);
    if (!st) {
        ocl_program_entry *e = calloc(1, sizeof *e);
        if (e) e->key = strdup(key);
        if (!e || !e->key) {
            free(e);
            clReleaseProgram(prog);
            st = ocl_report(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            e->program = prog;
            e->next = d->programs;
            d->programs = e;
            *out = prog;
        }
    }
    pthread_mutex_unlock(&d->lock);
    return st;
}

prism_status ocl_kernel_get(prism_instance *inst, prism_host_context *hc, const char *program, const char *type,
                            const char *kernel, cl_kernel *out) {
    char key[512];
    snprintf(key, sizeof key, "%s|%s|%s", program, type, kernel);
    for (ocl_kernel_entry *e = inst->kernels; e; e = e->next)
        if (!strcmp(e->key, key)) {
            *out = e->kernel;
            return PRISM_OK;
        }
    cl_program prog;
    prism_status st = ocl_program_get(inst, hc, program, type, &prog);
    if (st) return st;
    cl_int err = CL_SUCCESS;
    cl_kernel k = clCreateKernel(prog, kernel, &err);
    if (!k || err != CL_SUCCESS)
        return ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clCreateKernel failed for %s in kernels/%s.cl (T=%s): %s (%d)",
                          kernel, program, type, ocl_error_name(err), (int)err);
    ocl_kernel_entry *e = calloc(1, sizeof *e);
    if (e) e->key = strdup(key);
    if (!e || !e->key) {
        free(e);
        clReleaseKernel(k);
        return ocl_report(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    e->kernel = k;
    e->next = inst->kernels;
    inst->kernels = e;
    *out = k;
    return PRISM_OK;
}

void ocl_kernels_release_all(prism_instance *inst) {
    for (ocl_kernel_entry *e = inst->kernels, *next; e; e = next) {
        next = e->next;
        clReleaseKernel(e->kernel);
        free(e->key);
        free(e);
    }
    inst->kernels = NULL;
}
