/* nn_geometry.h — spatial geometry shared by the Conv, ConvTranspose and
 * pooling kernels: the auto_pad attribute and the output size / padding of
 * one spatial dimension. Internal to the CPU provider. */
#ifndef PRISM_CPU_NN_GEOMETRY_H
#define PRISM_CPU_NN_GEOMETRY_H

#include "cpu_kernel.h"

/* Values of the auto_pad attribute. */
enum { NN_PAD_NOTSET, NN_PAD_SAME_UPPER, NN_PAD_SAME_LOWER, NN_PAD_VALID };

/* Bound on kernel_shape, strides, dilations and pads: far beyond any real
 * model, and it keeps every window computation far from int64 overflow. */
#define NN_ATTR_MAX ((int64_t)1 << 40)

/* Checks the values (not the lengths) of the window attributes: kernel_shape,
 * strides and dilations in [1, NN_ATTR_MAX], pads in [0, NN_ATTR_MAX]. Fails
 * with PRISM_ERR_INVALID_MODEL naming the first bad attribute. */
prism_status nn_check_window_attrs(cpu_ctx *ctx, const int64_t *kshape, size_t n_kshape, const int64_t *strides,
                                   size_t n_strides, const int64_t *dils, size_t n_dils, const int64_t *pads,
                                   size_t n_pads);

/* auto_pad string (NULL or empty = NOTSET) to NN_PAD_*; false if unknown. */
bool nn_parse_auto_pad(const char *s, int *out);

/* Output size of spatial dim `dim` (used in messages) for a window of k
 * taps, stride s and dilation d over `in` elements. *pb / *pe hold the
 * explicit pads on entry; SAME_* replaces them with the computed padding
 * (the odd one at the end for SAME_UPPER, at the start for SAME_LOWER),
 * VALID with zero. ceil_mode (NOTSET only) rounds the window count up, as
 * long as the last window starts inside the input or the start padding.
 * Fails (through cpu_fail) on overflow or a kernel larger than the padded
 * input. */
prism_status nn_out_size(cpu_ctx *ctx, int dim, int auto_pad, bool ceil_mode, int64_t in, int64_t k, int64_t s,
                         int64_t d, int64_t *pb, int64_t *pe, int64_t *out);

#endif
