/* Random graph generation: a ring for connectivity plus random long edges, stored as CSR. */
#include "graph.h"

static uint32_t edge_src[EDGES];
static uint32_t edge_dst[EDGES];
static uint32_t edge_w[EDGES];

void graph_generate(graph_t *g, rng_t *r)
{
    for (uint32_t e = 0; e < EDGES; e++) {
        uint32_t u = e / DEGREE;
        uint32_t v;
        if (e % DEGREE == 0)
            v = (u + 1) % NODES;
        else if (e % DEGREE == 1)
            v = (u + NODES - 1 - rng_below(r, 16)) % NODES;
        else
            v = rng_below(r, NODES);
        edge_src[e] = u;
        edge_dst[e] = v;
        edge_w[e] = 1 + rng_below(r, 1000);
    }
    /* Counting sort by source (already grouped, but do it the general way). */
    for (uint32_t i = 0; i <= NODES; i++)
        g->offsets[i] = 0;
    for (uint32_t e = 0; e < EDGES; e++)
        g->offsets[edge_src[e] + 1]++;
    for (uint32_t i = 0; i < NODES; i++)
        g->offsets[i + 1] += g->offsets[i];
    static uint32_t fill[NODES];
    for (uint32_t i = 0; i < NODES; i++)
        fill[i] = g->offsets[i];
    for (uint32_t e = 0; e < EDGES; e++) {
        uint32_t slot = fill[edge_src[e]]++;
        g->targets[slot] = edge_dst[e];
        g->weights[slot] = edge_w[e];
    }
}
