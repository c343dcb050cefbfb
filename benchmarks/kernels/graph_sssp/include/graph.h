/* A directed weighted graph in compressed sparse row form, BFS and Dijkstra. */
#ifndef GRAPH_H
#define GRAPH_H

#include <stdint.h>

#include "rng.h"

#ifndef NODES
#define NODES 50000
#endif

#ifndef DEGREE
#define DEGREE 8
#endif

#ifndef SOURCES
#define SOURCES 12
#endif

#define EDGES (NODES * DEGREE)
#define DIST_INF UINT32_MAX

typedef struct {
    uint32_t offsets[NODES + 1];
    uint32_t targets[EDGES];
    uint32_t weights[EDGES];
} graph_t;

void graph_generate(graph_t *g, rng_t *r);
uint32_t bfs_levels(const graph_t *g, uint32_t source, uint32_t *level, uint32_t *queue);
void dijkstra(const graph_t *g, uint32_t source, uint32_t *dist);

#endif
