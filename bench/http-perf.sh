#!/usr/bin/env bash
# What draining correctly costs an HTTP server (docs/BENCHMARKS.md, "HTTP throughput"):
# grace server --protocol http against a plain Netty HTTP server with the same routes and codecs
# (bench/RawNettyHttp.java), both serving GET / on the same transport, rounds interleaved, the
# server pinned to SERVER_CPU and the load to LOAD_CPU. wrk: HTTP/1.1 keep-alive; h2load: HTTP/2
# by prior knowledge. Who goes first alternates by round. Prints requests per second per round
# and the median ratio. Loopback only;
# ends only the processes it started, by PID.
#   ROUNDS=5 DURATION=10s CONNECTIONS=50 TRANSPORT=auto bench/http-perf.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
transport="${TRANSPORT:-auto}"
seconds="${duration%s}"
for tool in wrk h2load; do
  command -v "$tool" >/dev/null || { echo "http-perf: $tool is needed (apt-get install wrk nghttp2-client)" >&2; exit 1; }
done
javac -nowarn -cp "$jar" -d "$tmp/classes" "$root/bench/RawNettyHttp.java" 2>/dev/null

start() { # grace|raw-netty -> sets server_pid, port
  local log="$tmp/$1.log"
  if [ "$1" = grace ]; then
    background "$log" "$server_cpu" java -jar "$jar" server --protocol http --port 0 --transport "$transport" --log warn
  else
    background "$log" "$server_cpu" java -cp "$jar:$tmp/classes" RawNettyHttp 0 "$transport"
  fi
  server_pid="${pids[-1]}"
  port="$(port_of "$log" "$server_pid")"
  # Warm up the JIT before measuring.
  pin "$load_cpu" wrk -t1 -c"$connections" -d3s "http://127.0.0.1:$port/" >/dev/null
  pin "$load_cpu" h2load -c10 -m10 -D 3 "http://127.0.0.1:$port/" >/dev/null
}

rate() { # wrk|h2load port -> requests per second
  if [ "$1" = wrk ]; then
    pin "$load_cpu" wrk -t1 -c"$connections" -d"$duration" "http://127.0.0.1:$2/" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p'
  else
    pin "$load_cpu" h2load -c10 -m10 -D "$seconds" "http://127.0.0.1:$2/" | sed -n 's/^finished in [0-9.]*s, \([0-9.]*\) req\/s.*/\1/p'
  fi
}

declare -A rates
for ((round = 1; round <= rounds; round++)); do
  order="grace raw-netty"
  ((round % 2 == 0)) && order="raw-netty grace"   # who goes first alternates, so neither always runs on a warmer machine
  for server in $order; do
    start "$server"
    for client in wrk h2load; do
      r="$(rate "$client" "$port")"
      rates[$server-$client]+="$r "
      echo "http-perf: round $round $server $client $r req/s" >&2
    done
    kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  done
done

echo "| client | grace req/s (per round) | plain Netty req/s (per round) | grace / plain Netty (median) |"
echo "| --- | --- | --- | --- |"
for client in wrk h2load; do
  read -r g _ _ < <(stats ${rates[grace-$client]}) || true
  read -r p _ _ < <(stats ${rates[raw-netty-$client]}) || true
  echo "| $client | ${rates[grace-$client]}| ${rates[raw-netty-$client]}| $(awk -v g="$g" -v p="$p" 'BEGIN { printf "%.2f", g / p }') |"
done
