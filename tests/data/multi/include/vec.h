#ifndef VEC_H
#define VEC_H
#ifndef N
#define N 64
#endif
double dot(const double *a, const double *b, int n);
void fill(double *a, int n, unsigned seed);
#endif
