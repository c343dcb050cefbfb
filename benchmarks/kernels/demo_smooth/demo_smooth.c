/* Demo kernel: repeated three-point smoothing of a float signal whose weights
 * and normalisation are (needlessly) recomputed inside the hot loop.
 * Inlining, loop-invariant code motion, common-subexpression elimination,
 * unrolling and vectorisation all have something to find here. */
/* Keep a*b+c as two roundings in every build, whatever the target's FMA support. */
#pragma STDC FP_CONTRACT OFF
#include <stdint.h>
#include <stdio.h>

#ifndef N
#define N 4096
#endif

#ifndef REPS
#define REPS 30000
#endif

static float src[N];
static float dst[N];

/* A weight that depends only on k: invariant in the inner loop. */
static float weight(uint32_t k)
{
    float w = 1.0f;
    for (uint32_t i = 0; i < k; i++)
        w = w * 0.5f + 0.25f;
    return w;
}

/* The reciprocal of the sum of the three weights: invariant too. */
static float inv_norm(uint32_t k)
{
    return 1.0f / (weight(k) + weight(k + 1u) + weight(k));
}

static void smooth(uint32_t rep)
{
    for (uint32_t i = 1; i + 1 < N; i++)
        dst[i] = (weight(rep % 4u) * (src[i - 1] + src[i + 1]) + weight(rep % 4u + 1u) * src[i]) * inv_norm(rep % 4u);
    dst[0] = src[0];
    dst[N - 1] = src[N - 1];
}

static void feedback(uint32_t rep)
{
    for (uint32_t i = 0; i < N; i++)
        src[i] = dst[i] + (float)((i * 7u + rep) & 15u) * 0.0625f - 0.46875f;
}

int main(void)
{
    uint32_t x = 0xDEADBEEFu;
    for (uint32_t i = 0; i < N; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        src[i] = (float)(x & 0xFFFFu) / 256.0f;
    }
    for (uint32_t rep = 0; rep < REPS; rep++) {
        smooth(rep);
        feedback(rep);
    }
    double sum = 0.0;
    float lo = dst[0], hi = dst[0];
    for (uint32_t i = 0; i < N; i++) {
        sum += (double)dst[i] * (double)(i % 5u + 1u);
        if (dst[i] < lo)
            lo = dst[i];
        if (dst[i] > hi)
            hi = dst[i];
    }
    printf("demo_smooth N=%d REPS=%d\n", N, REPS);
    printf("checksum %.4f min %.6f max %.6f mid %.6f\n", sum, lo, hi, dst[N / 2]);
    return 0;
}
