/* A program whose main() needs another unit (hash.c): it does not link on its own, so the
   batch optimizes this unit with main renamed. */
#include <stdio.h>

#include "hash.h"

static const char *const words[] = {"alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"};

int main(void) {
    unsigned counts[TABLE_SIZE];
    int collisions = table_count(words, sizeof words / sizeof *words, counts);
    printf("%d collisions, slot(alpha) = %u\n", collisions, table_slot("alpha"));
    return 0;
}
