/*
 * provider_compare.h — what the provider tests share: seeded random data,
 * the graph inputs of a test model with the tensors that feed them,
 * sessions on given providers, and an element-wise comparison of a
 * provider's output with the CPU provider's.
 *
 * Single-threaded (the random state is global to the test program).
 * Failures are CUnit assertions; helpers that allocate abort on OOM.
 */
#ifndef PRISM_PROVIDER_COMPARE_H
#define PRISM_PROVIDER_COMPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model_builder.h"
#include "prism/prism.h"

/* Random floats in [lo, hi) from a splitmix64 stream; pc_seed restarts it. */
void pc_seed(uint64_t seed);
float pc_rnd(float lo, float hi);
int64_t pc_count(int rank, const int64_t *dims);
/* A malloc'd array of pc_count(rank, dims) random floats (free() it). */
float *pc_rnd_values(int rank, const int64_t *dims, float lo, float hi);

/* Graph inputs of a test model and the tensors that feed them. */
#define PC_MAX_FEEDS 4
typedef struct pc_feed {
    size_t n;
    const char *names[PC_MAX_FEEDS];
    prism_tensor *t[PC_MAX_FEEDS];
} pc_feed;

/* Declare float input `name` of m and feed it random values in [lo, hi). */
void pc_feed_float(mb_model *m, pc_feed *f, const char *name, int rank, const int64_t *dims, float lo, float hi);
void pc_feed_free(pc_feed *f);
/* A float initializer of random values in [lo, hi). */
void pc_init_float(mb_model *m, const char *name, int rank, const int64_t *dims, float lo, float hi);
/* A model with one node `op` (named "n0") reading `inputs` and writing the
 * float graph output Y; *node (when not NULL) receives it for attributes. */
mb_model *pc_one_node(int64_t opset, const char *op, const char *inputs, Onnx__NodeProto **node);

/* A session on m in env: these providers, one thread, PRISM_* variables
 * ignored, fallback as given, opts a NULL-terminated list of
 * "provider:key=value" strings (may be NULL). */
prism_status pc_session(prism_env *env, mb_model *m, const char *providers, bool fallback, const char *const *opts,
                        prism_session **out);
/* Run s on the feed and return output 0 (NULL after a failed run, which is
 * also a failed assertion). */
prism_tensor *pc_run1(prism_session *s, const pc_feed *f);
/* Every element of got within atol + rtol * |want| of want (NaN equals
 * NaN), same shape; prints the first mismatches as "label: element i:
 * <who> got, cpu want". */
void pc_expect_close(const prism_tensor *got, const prism_tensor *want, float atol, float rtol, const char *who,
                     const char *label);

#endif
