/* All-pairs shortest paths (Floyd-Warshall) on a generated dense weighted digraph,
 * with path counting of reachable pairs and an eccentricity summary. */
#include <stdint.h>
#include <stdio.h>

#ifndef N
#define N 600
#endif

#define INF 0x0FFFFFFFu

static uint32_t dist[N][N];

static uint32_t rng_state = 0x6A09E667u;

static uint32_t rng_next(void)
{
    /* xorshift32 */
    uint32_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    rng_state = x;
    return x;
}

static void generate(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            uint32_t r = rng_next();
            if (i == j)
                dist[i][j] = 0;
            else if (r % 100u < 6u)
                dist[i][j] = 1u + (r >> 8) % 500u;
            else
                dist[i][j] = INF;
        }
}

static void floyd_warshall(void)
{
    for (int k = 0; k < N; k++)
        for (int i = 0; i < N; i++) {
            uint32_t dik = dist[i][k];
            if (dik == INF)
                continue;
            for (int j = 0; j < N; j++) {
                uint32_t through = dik + dist[k][j];
                if (through < dist[i][j])
                    dist[i][j] = through;
            }
        }
}

int main(void)
{
    generate();
    floyd_warshall();
    uint64_t sum = 0;
    uint32_t reachable = 0;
    uint32_t diameter = 0;
    uint32_t min_ecc = INF;
    for (int i = 0; i < N; i++) {
        uint32_t ecc = 0;
        for (int j = 0; j < N; j++) {
            uint32_t d = dist[i][j];
            if (d >= INF)
                continue;
            reachable++;
            sum += (uint64_t)d * (uint32_t)(j + 1);
            if (d > ecc)
                ecc = d;
        }
        if (ecc > diameter)
            diameter = ecc;
        if (ecc < min_ecc)
            min_ecc = ecc;
    }
    printf("floyd_warshall N=%d\n", N);
    printf("reachable %u weighted_sum %llu\n", reachable, (unsigned long long)sum);
    printf("diameter %u radius %u\n", diameter, min_ecc);
    return 0;
}
