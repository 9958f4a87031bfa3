#!/usr/bin/python3
"""PyTorch float64 fixtures for @bitskip/model: the tiny BitSkip transformer, every exit's logits, the early-exit
loss under a layer-drop mask and the gradient of that loss with respect to every parameter, for the four variants
and one paper-compatibility configuration. The model is bitskip_ref.py (written from the math, not from our TS).

Inputs are chosen away from the quantizers' rounding boundaries (see `choose_ids`), so that float32 engines take
the same rounding decisions as this float64 reference: every unrounded activation code x·Q/s is at least DELTA
from a half-integer (the f32-vs-f64 drift measured with PyTorch float32 is ~1e-4 code units for 8 bits).

Regenerate from the repository root (Debian's python3-torch; not a pyenv `python3` without torch):
    /usr/bin/python3 packages/model/scripts/make_fixtures.py
Deterministic: fixed seeds, one thread, the same bytes on every run with the same PyTorch.
"""

import json
import math
import os
import sys

import numpy as np
import torch

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bitskip_ref as ref  # noqa: E402

torch.set_num_threads(1)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")

B, T = 2, 12
# keep[l][b]: layer l (0-based) runs for batch row b (1) or is the identity for it (0); never drops the last layer.
KEEP = [[1, 1], [1, 0], [0, 1], [1, 1]]
WEIGHT_SEED = 7

CONFIGS = [
    # name, overrides of the tiny preset, weights file, ids seed, margin in code units
    ("baseline", {"variant": "baseline"}, "weights", 11, 0.0),
    ("v1", {"variant": "v1"}, "weights", 12, 3e-4),
    ("v2", {"variant": "v2"}, "weights", 13, 3e-5),
    ("v3", {"variant": "v3"}, "weights", 14, 3e-4),
    ("v3-paper", {"variant": "v3", "paperNoCausalMask": True, "paperUnshiftedExitTargets": True, "paperHadamard": True}, "weights-paper", 15, 3e-4),
]


def draw_weights(c):
    """float32-representable values (a float32 engine loads exactly these): embeddings N(0, 1), projections and head
    N(0, 0.2²) (so that ternary quantization has all three codes), RMSNorm gains 1 + N(0, 0.1²)."""
    rng = np.random.default_rng(WEIGHT_SEED)
    out = {}
    for name, shape in ref.param_shapes(c).items():
        if name.endswith("norm.weight") or name.endswith("layernorm.weight"):
            a = 1 + 0.1 * rng.standard_normal(shape)
        elif name == "model.embed_tokens.weight":
            a = rng.standard_normal(shape)
        else:
            a = 0.2 * rng.standard_normal(shape)
        out[name] = a.astype(np.float32)
    return out


def paper_weights(w):
    """The paper's unnormalised Hadamard multiplies a projection's output by √(in·out) (before and after the matmul);
    scale each projection by the power of two nearest 1/√(in·out), which keeps attention scores and the residual
    stream at the baseline's size (and the ternary codes unchanged: γ scales with W exactly)."""
    out = dict(w)
    for name, a in w.items():
        if name.endswith("_proj.weight"):
            fout, fin = a.shape
            out[name] = (a * np.float32(2.0 ** -round(math.log2(math.sqrt(fin * fout))))).astype(np.float32)
    return out


def margins(P, ids, c, dtype=torch.float64):
    """Per (row, position): the least distance of an unrounded activation code from a rounding boundary, over the
    forward without layer drop (the exits' logits) and the one with KEEP (the loss)."""
    tr = ref.Trace(B, T)
    with torch.no_grad():
        ref.hidden_states(P, torch.as_tensor(ids), c, None, tr)
        ref.hidden_states(P, torch.as_tensor(ids), c, KEEP, tr)
    return tr


def choose_ids(P, c, seed, delta):
    """Token ids whose every activation rounding is at least `delta` from a boundary. Rows are independent; with a
    causal mask, position t depends on tokens 0..t only, so tokens are chosen left to right, redrawing one until its
    position is clear; without it, whole rows are redrawn."""
    rng = np.random.default_rng(seed)
    V = c["vocabSize"]
    ids = rng.integers(0, V, (B, T)).astype(np.int64)
    if delta == 0:
        return ids, 0
    tries = 0
    causal = not c["paperNoCausalMask"]
    for b in range(B):
        for t in range(T) if causal else [T - 1]:
            for _ in range(20000):
                m = margins(P, ids, c).act_margins()
                tries += 1
                if (m[b, t] if causal else m[b].min()) >= delta:
                    break
                if causal:
                    ids[b, t] = rng.integers(0, V)
                else:
                    ids[b] = rng.integers(0, V, T)
            else:
                raise RuntimeError(f"{c['variant']}: no token for row {b} position {t} clears margin {delta}")
    return ids, tries


def run_config(name, over, weights, seed, delta):
    c = dict(ref.TINY)
    c.update(over)
    P = ref.to_params(weights)
    ids, tries = choose_ids(P, c, seed, delta)
    tr64 = margins(P, ids, c)
    tr32 = margins(ref.to_params(weights, torch.float32), ids, c)
    act_margin = float(tr64.act_margins().min())
    # How far float32 PyTorch's unrounded codes drift from float64's (same decisions when this is below the margin).
    drift = max((float((a.double() - b).abs().max()) for (a, _, _), (b, _, _) in zip(tr32.act, tr64.act)), default=0.0)
    weight_margin = min((float(w.abs().min()) for w in tr64.weight), default=math.inf)
    if delta > 0 and not (act_margin > 2 * drift):
        raise RuntimeError(f"{name}: margin {act_margin:.2e} is not clear of the float32 drift {drift:.2e}")

    ids_t = torch.as_tensor(ids)
    targets = torch.full((B, T), -100, dtype=torch.int64)
    targets[:, :-1] = ids_t[:, 1:]
    exit_targets = ids_t if c["paperUnshiftedExitTargets"] else targets

    P = ref.to_params(weights, grad=True)
    tensors = [("ids", ids.astype(np.int32)), ("targets", targets.numpy().astype(np.int32)), ("keep", np.array(KEEP, dtype=np.uint8))]
    with torch.no_grad():
        hs = ref.hidden_states(P, ids_t, c)
        for e in range(1, c["numLayers"] + 1):
            tensors.append((f"logits.exit{e}", ref.exit_logits(P, hs[e - 1], c).numpy()))
    hs = ref.hidden_states(P, ids_t, c, KEEP)
    loss, final, exits = ref.early_exit_loss(P, hs, c, targets, exit_targets)
    loss.backward()
    tensors.append(("loss", loss.detach().numpy()))
    tensors.append(("loss.final", final.detach().numpy()))
    for e, ce in enumerate(exits, 1):
        tensors.append((f"loss.exit{e}", ce.detach().numpy()))
    for pname in ref.param_shapes(c):
        tensors.append((f"grad.{pname}", P[pname].grad.numpy()))
    meta = {
        "config": json.dumps(over, sort_keys=True),
        "weights": f"{weights_file_of(name)}.safetensors",
        "early_exit": json.dumps({"scale": 0.3, "weighting": "linear", "curriculum": "all"}),
        "act_margin": f"{act_margin:.3e}",
        "f32_drift": f"{drift:.3e}",
        "weight_margin": f"{weight_margin:.3e}",
        "torch": torch.__version__,
    }
    path = os.path.join(OUT, f"{name}.safetensors")
    ref.write_safetensors(path, tensors, meta)
    print(f"{name}: loss {float(loss):.6f}, act margin {act_margin:.2e} (float32 drift {drift:.2e}, {tries} forward pairs), weight margin {weight_margin:.2e} -> {os.path.relpath(path)}")


def weights_file_of(name):
    return next(w for n, _, w, _, _ in CONFIGS if n == name)


def main():
    os.makedirs(OUT, exist_ok=True)
    base = draw_weights(ref.TINY)
    sets = {"weights": base, "weights-paper": paper_weights(base)}
    for wname, w in sets.items():
        meta = {"preset": "tiny", "seed": str(WEIGHT_SEED), "torch": torch.__version__}
        ref.write_safetensors(os.path.join(OUT, f"{wname}.safetensors"), list(w.items()), meta)
    only = sys.argv[1:]
    for name, over, wname, seed, delta in CONFIGS:
        if not only or name in only:
            run_config(name, over, sets[wname], seed, delta)


if __name__ == "__main__":
    main()
