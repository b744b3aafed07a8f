/* eventstream_native._queue: a bounded multi-producer priority queue for the EventStream core.
 *
 * Modelled on CPython's Modules/_queuemodule.c: a heap type, per-module state (the type and the
 * Full/Closed exceptions), multi-phase init and GC support. Unlike SimpleQueue it is bounded and
 * has priority lanes, and it is guarded by its own pthread mutex so that threads waiting with the
 * GIL released can hand items over without the GIL.
 *
 * Locking rules (each one prevents a deadlock):
 * - The mutex is taken either without the GIL or with it; code holding the mutex never waits
 *   for the GIL, never allocates Python objects, never drops a reference and never raises.
 *   (An allocation could start the GC, whose tp_traverse takes the mutex again.)
 * - References are taken (Py_INCREF) with the GIL before an item goes in, and released only
 *   after the mutex is let go.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <time.h>

#include "lanes.h"

/* The main thread wakes this often while it waits, to run signal handlers (Ctrl-C). Other
 * threads cannot run handlers, so they sleep until woken or their deadline. */
#define WAIT_SLICE_NS 50000000L
/* Timeouts above this are treated as "wait forever" (avoids time_t overflow). */
#define TIMEOUT_FOREVER_S 1.0e9

typedef struct {
    PyTypeObject *queue_type;
    PyObject *full_error;
    PyObject *closed_error;
} queue_state;

static struct PyModuleDef queue_module;

static inline queue_state *
get_state(PyObject *module)
{
    return (queue_state *)PyModule_GetState(module);
}

static queue_state *
state_of(PyObject *self)
{
    PyObject *module = PyType_GetModuleByDef(Py_TYPE(self), &queue_module);
    return module == NULL ? NULL : get_state(module);
}

typedef struct {
    PyObject_HEAD
    pthread_mutex_t mutex;
    pthread_cond_t not_empty; /* consumers wait here */
    pthread_cond_t not_full;  /* producers with a timeout wait here */
    int sync_ready;           /* mutex and conditions were initialised */
    int closed;
    ptrdiff_t waiting_consumers;
    ptrdiff_t waiting_producers;
    unsigned long long rejected_full;
    es_lanes lanes;
    PyObject *weakreflist;
} PriorityQueueObject;

#define PQ(op) ((PriorityQueueObject *)(op))

/* ---- time ---------------------------------------------------------------------------------- */

/* Timed waits run on the monotonic clock where pthreads allow it, so clock jumps do not matter. */
#if defined(CLOCK_MONOTONIC) && !defined(__APPLE__)
#define ES_CONDATTR_SETCLOCK 1
static const clockid_t wait_clock = CLOCK_MONOTONIC;
#else
static const clockid_t wait_clock = CLOCK_REALTIME;
#endif

static void
deadline_in(struct timespec *ts, double seconds)
{
    clock_gettime(wait_clock, ts);
    double whole = floor(seconds);
    long nanos = (long)((seconds - whole) * 1e9);
    ts->tv_sec += (time_t)whole;
    ts->tv_nsec += nanos;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec += 1;
        ts->tv_nsec -= 1000000000L;
    }
}

static int
earlier(const struct timespec *a, const struct timespec *b)
{
    return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* ---- argument parsing ------------------------------------------------------------------------ */

/* A vectorcall argument parser. out[] holds defaults on entry (NULL: not given); the first
 * `required` names must be given. */
static int
parse_args(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
           const char *const *names, Py_ssize_t nnames, Py_ssize_t required, PyObject **out)
{
    if (nargs > nnames) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %zd positional arguments (%zd given)",
                     fname, nnames, nargs);
        return -1;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        out[i] = args[i];
    }
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, k);
        Py_ssize_t j = 0;
        while (j < nnames && PyUnicode_CompareWithASCIIString(key, names[j]) != 0) {
            j++;
        }
        if (j == nnames) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%U'", fname,
                         key);
            return -1;
        }
        if (j < nargs) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname,
                         names[j]);
            return -1;
        }
        out[j] = args[nargs + k];
    }
    for (Py_ssize_t j = 0; j < required; j++) {
        if (out[j] == NULL) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s'", fname,
                         names[j]);
            return -1;
        }
    }
    return 0;
}

static int
parse_priority(PriorityQueueObject *self, PyObject *obj, int *priority)
{
    if (!PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "priority must be an int, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    int overflow = 0;
    long value = PyLong_AsLongAndOverflow(obj, &overflow);
    if (value == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow || value < 0 || value >= self->lanes.nlanes) {
        PyErr_Format(PyExc_ValueError, "priority must be in 0..%d, got %R",
                     self->lanes.nlanes - 1, obj);
        return -1;
    }
    *priority = (int)value;
    return 0;
}

typedef enum { WAIT_NEVER, WAIT_UNTIL, WAIT_FOREVER } wait_mode;

/* None means none_mode (push: never wait; pop_many: wait forever); 0 never waits. */
static int
parse_timeout(PyObject *obj, wait_mode none_mode, wait_mode *mode, double *seconds)
{
    *seconds = 0.0;
    if (obj == Py_None) {
        *mode = none_mode;
        return 0;
    }
    if (!PyFloat_Check(obj) && !PyLong_Check(obj)) {
        PyErr_Format(PyExc_TypeError, "timeout must be a number or None, not %.100s",
                     Py_TYPE(obj)->tp_name);
        return -1;
    }
    double value = PyFloat_AsDouble(obj);
    if (value == -1.0 && PyErr_Occurred()) {
        return -1;
    }
    if (isnan(value) || value < 0) {
        PyErr_SetString(PyExc_ValueError, "timeout must be a non-negative number");
        return -1;
    }
    if (value == 0) {
        *mode = WAIT_NEVER;
    }
    else if (value > TIMEOUT_FOREVER_S) {
        *mode = WAIT_FOREVER;
    }
    else {
        *mode = WAIT_UNTIL;
        *seconds = value;
    }
    return 0;
}

/* ---- the locked core (mutex held, no Python calls) ------------------------------------------- */

typedef enum { WOKE_READY, WOKE_SLICE, WOKE_DEADLINE } wake_reason;

static int
can_pop(PriorityQueueObject *self, ptrdiff_t need)
{
    (void)need;
    return self->closed || self->lanes.depth > 0;
}

static int
can_push(PriorityQueueObject *self, ptrdiff_t need)
{
    return self->closed || es_lanes_room(&self->lanes) >= need;
}

/* Waits on cond until ready(), the deadline (NULL: none), or, when sliced, one slice. */
static wake_reason
wait_locked(PriorityQueueObject *self, pthread_cond_t *cond, ptrdiff_t *waiters,
            const struct timespec *deadline, int sliced,
            int (*ready)(PriorityQueueObject *, ptrdiff_t), ptrdiff_t need)
{
    struct timespec slice_end;
    const struct timespec *until = deadline;
    if (sliced) {
        deadline_in(&slice_end, WAIT_SLICE_NS / 1e9);
        if (deadline == NULL || earlier(&slice_end, deadline)) {
            until = &slice_end;
        }
    }
    while (!ready(self, need)) {
        (*waiters)++;
        int rc = until == NULL ? pthread_cond_wait(cond, &self->mutex)
                               : pthread_cond_timedwait(cond, &self->mutex, until);
        (*waiters)--;
        if (rc == ETIMEDOUT) {
            if (ready(self, need)) {
                break;
            }
            return until == deadline ? WOKE_DEADLINE : WOKE_SLICE;
        }
    }
    return WOKE_READY;
}

/* After items went in: wake one consumer; it passes the wake on if it leaves items behind. */
static void
wake_consumer_locked(PriorityQueueObject *self)
{
    if (self->waiting_consumers > 0) {
        pthread_cond_signal(&self->not_empty);
    }
}

static ptrdiff_t
take_locked(PriorityQueueObject *self, PyObject **out, ptrdiff_t max)
{
    ptrdiff_t taken = es_lanes_pop(&self->lanes, out, max);
    if (taken > 0 && self->waiting_producers > 0) {
        if (taken > 1) {
            pthread_cond_broadcast(&self->not_full);
        }
        else {
            pthread_cond_signal(&self->not_full);
        }
    }
    /* One push wakes one consumer; pass the wake on if that one left items behind. */
    if (self->lanes.depth > 0 && self->waiting_consumers > 0) {
        pthread_cond_signal(&self->not_empty);
    }
    return taken;
}

/* Reads the depth, and whether the queue is closed (closed may be NULL), under the mutex. */
static ptrdiff_t
read_depth(PriorityQueueObject *self, int *closed)
{
    pthread_mutex_lock(&self->mutex);
    ptrdiff_t depth = self->lanes.depth;
    if (closed != NULL) {
        *closed = self->closed;
    }
    pthread_mutex_unlock(&self->mutex);
    return depth;
}

/* ---- results --------------------------------------------------------------------------------- */

/* Builds a list from owned references; on failure the references are dropped. */
static PyObject *
list_from_owned(PyObject **items, ptrdiff_t count)
{
    PyObject *list = PyList_New(count);
    if (list == NULL) {
        for (ptrdiff_t i = 0; i < count; i++) {
            Py_DECREF(items[i]);
        }
        return NULL;
    }
    for (ptrdiff_t i = 0; i < count; i++) {
        PyList_SET_ITEM(list, i, items[i]);
    }
    return list;
}

static PyObject *
raise_closed(PriorityQueueObject *self)
{
    queue_state *state = state_of((PyObject *)self);
    if (state != NULL) {
        PyErr_SetString(state->closed_error, "queue is closed");
    }
    return NULL;
}

static PyObject *
raise_full(PriorityQueueObject *self, ptrdiff_t wanted, ptrdiff_t depth)
{
    queue_state *state = state_of((PyObject *)self);
    if (state != NULL) {
        PyErr_Format(state->full_error, "queue is full: %zd item(s) do not fit (depth %zd of %zd)",
                     (Py_ssize_t)wanted, (Py_ssize_t)depth, (Py_ssize_t)self->lanes.capacity);
    }
    return NULL;
}

/* ---- the type -------------------------------------------------------------------------------- */

static PyObject *
pq_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = {"capacity", "lanes", NULL};
    Py_ssize_t capacity;
    int nlanes = 10;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "n|i:PriorityQueue", kwlist, &capacity,
                                     &nlanes)) {
        return NULL;
    }
    if (capacity < 1) {
        PyErr_SetString(PyExc_ValueError, "capacity must be at least 1");
        return NULL;
    }
    if (nlanes < 1 || nlanes > ES_LANES_MAX) {
        PyErr_Format(PyExc_ValueError, "lanes must be in 1..%d", ES_LANES_MAX);
        return NULL;
    }
    PriorityQueueObject *self = (PriorityQueueObject *)type->tp_alloc(type, 0);
    if (self == NULL) {
        return NULL;
    }
    /* tp_alloc zeroed the object, so dealloc is safe from here on whatever fails. */
    if (es_lanes_init(&self->lanes, capacity, nlanes) < 0) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    pthread_condattr_t attr;
    int failed = pthread_mutex_init(&self->mutex, NULL);
    if (!failed && (failed = pthread_condattr_init(&attr)) == 0) {
#ifdef ES_CONDATTR_SETCLOCK
        pthread_condattr_setclock(&attr, wait_clock);
#endif
        failed = pthread_cond_init(&self->not_empty, &attr);
        if (!failed && (failed = pthread_cond_init(&self->not_full, &attr)) != 0) {
            pthread_cond_destroy(&self->not_empty);
        }
        pthread_condattr_destroy(&attr);
        if (failed) {
            pthread_mutex_destroy(&self->mutex);
        }
    }
    if (failed) {
        Py_DECREF(self);
        errno = failed;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    self->sync_ready = 1;
    return (PyObject *)self;
}

static int
pq_traverse(PyObject *op, visitproc visit, void *arg)
{
    PriorityQueueObject *self = PQ(op);
    Py_VISIT(Py_TYPE(op));
    if (!self->sync_ready) {
        return 0;
    }
    /* Producers with a timeout insert without the GIL, so the lanes are read under the mutex. */
    pthread_mutex_lock(&self->mutex);
    int result = es_lanes_foreach(&self->lanes, visit, arg);
    pthread_mutex_unlock(&self->mutex);
    return result;
}

static int
pq_clear(PyObject *op)
{
    PriorityQueueObject *self = PQ(op);
    if (!self->sync_ready) {
        return 0;
    }
    /* One item at a time: a finalizer run by a DECREF may use this queue again. */
    for (;;) {
        PyObject *item = NULL;
        pthread_mutex_lock(&self->mutex);
        ptrdiff_t taken = es_lanes_pop(&self->lanes, &item, 1);
        pthread_mutex_unlock(&self->mutex);
        if (taken == 0) {
            break;
        }
        Py_DECREF(item);
    }
    return 0;
}

static void
pq_dealloc(PyObject *op)
{
    PriorityQueueObject *self = PQ(op);
    PyTypeObject *tp = Py_TYPE(op);
    PyObject_GC_UnTrack(op);
    if (self->weakreflist != NULL) {
        PyObject_ClearWeakRefs(op);
    }
    (void)pq_clear(op);
    if (self->sync_ready) {
        pthread_cond_destroy(&self->not_full);
        pthread_cond_destroy(&self->not_empty);
        pthread_mutex_destroy(&self->mutex);
        self->sync_ready = 0;
    }
    es_lanes_fini(&self->lanes);
    tp->tp_free(op);
    Py_DECREF(tp);
}

PyDoc_STRVAR(pq_push_doc,
"push(item, priority=5, timeout=None)\n--\n\n"
"Put item in the lane of its priority (0..lanes-1; the highest lane is popped first).\n"
"timeout None or 0: raise Full at once when the queue is full. timeout > 0: wait up to that\n"
"many seconds for room, with the GIL released, then raise Full. Raises Closed after close().");

typedef enum { OUT_PUSHED, OUT_FULL, OUT_CLOSED, OUT_AGAIN } push_outcome;

static PyObject *
pq_push(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"item", "priority", "timeout"};
    PriorityQueueObject *self = PQ(op);
    PyObject *argv[3] = {NULL, NULL, Py_None};
    int priority = self->lanes.nlanes / 2;
    wait_mode mode;
    double seconds;
    if (parse_args("push", args, nargs, kwnames, names, 3, 1, argv) < 0) {
        return NULL;
    }
    if (argv[1] != NULL && parse_priority(self, argv[1], &priority) < 0) {
        return NULL;
    }
    if (parse_timeout(argv[2], WAIT_NEVER, &mode, &seconds) < 0) {
        return NULL;
    }
    PyObject *item = argv[0];
    push_outcome outcome;
    ptrdiff_t depth;

    pthread_mutex_lock(&self->mutex);
    if (self->closed) {
        outcome = OUT_CLOSED;
    }
    else if (es_lanes_room(&self->lanes) > 0) {
        es_lanes_push(&self->lanes, priority, Py_NewRef(item));
        wake_consumer_locked(self);
        outcome = OUT_PUSHED;
    }
    else if (mode == WAIT_NEVER) {
        self->rejected_full++;
        outcome = OUT_FULL;
    }
    else {
        outcome = OUT_AGAIN;
    }
    depth = self->lanes.depth;
    pthread_mutex_unlock(&self->mutex);

    if (outcome == OUT_AGAIN) {
        struct timespec deadline;
        if (mode == WAIT_UNTIL) {
            deadline_in(&deadline, seconds);
        }
        /* The reference is taken now, with the GIL; the insert happens without it. */
        Py_INCREF(item);
        int sliced = _PyOS_IsMainThread();
        while (outcome == OUT_AGAIN) {
            Py_BEGIN_ALLOW_THREADS
            pthread_mutex_lock(&self->mutex);
            wake_reason why = wait_locked(self, &self->not_full, &self->waiting_producers,
                                          mode == WAIT_UNTIL ? &deadline : NULL, sliced,
                                          can_push, 1);
            if (self->closed) {
                outcome = OUT_CLOSED;
            }
            else if (es_lanes_room(&self->lanes) > 0) {
                es_lanes_push(&self->lanes, priority, item);
                wake_consumer_locked(self);
                outcome = OUT_PUSHED;
            }
            else if (why == WOKE_DEADLINE) {
                self->rejected_full++;
                outcome = OUT_FULL;
            }
            depth = self->lanes.depth;
            pthread_mutex_unlock(&self->mutex);
            Py_END_ALLOW_THREADS
            if (outcome == OUT_AGAIN && PyErr_CheckSignals() < 0) {
                Py_DECREF(item);
                return NULL;
            }
        }
        if (outcome != OUT_PUSHED) {
            Py_DECREF(item);
        }
    }
    switch (outcome) {
    case OUT_PUSHED:
        Py_RETURN_NONE;
    case OUT_FULL:
        return raise_full(self, 1, depth);
    default:
        return raise_closed(self);
    }
}

PyDoc_STRVAR(pq_push_many_doc,
"push_many(items)\n--\n\n"
"Push a sequence of (priority, item) tuples, all or none: if they do not all fit, raise Full\n"
"and push nothing. Never waits. Returns the depth after the push.");

static PyObject *
pq_push_many(PyObject *op, PyObject *items)
{
    PriorityQueueObject *self = PQ(op);
    PyObject *seq = PySequence_Fast(items, "push_many() expects a sequence of (priority, item)");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **pairs = PySequence_Fast_ITEMS(seq);
    int *priorities = PyMem_New(int, count > 0 ? count : 1);
    if (priorities == NULL) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *pair = pairs[i];
        if (!PyTuple_Check(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_Format(PyExc_TypeError,
                         "push_many() item %zd must be a (priority, item) tuple, not %.100s", i,
                         Py_TYPE(pair)->tp_name);
            goto fail;
        }
        if (parse_priority(self, PyTuple_GET_ITEM(pair, 0), &priorities[i]) < 0) {
            goto fail;
        }
    }

    push_outcome outcome;
    ptrdiff_t depth;
    pthread_mutex_lock(&self->mutex);
    if (self->closed) {
        outcome = OUT_CLOSED;
    }
    else if (es_lanes_room(&self->lanes) < count) {
        self->rejected_full += (unsigned long long)count;
        outcome = OUT_FULL;
    }
    else {
        for (Py_ssize_t i = 0; i < count; i++) {
            es_lanes_push(&self->lanes, priorities[i], Py_NewRef(PyTuple_GET_ITEM(pairs[i], 1)));
        }
        if (count > 0) {
            wake_consumer_locked(self);
        }
        outcome = OUT_PUSHED;
    }
    depth = self->lanes.depth;
    pthread_mutex_unlock(&self->mutex);

    PyMem_Free(priorities);
    Py_DECREF(seq);
    switch (outcome) {
    case OUT_PUSHED:
        return PyLong_FromSsize_t(depth);
    case OUT_FULL:
        return raise_full(self, count, depth);
    default:
        return raise_closed(self);
    }

fail:
    PyMem_Free(priorities);
    Py_DECREF(seq);
    return NULL;
}

PyDoc_STRVAR(pq_pop_many_doc,
"pop_many(max_items, timeout=None)\n--\n\n"
"Wait, with the GIL released, until at least one item is queued (timeout None: for ever;\n"
"0: not at all), then take up to max_items, the most urgent lane first and FIFO within a\n"
"lane. Returns [] on timeout, and at once when the queue is closed and empty.");

/* Batches up to this size are collected on the stack, not the heap. */
#define POP_STACK_ITEMS 64

static PyObject *
pq_pop_many(PyObject *op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"max_items", "timeout"};
    PriorityQueueObject *self = PQ(op);
    PyObject *argv[2] = {NULL, Py_None};
    wait_mode mode;
    double seconds;
    if (parse_args("pop_many", args, nargs, kwnames, names, 2, 1, argv) < 0) {
        return NULL;
    }
    if (!PyLong_Check(argv[0])) {
        PyErr_Format(PyExc_TypeError, "max_items must be an int, not %.100s",
                     Py_TYPE(argv[0])->tp_name);
        return NULL;
    }
    Py_ssize_t max_items = PyNumber_AsSsize_t(argv[0], NULL); /* clamps huge values */
    if (max_items == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (max_items < 1) {
        PyErr_SetString(PyExc_ValueError, "max_items must be at least 1");
        return NULL;
    }
    if (parse_timeout(argv[1], WAIT_FOREVER, &mode, &seconds) < 0) {
        return NULL;
    }
    ptrdiff_t want = max_items < self->lanes.capacity ? max_items : self->lanes.capacity;
    PyObject *stack[POP_STACK_ITEMS];
    PyObject **buf = stack;
    if (want > POP_STACK_ITEMS) {
        buf = PyMem_New(PyObject *, want);
        if (buf == NULL) {
            return PyErr_NoMemory();
        }
    }

    pthread_mutex_lock(&self->mutex);
    ptrdiff_t taken = take_locked(self, buf, want);
    int closed = self->closed;
    pthread_mutex_unlock(&self->mutex);

    if (taken == 0 && !closed && mode != WAIT_NEVER) {
        struct timespec deadline;
        if (mode == WAIT_UNTIL) {
            deadline_in(&deadline, seconds);
        }
        int sliced = _PyOS_IsMainThread();
        for (;;) {
            wake_reason why;
            Py_BEGIN_ALLOW_THREADS
            pthread_mutex_lock(&self->mutex);
            why = wait_locked(self, &self->not_empty, &self->waiting_consumers,
                              mode == WAIT_UNTIL ? &deadline : NULL, sliced, can_pop, 1);
            taken = take_locked(self, buf, want);
            closed = self->closed;
            pthread_mutex_unlock(&self->mutex);
            Py_END_ALLOW_THREADS
            if (taken > 0 || closed || why == WOKE_DEADLINE) {
                break;
            }
            if (PyErr_CheckSignals() < 0) {
                if (buf != stack) {
                    PyMem_Free(buf);
                }
                return NULL;
            }
        }
    }
    PyObject *result = list_from_owned(buf, taken);
    if (buf != stack) {
        PyMem_Free(buf);
    }
    return result;
}

PyDoc_STRVAR(pq_drain_doc,
"drain()\n--\n\n"
"Take every queued item at once (most urgent first) without waiting; works before and after\n"
"close().");

static PyObject *
pq_drain(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PriorityQueueObject *self = PQ(op);
    ptrdiff_t depth = read_depth(self, NULL);
    if (depth == 0) {
        return PyList_New(0);
    }
    PyObject **buf = PyMem_New(PyObject *, depth);
    if (buf == NULL) {
        return PyErr_NoMemory();
    }
    /* Items pushed between the two locks wait for the next pop: drain never grows its buffer. */
    pthread_mutex_lock(&self->mutex);
    ptrdiff_t taken = take_locked(self, buf, depth);
    pthread_mutex_unlock(&self->mutex);
    PyObject *result = list_from_owned(buf, taken);
    PyMem_Free(buf);
    return result;
}

PyDoc_STRVAR(pq_close_doc,
"close()\n--\n\n"
"Refuse further pushes (they raise Closed) and wake every waiter; pops go on until the queue\n"
"is empty, then return [] at once. Closing twice is harmless.");

static PyObject *
pq_close(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PriorityQueueObject *self = PQ(op);
    pthread_mutex_lock(&self->mutex);
    self->closed = 1;
    pthread_cond_broadcast(&self->not_empty);
    pthread_cond_broadcast(&self->not_full);
    pthread_mutex_unlock(&self->mutex);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(pq_stats_doc,
"stats()\n--\n\n"
"Counters, read together: depth, depth_by_lane, high_water_mark, capacity, pushed, popped,\n"
"rejected_full (items refused because the queue was full), waiting_consumers and\n"
"waiting_producers (threads blocked in pop_many / push right now).");

static PyObject *
pq_stats(PyObject *op, PyObject *Py_UNUSED(ignored))
{
    PriorityQueueObject *self = PQ(op);
    ptrdiff_t by_lane[ES_LANES_MAX];
    pthread_mutex_lock(&self->mutex);
    es_lanes snapshot = self->lanes;
    unsigned long long rejected = self->rejected_full;
    Py_ssize_t waiting_consumers = self->waiting_consumers;
    Py_ssize_t waiting_producers = self->waiting_producers;
    pthread_mutex_unlock(&self->mutex);
    for (int lane = 0; lane < snapshot.nlanes; lane++) {
        by_lane[lane] = snapshot.lanes[lane].depth;
    }
    PyObject *lanes = PyList_New(snapshot.nlanes);
    if (lanes == NULL) {
        return NULL;
    }
    for (int lane = 0; lane < snapshot.nlanes; lane++) {
        PyObject *value = PyLong_FromSsize_t(by_lane[lane]);
        if (value == NULL) {
            Py_DECREF(lanes);
            return NULL;
        }
        PyList_SET_ITEM(lanes, lane, value);
    }
    return Py_BuildValue("{s:n,s:N,s:n,s:n,s:K,s:K,s:K,s:n,s:n}", "depth",
                         (Py_ssize_t)snapshot.depth, "depth_by_lane", lanes, "high_water_mark",
                         (Py_ssize_t)snapshot.high_water_mark, "capacity",
                         (Py_ssize_t)snapshot.capacity, "pushed", snapshot.pushed, "popped",
                         snapshot.popped, "rejected_full", rejected, "waiting_consumers",
                         waiting_consumers, "waiting_producers", waiting_producers);
}

static Py_ssize_t
pq_length(PyObject *op)
{
    return (Py_ssize_t)read_depth(PQ(op), NULL);
}

static PyObject *
pq_get_closed(PyObject *op, void *Py_UNUSED(closure))
{
    int closed;
    (void)read_depth(PQ(op), &closed);
    return PyBool_FromLong(closed);
}

static PyObject *
pq_repr(PyObject *op)
{
    PriorityQueueObject *self = PQ(op);
    int closed;
    ptrdiff_t depth = read_depth(self, &closed);
    return PyUnicode_FromFormat("<%s depth=%zd capacity=%zd lanes=%d%s>", _PyType_Name(Py_TYPE(op)),
                                (Py_ssize_t)depth, (Py_ssize_t)self->lanes.capacity,
                                self->lanes.nlanes, closed ? " closed" : "");
}

static PyMethodDef pq_methods[] = {
    {"push", (PyCFunction)(void (*)(void))pq_push, METH_FASTCALL | METH_KEYWORDS, pq_push_doc},
    {"push_many", pq_push_many, METH_O, pq_push_many_doc},
    {"pop_many", (PyCFunction)(void (*)(void))pq_pop_many, METH_FASTCALL | METH_KEYWORDS,
     pq_pop_many_doc},
    {"drain", pq_drain, METH_NOARGS, pq_drain_doc},
    {"close", pq_close, METH_NOARGS, pq_close_doc},
    {"stats", pq_stats, METH_NOARGS, pq_stats_doc},
    {"__class_getitem__", Py_GenericAlias, METH_O | METH_CLASS,
     PyDoc_STR("PriorityQueue[T]: queues are generic over their items")},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef pq_getset[] = {
    {"closed", pq_get_closed, NULL, PyDoc_STR("True once close() was called"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyMemberDef pq_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(PriorityQueueObject, weakreflist), READONLY,
     NULL},
    {NULL, 0, 0, 0, NULL},
};

PyDoc_STRVAR(pq_doc,
"PriorityQueue(capacity, lanes=10)\n--\n\n"
"A bounded, thread-safe priority queue: at most capacity items in total, one FIFO lane per\n"
"priority 0..lanes-1, the highest priority popped first. Waits release the GIL.");

static PyType_Slot pq_slots[] = {
    {Py_tp_new, pq_new},
    {Py_tp_dealloc, pq_dealloc},
    {Py_tp_traverse, pq_traverse},
    {Py_tp_clear, pq_clear},
    {Py_tp_repr, pq_repr},
    {Py_tp_doc, (void *)pq_doc},
    {Py_tp_methods, pq_methods},
    {Py_tp_getset, pq_getset},
    {Py_tp_members, pq_members},
    {Py_sq_length, pq_length},
    {0, NULL},
};

static PyType_Spec pq_spec = {
    .name = "eventstream_native._queue.PriorityQueue",
    .basicsize = sizeof(PriorityQueueObject),
    .flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC |
             Py_TPFLAGS_IMMUTABLETYPE,
    .slots = pq_slots,
};

/* ---- the module ------------------------------------------------------------------------------ */

/* Creates an Exception subclass, keeps it in the module state (*slot) and exports it. */
static int
add_exception(PyObject *module, const char *qualname, const char *doc, PyObject **slot)
{
    *slot = PyErr_NewExceptionWithDoc(qualname, doc, NULL, NULL);
    return *slot == NULL ? -1 : PyModule_AddObjectRef(module, strrchr(qualname, '.') + 1, *slot);
}

static int
queue_exec(PyObject *module)
{
    queue_state *state = get_state(module);
    if (add_exception(module, "eventstream_native._queue.Full",
                      "Raised when an item (or a whole push_many batch) does not fit in the queue.",
                      &state->full_error) < 0 ||
        add_exception(module, "eventstream_native._queue.Closed",
                      "Raised when pushing to a closed queue.", &state->closed_error) < 0) {
        return -1;
    }
    state->queue_type = (PyTypeObject *)PyType_FromModuleAndSpec(module, &pq_spec, NULL);
    if (state->queue_type == NULL || PyModule_AddType(module, state->queue_type) < 0) {
        return -1;
    }
    return 0;
}

static int
queue_traverse(PyObject *module, visitproc visit, void *arg)
{
    queue_state *state = get_state(module);
    Py_VISIT(state->queue_type);
    Py_VISIT(state->full_error);
    Py_VISIT(state->closed_error);
    return 0;
}

static int
queue_clear(PyObject *module)
{
    queue_state *state = get_state(module);
    Py_CLEAR(state->queue_type);
    Py_CLEAR(state->full_error);
    Py_CLEAR(state->closed_error);
    return 0;
}

static void
queue_free(void *module)
{
    (void)queue_clear((PyObject *)module);
}

static PyModuleDef_Slot queue_slots[] = {
    {Py_mod_exec, queue_exec},
    {0, NULL},
};

static struct PyModuleDef queue_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "eventstream_native._queue",
    .m_doc = "The EventStream core's bounded priority queue (see native_layer/README.md).",
    .m_size = sizeof(queue_state),
    .m_slots = queue_slots,
    .m_traverse = queue_traverse,
    .m_clear = queue_clear,
    .m_free = queue_free,
};

PyMODINIT_FUNC
PyInit__queue(void)
{
    return PyModuleDef_Init(&queue_module);
}
