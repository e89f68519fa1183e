#!/usr/bin/env bash
# Drain of N idle connections (default 10000): how long grace server's drain takes, and how much
# heap each idle connection costs the server. Loopback only; ends only the processes it started.
#   bench/drain-idle.sh [N]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
n="${1:-10000}"
"$root/bin/grace" --version >/dev/null             # builds the jar if needed
jar="$root/grace-cli/target/grace.jar"
tmp="$(mktemp -d)"
server=""
cleanup() { [ -z "$server" ] || kill "$server" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT

java -Xms256m -jar "$jar" server --port 0 --log warn --drain-timeout 30s >"$tmp/out" 2>"$tmp/err" &
server=$!
until grep -q '^listening on' "$tmp/out" 2>/dev/null; do sleep 0.1; done
port="$(sed -n 's/^listening on 127.0.0.1://p' "$tmp/out")"

heap() { jcmd "$server" GC.run >/dev/null; sleep 0.5; jcmd "$server" GC.heap_info | awk '/used/ { for (i = 1; i <= NF; i++) if ($i == "used") { v = $(i+1); sub("K", "", v); print v; exit } }'; }
before="$(heap)"

java -cp "$jar" "$root/bench/IdleClients.java" 127.0.0.1 "$port" "$n" >"$tmp/clients.out" &
clients=$!
until grep -q '^ready' "$tmp/clients.out" 2>/dev/null; do sleep 0.2; done
after="$(heap)"

kill -TERM "$server"
wait "$server" || true
server=""
wait "$clients" || true
drained="$(grep '^drained:' "$tmp/err")"
ended="$(grep '^ended' "$tmp/clients.out")"
per=$(( (after - before) * 1024 / n ))
echo "idle connections: $n"
echo "server heap: ${before} KiB before, ${after} KiB with them open: ${per} bytes per idle connection"
echo "$drained"
echo "clients: $ended"
