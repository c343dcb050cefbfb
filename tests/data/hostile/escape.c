#include <dirent.h>
#include <stdio.h>
/* Tries to write outside its work directory and to read what it should not. */
static void try_write(const char *path) {
    FILE *f = fopen(path, "w");
    printf("write %s: %s\n", path, f ? "ok" : "denied");
    if (f) { fputs("pwned\n", f); fclose(f); }
}
int main(void) {
    try_write("/etc/optloop-pwned");
    try_write("/usr/bin/optloop-pwned");
    try_write(HOST_CANARY);
    try_write("/work/w/pwned");
    DIR *d = opendir("/work/w/k");
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) if (e->d_name[0] != '.') {
            char path[512];
            snprintf(path, sizeof path, "/work/w/k/%s/input.ll", e->d_name);
            try_write(path);
        }
        closedir(d);
    }
    FILE *f = fopen(HOST_SECRET, "r");
    printf("read host secret: %s\n", f ? "ok" : "denied");
    return 0;
}
