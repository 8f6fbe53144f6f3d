/* A minimal thread pool: n-1 worker threads plus the caller, each pinned to one CPU, and a
 * parallel-for handing out items through an atomic counter. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "wb_internal.h"

struct wb_pool {
    int n;
    pthread_t threads[WB_MAX_THREADS];
    int cpus[WB_MAX_THREADS]; /* -1: not pinned */
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    unsigned long generation; /* bumped for every parallel-for */
    int stop, started, pin_error;
    int busy; /* workers still running the current parallel-for */
    wb_task_fn fn;
    void *ctx;
    size_t items;
    atomic_size_t next;
};

typedef struct {
    wb_pool *pool;
    int tid;
} worker_arg;

static int pin_self(int cpu)
{
    if (cpu < 0)
        return 0;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void run_items(wb_pool *p, int tid)
{
    for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->items;)
        p->fn(p->ctx, i, tid);
}

static void *worker(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    wb_pool *p = wa.pool;
    const int rc = pin_self(p->cpus[wa.tid]);
    pthread_mutex_lock(&p->mu);
    if (rc)
        p->pin_error = rc;
    p->started++;
    pthread_cond_broadcast(&p->done);
    unsigned long seen = p->generation;
    for (;;) {
        while (p->generation == seen && !p->stop)
            pthread_cond_wait(&p->start, &p->mu);
        if (p->stop)
            break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_items(p, wa.tid);
        pthread_mutex_lock(&p->mu);
        if (--p->busy == 0)
            pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

wb_pool *wb_pool_create(int n, const int *cpus, char *err, int err_len)
{
    if (n < 1 || n > WB_MAX_THREADS) {
        wb_fail(err, err_len, WB_E_BAD_CASE, "threads must be in 1..%d", WB_MAX_THREADS);
        return NULL;
    }
    wb_pool *p = calloc(1, sizeof *p);
    if (!p) {
        wb_fail(err, err_len, WB_E_RUNTIME, "out of memory");
        return NULL;
    }
    p->n = 1; /* threads actually started; the caller is thread 0 */
    for (int i = 0; i < n; i++)
        p->cpus[i] = cpus ? cpus[i] : -1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->start, NULL);
    pthread_cond_init(&p->done, NULL);
    int rc = pin_self(p->cpus[0]);
    if (rc) {
        wb_fail(err, err_len, WB_E_RUNTIME, "cannot pin thread 0 to CPU %d: %s", p->cpus[0], strerror(rc));
        wb_pool_destroy(p);
        return NULL;
    }
    for (int i = 1; i < n; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (wa)
            wa->pool = p, wa->tid = i;
        if (!wa || (rc = pthread_create(&p->threads[i], NULL, worker, wa)) != 0) {
            free(wa);
            wb_fail(err, err_len, WB_E_RUNTIME, "cannot start thread %d: %s", i, strerror(rc ? rc : ENOMEM));
            wb_pool_destroy(p);
            return NULL;
        }
        p->n++;
    }
    pthread_mutex_lock(&p->mu);
    while (p->started < p->n - 1)
        pthread_cond_wait(&p->done, &p->mu);
    rc = p->pin_error;
    pthread_mutex_unlock(&p->mu);
    if (rc) {
        wb_fail(err, err_len, WB_E_RUNTIME, "cannot pin a worker thread: %s", strerror(rc));
        wb_pool_destroy(p);
        return NULL;
    }
    return p;
}

void wb_pool_destroy(wb_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->start);
    pthread_cond_destroy(&p->done);
    free(p);
}

int wb_pool_threads(const wb_pool *p) { return p ? p->n : 1; }

void wb_parallel_for(wb_pool *p, size_t n, wb_task_fn fn, void *ctx)
{
    if (!p || p->n == 1 || n <= 1) {
        for (size_t i = 0; i < n; i++)
            fn(ctx, i, 0);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->items = n;
    atomic_store(&p->next, 0);
    p->busy = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
    run_items(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->busy > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
