/* nn_geometry.c — see nn_geometry.h. */
#include "nn_geometry.h"

#include <string.h>

bool nn_parse_auto_pad(const char *s, int *out) {
    if (!s || !*s || !strcmp(s, "NOTSET")) *out = NN_PAD_NOTSET;
    else if (!strcmp(s, "SAME_UPPER")) *out = NN_PAD_SAME_UPPER;
    else if (!strcmp(s, "SAME_LOWER")) *out = NN_PAD_SAME_LOWER;
    else if (!strcmp(s, "VALID")) *out = NN_PAD_VALID;
    else return false;
    return true;
}

prism_status nn_check_window_attrs(cpu_ctx *ctx, const int64_t *kshape, size_t n_kshape, const int64_t *strides,
                                   size_t n_strides, const int64_t *dils, size_t n_dils, const int64_t *pads,
                                   size_t n_pads) {
    for (size_t i = 0; i < n_kshape; i++)
        if (kshape[i] < 1 || kshape[i] > NN_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "kernel_shape values must be in [1, 2^40]");
    for (size_t i = 0; i < n_strides; i++)
        if (strides[i] < 1 || strides[i] > NN_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "strides must be in [1, 2^40]");
    for (size_t i = 0; i < n_dils; i++)
        if (dils[i] < 1 || dils[i] > NN_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "dilations must be in [1, 2^40]");
    for (size_t i = 0; i < n_pads; i++)
        if (pads[i] < 0 || pads[i] > NN_ATTR_MAX)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "pads must be in [0, 2^40]");
    return PRISM_OK;
}

prism_status nn_out_size(cpu_ctx *ctx, int dim, int auto_pad, bool ceil_mode, int64_t in, int64_t k, int64_t s,
                         int64_t d, int64_t *pb, int64_t *pe, int64_t *out) {
    int64_t dk; /* extent of the dilated kernel */
    if (!cpu_mul_ok(k - 1, d, &dk) || !cpu_add_ok(dk, 1, &dk))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dilated kernel size overflows");
    if (auto_pad == NN_PAD_SAME_UPPER || auto_pad == NN_PAD_SAME_LOWER) {
        const int64_t o = in / s + (in % s != 0);
        int64_t total = 0;
        if (o > 0) {
            if (!cpu_add_ok((o - 1) * s, dk, &total)) /* (o-1)*s < in: no overflow */
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "padding size overflows");
            total -= in;
            if (total < 0) total = 0;
        }
        /* SAME_UPPER puts the odd padding at the end, SAME_LOWER at the start. */
        *pb = auto_pad == NN_PAD_SAME_UPPER ? total / 2 : total - total / 2;
        *pe = total - *pb;
        *out = o;
        return PRISM_OK;
    }
    if (auto_pad == NN_PAD_VALID) *pb = *pe = 0;
    int64_t padded;
    if (!cpu_add_ok(in, *pb, &padded) || !cpu_add_ok(padded, *pe, &padded))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "padded size overflows");
    if (padded < dk)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                        "dilated kernel (%lld) is larger than padded input (%lld) in spatial dim %d", (long long)dk,
                        (long long)padded, dim);
    if (ceil_mode && auto_pad == NN_PAD_NOTSET) {
        int64_t o = (padded - dk) / s + ((padded - dk) % s != 0) + 1;
        /* The last window must start inside the input or the start padding. */
        if ((o - 1) * s >= in + *pb) o--;
        *out = o;
    } else {
        *out = (padded - dk) / s + 1;
    }
    return PRISM_OK;
}
