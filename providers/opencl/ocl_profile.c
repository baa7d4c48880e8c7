/*
 * ocl_profile.c — option profile=1: device time per kernel, from the
 * queue's profiling events.
 *
 * Why here and not in the ops: every kernel goes through ocl_launch, so one
 * place sees every launch. Launches only keep their event (no waiting); the
 * times are read when the host synchronises (the events are complete then
 * anyway), so profiling does not change how work is queued. With the option
 * off, ocl_launch passes no event and nothing here runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

static int64_t kernel_index(prism_instance *inst, const char *program, const char *kernel) {
    char name[256];
    snprintf(name, sizeof name, "%s.%s", program, kernel);
    for (size_t i = 0; i < inst->n_prof_kernels; i++)
        if (!strcmp(inst->prof_kernels[i].name, name)) return (int64_t)i;
    if (inst->n_prof_kernels == inst->cap_prof_kernels) {
        size_t nc = inst->cap_prof_kernels ? inst->cap_prof_kernels * 2 : 32;
        ocl_prof_kernel *nk = realloc(inst->prof_kernels, nc * sizeof *nk);
        if (!nk) return -1;
        inst->prof_kernels = nk;
        inst->cap_prof_kernels = nc;
    }
    char *copy = malloc(strlen(name) + 1);
    if (!copy) return -1;
    strcpy(copy, name);
    ocl_prof_kernel *k = &inst->prof_kernels[inst->n_prof_kernels];
    k->name = copy;
    k->launches = 0;
    k->ns = 0;
    return (int64_t)inst->n_prof_kernels++;
}

void ocl_profile_add(prism_instance *inst, const char *program, const char *kernel, cl_event ev) {
    int64_t k = kernel_index(inst, program, kernel);
    if (k >= 0 && inst->n_prof_events == inst->cap_prof_events) {
        size_t nc = inst->cap_prof_events ? inst->cap_prof_events * 2 : 256;
        ocl_prof_event *ne = realloc(inst->prof_events, nc * sizeof *ne);
        if (ne) {
            inst->prof_events = ne;
            inst->cap_prof_events = nc;
        } else {
            k = -1;
        }
    }
    if (k < 0) {
        clReleaseEvent(ev);
        return;
    }
    inst->prof_events[inst->n_prof_events].event = ev;
    inst->prof_events[inst->n_prof_events].kernel = (uint32_t)k;
    inst->n_prof_events++;
}

static int by_time_desc(const void *a, const void *b) {
    const ocl_prof_kernel *x = a, *y = b;
    return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : strcmp(x->name, y->name);
}

void ocl_profile_collect(prism_instance *inst, prism_host_context *hc, bool report) {
    if (!inst->profile) return;
    pthread_mutex_lock(&inst->launch_lock);
    for (size_t i = 0; i < inst->n_prof_events; i++) {
        cl_event ev = inst->prof_events[i].event;
        cl_ulong t0 = 0, t1 = 0;
        if (clWaitForEvents(1, &ev) == CL_SUCCESS &&
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) == CL_SUCCESS &&
            clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) == CL_SUCCESS && t1 >= t0) {
            ocl_prof_kernel *k = &inst->prof_kernels[inst->prof_events[i].kernel];
            k->launches++;
            k->ns += t1 - t0;
        }
        clReleaseEvent(ev);
    }
    inst->n_prof_events = 0;
    uint64_t total = 0, launches = 0;
    for (size_t i = 0; i < inst->n_prof_kernels; i++) {
        total += inst->prof_kernels[i].ns;
        launches += inst->prof_kernels[i].launches;
    }
    if (report && launches) {
        /* Sorting reorders the indices events refer to: none are pending. */
        qsort(inst->prof_kernels, inst->n_prof_kernels, sizeof *inst->prof_kernels, by_time_desc);
        const prism_host_api *h = inst->prov->host;
        char line[512];
        snprintf(line, sizeof line, "opencl profile: %llu launches, %.3f ms device time", (unsigned long long)launches,
                 (double)total / 1e6);
        h->log(hc, PRISM_LOG_INFO, line);
        for (size_t i = 0; i < inst->n_prof_kernels; i++) {
            ocl_prof_kernel *k = &inst->prof_kernels[i];
            if (!k->launches) continue;
            snprintf(line, sizeof line, "opencl profile: %-40s %6llu launches %10.3f ms %5.1f%%", k->name,
                     (unsigned long long)k->launches, (double)k->ns / 1e6,
                     total ? 100.0 * (double)k->ns / (double)total : 0.0);
            h->log(hc, PRISM_LOG_INFO, line);
            k->launches = 0;
            k->ns = 0;
        }
    }
    pthread_mutex_unlock(&inst->launch_lock);
}

void ocl_profile_release(prism_instance *inst) {
    for (size_t i = 0; i < inst->n_prof_events; i++) clReleaseEvent(inst->prof_events[i].event);
    for (size_t i = 0; i < inst->n_prof_kernels; i++) free(inst->prof_kernels[i].name);
    free(inst->prof_events);
    free(inst->prof_kernels);
    inst->prof_events = NULL;
    inst->prof_kernels = NULL;
    inst->n_prof_events = inst->cap_prof_events = inst->n_prof_kernels = inst->cap_prof_kernels = 0;
}
