/* Gauss-Seidel 2-D nine-point stencil (in place, loop-carried) plus a 1-D
 * explicit heat equation with fixed boundaries. */
/* Keep a*b+c as two roundings in every build, whatever the target's FMA support. */
#pragma STDC FP_CONTRACT OFF
#include <stdint.h>
#include <stdio.h>

#ifndef N
#define N 640
#endif

#ifndef TSTEPS
#define TSTEPS 40
#endif

#ifndef HEAT_N
#define HEAT_N 4096
#endif

#ifndef HEAT_STEPS
#define HEAT_STEPS 400
#endif

static double G[N][N];
static double heat_a[HEAT_N];
static double heat_b[HEAT_N];

static uint64_t xs_state = 0x9E3779B97F4A7C15ULL;

static uint64_t xorshift64(void)
{
    uint64_t x = xs_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    xs_state = x;
    return x;
}

static double unit(void)
{
    return (double)(xorshift64() >> 11) * (1.0 / 9007199254740992.0);
}

static void seidel(double g[N][N])
{
    for (int t = 0; t < TSTEPS; t++)
        for (int i = 1; i <= N - 2; i++)
            for (int j = 1; j <= N - 2; j++)
                g[i][j] = (g[i - 1][j - 1] + g[i - 1][j] + g[i - 1][j + 1] + g[i][j - 1] + g[i][j] +
                           g[i][j + 1] + g[i + 1][j - 1] + g[i + 1][j] + g[i + 1][j + 1]) /
                          9.0;
}

static void heat(double *a, double *b)
{
    const double alpha = 0.24;
    for (int t = 0; t < HEAT_STEPS; t++) {
        for (int i = 1; i < HEAT_N - 1; i++)
            b[i] = a[i] + alpha * (a[i - 1] - 2.0 * a[i] + a[i + 1]);
        b[0] = a[0];
        b[HEAT_N - 1] = a[HEAT_N - 1];
        double *tmp = a;
        a = b;
        b = tmp;
    }
}

int main(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            G[i][j] = (double)((i * 7 + j * 3) % 11) + unit();
    for (int i = 0; i < HEAT_N; i++)
        heat_a[i] = heat_b[i] = (i > HEAT_N / 4 && i < HEAT_N / 2) ? 100.0 : unit();
    seidel(G);
    heat(heat_a, heat_b);
    double gsum = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            gsum += G[i][j];
    /* HEAT_STEPS swaps: the result lies in heat_a when the count is even. */
    const double *h = (HEAT_STEPS % 2 == 0) ? heat_a : heat_b;
    double hsum = 0.0;
    for (int i = 0; i < HEAT_N; i++)
        hsum += h[i] * (double)(i % 13);
    printf("seidel2d N=%d TSTEPS=%d\n", N, TSTEPS);
    printf("seidel checksum %.6f centre %.6f\n", gsum, G[N / 2][N / 2]);
    printf("heat checksum %.6f mid %.6f\n", hsum, h[HEAT_N / 2]);
    return 0;
}
