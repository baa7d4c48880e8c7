/*
 * attention.c — Attention (opsets 23-25) and RotaryEmbedding (23) for the
 * CPU provider.
 *
 * Attention works on 4-D copies of Q [B, Hq, Sq, Dh] and of the present key
 * and value [B, Hkv, T, D] (past rows, then the new ones; T = P + Skv), in
 * float (float, float16, bfloat16) or double. The work is split over (batch,
 * query head, block of query rows); each piece is one GEMM for the scores
 * (cpu_sgemm for float), the bias and softmax row by row, and one GEMM with V.
 * The bias of query row i and key j is composed as the ONNX reference does,
 * additively: the mask (bool: allowed 0 / -inf; numbers added; keys past a
 * short mask's last dim -inf), the causal frontier j <= i + offset, the
 * opset-25 window, and keys at or past nonpad_kv_seqlen[b]. offset is the
 * past length (past_key), nonpad_kv_seqlen[b] - Sq (external cache) or 0.
 * A row whose bias is -inf everywhere has no key to attend: its
 * probabilities and its output are zero.
 *
 * The causal frontier, the window and the padding each allow an interval of
 * keys, so a row without a mask only exponentiates the keys it attends.
 *
 * float16 / bfloat16 round where the reference (and the op's function body)
 * round, to the element type: the scaled Q and K, the scores, the softcap,
 * the biased scores and the softmax steps; arithmetic in between is float.
 * That is what the conformance data expects (computing those in float is
 * more accurate but misses it by an ulp). softmax_precision names the type
 * the softmax steps round to. Float and double inputs are not rounded.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"


/* v rounded to the precision of dtype dt (float dtypes; others unchanged). */
static double round_to(double v, int32_t dt) {
    switch (dt) {
    case PRISM_DTYPE_FLOAT: return (float)v;
    case PRISM_DTYPE_FLOAT16: return cpu_half_to_float(cpu_float_to_half((float)v));
    case PRISM_DTYPE_BFLOAT16: return cpu_bf16_to_float(cpu_float_to_bf16((float)v));
    default: return v;
    }
}

/* n elements of t from element off into a float or double buffer. */
#define LOAD_DEFINE(T, DT)                                                                           \
    static void load_##T(const cpu_tensor *t, int64_t off, T *dst, int64_t n) {                      \
        if (t->dtype == DT)                                                                          \
            memcpy(dst, (const T *)t->data + off, (size_t)n * sizeof(T));                            \
        else                                                                                         \
            for (int64_t i = 0; i < n; i++) dst[i] = (T)cpu_tensor_load_f64(t, off + i);             \
    }                                                                                                \
    static void store_##T(cpu_tensor *t, int64_t off, const T *src, int64_t n) {                     \
        if (t->dtype == DT)                                                                          \
            memcpy((T *)t->data + off, src, (size_t)n * sizeof(T));                                  \
        else                                                                                         \
            for (int64_t i = 0; i < n; i++) cpu_tensor_set_f64(t, off + i, src[i]);                               \
    }

LOAD_DEFINE(float, PRISM_DTYPE_FLOAT)
LOAD_DEFINE(double, PRISM_DTYPE_DOUBLE)

/* C = alpha op(A) op(B) (beta 0) for the templated bodies; double is a plain
 * loop (it runs inside the parallel split). */
static void mm_float(cpu_ctx *ctx, bool tb, int64_t m, int64_t n, int64_t k, float alpha, const float *a, int64_t lda,
                     const float *b, int64_t ldb, float *c, int64_t ldc) {
    cpu_sgemm(ctx, false, tb, m, n, k, alpha, a, lda, b, ldb, 0.0f, c, ldc);
}

static void mm_double(cpu_ctx *ctx, bool tb, int64_t m, int64_t n, int64_t k, double alpha, const double *a,
                      int64_t lda, const double *b, int64_t ldb, double *c, int64_t ldc) {
    (void)ctx;
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double acc = 0;
            for (int64_t p = 0; p < k; p++) acc += a[i * lda + p] * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = alpha * acc;
        }
}

/* ---- Attention ---------------------------------------------------------------- */

typedef struct attn_state {
    bool causal;
    int64_t q_heads, kv_heads; /* 0: absent */
    int mode;                  /* qk_matmul_output_mode */
    bool has_scale;
    float scale, softcap;
    int32_t softmax_dt; /* softmax_precision, 0: absent */
    int64_t left, right; /* window sizes, -1: unbounded */
} attn_state;

static void attn_release(void *state) { free(state); }

static bool attn_supports(const cpu_node *node) {
    for (uint32_t k = 0; k < 3; k++) {
        int32_t dt = cpu_node_input_dtype(node, k);
        if (dt > 0 && !cpu_dtype_is_float(dt)) return false;
    }
    return true;
}

static prism_status attn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    attn_state st = {0};
    st.causal = cpu_attr_int(node, "is_causal", 0) != 0;
    st.q_heads = cpu_attr_int(node, "q_num_heads", 0);
    st.kv_heads = cpu_attr_int(node, "kv_num_heads", 0);
    if (st.q_heads < 0 || st.kv_heads < 0)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "q_num_heads and kv_num_heads must be positive");
    int64_t mode = cpu_attr_int(node, "qk_matmul_output_mode", 0);
    if (mode < 0 || mode > 3)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "qk_matmul_output_mode must be 0..3, got %lld", (long long)mode);
    st.mode = (int)mode;
    st.has_scale = cpu_attr_has(node, "scale");
    st.scale = cpu_attr_float(node, "scale", 1.0f);
    st.softcap = cpu_attr_float(node, "softcap", 0.0f);
    int64_t sp = cpu_attr_int(node, "softmax_precision", 0);
    if (sp != 0 && !cpu_dtype_is_float((int32_t)sp))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "softmax_precision %lld is not a floating-point type",
                        (long long)sp);
    st.softmax_dt = (int32_t)sp;
    st.left = cpu_attr_int(node, "left_window_size", -1);
    st.right = cpu_attr_int(node, "right_window_size", -1);
    if (st.left < -1 || st.right < -1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "window sizes must be -1 or >= 0, got %lld and %lld",
                        (long long)st.left, (long long)st.right);
    attn_state *p = malloc(sizeof *p);
    if (!p) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *p = st;
    *state = p;
    return PRISM_OK;
}

/* Rows of one query block: bounds the per-slot score scratch to ROWS * T. */
#define ATTN_ROWS 64

typedef struct attn_job {
    cpu_ctx *ctx;
    const attn_state *st;
    int64_t B, Hq, Hkv, Sq, Tk, Dh, Dv, P; /* Tk: keys in all (past + new) */
    int64_t blocks; /* query row blocks per head */
    int64_t slots;  /* scratch slots = parallel tasks */
    double scale;   /* applied to Q K^T (float: after rounding the scaled operands when half) */
    int32_t qdt;    /* Q's dtype: what the scores and probabilities round to */
    bool emulate;   /* Q is float16 / bfloat16: round as the reference does */
    bool single;    /* the work is in float: exp in float suffices */
    const void *q, *k, *v;
    void *y, *scratch; /* scratch: slots x ATTN_ROWS x T scores */
    double *rowbuf;     /* slots x T: one row in double */
    /* bias parts */
    const cpu_tensor *mask;
    int64_t mlast, ms[4]; /* mask's last dim and broadcast strides over (b, h, i, j) */
    const int64_t *nonpad;
    cpu_tensor *qk; /* optional output 3 */
} attn_job;

/* a + b clamped to [INT64_MIN, INT64_MAX]. */
static int64_t add_sat(int64_t a, int64_t b) {
    int64_t r;
    if (!__builtin_add_overflow(a, b, &r)) return r;
    return b > 0 ? INT64_MAX : INT64_MIN;
}

/* Element idx of the mask as an additive bias. */
static double mask_bias(const cpu_tensor *m, int64_t idx) {
    switch (m->dtype) {
    case PRISM_DTYPE_BOOL: return ((const uint8_t *)m->data)[idx] ? 0.0 : -INFINITY;
    case PRISM_DTYPE_FLOAT: return ((const float *)m->data)[idx];
    default: return cpu_tensor_load_f64(m, idx);
    }
}

/*
 * Query row i of (batch b, head h): softcap, bias and softmax of its n
 * scores x, in place, into probabilities; the optional qk output gets the
 * mode's stage. The causal frontier, the window and nonpad_kv_seqlen each
 * allow an interval of keys, so together they allow [lo, hi); keys outside
 * get -inf added to the mask's value (the reference's additive composition,
 * NaN for a +inf mask value included).
 */
static void attn_row(const attn_job *a, int64_t b, int64_t h, int64_t i, double *x, int64_t n) {
    const attn_state *st = a->st;
    const bool rounding = a->emulate || st->softmax_dt; /* else plain double arithmetic */
    const int32_t dt = a->emulate ? a->qdt : PRISM_DTYPE_DOUBLE;
    const int64_t qoff = ((b * a->Hq + h) * a->Sq + i) * a->Tk;
    const int64_t offset = a->P > 0 ? a->P : a->nonpad ? add_sat(a->nonpad[b], -a->Sq) : 0, p = add_sat(offset, i);
    int64_t lo = 0, hi = n;
    if (st->causal && add_sat(p, 1) < hi) hi = add_sat(p, 1);
    if (st->right >= 0 && add_sat(p, st->right + 1) < hi) hi = add_sat(p, st->right + 1);
    if (st->left >= 0 && add_sat(p, -st->left) > lo) lo = add_sat(p, -st->left);
    if (a->nonpad && a->nonpad[b] < hi) hi = a->nonpad[b];
    if (!rounding && !a->qk && !a->mask && !(st->softcap > 0)) {
        /* Common case: the bias is 0 inside [lo, hi) and -inf outside. */
        lo = lo < 0 ? 0 : lo > n ? n : lo;
        hi = hi < lo ? lo : hi > n ? n : hi;
        double m = -INFINITY, sum = 0;
        for (int64_t j = lo; j < hi; j++)
            if (x[j] > m) m = x[j];
        if (isinf(m) && m < 0) m = 0;
        for (int64_t j = lo; j < hi; j++) sum += x[j] = a->single ? expf((float)(x[j] - m)) : exp(x[j] - m);
        const double inv = 1.0 / (sum == 0 ? 1.0 : sum);
        for (int64_t j = 0; j < n; j++) x[j] = j < lo || j >= hi ? 0.0 : x[j] * inv;
        return;
    }
    const int64_t mrow = a->mask ? b * a->ms[0] + h * a->ms[1] + i * a->ms[2] : 0;
    bool all_masked = true;
    for (int64_t j = 0; j < n; j++) {
        double s = x[j];
        if (a->qk && st->mode == 0) cpu_tensor_set_f64(a->qk, qoff + j, s);
        if (st->softcap > 0) {
            const double c = st->softcap;
            s = rounding ? round_to(round_to(tanh(round_to(s / c, dt)), dt) * c, dt) : tanh(s / c) * c;
        }
        if (a->qk && st->mode == 1) cpu_tensor_set_f64(a->qk, qoff + j, s);
        double bias = a->mask ? (j < a->mlast ? mask_bias(a->mask, mrow + j) : -INFINITY) : 0.0;
        if (j < lo || j >= hi) bias += -INFINITY;
        if (!(isinf(bias) && bias < 0)) all_masked = false;
        s += bias;
        if (rounding) s = round_to(s, dt);
        if (a->qk && st->mode == 2) cpu_tensor_set_f64(a->qk, qoff + j, s);
        x[j] = st->softmax_dt ? round_to(s, st->softmax_dt) : s;
    }
    if (all_masked) {
        for (int64_t j = 0; j < n; j++) x[j] = 0;
    } else if (!rounding) {
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++)
            if (x[j] > m) m = x[j];
        if (isinf(m) && m < 0) m = 0;
        for (int64_t j = 0; j < n; j++) sum += x[j] = a->single ? expf((float)(x[j] - m)) : exp(x[j] - m);
        const double inv = 1.0 / (sum == 0 ? 1.0 : sum);
        for (int64_t j = 0; j < n; j++) x[j] *= inv;
    } else {
        /* Softmax in the softmax type (Q's float16 / bfloat16 type unless
         * softmax_precision says otherwise), each step rounded to it; a
         * bfloat16 sum rounds after every addition, as the reference's. */
        const int32_t sdt = st->softmax_dt ? st->softmax_dt : dt;
        double m = -INFINITY, sum = 0;
        for (int64_t j = 0; j < n; j++)
            if (x[j] > m) m = x[j];
        if (isinf(m) && m < 0) m = 0;
        for (int64_t j = 0; j < n; j++) {
            x[j] = round_to(exp(round_to(x[j] - m, sdt)), sdt);
            sum = sdt == PRISM_DTYPE_BFLOAT16 ? round_to(sum + x[j], sdt) : sum + x[j];
        }
        sum = round_to(sum, sdt);
        if (sum == 0) sum = 1;
        for (int64_t j = 0; j < n; j++) x[j] = round_to(round_to(x[j] / sum, sdt), dt);
    }
    if (a->qk && st->mode == 3)
        for (int64_t j = 0; j < n; j++) cpu_tensor_set_f64(a->qk, qoff + j, x[j]);
}

/* One (batch, head, row block) piece, with a slot's scratch. */
#define ATTN_DEFINE(T)                                                                                        \
    static void attn_piece_##T(const attn_job *a, int64_t piece, T *sc, double *row) {                        \
        const int64_t blk = piece % a->blocks, bh = piece / a->blocks, b = bh / a->Hq, h = bh % a->Hq;        \
        const int64_t hk = h / (a->Hq / a->Hkv), i0 = blk * ATTN_ROWS;                                        \
        const int64_t rows = a->Sq - i0 < ATTN_ROWS ? a->Sq - i0 : ATTN_ROWS, Tk = a->Tk;                      \
        const T *q = (const T *)a->q + ((b * a->Hq + h) * a->Sq + i0) * a->Dh;                                \
        const T *k = (const T *)a->k + (b * a->Hkv + hk) * Tk * a->Dh;                                        \
        const T *v = (const T *)a->v + (b * a->Hkv + hk) * Tk * a->Dv;                                        \
        T *y = (T *)a->y + ((b * a->Hq + h) * a->Sq + i0) * a->Dv;                                            \
        if (a->Dh > 0)                                                                                        \
            mm_##T(a->ctx, true, rows, Tk, a->Dh, (T)a->scale, q, a->Dh, k, a->Dh, sc, Tk);                   \
        else                                                                                                  \
            for (int64_t e = 0; e < rows * Tk; e++) sc[e] = 0;                                                \
        for (int64_t r = 0; r < rows; r++) {                                                                  \
            T *srow = sc + r * Tk;                                                                            \
            for (int64_t j = 0; j < Tk; j++) row[j] = a->emulate ? round_to(srow[j], a->qdt) : srow[j];       \
            attn_row(a, b, h, i0 + r, row, Tk);                                                               \
            for (int64_t j = 0; j < Tk; j++) srow[j] = (T)row[j];                                             \
        }                                                                                                     \
        if (Tk > 0 && a->Dv > 0)                                                                              \
            mm_##T(a->ctx, false, rows, a->Dv, Tk, (T)1, sc, Tk, v, a->Dv, y, a->Dv);                         \
        else                                                                                                  \
            for (int64_t e = 0; e < rows * a->Dv; e++) y[e] = 0;                                              \
    }                                                                                                         \
    static void attn_slots_##T(void *argp, int64_t s0, int64_t s1) {                                          \
        const attn_job *a = argp;                                                                             \
        const int64_t pieces = a->B * a->Hq * a->blocks, per = ATTN_ROWS * a->Tk;                              \
        for (int64_t s = s0; s < s1; s++) {                                                                   \
            T *sc = (T *)a->scratch + s * per;                                                                \
            double *row = a->rowbuf + s * a->Tk;                                                               \
            for (int64_t p = s; p < pieces; p += a->slots) attn_piece_##T(a, p, sc, row);                     \
        }                                                                                                     \
    }

ATTN_DEFINE(float)
ATTN_DEFINE(double)

/* 4-D copy [B, H, S, D] of a 3-D [B, S, H*D] or 4-D [B, H, S, D] tensor,
 * written at sequence offset s_off of a buffer with S_total rows per head. */
#define ATTN_GATHER_DEFINE(T)                                                                                  \
    static void gather_##T(const cpu_tensor *t, bool three_d, int64_t B, int64_t H, int64_t S, int64_t D,       \
                           T *dst, int64_t S_total, int64_t s_off) {                                          \
        for (int64_t b = 0; b < B; b++)                                                                       \
            for (int64_t h = 0; h < H; h++)                                                                   \
                for (int64_t s = 0; s < S; s++) {                                                             \
                    int64_t src = three_d ? (b * S + s) * H * D + h * D : ((b * H + h) * S + s) * D;          \
                    load_##T(t, src, dst + ((b * H + h) * S_total + s_off + s) * D, D);                       \
                }                                                                                             \
    }

ATTN_GATHER_DEFINE(float)
ATTN_GATHER_DEFINE(double)

static prism_status attn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    const attn_state *st = state;
#define ATTN_IN(k) (n_in > (k) ? in[k] : NULL)
    const cpu_tensor *Q = ATTN_IN(0), *K = ATTN_IN(1), *V = ATTN_IN(2), *M = ATTN_IN(3), *PK = ATTN_IN(4),
                     *PV = ATTN_IN(5), *NP = ATTN_IN(6);
#undef ATTN_IN
    if (!Q || !K || !V) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Attention needs Q, K and V");
    if (!cpu_dtype_is_float(Q->dtype) || !cpu_dtype_is_float(V->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Attention does not support dtypes %s / %s",
                        cpu_dtype_name(Q->dtype), cpu_dtype_name(V->dtype));
    if (K->dtype != Q->dtype || (PK && PK->dtype != Q->dtype) || (PV && PV->dtype != V->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "K and past_key must have Q's dtype, past_value V's");
    const int r = Q->rank;
    if ((r != 3 && r != 4) || K->rank != r || V->rank != r)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Q, K and V must all be 3-D or all 4-D, got ranks %d, %d, %d", Q->rank,
                        K->rank, V->rank);
    const bool three_d = r == 3;
    int64_t B = Q->dims[0], Hq, Hkv, Sq, Skv, Dh, Dv;
    if (three_d) {
        Hq = st->q_heads, Hkv = st->kv_heads;
        if (Hq <= 0 || Hkv <= 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "3-D Attention needs q_num_heads and kv_num_heads");
        if (Q->dims[2] % Hq || K->dims[2] % Hkv || V->dims[2] % Hkv)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                            "hidden sizes %lld, %lld, %lld are not multiples of the head counts %lld, %lld",
                            (long long)Q->dims[2], (long long)K->dims[2], (long long)V->dims[2], (long long)Hq,
                            (long long)Hkv);
        Sq = Q->dims[1], Skv = K->dims[1], Dh = Q->dims[2] / Hq, Dv = V->dims[2] / Hkv;
        if (K->dims[2] / Hkv != Dh)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Q and K head sizes differ (%lld vs %lld)", (long long)Dh,
                            (long long)(K->dims[2] / Hkv));
        if (V->dims[1] != Skv) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "K and V sequence lengths differ");
    } else {
        Hq = Q->dims[1], Sq = Q->dims[2], Dh = Q->dims[3];
        Hkv = K->dims[1], Skv = K->dims[2], Dv = V->dims[3];
        if (K->dims[3] != Dh)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Q and K head sizes differ (%lld vs %lld)", (long long)Dh,
                            (long long)K->dims[3]);
        if (V->dims[1] != Hkv || V->dims[2] != Skv)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "V must have K's head count and sequence length");
        if ((st->q_heads && st->q_heads != Hq) || (st->kv_heads && st->kv_heads != Hkv))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "q_num_heads / kv_num_heads disagree with the 4-D inputs");
    }
    if (K->dims[0] != B || V->dims[0] != B) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Q, K and V batch sizes differ");
    if (Hkv <= 0 || Hq % Hkv)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "q heads (%lld) must be a multiple of kv heads (%lld)", (long long)Hq,
                        (long long)Hkv);
    if (!PK != !PV) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "past_key and past_value must be given together");
    int64_t P = 0;
    if (PK) {
        if (PK->rank != 4 || PV->rank != 4 || PK->dims[0] != B || PK->dims[1] != Hkv || PK->dims[3] != Dh ||
            PV->dims[0] != B || PV->dims[1] != Hkv || PV->dims[2] != PK->dims[2] || PV->dims[3] != Dv)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                            "past_key / past_value must have shapes [%lld,%lld,P,%lld] / [%lld,%lld,P,%lld]",
                            (long long)B, (long long)Hkv, (long long)Dh, (long long)B, (long long)Hkv, (long long)Dv);
        P = PK->dims[2];
    }
    const int64_t T = P + Skv;
    int64_t *nonpad = NULL;
    if (NP) {
        if (PK) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "nonpad_kv_seqlen cannot be used with past_key / past_value");
        if (!cpu_dtype_is_int(NP->dtype) || NP->rank != 1 || NP->dims[0] != B)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "nonpad_kv_seqlen must be an integer tensor of shape [%lld]",
                            (long long)B);
    }
    attn_job a = {.ctx = ctx, .st = st, .B = B, .Hq = Hq, .Hkv = Hkv, .Sq = Sq, .Tk = T, .Dh = Dh, .Dv = Dv, .P = P};
    if (M) {
        if (M->rank < 1 || M->rank > 4)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attn_mask must have rank 1 to 4, got %d", M->rank);
        if (M->dtype != PRISM_DTYPE_BOOL && !cpu_dtype_is_float(M->dtype) && !cpu_dtype_is_int(M->dtype))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attn_mask has unsupported dtype %s", cpu_dtype_name(M->dtype));
        const int64_t target[4] = {B, Hq, Sq, T};
        int64_t stride = 1;
        for (int ax = 3; ax >= 0; ax--) {
            int mi = ax - (4 - M->rank);
            a.ms[ax] = 0;
            if (mi < 0) continue;
            int64_t d = M->dims[mi];
            if (ax == 3) {
                if (d > T)
                    return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attn_mask's last dim %lld exceeds the %lld keys",
                                    (long long)d, (long long)T);
                a.mlast = d;
            } else if (d != 1 && d != target[ax]) {
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "attn_mask dim %d (%lld) cannot be broadcast to %lld", mi,
                                (long long)d, (long long)target[ax]);
            }
            a.ms[ax] = d == 1 && ax != 3 ? 0 : stride;
            stride *= d;
        }
        a.mask = M;
    }
    /* Sizes of the working buffers must fit. */
    int64_t nq, nk, nv, ny, nqk, t1, t2;
    const int64_t lim = (int64_t)1 << 48;
    if (!cpu_mul_ok(B, Hq, &t1) || !cpu_mul_ok(t1, Sq, &t1) || !cpu_mul_ok(t1, Dh, &nq) || !cpu_mul_ok(t1, Dv, &ny) ||
        !cpu_mul_ok(t1, T, &nqk) || !cpu_mul_ok(B, Hkv, &t2) || !cpu_mul_ok(t2, T, &t2) || !cpu_mul_ok(t2, Dh, &nk) ||
        !cpu_mul_ok(t2, Dv, &nv) || nq > lim || ny > lim || nk > lim || nv > lim || nqk > lim || T > ((int64_t)1 << 36))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Attention is too large");

    /* Outputs. */
    prism_status rc = PRISM_OK;
    cpu_tensor *Y, *PKo = NULL, *PVo = NULL;
    const int64_t yd4[4] = {B, Hq, Sq, Dv}, yd3[3] = {B, Sq, Hq * Dv};
    const int64_t pkd[4] = {B, Hkv, T, Dh}, pvd[4] = {B, Hkv, T, Dv}, qkd[4] = {B, Hq, Sq, T};
    if ((rc = cpu_output(ctx, 0, Q->dtype, three_d ? 3 : 4, three_d ? yd3 : yd4, &Y))) return rc;
    if (cpu_node_has_output(node, 1) && (rc = cpu_output(ctx, 1, Q->dtype, 4, pkd, &PKo))) return rc;
    if (cpu_node_has_output(node, 2) && (rc = cpu_output(ctx, 2, V->dtype, 4, pvd, &PVo))) return rc;
    if (cpu_node_has_output(node, 3) && (rc = cpu_output(ctx, 3, Q->dtype, 4, qkd, &a.qk))) return rc;

    /* Only the work an output needs: loops below run over rows of sizes that
     * may be empty (a zero-size dim next to a huge one). */
    const bool attend = ny > 0 || (a.qk && nqk > 0);
    if (!attend && !((PKo && nk > 0) || (PVo && nv > 0))) return PRISM_OK;
    if (NP) {
        nonpad = malloc((size_t)(B ? B : 1) * sizeof *nonpad);
        if (!nonpad) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        for (int64_t b = 0; b < B; b++) nonpad[b] = cpu_tensor_int(NP, b);
        a.nonpad = nonpad;
    }
    const bool dbl = Q->dtype == PRISM_DTYPE_DOUBLE || V->dtype == PRISM_DTYPE_DOUBLE;
    const size_t es = dbl ? sizeof(double) : sizeof(float);
    a.qdt = Q->dtype;
    a.emulate = cpu_dtype_is_half(Q->dtype);
    a.single = !dbl;
    a.blocks = (Sq + ATTN_ROWS - 1) / ATTN_ROWS;
    int64_t pieces = B * Hq * a.blocks;
    a.slots = cpu_threads(ctx);
    if (a.slots > pieces) a.slots = pieces > 0 ? pieces : 1;
    double scale = st->has_scale ? st->scale : (Dh > 0 ? 1.0 / sqrt((double)Dh) : 1.0);
    void *qb = malloc((size_t)(nq + 1) * es), *kb = malloc((size_t)(nk + 1) * es), *vb = malloc((size_t)(nv + 1) * es);
    void *yb = malloc((size_t)(ny + 1) * es);
    a.scratch = malloc((size_t)a.slots * (size_t)(ATTN_ROWS * T + 1) * es);
    a.rowbuf = malloc((size_t)a.slots * (size_t)(T + 1) * sizeof(double));
    if (!qb || !kb || !vb || !yb || !a.scratch || !a.rowbuf) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    if (dbl) {
        if (attend && nq > 0) gather_double(Q, three_d, B, Hq, Sq, Dh, qb, Sq, 0);
        if (PK && nk > 0) gather_double(PK, false, B, Hkv, P, Dh, kb, T, 0);
        if (PV && nv > 0) gather_double(PV, false, B, Hkv, P, Dv, vb, T, 0);
        if (nk > 0) gather_double(K, three_d, B, Hkv, Skv, Dh, kb, T, P);
        if (nv > 0) gather_double(V, three_d, B, Hkv, Skv, Dv, vb, T, P);
        if (PKo) store_double(PKo, 0, kb, nk);
        if (PVo) store_double(PVo, 0, vb, nv);
        a.scale = scale;
    } else {
        if (attend && nq > 0) gather_float(Q, three_d, B, Hq, Sq, Dh, qb, Sq, 0);
        if (PK && nk > 0) gather_float(PK, false, B, Hkv, P, Dh, kb, T, 0);
        if (PV && nv > 0) gather_float(PV, false, B, Hkv, P, Dv, vb, T, 0);
        if (nk > 0) gather_float(K, three_d, B, Hkv, Skv, Dh, kb, T, P);
        if (nv > 0) gather_float(V, three_d, B, Hkv, Skv, Dv, vb, T, P);
        if (PKo) store_float(PKo, 0, kb, nk);
        if (PVo) store_float(PVo, 0, vb, nv);
        a.scale = scale;
        if (a.emulate && attend) { /* Q and K scaled by sqrt(scale), each rounded to the element type */
            float *qf = qb, *kf = kb;
            double s = round_to(sqrt(scale), Q->dtype);
            for (int64_t i = 0; i < nq; i++) qf[i] = (float)round_to(qf[i] * s, Q->dtype);
            for (int64_t i = 0; i < nk; i++) kf[i] = (float)round_to(kf[i] * s, Q->dtype);
            a.scale = 1.0;
        }
    }
    a.q = qb, a.k = kb, a.v = vb, a.y = yb;
    if (attend && pieces > 0) cpu_parallel_for(ctx, a.slots, dbl ? attn_slots_double : attn_slots_float, &a);
    /* Y: [B, Hq, Sq, Dv], or [B, Sq, Hq * Dv] for 3-D inputs. */
    for (int64_t b = 0; b < B && ny > 0; b++)
        for (int64_t h = 0; h < Hq; h++)
            for (int64_t s = 0; s < Sq; s++) {
                int64_t src = ((b * Hq + h) * Sq + s) * Dv;
                int64_t dst = three_d ? (b * Sq + s) * Hq * Dv + h * Dv : src;
                if (dbl)
                    store_double(Y, dst, (const double *)yb + src, Dv);
                else
                    store_float(Y, dst, (const float *)yb + src, Dv);
            }
done:
    free(qb);
    free(kb);
    free(vb);
    free(yb);
    free(a.scratch);
    free(a.rowbuf);
    free(nonpad);
    return rc;
}

/* ---- RotaryEmbedding ------------------------------------------------------------ */

typedef struct rope_state {
    bool interleaved;
    int64_t rot_dim, heads; /* 0: absent */
} rope_state;

static bool rope_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static prism_status rope_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    rope_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->interleaved = cpu_attr_int(node, "interleaved", 0) != 0;
    st->rot_dim = cpu_attr_int(node, "rotary_embedding_dim", 0);
    st->heads = cpu_attr_int(node, "num_heads", 0);
    if (st->rot_dim < 0 || st->heads < 0) {
        free(st);
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "rotary_embedding_dim and num_heads must be >= 0");
    }
    *state = st;
    return PRISM_OK;
}

typedef struct rope_job {
    const rope_state *st;
    const cpu_tensor *x, *cos, *sin, *pos;
    cpu_tensor *y;
    int64_t B, N, S, Hd, rd;
    bool three_d;
} rope_job;

/* Rows are head vectors, enumerated (b, s, n); float and double read and
 * write directly, float16 / bfloat16 through cpu_tensor_load_f64 / set_f,
 * rounding each product to the element type as the reference does (RND). */
#define ROPE_DEFINE(T, LOAD, STORE, RND)                                                                      \
    static void rope_rows_##T(void *argp, int64_t r0, int64_t r1) {                                        \
        const rope_job *a = argp;                                                                          \
        const int64_t half = a->rd / 2;                                                                    \
        for (int64_t r = r0; r < r1; r++) {                                                                \
            const int64_t n = r % a->N, bs = r / a->N, s = bs % a->S, b = bs / a->S;                       \
            const int64_t base = a->three_d ? (bs * a->N + n) * a->Hd : ((b * a->N + n) * a->S + s) * a->Hd; \
            const int64_t cbase = (a->pos ? cpu_tensor_int(a->pos, bs) : bs) * half;                       \
            for (int64_t k = 0; k < half; k++) {                                                           \
                const int64_t i1 = a->st->interleaved ? 2 * k : k, i2 = a->st->interleaved ? 2 * k + 1 : k + half; \
                const T c = LOAD(a->cos, cbase + k), sn = LOAD(a->sin, cbase + k);                         \
                const T x1 = LOAD(a->x, base + i1), x2 = LOAD(a->x, base + i2);                            \
                STORE(a->y, base + i1, RND(c * x1) - RND(sn * x2));                                        \
                STORE(a->y, base + i2, RND(sn * x1) + RND(c * x2));                                        \
            }                                                                                              \
            for (int64_t d = a->rd; d < a->Hd; d++) STORE(a->y, base + d, LOAD(a->x, base + d));           \
        }                                                                                                  \
    }

#define ROPE_LOAD_F(t, i) (((const float *)(t)->data)[i])
#define ROPE_STORE_F(t, i, v) (((float *)(t)->data)[i] = (v))
#define ROPE_LOAD_D(t, i) (((const double *)(t)->data)[i])
#define ROPE_STORE_D(t, i, v) (((double *)(t)->data)[i] = (v))
#define ROPE_SAME(v) (v)
#define ROPE_ROUND(v) round_to((v), a->x->dtype)
typedef double rope_any; /* any float dtype, through double */
ROPE_DEFINE(float, ROPE_LOAD_F, ROPE_STORE_F, ROPE_SAME)
ROPE_DEFINE(double, ROPE_LOAD_D, ROPE_STORE_D, ROPE_SAME)
ROPE_DEFINE(rope_any, cpu_tensor_load_f64, cpu_tensor_set_f64, ROPE_ROUND)

static prism_status rope_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    (void)node;
    const rope_state *st = state;
    const cpu_tensor *X = n_in > 0 ? in[0] : NULL, *C = n_in > 1 ? in[1] : NULL, *Sn = n_in > 2 ? in[2] : NULL;
    const cpu_tensor *Pos = n_in > 3 ? in[3] : NULL;
    if (!X || !C || !Sn) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "RotaryEmbedding needs X, cos_cache and sin_cache");
    if (!cpu_dtype_is_float(X->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "RotaryEmbedding does not support dtype %s",
                        cpu_dtype_name(X->dtype));
    if (C->dtype != X->dtype || Sn->dtype != X->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "cos_cache and sin_cache must have X's dtype");
    rope_job a = {.st = st, .x = X, .cos = C, .sin = Sn, .pos = Pos};
    if (X->rank == 4) {
        a.B = X->dims[0], a.N = X->dims[1], a.S = X->dims[2], a.Hd = X->dims[3];
    } else if (X->rank == 3) {
        if (st->heads <= 0) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "3-D RotaryEmbedding needs num_heads");
        if (X->dims[2] % st->heads)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "hidden size %lld is not a multiple of num_heads %lld",
                            (long long)X->dims[2], (long long)st->heads);
        a.B = X->dims[0], a.S = X->dims[1], a.N = st->heads, a.Hd = X->dims[2] / st->heads, a.three_d = true;
    } else {
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be 3-D or 4-D, got rank %d", X->rank);
    }
    a.rd = st->rot_dim ? st->rot_dim : a.Hd;
    if (a.rd > a.Hd || a.rd % 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "rotary_embedding_dim %lld must be even and at most the head size %lld",
                        (long long)a.rd, (long long)a.Hd);
    const int64_t half = a.rd / 2;
    if (Pos) {
        if (!cpu_dtype_is_int(Pos->dtype) || Pos->rank != 2 || Pos->dims[0] != a.B || Pos->dims[1] != a.S)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "position_ids must be an integer tensor of shape [%lld,%lld]",
                            (long long)a.B, (long long)a.S);
        if (C->rank != 2 || Sn->rank != 2 || C->dims[1] != half || Sn->dims[0] != C->dims[0] || Sn->dims[1] != half)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                            "with position_ids, cos_cache and sin_cache must have shape [max_position, %lld]",
                            (long long)half);
        for (int64_t i = 0; i < Pos->count; i++) {
            int64_t p = cpu_tensor_int(Pos, i);
            if (p < 0 || p >= C->dims[0])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "position id %lld is outside [0, %lld)", (long long)p,
                                (long long)C->dims[0]);
        }
    } else if (C->rank != 3 || Sn->rank != 3 || C->dims[0] != a.B || C->dims[1] != a.S || C->dims[2] != half ||
               Sn->dims[0] != a.B || Sn->dims[1] != a.S || Sn->dims[2] != half) {
        return cpu_fail(ctx, PRISM_ERR_RUNTIME,
                        "without position_ids, cos_cache and sin_cache must have shape [%lld,%lld,%lld]",
                        (long long)a.B, (long long)a.S, (long long)half);
    }
    prism_status rc = cpu_output(ctx, 0, X->dtype, X->rank, X->dims, &a.y);
    if (rc || X->count == 0) return rc;
    cpu_parallel_for(ctx, a.B * a.S * a.N,
                     X->dtype == PRISM_DTYPE_FLOAT    ? rope_rows_float
                     : X->dtype == PRISM_DTYPE_DOUBLE ? rope_rows_double
                                                      : rope_rows_rope_any,
                     &a);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_Attention = {
    .prepare = attn_prepare,
    .run = attn_run,
    .release = attn_release,
    .supports = attn_supports,
};

const cpu_kernel_def cpu_op_RotaryEmbedding = {
    .prepare = rope_prepare,
    .run = rope_run,
    .release = attn_release,
    .supports = rope_supports,
};
