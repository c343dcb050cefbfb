/* Bottom-up merge sort with ping-pong buffers. */
#include "sort.h"

static void merge(const uint32_t *src, uint32_t *dst, size_t lo, size_t mid, size_t hi)
{
    size_t i = lo, j = mid, k = lo;
    while (i < mid && j < hi)
        dst[k++] = (src[j] < src[i]) ? src[j++] : src[i++];
    while (i < mid)
        dst[k++] = src[i++];
    while (j < hi)
        dst[k++] = src[j++];
}

void mergesort_u32(uint32_t *a, uint32_t *tmp, size_t n)
{
    uint32_t *src = a;
    uint32_t *dst = tmp;
    for (size_t width = 1; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = (lo + width < n) ? lo + width : n;
            size_t hi = (lo + 2 * width < n) ? lo + 2 * width : n;
            merge(src, dst, lo, mid, hi);
        }
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        for (size_t i = 0; i < n; i++)
            a[i] = src[i];
}
