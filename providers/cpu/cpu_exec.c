/*
 * cpu_exec.c — compiling nodes into a slot program and running it.
 *
 * Each value a unit touches gets a slot: unit inputs, constants (pointing at
 * the host's data, never copied), internal values (freed right after their
 * last reader), unit outputs (allocated by the host through output_alloc)
 * and, in the bodies of If/Loop/Scan, outer values (the enclosing run's
 * slot, bound when the body runs). All per-run state is allocated per call,
 * so one compiled unit runs on several threads at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_internal.h"

/* ---- tensors ---------------------------------------------------------------- */

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

void cpu_tensor_release(cpu_ctx *ctx, cpu_tensor *t) {
    if (t) cpu_tensor_free_data(ctx->host, t);
}

bool cpu_tensor_copy_data(cpu_tensor *dst, const cpu_tensor *src) {
    if (src->dtype != PRISM_DTYPE_STRING) {
        if (src->bytes) memcpy(dst->data, src->data, src->bytes);
        return true;
    }
    char **d = dst->data;
    char *const *s = src->data;
    for (int64_t i = 0; i < src->count; i++) {
        free(d[i]);
        d[i] = s[i] ? strdup(s[i]) : NULL;
        if (s[i] && !d[i]) return false;
    }
    return true;
}

/* A new host-allocated tensor with src's type, shape and data. */
static bool clone_tensor(const prism_host_api *host, const cpu_tensor *src, cpu_tensor *dst) {
    *dst = *src;
    dst->data = host->mem_alloc(src->bytes ? src->bytes : 1);
    if (!dst->data) return false;
    if (src->dtype == PRISM_DTYPE_STRING) memset(dst->data, 0, src->bytes);
    if (!cpu_tensor_copy_data(dst, src)) {
        cpu_tensor_free_data(host, dst);
        return false;
    }
    return true;
}

/* ---- helpers for kernels ----------------------------------------------------- */

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
        if (dims[i] < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output %u would have negative dim %lld", k, (long long)dims[i]);
        if (dims[i] && count > ((int64_t)1 << 50) / dims[i])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "output %u would have more than 2^50 elements", k);
        count *= dims[i];
    }
    uint32_t slot = n->out_slot[k];
    const cpu_slot *sl = &ctx->c->slots[slot];
    if (ctx->vals[slot]) return cpu_fail(ctx, PRISM_ERR_INTERNAL, "output %u made twice", k);
    cpu_tensor *t = &ctx->store[slot];
    void *data = NULL;
    if (sl->kind == CPU_SLOT_OUTPUT && !ctx->c->is_body) {
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

/* ---- compiling ------------------------------------------------------------------ */

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
    free(c->of_value);
    free(c->output_slot);
    free(c);
}

static uint32_t new_slot(prism_compiled *c, int kind, uint32_t index) {
    cpu_slot *s = &c->slots[c->n_slots];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->index = index;
    s->last_use = -1;
    return (uint32_t)c->n_slots++;
}

/* The slot of value v read by c that no node of c produces: a constant of
 * c's graph, or (in a body) a value of the enclosing unit, found by name. */
static prism_status resolve_read(cpu_ctx *ctx, prism_compiled *c, uint32_t v, uint32_t *out) {
    const prism_host_api *host = ctx->host;
    if (c->of_value[v] != CPU_NO_SLOT) {
        *out = c->of_value[v];
        return PRISM_OK;
    }
    size_t bytes = 0;
    const void *data = host->value_constant(c->g, v, &bytes);
    const prism_graph_view *cg = c->g;
    uint32_t cv = v;
    const char *name = host->value_name(c->g, v);
    /* Walk outwards until a scope defines the value (as a slot or constant). */
    const prism_compiled *scope = c;
    uint32_t outer_slot = CPU_NO_SLOT;
    while (!data && scope->parent) {
        const prism_compiled *p = scope->parent;
        uint32_t pv = PRISM_NO_VALUE, n = host->graph_value_count(p->g);
        for (uint32_t i = 0; i < n && pv == PRISM_NO_VALUE; i++) {
            const char *pn = host->value_name(p->g, i);
            if (pn && name && !strcmp(pn, name)) pv = i;
        }
        if (pv == PRISM_NO_VALUE) break;
        if (p->of_value[pv] != CPU_NO_SLOT) {
            if (p != c->parent)
                return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED,
                                "value '%s' is read from two scopes out; only the enclosing scope is supported",
                                name ? name : "?");
            outer_slot = p->of_value[pv];
            break;
        }
        data = host->value_constant(p->g, pv, &bytes);
        cg = p->g;
        cv = pv;
        scope = p;
    }
    if (outer_slot != CPU_NO_SLOT) {
        *out = c->of_value[v] = new_slot(c, CPU_SLOT_OUTER, outer_slot);
        return PRISM_OK;
    }
    if (!data)
        return cpu_fail(ctx, PRISM_ERR_INTERNAL, "value '%s' is neither computed before this node nor constant",
                        name ? name : "?");
    int32_t rank = host->value_rank(cg, cv);
    int64_t dims[CPU_MAX_RANK];
    if (rank < 0 || rank > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "constant '%s' has rank %d", name ? name : "?", rank);
    for (int32_t d = 0; d < rank; d++) dims[d] = host->value_dim(cg, cv, (uint32_t)d);
    uint32_t s = new_slot(c, CPU_SLOT_CONST, 0);
    cpu_tensor_from_desc(&c->slots[s].tensor, host->value_dtype(cg, cv), (uint32_t)rank, dims, (void *)data);
    *out = c->of_value[v] = s;
    return PRISM_OK;
}

static prism_status unit_compile(cpu_ctx *ctx, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                                 const uint32_t *inputs, size_t input_count, const uint32_t *outputs,
                                 size_t output_count, const prism_compiled *parent, prism_compiled **out) {
    const prism_host_api *host = ctx->host;
    uint32_t nv = host->graph_value_count(g);
    size_t max_slots = input_count + output_count;
    for (size_t i = 0; i < node_count; i++)
        max_slots += host->node_input_count(g, nodes[i]) + host->node_output_count(g, nodes[i]) +
                     host->node_implicit_input_count(g, nodes[i]);
    prism_compiled *c = calloc(1, sizeof *c);
    if (c) {
        c->nodes = calloc(node_count + 1, sizeof *c->nodes);
        c->slots = calloc(max_slots + 1, sizeof *c->slots);
        c->of_value = malloc(((size_t)nv + 1) * sizeof *c->of_value);
        c->output_slot = calloc(output_count + 1, sizeof *c->output_slot);
    }
    if (!c || !c->nodes || !c->slots || !c->of_value || !c->output_slot) {
        cpu_compiled_destroy(c);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory compiling %zu nodes", node_count);
    }
    c->inst = ctx->inst;
    c->g = g;
    c->n_values = nv;
    c->parent = parent;
    c->is_body = parent != NULL;
    c->n_inputs = (uint32_t)input_count;
    c->n_outputs = (uint32_t)output_count;
    for (uint32_t v = 0; v < nv; v++) c->of_value[v] = CPU_NO_SLOT;
    prism_compiled *saved = ctx->c;
    ctx->c = c;
    prism_status st = PRISM_OK;
    for (size_t k = 0; k < input_count && !st; k++) {
        if (inputs[k] >= nv) st = cpu_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "input %zu is not a value of the graph", k);
        else c->of_value[inputs[k]] = new_slot(c, CPU_SLOT_INPUT, (uint32_t)k);
    }
    /* Outputs a node of this unit produces get OUTPUT slots now; in a body,
     * an output that is an input, constant or outer value is copied out. */
    for (size_t k = 0; k < output_count && !st; k++) {
        if (outputs[k] >= nv) {
            st = cpu_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "output %zu is not a value of the graph", k);
            break;
        }
        bool produced = false;
        for (size_t i = 0; i < node_count && !produced; i++)
            for (uint32_t j = 0; j < host->node_output_count(g, nodes[i]); j++)
                produced |= host->node_output(g, nodes[i], j) == outputs[k];
        if (produced && c->of_value[outputs[k]] == CPU_NO_SLOT)
            c->of_value[outputs[k]] = new_slot(c, CPU_SLOT_OUTPUT, (uint32_t)k);
        else if (!produced && !parent)
            st = cpu_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "output %zu is not produced by the unit", k);
    }
    for (size_t i = 0; i < node_count && !st; i++) {
        cpu_node *n = &c->nodes[c->n_nodes];
        cpu_node_bind(n, host, g, nodes[i]);
        n->unit = c;
        ctx->node = n;
        const char *domain = host->node_domain(g, nodes[i]);
        const cpu_kernel_entry *e = cpu_kernel_lookup(domain, n->op, n->opset);
        if (!e) {
            st = cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "no CPU kernel for op '%s' in domain '%s' at opset %lld", n->op,
                          *domain ? domain : "ai.onnx", (long long)n->opset);
            break;
        }
        n->def = e->def;
        n->in_slot = malloc(((size_t)n->n_in + 1) * sizeof(uint32_t));
        n->out_slot = malloc(((size_t)n->n_out + 1) * sizeof(uint32_t));
        c->n_nodes++;
        if (!n->in_slot || !n->out_slot) {
            st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (uint32_t k = 0; k < n->n_in && !st; k++) {
            uint32_t v = host->node_input(g, n->id, k), s;
            n->in_slot[k] = CPU_NO_SLOT;
            if (v == PRISM_NO_VALUE || (st = resolve_read(ctx, c, v, &s))) continue;
            n->in_slot[k] = s;
            c->slots[s].last_use = (int64_t)i;
            c->slots[s].reads++;
        }
        /* Implicit inputs are read by the node's bodies: keep them alive. */
        for (uint32_t k = 0; k < host->node_implicit_input_count(g, n->id) && !st; k++) {
            uint32_t v = host->node_implicit_input(g, n->id, k), s;
            if (v >= nv || (st = resolve_read(ctx, c, v, &s))) continue;
            c->slots[s].last_use = (int64_t)i;
            c->slots[s].reads++;
        }
        for (uint32_t k = 0; k < n->n_out && !st; k++) {
            uint32_t v = host->node_output(g, n->id, k);
            if (v != PRISM_NO_VALUE && c->of_value[v] != CPU_NO_SLOT) {
                n->out_slot[k] = c->of_value[v];
                continue;
            }
            n->out_slot[k] = new_slot(c, CPU_SLOT_INTERNAL, 0);
            c->slots[n->out_slot[k]].last_use = (int64_t)i; /* freed after its last reader, at least after this node */
            if (v != PRISM_NO_VALUE) c->of_value[v] = n->out_slot[k];
        }
        if (!st && n->def->prepare) st = n->def->prepare(ctx, n, &n->state);
    }
    for (size_t k = 0; k < output_count && !st; k++) {
        uint32_t s;
        if (!(st = resolve_read(ctx, c, outputs[k], &s))) c->output_slot[k] = s;
        if (!st) c->slots[s].reads++; /* read by the caller */
    }
    if (!st) cpu_fuse_activations(c);
    ctx->c = saved;
    if (st) {
        cpu_compiled_destroy(c);
        return st;
    }
    *out = c;
    return PRISM_OK;
}

prism_status cpu_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                         const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                         prism_host_context *hc, prism_compiled **out) {
    cpu_ctx ctx = {.inst = inst, .host = inst->prov->host, .hc = hc};
    return unit_compile(&ctx, g, nodes, node_count, inputs, input_count, outputs, output_count, NULL, out);
}

prism_status cpu_body_compile(cpu_ctx *ctx, const cpu_node *node, const char *attr, cpu_body **out) {
    const prism_host_api *host = ctx->host;
    int32_t a = host->node_attr_find(node->g, node->id, attr);
    const prism_graph_view *body = a < 0 ? NULL : host->attr_graph(node->g, node->id, (uint32_t)a, 0);
    if (!body) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "attribute '%s' is missing or not a graph", attr);
    uint32_t nn = host->graph_node_count(body), ni = host->graph_input_count(body), no = host->graph_output_count(body);
    uint32_t *ids = malloc(((size_t)nn + ni + no + 1) * sizeof *ids);
    if (!ids) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint32_t i = 0; i < nn; i++) ids[i] = i;
    for (uint32_t i = 0; i < ni; i++) ids[nn + i] = host->graph_input(body, i);
    for (uint32_t i = 0; i < no; i++) ids[nn + ni + i] = host->graph_output(body, i);
    const cpu_node *saved = ctx->node;
    prism_status st = unit_compile(ctx, body, ids, nn, ids + nn, ni, ids + nn + ni, no, node->unit, out);
    ctx->node = saved;
    free(ids);
    if (st) {
        char detail[600];
        snprintf(detail, sizeof detail, "in its '%s' body", attr);
        (void)detail; /* the body's node already named itself in the message */
    }
    return st;
}

void cpu_body_destroy(cpu_body *body) { cpu_compiled_destroy(body); }
uint32_t cpu_body_input_count(const cpu_body *body) { return body->n_inputs; }
uint32_t cpu_body_output_count(const cpu_body *body) { return body->n_outputs; }

/* ---- running ---------------------------------------------------------------------- */

/* Runs unit c. inputs[k] feeds input k. For a body, body_outputs receives
 * the outputs (owned by the caller). */
static prism_status unit_run(cpu_ctx *ctx, const prism_compiled *c, const cpu_tensor *const *inputs,
                             cpu_tensor *body_outputs) {
    const prism_host_api *host = ctx->host;
    ctx->c = (prism_compiled *)c;
    ctx->node = NULL;
    ctx->vals = calloc(c->n_slots + 1, sizeof *ctx->vals);
    ctx->store = calloc(c->n_slots + 1, sizeof *ctx->store);
    prism_status st = PRISM_OK;
    if (!ctx->vals || !ctx->store) {
        st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t s = 0; s < c->n_slots; s++) {
        const cpu_slot *sl = &c->slots[s];
        if (sl->kind == CPU_SLOT_CONST) {
            ctx->vals[s] = (cpu_tensor *)&sl->tensor;
        } else if (sl->kind == CPU_SLOT_INPUT) {
            if (inputs[sl->index]) {
                ctx->store[s] = *inputs[sl->index];
                ctx->vals[s] = &ctx->store[s];
            }
        } else if (sl->kind == CPU_SLOT_OUTER) {
            ctx->vals[s] = ctx->parent ? ctx->parent->vals[sl->index] : NULL;
            if (!ctx->vals[s]) {
                st = cpu_fail(ctx, PRISM_ERR_INTERNAL, "a value of the enclosing scope is not available");
                goto done;
            }
        }
    }
    const cpu_tensor *in_buf[64];
    for (size_t i = 0; i < c->n_nodes && !st; i++) {
        const cpu_node *n = &c->nodes[i];
        if (n->fused) continue; /* its producer applied it */
        const cpu_tensor **in = n->n_in <= 64 ? in_buf : malloc(n->n_in * sizeof *in);
        if (!in) {
            st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (uint32_t k = 0; k < n->n_in; k++) in[k] = n->in_slot[k] == CPU_NO_SLOT ? NULL : ctx->vals[n->in_slot[k]];
        ctx->node = n;
        st = n->def->run(ctx, n, n->state, in, n->n_in);
        if (in != in_buf) free(in);
        if (st) break;
        ctx->c = (prism_compiled *)c; /* a body run inside the kernel may have changed it */
        /* Free internal values whose last reader was this node. */
        for (size_t s = 0; s < c->n_slots; s++)
            if (c->slots[s].kind == CPU_SLOT_INTERNAL && c->slots[s].last_use == (int64_t)i && ctx->vals[s]) {
                cpu_tensor_free_data(host, ctx->vals[s]);
                ctx->vals[s] = NULL;
            }
    }
    ctx->node = NULL;
    for (size_t s = 0; !st && s < c->n_slots; s++)
        if (c->slots[s].kind == CPU_SLOT_OUTPUT && !ctx->vals[s])
            st = cpu_fail(ctx, PRISM_ERR_INTERNAL, "output %u was never computed", c->slots[s].index);
    if (c->is_body) {
        uint32_t made = 0;
        for (uint32_t k = 0; k < c->n_outputs && !st; k++, made++) {
            uint32_t s = c->output_slot[k];
            bool later = false;
            for (uint32_t j = k + 1; j < c->n_outputs; j++) later |= c->output_slot[j] == s;
            if (c->slots[s].kind == CPU_SLOT_OUTPUT && !later) { /* hand over */
                body_outputs[k] = *ctx->vals[s];
                ctx->vals[s] = NULL;
            } else if (!ctx->vals[s]) {
                st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "body output %u is not given", k);
            } else if (!clone_tensor(host, ctx->vals[s], &body_outputs[k])) {
                st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            }
        }
        if (st)
            for (uint32_t k = 0; k < made; k++) cpu_tensor_free_data(host, &body_outputs[k]);
    }
done:
    if (ctx->vals)
        for (size_t s = 0; s < c->n_slots; s++) {
            int kind = c->slots[s].kind;
            if (ctx->vals[s] && (kind == CPU_SLOT_INTERNAL || (kind == CPU_SLOT_OUTPUT && c->is_body)))
                cpu_tensor_free_data(host, ctx->vals[s]);
        }
    free(ctx->vals);
    free(ctx->store);
    ctx->vals = NULL;
    ctx->store = NULL;
    return st;
}

prism_status cpu_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc) {
    cpu_ctx ctx = {.inst = c->inst, .host = c->inst->prov->host, .hc = hc};
    if (input_count < c->n_inputs)
        return cpu_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "run got %zu inputs; the unit needs %u", input_count,
                        c->n_inputs);
    cpu_tensor *ts = calloc((size_t)c->n_inputs + 1, sizeof *ts);
    const cpu_tensor **ptrs = calloc((size_t)c->n_inputs + 1, sizeof *ptrs);
    prism_status st = PRISM_OK;
    if (!ts || !ptrs) st = cpu_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (uint32_t k = 0; k < c->n_inputs && !st; k++) {
        const prism_tensor_desc *d = &inputs[k];
        if (!cpu_tensor_from_desc(&ts[k], d->dtype, d->rank, d->dims, d->data))
            st = cpu_fail(&ctx, PRISM_ERR_NOT_SUPPORTED, "input %u has rank %u, above the CPU limit of %d", k, d->rank,
                          CPU_MAX_RANK);
        ptrs[k] = &ts[k];
    }
    if (!st) st = unit_run(&ctx, c, ptrs, NULL);
    free(ts);
    free(ptrs);
    return st;
}

prism_status cpu_body_run(cpu_ctx *ctx, const cpu_body *body, const cpu_tensor *const *inputs, cpu_tensor *outputs) {
    cpu_ctx sub = {.inst = ctx->inst, .host = ctx->host, .hc = ctx->hc, .parent = ctx};
    memset(outputs, 0, body->n_outputs * sizeof *outputs);
    return unit_run(&sub, body, inputs, outputs);
}
