#!/usr/bin/env bash
# Adaptive mode's savings, measured with the real runner against a real agent.
#
# Runs bench/eval/mixed.yaml (10 cases that always pass, 10 that always fail, 10 that pass 70% of
# the time) against InstantAgent with the fixed plan (N = 50 runs per case) and with --adaptive,
# ROUNDS times each, and prints the calls each made and whether every case got the same verdict.
#
#   bench/eval/adaptive.sh                 # ROUNDS=5
# Needs: a JDK 21+ (found like ./flightdeck does) and python3.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
ROUNDS="${ROUNDS:-5}"
cd "$ROOT"
. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || { echo "no JDK 21+ found" >&2; exit 2; }
JAVA="$JAVA_HOME/bin/java"
[ -f bench/target/benchmarks.jar ] || ./mvnw -q -pl bench -am package -DskipTests
TMP="$(mktemp -d)"
"$JAVA" -cp bench/target/benchmarks.jar dev.flightdeck.bench.eval.InstantAgent 0 > "$TMP/agent.log" 2>&1 &
AGENT_PID=$!
trap 'kill $AGENT_PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do grep -q '^ready ' "$TMP/agent.log" && break; sleep 0.1; done
URL="$(grep '^ready ' "$TMP/agent.log" | awk '{print $2}')"
echo "agent $URL; $ROUNDS rounds of fixed N=50 and adaptive"
for r in $(seq "$ROUNDS"); do
  ./flightdeck eval run -f bench/eval/mixed.yaml -t "$URL" --no-progress -o "json:$TMP/fixed-$r.json" >/dev/null || true
  ./flightdeck eval run -f bench/eval/mixed.yaml -t "$URL" --no-progress --adaptive -o "json:$TMP/adaptive-$r.json" >/dev/null || true
done
python3 - "$TMP" "$ROUNDS" <<'PY'
import json, sys, statistics
tmp, rounds = sys.argv[1], int(sys.argv[2])
rows = []
for r in range(1, rounds + 1):
    f = json.load(open(f"{tmp}/fixed-{r}.json")); a = json.load(open(f"{tmp}/adaptive-{r}.json"))
    fv = {c["name"]: c["passed"] for c in f["cases"]}; av = {c["name"]: c["passed"] for c in a["cases"]}
    same = sum(fv[n] == av[n] for n in fv)
    rows.append((f["calls"]["runs"], a["calls"]["runs"], same, len(fv)))
    print(f"round {r}: fixed {f['calls']['runs']} runs, adaptive {a['calls']['runs']} runs "
          f"({100 * (1 - a['calls']['runs'] / f['calls']['runs']):.1f}% fewer), same verdict {same}/{len(fv)}")
fixed = statistics.median(x[0] for x in rows); adaptive = statistics.median(x[1] for x in rows)
print(f"median: fixed {fixed:.0f}, adaptive {adaptive:.0f} runs: {100 * (1 - adaptive / fixed):.1f}% fewer; "
      f"verdicts equal in {sum(x[2] for x in rows)}/{sum(x[3] for x in rows)} case-rounds")
PY
