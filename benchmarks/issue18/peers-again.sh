#!/usr/bin/env bash
# #18 follow-up (2026-12-07, after the attention column-pair change): this tree's step suite against PyTorch only
# (--peer torch: torch:1 and torch:2 in the same rounds), quick 16 × 256, baseline and v1, three runs each,
# alternating; then the matmul profile of a quick baseline step and the kernels suite's large shapes.
# STEP_MODEL=1 also runs the step suite's own model (quick, batch 8 × 128: the issue's "bench step model") the same way.
# LEAD=0 times each step right after another runtime's (before 2026-12-07 session 14 always so, when another
# runtime's leftover spinning landed in it); the default, 1, runs one untimed step of the same runtime first
# (apps/bench/src/peers/foreign-cpu.ts). Each log ends with the others' CPU during the timed steps.
# Usage: OUT=benchmarks/results/issue18-DATE [STEP_MODEL=1] [LEAD=0|1] bash benchmarks/issue18/peers-again.sh   (a quiet machine)
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(cd "$ROOT" && mkdir -p "${OUT:?set OUT}" && cd "$OUT" && pwd)"
bench() { local label=$1; shift
  echo "== $(date +%T) $label: $* (load $(cut -d' ' -f1 /proc/loadavg))"
  (cd "$ROOT/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts "$@" --out "$OUT/$label" > "$OUT/$label.log" 2>&1; echo "   exit $?"); }
for i in 1 2 3; do
  for v in baseline v1; do
    bench "peer-quick-$v-$i" step --preset quick --variant $v --backends wasm:2 --batch 16 --seq 256 --steps 6 --warmup 1 --peer torch --lead "${LEAD:-1}"
    if [ "${STEP_MODEL:-0}" = 1 ]; then
      bench "peer-step-$v-$i" step --preset quick --variant $v --backends wasm:2 --batch 8 --seq 128 --steps 8 --warmup 2 --peer torch --lead "${LEAD:-1}"
    fi
  done
done
bench "profile-quick-baseline" step --preset quick --variant baseline --backends wasm:2 --batch 16 --seq 256 --steps 4 --warmup 1 --profile-matmul
bench "kernels-large" kernels --no-cpu --gpujs none --no-softmax --shapes 1,2 --threads 2 --rounds 7
echo "== $(date +%T) done"
