/*
 * geometry.c — sliding-window attributes and output sizes shared by Conv
 * and the pools, following the ONNX rules (as the CPU provider does):
 *  - explicit pads: out = floor or ceil((in + pb + pe - dk) / s) + 1 with
 *    dk = (k - 1) * d + 1; with ceil_mode a last window that would start in
 *    the end padding is dropped;
 *  - SAME_UPPER / SAME_LOWER: out = ceil(in / s), total pad
 *    max(0, (out - 1) * s + dk - in), the odd one at the end (UPPER) or the
 *    start (LOWER); VALID: no pad, out = ceil((in - dk + 1) / s).
 */
#include <stdio.h>
#include <string.h>

#include "ocl_nn.h"

bool ocl_window_parse(const ocl_node *node, int32_t sp, bool pool, ocl_window *w, char *why, size_t why_size) {
    memset(w, 0, sizeof *w);
    if (sp < 1 || sp > OCL_MAX_SPATIAL) {
        snprintf(why, why_size, "%d spatial dims (1 to %d supported)", sp, OCL_MAX_SPATIAL);
        return false;
    }
    w->sp = sp;
    const char *ap = ocl_attr_string(node, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET")) w->auto_pad = 0;
    else if (!strcmp(ap, "SAME_UPPER")) w->auto_pad = 1;
    else if (!strcmp(ap, "SAME_LOWER")) w->auto_pad = 2;
    else if (!strcmp(ap, "VALID")) w->auto_pad = 3;
    else {
        snprintf(why, why_size, "unknown auto_pad '%s'", ap);
        return false;
    }
    w->ceil_mode = pool && ocl_attr_int(node, "ceil_mode", 0) != 0;
    const int64_t *v;
    size_t n = ocl_attr_ints(node, "kernel_shape", &v);
    if (n) {
        if (n != (size_t)sp) goto bad;
        for (int32_t i = 0; i < sp; i++) w->k[i] = v[i];
        w->has_kshape = true;
    } else if (pool) {
        snprintf(why, why_size, "kernel_shape is required");
        return false;
    }
    n = ocl_attr_ints(node, "strides", &v);
    if (n && n != (size_t)sp) goto bad;
    for (int32_t i = 0; i < sp; i++) w->s[i] = n ? v[i] : 1;
    n = ocl_attr_ints(node, "dilations", &v);
    if (n && n != (size_t)sp) goto bad;
    for (int32_t i = 0; i < sp; i++) w->d[i] = n ? v[i] : 1;
    n = ocl_attr_ints(node, "pads", &v);
    if (n && n != (size_t)(2 * sp)) goto bad;
    for (int32_t i = 0; i < 2 * sp; i++) w->pads[i] = n ? v[i] : 0;
    for (int32_t i = 0; i < sp; i++) {
        if (w->s[i] < 1 || w->s[i] > (1 << 20) || w->d[i] < 1 || w->d[i] > (1 << 20) ||
            (w->has_kshape && (w->k[i] < 1 || w->k[i] > (1 << 20))) || w->pads[i] < 0 || w->pads[i] > (1 << 20) ||
            w->pads[i + sp] < 0 || w->pads[i + sp] > (1 << 20)) {
            snprintf(why, why_size, "kernel_shape/strides/dilations/pads out of range");
            return false;
        }
    }
    return true;
bad:
    snprintf(why, why_size, "kernel_shape/strides/dilations/pads do not match %d spatial dims", sp);
    return false;
}

bool ocl_window_out(const ocl_window *w, int32_t i, int64_t in, int64_t k, int64_t *pb, int64_t *pe, int64_t *out) {
    const int64_t s = w->s[i], dk = (k - 1) * w->d[i] + 1;
    if (w->auto_pad == 1 || w->auto_pad == 2) {
        *out = (in + s - 1) / s;
        int64_t total = (*out - 1) * s + dk - in;
        if (total < 0) total = 0;
        *pb = w->auto_pad == 1 ? total / 2 : total - total / 2;
        *pe = total - *pb;
    } else if (w->auto_pad == 3) {
        *pb = *pe = 0;
        *out = in - dk < 0 ? 0 : (in - dk) / s + 1;
    } else {
        *pb = w->pads[i];
        *pe = w->pads[i + w->sp];
        int64_t span = in + *pb + *pe - dk;
        if (span < 0) return false;
        *out = (w->ceil_mode ? (span + s - 1) / s : span / s) + 1;
        if (w->ceil_mode && (*out - 1) * s >= in + *pb) (*out)--;
    }
    return *out > 0;
}
