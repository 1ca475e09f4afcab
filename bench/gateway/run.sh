#!/usr/bin/env bash
# bench/gateway/run.sh — compare the gateway reverse proxy with calling the
# upstream directly and with nginx as a reverse proxy, on this machine only.
#
# What it does, in one run:
#   1. starts a fake upstream (nginx, nginx-upstream.conf.tmpl) on UPSTREAM_PORT
#      that answers every request with a small fixed JSON body;
#   2. starts an nginx reverse proxy (nginx-proxy.conf.tmpl) on NGINX_PROXY_PORT
#      in front of that upstream, with pooled keep-alive upstream connections;
#   3. measures, target after target (direct, gateway, nginx) so that the three
#      are interleaved and share the same machine conditions:
#        - latency at 1000 req/s, then at 3000 req/s (hey, fixed rate);
#        - maximum throughput (wrk -t2 -c64, post.lua);
#      every measurement runs DURATION seconds after a WARMUP-second warm-up;
#   4. prints Markdown tables on stdout (progress goes to stderr), and stops
#      the nginx processes it started when it exits (trap).
#
# The gateway itself is NOT started here: start it separately, pointed at the
# fake upstream (http://127.0.0.1:$UPSTREAM_PORT/), and give its URL in
# GATEWAY_URL. If GATEWAY_URL does not answer, the gateway rows are skipped.
#
# Usage:
#   bench/gateway/run.sh                      # 20 s per measurement
#   DURATION=5 bench/gateway/run.sh           # quick smoke run
#   bench/gateway/run.sh > results.md         # keep just the tables
#
# Environment (defaults in brackets):
#   GATEWAY_URL       gateway under test  [http://127.0.0.1:7080/agents/bench/]
#   UPSTREAM_PORT     fake upstream port                          [9180]
#   NGINX_PROXY_PORT  nginx reverse-proxy port                    [9181]
#   DURATION          seconds per measurement                     [20]
#   WARMUP            warm-up seconds before each measurement     [3]
#   RATES             fixed request rates, req/s                  ["1000 3000"]
#   HEY_WORKERS       hey workers (-c); rate per worker = RATE/HEY_WORKERS [50]
#   WRK_THREADS       wrk threads (-t)                            [2]
#   WRK_CONNECTIONS   wrk connections (-c)                        [64]
#   RAW_DIR           if set, raw hey/wrk outputs are copied there at the end
#
# Needs: nginx, hey, wrk, curl, envsubst (Debian: apt-get install -y wrk nginx
# hey curl gettext-base). All traffic goes to 127.0.0.1 only. Do not run the
# system nginx service; this script runs its own nginx processes with all
# pid/log/temp files in a private temp dir.

set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:7080/agents/bench/}"
UPSTREAM_PORT="${UPSTREAM_PORT:-9180}"
NGINX_PROXY_PORT="${NGINX_PROXY_PORT:-9181}"
DURATION="${DURATION:-20}"
WARMUP="${WARMUP:-3}"
RATES="${RATES:-1000 3000}"
HEY_WORKERS="${HEY_WORKERS:-50}"
WRK_THREADS="${WRK_THREADS:-2}"
WRK_CONNECTIONS="${WRK_CONNECTIONS:-64}"
RAW_DIR="${RAW_DIR:-}"

BODY='{"input":"hello"}'
DIRECT_URL="http://127.0.0.1:${UPSTREAM_PORT}/"
NGINX_URL="http://127.0.0.1:${NGINX_PROXY_PORT}/"

log() { printf '[run.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

for tool in nginx hey wrk curl envsubst ss; do
    command -v "$tool" >/dev/null 2>&1 || die "'$tool' not found (apt-get install -y wrk nginx hey curl gettext-base iproute2)"
done

# ---------------------------------------------------------------- nginx ----

NGINX_TMP="$(mktemp -d /tmp/gateway-bench.XXXXXX)"
mkdir -p "$NGINX_TMP/logs" "$NGINX_TMP/tmp" "$NGINX_TMP/raw"
export NGINX_TMP UPSTREAM_PORT NGINX_PROXY_PORT
NGINX_PIDS=()

cleanup() {
    local rc=$?
    for pid in "${NGINX_PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -QUIT "$pid" 2>/dev/null || true   # graceful nginx shutdown
        fi
    done
    for pid in "${NGINX_PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ -n "$RAW_DIR" ]]; then
        mkdir -p "$RAW_DIR"
        cp -r "$NGINX_TMP/raw/." "$NGINX_TMP/logs" "$RAW_DIR/" 2>/dev/null || true
        log "raw outputs copied to $RAW_DIR"
    fi
    rm -rf "$NGINX_TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { ss -ltnH "sport = :$1" | grep -q .; }

# start_nginx NAME TEMPLATE PORT: render TEMPLATE, run nginx in the foreground
# (daemon off) as a background job, wait until PORT answers.
start_nginx() {
    local name=$1 tmpl=$2 port=$3
    local conf="$NGINX_TMP/$name.conf"
    port_in_use "$port" && die "port $port already in use (change UPSTREAM_PORT / NGINX_PROXY_PORT)"
    envsubst '${NGINX_TMP} ${UPSTREAM_PORT} ${NGINX_PROXY_PORT}' <"$tmpl" >"$conf"
    nginx -t -q -p "$NGINX_TMP" -e "$NGINX_TMP/logs/$name-error.log" -c "$conf" \
        || die "nginx config test failed for $name ($conf)"
    nginx -p "$NGINX_TMP" -e "$NGINX_TMP/logs/$name-error.log" -c "$conf" &
    NGINX_PIDS+=("$!")
    for _ in $(seq 50); do
        if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
            log "$name nginx up on 127.0.0.1:$port (pid ${NGINX_PIDS[-1]})"
            return 0
        fi
        sleep 0.1
    done
    cat "$NGINX_TMP/logs/$name-error.log" >&2 || true
    die "$name nginx did not answer on port $port"
}

start_nginx upstream "$HERE/nginx-upstream.conf.tmpl" "$UPSTREAM_PORT"
start_nginx proxy    "$HERE/nginx-proxy.conf.tmpl"    "$NGINX_PROXY_PORT"

# ------------------------------------------------------------- targets ----

TARGETS=(direct gateway nginx)
declare -A URL=([direct]="$DIRECT_URL" [gateway]="$GATEWAY_URL" [nginx]="$NGINX_URL")

GATEWAY_OK=1
gw_code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 5 -X POST \
    -H 'Content-Type: application/json' -d "$BODY" "$GATEWAY_URL" 2>/dev/null || true)"
if [[ -z "$gw_code" || "$gw_code" == "000" ]]; then
    GATEWAY_OK=0
    log "gateway NOT reachable at $GATEWAY_URL: skipping gateway rows (direct and nginx still measured)"
elif [[ "$gw_code" != 2* ]]; then
    log "WARNING: gateway answered HTTP $gw_code at $GATEWAY_URL (measuring anyway; see the errors column)"
else
    log "gateway reachable at $GATEWAY_URL (HTTP $gw_code)"
fi

active() { [[ "$1" != gateway || "$GATEWAY_OK" == 1 ]]; }

# ------------------------------------------------------------- parsing ----

# hey prints e.g. "  99% in 0.0021 secs" under "Latency distribution:", i.e.
# with 0.1 ms resolution, so hey latencies are reported with one decimal.
hey_pct_ms() {  # hey_pct_ms FILE PCT -> milliseconds or "n/a"
    awk -v p="$2%" '/Latency distribution/ {in_d=1; next}
        in_d && $1 == p && $2 == "in" { printf "%.1f", $3 * 1000; found=1; exit }
        END { if (!found) print "n/a" }' "$1"
}
hey_rps() {
    awk '/Requests\/sec:/ { printf "%.0f", $2; f=1; exit } END { if (!f) print "n/a" }' "$1"
}
# Non-2xx responses plus transport errors.
hey_errors() {
    awk '/Status code distribution/ {s=1; e=0; next}
        /Error distribution/ {e=1; s=0; next}
        s && $1 ~ /^\[[0-9]+\]$/ { code=substr($1,2,3); if (code !~ /^2/) n += $2 }
        e && $1 ~ /^\[[0-9]+\]$/ { n += substr($1, 2, length($1) - 2) }
        END { print n + 0 }' "$1"
}
wrk_rps() {
    awk '/^Requests\/sec:/ { printf "%.0f", $2; f=1 } END { if (!f) print "n/a" }' "$1"
}
wrk_errors() {
    awk '/Non-2xx or 3xx responses:/ { n += $NF }
        /Socket errors:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i }
        END { print n + 0 }' "$1"
}
# wrk's "Latency" line: avg stdev max, with units (us/ms/s).
wrk_avg_ms() {
    awk '$1 == "Latency" && NF >= 2 { v=$2; u=v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v);
            m = (u=="us") ? v/1000 : (u=="s") ? v*1000 : v; printf "%.2f", m; f=1; exit }
        END { if (!f) print "n/a" }' "$1"
}

diff_ms() {  # diff_ms A B -> A - B, or "n/a"
    if [[ "$1" == n/a || "$2" == n/a ]]; then echo n/a; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.1f", a - b }'
}
ratio() {
    if [[ "$1" == n/a || "$2" == n/a || "$2" == 0 ]]; then echo n/a; return; fi
    awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'
}

# ------------------------------------------------------------ measuring ----

declare -A P50 P99 ARPS ERRS TPUT TERR TAVG

run_hey() {  # run_hey TARGET RATE
    local t=$1 rate=$2 out="$NGINX_TMP/raw/hey-$1-$2.txt"
    local q=$(( (rate + HEY_WORKERS - 1) / HEY_WORKERS ))
    log "hey  $t @ ${rate}/s (${HEY_WORKERS} workers x ${q} qps): warm-up ${WARMUP}s, measure ${DURATION}s"
    hey -z "${WARMUP}s" -q "$q" -c "$HEY_WORKERS" -m POST -T application/json -d "$BODY" "${URL[$t]}" >/dev/null 2>&1 || true
    hey -z "${DURATION}s" -q "$q" -c "$HEY_WORKERS" -m POST -T application/json -d "$BODY" "${URL[$t]}" >"$out" 2>&1 \
        || log "WARNING: hey exited non-zero for $t @ $rate (see raw output)"
    P50[$t,$rate]="$(hey_pct_ms "$out" 50)"
    P99[$t,$rate]="$(hey_pct_ms "$out" 99)"
    ARPS[$t,$rate]="$(hey_rps "$out")"
    ERRS[$t,$rate]="$(hey_errors "$out")"
}

run_wrk() {  # run_wrk TARGET
    local t=$1 out="$NGINX_TMP/raw/wrk-$1.txt"
    log "wrk  $t (-t${WRK_THREADS} -c${WRK_CONNECTIONS}): warm-up ${WARMUP}s, measure ${DURATION}s"
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${WARMUP}s" -s "$HERE/post.lua" "${URL[$t]}" >/dev/null 2>&1 || true
    wrk -t"$WRK_THREADS" -c"$WRK_CONNECTIONS" -d"${DURATION}s" -s "$HERE/post.lua" "${URL[$t]}" >"$out" 2>&1 \
        || log "WARNING: wrk exited non-zero for $t (see raw output)"
    TPUT[$t]="$(wrk_rps "$out")"
    TERR[$t]="$(wrk_errors "$out")"
    TAVG[$t]="$(wrk_avg_ms "$out")"
}

for rate in $RATES; do
    for t in "${TARGETS[@]}"; do
        if active "$t"; then run_hey "$t" "$rate"; fi
    done
done
for t in "${TARGETS[@]}"; do
    if active "$t"; then run_wrk "$t"; fi
done

# -------------------------------------------------------------- report ----

echo "## Gateway benchmark ($(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, ${DURATION}s per run after ${WARMUP}s warm-up)"
echo
echo "- direct:  $DIRECT_URL (nginx fake upstream)"
if [[ "$GATEWAY_OK" == 1 ]]; then
    echo "- gateway: $GATEWAY_URL"
else
    echo "- gateway: $GATEWAY_URL — **not reachable, skipped**"
fi
echo "- nginx:   $NGINX_URL (nginx reverse proxy, keepalive 64 to upstream)"
echo
echo "### Latency at fixed rate (hey, ${HEY_WORKERS} workers, POST $BODY)"
echo
echo "| target | target rate (req/s) | achieved (req/s) | p50 (ms) | p99 (ms) | added p50 vs direct (ms) | added p99 vs direct (ms) | errors |"
echo "|---|---:|---:|---:|---:|---:|---:|---:|"
for rate in $RATES; do
    for t in "${TARGETS[@]}"; do
        if ! active "$t"; then
            echo "| $t | $rate | skipped | | | | | |"
            continue
        fi
        if [[ "$t" == direct ]]; then
            a50="—"; a99="—"
        else
            a50="$(diff_ms "${P50[$t,$rate]}" "${P50[direct,$rate]}")"
            a99="$(diff_ms "${P99[$t,$rate]}" "${P99[direct,$rate]}")"
        fi
        echo "| $t | $rate | ${ARPS[$t,$rate]} | ${P50[$t,$rate]} | ${P99[$t,$rate]} | $a50 | $a99 | ${ERRS[$t,$rate]} |"
    done
done
echo
echo "### Max throughput (wrk -t${WRK_THREADS} -c${WRK_CONNECTIONS}, POST $BODY)"
echo
echo "| target | requests/s | avg latency (ms) | vs direct | errors |"
echo "|---|---:|---:|---:|---:|"
for t in "${TARGETS[@]}"; do
    if ! active "$t"; then
        echo "| $t | skipped | | | |"
        continue
    fi
    echo "| $t | ${TPUT[$t]} | ${TAVG[$t]} | $(ratio "${TPUT[$t]}" "${TPUT[direct]}") | ${TERR[$t]} |"
done
echo
if [[ "$GATEWAY_OK" == 1 ]]; then
    echo "**gateway / nginx throughput ratio: $(ratio "${TPUT[gateway]}" "${TPUT[nginx]}")**"
else
    echo "gateway / nginx throughput ratio: n/a (gateway not reachable)"
fi
echo
echo "Note: load generator, upstream, proxy and gateway all share this machine's CPUs;"
echo "compare rows from the same run, not across runs or machines."
