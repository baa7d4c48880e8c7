/*
 * model_load.c — ModelProto (protobuf-c) -> IR. Model-local functions are
 * inlined here, subgraph attributes (If/Loop/Scan bodies) are loaded as
 * graphs of their own, and nothing read from the file is trusted.
 */
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "onnx.pb-c.h"

#define PR_MAX_INLINE_DEPTH 32
#define PR_MAX_GRAPH_DEPTH 64

typedef struct load_ctx {
    const Onnx__ModelProto *mp;
    const char *base_dir;
    pr_opset *opsets;
    size_t n_opsets;
    size_t n_inlined; /* counter making inlined value names unique */
    size_t n_initializers;
    size_t n_inlined_nodes, max_inlined_nodes; /* a few bytes of nested calls must not expand to billions */
} load_ctx;

/* What an inlined function call maps: formal names -> actual names, and the
 * call site's attributes for ref_attr_name. */
typedef struct inline_scope {
    const Onnx__FunctionProto *fn;
    const Onnx__NodeProto *call;
    char *prefix;
    const struct inline_scope *outer;
    const struct inline_scope *caller; /* the scope the call node sits in; NULL: the graph */
    int depth;
} inline_scope;

static const char *pr_norm_domain(const char *d) {
    if (!d || !strcmp(d, "ai.onnx")) return "";
    return d;
}

static int64_t pr_opset_of(const pr_opset *ops, size_t n, const char *domain) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ops[i].domain, domain)) return ops[i].version;
    return -1;
}

static prism_status load_graph(load_ctx *ctx, const Onnx__GraphProto *gp, int depth, pr_graph **out);

/* Map a name used inside an inlined function body to the caller's name. */
static char *pr_inline_name(const inline_scope *sc, const char *name) {
    if (!name || !*name) return pr_strdup("");
    if (!sc) return pr_strdup(name);
    for (size_t i = 0; i < sc->fn->n_input; i++)
        if (!strcmp(sc->fn->input[i], name))
            return pr_inline_name(sc->outer, i < sc->call->n_input ? sc->call->input[i] : "");
    for (size_t i = 0; i < sc->fn->n_output; i++)
        if (!strcmp(sc->fn->output[i], name))
            return pr_inline_name(sc->outer, i < sc->call->n_output ? sc->call->output[i] : "");
    return pr_asprintf("%s%s", sc->prefix, name);
}

/* The call site's attribute `name`. A call inside a function body may pass
 * its own caller's attribute on (ref_attr_name): follow those outwards. */
static const Onnx__AttributeProto *pr_call_attr(const inline_scope *sc, const char *name) {
    while (sc) {
        const Onnx__AttributeProto *found = NULL;
        for (size_t i = 0; !found && i < sc->call->n_attribute; i++)
            if (sc->call->attribute[i] && sc->call->attribute[i]->name && !strcmp(sc->call->attribute[i]->name, name))
                found = sc->call->attribute[i];
        if (!found || !found->ref_attr_name || !*found->ref_attr_name) return found;
        name = found->ref_attr_name;
        sc = sc->caller;
    }
    return NULL;
}

static prism_status convert_attr(load_ctx *ctx, const Onnx__AttributeProto *ap, const char *attr_name, int depth,
                                 pr_attr *a) {
    memset(a, 0, sizeof *a);
    a->name = pr_strdup(attr_name);
    if (!a->name) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    int32_t type = ap->has_type ? (int32_t)ap->type : 0;
    if (!type) { /* very old models omit the type: infer it from what is set */
        if (ap->n_floats) type = PRISM_ATTR_FLOATS;
        else if (ap->n_ints) type = PRISM_ATTR_INTS;
        else if (ap->n_strings) type = PRISM_ATTR_STRINGS;
        else if (ap->n_tensors) type = PRISM_ATTR_TENSORS;
        else if (ap->n_graphs) type = PRISM_ATTR_GRAPHS;
        else if (ap->t) type = PRISM_ATTR_TENSOR;
        else if (ap->g) type = PRISM_ATTR_GRAPH;
        else if (ap->has_s) type = PRISM_ATTR_STRING;
        else if (ap->has_i) type = PRISM_ATTR_INT;
        else if (ap->has_f) type = PRISM_ATTR_FLOAT;
    }
    a->type = type;
    prism_status st = PRISM_OK;
    switch (type) {
    case PRISM_ATTR_FLOAT: a->f = ap->f; break;
    case PRISM_ATTR_INT: a->i = ap->i; break;
    case PRISM_ATTR_STRING:
        a->s = pr_strndup((const char *)ap->s.data, ap->s.len);
        a->s_len = ap->s.len;
        if (!a->s) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        break;
    case PRISM_ATTR_FLOATS:
        a->count = ap->n_floats;
        a->floats = malloc((a->count ? a->count : 1) * sizeof(float));
        if (!a->floats) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        if (a->count) memcpy(a->floats, ap->floats, a->count * sizeof(float));
        break;
    case PRISM_ATTR_INTS:
        a->count = ap->n_ints;
        a->ints = malloc((a->count ? a->count : 1) * sizeof(int64_t));
        if (!a->ints) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        if (a->count) memcpy(a->ints, ap->ints, a->count * sizeof(int64_t));
        break;
    case PRISM_ATTR_STRINGS:
        a->strings = calloc(ap->n_strings ? ap->n_strings : 1, sizeof(char *));
        a->string_lens = calloc(ap->n_strings ? ap->n_strings : 1, sizeof(size_t));
        if (!a->strings || !a->string_lens) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        a->count = ap->n_strings;
        for (size_t i = 0; i < ap->n_strings; i++) {
            a->strings[i] = pr_strndup((const char *)ap->strings[i].data, ap->strings[i].len);
            a->string_lens[i] = ap->strings[i].len;
            if (!a->strings[i]) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        break;
    case PRISM_ATTR_TENSOR:
        if (!ap->t) return pr_fail(PRISM_ERR_INVALID_MODEL, "attribute '%s' of type TENSOR has no tensor", attr_name);
        a->tensors = calloc(1, sizeof(pr_const));
        if (!a->tensors) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        st = pr_const_from_proto(ap->t, ctx->base_dir, &a->tensors[0]);
        break;
    case PRISM_ATTR_TENSORS:
        a->tensors = calloc(ap->n_tensors ? ap->n_tensors : 1, sizeof(pr_const));
        if (!a->tensors) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        a->count = ap->n_tensors;
        for (size_t i = 0; i < ap->n_tensors && !st; i++)
            st = pr_const_from_proto(ap->tensors[i], ctx->base_dir, &a->tensors[i]);
        break;
    case PRISM_ATTR_GRAPH:
        if (!ap->g) return pr_fail(PRISM_ERR_INVALID_MODEL, "attribute '%s' of type GRAPH has no graph", attr_name);
        a->graphs = calloc(1, sizeof(pr_graph *));
        if (!a->graphs) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        st = load_graph(ctx, ap->g, depth + 1, &a->graphs[0]);
        break;
    case PRISM_ATTR_GRAPHS:
        a->graphs = calloc(ap->n_graphs ? ap->n_graphs : 1, sizeof(pr_graph *));
        if (!a->graphs) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        a->count = ap->n_graphs;
        for (size_t i = 0; i < ap->n_graphs && !st; i++) st = load_graph(ctx, ap->graphs[i], depth + 1, &a->graphs[i]);
        break;
    case PRISM_ATTR_SPARSE_TENSOR:
    case PRISM_ATTR_SPARSE_TENSORS:
    case PRISM_ATTR_TYPE_PROTO:
    case PRISM_ATTR_TYPE_PROTOS:
        break; /* kept by type only; kernels that need them say so */
    default:
        return pr_fail(PRISM_ERR_INVALID_MODEL, "attribute '%s' has unknown type %d", attr_name, (int)type);
    }
    if (st) pr_fail_context(st, "attribute '%s'", attr_name);
    return st;
}

static prism_status add_nodes(load_ctx *ctx, pr_graph *g, Onnx__NodeProto *const *nodes, size_t n_nodes,
                              const inline_scope *sc, const pr_opset *opsets, size_t n_opsets, int depth);

static const Onnx__FunctionProto *pr_find_function(const load_ctx *ctx, const char *domain, const char *name) {
    for (size_t i = 0; i < ctx->mp->n_functions; i++) {
        const Onnx__FunctionProto *f = ctx->mp->functions[i];
        if (f && f->name && !strcmp(f->name, name) && !strcmp(pr_norm_domain(f->domain), domain)) return f;
    }
    return NULL;
}

static prism_status inline_call(load_ctx *ctx, pr_graph *g, const Onnx__NodeProto *np, const Onnx__FunctionProto *fn,
                                const inline_scope *sc, int depth) {
    for (const inline_scope *c = sc; c; c = c->caller)
        if (c->fn == fn)
            return pr_fail(PRISM_ERR_INVALID_MODEL, "function '%s' is recursive: node '%s' calls it from within itself",
                           fn->name, np->name ? np->name : "");
    if (sc && sc->depth >= PR_MAX_INLINE_DEPTH)
        return pr_fail(PRISM_ERR_INVALID_MODEL, "function '%s' is nested more than %d deep (recursive?)", fn->name,
                       PR_MAX_INLINE_DEPTH);
    /* The call's own inputs/outputs may themselves be formal names of an
     * enclosing call: resolve them now through a copy of the call node. */
    Onnx__NodeProto call = *np;
    char **ins = calloc(np->n_input + 1, sizeof(char *)), **outs = calloc(np->n_output + 1, sizeof(char *));
    prism_status st = PRISM_OK;
    if (!ins || !outs) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; !st && i < np->n_input; i++)
        if (!(ins[i] = pr_inline_name(sc, np->input[i]))) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (size_t i = 0; !st && i < np->n_output; i++)
        if (!(outs[i] = pr_inline_name(sc, np->output[i]))) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    call.input = ins;
    call.output = outs;
    inline_scope inner = {.fn = fn, .call = &call, .outer = NULL, .caller = sc, .depth = sc ? sc->depth + 1 : 1};
    if (!st) {
        inner.prefix = pr_asprintf("%s/%s#%zu/", fn->name, np->name ? np->name : "", ctx->n_inlined++);
        if (!inner.prefix) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    /* Attributes referenced with ref_attr_name resolve against this call,
     * whose own attributes were already resolved by the caller. */
    pr_opset *fops = NULL;
    size_t n_fops = 0;
    if (!st) {
        fops = calloc(fn->n_opset_import + ctx->n_opsets + 1, sizeof *fops);
        if (!fops) st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (size_t i = 0; !st && i < fn->n_opset_import; i++) {
            const Onnx__OperatorSetIdProto *o = fn->opset_import[i];
            fops[n_fops].domain = (char *)pr_norm_domain(o->domain);
            fops[n_fops++].version = o->has_version ? o->version : 1;
        }
        for (size_t i = 0; !st && i < ctx->n_opsets; i++)
            if (pr_opset_of(fops, n_fops, ctx->opsets[i].domain) < 0) fops[n_fops++] = ctx->opsets[i];
    }
    if (!st) st = add_nodes(ctx, g, fn->node, fn->n_node, &inner, fops, n_fops, depth);
    if (st) pr_fail_context(st, "inlining function '%s' called by node '%s'", fn->name, np->name ? np->name : "");
    free(fops);
    free(inner.prefix);
    for (size_t i = 0; ins && i < np->n_input; i++) free(ins[i]);
    for (size_t i = 0; outs && i < np->n_output; i++) free(outs[i]);
    free(ins);
    free(outs);
    return st;
}

static prism_status add_nodes(load_ctx *ctx, pr_graph *g, Onnx__NodeProto *const *nodes, size_t n_nodes,
                              const inline_scope *sc, const pr_opset *opsets, size_t n_opsets, int depth) {
    for (size_t ni = 0; ni < n_nodes; ni++) {
        const Onnx__NodeProto *np = nodes[ni];
        if (!np || !np->op_type || !*np->op_type)
            return pr_fail(PRISM_ERR_INVALID_MODEL, "node #%zu has no op_type", ni);
        if (sc && ++ctx->n_inlined_nodes > ctx->max_inlined_nodes)
            return pr_fail(PRISM_ERR_INVALID_MODEL,
                           "inlining model-local functions would create more than %zu nodes: refused",
                           ctx->max_inlined_nodes);
        const char *domain = pr_norm_domain(np->domain);
        const Onnx__FunctionProto *fn = pr_find_function(ctx, domain, np->op_type);
        if (fn) {
            prism_status st = inline_call(ctx, g, np, fn, sc, depth);
            if (st) return st;
            continue;
        }
        pr_node n = {0};
        prism_status st = PRISM_OK;
        n.op_type = pr_strdup(np->op_type);
        n.domain = pr_strdup(domain);
        n.name = sc ? pr_asprintf("%s%s", sc->prefix, np->name ? np->name : "") : pr_strdup(np->name ? np->name : "");
        n.opset = pr_opset_of(opsets, n_opsets, domain);
        n.inputs = calloc(np->n_input + 1, sizeof(uint32_t));
        n.outputs = calloc(np->n_output + 1, sizeof(uint32_t));
        n.attrs = calloc(np->n_attribute + 1, sizeof(pr_attr));
        if (!n.op_type || !n.domain || !n.name || !n.inputs || !n.outputs || !n.attrs) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        if (np->n_input > UINT32_MAX / 2 || np->n_output > UINT32_MAX / 2) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "node has too many inputs");
            goto fail;
        }
        for (size_t k = 0; k < np->n_input; k++, n.n_inputs++) {
            char *nm = pr_inline_name(sc, np->input[k]);
            if (!nm) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
            n.inputs[k] = *nm ? pr_graph_value(g, nm, NULL) : PRISM_NO_VALUE;
            bool oom = *nm && n.inputs[k] == PRISM_NO_VALUE;
            free(nm);
            if (oom) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
        }
        for (size_t k = 0; k < np->n_output; k++, n.n_outputs++) {
            char *nm = pr_inline_name(sc, np->output[k]);
            if (!nm) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
            n.outputs[k] = *nm ? pr_graph_value(g, nm, NULL) : PRISM_NO_VALUE;
            bool oom = *nm && n.outputs[k] == PRISM_NO_VALUE;
            free(nm);
            if (oom) {
                st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                goto fail;
            }
        }
        for (size_t k = 0; k < np->n_attribute; k++) {
            const Onnx__AttributeProto *ap = np->attribute[k];
            if (!ap || !ap->name || !*ap->name) {
                st = pr_fail(PRISM_ERR_INVALID_MODEL, "attribute #%zu has no name", k);
                goto fail;
            }
            const char *attr_name = ap->name;
            if (ap->ref_attr_name && *ap->ref_attr_name) {
                ap = pr_call_attr(sc, ap->ref_attr_name);
                if (!ap) continue; /* not given at the call site: the op's default applies */
            }
            st = convert_attr(ctx, ap, attr_name, depth, &n.attrs[n.n_attrs]);
            n.n_attrs++;
            if (st) goto fail;
        }
        if (!pr_graph_add_node(g, &n)) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        continue;
    fail:
        pr_fail_context(st, "node '%s' (%s)", np->name ? np->name : "", np->op_type);
        pr_node_clear(&n);
        return st;
    }
    return PRISM_OK;
}

/* Apply a ValueInfoProto's type to a value (tensor types only). */
static prism_status apply_type(pr_value *v, const Onnx__TypeProto *tp) {
    if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) return PRISM_OK;
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    if (tt->has_elem_type) v->dtype = tt->elem_type;
    if (!tt->shape) return PRISM_OK;
    size_t rank = tt->shape->n_dim;
    if (rank > 64) return pr_fail(PRISM_ERR_INVALID_MODEL, "value '%s' declares rank %zu", v->name, rank);
    if (v->dim_params)
        for (int32_t d = 0; d < v->rank; d++) free(v->dim_params[d]);
    free(v->dims);
    free(v->dim_params);
    v->dims = calloc(rank + 1, sizeof(int64_t));
    v->dim_params = calloc(rank + 1, sizeof(char *));
    v->rank = (int32_t)rank;
    if (!v->dims || !v->dim_params) {
        v->rank = -1;
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (size_t d = 0; d < rank; d++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[d];
        v->dims[d] = -1;
        if (!dim) continue;
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return pr_fail(PRISM_ERR_INVALID_MODEL, "value '%s' declares negative dim %lld", v->name,
                               (long long)dim->dim_value);
            v->dims[d] = dim->dim_value;
        } else if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param &&
                   *dim->dim_param) {
            v->dim_params[d] = pr_strdup(dim->dim_param);
        }
    }
    return PRISM_OK;
}

/* A node whose subgraphs read values of this graph depends on them: record
 * them as its implicit inputs (creating the value when this graph does not
 * define it either, so that it becomes an outer value of this graph). */
static prism_status collect_implicit_inputs(pr_graph *g) {
    for (size_t i = 0; i < g->n_nodes; i++) {
        pr_node *n = &g->nodes[i];
        for (uint32_t a = 0; a < n->n_attrs; a++) {
            const pr_attr *at = &n->attrs[a];
            size_t nb = at->type == PRISM_ATTR_GRAPH ? 1 : at->type == PRISM_ATTR_GRAPHS ? at->count : 0;
            for (size_t b = 0; b < nb; b++) {
                const pr_graph *body = at->graphs[b];
                for (size_t v = 0; body && v < body->n_values; v++) {
                    if (!body->values[v].is_outer) continue;
                    uint32_t id = pr_graph_value(g, body->values[v].name, NULL);
                    if (id == PRISM_NO_VALUE) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                    bool seen = false;
                    for (uint32_t k = 0; k < n->n_implicit; k++) seen |= n->implicit[k] == id;
                    if (seen) continue;
                    uint32_t *grown = realloc(n->implicit, (n->n_implicit + 1) * sizeof *grown);
                    if (!grown) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                    n->implicit = grown;
                    n->implicit[n->n_implicit++] = id;
                }
            }
        }
    }
    return PRISM_OK;
}

static prism_status load_graph(load_ctx *ctx, const Onnx__GraphProto *gp, int depth, pr_graph **out) {
    if (depth > PR_MAX_GRAPH_DEPTH)
        return pr_fail(PRISM_ERR_INVALID_MODEL, "subgraphs are nested more than %d deep", PR_MAX_GRAPH_DEPTH);
    pr_graph *g = pr_graph_new();
    if (!g) return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    g->opsets = ctx->opsets;
    g->n_opsets = ctx->n_opsets;
    g->name = pr_strdup(gp->name ? gp->name : "");
    prism_status st = PRISM_OK;
    if (gp->n_sparse_initializer) {
        st = pr_fail(PRISM_ERR_NOT_SUPPORTED, "sparse initializers are not supported (graph '%s')", g->name);
        goto fail;
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp || !tp->name || !*tp->name) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "initializer #%zu has no name", i);
            goto fail;
        }
        bool created;
        uint32_t id = pr_graph_value(g, tp->name, &created);
        if (id == PRISM_NO_VALUE) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        if (!created) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "initializer '%s' is defined twice", tp->name);
            goto fail;
        }
        pr_value *v = &g->values[id];
        v->constant = calloc(1, sizeof(pr_const));
        if (!v->constant) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        /* The message is ours to take apart: adopt the weights' buffers. */
        st = pr_const_from_proto_take((Onnx__TensorProto *)tp, ctx->base_dir, v->constant);
        if (st) {
            free(v->constant);
            v->constant = NULL;
            pr_fail_context(st, "initializer '%s'", tp->name);
            goto fail;
        }
        v->dtype = v->constant->dtype;
        v->rank = (int32_t)v->constant->rank;
        v->dims = calloc(v->constant->rank + 1, sizeof(int64_t));
        v->dim_params = calloc(v->constant->rank + 1, sizeof(char *));
        if (!v->dims || !v->dim_params) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        if (v->rank) memcpy(v->dims, v->constant->dims, (size_t)v->rank * sizeof(int64_t));
        ctx->n_initializers++;
    }
    g->inputs = calloc(gp->n_input + 1, sizeof(uint32_t));
    g->outputs = calloc(gp->n_output + 1, sizeof(uint32_t));
    if (!g->inputs || !g->outputs) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        if (!vi || !vi->name || !*vi->name) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "graph input #%zu has no name", i);
            goto fail;
        }
        bool created;
        uint32_t id = pr_graph_value(g, vi->name, &created);
        if (id == PRISM_NO_VALUE) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        pr_value *v = &g->values[id];
        if (v->constant) continue; /* an initializer listed as input (IR < 4 style): stays constant */
        if (!created || v->is_graph_input) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "graph input '%s' is listed twice", vi->name);
            goto fail;
        }
        v->is_graph_input = true;
        g->inputs[g->n_inputs++] = id;
        if ((st = apply_type(v, vi->type))) goto fail;
    }
    st = add_nodes(ctx, g, gp->node, gp->n_node, NULL, ctx->opsets, ctx->n_opsets, depth);
    if (st) goto fail;
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        if (!vi || !vi->name || !*vi->name) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "graph output #%zu has no name", i);
            goto fail;
        }
        uint32_t id = pr_graph_value(g, vi->name, NULL);
        if (id == PRISM_NO_VALUE) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto fail;
        }
        g->values[id].is_graph_output = true;
        g->outputs[g->n_outputs++] = id;
        if ((st = apply_type(&g->values[id], vi->type))) goto fail;
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vi = gp->value_info[i];
        uint32_t id;
        if (vi && vi->name && pr_graph_find(g, vi->name, &id) && !g->values[id].constant &&
            (st = apply_type(&g->values[id], vi->type)))
            goto fail;
    }
    if ((st = collect_implicit_inputs(g))) goto fail;
    st = pr_graph_toposort(g);
    if (st) goto fail;
    /* A value nobody produces is an outer-scope reference in a subgraph and
     * an error in the main graph. */
    for (size_t i = 0; i < g->n_values; i++) {
        pr_value *v = &g->values[i];
        if (v->producer >= 0 || v->constant || v->is_graph_input) continue;
        if (depth == 0) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL,
                         "value '%s' is used but not produced by any node, initializer or graph input", v->name);
            goto fail;
        }
        v->is_outer = true;
    }
    *out = g;
    return PRISM_OK;
fail:
    if (depth > 0 && g->name && *g->name) pr_fail_context(st, "in subgraph '%s'", g->name);
    pr_graph_free(g);
    return st;
}

static Onnx__ModelProto *unpack_model(const void *data, size_t size, prism_status *st) {
    *st = PRISM_OK;
    if (!data || size == 0) {
        *st = pr_fail(PRISM_ERR_INVALID_MODEL, "the model is empty (0 bytes)");
        return NULL;
    }
    Onnx__ModelProto *mp = onnx__model_proto__unpack(NULL, size, data);
    if (!mp) *st = pr_fail(PRISM_ERR_INVALID_MODEL, "not a valid ONNX model: the protobuf does not parse (%zu bytes)", size);
    return mp;
}

/* Builds the IR from an unpacked message, which it frees. */
static prism_status model_from_proto(Onnx__ModelProto *mp, const char *base_dir, pr_model **out) {
    prism_status st = PRISM_OK;
    pr_model *m = calloc(1, sizeof *m);
    if (!m) {
        onnx__model_proto__free_unpacked(mp, NULL);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!mp->graph) {
        st = pr_fail(PRISM_ERR_INVALID_MODEL, "not a valid ONNX model: it has no graph");
        goto done;
    }
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    m->producer = pr_asprintf("%s%s%s", mp->producer_name ? mp->producer_name : "",
                              mp->producer_version && *mp->producer_version ? " " : "",
                              mp->producer_version ? mp->producer_version : "");
    m->base_dir = pr_strdup(base_dir);
    m->opsets = calloc(mp->n_opset_import + 1, sizeof *m->opsets);
    if (!m->producer || !m->opsets || (base_dir && !m->base_dir)) {
        st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *d = pr_norm_domain(o ? o->domain : "");
        if (pr_opset_of(m->opsets, m->n_opsets, d) >= 0) continue;
        if (!o || !o->has_version || o->version < 1) {
            st = pr_fail(PRISM_ERR_INVALID_MODEL, "opset import of domain '%s' has no valid version", d);
            goto done;
        }
        m->opsets[m->n_opsets].domain = pr_strdup(d);
        m->opsets[m->n_opsets].version = o->version;
        if (!m->opsets[m->n_opsets++].domain) {
            st = pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            goto done;
        }
    }
    load_ctx ctx = {.mp = mp, .base_dir = base_dir, .opsets = m->opsets, .n_opsets = m->n_opsets};
    /* Inlining may multiply the nodes written in the file, within reason. */
    size_t protos = mp->graph->n_node;
    for (size_t i = 0; i < mp->n_functions; i++) protos += mp->functions[i] ? mp->functions[i]->n_node : 0;
    ctx.max_inlined_nodes = ((size_t)1 << 18) + protos * 1024;
    st = load_graph(&ctx, mp->graph, 0, &m->graph);
    m->n_initializers = ctx.n_initializers;
    if (!st) st = pr_fold_constants(m->graph);
    if (!st) st = pr_infer_shapes(m->graph);
done:
    onnx__model_proto__free_unpacked(mp, NULL);
    if (st) {
        pr_model_free(m);
        return st;
    }
    *out = m;
    return PRISM_OK;
}

prism_status pr_model_from_bytes(const void *data, size_t size, const char *base_dir, pr_model **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL output pointer");
    prism_status st;
    Onnx__ModelProto *mp = unpack_model(data, size, &st);
    return mp ? model_from_proto(mp, base_dir, out) : st;
}

prism_status pr_model_from_file(const char *path, pr_model **out) {
    if (!out) return pr_fail(PRISM_ERR_INVALID_ARGUMENT, "NULL output pointer");
    void *data;
    size_t size;
    prism_status st = pr_read_file(path, &data, &size);
    if (st) return st;
    char *copy = pr_strdup(path);
    if (!copy) {
        free(data);
        return pr_fail(PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    /* The file's bytes are dropped as soon as they are parsed, so a model
     * is never held three times (file, message, IR) at once. */
    Onnx__ModelProto *mp = unpack_model(data, size, &st);
    free(data);
    if (mp) st = model_from_proto(mp, dirname(copy), out);
    free(copy);
    if (st) pr_fail_context(st, "model '%s'", path);
    return st;
}
