/*
 * detection.c — NonMaxSuppression (ONNX opsets 10, 11) for the CPU provider.
 *
 * Per (batch, class), exactly as the spec and its reference implementation:
 *  - candidates are the boxes whose score is strictly greater than
 *    score_threshold (every box when score_threshold is not given);
 *  - they are visited by descending score, ties by ascending box index;
 *  - a candidate is kept unless its IoU with an already kept box of this
 *    (batch, class) is strictly greater than iou_threshold; boxes with no
 *    positive intersection, a non-positive area or union never suppress;
 *  - at most max_output_boxes_per_class are kept (default 0: none).
 * selected_indices lists [batch, class, box] in batch, then class, then
 * selection order. Box geometry is computed in float, like the reference,
 * so threshold boundaries decide the same way.
 *
 * The (batch, class) pairs run in parallel, each into its own slice of a
 * scratch buffer; the slices are concatenated in order. Candidates sit in a
 * heap, so only those visited before max_output_boxes_per_class boxes are
 * kept get ordered.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cpu_kernel.h"

typedef struct nms_state {
    bool center_point_box;
} nms_state;

static void nms_release(void *state) { free(state); }

static prism_status nms_prepare(cpu_ctx *ctx, const cpu_node *node, void **state) {
    int64_t cpb = cpu_attr_int(node, "center_point_box", 0);
    if (cpb != 0 && cpb != 1)
        return cpu_fail(ctx, PRISM_ERR_INVALID_MODEL, "center_point_box must be 0 or 1, got %lld", (long long)cpb);
    nms_state *st = malloc(sizeof *st);
    if (!st) return cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
    st->center_point_box = cpb == 1;
    *state = st;
    return PRISM_OK;
}

static bool nms_supports(const cpu_node *node) {
    int32_t b = cpu_node_input_dtype(node, 0), s = cpu_node_input_dtype(node, 1);
    return (b <= 0 || b == PRISM_DTYPE_FLOAT) && (s <= 0 || s == PRISM_DTYPE_FLOAT);
}

/* A box's extent and area, computed once per box. */
typedef struct nms_box {
    float x0, x1, y0, y1, area;
} nms_box;

typedef struct nms_cand {
    float score;
    int64_t idx;
} nms_cand;

/* Descending score, then ascending index; NaN scores last. */
static int nms_cmp(const void *pa, const void *pb) {
    const nms_cand *a = pa, *b = pb;
    bool na = a->score != a->score, nb = b->score != b->score;
    if (na != nb) return na ? 1 : -1;
    if (!na && a->score != b->score) return a->score > b->score ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Max-heap on nms_cmp order (the best candidate on top): candidates are
 * popped in sorted order, and only as many as are visited get ordered. */
static void nms_sift(nms_cand *h, int64_t n, int64_t i) {
    for (;;) {
        int64_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && nms_cmp(&h[l], &h[m]) < 0) m = l;
        if (r < n && nms_cmp(&h[r], &h[m]) < 0) m = r;
        if (m == i) return;
        nms_cand t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

static bool nms_suppress(const nms_box *a, const nms_box *b, float iou_threshold) {
    float ix0 = fmaxf(a->x0, b->x0), ix1 = fminf(a->x1, b->x1);
    if (!(ix1 > ix0)) return false;
    float iy0 = fmaxf(a->y0, b->y0), iy1 = fminf(a->y1, b->y1);
    if (!(iy1 > iy0)) return false;
    float inter = (ix1 - ix0) * (iy1 - iy0);
    if (!(inter > 0)) return false;
    float uni = a->area + b->area - inter;
    if (!(a->area > 0) || !(b->area > 0) || !(uni > 0)) return false;
    return inter / uni > iou_threshold;
}

typedef struct nms_arg {
    const nms_box *boxes; /* [batches, n_boxes] */
    const float *scores;  /* [batches, classes, n_boxes] */
    int64_t classes, n_boxes, max_out;
    bool has_score_threshold;
    float score_threshold, iou_threshold;
    nms_cand *cand;  /* n_boxes per pair */
    int64_t *kept;   /* max_out per pair */
    int64_t *n_kept; /* per pair */
} nms_arg;

static void nms_pairs(void *argp, int64_t p0, int64_t p1) {
    const nms_arg *a = argp;
    for (int64_t p = p0; p < p1; p++) {
        const int64_t b = p / a->classes;
        const float *sc = a->scores + p * a->n_boxes;
        const nms_box *bx = a->boxes + b * a->n_boxes;
        nms_cand *cand = a->cand + p * a->n_boxes;
        int64_t *kept = a->kept + p * a->max_out, n = 0, nk = 0;
        for (int64_t i = 0; i < a->n_boxes; i++)
            if (!a->has_score_threshold || sc[i] > a->score_threshold) cand[n++] = (nms_cand){sc[i], i};
        for (int64_t i = n / 2 - 1; i >= 0; i--) nms_sift(cand, n, i);
        while (n > 0 && nk < a->max_out) {
            const int64_t idx = cand[0].idx;
            cand[0] = cand[--n];
            nms_sift(cand, n, 0);
            const nms_box *box = &bx[idx];
            bool keep = true;
            for (int64_t k = 0; k < nk && keep; k++)
                if (nms_suppress(box, &bx[kept[k]], a->iou_threshold)) keep = false;
            if (keep) kept[nk++] = idx;
        }
        a->n_kept[p] = nk;
    }
}

/* A scalar input given as a 0-D or 1-element tensor; false when absent. */
static bool nms_scalar(const cpu_tensor *const *in, uint32_t n_in, uint32_t k, const cpu_tensor **t) {
    *t = k < n_in && in[k] && in[k]->count > 0 ? in[k] : NULL;
    return *t != NULL;
}

static prism_status nms_run(cpu_ctx *ctx, const cpu_node *node, void *state, const cpu_tensor *const *in,
                            uint32_t n_in) {
    (void)node;
    const nms_state *st = state;
    if (n_in < 2 || !in[0] || !in[1]) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "NonMaxSuppression needs boxes and scores");
    const cpu_tensor *boxes = in[0], *scores = in[1], *t;
    if (boxes->dtype != PRISM_DTYPE_FLOAT || scores->dtype != PRISM_DTYPE_FLOAT)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "boxes and scores must be float tensors");
    if (boxes->rank != 3 || boxes->dims[2] != 4)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "boxes must have shape (num_batches, spatial_dimension, 4)");
    const int64_t nb = boxes->dims[0], n_boxes = boxes->dims[1];
    if (scores->rank != 3 || scores->dims[0] != nb || scores->dims[2] != n_boxes)
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "scores must have shape (%lld, num_classes, %lld)", (long long)nb,
                        (long long)n_boxes);
    const int64_t classes = scores->dims[1];
    int64_t max_out = 0;
    if (nms_scalar(in, n_in, 2, &t)) {
        if (t->dtype != PRISM_DTYPE_INT64 && t->dtype != PRISM_DTYPE_INT32)
            return cpu_fail(ctx, PRISM_ERR_RUNTIME, "max_output_boxes_per_class must be an int64 scalar");
        max_out = cpu_tensor_int(t, 0);
    }
    if (max_out < 0) max_out = 0;
    if (max_out > n_boxes) max_out = n_boxes;
    float iou = 0, score_thr = 0;
    if (nms_scalar(in, n_in, 3, &t)) {
        if (t->dtype != PRISM_DTYPE_FLOAT) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "iou_threshold must be a float scalar");
        iou = ((const float *)t->data)[0];
    }
    bool has_thr = nms_scalar(in, n_in, 4, &t);
    if (has_thr) {
        if (t->dtype != PRISM_DTYPE_FLOAT) return cpu_fail(ctx, PRISM_ERR_RUNTIME, "score_threshold must be a float scalar");
        score_thr = ((const float *)t->data)[0];
    }
    int64_t pairs, n_cand, n_keep;
    if (!cpu_mul_ok(nb, classes, &pairs) || !cpu_mul_ok(pairs, n_boxes, &n_cand) ||
        !cpu_mul_ok(pairs, max_out, &n_keep) || (uint64_t)n_cand >= SIZE_MAX / sizeof(nms_cand))
        return cpu_fail(ctx, PRISM_ERR_RUNTIME, "inputs are too large");
    nms_box *bx = malloc((size_t)(boxes->count / 4 ? boxes->count / 4 : 1) * sizeof *bx);
    nms_cand *cand = malloc((size_t)(n_cand ? n_cand : 1) * sizeof *cand);
    int64_t *kept = malloc((size_t)(n_keep ? n_keep : 1) * sizeof *kept);
    int64_t *n_kept = malloc((size_t)(pairs ? pairs : 1) * sizeof *n_kept);
    prism_status rc = PRISM_OK;
    if (!bx || !cand || !kept || !n_kept) {
        rc = cpu_fail(ctx, PRISM_ERR_OUT_OF_MEMORY, "out of memory");
        goto done;
    }
    const float *bd = boxes->data;
    for (int64_t i = 0; i < boxes->count / 4; i++) {
        const float *b = bd + i * 4;
        nms_box *o = &bx[i];
        if (st->center_point_box) {
            float hw = b[2] / 2, hh = b[3] / 2;
            o->x0 = b[0] - hw;
            o->x1 = b[0] + hw;
            o->y0 = b[1] - hh;
            o->y1 = b[1] + hh;
        } else {
            o->x0 = b[1] >= b[3] ? b[3] : b[1];
            o->x1 = b[1] >= b[3] ? b[1] : b[3];
            o->y0 = b[0] >= b[2] ? b[2] : b[0];
            o->y1 = b[0] >= b[2] ? b[0] : b[2];
        }
        o->area = (o->x1 - o->x0) * (o->y1 - o->y0);
    }
    if (max_out > 0) {
        nms_arg arg = {bx, scores->data, classes, n_boxes, max_out, has_thr, score_thr, iou, cand, kept, n_kept};
        cpu_parallel_for(ctx, pairs, nms_pairs, &arg);
    } else {
        memset(n_kept, 0, (size_t)(pairs ? pairs : 1) * sizeof *n_kept);
    }
    int64_t total = 0;
    for (int64_t p = 0; p < pairs; p++) total += n_kept[p];
    int64_t yd[2] = {total, 3};
    cpu_tensor *y;
    if ((rc = cpu_output(ctx, 0, PRISM_DTYPE_INT64, 2, yd, &y))) goto done;
    int64_t *out = y->data;
    for (int64_t p = 0; p < pairs; p++)
        for (int64_t k = 0; k < n_kept[p]; k++) {
            *out++ = p / classes;
            *out++ = p % classes;
            *out++ = kept[p * max_out + k];
        }
done:
    free(bx);
    free(cand);
    free(kept);
    free(n_kept);
    return rc;
}

const cpu_kernel_def cpu_op_NonMaxSuppression = {
    .prepare = nms_prepare,
    .run = nms_run,
    .release = nms_release,
    .supports = nms_supports,
};
