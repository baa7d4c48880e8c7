/*
 * signal.c — signal processing ops for the CPU provider: DFT (opsets 17
 * and 20), STFT, HannWindow, HammingWindow, BlackmanWindow and
 * MelWeightMatrix.
 *
 * Transforms run in double precision whatever the tensor type (float16,
 * bfloat16, float, double) and are rounded once on output. One length-n
 * transform is a plan: radix-2 for powers of two, a direct sum with an
 * exact twiddle table for short other lengths, and Bluestein's chirp-z
 * (through a power-of-two FFT) for long other lengths, so every length is
 * O(n log n) past a small threshold. Inverse transforms use the
 * conjugation identity IDFT(x) = conj(DFT(conj(x))) / n. Independent
 * signals are spread over the thread pool.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

#define SIG_PI 3.14159265358979323846
#define SIG_DIRECT_MAX 64 /* non-power-of-two lengths up to this use the direct sum */
#define SIG_MAX_LEN ((int64_t)1 << 40)

static bool sig_float_or_unknown(int32_t dt) { return dt <= 0 || cpu_dtype_is_float(dt); }
static bool sig_int_index(int32_t dt) { return dt == PRISM_DTYPE_INT32 || dt == PRISM_DTYPE_INT64; }

/* Store v as element i of dtype dt: floats round, integers truncate toward
 * zero and saturate (NaN -> 0), as a numpy astype of in-range values does.
 * BOOL is not an output dtype here and is left unwritten. */
static inline void sig_store(void *data, int32_t dt, int64_t i, double v) {
    if (dt != PRISM_DTYPE_BOOL)
        (void)cpu_store_f64_sat((char *)data + (size_t)i * cpu_dtype_size(dt), dt, v);
}

static bool sig_store_ok(int32_t dt) { return cpu_dtype_is_float(dt) || cpu_dtype_is_int(dt); }

/* A scalar (or one-element) integer input. */
static prism_status sig_scalar_int(cpu_ctx *ctx, const cpu_tensor *t, const char *what, int64_t *v) {
    if (!sig_int_index(t->dtype) || t->count != 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s must be an int32/int64 scalar", what);
    *v = cpu_tensor_int(t, 0);
    return PRISM_OK;
}

/* ---- transforms ------------------------------------------------------------- */

typedef struct sig_plan {
    int64_t n;
    int kind;          /* 0 radix-2, 1 direct, 2 Bluestein */
    double *cs, *sn;   /* radix-2: n/2 twiddles; direct: n twiddles */
    struct sig_plan *sub; /* Bluestein: power-of-two plan of length m */
    int64_t m;
    double *chirp_re, *chirp_im; /* exp(-i pi k^2 / n), k < n */
    double *bf_re, *bf_im;       /* FFT_m of the conjugate chirp */
} sig_plan;

static void sig_plan_free(sig_plan *p) {
    if (!p) return;
    free(p->cs);
    free(p->sn);
    free(p->chirp_re);
    free(p->chirp_im);
    free(p->bf_re);
    free(p->bf_im);
    sig_plan_free(p->sub);
    free(p);
}

static bool sig_pow2(int64_t n) { return n > 0 && (n & (n - 1)) == 0; }

/* exp(-2 pi i k / n) for k < n, through the symmetric half so tables are
 * accurate to the last bit. */
static void sig_twiddle(int64_t k, int64_t n, double *c, double *s) {
    double a = -2.0 * SIG_PI * (double)k / (double)n;
    *c = cos(a);
    *s = sin(a);
}

static void sig_fft_pow2(const sig_plan *p, double *re, double *im) {
    const int64_t n = p->n;
    for (int64_t i = 1, j = 0; i < n; i++) { /* bit reversal */
        int64_t bit = n >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) {
            double t = re[i];
            re[i] = re[j], re[j] = t;
            t = im[i], im[i] = im[j], im[j] = t;
        }
    }
    for (int64_t len = 2; len <= n; len <<= 1) {
        const int64_t half = len >> 1, step = n / len;
        for (int64_t i = 0; i < n; i += len)
            for (int64_t k = 0; k < half; k++) {
                const double wr = p->cs[k * step], wi = p->sn[k * step];
                double *ar = re + i + k, *ai = im + i + k, *br = re + i + k + half, *bi = im + i + k + half;
                const double tr = *br * wr - *bi * wi, ti = *br * wi + *bi * wr;
                *br = *ar - tr, *bi = *ai - ti;
                *ar += tr, *ai += ti;
            }
    }
}

/* Forward transform in place; scratch holds 2*max(n, m) doubles. */
static void sig_fft(const sig_plan *p, double *re, double *im, double *scratch) {
    const int64_t n = p->n;
    if (p->kind == 0) {
        if (n > 1) sig_fft_pow2(p, re, im);
    } else if (p->kind == 1) {
        double *tr = scratch, *ti = scratch + n;
        for (int64_t k = 0; k < n; k++) {
            double sr = 0, si = 0;
            for (int64_t t = 0, idx = 0; t < n; t++) {
                const double c = p->cs[idx], s = p->sn[idx];
                sr += re[t] * c - im[t] * s;
                si += re[t] * s + im[t] * c;
                idx += k;
                if (idx >= n) idx -= n;
            }
            tr[k] = sr, ti[k] = si;
        }
        memcpy(re, tr, (size_t)n * sizeof *re);
        memcpy(im, ti, (size_t)n * sizeof *im);
    } else {
        const int64_t m = p->m;
        double *ar = scratch, *ai = scratch + m;
        for (int64_t k = 0; k < n; k++) {
            ar[k] = re[k] * p->chirp_re[k] - im[k] * p->chirp_im[k];
            ai[k] = re[k] * p->chirp_im[k] + im[k] * p->chirp_re[k];
        }
        for (int64_t k = n; k < m; k++) ar[k] = ai[k] = 0;
        sig_fft_pow2(p->sub, ar, ai);
        for (int64_t k = 0; k < m; k++) { /* multiply, conjugate for the inverse */
            const double xr = ar[k] * p->bf_re[k] - ai[k] * p->bf_im[k];
            const double xi = ar[k] * p->bf_im[k] + ai[k] * p->bf_re[k];
            ar[k] = xr, ai[k] = -xi;
        }
        sig_fft_pow2(p->sub, ar, ai);
        const double inv = 1.0 / (double)m;
        for (int64_t k = 0; k < n; k++) {
            const double xr = ar[k] * inv, xi = -ai[k] * inv;
            re[k] = xr * p->chirp_re[k] - xi * p->chirp_im[k];
            im[k] = xr * p->chirp_im[k] + xi * p->chirp_re[k];
        }
    }
}

static sig_plan *sig_plan_make(int64_t n) {
    sig_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->n = n;
    if (sig_pow2(n) || n <= 1) {
        p->kind = 0;
        int64_t h = n / 2 ? n / 2 : 1;
        p->cs = malloc((size_t)h * sizeof *p->cs);
        p->sn = malloc((size_t)h * sizeof *p->sn);
        if (!p->cs || !p->sn) goto fail;
        for (int64_t k = 0; k < h; k++) sig_twiddle(k, n ? n : 1, &p->cs[k], &p->sn[k]);
    } else if (n <= SIG_DIRECT_MAX) {
        p->kind = 1;
        p->cs = malloc((size_t)n * sizeof *p->cs);
        p->sn = malloc((size_t)n * sizeof *p->sn);
        if (!p->cs || !p->sn) goto fail;
        for (int64_t k = 0; k < n; k++) sig_twiddle(k, n, &p->cs[k], &p->sn[k]);
    } else {
        p->kind = 2;
        int64_t m = 1;
        while (m < 2 * n - 1) m <<= 1;
        p->m = m;
        p->sub = sig_plan_make(m);
        p->chirp_re = malloc((size_t)n * sizeof(double));
        p->chirp_im = malloc((size_t)n * sizeof(double));
        p->bf_re = calloc((size_t)m, sizeof(double));
        p->bf_im = calloc((size_t)m, sizeof(double));
        if (!p->sub || !p->chirp_re || !p->chirp_im || !p->bf_re || !p->bf_im) goto fail;
        /* k^2 mod 2n, kept exact incrementally ((k+1)^2 = k^2 + 2k + 1), keeps
         * the angle small */
        for (int64_t k = 0, q = 0; k < n; k++) {
            double a = -SIG_PI * (double)q / (double)n;
            p->chirp_re[k] = cos(a);
            p->chirp_im[k] = sin(a);
            q = (q + 2 * k + 1) % (2 * n);
        }
        p->bf_re[0] = p->chirp_re[0], p->bf_im[0] = -p->chirp_im[0];
        for (int64_t k = 1; k < n; k++) {
            p->bf_re[k] = p->bf_re[m - k] = p->chirp_re[k];
            p->bf_im[k] = p->bf_im[m - k] = -p->chirp_im[k];
        }
        sig_fft_pow2(p->sub, p->bf_re, p->bf_im);
    }
    return p;
fail:
    sig_plan_free(p);
    return NULL;
}

static int64_t sig_scratch_len(const sig_plan *p) { return 2 * (p->kind == 2 ? p->m : p->n) + 2 * p->n; }

/* ---- DFT -------------------------------------------------------------------- */

typedef struct dft_state {
    int64_t axis;
    bool inverse, onesided;
} dft_state;

static prism_status dft_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    dft_state t;
    t.axis = cpu_node_opset(node) >= 20 ? -2 : cpu_attr_int(node, "axis", 1);
    int64_t inv = cpu_attr_int(node, "inverse", 0), one = cpu_attr_int(node, "onesided", 0);
    if ((inv != 0 && inv != 1) || (one != 0 && one != 1))
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "inverse and onesided must be 0 or 1");
    t.inverse = inv, t.onesided = one;
    dft_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = t;
    *state = st;
    return PRISM_OK;
}

static void sig_free(void *state) { free(state); }

typedef struct dft_arg {
    const sig_plan *plan;
    const cpu_tensor *x;
    cpu_tensor *y;
    int64_t n_in, len, out_len, inner, c_in, c_out;
    bool inverse, irfft;
    bool failed; /* scratch allocation failed in some chunk */
} dft_arg;

static void dft_chunk(void *argp, int64_t s0, int64_t s1) {
    dft_arg *a = argp;
    const int64_t L = a->len;
    double *buf = malloc((size_t)(2 * L + sig_scratch_len(a->plan)) * sizeof *buf);
    if (!buf) {
        __atomic_store_n(&a->failed, true, __ATOMIC_RELAXED);
        return;
    }
    double *re = buf, *im = buf + L, *scratch = buf + 2 * L;
    for (int64_t s = s0; s < s1; s++) {
        const int64_t o = s / a->inner, j = s % a->inner;
        for (int64_t t = 0; t < L; t++) re[t] = im[t] = 0;
        if (a->irfft) {
            /* Hermitian completion of the one-sided spectrum */
            const int64_t half = L / 2 + 1, nb = a->n_in < half ? a->n_in : half;
            for (int64_t k = 0; k < nb; k++) {
                int64_t e = ((o * a->n_in + k) * a->inner + j) * a->c_in;
                re[k] = cpu_tensor_load_f64(a->x, e);
                im[k] = a->c_in == 2 ? cpu_tensor_load_f64(a->x, e + 1) : 0.0;
            }
            im[0] = 0;
            if (L % 2 == 0) im[L / 2] = 0;
            for (int64_t k = half; k < L; k++) re[k] = re[L - k], im[k] = -im[L - k];
        } else {
            const int64_t nt = a->n_in < L ? a->n_in : L;
            for (int64_t t = 0; t < nt; t++) {
                int64_t e = ((o * a->n_in + t) * a->inner + j) * a->c_in;
                re[t] = cpu_tensor_load_f64(a->x, e);
                im[t] = a->c_in == 2 ? cpu_tensor_load_f64(a->x, e + 1) : 0.0;
            }
        }
        if (a->inverse)
            for (int64_t t = 0; t < L; t++) im[t] = -im[t];
        sig_fft(a->plan, re, im, scratch);
        const double scale = a->inverse ? 1.0 / (double)L : 1.0, isign = a->inverse ? -1.0 : 1.0;
        for (int64_t k = 0; k < a->out_len; k++) {
            int64_t e = ((o * a->out_len + k) * a->inner + j) * a->c_out;
            sig_store(a->y->data, a->y->dtype, e, re[k] * scale);
            if (a->c_out == 2) sig_store(a->y->data, a->y->dtype, e + 1, isign * im[k] * scale);
        }
    }
    free(buf);
}

static bool dft_supports(const cpu_node *node) { return sig_float_or_unknown(cpu_node_input_dtype(node, 0)); }

static prism_status dft_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    const dft_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DFT needs an input");
    const cpu_tensor *x = in[0];
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "DFT does not support dtype %s", cpu_dtype_name(x->dtype));
    int32_t r = x->rank;
    if (r < 2) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DFT input must have rank >= 2, got %d", r);
    int64_t c = x->dims[r - 1];
    if (c != 1 && c != 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DFT input's last dim must be 1 (real) or 2 (complex), got %lld",
                        (long long)c);
    int64_t axis = st->axis;
    prism_status rc;
    if (cpu_node_opset(node) >= 20 && n_in > 2 && in[2] && (rc = sig_scalar_int(ctx, in[2], "axis", &axis)))
        return rc;
    if (axis < -r || axis > r - 2 || axis == -1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "axis %lld is out of range [-%d, -2] U [0, %d]", (long long)axis, r,
                        r - 2);
    if (axis < 0) axis += r;
    const int64_t nsig = x->dims[axis];
    bool irfft = st->inverse && st->onesided;
    int64_t L = irfft ? 2 * (nsig - 1) : nsig;
    if (n_in > 1 && in[1]) {
        if ((rc = sig_scalar_int(ctx, in[1], "dft_length", &L))) return rc;
        if (L < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dft_length must be >= 1, got %lld", (long long)L);
    }
    if (L < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the DFT length is %lld", (long long)L);
    if (L > SIG_MAX_LEN) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "dft_length is too large");
    int64_t yd[CPU_MAX_RANK];
    memcpy(yd, x->dims, sizeof(int64_t) * (size_t)r);
    int64_t out_len = st->onesided && !st->inverse ? L / 2 + 1 : L;
    yd[axis] = out_len;
    yd[r - 1] = irfft ? 1 : 2;
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, x->dtype, r, yd, &y))) return rc;
    if (y->count == 0) return PRISM_OK;
    dft_arg a = {NULL, x, y, nsig, L, out_len, cpu_shape_count(r - 2 - (int32_t)axis, x->dims + axis + 1), c,
                 yd[r - 1], st->inverse, irfft, false};
    sig_plan *plan = sig_plan_make(L);
    if (!plan) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory for a DFT of length %lld", (long long)L);
    a.plan = plan;
    int64_t signals = cpu_shape_count((int32_t)axis, x->dims) * a.inner;
    cpu_parallel_for(ctx, signals, dft_chunk, &a);
    sig_plan_free(plan);
    if (a.failed) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_DFT = {
    .prepare = dft_prepare,
    .run = dft_run,
    .release = sig_free,
    .supports = dft_supports,
};

/* ---- STFT ------------------------------------------------------------------- */

typedef struct stft_arg {
    const sig_plan *plan;
    const cpu_tensor *x, *win;
    cpu_tensor *y;
    int64_t len, c, fl, step, frames, bins;
    bool failed;
} stft_arg;

static void stft_chunk(void *argp, int64_t s0, int64_t s1) {
    stft_arg *a = argp;
    const int64_t L = a->fl;
    double *buf = malloc((size_t)(2 * L + sig_scratch_len(a->plan)) * sizeof *buf);
    if (!buf) {
        __atomic_store_n(&a->failed, true, __ATOMIC_RELAXED);
        return;
    }
    double *re = buf, *im = buf + L, *scratch = buf + 2 * L;
    for (int64_t s = s0; s < s1; s++) { /* s = batch * frames + frame */
        const int64_t b = s / a->frames, f = s % a->frames;
        for (int64_t t = 0; t < L; t++) {
            const int64_t e = (b * a->len + f * a->step + t) * a->c;
            const double w = a->win ? cpu_tensor_load_f64(a->win, t) : 1.0;
            re[t] = cpu_tensor_load_f64(a->x, e) * w;
            im[t] = a->c == 2 ? cpu_tensor_load_f64(a->x, e + 1) * w : 0.0;
        }
        sig_fft(a->plan, re, im, scratch);
        for (int64_t k = 0; k < a->bins; k++) {
            const int64_t e = (s * a->bins + k) * 2;
            sig_store(a->y->data, a->y->dtype, e, re[k]);
            sig_store(a->y->data, a->y->dtype, e + 1, im[k]);
        }
    }
    free(buf);
}

typedef struct stft_state {
    bool onesided;
} stft_state;

static prism_status stft_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int64_t one = cpu_attr_int(node, "onesided", 1);
    if (one != 0 && one != 1) return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "onesided must be 0 or 1");
    stft_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->onesided = one;
    *state = st;
    return PRISM_OK;
}

static bool stft_supports(const cpu_node *node) {
    return sig_float_or_unknown(cpu_node_input_dtype(node, 0)) && sig_float_or_unknown(cpu_node_input_dtype(node, 2));
}

static prism_status stft_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in) {
    (void)node;
    const stft_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "STFT needs signal and frame_step");
    const cpu_tensor *x = in[0], *win = n_in > 2 ? in[2] : NULL, *flt = n_in > 3 ? in[3] : NULL;
    if (!cpu_dtype_is_float(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "STFT does not support dtype %s", cpu_dtype_name(x->dtype));
    if (x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "STFT signal must be [batch, length, 1 or 2]");
    int64_t step = 0, fl = 0;
    prism_status rc = sig_scalar_int(ctx, in[1], "frame_step", &step);
    if (rc) return rc;
    if (step < 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "frame_step must be >= 1, got %lld", (long long)step);
    if (win) {
        if (win->rank != 1) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "window must be 1-D");
        if (!cpu_dtype_is_float(win->dtype)) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "window must be a float tensor");
    }
    if (flt) {
        if ((rc = sig_scalar_int(ctx, flt, "frame_length", &fl))) return rc;
        if (win && win->dims[0] != fl)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "window has %lld elements but frame_length is %lld",
                            (long long)win->dims[0], (long long)fl);
    } else {
        fl = win ? win->dims[0] : x->dims[1];
    }
    const int64_t len = x->dims[1];
    if (fl < 1 || fl > len)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "frame_length %lld must be in [1, signal length %lld]", (long long)fl,
                        (long long)len);
    int64_t frames = (len - fl) / step + 1, bins = st->onesided ? fl / 2 + 1 : fl;
    int64_t yd[4] = {x->dims[0], frames, bins, 2};
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, x->dtype, 4, yd, &y))) return rc;
    if (y->count == 0) return PRISM_OK;
    sig_plan *plan = sig_plan_make(fl);
    if (!plan) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    stft_arg a = {plan, x, win, y, len, x->dims[2], fl, step, frames, bins, false};
    cpu_parallel_for(ctx, x->dims[0] * frames, stft_chunk, &a);
    sig_plan_free(plan);
    if (a.failed) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_STFT = {
    .prepare = stft_prepare,
    .run = stft_run,
    .release = sig_free,
    .supports = stft_supports,
};

/* ---- window functions -------------------------------------------------------- */

/* w[n] = a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N), N = size (periodic)
 * or size - 1 (symmetric). Hann is (0.5, 0.5, 0); Hamming (25/46, 21/46, 0);
 * Blackman (0.42, 0.5, 0.08). */
typedef struct win_state {
    int32_t dtype;
    bool periodic;
    double a0, a1, a2;
} win_state;

static prism_status win_prepare(cpu_ctx *ctx, const cpu_node *node, double a0, double a1, double a2, void **state) {
    win_state t = {(int32_t)cpu_attr_int(node, "output_datatype", PRISM_DTYPE_FLOAT),
                   cpu_attr_int(node, "periodic", 1) != 0, a0, a1, a2};
    if (!sig_store_ok(t.dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output_datatype %d is not supported", (int)t.dtype);
    win_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = t;
    *state = st;
    return PRISM_OK;
}

static prism_status hann_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return win_prepare(ctx, node, 0.5, 0.5, 0.0, state);
}
static prism_status hamming_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return win_prepare(ctx, node, 25.0 / 46.0, 21.0 / 46.0, 0.0, state);
}
static prism_status blackman_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    return win_prepare(ctx, node, 0.42, 0.5, 0.08, state);
}

static bool win_supports(const cpu_node *node) {
    int32_t dt = cpu_node_input_dtype(node, 0);
    return (dt <= 0 || sig_int_index(dt)) && sig_store_ok((int32_t)cpu_attr_int(node, "output_datatype", 1));
}

static prism_status win_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const win_state *st = state;
    if (n_in < 1 || !in[0]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the window op needs size");
    int64_t n = 0;
    prism_status rc = sig_scalar_int(ctx, in[0], "size", &n);
    if (rc) return rc;
    if (n < 0 || n > SIG_MAX_LEN) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "size %lld is out of range", (long long)n);
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, st->dtype, 1, &n, &y))) return rc;
    const int64_t den = st->periodic ? n : n - 1;
    for (int64_t i = 0; i < n; i++) {
        /* a one-point symmetric window is 0/0 in the spec's formula: NaN, as
         * the reference implementation and ONNX Runtime give */
        double v = NAN;
        if (den > 0) {
            double t = 2.0 * SIG_PI * (double)i / (double)den;
            v = st->a0 - st->a1 * cos(t) + st->a2 * cos(2.0 * t);
        }
        sig_store(y->data, st->dtype, i, v);
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_HannWindow = {
    .prepare = hann_prepare, .run = win_run, .release = sig_free, .supports = win_supports};
const cpu_kernel_def cpu_op_HammingWindow = {
    .prepare = hamming_prepare, .run = win_run, .release = sig_free, .supports = win_supports};
const cpu_kernel_def cpu_op_BlackmanWindow = {
    .prepare = blackman_prepare, .run = win_run, .release = sig_free, .supports = win_supports};

/* ---- MelWeightMatrix ---------------------------------------------------------- */

static prism_status mel_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int32_t dt = (int32_t)cpu_attr_int(node, "output_datatype", PRISM_DTYPE_FLOAT);
    if (!sig_store_ok(dt))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "output_datatype %d is not supported", (int)dt);
    int32_t *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    *st = dt;
    *state = st;
    return PRISM_OK;
}

static bool mel_supports(const cpu_node *node) {
    for (uint32_t k = 0; k < 3; k++) {
        int32_t dt = cpu_node_input_dtype(node, k);
        if (dt > 0 && !sig_int_index(dt)) return false;
    }
    return sig_float_or_unknown(cpu_node_input_dtype(node, 3)) && sig_float_or_unknown(cpu_node_input_dtype(node, 4)) &&
           sig_store_ok((int32_t)cpu_attr_int(node, "output_datatype", 1));
}

static prism_status mel_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const int32_t dt = *(const int32_t *)state;
    if (n_in < 5) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MelWeightMatrix needs 5 inputs");
    for (uint32_t k = 0; k < 5; k++)
        if (!in[k]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "MelWeightMatrix input %u is missing", k);
    int64_t nmel = 0, dftlen = 0, rate = 0;
    prism_status rc = sig_scalar_int(ctx, in[0], "num_mel_bins", &nmel);
    if (!rc) rc = sig_scalar_int(ctx, in[1], "dft_length", &dftlen);
    if (!rc) rc = sig_scalar_int(ctx, in[2], "sample_rate", &rate);
    if (rc) return rc;
    if (!cpu_dtype_is_float(in[3]->dtype) || in[3]->count != 1 || !cpu_dtype_is_float(in[4]->dtype) ||
        in[4]->count != 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "lower_edge_hertz and upper_edge_hertz must be float scalars");
    if (nmel < 0 || nmel > SIG_MAX_LEN || dftlen < 1 || dftlen > SIG_MAX_LEN || rate < 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "need num_mel_bins >= 0, dft_length >= 1 and sample_rate >= 1");
    const double lo = cpu_tensor_load_f64(in[3], 0), hi = cpu_tensor_load_f64(in[4], 0);
    const int64_t nspec = dftlen / 2 + 1;
    int64_t yd[2] = {nspec, nmel}, total;
    if (__builtin_mul_overflow(nspec, nmel, &total) || total > ((int64_t)1 << 40))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "the matrix would be too large");
    int64_t *bin = malloc((size_t)(nmel + 2) * sizeof *bin);
    double *w = calloc((size_t)total, sizeof *w);
    if (!bin || !w) {
        free(bin);
        free(w);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    /* Band edges: nmel + 2 points evenly spaced on the mel scale
     * mel(f) = 2595 log10(1 + f / 700), mapped back to DFT bins. */
    const double mlo = 2595.0 * log10(1.0 + lo / 700.0), mhi = 2595.0 * log10(1.0 + hi / 700.0);
    const double mstep = (mhi - mlo) / (double)(nmel + 2);
    for (int64_t i = 0; i < nmel + 2; i++) {
        double hz = 700.0 * (pow(10.0, (mlo + mstep * (double)i) / 2595.0) - 1.0);
        /* floor division as numpy's // computes it (exact, unlike floor(a / b)) */
        const double num = (double)(dftlen + 1) * hz, den = (double)rate, mod = fmod(num, den);
        double b = (num - mod) / den;
        if (mod != 0 && (mod < 0) != (den < 0)) b -= 1.0;
        double fb = floor(b);
        b = b - fb > 0.5 ? fb + 1.0 : fb;
        bin[i] = b != b || b < -1e15 || b > 1e15 ? -1 : (int64_t)b;
    }
    for (int64_t i = 0; i < nmel && !rc; i++) {
        const int64_t l = bin[i], c = bin[i + 1], h = bin[i + 2];
        if (l < 0 || c < l || h < c || c >= nspec || h > nspec) {
            rc = cpu_fail(ctx, PRISM_ERR_RUNTIME,
                          "mel band %lld spans DFT bins [%lld, %lld, %lld], outside [0, %lld): check the edges and "
                          "sample rate",
                          (long long)i, (long long)l, (long long)c, (long long)h, (long long)nspec);
            break;
        }
        if (c == l) {
            w[c * nmel + i] = 1.0;
        } else {
            for (int64_t j = l; j <= c; j++) w[j * nmel + i] = (double)(j - l) / (double)(c - l);
        }
        for (int64_t j = c; j < h; j++) w[j * nmel + i] = (double)(h - j) / (double)(h - c);
    }
    cpu_tensor *y;
    if (!rc) rc = cpu_output(ctx, 0, dt, 2, yd, &y);
    if (!rc)
        for (int64_t i = 0; i < total; i++) sig_store(y->data, dt, i, w[i]);
    free(bin);
    free(w);
    return rc;
}

const cpu_kernel_def cpu_op_MelWeightMatrix = {
    .prepare = mel_prepare,
    .run = mel_run,
    .release = sig_free,
    .supports = mel_supports,
};
