#!/usr/bin/python3
"""Where the PyTorch peer's training step spends its time (issue #18): the peer of apps/bench/peers/torch_step.py,
built from a spec line (torch-step-spec.mjs), a few warm-up steps, then torch.profiler over the timed steps. Prints
the step's median wall time, and the profiler's self CPU time by operator (ms per step, share of the summed self
time), with the matrix products (mm, addmm, bmm, matmul, linear) summed apart from the rest.

Run it with the peer's own thread settings (apps/bench/src/peers/torch.ts), which must be set before torch loads:
  OMP_WAIT_POLICY=PASSIVE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \\
    /usr/bin/python3 benchmarks/issue18/torch-step-profile.py /tmp/spec.json [STEPS=10] [WARMUP=3] [TOP=25]
(the spec's "threads" must match; the profiler adds some overhead of its own to every operator).
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "apps", "bench", "peers"))
import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402
from torch_step import Peer  # noqa: E402

spec = json.load(open(sys.argv[1]))
steps = int(sys.argv[2]) if len(sys.argv) > 2 else 10
warmup = int(sys.argv[3]) if len(sys.argv) > 3 else 3
top = int(sys.argv[4]) if len(sys.argv) > 4 else 25
torch.set_num_threads(int(spec["threads"]))
peer = Peer(spec)
for _ in range(warmup):
    peer.step()
plain = []
for _ in range(steps):
    t0 = time.perf_counter()
    peer.step()
    plain.append((time.perf_counter() - t0) * 1000)
with profile(activities=[ProfilerActivity.CPU]) as prof:
    profiled = [peer.step()["ms"] for _ in range(steps)]
rows = [(e.key, e.self_cpu_time_total / 1000 / steps, e.count // steps) for e in prof.key_averages()]
total = sum(r[1] for r in rows)
GEMM = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear")
gemm = sum(r[1] for r in rows if r[0] in GEMM)
print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), batch {spec['batch']} x {spec['seq']}, {spec['config']['variant']}")
print(f"step (median of {steps}): {statistics.median(plain):.1f} ms without the profiler, {statistics.median(profiled):.1f} ms with it")
print(f"self CPU time summed over operators: {total:.1f} ms a step; matrix products {gemm:.1f} ms ({gemm / total:.1%}), the rest {total - gemm:.1f} ms")
print(f"{'operator':40} {'ms/step':>8} {'share':>7} {'calls/step':>10}")
for key, ms, calls in sorted(rows, key=lambda r: -r[1])[:top]:
    print(f"{key:40} {ms:8.2f} {ms / total:7.1%} {calls:10d}")
