/*
 * cpu_threads.c — a small fork-join pool per provider instance. Kernels call
 * cpu_parallel_for; when several runs of one session share the pool, only one
 * parallel region uses the workers at a time and the others run inline on
 * their own thread, so concurrent runs never deadlock or oversubscribe.
 */
#include <stdlib.h>

#include "cpu_internal.h"

struct cpu_pool {
    int n_workers; /* threads besides the caller */
    pthread_t *workers;
    pthread_mutex_t busy; /* held by the caller owning the workers */
    pthread_mutex_t m;
    pthread_cond_t go, done;
    uint64_t generation;
    int pending;
    bool stop;
    /* current job */
    void (*fn)(void *, int64_t, int64_t);
    void *arg;
    int64_t n, chunk;
    int64_t next; /* next chunk start, taken under m */
};

static bool take_chunk(cpu_pool *p, int64_t *b, int64_t *e) {
    pthread_mutex_lock(&p->m);
    bool ok = p->next < p->n;
    if (ok) {
        *b = p->next;
        *e = p->next + p->chunk < p->n ? p->next + p->chunk : p->n;
        p->next = *e;
    }
    pthread_mutex_unlock(&p->m);
    return ok;
}

static void *worker(void *arg) {
    cpu_pool *p = arg;
    uint64_t seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->m);
        while (!p->stop && p->generation == seen) pthread_cond_wait(&p->go, &p->m);
        if (p->stop) {
            pthread_mutex_unlock(&p->m);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->m);
        int64_t b, e;
        while (take_chunk(p, &b, &e)) p->fn(p->arg, b, e);
        pthread_mutex_lock(&p->m);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
        pthread_mutex_unlock(&p->m);
    }
}

cpu_pool *cpu_pool_create(int threads) {
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    pthread_mutex_init(&p->busy, NULL);
    pthread_mutex_init(&p->m, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    int want = threads > 1 ? threads - 1 : 0;
    p->workers = calloc((size_t)want + 1, sizeof *p->workers);
    if (!p->workers) {
        cpu_pool_destroy(p);
        return NULL;
    }
    for (int i = 0; i < want; i++) {
        if (pthread_create(&p->workers[i], NULL, worker, p) != 0) break;
        p->n_workers++;
    }
    return p;
}

void cpu_pool_destroy(cpu_pool *p) {
    if (!p) return;
    pthread_mutex_lock(&p->m);
    p->stop = true;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->m);
    for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
    free(p->workers);
    pthread_mutex_destroy(&p->busy);
    pthread_mutex_destroy(&p->m);
    pthread_cond_destroy(&p->go);
    pthread_cond_destroy(&p->done);
    free(p);
}

int cpu_pool_threads(const cpu_pool *p) { return p ? p->n_workers + 1 : 1; }

void cpu_pool_run(cpu_pool *p, int64_t n, void (*fn)(void *arg, int64_t begin, int64_t end), void *arg) {
    if (n <= 0) return;
    if (!p || p->n_workers == 0 || n == 1 || pthread_mutex_trylock(&p->busy) != 0) {
        fn(arg, 0, n);
        return;
    }
    int threads = p->n_workers + 1;
    /* A few chunks per thread balance uneven work without much overhead. */
    int64_t chunks = (int64_t)threads * 4;
    pthread_mutex_lock(&p->m);
    p->fn = fn;
    p->arg = arg;
    p->n = n;
    p->chunk = n < chunks ? 1 : (n + chunks - 1) / chunks;
    p->next = 0;
    p->pending = p->n_workers;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->m);
    int64_t b, e;
    while (take_chunk(p, &b, &e)) fn(arg, b, e);
    pthread_mutex_lock(&p->m);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->m);
    pthread_mutex_unlock(&p->m);
    pthread_mutex_unlock(&p->busy);
}
