/*
 * template_provider.c — the smallest complete Prism execution provider.
 *
 * Copy this folder to start a provider for new hardware (docs/writing-a-
 * provider.md walks through it). Everything below is real and runs: one
 * device, whose tensors live in ordinary host memory, running float32 Relu
 * and same-shape Add with plain C loops. Replace the loops with calls into
 * your device's runtime, and the device description with what you find.
 *
 * Rules this file follows, and a provider must keep:
 *  - It includes only <prism/provider.h> (plus the C library) and never links
 *    libprism: everything it needs from the host comes through the
 *    prism_host_api table handed to prism_provider_init.
 *  - It exports exactly two symbols, prism_provider_init and
 *    prism_provider_probe (built with hidden visibility, see CMakeLists.txt).
 *  - Errors go back as a non-zero prism_status plus a message given to
 *    host->set_error (the host copies the text); nothing allocated on one
 *    side of the boundary is freed on the other.
 *  - It never prints: diagnostics go through host->log.
 */
#include <prism/provider.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPLATE_NAME "template"
#define TEMPLATE_VERSION "0.1.0"

/* ---- the plugin's own objects --------------------------------------------- */
/* The host only ever holds pointers to these; their layout is ours to choose. */

/* One per loaded library (made by prism_provider_init, freed by destroy). */
struct prism_provider {
    const prism_host_api *host; /* valid until destroy returns */
};

/* One per session and device (instance_create .. instance_destroy). */
struct prism_instance {
    prism_provider *prov;
};

typedef enum template_op { TEMPLATE_RELU, TEMPLATE_ADD } template_op;

/* Where a value read or written by a compiled unit comes from. */
typedef enum template_slot_kind {
    TEMPLATE_SLOT_INPUT,    /* inputs[index] of run() */
    TEMPLATE_SLOT_CONSTANT, /* a weight read from the graph view at compile */
    TEMPLATE_SLOT_RESULT    /* written by a step of this unit */
} template_slot_kind;

typedef struct template_slot {
    template_slot_kind kind;
    uint32_t value;      /* the value id in the graph view */
    uint32_t index;      /* INPUT: position in run()'s inputs */
    int64_t output;      /* RESULT: position in the unit's outputs, or -1 (internal) */
    const float *data;   /* CONSTANT: host memory owned by the host, lives as long as the view */
    uint32_t rank;       /* CONSTANT: shape (copied at compile) */
    int64_t *dims;
} template_slot;

typedef struct template_step {
    template_op op;
    const char *node_name; /* owned by the view; for error messages */
    uint32_t in[2];        /* slot indices (Add uses both, Relu in[0]) */
    uint32_t out;          /* slot index */
} template_step;

/* One per compiled unit (compile .. compiled_destroy). Read-only after
 * compile, so several threads may run it at once. */
struct prism_compiled {
    const prism_host_api *host;
    template_step *steps;
    size_t n_steps;
    template_slot *slots;
    size_t n_slots;
    size_t n_inputs, n_outputs;
};

/* ---- what the provider can run ----------------------------------------------- */

static bool is_float(const prism_host_api *h, const prism_graph_view *g, uint32_t v) {
    return v != PRISM_NO_VALUE && h->value_dtype(g, v) == PRISM_DTYPE_FLOAT;
}

/* Rank and every dim known (no symbolic or unknown dims). */
static bool shape_known(const prism_host_api *h, const prism_graph_view *g, uint32_t v) {
    int32_t rank = h->value_rank(g, v);
    if (rank < 0) return false;
    for (int32_t a = 0; a < rank; a++)
        if (h->value_dim(g, v, (uint32_t)a) < 0) return false;
    return true;
}

static bool same_known_shape(const prism_host_api *h, const prism_graph_view *g, uint32_t a, uint32_t b) {
    if (!shape_known(h, g, a) || !shape_known(h, g, b) || h->value_rank(g, a) != h->value_rank(g, b)) return false;
    for (int32_t d = 0; d < h->value_rank(g, a); d++)
        if (h->value_dim(g, a, (uint32_t)d) != h->value_dim(g, b, (uint32_t)d)) return false;
    return true;
}

/* Relu (opset 6 and later: opset 1 had an extra attribute) on float32, and
 * Add (opset 7 and later: earlier versions broadcast differently) of two
 * float32 tensors whose shapes are known and equal. We claim no broadcasting,
 * so we never claim a node whose shapes we cannot check now. */
static bool node_supported(const prism_host_api *h, const prism_graph_view *g, uint32_t n, template_op *op) {
    const char *type = h->node_op_type(g, n), *domain = h->node_domain(g, n);
    if (!type || !domain || *domain) return false; /* only the ai.onnx domain ("") */
    if (h->node_output_count(g, n) != 1 || !is_float(h, g, h->node_output(g, n, 0))) return false;
    int64_t opset = h->node_opset(g, n);
    uint32_t n_in = h->node_input_count(g, n);
    if (!strcmp(type, "Relu") && opset >= 6 && n_in == 1 && is_float(h, g, h->node_input(g, n, 0))) {
        *op = TEMPLATE_RELU;
        return true;
    }
    if (!strcmp(type, "Add") && opset >= 7 && n_in == 2) {
        uint32_t a = h->node_input(g, n, 0), b = h->node_input(g, n, 1);
        if (is_float(h, g, a) && is_float(h, g, b) && same_known_shape(h, g, a, b)) {
            *op = TEMPLATE_ADD;
            return true;
        }
    }
    return false;
}

/* ---- the provider's table, member by member ------------------------------------ */

/* destroy — required. Called once, after every instance of this provider is
 * destroyed, just before the host closes the library. Free everything the
 * provider owns. */
static void template_destroy(prism_provider *p) { free(p); }

/* device_count — required. How many devices this provider drives. May be
 * called from any thread, so it must not change state. Returning 0 is allowed
 * ("no device here"): the host then keeps the provider loaded, shows reason()
 * and skips it in sessions. A real provider enumerates its hardware once, in
 * prism_provider_init, and answers from what it found. */
static uint32_t template_device_count(prism_provider *p) {
    (void)p;
    return 1;
}

/* device_info — required. Describe device `device` (0..device_count-1).
 * The host has set out->struct_size; fill the other fields. Strings must live
 * as long as the provider (static strings, or strings the provider owns).
 * Any thread. Returns PRISM_ERR_NOT_FOUND for a bad index (there is no
 * context to give a message to). */
static prism_status template_device_info(prism_provider *p, uint32_t device, prism_device_info *out) {
    (void)p;
    if (device != 0 || !out) return PRISM_ERR_NOT_FOUND;
    out->type = PRISM_DEVICE_OTHER;
    /* HOST: tensor data pointers are ordinary host pointers the host reads
     * and writes directly, so no buffer or copy members are needed. */
    out->memory_kind = PRISM_MEMORY_HOST;
    out->name = "template device";
    out->vendor = "template";
    out->memory_bytes = 0; /* unknown */
    out->properties = "kernels=Relu,Add\n";
    return PRISM_OK;
}

/* instance_create — required. One instance of one device for one session.
 * options are the session's key=value options for this provider, plus the
 * host's own "intra_op_threads" (valid during the call only: copy what you
 * keep). Reject unknown keys with a message naming them, so that typos do
 * not pass silently. Called while a session is created. */
static prism_status template_instance_create(prism_provider *p, uint32_t device, const prism_option *options,
                                             size_t option_count, prism_host_context *hc, prism_instance **out) {
    if (device != 0) {
        p->host->set_error(hc, "the template provider has one device (0)");
        return PRISM_ERR_NOT_FOUND;
    }
    for (size_t i = 0; i < option_count; i++) {
        if (!strcmp(options[i].key, "intra_op_threads")) continue; /* our loops are single-threaded */
        char msg[256];
        snprintf(msg, sizeof msg, "unknown option '%s' (the template provider has no options)", options[i].key);
        p->host->set_error(hc, msg);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    prism_instance *inst = calloc(1, sizeof *inst);
    if (!inst) {
        p->host->set_error(hc, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    inst->prov = p;
    *out = inst;
    return PRISM_OK;
}

/* instance_destroy — required. Called after every unit compiled on the
 * instance is destroyed. */
static void template_instance_destroy(prism_instance *inst) { free(inst); }

/* get_capability — required. For every node of g, out_supported[n] = 1 when
 * this instance can run it, 0 otherwise (write every entry). out_group and
 * out_cost may be NULL:
 *   out_group[n]: nodes sharing a non-zero id want to be compiled as one unit;
 *                 0 means "no preference" (elementwise loops gain nothing).
 *   out_cost[n]:  estimated seconds to run node n here; the latency policy
 *                 weighs it against other providers' estimates and the time
 *                 of the copies a placement implies.
 * Claim only what compile and run will really accept: a node claimed here and
 * refused at compile fails the whole session. */
static prism_status template_get_capability(prism_instance *inst, const prism_graph_view *g, prism_host_context *hc,
                                            uint8_t *out_supported, uint32_t *out_group, double *out_cost) {
    (void)hc;
    const prism_host_api *h = inst->prov->host;
    for (uint32_t n = 0; n < h->graph_node_count(g); n++) {
        template_op op;
        out_supported[n] = node_supported(h, g, n, &op);
        if (out_group) out_group[n] = 0;
        if (out_cost) {
            /* About a nanosecond per element (unknown dims counted as 1). */
            double elements = 1.0;
            uint32_t y = h->node_output_count(g, n) ? h->node_output(g, n, 0) : PRISM_NO_VALUE;
            int32_t rank = y != PRISM_NO_VALUE ? h->value_rank(g, y) : -1;
            for (int32_t a = 0; a < rank; a++) {
                int64_t d = h->value_dim(g, y, (uint32_t)a);
                if (d > 0) elements *= (double)d;
            }
            out_cost[n] = elements * 1e-9;
        }
    }
    return PRISM_OK;
}

/* compiled_destroy — required. Frees a unit made by compile. */
static void template_compiled_destroy(prism_compiled *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_slots; i++) free(c->slots[i].dims);
    free(c->slots);
    free(c->steps);
    free(c);
}

/* The slot holding value v, or -1. Linear: units of this provider are short. */
static int64_t find_slot(const prism_compiled *c, uint32_t v) {
    for (size_t i = c->n_slots; i-- > 0;)
        if (c->slots[i].value == v) return (int64_t)i;
    return -1;
}

static prism_status compile_fail(prism_compiled *c, const prism_host_api *h, prism_host_context *hc,
                                 prism_status st, const char *msg) {
    h->set_error(hc, msg);
    template_compiled_destroy(c);
    return st;
}

/* The slot of a node input: a unit input, a constant of the view, or the
 * result of an earlier step. Adds a CONSTANT slot the first time. */
static prism_status input_slot(prism_compiled *c, const prism_graph_view *g, uint32_t v, uint32_t *out) {
    const prism_host_api *h = c->host;
    int64_t s = find_slot(c, v);
    if (s >= 0) {
        *out = (uint32_t)s;
        return PRISM_OK;
    }
    size_t bytes = 0;
    const void *data = h->value_constant(g, v, &bytes);
    if (!data || !shape_known(h, g, v)) return PRISM_ERR_INVALID_ARGUMENT;
    template_slot *k = &c->slots[c->n_slots];
    *k = (template_slot){.kind = TEMPLATE_SLOT_CONSTANT, .value = v, .output = -1, .data = data};
    k->rank = (uint32_t)h->value_rank(g, v);
    k->dims = calloc(k->rank + 1, sizeof *k->dims);
    if (!k->dims) return PRISM_ERR_OUT_OF_MEMORY;
    size_t count = 1;
    for (uint32_t a = 0; a < k->rank; a++) count *= (size_t)(k->dims[a] = h->value_dim(g, v, a));
    if (bytes != count * sizeof(float)) {
        free(k->dims);
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    *out = (uint32_t)c->n_slots++;
    return PRISM_OK;
}

/* compile — required. Turn the nodes (ids in topological order) into one unit.
 * inputs/outputs are the value ids the unit receives and must produce, in the
 * order run() sees them. Constants (weights) are not inputs: read them from
 * the view with value_constant (host memory, valid as long as the view, which
 * lives as long as the compiled unit: no need to copy). Called while the
 * session is created, on one thread. Errors: set_error + status; the session
 * creation then fails with that message. */
static prism_status template_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes,
                                     size_t node_count, const uint32_t *inputs, size_t input_count,
                                     const uint32_t *outputs, size_t output_count, prism_host_context *hc,
                                     prism_compiled **out) {
    const prism_host_api *h = inst->prov->host;
    prism_compiled *c = calloc(1, sizeof *c);
    /* At most: every input, two constants per node, one result per node. */
    if (c) c->steps = calloc(node_count + 1, sizeof *c->steps);
    if (c) c->slots = calloc(input_count + 3 * node_count + 1, sizeof *c->slots);
    if (!c || !c->steps || !c->slots) return compile_fail(c, h, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    c->host = h;
    c->n_inputs = input_count;
    c->n_outputs = output_count;
    for (size_t i = 0; i < input_count; i++)
        c->slots[c->n_slots++] = (template_slot){.kind = TEMPLATE_SLOT_INPUT, .value = inputs[i],
                                                 .index = (uint32_t)i, .output = -1};
    char msg[512];
    for (size_t i = 0; i < node_count; i++) {
        uint32_t n = nodes[i];
        template_step *s = &c->steps[c->n_steps];
        s->node_name = h->node_name(g, n);
        if (!node_supported(h, g, n, &s->op)) {
            snprintf(msg, sizeof msg, "node '%s' (%s) is not supported by the template provider", s->node_name,
                     h->node_op_type(g, n));
            return compile_fail(c, h, hc, PRISM_ERR_NOT_SUPPORTED, msg);
        }
        for (uint32_t k = 0; k < (s->op == TEMPLATE_ADD ? 2u : 1u); k++) {
            prism_status st = input_slot(c, g, h->node_input(g, n, k), &s->in[k]);
            if (st == PRISM_ERR_OUT_OF_MEMORY) return compile_fail(c, h, hc, st, "out of memory");
            if (st) {
                snprintf(msg, sizeof msg, "node '%s': input '%s' is neither an input of the unit, a float constant "
                         "of known shape, nor computed earlier in it", s->node_name,
                         h->value_name(g, h->node_input(g, n, k)));
                return compile_fail(c, h, hc, st, msg);
            }
        }
        if (s->op == TEMPLATE_RELU) s->in[1] = s->in[0];
        uint32_t y = h->node_output(g, n, 0);
        int64_t out_index = -1;
        for (size_t k = 0; k < output_count; k++)
            if (outputs[k] == y) out_index = (int64_t)k;
        c->slots[c->n_slots] = (template_slot){.kind = TEMPLATE_SLOT_RESULT, .value = y, .output = out_index};
        s->out = (uint32_t)c->n_slots++;
        c->n_steps++;
    }
    for (size_t k = 0; k < output_count; k++) {
        int64_t s = find_slot(c, outputs[k]);
        if (s < 0 || c->slots[s].kind != TEMPLATE_SLOT_RESULT || c->slots[s].output != (int64_t)k) {
            snprintf(msg, sizeof msg, "output '%s' of the unit is not computed by its nodes",
                     h->value_name(g, outputs[k]));
            return compile_fail(c, h, hc, PRISM_ERR_INVALID_ARGUMENT, msg);
        }
    }
    *out = c;
    return PRISM_OK;
}

/* A value during one run. */
typedef struct template_value {
    float *data;
    uint32_t rank;
    const int64_t *dims;
    size_t count;
    bool temporary; /* from host->mem_alloc, freed at the end of the run */
} template_value;

static bool same_dims(const template_value *a, const template_value *b) {
    if (a->rank != b->rank) return false;
    for (uint32_t d = 0; d < a->rank; d++)
        if (a->dims[d] != b->dims[d]) return false;
    return true;
}

static prism_status run_fail(const prism_compiled *c, template_value *v, prism_host_context *hc, prism_status st,
                             const char *msg) {
    if (msg) c->host->set_error(hc, msg);
    for (size_t i = 0; i < c->n_slots; i++)
        if (v[i].temporary) c->host->mem_free(v[i].data);
    free(v);
    return st;
}

/* run — required. Run a compiled unit on inputs (dtype, shape and data of
 * each, valid during the call; the data is host memory since our device's
 * memory kind is HOST). Every output k is allocated through
 * host->output_alloc(hc, k, dtype, rank, dims, &data) once its shape is known,
 * and must be allocated before run returns PRISM_OK; the host owns those
 * buffers. Several threads may run the same unit at once: all per-run state
 * lives in this call. Errors: set_error(hc, msg) + status; the session's run
 * then fails with the message and this provider's name, and stays usable. */
static prism_status template_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count,
                                 prism_host_context *hc) {
    const prism_host_api *h = c->host;
    if (input_count != c->n_inputs) {
        h->set_error(hc, "wrong number of inputs");
        return PRISM_ERR_INVALID_ARGUMENT;
    }
    template_value *v = calloc(c->n_slots + 1, sizeof *v);
    if (!v) {
        h->set_error(hc, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < c->n_slots; i++) {
        const template_slot *s = &c->slots[i];
        if (s->kind == TEMPLATE_SLOT_INPUT) {
            const prism_tensor_desc *t = &inputs[s->index];
            size_t count = 1;
            for (uint32_t d = 0; d < t->rank; d++) count *= (size_t)t->dims[d];
            if (t->dtype != PRISM_DTYPE_FLOAT || t->byte_size != count * sizeof(float))
                return run_fail(c, v, hc, PRISM_ERR_INVALID_ARGUMENT, "an input is not the float32 tensor expected");
            v[i] = (template_value){.data = t->data, .rank = t->rank, .dims = t->dims, .count = count};
        } else if (s->kind == TEMPLATE_SLOT_CONSTANT) {
            size_t count = 1;
            for (uint32_t d = 0; d < s->rank; d++) count *= (size_t)s->dims[d];
            /* Constants are read-only; this provider never writes through an input. */
            v[i] = (template_value){.data = (float *)(uintptr_t)s->data, .rank = s->rank, .dims = s->dims,
                                    .count = count};
        }
    }
    for (size_t i = 0; i < c->n_steps; i++) {
        const template_step *s = &c->steps[i];
        const template_value *a = &v[s->in[0]], *b = &v[s->in[1]];
        if (s->op == TEMPLATE_ADD && !same_dims(a, b)) {
            char msg[256];
            snprintf(msg, sizeof msg, "Add '%s': the inputs have different shapes (this provider does not broadcast)",
                     s->node_name);
            return run_fail(c, v, hc, PRISM_ERR_RUNTIME, msg);
        }
        template_value *y = &v[s->out];
        *y = (template_value){.rank = a->rank, .dims = a->dims, .count = a->count};
        int64_t k = c->slots[s->out].output;
        if (k >= 0) {
            void *data = NULL;
            prism_status st = h->output_alloc(hc, (uint32_t)k, PRISM_DTYPE_FLOAT, a->rank, a->dims, &data);
            if (st) return run_fail(c, v, hc, st, NULL); /* the host has set the message */
            y->data = data;
        } else {
            y->data = h->mem_alloc(a->count * sizeof(float) + 1);
            if (!y->data) return run_fail(c, v, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            y->temporary = true;
        }
        if (s->op == TEMPLATE_RELU)
            for (size_t e = 0; e < a->count; e++) y->data[e] = a->data[e] > 0.0f ? a->data[e] : 0.0f;
        else
            for (size_t e = 0; e < a->count; e++) y->data[e] = a->data[e] + b->data[e];
    }
    return run_fail(c, v, hc, PRISM_OK, NULL); /* frees the temporaries */
}

/* reason — optional. One line saying why device_count() is 0; the host shows
 * it in `prism devices` and in the log when it skips the provider. */
static const char *template_reason(prism_provider *p) {
    (void)p;
    return "the template device is always present";
}

static const prism_provider_api template_api = {
    /* The header: lets a newer or older host read this table safely. */
    .struct_size = sizeof(prism_provider_api),
    .abi_major = PRISM_PROVIDER_ABI_MAJOR,
    .abi_minor = PRISM_PROVIDER_ABI_MINOR,
    /* The name users write in --providers (letters, digits, '_' and '-'); the
     * library file must be libprism_provider_<name>.so. */
    .name = TEMPLATE_NAME,
    .version = TEMPLATE_VERSION,
    .destroy = template_destroy,
    .device_count = template_device_count,
    .device_info = template_device_info,
    .instance_create = template_instance_create,
    .instance_destroy = template_instance_destroy,
    .get_capability = template_get_capability,
    .compile = template_compile,
    .compiled_destroy = template_compiled_destroy,
    .run = template_run,
    /* Memory: NULL because the device's memory kind is HOST, so the host
     * allocates tensors with its own allocator and reads them directly. A
     * PRISM_MEMORY_DEVICE provider must implement buffer_alloc, buffer_free,
     * copy_to_device and copy_from_device; the host plans every copy. */
    .buffer_alloc = NULL,
    .buffer_free = NULL,
    .copy_to_device = NULL,
    .copy_from_device = NULL,
    /* Optional, only meaningful for device memory: direct copies between this
     * provider's buffers. NULL: the host bounces through host memory. */
    .copy_device_to_device = NULL,
    /* Optional: wait for queued work. run() here finishes before returning,
     * so there is never anything to wait for. */
    .synchronize = NULL,
    .reason = template_reason,
};

/* prism_provider_probe — optional, exported. The ABI version this library was
 * built for. No side effects: the host calls it before anything else and
 * refuses a library of another major version without running its init. */
PRISM_PROVIDER_EXPORT uint32_t prism_provider_probe(void) { return PRISM_PROVIDER_ABI_VERSION; }

/* prism_provider_init — required, exported. Called once per environment that
 * loads the library. Check the host's version (refuse another major with
 * PRISM_ERR_ABI_MISMATCH) and its table's size before using a member newer
 * than 1.0; find the devices; return the provider object and the table (which
 * must stay valid until destroy). There is no call context yet: errors go
 * through host->set_error(NULL, msg), and host->log(NULL, ...) is dropped. */
PRISM_PROVIDER_EXPORT prism_status prism_provider_init(const prism_host_api *host, uint32_t host_abi_version,
                                                       prism_provider **out_provider,
                                                       const prism_provider_api **out_api) {
    if (!host || !out_provider || !out_api) return PRISM_ERR_INVALID_ARGUMENT;
    if (PRISM_ABI_MAJOR_OF(host_abi_version) != PRISM_PROVIDER_ABI_MAJOR ||
        host->struct_size < PRISM_HOST_API_V1_SIZE) {
        host->set_error(NULL, "the template provider needs a host speaking provider ABI 1.x");
        return PRISM_ERR_ABI_MISMATCH;
    }
    prism_provider *p = calloc(1, sizeof *p);
    if (!p) {
        host->set_error(NULL, "out of memory");
        return PRISM_ERR_OUT_OF_MEMORY;
    }
    p->host = host;
    *out_provider = p;
    *out_api = &template_api;
    return PRISM_OK;
}
