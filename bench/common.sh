# Shared by bench/run.sh and bench/proxies.sh (sourced, not run): settings, the jar, a
# temporary directory, pinning with taskset, and a cleanup that ends every process started
# through background(), by its PID.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10s}"
connections="${CONNECTIONS:-50}"
server_cpu="${SERVER_CPU:-0}"
load_cpu="${LOAD_CPU:-1}"
if [ -n "${JAR:-}" ]; then                         # another build's jar, to compare builds
  jar="$JAR"
else
  "$root/bin/grace" --version >/dev/null           # builds the jar if needed
  jar="$root/grace-cli/target/grace.jar"
fi
tmp="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; sleep 0.5; rm -rf "$tmp"; }
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

port_of() { # log [pid] -> the port of its "listening on 127.0.0.1:PORT" line, once printed whole
  local port="" again=""
  # Read twice, 50 ms apart: a line caught while it is being written would give a partial port.
  until [ -n "$port" ] && [ "$port" = "$again" ]; do
    if [ -n "${2:-}" ] && ! kill -0 "$2" 2>/dev/null; then echo "a process failed to start; see $1" >&2; exit 1; fi
    port="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1)"
    sleep 0.05
    again="$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$1" 2>/dev/null | head -1)"
  done
  echo "$port"
}

free_port() { # a port below the ephemeral range that nothing listens on
  local port
  for port in $(seq "$1" 32000); do
    ss -ltnH "sport = :$port" | grep -q . || { echo "$port"; return; }
  done
}

stats() { # values... -> "median min max"
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "%.0f %.0f %.0f", m, v[1], v[NR] }'
}

haproxy_defaults() { # the global and defaults sections of every HAProxy set-up here: TCP mode
  cat <<CFG
global
  maxconn 9000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
CFG
}

haproxy_relay() { # port, backend port, [extra words for the server line]: a TCP relay's whole configuration
  haproxy_defaults
  cat <<CFG
frontend relay
  bind 127.0.0.1:$1
  default_backend echo
backend echo
  server echo 127.0.0.1:$2 ${3:-}
CFG
}
