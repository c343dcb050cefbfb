#include <stdio.h>
#include "vec.h"
static double a[N], b[N];
int main(void) {
    double total = 0.0;
    fill(a, N, 1u);
    fill(b, N, 2u);
    for (int r = 0; r < 2000; r++) total += dot(a, b, N) / (r + 1);
    printf("N=%d dot=%.6f\n", N, total);
    return 0;
}
