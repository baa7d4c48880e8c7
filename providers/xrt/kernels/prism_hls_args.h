/*
 * prism_hls_args.h — one table describing every kernel of prism_hls.h and
 * its arguments, in prototype order: the single source from which the
 * xclbin writer produces the EMBEDDED_METADATA, IP_LAYOUT and CONNECTIVITY
 * sections, and which the unit tests check against prism_hls.h and against
 * the interface pragmas of the kernel sources.
 *
 * Ownership: everything returned points into static, read-only data that
 * lives as long as the program; never free it. Threading: read-only, safe
 * from any thread. Errors: lookups return NULL / -1 when nothing matches.
 */
#ifndef PRISM_HLS_ARGS_H
#define PRISM_HLS_ARGS_H

/* First AXI-Lite register of the first argument; registers below it are
 * the ap_ctrl_hs control, global and IP interrupt registers. */
#define PRISM_HLS_ARG_BASE_OFFSET 0x10
/* Each argument takes one 8-byte slot of the register map: a pointer fills
 * it, a 32-bit scalar is padded to it. */
#define PRISM_HLS_ARG_SLOT 8
/* Name of the AXI-Lite control port that carries every argument register. */
#define PRISM_HLS_CONTROL_PORT "S_AXI_CONTROL"

typedef struct prism_hls_arg_desc {
    const char *name;   /* as in prism_hls.h */
    const char *type;   /* C type as the xclbin metadata spells it: "float*", "int" or "float" */
    int is_buffer;      /* 1: global-memory pointer (m_axi), 0: scalar (s_axilite) */
    unsigned size;      /* bytes of the host value: 8 for a pointer, 4 for int and float */
    const char *bundle; /* m_axi bundle ("gmem0", ...) for a buffer, NULL for a scalar */
} prism_hls_arg_desc;

typedef struct prism_hls_kernel_desc {
    const char *name; /* C function name, which is also the HLS kernel name */
    int n_args;
    const prism_hls_arg_desc *args;
} prism_hls_kernel_desc;

/* The kernels, in the order the xclbin lists them; *count receives how many. */
const prism_hls_kernel_desc *prism_hls_kernel_table(int *count);

/* The kernel named name, or NULL. */
const prism_hls_kernel_desc *prism_hls_find_kernel(const char *name);

/* Index of the argument named name in kernel k, or -1. */
int prism_hls_find_arg(const prism_hls_kernel_desc *k, const char *name);

/* AXI-Lite register offset of argument index of kernel k (-1 when index is
 * out of range). */
long prism_hls_arg_offset(const prism_hls_kernel_desc *k, int index);

#endif /* PRISM_HLS_ARGS_H */
