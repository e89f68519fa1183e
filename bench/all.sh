#!/usr/bin/env bash
# Every table of docs/BENCHMARKS.md in one run (about 50 minutes on two cores): grace server
# against raw Netty, the drain of 10 000 idle connections, grace proxy against HAProxy, nginx
# stream and socat, and the churn stall (it needs root for its network namespace; skipped
# otherwise). Loopback only; each script ends only what it started.
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
