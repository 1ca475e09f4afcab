#!/usr/bin/env bash
# Canary analyses on simulated traffic: Flightdeck's sequential analysis against a Flagger-style
# threshold policy, with the real analysis code (dev.flightdeck.bench.rollout.RolloutSimulation).
# Virtual time, fixed seeds: prints a Markdown table, reproducible run to run.
#
#   bench/rollout/simulate.sh                      # 2000 rollouts per A/A and at-limit scenario, 500 per regression
#   bench/rollout/simulate.sh --rollouts 500 --regression-rollouts 200 --seed 2 --threads 1
# Needs: a JDK 21+ (found like ./flightdeck does). Builds the bench jar when it is missing or older
# than the rollout or bench sources.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || { echo "no JDK 21+ found" >&2; exit 2; }
JAR=bench/target/benchmarks.jar
if [ ! -f "$JAR" ] || [ -n "$(find rollout/src/main bench/src/main bench/pom.xml -newer "$JAR" -print -quit)" ]; then
  ./mvnw -q -pl bench -am package -DskipTests
fi
echo "Run on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc 2>/dev/null || echo '?') cores, JDK $("$JAVA_HOME/bin/java" -version 2>&1 | head -n 1)"
echo
exec "$JAVA_HOME/bin/java" -cp "$JAR" dev.flightdeck.bench.rollout.RolloutSimulation "$@"
