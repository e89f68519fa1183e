#!/usr/bin/env bash
# HTTP through a drain (docs/BENCHMARKS.md, "HTTP drain"): wrk (HTTP/1.1 keep-alive) and h2load
# (HTTP/2, prior knowledge) load each server, which is told to stop SIGNAL_AT seconds in, and
# what every client saw is counted. Servers: grace server --protocol http (SIGTERM, drain timeout
# D), a plain Netty HTTP server on the same routes and codecs (bench/RawNettyHttp.java, SIGTERM:
# listener closed, then shutdownGracefully), nginx serving / (SIGQUIT to its master, graceful;
# worker_shutdown_timeout D). wrk counts every reconnect the closed listener refuses as a write
# error, so judge read errors, timeouts and non-2xx, and the Connection: close responses.
# Progress on stderr; one markdown table per deadline on stdout. Loopback only; ends only the
# processes it started, by PID.
#   ROUNDS=3 DEADLINES="2 30" SERVERS="grace raw-netty nginx" PATHS="/delay/20 /" bench/http-drain.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
deadlines="${DEADLINES:-2 30}"
servers="${SERVERS:-grace raw-netty nginx}"
paths="${PATHS:-/delay/20 /}"
load_seconds="${LOAD_SECONDS:-6}"
signal_at="${SIGNAL_AT:-2}"
for tool in wrk h2load; do
  command -v "$tool" >/dev/null || { echo "http-drain: $tool is needed (apt-get install wrk nghttp2-client)" >&2; exit 1; }
done


javac -nowarn -cp "$jar" -d "$tmp/classes" "$root/bench/RawNettyHttp.java" 2>/dev/null

nginx_conf() { # port1 port2 deadline
  mkdir -p "$tmp/nginx/logs"
  cat >"$tmp/nginx/nginx.conf" <<CONF
daemon off;
master_process on;
worker_processes 1;
worker_shutdown_timeout ${3}s;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$1; location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$2 http2; location / { return 200 "ok\n"; } }
}
CONF
}

# start SERVER DEADLINE -> sets server_pid, h1_port, h2_port
start() {
  local log="$tmp/server.log"
  case "$1" in
    grace)
      background "$log" "$server_cpu" java -jar "$jar" server --protocol http --port 0 --drain-timeout "${2}s" --log warn
      server_pid="${pids[-1]}"; h1_port="$(port_of "$log" "$server_pid")"; h2_port="$h1_port" ;;
    raw-netty)
      background "$log" "$server_cpu" java -cp "$jar:$tmp/classes" RawNettyHttp 0
      server_pid="${pids[-1]}"; h1_port="$(port_of "$log" "$server_pid")"; h2_port="$h1_port" ;;
    nginx)
      h1_port="$(free_port 18000)"; h2_port="$(free_port $((h1_port + 1)))"
      nginx_conf "$h1_port" "$h2_port" "$2"
      background "$log" "$server_cpu" nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf"
      server_pid="${pids[-1]}"
      until curl -s -o /dev/null "http://127.0.0.1:$h1_port/"; do
        kill -0 "$server_pid" 2>/dev/null || { echo "http-drain: nginx failed to start; see $log" >&2; cat "$log" >&2; exit 1; }
        sleep 0.1
      done ;;
  esac
}

stop_signal() { case "$1" in nginx) echo QUIT ;; *) echo TERM ;; esac; }

await_exit() { # pid seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  echo "http-drain: $1 still running after $2 s" >&2
}

# one SERVER DEADLINE PATH CLIENT -> prints "failed timeouts non2xx goodbyes requests"
one() {
  local server="$1" deadline="$2" path="$3" client="$4" out="$tmp/load.out"
  start "$server" "$deadline"
  if [ "$client" = wrk ]; then
    pin "$load_cpu" wrk -t2 -c20 -d"${load_seconds}s" -s "$root/bench/count-responses.lua" "http://127.0.0.1:$h1_port$path" >"$out" 2>&1 &
  else
    pin "$load_cpu" h2load -c10 -m10 -D "$load_seconds" "http://127.0.0.1:$h2_port$path" >"$out" 2>&1 &
  fi
  local load=$!
  sleep "$signal_at"
  kill -s "$(stop_signal "$server")" "$server_pid"
  wait "$load" || true
  await_exit "$server_pid" $((deadline + 10))
  if [ "$client" = wrk ]; then
    sed -n 's/^WRK requests=\([0-9]*\) read=\([0-9]*\) timeout=\([0-9]*\) non2xx=\([0-9]*\) closes=\([0-9]*\).*/\2 \3 \4 \5 \1/p' "$out"
  else
    # h2load: "requests: T total, S started, D done, OK succeeded, F failed, E errored, X timeout"
    sed -n 's/^requests: \([0-9]*\) total, [0-9]* started, [0-9]* done, \([0-9]*\) succeeded, [0-9]* failed, \([0-9]*\) errored, \([0-9]*\) timeout.*/\3 \4 0 - \2/p' "$out"
  fi
}

for deadline in $deadlines; do
  echo
  echo "### drain timeout ${deadline}s, signal ${signal_at}s into a ${load_seconds}s load, $rounds rounds"
  echo
  echo "| server | client | path | failed (read errors / errored) | timeouts | non-2xx | Connection: close | requests |"
  echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
  for server in $servers; do
    for path in $paths; do
      [ "$server" = nginx ] && [ "$path" != / ] && continue
      for client in wrk h2load; do
        f=(); t=(); n=(); g=(); r=()
        for ((round = 1; round <= rounds; round++)); do
          read -r failed timeouts non2xx goodbyes requests < <(one "$server" "$deadline" "$path" "$client")
          echo "http-drain: $server $client $path D=${deadline}s round $round: failed=$failed timeouts=$timeouts non2xx=$non2xx closes=$goodbyes requests=$requests" >&2
          f+=("$failed"); t+=("$timeouts"); n+=("$non2xx"); g+=("$goodbyes"); r+=("$requests")
        done
        echo "| $server | $client | $path | ${f[*]} | ${t[*]} | ${n[*]} | ${g[*]} | ${r[*]} |"
      done
    done
  done
done
