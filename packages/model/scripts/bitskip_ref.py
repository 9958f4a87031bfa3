"""An independent PyTorch (float64) reference of the BitSkip transformer, written from the math (SPEC §3–6).

Shared by make_fixtures.py (the differential-test fixtures) and check_checkpoint.py (checkpoint portability).
Nothing here is translated from the TypeScript model; the formulas are:

  h_0 = E[ids]
  per layer:  n = RMSNorm(h)            RMSNorm(x) = x / sqrt(mean(x²) + eps) · g
              q, k, v = n Wqᵀ, n Wkᵀ, n Wvᵀ          (no bias; the variant's linear layer, see `linear`)
              q, k = RoPE(q), RoPE(k)               rotate-half (HF Llama): pairs (i, i + D/2), angle pos·θ^(−2i/D)
              a = softmax(q kᵀ / √D + causal mask) v  query head h reads kv head h // (H / Hkv)
              h = h + a Woᵀ
              m = RMSNorm(h)
              h = h + (silu(m Wgᵀ) ⊙ m Wuᵀ) Wdᵀ
  exit e:     logits_e = RMSNorm_final(h_e) Wheadᵀ         (h_e: the hidden state after e layers)

Linear layers of the variants (BitNet b1.58 / BitNet v2, SPEC §4–5); straight-through gradients x + (q(x) − x).detach():
  baseline  y = x Wᵀ
  v1        y = Qa8(x) · Qw(W)ᵀ                    Qw: γ = max(mean|W|, 1e-5), +γ where W > γ/2, −γ where W < −γ/2, else 0
  v2        y = Qa4(H x) · Qw(W)ᵀ                  Qa_b: s = max(max|x|, 1e-5) per token, round(x·Q/s)·s/Q, Q = 2^(b−1) − 1,
  v3        y = Qa8(H x) · Qw(W)ᵀ                        round half to even (torch.round); v2 may use absmean INT4 instead
  paper     y = Hu( Hu(Qa(x)) · Qw(W)ᵀ )           Hu = √n·H, the authors' unnormalised transform (paperHadamard)
H is the orthonormal Sylvester–Hadamard matrix (block-diagonal when hadamardBlock is set), on every projection
('all' placement) or on o and down only ('bitnet-v2').

Also: a hand-written safetensors reader and writer (struct + json; deterministic bytes).
"""

import json
import math
import struct

import numpy as np
import torch
import torch.nn.functional as F

QUANT_EPS = 1e-5
PROJECTIONS = ("q", "k", "v", "o", "gate", "up", "down")

# ----------------------------------------------------------------------------------------------------------------
# safetensors (https://github.com/huggingface/safetensors): u64 LE header length, JSON header (space-padded to a
# multiple of 8), then each tensor's little-endian row-major bytes, contiguous, in the order given.

_NP_OF = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "u1"}
_ST_OF = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<i4"): "I32", np.dtype("u1"): "U8"}


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, numpy array of float64, float32, int32 or uint8), written in list order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs, offset = [], 0
    for name, arr in tensors:
        arr = np.asarray(arr)
        arr = arr.astype(arr.dtype.newbyteorder("<"), copy=False)
        dtype = _ST_OF[arr.dtype]
        raw = arr.tobytes(order="C")
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":"), sort_keys=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for raw in blobs:
            f.write(raw)


def read_safetensors(path):
    """Returns (dict name -> numpy array, metadata dict). BF16 is widened to float32."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n :]
    out = {}
    for name, h in header.items():
        a, b = h["data_offsets"]
        if h["dtype"] == "BF16":
            u = np.frombuffer(body[a:b], dtype="<u2").astype(np.uint32) << 16
            arr = u.view(np.float32)
        else:
            arr = np.frombuffer(body[a:b], dtype=_NP_OF[h["dtype"]])
        out[name] = arr.reshape(h["shape"]).copy()
    return out, meta


# ----------------------------------------------------------------------------------------------------------------
# Configuration (the TS ModelConfig's keys; camelCase as stored in config.json's bitskip.config).

TINY = {
    "variant": "v1",
    "vocabSize": 96,
    "dim": 32,
    "numLayers": 4,
    "numHeads": 4,
    "numKvHeads": 2,
    "headDim": 8,
    "ffnDim": 64,
    "maxSeqLen": 64,
    "ropeTheta": 10000.0,
    "normEps": 1e-6,
    "hadamardPlacement": "all",
    "hadamardBlock": None,
    "lowBitScheme": "absmax",
    "paperNoCausalMask": False,
    "paperUnshiftedExitTargets": False,
    "paperHadamard": False,
}


def param_shapes(c):
    """HF Llama tensor name -> shape, for every parameter of the model."""
    d, H, Hkv, D, ff = c["dim"], c["numHeads"], c["numKvHeads"], c["headDim"], c["ffnDim"]
    shapes = {"model.embed_tokens.weight": (c["vocabSize"], d)}
    for l in range(c["numLayers"]):
        p = f"model.layers.{l}."
        shapes[p + "input_layernorm.weight"] = (d,)
        shapes[p + "self_attn.q_proj.weight"] = (H * D, d)
        shapes[p + "self_attn.k_proj.weight"] = (Hkv * D, d)
        shapes[p + "self_attn.v_proj.weight"] = (Hkv * D, d)
        shapes[p + "self_attn.o_proj.weight"] = (d, H * D)
        shapes[p + "post_attention_layernorm.weight"] = (d,)
        shapes[p + "mlp.gate_proj.weight"] = (ff, d)
        shapes[p + "mlp.up_proj.weight"] = (ff, d)
        shapes[p + "mlp.down_proj.weight"] = (d, ff)
    shapes["model.norm.weight"] = (d,)
    shapes["lm_head.weight"] = (c["vocabSize"], d)
    return shapes


# ----------------------------------------------------------------------------------------------------------------
# Quantizers and the variants' linear layer.


def ste(x, q):
    """Forward q, backward identity."""
    return x + (q - x).detach()


def ternary(w):
    g = w.abs().mean().clamp(min=QUANT_EPS)
    return torch.where(w > 0.5 * g, g, torch.where(w < -0.5 * g, -g, torch.zeros_like(w)))


class Trace:
    """Collects how far each rounding decision is from flipping (for choosing fixture inputs away from boundaries)."""

    def __init__(self, batch, seq):
        self.batch, self.seq = batch, seq
        self.rows = list(range(batch))  # the batch rows of the current call (a layer run on a subset under layer drop)
        self.layer = 0  # the layer (0-based) of the current call
        self.act = []  # per call: (unrounded codes v = x·Q/s, shape (rows, T, n); rows; layer); a flip is v crossing k + 1/2
        self.weight = []  # per call: (|W| − γ/2) / γ

    def act_margins(self, layers=None):
        """(batch, seq) array: per token, the least distance of an unrounded code from a rounding boundary (in the
        first `layers` layers, default all)."""
        m = np.full((self.batch, self.seq), math.inf)
        for v, rows, l in self.act:
            if layers is not None and l >= layers:
                continue
            d = ((v - v.floor()) - 0.5).abs().reshape(len(rows), self.seq, -1).amin(-1).double().numpy()
            for i, b in enumerate(rows):
                m[b] = np.minimum(m[b], d[i])
        return m

    def weight_margin(self):
        return min((float(w.abs().min()) for w in self.weight), default=math.inf)


def act_quant(x, bits, scheme, trace):
    if scheme == "absmax":
        Q = 2 ** (bits - 1) - 1
        s = x.abs().amax(dim=-1, keepdim=True).clamp(min=QUANT_EPS)
        v = x * Q / s
        q = v.round().clamp(-Q, Q) * s / Q
    else:  # absmean INT4 (BitNet v2 / a4.8)
        beta = x.abs().mean(dim=-1, keepdim=True).clamp(min=QUANT_EPS)
        v = x * math.sqrt(7) / beta
        q = v.round().clamp(-8, 7) * beta / math.sqrt(7)
    if trace is not None:
        trace.act.append((v.detach(), trace.rows, trace.layer))
    return ste(x, q.detach())


def hadamard(n, block, dtype):
    """Orthonormal Sylvester–Hadamard of size n, block-diagonal with blocks of `block` (or one block)."""
    b = block or n
    h = torch.ones(1, 1, dtype=dtype)
    while h.shape[0] < b:
        h = torch.cat([torch.cat([h, h], 1), torch.cat([h, -h], 1)], 0)
    h = h / math.sqrt(b)
    return torch.block_diag(*([h] * (n // b)))


def linear(x, w, proj, c, trace=None):
    """The variant's projection `proj` (one of PROJECTIONS): x (..., in) -> (..., out)."""
    v = c["variant"]
    if v == "baseline":
        return x @ w.t()
    if trace is not None:
        g = w.detach().abs().mean().clamp(min=QUANT_EPS)
        trace.weight.append((w.detach().abs() - 0.5 * g) / g)
    wq = ste(w, ternary(w).detach())
    bits = 4 if v == "v2" else 8
    scheme = c["lowBitScheme"] if v == "v2" else "absmax"
    had = v in ("v2", "v3") and (c["hadamardPlacement"] == "all" or proj in ("o", "down"))
    blk = c.get("hadamardBlock")
    fin, fout = w.shape[1], w.shape[0]
    if had and c["paperHadamard"]:
        # The authors' code: quantize, then an unnormalised transform; the output transformed too.
        hin = hadamard(fin, blk, x.dtype) * math.sqrt(blk or fin)
        hout = hadamard(fout, blk, x.dtype) * math.sqrt(blk or fout)
        return ((act_quant(x, bits, scheme, trace) @ hin) @ wq.t()) @ hout
    if had:
        x = x @ hadamard(fin, blk, x.dtype)  # H symmetric: a row vector times H is H applied to it
    return act_quant(x, bits, scheme, trace) @ wq.t()


# ----------------------------------------------------------------------------------------------------------------
# The transformer.


def rmsnorm(x, g, eps):
    return x / torch.sqrt((x * x).mean(dim=-1, keepdim=True) + eps) * g


def rope(x, theta):
    """x (B, H, T, D): rotate-half RoPE, position t = row index."""
    T, D = x.shape[-2], x.shape[-1]
    i = torch.arange(D // 2, dtype=torch.float64)
    ang = torch.arange(T, dtype=torch.float64)[:, None] * theta ** (-2.0 * i / D)[None, :]  # (T, D/2)
    cos = torch.cat([ang.cos(), ang.cos()], -1).to(x.dtype)
    sin = torch.cat([ang.sin(), ang.sin()], -1).to(x.dtype)
    x1, x2 = x[..., : D // 2], x[..., D // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


def layer(h, P, l, c, trace):
    B, T, _ = h.shape
    H, Hkv, D = c["numHeads"], c["numKvHeads"], c["headDim"]
    p = f"model.layers.{l}."
    n = rmsnorm(h, P[p + "input_layernorm.weight"], c["normEps"])
    q = linear(n, P[p + "self_attn.q_proj.weight"], "q", c, trace).view(B, T, H, D).transpose(1, 2)
    k = linear(n, P[p + "self_attn.k_proj.weight"], "k", c, trace).view(B, T, Hkv, D).transpose(1, 2)
    v = linear(n, P[p + "self_attn.v_proj.weight"], "v", c, trace).view(B, T, Hkv, D).transpose(1, 2)
    q, k = rope(q, c["ropeTheta"]), rope(k, c["ropeTheta"])
    k = k.repeat_interleave(H // Hkv, dim=1)  # (B, Hkv, T, D) -> (B, H, T, D): head h reads kv head h // (H/Hkv)
    v = v.repeat_interleave(H // Hkv, dim=1)
    s = q @ k.transpose(-1, -2) / math.sqrt(D)  # (B, H, T, T)
    if not c["paperNoCausalMask"]:
        s = s.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
    a = (s.softmax(-1) @ v).transpose(1, 2).reshape(B, T, H * D)
    h = h + linear(a, P[p + "self_attn.o_proj.weight"], "o", c, trace)
    m = rmsnorm(h, P[p + "post_attention_layernorm.weight"], c["normEps"])
    gate = linear(m, P[p + "mlp.gate_proj.weight"], "gate", c, trace)
    up = linear(m, P[p + "mlp.up_proj.weight"], "up", c, trace)
    return h + linear(F.silu(gate) * up, P[p + "mlp.down_proj.weight"], "down", c, trace)


def hidden_states(P, ids, c, keep=None, trace=None):
    """[h_1, ..., h_L]: the hidden state after each layer. keep[l][b] = 0 makes layer l the identity for row b."""
    h = P["model.embed_tokens.weight"][ids]
    B = h.shape[0]
    out = []
    for l in range(c["numLayers"]):
        rows = [b for b in range(B) if keep is None or keep[l][b]]
        if trace is not None:
            trace.rows, trace.layer = rows, l
        if len(rows) == B:
            h = layer(h, P, l, c, trace)
        elif rows:
            y = layer(h[rows], P, l, c, trace)
            h = torch.stack([y[rows.index(b)] if b in rows else h[b] for b in range(B)])
        out.append(h)
    return out


def exit_logits(P, h, c):
    return rmsnorm(h, P["model.norm.weight"], c["normEps"]) @ P["lm_head.weight"].t()


def cross_entropy(logits, targets):
    """Mean over the targets that are not −100."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1).long(), ignore_index=-100, reduction="mean")


def early_exit_loss(P, hs, c, targets, exit_targets, scale=0.3):
    """CE(final) + scale · Σ_{e=1}^{L−1} ŵ_e CE(head(norm(h_e))), ŵ_e = (e/L) / Σ_{e'} (e'/L) (all exits, 'linear')."""
    L = c["numLayers"]
    final = cross_entropy(exit_logits(P, hs[L - 1], c), targets)
    raw = [e / L for e in range(1, L)]
    w = [r / sum(raw) for r in raw]
    exits = [cross_entropy(exit_logits(P, hs[e - 1], c), exit_targets) for e in range(1, L)]
    total = final
    for we, ce in zip(w, exits):
        total = total + scale * we * ce
    return total, final, exits


def to_params(arrays, dtype=torch.float64, grad=False):
    return {k: torch.tensor(np.asarray(v, dtype=np.float64), dtype=dtype).requires_grad_(grad) for k, v in arrays.items()}


def config_from_checkpoint(doc):
    """A checkpoint's config.json -> the reference's config dict (bitskip.config, checked against the HF keys)."""
    b = doc["bitskip"]["config"]
    c = dict(TINY)
    c.update({k: b[k] for k in TINY if k in b})
    for hf, ours in (("hidden_size", "dim"), ("intermediate_size", "ffnDim"), ("num_hidden_layers", "numLayers"),
                     ("num_attention_heads", "numHeads"), ("num_key_value_heads", "numKvHeads"), ("head_dim", "headDim"),
                     ("vocab_size", "vocabSize"), ("rms_norm_eps", "normEps"), ("rope_theta", "ropeTheta")):
        if doc[hf] != c[ours]:
            raise ValueError(f"config.json: {hf} = {doc[hf]} but bitskip.config.{ours} = {c[ours]}")
    return c
