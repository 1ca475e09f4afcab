#!/usr/bin/env bash
# Starts InstantAgent (an agent that answers at once, POST /triage) on PORT (default 9190), with
# the JDK 21+ that ./flightdeck uses; builds the bench jar on first use.
#   bench/eval/agent.sh 9190 &
#   bench/eval/agent.sh 9102 --error-rate 0.2 &    # a broken version: 20% of answers are HTTP 500
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || { echo "no JDK 21+ found" >&2; exit 2; }
[ -f "$ROOT/bench/target/benchmarks.jar" ] || (cd "$ROOT" && ./mvnw -q -pl bench -am package -DskipTests)
exec "$JAVA_HOME/bin/java" -cp "$ROOT/bench/target/benchmarks.jar" dev.flightdeck.bench.eval.InstantAgent "${1:-9190}" "${@:2}"
