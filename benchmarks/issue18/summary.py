# Summarise benchmarks/issue18/run.sh's output directory: before/after ms per step (median over each side's runs of
# each run's median), the peers' table lines, and matmul GFLOP/s inside the step against the kernels suite.
import glob, json, os, re, statistics as st, sys
OUT = sys.argv[1]
def result(label):
    fs = sorted(glob.glob(f'{OUT}/{label}/*.json'))
    return json.load(open(fs[-1])) if fs else None
def ms(doc, backend='wasm:2'):
    for r in doc['metrics']['runs']:
        if r.get('backend') == backend: return r['ms']['median']
    return None
print('## before/after (quick, 16 × 256, wasm:2): ms per step, median of run medians')
for v in ('baseline', 'v1'):
    side = {}
    for s in ('before', 'after'):
        vals = [ms(result(f'ab-{v}-{s}-{i}')) for i in (1, 2, 3) if result(f'ab-{v}-{s}-{i}')]
        side[s] = vals
    b, a = st.median(side['before']), st.median(side['after'])
    print(f"{v}: before {b:.1f} ({', '.join(f'{x:.0f}' for x in side['before'])}), after {a:.1f} ({', '.join(f'{x:.0f}' for x in side['after'])}), before/after {b / a:.2f}x")
for label in ('peer-quick-baseline', 'peer-quick-v1', 'peer-step-model-v1', 'peer-step-model-baseline'):
    p = f'{OUT}/{label}.log'
    if not os.path.exists(p): continue
    print(f'\n## {label}')
    for line in open(p):
        if re.match(r'^(model:|backend|wasm:|cpu|peer|torch|tfjs)', line): print(line.rstrip())
