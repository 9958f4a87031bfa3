# Per-thread split of `perf script -F tid,ip,sym` samples (one line each) into wasm functions, JS, clock reads,
# Atomics and V8: where the caller and the pool worker spend a training step. Usage: perf script … | python3 perf-threads.py [THREADS]
import sys, collections, re
c = collections.defaultdict(collections.Counter); tot = collections.Counter()
def cat(s):
    if s.startswith('JS:wasm-function'): return 'wasm ' + re.sub(r'JS:wasm-function\[(\d+)\].*', r'\1', s)
    if s.startswith('JS:'): return 'JS (engine, ops, model)'
    if 'clock_gettime' in s or 'hrtime' in s or 'PerformanceNow' in s: return 'clock reads'
    if 'Atomics' in s: return 'Atomics (wait/poll)'
    if s.startswith('Builtins_'): return 'V8 builtins'
    if 'v8::' in s: return 'V8 runtime (GC, compiler)'
    return 'other (libc, kernel)'
for l in sys.stdin:
    p = l.split(None, 2)
    if len(p) < 2 or not p[0].isdigit(): continue
    s = p[2].strip() if len(p) > 2 else '?'
    c[p[0]][cat(s)] += 1; tot[p[0]] += 1
for t, _ in tot.most_common(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
    print(f'== thread {t}: {tot[t]} samples')
    for s, n in c[t].most_common(14): print(f'{100 * n / tot[t]:6.2f}%  {s}')
