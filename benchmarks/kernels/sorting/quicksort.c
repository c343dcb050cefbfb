/* Quicksort: median-of-three, Hoare partition, insertion sort for small ranges,
 * recursion on the smaller side only (bounded stack depth). */
#include "sort.h"

#define CUTOFF 16

void insertion_sort_u32(uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        uint32_t v = a[i];
        size_t j = i;
        while (j > 0 && a[j - 1] > v) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = v;
    }
}

static void swap_u32(uint32_t *x, uint32_t *y)
{
    uint32_t t = *x;
    *x = *y;
    *y = t;
}

static uint32_t median_of_three(uint32_t *a, size_t n)
{
    size_t mid = n / 2;
    if (a[mid] < a[0])
        swap_u32(&a[mid], &a[0]);
    if (a[n - 1] < a[0])
        swap_u32(&a[n - 1], &a[0]);
    if (a[n - 1] < a[mid])
        swap_u32(&a[n - 1], &a[mid]);
    return a[mid];
}

/* Returns the split point p: [0, p) <= pivot <= [p, n), with 0 < p < n. */
static size_t partition(uint32_t *a, size_t n)
{
    uint32_t pivot = median_of_three(a, n);
    size_t i = 0;
    size_t j = n - 1;
    for (;;) {
        while (a[i] < pivot)
            i++;
        while (a[j] > pivot)
            j--;
        if (i >= j)
            return j + 1;
        swap_u32(&a[i], &a[j]);
        i++;
        j--;
    }
}

void quicksort_u32(uint32_t *a, size_t n)
{
    while (n > CUTOFF) {
        size_t p = partition(a, n);
        if (p < n - p) {
            quicksort_u32(a, p);
            a += p;
            n -= p;
        } else {
            quicksort_u32(a + p, n - p);
            n = p;
        }
    }
    insertion_sort_u32(a, n);
}
