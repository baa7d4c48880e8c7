/*
 * ocl_exec.c — compiling a unit's nodes into a slot program and running it
 * by enqueueing every node's kernels back to back on the instance's
 * in-order queue.
 *
 * Each value the unit touches gets a slot: unit inputs (device buffers the
 * host passes in), constants (uploaded once at compile and freed with the
 * unit), internal values (pool buffers handed back right after their last
 * reader is enqueued — safe on an in-order queue) and unit outputs (made by
 * the host's output_alloc). A run returns once everything is enqueued; the
 * host synchronises before it reads. All per-run state is allocated per
 * call, so one unit runs on several threads at once.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h"

/* ---- helpers for ops ------------------------------------------------------------ */

prism_status ocl_fail(ocl_ctx *ctx, prism_status st, const char *fmt, ...) {
    char msg[OCL_ERR * 2], full[OCL_ERR * 2 + 300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (ctx->node)
        snprintf(full, sizeof full, "node '%s' (%s, opset %lld): %s", ocl_node_name(ctx->node),
                 ocl_node_op(ctx->node), (long long)ctx->node->opset, msg);
    else
        snprintf(full, sizeof full, "%s", msg);
    ctx->host->set_error(ctx->hc, full);
    return st;
}

size_t ocl_device_max_group(ocl_ctx *ctx) { return ctx->inst->dev->max_group; }
size_t ocl_device_local_mem(ocl_ctx *ctx) { return ctx->inst->dev->local_mem; }
int32_t ocl_device_type(ocl_ctx *ctx) { return ctx->inst->dev->type; }
bool ocl_cpu_kernels(ocl_ctx *ctx) {
    const ocl_kernel_family f = ctx->inst->kernel_family;
    return f == OCL_KERNELS_CPU || (f == OCL_KERNELS_AUTO && ctx->inst->dev->type == PRISM_DEVICE_CPU);
}

prism_status ocl_program_require(ocl_ctx *ctx, const char *program, const char *type) {
    cl_program p;
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "no OpenCL element type for kernels/%s.cl", program);
    return ocl_program_get(ctx->inst, ctx->hc, program, type, &p);
}

prism_status ocl_launch(ocl_ctx *ctx, const char *program, const char *type, const char *kernel, uint32_t work_dim,
                        const size_t *global, const size_t *local, uint32_t n_args, const ocl_arg *args) {
    if (work_dim < 1 || work_dim > 3)
        return ocl_fail(ctx, PRISM_ERR_INTERNAL, "kernel %s: work_dim %u is not 1 to 3", kernel, work_dim);
    size_t g[3];
    for (uint32_t d = 0; d < work_dim; d++) {
        if (!global[d]) return PRISM_OK; /* nothing to do */
        g[d] = global[d];
        /* OpenCL 1.2 needs global to be a multiple of local: round up (the
         * kernels check their bounds). */
        if (local && local[d]) g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    prism_instance *inst = ctx->inst;
    pthread_mutex_lock(&inst->launch_lock);
    cl_kernel k;
    prism_status st = ocl_kernel_get(inst, ctx->hc, program, type, kernel, &k);
    if (st) {
        pthread_mutex_unlock(&inst->launch_lock);
        return st;
    }
    cl_int e = CL_SUCCESS;
    uint32_t i = 0;
    for (; i < n_args && e == CL_SUCCESS; i++)
        e = args[i].local ? clSetKernelArg(k, i, args[i].size, NULL) : clSetKernelArg(k, i, args[i].size, &args[i].v);
    if (e != CL_SUCCESS) {
        pthread_mutex_unlock(&inst->launch_lock);
        return ocl_fail(ctx, PRISM_ERR_INTERNAL, "clSetKernelArg failed for argument %u of kernel %s (%s.cl, T=%s): %s (%d)",
                        i - 1, kernel, program, type, ocl_error_name(e), (int)e);
    }
    /* fail_launch=N: the Nth launch fails the way a driver reports a
     * device that ran out of resources or went away. */
    if (inst->fail_launch && ++inst->launches == inst->fail_launch)
        e = CL_OUT_OF_RESOURCES;
    else if (!inst->profile)
        e = clEnqueueNDRangeKernel(inst->queue, k, work_dim, NULL, g, local, 0, NULL, NULL);
    else {
        cl_event ev = NULL;
        e = clEnqueueNDRangeKernel(inst->queue, k, work_dim, NULL, g, local, 0, NULL, &ev);
        if (e == CL_SUCCESS && ev) ocl_profile_add(inst, program, kernel, ev);
    }
    pthread_mutex_unlock(&inst->launch_lock);
    if (e != CL_SUCCESS)
        return ocl_fail(ctx, PRISM_ERR_PROVIDER, "kernel %s (%s.cl, T=%s): clEnqueueNDRangeKernel failed: %s (%d)", kernel,
                        program, type, ocl_error_name(e), (int)e);
    return PRISM_OK;
}

static int32_t new_buf(ocl_ctx *ctx, cl_mem mem) {
    if (ctx->n_bufs == ctx->cap_bufs) {
        size_t nc = ctx->cap_bufs ? ctx->cap_bufs * 2 : 16;
        ocl_run_buf *nb = realloc(ctx->bufs, nc * sizeof *nb);
        if (!nb) return -1;
        ctx->bufs = nb;
        ctx->cap_bufs = nc;
    }
    ctx->bufs[ctx->n_bufs].mem = mem;
    ctx->bufs[ctx->n_bufs].refs = 1;
    return (int32_t)ctx->n_bufs++;
}

static void drop_buf(ocl_ctx *ctx, int32_t b) {
    if (b < 0 || !ctx->bufs[b].refs) return;
    if (--ctx->bufs[b].refs == 0) {
        ocl_pool_put(ctx->inst, ctx->bufs[b].mem);
        ctx->bufs[b].mem = NULL;
    }
}

static bool fill_shape(ocl_tensor *t, int32_t dtype, int32_t rank, const int64_t *dims) {
    memset(t, 0, sizeof *t);
    if (rank < 0 || rank > OCL_MAX_RANK) return false;
    t->dtype = dtype;
    t->rank = rank;
    int64_t n = 1;
    for (int32_t i = 0; i < rank; i++) {
        if (dims[i] < 0 || (dims[i] && n > ((int64_t)1 << 50) / dims[i])) return false;
        t->dims[i] = dims[i];
        n *= dims[i];
    }
    t->count = n;
    t->bytes = (size_t)n * ocl_dtype_size(dtype);
    return true;
}

prism_status ocl_output(ocl_ctx *ctx, uint32_t k, int32_t dtype, int32_t rank, const int64_t *dims,
                        ocl_tensor **out) {
    const ocl_node *n = ctx->node;
    if (!ctx->vals || !n || k >= n->n_out) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "output %u does not exist", k);
    if (!ocl_dtype_size(dtype)) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output dtype %d is not supported", dtype);
    uint32_t slot = n->out_slot[k];
    ocl_run_val *v = &ctx->vals[slot];
    if (v->set) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "output %u made twice", k);
    ocl_tensor t;
    if (!fill_shape(&t, dtype, rank, dims))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "output %u: rank %d or its dims are negative, above %d or too large", k,
                        rank, OCL_MAX_RANK);
    const ocl_slot *sl = &ctx->c->slots[slot];
    v->buf = -1;
    if (sl->kind == OCL_SLOT_OUTPUT) {
        void *handle = NULL;
        prism_status st = ctx->host->output_alloc(ctx->hc, sl->index, dtype, (uint32_t)rank, dims, &handle);
        if (st) return st;
        size_t got = 0;
        if (!ocl_handle_resolve(ctx->inst, handle, &t.mem, &got) || got < t.bytes)
            return ocl_fail(ctx, PRISM_ERR_INTERNAL, "the host's output_alloc gave a buffer this instance did not make");
    } else {
        char err[OCL_ERR];
        prism_status st = ocl_pool_get(ctx->inst, t.bytes, &t.mem, err, sizeof err);
        if (st) return ocl_fail(ctx, st, "output %u: %s", k, err);
        v->buf = new_buf(ctx, t.mem);
        if (v->buf < 0) {
            ocl_pool_put(ctx->inst, t.mem);
            return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    v->t = t;
    v->set = true;
    *out = &v->t;
    return PRISM_OK;
}

prism_status ocl_output_view(ocl_ctx *ctx, uint32_t k, const ocl_tensor *src, int32_t rank, const int64_t *dims,
                             ocl_tensor **out) {
    const ocl_node *n = ctx->node;
    if (!ctx->vals || !n || k >= n->n_out || !src)
        return ocl_fail(ctx, PRISM_ERR_INTERNAL, "output %u does not exist", k);
    ocl_tensor t;
    if (!fill_shape(&t, src->dtype, rank, dims) || t.count != src->count)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "a view of %lld elements cannot have %lld", (long long)src->count,
                        (long long)t.count);
    uint32_t slot = n->out_slot[k];
    if (ctx->c->slots[slot].kind == OCL_SLOT_OUTPUT || (!src->mem && src->bytes)) {
        ocl_tensor *y;
        prism_status st = ocl_output(ctx, k, src->dtype, rank, dims, &y);
        if (st || !src->bytes) return st;
        cl_int e = clEnqueueCopyBuffer(ctx->inst->queue, src->mem, y->mem, 0, 0, src->bytes, 0, NULL, NULL);
        if (e != CL_SUCCESS)
            return ocl_fail(ctx, PRISM_ERR_PROVIDER, "clEnqueueCopyBuffer failed: %s (%d)", ocl_error_name(e), (int)e);
        *out = y;
        return PRISM_OK;
    }
    ocl_run_val *v = &ctx->vals[slot];
    if (v->set) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "output %u made twice", k);
    /* Alias: share the source's buffer (and its reference count when the
     * run owns it). */
    int32_t buf = -1;
    const ocl_run_val *sv = (const ocl_run_val *)(const void *)src;
    if (sv >= ctx->vals && sv < ctx->vals + ctx->c->n_slots) buf = sv->buf;
    if (buf >= 0) ctx->bufs[buf].refs++;
    t.mem = src->mem;
    t.host = src->host;
    v->t = t;
    v->buf = buf;
    v->set = true;
    *out = &v->t;
    return PRISM_OK;
}

prism_status ocl_scratch(ocl_ctx *ctx, size_t bytes, cl_mem *out) {
    if (ctx->n_scratch == ctx->cap_scratch) {
        size_t nc = ctx->cap_scratch ? ctx->cap_scratch * 2 : 4;
        cl_mem *ns = realloc(ctx->scratch, nc * sizeof *ns);
        if (!ns) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        ctx->scratch = ns;
        ctx->cap_scratch = nc;
    }
    char err[OCL_ERR];
    prism_status st = ocl_pool_get(ctx->inst, bytes, out, err, sizeof err);
    if (st) return ocl_fail(ctx, st, "scratch: %s", err);
    ctx->scratch[ctx->n_scratch++] = *out;
    return PRISM_OK;
}

prism_status ocl_upload(ocl_ctx *ctx, const void *data, size_t bytes, cl_mem *out) {
    if (!ctx->c) return ocl_fail(ctx, PRISM_ERR_INTERNAL, "ocl_upload outside compile");
    ocl_upload_list *u = calloc(1, sizeof *u);
    if (!u) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    cl_int e = CL_SUCCESS;
    u->mem = clCreateBuffer(ctx->inst->dev->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
    if (u->mem && e == CL_SUCCESS && bytes)
        e = clEnqueueWriteBuffer(ctx->inst->queue, u->mem, CL_TRUE, 0, bytes, data, 0, NULL, NULL);
    if (!u->mem || e != CL_SUCCESS) {
        if (u->mem) clReleaseMemObject(u->mem);
        free(u);
        return ocl_fail(ctx, PRISM_ERR_PROVIDER, "uploading %zu bytes: %s (%d)", bytes, ocl_error_name(e), (int)e);
    }
    pthread_mutex_lock(&ctx->c->upload_lock);
    u->next = ctx->c->uploads;
    ctx->c->uploads = u;
    pthread_mutex_unlock(&ctx->c->upload_lock);
    *out = u->mem;
    return PRISM_OK;
}

/* t's bytes on the host: t->host, or read back (waits for the queue) into
 * buf (caller frees *owned). */
static prism_status host_bytes(ocl_ctx *ctx, const ocl_tensor *t, const void **out, void **owned) {
    *owned = NULL;
    if (t->host || !t->bytes) {
        *out = t->host;
        return PRISM_OK;
    }
    void *b = malloc(t->bytes);
    if (!b) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    cl_int e = clEnqueueReadBuffer(ctx->inst->queue, t->mem, CL_TRUE, 0, t->bytes, b, 0, NULL, NULL);
    if (e != CL_SUCCESS) {
        free(b);
        return ocl_fail(ctx, PRISM_ERR_PROVIDER, "clEnqueueReadBuffer failed: %s (%d)", ocl_error_name(e), (int)e);
    }
    *out = *owned = b;
    return PRISM_OK;
}

prism_status ocl_read_ints(ocl_ctx *ctx, const ocl_tensor *t, int64_t *out, size_t cap, size_t *n) {
    if (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "expected an int32 or int64 tensor, got dtype %d", (int)t->dtype);
    if (t->rank > 1 || (size_t)t->count > cap)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "expected a scalar or 1-D tensor of at most %zu values", cap);
    const void *p;
    void *owned;
    prism_status st = host_bytes(ctx, t, &p, &owned);
    if (st) return st;
    for (int64_t i = 0; i < t->count; i++)
        out[i] = t->dtype == PRISM_DTYPE_INT64 ? ((const int64_t *)p)[i] : ((const int32_t *)p)[i];
    *n = (size_t)t->count;
    free(owned);
    return PRISM_OK;
}

static float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff, bits;
    if (e == 0) {
        if (!m) bits = s;
        else { /* subnormal */
            e = 127 - 15 + 1;
            while (!(m & 0x400)) {
                m <<= 1;
                e--;
            }
            bits = s | (e << 23) | ((m & 0x3ff) << 13);
        }
    } else if (e == 31) {
        bits = s | 0x7f800000u | (m << 13);
    } else {
        bits = s | ((e + 127 - 15) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

prism_status ocl_read_floats(ocl_ctx *ctx, const ocl_tensor *t, float *out, size_t cap, size_t *n) {
    if (t->dtype != PRISM_DTYPE_FLOAT && t->dtype != PRISM_DTYPE_FLOAT16 && t->dtype != PRISM_DTYPE_DOUBLE)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "expected a float tensor, got dtype %d", (int)t->dtype);
    if (t->rank > 1 || (size_t)t->count > cap)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "expected a scalar or 1-D tensor of at most %zu values", cap);
    const void *p;
    void *owned;
    prism_status st = host_bytes(ctx, t, &p, &owned);
    if (st) return st;
    for (int64_t i = 0; i < t->count; i++)
        out[i] = t->dtype == PRISM_DTYPE_FLOAT     ? ((const float *)p)[i]
                 : t->dtype == PRISM_DTYPE_DOUBLE ? (float)((const double *)p)[i]
                                                  : half_to_float(((const uint16_t *)p)[i]);
    *n = (size_t)t->count;
    free(owned);
    return PRISM_OK;
}

/* ---- compiling ------------------------------------------------------------------ */

void ocl_compiled_destroy(prism_compiled *c) {
    if (!c) return;
    /* Queued kernels may still read constants: OpenCL keeps released
     * objects alive until they finish, so no wait is needed. */
    for (size_t i = 0; i < c->n_nodes; i++) {
        ocl_node *n = &c->nodes[i];
        if (n->def && n->def->release && n->state) n->def->release(n->state);
        free(n->in_slot);
        free(n->out_slot);
    }
    for (size_t s = 0; s < c->n_slots; s++)
        if (c->slots[s].kind == OCL_SLOT_CONST && c->slots[s].konst.mem) clReleaseMemObject(c->slots[s].konst.mem);
    for (ocl_upload_list *u = c->uploads, *next; u; u = next) {
        next = u->next;
        clReleaseMemObject(u->mem);
        free(u);
    }
    pthread_mutex_destroy(&c->upload_lock);
    free(c->nodes);
    free(c->slots);
    free(c->output_slot);
    free(c);
}

static uint32_t new_slot(prism_compiled *c, int kind, uint32_t index) {
    ocl_slot *s = &c->slots[c->n_slots];
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->index = index;
    s->last_use = -1;
    return (uint32_t)c->n_slots++;
}

/* A constant value of the view as a slot, uploaded to the device. */
static prism_status const_slot(ocl_ctx *ctx, prism_compiled *c, uint32_t v, uint32_t *out) {
    const prism_host_api *h = ctx->host;
    size_t bytes = 0;
    const void *data = h->value_constant(c->g, v, &bytes);
    const char *name = h->value_name(c->g, v);
    if (!data)
        return ocl_fail(ctx, PRISM_ERR_INVALID_ARGUMENT,
                        "input '%s' is not an input of the unit, a constant, or computed before it in the unit",
                        name ? name : "?");
    int32_t rank = h->value_rank(c->g, v), dtype = h->value_dtype(c->g, v);
    int64_t dims[OCL_MAX_RANK];
    if (rank < 0 || rank > OCL_MAX_RANK)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "constant '%s' has rank %d (at most %d)", name ? name : "?", rank,
                        OCL_MAX_RANK);
    for (int32_t d = 0; d < rank; d++) dims[d] = h->value_dim(c->g, v, (uint32_t)d);
    uint32_t s = new_slot(c, OCL_SLOT_CONST, 0);
    ocl_tensor *t = &c->slots[s].konst;
    if (!fill_shape(t, dtype, rank, dims) || (ocl_dtype_size(dtype) && t->bytes != bytes))
        return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "constant '%s' has %zu bytes, not matching its shape",
                        name ? name : "?", bytes);
    t->host = data;
    if (ocl_dtype_size(dtype)) {
        cl_int e = CL_SUCCESS;
        t->mem = clCreateBuffer(ctx->inst->dev->context, CL_MEM_READ_WRITE, bytes ? bytes : 1, NULL, &e);
        /* The view's data lives as long as the unit: no need to block. */
        if (t->mem && e == CL_SUCCESS && bytes)
            e = clEnqueueWriteBuffer(ctx->inst->queue, t->mem, CL_FALSE, 0, bytes, data, 0, NULL, NULL);
        if (!t->mem || e != CL_SUCCESS)
            return ocl_fail(ctx, PRISM_ERR_PROVIDER, "uploading constant '%s' (%zu bytes): %s (%d)", name ? name : "?",
                            bytes, ocl_error_name(e), (int)e);
    }
    *out = s;
    return PRISM_OK;
}

prism_status ocl_compile(prism_instance *inst, const prism_graph_view *g, const uint32_t *nodes, size_t node_count,
                         const uint32_t *inputs, size_t input_count, const uint32_t *outputs, size_t output_count,
                         prism_host_context *hc, prism_compiled **out) {
    const prism_host_api *h = inst->prov->host;
    if (!out || (node_count && !nodes) || (input_count && !inputs) || (output_count && !outputs))
        return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "compile: NULL argument");
    uint32_t nv = h->graph_value_count(g), nn = h->graph_node_count(g);
    size_t max_slots = input_count + 1;
    for (size_t i = 0; i < node_count; i++)
        if (nodes[i] < nn) max_slots += h->node_input_count(g, nodes[i]) + h->node_output_count(g, nodes[i]);
    prism_compiled *c = calloc(1, sizeof *c);
    uint32_t *of_value = malloc(((size_t)nv + 1) * sizeof *of_value);
    if (c) {
        pthread_mutex_init(&c->upload_lock, NULL);
        c->inst = inst;
        c->g = g;
        c->nodes = calloc(node_count + 1, sizeof *c->nodes);
        c->slots = calloc(max_slots, sizeof *c->slots);
        c->output_slot = calloc(output_count + 1, sizeof *c->output_slot);
    }
    if (!c || !of_value || !c->nodes || !c->slots || !c->output_slot) {
        ocl_compiled_destroy(c);
        free(of_value);
        return ocl_report(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory compiling %zu nodes", node_count);
    }
    c->n_inputs = (uint32_t)input_count;
    c->n_outputs = (uint32_t)output_count;
    for (uint32_t v = 0; v < nv; v++) of_value[v] = OCL_NO_SLOT;
    ocl_ctx ctx = {.inst = inst, .host = h, .hc = hc, .c = c};
    prism_status st = PRISM_OK;
    for (size_t k = 0; k < input_count && !st; k++) {
        if (inputs[k] >= nv) st = ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit input %zu is not a value", k);
        else if (of_value[inputs[k]] == OCL_NO_SLOT) of_value[inputs[k]] = new_slot(c, OCL_SLOT_INPUT, (uint32_t)k);
    }
    for (size_t i = 0; i < node_count && !st; i++) {
        if (nodes[i] >= nn) {
            st = ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "node id %u is not a node of the graph", nodes[i]);
            break;
        }
        ocl_node *n = &c->nodes[c->n_nodes++];
        ocl_node_bind(n, inst, g, nodes[i]);
        ctx.node = n;
        const ocl_op_entry *e = ocl_op_lookup(h->node_domain(g, nodes[i]), n->op, n->opset);
        char why[512] = "";
        if (!e || (e->def->supports && !e->def->supports(n, why, sizeof why))) {
            st = ocl_fail(&ctx, PRISM_ERR_NOT_SUPPORTED, "the OpenCL provider cannot run this node%s%s",
                          why[0] ? ": " : "", why);
            break;
        }
        n->def = e->def;
        n->in_slot = malloc((n->n_in + 1) * sizeof *n->in_slot);
        n->out_slot = malloc((n->n_out + 1) * sizeof *n->out_slot);
        if (!n->in_slot || !n->out_slot) {
            st = ocl_fail(&ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        for (uint32_t k = 0; k < n->n_in && !st; k++) {
            uint32_t v = h->node_input(g, nodes[i], k);
            n->in_slot[k] = OCL_NO_SLOT;
            if (v == PRISM_NO_VALUE) continue;
            if (v >= nv) {
                st = ocl_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "input %u is not a value", k);
                break;
            }
            if (of_value[v] == OCL_NO_SLOT && (st = const_slot(&ctx, c, v, &of_value[v]))) break;
            n->in_slot[k] = of_value[v];
            c->slots[of_value[v]].last_use = (int64_t)i;
            c->slots[of_value[v]].reads++;
        }
        for (uint32_t k = 0; k < n->n_out && !st; k++) {
            uint32_t v = h->node_output(g, nodes[i], k);
            uint32_t idx = UINT32_MAX;
            for (size_t o = 0; v != PRISM_NO_VALUE && o < output_count && idx == UINT32_MAX; o++)
                if (outputs[o] == v) idx = (uint32_t)o;
            uint32_t s = new_slot(c, idx == UINT32_MAX ? OCL_SLOT_INTERNAL : OCL_SLOT_OUTPUT, idx);
            c->slots[s].last_use = (int64_t)i; /* an unread value is freed at once */
            n->out_slot[k] = s;
            if (v != PRISM_NO_VALUE && v < nv) {
                if (of_value[v] != OCL_NO_SLOT) {
                    st = ocl_fail(&ctx, PRISM_ERR_INVALID_ARGUMENT, "output %u is defined twice", k);
                    break;
                }
                of_value[v] = s;
            }
        }
    }
    for (size_t k = 0; k < output_count && !st; k++) {
        uint32_t s = outputs[k] < nv ? of_value[outputs[k]] : OCL_NO_SLOT;
        if (s == OCL_NO_SLOT) {
            st = ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "unit output %zu is not computed by the unit", k);
            break;
        }
        c->output_slot[k] = s;
        /* Copied at the end of the run: keep the source alive until then. */
        if (c->slots[s].kind != OCL_SLOT_OUTPUT || c->slots[s].index != k) c->slots[s].last_use = INT64_MAX;
    }
    free(of_value);
    if (!st) ocl_fuse_activations(c);
    for (size_t i = 0; i < c->n_nodes && !st; i++) {
        ocl_node *n = &c->nodes[i];
        ctx.node = n;
        if (!n->fused && n->def->prepare) st = n->def->prepare(&ctx, n, &n->state);
    }
    if (st) {
        ocl_compiled_destroy(c);
        return st;
    }
    *out = c;
    return PRISM_OK;
}

/* ---- running -------------------------------------------------------------------- */

static prism_status bind_input(ocl_ctx *ctx, uint32_t slot, const prism_tensor_desc *d) {
    prism_compiled *c = ctx->c;
    uint32_t k = c->slots[slot].index;
    ocl_run_val *v = &ctx->vals[slot];
    if (d->rank > OCL_MAX_RANK || (d->rank && !d->dims) || !fill_shape(&v->t, d->dtype, (int32_t)d->rank, d->dims))
        return ocl_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "unit input %u: rank %u or its dims are not supported", k,
                        d->rank);
    size_t bytes = 0;
    if (!ocl_handle_resolve(ctx->inst, d->data, &v->t.mem, &bytes))
        return ocl_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "unit input %u: %p is not a live buffer of this instance", k,
                        d->data);
    if (bytes < v->t.bytes)
        return ocl_fail(ctx, PRISM_ERR_INVALID_ARGUMENT, "unit input %u: the buffer has %zu bytes, %zu needed", k,
                        bytes, v->t.bytes);
    v->buf = -1;
    v->set = true;
    return PRISM_OK;
}

static prism_status copy_output(ocl_ctx *ctx, uint32_t k) {
    prism_compiled *c = ctx->c;
    const ocl_tensor *src = &ctx->vals[c->output_slot[k]].t;
    void *handle = NULL;
    prism_status st = ctx->host->output_alloc(ctx->hc, k, src->dtype, (uint32_t)src->rank, src->dims, &handle);
    if (st) return st;
    cl_mem dst;
    size_t got = 0;
    if (!ocl_handle_resolve(ctx->inst, handle, &dst, &got) || got < src->bytes)
        return ocl_fail(ctx, PRISM_ERR_INTERNAL, "the host's output_alloc gave an unusable buffer");
    if (!src->bytes) return PRISM_OK;
    cl_int e = clEnqueueCopyBuffer(ctx->inst->queue, src->mem, dst, 0, 0, src->bytes, 0, NULL, NULL);
    if (e != CL_SUCCESS)
        return ocl_fail(ctx, PRISM_ERR_PROVIDER, "clEnqueueCopyBuffer failed: %s (%d)", ocl_error_name(e), (int)e);
    return PRISM_OK;
}

static prism_status run_node(ocl_ctx *ctx, const ocl_node *n) {
    const ocl_tensor *in[64];
    const ocl_tensor **ins = n->n_in <= 64 ? in : malloc(n->n_in * sizeof *ins);
    if (!ins) return ocl_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = PRISM_OK;
    for (uint32_t k = 0; k < n->n_in && !st; k++) {
        uint32_t s = n->in_slot[k];
        ins[k] = NULL;
        if (s == OCL_NO_SLOT) continue;
        if (!ctx->vals[s].set) st = ocl_fail(ctx, PRISM_ERR_RUNTIME, "input %u was not computed", k);
        else ins[k] = &ctx->vals[s].t;
    }
    if (!st) st = n->def->run(ctx, n, n->state, ins, n->n_in);
    for (size_t i = 0; i < ctx->n_scratch; i++) ocl_pool_put(ctx->inst, ctx->scratch[i]);
    ctx->n_scratch = 0;
    if (ins != in) free(ins);
    return st;
}

prism_status ocl_run(prism_compiled *c, const prism_tensor_desc *inputs, size_t input_count, prism_host_context *hc) {
    if (!c) return PRISM_ERR_INVALID_ARGUMENT;
    prism_instance *inst = c->inst;
    if (input_count < c->n_inputs || (c->n_inputs && !inputs))
        return ocl_report(inst, hc, PRISM_ERR_INVALID_ARGUMENT, "run got %zu inputs; the unit needs %u", input_count,
                          c->n_inputs);
    ocl_ctx ctx = {.inst = inst, .host = inst->prov->host, .hc = hc, .c = c};
    ctx.vals = calloc(c->n_slots + 1, sizeof *ctx.vals);
    if (!ctx.vals) return ocl_report(inst, hc, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status st = PRISM_OK;
    for (size_t s = 0; s < c->n_slots && !st; s++) {
        ctx.vals[s].buf = -1;
        if (c->slots[s].kind == OCL_SLOT_INPUT) {
            st = bind_input(&ctx, (uint32_t)s, &inputs[c->slots[s].index]);
        } else if (c->slots[s].kind == OCL_SLOT_CONST) {
            ctx.vals[s].t = c->slots[s].konst;
            ctx.vals[s].set = true;
        }
    }
    for (size_t i = 0; i < c->n_nodes && !st; i++) {
        const ocl_node *n = &c->nodes[i];
        if (n->fused) continue;
        ctx.node = n;
        st = run_node(&ctx, n);
        ctx.node = NULL;
        /* Hand back what nobody reads any more (read by this node last, or
         * never read). */
        for (uint32_t k = 0; k < n->n_in && !st; k++) {
            uint32_t s = n->in_slot[k];
            if (s != OCL_NO_SLOT && c->slots[s].last_use == (int64_t)i && ctx.vals[s].buf >= 0) {
                drop_buf(&ctx, ctx.vals[s].buf);
                ctx.vals[s].buf = -1;
            }
        }
        for (uint32_t k = 0; k < n->n_out && !st; k++) {
            uint32_t s = n->out_slot[k];
            if (c->slots[s].last_use <= (int64_t)i && ctx.vals[s].buf >= 0) {
                drop_buf(&ctx, ctx.vals[s].buf);
                ctx.vals[s].buf = -1;
            }
        }
    }
    for (uint32_t k = 0; k < c->n_outputs && !st; k++) {
        uint32_t s = c->output_slot[k];
        const ocl_slot *sl = &c->slots[s];
        if (!ctx.vals[s].set) st = ocl_report(inst, hc, PRISM_ERR_RUNTIME, "unit output %u was not computed", k);
        else if (sl->kind != OCL_SLOT_OUTPUT || sl->index != k) st = copy_output(&ctx, k);
    }
    for (size_t s = 0; s < c->n_slots; s++) drop_buf(&ctx, ctx.vals[s].buf);
    for (size_t b = 0; b < ctx.n_bufs; b++) /* views still holding references */
        if (ctx.bufs[b].refs) {
            ocl_pool_put(inst, ctx.bufs[b].mem);
            ctx.bufs[b].refs = 0;
        }
    free(ctx.bufs);
    free(ctx.scratch);
    free(ctx.vals);
    return st;
}
