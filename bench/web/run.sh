#!/usr/bin/env bash
# bench/web: with 100,000 stored case results (10 models x 10,000 cases of a
# suite), the leaderboard and run pages' API calls under 50 concurrent
# connections; latency percentiles and the server's resident memory after
# each round. Usage: bench/web/run.sh [BUILD_DIR] [SECONDS_PER_ROUND]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build="$(cd "${1:-$here/../../build}" && pwd)"
secs="${2:-20}"
assay="$build/assay"
load="$build/bench/web/bench_web_loadgen"
work="$(mktemp -d /tmp/assay-bench-web.XXXXXX)"
data="$work/data"
trap 'kill $server 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

python3 "$here/seed.py" "$work/seed" 10000 10
"$assay" --data "$data" --quiet catalog init >/dev/null
"$assay" --data "$data" prompt add bench --file "$work/seed/prompt.json" >/dev/null
"$assay" --data "$data" dataset add bench --file "$work/seed/bench.jsonl" >/dev/null
for k in $(seq -f "%02g" 0 9); do
  "$assay" --data "$data" model add "m$k" --provider replay --file "$work/seed/m$k.jsonl" \
    --price-in 0.$k --price-out 1.$k >/dev/null
done
"$assay" --data "$data" suite add bench --file "$work/seed/suite.json" >/dev/null
t0=$(date +%s.%N)
"$assay" --data "$data" --quiet eval bench >/dev/null
t1=$(date +%s.%N)
items=$(python3 -c "import sqlite3;print(sqlite3.connect('$data/assay.db').execute('select count(*) from items').fetchone()[0])")
echo "seeded $items case results in $(python3 -c "print(round($t1-$t0,1))") s"
token=$("$assay" --data "$data" user add bench --role viewer 2>/dev/null)

"$assay" --data "$data" serve --port 0 > "$work/serve.out" 2>&1 &
server=$!
for _ in $(seq 50); do grep -q "serving on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
port=$(sed -n 's#.*serving on http://127.0.0.1:\([0-9]*\)/.*#\1#p' "$work/serve.out")
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }

run=$(python3 -c "import sqlite3;print(sqlite3.connect('$data/assay.db').execute('select max(id) from runs').fetchone()[0])")
lb=(/api/v1/leaderboard?suite=bench "/api/v1/leaderboard?suite=bench&policy=pareto"
    "/api/v1/leaderboard?suite=bench&policy=priority:cost,quality,speed")
runp=(/api/v1/runs/$run "/api/v1/runs?suite=bench")
for off in 0 2500 5000 7500 9950; do runp+=("/api/v1/runs/$run/items?offset=$off&limit=50"); done

echo "server RSS at start: $(rss) kB"
# An item page before any summary is made: it reads only its rows.
cold=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
       "http://127.0.0.1:$port/api/v1/runs/$run/items?offset=5000&limit=50")
echo "cold item page (no summary made): ${cold} s"
# The first leaderboard call makes the ten run summaries (the evaluator's
# bootstrap intervals over 10,000 items each); later calls use the cache.
cold=$(curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $token" \
       "http://127.0.0.1:$port/api/v1/leaderboard?suite=bench")
echo "cold leaderboard (10 summaries made): ${cold} s; RSS $(rss) kB"
printf "%-12s %5s %8s %6s %9s %8s %8s %8s %8s %10s\n" page round requests errors "req/s" p50_ms p90_ms p99_ms max_ms rss_kB
for round in 1 2 3; do
  for page in leaderboard run; do
    if [ $page = leaderboard ]; then paths=("${lb[@]}"); else paths=("${runp[@]}"); fi
    line=$("$load" "$port" "$secs" 50 "$token" "${paths[@]}")
    printf "%-12s %5s %s %10s\n" "$page" "$round" "$line" "$(rss)"
  done
done
