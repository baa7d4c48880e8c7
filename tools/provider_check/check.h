/*
 * check.h — internals of prism-provider-check, the provider conformance kit.
 *
 * The kit is a host application: it reaches Prism only through the public
 * API (prism/prism.h), like a user's program. Each case of its table
 * (cases.c) is a single-node ONNX model described by short text specs; the
 * kit parses the specs (spec.c), generates seeded input data (data.c), builds
 * the model in memory (model.c), runs it on the provider under test and on
 * the reference provider (harness.c) and compares the outputs (compare.c).
 *
 * Nothing here is thread-safe or meant to be: the kit runs one case at a
 * time on one thread. Functions that can fail write a one-line message into
 * the caller's buffer and return false; none of them prints.
 */
#ifndef PRISM_PROVIDER_CHECK_H
#define PRISM_PROVIDER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "prism/prism.h"

/* Opset of ai.onnx a case uses when it names none. */
#define PC_DEFAULT_OPSET 17

/* Limits of one case's specs (the table is ours: a case beyond them is
 * reported as a bad case, never truncated). */
#define PC_MAX_RANK 8
#define PC_MAX_IO 8
#define PC_MAX_ATTRS 12
#define PC_MAX_LIST 16
#define PC_MAX_NAME 32
#define PC_MAX_ELEMENTS (1 << 22)

/* Size of the message buffers the functions below fill. */
#define PC_MSG 1024

/* One row of the case table: see cases.c for the spec syntax. */
typedef struct pc_case {
    const char *op;      /* ai.onnx op type */
    const char *desc;    /* what the case covers, shown after the op */
    const char *inputs;  /* node inputs, in order */
    const char *attrs;   /* node attributes; NULL or "" for none */
    const char *outputs; /* node outputs, in order */
    int opset;           /* 0: PC_DEFAULT_OPSET */
} pc_case;

/* The table (cases.c). */
extern const pc_case pc_cases[];
extern const size_t pc_case_count;

/* How an input's values are generated. */
typedef enum pc_gen {
    PC_GEN_RANGE,      /* uniform in [lo, hi] (integers: inclusive) */
    PC_GEN_SIGNED,     /* magnitude uniform in [lo, hi], random sign */
    PC_GEN_VALUES      /* the literal values[] */
} pc_gen;

/* A parsed input or output. */
typedef struct pc_tensor_spec {
    char name[PC_MAX_NAME];
    bool omitted;  /* "_": an omitted optional input (no value) */
    prism_dtype dtype;
    int rank;      /* -1: no shape given (outputs only) */
    int64_t dims[PC_MAX_RANK];
    bool constant; /* an initializer rather than a graph input */
    bool dynamic;  /* graph input declared with symbolic dims */
    pc_gen gen;
    double lo, hi;
    size_t n_values;
    double values[PC_MAX_LIST];
} pc_tensor_spec;

typedef enum pc_attr_kind { PC_ATTR_INT, PC_ATTR_FLOAT, PC_ATTR_STRING, PC_ATTR_INTS, PC_ATTR_FLOATS } pc_attr_kind;

typedef struct pc_attr {
    char name[PC_MAX_NAME];
    pc_attr_kind kind;
    int64_t i;
    float f;
    char s[PC_MAX_NAME];
    size_t n;
    int64_t ints[PC_MAX_LIST];
    float floats[PC_MAX_LIST];
} pc_attr;

/* A case with its specs parsed. */
typedef struct pc_parsed {
    pc_tensor_spec inputs[PC_MAX_IO];
    size_t n_inputs;
    pc_tensor_spec outputs[PC_MAX_IO];
    size_t n_outputs;
    pc_attr attrs[PC_MAX_ATTRS];
    size_t n_attrs;
    int opset;
} pc_parsed;

/* ---- spec.c ---- */
/* Parse a case's specs into *out. False with a message naming the bad part. */
bool pc_parse_case(const pc_case *c, pc_parsed *out, char *msg, size_t msg_size);
/* Element count of a spec with a shape (1 for a scalar). */
int64_t pc_spec_elements(const pc_tensor_spec *s);

/* ---- data.c ---- */
/* A 64-bit seed for input `index` of case c, from the user's seed: the same
 * case gets the same data whatever else runs. */
uint64_t pc_input_seed(uint64_t user_seed, const pc_case *c, size_t index);
/* Generate the values of input spec s (which has a shape) in a new malloc'd
 * buffer of *out_bytes bytes (free it). False with a message on failure. */
bool pc_generate(const pc_tensor_spec *s, uint64_t seed, void **out_data, size_t *out_bytes, char *msg,
                 size_t msg_size);

/* ---- model.c ---- */
/* Serialize the single-node model of case c: data[k] (bytes[k]) holds the
 * values of input k (NULL for an omitted one); constant inputs become
 * initializers. Returns a malloc'd buffer (free it) or NULL with a message. */
uint8_t *pc_build_model(const pc_case *c, const pc_parsed *p, void *const *data, const size_t *bytes,
                        size_t *out_size, char *msg, size_t msg_size);

/* ---- compare.c ---- */
/* Tolerances for float outputs: |got - want| <= PC_ATOL + PC_RTOL * |want|. */
#define PC_ATOL 1e-4
#define PC_RTOL 1e-3
/* Compare output `name` of the provider under test (got) with the
 * reference's (want): same dtype and shape, float32/float64 values within
 * the tolerances (NaN matches NaN, infinities match by sign), every other
 * dtype exactly. False with a message giving the first mismatch and, for
 * floats, the largest absolute and relative errors. */
bool pc_compare(const char *name, const prism_tensor *got, const prism_tensor *want, char *msg, size_t msg_size);
/* Perturb every element of t so that pc_compare must reject it (used by
 * --self-test-corrupt to show the comparison can fail). */
void pc_corrupt(prism_tensor *t);
/* "[2,3,4]" into buf. */
void pc_format_dims(const int64_t *dims, size_t rank, char *buf, size_t size);

/* ---- harness.c ---- */
typedef enum pc_verdict { PC_PASS, PC_FAIL, PC_SKIP } pc_verdict;

/* What one run of the kit checks. Both environments are the caller's; they
 * are separate so that a provider under test named like the reference (a
 * rebuilt "cpu", loaded by path) is not confused with it. */
typedef struct pc_target {
    prism_env *env;       /* holds the provider under test */
    const char *provider; /* its name, as loaded into env */
    prism_env *ref_env;   /* holds the reference provider */
    const char *reference;
    uint64_t seed;
    bool corrupt; /* --self-test-corrupt */
    /* --provider-option specs ("PROVIDER:KEY=VALUE") for every session. */
    const char *const *options;
    size_t n_options;
} pc_target;

/* Run case c: PASS, FAIL (reason says why: the mismatch, the error) or SKIP
 * (reason: not claimed, or the reference cannot run it). */
pc_verdict pc_run_case(const pc_target *t, const pc_case *c, char *reason, size_t reason_size);

#endif
