/* Fixed-seed PCG32 generator for the sorting kernel. */
#ifndef SORT_RNG_H
#define SORT_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t state;
    uint64_t inc;
} pcg32_t;

static inline uint32_t pcg32_next(pcg32_t *r)
{
    uint64_t old = r->state;
    r->state = old * 6364136223846793005ULL + (r->inc | 1u);
    uint32_t xorshifted = (uint32_t)(((old >> 18) ^ old) >> 27);
    uint32_t rot = (uint32_t)(old >> 59);
    return (xorshifted >> rot) | (xorshifted << ((32u - rot) & 31u));
}

#endif
