# Summarise the A/B runs of /work/bench-ab.sh: per cell, the median over the two runs of each side (each run's own
# median), and after/before. Higher is better for GFLOP/s and speed-ups; lower for ms and seconds.
import json, glob, statistics as st, sys
DIR = sys.argv[1] if len(sys.argv) > 1 else '.'
def load(side, suite):
    return [json.load(open(f)) for f in sorted(glob.glob(f'{DIR}/{side}-*/{suite}-*.json'))]
rows = []
def add(suite, key, b, a, better):
    if not b or not a: return
    mb, ma = st.median(b), st.median(a)
    ratio = ma / mb
    worse = ratio < 1 if better == 'higher' else ratio > 1
    rows.append((suite, key, mb, ma, ratio, better, worse))
# kernels: matmul GFLOP/s and softmax
for side_docs in [None]:
    pass
def cells_kernels(doc):
    out = {}
    for r in doc['metrics']['matmul']:
        out[f"matmul {r['shape']['name']} {r['layout']} {r['backend']} t{r['threads']}"] = r['gflops']['median']
    for r in doc['metrics'].get('softmax', []):
        k = f"softmax {r.get('shape', r.get('rows'))} {r.get('backend')} t{r.get('threads')} {r.get('pass', '')}"
        v = r.get('gbs', r.get('seconds'))
        if isinstance(v, dict): out[k] = v['median']
    return out
def cells_quant(doc):
    out = {}
    m = doc['metrics']
    for r in m['matmul']:
        base = f"quant {r['shape']} {r['cache']} t{r['threads']}"
        for k in ('fp32', 'fp32Gemm'):
            if k in r: out[base + f' {k} s'] = r[k]['median']
        for kind, v in r['ternary'].items():
            if isinstance(v, dict) and 'median' in v: out[base + f' ternary-{kind} s'] = v['median']
    for r in m.get('fwht', []):
        k = 'fwht ' + ' '.join(f'{x}={r[x]}' for x in r if not isinstance(r[x], (dict, list)) and x not in ('gbs', 'melems'))
        for x in r:
            if isinstance(r[x], dict) and 'median' in r[x]: out[k + ' ' + x] = r[x]['median']
    for k, v in m.get('hadamard', {}).items():
        if isinstance(v, dict) and 'median' in v: out[f'hadamard {k} s'] = v['median']
    return out
def cells_step(doc):
    return {f"step 4×128 model {r['backend']} ms": r['ms']['median'] for r in doc['metrics']['runs']}
for suite, fn in [('kernels', cells_kernels), ('quant', cells_quant), ('step', cells_step)]:
    if not load('before', suite) or not load('after', suite): continue
    B = [fn(d) for d in load('before', suite)]
    A = [fn(d) for d in load('after', suite)]
    keys = sorted(set(B[0]) & set(A[0]))
    for k in keys:
        better = 'higher' if k.startswith('matmul') else 'lower'
        if k.startswith('softmax'): better = 'lower' if k.endswith('s') else 'higher'
        add(suite, k, [b[k] for b in B if k in b], [a[k] for a in A if k in a], better)
for r in rows:
    print(f"{r[0]:8} {r[1]:70} before {r[2]:10.4g} after {r[3]:10.4g} after/before {r[4]:.3f} {'(higher better)' if r[5]=='higher' else '(lower better)'}{'  WORSE' if r[6] and abs(r[4]-1)>0.05 else ''}")
