#!/usr/bin/env bash
# Sends traffic to an agent through the gateway: new conversations (a fresh session id per
# request), from PARALLEL curl loops, until stopped (Ctrl-C) or SECONDS have passed.
#   bench/rollout/traffic.sh [AGENT] [GATEWAY] [PARALLEL] [SECONDS]
#   bench/rollout/traffic.sh support-triage http://127.0.0.1:7080 4 &
set -uo pipefail
AGENT="${1:-support-triage}"
GATEWAY="${2:-http://127.0.0.1:7080}"
PARALLEL="${3:-4}"
DURATION="${4:-600}"
END=$((SECONDS + DURATION))
trap 'kill 0 2>/dev/null' EXIT
for p in $(seq "$PARALLEL"); do
  (
    i=0
    while [ "$SECONDS" -lt "$END" ]; do
      i=$((i + 1))
      curl -s -o /dev/null -X POST -H 'Content-Type: application/json' \
        -H "X-Flightdeck-Session: traffic-$$-$p-$i" \
        -d '{"ticket":"I was charged twice, please refund one payment."}' \
        "$GATEWAY/agents/$AGENT/triage" || sleep 0.2
    done
  ) &
done
wait
