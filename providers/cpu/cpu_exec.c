/*
 * cpu_exec.c — compiling a unit of nodes into a slot program and running it.
 * Each value the unit touches gets a slot: unit inputs, constants (pointing
 * at the host's data, never copied), internal values (freed right after
 * their last reader), and unit outputs (allocated by the host through
 * output_alloc). All per-run state is on the caller's stack or heap, so one
 * compiled unit runs on several threads at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

bool cpu_tensor_from_desc(cpu_tensor *t, int32_t dtype, uint32_t rank, const int64_t *dims, void *data) {
    memset(t, 0, sizeof *t);
    if (rank > CPU_MAX_RANK) return false;
    t->dtype = dtype;
    t->rank = (int32_t)rank;
    t->count = 1;
    for (uint32_t i = 0; i < rank; i++) {
        t->dims[i] = dims[i];
        t->count *= dims[i];
    }
    t->data = data;
    t->bytes = (size_t)t->count * cpu_dtype_size(dtype);
    return true;
}

void cpu_tensor_free_data(const prism_host_api *host, cpu_tensor *t) {
    if (!t->data) return;
    if (t->dtype == PRISM_DTYPE_STRING) {
        char **s = t->data;
        for (int64_t i = 0; i < t->count; i++) free(s[i]);
    }
    host->mem_free(t->data);
    t->data = NULL;
}

prism_status cpu_fail(cpu_ctx *ctx, prism_status st, const char *fmt, ...) {
    char msg[1024], full[1300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->node)
        snprintf(full, sizeof full, "node '%s' (%s, opset %lld): %s", cpu_node_name(ctx->node), ctx->node->op,
                 (long long)ctx->node->opset, msg);
    else
        snprintf(full, sizeof full, "%s", msg);
    ctx->host->set_error(ctx->hc, full);
    return st;
}

int cpu_threads(cpu_ctx *ctx) { return cpu_pool_threads(ctx->inst->pool); }

void cpu_parallel_for(cpu_ctx *ctx, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg) {
    cpu_pool_run(ctx->inst->pool, n, fn, arg);
}

prism_status cpu_output(cpu_ctx *ctx, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims, cpu_tensor **out) {
    const cpu_node *n = ctx->node;
    if (!ctx->vals || !n || k >= n->n_out) return cpu_fail(ctx, PRISM_ERR_INTERNAL, "output %u does not exist", k);
    if (rank < 0 || rank > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output rank %d exceeds the CPU provider's limit of %d", rank,
                        CPU_MAX_RANK);
    size_t esize = cpu_dtype_size(dtype);
    if (!esize) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output dtype %d is not supported", dtype);
    int64_t count = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output %u would have negative dim %lld", k, (long long)dims[i]);
        if (dims[i] && count > ((int64_t)1 << 50) / dims[i])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output %u would have more than 2^50 elements", k);
        count *= dims[i];
    }
    uint32_t slot = n->out_slot[k];
    const cpu_slot *sl = &ctx->c->slots[slot];
    if (ctx->vals[slot]) return cpu_fail(ctx, PRISM_ERR_INTERNAL, "output %u made twice", k);
    cpu_tensor *t = &ctx->store[slot];
    void *data = NULL;
    if (sl->kind == CPU_SLOT_OUTPUT) {
        prism_status st = ctx->host->output_alloc(ctx->hc, sl->index, dtype, (uint32_t)rank, dims, &data);
        if (st) return st;
    } else {
        size_t bytes = (size_t)count * esize;
        data = ctx->host->mem_alloc(bytes ? bytes : 1);
        if (!data) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "cannot allocate %zu bytes for output %u", bytes, k);
        if (dtype == PRISM_DTYPE_STRING) memset(data, 0, bytes);
    }
    cpu_tensor_from_desc(t, dtype, (uint32_t)rank, dims, data);
    ctx->vals[slot] = t;
    *out = t;
    return PRISM_OK;
}

void cpu_compiled_destroy(prism_compiled *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n_nodes; i++) {
        cpu_node *n = &c->nodes[i];
        if (n->def && n->def->release && n->state) n->def->release(n->state);
        free(n->in_slot);
        free(n->out_slot);
    }
    free(c->nodes);
    free(c->slots);
    free(c);
}

/* Slot bookkeeping during compile: value id -> slot. */
typedef struct slot_map {
    uint32_t *of_value; /* value_count entries, CPU_NO_SLOT if none */
} slot_map;

static uint32_t new_slot(prism_compiled *c, int kind, uint32_t index) {
    cpu_slot *s = &c->slots[c->n_slots];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->index = index;
    s->last_use = -1;
    return (uint32_t)c->n_slots++;
}

prism_status cpu_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                         const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                         prism_host_context *hc, prism_compiled **out) {
    const prism_host_api *host = inst->prov->host;
    cpu_ctx ctx = {.inst = inst, .host = host, .hc = hc};
    uint32_t nv = host->graph_value_count(g);
    size_t max_slots = input_count + output_count;
    for (size_t i = 0; i < node_count; i++)
        max_slots += host->node_input_count(g, nodes[i]) + host->node_output_count(g, nodes[i]);
    prism_compiled *c = calloc(1, sizeof *c);
    uint32_t *of_value = malloc(((size_t)nv + 1) * sizeof *of_value);
    if (c) {
        c->nodes = calloc(node_count + 1, sizeof *c->nodes);
        c->slots = calloc(max_slots + 1, sizeof *c->slots);
    }
    if (!c || !of_value || !c->nodes || !c->slots) {
        free(of_value);
        cpu_compiled_destroy(c);
        return cpu_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory compiling %zu nodes", node_count);
    }
    c->inst = inst;
    c->g = g;
    for (uint32_t v = 0; v < nv; v++) of_value[v] = CPU_NO_SLOT;
    prism_status st = PRISM_OK;
    for (size_t k = 0; k < input_count; k++) {
        if (inputs[k] >= nv) {
            st = cpu_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "unit input %zu is not a value of the graph", k);
            goto fail;
        }
        of_value[inputs[k]] = new_slot(c, CPU_SLOT_INPUT, (uint32_t)k);
    }
    for (size_t k = 0; k < output_count; k++) {
        if (outputs[k] >= nv) {
            st = cpu_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "unit output %zu is not a value of the graph", k);
            goto fail;
        }
        of_value[outputs[k]] = new_slot(c, CPU_SLOT_OUTPUT, (uint32_t)k);
    }
    for (size_t i = 0; i < node_count; i++) {
        cpu_node *n = &c->nodes[c->n_nodes];
        cpu_node_bind(n, host, g, nodes[i]);
        ctx.node = n;
        const char *domain = host->node_domain(g, nodes[i]);
        const cpu_kernel_entry *e = cpu_kernel_lookup(domain, n->op, n->opset);
        if (!e) {
            st = cpu_fail(&ctx, PRISM_ERR_NOT_SUPPORTED, "no CPU kernel for op '%s' in domain '%s' at opset %lld",
                          n->op, *domain ? domain : "ai.onnx", (long long)n->opset);
            goto fail;
        }
        n->def = e->def;
        n->in_slot = malloc(((size_t)n->n_in + 1) * sizeof(uint32_t));
        n->out_slot = malloc(((size_t)n->n_out + 1) * sizeof(uint32_t));
        c->n_nodes++;
        if (!n->in_slot || !n->out_slot) {
            st = cpu_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        for (uint32_t k = 0; k < n->n_in; k++) {
            uint32_t v = host->node_input(g, n->id, k);
            if (v == PRISM_NO_VALUE) {
                n->in_slot[k] = CPU_NO_SLOT;
                continue;
            }
            if (of_value[v] == CPU_NO_SLOT) {
                cpu_tensor t;
                if (!cpu_node_input_constant(n, k, &t)) {
                    st = cpu_fail(&ctx, PRISM_ERR_INTERNAL, "input %u ('%s') is neither computed nor constant", k,
                                  host->value_name(g, v));
                    goto fail;
                }
                of_value[v] = new_slot(c, CPU_SLOT_CONST, 0);
                c->slots[of_value[v]].tensor = t;
            }
            n->in_slot[k] = of_value[v];
            c->slots[of_value[v]].last_use = (int64_t)i;
        }
        for (uint32_t k = 0; k < n->n_out; k++) {
            uint32_t v = host->node_output(g, n->id, k);
            if (v != PRISM_NO_VALUE && of_value[v] != CPU_NO_SLOT) {
                n->out_slot[k] = of_value[v];
                continue;
            }
            n->out_slot[k] = new_slot(c, CPU_SLOT_INTERNAL, 0);
            c->slots[n->out_slot[k]].last_use = (int64_t)i; /* freed after its last reader, at least after this node */
            if (v != PRISM_NO_VALUE) of_value[v] = n->out_slot[k];
        }
        if (n->def->prepare) {
            st = n->def->prepare(&ctx, n, &n->state);
            if (st) goto fail;
        }
    }
    free(of_value);
    *out = c;
    return PRISM_OK;
fail:
    free(of_value);
    cpu_compiled_destroy(c);
    return st;
}

prism_status cpu_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc) {
    const prism_host_api *host = c->inst->prov->host;
    cpu_ctx ctx = {.inst = c->inst, .host = host, .hc = hc, .c = c};
    ctx.vals = calloc(c->n_slots + 1, sizeof *ctx.vals);
    ctx.store = calloc(c->n_slots + 1, sizeof *ctx.store);
    prism_status st = PRISM_OK;
    if (!ctx.vals || !ctx.store) {
        st = cpu_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < c->n_slots; s++) {
        cpu_slot *sl = &c->slots[s];
        if (sl->kind == CPU_SLOT_CONST) {
            ctx.vals[s] = &sl->tensor;
        } else if (sl->kind == CPU_SLOT_INPUT) {
            if (sl->index >= input_count) {
                st = cpu_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "run got %zu inputs; the unit needs more", input_count);
                goto done;
            }
            const prism_tensor_desc *d = &inputs[sl->index];
            if (!cpu_tensor_from_desc(&ctx.store[s], d->dtype, d->rank, d->dims, d->data)) {
                st = cpu_fail(&ctx, PRISM_ERR_NOT_SUPPORTED, "input %u has rank %u, above the CPU limit of %d",
                              sl->index, d->rank, CPU_MAX_RANK);
                goto done;
            }
            ctx.vals[s] = &ctx.store[s];
        }
    }
    const cpu_tensor *in_buf[64];
    for (size_t i = 0; i < c->n_nodes && !st; i++) {
        const cpu_node *n = &c->nodes[i];
        const cpu_tensor **in = n->n_in <= 64 ? in_buf : malloc(n->n_in * sizeof *in);
        if (!in) {
            st = cpu_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (uint32_t k = 0; k < n->n_in; k++) in[k] = n->in_slot[k] == CPU_NO_SLOT ? NULL : ctx.vals[n->in_slot[k]];
        ctx.node = n;
        st = n->def->run(&ctx, n, n->state, in, n->n_in);
        if (in != in_buf) free(in);
        if (st) break;
        /* Free internal values whose last reader was this node. */
        for (uint32_t k = 0; k < n->n_in + n->n_out; k++) {
            uint32_t s = k < n->n_in ? n->in_slot[k] : n->out_slot[k - n->n_in];
            if (s == CPU_NO_SLOT || c->slots[s].kind != CPU_SLOT_INTERNAL || c->slots[s].last_use != (int64_t)i) continue;
            if (ctx.vals[s]) {
                cpu_tensor_free_data(host, ctx.vals[s]);
                ctx.vals[s] = NULL;
            }
        }
    }
    for (size_t s = 0; !st && s < c->n_slots; s++)
        if (c->slots[s].kind == CPU_SLOT_OUTPUT && !ctx.vals[s])
            st = cpu_fail(&ctx, PRISM_ERR_INTERNAL, "unit output %u was never computed", c->slots[s].index);
done:
    if (ctx.vals)
        for (size_t s = 0; s < c->n_slots; s++)
            if (c->slots[s].kind == CPU_SLOT_INTERNAL && ctx.vals[s]) cpu_tensor_free_data(host, ctx.vals[s]);
    free(ctx.vals);
    free(ctx.store);
    return st;
}
