#!/usr/bin/env bash
# A change's cost, side by side: the grace server and proxy built from BASELINE_JAR (an earlier
# build) next to the current build, raw Netty (server) and HAProxy (proxy, if installed), the same
# loads interleaved for ROUNDS rounds; medians and min-max. The load is always the current
# build's `grace bench`. Loopback only; ends only what it started.
#   BASELINE_JAR=/path/to/earlier/grace.jar ROUNDS=3 DURATION=5s TABLES="server proxy" bench/before-after.sh
set -euo pipefail
# shellcheck source=bench/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
baseline="${BASELINE_JAR:?BASELINE_JAR must name an earlier grace.jar}"
[ -f "$baseline" ] || { echo "BASELINE_JAR: no such file: $baseline" >&2; exit 2; }

declare -A ports
start() { # name, jar-or-class-path, command...
  local name="$1"; shift
  background "$tmp/$name.out" "$server_cpu" "$@"
  ports[$name]="$(port_of "$tmp/$name.out" "${pids[-1]}")"
}
start raw java -cp "$jar" "$root/bench/RawNettyEcho.java" 0
start server-before java -jar "$baseline" server --port 0 --log error
start server-after java -jar "$jar" server --port 0 --log error
start proxy-before java -jar "$baseline" proxy --listen 127.0.0.1:0 --to "127.0.0.1:${ports[raw]}" --log error
start proxy-after java -jar "$jar" proxy --listen 127.0.0.1:0 --to "127.0.0.1:${ports[raw]}" --log error
contenders_proxy=(proxy-before proxy-after)
if command -v haproxy >/dev/null; then
  port="$(free_port 21001)"
  { haproxy_defaults; printf 'frontend relay\n  bind 127.0.0.1:%s\n  default_backend echo\nbackend echo\n  server echo 127.0.0.1:%s\n' "$port" "${ports[raw]}"; } >"$tmp/haproxy.cfg"
  background "$tmp/haproxy.log" "$server_cpu" haproxy -db -f "$tmp/haproxy.cfg"
  until ss -ltnH "sport = :$port" | grep -q .; do sleep 0.1; done
  ports[haproxy]="$port"; contenders_proxy+=(haproxy)
fi

rate() { # mode, size, port -> operations per second, MiB/s for stream ("fail" if the run failed or lost data)
  local out
  out="$(pin "$load_cpu" java -jar "$jar" bench "$1" --target "127.0.0.1:$3" -s "$2" -c "$connections" -d "$duration" --json 2>/dev/null)" || { echo fail; return; }
  if [ "$1" = stream ]; then
    sed -n 's/.*"seconds": \([0-9.]*\),.*"bytes": \([0-9]*\).*/\2 \1/p' <<<"$out" | awk '{ printf "%.0f", $1 / $2 / 1048576 }'
  else
    sed -n 's/.*"rate": \([0-9.]*\).*/\1/p' <<<"$out"
  fi
}

table() { # title, "mode size" loads, contenders...
  local title="$1" loads="$2"; shift 2
  local names=("$@")
  echo
  echo "| $title | $(printf '%s | ' "${names[@]}")after / before |"
  echo "| --- | $(printf -- '--- | %.0s' "${names[@]}")--- |"
  local load
  while read -r mode size; do
    declare -A rates=()
    # One unmeasured run each first, so every JVM starts the load warm.
    for name in "${names[@]}"; do duration=3s rate "$mode" "$size" "${ports[$name]}" >/dev/null; done
    for _ in $(seq "$rounds"); do
      for name in "${names[@]}"; do
        sleep 2   # the previous contender's closes settle on the shared core
        rates[$name]+="$(rate "$mode" "$size" "${ports[$name]}") "
      done
    done
    local row="| $mode $size B" before="" after=""
    for name in "${names[@]}"; do
      # shellcheck disable=SC2086
      read -r m lo hi <<<"$(stats ${rates[$name]})"
      row+=" | $m ($lo–$hi)"
      case "$name" in *before) before="$m" ;; *after) after="$m" ;; esac
    done
    echo "$row | $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a / b }') |"
  done <<<"$loads"
}

[[ " ${TABLES:-server proxy} " != *" server "* ]] || table "server load" $'echo 64\nchurn 64' raw server-before server-after
[[ " ${TABLES:-server proxy} " != *" proxy "* ]] || table "proxy load" $'stream 65536\necho 64\nchurn 64' "${contenders_proxy[@]}"
