#!/usr/bin/python3
"""Reference fixtures for @bitskip/tensor-core, computed with PyTorch in float64.

Writes packages/tensor-core/fixtures/*.safetensors with a hand-written safetensors writer (struct + json; the
`safetensors` pip package is not used, so the TS reader is checked against an independent writer). Deterministic:
fixed seeds, float64 computation, the same bytes on every run. See fixtures/README.md for what each tensor means.

Regenerate (Debian: apt-get install python3-torch):
    /usr/bin/python3 packages/tensor-core/scripts/make_fixtures.py
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")

DTYPES = {
    np.dtype("float64"): "F64",
    np.dtype("float32"): "F32",
    np.dtype("float16"): "F16",
    np.dtype("int64"): "I64",
    np.dtype("int32"): "I32",
    np.dtype("int16"): "I16",
    np.dtype("int8"): "I8",
    np.dtype("uint8"): "U8",
    np.dtype("uint16"): "U16",
    np.dtype("bool"): "BOOL",
}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, numpy array) or (name, (dtype_str, shape, raw_bytes)); written in list order.

    Layout: u64 LE header length, JSON header padded with spaces to an 8-byte boundary, then the data of each
    tensor in list order (little-endian, row-major), contiguous from offset 0.
    """
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    chunks = []
    offset = 0
    for name, value in tensors:
        if isinstance(value, tuple):
            dtype, shape, raw = value
        else:
            arr = np.array(value, order="C")  # not ascontiguousarray: it turns shape () into (1,)
            dtype = DTYPES[arr.dtype]
            shape = list(arr.shape)
            raw = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(raw)]}
        chunks.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - (8 + len(text)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for c in chunks:
            f.write(c)


def np64(t):
    return t.detach().cpu().to(torch.float64).numpy()


def write_pair(stem, named, metadata):
    """Write stem.f64.safetensors (float tensors as F64) and stem.f32.safetensors (the same values cast to F32).
    Integer tensors are written unchanged in both."""
    for suffix, ftype in (("f64", np.float64), ("f32", np.float32)):
        items = []
        for name, v in named:
            arr = np64(v) if torch.is_tensor(v) and v.is_floating_point() else v
            if isinstance(arr, np.ndarray) and arr.dtype == np.float64:
                arr = arr.astype(ftype)
            elif torch.is_tensor(arr):
                arr = arr.numpy()
            items.append((name, arr))
        write_safetensors(os.path.join(OUT, f"{stem}.{suffix}.safetensors"), items, metadata)


# --------------------------------------------------------------------------------------------------------------
# 1. Transformer block: RMSNorm pre-norm, GQA attention with RoPE, SwiGLU FFN, two residuals.


def rmsnorm(x, gain, eps):
    # y = x / sqrt(mean(x^2, last dim) + eps) * gain
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * gain


def rotate_half(x):
    # pairs (i, i + hd/2): (x1, x2) -> (-x2, x1)
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def transformer_block():
    torch.manual_seed(1234)
    B, T, D, H, KV, HD, FF = 2, 5, 16, 4, 2, 4, 24
    eps, theta = 1e-6, 10000.0
    f64 = torch.float64

    def lin(out_f, in_f):
        # nn.Linear-style weight (out, in), y = x W^T; drawn N(0, 1/in) to keep activations O(1)
        return (torch.randn(out_f, in_f, dtype=f64) / math.sqrt(in_f)).requires_grad_()

    x = torch.randn(B, T, D, dtype=f64).requires_grad_()
    attn_norm = (1.0 + 0.1 * torch.randn(D, dtype=f64)).requires_grad_()
    wq = lin(H * HD, D)
    wk = lin(KV * HD, D)
    wv = lin(KV * HD, D)
    wo = lin(D, H * HD)
    ffn_norm = (1.0 + 0.1 * torch.randn(D, dtype=f64)).requires_grad_()
    w_gate = lin(FF, D)
    w_up = lin(FF, D)
    w_down = lin(D, FF)
    R = torch.randn(B, T, D, dtype=f64)

    # RoPE tables: angle[t, i] = t * theta^(-2i/HD), i < HD/2; cos/sin repeated over both halves -> (T, HD)
    inv_freq = theta ** (-torch.arange(0, HD // 2, dtype=f64) * 2 / HD)
    angle = torch.arange(T, dtype=f64)[:, None] * inv_freq[None, :]
    cos = torch.cat((angle.cos(), angle.cos()), dim=-1)
    sin = torch.cat((angle.sin(), angle.sin()), dim=-1)

    h1 = rmsnorm(x, attn_norm, eps)  # (B, T, D)
    q = (h1 @ wq.T).view(B, T, H, HD).transpose(1, 2)  # (B, T, H*HD) -> (B, H, T, HD)
    k = (h1 @ wk.T).view(B, T, KV, HD).transpose(1, 2)  # (B, KV, T, HD)
    v = (h1 @ wv.T).view(B, T, KV, HD).transpose(1, 2)  # (B, KV, T, HD)
    q_rope = q * cos + rotate_half(q) * sin
    k_rope = k * cos + rotate_half(k) * sin
    # GQA: query head h reads kv head h // (H / KV)
    k_rep = k_rope.repeat_interleave(H // KV, dim=1)  # (B, H, T, HD)
    v_rep = v.repeat_interleave(H // KV, dim=1)
    scores = (q_rope @ k_rep.transpose(-1, -2)) / math.sqrt(HD)  # (B, H, T, T)
    mask = torch.ones(T, T, dtype=torch.bool).triu(1)  # True above the diagonal: key j > query i
    scores = scores.masked_fill(mask, float("-inf"))
    probs = scores.softmax(dim=-1)
    attn = (probs @ v_rep).transpose(1, 2).reshape(B, T, H * HD)  # (B, H, T, HD) -> (B, T, H*HD)
    attn_out = attn @ wo.T
    x1 = x + attn_out
    h2 = rmsnorm(x1, ffn_norm, eps)
    gate = h2 @ w_gate.T  # (B, T, FF)
    up = h2 @ w_up.T
    act = F.silu(gate) * up
    ffn_out = act @ w_down.T  # (B, T, D)
    out = x1 + ffn_out
    loss = (out * R).sum()

    for t in (h1, q, k, v, q_rope, k_rope, probs, attn, attn_out, x1, h2, gate, up, act, ffn_out, out):
        t.retain_grad()
    loss.backward()

    weights = [
        ("attn_norm.weight", attn_norm),
        ("wq", wq),
        ("wk", wk),
        ("wv", wv),
        ("wo", wo),
        ("ffn_norm.weight", ffn_norm),
        ("w_gate", w_gate),
        ("w_up", w_up),
        ("w_down", w_down),
    ]
    named = [("x", x), ("R", R)] + weights
    named += [("rope.cos", cos), ("rope.sin", sin)]
    named += [
        ("inter.h1", h1),
        ("inter.q", q),
        ("inter.k", k),
        ("inter.v", v),
        ("inter.q_rope", q_rope),
        ("inter.k_rope", k_rope),
        ("inter.probs", probs),
        ("inter.attn", attn),
        ("inter.attn_out", attn_out),
        ("inter.x1", x1),
        ("inter.h2", h2),
        ("inter.gate", gate),
        ("inter.up", up),
        ("inter.act", act),
        ("inter.ffn_out", ffn_out),
    ]
    named += [("out", out), ("loss", loss)]
    named += [("grad.x", x.grad)] + [(f"grad.{n}", p.grad) for n, p in weights]
    named += [("grad.inter.probs", probs.grad), ("grad.inter.x1", x1.grad)]
    config = {"B": B, "T": T, "D": D, "H": H, "KV": KV, "HD": HD, "FF": FF, "eps": eps, "theta": theta, "seed": 1234}
    write_pair("transformer_block", named, {"fixture": "transformer_block", "config": json.dumps(config)})


# --------------------------------------------------------------------------------------------------------------
# 2. Cross-entropy with ignore_index.


def cross_entropy():
    torch.manual_seed(42)
    N, V = 6, 11
    logits = (2.0 * torch.randn(N, V, dtype=torch.float64)).requires_grad_()
    targets = torch.randint(0, V, (N,), dtype=torch.int64)
    targets[3] = -100
    loss = F.cross_entropy(logits, targets, ignore_index=-100, reduction="mean")
    per_row = F.cross_entropy(logits.detach(), targets, ignore_index=-100, reduction="none")
    loss.backward()
    named = [
        ("logits", logits),
        ("targets", targets.numpy()),
        ("targets_i32", targets.to(torch.int32).numpy()),
        ("loss", loss),
        ("loss_per_row", per_row),
        ("dlogits", logits.grad),
    ]
    write_pair("cross_entropy", named, {"fixture": "cross_entropy", "ignore_index": "-100", "seed": "42"})


# --------------------------------------------------------------------------------------------------------------
# 3. AdamW steps.


def adamw():
    torch.manual_seed(7)
    hp = {"lr": 1e-2, "betas": (0.9, 0.95), "eps": 1e-8, "weight_decay": 0.1}
    p = torch.randn(5, 7, dtype=torch.float64).requires_grad_()
    grads = [torch.randn(5, 7, dtype=torch.float64) for _ in range(3)]
    named = [("param0", p.detach().clone())]
    opt = torch.optim.AdamW([p], lr=hp["lr"], betas=hp["betas"], eps=hp["eps"], weight_decay=hp["weight_decay"])
    for i, g in enumerate(grads, start=1):
        p.grad = g.clone()
        opt.step()
        st = opt.state[p]
        named += [
            (f"grad{i}", g),
            (f"param{i}", p.detach().clone()),
            (f"exp_avg{i}", st["exp_avg"].clone()),
            (f"exp_avg_sq{i}", st["exp_avg_sq"].clone()),
        ]
    meta = {"fixture": "adamw", "hyperparameters": json.dumps(hp), "torch": torch.__version__, "seed": "7"}
    write_pair("adamw", named, meta)


# --------------------------------------------------------------------------------------------------------------
# 4. A file of mixed dtypes for the TS reader (list order, so some tensors start at unaligned offsets).


def dtypes():
    f16 = torch.tensor([1.0, -2.0, 0.5, 65504.0, 6.0e-8, -0.0, 3.14159], dtype=torch.float16)
    bf16 = torch.tensor([1.0, -3.0, 0.1, 1e30, -2.5e-20], dtype=torch.bfloat16)
    items = [
        ("u8", np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8)),  # 6 bytes: the next tensor is unaligned
        ("f32", np.array([[1.5, -2.25], [3.0e-8, 1.0e30]], dtype=np.float32)),
        ("i32", np.array([-2147483648, -1, 0, 1, 2147483647], dtype=np.int32)),
        ("scalar_f64", np.array(math.pi, dtype=np.float64)),  # shape []
        ("f64", np.arange(6, dtype=np.float64).reshape(2, 1, 3) / 7.0),
        ("empty_f32", np.zeros((0, 3), dtype=np.float32)),
        ("i8", np.array([-128, -1, 0, 127], dtype=np.int8)),
        ("u16", np.array([0, 1, 65535], dtype=np.uint16)),
        ("i64", np.array([-(2**63), -1, 2**62], dtype=np.int64)),
        ("bool", np.array([True, False, True], dtype=np.bool_)),
        ("f16", ("F16", [7], f16.view(torch.int16).numpy().astype("<i2").tobytes())),
        ("f16_as_f32", f16.to(torch.float32).numpy()),
        ("bf16", ("BF16", [5], bf16.view(torch.int16).numpy().astype("<i2").tobytes())),
        ("bf16_as_f32", bf16.to(torch.float32).numpy()),
    ]
    write_safetensors(os.path.join(OUT, "dtypes.safetensors"), items, {"fixture": "dtypes", "writer": "make_fixtures.py"})


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.set_num_threads(1)
    transformer_block()
    cross_entropy()
    adamw()
    dtypes()
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"wrote fixtures to {os.path.normpath(OUT)} ({total} bytes) with torch {torch.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
