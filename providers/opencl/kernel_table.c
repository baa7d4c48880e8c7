/* kernel_table.c — the op table, expanded from ocl_ops_nn.def (contractions,
 * pools, normalisation) and ocl_ops_tensor.def (elementwise and tensor ops). */
#include <string.h>

#include "ocl_internal.h"

#define OCL_OP(sym, op, domain, since) extern const ocl_kernel_def ocl_op_##sym;
#include "ocl_ops_nn.def"
#include "ocl_ops_tensor.def"
#undef OCL_OP

static const ocl_op_entry ocl_ops[] = {
#define OCL_OP(sym, op, domain, since) {op, domain, since, &ocl_op_##sym},
#include "ocl_ops_nn.def"
#include "ocl_ops_tensor.def"
#undef OCL_OP
    {NULL, NULL, 0, NULL}};

const ocl_op_entry *ocl_op_lookup(const char *domain, const char *op_type, int64_t opset) {
    if (!op_type) return NULL;
    if (!domain || !strcmp(domain, "ai.onnx")) domain = "";
    for (const ocl_op_entry *e = ocl_ops; e->op_type; e++)
        if (!strcmp(e->op_type, op_type) && !strcmp(e->domain, domain)) return opset >= e->since ? e : NULL;
    return NULL;
}

size_t ocl_op_count(void) { return sizeof ocl_ops / sizeof ocl_ops[0] - 1; }
