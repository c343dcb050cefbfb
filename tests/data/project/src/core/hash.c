/* FNV-1a hashing and a small counting table (no main: optimized for instcount/size). */
#include "hash.h"

#include <string.h>

unsigned hash_bytes(const unsigned char *data, size_t n) {
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= data[i];
        h *= 16777619u;
    }
    return h;
}

unsigned table_slot(const char *key) {
    return hash_bytes((const unsigned char *)key, strlen(key)) % TABLE_SIZE;
}

int table_count(const char *const *keys, size_t n, unsigned *counts) {
    int collisions = 0;
    for (size_t i = 0; i < TABLE_SIZE; i++)
        counts[i] = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned slot = table_slot(keys[i]);
        if (counts[slot] > 0)
            collisions++;
        counts[slot]++;
    }
    return collisions;
}
