#!/usr/bin/env bash
# A restart under load (docs/BENCHMARKS.md, "Restart under load"): 8 loops of connect / 64 B
# echo / close and 50 busy ping-pong clients (bench/RestartLoad.java) run for LOAD_SECONDS; at
# RESTART_AT seconds after the clients started the service is restarted, each its own way:
#   grace-handoff        a second grace server --handoff PATH takes the listener over; the first drains
#   grace-proxy-handoff  the same with grace proxy (in front of a grace echo backend)
#   grace-stop-start     SIGTERM to the grace server, then a new one started on the same port
#   haproxy-reload       HAProxy 2.6 master-worker (-W -S), USR2 to the master (in front of the backend)
#   nginx-reload         nginx stream proxy, HUP to the master (in front of the backend)
# Counted by the clients: connects refused, connections reset after a successful connect, bytes
# lost on established connections, connects slower than 500 ms (a dropped SYN); for grace, the
# sessions each process served (its outcome lines). One markdown table on stdout, progress on
# stderr. Loopback only; ends only the processes it started, by PID.
#   ROUNDS=3 ROWS="grace-handoff grace-stop-start haproxy-reload nginx-reload" bench/restart.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
rows="${ROWS:-grace-handoff grace-proxy-handoff grace-stop-start haproxy-reload nginx-reload}"
load_seconds="${LOAD_SECONDS:-10}"
restart_at="${RESTART_AT:-2}"
java_bin="$(command -v java)"

wait_listen() { # port, pid: until something listens on the port
  for _ in $(seq 1 300); do
    ss -ltnH "sport = :$1" | grep -q . && return
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then echo "restart: a process failed to start" >&2; exit 1; fi
    sleep 0.05
  done
  echo "restart: nothing listens on $1" >&2; exit 1
}

wait_line() { # log, pattern, pid: until the log has a line matching
  for _ in $(seq 1 300); do
    grep -q "$2" "$1" 2>/dev/null && return
    if ! kill -0 "$3" 2>/dev/null; then echo "restart: process $3 ended before '$2'; see $1" >&2; cat "$1" >&2; exit 1; fi
    sleep 0.05
  done
  echo "restart: no '$2' in $1" >&2; exit 1
}

stop_pid() { # pid: SIGTERM, then wait for it (bounded)
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 1 400); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$1" 2>/dev/null || true
}

backend_port=""
start_backend() {
  backend_port="$(free_port 23001)"
  background "$tmp/backend.log" "$server_cpu" java -jar "$jar" server --port "$backend_port" --log warn
  backend_pid="${pids[-1]}"
  wait_listen "$backend_port" "$backend_pid"
}

haproxy_cfg() { # port
  cat <<CFG
global
  maxconn 9000
  hard-stop-after 30s
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
frontend relay
  bind 127.0.0.1:$1
  default_backend echo
backend echo
  server echo 127.0.0.1:$backend_port
CFG
}

nginx_cfg() { # port
  cat <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process on;
worker_processes 1;
worker_shutdown_timeout 30s;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log warn;
events { worker_connections 20000; }
stream { server { listen 127.0.0.1:$1; proxy_pass 127.0.0.1:$backend_port; } }
CFG
}

start_grace() { # log, command (server|proxy), port, extra args... -> sets started_pid once it listens
  local log="$1" command="$2" port="$3"; shift 3
  if [ "$command" = server ]; then
    background "$log" "$server_cpu" java -jar "$jar" server --port "$port" --drain-timeout 10s "$@"
  else
    background "$log" "$server_cpu" java -jar "$jar" proxy --listen "127.0.0.1:$port" --to "127.0.0.1:$backend_port" --drain-timeout 10s "$@"
  fi
  started_pid="${pids[-1]}"; wait_line "$log" '^listening on' "$started_pid"
}

# one ROW -> prints "refused reset lost slow old_served new_served churn sessions took_ms"
one() {
  local row="$1" port old_pid new_pid old_log="$tmp/old.log" new_log="$tmp/new.log" load_log="$tmp/load.log"
  local sock="$tmp/grace.handoff" old_served="-" new_served="-"
  rm -f "$sock" "$old_log" "$new_log"
  port="$(free_port 22001)"
  case "$row" in
    grace-handoff|grace-stop-start) start_grace "$old_log" server "$port" --handoff "$sock"; old_pid="$started_pid" ;;
    grace-proxy-handoff) start_grace "$old_log" proxy "$port" --handoff "$sock"; old_pid="$started_pid" ;;
    haproxy-reload)
      haproxy_cfg "$port" >"$tmp/haproxy.cfg"
      background "$old_log" "$server_cpu" haproxy -W -db -S "$tmp/master.sock" -f "$tmp/haproxy.cfg"
      old_pid="${pids[-1]}"; wait_listen "$port" "$old_pid" ;;
    nginx-reload)
      mkdir -p "$tmp/nginx"; nginx_cfg "$port" >"$tmp/nginx/nginx.conf"
      background "$old_log" "$server_cpu" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
      old_pid="${pids[-1]}"; wait_listen "$port" "$old_pid" ;;
  esac
  pin "$load_cpu" "$java_bin" -cp "$tmp/classes" RestartLoad "$port" "$load_seconds" 8 50 >"$load_log" 2>&1 &
  local load_pid=$!
  wait_line "$load_log" '^started' "$load_pid"
  sleep "$restart_at"
  local restart_started; restart_started="$(date +%s%N)"
  case "$row" in
    grace-handoff) start_grace "$new_log" server "$port" --handoff "$sock"; new_pid="$started_pid" ;;
    grace-proxy-handoff) start_grace "$new_log" proxy "$port" --handoff "$sock"; new_pid="$started_pid" ;;
    grace-stop-start) kill -TERM "$old_pid"; start_grace "$new_log" server "$port"; new_pid="$started_pid" ;;
    haproxy-reload) kill -USR2 "$old_pid"; new_pid="$old_pid" ;;
    nginx-reload) kill -HUP "$old_pid"; new_pid="$old_pid" ;;
  esac
  local took_ms=$(( ($(date +%s%N) - restart_started) / 1000000 ))
  case "$row" in haproxy-reload|nginx-reload) took_ms="-" ;; esac
  wait "$load_pid" || true
  case "$row" in grace-*) stop_pid "$old_pid" ;; esac
  stop_pid "$new_pid"
  if [ "$row" = grace-handoff ] || [ "$row" = grace-stop-start ]; then
    old_served="$(grep -c '^closed ' "$old_log" || true)"; new_served="$(grep -c '^closed ' "$new_log" || true)"
  elif [ "$row" = grace-proxy-handoff ]; then
    old_served="$(grep -c '^relayed ' "$old_log" || true)"; new_served="$(grep -c '^relayed ' "$new_log" || true)"
  fi
  if ! grep -q '^RESTART ' "$load_log"; then echo "restart: the load failed; see below" >&2; cat "$load_log" >&2; exit 1; fi
  grep '^failure: ' "$load_log" | head -3 | sed "s/^/restart: $row: /" >&2 || true
  sed -n 's/^RESTART .* refused=\([0-9]*\) reset=\([0-9]*\) lost=\([0-9]*\) slow=\([0-9]*\).*/\1 \2 \3 \4/p' "$load_log" | tr '\n' ' '
  echo "$old_served $new_served $(sed -n 's/^RESTART churn_served=\([0-9]*\) sessions=\([0-9]*\).*/\1 \2/p' "$load_log") $took_ms"
}

javac -nowarn -d "$tmp/classes" "$root/bench/RestartLoad.java"
start_backend
echo "| restart | connects refused | reset after connect | bytes lost | connects > 500 ms | served by old / new process | churn sessions, ping-pong sessions | new process listening after (ms) |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
for row in $rows; do
  case "$row" in
    haproxy-reload) command -v haproxy >/dev/null || { echo "restart: haproxy not installed; skipping" >&2; continue; } ;;
    nginx-reload) [ -f /usr/lib/nginx/modules/ngx_stream_module.so ] || { echo "restart: nginx stream module missing; skipping" >&2; continue; } ;;
  esac
  r=(); s=(); l=(); w=(); o=(); c=(); t=()
  for round in $(seq 1 "$rounds"); do
    read -r refused reset lost slow old_served new_served churn sessions took < <(one "$row")
    echo "restart: $row round $round: refused=$refused reset=$reset lost=$lost slow=$slow served old=$old_served new=$new_served churn=$churn sessions=$sessions listening_after_ms=$took" >&2
    r+=("$refused"); s+=("$reset"); l+=("$lost"); w+=("$slow"); o+=("$old_served/$new_served"); c+=("$churn,$sessions"); t+=("$took")
  done
  echo "| $row | ${r[*]} | ${s[*]} | ${l[*]} | ${w[*]} | ${o[*]} | ${c[*]} | ${t[*]} |"
done
