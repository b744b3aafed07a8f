/* See lanes.h. No locking, and the items are only moved: no reference counting here. */
#include "lanes.h"

int
es_lanes_init(es_lanes *q, ptrdiff_t capacity, int nlanes)
{
    memset(q, 0, sizeof(*q));
    if (capacity < 1 || nlanes < 1 || nlanes > ES_LANES_MAX ||
        (size_t)capacity > PY_SSIZE_T_MAX / sizeof(es_slot)) {
        return -1;
    }
    /* Raw allocator: usable without the GIL, and still seen by tracemalloc. */
    q->slots = PyMem_RawMalloc((size_t)capacity * sizeof(es_slot));
    if (q->slots == NULL) {
        return -1;
    }
    for (int lane = 0; lane < ES_LANES_MAX; lane++) {
        q->lanes[lane].head = -1;
        q->lanes[lane].tail = -1;
        q->lanes[lane].depth = 0;
    }
    q->nlanes = nlanes;
    q->capacity = capacity;
    q->free_head = -1;
    q->never_used = 0;
    return 0;
}

void
es_lanes_fini(es_lanes *q)
{
    PyMem_RawFree(q->slots);
    q->slots = NULL;
    q->capacity = 0;
    q->depth = 0;
    q->free_head = -1;
}

void
es_lanes_push(es_lanes *q, int lane, PyObject *item)
{
    ptrdiff_t slot = q->free_head;
    es_lane *l = &q->lanes[lane];
    if (slot >= 0) {
        q->free_head = q->slots[slot].next;
    }
    else {
        slot = q->never_used++;
    }
    q->slots[slot].item = item;
    q->slots[slot].next = -1;
    if (l->tail < 0) {
        l->head = slot;
    }
    else {
        q->slots[l->tail].next = slot;
    }
    l->tail = slot;
    l->depth++;
    q->depth++;
    q->pushed++;
    if (q->depth > q->high_water_mark) {
        q->high_water_mark = q->depth;
    }
}

ptrdiff_t
es_lanes_pop(es_lanes *q, PyObject **out, ptrdiff_t max)
{
    ptrdiff_t taken = 0;
    for (int lane = q->nlanes - 1; lane >= 0 && taken < max && q->depth > 0; lane--) {
        es_lane *l = &q->lanes[lane];
        while (l->depth > 0 && taken < max) {
            ptrdiff_t slot = l->head;
            out[taken++] = q->slots[slot].item;
            l->head = q->slots[slot].next;
            l->depth--;
            q->depth--;
            q->slots[slot].item = NULL;
            q->slots[slot].next = q->free_head;
            q->free_head = slot;
        }
        if (l->depth == 0) {
            l->tail = -1;
        }
    }
    q->popped += (unsigned long long)taken;
    return taken;
}

int
es_lanes_foreach(const es_lanes *q, int (*fn)(PyObject *item, void *arg), void *arg)
{
    for (int lane = 0; lane < q->nlanes; lane++) {
        for (ptrdiff_t slot = q->lanes[lane].head; slot >= 0; slot = q->slots[slot].next) {
            int result = fn(q->slots[slot].item, arg);
            if (result) {
                return result;
            }
        }
    }
    return 0;
}
