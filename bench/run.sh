#!/usr/bin/env bash
# Reproduces the server table of docs/BENCHMARKS.md: grace server against a raw Netty echo
# (bench/RawNettyEcho.java: same transport, same settings, no Grace), the same load on each,
# interleaved A B A B for ROUNDS rounds; prints medians, min-max and the ratio.
# Loopback only; pins servers to SERVER_CPU and the load to LOAD_CPU where taskset exists.
#   ROUNDS=3 DURATION=10s CONNECTIONS=50 bench/run.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-50}"
server_cpu="${SERVER_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"
"$root/bin/grace" --version >/dev/null             # builds the jar if needed
jar="$root/grace-cli/target/grace.jar"
tmp="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

pinned() { command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; }

pin() { # cpu, command...: runs it pinned, in the foreground
  local cpu="$1"; shift
  if pinned; then taskset -c "$cpu" "$@"; else "$@"; fi
}

background() { # log, cpu, command...: starts it pinned, records its own PID (taskset execs it) for the cleanup
  local log="$1" cpu="$2"; shift 2
  if pinned; then taskset -c "$cpu" "$@" >"$log" 2>&1 & else "$@" >"$log" 2>&1 & fi
  pids+=($!)
}

start() { # name, command... (not in a subshell: its PID must reach the cleanup)
  local name="$1"; shift
  background "$tmp/$name.out" "$server_cpu" "$@"
}

port_of() { # name -> the port its "listening on" line gives
  until grep -q '^listening on' "$tmp/$1.out" 2>/dev/null; do sleep 0.1; done
  sed -n 's/^listening on 127.0.0.1://p' "$tmp/$1.out"
}

start grace java -jar "$jar" server --port 0 --log error
start raw java -cp "$jar" "$root/bench/RawNettyEcho.java" 0
grace_port="$(port_of grace)"
raw_port="$(port_of raw)"

rate() { # mode, size, port -> operations per second
  pin "$load_cpu" java -jar "$jar" bench "$1" --target "127.0.0.1:$3" -s "$2" -c "$connections" -d "$duration" --json 2>/dev/null \
    | sed -n 's/.*"rate": \([0-9.]*\).*/\1/p'
}

stats() { # values... -> "median min max"
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %.0f %.0f", m, v[1], v[NR] }'
}

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

# The same echo loads from an independent generator (C, epoll, one thread), so grace bench is
# not the only judge.
if command -v cc >/dev/null; then
  cc -O2 -o "$tmp/echo-load" "$root/bench/echo-load.c"
  seconds="${duration%s}"
  c_rate() { pin "$load_cpu" "$tmp/echo-load" 127.0.0.1 "$2" "$connections" "$1" "$seconds" | sed -n 's/.*rate=\([0-9]*\).*/\1/p'; }
  echo
  echo "| load (bench/echo-load.c) | grace server (median, min-max) | raw Netty (median, min-max) | grace / raw |"
  echo "| --- | --- | --- | --- |"
  for size in 64 4096; do
    grace_rates=(); raw_rates=()
    for _ in $(seq "$rounds"); do
      grace_rates+=("$(c_rate "$size" "$grace_port")")
      raw_rates+=("$(c_rate "$size" "$raw_port")")
    done
    read -r gm gmin gmax <<<"$(stats "${grace_rates[@]}")"
    read -r rm rmin rmax <<<"$(stats "${raw_rates[@]}")"
    ratio="$(awk -v g="$gm" -v r="$rm" 'BEGIN { printf "%.2f", g / r }')"
    echo "| echo $size B, $connections connections | $gm req/s ($gmin-$gmax) | $rm req/s ($rmin-$rmax) | $ratio |"
  done
fi
