#ifndef PROJECT_HASH_H
#define PROJECT_HASH_H

#include <stddef.h>

#ifndef TABLE_SIZE
#define TABLE_SIZE 32
#endif

unsigned hash_bytes(const unsigned char *data, size_t n);
unsigned table_slot(const char *key);
int table_count(const char *const *keys, size_t n, unsigned *counts);

#endif
