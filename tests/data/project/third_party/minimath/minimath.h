/* A header-only dependency: static inline helpers, nothing to link. */
#ifndef MINIMATH_H
#define MINIMATH_H

static inline int mm_clamp(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static inline long mm_dot(const int *a, const int *b, int n) {
    long s = 0;
    for (int i = 0; i < n; i++)
        s += (long)a[i] * b[i];
    return s;
}

static inline unsigned mm_isqrt(unsigned x) {
    unsigned r = 0, bit = 1u << 30;
    while (bit > x)
        bit >>= 2;
    while (bit) {
        if (x >= r + bit) {
            x -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
        bit >>= 2;
    }
    return r;
}

#endif
