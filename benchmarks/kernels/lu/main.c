/* Solve REPS random dense systems A x = b by LU decomposition with pivoting. */
#include <stdio.h>

#include "lu.h"

static matrix_t original;
static matrix_t factors;
static double rhs[N];
static double solution[N];
static int pivots[N];

int main(void)
{
    rng_t r = {0x13198A2E03707344ULL};
    double xsum = 0.0;
    double worst_residual = 0.0;
    long swaps = 0;
    printf("lu N=%d REPS=%d\n", N, REPS);
    for (int rep = 0; rep < REPS; rep++) {
        matrix_generate(original, rhs, &r);
        matrix_copy(factors, original);
        swaps += lu_decompose(factors, pivots);
        lu_solve(factors, pivots, rhs, solution);
        double res = residual_max(original, solution, rhs);
        if (res > worst_residual)
            worst_residual = res;
        int sign = 0;
        double logdet = lu_log_abs_det(factors, &sign);
        printf("rep %d log2|det|~%.4f sign %d x0 %.6f\n", rep, logdet, sign, solution[0]);
        for (int i = 0; i < N; i++)
            xsum += solution[i] * (double)(i % 5 + 1);
    }
    printf("swaps %ld\n", swaps);
    printf("solution checksum %.6f\n", xsum);
    printf("residual small %d\n", worst_residual < 1e-8);
    return 0;
}
