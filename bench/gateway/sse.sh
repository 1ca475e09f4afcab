#!/usr/bin/env bash
# bench/gateway/sse.sh — server-sent events through the gateway, on this machine only.
#
#   1. per-chunk latency: STREAMS open streams, one event every 100 ms on each, the event
#      carrying the time it was written; measured calling the upstream directly, then through
#      the gateway (same JVM for the upstream and the clients, so one clock);
#   2. memory: SSE_OPEN concurrent open streams through the gateway, each delivering an event;
#      the gateway's resident set (VmRSS) before and with the streams open.
#
# The gateway runs in its own JVM (GatewayBenchServer, embedded store, -Xmx256m), started and
# stopped by this script. Prints Markdown table rows on stdout.
#
# Usage:
#   ./mvnw -q -pl bench -am package -DskipTests    # builds bench/target/benchmarks.jar
#   bench/gateway/sse.sh
#   STREAMS=100 SECONDS_=10 SSE_OPEN=10000 bench/gateway/sse.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || exit 1
JAR="$ROOT/bench/target/benchmarks.jar"
[[ -f "$JAR" ]] || { echo "sse.sh: $JAR missing; build it: ./mvnw -q -pl bench -am package -DskipTests" >&2; exit 1; }

GATEWAY_PORT="${GATEWAY_PORT:-7080}"
UPSTREAM_PORT="${UPSTREAM_PORT:-9190}"
STREAMS="${STREAMS:-100}"
SECONDS_="${SECONDS_:-10}"
SSE_OPEN="${SSE_OPEN:-10000}"
HEAP="${HEAP:-256m}"

# 10,000 streams are 20,000 sockets on each side of the gateway.
ulimit -n 200000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
[[ "$(ulimit -n)" == unlimited || "$(ulimit -n)" -ge $((SSE_OPEN * 2 + 1000)) ]] \
  || echo "sse.sh: warning: ulimit -n is $(ulimit -n), too low for $SSE_OPEN streams" >&2

JAVA="$JAVA_HOME/bin/java"
LOG="$(mktemp /tmp/sse-gateway.XXXXXX.log)"
"$JAVA" -Xmx"$HEAP" -XX:+UseSerialGC -cp "$JAR" dev.flightdeck.bench.gateway.GatewayBenchServer \
  "$GATEWAY_PORT" "sse=http://127.0.0.1:$UPSTREAM_PORT" >"$LOG" 2>&1 &
GW=$!
trap 'rc=$?; kill $GW 2>/dev/null || true; wait $GW 2>/dev/null || true; rm -f "$LOG"; exit $rc' EXIT
for _ in $(seq 300); do grep -q '^ready' "$LOG" && break; sleep 0.1; done
grep -q '^ready' "$LOG" || { cat "$LOG" >&2; echo "sse.sh: gateway did not start" >&2; exit 1; }
echo "sse.sh: $(grep '^ready' "$LOG")" >&2

BENCH=("$JAVA" -Xmx2g -cp "$JAR" dev.flightdeck.bench.gateway.SseBench)
echo "| measurement | direct | gateway | added |"
echo "|---|---|---|---|"
"${BENCH[@]}" latency "$UPSTREAM_PORT" "http://127.0.0.1:$UPSTREAM_PORT/" \
  "http://127.0.0.1:$GATEWAY_PORT/agents/sse/" "$STREAMS" "$SECONDS_"
echo
echo "| streams | delivery | gateway RSS before | gateway RSS with streams open |"
echo "|---|---|---|---|"
"${BENCH[@]}" memory "$UPSTREAM_PORT" "http://127.0.0.1:$GATEWAY_PORT/agents/sse/" "$GW" "$SSE_OPEN"
