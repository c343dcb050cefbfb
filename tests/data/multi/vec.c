#include "vec.h"
double dot(const double *a, const double *b, int n) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}
void fill(double *a, int n, unsigned seed) {
    for (int i = 0; i < n; i++) { seed = seed * 1103515245u + 12345u; a[i] = (double)(seed >> 16 & 1023) / 64.0; }
}
