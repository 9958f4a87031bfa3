#!/usr/bin/env bash
# Issue #18 measurements, run on a quiet machine (nothing else running), in this order:
#  1. before/after A/B of the training step: the step suite at cc61b02 (a worktree at $BEFORE, built) and at this
#     tree, alternating before, after, before, after, before, after; quick preset 16 × 256, baseline and v1.
#  2. peers: this tree's step suite with --peer torch,tfjs at quick 16 × 256 (baseline and v1) and at the bench step
#     model (the suite's default: quick, batch 8 × 128), interleaved in rounds.
#  3. matmul inside a real step (--profile-matmul) and the kernels suite's large shapes, side by side.
# Usage: BEFORE=/work/wt-base OUT=benchmarks/results/issue18-DATE bash benchmarks/issue18/run.sh
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
BEFORE="${BEFORE:?set BEFORE to a built worktree of the before commit}"
OUT="$(cd "$ROOT" && mkdir -p "${OUT:?set OUT}" && cd "$OUT" && pwd)"
bench() { local tree=$1 label=$2; shift 2
  echo "== $(date +%T) $label: $* (load $(cut -d' ' -f1 /proc/loadavg))"
  (cd "$tree/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts "$@" --out "$OUT/$label" > "$OUT/$label.log" 2>&1; echo "   exit $?"); }
for v in baseline v1; do
  for i in 1 2 3; do
    bench "$BEFORE" "ab-$v-before-$i" step --preset quick --variant $v --backends wasm:2 --batch 16 --seq 256 --steps 6 --warmup 2
    bench "$ROOT" "ab-$v-after-$i" step --preset quick --variant $v --backends wasm:2 --batch 16 --seq 256 --steps 6 --warmup 2
  done
done
for v in baseline v1; do
  bench "$ROOT" "peer-quick-$v" step --preset quick --variant $v --backends wasm:1,wasm:2 --batch 16 --seq 256 --steps 5 --warmup 1 --peer torch,tfjs
done
bench "$ROOT" "peer-step-model-v1" step --backends wasm:1,wasm:2 --steps 6 --warmup 2 --peer torch,tfjs
bench "$ROOT" "peer-step-model-baseline" step --variant baseline --backends wasm:1,wasm:2 --steps 6 --warmup 2 --peer torch,tfjs
bench "$ROOT" "profile-quick-v1" step --preset quick --variant v1 --backends wasm:2 --batch 16 --seq 256 --steps 4 --warmup 1 --profile-matmul
bench "$ROOT" "kernels-large" kernels --no-cpu --gpujs none --no-softmax --shapes 1,2 --threads 2 --rounds 7
echo "== $(date +%T) done"
