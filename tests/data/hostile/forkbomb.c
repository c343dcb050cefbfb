#include <stdio.h>
#include <unistd.h>
/* Forks without bound; gives up (and says why) once fork() is refused. */
int main(void) {
    for (;;) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p == 0) { setsid(); for (;;) pause(); }
    }
}
