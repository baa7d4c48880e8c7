/* provider_compare.c — see provider_compare.h. */
#include "provider_compare.h"

#include <CUnit/CUnit.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static uint64_t rng_state = 1;

void pc_seed(uint64_t seed) { rng_state = seed; }

float pc_rnd(float lo, float hi) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return lo + (hi - lo) * (float)((double)(z >> 11) / 9007199254740992.0);
}

int64_t pc_count(int rank, const int64_t *dims) {
    int64_t n = 1;
    for (int i = 0; i < rank; i++) n *= dims[i];
    return n;
}

float *pc_rnd_values(int rank, const int64_t *dims, float lo, float hi) {
    int64_t n = pc_count(rank, dims);
    float *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    if (!v) abort();
    for (int64_t i = 0; i < n; i++) v[i] = pc_rnd(lo, hi);
    return v;
}

void pc_feed_float(mb_model *m, pc_feed *f, const char *name, int rank, const int64_t *dims, float lo, float hi) {
    CU_ASSERT_FATAL(f->n < PC_MAX_FEEDS);
    mb_input(m, name, PRISM_DTYPE_FLOAT, rank, dims);
    float *v = pc_rnd_values(rank, dims, lo, hi);
    f->names[f->n] = name;
    f->t[f->n++] = mb_float_tensor(rank, dims, v);
    free(v);
}

void pc_feed_free(pc_feed *f) {
    for (size_t i = 0; i < f->n; i++) prism_tensor_destroy(f->t[i]);
    f->n = 0;
}

void pc_init_float(mb_model *m, const char *name, int rank, const int64_t *dims, float lo, float hi) {
    float *v = pc_rnd_values(rank, dims, lo, hi);
    mb_init_float(m, name, rank, dims, v);
    free(v);
}

mb_model *pc_one_node(int64_t opset, const char *op, const char *inputs, Onnx__NodeProto **node) {
    mb_model *m = mb_new(opset);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, -1, NULL);
    Onnx__NodeProto *n = mb_node(m, op, "n0", inputs, "Y");
    if (node) *node = n;
    return m;
}

prism_status pc_session(prism_env *env, mb_model *m, const char *providers, bool fallback, const char *const *opts,
                        prism_session **out) {
    prism_session_options *o;
    prism_status st = prism_session_options_create(&o);
    if (st) return st;
    prism_session_options_set_environment(o, 0);
    prism_session_options_set_threads(o, 1);
    prism_session_options_set_fallback(o, fallback);
    st = prism_session_options_set_providers(o, providers);
    for (size_t i = 0; !st && opts && opts[i]; i++) st = prism_session_options_add_provider_option_string(o, opts[i]);
    size_t size = 0;
    uint8_t *bytes = st ? NULL : mb_pack(m, &size);
    if (!st) st = prism_session_create_from_memory(env, bytes, size, o, out);
    free(bytes);
    prism_session_options_destroy(o);
    return st;
}

prism_tensor *pc_run1(prism_session *s, const pc_feed *f) {
    prism_tensor *y = NULL;
    prism_status st = prism_session_run(s, f->names, (const prism_tensor *const *)f->t, f->n, NULL, 1, &y);
    if (st) fprintf(stderr, "\n  run: %s: %s\n", prism_status_name(st), prism_last_error_message());
    CU_ASSERT_EQUAL(st, PRISM_OK);
    return y;
}

void pc_expect_close(const prism_tensor *got, const prism_tensor *want, float atol, float rtol, const char *who,
                     const char *label) {
    CU_ASSERT_FATAL(got != NULL && want != NULL);
    CU_ASSERT_EQUAL_FATAL(prism_tensor_rank(got), prism_tensor_rank(want));
    for (size_t i = 0; i < prism_tensor_rank(want); i++)
        CU_ASSERT_EQUAL_FATAL(prism_tensor_dims(got)[i], prism_tensor_dims(want)[i]);
    const float *g = prism_tensor_data_const(got), *w = prism_tensor_data_const(want);
    int64_t n = prism_tensor_element_count(want), bad = 0;
    for (int64_t i = 0; i < n; i++) {
        bool same_nan = isnan(g[i]) && isnan(w[i]);
        if (!same_nan && !(fabsf(g[i] - w[i]) <= atol + rtol * fabsf(w[i])) && bad++ < 3)
            fprintf(stderr, "\n  %s: element %lld: %s %.9g, cpu %.9g", label, (long long)i, who, g[i], w[i]);
    }
    CU_ASSERT_EQUAL(bad, 0);
}
