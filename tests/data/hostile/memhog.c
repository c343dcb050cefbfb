#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* Touches 16 GiB, 64 MiB at a time. */
int main(void) {
    size_t chunk = (size_t)64 << 20, total = 0;
    while (total < ((size_t)16 << 30)) {
        char *p = malloc(chunk);
        if (!p) { perror("malloc"); return 1; }
        memset(p, 1, chunk);
        total += chunk;
    }
    printf("touched %zu bytes\n", total);
    return 0;
}
