/* Sort the same generated keys with four algorithms and cross-check them. */
#include <stdio.h>

#include "rng.h"
#include "sort.h"

static uint32_t input[N];
static uint32_t work[N];
static uint32_t scratch[N];
static uint32_t reference[N];

static void generate(void)
{
    pcg32_t r = {0x853C49E6748FEA9BULL, 0xDA3E39CB94B95BDBULL};
    for (size_t i = 0; i < N; i++) {
        uint32_t v = pcg32_next(&r);
        /* A mix of duplicates, small values and full-range values. */
        input[i] = (i % 5 == 0) ? v % 1000u : v;
    }
}

static void load(void)
{
    for (size_t i = 0; i < N; i++)
        work[i] = input[i];
}

static int is_sorted(const uint32_t *a, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (a[i - 1] > a[i])
            return 0;
    return 1;
}

static size_t differences(const uint32_t *a, const uint32_t *b, size_t n)
{
    size_t d = 0;
    for (size_t i = 0; i < n; i++)
        d += a[i] != b[i];
    return d;
}

static uint64_t weighted_checksum(const uint32_t *a, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s = s * 31u + (uint64_t)a[i] * (i + 1u);
    return s;
}

int main(void)
{
    generate();
    load();
    quicksort_u32(work, N);
    for (size_t i = 0; i < N; i++)
        reference[i] = work[i];
    printf("sorting N=%d\n", N);
    printf("quicksort sorted %d checksum %016llx\n", is_sorted(work, N),
           (unsigned long long)weighted_checksum(work, N));

    load();
    mergesort_u32(work, scratch, N);
    printf("mergesort sorted %d diffs %zu\n", is_sorted(work, N), differences(work, reference, N));

    load();
    radixsort_u32(work, scratch, N);
    printf("radixsort sorted %d diffs %zu\n", is_sorted(work, N), differences(work, reference, N));

    /* Insertion sort on a short prefix only: quadratic. */
    load();
    size_t m = N < 3000 ? N : 3000;
    insertion_sort_u32(work, m);
    printf("insertion prefix %zu sorted %d min %u max %u\n", m, is_sorted(work, m), work[0], work[m - 1]);
    printf("median %u\n", reference[N / 2]);
    return 0;
}
