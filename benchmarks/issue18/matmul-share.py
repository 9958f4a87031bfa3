# Matmul inside a real step against the kernels suite's large shape: reads a step-suite result written with
# --profile-matmul (every matmul call by shape and layout) and a kernels-suite log of 4096×256×1024, prints the step's
# matmul FLOPs, time, aggregate GFLOP/s and its ratio to the large shape's median GFLOP/s (the relaxed build, which
# the step uses where the host has relaxed SIMD).
# Usage: python3 benchmarks/issue18/matmul-share.py OUT_DIR   (OUT_DIR as written by peers-again.sh)
import re, sys
from matmul_profile import load
OUT = sys.argv[1]
products, step = load(OUT)
flop = sum(p['flop'] for p in products.values())
ms = sum(p['ms'] for p in products.values())
calls = sum(p['calls'] for p in products.values())
rows = [l.split() for l in open(f'{OUT}/kernels-large.log') if re.match(r'^4096×256×1024\s+\w\w\s+wasm-relaxed\s', l)]
large = [float(r[4]) for r in rows]
threads = rows[0][3] if rows else '?'
g = flop / ms / 1e6
print(f'step {step:.0f} ms (median); matmul {calls:.0f} calls, {flop / 1e9:.1f} GFLOP in {ms:.0f} ms = {g:.1f} GFLOP/s')
print(f'large shape 4096×256×1024 relaxed, {threads} thread(s): {", ".join(f"{x:.1f}" for x in large)} GFLOP/s (median per layout)')
print(f'in the step: {100 * g / max(large):.0f}–{100 * g / min(large):.0f}% of the large shape')
