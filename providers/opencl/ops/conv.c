/*
 * conv.c — Conv (1-D, 2-D, 3-D; groups, strides, dilations, pads,
 * auto_pad, optional bias) through the shared GEMM kernel:
 *  - 1x1, stride 1, no pad: the input already is the GEMM's B matrix;
 *  - depthwise (one input channel per group, 1-D/2-D): a direct kernel;
 *  - otherwise im2col into scratch, then one GEMM per (image, group),
 *    batched in a single launch, in chunks of images that bound the scratch.
 * The bias and a fused activation are applied in the GEMM's epilogue.
 */
#include <stdio.h>
#include <string.h>

#include "ocl_nn.h"

/* Scratch for im2col is split into chunks of images of at most this size. */
#define COL_BUDGET ((size_t)128 << 20)

static bool conv_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!ocl_all_float(node, why, why_size)) return false;
    int32_t rx = ocl_node_input_rank(node, 0), rw = ocl_node_input_rank(node, 1);
    int32_t r = rx >= 0 ? rx : rw;
    if (r >= 0 && (r < 3 || r > 5)) {
        snprintf(why, why_size, "rank %d input (1-D to 3-D convolutions only)", r);
        return false;
    }
    if (ocl_attr_int(node, "group", 1) < 1) {
        snprintf(why, why_size, "group must be >= 1");
        return false;
    }
    ocl_window w;
    return r < 0 || ocl_window_parse(node, r - 2, false, &w, why, why_size);
}

static prism_status conv_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    const char *t = ocl_compute_type(ocl_node_input_dtype(node, 0));
    prism_status st = ocl_program_require(ctx, "gemm", t);
    return st ? st : ocl_program_require(ctx, "conv", t);
}

static prism_status conv_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                             uint32_t n_in) {
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "Conv needs X and W");
    const ocl_tensor *x = in[0], *w = in[1], *b = n_in > 2 ? in[2] : NULL;
    const char *type = ocl_compute_type(x->dtype);
    if (!type || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Conv inputs must share one float dtype");
    if (x->rank < 3 || x->rank > 5 || w->rank != x->rank)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Conv needs X and W of one rank from 3 to 5 (got %d and %d)", x->rank,
                        w->rank);
    const int32_t sp = x->rank - 2;
    char why[256];
    ocl_window win;
    if (!ocl_window_parse(node, sp, false, &win, why, sizeof why)) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "%s", why);
    const int64_t N = x->dims[0], C = x->dims[1], M = w->dims[0], G = ocl_attr_int(node, "group", 1);
    if (G < 1 || C % G || M % G || w->dims[1] != C / G)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "channels (X has %lld, W is [%lld, %lld, ...]) do not fit group %lld",
                        (long long)C, (long long)M, (long long)w->dims[1], (long long)G);
    if (b && (b->rank != 1 || b->dims[0] != M))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "bias must have shape [%lld]", (long long)M);
    /* Everything as 3-D: (D, H, W) with unit sizes in front. */
    int64_t in3[3] = {1, 1, 1}, k3[3] = {1, 1, 1}, s3[3] = {1, 1, 1}, d3[3] = {1, 1, 1}, pb3[3] = {0, 0, 0},
            out3[3] = {1, 1, 1}, ydims[OCL_MAX_RANK];
    ydims[0] = N;
    ydims[1] = M;
    bool pointwise = true;
    for (int32_t i = 0; i < sp; i++) {
        int32_t j = 3 - sp + i;
        int64_t k = w->dims[2 + i], pb, pe, o;
        if (win.has_kshape && win.k[i] != k)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "kernel_shape does not match the weights");
        if (!ocl_window_out(&win, i, x->dims[2 + i], k, &pb, &pe, &o))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "the window is larger than padded input dim %d", i);
        in3[j] = x->dims[2 + i], k3[j] = k, s3[j] = win.s[i], d3[j] = win.d[i], pb3[j] = pb, out3[j] = o;
        ydims[2 + i] = o;
        pointwise = pointwise && k == 1 && win.s[i] == 1 && pb == 0 && pe == 0;
    }
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, x->dtype, x->rank, ydims, &y);
    if (st || !y->count) return st;
    const ocl_activation *act = ocl_node_activation(node);
    const int64_t IS = in3[0] * in3[1] * in3[2], OS = out3[0] * out3[1] * out3[2], KK = k3[0] * k3[1] * k3[2];
    const int64_t Cg = C / G, Mg = M / G;
    for (int i = 0; i < 3; i++)
        if (in3[i] > INT32_MAX || out3[i] > INT32_MAX || C * KK > INT32_MAX)
            return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Conv dims beyond 2^31");
    /* CPU devices: the one-row-per-work-item forms (see kernels/conv.cl). */
    const bool rows = ocl_cpu_kernels(ctx);
    if (Cg == 1 && G == C && sp <= 2 && in3[0] == 1) {
        size_t global[3] = {(size_t)(rows ? out3[1] : OS), (size_t)M, (size_t)N};
        ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_mem(w->mem), ocl_arg_mem(b ? b->mem : NULL), ocl_arg_mem(y->mem),
                          ocl_arg_i32((int32_t)C), ocl_arg_i32((int32_t)M), ocl_arg_i32((int32_t)in3[1]),
                          ocl_arg_i32((int32_t)in3[2]), ocl_arg_i32((int32_t)out3[1]), ocl_arg_i32((int32_t)out3[2]),
                          ocl_arg_i32((int32_t)k3[1]), ocl_arg_i32((int32_t)k3[2]), ocl_arg_i32((int32_t)s3[1]),
                          ocl_arg_i32((int32_t)s3[2]), ocl_arg_i32((int32_t)pb3[1]), ocl_arg_i32((int32_t)pb3[2]),
                          ocl_arg_i32((int32_t)d3[1]), ocl_arg_i32((int32_t)d3[2]),
                          ocl_arg_i32(act ? (int32_t)act->kind : 0), ocl_arg_f32(act ? act->lo : 0.0f),
                          ocl_arg_f32(act ? act->hi : 0.0f), ocl_arg_f32(act ? act->alpha : 0.0f)};
        return ocl_launch(ctx, "conv", type, rows ? "depthwise_rows" : "depthwise", 3, global, NULL,
                          sizeof args / sizeof args[0], args);
    }
    ocl_gemm_desc d = {.dtype = x->dtype, .a = w->mem, .c = y->mem, .m = Mg, .n = OS, .k = Cg * KK,
                       .lda = Cg * KK, .ldb = OS, .ldc = OS, .alpha = 1.0f, .beta = 1.0f, .inner = G,
                       .a_s2 = Mg * Cg * KK, .c_s1 = M * OS, .c_s2 = Mg * OS, .act = act};
    if (b) {
        d.bias = b->mem;
        d.bias_s2 = Mg;
        d.bias_rs = 1;
    }
    if (pointwise) {
        d.b = x->mem;
        d.b_s1 = C * IS;
        d.b_s2 = Cg * IS;
        d.batch = N * G;
        return ocl_gemm_run(ctx, &d);
    }
    /* im2col in chunks of images. */
    const size_t esize = ocl_dtype_size(x->dtype), per_image = (size_t)(C * KK * OS) * esize;
    int64_t chunk = per_image ? (int64_t)(COL_BUDGET / per_image) : N;
    if (chunk < 1) chunk = 1;
    if (chunk > N) chunk = N;
    cl_mem col;
    st = ocl_scratch(ctx, per_image * (size_t)chunk, &col);
    if (st) return st;
    d.b = col;
    d.b_s1 = C * KK * OS;
    d.b_s2 = Cg * KK * OS;
    for (int64_t n0 = 0; n0 < N && !st; n0 += chunk) {
        int64_t nb = N - n0 < chunk ? N - n0 : chunk;
        size_t global[3] = {(size_t)(rows ? out3[0] * out3[1] : OS), (size_t)(C * KK), (size_t)nb};
        ocl_arg args[] = {ocl_arg_mem(x->mem), ocl_arg_i64(n0 * C * IS), ocl_arg_mem(col), ocl_arg_i32((int32_t)C), ocl_arg_i32((int32_t)in3[0]),
                          ocl_arg_i32((int32_t)in3[1]), ocl_arg_i32((int32_t)in3[2]), ocl_arg_i32((int32_t)out3[0]),
                          ocl_arg_i32((int32_t)out3[1]), ocl_arg_i32((int32_t)out3[2]), ocl_arg_i32((int32_t)k3[0]),
                          ocl_arg_i32((int32_t)k3[1]), ocl_arg_i32((int32_t)k3[2]), ocl_arg_i32((int32_t)s3[0]),
                          ocl_arg_i32((int32_t)s3[1]), ocl_arg_i32((int32_t)s3[2]), ocl_arg_i32((int32_t)pb3[0]),
                          ocl_arg_i32((int32_t)pb3[1]), ocl_arg_i32((int32_t)pb3[2]), ocl_arg_i32((int32_t)d3[0]),
                          ocl_arg_i32((int32_t)d3[1]), ocl_arg_i32((int32_t)d3[2])};
        st = ocl_launch(ctx, "conv", type, rows ? "im2col_rows" : "im2col", 3, global, NULL,
                        sizeof args / sizeof args[0], args);
        if (st) return st;
        d.c_off = n0 * M * OS;
        d.batch = nb * G;
        st = ocl_gemm_run(ctx, &d);
    }
    return st;
}

const ocl_kernel_def ocl_op_conv = {
    .supports = conv_supports,
    .prepare = conv_prepare,
    .run = conv_run,
    .fuses_activation = true,
};
