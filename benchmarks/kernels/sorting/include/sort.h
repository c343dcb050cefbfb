/* Sorting algorithms over 32-bit unsigned keys: shared declarations. */
#ifndef SORT_H
#define SORT_H

#include <stddef.h>
#include <stdint.h>

#ifndef N
#define N 500000
#endif

void quicksort_u32(uint32_t *a, size_t n);
void mergesort_u32(uint32_t *a, uint32_t *tmp, size_t n);
void radixsort_u32(uint32_t *a, uint32_t *tmp, size_t n);
void insertion_sort_u32(uint32_t *a, size_t n);

#endif
