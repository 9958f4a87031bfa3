#!/usr/bin/python3
"""PyTorch reference fixtures for @bitskip/quant: BitLinear and H-BitLinear forward and gradients.

Implements SPEC §4/§5 directly (not a port of our TS): absmean ternary / absmax int8 weights per tensor,
absmax int8/int4 and absmean int4 activations per token, torch.round (round half to even), straight-through
estimator x + (q(x) - x).detach() (identity) or its clipped form, RMSNorm inside (optional), orthonormal
Hadamard before activation quantization (BitNet v2), and the authors' paper-compatible path (quantize, then an
unnormalised Hadamard, and an unnormalised Hadamard on the output). Float64 throughout; inputs are drawn as
float32 values so that float32 engines see the same inputs. Written by hand as safetensors (struct + json),
deterministic (fixed seeds, one thread).

Regenerate from the repository root (Debian: apt-get install python3-torch):
    /usr/bin/python3 packages/quant/scripts/make_fixtures.py
"""

import json
import math
import os
import sys
import struct

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tensor-core", "scripts"))
from make_fixtures import write_safetensors as write_safetensors_tc  # noqa: E402

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "bitlinear.safetensors")
EPS = 1e-5
SQRT7 = math.sqrt(7)


def write_safetensors(path, tensors, metadata):
    """All tensors as F64, through tensor-core's hand-written safetensors writer (one writer for both packages)."""
    write_safetensors_tc(path, [(name, np.array(arr, dtype=np.float64, order="C")) for name, arr in tensors], metadata)


def ste(x, q, mask=None):
    """Forward q, backward identity (or identity times a 0/1 mask: the clipped STE)."""
    if mask is None:
        return x + (q - x).detach()
    # d/dx = mask: x*mask contributes mask to the gradient, the rest is detached
    return x * mask + (q - x * mask).detach()


def weight_quant(w, scheme, clipped):
    if scheme == "ternary":
        g = w.abs().mean().clamp(min=EPS)
        t = torch.where(w > 0.5 * g, torch.ones_like(w), torch.where(w < -0.5 * g, -torch.ones_like(w), torch.zeros_like(w)))
        q = t * g
        mask = (w.abs() <= g).to(w.dtype) if clipped else None
    else:
        s = w.abs().max().clamp(min=EPS)
        q = (w * 127 / s).round().clamp(-127, 127) * s / 127
        mask = torch.ones_like(w) if clipped else None
    return ste(w, q.detach(), None if mask is None else mask.detach())


def act_quant(x, bits, scheme, clipped):
    if scheme == "absmax":
        Q = 127 if bits == 8 else 7
        s = x.abs().amax(dim=-1, keepdim=True).clamp(min=EPS)
        q = (x * Q / s).round().clamp(-Q, Q) * s / Q
        # [-Q*step, Q*step] is exactly [-s, s] (no rounded Q*(s/Q), which falls below s for some s)
        inside = (x >= -s) & (x <= s)
    else:
        b = x.abs().mean(dim=-1, keepdim=True).clamp(min=EPS)
        q = (b / SQRT7) * (x * SQRT7 / b).round().clamp(-8, 7)
        # [-8*step, 7*step] with step = b/sqrt7, compared as -8b <= x*sqrt7 <= 7b
        inside = (x * SQRT7 >= -8 * b) & (x * SQRT7 <= 7 * b)
    mask = inside.to(x.dtype).detach() if clipped else None
    return ste(x, q.detach(), mask)


def hadamard(n, normalised=True):
    h = torch.ones(1, 1, dtype=torch.float64)
    while h.shape[0] < n:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    return h / math.sqrt(n) if normalised else h


def rmsnorm(x, g, eps=1e-6):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * g


def f32(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32).astype(np.float64))


CASES = [
    # name, in, out, lead shape, config
    ("bl_a8", 48, 20, (2, 3), dict(weightScheme="ternary", activationBits=8, activationScheme="absmax")),
    ("bl_a4_absmax_norm", 40, 12, (5,), dict(activationBits=4, activationScheme="absmax", innerNorm=True)),
    ("bl_a4_absmean_clipped", 32, 16, (4,), dict(activationBits=4, activationScheme="absmean", ste="clipped")),
    ("bl_w8", 24, 10, (3,), dict(weightScheme="int8")),
    ("bl_ternary_clipped", 24, 10, (3,), dict(ste="clipped")),
    ("hbl_a8", 64, 24, (2, 2), dict(hadamard=True)),
    ("hbl_a4_absmean_norm", 32, 16, (3,), dict(hadamard=True, activationBits=4, activationScheme="absmean", innerNorm=True)),
    ("hbl_block16", 48, 8, (3,), dict(hadamard=True, hadamardBlock=16)),
    ("hbl_paper", 32, 16, (3,), dict(hadamard=True, paperCompat=True)),
]


def run_case(seed, fin, fout, lead, cfg):
    rng = np.random.default_rng(seed)
    x = f32(rng.standard_normal(lead + (fin,)) * 1.5).requires_grad_(True)
    bound = 1 / math.sqrt(fin)
    w = f32(rng.uniform(-bound, bound, (fout, fin))).requires_grad_(True)
    g = torch.ones(fin, dtype=torch.float64, requires_grad=True)
    dy = f32(rng.standard_normal(lead + (fout,)))
    bits = cfg.get("activationBits", 8)
    scheme = cfg.get("activationScheme", "absmax")
    clipped = cfg.get("ste", "identity") == "clipped"
    had = cfg.get("hadamard", False)
    paper = cfg.get("paperCompat", False)
    norm = cfg.get("innerNorm", False)
    h = rmsnorm(x, g) if norm else x
    blk_in = cfg.get("hadamardBlock") or fin
    blk_out = cfg.get("hadamardBlock") or fout
    H_in = torch.block_diag(*[hadamard(blk_in, not paper)] * (fin // blk_in)) if had else None
    if had and not paper:
        h = h @ H_in  # H symmetric: row vector times H
    hq = act_quant(h, bits, scheme, clipped)
    if had and paper:
        hq = hq @ H_in
    wq = weight_quant(w, cfg.get("weightScheme", "ternary"), clipped)
    y = hq @ wq.t()
    if had and paper:
        y = y @ torch.block_diag(*[hadamard(blk_out, False)] * (fout // blk_out))
    (y * dy).sum().backward()
    out = [("x", x.detach()), ("weight", w.detach()), ("dy", dy), ("y", y.detach()), ("dx", x.grad), ("dweight", w.grad)]
    if norm:
        out.append(("dnorm", g.grad))
    return out


def main():
    tensors, meta = [], {}
    for i, (name, fin, fout, lead, cfg) in enumerate(CASES):
        for k, v in run_case(1000 + i, fin, fout, lead, cfg):
            tensors.append((f"{name}.{k}", v.numpy()))
        meta[name] = json.dumps({"in": fin, "out": fout, "config": cfg}, sort_keys=True)
    meta["torch"] = torch.__version__
    write_safetensors(OUT, tensors, meta)
    print(f"wrote {OUT}: {len(CASES)} cases")


if __name__ == "__main__":
    main()
