#!/usr/bin/env bash
# The churn stall of a proxy's upstream leg, at a rate this machine can reach. The client
# finishes first, so the proxy sends the first FIN upstream and keeps every upstream port in
# TIME_WAIT for 60 s; the kernel's own choice of port may take a TIME_WAIT over only after a
# second (net.ipv4.tcp_tw_reuse=2, loopback), so connects to one backend stall near
# (ports in the ephemeral range) per second. The full range (28 232 ports) puts that past what
# two cores can reach, so this runs in a network namespace of its own whose range is cut to
# PORTS ports; the stall comes at about PORTS connections a second and every contender meets it.
#
# Contenders, each in front of the same raw Netty echo backend: HAProxy (default, and with a
# `source` port range), grace proxy (default, and with --upstream-source-ports over as many
# ports as the kernel's range). The load, grace bench churn, connects from its own port range so
# the client side never stalls. Needs root (ip netns). Ends only what it started.
#   ROUNDS=3 DURATION=5s PORTS=2000 bench/churn-stall.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
ports="${PORTS:-2000}"
duration="${DURATION:-5s}"
if ! [[ "$ports" =~ ^[0-9]+$ ]] || [ "$ports" -lt 100 ] || [ "$ports" -gt 4000 ]; then
  echo "PORTS must be 100 to 4000 (the ranges of the kernel, HAProxy, grace and the load must not overlap)" >&2
  exit 2
fi
ns="grace-stall-$$"
ip netns add "$ns"
trap 'cleanup; ip netns del "$ns" 2>/dev/null || true' EXIT
inns() { ip netns exec "$ns" "$@"; }
inns ip link set lo up
inns sysctl -qw net.ipv4.ip_local_port_range="40000 $((40000 + ports - 1))"
haproxy_range="20000-$((20000 + ports - 1))"
grace_range="24000-$((24000 + ports - 1))"
load_range="30000-39999"

background "$tmp/backend.out" "$server_cpu" ip netns exec "$ns" java -cp "$jar" "$root/bench/RawNettyEcho.java" 0
backend="$(port_of "$tmp/backend.out" "${pids[-1]}")"

declare -A target
background "$tmp/grace.out" "$server_cpu" ip netns exec "$ns" java -jar "$jar" proxy --listen 127.0.0.1:0 \
  --to "127.0.0.1:$backend" --log error
target[grace]="$(port_of "$tmp/grace.out" "${pids[-1]}")"
background "$tmp/grace-ports.out" "$server_cpu" ip netns exec "$ns" java -jar "$jar" proxy --listen 127.0.0.1:0 \
  --to "127.0.0.1:$backend" --log error --upstream-source-ports "$grace_range"
target[grace-ports]="$(port_of "$tmp/grace-ports.out" "${pids[-1]}")"
names=(grace grace-ports)
if command -v haproxy >/dev/null; then
  { haproxy_defaults; cat <<CFG
frontend relay
  bind 127.0.0.1:19001
  default_backend echo
frontend relay-source
  bind 127.0.0.1:19002
  default_backend echo-source
backend echo
  server echo 127.0.0.1:$backend
backend echo-source
  server echo 127.0.0.1:$backend source 127.0.0.1:$haproxy_range
CFG
  } >"$tmp/haproxy.cfg"
  background "$tmp/haproxy.log" "$server_cpu" ip netns exec "$ns" haproxy -db -f "$tmp/haproxy.cfg"
  until inns ss -ltnH "sport = :19002" | grep -q .; do
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "haproxy failed to start; see $tmp/haproxy.log" >&2; exit 1; }
    sleep 0.1
  done
  target[haproxy]=19001; target[haproxy-source]=19002
  names=(haproxy haproxy-source "${names[@]}")
fi

run() { # port -> "rate clean reset sessions-before-loss|-"
  local json
  json="$(pin "$load_cpu" ip netns exec "$ns" java -jar "$jar" bench churn --target "127.0.0.1:$1" -s 64 -c "$connections" \
    -d "$duration" --source-ports "$load_range" --json 2>/dev/null || true)"
  sed -n 's/.*"rate": \([0-9.]*\), .*"clean": \([0-9]*\), "reset": \([0-9]*\), .*"mismatch": \(.*\)}$/\1 \2 \3 \4/p' <<<"$json" \
    | awk '{ printf "%.0f %d %d %s\n", $1, $2, $3, ($4 == "null") ? "-" : $2 }'
}

declare -A range=([grace]="40000-$((40000 + ports - 1))" [haproxy]="40000-$((40000 + ports - 1))"
  [grace-ports]="$grace_range" [haproxy-source]="$haproxy_range")
time_wait() { # contender -> its TIME_WAIT toward the backend, within the ports it connects from
  local low="${range[$1]%-*}" high="${range[$1]#*-}"
  inns ss -tanH state time-wait "( dport = :$backend and sport >= :$low and sport <= :$high )" | wc -l
}

for n in "${names[@]}"; do run "${target[$n]}" >/dev/null; done   # warm-up: JIT, and every range cycled once
declare -A rates resets lost tw
for _ in $(seq "$rounds"); do
  for n in "${names[@]}"; do
    read -r rate clean reset before_loss <<<"$(run "${target[$n]}")"
    rates[$n]="${rates[$n]:-} ${rate:-0}"
    resets[$n]=$(( ${resets[$n]:-0} + ${reset:-0} ))
    [ "${before_loss:--}" = "-" ] || lost[$n]="${lost[$n]:-}${lost[$n]:+, }after $before_loss"
    tw[$n]="$(time_wait "$n")"
  done
done
echo "ephemeral range in the namespace: $ports ports; $connections sessions in flight; $duration per run, $rounds rounds interleaved"
echo
echo "| proxy | clean sessions/s (median, min-max) | resets | data lost (clean sessions before the first loss) | TIME_WAIT in its port range |"
echo "| --- | --- | --- | --- | --- |"
for n in "${names[@]}"; do
  # shellcheck disable=SC2086
  read -r m lo hi <<<"$(stats ${rates[$n]})"
  echo "| $n | $m ($lo-$hi) | ${resets[$n]} | ${lost[$n]:-none} | ${tw[$n]} |"
done
echo
echo "grace and haproxy (both default) share the kernel's range: their TIME_WAIT column counts both."
