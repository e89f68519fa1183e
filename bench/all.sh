#!/usr/bin/env bash
# Every table of docs/BENCHMARKS.md in one run (about 65 minutes on two cores): grace server
# against raw Netty, the drain of 10 000 idle connections, grace proxy against HAProxy, nginx
# stream and socat, the churn stall (it needs root for its network namespace; skipped
# otherwise) and the drain under load (root, for its captures on lo; skipped otherwise).
# Loopback only; each script ends only what it started.
#   bench/all.sh
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
echo "## grace server vs raw Netty"; echo
"$here/run.sh"
echo; echo "## drain and idle memory"; echo
"$here/drain-idle.sh" 10000
echo; echo "## grace proxy vs HAProxy, nginx stream, socat"; echo
ROUNDS="${ROUNDS:-5}" DURATION="${DURATION:-10s}" "$here/proxies.sh"
echo; echo "## churn at the TIME_WAIT stall"; echo
if [ "$(id -u)" = 0 ] && command -v ip >/dev/null; then
  ROUNDS="${ROUNDS:-5}" DURATION=5s "$here/churn-stall.sh"
else
  echo "skipped: bench/churn-stall.sh needs root and iproute2 for its network namespace"
fi
echo; echo "## drain under load"; echo
if [ "$(id -u)" = 0 ] && command -v tcpdump >/dev/null; then
  ROUNDS="${ROUNDS:-3}" "$here/drain-load.sh"
else
  echo "skipped: bench/drain-load.sh needs root and tcpdump for its captures on lo"
fi
