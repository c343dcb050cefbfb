/*
 * optloop-run: run one program with limits and measure it.
 *
 * Runs inside the sandbox (the Docker image or the local backend's temporary
 * directory).  It forks the program in its own process group with resource
 * limits, caps what it prints, kills the whole group at the wall-clock limit,
 * and reports one line per run on stdout:
 *
 *   run=<i> exit=<code> signal=<sig> wall_s=<s> maxrss_kb=<kb> timeout=<0|1> outlimit=<0|1>
 *
 * The captured stdout/stderr of the *last* run are written to the given files
 * (at most OUTLIMIT bytes each).  Warm-up runs are reported with run=-1, -2, ...
 * A run that times out, floods its output or dies of a signal ends the series.
 *
 * Usage:
 *   optloop-run -t SECONDS -o BYTES -m BYTES -p NPROC -w WARMUP -n RUNS
 *               -O STDOUT_FILE -E STDERR_FILE -- PROGRAM [ARGS...]
 *
 * Exit status: 0 when every run was carried out (whatever the program did),
 * 2 on bad usage, 3 when the program could not be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void set_limit(int resource, rlim_t value) {
    struct rlimit rl = {value, value};
    setrlimit(resource, &rl);
}

struct capture {
    int fd;           /* read end of the pipe, -1 once closed */
    int out;          /* file the bytes go to */
    long long kept;   /* bytes written to `out` */
    long long seen;   /* bytes read from the pipe */
};

static void drain(struct capture *c, long long limit, int *over) {
    char buf[65536];
    ssize_t n = read(c->fd, buf, sizeof buf);
    if (n <= 0) {
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
        close(c->fd);
        c->fd = -1;
        return;
    }
    c->seen += n;
    if (c->kept < limit) {
        long long room = limit - c->kept;
        long long w = n < room ? n : room;
        if (c->out >= 0 && write(c->out, buf, (size_t)w) < 0) { /* disk full: keep going */ }
        c->kept += w;
    }
    if (c->seen > limit) *over = 1;
}

static int run_once(char **argv, double timeout_s, long long outlimit, rlim_t mem,
                    rlim_t nproc, const char *out_path, const char *err_path, int index) {
    int po[2], pe[2];
    if (pipe(po) != 0 || pipe(pe) != 0) { perror("optloop-run: pipe"); return 3; }
    int fo = out_path ? open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;
    int fe = err_path ? open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644) : -1;

    double start = now();
    pid_t pid = fork();
    if (pid < 0) { perror("optloop-run: fork"); return 3; }
    if (pid == 0) {
        setpgid(0, 0);
        dup2(po[1], 1);
        dup2(pe[1], 2);
        close(po[0]); close(po[1]); close(pe[0]); close(pe[1]);
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) { dup2(devnull, 0); close(devnull); }
        if (mem > 0) set_limit(RLIMIT_AS, mem);
        if (nproc > 0) set_limit(RLIMIT_NPROC, nproc);
        set_limit(RLIMIT_CORE, 0);
        /* A file the program writes itself may not exceed the output cap either. */
        if (outlimit > 0) set_limit(RLIMIT_FSIZE, (rlim_t)outlimit);
        set_limit(RLIMIT_CPU, (rlim_t)(timeout_s + 2));
        execv(argv[0], argv);
        fprintf(stderr, "optloop-run: cannot execute %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    setpgid(pid, pid);
    close(po[1]);
    close(pe[1]);

    struct capture co = {po[0], fo, 0, 0}, ce = {pe[0], fe, 0, 0};
    int over = 0, timed_out = 0, killed = 0, reaped = 0;
    int status = 0;
    struct rusage ru;
    memset(&ru, 0, sizeof ru);
    double exited_at = 0;
    while (co.fd >= 0 || ce.fd >= 0) {
        double left = timeout_s - (now() - start);
        if (left <= 0) { timed_out = 1; break; }
        /* The program itself has exited but something it forked (perhaps in a new session)
         * still holds the pipes: drain for a moment, then stop waiting for them. */
        if (!reaped && wait4(pid, &status, WNOHANG, &ru) == pid) { reaped = 1; exited_at = now(); }
        if (reaped && now() - exited_at > 0.2) break;
        struct pollfd fds[2];
        int nfds = 0;
        if (co.fd >= 0) { fds[nfds].fd = co.fd; fds[nfds].events = POLLIN; nfds++; }
        if (ce.fd >= 0) { fds[nfds].fd = ce.fd; fds[nfds].events = POLLIN; nfds++; }
        int ms = (int)(left * 1000.0) + 1;
        int r = poll(fds, (nfds_t)nfds, ms > 200 ? 200 : ms);
        if (r < 0 && errno != EINTR) break;
        if (r <= 0) continue;
        for (int i = 0; i < nfds; i++) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            struct capture *c = (fds[i].fd == co.fd) ? &co : &ce;
            drain(c, outlimit, &over);
        }
        if (over) break;
    }
    if (timed_out || over) {
        kill(-pid, SIGKILL);
        killed = 1;
    }

    /* The pipes are closed (or we gave up on them); wait for the child, still
     * bounded by the wall clock in case it closed its outputs and kept running. */
    while (!reaped) {
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid) { reaped = 1; break; }
        if (w < 0 && errno != EINTR) break;
        if (!killed && now() - start > timeout_s) {
            timed_out = 1;
            kill(-pid, SIGKILL);
            killed = 1;
        }
        usleep(1000);
    }
    double wall = now() - start;
    /* Reap anything left in the group (forks of the program). */
    kill(-pid, SIGKILL);
    if (co.fd >= 0) close(co.fd);
    if (ce.fd >= 0) close(ce.fd);
    if (fo >= 0) close(fo);
    if (fe >= 0) close(fe);

    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    printf("run=%d exit=%d signal=%d wall_s=%.9f maxrss_kb=%ld timeout=%d outlimit=%d\n", index, code,
           sig, wall, ru.ru_maxrss, timed_out, over);
    fflush(stdout);
    /* 1: abnormal (no point repeating it), 0: normal. */
    return (timed_out || over || sig != 0) ? 1 : 0;
}

int main(int argc, char **argv) {
    double timeout_s = 10.0;
    long long outlimit = 1 << 20;
    rlim_t mem = 0, nproc = 0;
    int warmup = 0, runs = 1;
    const char *out_path = NULL, *err_path = NULL;
    int opt;
    while ((opt = getopt(argc, argv, "t:o:m:p:w:n:O:E:")) != -1) {
        switch (opt) {
        case 't': timeout_s = atof(optarg); break;
        case 'o': outlimit = atoll(optarg); break;
        case 'm': mem = (rlim_t)atoll(optarg); break;
        case 'p': nproc = (rlim_t)atoll(optarg); break;
        case 'w': warmup = atoi(optarg); break;
        case 'n': runs = atoi(optarg); break;
        case 'O': out_path = optarg; break;
        case 'E': err_path = optarg; break;
        default: return 2;
        }
    }
    if (optind >= argc || timeout_s <= 0 || runs < 1 || warmup < 0) {
        fprintf(stderr, "usage: optloop-run -t S -o BYTES -m BYTES -p N -w W -n N -O OUT -E ERR -- PROG [ARGS]\n");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    char **prog = argv + optind;
    for (int i = 0; i < warmup; i++) {
        /* Warm-up runs are captured too, so a failing one is what the caller sees. */
        int r = run_once(prog, timeout_s, outlimit, mem, nproc, out_path, err_path, -1 - i);
        if (r == 3) return 3;
        if (r == 1) return 0; /* the capture holds the failing run */
    }
    for (int i = 0; i < runs; i++) {
        /* Every timed run overwrites the capture: the last one is checked. */
        int r = run_once(prog, timeout_s, outlimit, mem, nproc, out_path, err_path, i);
        if (r == 3) return 3;
        if (r == 1) return 0;
    }
    return 0;
}
