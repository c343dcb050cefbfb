/* Dijkstra's shortest paths with a binary min-heap and lazy deletion. */
#include "graph.h"

typedef struct {
    uint32_t dist;
    uint32_t node;
} heap_item;

static heap_item heap[EDGES + 1];

static int item_less(heap_item a, heap_item b)
{
    return a.dist < b.dist || (a.dist == b.dist && a.node < b.node);
}

static void heap_push(uint32_t *size, heap_item item)
{
    uint32_t i = (*size)++;
    while (i > 0) {
        uint32_t parent = (i - 1) / 2;
        if (!item_less(item, heap[parent]))
            break;
        heap[i] = heap[parent];
        i = parent;
    }
    heap[i] = item;
}

static heap_item heap_pop(uint32_t *size)
{
    heap_item top = heap[0];
    heap_item last = heap[--(*size)];
    uint32_t n = *size;
    uint32_t i = 0;
    for (;;) {
        uint32_t child = 2 * i + 1;
        if (child >= n)
            break;
        if (child + 1 < n && item_less(heap[child + 1], heap[child]))
            child++;
        if (!item_less(heap[child], last))
            break;
        heap[i] = heap[child];
        i = child;
    }
    if (n > 0)
        heap[i] = last;
    return top;
}

void dijkstra(const graph_t *g, uint32_t source, uint32_t *dist)
{
    for (uint32_t i = 0; i < NODES; i++)
        dist[i] = DIST_INF;
    uint32_t size = 0;
    dist[source] = 0;
    heap_push(&size, (heap_item){0, source});
    while (size > 0) {
        heap_item cur = heap_pop(&size);
        if (cur.dist != dist[cur.node])
            continue;
        for (uint32_t e = g->offsets[cur.node]; e < g->offsets[cur.node + 1]; e++) {
            uint32_t v = g->targets[e];
            uint32_t nd = cur.dist + g->weights[e];
            if (nd < dist[v]) {
                dist[v] = nd;
                heap_push(&size, (heap_item){nd, v});
            }
        }
    }
}
