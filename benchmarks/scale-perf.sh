#!/usr/bin/env bash
# Issue #20 performance: a 4-cell tiny grid, one process vs two BullMQ workers, alternating, on a quiet machine.
set -u
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT/apps/bench"
export BITSKIP_DATA_DIR="${BITSKIP_DATA_DIR:-$ROOT/../shared/data/tinystories}" BITSKIP_CACHE_DIR=/tmp/scale-cache
redis-server --port 16392 --save '' --appendonly no --dir /tmp > /tmp/scale-redis.log 2>&1 & R=$!
sleep 1
Q=redis://127.0.0.1:16392/3
node --import tsx src/main.ts worker --queue $Q > /tmp/scale-perf-w1.log 2>&1 & W1=$!
node --import tsx src/main.ts worker --queue $Q > /tmp/scale-perf-w2.log 2>&1 & W2=$!
sleep 5
loc() { rm -rf /tmp/scale-perf-l$1; echo "  1 process (load $(cut -d' ' -f1 /proc/loadavg)): $(node --import tsx src/main.ts study --grid grids/${GRID:-tiny}.json --no-report --out /tmp/scale-perf-l$1 | grep -o '0 missing; [0-9.]* s')"; }
dis() { rm -rf /tmp/scale-perf-d$1; echo "  2 workers (load $(cut -d' ' -f1 /proc/loadavg)): $(node --import tsx src/main.ts study --grid grids/${GRID:-tiny}.json --no-report --queue $Q --out /tmp/scale-perf-d$1 | grep -o '0 missing; .*')"; }
loc 0 > /dev/null  # warm the data cache
for r in $(seq 1 "${ROUNDS:-2}"); do echo "round $r"; if [ $((r % 2)) = 1 ]; then loc $r; dis $r; else dis $r; loc $r; fi; done
kill -TERM $W1 $W2; wait $W1 $W2 2>/dev/null
kill -TERM $R; wait $R 2>/dev/null
