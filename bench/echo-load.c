/*
 * An independent load generator for echo servers, so Grace is not its own only judge:
 * N connections, each sends SIZE bytes of a per-connection pattern, waits for all of them to
 * come back, checks every byte, and repeats for SECONDS. One thread, epoll, plain syscalls.
 * Prints "requests=R seconds=S rate=R/s" or exits 1 on "data mismatch on connection C at byte B".
 *   cc -O2 -o echo-load bench/echo-load.c && ./echo-load 127.0.0.1 7000 50 64 10
 */
#include <arpa/inet.h>
#include <errno.h>
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

int main(int argc, char **argv) {
    if (argc != 6) { fprintf(stderr, "usage: %s HOST PORT CONNECTIONS SIZE SECONDS\n", argv[0]); return 2; }
    const char *host = argv[1];
    int port = atoi(argv[2]), n = atoi(argv[3]), size = atoi(argv[4]);
    double seconds = atof(argv[5]);
    if (n < 1 || size < 1 || size > 65536 || seconds <= 0) { fprintf(stderr, "bad arguments\n"); return 2; }
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(port) };
    inet_pton(AF_INET, host, &addr.sin_addr);
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
