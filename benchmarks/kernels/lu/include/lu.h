/* LU decomposition with partial pivoting: shared declarations. */
#ifndef LU_H
#define LU_H

/* Every translation unit includes this before its own code: keep a*b+c as two roundings in every build. */
#pragma STDC FP_CONTRACT OFF

#include "rng.h"

#ifndef N
#define N 512
#endif

#ifndef REPS
#define REPS 12
#endif

typedef double matrix_t[N][N];

void matrix_generate(matrix_t a, double b[N], rng_t *r);
void matrix_copy(matrix_t dst, matrix_t src);
int lu_decompose(matrix_t a, int piv[N]);
void lu_solve(matrix_t lu, const int piv[N], const double b[N], double x[N]);
double lu_log_abs_det(matrix_t lu, int *sign);
double residual_max(matrix_t a, const double x[N], const double b[N]);

#endif
