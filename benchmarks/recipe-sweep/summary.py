# Table of the recipe sweep: one row per run directory (result.json) under the given directories.
import json, glob, os, sys
rows = []
for d in sys.argv[1:]:
    for f in sorted(glob.glob(os.path.join(d, '*', 'result.json'))):
        r = json.load(open(f)); m = r['metrics']
        v = sorted(m['validation'], key=lambda x: x['layer'])
        L = v[-1]['layer']
        tr = r['series']['train']; last20 = [x['loss'] for x in tr[-20:] if x['loss'] is not None]
        rows.append((os.path.basename(os.path.dirname(f)), m['steps'], m['tokens'], m['params'], L,
                     ' / '.join(f"{x['bitsPerByte']:.3f}" for x in v), v[-1]['bitsPerByte'], sum(last20) / len(last20), v[-1]['loss']))
rows.sort(key=lambda x: x[6])
print('| run | steps | tokens | params | layers | bits/byte at the exits (L/4 … L) | final exit | train loss (last 20 steps) | valid loss |')
print('|---|---:|---:|---:|---:|---|---:|---:|---:|')
for r in rows:
    print(f'| {r[0]} | {r[1]} | {r[2]:,} | {r[3]:,} | {r[4]} | {r[5]} | **{r[6]:.3f}** | {r[7]:.3f} | {r[8]:.3f} |')
