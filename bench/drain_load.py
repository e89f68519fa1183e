#!/usr/bin/env python3
"""Clients for bench/drain-load.sh: stop a server under load and record what every client saw.

  drain_load.py run --load idle|busy|stream|churn --port P --pid PID --signal TERM --deadline S --wait S --out run.json
  drain_load.py wire --pcap f.pcap --port P --run run.json     # adds the capture's view to run.json
  drain_load.py brief run.json                                 # one line: what the clients saw
  drain_load.py table run.json...                              # one markdown table, rows server x load

The run sends the signal itself (os.kill on PID) at the load's moment, and watches the server's
exit with pidfd_open. Every wait is bounded: --wait after the signal (busy: after the half-close
at +5 s), --exit-wait (5 s) for the exit once the clients are done.

Everything runs in one thread on one epoll loop (selectors), so a client's terminal event is
timed when the kernel reports it, not when a scheduler gets round to it. Every byte a client
sends comes from one pseudo-random pattern at a per-connection offset, so every byte echoed back
is checked in place. Standard library only; Linux only (TCP_INFO, pidfd_open).
"""
import argparse
import errno
import json
import os
import random
import selectors
import signal
import socket
import statistics
import struct
import sys
import time

# offsetof(struct tcp_info, tcpi_bytes_acked) in /usr/include/linux/tcp.h: 8 one-byte fields,
# 24 __u32 (tcpi_rto .. tcpi_total_retrans) = 104, then __u64 tcpi_pacing_rate (104) and
# tcpi_max_pacing_rate (112): tcpi_bytes_acked is the __u64 at 120 (Linux 4.1+). Linux counts the
# SYN in it (snd_una moves by one when the SYN-ACK arrives) and, once acknowledged, our FIN, so
# data acknowledged = tcpi_bytes_acked - 1, at most the bytes sent.
# bench/drain-load.sh compiles offsetof() against the installed header and stops if it differs,
# and the harness checks it on live sockets before every signal (acked - 1 == sent once echoed).
TCP_INFO_BYTES_ACKED = 120
TCP_INFO = getattr(socket, "TCP_INFO", 11)

PATTERN_LEN = 1 << 20
PATTERN = random.Random(20240501).randbytes(PATTERN_LEN)
PATTERN2 = PATTERN + PATTERN
PATTERN2_VIEW = memoryview(PATTERN2)

IDLE_CONNS, BUSY_CONNS, STREAM_CONNS, CHURN_LOOPS = 50, 50, 4, 8
STREAM_BYTES = int(os.environ.get("STREAM_MB", "200")) * 1000 * 1000
STREAM_SIGNAL_AT = STREAM_CONNS * STREAM_BYTES // 2      # total echoed over the 4 connections
CHUNK = 256 * 1024


def log(*args):
    print("drain_load:", *args, file=sys.stderr, flush=True)


def now():
    return time.time()


def pattern(seed, offset, n):
    j = (seed + offset) % PATTERN_LEN
    return PATTERN2_VIEW[j:j + n]


def bytes_acked(sock):
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, TCP_INFO, 232)
    except OSError:
        return None
    if len(info) < TCP_INFO_BYTES_ACKED + 8:
        return None
    return struct.unpack_from("=Q", info, TCP_INFO_BYTES_ACKED)[0]


class Conn:
    """One client connection of the idle, busy or stream load."""

    def __init__(self, ident, sock):
        self.id = ident
        self.sock = sock
        self.port = sock.getsockname()[1]
        self.seed = (ident * 7919 + 13) % PATTERN_LEN
        self.sent = 0
        self.echoed = 0
        self.exact = True
        self.first_bad = None
        self.term = None           # "FIN" or "RST": the client's first terminal event
        self.term_at = None
        self.term_how = None       # how it showed: read EOF, ECONNRESET on read or send, EPIPE
        self.acked = None          # tcpi_bytes_acked at the terminal event (or at the end)
        self.half_closed_at = None
        self.closed_at = None
        self.round_open = False    # busy: a 1 KiB request is out, its echo not all back

    def check(self, data):
        n = len(data)
        if self.exact:
            if self.echoed + n > self.sent or data != pattern(self.seed, self.echoed, n):
                self.exact = False
                expected = bytes(pattern(self.seed, self.echoed, n))
                i = next((k for k in range(min(n, len(expected))) if data[k] != expected[k]), min(n, len(expected)))
                self.first_bad = self.echoed + i
        self.echoed += n

    def terminal(self, kind, how, at=None):
        if self.term is None:
            self.term, self.term_how, self.term_at = kind, how, at or now()
            a = bytes_acked(self.sock)
            self.acked = a if a is not None else self.acked

    def read(self, size=CHUNK):
        """Reads what is there; returns False once the connection reached EOF or reset."""
        try:
            data = self.sock.recv(size)
        except BlockingIOError:
            return True
        except ConnectionResetError:
            self.terminal("RST", "read ECONNRESET")
            return False
        except OSError as e:
            self.terminal("RST", "read " + errno.errorcode.get(e.errno, str(e.errno)))
            return False
        if not data:
            self.terminal("FIN", "read EOF")
            return False
        self.check(data)
        return True

    def send(self, view):
        try:
            n = self.sock.send(view)
        except BlockingIOError:
            return 0
        except ConnectionResetError:
            self.terminal("RST", "send ECONNRESET")
            return -1
        except BrokenPipeError:
            self.terminal("RST", "send EPIPE")
            return -1
        except OSError as e:
            self.terminal("RST", "send " + errno.errorcode.get(e.errno, str(e.errno)))
            return -1
        self.sent += n
        return n

    def half_close(self):
        if self.half_closed_at is None and self.term is None:
            try:
                self.sock.shutdown(socket.SHUT_WR)
            except OSError:
                pass
            self.half_closed_at = now()

    def close(self):
        if self.closed_at is None:
            if self.acked is None:
                self.acked = bytes_acked(self.sock)
            self.closed_at = now()
            self.sock.close()

    def record(self, t0):
        ms = lambda t: None if t is None else round((t - t0) * 1000, 2)
        # Linux counts our SYN (and, once acknowledged, our FIN) in tcpi_bytes_acked: data = acked - 1, at most sent
        acked = None if self.acked is None else max(0, min(self.acked - 1, self.sent))
        owed = None if acked is None else acked - self.echoed
        return {"id": self.id, "port": self.port, "sent": self.sent, "acked": acked, "echoed": self.echoed,
                "owed": owed, "exact": self.exact, "first_bad": self.first_bad, "term": self.term,
                "term_how": self.term_how, "term_ms": ms(self.term_at), "half_closed_ms": ms(self.half_closed_at),
                "closed_ms": ms(self.closed_at), "closed_at": self.closed_at}


def connect(port, timeout=5.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Run:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.pidfd = os.pidfd_open(args.pid)
        self.sel.register(self.pidfd, selectors.EVENT_READ, "exit")
        self.signal_at = None
        self.exit_at = None
        self.clients_closed_at = None
        self.sanity = []

    def poll(self, timeout):
        """One turn of the loop: returns [(conn-or-tag, mask)], notes the server's exit."""
        out = []
        for key, mask in self.sel.select(max(0.0, timeout)):
            if key.data == "exit":
                if self.exit_at is None:
                    self.exit_at = now()
                self.sel.unregister(self.pidfd)
            else:
                out.append((key.data, mask))
        return out

    def stop_server(self):
        self.signal_at = now()
        os.kill(self.args.pid, getattr(signal, "SIG" + self.args.signal))

    def check_acked(self, conns):
        """Before the signal every echo is complete, so bytes_acked must be bytes sent + 1 (the SYN)."""
        bad = [(c.id, c.sent, bytes_acked(c.sock)) for c in conns if bytes_acked(c.sock) != c.sent + 1]   # + the SYN
        if bad:
            self.sanity.append("tcpi_bytes_acked at offset %d disagrees with bytes sent: %s" % (TCP_INFO_BYTES_ACKED, bad[:3]))

    def wait_exit(self, limit):
        end = now() + limit
        while self.exit_at is None and now() < end:
            self.poll(end - now())

    def result(self, conns, extra=None):
        t0 = self.signal_at
        r = {"load": self.args.load, "server": self.args.server, "deadline": self.args.deadline,
             "signal": self.args.signal, "signal_at": t0, "port": self.args.port,
             "exit_ms": None if self.exit_at is None else round((self.exit_at - t0) * 1000, 1),
             # The server exited only once the clients gave up on a connection it kept open.
             "exit_after_clients_closed": bool(self.exit_at and self.clients_closed_at and self.exit_at > self.clients_closed_at
                                               and any(c.term is None for c in conns)),
             "sanity": self.sanity, "conns": [c.record(t0) for c in conns]}
        r.update(extra or {})
        return r

    # -- loads ---------------------------------------------------------------------------

    def idle(self):
        conns = []
        for i in range(IDLE_CONNS):
            c = Conn(i, connect(self.args.port))
            c.sock.sendall(pattern(c.seed, 0, 64))
            c.sent = 64
            while c.echoed < 64:
                data = c.sock.recv(64 - c.echoed)
                if not data:
                    raise SystemExit("idle: connection %d ended before its first echo" % i)
                c.check(data)
            c.sock.setblocking(False)
            conns.append(c)
        self.check_acked(conns)
        for c in conns:
            self.sel.register(c.sock, selectors.EVENT_READ, c)
        quiet_until = now() + 0.5
        while now() < quiet_until:
            for c, _ in self.poll(quiet_until - now()):
                if not c.read():   # the server ended it before the signal
                    self.sel.unregister(c.sock)
        self.stop_server()
        cap = self.signal_at + self.args.wait
        live = {c for c in conns if c.term is None}
        while live and now() < cap:
            for c, _ in self.poll(cap - now()):
                if not c.read():
                    self.sel.unregister(c.sock)
                    c.close()
                    live.discard(c)
        return conns, {}

    def busy(self):
        size = 1024
        conns = []
        for i in range(BUSY_CONNS):
            c = Conn(i, connect(self.args.port))
            c.sock.setblocking(False)
            conns.append(c)
            self.sel.register(c.sock, selectors.EVENT_READ, c)

        def next_request(c):
            # The FIN may already be here: look before sending, so a request sent after the
            # server finished does not count as owed.
            if not c.read():
                return False
            if c.send(pattern(c.seed, c.sent, size)) < 0:
                return False
            c.round_open = True
            return True

        live = set()
        for c in conns:
            if next_request(c):
                live.add(c)
        signal_at = now() + 1.0
        stop_at = None
        cap = None
        rounds_before = 0
        while live:
            t = now()
            if self.signal_at is None and t >= signal_at:
                self.check_acked([c for c in live if not c.round_open])
                rounds_before = sum(c.sent for c in conns) // size
                self.stop_server()
                stop_at = self.signal_at + 5.0
                cap = stop_at + self.args.wait
            if stop_at is not None and t >= stop_at:
                for c in live:
                    c.half_close()
            if cap is not None and t >= cap:
                break
            timeout = (signal_at if self.signal_at is None else (stop_at if t < stop_at else cap)) - t
            for c, _ in self.poll(min(timeout, 0.05)):
                if c not in live:
                    continue
                ok = c.read()
                if ok and c.round_open and c.echoed == c.sent:
                    c.round_open = False
                    if c.half_closed_at is None and (stop_at is None or now() < stop_at):
                        ok = next_request(c)
                if not ok:
                    self.sel.unregister(c.sock)
                    c.close()
                    live.discard(c)
        return conns, {"requests_before_signal": rounds_before}

    def stream(self):
        conns = []
        for i in range(STREAM_CONNS):
            c = Conn(i, connect(self.args.port))
            c.sock.setblocking(False)
            conns.append(c)
            self.sel.register(c.sock, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        live = set(conns)
        writing = set(conns)
        start = now()
        cap = start + 120.0
        while live and now() < cap:
            if self.signal_at is None and sum(c.echoed for c in conns) >= STREAM_SIGNAL_AT:
                self.stop_server()
                cap = self.signal_at + self.args.wait
            for c, mask in self.poll(min(0.05, cap - now())):
                if c not in live:
                    continue
                ok = True
                if mask & selectors.EVENT_READ:
                    ok = c.read()
                if ok and c in writing and mask & selectors.EVENT_WRITE:
                    n = min(CHUNK, STREAM_BYTES - c.sent)
                    if c.send(pattern(c.seed, c.sent, n)) < 0:
                        # the reset was consumed by the send; reading now would show EOF
                        ok = False
                    elif c.sent == STREAM_BYTES:
                        c.half_close()
                        writing.discard(c)
                        self.sel.modify(c.sock, selectors.EVENT_READ, c)
                if not ok:
                    self.sel.unregister(c.sock)
                    writing.discard(c)
                    c.close()
                    live.discard(c)
        if self.signal_at is None:   # never reached the signal point (the server failed?)
            self.stop_server()
        return conns, {"signal_at_echoed_total": STREAM_SIGNAL_AT, "stream_bytes": STREAM_BYTES}

    def churn(self):
        size = 64
        sessions = []
        slots = [None] * CHURN_LOOPS
        wake = [0.0] * CHURN_LOOPS
        start = now()
        signal_at = start + 1.0
        stop_new = signal_at + 1.5
        cap = stop_new + 3.0
        ident = 0

        def begin(k):
            nonlocal ident
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            sess = {"id": ident, "slot": k, "start": now(), "connected": None, "end": None, "result": None,
                    "echoed": 0, "port": None, "sock": s, "exact": True}
            ident += 1
            sessions.append(sess)
            err = s.connect_ex(("127.0.0.1", self.args.port))
            if err not in (0, errno.EINPROGRESS):
                finish(k, sess, "refused" if err == errno.ECONNREFUSED else "error:" + errno.errorcode.get(err, str(err)))
                return
            sess["port"] = s.getsockname()[1]
            self.sel.register(s, selectors.EVENT_WRITE, ("churn", k))
            slots[k] = sess

        def finish(k, sess, result):
            sess["end"] = now()
            sess["result"] = result
            try:
                self.sel.unregister(sess["sock"])
            except (KeyError, ValueError):
                pass
            sess["sock"].close()
            del sess["sock"]
            slots[k] = None
            wake[k] = sess["end"] + (0.005 if result == "refused" else 0.0)

        while True:
            t = now()
            if self.signal_at is None and t >= signal_at:
                self.stop_server()
            if t >= cap:
                break
            for k in range(CHURN_LOOPS):
                sess = slots[k]
                if sess is None and t < stop_new and t >= wake[k]:
                    begin(k)
                elif sess is not None and t - sess["start"] > 3.0:
                    finish(k, sess, "timeout")
            if t >= stop_new and all(s is None for s in slots):
                break
            for tag, mask in self.poll(0.002):
                k = tag[1]
                sess = slots[k]
                if sess is None:
                    continue
                s = sess["sock"]
                if sess["connected"] is None:
                    err = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    if err == errno.ECONNRESET:
                        # the handshake completed (a blocking connect() would have returned),
                        # then the server reset it before we could write
                        sess["connected"] = now()
                        finish(k, sess, "reset")
                        continue
                    if err:
                        finish(k, sess, "refused" if err == errno.ECONNREFUSED else "error:" + errno.errorcode.get(err, str(err)))
                        continue
                    sess["connected"] = now()
                    try:
                        s.sendall(pattern(sess["id"], 0, size))
                        s.shutdown(socket.SHUT_WR)
                    except OSError:   # ECONNRESET, EPIPE, or ENOTCONN once a reset has closed it
                        finish(k, sess, "reset")
                        continue
                    self.sel.modify(s, selectors.EVENT_READ, tag)
                    continue
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except (ConnectionResetError, OSError):
                    finish(k, sess, "reset")
                    continue
                if not data:
                    ok = sess["exact"] and sess["echoed"] == size
                    finish(k, sess, "served" if ok else "eof-short")
                    continue
                if data != pattern(sess["id"], sess["echoed"], len(data)) or sess["echoed"] + len(data) > size:
                    sess["exact"] = False
                sess["echoed"] += len(data)
        for k, sess in enumerate(slots):
            if sess is not None:
                finish(k, sess, "timeout")
        t0 = self.signal_at
        after = [s for s in sessions if s["end"] >= t0]   # alive at the signal or begun after it
        count = lambda r: sum(1 for s in after if s["result"] == r)
        refused = sorted(s["start"] for s in after if s["result"] == "refused")
        started_after = [s for s in sessions if s["start"] >= t0]
        served_after = [s for s in started_after if s["result"] == "served"]
        extra = {"churn": {
            "sessions": len(sessions),
            "before_signal": len(sessions) - len(after),
            "served": count("served"), "refused": count("refused"),
            "reset": count("reset") + count("eof-short"),
            "reset_detail": {"ECONNRESET": count("reset"), "EOF before the echo": count("eof-short")},
            "timeout": count("timeout"),
            "other": sum(1 for s in after if s["result"].startswith("error:")),
            "started_after_served": len(served_after),
            "first_refusal_ms": round((refused[0] - t0) * 1000, 2) if refused else None,
            "last_served_start_ms": round((max(s["start"] for s in served_after) - t0) * 1000, 2) if served_after else None,
            "sessions_list": [{"port": s["port"], "start": s["start"], "end": s["end"], "result": s["result"],
                               "echoed": s["echoed"]} for s in after],
        }}
        return [], extra

    def go(self):
        conns, extra = getattr(self, self.args.load)()
        for c in conns:
            if c.closed_at is None:
                try:
                    self.sel.unregister(c.sock)
                except (KeyError, ValueError):
                    pass
                c.close()
        self.clients_closed_at = now()
        if self.exit_at is None:
            self.wait_exit(self.args.exit_wait)
        return self.result(conns, extra)


# -- the capture -----------------------------------------------------------------------------

def read_pcap(path):
    """Yields (ts, sport, dport, flags, seq, ack, payload_len) of every IPv4 TCP packet."""
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = struct.unpack("<I", head[:4])[0]
        if magic in (0xa1b2c3d4, 0xa1b23c4d):
            endian = "<"
        else:
            endian = ">"
            magic = struct.unpack(">I", head[:4])[0]
        nano = magic == 0xa1b23c4d
        linktype = struct.unpack(endian + "I", head[20:24])[0] & 0x0FFFFFFF
        link = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0, 228: 0}.get(linktype)
        if link is None:
            raise SystemExit("pcap link type %d not handled" % linktype)
        rec = struct.Struct(endian + "IIII")
        while True:
            h = f.read(16)
            if len(h) < 16:
                return
            sec, frac, incl, _ = rec.unpack(h)
            data = f.read(incl)
            if len(data) < incl:
                return
            ip = data[link:]
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6:
                continue
            ihl = (ip[0] & 15) * 4
            total = struct.unpack_from("!H", ip, 2)[0]
            tcp = ip[ihl:]
            if len(tcp) < 14:
                continue
            sport, dport, seq, ack, off = struct.unpack_from("!HHIIB", tcp, 0)
            flags = tcp[13]
            yield sec + frac / (1e9 if nano else 1e6), sport, dport, flags, seq, ack, total - ihl - (off >> 4) * 4


FIN, SYN, RST, ACK = 1, 2, 4, 16


def wire(args):
    port = args.port
    sessions = {}   # client port -> [session]
    refusals = []
    for ts, sport, dport, flags, seq, ack, plen in read_pcap(args.pcap):
        if dport == port:       # client -> server
            if flags & SYN and not flags & ACK:
                lst = sessions.get(sport)
                if lst and lst[-1]["cisn"] == seq:
                    continue   # a retransmitted SYN
                sessions.setdefault(sport, []).append({"start": ts, "cisn": seq, "sisn": None, "cmax": 0,
                                                       "fin": None, "rst": None, "fin_seq": None, "fin_ack": None,
                                                       "rst_after_fin": False})
                continue
            lst = sessions.get(sport)
            if not lst:
                continue
            s = lst[-1]
            end = (seq - s["cisn"] - 1 + plen) & 0xffffffff
            if plen and end < 1 << 31:
                s["cmax"] = max(s["cmax"], end)
        elif sport == port:     # server -> client
            lst = sessions.get(dport)
            if not lst:
                continue
            s = lst[-1]
            if flags & SYN:
                s["sisn"] = seq
                continue
            if flags & RST:
                if s["sisn"] is None:
                    if s["rst"] is None:
                        refusals.append(ts)
                        s["rst"] = ts
                        s["refused"] = True
                elif s["rst"] is None:
                    s["rst"] = ts
                    if s["fin"] is not None:
                        s["rst_after_fin"] = True
                continue
            if flags & FIN and s["fin"] is None and s["sisn"] is not None:
                s["fin"] = ts
                s["fin_seq"] = (seq - s["sisn"] - 1 + plen) & 0xffffffff
                s["fin_ack"] = (ack - s["cisn"] - 1) & 0xffffffff if flags & ACK else None
    with open(args.run) as f:
        run = json.load(f)
    t0 = run["signal_at"]
    out = {"server_fin": 0, "server_rst": 0, "fin_then_rst": 0, "refusals": len([t for t in refusals if t >= t0 - 0.01]),
           "owed_at_fin": 0, "owed_bytes": 0, "mismatches": [], "unmatched": 0, "other_sessions": 0}
    matched = set()

    def first_before(s, limit):
        """The server's first FIN or RST on session s up to the client's close: (kind, time)."""
        fin = s["fin"] if s["fin"] is not None and s["fin"] <= limit else None
        rst = s["rst"] if s["rst"] is not None and s["rst"] <= limit else None
        if fin is not None and (rst is None or fin <= rst):
            kind, at = "FIN", fin
        elif rst is not None:
            kind, at = "RST", rst
        else:
            return None, None
        out["server_fin" if kind == "FIN" else "server_rst"] += 1
        if kind == "FIN" and s["rst"] is not None:
            out["fin_then_rst"] += 1
        return kind, at

    # Per connection (idle, busy, stream): the capture's first FIN or RST from the server port
    # before the client closed, and what the server's FIN acknowledged.
    for c in run["conns"]:
        lst = sessions.get(c["port"])
        if not lst:
            out["unmatched"] += 1
            continue
        s = lst[-1]
        matched.add(id(s))
        seen, at = first_before(s, c["closed_at"] if c["closed_at"] else float("inf"))
        wire_owed = None
        if seen == "FIN" and s["fin_ack"] is not None:
            wire_owed = max(0, min(s["fin_ack"], s["cmax"]) - s["fin_seq"])
            if wire_owed > 0:
                out["owed_at_fin"] += 1
                out["owed_bytes"] += wire_owed
        c["wire"] = {"first": seen, "ms": None if at is None else round((at - t0) * 1000, 2),
                     "owed": wire_owed, "fin_then_rst": bool(seen == "FIN" and s["rst"] is not None)}
        lag = None if at is None or c["term_ms"] is None else c["term_ms"] - c["wire"]["ms"]
        if seen == c["term"] and lag is not None and lag > 20 and run["load"] != "stream":
            # the client saw its terminal event late (its loop or its CPU was held up): its own
            # times and what it sent meanwhile are not what the server did. (A stream's FIN
            # waits behind megabytes of echo in the client's receive queue: late by nature.)
            out["mismatches"].append("conn %d: the client saw the %s %.0f ms after it was on the wire" % (c["id"], seen, lag))
        if seen != c["term"]:
            out["mismatches"].append("conn %d: client saw %s, the wire shows %s first" % (c["id"], c["term"], seen))
        elif seen == "FIN" and wire_owed and not (c["owed"] or 0) > 0:
            # the client's figure includes every byte acknowledged until it read the FIN, so it
            # cannot be below what the FIN itself acknowledged
            out["mismatches"].append("conn %d: client owed %s, the server's FIN acknowledged %s unechoed"
                                     % (c["id"], c["owed"], wire_owed))
    churn = run.get("churn")
    if churn:
        # Per session alive at or begun after the signal: served must show the server's FIN
        # first, a reset its RST, an EOF before the echo its FIN; a refusal a SYN answered by RST.
        expect = {"served": "FIN", "reset": "RST", "eof-short": "FIN"}
        for sess in churn["sessions_list"]:
            if sess["port"] is None:
                continue
            cand = [s for s in sessions.get(sess["port"], []) if sess["start"] - 0.01 <= s["start"] <= sess["end"]]
            if not cand:
                out["unmatched"] += 1
                continue
            s = cand[-1]
            matched.add(id(s))
            if sess["result"] == "refused" or s.get("refused"):
                if not (sess["result"] == "refused" and s.get("refused")):
                    out["mismatches"].append("churn port %d: client %s, the wire shows %s"
                                             % (sess["port"], sess["result"], "a refusal" if s.get("refused") else "an accepted connection"))
                continue
            seen, _ = first_before(s, sess["end"])
            want = expect.get(sess["result"])
            if want and seen != want:
                out["mismatches"].append("churn port %d: client %s, the wire shows %s first" % (sess["port"], sess["result"], seen))
        if churn["refused"] != out["refusals"]:
            out["mismatches"].append("churn: %d refusals seen by clients, %d SYNs answered with RST on the wire"
                                     % (churn["refused"], out["refusals"]))
    # Sessions on the port that are none of the clients' (grace's own backlog sentinel, say).
    out["other_sessions"] = sum(1 for lst in sessions.values() for s in lst if id(s) not in matched and not s.get("refused"))
    dropped = None
    if args.tcpdump_log and os.path.exists(args.tcpdump_log):
        for line in open(args.tcpdump_log, errors="replace"):
            if "dropped by kernel" in line:
                dropped = int(line.split()[0])
    out["dropped_by_kernel"] = dropped
    if dropped:
        out["mismatches"].append("tcpdump: %d packets dropped by the kernel" % dropped)
    run["wire"] = out
    with open(args.run, "w") as f:
        json.dump(run, f, indent=1)


# -- the table --------------------------------------------------------------------------------

def summarize(run):
    """The figures of one run that the table shows."""
    conns = run["conns"]
    w = run.get("wire") or {}
    m = {}
    if conns:
        m["fin"] = sum(1 for c in conns if c["term"] == "FIN")
        m["rst"] = sum(1 for c in conns if c["term"] == "RST")
        m["open"] = sum(1 for c in conns if c["term"] is None)

        # The client's view: when it read the FIN, its TCP had been told of bytes received
        # (tcpi_bytes_acked) that never came back. The capture adds how many of those the
        # server's FIN itself acknowledged (received before the server ended its side).
        fin_owed = [c for c in conns if c["term"] == "FIN" and (c["owed"] or 0) > 0]
        m["fin_owed"] = len(fin_owed)
        m["owed_bytes"] = sum(c["owed"] for c in fin_owed)
        if any(c.get("wire") for c in conns):
            m["fin_owed_wire"] = sum(1 for c in fin_owed if (c.get("wire") or {}).get("owed"))
        m["rst_lost"] = sum(max(0, c["owed"] or 0) for c in conns if c["term"] == "RST")
        m["corrupt"] = sum(1 for c in conns if not c["exact"])
        m["complete"] = sum(1 for c in conns if c["term"] == "FIN" and c["exact"] and c["echoed"] == c["sent"])
        times = sorted(c["term_ms"] for c in conns if c["term_ms"] is not None)
        if times:
            m["t50"] = statistics.median(times)
            m["tmax"] = times[-1]
    ch = run.get("churn")
    if ch:
        m["served"], m["refused"], m["reset"] = ch["served"], ch["refused"], ch["reset"]
        m["timeout"] = ch["timeout"]
        m["other"] = ch["other"]
        if ch["first_refusal_ms"] is not None:
            m["first_refusal"] = ch["first_refusal_ms"]
    if run["exit_ms"] is not None:
        m["exit"] = run["exit_ms"]
    m["exit_late"] = 1 if run.get("exit_after_clients_closed") else 0
    if w:
        m["w_fin"], m["w_rst"] = w["server_fin"], w["server_rst"]
        m["w_fin_rst"] = w["fin_then_rst"]
        m["mismatch"] = len(w["mismatches"])
    m["sanity"] = len(run.get("sanity") or [])
    return m


def cell(values, fmt="{:.0f}"):
    values = [v for v in values if v is not None]
    if not values:
        return "–"
    med = statistics.median(values)
    lo, hi = min(values), max(values)
    if lo == hi:
        return fmt.format(med)
    return "%s (%s–%s)" % (fmt.format(med), fmt.format(lo), fmt.format(hi))


def table(args):
    runs = []
    for path in args.runs:
        with open(path) as f:
            runs.append(json.load(f))
    order_s = []
    for r in runs:
        if r["server"] not in order_s:
            order_s.append(r["server"])
    loads = [l for l in ("idle", "busy", "stream", "churn") if any(r["load"] == l for r in runs)]
    print("| server | load | rounds | client saw FIN / RST / neither | **FIN while owed** (conns, bytes) | "
          "bytes lost behind RST | not byte-exact | ended clean | after the signal: served / refused / reset | "
          "first refusal ms | terminal event ms p50 / max | exit ms | wire: server FIN / RST (FIN then RST), mismatches |")
    print("| " + " | ".join(["---"] * 13) + " |")
    notes = []
    for s in order_s:
        for l in loads:
            rs = [r for r in runs if r["server"] == s and r["load"] == l]
            if not rs:
                continue
            ms = [summarize(r) for r in rs]
            col = lambda k: [m.get(k) for m in ms]
            has = lambda k: any(m.get(k) is not None for m in ms)
            if l == "churn":
                ev = owed = lost = corrupt = clean = "–"
                conn = "%s / %s / %s" % (cell(col("served")), cell(col("refused")), cell(col("reset")))
                if any(m.get("timeout") for m in ms):
                    conn += " (+%s timed out)" % cell(col("timeout"))
                if any(m.get("other") for m in ms):
                    conn += " (+%s other errors)" % cell(col("other"))
                first = cell(col("first_refusal"), "{:.1f}")
                times = "–"
            else:
                ev = "%s / %s / %s" % (cell(col("fin")), cell(col("rst")), cell(col("open")))
                owed = "%s, %s B" % (cell(col("fin_owed")), cell(col("owed_bytes")))
                if any(m.get("fin_owed") for m in ms):
                    owed = "**" + owed + "**"
                    if has("fin_owed_wire"):
                        owed += "; %s before the FIN" % cell(col("fin_owed_wire"))
                lost = cell(col("rst_lost"))
                corrupt = cell(col("corrupt"))
                clean = cell(col("complete"))
                conn = first = "–"
                times = "%s / %s" % (cell(col("t50"), "{:.1f}"), cell(col("tmax"), "{:.1f}")) if has("t50") else "–"
            ex = cell(col("exit"))
            if ex != "–" and any(m["exit_late"] for m in ms):
                ex += "*"
            if any(m.get("exit") is None for m in ms):
                ex += " (not exited in %s of %s)" % (sum(1 for m in ms if m.get("exit") is None), len(ms))
            wirec = "–"
            if has("w_fin"):
                wirec = "%s / %s (%s), %s" % (cell(col("w_fin")), cell(col("w_rst")), cell(col("w_fin_rst")), cell(col("mismatch")))
            print("| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |"
                  % (s, l, len(rs), ev, owed, lost, corrupt, clean, conn, first, times, ex, wirec))
            for r in rs:
                for x in (r.get("sanity") or []):
                    notes.append("%s %s: %s" % (s, l, x))
    print()
    print("`*` the server exited only after the clients, at the end of their wait, closed connections it had kept open.")
    for n in notes:
        print("\n- " + n)


def brief(args):
    with open(args.run) as f:
        run = json.load(f)
    m = summarize(run)
    parts = []
    if run["conns"]:
        parts.append("FIN %d RST %d neither %d, FIN while owed %d (%d B; %s acknowledged before the FIN), lost behind RST %d B, not exact %d, clean %d"
                     % (m["fin"], m["rst"], m["open"], m["fin_owed"], m["owed_bytes"], m.get("fin_owed_wire", "?"), m["rst_lost"], m["corrupt"], m["complete"]))
        if "t50" in m:
            parts.append("terminal p50 %.1f max %.1f ms" % (m["t50"], m["tmax"]))
    if run.get("churn"):
        ch = run["churn"]
        parts.append("after the signal served %d refused %d reset %d timeout %d, first refusal %s ms"
                     % (ch["served"], ch["refused"], ch["reset"], ch["timeout"], ch["first_refusal_ms"]))
    parts.append("exit %s ms%s" % (run["exit_ms"], " (after the clients closed)" if run.get("exit_after_clients_closed") else ""))
    w = run.get("wire")
    if w:
        parts.append("wire FIN %d RST %d, %d mismatches" % (w["server_fin"], w["server_rst"], len(w["mismatches"])))
        parts.extend(w["mismatches"][:3])
    parts.extend(run.get("sanity") or [])
    print("; ".join(parts))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--load", required=True, choices=["idle", "busy", "stream", "churn"])
    r.add_argument("--server", default="server")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--pid", type=int, required=True)
    r.add_argument("--signal", default="TERM")
    r.add_argument("--deadline", type=float, default=30.0)
    r.add_argument("--wait", type=float, required=True, help="seconds after the signal (busy: after the half-close) to wait for terminal events")
    r.add_argument("--exit-wait", type=float, default=5.0)
    r.add_argument("--out", required=True)
    w = sub.add_parser("wire")
    w.add_argument("--pcap", required=True)
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--run", required=True)
    w.add_argument("--tcpdump-log")
    t = sub.add_parser("table")
    t.add_argument("runs", nargs="+")
    b = sub.add_parser("brief")
    b.add_argument("run")
    args = p.parse_args()
    if args.cmd == "run":
        result = Run(args).go()
        with open(args.out, "w") as f:
            json.dump(result, f, indent=1)
    elif args.cmd == "wire":
        wire(args)
    elif args.cmd == "brief":
        brief(args)
    else:
        table(args)


if __name__ == "__main__":
    main()
