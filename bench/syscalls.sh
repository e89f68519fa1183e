#!/usr/bin/env bash
# System calls per churn session (connect, send 64 B, half-close, read the echo to EOF, close),
# counted on the server side: grace proxy (kernel-chosen and --upstream-source-ports upstream
# ports) and HAProxy in front of bench/echo-backend.c, and grace server against raw Netty
# (bench/RawNettyEcho.java). Each contender is warmed up first (WARMUP of churn), then counted
# over DURATION of bench/echo-load.c churn with its own source ports. Counts come from the
# kernel's syscall tracepoints (perf stat), or from strace -c -f where perf cannot read them
# (strace slows the contender, not the counts). The JVM's own housekeeping (its compiler threads,
# futex and gettid) is counted too: it is part of what a session costs while it runs.
# Needs root for the tracepoints. Loopback only; ends only what it started.
#   WARMUP=15s DURATION=3s bench/syscalls.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

warmup="${WARMUP:-15s}"
count_seconds="${DURATION:-3s}"
count_seconds="${count_seconds%s}"
client_ports="${CLIENT_PORTS:-1025-20999}"
cc -O2 -o "$tmp/echo-backend" "$root/bench/echo-backend.c"
cc -O2 -o "$tmp/echo-load" "$root/bench/echo-load.c"
background "$tmp/backend.out" "$load_cpu" "$tmp/echo-backend" 0
backend="$(port_of "$tmp/backend.out" "${pids[-1]}")"

if perf stat -e 'syscalls:sys_enter_close' -- true >/dev/null 2>&1; then counter=perf
elif command -v strace >/dev/null; then counter=strace
else echo "bench/syscalls.sh needs perf (with syscall tracepoints) or strace" >&2; exit 1; fi

count() { # name, pid, port -> one table row of system calls per session
  local name="$1" pid="$2" port="$3" out sessions
  pin "$load_cpu" "$tmp/echo-load" 127.0.0.1 "$port" 50 64 "${warmup%s}" churn "$client_ports" >/dev/null
  if [ "$counter" = perf ]; then
    perf stat -x, -e 'syscalls:sys_enter_*' -p "$pid" -o "$tmp/$name.count" &
  else
    strace -f -c -q -p "$pid" -o "$tmp/$name.count" &
  fi
  local counting=$!
  sleep 1
  out="$(pin "$load_cpu" "$tmp/echo-load" 127.0.0.1 "$port" 8 64 "$count_seconds" churn "$client_ports")"
  sleep 0.5
  kill -INT "$counting"; wait "$counting" || true
  # Sessions that ended while counting, including those after the load's own window.
  sessions="$(sed -n 's/.*requests=\([0-9]*\).*/\1/p' <<<"$out")"
  if [ "$counter" = perf ]; then
    awk -F, '$1 + 0 > 0 { sub("syscalls:sys_enter_", "", $3); print $3, $1 }' "$tmp/$name.count"
  else
    # % time, seconds, usecs/call, calls, [errors], syscall
    awk '$4 ~ /^[0-9]+$/ && $NF ~ /^[a-z_0-9]+$/ && $NF != "total" { print $NF, $4 }' "$tmp/$name.count"
  fi | awk -v n="$sessions" -v name="$name" '
    { calls[$1] += $2; total += $2 }
    END {
      printf "%s total=%.1f", name, total / n
      for (c in calls) if (calls[c] / n >= 0.05) printf " %s=%.2f", c, calls[c] / n
      printf "\n"
    }'
}

start_grace() { # name, flags...
  local name="$1"; shift
  background "$tmp/$name.out" "$server_cpu" java -jar "$jar" "$@" --log error
  local port; port="$(port_of "$tmp/$name.out" "${pids[-1]}")"
  count "$name" "${pids[-1]}" "$port"
  kill "${pids[-1]}"
}

start_grace grace-proxy proxy --listen 127.0.0.1:0 --to "127.0.0.1:$backend"
start_grace grace-proxy-ports proxy --listen 127.0.0.1:0 --to "127.0.0.1:$backend" --upstream-source-ports 24000-25999
if command -v haproxy >/dev/null; then
  port="$(free_port 21001)"
  haproxy_relay "$port" "$backend" >"$tmp/haproxy.cfg"
  background "$tmp/haproxy.log" "$server_cpu" haproxy -db -f "$tmp/haproxy.cfg"
  until ss -ltnH "sport = :$port" | grep -q .; do sleep 0.1; done
  count haproxy "${pids[-1]}" "$port"
fi
start_grace grace-server server --port 0
background "$tmp/raw.out" "$server_cpu" java -cp "$jar" "$root/bench/RawNettyEcho.java" 0
count raw-netty-server "${pids[-1]}" "$(port_of "$tmp/raw.out" "${pids[-1]}")"
