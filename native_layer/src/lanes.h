/* Priority lanes over one fixed pool of slots: the queue's data, without locking.
 *
 * Every slot is allocated up front (capacity of them), so memory stays bounded whatever the
 * load; slots are first touched when first used, so a large capacity costs only address space
 * until the queue fills. Each lane is a FIFO linked through slot indices; freed slots form a
 * stack. The caller
 * (queue.c) holds the queue's mutex around every call and owns the references stored here.
 */
#ifndef EVENTSTREAM_NATIVE_LANES_H
#define EVENTSTREAM_NATIVE_LANES_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>

#define ES_LANES_MAX 64

typedef struct {
    PyObject *item; /* a reference owned by the queue; never touched here */
    ptrdiff_t next; /* next slot in the same lane (or the free stack); -1 ends the list */
} es_slot;

typedef struct {
    ptrdiff_t head;
    ptrdiff_t tail;
    ptrdiff_t depth;
} es_lane;

typedef struct {
    es_slot *slots;
    es_lane lanes[ES_LANES_MAX];
    int nlanes;
    ptrdiff_t capacity;
    ptrdiff_t depth;
    ptrdiff_t free_head;   /* a stack of freed slots, -1 when empty */
    ptrdiff_t never_used;  /* slots from here on have never held an item */
    ptrdiff_t high_water_mark;
    unsigned long long pushed;
    unsigned long long popped;
} es_lanes;

/* Allocates capacity slots; returns -1 (nothing allocated) when memory is short. */
int es_lanes_init(es_lanes *q, ptrdiff_t capacity, int nlanes);

/* Frees the slots; the caller has taken every item out first. */
void es_lanes_fini(es_lanes *q);

static inline ptrdiff_t es_lanes_room(const es_lanes *q) { return q->capacity - q->depth; }

/* Appends item to lane; the caller has checked es_lanes_room() > 0 and 0 <= lane < nlanes. */
void es_lanes_push(es_lanes *q, int lane, PyObject *item);

/* Moves up to max items into out, highest lane first and FIFO within a lane; returns the count. */
ptrdiff_t es_lanes_pop(es_lanes *q, PyObject **out, ptrdiff_t max);

/* Calls fn on every held item until fn returns non-zero; returns that value (or 0). */
int es_lanes_foreach(const es_lanes *q, int (*fn)(PyObject *item, void *arg), void *arg);

#endif
