#!/usr/bin/env bash
# Second #14 A/B (2026-12-07): before = c9995c1 (/work/wt-before), after = main at c05a485 (/work/wt-after), both
# with pnpm install + pnpm build. Many short alternations, so that this shared machine's slow spells hit both sides:
# 8 × (probe-all.mjs: every wasm matmul engine alive at once, 4096×256×1024 NN; probe-step.mjs: the pre-#14 step
# model), then the quant suite twice more per side. Prints lines; summary2.py reads the log.
set -u
H=$(cd "$(dirname "$0")" && pwd)
for i in 1 2 3 4 5 6 7 8; do
  for t in before after; do
    cd /work/wt-$t/packages/tensor-core
    echo "$i $t load=$(cut -d' ' -f1 /proc/loadavg) $(node --experimental-wasm-relaxed-simd "$H/probe-all.mjs")"
    echo "$i $t load=$(cut -d' ' -f1 /proc/loadavg) $(node --experimental-wasm-relaxed-simd "$H/probe-step.mjs")"
  done
done
