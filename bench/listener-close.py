#!/usr/bin/env python3
"""Closing a listening socket under a connect flood: what each way of stopping really does.

A server process listens on 127.0.0.1, accepts greedily (non-blocking accept in an epoll
loop), echoes 64 B per connection and closes after the client's FIN. 8 client threads loop
connect / send 64 B / half-close / read to EOF / close for PRE s before the stop and POST s
after. At the stop the server applies one strategy, then closes its listener. Every connect
attempt still running at the stop is classified from the client's side:

  served    the 64 B came back, then EOF
  refused   connect() failed with ECONNREFUSED (at once, or only after a SYN retransmit)
  reset     the handshake completed, then ECONNRESET/EPIPE/ENOTCONN (also when it hit
            connect() itself) or EOF without the whole echo
  other     timeout or any other error

Strategies (T in ms):
  a     accept until EAGAIN, then close()
  bT    listen(fd, 0), accept until EAGAIN for T ms, accept until EAGAIN, close()
  cT    classic BPF filter dropping SYN without ACK, accept for T ms and then until the
        accept queue (TCP_INFO tcpi_unacked) is empty, close()
  d     SO_REUSEPORT pair, net.ipv4.tcp_migrate_req=1: close the first listener at once,
        the second keeps serving (a handoff, not a stop)
  d0    the same with tcp_migrate_req=0
  e     shutdown(SHUT_RD) on the listener at once (no accept first), close() 20 ms later
  e2    connect(AF_UNSPEC) on the listener at once (HAProxy's pause), close() 20 ms later

Each syncookies setting runs in its own network namespace (unshare -n, root needed), so the
sysctls and the kernel counters (/proc/net/netstat, /proc/net/snmp) belong to this run only.
With --no-netns it runs in the current namespace (strategies d/d0 are then skipped).

  python3 bench/listener-close.py                      # all strategies, 8 rounds, cookies 1
  python3 bench/listener-close.py --syncookies 1,0 --rounds 8
  python3 bench/listener-close.py --strategies a,c5 --rounds 3 --json out.json
"""
import argparse
import ctypes
import errno
import json
import os
import select
import socket
import statistics
import struct
import subprocess
import sys
import threading
import time

PAYLOAD = b"x" * 64
SO_ATTACH_FILTER = 26
TCP_INFO = 11
TCP_LISTEN = 10
SLOW_CONNECT = 0.5  # a connect that took longer waited for at least one SYN retransmit
LIBC = ctypes.CDLL(None, use_errno=True)
COUNTERS = ["ListenOverflows", "ListenDrops", "TCPReqQFullDoCookies", "TCPReqQFullDrop",
            "SyncookiesSent", "SyncookiesRecv", "TCPMigrateReqSuccess",
            "TCPMigrateReqFailure", "OutRsts", "PassiveOpens", "AttemptFails"]


class SockFilter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8),
                ("jf", ctypes.c_uint8), ("k", ctypes.c_uint32)]


class SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]


def attach_syn_filter(sock):
    """ldb [13]; and #0x12; jeq #0x02 ? ret 0 : ret -1 -- drop SYN without ACK."""
    prog = (SockFilter * 5)(
        SockFilter(0x30, 0, 0, 13),          # BPF_LD|BPF_B|BPF_ABS   A = tcp flags byte
        SockFilter(0x54, 0, 0, 0x12),        # BPF_ALU|BPF_AND|BPF_K  A &= SYN|ACK
        SockFilter(0x15, 0, 1, 0x02),        # BPF_JMP|BPF_JEQ|BPF_K  A == SYN ?
        SockFilter(0x06, 0, 0, 0),           # BPF_RET: drop
        SockFilter(0x06, 0, 0, 0xFFFFFFFF),  # BPF_RET: keep the whole packet
    )
    fprog = SockFprog(len(prog), ctypes.cast(prog, ctypes.POINTER(SockFilter)))
    sock.setsockopt(socket.SOL_SOCKET, SO_ATTACH_FILTER, bytes(fprog))  # kernel copies prog


def accept_queue(sock):
    """Accept queue length of a listener (tcpi_unacked), or None if it is not listening."""
    info = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 104)
    if info[0] != TCP_LISTEN:
        return None
    return struct.unpack_from("I", info, 24)[0]


def read_counters():
    out = {}
    for path in ("/proc/net/netstat", "/proc/net/snmp"):
        with open(path) as f:
            lines = f.read().splitlines()
        for head, vals in zip(lines[::2], lines[1::2]):
            for k, v in zip(head.split()[1:], vals.split()[1:]):
                if k in COUNTERS:
                    out[k] = int(v)
    return out


# ----------------------------------------------------------------------------- server

def server(strategy, backlog, port_w, ctl_r, rep_w):
    """Runs in a forked child. Reports the port, then a JSON record at the end."""
    rep = {"strategy": strategy}
    listeners = []
    reuse = strategy in ("d", "d0")
    for _ in range(2 if reuse else 1):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        s.bind(("127.0.0.1", listeners[0].getsockname()[1] if listeners else 0))
        s.listen(backlog)
        s.setblocking(False)
        listeners.append(s)
    os.write(port_w, struct.pack("I", listeners[0].getsockname()[1]))
    ep = select.epoll()
    byfd = {s.fileno(): s for s in listeners}
    for s in listeners:
        ep.register(s.fileno(), select.EPOLLIN)
    ep.register(ctl_r, select.EPOLLIN)
    conns = {}
    stopped = [False]
    accepted_after = [0]

    def accept_all(lst):
        while True:
            try:
                c, _ = lst.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as e:  # ECONNABORTED and friends: try the next one
                if e.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue
                rep.setdefault("accept_errors", []).append(e.errno)
                return
            c.setblocking(False)
            conns[c.fileno()] = c
            ep.register(c.fileno(), select.EPOLLIN)
            if stopped[0]:
                accepted_after[0] += 1

    def close_listener(lst):
        if lst.fileno() in byfd:
            del byfd[lst.fileno()]
            ep.unregister(lst.fileno())
        lst.close()

    def serve(fd):
        c = conns[fd]
        try:
            data = c.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if data:
            try:
                c.send(data)
                return
            except OSError:
                pass
        ep.unregister(fd)
        del conns[fd]
        c.close()

    deadline = None      # when the strategy's grace window ends
    phase = "run"        # run -> window -> closed -> end
    t_stop = None
    lst = listeners[0]
    while phase != "end":
        timeout = -1
        if deadline is not None:
            timeout = max(0.0, deadline - time.monotonic())
        for fd, _ in ep.poll(timeout):
            if fd == ctl_r:
                cmd = os.read(ctl_r, 1)
                if cmd == b"E" or not cmd:
                    phase = "end"
                    continue
                t_stop = time.monotonic()
                stopped[0] = True
                rep["t_stop"] = t_stop
                rep["queue_at_stop"] = accept_queue(lst)
                if strategy == "a":
                    accept_all(lst)
                    rep["queue_at_close"] = accept_queue(lst)
                    close_listener(lst)
                    rep["t_close"] = time.monotonic()
                    phase = "closed"
                elif strategy[0] in "bc":
                    if strategy[0] == "b":
                        lst.listen(0)
                    else:
                        attach_syn_filter(lst)
                    deadline = t_stop + int(strategy[1:]) / 1000.0
                    phase = "window"
                    accept_all(lst)
                elif strategy in ("d", "d0"):
                    close_listener(lst)
                    rep["t_close"] = time.monotonic()
                    phase = "closed"
                elif strategy in ("e", "e2"):
                    if strategy == "e":
                        lst.shutdown(socket.SHUT_RD)
                    else:
                        unspec = struct.pack("H14x", socket.AF_UNSPEC)
                        if LIBC.connect(lst.fileno(), unspec, len(unspec)) != 0:
                            rep["pause_error"] = ctypes.get_errno()
                    rep["t_close"] = time.monotonic()
                    rep["queue_after_pause"] = accept_queue(lst)
                    try:
                        lst.accept()
                        rep["accept_after_pause"] = "ok"
                    except OSError as e:
                        rep["accept_after_pause"] = errno.errorcode.get(e.errno, str(e.errno))
                    byfd.pop(lst.fileno(), None)
                    ep.unregister(lst.fileno())
                    deadline = t_stop + 0.020
                    phase = "paused"
            elif fd in byfd:
                accept_all(byfd[fd])
            elif fd in conns:
                serve(fd)
        if deadline is not None and time.monotonic() >= deadline:
            deadline = None
            if phase == "window":
                accept_all(lst)
                if strategy[0] == "c":   # close only once the accept queue is empty
                    limit = time.monotonic() + 0.2
                    while accept_queue(lst) and time.monotonic() < limit:
                        accept_all(lst)
                rep["queue_at_close"] = accept_queue(lst)
                close_listener(lst)
                rep["t_close"] = time.monotonic()
                phase = "closed"
            elif phase == "paused":
                lst.close()
                phase = "closed"
    rep["accepted_after_stop"] = accepted_after[0]
    for c in conns.values():
        c.close()
    for s in list(byfd.values()):
        s.close()
    os.write(rep_w, json.dumps(rep).encode())
    os.close(rep_w)


# ----------------------------------------------------------------------------- clients

def client(port, t_end, out):
    addr = ("127.0.0.1", port)
    while time.monotonic() < t_end:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.settimeout(4.0)
        t0 = time.monotonic()
        t1 = None
        try:
            s.connect(addr)
            t1 = time.monotonic()
            s.sendall(PAYLOAD)
            s.shutdown(socket.SHUT_WR)
            buf = b""
            while True:
                d = s.recv(4096)
                if not d:
                    break
                buf += d
            kind = "served" if buf == PAYLOAD else "reset"   # EOF without the echo
        except ConnectionRefusedError:
            kind = "refused" if t1 is None else "reset"
        except (ConnectionResetError, BrokenPipeError):
            kind = "reset"   # before connect() returned: the handshake completed, then RST
        except OSError as e:
            if t1 is not None and e.errno == errno.ENOTCONN:   # RST between connect and send
                kind = "reset"
            else:
                kind = "other:" + errno.errorcode.get(e.errno or 0, type(e).__name__)
        finally:
            s.close()
        out.append((t0, t1, time.monotonic(), kind))


def probe(port, t_from, t_until, out):
    """From the stop on, one fresh non-blocking connect per ms until one is refused."""
    addr = ("127.0.0.1", port)
    pending = []
    time.sleep(max(0.0, t_from - time.monotonic()))
    tick = t_from
    while time.monotonic() < t_until:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        rc = s.connect_ex(addr)
        if rc == errno.EINPROGRESS:
            if select.select([], [s], [], 0.001)[1]:
                rc = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if rc == errno.ECONNREFUSED:
            out["probe_refused_at"] = time.monotonic()
            s.close()
            break
        if rc == 0:
            out["probe_connected"] = out.get("probe_connected", 0) + 1
            s.close()
        else:
            pending.append(s)        # SYN dropped: still in SYN_SENT
        tick += 0.001
        time.sleep(max(0.0, tick - time.monotonic()))
    out["probe_pending"] = len(pending)
    for s in pending:
        s.close()


def one_round(strategy, args):
    port_r, port_w = os.pipe()
    ctl_r, ctl_w = os.pipe()
    rep_r, rep_w = os.pipe()
    before = read_counters()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(port_r); os.close(ctl_w); os.close(rep_r)
            server(strategy, args.backlog, port_w, ctl_r, rep_w)
        finally:
            os._exit(0)
    os.close(port_w); os.close(ctl_r); os.close(rep_w)
    port = struct.unpack("I", os.read(port_r, 4))[0]
    os.close(port_r)
    t_start = time.monotonic()
    t_end = t_start + args.pre + args.post
    t_s = t_start + args.pre
    probe_r, probe_w = os.pipe()
    ppid = os.fork()                  # the probe runs in its own process: no GIL contention
    if ppid == 0:
        try:
            os.close(probe_r); os.close(ctl_w); os.close(rep_r)
            out = {}
            probe(port, t_s, t_s + 0.3, out)
            os.write(probe_w, json.dumps(out).encode())
        finally:
            os._exit(0)
    os.close(probe_w)
    results = [[] for _ in range(args.clients)]
    threads = [threading.Thread(target=client, args=(port, t_end, results[i]))
               for i in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(max(0.0, t_s - time.monotonic()))
    os.write(ctl_w, b"S")
    for t in threads:
        t.join(10)
    probe_out = json.loads(os.read(probe_r, 65536) or b"{}")
    os.close(probe_r)
    os.waitpid(ppid, 0)
    os.write(ctl_w, b"E")
    rep_bytes = b""
    while True:
        chunk = os.read(rep_r, 65536)
        if not chunk:
            break
        rep_bytes += chunk
    os.close(rep_r); os.close(ctl_w)
    os.waitpid(pid, 0)
    rep = json.loads(rep_bytes)
    after = read_counters()
    t_stop = rep["t_stop"]
    r = {"strategy": strategy, "server": rep,
         "counters": {k: after.get(k, 0) - before.get(k, 0) for k in COUNTERS},
         "served": 0, "refused_fast": 0, "refused_slow": 0, "reset": 0, "other": 0,
         "served_slow": 0, "reset_before_stop": 0, "first_refusal_ms": None,
         "probe_refusal_ms": ((probe_out["probe_refused_at"] - t_stop) * 1000
                              if "probe_refused_at" in probe_out else None),
         "probe_connected": probe_out.get("probe_connected", 0),
         "probe_pending": probe_out.get("probe_pending", 0),
         "close_ms": (rep["t_close"] - t_stop) * 1000 if "t_close" in rep else None,
         "slow_refusal_ms": []}
    for t0, t1, t2, kind in (x for res in results for x in res):
        if t2 < t_stop:                       # finished before the stop
            if kind == "reset":
                r["reset_before_stop"] += 1
            continue
        slow = (t1 or t2) - t0 >= SLOW_CONNECT
        if kind == "refused":
            r["refused_slow" if slow else "refused_fast"] += 1
            ms = (t2 - t_stop) * 1000
            if slow:
                r["slow_refusal_ms"].append(round(ms))
            if r["first_refusal_ms"] is None or ms < r["first_refusal_ms"]:
                r["first_refusal_ms"] = ms
        elif kind.startswith("other"):
            r["other"] += 1
            r.setdefault("other_kinds", []).append(kind)
        else:
            r[kind] += 1
            if kind == "served" and slow:
                r["served_slow"] += 1
    return r


# ----------------------------------------------------------------------------- report

def summarize(strategy, rounds):
    def med_max(key):
        v = [x[key] for x in rounds]
        return "%g / %d" % (statistics.median(v), max(v))

    def med_rng(vals, fmt="%.1f"):
        vals = [v for v in vals if v is not None]
        if not vals:
            return "-"
        return (fmt + " (" + fmt + "-" + fmt + ")") % (statistics.median(vals), min(vals), max(vals))

    c = lambda k: sum(x["counters"][k] for x in rounds)
    q = [x["server"].get("queue_at_stop") for x in rounds]
    return ("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %d | %d/%d/%d | %d |" % (
        strategy, med_max("reset"), med_max("refused_fast"), med_max("refused_slow"),
        med_rng([x["first_refusal_ms"] for x in rounds]),
        med_rng([x["probe_refusal_ms"] for x in rounds]),
        med_rng([x["close_ms"] for x in rounds]),
        med_max("served"), max(v or 0 for v in q),
        sum(x["other"] + x["reset_before_stop"] for x in rounds),
        c("ListenOverflows"), c("TCPReqQFullDoCookies"), c("TCPMigrateReqSuccess"),
        c("OutRsts")))


HEADER = ("| strategy | reset after connect (median / max per round) | refused at once "
          "(median / max) | refused after SYN retransmit (median / max) | first refusal ms, "
          "clients (median, min-max) | first refusal ms, 1 ms probe | listener closed ms | served after stop (median / max) | "
          "max queue at stop | other | ListenOverflows / ReqQFullDoCookies / MigrateReqSuccess "
          "(sum) | OutRsts (sum) |\n" + "| --- " * 12 + "|")


def inner(args):
    if args.netns:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        with open("/proc/sys/net/ipv4/tcp_syncookies", "w") as f:
            f.write(str(args.cookies))
    with open("/proc/sys/net/ipv4/tcp_syncookies") as f:
        cookies = f.read().strip()
    sys.setswitchinterval(0.001)
    print("\ntcp_syncookies=%s, %d rounds, %d clients, backlog %d, %.1f s + %.1f s, kernel %s"
          % (cookies, args.rounds, args.clients, args.backlog, args.pre, args.post,
             os.uname().release), flush=True)
    print(HEADER, flush=True)
    allr = {}
    for strategy in args.strategies:
        if strategy in ("d", "d0"):
            if not args.netns:
                print("| %s | skipped: needs its own network namespace |" % strategy)
                continue
            with open("/proc/sys/net/ipv4/tcp_migrate_req", "w") as f:
                f.write("1" if strategy == "d" else "0")
        rounds = [one_round(strategy, args) for _ in range(args.rounds)]
        allr[strategy] = rounds
        print(summarize(strategy, rounds), flush=True)
        slow = sorted(ms for x in rounds for ms in x["slow_refusal_ms"])
        extra = {k: [x["server"].get(k) for x in rounds]
                 for k in ("queue_at_stop", "queue_at_close", "queue_after_pause",
                           "accept_after_pause") if k in rounds[0]["server"]}
        if args.verbose:
            print("  %s resets per round %s; slow refusals at ms %s; %s; probe connected %s,"
                  " pending %s; other %s" % (
                      strategy, [x["reset"] for x in rounds],
                      slow[:6] + (["..."] if len(slow) > 6 else []), extra,
                      [x["probe_connected"] for x in rounds], [x["probe_pending"] for x in rounds],
                      sorted(set(k for x in rounds for k in x.get("other_kinds", [])))),
                  flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"syncookies": cookies, "rounds": allr}, f, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--strategies", default="a,b1,b5,c1,c5,d,d0,e,e2")
    p.add_argument("--rounds", type=int, default=8)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--backlog", type=int, default=128)
    p.add_argument("--pre", type=float, default=0.5)
    p.add_argument("--post", type=float, default=1.5)
    p.add_argument("--syncookies", default="1", help="comma list; each runs in its own netns")
    p.add_argument("--no-netns", dest="netns", action="store_false")
    p.add_argument("--json", help="write every round to this file (suffixed per syncookies)")
    p.add_argument("--verbose", "-v", action="store_true")
    p.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--cookies", type=int, default=1, help=argparse.SUPPRESS)
    args = p.parse_args()
    args.strategies = [s for s in args.strategies.split(",") if s]
    if args.inner or not args.netns:
        inner(args)
        return
    for cookies in args.syncookies.split(","):
        cmd = [sys.executable, os.path.abspath(__file__), "--inner", "--cookies", cookies,
               "--strategies", ",".join(args.strategies), "--rounds", str(args.rounds),
               "--clients", str(args.clients), "--backlog", str(args.backlog),
               "--pre", str(args.pre), "--post", str(args.post)]
        if args.verbose:
            cmd.append("-v")
        if args.json:
            base, ext = os.path.splitext(args.json)
            cmd += ["--json", "%s.cookies%s%s" % (base, cookies, ext or ".json")]
        rc = subprocess.run(["unshare", "-n", "--"] + cmd).returncode
        if rc:
            sys.exit(rc)


if __name__ == "__main__":
    main()
