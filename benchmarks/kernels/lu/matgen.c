/* Test-matrix generation: a random matrix with a boosted, sign-varying diagonal. */
#include "lu.h"

void matrix_generate(matrix_t a, double b[N], rng_t *r)
{
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++)
            a[i][j] = rng_signed_unit(r);
        a[i][i] += (i % 3 == 0) ? -4.0 : 4.0;
        b[i] = rng_signed_unit(r) * 10.0;
    }
}

void matrix_copy(matrix_t dst, matrix_t src)
{
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            dst[i][j] = src[i][j];
}
