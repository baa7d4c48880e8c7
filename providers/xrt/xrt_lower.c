/*
 * xrt_lower.c — each ONNX op as calls of the four HLS kernels, the same for
 * the XRT and csim backends.
 *
 * Conv: per image, im2col into a column matrix, then one batched GEMM with
 * batch = groups (a grouped or depthwise convolution is one launch); a 1x1
 * stride-1 unpadded Conv skips im2col (the image already is the column
 * matrix). Gemm/MatMul: one GEMM (MatMul with a 2-D B folds the batch into
 * rows; equal-rank batches use the GEMM's batch). Bias rides in the GEMM,
 * activations in the GEMM or element-wise kernel. Pools: one launch over
 * all N*C planes. Data movement (views, Concat) is device-side buffer
 * copies through the backend, never a trip through host memory.
 *
 * Shapes are re-checked here against the kernels' int arguments: the view's
 * shapes at capability time may be symbolic.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "prism_hls.h"
#include "xrt_internal.h"

prism_status xr_launch(prism_instance *inst, const xk_call *call, char *err, size_t n) {
    const xk_binding *b = &inst->bind[call->kernel];
    if (!xk_call_complete(call)) {
        snprintf(err, n, "internal: call of %s does not set every argument", xk_name(call->kernel));
        return PRISM_ERR_INTERNAL;
    }
    if (!b->ok || !b->meta) {
        snprintf(err, n, "%s", b->why);
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xk_value by_id[XK_MAX_ARGS];
    memset(by_id, 0, sizeof by_id);
    xk_call_order(call, b, by_id);
    return inst->be->ops->launch(inst->be, call->kernel, b, by_id, err, n);
}

static bool fits(int64_t v) { return v >= 0 && v <= PRISM_HLS_MAX_DIM && v <= INT_MAX; }

static int64_t prod(const int64_t *d, int32_t from, int32_t to) {
    int64_t p = 1;
    for (int32_t i = from; i < to; i++) p *= d[i];
    return p;
}

/* Broadcast form of an element-wise step; *swap when a and b trade places. */
static bool elt_form(const xr_step *s, const xr_tensor *a, const xr_tensor *b, bool *swap, int *mode, int64_t *inner,
                     int64_t *channels) {
    *swap = false;
    if (xo_bcast(a->rank, a->dims, b->rank, b->dims, mode, inner, channels)) return true;
    if ((s->op == XO_ADD || s->op == XO_MUL) && xo_bcast(b->rank, b->dims, a->rank, a->dims, mode, inner, channels)) {
        *swap = true;
        return true;
    }
    return false;
}

/* ---- data movement: shapes ------------------------------------------------------- */

/* Reshape's target shape against the input (ONNX rules: 0 copies the input's
 * dim unless allowzero, one -1 takes what is left). */
static bool plan_reshape(const xo_params *p, const xr_tensor *a, int32_t *rank, int64_t *dims, char *err, size_t n) {
    int64_t known = 1;
    int32_t infer = -1;
    for (int32_t i = 0; i < p->n_shape; i++) {
        int64_t v = p->shape[i];
        if (v == 0 && !p->allowzero) {
            if (i >= a->rank) return snprintf(err, n, "shape value 0 at %d copies no input dim", i), false;
            v = a->dims[i];
        }
        if (v > 0 && known > (INT64_C(1) << 40) / v) return snprintf(err, n, "the target shape is huge"), false;
        if (v == -1) infer = i;
        else known *= v;
        dims[i] = v;
    }
    if (infer >= 0) {
        if (!known || a->count % known)
            return snprintf(err, n, "%lld elements do not reshape with -1 and %lld", (long long)a->count,
                            (long long)known), false;
        dims[infer] = a->count / known;
    } else if (known != a->count) {
        return snprintf(err, n, "%lld elements do not fill the target shape (%lld)", (long long)a->count,
                        (long long)known), false;
    }
    *rank = p->n_shape;
    return true;
}

/* Squeeze and Unsqueeze: which axes of the result (Unsqueeze) or input
 * (Squeeze) the constant axes name, each once. */
static bool axes_mask(const xo_params *p, int32_t r, bool *mask, char *err, size_t n) {
    memset(mask, 0, XR_MAX_RANK * sizeof *mask);
    for (int32_t i = 0; i < p->n_axes; i++) {
        int64_t x = p->axes[i] < 0 ? p->axes[i] + r : p->axes[i];
        if (x < 0 || x >= r || mask[x])
            return snprintf(err, n, "axis %lld is outside rank %d or repeated", (long long)p->axes[i], r), false;
        mask[x] = true;
    }
    return true;
}

static bool plan_move(const xr_step *s, const xr_tensor *const *in, int32_t *rank, int64_t *dims, char *err,
                      size_t n) {
    const xr_tensor *a = in[0];
    const xo_params *p = &s->p;
    bool mask[XR_MAX_RANK];
    switch (s->op) {
    case XO_IDENTITY:
        *rank = a->rank;
        memcpy(dims, a->dims, (size_t)a->rank * sizeof *dims);
        return true;
    case XO_FLATTEN: {
        int64_t axis = p->axis < 0 ? p->axis + a->rank : p->axis;
        if (axis < 0 || axis > a->rank)
            return snprintf(err, n, "axis %lld is outside rank %d", (long long)p->axis, a->rank), false;
        *rank = 2;
        dims[0] = prod(a->dims, 0, (int32_t)axis);
        dims[1] = prod(a->dims, (int32_t)axis, a->rank);
        return true;
    }
    case XO_RESHAPE: return plan_reshape(p, a, rank, dims, err, n);
    case XO_SQUEEZE: {
        if (!axes_mask(p, a->rank, mask, err, n)) return false;
        *rank = 0;
        for (int32_t i = 0; i < a->rank; i++) {
            bool drop = p->n_axes ? mask[i] : a->dims[i] == 1;
            if (drop && a->dims[i] != 1)
                return snprintf(err, n, "axis %d has size %lld, not 1", i, (long long)a->dims[i]), false;
            if (!drop) dims[(*rank)++] = a->dims[i];
        }
        return true;
    }
    case XO_UNSQUEEZE: {
        int32_t r = a->rank + p->n_axes;
        if (r > XR_MAX_RANK) return snprintf(err, n, "the result's rank %d is above %d", r, XR_MAX_RANK), false;
        if (!axes_mask(p, r, mask, err, n)) return false;
        for (int32_t i = 0, j = 0; i < r; i++) dims[i] = mask[i] ? 1 : a->dims[j++];
        *rank = r;
        return true;
    }
    case XO_CONCAT: {
        int64_t axis = p->axis < 0 ? p->axis + a->rank : p->axis;
        if (axis < 0 || axis >= a->rank)
            return snprintf(err, n, "axis %lld is outside rank %d", (long long)p->axis, a->rank), false;
        *rank = a->rank;
        memcpy(dims, a->dims, (size_t)a->rank * sizeof *dims);
        dims[axis] = 0;
        for (uint32_t k = 0; k < s->n_in; k++) {
            const xr_tensor *t = in[k];
            if (!t || t->rank != a->rank) return snprintf(err, n, "input %u is missing or of another rank", k), false;
            for (int32_t i = 0; i < a->rank; i++)
                if (i != axis && t->dims[i] != a->dims[i])
                    return snprintf(err, n, "input %u has dim %d = %lld, input 0 %lld", k, i, (long long)t->dims[i],
                                    (long long)a->dims[i]), false;
            dims[axis] += t->dims[axis];
        }
        return true;
    }
    default: break;
    }
    return snprintf(err, n, "no lowering for this op"), false;
}

bool xr_plan(const xr_step *s, const xr_tensor *const *in, int32_t *rank, int64_t *dims, char *err, size_t n) {
    const xr_tensor *a = in[0], *b = in[1];
    if (s->op >= XO_IDENTITY) return plan_move(s, in, rank, dims, err, n);
    switch (s->op) {
    case XO_CONV: {
        const xo_params *p = &s->p;
        if (a->rank != 4 || b->rank != 4) return snprintf(err, n, "Conv input and weights must be 4-D"), false;
        if (b->dims[2] != p->kernel[0] || b->dims[3] != p->kernel[1] || b->dims[1] * p->group != a->dims[1] ||
            b->dims[0] % p->group)
            return snprintf(err, n, "weights do not match the input channels or kernel shape"), false;
        if (in[2] && in[2]->count != b->dims[0]) return snprintf(err, n, "bias has the wrong length"), false;
        *rank = 4;
        dims[0] = a->dims[0];
        dims[1] = b->dims[0];
        for (int i = 0; i < 2; i++) {
            int64_t pb, pe;
            if (!xo_spatial(p, i, a->dims[2 + i], b->dims[2 + i], &dims[2 + i], &pb, &pe) || dims[2 + i] < 1)
                return snprintf(err, n, "the window does not fit the input"), false;
        }
        return true;
    }
    case XO_GEMM: {
        if (a->rank != 2 || b->rank != 2) return snprintf(err, n, "Gemm operands must be 2-D"), false;
        int64_t m = s->p.trans_a ? a->dims[1] : a->dims[0], k = s->p.trans_a ? a->dims[0] : a->dims[1];
        int64_t kb = s->p.trans_b ? b->dims[1] : b->dims[0], nn = s->p.trans_b ? b->dims[0] : b->dims[1];
        if (k != kb) return snprintf(err, n, "Gemm inner dimensions differ (%lld, %lld)", (long long)k, (long long)kb), false;
        const xr_tensor *c = in[2];
        if (c) {
            bool ok = c->count == 1 || (c->rank == 1 && c->dims[0] == nn) ||
                      (c->rank == 2 && c->dims[1] == nn && (c->dims[0] == m || c->dims[0] == 1)) ||
                      (c->rank == 2 && c->dims[0] == m && c->dims[1] == 1);
            if (!ok) return snprintf(err, n, "Gemm C does not broadcast to [%lld, %lld]", (long long)m, (long long)nn), false;
        }
        *rank = 2;
        dims[0] = m;
        dims[1] = nn;
        return true;
    }
    case XO_MATMUL: {
        if (a->rank < 2 || b->rank < 2) return snprintf(err, n, "MatMul operands must be at least 2-D"), false;
        if (a->dims[a->rank - 1] != b->dims[b->rank - 2]) return snprintf(err, n, "MatMul inner dimensions differ"), false;
        if (b->rank != 2) {
            if (a->rank != b->rank) return snprintf(err, n, "batched MatMul needs equal ranks"), false;
            for (int32_t i = 0; i < a->rank - 2; i++)
                if (a->dims[i] != b->dims[i]) return snprintf(err, n, "MatMul batch dimensions differ"), false;
        }
        *rank = a->rank;
        memcpy(dims, a->dims, (size_t)a->rank * sizeof *dims);
        dims[a->rank - 1] = b->dims[b->rank - 1];
        return true;
    }
    case XO_ADD:
    case XO_SUB:
    case XO_MUL:
    case XO_DIV: {
        bool swap;
        int mode;
        int64_t inner, ch;
        if (!elt_form(s, a, b, &swap, &mode, &inner, &ch))
            return snprintf(err, n, "the broadcast is not same-shape, scalar or per-channel"), false;
        const xr_tensor *big = swap ? b : a;
        *rank = big->rank;
        memcpy(dims, big->dims, (size_t)big->rank * sizeof *dims);
        return true;
    }
    case XO_RELU:
    case XO_CLIP:
        *rank = a->rank;
        memcpy(dims, a->dims, (size_t)a->rank * sizeof *dims);
        return true;
    case XO_MAXPOOL:
    case XO_AVGPOOL:
    case XO_GAP: {
        if (a->rank != 4) return snprintf(err, n, "pooling input must be 4-D"), false;
        xo_params p = s->p;
        if (s->op == XO_GAP) {
            p.kernel[0] = a->dims[2];
            p.kernel[1] = a->dims[3];
            if (p.kernel[0] > PRISM_HLS_MAX_POOL || p.kernel[1] > PRISM_HLS_MAX_POOL)
                return snprintf(err, n, "a %lldx%lld plane exceeds the pooling window limit", (long long)a->dims[2],
                                (long long)a->dims[3]), false;
        }
        *rank = 4;
        dims[0] = a->dims[0];
        dims[1] = a->dims[1];
        for (int i = 0; i < 2; i++) {
            int64_t pb, pe;
            if (!xo_spatial(&p, i, a->dims[2 + i], p.kernel[i], &dims[2 + i], &pb, &pe) || dims[2 + i] < 1)
                return snprintf(err, n, "the window does not fit the input"), false;
        }
        return true;
    }
    default: break;
    }
    return snprintf(err, n, "no lowering for this op"), false;
}

static void set_act(xk_call *c, const xr_step *s) {
    xk_set_int(c, "act", s->act);
    xk_set_float(c, "act_lo", s->act_lo);
    xk_set_float(c, "act_hi", s->act_hi);
}

static prism_status lower_conv(prism_instance *inst, const xr_step *s, const xr_tensor *const *in,
                               const xr_tensor *y, char *err, size_t n) {
    const xr_tensor *x = in[0], *w = in[1], *bias = in[2];
    const xo_params *p = &s->p;
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t M = w->dims[0], G = p->group, kh = w->dims[2], kw = w->dims[3];
    int64_t OH = y->dims[2], OW = y->dims[3], OHW = OH * OW, K = (C / G) * kh * kw;
    int64_t pads[4], o;
    xo_spatial(p, 0, H, kh, &o, &pads[0], &pads[2]);
    xo_spatial(p, 1, W, kw, &o, &pads[1], &pads[3]);
    bool direct = kh == 1 && kw == 1 && p->strides[0] == 1 && p->strides[1] == 1 && !pads[0] && !pads[1] &&
                  !pads[2] && !pads[3];
    if (!fits(C * H * W) || !fits(K * G * OHW) || !fits(M * OHW) || !fits(M * K) || !fits(pads[0]) || !fits(pads[1])) {
        snprintf(err, n, "Conv sizes exceed the kernels' int arguments");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    void *col = NULL;
    prism_status st = PRISM_OK;
    if (!direct) st = inst->be->ops->alloc(inst->be, (size_t)(K * G * OHW) * sizeof(float), &col, err, n);
    for (int64_t img = 0; img < N && !st; img++) {
        size_t xoff = (size_t)(img * C * H * W) * sizeof(float), yoff = (size_t)(img * M * OHW) * sizeof(float);
        xk_call c;
        if (!direct) {
            xk_call_init(&c, XK_IM2COL);
            xk_set_buf(&c, "x", x->buf, xoff);
            xk_set_buf(&c, "col", col, 0);
            xk_set_int(&c, "channels", C);
            xk_set_int(&c, "height", H);
            xk_set_int(&c, "width", W);
            xk_set_int(&c, "kernel_h", kh);
            xk_set_int(&c, "kernel_w", kw);
            xk_set_int(&c, "pad_t", pads[0]);
            xk_set_int(&c, "pad_l", pads[1]);
            xk_set_int(&c, "stride_h", p->strides[0]);
            xk_set_int(&c, "stride_w", p->strides[1]);
            xk_set_int(&c, "dil_h", p->dilations[0]);
            xk_set_int(&c, "dil_w", p->dilations[1]);
            xk_set_int(&c, "out_h", OH);
            xk_set_int(&c, "out_w", OW);
            st = xr_launch(inst, &c, err, n);
            if (st) break;
        }
        xk_call_init(&c, XK_GEMM);
        xk_set_buf(&c, "a", w->buf, 0);
        xk_set_buf(&c, "b", direct ? x->buf : col, direct ? xoff : 0);
        xk_set_buf(&c, "bias", bias ? bias->buf : w->buf, 0); /* a valid buffer even when unused */
        xk_set_buf(&c, "c", y->buf, yoff);
        xk_set_int(&c, "batch", G);
        xk_set_int(&c, "m", M / G);
        xk_set_int(&c, "n", OHW);
        xk_set_int(&c, "k", K);
        xk_set_int(&c, "lda", K);
        xk_set_int(&c, "ldb", OHW);
        xk_set_int(&c, "ldc", OHW);
        xk_set_int(&c, "stride_a", (M / G) * K);
        xk_set_int(&c, "stride_b", K * OHW);
        xk_set_int(&c, "stride_c", (M / G) * OHW);
        xk_set_int(&c, "stride_bias", M / G);
        xk_set_int(&c, "trans_a", 0);
        xk_set_int(&c, "trans_b", 0);
        xk_set_float(&c, "alpha", 1.0);
        xk_set_float(&c, "beta", 1.0);
        xk_set_int(&c, "bias_mode", bias ? PRISM_HLS_BIAS_ROW : PRISM_HLS_BIAS_NONE);
        set_act(&c, s);
        st = xr_launch(inst, &c, err, n);
    }
    if (col) inst->be->ops->release(inst->be, col);
    return st;
}

static prism_status lower_gemm(prism_instance *inst, const xr_step *s, const xr_tensor *const *in,
                               const xr_tensor *y, char *err, size_t n) {
    const xr_tensor *a = in[0], *b = in[1], *bias = s->op == XO_GEMM ? in[2] : NULL;
    int64_t M, N, K, batch = 1, lda, ldb;
    int ta = 0, tb = 0;
    if (s->op == XO_GEMM) {
        ta = s->p.trans_a;
        tb = s->p.trans_b;
        M = y->dims[0];
        N = y->dims[1];
        K = ta ? a->dims[0] : a->dims[1];
    } else {
        K = a->dims[a->rank - 1];
        N = b->dims[b->rank - 1];
        if (b->rank == 2) {
            M = prod(a->dims, 0, a->rank - 1);
        } else {
            M = a->dims[a->rank - 2];
            batch = prod(a->dims, 0, a->rank - 2);
        }
    }
    lda = ta ? M : K;
    ldb = tb ? K : N;
    int mode = PRISM_HLS_BIAS_NONE;
    if (bias) {
        if (bias->count == 1) mode = PRISM_HLS_BIAS_SCALAR;
        else if (bias->rank == 2 && bias->dims[1] == 1) mode = PRISM_HLS_BIAS_ROW;
        else if (bias->rank == 2 && bias->dims[0] == M && M != 1) mode = PRISM_HLS_BIAS_FULL;
        else mode = PRISM_HLS_BIAS_COL;
    }
    if (!fits(batch * M * K) || !fits(batch * K * N) || !fits(batch * M * N) || !fits(M * N)) {
        snprintf(err, n, "GEMM sizes exceed the kernels' int arguments");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xk_call c;
    xk_call_init(&c, XK_GEMM);
    xk_set_buf(&c, "a", a->buf, 0);
    xk_set_buf(&c, "b", b->buf, 0);
    xk_set_buf(&c, "bias", bias ? bias->buf : a->buf, 0);
    xk_set_buf(&c, "c", y->buf, 0);
    xk_set_int(&c, "batch", batch);
    xk_set_int(&c, "m", M);
    xk_set_int(&c, "n", N);
    xk_set_int(&c, "k", K);
    xk_set_int(&c, "lda", lda);
    xk_set_int(&c, "ldb", ldb);
    xk_set_int(&c, "ldc", N);
    xk_set_int(&c, "stride_a", M * K);
    xk_set_int(&c, "stride_b", b->rank == 2 ? 0 : K * N);
    xk_set_int(&c, "stride_c", M * N);
    xk_set_int(&c, "stride_bias", 0);
    xk_set_int(&c, "trans_a", ta);
    xk_set_int(&c, "trans_b", tb);
    xk_set_float(&c, "alpha", s->op == XO_GEMM ? s->p.alpha : 1.0f);
    xk_set_float(&c, "beta", s->op == XO_GEMM ? s->p.beta : 0.0f);
    xk_set_int(&c, "bias_mode", mode);
    set_act(&c, s);
    return xr_launch(inst, &c, err, n);
}

static prism_status lower_eltwise(prism_instance *inst, const xr_step *s, const xr_tensor *const *in,
                                  const xr_tensor *y, char *err, size_t n) {
    static const int codes[] = {[XO_ADD] = PRISM_HLS_OP_ADD, [XO_SUB] = PRISM_HLS_OP_SUB, [XO_MUL] = PRISM_HLS_OP_MUL,
                                [XO_DIV] = PRISM_HLS_OP_DIV};
    const xr_tensor *a = in[0], *b = in[0];
    int op = PRISM_HLS_OP_NONE, mode = PRISM_HLS_B_SAME;
    int64_t inner = 1, ch = 1;
    if (s->op <= XO_DIV) {
        bool swap;
        b = in[1];
        if (!elt_form(s, a, b, &swap, &mode, &inner, &ch)) {
            snprintf(err, n, "the broadcast is not same-shape, scalar or per-channel");
            return PRISM_ERR_RUNTIME;
        }
        if (swap) {
            const xr_tensor *t = a;
            a = b;
            b = t;
        }
        op = codes[s->op];
    }
    if (!fits(y->count) || !fits(inner) || !fits(ch)) {
        snprintf(err, n, "more elements than the kernels' int arguments take");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xk_call c;
    xk_call_init(&c, XK_ELTWISE);
    xk_set_buf(&c, "a", a->buf, 0);
    xk_set_buf(&c, "b", b->buf, 0);
    xk_set_buf(&c, "y", y->buf, 0);
    xk_set_int(&c, "n", y->count);
    xk_set_int(&c, "op", op);
    xk_set_int(&c, "b_mode", mode);
    xk_set_int(&c, "b_inner", inner);
    xk_set_int(&c, "b_channels", ch);
    set_act(&c, s);
    return xr_launch(inst, &c, err, n);
}

static prism_status lower_pool(prism_instance *inst, const xr_step *s, const xr_tensor *x, const xr_tensor *y,
                               char *err, size_t n) {
    xo_params p = s->p;
    if (s->op == XO_GAP) {
        p.kernel[0] = x->dims[2];
        p.kernel[1] = x->dims[3];
    }
    int64_t pads[4], o;
    xo_spatial(&p, 0, x->dims[2], p.kernel[0], &o, &pads[0], &pads[2]);
    xo_spatial(&p, 1, x->dims[3], p.kernel[1], &o, &pads[1], &pads[3]);
    if (!fits(x->count)) {
        snprintf(err, n, "more elements than the kernels' int arguments take");
        return PRISM_ERR_NOT_SUPPORTED;
    }
    xk_call c;
    xk_call_init(&c, XK_POOL);
    xk_set_buf(&c, "x", x->buf, 0);
    xk_set_buf(&c, "y", y->buf, 0);
    xk_set_int(&c, "planes", x->dims[0] * x->dims[1]);
    xk_set_int(&c, "height", x->dims[2]);
    xk_set_int(&c, "width", x->dims[3]);
    xk_set_int(&c, "kernel_h", p.kernel[0]);
    xk_set_int(&c, "kernel_w", p.kernel[1]);
    xk_set_int(&c, "pad_t", pads[0]);
    xk_set_int(&c, "pad_l", pads[1]);
    xk_set_int(&c, "pad_b", pads[2]);
    xk_set_int(&c, "pad_r", pads[3]);
    xk_set_int(&c, "stride_h", p.strides[0]);
    xk_set_int(&c, "stride_w", p.strides[1]);
    xk_set_int(&c, "dil_h", p.dilations[0]);
    xk_set_int(&c, "dil_w", p.dilations[1]);
    xk_set_int(&c, "out_h", y->dims[2]);
    xk_set_int(&c, "out_w", y->dims[3]);
    xk_set_int(&c, "mode", s->op == XO_MAXPOOL ? PRISM_HLS_POOL_MAX : PRISM_HLS_POOL_AVG);
    xk_set_int(&c, "count_include_pad", p.count_include_pad);
    return xr_launch(inst, &c, err, n);
}

/* ---- data movement: device-side copies ------------------------------------------ */

/* Concat: for each index of the axes before axis, each input's block
 * (its dims from axis on) lands after the previous input's in y. */
static prism_status lower_concat(prism_instance *inst, const xr_step *s, const xr_tensor *const *in,
                                 const xr_tensor *y, char *err, size_t n) {
    int64_t axis = s->p.axis < 0 ? s->p.axis + y->rank : s->p.axis;
    int64_t outer = prod(y->dims, 0, (int32_t)axis);
    size_t y_block = (size_t)prod(y->dims, (int32_t)axis, y->rank) * sizeof(float);
    xb_backend *be = inst->be;
    for (int64_t o = 0; o < outer; o++) {
        size_t at = (size_t)o * y_block;
        for (uint32_t k = 0; k < s->n_in; k++) {
            size_t block = (size_t)prod(in[k]->dims, (int32_t)axis, in[k]->rank) * sizeof(float);
            prism_status st = be->ops->copy(be, y->buf, at, in[k]->buf, (size_t)o * block, block, err, n);
            if (st) return st;
            at += block;
        }
    }
    return PRISM_OK;
}

prism_status xr_lower(prism_instance *inst, const xr_step *s, const xr_tensor *const *in, const xr_tensor *y,
                      char *err, size_t n) {
    if (!y->count) return PRISM_OK; /* nothing to compute */
    if (xo_is_view(s->op)) /* a unit output of its own: the bytes move once, on the device */
        return inst->be->ops->copy(inst->be, y->buf, 0, in[0]->buf, 0, (size_t)y->count * sizeof(float), err, n);
    if (s->op == XO_CONCAT) return lower_concat(inst, s, in, y, err, n);
    switch (s->op) {
    case XO_CONV: return lower_conv(inst, s, in, y, err, n);
    case XO_GEMM:
    case XO_MATMUL: return lower_gemm(inst, s, in, y, err, n);
    case XO_MAXPOOL:
    case XO_AVGPOOL:
    case XO_GAP: return lower_pool(inst, s, in[0], y, err, n);
    default: return lower_eltwise(inst, s, in, y, err, n);
    }
}
