#!/usr/bin/env bash
# #13 recipe sweep: each config trains the default run (quick V1, seed 1234) with one change, for the number of
# steps that takes the default run's 487 steps of training time at its own measured step time (bench step suite,
# wasm:1, same window), with no time budget, so that the result does not depend on the machine's load. All runs
# go at once with --threads 1 (a run's results are identical with 1 and 2 threads). Usage (from the repo root):
#   BITSKIP_DATA_DIR=../shared/data/tinystories OUT=/path/to/runs bash benchmarks/recipe-sweep/run.sh NAME:STEPS ...
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${OUT:?set OUT to a directory for the runs}"
mkdir -p "$OUT"
for spec in "$@"; do
  name=${spec%%:*}; steps=${spec##*:}
  (cd "$ROOT/apps/train" && npx tsx src/main.ts --config "$ROOT/benchmarks/recipe-sweep/configs/$name.json" --steps "$steps" \
     --time-budget 0 --threads 1 --out "$OUT/$name" --name "sweep-$name" > "$OUT/$name.log" 2>&1; echo "$name exit $?" >> "$OUT/done.txt") &
done
wait
