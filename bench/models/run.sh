#!/usr/bin/env bash
# bench/models/run.sh — the model gateway's added latency at a fixed rate, with budgets in
# PostgreSQL: the same chat completions sent straight to the simulated LLM ("direct") and
# through the gateway ("gateway"), alternating, on this machine only.
#
# What it does, in one run:
#   1. builds the CLI and the bench module (unless SKIP_BUILD=1), then starts:
#        - the simulated LLM on a free port, fixed latency (SIM_LATENCY, 5ms) and a fixed reply;
#        - a Flightdeck server on free ports, on a fresh PostgreSQL database (BENCH_DB, dropped
#          and created again at every run, dropped at the end unless KEEP_DB=1);
#      and applies: a ModelProvider pointing at the sim (with prices), an Agent owned by a team
#      with rate limits far above the load (so the limiter runs but never refuses), an
#      AgentVersion pinning the sim's model, and three Budgets far above what the run spends:
#      tokens per session, cost per agent per day, tokens and cost of the team. Every gateway
#      call so reserves on 3 counters in PostgreSQL (one statement) and settles them (another);
#      it also creates a virtual key;
#   2. runs OpenLoopLoad (bench module): an open-loop generator at RATE req/s, latency measured
#      from each request's intended send time, warm-up then ROUNDS rounds of DURATION seconds
#      per target, alternating direct and gateway; non-streaming chat completions of ~300
#      bytes, each with a different ticket number (so runaway detection never sees a repeat),
#      with X-Flightdeck-Session spread over SESSIONS sessions;
#   3. prints Markdown on stdout (progress on stderr): per-round p50/p90/p99/p99.9, the median
#      over rounds, the added latency per round and its median, the CPU time each process
#      (generator, sim, server, the bench database's PostgreSQL backends) spent per request,
#      the answers (any answer other than 200 fails the run, exit 1), what PostgreSQL saw (rows
#      written in the budget tables and the counters' totals, checked against the calls the
#      gateway answered), the gateway's own metrics (its overhead timer, the budget statements'
#      times) and, with JFR_DIR, where the server's CPU went by step of a call (JfrSteps) and
#      what the database's busy backends waited on;
#   4. stops everything it started and drops the database on exit, Ctrl-C included (trap).
#
# Usage:
#   bench/models/run.sh                        # 2,000 req/s, 15 s warm-up, 3 x 20 s per target
#   DURATION=5 ROUNDS=1 WARMUP=5 bench/models/run.sh    # quick smoke run
#   JFR_DIR=/tmp/jfr RATE=400 bench/models/run.sh   # profile at a rate the machine sustains
#
# Environment (defaults in brackets):
#   RATE            requests per second, each target                [2000]
#   DURATION        seconds per measured round and target           [20]
#   ROUNDS          rounds (direct then gateway in each)            [3]
#   WARMUP          warm-up seconds per target, not reported        [15]
#   SESSIONS        distinct X-Flightdeck-Session values            [1000]
#   SIM_LATENCY     the sim's fixed time to answer                  [5ms]
#   PG_URL          base JDBC URL of the PostgreSQL server  [jdbc:postgresql://127.0.0.1:5432]
#   PG_USER         its user (the script creates and drops a database) [postgres]
#   BENCH_DB        the database created for the run               [flightdeck_bench_models]
#   KEEP_DB         1 keeps the database after the run              [0]
#   SERVER_JAVA_OPTS  extra JVM options for the server              []
#   JFR_DIR         if set, the server records JFR there (gateway.jfr, CPU-time samples every 1 ms
#                   of CPU) and what the bench database's backends wait on is sampled every
#                   0.1 s (pg-waits.txt); the report then adds both breakdowns        []
#   RAW_DIR         if set, the logs and the generator's output are copied there []
#   SKIP_BUILD      1 skips the Maven build (jars already built)   [0]
#   BUDGETS         which budgets to apply, for comparisons: words among session, daily, team,
#                   or none (then no call touches PostgreSQL)       [session daily team]
#   SESSION_TOKENS  the per-session budget's tokens. The default is far above what a session
#                   spends, so sessions are leased like the other budgets; a realistic one
#                   (50000, as in examples/) is too small to lease, so every call reserves and
#                   settles its session's counter in PostgreSQL       [1000000000]
#
# Needs: a JDK 21+ (found like ./flightdeck does), psql and a PostgreSQL server whose user may
# create databases (Debian: apt-get install -y postgresql-client), curl. No hey or wrk: hey's
# -q rate limit is closed-loop (each worker waits for its answer before sending the next), so
# it hides queueing, and wrk2 is not packaged; OpenLoopLoad's header says why it is what it is.
# All traffic stays on 127.0.0.1.

set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

RATE="${RATE:-2000}"
DURATION="${DURATION:-20}"
ROUNDS="${ROUNDS:-3}"
WARMUP="${WARMUP:-15}"
SESSIONS="${SESSIONS:-1000}"
SIM_LATENCY="${SIM_LATENCY:-5ms}"
PG_URL="${PG_URL:-jdbc:postgresql://127.0.0.1:5432}"
PG_USER="${PG_USER:-postgres}"
BENCH_DB="${BENCH_DB:-flightdeck_bench_models}"
KEEP_DB="${KEEP_DB:-0}"
SERVER_JAVA_OPTS="${SERVER_JAVA_OPTS:-}"
JFR_DIR="${JFR_DIR:-}"
RAW_DIR="${RAW_DIR:-}"
SKIP_BUILD="${SKIP_BUILD:-0}"
BUDGETS="${BUDGETS:-session daily team}"
SESSION_TOKENS="${SESSION_TOKENS:-1000000000}"
[[ "$SESSION_TOKENS" =~ ^[1-9][0-9]*$ ]] || { printf '[models-bench] ERROR: SESSION_TOKENS must be a positive integer, got %s\n' "$SESSION_TOKENS" >&2; exit 1; }
MODEL=gpt-4o-mini-2024-07-18

log() { printf '[models-bench] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in psql curl awk sed; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (Debian: apt-get install -y postgresql-client curl gawk sed)"
done
[[ "$BENCH_DB" =~ ^[a-z_][a-z0-9_]*$ ]] || die "BENCH_DB must be a plain lower-case identifier, got '$BENCH_DB'"

# psql connection from the JDBC URL: jdbc:postgresql://HOST:PORT
PG_HOSTPORT="${PG_URL#jdbc:postgresql://}"
PG_HOSTPORT="${PG_HOSTPORT%%/*}"
PG_HOST="${PG_HOSTPORT%%:*}"
PG_PORT="${PG_HOSTPORT##*:}"; [[ "$PG_PORT" == "$PG_HOSTPORT" ]] && PG_PORT=5432
pg() { PGOPTIONS='--client-min-messages=warning' psql -X -q -v ON_ERROR_STOP=1 -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" "$@"; }
pg_bench() { pg -d "$BENCH_DB" -At -F ' ' -c "$1"; }

. "$ROOT/.mvn/find-jdk.sh"
fd_find_jdk || die "no JDK 21 or newer found"
JAVA="$JAVA_HOME/bin/java"

if [[ "$SKIP_BUILD" != 1 ]]; then
    log "building the CLI and the bench module (./mvnw -q -pl cli,bench -am package -DskipTests) ..."
    (cd "$ROOT" && ./mvnw -q -B -pl cli,bench -am package -DskipTests >&2) || die "the build failed"
fi
BENCH_JAR="$ROOT/bench/target/benchmarks.jar"
[[ -f "$BENCH_JAR" && -f "$ROOT/cli/target/flightdeck.jar" ]] || die "jars missing: run without SKIP_BUILD=1"
export FLIGHTDECK_NO_BUILD=1   # never rebuild under a running benchmark

# ------------------------------------------------------------ processes ----

WORK="$(mktemp -d /tmp/models-bench.XXXXXX)"
PIDS=()
DB_CREATED=0

cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    local pid
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ "$DB_CREATED" == 1 && "$KEEP_DB" != 1 ]]; then
        pg -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null 2>&1 \
            || log "could not drop database $BENCH_DB"
    fi
    if [[ -n "$RAW_DIR" ]]; then
        mkdir -p "$RAW_DIR"
        cp -r "$WORK/." "$RAW_DIR/" 2>/dev/null || true
        rm -rf "$RAW_DIR/data"
        log "logs copied to $RAW_DIR"
    fi
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# wait_for_line FILE REGEX PID WHAT: prints the first line of FILE matching REGEX, waiting up to 60 s.
wait_for_line() {
    local file=$1 re=$2 pid=$3 what=$4 line
    for _ in $(seq 600); do
        line="$(grep -m1 -E "$re" "$file" 2>/dev/null || true)"
        if [[ -n "$line" ]]; then printf '%s\n' "$line"; return 0; fi
        kill -0 "$pid" 2>/dev/null || { tail -n 30 "$file" >&2; die "$what exited while starting"; }
        sleep 0.1
    done
    tail -n 30 "$file" >&2
    die "$what did not start within 60 s"
}

# ----------------------------------------------------------- simulated LLM ----

cat >"$WORK/scenario.yaml" <<EOF
models: [$MODEL]
seed: 42
latency: {value: $SIM_LATENCY}
default:
  reply: "billing: the customer was charged twice for the pro plan; route to the billing queue"
EOF
"$ROOT/flightdeck" sim llm --port 0 --scenario "$WORK/scenario.yaml" >"$WORK/sim.log" 2>&1 &
SIM_PID=$!
PIDS+=("$SIM_PID")
SIM_BASE="$(wait_for_line "$WORK/sim.log" 'Simulated LLM serving' "${PIDS[-1]}" "the simulated LLM" \
    | grep -oE 'http://[0-9.]+:[0-9]+/v1')"
log "simulated LLM at $SIM_BASE ($SIM_LATENCY to answer)"

# ------------------------------------------------------------ the server ----

pg -d postgres -c "DROP DATABASE IF EXISTS $BENCH_DB WITH (FORCE)" >/dev/null
pg -d postgres -c "CREATE DATABASE $BENCH_DB" >/dev/null
DB_CREATED=1
DB_URL="$PG_URL/$BENCH_DB?user=$PG_USER"

JFR_OPTS=""
if [[ -n "$JFR_DIR" ]]; then
    mkdir -p "$JFR_DIR"
    JFR_DIR="$(cd "$JFR_DIR" && pwd)"
    # JDK 25's CPU-time sampler (experimental): one sample per millisecond of a thread's CPU.
    JFR_OPTS="-XX:StartFlightRecording=filename=$JFR_DIR/gateway.jfr,settings=profile,dumponexit=true"
    JFR_OPTS="$JFR_OPTS,jdk.CPUTimeSample#enabled=true,jdk.CPUTimeSample#throttle=1ms -XX:FlightRecorderOptions:stackdepth=256"
fi
mkdir -p "$WORK/data"
FLIGHTDECK_JAVA_OPTS="$SERVER_JAVA_OPTS $JFR_OPTS" "$ROOT/flightdeck" server --data-dir "$WORK/data" \
    --database-url "$DB_URL" --port 0 --gateway-port 0 --no-save-token >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
PIDS+=("$SERVER_PID")
API="$(wait_for_line "$WORK/server.log" 'Flightdeck API listening on' "$SERVER_PID" "the server" \
    | grep -oE 'http://[0-9.]+:[0-9]+' | head -n1)"
GATEWAY="$(wait_for_line "$WORK/server.log" 'Gateway serving agents at' "$SERVER_PID" "the server" \
    | grep -oE 'http://[0-9.]+:[0-9]+' | head -n1)"
TOKEN="$(wait_for_line "$WORK/server.log" '^    fd_' "$SERVER_PID" "the server (admin token)" | tr -d ' ')"
log "server: API $API, gateway $GATEWAY, PostgreSQL database $BENCH_DB (pid $SERVER_PID)"
export FLIGHTDECK_SERVER="$API" FLIGHTDECK_TOKEN="$TOKEN"

# ------------------------------------------------------------- resources ----

cat >"$WORK/resources.yaml" <<EOF
apiVersion: flightdeck.dev/v1alpha1
kind: ModelProvider
metadata: {name: sim}
spec:
  type: openai
  baseUrl: $SIM_BASE
  models:
    - {id: $MODEL, input: 0.15, cachedInput: 0.075, output: 0.60}
---
apiVersion: flightdeck.dev/v1alpha1
kind: Agent
metadata: {name: bench-agent}
spec:
  description: The model gateway benchmark's agent (bench/models/run.sh).
  owner: team-bench
  modelGateway:
    rateLimits:        # checked on every call, far above the load: never refuses
      agent: {requestsPerMinute: 100000000, tokensPerMinute: 1000000000000}
      key:   {requestsPerMinute: 100000000, tokensPerMinute: 1000000000000}
---
apiVersion: flightdeck.dev/v1alpha1
kind: AgentVersion
metadata: {name: bench-agent-v1}
spec:
  agent: bench-agent
  endpoints:
    - url: http://127.0.0.1:9    # the agent itself is not called: the load plays the agent
  models:
    - {id: $MODEL, provider: sim}
EOF
for b in $BUDGETS; do
    case "$b" in
        session) printf -- '---\n%s\n' "apiVersion: flightdeck.dev/v1alpha1
kind: Budget
metadata: {name: bench-per-session}
spec:
  selector: {agent: bench-agent}
  per: session
  tokens: $SESSION_TOKENS" ;;
        daily) printf -- '---\n%s\n' "apiVersion: flightdeck.dev/v1alpha1
kind: Budget
metadata: {name: bench-agent-daily}
spec:
  selector: {agent: bench-agent}
  period: day
  costUsd: 1000000" ;;
        team) printf -- '---\n%s\n' "apiVersion: flightdeck.dev/v1alpha1
kind: Budget
metadata: {name: bench-team}
spec:
  selector: {team: team-bench}
  tokens: 1000000000000000
  costUsd: 1000000" ;;
        none) ;;
        *) die "BUDGETS: expected words among session, daily, team (or none), got '$b'" ;;
    esac
done >>"$WORK/resources.yaml"
"$ROOT/flightdeck" apply -f "$WORK/resources.yaml" >&2
KEY="$("$ROOT/flightdeck" keys create agentversion/bench-agent-v1 --name bench 2>/dev/null)"
[[ "$KEY" == fdk_* ]] || die "could not create a virtual key (got '$KEY')"

# A realistic small request; {{n}} becomes the request's sequence number.
cat >"$WORK/body.json" <<EOF
{"model":"$MODEL","messages":[{"role":"system","content":"You triage support tickets. Answer with a queue name and a one-line reason."},{"role":"user","content":"Ticket {{n}}: my invoice is wrong, I was charged twice for the pro plan this month. Please refund one payment."}],"max_tokens":64,"temperature":0.2}
EOF

# The gateway reloads resources and keys within a second: wait until it answers 200.
check="$(printf '%s' "$(sed 's/{{n}}/0/' "$WORK/body.json")")"
for i in $(seq 100); do
    code="$(curl -s -o "$WORK/check.json" -w '%{http_code}' -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' -H 'X-Flightdeck-Session: bench-check' -d "$check" \
        "$GATEWAY/v1/chat/completions" || true)"
    [[ "$code" == 200 ]] && break
    [[ "$i" == 100 ]] && { cat "$WORK/check.json" >&2; die "the gateway answered $code, not 200"; }
    sleep 0.1
done
log "gateway answers 200 for agentversion/bench-agent-v1 through provider sim"

# -------------------------------------------------------------- measure ----

# Rows written in the budget tables, from PostgreSQL's statistics. A backend reports them at
# most once a second while busy and within 10 s once idle: wait that long, then until they stop
# moving.
budget_rows() {
    pg_bench "SELECT coalesce(sum(n_tup_ins) FILTER (WHERE relname = 'fd_budget_counter'), 0),
                     coalesce(sum(n_tup_upd) FILTER (WHERE relname = 'fd_budget_counter'), 0),
                     coalesce(sum(n_tup_ins) FILTER (WHERE relname = 'fd_budget_reservation'), 0),
                     coalesce(sum(n_tup_del) FILTER (WHERE relname = 'fd_budget_reservation'), 0)
              FROM pg_stat_user_tables WHERE relname IN ('fd_budget_counter', 'fd_budget_reservation')"
}
settled_rows() {
    local prev="" cur
    sleep 11
    for _ in $(seq 30); do
        cur="$(budget_rows)"
        [[ "$cur" == "$prev" ]] && break
        prev="$cur"
        sleep 2
    done
    printf '%s\n' "$cur"
}
log "reading PostgreSQL's table statistics before the load (about 15 s) ..."
read -r C_INS0 C_UPD0 R_INS0 R_DEL0 <<<"$(settled_rows)"
LOADAVG="$(cut -d' ' -f1-3 /proc/loadavg)"
# PostgreSQL's CPU: the server's connections to the bench database (the pool is full by now)
# and the shared background processes; other databases' backends (other users) are left out.
PG_PIDS="$(pg_bench "SELECT string_agg(pid::text, ',') FROM pg_stat_activity
    WHERE (datname = '$BENCH_DB' AND pid <> pg_backend_pid())
       OR backend_type IN ('walwriter', 'background writer', 'checkpointer', 'autovacuum launcher')")"
log "PostgreSQL processes measured for CPU: $PG_PIDS"

if [[ -n "$JFR_DIR" ]]; then
    # One psql session, the same query every 0.1 s (\watch): a "tick" line, then what each busy
    # backend of the bench database waits on ("CPU" when it waits on nothing).
    printf '%s \\watch 0.1\n' "SELECT 'tick' UNION ALL SELECT coalesce(wait_event_type || ':' || wait_event, 'CPU')
        FROM pg_stat_activity WHERE datname = '$BENCH_DB' AND state = 'active' AND pid <> pg_backend_pid()" \
        >"$WORK/pg-waits.sql"
    psql -X -q -At -h "$PG_HOST" -p "$PG_PORT" -U "$PG_USER" -d "$BENCH_DB" -f "$WORK/pg-waits.sql" \
        >"$JFR_DIR/pg-waits.txt" 2>/dev/null &
    PG_WAITS_PID=$!
    PIDS+=("$PG_WAITS_PID")
fi

"$JAVA" -Xms256m -Xmx512m -cp "$BENCH_JAR" dev.flightdeck.bench.models.OpenLoopLoad \
    --target "direct=$SIM_BASE/chat/completions" --target "gateway=$GATEWAY/v1/chat/completions" \
    --header "Authorization: Bearer $KEY" --body-file "$WORK/body.json" \
    --rate "$RATE" --warmup "$WARMUP" --duration "$DURATION" --rounds "$ROUNDS" --sessions "$SESSIONS" \
    --cpu "sim=$SIM_PID" --cpu "server=$SERVER_PID" --cpu "postgres=$PG_PIDS" \
    >"$WORK/load.md" 2> >(tee "$WORK/load.log" >&2) &
LOAD_PID=$!
PIDS+=("$LOAD_PID")
LOAD_RC=0
wait "$LOAD_PID" || LOAD_RC=$?

# The gateway's own view, scraped before anything stops.
curl -s -H "Authorization: Bearer $TOKEN" "$API/metrics" >"$WORK/metrics.txt" || true
log "waiting for PostgreSQL's table statistics to settle ..."
read -r C_INS1 C_UPD1 R_INS1 R_DEL1 <<<"$(settled_rows)"

# -------------------------------------------------------------- report ----

GW_OK="$(sed -n 's/^<!-- answers gateway sent=[0-9]* ok=\([0-9]*\) -->$/\1/p' "$WORK/load.md")"
GW_OK="${GW_OK:-0}"
ADDED_P99="$(sed -n 's/^<!-- added gateway p50=[-0-9.]* p99=\([-0-9.]*\) -->$/\1/p' "$WORK/load.md")"
ADDED_P50="$(sed -n 's/^<!-- added gateway p50=\([-0-9.]*\) p99=[-0-9.]* -->$/\1/p' "$WORK/load.md")"

metric() {  # metric 'NAME{LABELS}' -> its value in the scrape, or n/a
    awk -v k="$1" 'index($0, k " ") == 1 { print $NF; f=1; exit } END { if (!f) print "n/a" }' "$WORK/metrics.txt"
}
ms() { [[ "$1" == n/a ]] && echo n/a || awk -v s="$1" 'BEGIN { printf "%.3f", s * 1000 }'; }
op_metric() { metric "flightdeck_store_operations_seconds_$2{operation=\"$1\"}"; }
store_op() {  # store_op OPERATION -> "count, mean ms, max ms"
    local sum count max
    sum="$(op_metric "$1" sum)"; count="$(op_metric "$1" count)"; max="$(op_metric "$1" max)"
    [[ "$sum" == n/a || "$count" == n/a ]] && { echo n/a; return; }
    awk -v s="$sum" -v c="$count" -v m="$max" 'BEGIN { printf "%.0f, %.3f, %s", c, (c > 0 ? s / c * 1000 : 0), (m == "n/a" ? m : sprintf("%.3f", m * 1000)) }'
}

echo "## Model gateway benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'))"
echo
echo "- machine: $(nproc) CPUs ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)),"\
     "load average before the run $LOADAVG; everything below shares these CPUs"
echo "- $("$JAVA" -version 2>&1 | head -n1); PostgreSQL $(pg_bench 'SHOW server_version'), autovacuum $(pg_bench 'SHOW autovacuum'), shared_buffers $(pg_bench 'SHOW shared_buffers')"
echo "- direct: the simulated LLM, \`POST $SIM_BASE/chat/completions\`, fixed latency $SIM_LATENCY"
echo "- gateway: \`POST $GATEWAY/v1/chat/completions\` (virtual key, pin check, runaway check, agent and key"
SESSION_NOTE=""; [[ " $BUDGETS " == *" session "* ]] && SESSION_NOTE=", a session's budget $SESSION_TOKENS tokens"
echo "  rate limits, budgets reserved and settled in PostgreSQL: $BUDGETS$SESSION_NOTE), forwarding to the same sim"
echo "- request: $(wc -c <"$WORK/body.json" | tr -d ' ') bytes, non-streaming, \`max_tokens\` 64; answer 432 bytes"
echo
cat "$WORK/load.md" | grep -v '^<!--'
echo
echo "### What PostgreSQL saw (whole run, warm-up included)"
echo
C_INS=$((C_INS1 - C_INS0)); C_UPD=$((C_UPD1 - C_UPD0)); R_INS=$((R_INS1 - R_INS0)); R_DEL=$((R_DEL1 - R_DEL0))
PER_RES="$(awk -v w=$((C_INS + C_UPD)) -v n="$R_INS" 'BEGIN { if (n > 0) printf "%.2f", w / n; else print "n/a" }')"
echo "| gateway calls answered 200 | reservations made | reservations settled | counter rows inserted | counter rows updated | counter writes per reservation |"
echo "|---:|---:|---:|---:|---:|---:|"
echo "| $GW_OK | $R_INS | $R_DEL | $C_INS | $C_UPD | $PER_RES |"
echo
echo "A reservation is a lease (a slice of a counter's allowance that the gateway grants calls from in"
echo "memory, returned after 5 s unused) or, for a counter too small to lease, one call's worst case;"
echo "each is one statement to make and one to settle (docs/model-gateway.md, Budgets). Every answered"
echo "call is charged on all the budgets: their used tokens below must be equal."
echo
echo "| budget | counters | used tokens | used USD | reserved tokens now | reservations held now |"
echo "|---|---:|---:|---:|---:|---:|"
pg_bench "SELECT budget, count(*), sum(used_tokens), to_char(sum(used_nano) / 1e9, 'FM999990.000000'),
                 sum(reserved_tokens), sum(held) FROM fd_budget_counter GROUP BY budget ORDER BY budget" \
    | awk '{ printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $3, $4, $5, $6 }'
echo
echo "### The gateway's own metrics (end of run)"
echo
echo "| metric | value |"
echo "|---|---:|"
echo "| \`flightdeck_model_gateway_overhead\` p50, ms (arrival to sending upstream; last ~2 min) | $(ms "$(metric 'flightdeck_model_gateway_overhead_seconds{quantile="0.5"}')") |"
echo "| \`flightdeck_model_gateway_overhead\` p99, ms | $(ms "$(metric 'flightdeck_model_gateway_overhead_seconds{quantile="0.99"}')") |"
for op in budget.reserve budget.settle; do
    echo "| \`$op\` statements since start: count, mean ms, max ms (recent) | $(store_op $op) |"
done
echo
if [[ -n "$JFR_DIR" ]]; then
    log "stopping the server to write its JFR recording ..."
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 300); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -TERM "$PG_WAITS_PID" 2>/dev/null || true
    # The gateway's measured rounds only: windows and calls from the generator's output.
    WINDOWS=(); GW_CALLS=0
    while read -r start end sent; do
        WINDOWS+=(--window "$start-$end"); GW_CALLS=$((GW_CALLS + sent))
    done < <(sed -n 's/^<!-- phase gateway round=[0-9]* start=\([0-9]*\) end=\([0-9]*\) sent=\([0-9]*\) -->$/\1 \2 \3/p' "$WORK/load.md")
    echo "### Profile: the server's CPU by step, in the gateway's measured rounds (JFR, \`$JFR_DIR/gateway.jfr\`)"
    echo
    "$JAVA" -cp "$BENCH_JAR" dev.flightdeck.bench.models.JfrSteps "$JFR_DIR/gateway.jfr" --calls "$GW_CALLS" "${WINDOWS[@]}" \
        || log "JfrSteps failed"
    echo
    echo "### Profile: what the bench database's busy backends were doing (pg_stat_activity every 0.1 s, whole run)"
    echo
    awk '$0 == "tick" { if (cur > 0) { busyTicks++; busySum += cur } cur = 0; next }
        { cur++; n[$0]++; all++ }
        END { if (cur > 0) { busyTicks++; busySum += cur }
              printf "%d samples with a busy backend; busy backends in them on average: %.1f\n", busyTicks, busySum / (busyTicks ? busyTicks : 1);
              for (w in n) printf "%.1f%% %s\n", 100 * n[w] / all, w }' "$JFR_DIR/pg-waits.txt" >"$WORK/pg-waits.md"
    head -n1 "$WORK/pg-waits.md"
    echo
    echo "| what a busy backend was doing | share |"
    echo "|---|---:|"
    tail -n +2 "$WORK/pg-waits.md" | sort -rn | awk '{ printf "| %s | %s |\n", $2, $1 }'
    echo
fi
FAILED=0
if [[ "$LOAD_RC" != 0 ]]; then
    echo "**FAILED: the load generator exited with status $LOAD_RC (answers other than 200; see above).**"
    FAILED=1
fi
if [[ "$BUDGETS" != none && "$GW_OK" -gt 0 ]]; then
    # Every answered call is charged on every budget, and nothing stays reserved once leases end.
    CHARGED="$(pg_bench "SELECT count(DISTINCT used) || ' ' || min(used) || ' ' || sum(reserved) FROM
        (SELECT budget, sum(used_tokens) AS used, sum(reserved_tokens) AS reserved FROM fd_budget_counter GROUP BY budget) b")"
    read -r DISTINCT USED RESERVED <<<"$CHARGED"
    if [[ "$DISTINCT" != 1 || "$USED" -le 0 ]]; then
        echo "**FAILED: the budgets were not all charged the same tokens ($CHARGED: distinct totals, least, reserved).**"
        FAILED=1
    fi
fi
if [[ -n "$ADDED_P99" ]]; then
    verdict="$(awk -v a="$ADDED_P99" 'BEGIN { print (a <= 1.5) ? "met" : "NOT met" }')"
    echo "**Added by the gateway (median over rounds): p50 ${ADDED_P50} ms, p99 ${ADDED_P99} ms; target p99 ≤ 1.5 ms: ${verdict}.**"
fi
echo
echo "Note: generator, sim, gateway and PostgreSQL share this machine's CPUs; compare rows of the"
echo "same run, not across runs or machines."
[[ "$FAILED" == 0 ]] || exit 1
