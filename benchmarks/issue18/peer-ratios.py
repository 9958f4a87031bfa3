# Ratios ours (wasm:2) / PyTorch's best of torch:1 and torch:2, in tokens/s, from peers-again.sh output directories:
# one row per model, one column per run, then how many runs reach 1.2× and the median.
# Usage: python3 benchmarks/issue18/peer-ratios.py DIR [DIR ...]
import re, statistics, sys
rows = {'quick-baseline': 'quick baseline, 16 × 256', 'quick-v1': 'quick v1, 16 × 256', 'step-baseline': 'step model (8 × 128), baseline', 'step-v1': 'step model, v1'}
cols, table, ours, peer = [], {k: [] for k in rows}, {k: [] for k in rows}, {k: [] for k in rows}
for d in sys.argv[1:]:
    for i in (1, 2, 3):
        cols.append(f"{d.rstrip('/').split('/')[-1]}/{i}")
        for k in rows:
            try:
                text = open(f'{d}/peer-{k}-{i}.log').read()
            except FileNotFoundError:
                table[k].append(None); continue
            m = re.search(r'^torch best \((torch:\d)\)\s+(\d+)\s+([\d.]+)×', text, re.M)
            w = re.search(r'^wasm:2\s+([\d.]+)', text, re.M)
            t = re.search(r'^%s\s+([\d.]+)' % re.escape(m.group(1)), text, re.M) if m else None
            table[k].append(float(m.group(3)) if m else None)
            if w: ours[k].append(float(w.group(1)))
            if t: peer[k].append(float(t.group(1)))
print('| model | ' + ' | '.join(cols) + ' | ≥ 1.2× | median |')
print('|---|' + '---:|' * len(cols) + '---|---:|')
for k, name in rows.items():
    v = [x for x in table[k] if x is not None]
    cells = ' | '.join('-' if x is None else f'{x:.2f}' for x in table[k])
    print(f"| {name} | {cells} | {sum(x >= 1.2 for x in v)} of {len(v)} | {statistics.median(v):.2f} |")
for k, name in rows.items():
    if ours[k] and peer[k]:
        print(f"{name}: ours {min(ours[k]):.0f}–{max(ours[k]):.0f} ms/step, PyTorch's best {min(peer[k]):.0f}–{max(peer[k]):.0f} ms/step")
