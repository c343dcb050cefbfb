/* Fixed-seed xorshift128+ generator for the graph kernel. */
#ifndef GRAPH_RNG_H
#define GRAPH_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s0;
    uint64_t s1;
} rng_t;

static inline uint64_t rng_next(rng_t *r)
{
    uint64_t x = r->s0;
    uint64_t const y = r->s1;
    r->s0 = y;
    x ^= x << 23;
    r->s1 = x ^ y ^ (x >> 17) ^ (y >> 26);
    return r->s1 + y;
}

/* Uniform integer in [0, bound), bound > 0 (the tiny modulo bias is irrelevant here). */
static inline uint32_t rng_below(rng_t *r, uint32_t bound)
{
    return (uint32_t)((rng_next(r) >> 32) % bound);
}

#endif
