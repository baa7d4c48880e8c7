/*
 * batchnorm.c — BatchNormalization in inference mode (kernels/batchnorm.cl).
 * The training-mode outputs (running mean/var, opset 14's training_mode=1)
 * are declined so another provider takes those nodes.
 */
#include <stdio.h>

#include "ocl_nn.h"

static bool bn_supports(const ocl_node *node, char *why, size_t why_size) {
    if (!ocl_all_float(node, why, why_size)) return false;
    if (ocl_attr_int(node, "training_mode", 0) != 0 || ocl_node_has_output(node, 1) || ocl_node_has_output(node, 2)) {
        snprintf(why, why_size, "training mode is not supported");
        return false;
    }
    if (ocl_node_opset(node) < 7 && ocl_attr_int(node, "is_test", 1) == 0 && ocl_attr_has(node, "is_test")) {
        snprintf(why, why_size, "is_test=0 (training) is not supported");
        return false;
    }
    int32_t r = ocl_node_input_rank(node, 0);
    if (r >= 0 && (r < 2 || r > OCL_MAX_RANK)) {
        snprintf(why, why_size, "rank %d input", r);
        return false;
    }
    return true;
}

static prism_status bn_prepare(ocl_ctx *ctx, const ocl_node *node, void **state) {
    (void)state;
    return ocl_program_require(ctx, "batchnorm", ocl_compute_type(ocl_node_input_dtype(node, 0)));
}

static prism_status bn_run(ocl_ctx *ctx, const ocl_node *node, void *state, const ocl_tensor *const *in,
                           uint32_t n_in) {
    (void)state;
    if (n_in < 5) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "BatchNormalization needs 5 inputs");
    for (uint32_t k = 0; k < 5; k++)
        if (!in[k]) return ocl_fail(ctx, PRISM_ERR_INVALID_MODEL, "input %u is missing", k);
    const ocl_tensor *x = in[0];
    const char *type = ocl_compute_type(x->dtype);
    if (!type || x->rank < 2) return ocl_fail(ctx, PRISM_ERR_RUNTIME, "X must be float of rank >= 2");
    const int64_t C = x->dims[1];
    for (uint32_t k = 1; k < 5; k++)
        if (in[k]->count != C || in[k]->dtype != x->dtype)
            return ocl_fail(ctx, PRISM_ERR_RUNTIME, "input %u must hold %lld values of X's dtype", k, (long long)C);
    int64_t S = 1;
    for (int32_t i = 2; i < x->rank; i++) S *= x->dims[i];
    ocl_tensor *y;
    prism_status st = ocl_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (st || !y->count) return st;
    size_t global[3] = {(size_t)S, (size_t)C, (size_t)x->dims[0]};
    ocl_arg args[] = {ocl_arg_mem(x->mem),     ocl_arg_mem(in[1]->mem), ocl_arg_mem(in[2]->mem),
                      ocl_arg_mem(in[3]->mem), ocl_arg_mem(in[4]->mem), ocl_arg_mem(y->mem),
                      ocl_arg_i32((int32_t)C), ocl_arg_i64(S), ocl_arg_f32(ocl_attr_float(node, "epsilon", 1e-5f))};
    return ocl_launch(ctx, "batchnorm", type, "batchnorm", 3, global, NULL, sizeof args / sizeof args[0], args);
}

const ocl_kernel_def ocl_op_batchnorm = {.supports = bn_supports, .prepare = bn_prepare, .run = bn_run};
