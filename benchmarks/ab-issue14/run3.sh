#!/usr/bin/env bash
# Third #14 A/B (2026-12-07, session 8): the quant suite only, before = c9995c1 (/work/wt-before, pnpm install +
# build) and after = this tree, alternating ROUNDS times (order flipped every round); summary.py DIR reads the results.
# QUANT_ARGS (default "--rounds 5 --quick") narrows the suite, e.g. "--rounds 9 --quick --threads 1".
# Usage: OUT=/tmp/ab3 ROUNDS=3 [QUANT_ARGS=...] bash benchmarks/ab-issue14/run3.sh
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:?set OUT}"; mkdir -p "$OUT"
run() { local tree=$1 side=$2
  echo "== $(date +%T) $side quant (load $(cut -d' ' -f1 /proc/loadavg))"
  (cd "$tree/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts quant ${QUANT_ARGS:---rounds 5 --quick} --out "$OUT/$side-$(date +%s)" > "$OUT/$side-$(date +%s).log" 2>&1; echo "   exit $?"); }
for i in $(seq 1 "${ROUNDS:-3}"); do
  if [ $((i % 2)) -eq 1 ]; then run /work/wt-before before; run "$ROOT" after; else run "$ROOT" after; run /work/wt-before before; fi
done
