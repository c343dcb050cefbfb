#include <stdio.h>
static unsigned mix(unsigned h, unsigned v) { return (h ^ v) * 16777619u; }
int sum_squares(int n) { int s = 0; for (int i = 0; i < n; i++) s += i * i; return s; }
int main(void) {
    unsigned h = 2166136261u;
    for (int i = 0; i < 1000; i++) h = mix(h, (unsigned)sum_squares(i % 50));
    printf("%d %u\n", sum_squares(100), h);
    return 0;
}
