/* Jacobi 2-D five-point stencil (PolyBench style) over a generated grid. */
/* Keep a*b+c as two roundings in every build, whatever the target's FMA support. */
#pragma STDC FP_CONTRACT OFF
#include <stdint.h>
#include <stdio.h>

#ifndef N
#define N 600
#endif

#ifndef TSTEPS
#define TSTEPS 200
#endif

static double A[N][N];
static double B[N][N];

static uint32_t lcg_state = 12345u;

static uint32_t lcg_next(void)
{
    lcg_state = lcg_state * 1664525u + 1013904223u;
    return lcg_state >> 8;
}

static void init(void)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double noise = (double)(lcg_next() & 0xFFFFu) / 65536.0;
            A[i][j] = ((double)i * (j + 2) + 2.0) / N + noise;
            B[i][j] = ((double)i * (j + 3) + 3.0) / N;
        }
}

static void sweep(double dst[N][N], double src[N][N])
{
    for (int i = 1; i < N - 1; i++)
        for (int j = 1; j < N - 1; j++)
            dst[i][j] = 0.2 * (src[i][j] + src[i][j - 1] + src[i][j + 1] + src[i + 1][j] + src[i - 1][j]);
}

static double checksum(double m[N][N])
{
    double s = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            s += m[i][j];
    return s;
}

int main(void)
{
    init();
    for (int t = 0; t < TSTEPS; t++) {
        sweep(B, A);
        sweep(A, B);
    }
    printf("jacobi2d N=%d TSTEPS=%d\n", N, TSTEPS);
    printf("checksum %.6f\n", checksum(A));
    printf("samples %.6f %.6f %.6f\n", A[1][1], A[N / 2][N / 3], A[N - 2][N - 2]);
    return 0;
}
