#!/usr/bin/env bash
# Issue #20: where the two workers' time goes. The same grid run by one process (`study --grid`) and by two BullMQ
# workers (`study --grid --queue` + two `bench worker`s), alternating; for each, the wall time and the CPU time of
# everything it ran (the process and its waited-for children: /usr/bin/time for the one process; the two workers'
# utime+stime+cutime+cstime from /proc before and after for the queue). CPU/wall says how many cores were busy.
# Usage: GRID=tiny-perf ROUNDS=2 bash benchmarks/scale-out/cpu-accounting.sh   (a quiet machine; needs redis-server)
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT/apps/bench"
export BITSKIP_DATA_DIR="${BITSKIP_DATA_DIR:-$ROOT/../shared/data/tinystories}" BITSKIP_CACHE_DIR=/tmp/scale-cache
TCK=$(getconf CLK_TCK)
redis-server --port 16393 --save '' --appendonly no --dir /tmp > /tmp/scale-acct-redis.log 2>&1 & R=$!
sleep 1
Q=redis://127.0.0.1:16393/4
node --import tsx src/main.ts worker --queue $Q > /tmp/scale-acct-w1.log 2>&1 & W1=$!
node --import tsx src/main.ts worker --queue $Q > /tmp/scale-acct-w2.log 2>&1 & W2=$!
sleep 5
ticks() { awk '{print $14 + $15 + $16 + $17}' /proc/$1/stat; }
loc() {
  rm -rf /tmp/scale-acct-l$1
  /usr/bin/time -f '%e %U %S' -o /tmp/scale-acct-time node --import tsx src/main.ts study --grid grids/${GRID:-tiny-perf}.json --no-report --out /tmp/scale-acct-l$1 > /dev/null
  read -r wall u s < /tmp/scale-acct-time
  python3 -c "w=$wall; c=$u+$s; print(f'  1 process: wall {w:.1f} s, CPU {c:.1f} s ({c/w:.2f} cores)')"
}
dis() {
  rm -rf /tmp/scale-acct-d$1
  local a1 a2 b1 b2 t0 t1
  a1=$(ticks $W1); a2=$(ticks $W2); t0=$(date +%s.%N)
  node --import tsx src/main.ts study --grid grids/${GRID:-tiny-perf}.json --no-report --queue $Q --out /tmp/scale-acct-d$1 > /dev/null
  t1=$(date +%s.%N); b1=$(ticks $W1); b2=$(ticks $W2)
  python3 -c "w=$t1-$t0; c1=($b1-$a1)/$TCK; c2=($b2-$a2)/$TCK; print(f'  2 workers: wall {w:.1f} s, CPU {c1+c2:.1f} s (worker 1 {c1:.1f}, worker 2 {c2:.1f}; {(c1+c2)/w:.2f} cores; the CLI not counted)')"
}
loc 0 > /dev/null  # warm the data cache
for r in $(seq 1 "${ROUNDS:-2}"); do echo "round $r (load $(cut -d' ' -f1 /proc/loadavg))"; if [ $((r % 2)) = 1 ]; then loc $r; dis $r; else dis $r; loc $r; fi; done
grep -h "published\|training" /tmp/scale-acct-w1.log /tmp/scale-acct-w2.log | tail -8
kill -TERM $W1 $W2; wait $W1 $W2 2>/dev/null
kill -TERM $R; wait $R 2>/dev/null
