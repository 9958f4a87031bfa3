# The matmul products of a step-suite profile written with --profile-matmul (OUT/profile-quick-baseline/*.json, as
# matmul-share.sh writes it): per product (kernel name), its ms per step and FLOPs per step; and the step's median ms.
# Shared by matmul-share.py and matmul-scaling.py.
import glob, json, re

def load(out_dir):
    doc = json.load(open(sorted(glob.glob(f'{out_dir}/profile-quick-baseline/*.json'))[-1]))
    products = {}
    for row in doc['metrics']['kernels']:
        m = re.match(r'matmul (?:(\d+)×)?(\d+)×(\d+)×(\d+) ', row['kernel'])
        if not m: continue
        batch = int(m.group(1) or 1)
        M, K, N = (int(m.group(i)) for i in (2, 3, 4))
        products[row['kernel']] = {'ms': row['msPerStep'][0], 'flop': 2 * batch * M * K * N * row['callsPerStep'], 'calls': row['callsPerStep']}
    return products, doc['metrics']['runs'][0]['ms']['median']
