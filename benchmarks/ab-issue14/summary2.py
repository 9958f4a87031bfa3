# Summarise run2.sh's log: per metric, the median over the alternations of each side, and after/before.
import re, statistics as st, sys
vals = {}
for line in open(sys.argv[1]):
    m = re.match(r'(\d+) (before|after) load=\S+ (.*)', line.strip())
    if not m: continue
    side, rest = m.group(2), m.group(3)
    if rest.startswith('all alive'):
        for name, v in re.findall(r'(plain t\d|relaxed t\d): ([\d.]+)', rest): vals.setdefault((f'matmul 4096×256×1024 NN {name} GFLOP/s', 'higher'), {}).setdefault(side, []).append(float(v))
    elif rest.startswith('TinyLM'):
        for name, v in re.findall(r'(wasm:\d) ([\d.]+) ms', rest): vals.setdefault((f'TinyLM step {name} ms', 'lower'), {}).setdefault(side, []).append(float(v))
for (k, better), d in vals.items():
    b, a = d.get('before', []), d.get('after', [])
    if not b or not a: continue
    mb, ma = st.median(b), st.median(a)
    print(f'{k:44} before {mb:7.1f} (n {len(b)}, {min(b):.1f}–{max(b):.1f})  after {ma:7.1f} (n {len(a)}, {min(a):.1f}–{max(a):.1f})  after/before {ma / mb:.3f} ({better} is better)')
