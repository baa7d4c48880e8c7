/*
 * prism_hls_args.c — the argument table of the HLS kernels (see
 * prism_hls_args.h). It is written out by hand because C cannot reflect
 * on a prototype; the static assertions pin the argument counts, and
 * tests/unit/test_hls_args.c checks names, order, types and m_axi bundles
 * against prism_hls.h and the kernel sources.
 */
#include "prism_hls_args.h"

#include <string.h>

#define BUF(name, bundle) {name, "float*", 1, 8, bundle}
#define INT(name) {name, "int", 0, 4, NULL}
#define FLT(name) {name, "float", 0, 4, NULL}
#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

static const prism_hls_arg_desc gemm_args[] = {
    BUF("a", "gmem0"),   BUF("b", "gmem1"),    BUF("bias", "gmem2"),     BUF("c", "gmem3"),
    INT("batch"),        INT("m"),             INT("n"),                 INT("k"),
    INT("lda"),          INT("ldb"),           INT("ldc"),               INT("stride_a"),
    INT("stride_b"),     INT("stride_c"),      INT("stride_bias"),       INT("trans_a"),
    INT("trans_b"),      FLT("alpha"),         FLT("beta"),              INT("bias_mode"),
    INT("act"),          FLT("act_lo"),        FLT("act_hi"),
};
_Static_assert(COUNT(gemm_args) == 23, "prism_gemm takes 23 arguments");

static const prism_hls_arg_desc im2col_args[] = {
    BUF("x", "gmem0"), BUF("col", "gmem1"), INT("channels"), INT("height"),   INT("width"),
    INT("kernel_h"),   INT("kernel_w"),     INT("pad_t"),    INT("pad_l"),    INT("stride_h"),
    INT("stride_w"),   INT("dil_h"),        INT("dil_w"),    INT("out_h"),    INT("out_w"),
};
_Static_assert(COUNT(im2col_args) == 15, "prism_im2col takes 15 arguments");

static const prism_hls_arg_desc eltwise_args[] = {
    BUF("a", "gmem0"), BUF("b", "gmem1"), BUF("y", "gmem2"), INT("n"),      INT("op"),     INT("b_mode"),
    INT("b_inner"),    INT("b_channels"), INT("act"),        FLT("act_lo"), FLT("act_hi"),
};
_Static_assert(COUNT(eltwise_args) == 11, "prism_eltwise takes 11 arguments");

static const prism_hls_arg_desc pool_args[] = {
    BUF("x", "gmem0"), BUF("y", "gmem1"), INT("planes"),   INT("height"), INT("width"),
    INT("kernel_h"),   INT("kernel_w"),   INT("pad_t"),    INT("pad_l"),  INT("pad_b"),
    INT("pad_r"),      INT("stride_h"),   INT("stride_w"), INT("dil_h"),  INT("dil_w"),
    INT("out_h"),      INT("out_w"),      INT("mode"),     INT("count_include_pad"),
};
_Static_assert(COUNT(pool_args) == 19, "prism_pool takes 19 arguments");

static const prism_hls_kernel_desc kernels[] = {
    {"prism_gemm", COUNT(gemm_args), gemm_args},
    {"prism_im2col", COUNT(im2col_args), im2col_args},
    {"prism_eltwise", COUNT(eltwise_args), eltwise_args},
    {"prism_pool", COUNT(pool_args), pool_args},
};

const prism_hls_kernel_desc *prism_hls_kernel_table(int *count) {
    if (count) *count = COUNT(kernels);
    return kernels;
}

const prism_hls_kernel_desc *prism_hls_find_kernel(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < COUNT(kernels); i++)
        if (strcmp(kernels[i].name, name) == 0) return &kernels[i];
    return NULL;
}

int prism_hls_find_arg(const prism_hls_kernel_desc *k, const char *name) {
    if (!k || !name) return -1;
    for (int i = 0; i < k->n_args; i++)
        if (strcmp(k->args[i].name, name) == 0) return i;
    return -1;
}

long prism_hls_arg_offset(const prism_hls_kernel_desc *k, int index) {
    if (!k || index < 0 || index >= k->n_args) return -1;
    return PRISM_HLS_ARG_BASE_OFFSET + (long)index * PRISM_HLS_ARG_SLOT;
}
