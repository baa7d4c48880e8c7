/* kernel_table.c — the op table, expanded from cpu_ops.def. */
#include <string.h>

#include "cpu_internal.h"

#define CPU_OP(sym, op, domain, since) extern const cpu_kernel_def cpu_op_##sym;
#include "cpu_ops.def"
#undef CPU_OP

static const cpu_kernel_entry cpu_kernels[] = {
#define CPU_OP(sym, op, domain, since) {op, domain, since, &cpu_op_##sym},
#include "cpu_ops.def"
#undef CPU_OP
    {NULL, NULL, 0, NULL}};

const cpu_kernel_entry *cpu_kernel_lookup(const char *domain, const char *op_type, int64_t opset) {
    if (!domain || !op_type) return NULL;
    for (const cpu_kernel_entry *e = cpu_kernels; e->op_type; e++)
        if (!strcmp(e->op_type, op_type) && !strcmp(e->domain, domain)) return opset >= e->since ? e : NULL;
    return NULL;
}

size_t cpu_kernel_count(void) { return sizeof cpu_kernels / sizeof cpu_kernels[0] - 1; }
const cpu_kernel_entry *cpu_kernel_at(size_t i) { return i < cpu_kernel_count() ? &cpu_kernels[i] : NULL; }
