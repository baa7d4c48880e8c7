/*
 * ocl_memory.c — device buffers: opaque handles for the host, a pool of
 * free cl_mem objects reused across runs, and the copies.
 *
 * A handle is a tagged integer from the instance's pv_handle_table, never a
 * host pointer: a foreign handle (another provider's, another instance's, or
 * one already freed) fails the lookup instead of being dereferenced.
 *
 * All commands go to the instance's one in-order queue, so a buffer handed
 * back to the pool once its last reader is enqueued can be reused at once:
 * whatever writes it next is queued behind that reader.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

/* Free buffers kept for reuse beyond this are released. */
#define POOL_LIMIT ((size_t)1 << 30)

prism_status ocl_report(const prism_instance *inst, prism_host_context *hc, prism_status st, const char *fmt, ...) {
    char msg[OCL_ERR * 2];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    inst->prov->host->set_error(hc, msg);
    return st;
}

/* Size classes: multiples of 256 bytes up to 4 KiB, then 2^k * {4,5,6,7}/4,
 * so a pooled buffer wastes at most a quarter of its size. */
static size_t size_class(size_t bytes) {
    if (bytes <= 4096) return bytes <= 256 ? 256 : (bytes + 255) / 256 * 256;
    size_t p = 4096;
    while (p * 2 < bytes && p < ((size_t)1 << 62)) p *= 2;
    for (size_t q = 4; q <= 8; q++)
        if (p / 4 * q >= bytes) return p / 4 * q;
    return bytes;
}

prism_status ocl_pool_get(prism_instance *inst, size_t bytes, cl_mem *out, char *err, size_t err_size) {
    size_t cap = size_class(bytes);
    pthread_mutex_lock(&inst->mem_lock);
    for (size_t i = inst->n_pool; i-- > 0;)
        if (inst->pool[i].cap == cap) {
            *out = inst->pool[i].mem;
            inst->pool_bytes -= cap;
            inst->pool[i] = inst->pool[--inst->n_pool];
            pthread_mutex_unlock(&inst->mem_lock);
            return PRISM_OK;
        }
    pthread_mutex_unlock(&inst->mem_lock);
    cl_int e = CL_SUCCESS;
    cl_mem m = clCreateBuffer(inst->dev->context, CL_MEM_READ_WRITE, cap, NULL, &e);
    if (!m || e != CL_SUCCESS) {
        snprintf(err, err_size, "clCreateBuffer failed for %zu bytes on %s: %s (%d)", cap, inst->dev->name,
                 ocl_error_name(e), (int)e);
        return e == CL_INVALID_BUFFER_SIZE || e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_HOST_MEMORY
                   ? PRISM_ERR_OUT_OF_MEMORY
                   : PRISM_ERR_PROVIDER;
    }
    *out = m;
    return PRISM_OK;
}

void ocl_pool_put(prism_instance *inst, cl_mem mem) {
    if (!mem) return;
    size_t cap = 0;
    if (clGetMemObjectInfo(mem, CL_MEM_SIZE, sizeof cap, &cap, NULL) != CL_SUCCESS || cap != size_class(cap)) {
        clReleaseMemObject(mem); /* not one of the pool's sizes */
        return;
    }
    pthread_mutex_lock(&inst->mem_lock);
    bool keep = inst->pool_bytes + cap <= POOL_LIMIT;
    if (keep && inst->n_pool == inst->cap_pool) {
        size_t nc = inst->cap_pool ? inst->cap_pool * 2 : 32;
        ocl_pooled *np = realloc(inst->pool, nc * sizeof *np);
        if (np) {
            inst->pool = np;
            inst->cap_pool = nc;
        } else {
            keep = false;
        }
    }
    if (keep) {
        inst->pool[inst->n_pool].mem = mem;
        inst->pool[inst->n_pool].cap = cap;
        inst->n_pool++;
        inst->pool_bytes += cap;
    }
    pthread_mutex_unlock(&inst->mem_lock);
    if (!keep) clReleaseMemObject(mem);
}

void ocl_pool_release_all(prism_instance *inst) {
    for (size_t i = 0; i < inst->n_pool; i++) clReleaseMemObject(inst->pool[i].mem);
    free(inst->pool);
    inst->pool = NULL;
    inst->n_pool = inst->cap_pool = inst->pool_bytes = 0;
}

/* ---- handles -------------------------------------------------------------------- */

bool ocl_handle_resolve(prism_instance *inst, const void *handle, cl_mem *mem, size_t *bytes) {
    void *payload = NULL;
    if (!pv_handles_lookup(&inst->handles, handle, &payload, bytes)) return false;
    *mem = (cl_mem)payload;
    return true;
}

static void release_mem(void *ctx, void *payload, size_t bytes) {
    (void)ctx;
    (void)bytes;
    clReleaseMemObject((cl_mem)payload);
}

void ocl_handles_release_all(prism_instance *inst) {
    pv_handles_drain(&inst->handles, release_mem, NULL);
    pv_handles_fini(&inst->handles);
}

prism_status ocl_buffer_alloc(prism_instance *inst, size_t bytes, prism_host_context *hc, void **out_buffer) {
    if (!inst || inst->magic != OCL_INSTANCE_MAGIC || !out_buffer) return PRISM_ERR_INVALID_ARGUMENT;
    char err[OCL_ERR];
    cl_mem mem;
    prism_status st = ocl_pool_get(inst, bytes, &mem, err, sizeof err);
    if (st) return ocl_report(inst, hc, st, "%s", err);
    if (!pv_handles_add(&inst->handles, mem, bytes, out_buffer)) {
        ocl_pool_put(inst, mem);
        return ocl_report(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "the buffer table cannot grow");
    }
    return PRISM_OK;
}

void ocl_buffer_free(prism_instance *inst, void *buffer) {
    if (!inst || inst->magic != OCL_INSTANCE_MAGIC || !buffer) return;
    void *payload = NULL;
    if (pv_handles_remove(&inst->handles, buffer, &payload, NULL)) ocl_pool_put(inst, (cl_mem)payload);
}

/* Resolve `handle` for `bytes` at `offset` with an error naming `what`. */
static prism_status checked(prism_instance *inst, const void *handle, size_t offset, size_t bytes, const char *what,
                            prism_host_context *hc, cl_mem *out) {
    size_t size = 0;
    if (!ocl_handle_resolve(inst, handle, out, &size))
        return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                          "%s buffer %p is not a live buffer of this OpenCL instance on %s", what, handle,
                          inst->dev->name);
    if (offset > size || bytes > size - offset)
        return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                          "%s range [%zu, %zu + %zu) is outside the %zu-byte buffer", what, offset, offset, bytes,
                          size);
    return PRISM_OK;
}

static void CL_CALLBACK free_staging(cl_event ev, cl_int status, void *data) {
    (void)ev;
    (void)status;
    free(data);
}

prism_status ocl_copy_to_device(prism_instance *inst, void *dst_buffer, size_t dst_offset, const void *src,
                                size_t bytes, prism_host_context *hc) {
    if (!inst || inst->magic != OCL_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (!src && bytes) return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy to device from a NULL pointer");
    cl_mem dst;
    prism_status st = checked(inst, dst_buffer, dst_offset, bytes, "destination", hc, &dst);
    if (st || !bytes) return st;
    /* The host may free src once we return: copy it to a staging block the
     * write's completion callback frees, so the queue need not drain. */
    void *stage = malloc(bytes);
    cl_int e;
    if (stage) {
        memcpy(stage, src, bytes);
        cl_event ev = NULL;
        e = clEnqueueWriteBuffer(inst->queue, dst, CL_FALSE, dst_offset, bytes, stage, 0, NULL, &ev);
        if (e == CL_SUCCESS) {
            cl_int ce = clSetEventCallback(ev, CL_COMPLETE, free_staging, stage);
            if (ce != CL_SUCCESS) { /* no callback: wait here instead */
                clWaitForEvents(1, &ev);
                free(stage);
            }
            clReleaseEvent(ev);
        } else {
            free(stage);
        }
    } else {
        e = clEnqueueWriteBuffer(inst->queue, dst, CL_TRUE, dst_offset, bytes, src, 0, NULL, NULL);
    }
    if (e != CL_SUCCESS)
        return ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clEnqueueWriteBuffer failed: %s (%d)", ocl_error_name(e),
                          (int)e);
    return PRISM_OK;
}

prism_status ocl_copy_from_device(prism_instance *inst, void *dst, const void *src_buffer, size_t src_offset,
                                  size_t bytes, prism_host_context *hc) {
    if (!inst || inst->magic != OCL_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (!dst && bytes) return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "copy from device to a NULL pointer");
    cl_mem src;
    prism_status st = checked(inst, src_buffer, src_offset, bytes, "source", hc, &src);
    if (st || !bytes) return st;
    cl_int e = clEnqueueReadBuffer(inst->queue, src, CL_TRUE, src_offset, bytes, dst, 0, NULL, NULL);
    if (e != CL_SUCCESS)
        return ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clEnqueueReadBuffer failed: %s (%d)", ocl_error_name(e),
                          (int)e);
    return PRISM_OK;
}

prism_status ocl_copy_device_to_device(prism_instance *dst_inst, void *dst_buffer, prism_instance *src_inst,
                                       const void *src_buffer, size_t bytes, prism_host_context *hc) {
    if (!dst_inst || !src_inst || dst_inst->magic != OCL_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    if (src_inst->magic != OCL_INSTANCE_MAGIC)
        return ocl_report(dst_inst, hc, PRISM_ERR_INVALID_ARGUMENT,
                          "device-to-device copy from an instance of another provider");
    cl_mem src, dst;
    prism_status st = checked(src_inst, src_buffer, 0, bytes, "source", hc, &src);
    if (!st) st = checked(dst_inst, dst_buffer, 0, bytes, "destination", hc, &dst);
    if (st || !bytes) return st;
    cl_int e;
    if (src_inst->dev->context == dst_inst->dev->context) {
        /* Two queues: the source's pending work must be done first. */
        if (src_inst != dst_inst && (e = clFinish(src_inst->queue)) != CL_SUCCESS)
            return ocl_report(dst_inst, hc, PRISM_ERR_PROVIDER, "clFinish failed: %s (%d)", ocl_error_name(e), (int)e);
        e = clEnqueueCopyBuffer(dst_inst->queue, src, dst, 0, 0, bytes, 0, NULL, NULL);
        /* The host may free the source once we return, and the source's
         * instance may then reuse it on its own queue: finish the copy. */
        if (e == CL_SUCCESS && src_inst != dst_inst) e = clFinish(dst_inst->queue);
        if (e != CL_SUCCESS)
            return ocl_report(dst_inst, hc, PRISM_ERR_PROVIDER, "clEnqueueCopyBuffer failed: %s (%d)",
                              ocl_error_name(e), (int)e);
        return PRISM_OK;
    }
    /* Different contexts (two devices): through the host. */
    void *tmp = malloc(bytes);
    if (!tmp) return ocl_report(dst_inst, hc, PRISM_ERR_OUT_OF_MEMORY, "cannot stage %zu bytes", bytes);
    e = clEnqueueReadBuffer(src_inst->queue, src, CL_TRUE, 0, bytes, tmp, 0, NULL, NULL);
    if (e == CL_SUCCESS) e = clEnqueueWriteBuffer(dst_inst->queue, dst, CL_TRUE, 0, bytes, tmp, 0, NULL, NULL);
    free(tmp);
    if (e != CL_SUCCESS)
        return ocl_report(dst_inst, hc, PRISM_ERR_PROVIDER, "device-to-device copy through the host failed: %s (%d)",
                          ocl_error_name(e), (int)e);
    return PRISM_OK;
}

prism_status ocl_synchronize(prism_instance *inst, prism_host_context *hc) {
    if (!inst || inst->magic != OCL_INSTANCE_MAGIC) return PRISM_ERR_INVALID_ARGUMENT;
    cl_int e = clFinish(inst->queue);
    if (e != CL_SUCCESS)
        return ocl_report(inst, hc, PRISM_ERR_PROVIDER, "clFinish failed: %s (%d)", ocl_error_name(e), (int)e);
    ocl_profile_collect(inst, hc, true);
    return PRISM_OK;
}
