#!/usr/bin/env bash
# Reproduces the server table of docs/BENCHMARKS.md: grace server against a raw Netty echo
# (bench/RawNettyEcho.java: same transport, same settings, no Grace), the same load on each,
# interleaved A B A B for ROUNDS rounds; prints medians, min-max and the ratio.
# Loopback only; pins servers to SERVER_CPU and the load to LOAD_CPU where taskset exists.
#   ROUNDS=3 DURATION=10s WARMUP=15s CONNECTIONS=50 bench/run.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

background "$tmp/grace.out" "$server_cpu" java -jar "$jar" server --port 0 --log error
background "$tmp/raw.out" "$server_cpu" java -cp "$jar" "$root/bench/RawNettyEcho.java" 0
grace_port="$(port_of "$tmp/grace.out" "${pids[0]}")"
raw_port="$(port_of "$tmp/raw.out" "${pids[1]}")"

rate() { # mode, size, port -> operations per second
  pin "$load_cpu" java -jar "$jar" bench "$1" --target "127.0.0.1:$3" -s "$2" -c "$connections" -d "$duration" --json 2>/dev/null \
    | sed -n 's/.*"rate": \([0-9.]*\).*/\1/p'
}

# Unmeasured first: both JVMs compile the churn and echo paths (a JVM on one core spends its
# first seconds of churn compiling).
for port in "$grace_port" "$raw_port"; do
  duration="${WARMUP:-15s}" rate churn 64 "$port" >/dev/null
  duration=5s rate echo 64 "$port" >/dev/null
done

echo "| load | grace server (median, min-max) | raw Netty (median, min-max) | grace / raw |"
echo "| --- | --- | --- | --- |"
for load in "echo 64" "echo 4k" "churn 64"; do
  set -- $load
  grace_rates=(); raw_rates=()
  for _ in $(seq "$rounds"); do
    grace_rates+=("$(rate "$1" "$2" "$grace_port")")
    raw_rates+=("$(rate "$1" "$2" "$raw_port")")
  done
  read -r gm gmin gmax <<<"$(stats "${grace_rates[@]}")"
  read -r rm rmin rmax <<<"$(stats "${raw_rates[@]}")"
  ratio="$(awk -v g="$gm" -v r="$rm" 'BEGIN { printf "%.2f", g / r }')"
  unit=$([ "$1" = churn ] && echo "conn/s" || echo "req/s")
  echo "| $1 $2 B, $connections connections | $gm $unit ($gmin-$gmax) | $rm $unit ($rmin-$rmax) | $ratio |"
done

# The same loads from an independent generator (C, epoll, one thread), so grace bench is not the
# only judge; its churn chooses its own source ports (CLIENT_PORTS), as a generator that must
# not run out of them does, and reports each run's p99 session time.
if command -v cc >/dev/null; then
  cc -O2 -o "$tmp/echo-load" "$root/bench/echo-load.c"
  seconds="${duration%s}"
  client_ports="${CLIENT_PORTS:-1025-20999}"
  c_run() { # mode, size, port -> "rate p99_us"
    local from=""; [ "$1" = churn ] && from="$client_ports"
    # shellcheck disable=SC2086
    pin "$load_cpu" "$tmp/echo-load" 127.0.0.1 "$3" "$connections" "$2" "$seconds" "$1" $from \
      | sed -n -e 's/.*rate=\([0-9]*\).*p99_us=\([0-9]*\).*/\1 \2/p' -e 's/.*rate=\([0-9]*\)\/s$/\1 -/p'
  }
  echo
  echo "| load (bench/echo-load.c) | grace server (median, min-max) | raw Netty (median, min-max) | grace / raw | p99 grace / raw (median) |"
  echo "| --- | --- | --- | --- | --- |"
  for load in "echo 64" "echo 4096" "churn 64"; do
    set -- $load
    grace_rates=(); raw_rates=(); grace_p99=(); raw_p99=()
    for _ in $(seq "$rounds"); do
      read -r r p <<<"$(c_run "$1" "$2" "$grace_port")"; grace_rates+=("$r"); grace_p99+=("$p")
      read -r r p <<<"$(c_run "$1" "$2" "$raw_port")"; raw_rates+=("$r"); raw_p99+=("$p")
    done
    read -r gm gmin gmax <<<"$(stats "${grace_rates[@]}")"
    read -r rm rmin rmax <<<"$(stats "${raw_rates[@]}")"
    ratio="$(awk -v g="$gm" -v r="$rm" 'BEGIN { printf "%.2f", g / r }')"
    unit=$([ "$1" = churn ] && echo "conn/s" || echo "req/s")
    p99="-"
    [ "${grace_p99[0]}" = - ] || p99="$(stats "${grace_p99[@]}" | cut -d' ' -f1) µs / $(stats "${raw_p99[@]}" | cut -d' ' -f1) µs"
    echo "| $1 $2 B, $connections connections | $gm $unit ($gmin-$gmax) | $rm $unit ($rmin-$rmax) | $ratio | $p99 |"
  done
fi
