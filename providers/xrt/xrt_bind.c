/*
 * xrt_bind.c — the kernel contract by name, and its binding to the argument
 * indices an xclbin's metadata gives.
 *
 * Why names and not positions: the xclbin is built separately (Vitis, or the
 * project's writer) and may order or extend arguments differently; the
 * names in prism_hls.h are the contract. The lowering sets arguments by
 * name, and both backends receive them in the metadata's order, so the csim
 * device binds exactly as an FPGA would.
 */
#include <stdio.h>
#include <string.h>

#include "xrt_backend.h"

typedef struct xk_arg_desc {
    const char *name;
    xk_kind kind;
} xk_arg_desc;

#define B XK_ARG_BUF
#define I XK_ARG_INT
#define F XK_ARG_FLOAT

static const xk_arg_desc gemm_args[] = {
    {"a", B},        {"b", B},         {"bias", B},     {"c", B},        {"batch", I},       {"m", I},
    {"n", I},        {"k", I},         {"lda", I},      {"ldb", I},      {"ldc", I},         {"stride_a", I},
    {"stride_b", I}, {"stride_c", I},  {"stride_bias", I}, {"trans_a", I}, {"trans_b", I},   {"alpha", F},
    {"beta", F},     {"bias_mode", I}, {"act", I},      {"act_lo", F},   {"act_hi", F},
};
static const xk_arg_desc im2col_args[] = {
    {"x", B},     {"col", B},   {"channels", I}, {"height", I}, {"width", I}, {"kernel_h", I},
    {"kernel_w", I}, {"pad_t", I}, {"pad_l", I}, {"stride_h", I}, {"stride_w", I}, {"dil_h", I},
    {"dil_w", I}, {"out_h", I},   {"out_w", I},
};
static const xk_arg_desc eltwise_args[] = {
    {"a", B},        {"b", B},   {"y", B},      {"n", I},      {"op", I},      {"b_mode", I},
    {"b_inner", I},  {"b_channels", I}, {"act", I}, {"act_lo", F}, {"act_hi", F},
};
static const xk_arg_desc pool_args[] = {
    {"x", B},       {"y", B},       {"planes", I},   {"height", I}, {"width", I},  {"kernel_h", I},
    {"kernel_w", I}, {"pad_t", I},  {"pad_l", I},    {"pad_b", I},  {"pad_r", I},  {"stride_h", I},
    {"stride_w", I}, {"dil_h", I},  {"dil_w", I},    {"out_h", I},  {"out_w", I},  {"mode", I},
    {"count_include_pad", I},
};

#undef B
#undef I
#undef F

static const struct {
    const char *name;
    const xk_arg_desc *args;
    uint32_t n;
} contract[XK_COUNT] = {
    [XK_GEMM] = {"prism_gemm", gemm_args, sizeof gemm_args / sizeof gemm_args[0]},
    [XK_IM2COL] = {"prism_im2col", im2col_args, sizeof im2col_args / sizeof im2col_args[0]},
    [XK_ELTWISE] = {"prism_eltwise", eltwise_args, sizeof eltwise_args / sizeof eltwise_args[0]},
    [XK_POOL] = {"prism_pool", pool_args, sizeof pool_args / sizeof pool_args[0]},
};

_Static_assert(sizeof gemm_args / sizeof gemm_args[0] <= XK_MAX_ARGS, "XK_MAX_ARGS too small");
_Static_assert(sizeof pool_args / sizeof pool_args[0] <= XK_MAX_ARGS, "XK_MAX_ARGS too small");

const char *xk_name(xk_id k) { return k < XK_COUNT ? contract[k].name : "?"; }
uint32_t xk_arg_count(xk_id k) { return k < XK_COUNT ? contract[k].n : 0; }
const char *xk_arg_name(xk_id k, uint32_t pos) { return pos < xk_arg_count(k) ? contract[k].args[pos].name : "?"; }
xk_kind xk_arg_kind(xk_id k, uint32_t pos) { return pos < xk_arg_count(k) ? contract[k].args[pos].kind : XK_ARG_INT; }

/* Whether metadata argument a can carry a contract argument of kind. */
static bool compatible(xk_kind kind, const xm_arg *a) {
    switch (kind) {
    case XK_ARG_BUF: return a->ctype == XM_BUFFER;
    case XK_ARG_INT: return a->ctype == XM_INT || a->ctype == XM_UINT || a->ctype == XM_U32 || a->ctype == XM_U64;
    case XK_ARG_FLOAT: return a->ctype == XM_FLOAT || a->ctype == XM_DOUBLE;
    }
    return false;
}

void xk_bind(const xm_xclbin *x, xk_id k, xk_binding *out) {
    memset(out, 0, sizeof *out);
    const xm_kernel *mk = x ? xm_find_kernel(x, xk_name(k)) : NULL;
    out->meta = mk;
    if (!mk) {
        snprintf(out->why, sizeof out->why, "the xclbin metadata has no kernel %s", xk_name(k));
        return;
    }
    if (mk->n_args != contract[k].n) {
        snprintf(out->why, sizeof out->why, "kernel %s has %u arguments in the xclbin metadata; prism_hls.h has %u",
                 mk->name, mk->n_args, contract[k].n);
        return;
    }
    for (uint32_t p = 0; p < contract[k].n; p++) {
        const xk_arg_desc *d = &contract[k].args[p];
        const xm_arg *found = NULL;
        for (uint32_t i = 0; i < mk->n_args && !found; i++)
            if (!strcmp(mk->args[i].name, d->name)) found = &mk->args[i];
        if (!found) {
            snprintf(out->why, sizeof out->why, "kernel %s: argument '%s' is missing from the xclbin metadata",
                     mk->name, d->name);
            return;
        }
        if (!compatible(d->kind, found)) {
            snprintf(out->why, sizeof out->why,
                     "kernel %s: argument '%s' has metadata type '%s' (addressQualifier %d), not a %s", mk->name,
                     d->name, found->type, found->address_qualifier,
                     d->kind == XK_ARG_BUF ? "global buffer" : d->kind == XK_ARG_INT ? "integer" : "float");
            return;
        }
        out->index[p] = found->id;
    }
    out->ok = true;
}

static int find_pos(xk_id k, const char *name) {
    for (uint32_t p = 0; p < xk_arg_count(k); p++)
        if (!strcmp(contract[k].args[p].name, name)) return (int)p;
    return -1;
}

void xk_call_init(xk_call *c, xk_id k) {
    memset(c, 0, sizeof *c);
    c->kernel = k;
    for (uint32_t p = 0; p < XK_MAX_ARGS; p++) c->v[p].kind = (xk_kind)-1;
}

static xk_value *slot(xk_call *c, const char *name, xk_kind kind) {
    int p = find_pos(c->kernel, name);
    if (p < 0 || contract[c->kernel].args[p].kind != kind || c->v[p].kind == kind) {
        c->set = UINT32_MAX; /* poisoned: xk_call_complete fails */
        return NULL;
    }
    if (c->set != UINT32_MAX) c->set++;
    c->v[p].kind = kind;
    return &c->v[p];
}

void xk_set_buf(xk_call *c, const char *name, void *buf, size_t offset) {
    xk_value *v = slot(c, name, XK_ARG_BUF);
    if (v) {
        v->buf = buf;
        v->offset = offset;
    }
}

void xk_set_int(xk_call *c, const char *name, int64_t i) {
    xk_value *v = slot(c, name, XK_ARG_INT);
    if (v) v->i = i;
}

void xk_set_float(xk_call *c, const char *name, double f) {
    xk_value *v = slot(c, name, XK_ARG_FLOAT);
    if (v) v->f = f;
}

bool xk_call_complete(const xk_call *c) { return c->set == xk_arg_count(c->kernel); }

void xk_call_order(const xk_call *c, const xk_binding *b, xk_value *by_id) {
    for (uint32_t p = 0; p < xk_arg_count(c->kernel); p++) by_id[b->index[p]] = c->v[p];
}
