/* Dense double-precision matrix multiply C = A * B in i-j-k order, with an
 * i-k-j variant as a cross-check, on matrices filled by a fixed-seed PRNG. */
/* Keep a*b+c as two roundings in every build, whatever the target's FMA support. */
#pragma STDC FP_CONTRACT OFF
#include <stdint.h>
#include <stdio.h>

#ifndef N
#define N 420
#endif

static double A[N][N];
static double B[N][N];
static double C[N][N];
static double D[N][N];

static uint64_t rng_state = 0x243F6A8885A308D3ULL;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
}

static void fill(double m[N][N])
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            m[i][j] = rng_unit();
}

static void matmul_ijk(double c[N][N], double a[N][N], double b[N][N])
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0.0;
            for (int k = 0; k < N; k++)
                sum += a[i][k] * b[k][j];
            c[i][j] = sum;
        }
}

static void matmul_ikj(double c[N][N], double a[N][N], double b[N][N])
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            c[i][j] = 0.0;
        for (int k = 0; k < N; k++) {
            double aik = a[i][k];
            for (int j = 0; j < N; j++)
                c[i][j] += aik * b[k][j];
        }
    }
}

static double checksum(double m[N][N])
{
    double s = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            s += m[i][j] * (double)((i + 2 * j) % 7 + 1);
    return s;
}

static double max_abs_diff(double x[N][N], double y[N][N])
{
    double worst = 0.0;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double d = x[i][j] - y[i][j];
            if (d < 0.0)
                d = -d;
            if (d > worst)
                worst = d;
        }
    return worst;
}

int main(void)
{
    fill(A);
    fill(B);
    matmul_ijk(C, A, B);
    matmul_ikj(D, A, B);
    double trace = 0.0;
    for (int i = 0; i < N; i++)
        trace += C[i][i];
    printf("matmul N=%d\n", N);
    printf("checksum %.6f\n", checksum(C));
    printf("trace %.6f\n", trace);
    printf("corners %.6f %.6f\n", C[0][0], C[N - 1][N - 1]);
    printf("variants agree %d\n", max_abs_diff(C, D) < 1e-9);
    return 0;
}
