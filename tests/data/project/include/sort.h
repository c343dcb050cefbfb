#ifndef PROJECT_SORT_H
#define PROJECT_SORT_H

#include <stddef.h>

void insertion_sort(int *a, size_t n);
void merge_sorted(const int *a, size_t na, const int *b, size_t nb, int *out);
int is_sorted(const int *a, size_t n);

#endif
