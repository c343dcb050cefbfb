#include <unistd.h>
/* Sleeps past the wall clock (no CPU used: a CPU-time limit would not catch it). */
int main(void) { sleep(600); return 0; }
