# Per matmul product of a step: GFLOP/s in two step-suite profiles written with --profile-matmul (e.g. the 1- and
# 2-thread pairs of matmul-share.sh) and their ratio, the 25 products that take longest in the second.
# Usage: python3 benchmarks/issue18/matmul-scaling.py PAIR_DIR_A PAIR_DIR_B
import json,glob,re,sys
def load(d):
    doc=json.load(open(sorted(glob.glob(f'{d}/profile-quick-baseline/*.json'))[-1]))
    out={}
    for r in doc['metrics']['kernels']:
        m=re.match(r'matmul (?:(\d+)×)?(\d+)×(\d+)×(\d+) (\w+)',r['kernel'])
        if not m: continue
        b=int(m.group(1) or 1); M,K,N=(int(m.group(i)) for i in (2,3,4))
        out[r['kernel']]=(r['msPerStep'][0], 2*b*M*K*N*r['callsPerStep'])
    return out
a=load(sys.argv[1]); b=load(sys.argv[2])
rows=[]
for k in a:
    if k in b: rows.append((b[k][0], k, a[k][1]/a[k][0]/1e6, b[k][1]/b[k][0]/1e6, a[k][0]))
for ms,k,g1,g2,ms1 in sorted(rows,reverse=True)[:25]: print(f"{k:40s} t1 {ms1:6.1f} ms {g1:5.1f} GF/s   t2 {ms:6.1f} ms {g2:5.1f} GF/s  scale {g2/g1:.2f}")
