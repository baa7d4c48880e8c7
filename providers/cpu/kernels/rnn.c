/*
 * rnn.c — RNN, GRU and LSTM for the CPU provider (every opset, 1 to 22).
 *
 * One templated body (float, double) serves the three ops; float16 and
 * bfloat16 run through float. Per direction, the input projection of every
 * time step is one GEMM (X [S*B, I] times W^T, cpu_sgemm for float) with
 * both biases folded in; the recurrence then does one small GEMM per step
 * (H_{t-1} times R^T) and the gate arithmetic.
 *
 * Semantics beyond the ONNX reference evaluator (which ignores them) follow
 * ONNX Runtime: activation_alpha / activation_beta are consumed, in order,
 * only by the activations that take an alpha / beta; clip bounds every gate
 * pre-activation (after peepholes and biases), not the cell state fed to h;
 * a batch entry with sequence_lens = L only steps through t < L (a reverse
 * direction starts at L - 1), its Y rows past L are zero, and an entry with
 * L = 0 gets zero Y_h / Y_c.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"


static bool rnn_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_is_float(dt);
}

/* ---- activations --------------------------------------------------------- */

enum {
    ACT_RELU,
    ACT_TANH,
    ACT_SIGMOID,
    ACT_AFFINE,
    ACT_LEAKYRELU,
    ACT_THRESHOLDEDRELU,
    ACT_SCALEDTANH,
    ACT_HARDSIGMOID,
    ACT_ELU,
    ACT_SOFTSIGN,
    ACT_SOFTPLUS,
    ACT_COUNT
};

/* Name, whether alpha / beta are consumed, and their defaults (those of the
 * ONNX operator of the same name). */
static const struct act_info {
    const char *name;
    bool uses_alpha, uses_beta;
    float alpha, beta;
} act_infos[ACT_COUNT] = {
    [ACT_RELU] = {"Relu", false, false, 0.0f, 0.0f},
    [ACT_TANH] = {"Tanh", false, false, 0.0f, 0.0f},
    [ACT_SIGMOID] = {"Sigmoid", false, false, 0.0f, 0.0f},
    [ACT_AFFINE] = {"Affine", true, true, 1.0f, 0.0f},
    [ACT_LEAKYRELU] = {"LeakyRelu", true, false, 0.01f, 0.0f},
    [ACT_THRESHOLDEDRELU] = {"ThresholdedRelu", true, false, 1.0f, 0.0f},
    [ACT_SCALEDTANH] = {"ScaledTanh", true, true, 1.0f, 1.0f},
    [ACT_HARDSIGMOID] = {"HardSigmoid", true, true, 0.2f, 0.5f},
    [ACT_ELU] = {"Elu", true, false, 1.0f, 0.0f},
    [ACT_SOFTSIGN] = {"Softsign", false, false, 0.0f, 0.0f},
    [ACT_SOFTPLUS] = {"Softplus", false, false, 0.0f, 0.0f},
};

static int act_lookup(const char *s) {
    for (int k = 0; k < ACT_COUNT; k++) {
        const char *a = act_infos[k].name, *b = s;
        while (*a && *b && tolower((unsigned char)*a) == tolower((unsigned char)*b)) a++, b++;
        if (!*a && !*b) return k;
    }
    return -1;
}

typedef struct rnn_act {
    int fn;
    float alpha, beta;
} rnn_act;

/* ---- state ------------------------------------------------------------------ */

enum { KIND_RNN, KIND_GRU, KIND_LSTM };
static const char *const kind_name[] = {"RNN", "GRU", "LSTM"};
static const int kind_gates[] = {1, 3, 4}; /* rows of W / R per hidden unit */
static const int kind_acts[] = {1, 2, 3};  /* activations per direction */

typedef struct rnn_state {
    int kind;
    int dirs;          /* 1 or 2 */
    bool reverse;      /* direction == "reverse" (dirs == 1) */
    bool layout1;      /* batch-major X / Y / states (opset >= 14, layout = 1) */
    bool has_clip;
    float clip;
    bool linear_before_reset; /* GRU */
    bool input_forget;        /* LSTM */
    int64_t hidden;           /* hidden_size attribute, -1 when absent */
    rnn_act act[6];           /* [dir * kind_acts[kind] + k] */
} rnn_state;

static void rnn_release(void *state) { free(state); }

static prism_status rnn_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, int kind) {
    rnn_state st = {.kind = kind, .hidden = -1};
    const char *dir = cpu_attr_string(node, "direction", "forward");
    if (!strcmp(dir, "forward") || !strcmp(dir, "foward")) /* GRU-1's schema default is spelt "foward" */
        st.dirs = 1;
    else if (!strcmp(dir, "reverse"))
        st.dirs = 1, st.reverse = true;
    else if (!strcmp(dir, "bidirectional"))
        st.dirs = 2;
    else
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown direction '%s'", dir);
    if (cpu_attr_has(node, "hidden_size")) {
        st.hidden = cpu_attr_int(node, "hidden_size", 0);
        if (st.hidden < 1)
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "hidden_size must be >= 1, got %lld", (long long)st.hidden);
    }
    if (cpu_attr_has(node, "clip")) {
        st.has_clip = true;
        st.clip = cpu_attr_float(node, "clip", 0.0f);
        if (!(st.clip > 0.0f))
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "clip must be > 0, got %g", (double)st.clip);
    }
    int64_t layout = cpu_node_opset(node) >= 14 ? cpu_attr_int(node, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "layout must be 0 or 1, got %lld", (long long)layout);
    st.layout1 = layout == 1;
    if (kind == KIND_GRU) st.linear_before_reset = cpu_attr_int(node, "linear_before_reset", 0) != 0;
    if (kind == KIND_LSTM) st.input_forget = cpu_attr_int(node, "input_forget", 0) != 0;

    /* Activations: per direction RNN f (Tanh), GRU f g (Sigmoid Tanh), LSTM
     * f g h (Sigmoid Tanh Tanh). A list of one direction's worth serves both
     * directions; a longer list than needed (RNN's schema default is
     * [Tanh, Tanh] even when forward) is used from the front. */
    static const int defaults[3][3] = {{ACT_TANH}, {ACT_SIGMOID, ACT_TANH}, {ACT_SIGMOID, ACT_TANH, ACT_TANH}};
    int per = kind_acts[kind], need = per * st.dirs;
    uint32_t given = (uint32_t)cpu_attr_strings_count(node, "activations");
    if (given != 0 && given < (uint32_t)per)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "%s needs %d activations per direction, got %u", kind_name[kind],
                        per, given);
    const float *alphas = NULL, *betas = NULL;
    size_t n_alpha = cpu_attr_floats(node, "activation_alpha", &alphas);
    size_t n_beta = cpu_attr_floats(node, "activation_beta", &betas);
    size_t ia = 0, ib = 0;
    for (int k = 0; k < need; k++) {
        int fn = defaults[kind][k % per];
        if (given) {
            uint32_t idx = (uint32_t)k < given && (given >= (uint32_t)need) ? (uint32_t)k : (uint32_t)(k % per);
            const char *name = cpu_attr_strings_item(node, "activations", idx);
            fn = name ? act_lookup(name) : -1;
            if (fn < 0)
                return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "unknown activation '%s'", name ? name : "(null)");
        }
        const struct act_info *ai = &act_infos[fn];
        st.act[k].fn = fn;
        st.act[k].alpha = ai->uses_alpha && ia < n_alpha ? alphas[ia++] : ai->alpha;
        st.act[k].beta = ai->uses_beta && ib < n_beta ? betas[ib++] : ai->beta;
    }
    rnn_state *p = malloc(sizeof *p);
    if (!p) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *p = st;
    *state = p;
    return PRISM_OK;
}

static prism_status rnn_prepare_rnn(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return rnn_prepare(ctx, node, state, KIND_RNN);
}
static prism_status gru_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return rnn_prepare(ctx, node, state, KIND_GRU);
}
static prism_status lstm_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return rnn_prepare(ctx, node, state, KIND_LSTM);
}

/* ---- element access ------------------------------------------------------- */

/* What the templated body needs, already validated. States and X are in the
 * tensors' own layout; the body reorders. */
typedef struct rnn_args {
    const rnn_state *st;
    int64_t S, NB, I, H, G; /* seq_length, batch, input size, hidden size, gates */
    const cpu_tensor *X, *W, *R, *B, *H0, *C0, *P;
    const int64_t *len; /* per batch entry, in [0, S] */
    cpu_tensor *Y, *Yh, *Yc;
} rnn_args;

/* Double GEMM for the templated body: C = A B^T + beta C, split over rows. */
typedef struct dgemm_arg {
    int64_t n, k, lda, ldb, ldc;
    const double *a, *b;
    double beta, *c;
} dgemm_arg;

static void dgemm_rows(void *argp, int64_t r0, int64_t r1) {
    const dgemm_arg *g = argp;
    for (int64_t i = r0; i < r1; i++)
        for (int64_t j = 0; j < g->n; j++) {
            double acc = 0;
            const double *a = g->a + i * g->lda, *b = g->b + j * g->ldb;
            for (int64_t p = 0; p < g->k; p++) acc += a[p] * b[p];
            double *c = g->c + i * g->ldc + j;
            *c = acc + (g->beta != 0 ? g->beta * *c : 0.0);
        }
}

static void mm_float(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const float *a, int64_t lda, const float *b,
                     int64_t ldb, float beta, float *c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    if (k == 0) {
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < n; j++) c[i * ldc + j] = beta != 0 ? beta * c[i * ldc + j] : 0.0f;
        return;
    }
    cpu_sgemm(ctx, false, true, m, n, k, 1.0f, a, lda, b, ldb, beta, c, ldc);
}

static void mm_double(cpu_ctx *ctx, int64_t m, int64_t n, int64_t k, const double *a, int64_t lda, const double *b,
                      int64_t ldb, double beta, double *c, int64_t ldc) {
    if (m == 0 || n == 0) return;
    dgemm_arg g = {n, k, lda, ldb, ldc, a, b, beta, c};
    cpu_parallel_for(ctx, m, dgemm_rows, &g);
}

/* One step's operands for the gate arithmetic (element type erased). GRU
 * without linear_before_reset runs in two phases around the r . H GEMM:
 * 1 = gates z and r and r . H, 2 = the hidden gate and H; 0 = all at once. */
typedef struct rnn_step {
    const rnn_state *st;
    const rnn_act *f, *g, *h;
    int64_t H, GH;
    int phase;
    const void *xt, *pd, *rbh, *hprev, *cprev;
    void *hr, *hn, *cn, *tmp;
} rnn_step;

/* Split the batch rows over the threads when the step has enough work. */
static void rnn_par(cpu_ctx *ctx, int64_t rows, int64_t work, void (*fn)(void *, int64_t, int64_t), void *arg) {
    if (work >= 8192) cpu_parallel_for(ctx, rows, fn, arg);
    else fn(arg, 0, rows);
}

/* ---- the templated body ------------------------------------------------------ */

/*
 * RNN_DEFINE(T, EXP, TANH, LOG1P) defines, for element type T:
 *   act_T:     apply an activation in place to n values, clipping first
 *   load_T:    a tensor's elements into a T buffer
 *   rnn_run_T: the whole op (every direction, every step)
 */
#define RNN_DEFINE(T, EXP, TANH, LOG1P)                                                                       \
    static void act_##T(const rnn_act *a, T *x, int64_t n, bool clip, T c) {                                  \
        if (clip)                                                                                            \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] > c ? c : x[i] < -c ? -c : x[i];                      \
        const T al = (T)a->alpha, be = (T)a->beta;                                                           \
        switch (a->fn) {                                                                                     \
        case ACT_RELU:                                                                                       \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] > 0 ? x[i] : (T)0;                                    \
            break;                                                                                           \
        case ACT_TANH:                                                                                       \
            for (int64_t i = 0; i < n; i++) x[i] = TANH(x[i]);                                               \
            break;                                                                                           \
        case ACT_SIGMOID:                                                                                    \
            for (int64_t i = 0; i < n; i++) x[i] = (T)1 / ((T)1 + EXP(-x[i]));                               \
            break;                                                                                           \
        case ACT_AFFINE:                                                                                     \
            for (int64_t i = 0; i < n; i++) x[i] = al * x[i] + be;                                           \
            break;                                                                                           \
        case ACT_LEAKYRELU:                                                                                  \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : al * x[i];                              \
            break;                                                                                           \
        case ACT_THRESHOLDEDRELU:                                                                            \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] >= al ? x[i] : (T)0;                                  \
            break;                                                                                           \
        case ACT_SCALEDTANH:                                                                                 \
            for (int64_t i = 0; i < n; i++) x[i] = al * TANH(be * x[i]);                                     \
            break;                                                                                           \
        case ACT_HARDSIGMOID:                                                                                \
            for (int64_t i = 0; i < n; i++) {                                                                \
                T v = al * x[i] + be;                                                                        \
                x[i] = v < 0 ? (T)0 : v > 1 ? (T)1 : v;                                                      \
            }                                                                                                \
            break;                                                                                           \
        case ACT_ELU:                                                                                        \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] >= 0 ? x[i] : al * (EXP(x[i]) - (T)1);                \
            break;                                                                                           \
        case ACT_SOFTSIGN:                                                                                   \
            for (int64_t i = 0; i < n; i++) x[i] = x[i] / ((T)1 + (x[i] < 0 ? -x[i] : x[i]));                  \
            break;                                                                                           \
        case ACT_SOFTPLUS: /* log(1 + e^x) without overflow */                                               \
            for (int64_t i = 0; i < n; i++)                                                                  \
                x[i] = (x[i] > 0 ? x[i] : (T)0) + LOG1P(EXP(x[i] > 0 ? -x[i] : x[i]));                        \
            break;                                                                                           \
        default: break;                                                                                      \
        }                                                                                                    \
    }                                                                                                        \
                                                                                                             \
    static void load_##T(const cpu_tensor *t, T *dst) {                                                     \
        if (t->dtype == (sizeof(T) == sizeof(float) ? PRISM_DTYPE_FLOAT : PRISM_DTYPE_DOUBLE))               \
            memcpy(dst, t->data, (size_t)t->count * sizeof(T));                                              \
        else                                                                                                 \
            for (int64_t i = 0; i < t->count; i++) dst[i] = (T)cpu_tensor_get_f64(t, i);                                  \
    }                                                                                                        \
                                                                                                             \
    /* The gate arithmetic of one step for batch rows [b0, b1). */                                               \
    static void rnn_gates_##T(void *argp, int64_t b0, int64_t b1) {                                              \
        const rnn_step *sp = argp;                                                                               \
        const rnn_state *st = sp->st;                                                                            \
        const int64_t H = sp->H, GH = sp->GH;                                                                    \
        const bool clip = st->has_clip;                                                                          \
        const T clipv = (T)st->clip;                                                                             \
        const T *xt = sp->xt, *Pd = sp->pd, *rbh = sp->rbh, *h = sp->hprev, *c = sp->cprev;                      \
        T *hr = sp->hr, *hn = sp->hn, *cn = sp->cn, *tmp = sp->tmp;                                              \
        for (int64_t b = b0; b < b1; b++) {                                                                      \
            const T *x = xt + b * GH;                                                                            \
            T *hnb = hn + b * H;                                                                                 \
            if (st->kind == KIND_RNN) {                                                                          \
                for (int64_t j = 0; j < H; j++) hnb[j] += x[j];                                                  \
                act_##T(sp->f, hnb, H, clip, clipv);                                                             \
            } else if (st->kind == KIND_LSTM) { /* gates i, o, f, c; peepholes i, o, f */                        \
                T *gt = hr + b * GH, *gi = gt, *go = gt + H, *gf = gt + 2 * H, *gc = gt + 3 * H;                 \
                const T *cp = c + b * H;                                                                         \
                T *cnb = cn + b * H;                                                                             \
                for (int64_t k = 0; k < GH; k++) gt[k] += x[k];                                                  \
                if (Pd)                                                                                          \
                    for (int64_t j = 0; j < H; j++) {                                                            \
                        gi[j] += Pd[j] * cp[j];                                                                  \
                        gf[j] += Pd[2 * H + j] * cp[j];                                                          \
                    }                                                                                            \
                act_##T(sp->f, gi, H, clip, clipv);                                                              \
                if (st->input_forget)                                                                            \
                    for (int64_t j = 0; j < H; j++) gf[j] = (T)1 - gi[j];                                        \
                else                                                                                             \
                    act_##T(sp->f, gf, H, clip, clipv);                                                          \
                act_##T(sp->g, gc, H, clip, clipv);                                                              \
                for (int64_t j = 0; j < H; j++) cnb[j] = gf[j] * cp[j] + gi[j] * gc[j];                          \
                if (Pd)                                                                                          \
                    for (int64_t j = 0; j < H; j++) go[j] += Pd[H + j] * cnb[j];                                 \
                act_##T(sp->f, go, H, clip, clipv);                                                              \
                memcpy(hnb, cnb, (size_t)H * sizeof(T));                                                         \
                act_##T(sp->h, hnb, H, false, clipv);                                                            \
                for (int64_t j = 0; j < H; j++) hnb[j] *= go[j];                                                 \
            } else if (sp->phase != 2) { /* GRU gates z, r (and r . H for phase 2) */                            \
                T *gt = hr + b * GH;                                                                             \
                for (int64_t k = 0; k < 2 * H; k++) gt[k] += x[k];                                               \
                act_##T(sp->f, gt, 2 * H, clip, clipv);                                                          \
                if (sp->phase == 1)                                                                              \
                    for (int64_t j = 0; j < H; j++) tmp[b * H + j] = gt[H + j] * h[b * H + j];                   \
            }                                                                                                    \
            if (st->kind == KIND_GRU && sp->phase != 1) { /* GRU hidden gate and the new H */                    \
                const T *gt = hr + b * GH, *z = gt, *rg = gt + H, *hh = gt + 2 * H;                              \
                const bool lbr = st->linear_before_reset;                                                        \
                for (int64_t j = 0; j < H; j++)                                                                  \
                    hnb[j] = x[2 * H + j] + (lbr ? rg[j] * (hh[j] + (rbh ? rbh[j] : (T)0)) : hh[j]);             \
                act_##T(sp->g, hnb, H, clip, clipv);                                                             \
                for (int64_t j = 0; j < H; j++) hnb[j] = ((T)1 - z[j]) * hnb[j] + z[j] * h[b * H + j];           \
            }                                                                                                    \
        }                                                                                                        \
    }                                                                                                            \
                                                                                                                 \
    static prism_status rnn_run_##T(cpu_ctx *ctx, const rnn_args *a) {                                       \
        const rnn_state *st = a->st;                                                                         \
        const int64_t S = a->S, NB = a->NB, I = a->I, H = a->H, G = a->G, GH = G * H, D = st->dirs;          \
        const int per = kind_acts[st->kind];                                                                 \
        const bool lbr = st->linear_before_reset, lstm = st->kind == KIND_LSTM;                              \
        prism_status rc = PRISM_OK;                                                                          \
        /* Buffers: inputs in T, time-major; per-direction scratch; results. */                             \
        size_t nx = (size_t)(S * NB * I), nw = (size_t)(D * GH * I), nr = (size_t)(D * GH * H);              \
        size_t ns = (size_t)(D * NB * H), nxw = (size_t)(S * NB * GH), nrow = (size_t)(NB * H);              \
        size_t ny = a->Y ? (size_t)(S * D * NB * H) : 0;                                                     \
        T *xs = malloc((nx ? nx : 1) * sizeof(T)), *w = malloc((nw ? nw : 1) * sizeof(T));                   \
        T *r = malloc((nr ? nr : 1) * sizeof(T)), *xw = malloc((nxw ? nxw : 1) * sizeof(T));                 \
        T *hr = malloc(((size_t)(NB * GH) + 1) * sizeof(T)), *bias = malloc(((size_t)GH * 2 + 1) * sizeof(T)); \
        T *h = malloc((nrow + 1) * sizeof(T) * 5), *hn = h + nrow + 1, *c = hn + nrow + 1,                   \
          *cn = c + nrow + 1, *tmp = cn + nrow + 1;                                                          \
        T *yh = malloc((ns + 1) * sizeof(T) * 2), *yc = yh + ns + 1;                                         \
        T *ybuf = ny ? malloc(ny * sizeof(T)) : NULL;                                                        \
        T *bsrc = a->B ? malloc((size_t)(D * 2 * GH + 1) * sizeof(T)) : NULL;                                 \
        T *psrc = a->P ? malloc((size_t)(D * 3 * H + 1) * sizeof(T)) : NULL;                                  \
        T *h0 = a->H0 ? malloc((ns ? ns : 1) * sizeof(T)) : NULL, *c0 = a->C0 ? malloc((ns ? ns : 1) * sizeof(T)) : NULL; \
        if (!xs || !w || !r || !xw || !hr || !bias || !h || !yh || (ny && !ybuf) || (a->B && !bsrc) ||       \
            (a->P && !psrc) || (a->H0 && !h0) || (a->C0 && !c0)) {                                           \
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");                                     \
            goto done;                                                                                       \
        }                                                                                                    \
        load_##T(a->W, w);                                                                                   \
        load_##T(a->R, r);                                                                                   \
        if (bsrc) load_##T(a->B, bsrc);                                                                      \
        if (psrc) load_##T(a->P, psrc);                                                                      \
        /* X, initial_h, initial_c: layout 1 is batch-major; reorder to time-major / direction-major. */     \
        if (!st->layout1) {                                                                                  \
            load_##T(a->X, xs);                                                                              \
            if (h0) load_##T(a->H0, h0);                                                                     \
            if (c0) load_##T(a->C0, c0);                                                                     \
        } else {                                                                                             \
            for (int64_t b = 0; b < NB; b++)                                                                 \
                for (int64_t t = 0; t < S; t++)                                                              \
                    for (int64_t i = 0; i < I; i++)                                                          \
                        xs[(t * NB + b) * I + i] = (T)cpu_tensor_get_f64(a->X, (b * S + t) * I + i);                      \
            for (int64_t b = 0; b < NB; b++)                                                                 \
                for (int64_t d = 0; d < D; d++)                                                              \
                    for (int64_t j = 0; j < H; j++) {                                                        \
                        if (h0) h0[(d * NB + b) * H + j] = (T)cpu_tensor_get_f64(a->H0, (b * D + d) * H + j);             \
                        if (c0) c0[(d * NB + b) * H + j] = (T)cpu_tensor_get_f64(a->C0, (b * D + d) * H + j);             \
                    }                                                                                        \
        }                                                                                                    \
        for (int64_t d = 0; d < D; d++) {                                                                    \
            const bool rev = st->reverse || d == 1;                                                          \
            const T *Wd = w + d * GH * I, *Rd = r + d * GH * H;                                              \
            const T *Pd = psrc ? psrc + d * 3 * H : NULL;                                                    \
            const rnn_act *f = &st->act[d * per], *g = f + 1, *hact = f + 2;                                 \
            /* Folded biases: Wb + Rb, except GRU's Rbh with linear_before_reset (applied inside r * (.)). */ \
            const T *rbh = bsrc && lbr ? bsrc + d * 2 * GH + GH + 2 * H : NULL;                              \
            for (int64_t k = 0; k < GH; k++) {                                                               \
                T v = 0;                                                                                     \
                if (bsrc) {                                                                                  \
                    v = bsrc[d * 2 * GH + k];                                                                \
                    if (!(lbr && k >= 2 * H)) v += bsrc[d * 2 * GH + GH + k];                                \
                }                                                                                            \
                bias[k] = v;                                                                                 \
            }                                                                                                \
            /* Input projection of every step at once: xw = X W^T + bias. */                                 \
            mm_##T(ctx, S * NB, GH, I, xs, I, Wd, I, 0, xw, GH);                                             \
            for (int64_t row = 0; row < S * NB; row++)                                                       \
                for (int64_t k = 0; k < GH; k++) xw[row * GH + k] += bias[k];                                \
            for (int64_t i = 0; i < NB * H; i++) {                                                           \
                h[i] = h0 ? h0[d * NB * H + i] : (T)0;                                                       \
                c[i] = c0 ? c0[d * NB * H + i] : (T)0;                                                       \
            }                                                                                                \
            for (int64_t step = 0; step < S; step++) {                                                       \
                const int64_t t = rev ? S - 1 - step : step;                                                 \
                const T *xt = xw + t * NB * GH;                                                              \
                rnn_step sp = {st, f, g, hact, H, GH, 0, xt, Pd, rbh, h, c, hr, hn, cn, tmp};                    \
                if (st->kind == KIND_RNN) {                                                                      \
                    mm_##T(ctx, NB, H, H, h, H, Rd, H, 0, hn, H);                                                \
                } else if (lstm) {                                                                               \
                    mm_##T(ctx, NB, GH, H, h, H, Rd, H, 0, hr, GH);                                              \
                } else { /* GRU: without linear_before_reset, (r . H) R_h^T needs r first */                     \
                    mm_##T(ctx, NB, lbr ? GH : 2 * H, H, h, H, Rd, H, 0, hr, GH);                                \
                    if (!lbr) {                                                                                  \
                        sp.phase = 1;                                                                            \
                        rnn_par(ctx, NB, NB * GH, rnn_gates_##T, &sp);                                           \
                        mm_##T(ctx, NB, H, H, tmp, H, Rd + 2 * H * H, H, 0, hr + 2 * H, GH);                     \
                        sp.phase = 2;                                                                            \
                    }                                                                                            \
                }                                                                                                \
                rnn_par(ctx, NB, NB * GH, rnn_gates_##T, &sp);                                                   \
                /* Entries whose sequence has ended keep their state and output zeros. */                    \
                for (int64_t b = 0; b < NB; b++) {                                                           \
                    const bool on = t < a->len[b];                                                           \
                    if (on) {                                                                                \
                        memcpy(h + b * H, hn + b * H, (size_t)H * sizeof(T));                                \
                        if (lstm) memcpy(c + b * H, cn + b * H, (size_t)H * sizeof(T));                      \
                    }                                                                                        \
                    if (ybuf) {                                                                              \
                        T *yrow = ybuf + ((t * D + d) * NB + b) * H;                                         \
                        for (int64_t j = 0; j < H; j++) yrow[j] = on ? h[b * H + j] : (T)0;                  \
                    }                                                                                        \
                }                                                                                            \
            }                                                                                                \
            for (int64_t b = 0; b < NB; b++)                                                                 \
                for (int64_t j = 0; j < H; j++) {                                                            \
                    const bool some = a->len[b] > 0;                                                         \
                    yh[(d * NB + b) * H + j] = some ? h[b * H + j] : (T)0;                                   \
                    yc[(d * NB + b) * H + j] = some ? c[b * H + j] : (T)0;                                   \
                }                                                                                            \
        }                                                                                                    \
        /* Results in the requested layout and dtype. */                                                     \
        if (a->Y)                                                                                            \
            for (int64_t t = 0; t < S; t++)                                                                  \
                for (int64_t d = 0; d < D; d++)                                                              \
                    for (int64_t b = 0; b < NB; b++)                                                         \
                        for (int64_t j = 0; j < H; j++) {                                                    \
                            int64_t o = st->layout1 ? ((b * S + t) * D + d) * H + j : ((t * D + d) * NB + b) * H + j; \
                            cpu_tensor_set_f64(a->Y, o, ybuf[((t * D + d) * NB + b) * H + j]);                            \
                        }                                                                                    \
        for (int64_t d = 0; d < D; d++)                                                                      \
            for (int64_t b = 0; b < NB; b++)                                                                 \
                for (int64_t j = 0; j < H; j++) {                                                            \
                    int64_t o = st->layout1 ? (b * D + d) * H + j : (d * NB + b) * H + j;                    \
                    if (a->Yh) cpu_tensor_set_f64(a->Yh, o, yh[(d * NB + b) * H + j]);                                    \
                    if (a->Yc) cpu_tensor_set_f64(a->Yc, o, yc[(d * NB + b) * H + j]);                                    \
                }                                                                                            \
    done:                                                                                                    \
        free(xs);                                                                                            \
        free(w);                                                                                             \
        free(r);                                                                                             \
        free(xw);                                                                                            \
        free(hr);                                                                                            \
        free(bias);                                                                                          \
        free(h);                                                                                             \
        free(yh);                                                                                            \
        free(ybuf);                                                                                          \
        free(bsrc);                                                                                          \
        free(psrc);                                                                                          \
        free(h0);                                                                                            \
        free(c0);                                                                                            \
        return rc;                                                                                           \
    }

RNN_DEFINE(float, expf, tanhf, log1pf)
RNN_DEFINE(double, exp, tanh, log1p)

/* ---- run: validation and outputs ----------------------------------------------- */

static bool dims_are(const cpu_tensor *t, int32_t rank, const int64_t *d) {
    if (t->rank != rank) return false;
    for (int32_t i = 0; i < rank; i++)
        if (t->dims[i] != d[i]) return false;
    return true;
}

static void shape_str(const cpu_tensor *t, char *buf, size_t n) {
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int32_t i = 0; i < t->rank && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%lld", i ? "," : "", (long long)t->dims[i]);
    if (o < n) snprintf(buf + o, n - o, "]");
}

static prism_status rnn_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    const rnn_state *st = state;
    const char *op = kind_name[st->kind];
    const bool lstm = st->kind == KIND_LSTM;
#define RNN_IN(k) (n_in > (k) ? in[k] : NULL)
    const cpu_tensor *X = RNN_IN(0), *W = RNN_IN(1), *R = RNN_IN(2), *B = RNN_IN(3), *SL = RNN_IN(4),
                     *H0 = RNN_IN(5), *C0 = lstm ? RNN_IN(6) : NULL, *P = lstm ? RNN_IN(7) : NULL;
#undef RNN_IN
    if (!X || !W || !R) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs inputs X, W and R", op);
    const int32_t dt = X->dtype;
    if (!cpu_dtype_is_float(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s does not support dtype %s", op, cpu_dtype_name(dt));
    const cpu_tensor *same[] = {W, R, B, H0, C0, P};
    static const char *const same_name[] = {"W", "R", "B", "initial_h", "initial_c", "P"};
    for (int k = 0; k < 6; k++)
        if (same[k] && same[k]->dtype != dt)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s has dtype %s, X has %s", same_name[k],
                            cpu_dtype_name(same[k]->dtype), cpu_dtype_name(dt));
    if (X->rank != 3) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must have rank 3, got %d", X->rank);
    if (W->rank != 3 || R->rank != 3)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W and R must have rank 3, got %d and %d", W->rank, R->rank);
    const int64_t S = st->layout1 ? X->dims[1] : X->dims[0], NB = st->layout1 ? X->dims[0] : X->dims[1];
    const int64_t I = X->dims[2], D = st->dirs, G = kind_gates[st->kind], H = R->dims[2];
    if (st->hidden >= 0 && st->hidden != H)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "hidden_size is %lld but R has hidden size %lld", (long long)st->hidden,
                        (long long)H);
    int64_t GH;
    if (!cpu_mul_ok(G, H, &GH)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "hidden size too large");
    char got[160];
    const int64_t wd[3] = {D, GH, I}, rd[3] = {D, GH, H}, bd[2] = {D, 2 * GH}, pd[2] = {D, 3 * H};
    if (!dims_are(W, 3, wd)) {
        shape_str(W, got, sizeof got);
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "W must have shape [%lld,%lld,%lld], got %s", (long long)D,
                        (long long)GH, (long long)I, got);
    }
    if (!dims_are(R, 3, rd)) {
        shape_str(R, got, sizeof got);
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "R must have shape [%lld,%lld,%lld], got %s", (long long)D,
                        (long long)GH, (long long)H, got);
    }
    if (B && !dims_are(B, 2, bd)) {
        shape_str(B, got, sizeof got);
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "B must have shape [%lld,%lld], got %s", (long long)D,
                        (long long)(2 * GH), got);
    }
    if (P && !dims_are(P, 2, pd)) {
        shape_str(P, got, sizeof got);
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "P must have shape [%lld,%lld], got %s", (long long)D,
                        (long long)(3 * H), got);
    }
    const int64_t sd[3] = {st->layout1 ? NB : D, st->layout1 ? D : NB, H};
    const cpu_tensor *states[2] = {H0, C0};
    for (int k = 0; k < 2; k++)
        if (states[k] && !dims_are(states[k], 3, sd)) {
            shape_str(states[k], got, sizeof got);
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must have shape [%lld,%lld,%lld], got %s",
                            k ? "initial_c" : "initial_h", (long long)sd[0], (long long)sd[1], (long long)sd[2], got);
        }
    /* Sizes of every buffer the body allocates must fit. */
    int64_t t1, t2, t3, t4;
    if (!cpu_mul_ok(S, NB, &t1) || !cpu_mul_ok(t1, I > GH ? I : GH, &t2) || !cpu_mul_ok(t1, D * H, &t3) ||
        !cpu_mul_ok(D * GH, I > H ? I : H, &t4) || t2 > ((int64_t)1 << 48) || t3 > ((int64_t)1 << 48) ||
        t4 > ((int64_t)1 << 48))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s is too large", op);
    int64_t *len = malloc((size_t)(NB ? NB : 1) * sizeof *len);
    if (!len) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status rc = PRISM_OK;
    if (SL) {
        if (!cpu_dtype_is_int(SL->dtype)) {
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "sequence_lens must be an integer tensor, got %s",
                          cpu_dtype_name(SL->dtype));
            goto done;
        }
        if (SL->rank != 1 || SL->dims[0] != NB) {
            shape_str(SL, got, sizeof got);
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "sequence_lens must have shape [%lld], got %s", (long long)NB, got);
            goto done;
        }
        for (int64_t b = 0; b < NB; b++) {
            len[b] = cpu_tensor_int(SL, b);
            if (len[b] < 0 || len[b] > S) {
                rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "sequence_lens[%lld] = %lld is outside [0, %lld]", (long long)b,
                              (long long)len[b], (long long)S);
                goto done;
            }
        }
    } else {
        for (int64_t b = 0; b < NB; b++) len[b] = S;
    }
    rnn_args a = {st, S, NB, I, H, G, X, W, R, B, H0, C0, P, len, NULL, NULL, NULL};
    const int64_t yd[4] = {st->layout1 ? NB : S, st->layout1 ? S : D, st->layout1 ? D : NB, H};
    if (cpu_node_has_output(node, 0) && (rc = cpu_output(ctx, 0, dt, 4, yd, &a.Y))) goto done;
    if (cpu_node_has_output(node, 1) && (rc = cpu_output(ctx, 1, dt, 3, sd, &a.Yh))) goto done;
    if (lstm && cpu_node_has_output(node, 2) && (rc = cpu_output(ctx, 2, dt, 3, sd, &a.Yc))) goto done;
    if ((!a.Y && !a.Yh && !a.Yc) || NB == 0 || H == 0) goto done; /* nothing to compute */
    rc = dt == PRISM_DTYPE_DOUBLE ? rnn_run_double(ctx, &a) : rnn_run_float(ctx, &a);
done:
    free(len);
    return rc;
}

const cpu_kernel_def cpu_op_RNN = {
    .prepare = rnn_prepare_rnn,
    .run = rnn_run,
    .release = rnn_release,
    .supports = rnn_supports,
};

const cpu_kernel_def cpu_op_GRU = {
    .prepare = gru_prepare,
    .run = rnn_run,
    .release = rnn_release,
    .supports = rnn_supports,
};

const cpu_kernel_def cpu_op_LSTM = {
    .prepare = lstm_prepare,
    .run = rnn_run,
    .release = rnn_release,
    .supports = rnn_supports,
};
