/* Doolittle LU factorisation with row pivoting, triangular solves, residuals. */
#include "lu.h"

static double abs_d(double v)
{
    return v < 0.0 ? -v : v;
}

static void swap_rows(matrix_t a, int r1, int r2)
{
    for (int j = 0; j < N; j++) {
        double t = a[r1][j];
        a[r1][j] = a[r2][j];
        a[r2][j] = t;
    }
}

static int find_pivot(matrix_t a, int k)
{
    int best = k;
    double best_val = abs_d(a[k][k]);
    for (int i = k + 1; i < N; i++) {
        double v = abs_d(a[i][k]);
        if (v > best_val) {
            best_val = v;
            best = i;
        }
    }
    return best;
}

int lu_decompose(matrix_t a, int piv[N])
{
    int swaps = 0;
    for (int i = 0; i < N; i++)
        piv[i] = i;
    for (int k = 0; k < N; k++) {
        int p = find_pivot(a, k);
        if (p != k) {
            swap_rows(a, p, k);
            int t = piv[p];
            piv[p] = piv[k];
            piv[k] = t;
            swaps++;
        }
        double inv = 1.0 / a[k][k];
        for (int i = k + 1; i < N; i++) {
            double f = a[i][k] * inv;
            a[i][k] = f;
            for (int j = k + 1; j < N; j++)
                a[i][j] -= f * a[k][j];
        }
    }
    return swaps;
}

void lu_solve(matrix_t lu, const int piv[N], const double b[N], double x[N])
{
    double y[N];
    for (int i = 0; i < N; i++) {
        double s = b[piv[i]];
        for (int j = 0; j < i; j++)
            s -= lu[i][j] * y[j];
        y[i] = s;
    }
    for (int i = N - 1; i >= 0; i--) {
        double s = y[i];
        for (int j = i + 1; j < N; j++)
            s -= lu[i][j] * x[j];
        x[i] = s / lu[i][i];
    }
}

double lu_log_abs_det(matrix_t lu, int *sign)
{
    /* Sum of exponents keeps this free of libm: log2|det| rounded down per factor. */
    double mant = 1.0;
    int exp2 = 0;
    int s = 1;
    for (int i = 0; i < N; i++) {
        double d = lu[i][i];
        if (d < 0.0) {
            s = -s;
            d = -d;
        }
        mant *= d;
        while (mant >= 2.0) {
            mant *= 0.5;
            exp2++;
        }
        while (mant < 1.0) {
            mant *= 2.0;
            exp2--;
        }
    }
    *sign = s;
    return (double)exp2 + (mant - 1.0);
}

double residual_max(matrix_t a, const double x[N], const double b[N])
{
    double worst = 0.0;
    for (int i = 0; i < N; i++) {
        double s = -b[i];
        for (int j = 0; j < N; j++)
            s += a[i][j] * x[j];
        s = abs_d(s);
        if (s > worst)
            worst = s;
    }
    return worst;
}
