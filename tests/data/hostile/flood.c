#include <stdio.h>
#include <string.h>
/* Floods stdout: gigabytes if nothing stops it. */
int main(void) {
    static char line[65536];
    memset(line, 'y', sizeof line - 1);
    for (long i = 0; i < 100000; i++) fputs(line, stdout);
    return 0;
}
