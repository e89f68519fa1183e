/*
 * An independent load generator for echo servers and proxies, so Grace is not its own only
 * judge. One thread, epoll, plain syscalls.
 *   echo:  N connections, each sends SIZE bytes of a per-connection pattern, waits for all of
 *          them to come back, checks every byte, and repeats for SECONDS. Prints
 *          "requests=R seconds=S rate=R/s".
 *   stream: N connections, each writes SIZE-byte chunks of its pattern as fast as the server
 *          takes them, at most WINDOW bytes ahead of the echo, and reads and checks the echo at
 *          the same time, for SECONDS. Prints "requests=W seconds=S rate=W/s bytes=B" (W: chunks
 *          echoed whole, B: bytes echoed and checked).
 *   churn: N sessions at a time, each connects, sends SIZE bytes, half-closes, reads the echo
 *          to EOF, checks every byte, and closes; its end opens the next. Prints
 *          "requests=R seconds=S rate=R/s failed=F p50_us=A p99_us=B" (sessions that ended within
 *          SECONDS; the latencies are of every session); a failed session is one whose connect
 *          was refused or that was reset. With FIRST-LAST, sessions connect from
 *          those source ports in turn instead of ports the kernel chooses.
 * Exits 1 on "data mismatch on connection C at byte B" or "connection C ended early" (an EOF
 * before the whole echo: bytes lost behind a clean-looking end).
 *   cc -O2 -o echo-load bench/echo-load.c && ./echo-load 127.0.0.1 7000 50 64 10 [echo|stream|churn [FIRST-LAST]]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct conn { int fd; long sent; long received; };

static unsigned char pattern(int c, long offset) {
    unsigned long long x = (unsigned long long)(c + 1) * 0x9E3779B97F4A7C15ULL + (unsigned long long)offset * 0xBF58476D1CE4E5B9ULL;
    x ^= x >> 31;
    return (unsigned char)x;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void send_request(struct conn *c, int id, int size) {
    unsigned char buf[65536];
    for (int i = 0; i < size; i++) buf[i] = pattern(id, c->sent + i);
    int off = 0;
    while (off < size) {
        ssize_t n = write(c->fd, buf + off, size - off);
        if (n < 0) { perror("write"); exit(1); }
        off += n;
    }
    c->sent += size;
}

static int churn(struct sockaddr_in addr, int n, int size, double seconds, int first_port, int last_port);
static int stream(struct sockaddr_in addr, int n, int size, double seconds);

int main(int argc, char **argv) {
    if (argc < 6 || argc > 8) {
        fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE SECONDS [echo|stream|churn [FIRST-LAST]]\n", argv[0]);
        return 2;
    }
    const char *host = argv[1];
    int port = atoi(argv[2]), n = atoi(argv[3]), size = atoi(argv[4]);
    double seconds = atof(argv[5]);
    const char *mode = argc > 6 ? argv[6] : "echo";
    int first_port = 0, last_port = 0;
    if (argc > 7 && (sscanf(argv[7], "%d-%d", &first_port, &last_port) != 2 || first_port < 1 || last_port > 65535 || first_port > last_port)) {
        fprintf(stderr, "bad source ports: %s (FIRST-LAST, within 1-65535)\n", argv[7]);
        return 2;
    }
    if (n < 1 || size < 1 || size > 65536 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) { fprintf(stderr, "bad host: %s (an IPv4 address)\n", host); return 2; }
    if (strcmp(mode, "churn") == 0) return churn(addr, n, size, seconds, first_port, last_port);
    if (strcmp(mode, "stream") == 0) return stream(addr, n, size, seconds);
    if (strcmp(mode, "echo") != 0) { fprintf(stderr, "bad mode: %s (echo, stream or churn)\n", mode); return 2; }
    struct conn *conns = calloc(n, sizeof *conns);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); return 1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[i].fd = fd;
        struct epoll_event ev = { .events = EPOLLIN, .data.u32 = (unsigned)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        send_request(&conns[i], i, size);
    }
    long requests = 0;
    double start = now(), end = start + seconds;
    struct epoll_event events[256];
    unsigned char buf[65536];
    while (now() < end) {
        int ready = epoll_wait(ep, events, 256, 100);
        for (int e = 0; e < ready; e++) {
            int i = (int)events[e].data.u32;
            struct conn *c = &conns[i];
            ssize_t got = read(c->fd, buf, sizeof buf);
            if (got <= 0) { fprintf(stderr, "connection %d ended early: %s\n", i, got == 0 ? "EOF" : strerror(errno)); return 1; }
            for (ssize_t k = 0; k < got; k++) {
                if (buf[k] != pattern(i, c->received + k)) {
                    fprintf(stderr, "data mismatch on connection %d at byte %ld\n", i, c->received + k);
                    return 1;
                }
            }
            c->received += got;
            if (c->received == c->sent) {
                requests++;
                send_request(c, i, size);
            }
        }
    }
    double elapsed = now() - start;
    for (int i = 0; i < n; i++) close(conns[i].fd);
    printf("requests=%ld seconds=%.2f rate=%.0f/s\n", requests, elapsed, requests / elapsed);
    return 0;
}

/* One churn session: a connection from connect() to close(). */
struct session { int fd; long id; long received; double started; };

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int next_port, ports_first, ports_last;

/* Starts a session's connect; 0 on success, -1 when no socket could be had. */
static int open_session(int ep, struct session *s, long id, struct sockaddr_in *addr) {
    for (int attempt = 0; attempt < 64; attempt++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
        if (fd < 0) { perror("socket"); return -1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        if (ports_first) {
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
            struct sockaddr_in local = { .sin_family = AF_INET, .sin_port = htons(next_port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
            next_port = next_port == ports_last ? ports_first : next_port + 1;
            if (bind(fd, (struct sockaddr *)&local, sizeof local) < 0) { close(fd); continue; }
        }
        if (connect(fd, (struct sockaddr *)addr, sizeof *addr) < 0 && errno != EINPROGRESS) {
            close(fd);
            if (ports_first && (errno == EADDRNOTAVAIL || errno == EADDRINUSE)) continue; /* that 4-tuple is still in TIME_WAIT */
            return -2;
        }
        s->fd = fd; s->id = id; s->received = 0; s->started = now();
        struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = s };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        return 0;
    }
    fprintf(stderr, "no source port of %d-%d could be bound\n", ports_first, ports_last);
    return -1;
}

static int churn(struct sockaddr_in addr, int n, int size, double seconds, int first_port, int last_port) {
    ports_first = first_port; ports_last = last_port; next_port = first_port;
    struct session *sessions = calloc(n, sizeof *sessions);
    size_t kept = 0, room = 1 << 20;
    double *micros = malloc(room * sizeof *micros);
    long requests = 0, failed = 0, id = 0;
    int ep = epoll_create1(0), open_count = 0;
    double start = now(), end = start + seconds;
    for (int i = 0; i < n; i++) {
        int opened;
        while ((opened = open_session(ep, &sessions[i], id++, &addr)) == -2) failed++;
        if (opened < 0) return 1;
        open_count++;
    }
    struct epoll_event events[256];
    unsigned char buf[65536];
    while (open_count > 0) {
        int ready = epoll_wait(ep, events, 256, 100);
        int stopping = now() >= end;
        if (stopping && ready == 0 && now() > end + 10) { fprintf(stderr, "%d sessions never ended\n", open_count); return 1; }
        for (int e = 0; e < ready; e++) {
            struct session *s = events[e].data.ptr;
            int ended = 0, ok = 0;
            if (events[e].events & EPOLLOUT) {
                int error = 0;
                socklen_t len = sizeof error;
                getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &error, &len);
                if (error != 0) {
                    ended = 1;
                } else {
                    for (int i = 0; i < size; i++) buf[i] = pattern((int)s->id, i);
                    if (write(s->fd, buf, size) != size) { ended = 1; }
                    else {
                        shutdown(s->fd, SHUT_WR);
                        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
                        epoll_ctl(ep, EPOLL_CTL_MOD, s->fd, &ev);
                    }
                }
            } else {
                ssize_t got = read(s->fd, buf, sizeof buf);
                if (got < 0 && errno == EAGAIN) continue;
                if (got < 0) ended = 1;
                else if (got == 0) {
                    if (s->received != size) { fprintf(stderr, "connection %ld ended early: EOF after %ld of %d bytes\n", s->id, s->received, size); return 1; }
                    ended = ok = 1;
                } else {
                    for (ssize_t k = 0; k < got; k++) {
                        if (s->received + k >= size || buf[k] != pattern((int)s->id, s->received + k)) {
                            fprintf(stderr, "data mismatch on connection %ld at byte %ld\n", s->id, s->received + k);
                            return 1;
                        }
                    }
                    s->received += got;
                }
            }
            if (!ended) continue;
            close(s->fd);
            open_count--;
            if (ok) {
                if (!stopping) requests++;
                if (kept == room) { room *= 2; micros = realloc(micros, room * sizeof *micros); }
                micros[kept++] = (now() - s->started) * 1e6;
            } else {
                failed++;
            }
            if (!stopping) {
                int opened;
                while ((opened = open_session(ep, s, id++, &addr)) == -2) failed++;
                if (opened < 0) return 1;
                open_count++;
            }
        }
    }
    double elapsed = seconds;
    qsort(micros, kept, sizeof *micros, compare_doubles);
    double p50 = kept ? micros[kept / 2] : 0, p99 = kept ? micros[(size_t)(kept * 0.99)] : 0;
    printf("requests=%ld seconds=%.2f rate=%.0f/s failed=%ld p50_us=%.0f p99_us=%.0f\n", requests, elapsed, requests / elapsed, failed, p50, p99);
    return 0;
}

enum { WINDOW = 256 * 1024, PERIOD = 65521 };

/* The stream's pattern: cheap enough not to be what is measured, a prime period so that a chunk
 * dropped, repeated or swapped shows. */
static unsigned char period[PERIOD];

static void stream_bytes(unsigned char *out, int c, long offset, int count) {
    long at = (offset + (long)c * 7919) % PERIOD;
    for (int k = 0; k < count; k++) {
        out[k] = period[at];
        if (++at == PERIOD) at = 0;
    }
}

static long stream_mismatch(const unsigned char *got, int c, long offset, long count) {
    long at = (offset + (long)c * 7919) % PERIOD;
    for (long k = 0; k < count; k++) {
        if (got[k] != period[at]) return k;
        if (++at == PERIOD) at = 0;
    }
    return -1;
}

static int stream(struct sockaddr_in addr, int n, int size, double seconds) {
    for (int k = 0; k < PERIOD; k++) period[k] = pattern(0, k);
    struct conn *conns = calloc(n, sizeof *conns);
    int *writing = calloc(n, sizeof *writing);
    int ep = epoll_create1(0);
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
        if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) { perror("connect"); return 1; }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(fd, F_SETFL, O_NONBLOCK);
        conns[i].fd = fd;
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.u32 = (unsigned)i };
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
        writing[i] = 1;
    }
    long bytes = 0;
    double start = now(), end = start + seconds;
    struct epoll_event events[256];
    static unsigned char buf[65536];
    while (now() < end) {
        int ready = epoll_wait(ep, events, 256, 100);
        for (int e = 0; e < ready; e++) {
            int i = (int)events[e].data.u32;
            struct conn *c = &conns[i];
            if (events[e].events & EPOLLIN) {
                ssize_t got = read(c->fd, buf, sizeof buf);
                if (got == 0 || (got < 0 && errno != EAGAIN)) {
                    fprintf(stderr, "connection %d ended early: %s\n", i, got == 0 ? "EOF" : strerror(errno));
                    return 1;
                }
                long wrong = got > 0 ? stream_mismatch(buf, i, c->received, got) : -1;
                if (wrong >= 0) {
                    fprintf(stderr, "data mismatch on connection %d at byte %ld\n", i, c->received + wrong);
                    return 1;
                }
                if (got > 0) { c->received += got; bytes += got; }
            }
            if ((events[e].events & EPOLLOUT) && c->sent - c->received < WINDOW) {
                stream_bytes(buf, i, c->sent, size);
                ssize_t put = write(c->fd, buf, size);
                if (put < 0 && errno != EAGAIN) { fprintf(stderr, "connection %d: write: %s\n", i, strerror(errno)); return 1; }
                if (put > 0) c->sent += put;
            }
            /* Ahead by a window: wait for the echo only, not for room to write. */
            int wants = c->sent - c->received < WINDOW;
            if (wants != writing[i]) {
                writing[i] = wants;
                struct epoll_event ev = { .events = EPOLLIN | (wants ? EPOLLOUT : 0), .data.u32 = (unsigned)i };
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
            }
        }
    }
    double elapsed = now() - start;
    for (int i = 0; i < n; i++) close(conns[i].fd);
    printf("requests=%ld seconds=%.2f rate=%.0f/s bytes=%ld\n", bytes / size, elapsed, bytes / size / elapsed, bytes);
    return 0;
}
