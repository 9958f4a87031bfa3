#!/usr/bin/env python3
"""Self time by function in a V8 .cpuprofile (node --cpu-prof), counting only samples whose stack passes through a
given function (e.g. bitskipTrainStep) and, with FRAC, only the last (1 - FRAC) of that function's sampled time (so
that warm-up steps are left out). WASM functions print as wasm-function[N]: N indexes the module's functions (no
imports), e.g. 1 = the matmul's gemm, 35/36 = attention forward/backward in the relaxed build of 2026-12-08.
Usage: python3 benchmarks/issue18/cpuprofile-self.py PROFILE ROOT_FUNCTION [TOP=40] [FRAC=0.3]
"""
import collections
import json
import sys

prof = json.load(open(sys.argv[1]))
root = sys.argv[2]
top = int(sys.argv[3]) if len(sys.argv) > 3 else 40
frac = float(sys.argv[4]) if len(sys.argv) > 4 else 0.3
nodes = {n['id']: n for n in prof['nodes']}
parent = {c: n['id'] for n in prof['nodes'] for c in n.get('children', [])}


def under(i):
    while i is not None and i in nodes:
        if nodes[i]['callFrame']['functionName'] == root:
            return True
        i = parent.get(i)
    return False


memo = {}
t = 0
kept = []
for s, d in zip(prof['samples'], prof['timeDeltas']):
    t += d
    if s not in memo:
        memo[s] = under(s)
    if memo[s]:
        kept.append((t, s, d))
if not kept:
    sys.exit(f'no samples under {root}')
cut = kept[0][0] + (kept[-1][0] - kept[0][0]) * frac
self_time = collections.Counter()
for tt, s, d in kept:
    if tt >= cut:
        cf = nodes[s]['callFrame']
        self_time[f"{cf['functionName'] or '(anonymous)'} {cf['url'].split('/')[-1]}:{cf['lineNumber']}"] += d
total = sum(self_time.values())
wasm = sum(v for k, v in self_time.items() if k.startswith('wasm-function'))
print(f'{total / 1000:.0f} ms sampled under {root} (after the first {frac:.0%}); WASM {wasm / total:.1%}, the rest {1 - wasm / total:.1%}')
for k, v in self_time.most_common(top):
    print(f'{v / total * 100:6.2f}% {k}')
