#!/usr/bin/env bash
# #18's second target, matmul inside a real step against the kernels suite's large shape, measured in pairs: the
# quick baseline step's matmul profile (6 steps after 3 warm-ups) and the kernels suite's 4096×256×1024 right after
# it, ROUNDS times; each pair's ratio by benchmarks/issue18/matmul-share.py. The machine is shared: pairs close in
# time see the same neighbours.
# THREADS (default 2) sets both the step's wasm threads and the kernels suite's; the issue's own baseline (~83%) was a
# 1-thread profile. SHAPE (default "--batch 16 --seq 256", the quick preset's) sets the step's batch; "--batch 8 --seq 128"
# is the step suite's own model, the one the issue profiled.
# Usage: OUT=benchmarks/results/issue18-DATE-matmul ROUNDS=3 [THREADS=1] bash benchmarks/issue18/matmul-share.sh
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$(cd "$ROOT" && mkdir -p "${OUT:?set OUT}" && cd "$OUT" && pwd)"
for i in $(seq 1 "${ROUNDS:-3}"); do
  D="$OUT/pair-$i"; mkdir -p "$D"
  echo "== $(date +%T) pair $i (load $(cut -d' ' -f1 /proc/loadavg))"
  (cd "$ROOT/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts step --preset quick --variant baseline --backends wasm:${THREADS:-2} ${SHAPE:---batch 16 --seq 256} --steps 6 --warmup 3 --profile-matmul --out "$D/profile-quick-baseline" > "$D/profile-quick-baseline.log" 2>&1)
  (cd "$ROOT/apps/bench" && node --experimental-wasm-relaxed-simd --import tsx src/main.ts kernels --no-cpu --gpujs none --no-softmax --shapes 1,2 --threads ${THREADS:-2} --rounds 5 --out "$D/kernels-large" > "$D/kernels-large.log" 2>&1)
  python3 "$ROOT/benchmarks/issue18/matmul-share.py" "$D"
done
