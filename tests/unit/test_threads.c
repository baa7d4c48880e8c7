/*
 * test_threads.c — one session run from several threads at once gives the
 * same bits as single-threaded runs; sessions can be created on one env from
 * several threads; error messages stay per thread. CUnit is not thread-safe,
 * so worker threads record what they saw and the main thread asserts.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_builder.h"
#include "unit_util.h"

#define N_THREADS 4
#define N_RUNS 50

/* X [2,3,16,16] -> Conv(W [8,3,3,3], B [8], pads 1) -> Relu -> Flatten ->
 * Gemm(W2 [10,2048], C [10], transB) -> Y [2,10]. */
enum { BATCH = 2, CIN = 3, HW = 16, COUT = 8, K = 3, FEAT = COUT * HW * HW, NOUT = 10 };
static const int64_t X_DIMS[] = {BATCH, CIN, HW, HW};
#define X_COUNT (BATCH * CIN * HW * HW)
#define Y_COUNT (BATCH * NOUT)

static float conv_w[COUT * CIN * K * K], conv_b[COUT], gemm_w[NOUT * FEAT], gemm_c[NOUT];
static uint8_t *model_bytes;
static size_t model_size;

static uint64_t rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static float rnd(uint64_t *s) { return (float)((double)(rng(s) >> 11) / 9007199254740992.0 * 2.0 - 1.0); }

static void fill_input(float *x, unsigned seed) {
    uint64_t s = 1000 + seed;
    for (int i = 0; i < X_COUNT; i++) x[i] = rnd(&s);
}

static int suite_init(void) {
    uint64_t s = 42;
    for (size_t i = 0; i < sizeof conv_w / sizeof *conv_w; i++) conv_w[i] = rnd(&s) * 0.5f;
    for (size_t i = 0; i < COUT; i++) conv_b[i] = rnd(&s) * 0.1f;
    for (size_t i = 0; i < sizeof gemm_w / sizeof *gemm_w; i++) gemm_w[i] = rnd(&s) * 0.1f;
    for (size_t i = 0; i < NOUT; i++) gemm_c[i] = rnd(&s);
    mb_model *m = mb_new(17);
    mb_input(m, "X", PRISM_DTYPE_FLOAT, 4, X_DIMS);
    mb_output(m, "Y", PRISM_DTYPE_FLOAT, 2, (int64_t[]){BATCH, NOUT});
    mb_init_float(m, "W", 4, (int64_t[]){COUT, CIN, K, K}, conv_w);
    mb_init_float(m, "B", 1, (int64_t[]){COUT}, conv_b);
    mb_init_float(m, "W2", 2, (int64_t[]){NOUT, FEAT}, gemm_w);
    mb_init_float(m, "C", 1, (int64_t[]){NOUT}, gemm_c);
    Onnx__NodeProto *conv = mb_node(m, "Conv", "conv0", "X,W,B", "conv_out");
    mb_attr_ints(m, conv, "pads", 4, (int64_t[]){1, 1, 1, 1});
    mb_attr_ints(m, conv, "kernel_shape", 2, (int64_t[]){K, K});
    mb_node(m, "Relu", "relu0", "conv_out", "act");
    Onnx__NodeProto *fl = mb_node(m, "Flatten", "flat0", "act", "flat");
    mb_attr_int(m, fl, "axis", 1);
    Onnx__NodeProto *gemm = mb_node(m, "Gemm", "gemm0", "flat,W2,C", "Y");
    mb_attr_int(m, gemm, "transB", 1);
    model_bytes = mb_pack(m, &model_size);
    mb_free(m);
    return 0;
}

static int suite_clean(void) {
    free(model_bytes);
    return 0;
}

/* The model computed naively in double. */
static void reference(const float *x, double *y) {
    static double feat[BATCH][FEAT];
    for (int b = 0; b < BATCH; b++)
        for (int co = 0; co < COUT; co++)
            for (int i = 0; i < HW; i++)
                for (int j = 0; j < HW; j++) {
                    double acc = conv_b[co];
                    for (int ci = 0; ci < CIN; ci++)
                        for (int ki = 0; ki < K; ki++)
                            for (int kj = 0; kj < K; kj++) {
                                int yi = i + ki - 1, xj = j + kj - 1;
                                if (yi < 0 || yi >= HW || xj < 0 || xj >= HW) continue;
                                acc += (double)x[((b * CIN + ci) * HW + yi) * HW + xj] *
                                       conv_w[((co * CIN + ci) * K + ki) * K + kj];
                            }
                    feat[b][(co * HW + i) * HW + j] = acc > 0 ? acc : 0;
                }
    for (int b = 0; b < BATCH; b++)
        for (int o = 0; o < NOUT; o++) {
            double acc = gemm_c[o];
            for (int f = 0; f < FEAT; f++) acc += feat[b][f] * gemm_w[o * FEAT + f];
            y[b * NOUT + o] = acc;
        }
}

/* One run; returns the status, fills y (Y_COUNT floats) on success. */
static prism_status run_once(prism_session *s, unsigned seed, float *y) {
    float x[X_COUNT];
    fill_input(x, seed);
    prism_tensor *tx, *ty = NULL;
    prism_status st = prism_tensor_create_view(PRISM_DTYPE_FLOAT, X_DIMS, 4, x, sizeof x, &tx);
    if (st) return st;
    const char *in[] = {"X"};
    st = prism_session_run(s, in, (const prism_tensor *const *)&tx, 1, NULL, 1, &ty);
    if (!st) {
        if (prism_tensor_element_count(ty) == Y_COUNT) memcpy(y, prism_tensor_data(ty), Y_COUNT * sizeof *y);
        else st = PRISM_ERR_INTERNAL;
    }
    prism_tensor_destroy(ty);
    prism_tensor_destroy(tx);
    return st;
}

static pthread_barrier_t start_line; /* workers start together, so their runs overlap */

typedef struct worker {
    prism_session *s;
    int index;
    const float (*expected)[Y_COUNT]; /* [N_THREADS * N_RUNS] */
    int failures, mismatches, runs;
    char first_error[256];
} worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    float y[Y_COUNT];
    pthread_barrier_wait(&start_line);
    for (int r = 0; r < N_RUNS; r++) {
        /* Interleave: each thread walks its own inputs, in a different order
         * from the others, so concurrent runs see different data. */
        int k = (r * 7 + w->index * 13) % N_RUNS;
        unsigned seed = (unsigned)(w->index * N_RUNS + k);
        prism_status st = run_once(w->s, seed, y);
        w->runs++;
        if (st) {
            if (!w->failures++)
                snprintf(w->first_error, sizeof w->first_error, "%s: %s", prism_status_name(st),
                         prism_last_error_message());
            continue;
        }
        if (memcmp(y, w->expected[seed], sizeof y) != 0) w->mismatches++;
    }
    return NULL;
}

static void concurrent_runs(uint32_t intra_threads) {
    prism_env *env;
    UNIT_OK(prism_env_create(&env));
    prism_session_options *o;
    UNIT_OK(prism_session_options_create(&o));
    UNIT_OK(prism_session_options_set_threads(o, intra_threads));
    prism_session *s;
    UNIT_OK(prism_session_create_from_memory(env, model_bytes, model_size, o, &s));
    prism_session_options_destroy(o);

    /* Single-threaded results first, checked against the naive model. */
    static float expected[N_THREADS * N_RUNS][Y_COUNT];
    double ref[Y_COUNT];
    float x[X_COUNT];
    int bad = 0;
    for (unsigned seed = 0; seed < N_THREADS * N_RUNS; seed++) {
        UNIT_OK(run_once(s, seed, expected[seed]));
        if (seed % 10) continue; /* the naive model is slow: check every 10th */
        fill_input(x, seed);
        reference(x, ref);
        for (int i = 0; i < Y_COUNT; i++)
            if (fabs(expected[seed][i] - ref[i]) > 1e-4 * (1 + fabs(ref[i]))) bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
    /* Different inputs give different outputs (the test can tell runs apart). */
    CU_ASSERT_NOT_EQUAL(memcmp(expected[0], expected[1], sizeof expected[0]), 0);

    worker w[N_THREADS];
    pthread_t tid[N_THREADS];
    pthread_barrier_init(&start_line, NULL, N_THREADS);
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (worker){.s = s, .index = i, .expected = (const float(*)[Y_COUNT])expected};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, run_worker, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start_line);
    for (int i = 0; i < N_THREADS; i++) {
        if (w[i].failures) fprintf(stderr, "\n  thread %d: %d failed runs, first: %s\n", i, w[i].failures, w[i].first_error);
        CU_ASSERT_EQUAL(w[i].runs, N_RUNS);
        CU_ASSERT_EQUAL(w[i].failures, 0);
        CU_ASSERT_EQUAL(w[i].mismatches, 0);
    }
    /* And the session is still fine afterwards. */
    float y[Y_COUNT];
    UNIT_OK(run_once(s, 3, y));
    CU_ASSERT_EQUAL(memcmp(y, expected[3], sizeof y), 0);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

static void test_concurrent_runs_default_threads(void) { concurrent_runs(0); }
static void test_concurrent_runs_one_thread(void) { concurrent_runs(1); }
static void test_concurrent_runs_four_threads(void) { concurrent_runs(4); }

/* ---- sessions created concurrently on one env -------------------------------- */

typedef struct creator {
    prism_env *env;
    const float *expected; /* seed 5 */
    int failures, mismatches;
    char first_error[256];
} creator;

static void *create_worker(void *arg) {
    creator *c = arg;
    for (int round = 0; round < 5; round++) {
        prism_session *s;
        prism_status st = prism_session_create_from_memory(c->env, model_bytes, model_size, NULL, &s);
        if (st) {
            if (!c->failures++)
                snprintf(c->first_error, sizeof c->first_error, "%s: %s", prism_status_name(st),
                         prism_last_error_message());
            continue;
        }
        float y[Y_COUNT];
        st = run_once(s, 5, y);
        if (st) c->failures++;
        else if (memcmp(y, c->expected, sizeof y) != 0) c->mismatches++;
        prism_session_destroy(s);
    }
    return NULL;
}

static void test_concurrent_creation(void) {
    prism_env *env;
    UNIT_OK(prism_env_create(&env));
    float expected[Y_COUNT];
    {
        prism_env *e2;
        prism_session *s;
        UNIT_OK(prism_env_create(&e2));
        UNIT_OK(prism_session_create_from_memory(e2, model_bytes, model_size, NULL, &s));
        UNIT_OK(run_once(s, 5, expected));
        prism_session_destroy(s);
        prism_env_destroy(e2);
    }
    /* The env has no provider loaded yet: the threads race to load it. */
    CU_ASSERT_EQUAL(prism_env_provider_count(env), 0);
    creator c[N_THREADS];
    pthread_t tid[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        c[i] = (creator){.env = env, .expected = expected};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, create_worker, &c[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(tid[i], NULL);
    for (int i = 0; i < N_THREADS; i++) {
        if (c[i].failures) fprintf(stderr, "\n  thread %d: %s\n", i, c[i].first_error);
        CU_ASSERT_EQUAL(c[i].failures, 0);
        CU_ASSERT_EQUAL(c[i].mismatches, 0);
    }
    CU_ASSERT_EQUAL(prism_env_provider_count(env), 1); /* loaded once */
    prism_env_destroy(env);
}

/* ---- per-thread error messages ------------------------------------------------- */

typedef struct err_worker {
    prism_session *s;
    bool make_errors;
    int wrong;
} err_worker;

static void *error_worker(void *arg) {
    err_worker *w = arg;
    int64_t dims[] = {BATCH, CIN, HW, HW - 1};
    for (int r = 0; r < 40; r++) {
        if (w->make_errors) {
            prism_tensor *t;
            if (prism_tensor_create(PRISM_DTYPE_FLOAT, dims, 4, &t)) {
                w->wrong++;
                continue;
            }
            const char *in[] = {"X"};
            prism_tensor *y = NULL;
            prism_status st = prism_session_run(w->s, in, (const prism_tensor *const *)&t, 1, NULL, 1, &y);
            const char *msg = prism_last_error_message();
            if (st != PRISM_ERR_INVALID_ARGUMENT || !strstr(msg, "'X'") || !strstr(msg, "dim 3")) w->wrong++;
            prism_tensor_destroy(t);
        } else {
            float y[Y_COUNT];
            if (run_once(w->s, (unsigned)r, y) != PRISM_OK) w->wrong++;
            /* A successful run on this thread never shows another thread's error. */
            else if (strstr(prism_last_error_message(), "dim 3")) w->wrong++;
        }
    }
    return NULL;
}

static void test_thread_local_errors(void) {
    prism_env *env;
    UNIT_OK(prism_env_create(&env));
    prism_session *s;
    UNIT_OK(prism_session_create_from_memory(env, model_bytes, model_size, NULL, &s));
    err_worker w[N_THREADS];
    pthread_t tid[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        w[i] = (err_worker){.s = s, .make_errors = i % 2 == 0};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&tid[i], NULL, error_worker, &w[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) pthread_join(tid[i], NULL);
    for (int i = 0; i < N_THREADS; i++) CU_ASSERT_EQUAL(w[i].wrong, 0);
    prism_session_destroy(s);
    prism_env_destroy(env);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite s = CU_add_suite("threads", suite_init, suite_clean);
    CU_add_test(s, "4 threads x 50 runs, default intra-op threads", test_concurrent_runs_default_threads);
    CU_add_test(s, "4 threads x 50 runs, 1 intra-op thread", test_concurrent_runs_one_thread);
    CU_add_test(s, "4 threads x 50 runs, 4 intra-op threads", test_concurrent_runs_four_threads);
    CU_add_test(s, "sessions created concurrently on one env", test_concurrent_creation);
    CU_add_test(s, "error messages are per thread", test_thread_local_errors);
    return unit_run_all();
}
