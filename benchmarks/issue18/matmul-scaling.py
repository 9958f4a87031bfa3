# Per matmul product of a step: GFLOP/s in two step-suite profiles written with --profile-matmul (e.g. the 1- and
# 2-thread pairs of matmul-share.sh) and their ratio, the 25 products that take longest in the second.
# Usage: python3 benchmarks/issue18/matmul-scaling.py PAIR_DIR_A PAIR_DIR_B
import sys
from matmul_profile import load
a, _ = load(sys.argv[1])
b, _ = load(sys.argv[2])
gf = lambda p: p['flop'] / p['ms'] / 1e6
rows = sorted(((b[k]['ms'], k) for k in a if k in b), reverse=True)[:25]
for _, k in rows:
    print(f"{k:40s} A {a[k]['ms']:6.1f} ms {gf(a[k]):5.1f} GF/s   B {b[k]['ms']:6.1f} ms {gf(b[k]):5.1f} GF/s  B/A {gf(b[k]) / gf(a[k]):.2f}")
