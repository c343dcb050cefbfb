/* LSD radix sort, four passes of eight bits. */
#include "sort.h"

void radixsort_u32(uint32_t *a, uint32_t *tmp, size_t n)
{
    uint32_t *src = a;
    uint32_t *dst = tmp;
    for (unsigned shift = 0; shift < 32; shift += 8) {
        size_t count[257] = {0};
        for (size_t i = 0; i < n; i++)
            count[((src[i] >> shift) & 0xFFu) + 1]++;
        for (int b = 0; b < 256; b++)
            count[b + 1] += count[b];
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 0xFFu]++] = src[i];
        uint32_t *t = src;
        src = dst;
        dst = t;
    }
    /* Four passes: the sorted keys are back in `a`. */
}
