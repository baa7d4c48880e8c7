/*
 * misc.c — assorted ops for the CPU provider: Einsum, Unique, Det, the
 * random generators (Bernoulli, RandomUniform, RandomNormal and their
 * *Like forms), TfIdfVectorizer and the string ops StringNormalizer,
 * StringConcat, StringSplit and RegexFullMatch.
 */
#include <ctype.h>
#include <locale.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wctype.h>

#include "cpu_kernel.h"


static void misc_free(void *state) { free(state); }

static char *misc_strdup(const char *s) {
    size_t n = strlen(s ? s : "");
    char *d = malloc(n + 1);
    if (d) memcpy(d, s ? s : "", n + 1);
    return d;
}

static char *misc_strndup(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

/* Store v as element i of dtype dt (floats round; integers saturate, NaN -> 0;
 * bool v != 0). */
static inline void misc_store(void *data, int32_t dt, int64_t i, double v) {
    (void)cpu_store_f64_sat((char *)data + (size_t)i * cpu_dtype_size(dt), dt, v);
}

/* ==========================================================================
 * Einsum
 *
 * The equation is parsed once. At run time every operand becomes a strided
 * view (repeated labels of one operand become one label whose stride is
 * the sum: the diagonal; size-1 dims broadcast with stride 0). Operands are
 * contracted left to right: each step is one batched GEMM, [batch, M, K] x
 * [batch, K, N], where labels private to one side that nothing later needs
 * are summed while the side is gathered into that layout (no gather when
 * the view already is the layout, plain or transposed). The last view is
 * gathered into the output order, summing what is left. Work types: float
 * (float, float16, bfloat16; cpu_sgemm), double, and uint64 for every
 * integer type (wrap-around arithmetic, which equals the wrap-around of
 * the narrow type once truncated).
 * ========================================================================== */

#define ES_NLET 52                      /* A-Z -> 0..25, a-z -> 26..51: ASCII order */
#define ES_NLAB (ES_NLET + CPU_MAX_RANK) /* then the ellipsis dims */

typedef struct es_term {
    int n;                       /* letters */
    int ell;                     /* position of "..." among the letters, -1 none */
    int16_t lab[CPU_MAX_RANK];
} es_term;

typedef struct es_state {
    int n_in;
    es_term out;
    es_term in[]; /* n_in terms */
} es_state;

static int es_letter(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
    return -1;
}

/* Parse one term [s, e) without spaces. */
static prism_status es_parse_term(cpu_ctx *ctx, const char *s, const char *e, es_term *t) {
    t->n = 0;
    t->ell = -1;
    while (s < e) {
        if (*s == '.') {
            if (e - s < 3 || s[1] != '.' || s[2] != '.' || t->ell >= 0)
                return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Einsum: bad ellipsis in the equation");
            t->ell = t->n;
            s += 3;
            continue;
        }
        int l = es_letter(*s);
        if (l < 0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Einsum: unexpected character '%c'", *s);
        if (t->n >= CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Einsum: term has too many indices");
        t->lab[t->n++] = (int16_t)l;
        s++;
    }
    return PRISM_OK;
}

static prism_status einsum_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    const char *eq0 = cpu_attr_string(node, "equation", NULL);
    if (!eq0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Einsum needs the equation attribute");
    size_t len = strlen(eq0);
    char *eq = malloc(len + 1);
    if (!eq) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    size_t k = 0;
    for (size_t i = 0; i < len; i++)
        if (eq0[i] != ' ') eq[k++] = eq0[i];
    eq[k] = '\0';
    const char *arrow = strstr(eq, "->");
    const char *lhs_end = arrow ? arrow : eq + k;
    int n_in = 1;
    for (const char *p = eq; p < lhs_end; p++) n_in += *p == ',';
    uint32_t want = cpu_node_input_count(node);
    prism_status rc = PRISM_OK;
    es_state *st = NULL;
    if ((uint32_t)n_in != want) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Einsum equation '%s' has %d terms for %u inputs", eq0, n_in, want);
        goto done;
    }
    st = calloc(1, sizeof *st + (size_t)n_in * sizeof(es_term));
    if (!st) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    st->n_in = n_in;
    const char *s = eq;
    for (int i = 0; i < n_in && !rc; i++) {
        const char *e = s;
        while (e < lhs_end && *e != ',') e++;
        rc = es_parse_term(ctx, s, e, &st->in[i]);
        s = e + 1;
    }
    if (rc) goto done;
    int count[ES_NLET] = {0};
    bool any_ell = false;
    for (int i = 0; i < n_in; i++) {
        for (int j = 0; j < st->in[i].n; j++) count[st->in[i].lab[j]]++;
        any_ell |= st->in[i].ell >= 0;
    }
    if (arrow) {
        if ((rc = es_parse_term(ctx, arrow + 2, eq + k, &st->out))) goto done;
        bool seen[ES_NLET] = {false};
        for (int j = 0; j < st->out.n; j++) {
            int l = st->out.lab[j];
            if (seen[l] || !count[l]) {
                rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "Einsum output index '%c' is %s",
                              l < 26 ? 'A' + l : 'a' + (l - 26), seen[l] ? "repeated" : "not in any input");
                goto done;
            }
            seen[l] = true;
        }
    } else {
        /* implicit: the ellipsis first, then indices seen once, ASCII order */
        st->out.ell = any_ell ? 0 : -1;
        st->out.n = 0;
        for (int l = 0; l < ES_NLET; l++)
            if (count[l] == 1) {
                if (st->out.n >= CPU_MAX_RANK) {
                    rc = cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Einsum output has too many indices");
                    goto done;
                }
                st->out.lab[st->out.n++] = (int16_t)l;
            }
    }
done:
    free(eq);
    if (rc) {
        free(st);
        return rc;
    }
    *state = st;
    return PRISM_OK;
}

typedef enum { ES_F32, ES_F64, ES_U64 } es_work;

typedef struct es_view {
    int n;
    int16_t lab[ES_NLAB];
    int64_t dim[ES_NLAB], st[ES_NLAB];
    void *data;
} es_view;

static int es_find(const es_view *v, int l) {
    for (int i = 0; i < v->n; i++)
        if (v->lab[i] == l) return i;
    return -1;
}

static bool es_has(const int16_t *labs, int n, int l) {
    for (int i = 0; i < n; i++)
        if (labs[i] == l) return true;
    return false;
}

/* Gather arguments: out[i] (contiguous over olab) = sum over rlab of v. */
typedef struct es_gather_arg {
    const void *src;
    void *dst;
    int no, nr;
    int64_t od[ES_NLAB], os[ES_NLAB], rd[ES_NLAB], rs[ES_NLAB];
    int64_t rcount;
} es_gather_arg;

/* Batched GEMM arguments: C[b] (M x N, contiguous) = op(A[b]) op(B[b]). */
typedef struct es_gemm_arg {
    const void *a, *b;
    void *c;
    int64_t M, N, K, sab, sbb;
    int64_t ai, ap, bp, bj; /* element strides: A(i,p) = a[i*ai + p*ap], B(p,j) = b[p*bp + j*bj] */
} es_gemm_arg;

#define ES_DEFINE(W, SUF)                                                                                \
    /* rows [r0, r1) of the output, a row being its last dim */                                         \
    static void es_gather_##SUF(void *argp, int64_t r0, int64_t r1) {                                    \
        const es_gather_arg *g = argp;                                                                   \
        const W *src = g->src;                                                                           \
        const int lst = g->no - 1;                                                                       \
        const int64_t len = g->no ? g->od[lst] : 1, step = g->no ? g->os[lst] : 0;                       \
        W *dst = (W *)g->dst + r0 * len;                                                                 \
        int64_t idx[ES_NLAB], off = 0, rem = r0;                                                         \
        for (int d = lst - 1; d >= 0; d--) {                                                             \
            idx[d] = rem % g->od[d];                                                                     \
            rem /= g->od[d];                                                                             \
            off += idx[d] * g->os[d];                                                                    \
        }                                                                                                \
        for (int64_t r = r0; r < r1; r++, dst += len) {                                                  \
            if (g->nr == 0) {                                                                            \
                if (step == 1)                                                                           \
                    for (int64_t j = 0; j < len; j++) dst[j] = src[off + j];                             \
                else                                                                                     \
                    for (int64_t j = 0; j < len; j++) dst[j] = src[off + j * step];                      \
            } else {                                                                                     \
                for (int64_t j = 0; j < len; j++) {                                                      \
                    W acc = 0;                                                                           \
                    int64_t ridx[ES_NLAB] = {0}, roff = off + j * step;                                  \
                    for (int64_t q = 0; q < g->rcount; q++) {                                            \
                        acc += src[roff];                                                                \
                        for (int d = g->nr - 1; d >= 0; d--) {                                           \
                            roff += g->rs[d];                                                            \
                            if (++ridx[d] < g->rd[d]) break;                                             \
                            roff -= g->rs[d] * g->rd[d];                                                 \
                            ridx[d] = 0;                                                                 \
                        }                                                                                \
                    }                                                                                    \
                    dst[j] = acc;                                                                        \
                }                                                                                        \
            }                                                                                            \
            for (int d = lst - 1; d >= 0; d--) {                                                         \
                off += g->os[d];                                                                         \
                if (++idx[d] < g->od[d]) break;                                                          \
                off -= g->os[d] * g->od[d];                                                              \
                idx[d] = 0;                                                                              \
            }                                                                                            \
        }                                                                                                \
    }                                                                                                    \
    /* rows r = b * M + i of C */                                                                        \
    static void es_gemm_rows_##SUF(void *argp, int64_t r0, int64_t r1) {                                 \
        const es_gemm_arg *g = argp;                                                                     \
        for (int64_t r = r0; r < r1; r++) {                                                              \
            const int64_t b = r / g->M, i = r % g->M;                                                    \
            const W *A = (const W *)g->a + b * g->sab + i * g->ai;                                       \
            const W *B = (const W *)g->b + b * g->sbb;                                                   \
            W *C = (W *)g->c + r * g->N;                                                                 \
            for (int64_t j = 0; j < g->N; j++) C[j] = 0;                                                 \
            for (int64_t p = 0; p < g->K; p++) {                                                         \
                const W av = A[p * g->ap];                                                               \
                const W *Bp = B + p * g->bp;                                                             \
                for (int64_t j = 0; j < g->N; j++) C[j] += av * Bp[j * g->bj];                           \
            }                                                                                            \
        }                                                                                                \
    }

ES_DEFINE(float, f32)
ES_DEFINE(double, f64)
ES_DEFINE(uint64_t, u64)

static size_t es_size(es_work w) { return w == ES_F32 ? sizeof(float) : 8; }

/* Gather v into a contiguous buffer ordered by olab, summing rlab. */
static void es_gather(cpu_ctx *ctx, es_work w, const es_view *v, const int16_t *olab, int no, const int16_t *rlab,
                      int nr, void *dst, int64_t count) {
    es_gather_arg g = {v->data, dst, no, nr, {0}, {0}, {0}, {0}, 1};
    for (int i = 0; i < no; i++) {
        int k = es_find(v, olab[i]);
        g.od[i] = v->dim[k], g.os[i] = v->st[k];
    }
    for (int i = 0; i < nr; i++) {
        int k = es_find(v, rlab[i]);
        g.rd[i] = v->dim[k], g.rs[i] = v->st[k];
        g.rcount *= g.rd[i];
    }
    if (count == 0) return;
    const int64_t rows = no ? count / g.od[no - 1] : 1;
    cpu_parallel_for(ctx, rows, w == ES_F32 ? es_gather_f32 : w == ES_F64 ? es_gather_f64 : es_gather_u64, &g);
}

/* Is v, read in the order labs, a contiguous array? */
static bool es_contiguous(const es_view *v, const int16_t *labs, int n) {
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        int k = es_find(v, labs[i]);
        if (v->dim[k] != 1 && v->st[k] != s) return false;
        s *= v->dim[k];
    }
    return true;
}

static int64_t es_prod(const es_view *v, const int16_t *labs, int n) {
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= v->dim[es_find(v, labs[i])];
    return p;
}

/* Contract a and b into *out (a new contiguous buffer, stored in *owned),
 * keeping the labels in keep[]. */
static prism_status es_contract(cpu_ctx *ctx, es_work w, const es_view *a, const es_view *b, const bool *keep,
                                es_view *out, void **owned, void *final_dst, const int16_t *olab, int n_olab) {
    int16_t bl[ES_NLAB], ml[ES_NLAB], nl[ES_NLAB], kl[ES_NLAB], ral[ES_NLAB], rbl[ES_NLAB];
    int nb = 0, nm = 0, nn = 0, nk = 0, nra = 0, nrb = 0;
    for (int i = 0; i < a->n; i++) {
        int l = a->lab[i];
        bool inb = es_find(b, l) >= 0;
        if (inb && keep[l]) bl[nb++] = (int16_t)l;
        else if (inb) kl[nk++] = (int16_t)l;
        else if (keep[l]) ml[nm++] = (int16_t)l;
        else ral[nra++] = (int16_t)l;
    }
    for (int i = 0; i < b->n; i++) {
        int l = b->lab[i];
        if (es_find(a, l) >= 0) continue;
        if (keep[l]) nl[nn++] = (int16_t)l;
        else rbl[nrb++] = (int16_t)l;
    }
    const int64_t Bt = es_prod(a, bl, nb), M = es_prod(a, ml, nm), N = es_prod(b, nl, nn), K = es_prod(a, kl, nk);
    int64_t csz, asz, bsz;
    if (!cpu_mul_ok(Bt, M, &csz) || !cpu_mul_ok(csz, N, &csz) || !cpu_mul_ok(Bt, M, &asz) || !cpu_mul_ok(asz, K, &asz) ||
        !cpu_mul_ok(Bt, K, &bsz) || !cpu_mul_ok(bsz, N, &bsz) || csz > ((int64_t)1 << 40) || asz > ((int64_t)1 << 40) ||
        bsz > ((int64_t)1 << 40))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum intermediate is too large");
    const size_t es = es_size(w);
    void *abuf = NULL, *bbuf = NULL, *cbuf = NULL;
    /* The last step writes the output itself when [batch, M, N] is its order. */
    bool direct = final_dst && nb + nm + nn == n_olab;
    for (int i = 0; direct && i < n_olab; i++)
        direct = olab[i] == (i < nb ? bl[i] : i < nb + nm ? ml[i - nb] : nl[i - nb - nm]);
    cbuf = direct ? final_dst : malloc((size_t)(csz ? csz : 1) * es);
    if (!cbuf) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    /* A as [batch, M, K] (or [batch, K, M]: transposed) */
    int16_t ord[ES_NLAB];
    int no = 0;
    es_gemm_arg g = {NULL, NULL, cbuf, M, N, K, M * K, K * N, K, 1, N, 1};
    bool ta = false, tb = false;
    memcpy(ord, bl, (size_t)nb * sizeof *ord), no = nb;
    memcpy(ord + no, ml, (size_t)nm * sizeof *ord), no += nm;
    memcpy(ord + no, kl, (size_t)nk * sizeof *ord), no += nk;
    if (nra == 0 && es_contiguous(a, ord, no)) {
        g.a = a->data;
    } else {
        memcpy(ord + nb, kl, (size_t)nk * sizeof *ord);
        memcpy(ord + nb + nk, ml, (size_t)nm * sizeof *ord);
        if (nra == 0 && es_contiguous(a, ord, no)) {
            g.a = a->data, ta = true;
        } else {
            memcpy(ord + nb, ml, (size_t)nm * sizeof *ord);
            memcpy(ord + nb + nm, kl, (size_t)nk * sizeof *ord);
            abuf = malloc((size_t)(asz ? asz : 1) * es);
            if (!abuf) goto oom;
            es_gather(ctx, w, a, ord, no, ral, nra, abuf, asz);
            g.a = abuf;
        }
    }
    /* B as [batch, K, N] (or [batch, N, K]) */
    no = 0;
    memcpy(ord, bl, (size_t)nb * sizeof *ord), no = nb;
    memcpy(ord + no, kl, (size_t)nk * sizeof *ord), no += nk;
    memcpy(ord + no, nl, (size_t)nn * sizeof *ord), no += nn;
    if (nrb == 0 && es_contiguous(b, ord, no)) {
        g.b = b->data;
    } else {
        memcpy(ord + nb, nl, (size_t)nn * sizeof *ord);
        memcpy(ord + nb + nn, kl, (size_t)nk * sizeof *ord);
        if (nrb == 0 && es_contiguous(b, ord, no)) {
            g.b = b->data, tb = true;
        } else {
            memcpy(ord + nb, kl, (size_t)nk * sizeof *ord);
            memcpy(ord + nb + nk, nl, (size_t)nn * sizeof *ord);
            bbuf = malloc((size_t)(bsz ? bsz : 1) * es);
            if (!bbuf) goto oom;
            es_gather(ctx, w, b, ord, no, rbl, nrb, bbuf, bsz);
            g.b = bbuf;
        }
    }
    if (ta) g.ai = 1, g.ap = M;
    if (tb) g.bp = 1, g.bj = K;
    if (csz > 0) {
        if (w == ES_F32 && K > 0 && (Bt == 1 || M * N * K >= 32768)) {
            for (int64_t bt = 0; bt < Bt; bt++)
                cpu_sgemm(ctx, ta, tb, M, N, K, 1.0f, (const float *)g.a + bt * g.sab, ta ? M : K,
                          (const float *)g.b + bt * g.sbb, tb ? K : N, 0.0f, (float *)cbuf + bt * M * N, N);
        } else {
            cpu_parallel_for(ctx, Bt * M,
                             w == ES_F32 ? es_gemm_rows_f32 : w == ES_F64 ? es_gemm_rows_f64 : es_gemm_rows_u64, &g);
        }
    }
    free(abuf);
    free(bbuf);
    out->n = 0;
    out->data = cbuf;
    *owned = direct ? NULL : cbuf;
    int16_t all[ES_NLAB];
    int na = 0;
    memcpy(all, bl, (size_t)nb * sizeof *all), na = nb;
    memcpy(all + na, ml, (size_t)nm * sizeof *all), na += nm;
    memcpy(all + na, nl, (size_t)nn * sizeof *all), na += nn;
    int64_t s = 1;
    for (int i = na - 1; i >= 0; i--) {
        const es_view *src = es_find(a, all[i]) >= 0 ? a : b;
        int64_t d = src->dim[es_find(src, all[i])];
        out->lab[i] = all[i], out->dim[i] = d, out->st[i] = s;
        s *= d;
    }
    out->n = na;
    return PRISM_OK;
oom:
    free(abuf);
    free(bbuf);
    if (!direct) free(cbuf);
    return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
}

static bool es_dtype_ok(int32_t dt) { return cpu_dtype_is_float(dt) || cpu_dtype_is_int(dt); }

static bool einsum_supports(const cpu_node *node) {
    for (uint32_t k = 0; k < cpu_node_input_count(node); k++) {
        int32_t dt = cpu_node_input_dtype(node, k);
        if (dt > 0 && !es_dtype_ok(dt)) return false;
    }
    return true;
}

/* Operand data in the work type: borrowed (float/double) or converted. */
static void *es_work_data(const cpu_tensor *t, es_work w, bool *owned) {
    *owned = false;
    if ((w == ES_F32 && t->dtype == PRISM_DTYPE_FLOAT) || (w == ES_F64 && t->dtype == PRISM_DTYPE_DOUBLE))
        return t->data;
    void *d = malloc((size_t)(t->count ? t->count : 1) * es_size(w));
    if (!d) return NULL;
    *owned = true;
    for (int64_t i = 0; i < t->count; i++) {
        if (w == ES_F32) ((float *)d)[i] = (float)cpu_tensor_load_f64(t, i);
        else if (w == ES_F64) ((double *)d)[i] = cpu_tensor_load_f64(t, i);
        else ((uint64_t *)d)[i] = (uint64_t)cpu_tensor_int(t, i);
    }
    return d;
}

static prism_status einsum_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    (void)node;
    const es_state *st = state;
    if ((int)n_in != st->n_in) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum got %u inputs", n_in);
    int32_t dt = in[0] ? in[0]->dtype : 0;
    for (uint32_t i = 0; i < n_in; i++) {
        if (!in[i]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum input %u is missing", i);
        if (in[i]->dtype != dt) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum inputs have different dtypes");
    }
    if (!es_dtype_ok(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Einsum does not support %s", cpu_dtype_name(dt));
    es_work w = dt == PRISM_DTYPE_DOUBLE ? ES_F64 : cpu_dtype_is_float(dt) ? ES_F32 : ES_U64;
    /* ellipsis rank and each operand's labels */
    int E = 0;
    for (int i = 0; i < st->n_in; i++) {
        const es_term *t = &st->in[i];
        int e = in[i]->rank - t->n;
        if (t->ell < 0 ? e != 0 : e < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum operand %d has rank %d, the equation gives it %d%s", i,
                            in[i]->rank, t->n, t->ell < 0 ? "" : " or more");
        if (e > E) E = e;
    }
    int64_t gsize[ES_NLAB];
    for (int l = 0; l < ES_NLAB; l++) gsize[l] = -1;
    int16_t labs[16][CPU_MAX_RANK]; /* small n_in fast storage; larger goes to the heap below */
    int16_t(*ol)[CPU_MAX_RANK] = st->n_in <= 16 ? labs : malloc((size_t)st->n_in * sizeof *ol);
    if (!ol) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status rc = PRISM_OK;
    for (int i = 0; i < st->n_in && !rc; i++) {
        const es_term *t = &st->in[i];
        int r = in[i]->rank, e = r - t->n;
        for (int p = 0; p < r; p++) {
            int l;
            if (t->ell < 0 || p < t->ell) l = t->lab[p];
            else if (p < t->ell + e) l = ES_NLET + (E - e) + (p - t->ell);
            else l = t->lab[p - e];
            ol[i][p] = (int16_t)l;
            int64_t d = in[i]->dims[p];
            if (gsize[l] < 0 || gsize[l] == 1) gsize[l] = d;
            else if (d != gsize[l] && d != 1) {
                rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum: an index has sizes %lld and %lld",
                              (long long)gsize[l], (long long)d);
                break;
            }
        }
    }
    /* output labels */
    int16_t olab[ES_NLAB];
    int no = 0;
    if (!rc) {
        if (E > 0 && st->out.ell < 0)
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Einsum: the output needs '...' for the broadcast dimensions");
        for (int j = 0; j <= st->out.n && !rc; j++) {
            if (j == st->out.ell)
                for (int e = 0; e < E; e++) olab[no++] = (int16_t)(ES_NLET + e);
            if (j < st->out.n) olab[no++] = st->out.lab[j];
        }
        if (!rc && no > CPU_MAX_RANK) rc = cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Einsum output rank too large");
    }
    int64_t yd[CPU_MAX_RANK];
    for (int j = 0; j < no && !rc; j++) yd[j] = gsize[olab[j]];
    cpu_tensor *Y = NULL;
    if (!rc) rc = cpu_output(ctx, 0, dt, no, yd, &Y);
    /* views */
    void **owned = rc ? NULL : calloc((size_t)st->n_in * 2 + 1, sizeof *owned);
    int n_owned = 0;
    if (!rc && !owned) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    es_view cur = {0}, nxt = {0};
    bool done = false;
    for (int i = 0; i < st->n_in && !rc; i++) {
        bool own;
        void *data = es_work_data(in[i], w, &own);
        if (!data) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
            break;
        }
        if (own) owned[n_owned++] = data;
        es_view v = {0};
        v.data = data;
        int64_t s = 1;
        for (int p = in[i]->rank - 1; p >= 0; p--) {
            int l = ol[i][p];
            int64_t d = in[i]->dims[p], stride = d == 1 && gsize[l] != 1 ? 0 : s;
            s *= d;
            int k = es_find(&v, l);
            if (k >= 0) {
                v.st[k] += stride; /* repeated index: the diagonal */
            } else {
                v.lab[v.n] = (int16_t)l, v.dim[v.n] = gsize[l], v.st[v.n] = stride;
                v.n++;
            }
        }
        if (i == 0) {
            cur = v;
            continue;
        }
        bool keep[ES_NLAB] = {false};
        for (int j = 0; j < no; j++) keep[olab[j]] = true;
        for (int j = i + 1; j < st->n_in; j++)
            for (int p = 0; p < in[j]->rank; p++) keep[ol[j][p]] = true;
        void *buf = NULL;
        const bool last = i == st->n_in - 1, same = (w == ES_F32 && dt == PRISM_DTYPE_FLOAT) ||
                                                    (w == ES_F64 && dt == PRISM_DTYPE_DOUBLE);
        rc = es_contract(ctx, w, &cur, &v, keep, &nxt, &buf, last && same ? Y->data : NULL, olab, no);
        if (!rc) {
            if (buf) owned[n_owned++] = buf;
            else done = true; /* the output is written */
            cur = nxt;
        }
    }
    if (!rc && !done && Y->count > 0) {
        int16_t rl[ES_NLAB];
        int nr = 0;
        for (int i = 0; i < cur.n; i++)
            if (!es_has(olab, no, cur.lab[i])) rl[nr++] = cur.lab[i];
        bool direct = (w == ES_F32 && dt == PRISM_DTYPE_FLOAT) || (w == ES_F64 && dt == PRISM_DTYPE_DOUBLE);
        void *dst = direct ? Y->data : malloc((size_t)Y->count * es_size(w));
        if (!dst) {
            rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        } else {
            es_gather(ctx, w, &cur, olab, no, rl, nr, dst, Y->count);
            if (!direct) {
                if (w == ES_F32)
                    for (int64_t i = 0; i < Y->count; i++) misc_store(Y->data, dt, i, ((float *)dst)[i]);
                else if (w == ES_F64)
                    for (int64_t i = 0; i < Y->count; i++) misc_store(Y->data, dt, i, ((double *)dst)[i]);
                if (w == ES_U64) {
                    const uint64_t *u = dst;
#define ES_NARROW(E, T)                                                               \
    case E:                                                                           \
        for (int64_t i = 0; i < Y->count; i++) ((T *)Y->data)[i] = (T)u[i];           \
        break;
                    switch (dt) {
                        CPU_FOR_INT_TYPES(ES_NARROW)
                    default: break;
                    }
#undef ES_NARROW
                }
                free(dst);
            }
        }
    }
    for (int i = 0; owned && i < n_owned; i++) free(owned[i]);
    free(owned);
    if (ol != labs) free(ol);
    return rc;
}

const cpu_kernel_def cpu_op_Einsum = {
    .prepare = einsum_prepare,
    .run = einsum_run,
    .release = misc_free,
    .supports = einsum_supports,
};

/* ==========================================================================
 * Unique
 *
 * A stable merge sort of element (or slice) indices; equal runs are the
 * unique values, first occurrence first. Floats order NaN last and treat
 * NaNs as equal (numpy's default); strings compare bytewise (the UTF-8
 * order is the code point order).
 * ========================================================================== */

typedef struct un_ctx {
    const void *data;
    int64_t outer, d, inner; /* the tensor as [outer, d, inner]; slices along d */
} un_ctx;

typedef int (*un_cmp_fn)(const un_ctx *c, int64_t a, int64_t b);

#define UN_CMP_BODY(T, LOAD, ISNAN)                                                                  \
    const T *x = c->data;                                                                            \
    for (int64_t o = 0; o < c->outer; o++)                                                           \
        for (int64_t j = 0; j < c->inner; j++) {                                                     \
            const double u = (double)LOAD(x[(o * c->d + a) * c->inner + j]);                        \
            const double v = (double)LOAD(x[(o * c->d + b) * c->inner + j]);                         \
            if (u == v) continue;                                                                    \
            const bool nu = ISNAN(u), nv = ISNAN(v);                                                 \
            if (nu && nv) continue;                                                                  \
            if (nu) return 1;                                                                        \
            if (nv) return -1;                                                                       \
            return u < v ? -1 : 1;                                                                   \
        }                                                                                            \
    return 0;

#define UN_ID(v) (v)
#define UN_NONAN(v) ((void)(v), false)
#define UN_ISNAN(v) isnan(v)
#define UN_H16(v) cpu_half_to_float(v)
#define UN_BF16(v) cpu_bf16_to_float(v)

/* integers compare exactly (no detour through double for 64-bit) */
#define UN_CMP_INT(E, T)                                                                             \
    static int un_cmp_##T(const un_ctx *c, int64_t a, int64_t b) {                                   \
        const T *x = c->data;                                                                        \
        for (int64_t o = 0; o < c->outer; o++)                                                       \
            for (int64_t j = 0; j < c->inner; j++) {                                                 \
                const T u = x[(o * c->d + a) * c->inner + j], v = x[(o * c->d + b) * c->inner + j]; \
                if (u != v) return u < v ? -1 : 1;                                                   \
            }                                                                                        \
        return 0;                                                                                    \
    }
CPU_FOR_INT_TYPES(UN_CMP_INT)
#undef UN_CMP_INT
static int un_cmp_float(const un_ctx *c, int64_t a, int64_t b) { UN_CMP_BODY(float, UN_ID, UN_ISNAN) }
static int un_cmp_double(const un_ctx *c, int64_t a, int64_t b) { UN_CMP_BODY(double, UN_ID, UN_ISNAN) }
static int un_cmp_f16(const un_ctx *c, int64_t a, int64_t b) { UN_CMP_BODY(uint16_t, UN_H16, UN_ISNAN) }
static int un_cmp_bf16(const un_ctx *c, int64_t a, int64_t b) { UN_CMP_BODY(uint16_t, UN_BF16, UN_ISNAN) }
static int un_cmp_bool(const un_ctx *c, int64_t a, int64_t b) { UN_CMP_BODY(uint8_t, UN_ID, UN_NONAN) }
static int un_cmp_string(const un_ctx *c, int64_t a, int64_t b) {
    char *const *x = c->data;
    for (int64_t o = 0; o < c->outer; o++)
        for (int64_t j = 0; j < c->inner; j++) {
            const char *u = x[(o * c->d + a) * c->inner + j], *v = x[(o * c->d + b) * c->inner + j];
            int r = strcmp(u ? u : "", v ? v : "");
            if (r) return r < 0 ? -1 : 1;
        }
    return 0;
}

static un_cmp_fn un_cmp_for(int32_t dt) {
    switch (dt) {
#define UN_CASE(E, T) \
    case E: return un_cmp_##T;
        CPU_FOR_INT_TYPES(UN_CASE)
#undef UN_CASE
    case PRISM_DTYPE_FLOAT: return un_cmp_float;
    case PRISM_DTYPE_DOUBLE: return un_cmp_double;
    case PRISM_DTYPE_FLOAT16: return un_cmp_f16;
    case PRISM_DTYPE_BFLOAT16: return un_cmp_bf16;
    case PRISM_DTYPE_BOOL: return un_cmp_bool;
    case PRISM_DTYPE_STRING: return un_cmp_string;
    default: return NULL;
    }
}

/* Stable merge sort of idx[0, n) (tmp has n slots). */
static void un_sort(int64_t *idx, int64_t *tmp, int64_t n, un_cmp_fn cmp, const un_ctx *c) {
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi) tmp[k++] = cmp(c, idx[j], idx[i]) < 0 ? idx[j++] : idx[i++];
            while (i < mid) tmp[k++] = idx[i++];
            while (j < hi) tmp[k++] = idx[j++];
        }
        memcpy(idx, tmp, (size_t)n * sizeof *idx);
    }
}

typedef struct un_state {
    bool has_axis, sorted;
    int64_t axis;
} un_state;

static prism_status unique_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    un_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->has_axis = cpu_attr_has(node, "axis");
    st->axis = cpu_attr_int(node, "axis", 0);
    st->sorted = cpu_attr_int(node, "sorted", 1) != 0;
    *state = st;
    return PRISM_OK;
}

static bool unique_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || un_cmp_for(dt) != NULL;
}


static prism_status unique_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in) {
    const un_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Unique needs X");
    const cpu_tensor *x = in[0];
    un_cmp_fn cmp = un_cmp_for(x->dtype);
    if (!cmp) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Unique does not support %s", cpu_dtype_name(x->dtype));
    un_ctx c = {x->data, 1, x->count, 1};
    int64_t axis = 0;
    if (st->has_axis) {
        if (x->rank == 0 || !cpu_norm_axis(st->axis, x->rank, &axis))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range for rank %d", (long long)st->axis,
                            x->rank);
        c.outer = cpu_shape_count((int32_t)axis, x->dims);
        c.d = x->dims[axis];
        c.inner = cpu_shape_count(x->rank - (int32_t)axis - 1, x->dims + axis + 1);
    }
    const int64_t n = c.d;
    int64_t *buf = malloc((size_t)(n ? n : 1) * 6 * sizeof *buf);
    if (!buf) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t *idx = buf, *tmp = buf + n, *group = buf + 2 * n, *first = buf + 3 * n, *counts = buf + 4 * n,
            *rank = buf + 5 * n;
    for (int64_t i = 0; i < n; i++) idx[i] = i;
    /* with an empty slice every slice compares equal */
    if (c.outer * c.inner > 0) un_sort(idx, tmp, n, cmp, &c);
    int64_t U = 0;
    for (int64_t k = 0; k < n; k++) {
        if (k == 0 || cmp(&c, idx[k - 1], idx[k]) != 0) {
            first[U] = idx[k];
            counts[U] = 0;
            U++;
        }
        group[idx[k]] = U - 1;
        counts[U - 1]++;
    }
    /* output position of each group: sorted order, or first occurrence */
    int64_t *order = tmp; /* order[p] = group at output position p */
    if (st->sorted) {
        for (int64_t g = 0; g < U; g++) order[g] = g, rank[g] = g;
    } else {
        for (int64_t i = 0; i < n; i++) idx[i] = -1;
        for (int64_t g = 0; g < U; g++) idx[first[g]] = g;
        int64_t p = 0;
        for (int64_t i = 0; i < n; i++)
            if (idx[i] >= 0) order[p] = idx[i], rank[idx[i]] = p, p++;
    }
    prism_status rc;
    cpu_tensor *Y;
    int64_t yd[CPU_MAX_RANK];
    int32_t yr = 1;
    if (st->has_axis) {
        memcpy(yd, x->dims, sizeof(int64_t) * (size_t)x->rank);
        yd[axis] = U;
        yr = x->rank;
    } else {
        yd[0] = U;
    }
    rc = cpu_output(ctx, 0, x->dtype, yr, yd, &Y);
    const size_t es = cpu_dtype_size(x->dtype);
    for (int64_t p = 0; p < U && !rc; p++) {
        const int64_t f = first[order[p]];
        for (int64_t o = 0; o < c.outer && !rc; o++)
            for (int64_t j = 0; j < c.inner; j++) {
                const int64_t si = (o * c.d + f) * c.inner + j, di = (o * U + p) * c.inner + j;
                if (x->dtype == PRISM_DTYPE_STRING) {
                    char *s = misc_strdup(((char *const *)x->data)[si]);
                    if (!s) {
                        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                        break;
                    }
                    ((char **)Y->data)[di] = s;
                } else {
                    memcpy((char *)Y->data + (size_t)di * es, (const char *)x->data + (size_t)si * es, es);
                }
            }
    }
    const uint32_t nout = cpu_node_output_count(node);
    cpu_tensor *t;
    if (!rc && nout > 1 && !(rc = cpu_output(ctx, 1, PRISM_DTYPE_INT64, 1, &U, &t)))
        for (int64_t p = 0; p < U; p++) ((int64_t *)t->data)[p] = first[order[p]];
    int64_t nn = n;
    if (!rc && nout > 2 && !(rc = cpu_output(ctx, 2, PRISM_DTYPE_INT64, 1, &nn, &t)))
        for (int64_t i = 0; i < n; i++) ((int64_t *)t->data)[i] = rank[group[i]];
    if (!rc && nout > 3 && !(rc = cpu_output(ctx, 3, PRISM_DTYPE_INT64, 1, &U, &t)))
        for (int64_t p = 0; p < U; p++) ((int64_t *)t->data)[p] = counts[order[p]];
    free(buf);
    return rc;
}

const cpu_kernel_def cpu_op_Unique = {
    .prepare = unique_prepare,
    .run = unique_run,
    .release = misc_free,
    .supports = unique_supports,
};

/* ==========================================================================
 * Det: LU factorisation with partial pivoting, in double, per matrix.
 * ========================================================================== */

typedef struct det_arg {
    const cpu_tensor *x;
    cpu_tensor *y;
    int64_t m;
    bool failed;
} det_arg;

static void det_chunk(void *argp, int64_t b0, int64_t b1) {
    det_arg *a = argp;
    const int64_t m = a->m;
    double *A = malloc((size_t)(m > 0 ? m * m : 1) * sizeof *A);
    if (!A) {
        __atomic_store_n(&a->failed, true, __ATOMIC_RELAXED);
        return;
    }
    for (int64_t b = b0; b < b1; b++) {
        for (int64_t i = 0; i < m * m; i++) A[i] = cpu_tensor_load_f64(a->x, b * m * m + i);
        double det = 1.0;
        for (int64_t k = 0; k < m && det != 0; k++) {
            int64_t p = k;
            for (int64_t i = k + 1; i < m; i++)
                if (fabs(A[i * m + k]) > fabs(A[p * m + k])) p = i;
            if (A[p * m + k] == 0) {
                det = 0;
                break;
            }
            if (p != k) {
                for (int64_t j = 0; j < m; j++) {
                    double t = A[k * m + j];
                    A[k * m + j] = A[p * m + j], A[p * m + j] = t;
                }
                det = -det;
            }
            const double piv = A[k * m + k];
            det *= piv;
            for (int64_t i = k + 1; i < m; i++) {
                const double f = A[i * m + k] / piv;
                if (f != 0)
                    for (int64_t j = k + 1; j < m; j++) A[i * m + j] -= f * A[k * m + j];
            }
        }
        misc_store(a->y->data, a->y->dtype, b, det);
    }
    free(A);
}

static bool det_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || cpu_dtype_is_float(dt);
}

static prism_status det_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Det needs X");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Det does not support %s", cpu_dtype_name(x->dtype));
    if (x->rank < 2 || x->dims[x->rank - 1] != x->dims[x->rank - 2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Det needs [..., M, M] input");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, x->dtype, x->rank - 2, x->dims, &y);
    if (rc || y->count == 0) return rc;
    det_arg a = {x, y, x->dims[x->rank - 1], false};
    cpu_parallel_for(ctx, y->count, det_chunk, &a);
    return a.failed ? cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory") : PRISM_OK;
}

const cpu_kernel_def cpu_op_Det = {
    .run = det_run,
    .supports = det_supports,
};

/* ==========================================================================
 * Random generators.
 *
 * xoshiro256** seeded through splitmix64. With a seed attribute the
 * sequence of outputs is reproducible: run k of a session draws stream
 * (seed, k), so the first run's output is the same in every session. The
 * values cannot match other runtimes' generators (the spec says so).
 * Without a seed, the stream key is taken from the clock at compile time.
 * ========================================================================== */

enum { RND_UNIFORM, RND_NORMAL, RND_BERNOULLI };

typedef struct rnd_state {
    int kind;
    bool like;
    int32_t dtype; /* 0: the input's */
    double a, b;   /* low, high or mean, scale */
    const int64_t *shape;
    size_t n_shape;
    uint64_t key;
    uint64_t runs; /* atomic */
} rnd_state;

typedef struct rnd_gen {
    uint64_t s[4];
} rnd_gen;

static uint64_t rnd_splitmix(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rnd_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t rnd_next(rnd_gen *g) {
    uint64_t *s = g->s, r = rnd_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0], s[3] ^= s[1], s[1] ^= s[2], s[0] ^= s[3], s[2] ^= t;
    s[3] = rnd_rotl(s[3], 45);
    return r;
}

static double rnd_unit(rnd_gen *g) { return (double)(rnd_next(g) >> 11) * 0x1.0p-53; } /* [0, 1) */

static bool rnd_float_out(int32_t dt) { return cpu_dtype_is_float(dt); }
static bool rnd_bern_out(int32_t dt) {
    return cpu_dtype_is_float(dt) || dt == PRISM_DTYPE_BOOL || dt == PRISM_DTYPE_INT8 || dt == PRISM_DTYPE_INT16 ||
           dt == PRISM_DTYPE_INT32 || dt == PRISM_DTYPE_INT64 || dt == PRISM_DTYPE_UINT8 || dt == PRISM_DTYPE_UINT16 ||
           dt == PRISM_DTYPE_UINT32 || dt == PRISM_DTYPE_UINT64;
}

static prism_status rnd_prepare(cpu_ctx *ctx, const cpu_node *node, void **state, int kind, bool like) {
    rnd_state t = {kind, like, 0, 0, 0, NULL, 0, 0, 0};
    if (kind == RND_UNIFORM) t.a = cpu_attr_float(node, "low", 0.0f), t.b = cpu_attr_float(node, "high", 1.0f);
    if (kind == RND_NORMAL) t.a = cpu_attr_float(node, "mean", 0.0f), t.b = cpu_attr_float(node, "scale", 1.0f);
    if (cpu_attr_has(node, "dtype")) t.dtype = (int32_t)cpu_attr_int(node, "dtype", PRISM_DTYPE_FLOAT);
    else if (!like && kind != RND_BERNOULLI) t.dtype = PRISM_DTYPE_FLOAT;
    if (t.dtype && !(kind == RND_BERNOULLI ? rnd_bern_out(t.dtype) : rnd_float_out(t.dtype)))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "dtype %d is not supported", (int)t.dtype);
    if (!like && kind != RND_BERNOULLI) {
        t.n_shape = cpu_attr_ints(node, "shape", &t.shape);
        if (!cpu_attr_has(node, "shape"))
            return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "the shape attribute is missing");
        if (t.n_shape > CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "shape has too many dims");
        for (size_t i = 0; i < t.n_shape; i++)
            if (t.shape[i] < 0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "shape has a negative dim");
    }
    if (cpu_attr_has(node, "seed")) {
        double sd = cpu_attr_float(node, "seed", 0.0f);
        memcpy(&t.key, &sd, sizeof t.key);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        t.key = (uint64_t)ts.tv_sec * 1000000007ull ^ (uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)node;
        t.key = rnd_splitmix(&t.key);
    }
    rnd_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = t;
    *state = st;
    return PRISM_OK;
}

static prism_status rnd_uniform_prepare(cpu_ctx *c, const cpu_node *n, void **s) {
    return rnd_prepare(c, n, s, RND_UNIFORM, false);
}
static prism_status rnd_normal_prepare(cpu_ctx *c, const cpu_node *n, void **s) {
    return rnd_prepare(c, n, s, RND_NORMAL, false);
}
static prism_status rnd_uniform_like_prepare(cpu_ctx *c, const cpu_node *n, void **s) {
    return rnd_prepare(c, n, s, RND_UNIFORM, true);
}
static prism_status rnd_normal_like_prepare(cpu_ctx *c, const cpu_node *n, void **s) {
    return rnd_prepare(c, n, s, RND_NORMAL, true);
}
static prism_status rnd_bernoulli_prepare(cpu_ctx *c, const cpu_node *n, void **s) {
    return rnd_prepare(c, n, s, RND_BERNOULLI, true);
}

static prism_status rnd_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    rnd_state *st = state;
    const cpu_tensor *x = NULL;
    if (st->like) {
        if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the op needs an input");
        x = in[0];
    }
    int32_t dt = st->dtype ? st->dtype : x->dtype;
    if (st->kind == RND_BERNOULLI ? !rnd_bern_out(dt) : !rnd_float_out(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output dtype %s is not supported (set the dtype attribute)",
                        cpu_dtype_name(dt));
    if (st->kind == RND_BERNOULLI && !cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "Bernoulli needs float probabilities, got %s",
                        cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    prism_status rc = x ? cpu_output(ctx, 0, dt, x->rank, x->dims, &y)
                        : cpu_output(ctx, 0, dt, (int32_t)st->n_shape, st->shape, &y);
    if (rc) return rc;
    uint64_t run = __atomic_fetch_add(&st->runs, 1, __ATOMIC_RELAXED);
    uint64_t seed = st->key ^ (run * 0xd1b54a32d192ed03ull);
    rnd_gen g;
    for (int i = 0; i < 4; i++) g.s[i] = rnd_splitmix(&seed);
    for (int64_t i = 0; i < y->count; i++) {
        double v;
        if (st->kind == RND_UNIFORM) {
            v = st->a + (st->b - st->a) * rnd_unit(&g);
        } else if (st->kind == RND_NORMAL) {
            double u1 = 1.0 - rnd_unit(&g), u2 = rnd_unit(&g); /* u1 in (0, 1] */
            v = st->a + st->b * sqrt(-2.0 * log(u1)) * cos(6.28318530717958647692 * u2);
        } else {
            v = rnd_unit(&g) < cpu_tensor_load_f64(x, i) ? 1.0 : 0.0;
        }
        misc_store(y->data, dt, i, v);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_RandomUniform = {
    .prepare = rnd_uniform_prepare,
    .run = rnd_run,
    .release = misc_free,
};
const cpu_kernel_def cpu_op_RandomNormal = {
    .prepare = rnd_normal_prepare,
    .run = rnd_run,
    .release = misc_free,
};
const cpu_kernel_def cpu_op_RandomUniformLike = {
    .prepare = rnd_uniform_like_prepare,
    .run = rnd_run,
    .release = misc_free,
};
const cpu_kernel_def cpu_op_RandomNormalLike = {
    .prepare = rnd_normal_like_prepare,
    .run = rnd_run,
    .release = misc_free,
};
const cpu_kernel_def cpu_op_Bernoulli = {
    .prepare = rnd_bernoulli_prepare,
    .run = rnd_run,
    .release = misc_free,
};

/* ==========================================================================
 * TfIdfVectorizer
 *
 * The pool's n-grams (those with min_gram_length <= n <= max_gram_length)
 * go into a hash table keyed by their tokens; strings become token ids
 * through a second table first. Counting follows the spec and the
 * reference: for each skip distance 1..max_skip_count+1 and each start,
 * the n-grams start, start+skip, ... are looked up; unigrams count once.
 * Weights are indexed by output coordinate, as ONNX Runtime and the
 * reference implementation do.
 * ========================================================================== */

typedef struct tf_entry {
    int64_t off; /* first token in the pool; -1 empty */
    int32_t n;
    int64_t id; /* n-gram number (index into ngram_indexes) */
} tf_entry;

typedef struct tf_state {
    int mode; /* 1 TF, 2 IDF, 3 TFIDF */
    int64_t min_n, max_n, max_skip, out_size;
    const int64_t *indexes;
    size_t n_indexes;
    const float *weights;
    size_t n_weights;
    bool strings;
    int64_t *tokens; /* the pool as token ids */
    size_t n_tokens;
    tf_entry *tab;
    uint64_t cap; /* power of two */
    /* strings: dictionary of pool strings -> token id */
    const char **dict;
    int64_t *dict_id;
    uint64_t dict_cap;
} tf_state;

static uint64_t tf_mix(uint64_t h, uint64_t v) {
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h * 0xff51afd7ed558ccdull;
}

static uint64_t tf_hash_str(const char *s) {
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

/* tokens at t[0], t[step], ... (n of them) */
static uint64_t tf_hash_gram(const int64_t *t, int64_t step, int32_t n) {
    uint64_t h = tf_mix(0, (uint64_t)n);
    for (int32_t i = 0; i < n; i++) h = tf_mix(h, (uint64_t)t[i * step]);
    return h;
}

static tf_entry *tf_find(const tf_state *st, const int64_t *t, int64_t step, int32_t n) {
    uint64_t h = tf_hash_gram(t, step, n) & (st->cap - 1);
    for (;; h = (h + 1) & (st->cap - 1)) {
        tf_entry *e = &st->tab[h];
        if (e->off < 0) return e;
        if (e->n != n) continue;
        bool eq = true;
        for (int32_t i = 0; i < n && eq; i++) eq = st->tokens[e->off + i] == t[i * step];
        if (eq) return e;
    }
}

static int64_t tf_token_of(const tf_state *st, const char *s) {
    uint64_t h = tf_hash_str(s) & (st->dict_cap - 1);
    for (;; h = (h + 1) & (st->dict_cap - 1)) {
        if (!st->dict[h]) return -1;
        if (!strcmp(st->dict[h], s)) return st->dict_id[h];
    }
}

static void tf_release(void *state) {
    tf_state *st = state;
    if (!st) return;
    free(st->tokens);
    free(st->tab);
    free(st->dict);
    free(st->dict_id);
    free(st);
}

static uint64_t tf_pow2_above(uint64_t n) {
    uint64_t c = 16;
    while (c < 2 * n) c <<= 1;
    return c;
}

static prism_status tfidf_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    tf_state *st = calloc(1, sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    prism_status rc = PRISM_OK;
    const char *mode = cpu_attr_string(node, "mode", "");
    st->mode = !strcmp(mode, "TF") ? 1 : !strcmp(mode, "IDF") ? 2 : !strcmp(mode, "TFIDF") ? 3 : 0;
    st->min_n = cpu_attr_int(node, "min_gram_length", 0);
    st->max_n = cpu_attr_int(node, "max_gram_length", 0);
    st->max_skip = cpu_attr_int(node, "max_skip_count", 0);
    const int64_t *counts, *pool_i = NULL;
    size_t n_counts = cpu_attr_ints(node, "ngram_counts", &counts);
    st->n_indexes = cpu_attr_ints(node, "ngram_indexes", &st->indexes);
    st->n_weights = cpu_attr_floats(node, "weights", &st->weights);
    size_t n_pool_i = cpu_attr_ints(node, "pool_int64s", &pool_i);
    size_t n_pool_s = cpu_attr_strings_count(node, "pool_strings");
    st->strings = n_pool_s > 0;
    if (!st->mode) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "mode must be TF, IDF or TFIDF, got '%s'", mode);
        goto done;
    }
    if (st->min_n < 1 || st->max_n < st->min_n || st->max_skip < 0 || st->max_n > 1024) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL,
                      "need 1 <= min_gram_length <= max_gram_length (<= 1024) and max_skip_count >= 0");
        goto done;
    }
    if ((n_pool_i > 0) == (n_pool_s > 0) && (n_pool_i || n_pool_s)) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "exactly one of pool_int64s and pool_strings must be set");
        goto done;
    }
    if (st->n_weights && st->n_weights < st->n_indexes) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "weights has fewer elements than ngram_indexes");
        goto done;
    }
    st->out_size = 0;
    for (size_t i = 0; i < st->n_indexes; i++) {
        if (st->indexes[i] < 0 || st->indexes[i] > ((int64_t)1 << 40)) {
            rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "ngram_indexes has an out-of-range value");
            goto done;
        }
        if (st->indexes[i] + 1 > st->out_size) st->out_size = st->indexes[i] + 1;
    }
    if (st->n_weights && (size_t)st->out_size > st->n_weights) {
        rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "weights has fewer elements than the output");
        goto done;
    }
    st->n_tokens = st->strings ? n_pool_s : n_pool_i;
    st->tokens = malloc((st->n_tokens ? st->n_tokens : 1) * sizeof *st->tokens);
    if (!st->tokens) goto oom;
    if (st->strings) {
        st->dict_cap = tf_pow2_above(n_pool_s);
        st->dict = calloc(st->dict_cap, sizeof *st->dict);
        st->dict_id = calloc(st->dict_cap, sizeof *st->dict_id);
        if (!st->dict || !st->dict_id) goto oom;
        int64_t next = 0;
        for (size_t i = 0; i < n_pool_s; i++) {
            const char *s = cpu_attr_strings_item(node, "pool_strings", i);
            uint64_t h = tf_hash_str(s) & (st->dict_cap - 1);
            while (st->dict[h] && strcmp(st->dict[h], s)) h = (h + 1) & (st->dict_cap - 1);
            if (!st->dict[h]) st->dict[h] = s, st->dict_id[h] = next++;
            st->tokens[i] = st->dict_id[h];
        }
    } else {
        memcpy(st->tokens, pool_i, n_pool_i * sizeof *st->tokens);
    }
    st->cap = tf_pow2_above(st->n_tokens);
    st->tab = malloc(st->cap * sizeof *st->tab);
    if (!st->tab) goto oom;
    for (uint64_t i = 0; i < st->cap; i++) st->tab[i].off = -1;
    int64_t id = 0;
    for (size_t i = 0; i < n_counts; i++) {
        const int64_t n = (int64_t)i + 1, start = counts[i];
        const int64_t end = i + 1 < n_counts ? counts[i + 1] : (int64_t)st->n_tokens;
        if (start < 0 || end < start || end > (int64_t)st->n_tokens) {
            rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "ngram_counts is not a valid list of pool offsets");
            goto done;
        }
        const int64_t grams = (end - start) / n;
        if (n < st->min_n || n > st->max_n) {
            id += grams;
            continue;
        }
        for (int64_t g = 0; g < grams; g++, id++) {
            if ((size_t)id >= st->n_indexes) {
                rc = cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "the pool has more n-grams than ngram_indexes");
                goto done;
            }
            tf_entry *e = tf_find(st, st->tokens + start + g * n, 1, (int32_t)n);
            e->off = start + g * n, e->n = (int32_t)n, e->id = id; /* a repeated n-gram: the later one wins */
        }
    }
done:
    if (rc) {
        tf_release(st);
        return rc;
    }
    *state = st;
    return PRISM_OK;
oom:
    tf_release(st);
    return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
}

static bool tfidf_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || dt == PRISM_DTYPE_STRING || dt == PRISM_DTYPE_INT32 || dt == PRISM_DTYPE_INT64;
}

static prism_status tfidf_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in) {
    (void)node;
    const tf_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TfIdfVectorizer needs X");
    const cpu_tensor *x = in[0];
    bool is_str = x->dtype == PRISM_DTYPE_STRING;
    if (!is_str && x->dtype != PRISM_DTYPE_INT32 && x->dtype != PRISM_DTYPE_INT64)
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "TfIdfVectorizer does not support %s", cpu_dtype_name(x->dtype));
    if (st->n_tokens && is_str != st->strings)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be %s for this pool", st->strings ? "strings" : "integers");
    if (x->rank > 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be [C] or [N, C], got rank %d", x->rank);
    const int64_t rows = x->rank == 2 ? x->dims[0] : 1, C = x->rank == 0 ? 1 : x->dims[x->rank - 1];
    int64_t yd[2] = {rows, st->out_size};
    cpu_tensor *y;
    prism_status rc = x->rank == 2 ? cpu_output(ctx, 0, PRISM_DTYPE_FLOAT, 2, yd, &y)
                                   : cpu_output(ctx, 0, PRISM_DTYPE_FLOAT, 1, yd + 1, &y);
    if (rc) return rc;
    float *out = y->data;
    int64_t *tok = malloc((size_t)(C ? C : 1) * sizeof *tok);
    int64_t *freq = malloc((size_t)(st->out_size ? st->out_size : 1) * sizeof *freq);
    if (!tok || !freq) {
        free(tok);
        free(freq);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (int64_t r = 0; r < rows; r++) {
        for (int64_t i = 0; i < C; i++)
            tok[i] = is_str ? tf_token_of(st, ((char *const *)x->data)[r * C + i] ? ((char *const *)x->data)[r * C + i]
                                                                                   : "")
                            : cpu_tensor_int(x, r * C + i);
        memset(freq, 0, (size_t)st->out_size * sizeof *freq);
        if (st->n_tokens > 0) {
            int64_t start_n = st->min_n;
            for (int64_t skip = 1; skip <= st->max_skip + 1; skip++) {
                for (int64_t s = 0; s < C; s++) {
                    if (s + skip * (start_n - 1) >= C) break;
                    for (int64_t n = 1, pos = s; n <= st->max_n && pos < C; n++, pos += skip) {
                        if (n < start_n) continue;
                        const tf_entry *e = tf_find(st, tok + s, skip, (int32_t)n);
                        if (e->off >= 0) freq[st->indexes[e->id]]++;
                    }
                }
                if (start_n == 1) {
                    start_n = 2; /* unigrams do not depend on the skip: count them once */
                    if (start_n > st->max_n) break;
                }
            }
        }
        for (int64_t i = 0; i < st->out_size; i++) {
            double v = (double)freq[i];
            if (st->mode == 2) v = freq[i] > 0 ? (st->n_weights ? st->weights[i] : 1.0) : 0.0;
            else if (st->mode == 3 && st->n_weights) v *= st->weights[i];
            out[r * st->out_size + i] = (float)v;
        }
    }
    free(tok);
    free(freq);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_TfIdfVectorizer = {
    .prepare = tfidf_prepare,
    .run = tfidf_run,
    .release = tf_release,
    .supports = tfidf_supports,
};

/* ==========================================================================
 * Strings
 * ========================================================================== */

/* Decode one UTF-8 code point at s (len bytes left); 0 bytes on bad input. */
static int utf8_decode(const unsigned char *s, size_t len, uint32_t *cp) {
    if (!len) return 0;
    if (s[0] < 0x80) return *cp = s[0], 1;
    int n = (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || (size_t)n > len) return 0;
    uint32_t v = s[0] & (0x7f >> n);
    for (int i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        v = v << 6 | (s[i] & 0x3f);
    }
    if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && (v < 0x10000 || v > 0x10ffff)) ||
        (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return n;
}

static int utf8_encode(uint32_t v, char *o) {
    if (v < 0x80) return o[0] = (char)v, 1;
    if (v < 0x800) return o[0] = (char)(0xc0 | v >> 6), o[1] = (char)(0x80 | (v & 0x3f)), 2;
    if (v < 0x10000) {
        o[0] = (char)(0xe0 | v >> 12), o[1] = (char)(0x80 | (v >> 6 & 0x3f)), o[2] = (char)(0x80 | (v & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | v >> 18), o[1] = (char)(0x80 | (v >> 12 & 0x3f)), o[2] = (char)(0x80 | (v >> 6 & 0x3f));
    o[3] = (char)(0x80 | (v & 0x3f));
    return 4;
}

/* ---- StringNormalizer ------------------------------------------------------ */

typedef struct sn_state {
    int action; /* 0 none, 1 lower, 2 upper */
    bool case_sensitive;
    locale_t loc; /* (locale_t)0: ASCII case mapping only */
    char **stop;  /* stopwords (lower-cased when not case sensitive) */
    size_t n_stop;
} sn_state;

static void sn_release(void *state) {
    sn_state *st = state;
    if (!st) return;
    for (size_t i = 0; i < st->n_stop; i++) free(st->stop[i]);
    free(st->stop);
    if (st->loc) freelocale(st->loc);
    free(st);
}

/* s with its case changed (upper when up); NULL when out of memory.
 * Bytes that are not valid UTF-8 are copied as they are. */
static char *sn_case(const sn_state *st, const char *s, bool up) {
    size_t len = strlen(s);
    char *o = malloc(len * 4 + 1), *p = o;
    if (!o) return NULL;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = utf8_decode((const unsigned char *)s + i, len - i, &cp);
        if (!n) {
            *p++ = s[i++];
            continue;
        }
        uint32_t m = cp;
        if (cp < 0x80) m = up && cp >= 'a' && cp <= 'z' ? cp - 32 : !up && cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
        else if (st->loc) m = (uint32_t)(up ? towupper_l((wint_t)cp, st->loc) : towlower_l((wint_t)cp, st->loc));
        p += utf8_encode(m, p);
        i += (size_t)n;
    }
    *p = '\0';
    return o;
}

static prism_status strnorm_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    const char *act = cpu_attr_string(node, "case_change_action", "NONE");
    int action = !strcmp(act, "NONE") ? 0 : !strcmp(act, "LOWER") ? 1 : !strcmp(act, "UPPER") ? 2 : -1;
    if (action < 0) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "unknown case_change_action '%s'", act);
    sn_state *st = calloc(1, sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->action = action;
    st->case_sensitive = cpu_attr_int(node, "is_case_sensitive", 0) != 0;
    /* Case mapping through a UTF-8 locale object (never the process locale). */
    const char *name = cpu_attr_string(node, "locale", "");
    char buf[128];
    if (name && *name) {
        st->loc = newlocale(LC_CTYPE_MASK, name, (locale_t)0);
        if (!st->loc && strlen(name) < 100) {
            snprintf(buf, sizeof buf, "%s.UTF-8", name);
            st->loc = newlocale(LC_CTYPE_MASK, buf, (locale_t)0);
        }
    }
    if (!st->loc) st->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    st->n_stop = cpu_attr_strings_count(node, "stopwords");
    st->stop = calloc(st->n_stop ? st->n_stop : 1, sizeof *st->stop);
    if (!st->stop) goto oom;
    for (size_t i = 0; i < st->n_stop; i++) {
        const char *w = cpu_attr_strings_item(node, "stopwords", i);
        st->stop[i] = st->case_sensitive ? misc_strdup(w) : sn_case(st, w, false);
        if (!st->stop[i]) goto oom;
    }
    *state = st;
    return PRISM_OK;
oom:
    sn_release(st);
    return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
}

static bool strnorm_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || dt == PRISM_DTYPE_STRING;
}

static prism_status strnorm_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in) {
    (void)node;
    const sn_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "StringNormalizer needs X");
    const cpu_tensor *x = in[0];
    if (x->dtype != PRISM_DTYPE_STRING) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be a string tensor");
    if (!(x->rank == 1 || (x->rank == 2 && x->dims[0] == 1)))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be [C] or [1, C]");
    char *const *xs = x->data;
    const int64_t C = x->dims[x->rank - 1];
    char **res = calloc((size_t)(C ? C : 1), sizeof *res);
    if (!res) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    int64_t kept = 0;
    prism_status rc = PRISM_OK;
    for (int64_t i = 0; i < C && !rc; i++) {
        const char *s = xs[i] ? xs[i] : "";
        if (st->n_stop) {
            char *key = st->case_sensitive ? NULL : sn_case(st, s, false);
            if (!st->case_sensitive && !key) {
                rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
                break;
            }
            bool stop = false;
            for (size_t k = 0; k < st->n_stop && !stop; k++) stop = !strcmp(key ? key : s, st->stop[k]);
            free(key);
            if (stop) continue;
        }
        res[kept] = st->action ? sn_case(st, s, st->action == 2) : misc_strdup(s);
        if (!res[kept]) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        kept++;
    }
    cpu_tensor *y = NULL;
    int64_t yd[2] = {1, kept ? kept : 1};
    if (!rc) rc = x->rank == 2 ? cpu_output(ctx, 0, PRISM_DTYPE_STRING, 2, yd, &y)
                               : cpu_output(ctx, 0, PRISM_DTYPE_STRING, 1, yd + 1, &y);
    if (!rc && !kept) {
        ((char **)y->data)[0] = misc_strdup("");
        if (!((char **)y->data)[0]) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    if (!rc) {
        memcpy(y->data, res, (size_t)kept * sizeof *res); /* the output owns the strings now */
    } else {
        for (int64_t i = 0; i < kept; i++) free(res[i]);
    }
    free(res);
    return rc;
}

const cpu_kernel_def cpu_op_StringNormalizer = {
    .prepare = strnorm_prepare,
    .run = strnorm_run,
    .release = sn_release,
    .supports = strnorm_supports,
};

/* ---- StringConcat ------------------------------------------------------------ */

static bool strcat_supports(const cpu_node *node) {
    int32_t a = cpu_node_input_dtype(node, 0), b = cpu_node_input_dtype(node, 1);
    return (a <= 0 || a == PRISM_DTYPE_STRING) && (b <= 0 || b == PRISM_DTYPE_STRING);
}

static prism_status strconcat_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                  uint32_t n_in) {
    (void)node;
    (void)state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "StringConcat needs X and Y");
    const cpu_tensor *a = in[0], *b = in[1];
    if (a->dtype != PRISM_DTYPE_STRING || b->dtype != PRISM_DTYPE_STRING)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "StringConcat needs string tensors");
    int32_t r;
    int64_t d[CPU_MAX_RANK], sa[CPU_MAX_RANK], sb[CPU_MAX_RANK];
    if (!cpu_broadcast_shape(a->rank, a->dims, b->rank, b->dims, &r, d))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "StringConcat inputs cannot be broadcast");
    int64_t s1 = 1, s2 = 1;
    for (int32_t i = r - 1; i >= 0; i--) {
        int32_t ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        sa[i] = da == 1 ? 0 : s1;
        sb[i] = db == 1 ? 0 : s2;
        s1 *= da, s2 *= db;
    }
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, PRISM_DTYPE_STRING, r, d, &y);
    if (rc) return rc;
    char *const *as = a->data, *const *bs = b->data;
    char **ys = y->data;
    int64_t idx[CPU_MAX_RANK] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < y->count; i++) {
        const char *u = as[oa] ? as[oa] : "", *v = bs[ob] ? bs[ob] : "";
        size_t lu = strlen(u), lv = strlen(v);
        char *o = malloc(lu + lv + 1);
        if (!o) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        memcpy(o, u, lu);
        memcpy(o + lu, v, lv + 1);
        ys[i] = o;
        for (int32_t k = r - 1; k >= 0; k--) {
            oa += sa[k], ob += sb[k];
            if (++idx[k] < d[k]) break;
            oa -= sa[k] * d[k], ob -= sb[k] * d[k];
            idx[k] = 0;
        }
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_StringConcat = {
    .run = strconcat_run,
    .supports = strcat_supports,
};

/* ---- StringSplit -------------------------------------------------------------- */

typedef struct ss_state {
    const char *delim; /* NULL: split on runs of whitespace */
    int64_t maxsplit;  /* < 0: no limit */
} ss_state;

/* Bytes of the whitespace character at s (Python's str.isspace set), or 0. */
static int ss_space(const char *s, size_t left) {
    unsigned char c = (unsigned char)s[0];
    if (c == ' ' || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f)) return 1;
    if (c < 0x80) return 0;
    uint32_t cp;
    int n = utf8_decode((const unsigned char *)s, left, &cp);
    if (!n) return 0;
    bool sp = cp == 0x85 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
              cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
    return sp ? n : 0;
}

/* Pieces of s as (offset, length) pairs into out (room for len+1 pieces);
 * returns their count. */
static int64_t ss_split(const ss_state *st, const char *s, int64_t *off, int64_t *len) {
    const size_t n = strlen(s);
    int64_t k = 0;
    if (st->delim) {
        const size_t dl = strlen(st->delim);
        size_t i = 0;
        for (;;) {
            const char *f = st->maxsplit >= 0 && k >= st->maxsplit ? NULL : strstr(s + i, st->delim);
            if (!f) {
                off[k] = (int64_t)i, len[k] = (int64_t)(n - i), k++;
                return k;
            }
            off[k] = (int64_t)i, len[k] = (int64_t)((size_t)(f - s) - i), k++;
            i = (size_t)(f - s) + dl;
        }
    }
    size_t i = 0;
    for (;;) {
        int w;
        while (i < n && (w = ss_space(s + i, n - i))) i += (size_t)w;
        if (i == n) return k;
        if (st->maxsplit >= 0 && k == st->maxsplit) {
            off[k] = (int64_t)i, len[k] = (int64_t)(n - i), k++;
            return k;
        }
        size_t j = i;
        while (j < n && !ss_space(s + j, n - j)) j++;
        off[k] = (int64_t)i, len[k] = (int64_t)(j - i), k++;
        i = j;
    }
}

static prism_status strsplit_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    ss_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->delim = cpu_attr_string(node, "delimiter", NULL);
    if (st->delim && !*st->delim) st->delim = NULL;
    st->maxsplit = cpu_attr_has(node, "maxsplit") ? cpu_attr_int(node, "maxsplit", -1) : -1;
    *state = st;
    return PRISM_OK;
}

static prism_status strsplit_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in) {
    (void)node;
    const ss_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "StringSplit needs X");
    const cpu_tensor *x = in[0];
    if (x->dtype != PRISM_DTYPE_STRING) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be a string tensor");
    if (x->rank + 1 > CPU_MAX_RANK) return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "X has too high a rank");
    char *const *xs = x->data;
    /* first pass: the number of pieces of each string */
    int64_t maxlen = 0, widest = 0;
    for (int64_t i = 0; i < x->count; i++) {
        int64_t l = (int64_t)strlen(xs[i] ? xs[i] : "");
        if (l > maxlen) maxlen = l;
    }
    int64_t *off = malloc((size_t)(maxlen + 2) * 2 * sizeof *off), *len = off ? off + maxlen + 2 : NULL;
    if (!off) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    cpu_tensor *z;
    prism_status rc = cpu_output(ctx, 1, PRISM_DTYPE_INT64, x->rank, x->dims, &z);
    for (int64_t i = 0; i < x->count && !rc; i++) {
        int64_t k = ss_split(st, xs[i] ? xs[i] : "", off, len);
        ((int64_t *)z->data)[i] = k;
        if (k > widest) widest = k;
    }
    int64_t yd[CPU_MAX_RANK];
    memcpy(yd, x->dims, sizeof(int64_t) * (size_t)x->rank);
    yd[x->rank] = widest;
    cpu_tensor *y;
    if (!rc) rc = cpu_output(ctx, 0, PRISM_DTYPE_STRING, x->rank + 1, yd, &y);
    for (int64_t i = 0; i < x->count && !rc; i++) {
        const char *s = xs[i] ? xs[i] : "";
        int64_t k = ss_split(st, s, off, len);
        char **row = (char **)y->data + i * widest;
        for (int64_t j = 0; j < widest && !rc; j++) {
            row[j] = j < k ? misc_strndup(s + off[j], (size_t)len[j]) : misc_strdup("");
            if (!row[j]) rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    free(off);
    return rc;
}

static bool strsplit_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || dt == PRISM_DTYPE_STRING;
}

const cpu_kernel_def cpu_op_StringSplit = {
    .prepare = strsplit_prepare,
    .run = strsplit_run,
    .release = misc_free,
    .supports = strsplit_supports,
};

/* ---- RegexFullMatch ------------------------------------------------------------
 *
 * The pattern (RE2 syntax) is translated to a POSIX extended regular
 * expression and compiled with regcomp. The common subset maps directly:
 * literals, ., [...] (with \d \s \w inside), groups, |, * + ? {n,m},
 * anchors, \d \D \s \S \w \W, escapes of punctuation, \t \n \r \f \v \a,
 * \xHH, \x{H...}, (?:...), (?P<name>...), a leading (?i) / (?s) / (?is),
 * lazy quantifiers (for a full match laziness changes nothing), \A, \z,
 * and \b \B where the C library supports them (glibc). Everything else
 * (other flags, lookaround, \p classes, \Q...\E, backreferences) fails
 * with NOT_SUPPORTED. Matching is bytewise: '.' and classes see single
 * bytes, so a pattern that counts non-ASCII characters may differ from RE2.
 */

typedef struct rx_buf {
    char *p;
    size_t n, cap;
    bool oom;
} rx_buf;

static void rx_put(rx_buf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = (b->cap ? b->cap * 2 : 64) + n;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p, b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}
static void rx_puts(rx_buf *b, const char *s) { rx_put(b, s, strlen(s)); }

/* a literal byte outside brackets */
static void rx_lit(rx_buf *b, unsigned char c) {
    char t[3] = {'\\', (char)c, 0};
    if (strchr(".[]()*+?{}|^$\\", c) && c) rx_put(b, t, 2);
    else rx_put(b, t + 1, 1);
}

static int rx_hex(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* \xHH or \x{H..} at p (after the 'x'); returns chars consumed or 0. */
static int rx_parse_hex(const char *p, uint32_t *cp) {
    if (p[0] == '{') {
        uint32_t v = 0;
        int i = 1;
        for (; p[i] && p[i] != '}'; i++) {
            int h = rx_hex(p[i]);
            if (h < 0 || i > 7) return 0;
            v = v * 16 + (uint32_t)h;
        }
        if (p[i] != '}' || i == 1 || v > 0x10ffff) return 0;
        *cp = v;
        return i + 1;
    }
    int h1 = rx_hex(p[0]), h2 = h1 >= 0 ? rx_hex(p[1]) : -1;
    if (h1 < 0 || h2 < 0) return 0;
    *cp = (uint32_t)(h1 * 16 + h2);
    return 2;
}

/* simple escapes that stand for one character */
static int rx_char_escape(char c) {
    switch (c) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case 'a': return '\a';
    default: return -1;
    }
}

/* Translate a bracket expression starting at p ('['); returns the pattern
 * position after it, or NULL with *why set. */
static const char *rx_bracket(const char *p, rx_buf *b, const char **why) {
    p++;
    bool neg = false, lit_close = false, lit_dash = false, lit_caret = false, lit_open = false;
    rx_buf items = {0};
    if (*p == '^') neg = true, p++;
    bool first = true;
    while (*p && (*p != ']' || first)) {
        unsigned char c = (unsigned char)*p;
        int lo = -1;
        if (c == '[' && p[1] == ':') { /* POSIX class, valid in RE2 too */
            const char *e = strstr(p, ":]");
            if (!e) {
                *why = "unterminated [: class";
                free(items.p);
                return NULL;
            }
            rx_put(&items, p, (size_t)(e + 2 - p));
            p = e + 2;
            first = false;
            continue;
        }
        if (c == '\\') {
            char e = p[1];
            if (!e) {
                *why = "trailing backslash";
                free(items.p);
                return NULL;
            }
            if (e == 'd') rx_puts(&items, "0-9"), p += 2;
            else if (e == 's') rx_puts(&items, " \t\n\r\f\v"), p += 2;
            else if (e == 'w') rx_puts(&items, "0-9A-Za-z_"), p += 2;
            else if (e == 'D' || e == 'S' || e == 'W') {
                *why = "negated classes (\\D \\S \\W) inside [...]";
                free(items.p);
                return NULL;
            } else if (rx_char_escape(e) >= 0) lo = rx_char_escape(e), p += 2;
            else if (e == 'x') {
                uint32_t cp;
                int k = rx_parse_hex(p + 2, &cp);
                if (!k || cp > 0x7f) {
                    *why = "\\x escapes above 0x7f inside [...]";
                    free(items.p);
                    return NULL;
                }
                lo = (int)cp, p += 2 + k;
            } else if (!isalnum((unsigned char)e)) lo = (unsigned char)e, p += 2;
            else {
                *why = "this escape inside [...]";
                free(items.p);
                return NULL;
            }
            first = false;
            if (lo < 0) continue;
        } else {
            lo = c, p++;
            first = false;
        }
        /* a range lo-hi? */
        if (*p == '-' && p[1] && p[1] != ']') {
            int hi;
            if (p[1] == '\\') {
                char e = p[2];
                hi = rx_char_escape(e);
                if (hi < 0 && e && !isalnum((unsigned char)e)) hi = (unsigned char)e;
                if (hi < 0) {
                    *why = "this range inside [...]";
                    free(items.p);
                    return NULL;
                }
                p += 3;
            } else {
                hi = (unsigned char)p[1], p += 2;
            }
            if (hi < lo || strchr("]-^[", lo) || strchr("]-^[", hi)) {
                *why = "this range inside [...]";
                free(items.p);
                return NULL;
            }
            char r[3] = {(char)lo, '-', (char)hi};
            rx_put(&items, r, 3);
            continue;
        }
        if (lo == ']') lit_close = true;
        else if (lo == '-') lit_dash = true;
        else if (lo == '^') lit_caret = true;
        else if (lo == '[') lit_open = true;
        else {
            char ch = (char)lo;
            rx_put(&items, &ch, 1);
        }
    }
    if (*p != ']') {
        *why = "unterminated [...]";
        free(items.p);
        return NULL;
    }
    rx_puts(b, neg ? "[^" : "[");
    if (lit_close) rx_puts(b, "]");
    if (items.p) rx_puts(b, items.p);
    if (lit_caret) rx_puts(b, "^");
    if (lit_open) rx_puts(b, "[");
    if (lit_dash) rx_puts(b, "-");
    if (!lit_close && !items.p && !lit_caret && !lit_open && !lit_dash) {
        *why = "an empty [...]";
        free(items.p);
        return NULL;
    }
    rx_puts(b, "]");
    free(items.p);
    return p + 1;
}

/* {n}, {n,}, {n,m} at p? returns its length or 0 */
static int rx_repeat_len(const char *p) {
    int i = 1;
    if (!isdigit((unsigned char)p[i])) return 0;
    while (isdigit((unsigned char)p[i])) i++;
    if (p[i] == ',') {
        i++;
        while (isdigit((unsigned char)p[i])) i++;
    }
    return p[i] == '}' ? i + 1 : 0;
}

/* The translation; NULL with *why on an unsupported construct. */
static char *rx_translate(const char *pat, int *cflags, const char **why) {
    rx_buf b = {0};
    bool dotall = false;
    const char *p = pat;
    /* leading flags */
    if (p[0] == '(' && p[1] == '?' && p[2] && strchr("is", p[2])) {
        const char *q = p + 2;
        bool fi = false, fs = false;
        for (; *q == 'i' || *q == 's'; q++) {
            if (*q == 'i') fi = true;
            else fs = true;
        }
        if (*q == ')') {
            if (fi) *cflags |= REG_ICASE;
            dotall = fs;
            p = q + 1;
        }
    }
    rx_puts(&b, "^(");
    while (*p && !b.oom) {
        char c = *p;
        if (c == '\\') {
            char e = p[1];
            if (!e) {
                *why = "a trailing backslash";
                goto fail;
            }
            p += 2;
            switch (e) {
            case 'd': rx_puts(&b, "[0-9]"); continue;
            case 'D': rx_puts(&b, "[^0-9]"); continue;
            case 's': rx_puts(&b, "[ \t\n\r\f\v]"); continue;
            case 'S': rx_puts(&b, "[^ \t\n\r\f\v]"); continue;
            case 'w': rx_puts(&b, "[0-9A-Za-z_]"); continue;
            case 'W': rx_puts(&b, "[^0-9A-Za-z_]"); continue;
            case 'A': rx_puts(&b, "^"); continue;
            case 'z': rx_puts(&b, "$"); continue;
#ifdef __GLIBC__
            case 'b': rx_puts(&b, "\\b"); continue;
            case 'B': rx_puts(&b, "\\B"); continue;
#endif
            case 'x': {
                uint32_t cp;
                int k = rx_parse_hex(p, &cp);
                if (!k) {
                    *why = "a malformed \\x escape";
                    goto fail;
                }
                p += k;
                char u[4];
                int n = utf8_encode(cp, u);
                if (n > 1) rx_puts(&b, "(");
                for (int i = 0; i < n; i++) rx_lit(&b, (unsigned char)u[i]);
                if (n > 1) rx_puts(&b, ")");
                continue;
            }
            default:
                if (rx_char_escape(e) >= 0) {
                    char ch = (char)rx_char_escape(e);
                    rx_put(&b, &ch, 1);
                } else if (!isalnum((unsigned char)e) && (unsigned char)e < 0x80) {
                    rx_lit(&b, (unsigned char)e);
                } else {
                    *why = "this escape sequence";
                    goto fail;
                }
                continue;
            }
        }
        if (c == '[') {
            p = rx_bracket(p, &b, why);
            if (!p) goto fail;
            continue;
        }
        if (c == '(') {
            if (p[1] == '?') {
                if (p[2] == ':') p += 3;
                else if (p[2] == 'P' && p[3] == '<') p = strchr(p, '>') ? strchr(p, '>') + 1 : p + 4;
                else if (p[2] == '<' && p[3] != '=' && p[3] != '!') p = strchr(p, '>') ? strchr(p, '>') + 1 : p + 3;
                else {
                    *why = "this (? group (inline flags or lookaround)";
                    goto fail;
                }
                rx_puts(&b, "(");
                continue;
            }
            rx_puts(&b, "(");
            p++;
            continue;
        }
        if (c == '.') {
            rx_puts(&b, dotall ? "." : "[^\n]");
            p++;
            continue;
        }
        if (c == '{') {
            int k = rx_repeat_len(p);
            if (k) {
                rx_put(&b, p, (size_t)k);
                p += k;
                if (*p == '?') p++; /* lazy */
            } else {
                rx_puts(&b, "\\{");
                p++;
            }
            continue;
        }
        if (c == '*' || c == '+' || c == '?') {
            rx_put(&b, p, 1);
            p++;
            if (*p == '?') p++; /* lazy */
            continue;
        }
        if (c == '}') {
            rx_puts(&b, "\\}");
            p++;
            continue;
        }
        rx_put(&b, p, 1);
        p++;
    }
    rx_puts(&b, ")$");
    if (b.oom) {
        *why = "out of memory";
        goto fail;
    }
    return b.p;
fail:
    free(b.p);
    return NULL;
}

typedef struct rx_state {
    regex_t re;
} rx_state;

static void rx_release(void *state) {
    rx_state *st = state;
    if (!st) return;
    regfree(&st->re);
    free(st);
}

static prism_status regex_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    const char *pat = cpu_attr_string(node, "pattern", NULL);
    if (!pat) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "RegexFullMatch needs the pattern attribute");
    int cflags = REG_EXTENDED | REG_NOSUB;
    const char *why = NULL;
    char *ere = rx_translate(pat, &cflags, &why);
    if (!ere) {
        if (why && !strcmp(why, "out of memory")) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "RegexFullMatch: pattern '%s' uses %s, not supported here", pat,
                        why ? why : "an unsupported construct");
    }
    rx_state *st = malloc(sizeof *st);
    if (!st) {
        free(ere);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    int err = regcomp(&st->re, ere, cflags);
    if (err) {
        char msg[160];
        regerror(err, &st->re, msg, sizeof msg);
        free(st);
        prism_status rc = cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED,
                                   "RegexFullMatch: pattern '%s' (as POSIX '%s') does not compile: %s", pat, ere, msg);
        free(ere);
        return rc;
    }
    free(ere);
    *state = st;
    return PRISM_OK;
}

static bool regex_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt <= 0 || dt == PRISM_DTYPE_STRING;
}

static prism_status regex_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in) {
    (void)node;
    const rx_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "RegexFullMatch needs X");
    const cpu_tensor *x = in[0];
    if (x->dtype != PRISM_DTYPE_STRING) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "X must be a string tensor");
    cpu_tensor *y;
    prism_status rc = cpu_output(ctx, 0, PRISM_DTYPE_BOOL, x->rank, x->dims, &y);
    if (rc) return rc;
    char *const *xs = x->data;
    for (int64_t i = 0; i < x->count; i++)
        ((uint8_t *)y->data)[i] = regexec(&st->re, xs[i] ? xs[i] : "", 0, NULL, 0) == 0;
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_RegexFullMatch = {
    .prepare = regex_prepare,
    .run = regex_run,
    .release = rx_release,
    .supports = regex_supports,
};
