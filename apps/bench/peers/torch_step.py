"""The PyTorch peer of the bench's training step (issue #18): the BitSkip step written as a PyTorch user would write it.

A long-lived child of the bench's `step` and `train` suites (apps/bench/src/peers/torch.ts), driven by JSON lines:
stdin line 1 is the spec, then one command per line; every reply is one JSON line on stdout.

  spec     {"config": <resolved ModelConfig>, "batch", "seq", "threads", "seed", "exits": [layer counts],
            "exitWeights": [normalised ŵ per exit], "exitScale", "dropRates": [p_l per layer],
            "optimizer": {"lr", "betas", "eps", "weightDecay", "clip"}, "weights": safetensors path or null}
           -> {"type": "ready", "torch", "threads", "params"} or {"type": "unsupported", "reason"} (then exit 0)
  {"cmd": "step"}                        one training step -> {"type": "step", "ms", "loss"}
  {"cmd": "eval", "inputs", "targets"}   the early-exit loss of one batch (B×T int lists), no layer drop, no update
                                         -> {"type": "eval", "loss", "final", "exits"}
  {"cmd": "quit"}                        exit 0
  any failure                            -> {"type": "error", "message"} and exit 1

The model is the one of packages/model/src (model.ts, linear.ts; the formulas as in SPEC §3–6): token embedding,
pre-norm blocks (RMSNorm, RoPE rotate-half, grouped-query causal attention, SwiGLU), final RMSNorm, untied LM head
shared by every exit. Init: N(0, initStd²) for the embedding, q/k/v/gate/up and the head, N(0, (initStd/√(2L))²) for
o and down, RMSNorm gains 1 (the distribution of ours, not its draws). Variants: baseline fp32; v1 ternary absmean
weights (per tensor) and 8-bit absmax activations (per token), straight-through x + (q(x) − x).detach(); v2/v3 add an
orthonormal Hadamard (block-diagonal with hadamardBlock) before the activation quantizer on every projection ('all')
or on o and down ('bitnet-v2'); v2 quantizes activations to 4 bits (absmax ±7 or absmean [−8, 7]). paperHadamard is
not supported. The step: synthetic tokens (torch.randint), a Bernoulli layer-drop mask per layer and row with the
given rates (a dropped row passes the layer unchanged; the layer runs on the kept rows only), CE(final) + scale ·
Σ ŵ_i CE(head(norm(h_i))), backward, clip_grad_norm_, AdamW with weight decay on matrices only. The random streams
(tokens, masks) are torch's, not ours: the same distributions, other draws. Float32 throughout.
"""

import json
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "packages", "model", "scripts"))
from bitskip_ref import QUANT_EPS, read_safetensors, ste, ternary  # noqa: E402


# ---------------------------------------------------------------------------------------------------------------
# Quantizers (packages/quant/src/schemes.ts; round half to even = torch.round). The safetensors reader, the
# straight-through helper and the ternary weight quantizer are the model package's PyTorch reference's (they carry
# no dtype of their own: float32 in, float32 out).


def quant_act(x, bits, scheme):
    if scheme == "absmax":
        Q = float(2 ** (bits - 1) - 1)
        s = x.abs().amax(dim=-1, keepdim=True).clamp(min=QUANT_EPS)
        q = (x * Q / s).round().clamp(-Q, Q) * s / Q
    else:  # absmean INT4: β = mean|x|, codes in [−8, 7], x_q = (β/√7)·c
        r7 = math.sqrt(7)
        s = x.abs().mean(dim=-1, keepdim=True).clamp(min=QUANT_EPS)
        q = (s / r7) * (x * r7 / s).round().clamp(-8, 7)
    return ste(x, q.detach())


def fwht(x, block):
    """Orthonormal Sylvester–Hadamard on blocks of `block` of the last axis, by butterflies over reshapes."""
    shape = x.shape
    n = shape[-1]
    y = x.reshape(-1, n // block, block)
    h = 1
    while h < block:
        y = y.reshape(y.shape[0], n // block, block // (2 * h), 2, h)  # element j = (blk·2h + s·h + i)
        a, b = y[..., 0, :], y[..., 1, :]
        y = torch.stack((a + b, a - b), dim=-2)
        h *= 2
    return (y.reshape(shape)) * (1.0 / math.sqrt(block))


class VariantLinear(nn.Module):
    """A projection without bias: fp32 (baseline) or BitLinear / H-BitLinear with fake quantization and STE."""

    def __init__(self, fin, fout, std, quant):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(fout, fin).normal_(0.0, std))
        self.quant = quant  # None, or {"bits", "scheme", "hadamard": bool, "block"}

    def prepare(self, x):
        """The input as this layer's matmul sees it (rotated and quantized); shared by q/k/v and gate/up."""
        q = self.quant
        if q is None:
            return x
        if q["hadamard"]:
            x = fwht(x, q["block"] or x.shape[-1])
        return quant_act(x, q["bits"], q["scheme"])

    def weight_q(self):
        return self.weight if self.quant is None else ste(self.weight, ternary(self.weight).detach())

    def matmul_q(self, xq):
        return F.linear(xq, self.weight_q())

    def forward(self, x):
        return self.matmul_q(self.prepare(x))


class RMSNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def quant_spec(c, proj):
    v = c["variant"]
    if v == "baseline":
        return None
    had = v in ("v2", "v3") and (c["hadamardPlacement"] == "all" or proj in ("o", "down"))
    if v == "v2":
        return {"bits": 4, "scheme": c["lowBitScheme"], "hadamard": had, "block": c["hadamardBlock"]}
    return {"bits": 8, "scheme": "absmax", "hadamard": had, "block": c["hadamardBlock"]}


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, H, Hkv, D, ff = c["dim"], c["numHeads"], c["numKvHeads"], c["headDim"], c["ffnDim"]
        std, resid = c["initStd"], c["initStd"] / math.sqrt(2 * c["numLayers"])
        self.H, self.Hkv, self.D = H, Hkv, D
        self.input_layernorm = RMSNorm(d, c["normEps"])
        self.q_proj = VariantLinear(d, H * D, std, quant_spec(c, "q"))
        self.k_proj = VariantLinear(d, Hkv * D, std, quant_spec(c, "k"))
        self.v_proj = VariantLinear(d, Hkv * D, std, quant_spec(c, "v"))
        self.o_proj = VariantLinear(H * D, d, resid, quant_spec(c, "o"))
        self.post_attention_layernorm = RMSNorm(d, c["normEps"])
        self.gate_proj = VariantLinear(d, ff, std, quant_spec(c, "gate"))
        self.up_proj = VariantLinear(d, ff, std, quant_spec(c, "up"))
        self.down_proj = VariantLinear(ff, d, resid, quant_spec(c, "down"))

    def attention(self, x, cos, sin, mask):
        B, T, _ = x.shape
        H, Hkv, D = self.H, self.Hkv, self.D
        xq = self.q_proj.prepare(x)  # the same rotation and quantizer for q, k and v: computed once
        # (B, T, H*D) -> (B, T, H, D) -> (B, H, T, D)
        q = self.q_proj.matmul_q(xq).view(B, T, H, D).transpose(1, 2)
        k = self.k_proj.matmul_q(xq).view(B, T, Hkv, D).transpose(1, 2)
        v = self.v_proj.matmul_q(xq).view(B, T, Hkv, D).transpose(1, 2)
        q, k = rope(q, cos, sin), rope(k, cos, sin)
        # GQA without copies: query head h = g·(H/Hkv) + j reads kv head g. (B, H, T, D) -> (B, Hkv, H/Hkv, T, D)
        q = q.reshape(B, Hkv, H // Hkv, T, D)
        s = torch.matmul(q, k.unsqueeze(2).transpose(-1, -2)) * (1.0 / math.sqrt(D))  # (B, Hkv, G, T, T)
        if mask is not None:
            s = s.masked_fill(mask, float("-inf"))
        a = torch.matmul(s.softmax(-1), v.unsqueeze(2))  # (B, Hkv, G, T, D)
        # (B, Hkv, G, T, D) -> (B, H, T, D) -> (B, T, H, D) -> (B, T, H*D)
        a = a.reshape(B, H, T, D).transpose(1, 2).reshape(B, T, H * D)
        return self.o_proj(a)

    def mlp(self, x):
        xq = self.gate_proj.prepare(x)
        return self.down_proj(F.silu(self.gate_proj.matmul_q(xq)) * self.up_proj.matmul_q(xq))

    def forward(self, x, cos, sin, mask):
        x = x + self.attention(self.input_layernorm(x), cos, sin, mask)
        return x + self.mlp(self.post_attention_layernorm(x))


def rope(x, cos, sin):
    """Rotate-half RoPE on (B, H, T, D); cos/sin (T, D), angles pos·θ^(−2i/D) for pairs (i, i + D/2)."""
    h = x.shape[-1] // 2
    return x * cos + torch.cat((-x[..., h:], x[..., :h]), dim=-1) * sin


class BitSkipLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        if c.get("paperHadamard") or c.get("paperNoCausalMask") or c.get("paperUnshiftedExitTargets"):
            raise NotImplementedError("the paper-compatibility switches are not supported by the peer")
        self.c = c
        self.embed_tokens = nn.Embedding(c["vocabSize"], c["dim"])
        nn.init.normal_(self.embed_tokens.weight, 0.0, c["initStd"])
        self.layers = nn.ModuleList(Block(c) for _ in range(c["numLayers"]))
        self.norm = RMSNorm(c["dim"], c["normEps"])
        self.lm_head = nn.Linear(c["dim"], c["vocabSize"], bias=False)
        nn.init.normal_(self.lm_head.weight, 0.0, c["initStd"])
        D, T = c["headDim"], c["maxSeqLen"]
        i = torch.arange(D // 2, dtype=torch.float64)
        ang = torch.arange(T, dtype=torch.float64)[:, None] * c["ropeTheta"] ** (-2.0 * i / D)[None, :]  # (T, D/2)
        self.register_buffer("cos", torch.cat((ang.cos(), ang.cos()), -1).float(), persistent=False)
        self.register_buffer("sin", torch.cat((ang.sin(), ang.sin()), -1).float(), persistent=False)

    def hf_names(self):
        """Our module names -> the checkpoint's Hugging Face Llama names (packages/model/src/checkpoint.ts)."""
        out = {}
        for name, p in self.named_parameters():
            if name.startswith("layers."):
                l, rest = name[len("layers.") :].split(".", 1)
                part = rest.split(".")[0]
                group = "self_attn" if part in ("q_proj", "k_proj", "v_proj", "o_proj") else "mlp" if part.endswith("_proj") else None
                hf = f"model.layers.{l}.{group}.{rest}" if group else f"model.layers.{l}.{rest}"
            elif name == "lm_head.weight":
                hf = name
            else:
                hf = f"model.{name}"
            out[hf] = p
        return out

    def load_hf(self, arrays):
        params = self.hf_names()
        missing = sorted(set(params) - set(arrays))
        if missing:
            raise ValueError(f"weights: missing {', '.join(missing[:4])}")
        with torch.no_grad():
            for name, p in params.items():
                a = torch.from_numpy(arrays[name])
                if tuple(a.shape) != tuple(p.shape):
                    raise ValueError(f"weights: {name} has shape {list(a.shape)}, the model {list(p.shape)}")
                p.copy_(a)

    def hidden_states(self, ids, keep, collect):
        """The last hidden state and those after the layers in `collect`; keep[l] = kept row indices or None (all)."""
        T = ids.shape[1]
        cos, sin = self.cos[:T], self.sin[:T]
        mask = torch.ones(T, T, dtype=torch.bool).triu(1)
        h = self.embed_tokens(ids)
        exits = {}
        for l, layer in enumerate(self.layers):
            rows = None if keep is None else keep[l]
            if rows is None:
                h = layer(h, cos, sin, mask)
            elif rows.numel() > 0:
                h = h.index_copy(0, rows, layer(h.index_select(0, rows), cos, sin, mask))  # dropped rows: h as it was
            if l + 1 in collect:
                exits[l + 1] = h
        return h, exits

    def exit_ce(self, h, targets):
        logits = self.lm_head(self.norm(h))
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100)

    def early_exit_loss(self, ids, targets, keep, exits, weights, scale):
        h, hs = self.hidden_states(ids, keep, set(exits))
        final = self.exit_ce(h, targets)
        losses = [self.exit_ce(hs[e], targets) for e in exits]
        loss = final
        for w, ce in zip(weights, losses):
            loss = loss + (scale * w) * ce
        return loss, final, losses


class Peer:
    def __init__(self, spec):
        self.spec = spec
        c = spec["config"]
        torch.manual_seed(spec["seed"])
        self.gen = torch.Generator().manual_seed(spec["seed"] + 1)
        self.model = BitSkipLM(c)
        if spec.get("weights"):
            self.model.load_hf(read_safetensors(spec["weights"])[0])
        self.model.train()
        o = spec["optimizer"]
        params = list(self.model.parameters())
        self.params = params
        self.opt = torch.optim.AdamW(
            [{"params": [p for p in params if p.dim() >= 2]}, {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}],
            lr=o["lr"], betas=tuple(o["betas"]), eps=o["eps"], weight_decay=o["weightDecay"],
        )
        self.rates = torch.tensor(spec["dropRates"], dtype=torch.float32)

    def keep_rows(self, B):
        """Per layer: the kept row indices (None where every row runs)."""
        drop = torch.rand(len(self.rates), B, generator=self.gen) < self.rates[:, None]
        return [None if not d.any() else (~d).nonzero().flatten() for d in drop]

    def step(self):
        s = self.spec
        B, T, V = s["batch"], s["seq"], s["config"]["vocabSize"]
        t0 = time.perf_counter()
        window = torch.randint(V, (B, T + 1), generator=self.gen)
        ids, targets = window[:, :-1], window[:, 1:]
        keep = self.keep_rows(B)
        loss, _, _ = self.model.early_exit_loss(ids, targets, keep, s["exits"], s["exitWeights"], s["exitScale"])
        loss.backward()
        value = loss.item()
        if math.isfinite(value):
            norm = torch.nn.utils.clip_grad_norm_(self.params, s["optimizer"]["clip"])
            if math.isfinite(float(norm)):
                self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        return {"type": "step", "ms": (time.perf_counter() - t0) * 1000.0, "loss": value}

    def eval(self, inputs, targets):
        s = self.spec
        ids = torch.tensor(inputs, dtype=torch.long)
        tg = torch.tensor(targets, dtype=torch.long)
        with torch.no_grad():
            loss, final, exits = self.model.early_exit_loss(ids, tg, None, s["exits"], s["exitWeights"], s["exitScale"])
        return {"type": "eval", "loss": loss.item(), "final": final.item(), "exits": [e.item() for e in exits]}


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def main():
    line = sys.stdin.readline()
    if not line:
        return 0
    spec = json.loads(line)
    torch.set_num_threads(int(spec["threads"]))
    try:
        peer = Peer(spec)
    except NotImplementedError as e:
        send({"type": "unsupported", "reason": str(e)})
        return 0
    n = sum(p.numel() for p in peer.params)
    send({"type": "ready", "torch": torch.__version__, "threads": torch.get_num_threads(), "params": n})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "step":
            send(peer.step())
        elif cmd["cmd"] == "eval":
            send(peer.eval(cmd["inputs"], cmd["targets"]))
        elif cmd["cmd"] == "quit":
            return 0
        else:
            raise ValueError(f"unknown command {cmd['cmd']!r}; known: step, eval, quit")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # one line for the parent, which names the peer
        send({"type": "error", "message": f"{type(e).__name__}: {e}"})
        sys.exit(1)
