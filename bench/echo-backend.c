#define _GNU_SOURCE
/*
 * A plain echo backend for the proxy benchmarks, so the proxies are measured in front of
 * something that costs almost nothing: one thread, epoll, level-triggered, every byte read is
 * written back; on the peer's FIN (reached only once everything before it is echoed) close(),
 * which sends our FIN (nothing is unread, so it is not a reset). A peer that stops reading is not read from
 * until its echo has gone out, so memory stays at one buffer per connection.
 * Prints "listening on 127.0.0.1:PORT" once it accepts.
 *   cc -O2 -o echo-backend bench/echo-backend.c && ./echo-backend 0
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

enum { BUFFER = 65536 };

struct conn { int fd; int pending_from; int pending_to; unsigned char buf[BUFFER]; };

static int ep;

static void watch(struct conn *c, int events, int op) {
    struct epoll_event ev = { .events = events, .data.ptr = c };
    epoll_ctl(ep, op, c->fd, &ev);
}

static void finish(struct conn *c) {
    close(c->fd);
    free(c);
}

/* Writes what is pending; 1 when all of it went out, 0 when the kernel is full, -1 on error. */
static int flush_pending(struct conn *c) {
    while (c->pending_from < c->pending_to) {
        ssize_t n = write(c->fd, c->buf + c->pending_from, c->pending_to - c->pending_from);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        c->pending_from += n;
    }
    c->pending_from = c->pending_to = 0;
    return 1;
}

static void serve(struct conn *c, unsigned events) {
    if (events & EPOLLOUT) {
        int flushed = flush_pending(c);
        if (flushed < 0) { finish(c); return; }
        if (flushed == 0) return;
        watch(c, EPOLLIN, EPOLL_CTL_MOD);
    }
    if (!(events & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    ssize_t got = read(c->fd, c->buf, BUFFER);
    if (got < 0) {
        if (errno != EAGAIN) finish(c);
        return;
    }
    if (got == 0) { finish(c); return; }
    c->pending_to = (int)got;
    int flushed = flush_pending(c);
    if (flushed < 0) { finish(c); return; }
    if (flushed == 0) watch(c, EPOLLOUT, EPOLL_CTL_MOD);
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: %s PORT (0: any free port)\n", argv[0]); return 2; }
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[1])) };
    inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) { perror("listen"); return 1; }
    socklen_t len = sizeof addr;
    getsockname(listener, (struct sockaddr *)&addr, &len);
    printf("listening on 127.0.0.1:%d\n", ntohs(addr.sin_port));
    fflush(stdout);
    ep = epoll_create1(0);
    struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
    epoll_ctl(ep, EPOLL_CTL_ADD, listener, &lev);
    struct epoll_event events[256];
    for (;;) {
        int ready = epoll_wait(ep, events, 256, -1);
        for (int e = 0; e < ready; e++) {
            if (events[e].data.ptr == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    struct conn *c = malloc(sizeof *c);
                    if (c == NULL) { close(fd); continue; }
                    c->fd = fd; c->pending_from = c->pending_to = 0;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    watch(c, EPOLLIN, EPOLL_CTL_ADD);
                }
                continue;
            }
            serve(events[e].data.ptr, events[e].events);
        }
    }
}
