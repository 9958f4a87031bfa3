#!/usr/bin/env bash
# Quiet rerun of the #14 A/B: kernels and quant suites, before (c9995c1) then after (5c0cba0) then before again.
set -u
mkdir -p /work/ab2
run() { local tree=$1 label=$2 suite=$3; shift 3
  echo "== $(date +%T) $label $suite (load $(cut -d' ' -f1 /proc/loadavg))"
  (cd /work/wt-$tree/apps/bench && node --experimental-wasm-relaxed-simd --import tsx src/main.ts $suite --out /work/ab2/$label "$@" > /work/ab2/$label-$suite.log 2>&1; echo "exit $?"); }
for t in before after before after; do
  run $t $t-$(date +%s) kernels --no-cpu --gpujs none --no-softmax --shapes 1,2,3 --rounds 9
  run $t $t-$(date +%s) quant --rounds 5 --quick
done
