#!/usr/bin/env bash
# Reproduces the proxy table of docs/BENCHMARKS.md: grace proxy (default, --upstream-release
# reset, --upstream-source-ports) next to HAProxy (TCP mode), nginx stream (default, and with
# proxy_half_close on) and socat, in front of the same C epoll echo backend
# (bench/echo-backend.c), the same load on each, interleaved for ROUNDS rounds; medians and
# min-max, and each contender's CPU time per operation (its utime+stime over the run). The
# proxies share SERVER_CPU and nothing else runs there; the backend and the load generators
# share LOAD_CPU. A run in which an echo came back short or wrong makes the cell "loses data".
# Loads: c-stream, c-echo (bench/echo-load.c), echo, churn (grace bench, source ports the kernel
# chooses) and c-churn (bench/echo-load.c choosing its own source ports CLIENT_PORTS, as a load
# generator that must not run out of them does); stream (grace bench) on request: at 50
# connections its own client side, not the proxy, sets the pace. Proxies that are not
# installed are skipped. Loopback only; ends only what it started.
# Each load starts with an unmeasured WARMUP run per contender (default 15s: a JVM on one core
# spends its first seconds of churn compiling).
#   ROUNDS=3 DURATION=10s WARMUP=15s CONNECTIONS=50 LOADS="c-stream echo c-echo churn c-churn" bench/proxies.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

wait_listen() { # port, pid: fail rather than wait forever if the proxy died
  until ss -ltnH "sport = :$1" | grep -q .; do
    kill -0 "$2" 2>/dev/null || { echo "a proxy failed to start on port $1; see its log" >&2; exit 1; }
    sleep 0.1
  done
}

command -v cc >/dev/null || { echo "bench/proxies.sh needs a C compiler (cc) for its backend and load" >&2; exit 1; }
cc -O2 -o "$tmp/echo-backend" "$root/bench/echo-backend.c"
cc -O2 -o "$tmp/echo-load" "$root/bench/echo-load.c"
client_ports="${CLIENT_PORTS:-1025-20999}"
background "$tmp/backend.out" "$load_cpu" "$tmp/echo-backend" 0
backend="$(port_of "$tmp/backend.out" "${pids[-1]}")"
declare -A pid_of

declare -A ports
start_grace() { # name, extra flags...
  local name="$1"; shift
  background "$tmp/$name.out" "$server_cpu" java -jar "$jar" proxy --listen 127.0.0.1:0 --to "127.0.0.1:$backend" --log error "$@"
  ports[$name]="$(port_of "$tmp/$name.out" "${pids[-1]}")"; pid_of[$name]="${pids[-1]}"
}
start_grace grace
start_grace grace-reset --upstream-release reset
start_grace grace-ports --upstream-source-ports 24000-25999

if command -v haproxy >/dev/null; then
  port="$(free_port 21001)"
  haproxy_relay "$port" "$backend" >"$tmp/haproxy.cfg"
  background "$tmp/haproxy.log" "$server_cpu" haproxy -db -f "$tmp/haproxy.cfg"
  wait_listen "$port" "${pids[-1]}"; ports[haproxy]="$port"; pid_of[haproxy]="${pids[-1]}"
fi

if [ -x /usr/sbin/nginx ] && [ -f /usr/lib/nginx/modules/ngx_stream_module.so ]; then
  start_nginx() { # name, first port to try, extra directives for the server block
    local port; port="$(free_port "$2")"
    mkdir -p "$tmp/$1"
    cat >"$tmp/$1/nginx.conf" <<CFG
load_module /usr/lib/nginx/modules/ngx_stream_module.so;
daemon off;
master_process off;
worker_processes 1;
pid $tmp/$1/nginx.pid;
error_log $tmp/$1/error.log;
events { worker_connections 20000; }
stream { server { listen 127.0.0.1:$port; proxy_pass 127.0.0.1:$backend; $3 } }
CFG
    background "$tmp/$1/nginx.log" "$server_cpu" /usr/sbin/nginx -p "$tmp/$1" -c "$tmp/$1/nginx.conf"
    wait_listen "$port" "${pids[-1]}"; ports[$1]="$port"; pid_of[$1]="${pids[-1]}"
  }
  start_nginx nginx-stream 21101 ""
  # The default closes both legs on the client's FIN and loses the answer still on its way;
  # proxy_half_close (nginx 1.21.4+) carries the half-close instead.
  start_nginx nginx-half-close 21151 "proxy_half_close on;"
fi

if command -v socat >/dev/null; then
  port="$(free_port 21201)"
  background "$tmp/socat.log" "$server_cpu" socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "TCP:127.0.0.1:$backend"
  wait_listen "$port" "${pids[-1]}"; ports[socat]="$port"; pid_of[socat]="${pids[-1]}"
fi

measure() { # mode, size, port -> "rate bytes seconds", or "lost" when an echo came back short or wrong
  case "$1" in
    c-echo|c-stream|c-churn)
      local mode="${1#c-}" size="$2" from=""
      [ "$mode" = churn ] && from="$client_ports"
      [ "$size" = 64k ] && size=65536
      # shellcheck disable=SC2086
      { pin "$load_cpu" "$tmp/echo-load" 127.0.0.1 "$3" "$connections" "$size" "${duration%s}" "$mode" $from 2>&1 || true; } \
        | sed -n -e 's/.*\(data mismatch\|ended early\).*/lost/p' \
          -e 's/.*requests=\([0-9]*\) seconds=\([0-9.]*\) rate=\([0-9]*\)\/s bytes=\([0-9]*\).*/\3 \4 \2 \1/p' \
          -e 's/.*requests=\([0-9]*\) seconds=\([0-9.]*\) rate=\([0-9]*\)\/s$/\3 0 \2 \1/p' \
          -e 's/.*requests=\([0-9]*\) seconds=\([0-9.]*\) rate=\([0-9]*\)\/s failed=.*/\3 0 \2 \1/p'
      return ;;
  esac
  { pin "$load_cpu" java -jar "$jar" bench "$1" --target "127.0.0.1:$3" -s "$2" -c "$connections" -d "$duration" --json 2>/dev/null || true; } \
    | sed -n -e 's/.*"mismatch": "[^"]*"}$/lost/p' \
      -e 's/.*"seconds": \([0-9.]*\), "operations": \([0-9]*\), "rate": \([0-9.]*\), "bytes": \([0-9]*\).*"mismatch": null}$/\3 \4 \1 \2/p'
}

cpu_ticks() { # pid -> its CPU time so far, and its waited-for children's (socat forks), in clock ticks
  awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

cell() { # values of the rounds ("lost": an echo came back short or wrong; "failed": no result) -> the table's cell
  local lost=0 failed=0 kept=() v m lo hi
  for v in "$@"; do
    case "$v" in lost) lost=$((lost + 1)) ;; failed) failed=$((failed + 1)) ;; *) kept+=("$v") ;; esac
  done
  if [ "$lost" -gt 0 ]; then printf 'loses data (%s of %s runs)' "$lost" "$#"; return; fi
  if [ "$failed" -gt 0 ]; then printf 'failed (%s of %s runs)' "$failed" "$#"; return; fi
  read -r m lo hi <<<"$(stats "${kept[@]}")"; printf '%s (%s-%s)' "$m" "$lo" "$hi"
}

names=(grace grace-reset grace-ports haproxy nginx-stream nginx-half-close socat)
ticks="$(getconf CLK_TCK)"
header="| load | $(for n in "${names[@]}"; do [ -n "${ports[$n]:-}" ] && printf '%s | ' "$n"; done)"
rule="| --- |$(for n in "${names[@]}"; do [ -n "${ports[$n]:-}" ] && printf ' --- |'; done)"
echo "$header"; echo "$rule"
cpu_rows=()
for load in "stream 64k MiB/s" "c-stream 64k MiB/s" "echo 64 req/s" "c-echo 64 req/s" "churn 64 conn/s" "c-churn 64 conn/s"; do
  set -- $load
  [[ " ${LOADS:-c-stream echo c-echo churn c-churn} " == *" $1 "* ]] || continue
  declare -A values=() cpu=()
  # One unmeasured run each first: the JVM contenders compile this load's paths, every
  # contender starts from the same warm state.
  for n in "${names[@]}"; do
    [ -z "${ports[$n]:-}" ] || duration="${WARMUP:-15s}" measure "$1" "$2" "${ports[$n]}" >/dev/null
  done
  for _ in $(seq "$rounds"); do
    for n in "${names[@]}"; do
      [ -n "${ports[$n]:-}" ] || continue
      sleep 2   # the previous contender's exits and closes settle on the shared core
      before="$(cpu_ticks "${pid_of[$n]}")"
      read -r rate bytes seconds operations <<<"$(measure "$1" "$2" "${ports[$n]}")"
      after="$(cpu_ticks "${pid_of[$n]}")"
      if [ -z "${rate:-}" ]; then value=failed; elif [ "$rate" = lost ]; then value=lost; elif [ "$3" = "MiB/s" ]; then value="$(awk -v b="$bytes" -v s="$seconds" 'BEGIN { printf "%.0f", b / s / 1048576 }')"; else value="$rate"; fi
      values[$n]="${values[$n]:-} $value"
      if [ -n "${operations:-}" ] && [ "${operations:-0}" -gt 0 ]; then
        cpu[$n]="${cpu[$n]:-} $(awk -v t=$((after - before)) -v hz="$ticks" -v o="$operations" 'BEGIN { printf "%.1f", t * 1e6 / hz / o }')"
      fi
    done
  done
  row="| $1 $2 B, $connections conns ($3) |"
  cpu_row="| $1 $2 B (µs per $( [ "$3" = "MiB/s" ] && echo write || echo "${3%/s}")) |"
  for n in "${names[@]}"; do
    [ -n "${ports[$n]:-}" ] || continue
    # shellcheck disable=SC2086
    row="$row $(cell ${values[$n]}) |"
    # shellcheck disable=SC2086
    cpu_row="$cpu_row $( [ -n "${cpu[$n]:-}" ] && printf '%s' "$(stats ${cpu[$n]} | cut -d' ' -f1)" || echo -) |"
  done
  echo "$row"
  cpu_rows+=("$cpu_row")
  unset values cpu
done
echo
echo "CPU time of each contender per operation (median of the rounds; its utime+stime over the run, divided by the operations the load counted):"
echo
echo "$header"; echo "$rule"
printf '%s\n' "${cpu_rows[@]}"
echo
echo "TIME_WAIT on the backend port after the runs: $(ss -tanH state time-wait "( sport = :$backend or dport = :$backend )" | wc -l)"
