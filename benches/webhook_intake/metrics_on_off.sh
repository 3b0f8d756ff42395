#!/usr/bin/env bash
# Webhook intake with the metrics recorder on and off (issue 11: "within 5 %"): `run.sh MODE`
# ROUNDS times each way, interleaved and alternating which side goes first (on off, off on, …)
# so drift in the machine's load falls on both sides; every run starts from an empty database
# and reuses one request file. Off is `DEALBRIDGE_METRICS=off` (no recorder: every counter is a
# no-op of the `metrics` facade). Prints one line per run (with the load average before the run
# and right after it, whose 1-minute figure is mostly the run's) and the medians.
#
#   benches/webhook_intake/metrics_on_off.sh [ROUNDS (3)] [MODE (sqlite)]
#
# Environment: as run.sh (BIN, HELPER, REQUESTS, DURATION, …); REQUESTS is generated once here
# when unset.
set -euo pipefail

rounds=${1:-3}
mode=${2:-sqlite}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
HELPER=${HELPER:-$root/target/release/examples/webhook_intake}
out=$(mktemp -d /tmp/metrics-on-off.XXXXXX)
if [ -z "${REQUESTS:-}" ]; then
  REQUESTS=$out/requests.tsv
  "$HELPER" gen --secret whsec_bench --count 150000 --out "$REQUESTS"
fi
export REQUESTS

one() { # side round
  local side=$1 log="$out/$1-$2.log"
  if [ "$side" = off ]; then
    DEALBRIDGE_METRICS=off "$here/run.sh" "$mode" >"$log" 2>&1
  else
    "$here/run.sh" "$mode" >"$log" 2>&1
  fi
  local after rps p50 p90 p99 load
  after=$(cut -d' ' -f1-3 /proc/loadavg)
  rps=$(sed -n 's/.*stored\/s \([0-9.]*\)$/\1/p' "$log")
  read -r p50 p90 p99 < <(sed -n 's/^intake: latency p50 \([0-9.]*\) ms, p90 \([0-9.]*\) ms, p99 \([0-9.]*\) ms.*/\1 \2 \3/p' "$log")
  load=$(sed -n 's/.*load \([0-9. ]*\)$/\1/p' "$log")
  grep -q "durable check: OK" "$log" || { echo "$side round $2: durable check failed, see $log" >&2; exit 1; }
  echo "$side $2 $rps $p50 $p90 $p99 | load before $load, after $after | $(date -u +%H:%M:%S)" | tee -a "$out/results"
}

for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then one on "$r"; one off "$r"; else one off "$r"; one on "$r"; fi
done

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo "median over $rounds rounds (stored/s, p50, p90, p99 ms):"
for side in on off; do
  printf '%s' "$side"
  for col in 3 4 5 6; do
    printf ' %s' "$(awk -v s="$side" -v c="$col" '$1 == s {print $c}' "$out/results" | median)"
  done
  echo
done
echo "logs in $out"
