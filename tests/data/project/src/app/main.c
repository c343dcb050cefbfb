/* A self-contained program (its own translation unit) using the header-only minimath. */
#include <stdio.h>

#include "minimath.h"

#define N 256

static int a[N], b[N];

int main(void) {
    unsigned seed = 12345u;
    for (int i = 0; i < N; i++) {
        seed = seed * 1103515245u + 12345u;
        a[i] = mm_clamp((int)(seed >> 16) % 200 - 100, -50, 50);
        b[i] = (int)mm_isqrt((unsigned)(i * i + 7));
    }
    long total = 0;
    for (int round = 0; round < 200; round++)
        total += mm_dot(a, b, N) % 1000 + round;
    printf("%ld %u\n", total, mm_isqrt(1u << 20));
    return 0;
}
