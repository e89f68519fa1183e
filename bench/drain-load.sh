#!/usr/bin/env bash
# Drain under load: stops each server under each of four loads and reports what every client saw
# (docs/BENCHMARKS.md, "Drain under load"). Servers: grace server (SIGTERM), grace proxy (SIGTERM),
# HAProxy in TCP mode (SIGUSR1, soft stop), nginx stream (SIGQUIT to its master, graceful
# shutdown), each proxy in front of the same raw Netty echo backend that is never stopped, and
# the raw Netty echo itself (SIGTERM ends its JVM). Loads (bench/drain_load.py): idle, busy,
# stream, churn. For each deadline D: grace runs with --drain-timeout D; HAProxy with
# hard-stop-after D and nginx with worker_shutdown_timeout D when D is below UNBOUNDED_FROM
# (30), and with their plain, unbounded soft stops from there on. Each run has a capture on lo of
# the server's port, and the clients' view is checked against it.
# Progress on stderr; one markdown table per deadline on stdout. Needs root for tcpdump on lo;
# loopback only; ends only the processes it started, by PID.
#   ROUNDS=3 DEADLINES="2 30" SERVERS="grace-server grace-proxy haproxy nginx raw-netty" \
#     LOADS="idle busy stream churn" KEEP=dir bench/drain-load.sh     # KEEP: keep each run's JSON and capture
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deadlines="${DEADLINES:-2 30}"
servers="${SERVERS:-grace-server grace-proxy haproxy nginx raw-netty}"
loads="${LOADS:-idle busy stream churn}"
unbounded_from="${UNBOUNDED_FROM:-30}"
harness="$root/bench/drain_load.py"

for tool in python3 tcpdump; do
  command -v "$tool" >/dev/null || { echo "drain-load: $tool is needed" >&2; exit 1; }
done
# The harness reads tcpi_bytes_acked at a fixed offset of struct tcp_info: check it against the
# installed header (the harness also checks it on live sockets before every signal).
if command -v cc >/dev/null && [ -f /usr/include/linux/tcp.h ]; then
  printf '#include <stdio.h>\n#include <stddef.h>\n#include <linux/tcp.h>\nint main(void) { printf("%%zu", offsetof(struct tcp_info, tcpi_bytes_acked)); return 0; }\n' >"$tmp/offset.c"
  cc -o "$tmp/offset" "$tmp/offset.c"
  want="$(sed -n 's/^TCP_INFO_BYTES_ACKED = \([0-9]*\).*/\1/p' "$harness")"
  got="$("$tmp/offset")"
  [ "$got" = "$want" ] || { echo "drain-load: tcpi_bytes_acked is at $got in linux/tcp.h, the harness reads $want" >&2; exit 1; }
fi

alive() { # pid: running (a zombie is not)
  local st; st="$(ps -o stat= -p "$1" 2>/dev/null || true)"
  [ -n "$st" ] && [[ "$st" != Z* ]]
}

forget() { # pid: drop it from the cleanup list once reaped, so a reused PID is never signalled
  local keep=() p
  for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

end_pid() { # pid: wait a moment, then TERM, then KILL (and the children it started, by parent PID)
  local pid="$1" i
  for i in $(seq 20); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 30); do alive "$pid" || break; sleep 0.1; done
  fi
  if alive "$pid"; then
    for child in $(pgrep -P "$pid" || true); do kill -KILL "$child" 2>/dev/null || true; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

wait_listen() { # port, pid: fail rather than wait forever if the server died
  local i
  for i in $(seq 100); do
    ss -ltnH "sport = :$1" | grep -q . && return 0
    alive "$2" || { echo "drain-load: a server failed to start on port $1" >&2; return 1; }
    sleep 0.1
  done
  echo "drain-load: nothing listens on $1 after 10 s" >&2; return 1
}

mkdir -p "$tmp/classes"
javac -nowarn -cp "$jar" -d "$tmp/classes" "$root/bench/RawNettyEcho.java" 2>/dev/null
raw_echo=(java -cp "$jar:$tmp/classes" RawNettyEcho 0)

backend=""
if [[ " $servers " =~ " grace-proxy " || " $servers " =~ " haproxy " || " $servers " =~ " nginx " ]]; then
  background "$tmp/backend.out" "$server_cpu" "${raw_echo[@]}"
  backend="$(port_of "$tmp/backend.out" "${pids[-1]}")"
fi
nginx_ok=""
if [ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then nginx_ok=1; fi

label() { # server, deadline -> the row's name
  local bounded=1
  [ "$2" -lt "$unbounded_from" ] || bounded=""
  case "$1" in
    grace-server) echo "grace server, --drain-timeout $2s" ;;
    grace-proxy) echo "grace proxy, --drain-timeout $2s" ;;
    haproxy) if [ -n "$bounded" ]; then echo "HAProxy, hard-stop-after $2s"; else echo "HAProxy, soft stop"; fi ;;
    nginx) if [ -n "$bounded" ]; then echo "nginx stream, worker_shutdown_timeout $2s"; else echo "nginx stream, graceful"; fi ;;
    raw-netty) echo "raw Netty (dies on SIGTERM)" ;;
  esac
}

# start_server server deadline: sets spid, sport, ssig, slog
start_server() {
  local d="$2" dir="$tmp/srv"
  rm -rf "$dir"; mkdir -p "$dir"
  slog="$dir/out"
  case "$1" in
    grace-server)
      background "$slog" "$server_cpu" java -jar "$jar" server --port 0 --drain-timeout "${d}s" --log warn
      spid="${pids[-1]}"; sport="$(port_of "$slog" "$spid")"; ssig=TERM ;;
    grace-proxy)
      background "$slog" "$server_cpu" java -jar "$jar" proxy --listen 127.0.0.1:0 --to "127.0.0.1:$backend" \
        --drain-timeout "${d}s" --log warn
      spid="${pids[-1]}"; sport="$(port_of "$slog" "$spid")"; ssig=TERM ;;
    raw-netty)
      background "$slog" "$server_cpu" "${raw_echo[@]}"
      spid="${pids[-1]}"; sport="$(port_of "$slog" "$spid")"; ssig=TERM ;;
    haproxy)
      sport="$(free_port 21001)"
      { if [ "$d" -lt "$unbounded_from" ]; then haproxy_defaults | sed "/^global/a\\  hard-stop-after ${d}s"; else haproxy_defaults; fi
        cat <<CFG
frontend relay
  bind 127.0.0.1:$sport
  default_backend echo
backend echo
  server echo 127.0.0.1:$backend
CFG
      } >"$dir/haproxy.cfg"
      background "$slog" "$server_cpu" haproxy -db -f "$dir/haproxy.cfg"
      spid="${pids[-1]}"; wait_listen "$sport" "$spid"; ssig=USR1 ;;
    nginx)
      sport="$(free_port 21101)"
      local wst=""
      [ "$d" -ge "$unbounded_from" ] || wst="worker_shutdown_timeout ${d}s;"
      # proxy_half_close (nginx 1.21.4+): without it nginx closes both legs on the client's
      # half-close and the echo still on its way is lost (docs/BENCHMARKS.md, proxies).
      cat >"$dir/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log notice;
$wst
events { worker_connections 4096; }
stream { server { listen 127.0.0.1:$sport; proxy_pass 127.0.0.1:$backend; proxy_half_close on; } }
CFG
      background "$slog" "$server_cpu" /usr/sbin/nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf"
      spid="${pids[-1]}"; wait_listen "$sport" "$spid"; ssig=QUIT ;;
  esac
}

wait_for() { # seconds, file, pattern
  local i
  for i in $(seq $(( $1 * 20 ))); do grep -q "$3" "$2" 2>/dev/null && return 0; sleep 0.05; done
  return 1
}

waits() { # load, deadline -> seconds the clients wait for terminal events (see drain_load.py run --wait)
  case "$1" in
    idle) if [ "$2" -lt "$unbounded_from" ]; then echo $(( $2 + 2 )); else echo 6; fi ;;
    busy) echo 3 ;;           # after the half-close at +5 s
    stream) if [ "$2" -lt "$unbounded_from" ]; then echo $(( $2 + 3 )); else echo 40; fi ;;
    churn) echo 0 ;;
  esac
}

# The runs: round-major and interleaved, so drift over the run touches every server alike.
selected=()
for s in $servers; do
  case "$s" in
    grace-server|grace-proxy|raw-netty) selected+=("$s") ;;
    haproxy) if command -v haproxy >/dev/null; then selected+=("$s"); else echo "drain-load: haproxy not installed, skipped" >&2; fi ;;
    nginx) if [ -n "$nginx_ok" ]; then selected+=("$s"); else echo "drain-load: nginx with the stream module not installed, skipped" >&2; fi ;;
    *) echo "drain-load: unknown server $s (grace-server grace-proxy haproxy nginx raw-netty)" >&2; exit 2 ;;
  esac
done
for l in $loads; do
  case "$l" in idle|busy|stream|churn) ;; *) echo "drain-load: unknown load $l (idle busy stream churn)" >&2; exit 2 ;; esac
done
for d in $deadlines; do [[ "$d" =~ ^[0-9]+$ ]] || { echo "drain-load: DEADLINES are whole seconds" >&2; exit 2; }; done
total=$(( rounds * $(wc -w <<<"$deadlines") * ${#selected[@]} * $(wc -w <<<"$loads") ))
mkdir -p "$tmp/runs"
n=0
started=$SECONDS
for r in $(seq "$rounds"); do
  for d in $deadlines; do
    for s in "${selected[@]}"; do
      for l in $loads; do
        n=$((n + 1))
        t_run=$SECONDS
        json="$tmp/runs/$d.$s.$l.$r.json"
        start_server "$s" "$d"
        background "$tmp/tcpdump.log" "$load_cpu" tcpdump -i lo -nn -U --immediate-mode -B 16384 -s 128 -w "$tmp/f.pcap" "tcp port $sport"
        tpid="${pids[-1]}"
        wait_for 10 "$tmp/tcpdump.log" "listening on" || { echo "drain-load: tcpdump did not start; see $tmp/tcpdump.log" >&2; exit 1; }
        if ! pin "$load_cpu" python3 "$harness" run --load "$l" --server "$(label "$s" "$d")" --port "$sport" --pid "$spid" \
            --signal "$ssig" --deadline "$d" --wait "$(waits "$l" "$d")" --out "$json" 2>"$tmp/harness.err"; then
          echo "drain-load: the clients failed ($s, $l, ${d}s, round $r):" >&2; cat "$tmp/harness.err" >&2; rm -f "$json"
        fi
        end_pid "$spid"
        sleep 1                       # the last segments reach the capture
        kill -INT "$tpid" 2>/dev/null || true
        end_pid "$tpid"
        if [ -f "$json" ]; then
          python3 "$harness" wire --pcap "$tmp/f.pcap" --port "$sport" --run "$json" --tcpdump-log "$tmp/tcpdump.log"
          drained="$(grep -h '^drained:' "$slog" 2>/dev/null | head -1 || true)"
          printf '[%d/%d %ds] round %d, %ss, %s, %s: %s%s\n' "$n" "$total" "$((SECONDS - t_run))" "$r" "$d" "$s" "$l" \
            "$(python3 "$harness" brief "$json")" "${drained:+ | $drained}" >&2
        fi
        if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP"; mv "$tmp/f.pcap" "$KEEP/$d.$s.$l.$r.pcap"; else rm -f "$tmp/f.pcap"; fi
      done
    done
  done
done
echo "drain-load: $n runs in $((SECONDS - started)) s" >&2
[ -z "${KEEP:-}" ] || { mkdir -p "$KEEP"; cp "$tmp"/runs/*.json "$KEEP"/ 2>/dev/null || true; }

for d in $deadlines; do
  echo
  echo "### deadline ${d} s ($rounds rounds; median, min–max)"
  echo
  files=()
  for s in "${selected[@]}"; do for l in $loads; do for r in $(seq "$rounds"); do
    if [ -f "$tmp/runs/$d.$s.$l.$r.json" ]; then files+=("$tmp/runs/$d.$s.$l.$r.json"); fi
  done; done; done
  [ "${#files[@]}" -eq 0 ] || python3 "$harness" table "${files[@]}"
done
