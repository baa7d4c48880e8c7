/* ocl_sources.h — the device programs embedded at build time (generated
 * ocl_sources.c, from the .cl files under kernels/). Read-only, safe from any thread. */
#ifndef PRISM_OCL_SOURCES_H
#define PRISM_OCL_SOURCES_H

#include <stddef.h>

typedef struct ocl_source {
    const char *name; /* file name without .cl */
    const char *text; /* NUL-terminated */
    size_t length;
} ocl_source;

/* Terminated by a row whose name is NULL. */
extern const ocl_source ocl_sources[];
extern const size_t ocl_source_count;

#endif
