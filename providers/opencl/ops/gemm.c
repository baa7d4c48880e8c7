/*
 * gemm.c — MatMul (numpy batch broadcasting, 1-D operands) and Gemm
 * (transA/transB/alpha/beta, broadcast C), both on the shared batched GEMM
 * kernel (kernels/gemm.cl), with a fused activation when the framework
 * folded one in.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ocl_internal.h" /* ocl_blas_sgemm */
#include "ocl_nn.h"

/* Rows of C per work-item of gemm_rows (CR in kernels/gemm.cl). */
#define GEMM_ROWS_CR 8
/* Bytes of A one band of gemm_rows covers: about half a core's L2. */
#define GEMM_ROWS_BAND_BYTES ((int64_t)512 << 10)
/* gemm_rows transposes B beforehand from this many rows of A on. */
#define GEMM_TRANSPOSE_MIN_M 32

bool ocl_float_dtype_ok(const ocl_node *node, int32_t dtype) {
    return dtype == PRISM_DTYPE_FLOAT || (dtype == PRISM_DTYPE_FLOAT16 && ocl_node_device_fp16(node));
}

bool ocl_all_float(const ocl_node *node, char *why, size_t why_size) {
    for (uint32_t k = 0; k < ocl_node_input_count(node); k++)
        if (ocl_node_has_input(node, k) && !ocl_float_dtype_ok(node, ocl_node_input_dtype(node, k))) {
            snprintf(why, why_size, "input %u has dtype %d (float32%s only)", k, (int)ocl_node_input_dtype(node, k),
                     ocl_node_device_fp16(node) ? " or float16" : "");
            return false;
        }
    for (uint32_t k = 0; k < ocl_node_output_count(node); k++)
        if (ocl_node_has_output(node, k) && !ocl_float_dtype_ok(node, ocl_node_output_dtype(node, k))) {
            snprintf(why, why_size, "output %u has dtype %d", k, (int)ocl_node_output_dtype(node, k));
            return false;
        }
    return true;
}

/* The arguments every kernel of kernels/gemm.cl takes (GEMM_ARGS), in order;
 * returns their count. args has room for GEMM_N_ARGS + 1. */
#define GEMM_N_ARGS 33
static uint32_t gemm_args(const ocl_gemm_desc *d, ocl_arg *args) {
    const ocl_activation *act = d->act;
    const ocl_arg a[] = {
        ocl_arg_mem(d->a), ocl_arg_i64(d->a_off), ocl_arg_i64(d->a_s1), ocl_arg_i64(d->a_s2),
        ocl_arg_i32((int32_t)d->lda), ocl_arg_i32(d->ta),
        ocl_arg_mem(d->b), ocl_arg_i64(d->b_off), ocl_arg_i64(d->b_s1), ocl_arg_i64(d->b_s2),
        ocl_arg_i32((int32_t)d->ldb), ocl_arg_i32(d->tb),
        ocl_arg_mem(d->c), ocl_arg_i64(d->c_off), ocl_arg_i64(d->c_s1), ocl_arg_i64(d->c_s2),
        ocl_arg_i32((int32_t)d->ldc),
        ocl_arg_mem(d->bias), ocl_arg_i64(d->bias_off), ocl_arg_i64(d->bias_s1), ocl_arg_i64(d->bias_s2),
        ocl_arg_i64(d->bias_rs), ocl_arg_i64(d->bias_cs),
        ocl_arg_i32((int32_t)(d->inner > 0 ? d->inner : 1)), ocl_arg_i32((int32_t)d->m), ocl_arg_i32((int32_t)d->n),
        ocl_arg_i32((int32_t)d->k), ocl_arg_f32(d->alpha), ocl_arg_f32(d->beta),
        ocl_arg_i32(act ? (int32_t)act->kind : 0), ocl_arg_f32(act ? act->lo : 0.0f), ocl_arg_f32(act ? act->hi : 0.0f),
        ocl_arg_f32(act ? act->alpha : 0.0f),
    };
    _Static_assert(sizeof a / sizeof a[0] == GEMM_N_ARGS, "GEMM_N_ARGS is the length of GEMM_ARGS");
    memcpy(args, a, sizeof a);
    return GEMM_N_ARGS;
}

/* CPU devices: gemm_rows (see kernels/gemm.cl). A transposed B with enough
 * rows of A to amortise it is first copied into K x N order (once when
 * every batch shares B), so the kernel reads contiguous rows of B. */
static prism_status run_rows(ocl_ctx *ctx, const char *type, const ocl_gemm_desc *in) {
    ocl_gemm_desc d = *in;
    if (d.tb && d.m >= GEMM_TRANSPOSE_MIN_M && d.k > 0) {
        const bool shared = !d.b_s1 && !d.b_s2;
        const int64_t copies = shared ? 1 : d.batch, inner = d.inner > 0 ? d.inner : 1;
        cl_mem bt;
        prism_status st = ocl_scratch(ctx, (size_t)(copies * d.k * d.n) * ocl_dtype_size(d.dtype), &bt);
        if (st) return st;
        size_t global[3] = {(size_t)d.n, (size_t)d.k, (size_t)copies};
        ocl_arg targs[] = {ocl_arg_mem(d.b), ocl_arg_i64(d.b_off), ocl_arg_i64(d.b_s1), ocl_arg_i64(d.b_s2),
                           ocl_arg_i32((int32_t)d.ldb), ocl_arg_i32((int32_t)inner), ocl_arg_i32((int32_t)d.n),
                           ocl_arg_i32((int32_t)d.k), ocl_arg_mem(bt)};
        st = ocl_launch(ctx, "gemm", type, "gemm_transpose_b", 3, global, NULL, sizeof targs / sizeof targs[0], targs);
        if (st) return st;
        d.b = bt, d.b_off = 0, d.ldb = d.n, d.tb = false;
        d.b_s1 = shared ? 0 : inner * d.k * d.n;
        d.b_s2 = shared ? 0 : d.k * d.n;
    }
    const int64_t nbm = (d.m + GEMM_ROWS_CR - 1) / GEMM_ROWS_CR, nbn = (d.n + 15) / 16;
    if (nbm * nbn > INT32_MAX) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GEMM of more than 2^31 blocks");
    /* A band of row blocks covering about GEMM_ROWS_BAND_BYTES of A. */
    int64_t band = GEMM_ROWS_BAND_BYTES / (GEMM_ROWS_CR * (d.k > 0 ? d.k : 1) * (int64_t)sizeof(float));
    band = band < 1 ? 1 : band > nbm ? nbm : band;
    ocl_arg args[GEMM_N_ARGS + 1];
    uint32_t n = gemm_args(&d, args);
    args[n++] = ocl_arg_i32((int32_t)band);
    /* One work-item per group: a CPU driver spreads the groups over its
     * cores, and the kernel is written as wide vectors already. */
    size_t global[3] = {(size_t)(nbm * nbn), 1, (size_t)d.batch}, local[3] = {1, 1, 1};
    return ocl_launch(ctx, "gemm", type, "gemm_rows", 3, global, local, n, args);
}

prism_status ocl_gemm_run(ocl_ctx *ctx, const ocl_gemm_desc *d) {
    const char *type = ocl_compute_type(d->dtype);
    if (!type) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GEMM on dtype %d", (int)d->dtype);
    if (d->m <= 0 || d->n <= 0 || d->batch <= 0) return PRISM_OK;
    if (d->m > INT32_MAX || d->n > INT32_MAX || d->k > INT32_MAX || d->batch > INT32_MAX || d->lda > INT32_MAX ||
        d->ldb > INT32_MAX || d->ldc > INT32_MAX)
        return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "GEMM dimensions beyond 2^31");
    if (d->batch == 1 && !d->bias && !d->act && d->dtype == PRISM_DTYPE_FLOAT &&
        ocl_blas_sgemm(ctx, d->ta, d->tb, (size_t)d->m, (size_t)d->n, (size_t)d->k, d->alpha, d->a, (size_t)d->a_off,
                       (size_t)d->lda, d->b, (size_t)d->b_off, (size_t)d->ldb, 0.0f, d->c, (size_t)d->c_off,
                       (size_t)d->ldc))
        return PRISM_OK;
    if (ocl_cpu_kernels(ctx)) return run_rows(ctx, type, d);
    ocl_arg args[GEMM_N_ARGS + 1];
    const uint32_t n_args = gemm_args(d, args);
    if (d->m >= 32 && d->n >= 32) {
        size_t global[3] = {(size_t)(d->n + 63) / 64 * 16, (size_t)(d->m + 63) / 64 * 16, (size_t)d->batch};
        size_t local[3] = {16, 16, 1};
        return ocl_launch(ctx, "gemm", type, "gemm_tiled", 3, global, local, n_args, args);
    }
    size_t global[3] = {(size_t)d->n, (size_t)d->m, (size_t)d->batch};
    return ocl_launch(ctx, "gemm", type, "gemm_small", 3, global, NULL, n_args, args);
}

static prism_status prepare_gemm(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    return ocl_program_require(ctx, "gemm", ocl_compute_type(ocl_node_input_dtype(node, 0)));
}

/* ---- MatMul ----------------------------------------------------------------- */

static bool matmul_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!ocl_all_float(node, why, why_size)) return false;
    if (ocl_node_input_dtype(node, 0) != ocl_node_input_dtype(node, 1)) {
        snprintf(why, why_size, "mixed input dtypes");
        return false;
    }
    return true;
}

static prism_status matmul_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                               uint32_t n_in) {
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "MatMul needs two inputs");
    const ocl_tensor *a = in[0], *b = in[1];
    if (a->rank < 1 || b->rank < 1 || a->dtype != b->dtype)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "MatMul operands must have rank >= 1 and one dtype");
    int64_t M = a->rank == 1 ? 1 : a->dims[a->rank - 2], K = a->dims[a->rank - 1];
    int64_t Kb = b->rank == 1 ? b->dims[0] : b->dims[b->rank - 2], N = b->rank == 1 ? 1 : b->dims[b->rank - 1];
    if (K != Kb)
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "MatMul inner dims differ: %lld vs %lld", (long long)K, (long long)Kb);
    int32_t ra = a->rank > 2 ? a->rank - 2 : 0, rb = b->rank > 2 ? b->rank - 2 : 0, rbat;
    int64_t bat[OCL_MAX_RANK];
    if (!ocl_broadcast_shape(ra, a->dims, rb, b->dims, &rbat, bat))
        return ocl_fail(ctx, PRISM_ERR_RUNTIME, "MatMul batch dims do not broadcast");
    int64_t odims[OCL_MAX_RANK + 2];
    int32_t orank = 0;
    for (int32_t i = 0; i < rbat; i++) odims[orank++] = bat[i];
    if (a->rank > 1) odims[orank++] = M;
    if (b->rank > 1) odims[orank++] = N;
    if (orank > OCL_MAX_RANK) return ocl_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output rank above %d", OCL_MAX_RANK);
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, a->dtype, orank, odims, &y);
    if (st || !y->count) return st;
    /* Batch strides (elements) of A, B and C per output batch dim. */
    int64_t sa[OCL_MAX_RANK], sb[OCL_MAX_RANK], sc[OCL_MAX_RANK], dd[OCL_MAX_RANK];
    int64_t acc_a = M * K, acc_b = K * N, acc_c = M * N;
    for (int32_t i = rbat - 1; i >= 0; i--) {
        int32_t ia = i - (rbat - ra), ib = i - (rbat - rb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        sa[i] = da == 1 ? 0 : acc_a;
        sb[i] = db == 1 ? 0 : acc_b;
        sc[i] = acc_c;
        dd[i] = bat[i];
        acc_a *= da;
        acc_b *= db;
        acc_c *= bat[i];
    }
    /* Merge neighbouring batch dims that stride contiguously. */
    int32_t nb = 0;
    for (int32_t i = 0; i < rbat; i++) {
        if (dd[i] == 1) continue;
        if (nb && sa[nb - 1] == sa[i] * dd[i] && sb[nb - 1] == sb[i] * dd[i] && sc[nb - 1] == sc[i] * dd[i]) {
            dd[nb - 1] *= dd[i];
            sa[nb - 1] = sa[i];
            sb[nb - 1] = sb[i];
            sc[nb - 1] = sc[i];
            continue;
        }
        dd[nb] = dd[i], sa[nb] = sa[i], sb[nb] = sb[i], sc[nb] = sc[i];
        nb++;
    }
    ocl_gemm_desc d = {.dtype = a->dtype, .a = a->mem, .b = b->mem, .c = y->mem, .lda = K, .ldb = N, .ldc = N,
                       .m = M, .n = N, .k = K, .alpha = 1.0f, .batch = 1, .inner = 1,
                       .act = ocl_node_activation(node)};
    /* B shared by every batch and A contiguous: one tall GEMM. */
    if (nb == 1 && sb[0] == 0 && sa[0] == M * K) {
        d.m = M * dd[0];
        return ocl_gemm_run(ctx, &d);
    }
    if (nb == 0) return ocl_gemm_run(ctx, &d);
    /* Up to two batch levels in one launch; loop over the rest. */
    int32_t lo = nb >= 2 ? nb - 2 : 0;
    int64_t outer = 1;
    for (int32_t i = 0; i < lo; i++) outer *= dd[i];
    d.inner = dd[nb - 1];
    d.batch = nb >= 2 ? dd[nb - 2] * dd[nb - 1] : dd[0];
    d.a_s2 = sa[nb - 1], d.b_s2 = sb[nb - 1], d.c_s2 = sc[nb - 1];
    if (nb >= 2) d.a_s1 = sa[nb - 2], d.b_s1 = sb[nb - 2], d.c_s1 = sc[nb - 2];
    for (int64_t o = 0; o < outer && !st; o++) {
        int64_t rem = o, offa = 0, offb = 0, offc = 0;
        for (int32_t i = lo - 1; i >= 0; i--) {
            int64_t idx = rem % dd[i];
            rem /= dd[i];
            offa += idx * sa[i], offb += idx * sb[i], offc += idx * sc[i];
        }
        d.a_off = offa, d.b_off = offb, d.c_off = offc;
        st = ocl_gemm_run(ctx, &d);
    }
    return st;
}

const ocl_kernel_def ocl_op_matmul = {
    .supports = matmul_supports,
    .prepare = prepare_gemm,
    .run = matmul_run,
    .fuses_activation = true,
};

/* ---- Gemm ------------------------------------------------------------------- */

static bool gemm_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!ocl_all_float(node, why, why_size)) return false;
    for (uint32_t k = 0; k < 2; k++)
        if (ocl_node_input_rank(node, k) >= 0 && ocl_node_input_rank(node, k) != 2) {
            snprintf(why, why_size, "input %u is not 2-D", k);
            return false;
        }
    return true;
}

static prism_status gemm_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                             uint32_t n_in) {
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "Gemm needs A and B");
    const ocl_tensor *a = in[0], *b = in[1], *c = n_in > 2 ? in[2] : NULL;
    if (a->rank != 2 || b->rank != 2) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gemm A and B must be 2-D");
    bool ta = ocl_attr_int(node, "transA", 0) != 0, tb = ocl_attr_int(node, "transB", 0) != 0;
    int64_t M = ta ? a->dims[1] : a->dims[0], K = ta ? a->dims[0] : a->dims[1];
    int64_t Kb = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
    if (K != Kb) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gemm inner dims differ: %lld vs %lld", (long long)K, (long long)Kb);
    ocl_gemm_desc d = {.dtype = a->dtype, .a = a->mem, .b = b->mem, .lda = a->dims[1], .ldb = b->dims[1], .ldc = N,
                       .ta = ta, .tb = tb, .m = M, .n = N, .k = K, .batch = 1, .inner = 1,
                       .alpha = ocl_attr_float(node, "alpha", 1.0f), .beta = ocl_attr_float(node, "beta", 1.0f),
                       .act = ocl_node_activation(node)};
    if (c && c->count) {
        int64_t cr = c->rank >= 2 ? c->dims[c->rank - 2] : 1, cc = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if (c->rank > 2 || (cr != 1 && cr != M) || (cc != 1 && cc != N))
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "Gemm C does not broadcast to [%lld, %lld]", (long long)M,
                            (long long)N);
        d.bias = c->mem;
        d.bias_rs = cr == 1 ? 0 : cc;
        d.bias_cs = cc == 1 ? 0 : 1;
    }
    int64_t dims[2] = {M, N};
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, a->dtype, 2, dims, &y);
    if (st || !y->count) return st;
    d.c = y->mem;
    if (K == 0) { /* alpha * 0 + beta * C */
        d.k = 0;
    }
    return ocl_gemm_run(ctx, &d);
}

const ocl_kernel_def ocl_op_gemm = {
    .supports = gemm_supports,
    .prepare = prepare_gemm,
    .run = gemm_run,
    .fuses_activation = true,
};
