#!/usr/bin/env bash
# Webhook intake benchmark (issue 4): wrk against `dealbridge run` (SQLite or PostgreSQL) and
# against a plain axum baseline, then a check that the inbox holds every delivery answered 200.
#
#   benches/webhook_intake/run.sh sqlite|postgres|baseline|baseline-verify
#
# Environment (defaults): BIN (target/release/dealbridge), HELPER
# (target/release/examples/webhook_intake), PORT (18080), THREADS (2), CONNS (32), DURATION
# (20s), COUNT (deliveries to prepare, 150000), REQUESTS (reuse a file from `gen` instead),
# PG_URL (postgres://postgres@127.0.0.1:5432), SHOP_URL (the WooCommerce base_url; default
# unreachable, so deliveries stay in the inbox: intake alone is measured), KEEP=1 keeps the
# work dir (and the PostgreSQL database).
set -euo pipefail

mode=${1:?usage: run.sh sqlite|postgres|baseline|baseline-verify}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
BIN=${BIN:-$root/target/release/dealbridge}
HELPER=${HELPER:-$root/target/release/examples/webhook_intake}
PORT=${PORT:-18080}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
DURATION=${DURATION:-20s}
COUNT=${COUNT:-150000}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
SHOP_URL=${SHOP_URL:-http://127.0.0.1:9}
SECRET=whsec_bench
work=$(mktemp -d /tmp/webhook-intake.XXXXXX)
server_pid=""
pg_db=""

cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP:-0}" != 1 ]; then
    [ -n "$pg_db" ] && psql "$PG_URL/postgres" -qc "DROP DATABASE IF EXISTS $pg_db" >/dev/null 2>&1 || true
    rm -rf "$work"
  else
    echo "kept $work ${pg_db:+and database $pg_db}"
  fi
}
trap cleanup EXIT

wait_up() {
  for _ in $(seq 1 100); do
    if curl -s -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "server did not come up at $1" >&2; cat "$work/server.log" >&2; exit 1
}

if [ -z "${REQUESTS:-}" ]; then
  REQUESTS=$work/requests.tsv
  "$HELPER" gen --secret "$SECRET" --count "$COUNT" --out "$REQUESTS"
fi

case "$mode" in
  sqlite|postgres)
    if [ "$mode" = sqlite ]; then
      db_url="sqlite://dealbridge.db"
    else
      pg_db=webhook_intake_$$
      psql "$PG_URL/postgres" -qc "CREATE DATABASE $pg_db" >/dev/null
      db_url="$PG_URL/$pg_db"
    fi
    mkdir -p "$work/mappings"
    cp "$root/mappings/woocommerce-bitrix24.toml" "$work/mappings/"
    cat > "$work/dealbridge.toml" <<TOML
[database]
url = "$db_url"
[server]
listen = "127.0.0.1:$PORT"
[sync]
poll_interval = "1h"
[systems.shop]
kind = "woocommerce"
base_url = "$SHOP_URL"
consumer_key = "ck_test"
consumer_secret = "cs_test"
webhook_secret = "$SECRET"
[systems.crm]
kind = "bitrix24"
webhook_url = "http://127.0.0.1:9/rest/1/bench/"
[[flows]]
name = "orders"
from = "shop"
to = "crm"
entities = ["order"]
mapping = "mappings/woocommerce-bitrix24.toml"
TOML
    "$BIN" --config "$work/dealbridge.toml" run >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_up "http://127.0.0.1:$PORT/healthz"
    ;;
  baseline)
    "$HELPER" baseline --listen "127.0.0.1:$PORT" >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_up "http://127.0.0.1:$PORT/"
    ;;
  baseline-verify)
    "$HELPER" baseline --listen "127.0.0.1:$PORT" --verify "$SECRET" >"$work/server.log" 2>&1 &
    server_pid=$!
    wait_up "http://127.0.0.1:$PORT/"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac

# The baselines store nothing: repeating deliveries there is harmless, and they would exhaust
# any file in a second or two.
cycle=""
case "$mode" in baseline*) cycle=cycle ;; esac
echo "== $mode: wrk -t$THREADS -c$CONNS -d$DURATION --latency -s intake.lua http://127.0.0.1:$PORT/webhooks/shop -- $REQUESTS $THREADS $cycle"
echo "   nproc $(nproc), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -s "$here/intake.lua" \
  "http://127.0.0.1:$PORT/webhooks/shop" -- "$REQUESTS" "$THREADS" $cycle | tee "$work/wrk.out"

case "$mode" in
  sqlite|postgres)
    # Requests in flight when wrk stopped are answered (and stored) after it printed.
    sleep 2
    if [ "$mode" = sqlite ]; then
      q() { sqlite3 "$work/dealbridge.db" "$1"; }
    else
      q() { psql "$PG_URL/$pg_db" -tAc "$1"; }
    fi
    rows=$(q "SELECT count(*) FROM inbox WHERE source = 'shop'")
    distinct=$(q "SELECT count(DISTINCT dedupe_key) FROM inbox WHERE source = 'shop'")
    processed=$(q "SELECT count(*) FROM inbox WHERE processed_at IS NOT NULL")
    stored=$(sed -n 's/.*200 stored \([0-9]*\),.*/\1/p' "$work/wrk.out")
    sent=$(sed -n 's/^intake: sent \([0-9]*\),.*/\1/p' "$work/wrk.out")
    echo "inbox: $rows rows ($distinct distinct dedupe keys, $processed processed); wrk: $stored answered 200 stored, $sent sent"
    if [ "$rows" -ge "$stored" ] && [ "$rows" -le "$sent" ]; then
      echo "durable check: OK (every 200 'stored' is a row; $((rows - stored)) rows from requests in flight at wrk's stop)"
    else
      echo "durable check: FAILED (rows must be between the 200s and the requests sent)"; exit 1
    fi
    if [ "$mode" = sqlite ]; then
      echo "sqlite: journal_mode $(q 'PRAGMA journal_mode'), db+wal $(du -ch "$work"/dealbridge.db* | tail -1 | cut -f1)"
    fi
    ;;
esac
echo "server log lines: $(wc -l < "$work/server.log") (warnings: $(grep -c WARN "$work/server.log" || true))"
