/* BFS and Dijkstra from several sources over a generated sparse graph. */
#include <stdio.h>

#include "graph.h"

static graph_t graph;
static uint32_t level[NODES];
static uint32_t queue[NODES];
static uint32_t dist[NODES];

int main(void)
{
    rng_t r = {0xA4093822299F31D0ULL, 0x082EFA98EC4E6C89ULL};
    graph_generate(&graph, &r);
    uint64_t level_sum = 0;
    uint64_t dist_sum = 0;
    uint32_t max_level = 0;
    uint32_t max_dist = 0;
    uint32_t reached = 0;
    for (uint32_t s = 0; s < SOURCES; s++) {
        uint32_t source = rng_below(&r, NODES);
        reached += bfs_levels(&graph, source, level, queue);
        dijkstra(&graph, source, dist);
        for (uint32_t i = 0; i < NODES; i++) {
            if (level[i] != DIST_INF) {
                level_sum += level[i];
                if (level[i] > max_level)
                    max_level = level[i];
            }
            if (dist[i] != DIST_INF) {
                dist_sum += (uint64_t)dist[i] * (i % 7 + 1);
                if (dist[i] > max_dist)
                    max_dist = dist[i];
            }
        }
    }
    printf("graph NODES=%d DEGREE=%d SOURCES=%d\n", NODES, DEGREE, SOURCES);
    printf("reached %u level_sum %llu max_level %u\n", reached, (unsigned long long)level_sum, max_level);
    printf("dist_sum %llu max_dist %u\n", (unsigned long long)dist_sum, max_dist);
    return 0;
}
