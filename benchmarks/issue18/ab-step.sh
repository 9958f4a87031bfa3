#!/usr/bin/env bash
# A/B of the training step between two built trees (this one and BEFORE, e.g. a `git worktree` of the previous
# commit with `pnpm install --offline && pnpm -r --filter './packages/*' build`): the bench step suite alternating
# ROUNDS times per variant; prints each run's median ms/step and the medians of the medians.
# Usage: BEFORE=/work/wt-base ROUNDS=4 bash benchmarks/issue18/ab-step.sh [extra step-suite flags]
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BEFORE="${BEFORE:?set BEFORE to a built tree}"
ROUNDS="${ROUNDS:-4}"
VARIANTS="${VARIANTS:-baseline v1}"
PRESET="${PRESET:-quick}"
run() { (cd "$1/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts step --preset "$PRESET" --variant "$2" --backends wasm:2 --batch 16 --seq 256 --steps 6 --warmup 3 --out /tmp/ab-step "${@:3}" 2>&1 | awk '/^wasm:2 /{print $2}'); }
for v in $VARIANTS; do
  b=(); a=()
  for i in $(seq 1 "$ROUNDS"); do
    if [ $((i % 2)) -eq 1 ]; then b+=("$(run "$BEFORE" "$v" "$@")"); a+=("$(run "$ROOT" "$v" "$@")");
    else a+=("$(run "$ROOT" "$v" "$@")"); b+=("$(run "$BEFORE" "$v" "$@")"); fi
    echo "$(date +%T) $v round $i: before ${b[-1]} ms, after ${a[-1]} ms (load $(cut -d' ' -f1 /proc/loadavg))"
  done
  python3 -c "import statistics as s,sys; b=[float(x) for x in sys.argv[1].split()]; a=[float(x) for x in sys.argv[2].split()]; print(f'$v: median before {s.median(b):.1f} ms, after {s.median(a):.1f} ms, speed-up {s.median(b)/s.median(a):.3f}x')" "${b[*]}" "${a[*]}"
done
