/* Breadth-first search: hop levels from one source; returns the number reached. */
#include "graph.h"

uint32_t bfs_levels(const graph_t *g, uint32_t source, uint32_t *level, uint32_t *queue)
{
    for (uint32_t i = 0; i < NODES; i++)
        level[i] = DIST_INF;
    uint32_t head = 0;
    uint32_t tail = 0;
    level[source] = 0;
    queue[tail++] = source;
    while (head < tail) {
        uint32_t u = queue[head++];
        for (uint32_t e = g->offsets[u]; e < g->offsets[u + 1]; e++) {
            uint32_t v = g->targets[e];
            if (level[v] == DIST_INF) {
                level[v] = level[u] + 1;
                queue[tail++] = v;
            }
        }
    }
    return tail;
}
