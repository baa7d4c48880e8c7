/*
 * transform.c — CPU kernels that move elements around: Transpose, Expand,
 * Concat, Split, Slice, Gather(Elements/ND), Scatter(Elements/ND), Tile, Pad,
 * DepthToSpace, SpaceToDepth, Trilu, ReverseSequence, OneHot, NonZero,
 * Compress, CumSum, ArgMax/ArgMin, TopK.
 *
 * Most of these only move bytes, so they work for every dtype by copying
 * elements of cpu_dtype_size() bytes. STRING tensors own their strings: the
 * kernels copy the pointers first and then duplicate them in the output
 * (cpu_own_strings), so no string is shared between two tensors.
 *
 * Many ops reduce to "copy a strided view of the input into a contiguous
 * output" (Transpose, Expand, Slice, Tile, DepthToSpace, SpaceToDepth): one
 * engine (tr_plan / tr_exec) does that, merging dimensions that are
 * contiguous, using memcpy for contiguous rows, a cache-blocked loop for
 * transposes, and threads for big tensors.
 *
 * Every index and shape value read from a tensor is validated before any
 * memory is touched: bad input is an error, never a crash.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

/* ---- helpers -------------------------------------------------------------- */

/* Work below this many bytes runs on the calling thread. */
#define TR_PAR_BYTES ((int64_t)1 << 18)
/* Rank of the strided-copy engine: Tile doubles the rank. */
#define TR_MAX (2 * CPU_MAX_RANK + 2)

static void tr_strides(int32_t rank, const int64_t *dims, int64_t *str)
{
    int64_t s = 1;
    for (int32_t i = rank - 1; i >= 0; i--) {
        str[i] = s;
        s *= dims[i];
    }
}

static int64_t tr_prod(const int64_t *dims, int32_t from, int32_t to)
{
    int64_t n = 1;
    for (int32_t i = from; i < to; i++)
        n *= dims[i];
    return n;
}

static bool tr_is_int(int32_t dt)
{
    switch (dt) {
    case PRISM_DTYPE_INT8: case PRISM_DTYPE_INT16: case PRISM_DTYPE_INT32: case PRISM_DTYPE_INT64:
    case PRISM_DTYPE_UINT8: case PRISM_DTYPE_UINT16: case PRISM_DTYPE_UINT32: case PRISM_DTYPE_UINT64:
        return true;
    default:
        return false;
    }
}

/* Element i of a numeric tensor as double (any numeric dtype or bool). */
static bool tr_get_double(const cpu_tensor *t, int64_t i, double *v)
{
#define TR_GET(E, T)                            \
    case E:                                     \
        *v = (double)((const T *)t->data)[i];   \
        return true;
    switch (t->dtype) {
        CPU_FOR_NUMERIC_TYPES(TR_GET)
    case PRISM_DTYPE_BOOL:
        *v = ((const uint8_t *)t->data)[i] != 0;
        return true;
    case PRISM_DTYPE_FLOAT16:
        *v = cpu_half_to_float(((const uint16_t *)t->data)[i]);
        return true;
    case PRISM_DTYPE_BFLOAT16:
        *v = cpu_bf16_to_float(((const uint16_t *)t->data)[i]);
        return true;
    default:
        return false;
    }
#undef TR_GET
}

/* Run fn over [0, n) on the thread pool when the work (bytes) is big enough
 * to pay for it, else inline. */
static void tr_for(cpu_ctx *ctx, int64_t n, int64_t bytes, void (*fn)(void *, int64_t, int64_t), void *arg)
{
    if (n <= 0)
        return;
    if (n > 1 && bytes >= TR_PAR_BYTES && cpu_threads(ctx) > 1)
        cpu_parallel_for(ctx, n, fn, arg);
    else
        fn(arg, 0, n);
}

/* Copy n elements of esz bytes; sizes known at compile time become plain
 * loads and stores (memcpy keeps it free of aliasing / alignment traps). */
static inline void tr_copy_elems(char *dst, const char *src, int64_t n, int64_t s, size_t esz)
{
#define TR_ROW(SZ)                                                          \
    for (int64_t i = 0; i < n; i++)                                         \
        memcpy(dst + i * (SZ), src + i * s * (int64_t)(SZ), (SZ));         \
    return;
    if (s == 1) {
        memcpy(dst, src, (size_t)n * esz);
        return;
    }
    switch (esz) {
    case 1: TR_ROW(1)
    case 2: TR_ROW(2)
    case 4: TR_ROW(4)
    case 8: TR_ROW(8)
    case 16: TR_ROW(16)
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(dst + i * (int64_t)esz, src + i * s * (int64_t)esz, esz);
    }
#undef TR_ROW
}

/* Copy one element; common sizes become a single load and store. */
static inline void tr_copy1(void *dst, const void *src, size_t esz)
{
    switch (esz) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, esz);
    }
}

/* Fill n elements with one value (esz bytes at val). */
static void tr_fill(char *dst, const void *val, int64_t n, size_t esz)
{
    bool zero = true;
    for (size_t b = 0; b < esz; b++)
        zero &= ((const unsigned char *)val)[b] == 0;
    if (zero) {
        if (n > 0)
            memset(dst, 0, (size_t)n * esz);
        return;
    }
    for (int64_t i = 0; i < n; i++)
        tr_copy1(dst + i * (int64_t)esz, val, esz);
}

/* ---- strided copy engine -------------------------------------------------- */

/* dst (contiguous, shape dims) [i0..ik] = src[sum i_d * istr[d]] with strides
 * in elements (0 = broadcast, negative = reversed). */
typedef struct tr_plan {
    int rank;
    int64_t dims[TR_MAX];
    int64_t istr[TR_MAX];
    size_t esz;
    const char *src;
    char *dst;
    /* blocked transpose: tj is the dim whose input stride is 1 */
    int tj;
    int64_t ostr[TR_MAX];
    int64_t nbj;
} tr_plan;

#define TR_BLOCK 32

/* Drop size-1 dims and merge neighbours that are contiguous in the input. */
static void tr_simplify(tr_plan *p)
{
    int r = 0;
    for (int d = 0; d < p->rank; d++)
        if (p->dims[d] != 1) {
            p->dims[r] = p->dims[d];
            p->istr[r] = p->istr[d];
            r++;
        }
    int m = 0;
    for (int d = 0; d < r; d++) {
        if (m > 0 && p->istr[m - 1] == p->istr[d] * p->dims[d]) {
            p->dims[m - 1] *= p->dims[d];
            p->istr[m - 1] = p->istr[d];
        } else {
            p->dims[m] = p->dims[d];
            p->istr[m] = p->istr[d];
            m++;
        }
    }
    p->rank = m;
}

static void tr_rows_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_plan *p = arg;
    const int r = p->rank;
    const int64_t n = p->dims[r - 1], s = p->istr[r - 1];
    const int64_t esz = (int64_t)p->esz;
    int64_t idx[TR_MAX], off = 0, rem = begin;
    for (int d = r - 2; d >= 0; d--) {
        idx[d] = rem % p->dims[d];
        rem /= p->dims[d];
        off += idx[d] * p->istr[d];
    }
    char *dst = p->dst + begin * n * esz;
    for (int64_t row = begin; row < end; row++) {
        tr_copy_elems(dst, p->src + off * esz, n, s, p->esz);
        dst += n * esz;
        for (int d = r - 2; d >= 0; d--) {
            off += p->istr[d];
            if (++idx[d] < p->dims[d])
                break;
            off -= p->istr[d] * p->dims[d];
            idx[d] = 0;
        }
    }
}

/* One task = one block of TR_BLOCK along dim tj for one combination of the
 * other outer dims; the tile loop reads along tj (input-contiguous) in
 * short runs and writes along the last dim (output-contiguous). */
static void tr_blocked_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_plan *p = arg;
    const int r = p->rank, j = p->tj, L = r - 1;
    const int64_t esz = (int64_t)p->esz, s = p->istr[L], nb = p->dims[L];
    for (int64_t t = begin; t < end; t++) {
        int64_t oc = t / p->nbj, bj = t % p->nbj;
        int64_t soff = 0, doff = 0;
        for (int d = r - 2; d >= 0; d--) {
            if (d == j)
                continue;
            int64_t i = oc % p->dims[d];
            oc /= p->dims[d];
            soff += i * p->istr[d];
            doff += i * p->ostr[d];
        }
        int64_t a0 = bj * TR_BLOCK, a1 = a0 + TR_BLOCK < p->dims[j] ? a0 + TR_BLOCK : p->dims[j];
        for (int64_t b0 = 0; b0 < nb; b0 += TR_BLOCK) {
            int64_t b1 = b0 + TR_BLOCK < nb ? b0 + TR_BLOCK : nb;
            for (int64_t a = a0; a < a1; a++) {
                char *dst = p->dst + (doff + a * p->ostr[j] + b0) * esz;
                const char *src = p->src + (soff + a + b0 * s) * esz;
                tr_copy_elems(dst, src, b1 - b0, s, p->esz);
            }
        }
    }
}

static void tr_exec(cpu_ctx *ctx, tr_plan *p)
{
    int64_t total = 1;
    for (int d = 0; d < p->rank; d++)
        total *= p->dims[d];
    if (total == 0)
        return;
    tr_simplify(p);
    if (p->rank == 0) {
        memcpy(p->dst, p->src, p->esz);
        return;
    }
    const int r = p->rank;
    const int64_t bytes = total * (int64_t)p->esz;
    p->tj = -1;
    if (r >= 2 && p->istr[r - 1] != 1 && p->istr[r - 1] != 0 && p->dims[r - 1] >= 8) {
        for (int d = 0; d < r - 1; d++)
            if (p->istr[d] == 1 && p->dims[d] >= 8)
                p->tj = d;
    }
    if (p->tj >= 0) {
        tr_strides(r, p->dims, p->ostr);
        p->nbj = (p->dims[p->tj] + TR_BLOCK - 1) / TR_BLOCK;
        int64_t tasks = p->nbj * (total / (p->dims[p->tj] * p->dims[r - 1]));
        tr_for(ctx, tasks, bytes, tr_blocked_fn, p);
        return;
    }
    tr_for(ctx, total / p->dims[r - 1], bytes, tr_rows_fn, p);
}

/* ---- Transpose ---------------------------------------------------------- */

static prism_status transpose_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                  uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Transpose needs an input");
    const cpu_tensor *x = in[0];
    const int32_t r = x->rank;
    const int64_t *pa;
    size_t np = cpu_attr_ints(node, "perm", &pa);
    int64_t perm[CPU_MAX_RANK];
    if (np == 0) {
        for (int32_t i = 0; i < r; i++)
            perm[i] = r - 1 - i; /* default: reverse the dimensions */
    } else {
        if (np != (size_t)r)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Transpose perm has %zu entries for rank %d", np, (int)r);
        bool seen[CPU_MAX_RANK] = {false};
        for (int32_t i = 0; i < r; i++) {
            int64_t a = pa[i];
            if (a < 0)
                a += r;
            if (a < 0 || a >= r || seen[a])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Transpose perm is not a permutation of 0..%d", (int)r - 1);
            seen[a] = true;
            perm[i] = a;
        }
    }
    int64_t dims[CPU_MAX_RANK], xs[CPU_MAX_RANK];
    tr_strides(r, x->dims, xs);
    tr_plan p = {.rank = r, .esz = cpu_dtype_size(x->dtype), .src = x->data};
    for (int32_t i = 0; i < r; i++) {
        dims[i] = p.dims[i] = x->dims[perm[i]];
        p.istr[i] = xs[perm[i]];
    }
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, r, dims, &y);
    if (st)
        return st;
    p.dst = y->data;
    tr_exec(ctx, &p);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Transpose = {.run = transpose_run};

/* ---- Expand --------------------------------------------------------------- */

static prism_status expand_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)node, (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Expand needs input and shape");
    const cpu_tensor *x = in[0];
    int64_t shape[CPU_MAX_RANK], dims[CPU_MAX_RANK];
    size_t n;
    prism_status st = cpu_int_list(ctx, in[1], "Expand shape", "int32 or int64", shape, CPU_MAX_RANK, &n);
    if (st)
        return st;
    for (size_t i = 0; i < n; i++)
        if (shape[i] < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Expand shape has a negative dimension %lld",
                            (long long)shape[i]);
    int32_t r;
    if (!cpu_broadcast_shape(x->rank, x->dims, (int32_t)n, shape, &r, dims))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Expand shape is not broadcast-compatible with the input");
    int64_t cnt;
    if (!cpu_count_checked(r, dims, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Expand result is too large");
    int64_t xs[CPU_MAX_RANK];
    tr_strides(x->rank, x->dims, xs);
    tr_plan p = {.rank = r, .esz = cpu_dtype_size(x->dtype), .src = x->data};
    for (int32_t i = 0; i < r; i++) {
        int32_t k = i - (r - x->rank); /* numpy aligns shapes on the right */
        p.dims[i] = dims[i];
        p.istr[i] = (k < 0 || x->dims[k] == 1) ? 0 : xs[k];
    }
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, dims, &y)))
        return st;
    p.dst = y->data;
    tr_exec(ctx, &p);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Expand = {.run = expand_run};

/* ---- Concat / Split: blocks copied per outer index ------------------------ */

/* n parts; each outer index o copies part k's bytes [o*blk[k], +blk[k]) to
 * or from one row of the whole tensor (row = sum of blk). */
typedef struct tr_parts {
    size_t n;
    char **part;        /* part data */
    const int64_t *blk; /* bytes per outer index of each part */
    char *whole;
    int64_t row;
    bool split;         /* false: parts -> whole (Concat); true: whole -> parts */
} tr_parts;

static void tr_parts_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_parts *p = arg;
    for (int64_t o = begin; o < end; o++) {
        char *w = p->whole + o * p->row;
        for (size_t k = 0; k < p->n; k++) {
            int64_t b = p->blk[k];
            if (b == 0)
                continue;
            if (p->split)
                memcpy(p->part[k] + o * b, w, (size_t)b);
            else
                memcpy(w, p->part[k] + o * b, (size_t)b);
            w += b;
        }
    }
}

static prism_status concat_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat needs inputs");
    const cpu_tensor *x0 = in[0];
    const int32_t r = x0->rank;
    if (r == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat cannot join scalars");
    /* Opset 1 made axis optional with default 1. */
    int64_t axis;
    if (!cpu_norm_axis(cpu_attr_int(node, "axis", cpu_node_opset(node) < 4 ? 1 : 0), r, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", 0), (int)r);
    int64_t dims[CPU_MAX_RANK];
    memcpy(dims, x0->dims, sizeof(int64_t) * (size_t)r);
    dims[axis] = 0;
    for (uint32_t k = 0; k < n_in; k++) {
        const cpu_tensor *x = in[k];
        if (!x)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u is missing", k);
        if (x->rank != r || x->dtype != x0->dtype)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u has another rank or type", k);
        for (int32_t d = 0; d < r; d++)
            if (d != axis && x->dims[d] != x0->dims[d])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat input %u has dimension %d = %lld, expected %lld", k,
                                (int)d, (long long)x->dims[d], (long long)x0->dims[d]);
        if (dims[axis] > CPU_MAX_ALLOC_COUNT - x->dims[axis])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat result is too large");
        dims[axis] += x->dims[axis];
    }
    int64_t cnt;
    if (!cpu_count_checked(r, dims, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Concat result is too large");
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x0->dtype, r, dims, &y);
    if (st || cnt == 0)
        return st;
    const int64_t esz = (int64_t)cpu_dtype_size(x0->dtype);
    const int64_t outer = tr_prod(dims, 0, (int32_t)axis), inner = tr_prod(dims, (int32_t)axis + 1, r);
    char **parts = malloc(n_in * sizeof *parts);
    int64_t *blk = malloc(n_in * sizeof *blk);
    if (!parts || !blk) {
        free(parts);
        free(blk);
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    }
    for (uint32_t k = 0; k < n_in; k++) {
        parts[k] = in[k]->data;
        blk[k] = in[k]->dims[axis] * inner * esz;
    }
    tr_parts job = {n_in, parts, blk, y->data, dims[axis] * inner * esz, false};
    tr_for(ctx, outer, cnt * esz, tr_parts_fn, &job);
    free(parts);
    free(blk);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Concat = {.run = concat_run};

static prism_status split_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split needs an input");
    const cpu_tensor *x = in[0];
    const int64_t opset = cpu_node_opset(node);
    const uint32_t nout = cpu_node_output_count(node);
    if (nout == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split has no outputs");
    int64_t axis;
    if (!cpu_norm_axis(cpu_attr_int(node, "axis", 0), x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", 0), (int)x->rank);
    const int64_t dim = x->dims[axis];
    int64_t *sz = malloc(nout * sizeof *sz);
    char **parts = malloc(nout * sizeof *parts);
    prism_status st = PRISM_OK;
    if (!sz || !parts) {
        st = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    /* Where the split sizes come from changed over the versions: an optional
     * input (opset 1, and again from 13) or an attribute (opset 1-12). */
    const cpu_tensor *sp = (opset < 2 || opset >= 13) && n_in >= 2 ? in[1] : NULL;
    const int64_t *sa = NULL;
    size_t nsa = opset < 13 ? cpu_attr_ints(node, "split", &sa) : 0;
    if (sp || nsa) {
        size_t n = sp ? (size_t)sp->count : nsa;
        if (sp && sp->dtype != PRISM_DTYPE_INT64 && sp->dtype != PRISM_DTYPE_INT32) {
            st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split sizes must be int64");
            goto done;
        }
        if (n != nout) {
            st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split has %zu sizes for %u outputs", n, nout);
            goto done;
        }
        int64_t sum = 0;
        for (uint32_t k = 0; k < nout; k++) {
            sz[k] = sp ? cpu_tensor_int(sp, k) : sa[k];
            if (sz[k] < 0 || sz[k] > dim - sum) {
                st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split sizes must be >= 0 and add up to %lld", (long long)dim);
                goto done;
            }
            sum += sz[k];
        }
        if (sum != dim) {
            st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split sizes add up to %lld, dimension is %lld", (long long)sum,
                          (long long)dim);
            goto done;
        }
    } else {
        if (opset >= 18 && cpu_attr_has(node, "num_outputs") && cpu_attr_int(node, "num_outputs", 0) != nout) {
            st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split num_outputs %lld differs from the %u outputs",
                          (long long)cpu_attr_int(node, "num_outputs", 0), nout);
            goto done;
        }
        /* Equal parts; when uneven (opset 18's num_outputs) every chunk has
         * ceil(dim / n) and the last one the rest. */
        int64_t chunk = dim / nout + (dim % nout != 0);
        for (uint32_t k = 0; k < nout; k++)
            sz[k] = chunk;
        sz[nout - 1] = dim - chunk * (nout - 1);
        if (sz[nout - 1] < 0) {
            st = cpu_fail(ctx, PRISM_ERR_RUNTIME, "Split cannot divide %lld into %u parts", (long long)dim, nout);
            goto done;
        }
    }
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype);
    const int64_t outer = tr_prod(x->dims, 0, (int32_t)axis), inner = tr_prod(x->dims, (int32_t)axis + 1, x->rank);
    for (uint32_t k = 0; k < nout; k++) {
        int64_t dims[CPU_MAX_RANK];
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
        dims[axis] = sz[k];
        cpu_tensor *y;
        if ((st = cpu_output(ctx, k, x->dtype, x->rank, dims, &y)))
            goto done;
        parts[k] = y->data;
        sz[k] *= inner * esz; /* now bytes per outer index */
    }
    if (x->count > 0) {
        tr_parts job = {nout, parts, sz, x->data, dim * inner * esz, true};
        tr_for(ctx, outer, x->count * esz, tr_parts_fn, &job);
    }
    if (x->dtype == PRISM_DTYPE_STRING) {
        for (uint32_t k = 0; k < nout && !st; k++) {
            cpu_tensor t = {.dtype = PRISM_DTYPE_STRING, .count = outer * (sz[k] / esz), .data = parts[k]};
            st = cpu_own_strings(ctx, &t);
        }
    }
done:
    free(sz);
    free(parts);
    return st;
}

const cpu_kernel_def cpu_op_Split = {.run = split_run};

/* ---- Slice ---------------------------------------------------------------- */

static prism_status slice_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice needs data");
    const cpu_tensor *x = in[0];
    const int32_t r = x->rank;
    int64_t starts[CPU_MAX_RANK], ends[CPU_MAX_RANK], axes[CPU_MAX_RANK], steps[CPU_MAX_RANK];
    size_t ns, ne, na = 0, nst = 0;
    bool has_axes = false, has_steps = false;
    prism_status st;
    if (cpu_node_opset(node) < 10) {
        const int64_t *a;
        ns = cpu_attr_ints(node, "starts", &a);
        if (ns > CPU_MAX_RANK)
            goto too_many;
        if (ns)
            memcpy(starts, a, ns * sizeof *a);
        ne = cpu_attr_ints(node, "ends", &a);
        if (ne > CPU_MAX_RANK)
            goto too_many;
        if (ne)
            memcpy(ends, a, ne * sizeof *a);
        na = cpu_attr_ints(node, "axes", &a);
        if (na > CPU_MAX_RANK)
            goto too_many;
        if (na)
            memcpy(axes, a, na * sizeof *a);
        has_axes = na > 0;
    } else {
        if (n_in < 3 || !in[1] || !in[2])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice needs starts and ends");
        if ((st = cpu_int_list(ctx, in[1], "Slice starts", "int32 or int64", starts, CPU_MAX_RANK, &ns)) ||
            (st = cpu_int_list(ctx, in[2], "Slice ends", "int32 or int64", ends, CPU_MAX_RANK, &ne)))
            return st;
        if (n_in > 3 && in[3]) {
            if ((st = cpu_int_list(ctx, in[3], "Slice axes", "int32 or int64", axes, CPU_MAX_RANK, &na)))
                return st;
            has_axes = true;
        }
        if (n_in > 4 && in[4]) {
            if ((st = cpu_int_list(ctx, in[4], "Slice steps", "int32 or int64", steps, CPU_MAX_RANK, &nst)))
                return st;
            has_steps = true;
        }
    }
    if (ne != ns || (has_axes && na != ns) || (has_steps && nst != ns))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice starts, ends, axes and steps must have the same length");
    int64_t xs[CPU_MAX_RANK];
    tr_strides(r, x->dims, xs);
    int64_t lo[CPU_MAX_RANK], step[CPU_MAX_RANK], cnt[CPU_MAX_RANK];
    bool seen[CPU_MAX_RANK] = {false};
    for (int32_t d = 0; d < r; d++) {
        lo[d] = 0;
        step[d] = 1;
        cnt[d] = x->dims[d];
    }
    for (size_t i = 0; i < ns; i++) {
        int64_t a = has_axes ? axes[i] : (int64_t)i;
        if (!cpu_norm_axis(a, r, &a))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice axis %lld out of range for rank %d",
                            (long long)(has_axes ? axes[i] : (int64_t)i), (int)r);
        if (seen[a])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice axis %lld repeated", (long long)a);
        seen[a] = true;
        const int64_t n = x->dims[a], sp = has_steps ? steps[i] : 1;
        if (sp == 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice step must not be 0");
        int64_t s = starts[i], e = ends[i];
        /* Negative values count from the end; then clamp as the spec says:
         * [0, n] for positive steps, [0, n-1] / [-1, n-1] for negative. */
        if (s < 0)
            s += n;
        if (e < 0)
            e += n;
        if (sp > 0) {
            s = s < 0 ? 0 : s > n ? n : s;
            e = e < 0 ? 0 : e > n ? n : e;
            cnt[a] = e > s ? (e - s - 1) / sp + 1 : 0;
        } else {
            s = s < 0 ? 0 : s > n - 1 ? n - 1 : s;
            e = e < -1 ? -1 : e > n - 1 ? n - 1 : e;
            /* (s - e - 1) / (-sp) with -sp safe even for INT64_MIN steps */
            cnt[a] = s > e ? (int64_t)((uint64_t)(s - e - 1) / ((uint64_t)0 - (uint64_t)sp)) + 1 : 0;
        }
        if (n == 0)
            cnt[a] = 0;
        lo[a] = cnt[a] ? s : 0;
        step[a] = sp;
    }
    tr_plan p = {.rank = r, .esz = cpu_dtype_size(x->dtype)};
    int64_t off = 0;
    for (int32_t d = 0; d < r; d++) {
        p.dims[d] = cnt[d];
        /* A step beyond the dimension takes one element; keep the stride
         * small so the offset arithmetic never overflows. */
        p.istr[d] = cnt[d] > 1 ? step[d] * xs[d] : 0;
        off += lo[d] * xs[d];
    }
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, cnt, &y)))
        return st;
    if (y->count == 0)
        return PRISM_OK;
    p.src = (const char *)x->data + off * (int64_t)p.esz;
    p.dst = y->data;
    tr_exec(ctx, &p);
    return cpu_own_strings(ctx, y);
too_many:
    return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Slice has more entries than the maximum rank %d", CPU_MAX_RANK);
}

const cpu_kernel_def cpu_op_Slice = {.run = slice_run};

/* ---- Gather --------------------------------------------------------------- */

/* Normalise the indices of t against a dimension n into idx (malloc'd):
 * negative ones count from the end; anything outside [-n, n-1] is an error. */
static prism_status tr_indices(cpu_ctx *ctx, const cpu_tensor *t, int64_t n, const char *op, int64_t **out)
{
    if (!tr_is_int(t->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s indices must be int32 or int64 (got %s)", op,
                        cpu_dtype_name(t->dtype));
    int64_t *idx = malloc((size_t)(t->count > 0 ? t->count : 1) * sizeof *idx);
    if (!idx)
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t i = 0; i < t->count; i++) {
        int64_t v = cpu_tensor_int(t, i);
        if (v < -n || v >= n) {
            free(idx);
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s index %lld is out of range [%lld, %lld]", op, (long long)v,
                            (long long)-n, (long long)n - 1);
        }
        idx[i] = v < 0 ? v + n : v;
    }
    *out = idx;
    return PRISM_OK;
}

typedef struct tr_gather {
    const char *src;
    char *dst;
    const int64_t *idx;
    int64_t nidx, n, blk; /* blk: bytes per gathered slice */
} tr_gather;

static void tr_gather_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_gather *g = arg;
    for (int64_t t = begin; t < end; t++) {
        int64_t o = t / g->nidx, j = t % g->nidx;
        tr_copy1(g->dst + t * g->blk, g->src + (o * g->n + g->idx[j]) * g->blk, (size_t)g->blk);
    }
}

static prism_status gather_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gather needs data and indices");
    const cpu_tensor *x = in[0], *ind = in[1];
    int64_t axis;
    if (!cpu_norm_axis(cpu_attr_int(node, "axis", 0), x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gather axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", 0), (int)x->rank);
    const int32_t r = x->rank - 1 + ind->rank;
    if (r > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gather result rank %d exceeds %d", (int)r, CPU_MAX_RANK);
    int64_t dims[CPU_MAX_RANK];
    int32_t k = 0;
    for (int32_t d = 0; d < axis; d++)
        dims[k++] = x->dims[d];
    for (int32_t d = 0; d < ind->rank; d++)
        dims[k++] = ind->dims[d];
    for (int32_t d = (int32_t)axis + 1; d < x->rank; d++)
        dims[k++] = x->dims[d];
    int64_t cnt;
    if (!cpu_count_checked(r, dims, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Gather result is too large");
    int64_t *idx;
    prism_status st = tr_indices(ctx, ind, x->dims[axis], "Gather", &idx);
    if (st)
        return st;
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, dims, &y)) || cnt == 0) {
        free(idx);
        return st;
    }
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype);
    tr_gather g = {x->data, y->data, idx, ind->count, x->dims[axis],
                   tr_prod(x->dims, (int32_t)axis + 1, x->rank) * esz};
    tr_for(ctx, tr_prod(x->dims, 0, (int32_t)axis) * ind->count, cnt * esz, tr_gather_fn, &g);
    free(idx);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Gather = {.run = gather_run};

/* ---- GatherElements ------------------------------------------------------- */

static prism_status gather_elements_run(cpu_ctx *ctx, const cpu_node *node, void *state,
                                        const cpu_tensor *const *in, uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherElements needs data and indices");
    const cpu_tensor *x = in[0], *ind = in[1];
    const int32_t r = x->rank;
    int64_t axis;
    if (r == 0 || !cpu_norm_axis(cpu_attr_int(node, "axis", 0), r, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherElements axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", 0), (int)r);
    if (ind->rank != r)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherElements indices must have the rank of data (%d)", (int)r);
    for (int32_t d = 0; d < r; d++)
        if (d != axis && ind->dims[d] > x->dims[d])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherElements indices dimension %d (%lld) exceeds data's (%lld)",
                            (int)d, (long long)ind->dims[d], (long long)x->dims[d]);
    int64_t *idx;
    prism_status st = tr_indices(ctx, ind, x->dims[axis], "GatherElements", &idx);
    if (st)
        return st;
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, ind->dims, &y)) || y->count == 0) {
        free(idx);
        return st;
    }
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype);
    int64_t xs[CPU_MAX_RANK], pos[CPU_MAX_RANK] = {0}, off = 0;
    tr_strides(r, x->dims, xs);
    const char *src = x->data;
    char *dst = y->data;
    for (int64_t i = 0; i < y->count; i++) {
        tr_copy1(dst + i * esz, src + (off + idx[i] * xs[axis]) * esz, (size_t)esz);
        /* odometer over the indices' shape; off excludes the axis term */
        for (int32_t d = r - 1; d >= 0; d--) {
            if (d != axis)
                off += xs[d];
            if (++pos[d] < ind->dims[d])
                break;
            if (d != axis)
                off -= xs[d] * ind->dims[d];
            pos[d] = 0;
        }
    }
    free(idx);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_GatherElements = {.run = gather_elements_run};

/* ---- GatherND / ScatterND: index tuples into the leading dims -------------- */

/* Offsets (in elements) of the slices addressed by the index tuples of ind
 * (last dim m) into data, the first b dims being batch dims shared by both.
 * *out (malloc'd) gets one offset per tuple. */
static prism_status tr_nd_offsets(cpu_ctx *ctx, const cpu_tensor *x, const cpu_tensor *ind, int64_t b,
                                  const char *op, int64_t **out, int64_t *ntup)
{
    if (!tr_is_int(ind->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s indices must be int64", op);
    if (ind->rank < 1)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s indices must have rank >= 1", op);
    const int64_t m = ind->dims[ind->rank - 1];
    if (m < 0 || m > x->rank - b)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s index tuples have length %lld; data rank %d allows at most %lld",
                        op, (long long)m, (int)x->rank, (long long)(x->rank - b));
    int64_t xs[CPU_MAX_RANK];
    tr_strides(x->rank, x->dims, xs);
    const int64_t n = m > 0 ? ind->count / m : tr_prod(ind->dims, 0, ind->rank - 1);
    const int64_t nbatch = tr_prod(ind->dims, 0, (int32_t)b);
    const int64_t per = nbatch > 0 ? n / nbatch : 0;
    const int64_t bstride = b > 0 ? xs[b - 1] : 0;
    int64_t *off = malloc((size_t)(n > 0 ? n : 1) * sizeof *off);
    if (!off)
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    for (int64_t t = 0; t < n; t++) {
        int64_t o = (t / per) * bstride;
        for (int64_t k = 0; k < m; k++) {
            const int64_t dim = x->dims[b + k];
            int64_t v = cpu_tensor_int(ind, t * m + k);
            if (v < -dim || v >= dim) {
                free(off);
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s index %lld is out of range for dimension %lld of size %lld",
                                op, (long long)v, (long long)(b + k), (long long)dim);
            }
            o += (v < 0 ? v + dim : v) * xs[b + k];
        }
        off[t] = o;
    }
    *out = off;
    *ntup = n;
    return PRISM_OK;
}

static prism_status gathernd_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherND needs data and indices");
    const cpu_tensor *x = in[0], *ind = in[1];
    const int64_t b = cpu_attr_int(node, "batch_dims", 0);
    if (x->rank < 1 || ind->rank < 1 || b < 0 || b >= x->rank || b >= ind->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherND batch_dims %lld invalid for ranks %d and %d", (long long)b,
                        (int)x->rank, (int)ind->rank);
    for (int64_t d = 0; d < b; d++)
        if (x->dims[d] != ind->dims[d])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherND batch dimension %lld differs between data and indices",
                            (long long)d);
    const int64_t m = ind->dims[ind->rank - 1];
    if (m < 1 || m > x->rank - b)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherND index tuple length %lld invalid for data rank %d",
                        (long long)m, (int)x->rank);
    int64_t dims[CPU_MAX_RANK];
    int32_t r = 0;
    const int32_t rr = ind->rank - 1 + x->rank - (int32_t)(b + m);
    if (rr > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "GatherND result rank exceeds %d", CPU_MAX_RANK);
    for (int32_t d = 0; d < ind->rank - 1; d++)
        dims[r++] = ind->dims[d];
    for (int32_t d = (int32_t)(b + m); d < x->rank; d++)
        dims[r++] = x->dims[d];
    int64_t *off, n;
    prism_status st = tr_nd_offsets(ctx, x, ind, b, "GatherND", &off, &n);
    if (st)
        return st;
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, dims, &y)) || y->count == 0) {
        free(off);
        return st;
    }
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype);
    const int64_t blk = tr_prod(x->dims, (int32_t)(b + m), x->rank) * esz;
    for (int64_t t = 0; t < n; t++)
        memcpy((char *)y->data + t * blk, (const char *)x->data + off[t] * esz, (size_t)blk);
    free(off);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_GatherND = {.run = gathernd_run};

/* ---- Scatter reductions ------------------------------------------------------ */

enum { TR_RED_NONE, TR_RED_ADD, TR_RED_MUL, TR_RED_MAX, TR_RED_MIN };

static int tr_reduction(const cpu_node *node)
{
    const char *s = cpu_attr_string(node, "reduction", "none");
    if (!strcmp(s, "none"))
        return TR_RED_NONE;
    if (!strcmp(s, "add"))
        return TR_RED_ADD;
    if (!strcmp(s, "mul"))
        return TR_RED_MUL;
    if (!strcmp(s, "max"))
        return TR_RED_MAX;
    if (!strcmp(s, "min"))
        return TR_RED_MIN;
    return -1;
}

/* dst[i] = dst[i] (op) src[i], i < n, for one dtype family. Integer add and
 * mul wrap (computed unsigned) like the reference's numpy arithmetic. */
#define TR_SCAT_BODY(NAME, T, CT, ISF, LD, ST)                                          \
    static void tr_scat_##NAME(void *dv, const void *sv, int64_t n, int op)               \
    {                                                                                   \
        T *d = dv;                                                                      \
        const T *s = sv;                                                                \
        for (int64_t i = 0; i < n; i++) {                                               \
            CT a = LD(d[i]), v = LD(s[i]);                                              \
            switch (op) {                                                               \
            case TR_RED_ADD:                                                            \
                a = ISF ? (CT)(a + v) : (CT)(uint64_t)((uint64_t)a + (uint64_t)v);      \
                break;                                                                  \
            case TR_RED_MUL:                                                            \
                a = ISF ? (CT)(a * v) : (CT)(uint64_t)((uint64_t)a * (uint64_t)v);      \
                break;                                                                  \
            case TR_RED_MAX:                                                            \
                a = v > a ? v : a;                                                      \
                break;                                                                  \
            case TR_RED_MIN:                                                            \
                a = v < a ? v : a;                                                      \
                break;                                                                  \
            default:                                                                    \
                a = v;                                                                  \
            }                                                                           \
            d[i] = ST(a);                                                               \
        }                                                                               \
    }
#define TR_ID(x) (x)
#define TR_LD_H(x) cpu_half_to_float(x)
#define TR_ST_H(x) cpu_float_to_half(x)
#define TR_LD_B(x) cpu_bf16_to_float(x)
#define TR_ST_B(x) cpu_float_to_bf16(x)
#define TR_SCAT_F(E, T) TR_SCAT_BODY(T, T, T, 1, TR_ID, TR_ID)
#define TR_SCAT_I(E, T) TR_SCAT_BODY(T, T, T, 0, TR_ID, TR_ID)
CPU_FOR_FLOAT_TYPES(TR_SCAT_F)
CPU_FOR_INT_TYPES(TR_SCAT_I)
TR_SCAT_BODY(f16, uint16_t, float, 1, TR_LD_H, TR_ST_H)
TR_SCAT_BODY(bf16, uint16_t, float, 1, TR_LD_B, TR_ST_B)

static void (*tr_scat_fn(int32_t dt))(void *, const void *, int64_t, int)
{
#define TR_SCAT_CASE(E, T) \
    case E:                \
        return tr_scat_##T;
    switch (dt) {
        CPU_FOR_NUMERIC_TYPES(TR_SCAT_CASE)
    case PRISM_DTYPE_FLOAT16:
        return tr_scat_f16;
    case PRISM_DTYPE_BFLOAT16:
        return tr_scat_bf16;
    default:
        return NULL;
    }
#undef TR_SCAT_CASE
}

/* Output = copy of data, ready to be scattered into (strings: owned). */
static prism_status tr_scatter_prepare(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *x, int *red,
                                       void (**fn)(void *, const void *, int64_t, int), cpu_tensor **y)
{
    *red = cpu_node_opset(node) >= 16 ? tr_reduction(node) : TR_RED_NONE;
    if (*red < 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "unknown reduction '%s'", cpu_attr_string(node, "reduction", ""));
    *fn = NULL;
    if (*red != TR_RED_NONE && !(*fn = tr_scat_fn(x->dtype)))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "scatter reduction on %s is not supported",
                        cpu_dtype_name(x->dtype));
    prism_status st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, y);
    if (st)
        return st;
    if (x->count)
        memcpy((*y)->data, x->data, (size_t)x->count * cpu_dtype_size(x->dtype));
    return cpu_own_strings(ctx, *y);
}

/* Write n elements of src over dst (scatter without reduction). Strings
 * are replaced by private copies. */
static bool tr_assign(char *dst, const char *src, int64_t n, int32_t dt, size_t esz)
{
    if (dt != PRISM_DTYPE_STRING) {
        memcpy(dst, src, (size_t)n * esz);
        return true;
    }
    char **d = (char **)dst;
    char *const *s = (char *const *)src;
    for (int64_t i = 0; i < n; i++) {
        char *c = strdup(s[i] ? s[i] : "");
        if (!c)
            return false;
        free(d[i]);
        d[i] = c;
    }
    return true;
}

static bool scatter_supports(const cpu_node *node)
{
    const int red = cpu_node_opset(node) >= 16 ? tr_reduction(node) : TR_RED_NONE;
    if (red < 0)
        return false;
    const int32_t dt = cpu_node_input_dtype(node, 0);
    return red == TR_RED_NONE || dt == 0 || tr_scat_fn(dt) != NULL;
}

static prism_status scatter_elements_run(cpu_ctx *ctx, const cpu_node *node, void *state,
                                         const cpu_tensor *const *in, uint32_t n_in)
{
    (void)state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterElements needs data, indices and updates");
    const cpu_tensor *x = in[0], *ind = in[1], *u = in[2];
    const int32_t r = x->rank;
    int64_t axis;
    if (r == 0 || !cpu_norm_axis(cpu_attr_int(node, "axis", 0), r, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterElements axis out of range for rank %d", (int)r);
    if (ind->rank != r || u->rank != r || u->dtype != x->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterElements indices and updates must have data's rank and type");
    for (int32_t d = 0; d < r; d++) {
        if (ind->dims[d] != u->dims[d])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterElements indices and updates must have one shape");
        if (d != axis && ind->dims[d] > x->dims[d])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterElements indices dimension %d exceeds data's", (int)d);
    }
    int64_t *idx;
    prism_status st = tr_indices(ctx, ind, x->dims[axis], "ScatterElements", &idx);
    if (st)
        return st;
    int red;
    void (*fn)(void *, const void *, int64_t, int);
    cpu_tensor *y;
    if ((st = tr_scatter_prepare(ctx, node, x, &red, &fn, &y))) {
        free(idx);
        return st;
    }
    const size_t esz = cpu_dtype_size(x->dtype);
    int64_t xs[CPU_MAX_RANK], pos[CPU_MAX_RANK] = {0}, off = 0;
    tr_strides(r, x->dims, xs);
    char *dst = y->data;
    const char *src = u->data;
    for (int64_t i = 0; i < u->count; i++) {
        char *p = dst + (off + idx[i] * xs[axis]) * (int64_t)esz;
        if (fn)
            fn(p, src + i * (int64_t)esz, 1, red);
        else if (!tr_assign(p, src + i * (int64_t)esz, 1, x->dtype, esz)) {
            free(idx);
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
        for (int32_t d = r - 1; d >= 0; d--) {
            if (d != axis)
                off += xs[d];
            if (++pos[d] < ind->dims[d])
                break;
            if (d != axis)
                off -= xs[d] * ind->dims[d];
            pos[d] = 0;
        }
    }
    free(idx);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_ScatterElements = {.run = scatter_elements_run, .supports = scatter_supports};
/* Scatter (opset 9-10) is ScatterElements under its deprecated name. */
const cpu_kernel_def cpu_op_Scatter = {.run = scatter_elements_run};

static prism_status scatternd_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                  uint32_t n_in)
{
    (void)state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterND needs data, indices and updates");
    const cpu_tensor *x = in[0], *ind = in[1], *u = in[2];
    if (x->rank < 1 || ind->rank < 1 || u->dtype != x->dtype)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterND needs data and indices of rank >= 1, updates of data's type");
    const int64_t m = ind->dims[ind->rank - 1];
    if (m < 1 || m > x->rank)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterND index tuple length %lld invalid for data rank %d",
                        (long long)m, (int)x->rank);
    /* updates.shape == indices.shape[:-1] + data.shape[m:] */
    int32_t ur = ind->rank - 1 + x->rank - (int32_t)m;
    bool ok = u->rank == ur;
    for (int32_t d = 0; ok && d < ind->rank - 1; d++)
        ok = u->dims[d] == ind->dims[d];
    for (int32_t d = (int32_t)m; ok && d < x->rank; d++)
        ok = u->dims[ind->rank - 1 + d - m] == x->dims[d];
    if (!ok)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ScatterND updates shape must be indices.shape[:-1] + data.shape[%lld:]",
                        (long long)m);
    int64_t *off, n;
    prism_status st = tr_nd_offsets(ctx, x, ind, 0, "ScatterND", &off, &n);
    if (st)
        return st;
    int red;
    void (*fn)(void *, const void *, int64_t, int);
    cpu_tensor *y;
    if ((st = tr_scatter_prepare(ctx, node, x, &red, &fn, &y))) {
        free(off);
        return st;
    }
    const size_t esz = cpu_dtype_size(x->dtype);
    const int64_t blk = tr_prod(x->dims, (int32_t)m, x->rank);
    for (int64_t t = 0; t < n; t++) {
        char *p = (char *)y->data + off[t] * (int64_t)esz;
        const char *s = (const char *)u->data + t * blk * (int64_t)esz;
        if (fn)
            fn(p, s, blk, red);
        else if (!tr_assign(p, s, blk, x->dtype, esz)) {
            free(off);
            return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        }
    }
    free(off);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_ScatterND = {.run = scatternd_run, .supports = scatter_supports};

/* ---- Tile ----------------------------------------------------------------- */

static prism_status tile_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile needs input and repeats");
    const cpu_tensor *x = in[0];
    const int32_t r = x->rank;
    int64_t rep[CPU_MAX_RANK];
    prism_status st;
    if (cpu_node_opset(node) < 6) {
        /* Opset 1: scalar 'tiles' count along scalar 'axis'. */
        if (n_in < 3 || !in[2] || in[1]->count != 1 || in[2]->count != 1 || !tr_is_int(in[1]->dtype) ||
            !tr_is_int(in[2]->dtype))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile (opset 1) needs scalar tiles and axis");
        int64_t a;
        if (!cpu_norm_axis(cpu_tensor_int(in[2], 0), r, &a))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile axis out of range");
        for (int32_t d = 0; d < r; d++)
            rep[d] = 1;
        rep[a] = cpu_tensor_int(in[1], 0);
    } else {
        size_t n;
        if ((st = cpu_int_list(ctx, in[1], "Tile repeats", "int32 or int64", rep, CPU_MAX_RANK, &n)))
            return st;
        if (n != (size_t)r)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile repeats has %zu values for rank %d", n, (int)r);
    }
    int64_t dims[CPU_MAX_RANK], xs[CPU_MAX_RANK];
    tr_strides(r, x->dims, xs);
    /* The result is the input broadcast to [rep0, d0, rep1, d1, ...]. */
    tr_plan p = {.rank = 2 * r, .esz = cpu_dtype_size(x->dtype), .src = x->data};
    for (int32_t d = 0; d < r; d++) {
        if (rep[d] < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile repeats must be >= 0, got %lld", (long long)rep[d]);
        if (rep[d] != 0 && x->dims[d] > CPU_MAX_ALLOC_COUNT / rep[d])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile result is too large");
        dims[d] = x->dims[d] * rep[d];
        p.dims[2 * d] = rep[d];
        p.istr[2 * d] = 0;
        p.dims[2 * d + 1] = x->dims[d];
        p.istr[2 * d + 1] = xs[d];
    }
    int64_t cnt;
    if (!cpu_count_checked(r, dims, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Tile result is too large");
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, dims, &y)))
        return st;
    p.dst = y->data;
    tr_exec(ctx, &p);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Tile = {.run = tile_run};

/* ---- Pad -------------------------------------------------------------------- */

enum { TR_PAD_CONSTANT, TR_PAD_REFLECT, TR_PAD_EDGE, TR_PAD_WRAP };

/* Input coordinate for output coordinate o of a dim of size n padded by pb
 * at the front; -1 = the constant. */
static inline int64_t tr_pad_map(int mode, int64_t o, int64_t pb, int64_t n)
{
    int64_t i = o - pb;
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case TR_PAD_EDGE:
        return i < 0 ? 0 : n - 1;
    case TR_PAD_WRAP:
        i %= n;
        return i < 0 ? i + n : i;
    case TR_PAD_REFLECT: {
        if (n == 1)
            return 0;
        int64_t per = 2 * (n - 1); /* mirror without repeating the edge */
        i %= per;
        if (i < 0)
            i += per;
        return i < n ? i : per - i;
    }
    default:
        return -1;
    }
}

typedef struct tr_pad {
    int mode;
    int32_t r;
    const int64_t *xd, *od, *pb;
    int64_t xs[CPU_MAX_RANK];
    size_t esz;
    const char *src;
    char *dst;
    unsigned char cval[16];
} tr_pad;

static void tr_pad_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_pad *p = arg;
    const int32_t L = p->r - 1;
    const int64_t on = p->od[L], xn = p->xd[L], pb = p->pb[L], esz = (int64_t)p->esz;
    /* the part of each row that is a plain copy of an input row */
    const int64_t mb = pb > 0 ? pb : 0, me0 = pb + xn < on ? pb + xn : on, me = me0 > mb ? me0 : mb;
    for (int64_t row = begin; row < end; row++) {
        char *dst = p->dst + row * on * esz;
        int64_t rem = row, off = 0;
        bool constant = false;
        for (int32_t d = L - 1; d >= 0; d--) {
            int64_t o = rem % p->od[d];
            rem /= p->od[d];
            int64_t i = tr_pad_map(p->mode, o, p->pb[d], p->xd[d]);
            if (i < 0) {
                constant = true;
                break;
            }
            off += i * p->xs[d];
        }
        if (constant) {
            tr_fill(dst, p->cval, on, p->esz);
            continue;
        }
        const char *src = p->src + off * esz;
        if (me > mb)
            memcpy(dst + mb * esz, src + (mb - pb) * esz, (size_t)((me - mb) * esz));
        for (int64_t o = 0; o < on; o++) {
            if (o == mb && me > mb) {
                o = me - 1;
                continue;
            }
            int64_t i = tr_pad_map(p->mode, o, pb, xn);
            tr_copy1(dst + o * esz, i < 0 ? (const char *)p->cval : src + i * esz, p->esz);
        }
    }
}

static prism_status pad_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad needs data");
    const cpu_tensor *x = in[0];
    const int32_t r = x->rank;
    const int64_t opset = cpu_node_opset(node);
    const char *ms = cpu_attr_string(node, "mode", "constant");
    int mode;
    if (!strcmp(ms, "constant"))
        mode = TR_PAD_CONSTANT;
    else if (!strcmp(ms, "reflect"))
        mode = TR_PAD_REFLECT;
    else if (!strcmp(ms, "edge"))
        mode = TR_PAD_EDGE;
    else if (!strcmp(ms, "wrap"))
        mode = TR_PAD_WRAP;
    else
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad mode '%s' is not supported", ms);
    tr_pad p = {.mode = mode, .r = r, .esz = cpu_dtype_size(x->dtype), .src = x->data};
    if (p.esz == 0 || p.esz > sizeof p.cval)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad of type %s is not supported", cpu_dtype_name(x->dtype));
    int64_t pads[2 * CPU_MAX_RANK], axes[CPU_MAX_RANK];
    size_t np, na = 0;
    bool has_axes = false;
    prism_status st;
    memset(p.cval, 0, sizeof p.cval);
    if (opset < 11) {
        const int64_t *a;
        np = cpu_attr_ints(node, opset < 2 ? "paddings" : "pads", &a);
        if (np > 2 * CPU_MAX_RANK)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad has too many pads");
        if (np)
            memcpy(pads, a, np * sizeof *a);
        if (x->dtype != PRISM_DTYPE_STRING &&
            !cpu_store_f64_sat(p.cval, x->dtype, cpu_attr_float(node, "value", 0.0f)))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad of type %s is not supported", cpu_dtype_name(x->dtype));
    } else {
        if (n_in < 2 || !in[1])
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad needs pads");
        if ((st = cpu_int_list(ctx, in[1], "Pad pads", "int32 or int64", pads, 2 * CPU_MAX_RANK, &np)))
            return st;
        if (n_in > 2 && in[2] && in[2]->count > 0) {
            if (in[2]->dtype != x->dtype)
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad constant_value must have data's type");
            memcpy(p.cval, in[2]->data, p.esz);
        }
        if (opset >= 18 && n_in > 3 && in[3]) {
            if ((st = cpu_int_list(ctx, in[3], "Pad axes", "int32 or int64", axes, CPU_MAX_RANK, &na)))
                return st;
            has_axes = true;
        }
    }
    int64_t pb[CPU_MAX_RANK] = {0}, pe[CPU_MAX_RANK] = {0}, od[CPU_MAX_RANK];
    if (has_axes) {
        if (np != 2 * na)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad pads must have twice as many values as axes");
        bool seen[CPU_MAX_RANK] = {false};
        for (size_t i = 0; i < na; i++) {
            int64_t a;
            if (!cpu_norm_axis(axes[i], r, &a) || seen[a])
                return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad axis %lld out of range or repeated", (long long)axes[i]);
            seen[a] = true;
            pb[a] = pads[i];
            pe[a] = pads[i + na];
        }
    } else {
        if (np != 2 * (size_t)r)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad pads has %zu values for rank %d", np, (int)r);
        for (int32_t d = 0; d < r; d++) {
            pb[d] = pads[d];
            pe[d] = pads[d + r];
        }
    }
    for (int32_t d = 0; d < r; d++) {
        if (pb[d] < -CPU_MAX_ALLOC_COUNT || pb[d] > CPU_MAX_ALLOC_COUNT || pe[d] < -CPU_MAX_ALLOC_COUNT ||
            pe[d] > CPU_MAX_ALLOC_COUNT)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad pads value out of range");
        od[d] = x->dims[d] + pb[d] + pe[d];
        if (od[d] < 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad removes more than dimension %d holds", (int)d);
        if (mode != TR_PAD_CONSTANT && x->dims[d] == 0 && od[d] > 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad mode '%s' cannot pad an empty dimension", ms);
    }
    int64_t cnt;
    if (!cpu_count_checked(r, od, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad result is too large");
    cpu_tensor *y;
    if ((st = cpu_output(ctx, 0, x->dtype, r, od, &y)) || cnt == 0)
        return st;
    if (r == 0) {
        memcpy(y->data, x->data, p.esz);
        return cpu_own_strings(ctx, y);
    }
    tr_strides(r, x->dims, p.xs);
    int64_t xd[CPU_MAX_RANK];
    for (int32_t d = 0; d < r; d++) {
        xd[d] = x->dims[d];
        if (mode == TR_PAD_CONSTANT)
            continue;
        /* Negative pads crop first; the other modes then pad relative to
         * the cropped extent (what ONNX Runtime does; the reference cannot
         * crop at all). */
        const int64_t cb = pb[d] < 0 ? -pb[d] : 0, ce = pe[d] < 0 ? -pe[d] : 0;
        xd[d] -= cb + ce;
        if (xd[d] <= 0)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Pad mode '%s' crops all of dimension %d", ms, (int)d);
        p.src += cb * p.xs[d] * (int64_t)p.esz;
        pb[d] += cb;
    }
    p.xd = xd;
    p.od = od;
    p.pb = pb;
    p.dst = y->data;
    tr_for(ctx, cnt / od[r - 1], cnt * (int64_t)p.esz, tr_pad_fn, &p);
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Pad = {.run = pad_run};

/* ---- DepthToSpace / SpaceToDepth: a 6-D transpose ------------------------ */

static prism_status tr_space_depth(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *const *in, uint32_t n_in,
                                   bool to_space)
{
    const char *op = to_space ? "DepthToSpace" : "SpaceToDepth";
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs an input", op);
    const cpu_tensor *x = in[0];
    const int64_t b = cpu_attr_int(node, "blocksize", 0);
    if (x->rank != 4)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs a 4-D input, got rank %d", op, (int)x->rank);
    if (b <= 0 || b > 65536)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s blocksize %lld is invalid", op, (long long)b);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    int64_t view[6], perm[6], odims[4];
    if (to_space) {
        if (C % (b * b))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "DepthToSpace channels %lld not divisible by blocksize^2",
                            (long long)C);
        const int64_t c = C / (b * b);
        const bool crd = !strcmp(cpu_attr_string(node, "mode", "DCR"), "CRD");
        if (crd) { /* [N, c, b, b, H, W] -> [N, c, H, b, W, b] */
            const int64_t v[6] = {N, c, b, b, H, W}, q[6] = {0, 1, 4, 2, 5, 3};
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
        } else { /* [N, b, b, c, H, W] -> [N, c, H, b, W, b] */
            const int64_t v[6] = {N, b, b, c, H, W}, q[6] = {0, 3, 4, 1, 5, 2};
            memcpy(view, v, sizeof v);
            memcpy(perm, q, sizeof q);
        }
        odims[0] = N, odims[1] = c, odims[2] = H * b, odims[3] = W * b;
    } else {
        if (H % b || W % b)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "SpaceToDepth height/width not divisible by blocksize");
        /* DCR: [N, C, H/b, b, W/b, b] -> [N, b, b, C, H/b, W/b]; CRD (a
         * mode added after opset 25, harmless to honour): -> [N, C, b, b, ...] */
        const bool crd = !strcmp(cpu_attr_string(node, "mode", "DCR"), "CRD");
        const int64_t v[6] = {N, C, H / b, b, W / b, b}, q[6] = {0, 3, 5, 1, 2, 4}, qc[6] = {0, 1, 3, 5, 2, 4};
        memcpy(view, v, sizeof v);
        memcpy(perm, crd ? qc : q, sizeof q);
        if (C > CPU_MAX_ALLOC_COUNT / (b * b))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "SpaceToDepth result is too large");
        odims[0] = N, odims[1] = C * b * b, odims[2] = H / b, odims[3] = W / b;
    }
    int64_t vs[6];
    tr_strides(6, view, vs);
    tr_plan p = {.rank = 6, .esz = cpu_dtype_size(x->dtype), .src = x->data};
    for (int d = 0; d < 6; d++) {
        p.dims[d] = view[perm[d]];
        p.istr[d] = vs[perm[d]];
    }
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, 4, odims, &y);
    if (st)
        return st;
    p.dst = y->data;
    tr_exec(ctx, &p);
    return cpu_own_strings(ctx, y);
}

static prism_status d2s_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in)
{
    (void)state;
    return tr_space_depth(ctx, node, in, n_in, true);
}

static prism_status s2d_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in)
{
    (void)state;
    return tr_space_depth(ctx, node, in, n_in, false);
}

const cpu_kernel_def cpu_op_DepthToSpace = {.run = d2s_run};
const cpu_kernel_def cpu_op_SpaceToDepth = {.run = s2d_run};

/* ---- Trilu ---------------------------------------------------------------- */

static prism_status trilu_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                              uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Trilu needs an input");
    const cpu_tensor *x = in[0];
    if (x->rank < 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Trilu needs rank >= 2, got %d", (int)x->rank);
    int64_t k = 0;
    if (n_in > 1 && in[1]) {
        if (in[1]->count != 1 || !tr_is_int(in[1]->dtype))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Trilu k must be an int64 scalar");
        k = cpu_tensor_int(in[1], 0);
    }
    const bool upper = cpu_attr_int(node, "upper", 1) != 0;
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (st || y->count == 0)
        return st;
    const int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype), nmat = x->count / (rows * cols);
    /* Keep column j of row i when j - i >= k (upper) or j - i <= k (lower). */
    for (int64_t m = 0; m < nmat; m++) {
        for (int64_t i = 0; i < rows; i++) {
            int64_t lo, hi; /* kept columns [lo, hi) */
            if (upper) {
                lo = k > cols - i ? cols : k < -i ? 0 : i + k;
                hi = cols;
            } else {
                lo = 0;
                hi = k >= cols - i ? cols : k < -i ? 0 : i + k + 1;
            }
            char *dst = (char *)y->data + (m * rows + i) * cols * esz;
            const char *src = (const char *)x->data + (m * rows + i) * cols * esz;
            memset(dst, 0, (size_t)(cols * esz));
            if (hi > lo)
                memcpy(dst + lo * esz, src + lo * esz, (size_t)((hi - lo) * esz));
        }
    }
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Trilu = {.run = trilu_run};

/* ---- ReverseSequence ----------------------------------------------------- */

static prism_status revseq_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ReverseSequence needs input and sequence_lens");
    const cpu_tensor *x = in[0], *lens = in[1];
    const int64_t ba = cpu_attr_int(node, "batch_axis", 1), ta = cpu_attr_int(node, "time_axis", 0);
    if (x->rank < 2 || (ba != 0 && ba != 1) || (ta != 0 && ta != 1) || ba == ta)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ReverseSequence needs rank >= 2 and batch/time axes 0 and 1");
    const int64_t B = x->dims[ba], T = x->dims[ta];
    if (lens->rank != 1 || lens->count != B || !tr_is_int(lens->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ReverseSequence sequence_lens must be int64 of length %lld",
                        (long long)B);
    for (int64_t b = 0; b < B; b++) {
        int64_t l = cpu_tensor_int(lens, b);
        if (l < 0 || l > T)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "ReverseSequence length %lld out of range [0, %lld]",
                            (long long)l, (long long)T);
    }
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (st || y->count == 0)
        return st;
    const int64_t esz = (int64_t)cpu_dtype_size(x->dtype), inner = tr_prod(x->dims, 2, x->rank) * esz;
    const int64_t bs = (ba == 0 ? T : 1) * inner, ts = (ta == 0 ? B : 1) * inner;
    for (int64_t b = 0; b < B; b++) {
        const int64_t l = cpu_tensor_int(lens, b);
        for (int64_t t = 0; t < T; t++) {
            const int64_t s = t < l ? l - 1 - t : t;
            memcpy((char *)y->data + b * bs + t * ts, (const char *)x->data + b * bs + s * ts, (size_t)inner);
        }
    }
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_ReverseSequence = {.run = revseq_run};

/* ---- OneHot ------------------------------------------------------------------ */

static prism_status onehot_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    if (n_in < 3 || !in[0] || !in[1] || !in[2])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot needs indices, depth and values");
    const cpu_tensor *ind = in[0], *dep = in[1], *val = in[2];
    double dd;
    if (dep->count != 1 || !tr_get_double(dep, 0, &dd) || !(dd >= 1) || dd > (double)CPU_MAX_ALLOC_COUNT)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot depth must be one positive number");
    const int64_t depth = (int64_t)dd;
    if (val->count != 2)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot values must have two elements [off, on]");
    const int32_t r = ind->rank + 1;
    if (r > CPU_MAX_RANK)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot result rank exceeds %d", CPU_MAX_RANK);
    int64_t axis;
    if (!cpu_norm_axis(cpu_attr_int(node, "axis", -1), r, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot axis %lld out of range", (long long)cpu_attr_int(node, "axis", -1));
    int64_t dims[CPU_MAX_RANK];
    for (int32_t d = 0, k = 0; d < r; d++)
        dims[d] = d == axis ? depth : ind->dims[k++];
    int64_t cnt;
    if (!cpu_count_checked(r, dims, &cnt))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot result is too large");
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, val->dtype, r, dims, &y);
    if (st || cnt == 0)
        return st;
    const size_t esz = cpu_dtype_size(val->dtype);
    const char *off = val->data, *on = off + esz;
    for (int64_t i = 0; i < cnt; i++)
        tr_copy1((char *)y->data + i * (int64_t)esz, off, esz);
    const int64_t inner = tr_prod(ind->dims, (int32_t)axis, ind->rank);
    for (int64_t i = 0; i < ind->count; i++) {
        double v;
        if (!tr_get_double(ind, i, &v))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "OneHot indices must be numeric");
        if (!(v > -(double)depth - 1 && v < (double)depth + 1))
            continue; /* far out of range: all off */
        int64_t j = (int64_t)v;
        if (j < 0)
            j += depth; /* negative indices count from the end */
        if (j < 0 || j >= depth)
            continue;
        const int64_t o = i / inner, q = i % inner;
        memcpy((char *)y->data + ((o * depth + j) * inner + q) * (int64_t)esz, on, esz);
    }
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_OneHot = {.run = onehot_run};

/* ---- NonZero -------------------------------------------------------------- */

static bool tr_nonzero_at(const cpu_tensor *x, int64_t i, size_t esz)
{
    const unsigned char *p = (const unsigned char *)x->data + i * (int64_t)esz;
    switch (x->dtype) {
    case PRISM_DTYPE_FLOAT: {
        float f;
        memcpy(&f, p, sizeof f);
        return f != 0;
    }
    case PRISM_DTYPE_DOUBLE: {
        double f;
        memcpy(&f, p, sizeof f);
        return f != 0;
    }
    case PRISM_DTYPE_FLOAT16:
    case PRISM_DTYPE_BFLOAT16: {
        uint16_t h;
        memcpy(&h, p, sizeof h);
        return (h & 0x7fff) != 0; /* -0 is zero */
    }
    default:
        for (size_t b = 0; b < esz; b++)
            if (p[b])
                return true;
        return false;
    }
}

static prism_status nonzero_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                uint32_t n_in)
{
    (void)node, (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "NonZero needs an input");
    const cpu_tensor *x = in[0];
    const size_t esz = cpu_dtype_size(x->dtype);
    if (x->dtype == PRISM_DTYPE_STRING || !esz)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "NonZero of type %s is not supported", cpu_dtype_name(x->dtype));
    int64_t nnz = 0;
    for (int64_t i = 0; i < x->count; i++)
        nnz += tr_nonzero_at(x, i, esz);
    /* A scalar is treated as a 1-D tensor of one element. */
    const int32_t r = x->rank > 0 ? x->rank : 1;
    int64_t dims[2] = {r, nnz};
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 2, dims, &y);
    if (st || nnz == 0)
        return st;
    int64_t *o = y->data, pos[CPU_MAX_RANK] = {0}, k = 0;
    for (int64_t i = 0; i < x->count; i++) {
        if (tr_nonzero_at(x, i, esz)) {
            for (int32_t d = 0; d < r; d++)
                o[d * nnz + k] = x->rank > 0 ? pos[d] : 0;
            k++;
        }
        for (int32_t d = x->rank - 1; d >= 0; d--) {
            if (++pos[d] < x->dims[d])
                break;
            pos[d] = 0;
        }
    }
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_NonZero = {.run = nonzero_run};

/* ---- Compress ---------------------------------------------------------------- */

static prism_status compress_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                                 uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Compress needs input and condition");
    const cpu_tensor *x = in[0], *c = in[1];
    if (c->rank != 1 || (c->dtype != PRISM_DTYPE_BOOL && !tr_is_int(c->dtype)))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Compress condition must be a 1-D bool tensor");
    const bool has_axis = cpu_attr_has(node, "axis");
    int64_t axis = 0, outer, n, inner;
    int64_t dims[CPU_MAX_RANK];
    int32_t r;
    if (has_axis) {
        if (!cpu_norm_axis(cpu_attr_int(node, "axis", 0), x->rank, &axis))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "Compress axis out of range for rank %d", (int)x->rank);
        r = x->rank;
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)r);
        outer = tr_prod(x->dims, 0, (int32_t)axis);
        n = x->dims[axis];
        inner = tr_prod(x->dims, (int32_t)axis + 1, r);
    } else {
        /* No axis: works on the flattened input. */
        r = 1;
        outer = 1;
        n = x->count;
        inner = 1;
    }
    /* A shorter condition selects nothing beyond its end. */
    const int64_t m = c->count < n ? c->count : n;
    int64_t sel = 0;
    for (int64_t i = 0; i < m; i++)
        sel += cpu_tensor_int(c, i) != 0;
    dims[has_axis ? axis : 0] = sel;
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, r, dims, &y);
    if (st || y->count == 0)
        return st;
    const int64_t blk = inner * (int64_t)cpu_dtype_size(x->dtype);
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < m; i++)
            if (cpu_tensor_int(c, i)) {
                memcpy(dst, (const char *)x->data + (o * n + i) * blk, (size_t)blk);
                dst += blk;
            }
    return cpu_own_strings(ctx, y);
}

const cpu_kernel_def cpu_op_Compress = {.run = compress_run};

/* ---- typed kernels: CumSum, ArgMax/ArgMin, TopK --------------------------- */

/* Numeric families for the templated bodies: (name, storage type, compute
 * type, is-float, load, store). float16/bfloat16 compute in float. */
#define TR_PLAIN_F(E, T) TR_TYPED_BODY_(T, T, T, 1, TR_ID, TR_ID)
#define TR_PLAIN_I(E, T) TR_TYPED_BODY_(T, T, T, 0, TR_ID, TR_ID)
#define TR_HALVES                                               \
    TR_TYPED_BODY_(f16, uint16_t, float, 1, TR_LD_H, TR_ST_H)   \
    TR_TYPED_BODY_(bf16, uint16_t, float, 1, TR_LD_B, TR_ST_B)
/* Instantiate TR_TYPED_BODY_ for every supported dtype. */
#define TR_INSTANTIATE                 \
    CPU_FOR_FLOAT_TYPES(TR_PLAIN_F)    \
    CPU_FOR_INT_TYPES(TR_PLAIN_I)      \
    TR_HALVES
/* A switch over the dtype calling fn_<name>(args). */
#define TR_CASE_(E, T)  \
    case E:             \
        TR_CALL_(T);    \
        break;
#define TR_DISPATCH(dt, ok)                         \
    switch (dt) {                                   \
        CPU_FOR_NUMERIC_TYPES(TR_CASE_)             \
    case PRISM_DTYPE_FLOAT16:                       \
        TR_CALL_(f16);                              \
        break;                                      \
    case PRISM_DTYPE_BFLOAT16:                      \
        TR_CALL_(bf16);                             \
        break;                                      \
    default:                                        \
        ok = false;                                 \
    }

static bool tr_typed_dtype(int32_t dt)
{
    return tr_is_int(dt) || dt == PRISM_DTYPE_FLOAT || dt == PRISM_DTYPE_DOUBLE || dt == PRISM_DTYPE_FLOAT16 ||
           dt == PRISM_DTYPE_BFLOAT16;
}

static bool typed_supports(const cpu_node *node)
{
    int32_t dt = cpu_node_input_dtype(node, 0);
    return dt == 0 || tr_typed_dtype(dt);
}

/* outer x n x inner lanes along the reduced / scanned axis */
typedef struct tr_lanes {
    int64_t outer, n, inner;
} tr_lanes;

static tr_lanes tr_lanes_of(const cpu_tensor *x, int64_t axis)
{
    tr_lanes l = {tr_prod(x->dims, 0, (int32_t)axis), x->dims[axis], tr_prod(x->dims, (int32_t)axis + 1, x->rank)};
    return l;
}

/* CumSum: floats accumulate in double, integers in uint64 (wrapping). */
#define TR_TYPED_BODY_(NAME, T, CT, ISF, LD, ST)                                         \
    static void tr_cumsum_##NAME(const void *xv, void *yv, tr_lanes l, bool excl, bool rev) \
    {                                                                                    \
        const T *x = xv;                                                                 \
        T *y = yv;                                                                       \
        for (int64_t o = 0; o < l.outer; o++)                                            \
            for (int64_t q = 0; q < l.inner; q++) {                                      \
                double fa = 0;                                                           \
                uint64_t ia = 0;                                                         \
                for (int64_t t0 = 0; t0 < l.n; t0++) {                                   \
                    const int64_t t = rev ? l.n - 1 - t0 : t0;                           \
                    const int64_t i = (o * l.n + t) * l.inner + q;                       \
                    const CT v = LD(x[i]);                                               \
                    if (ISF) {                                                           \
                        if (!excl)                                                       \
                            fa += (double)v;                                             \
                        y[i] = ST((CT)fa);                                               \
                        if (excl)                                                        \
                            fa += (double)v;                                             \
                    } else {                                                             \
                        if (!excl)                                                       \
                            ia += (uint64_t)v;                                           \
                        y[i] = ST((CT)ia);                                               \
                        if (excl)                                                        \
                            ia += (uint64_t)v;                                           \
                    }                                                                    \
                }                                                                        \
            }                                                                            \
    }
TR_INSTANTIATE
#undef TR_TYPED_BODY_

static prism_status cumsum_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    if (n_in < 2 || !in[0] || !in[1])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "CumSum needs x and axis");
    const cpu_tensor *x = in[0];
    if (in[1]->count != 1 || !tr_is_int(in[1]->dtype))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "CumSum axis must be an integer scalar");
    int64_t axis;
    if (x->rank == 0 || !cpu_norm_axis(cpu_tensor_int(in[1], 0), x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "CumSum axis %lld out of range for rank %d",
                        (long long)cpu_tensor_int(in[1], 0), (int)x->rank);
    if (!tr_typed_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "CumSum of type %s is not supported", cpu_dtype_name(x->dtype));
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, x->dtype, x->rank, x->dims, &y);
    if (st || y->count == 0)
        return st;
    const bool excl = cpu_attr_int(node, "exclusive", 0) != 0, rev = cpu_attr_int(node, "reverse", 0) != 0;
    const tr_lanes l = tr_lanes_of(x, axis);
    bool ok = true;
#define TR_CALL_(NAME) tr_cumsum_##NAME(x->data, y->data, l, excl, rev)
    TR_DISPATCH(x->dtype, ok)
#undef TR_CALL_
    return ok ? PRISM_OK : cpu_fail(ctx, PRISM_ERR_INTERNAL, "CumSum dtype dispatch failed");
}

const cpu_kernel_def cpu_op_CumSum = {.run = cumsum_run, .supports = typed_supports};

/* ArgMax / ArgMin: first (or last, select_last_index) extreme; NaN never
 * wins a comparison. */
#define TR_TYPED_BODY_(NAME, T, CT, ISF, LD, ST)                                              \
    static void tr_arg_##NAME(const void *xv, int64_t *y, tr_lanes l, bool max, bool last)    \
    {                                                                                         \
        const T *x = xv;                                                                      \
        for (int64_t o = 0; o < l.outer; o++)                                                 \
            for (int64_t q = 0; q < l.inner; q++) {                                           \
                const T *p = x + o * l.n * l.inner + q;                                       \
                CT best = LD(p[0]);                                                           \
                int64_t bi = 0;                                                               \
                for (int64_t t = 1; t < l.n; t++) {                                           \
                    const CT v = LD(p[t * l.inner]);                                          \
                    const bool better = max ? v > best : v < best;                            \
                    if (better || (last && v == best)) {                              \
                        best = v;                                                             \
                        bi = t;                                                               \
                    }                                                                         \
                }                                                                             \
                y[o * l.inner + q] = bi;                                                      \
            }                                                                                 \
    }
TR_INSTANTIATE
#undef TR_TYPED_BODY_

static prism_status tr_arg(cpu_ctx *ctx, const cpu_node *node, const cpu_tensor *const *in, uint32_t n_in, bool max)
{
    const char *op = max ? "ArgMax" : "ArgMin";
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s needs an input", op);
    const cpu_tensor *x = in[0];
    int64_t axis;
    if (x->rank == 0 || !cpu_norm_axis(cpu_attr_int(node, "axis", 0), x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s axis %lld out of range for rank %d", op,
                        (long long)cpu_attr_int(node, "axis", 0), (int)x->rank);
    if (!tr_typed_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "%s of type %s is not supported", op, cpu_dtype_name(x->dtype));
    if (x->dims[axis] == 0)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "%s over an empty axis", op);
    const bool keep = cpu_attr_int(node, "keepdims", 1) != 0;
    const bool last = cpu_node_opset(node) >= 12 && cpu_attr_int(node, "select_last_index", 0) != 0;
    int64_t dims[CPU_MAX_RANK];
    int32_t r = 0;
    for (int32_t d = 0; d < x->rank; d++) {
        if (d != axis)
            dims[r++] = x->dims[d];
        else if (keep)
            dims[r++] = 1;
    }
    cpu_tensor *y;
    prism_status st = cpu_output(ctx, 0, PRISM_DTYPE_INT64, r, dims, &y);
    if (st || y->count == 0)
        return st;
    const tr_lanes l = tr_lanes_of(x, axis);
    bool ok = true;
#define TR_CALL_(NAME) tr_arg_##NAME(x->data, y->data, l, max, last)
    TR_DISPATCH(x->dtype, ok)
#undef TR_CALL_
    return ok ? PRISM_OK : cpu_fail(ctx, PRISM_ERR_INTERNAL, "%s dtype dispatch failed", op);
}

static prism_status argmax_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    return tr_arg(ctx, node, in, n_in, true);
}

static prism_status argmin_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                               uint32_t n_in)
{
    (void)state;
    return tr_arg(ctx, node, in, n_in, false);
}

const cpu_kernel_def cpu_op_ArgMax = {.run = argmax_run, .supports = typed_supports};
const cpu_kernel_def cpu_op_ArgMin = {.run = argmin_run, .supports = typed_supports};

/* TopK work: lanes are split into blocks, each with its own scratch. */
typedef struct tr_topk_job {
    const void *x;
    void *v;
    int64_t *iy;
    tr_lanes l;
    int64_t k;
    bool largest;
    int64_t lanes, blocks;
    char *scratch; /* blocks * l.n * TR_PAIR_MAX bytes */
    void (*fn)(const struct tr_topk_job *j, int64_t lb, int64_t le, void *scratch);
} tr_topk_job;
#define TR_PAIR_MAX 16 /* sizeof of the largest (value, index) pair */

static void tr_topk_block_fn(void *arg, int64_t begin, int64_t end)
{
    const tr_topk_job *j = arg;
    for (int64_t b = begin; b < end; b++)
        j->fn(j, j->lanes * b / j->blocks, j->lanes * (b + 1) / j->blocks,
              j->scratch + b * j->l.n * TR_PAIR_MAX);
}

/* TopK: per lane, sort (value, index) pairs; ties keep the lower index first
 * and NaN counts as the largest value, as the reference (numpy lexsort) does. */
#define TR_TYPED_BODY_(NAME, T, CT, ISF, LD, ST)                                              \
    typedef struct {                                                                          \
        CT v;                                                                                 \
        int64_t i;                                                                            \
    } tr_pair_##NAME;                                                                         \
    _Static_assert(sizeof(tr_pair_##NAME) <= TR_PAIR_MAX, "TopK scratch too small");          \
    /* -1 when a sorts before b in descending order */                                       \
    static int tr_cmp_desc_##NAME(const void *pa, const void *pb)                             \
    {                                                                                         \
        const tr_pair_##NAME *a = pa, *b = pb;                                                \
        const bool an = ISF && isnan((double)a->v), bn = ISF && isnan((double)b->v);           \
        if (an != bn)                                                                         \
            return an ? -1 : 1;                                                               \
        if (!an && a->v != b->v)                                                              \
            return a->v > b->v ? -1 : 1;                                                      \
        return a->i < b->i ? -1 : a->i > b->i;                                                \
    }                                                                                         \
    static int tr_cmp_asc_##NAME(const void *pa, const void *pb)                              \
    {                                                                                         \
        const tr_pair_##NAME *a = pa, *b = pb;                                                \
        const bool an = ISF && isnan((double)a->v), bn = ISF && isnan((double)b->v);           \
        if (an != bn)                                                                         \
            return an ? 1 : -1;                                                               \
        if (!an && a->v != b->v)                                                              \
            return a->v < b->v ? -1 : 1;                                                      \
        return a->i < b->i ? -1 : a->i > b->i;                                                \
    }                                                                                         \
    /* does a come before b in the output order? */                                         \
    static inline bool tr_before_##NAME(const tr_pair_##NAME *a, const tr_pair_##NAME *b, bool largest) \
    {                                                                                         \
        const bool an = ISF && isnan((double)a->v), bn = ISF && isnan((double)b->v);           \
        if (an != bn)                                                                         \
            return largest ? an : bn;                                                         \
        if (!an && a->v != b->v)                                                              \
            return largest ? a->v > b->v : a->v < b->v;                                       \
        return a->i < b->i;                                                                   \
    }                                                                                         \
    /* heap whose root is the kept element that comes last */                                \
    static void tr_sift_##NAME(tr_pair_##NAME *h, int64_t k, int64_t i, bool largest)         \
    {                                                                                         \
        for (;;) {                                                                            \
            int64_t l = 2 * i + 1, r = l + 1, w = i;                                          \
            if (l < k && tr_before_##NAME(&h[w], &h[l], largest))                             \
                w = l;                                                                        \
            if (r < k && tr_before_##NAME(&h[w], &h[r], largest))                             \
                w = r;                                                                        \
            if (w == i)                                                                       \
                return;                                                                       \
            tr_pair_##NAME t = h[i];                                                          \
            h[i] = h[w];                                                                      \
            h[w] = t;                                                                         \
            i = w;                                                                            \
        }                                                                                     \
    }                                                                                         \
    /* lanes [lb, le) with scratch room for l.n pairs */                                     \
    static void tr_topk_##NAME(const tr_topk_job *j, int64_t lb, int64_t le, void *scratch)    \
    {                                                                                         \
        const T *x = j->x;                                                                    \
        T *vy = j->v;                                                                         \
        const tr_lanes l = j->l;                                                              \
        const int64_t k = j->k;                                                               \
        const bool largest = j->largest;                                                      \
        tr_pair_##NAME *buf = scratch;                                                        \
        for (int64_t lane = lb; lane < le; lane++) {                                          \
            const int64_t o = lane / l.inner, q = lane % l.inner;                             \
            const T *p = x + o * l.n * l.inner + q;                                           \
            if (4 * k >= l.n) {                                                               \
                for (int64_t t = 0; t < l.n; t++) {                                           \
                    buf[t].v = LD(p[t * l.inner]);                                            \
                    buf[t].i = t;                                                             \
                }                                                                             \
                qsort(buf, (size_t)l.n, sizeof *buf, largest ? tr_cmp_desc_##NAME : tr_cmp_asc_##NAME); \
            } else {                                                                          \
                /* small k: keep the best k in a heap, O(n log k); later equal values \
                 * never displace earlier ones, which keeps ties stable */                     \
                for (int64_t t = 0; t < k; t++) {                                             \
                    buf[t].v = LD(p[t * l.inner]);                                            \
                    buf[t].i = t;                                                             \
                }                                                                             \
                for (int64_t t = k / 2 - 1; t >= 0; t--)                                      \
                    tr_sift_##NAME(buf, k, t, largest);                                       \
                for (int64_t t = k; t < l.n; t++) {                                           \
                    const tr_pair_##NAME c = {LD(p[t * l.inner]), t};                         \
                    if (tr_before_##NAME(&c, &buf[0], largest)) {                             \
                        buf[0] = c;                                                           \
                        tr_sift_##NAME(buf, k, 0, largest);                                   \
                    }                                                                         \
                }                                                                             \
                qsort(buf, (size_t)k, sizeof *buf, largest ? tr_cmp_desc_##NAME : tr_cmp_asc_##NAME); \
            }                                                                                 \
            for (int64_t t = 0; t < k; t++) {                                                 \
                vy[(o * k + t) * l.inner + q] = ST(buf[t].v);                                 \
                j->iy[(o * k + t) * l.inner + q] = buf[t].i;                                  \
            }                                                                                 \
        }                                                                                     \
    }
TR_INSTANTIATE
#undef TR_TYPED_BODY_

static prism_status topk_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                             uint32_t n_in)
{
    (void)state;
    if (n_in < 1 || !in[0])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TopK needs an input");
    const cpu_tensor *x = in[0];
    int64_t k;
    if (cpu_node_opset(node) < 10) {
        k = cpu_attr_int(node, "k", -1);
    } else {
        if (n_in < 2 || !in[1] || in[1]->count != 1 || !tr_is_int(in[1]->dtype))
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TopK K must be a one-element int64 tensor");
        k = cpu_tensor_int(in[1], 0);
    }
    int64_t axis;
    if (x->rank == 0 || !cpu_norm_axis(cpu_attr_int(node, "axis", -1), x->rank, &axis))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TopK axis %lld out of range for rank %d",
                        (long long)cpu_attr_int(node, "axis", -1), (int)x->rank);
    if (k < 0 || k > x->dims[axis])
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TopK k = %lld out of range [0, %lld]", (long long)k,
                        (long long)x->dims[axis]);
    if (!tr_typed_dtype(x->dtype))
        return cpu_fail(ctx, PRISM_ERR_NOT_SUPPORTED, "TopK of type %s is not supported", cpu_dtype_name(x->dtype));
    const bool largest = cpu_node_opset(node) < 11 || cpu_attr_int(node, "largest", 1) != 0;
    int64_t dims[CPU_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[axis] = k;
    cpu_tensor *v, *ix;
    prism_status st;
    if ((st = cpu_output(ctx, 0, x->dtype, x->rank, dims, &v)) ||
        (st = cpu_output(ctx, 1, PRISM_DTYPE_INT64, x->rank, dims, &ix)))
        return st;
    if (v->count == 0)
        return PRISM_OK;
    /* sorted=0 allows any order; sorted output is one valid answer. */
    tr_topk_job j = {.x = x->data, .v = v->data, .iy = ix->data, .l = tr_lanes_of(x, axis), .k = k,
                     .largest = largest};
    j.lanes = j.l.outer * j.l.inner;
    bool ok = true;
#define TR_CALL_(NAME) j.fn = tr_topk_##NAME
    TR_DISPATCH(x->dtype, ok)
#undef TR_CALL_
    if (!ok)
        return cpu_fail(ctx, PRISM_ERR_INTERNAL, "TopK dtype dispatch failed");
    const bool par = x->count * (int64_t)cpu_dtype_size(x->dtype) >= TR_PAR_BYTES && j.lanes > 1;
    j.blocks = par ? (cpu_threads(ctx) < j.lanes ? cpu_threads(ctx) : j.lanes) : 1;
    if (j.l.n > CPU_MAX_ALLOC_COUNT / TR_PAIR_MAX / j.blocks)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "TopK axis is too long");
    j.scratch = malloc((size_t)(j.blocks * j.l.n * TR_PAIR_MAX));
    if (!j.scratch)
        return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    tr_for(ctx, j.blocks, par ? TR_PAR_BYTES : 0, tr_topk_block_fn, &j);
    free(j.scratch);
    return PRISM_OK;
}

const cpu_kernel_def cpu_op_TopK = {.run = topk_run, .supports = typed_supports};
