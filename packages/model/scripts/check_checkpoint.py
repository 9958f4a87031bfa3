#!/usr/bin/python3
"""Checkpoint portability: load a BitSkip checkpoint directory (written by saveModel: config.json + model.safetensors,
Hugging Face Llama tensor names) into the independent PyTorch reference (bitskip_ref.py) and check that its logits
at every exit match the logits the TypeScript model wrote.

    /usr/bin/python3 packages/model/scripts/check_checkpoint.py DIR LOGITS.safetensors [DIR LOGITS.safetensors ...]
        [--tol 1e-4]

LOGITS.safetensors holds `ids` (I32, (B, T)) and `logits.exit1` … `logits.exit<L>` (F32 or F64, (B, T, vocab)).
Passes when max |ours − theirs| <= tol · max(1, max |theirs|) at every exit. Tokens whose reference computation
comes within 1e-9 code units of a quantizer rounding boundary (a tie that float rounding breaks either way, e.g. the
first position's attention output, which is the quantized v itself) are not compared, nor is anything they feed
(later positions; the whole row without a causal mask); they are reported, and at most 3/4 may be left out.

Exit status: 0 when every checkpoint matches, 1 when one does not (or cannot be read), 77 when PyTorch is not
importable (the TypeScript test then skips), 2 on bad usage.
"""

import json
import os
import sys

try:
    import numpy as np
    import torch
except ImportError as err:  # CI has no torch: say so, and let the caller skip
    print(f"check_checkpoint: PyTorch is not importable by {sys.executable} ({err}); install Debian's python3-torch", file=sys.stderr)
    sys.exit(77)

sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bitskip_ref as ref  # noqa: E402

TIE_EPS = 1e-9


def check(ckpt_dir, logits_path, tol):
    with open(os.path.join(ckpt_dir, "config.json"), encoding="utf-8") as f:
        doc = json.load(f)
    c = ref.config_from_checkpoint(doc)
    weights, _ = ref.read_safetensors(os.path.join(ckpt_dir, "model.safetensors"))
    shapes = ref.param_shapes(c)
    missing = sorted(set(shapes) - set(weights))
    extra = sorted(set(weights) - set(shapes))
    if missing or extra:
        raise ValueError(f"model.safetensors: missing {missing[:4]}, unexpected {extra[:4]}")
    for name, shape in shapes.items():
        if tuple(weights[name].shape) != tuple(shape):
            raise ValueError(f"model.safetensors: {name} has shape {list(weights[name].shape)}, expected {list(shape)}")
    P = ref.to_params(weights)
    theirs, _ = ref.read_safetensors(logits_path)
    ids = torch.as_tensor(theirs["ids"].astype(np.int64))
    B, T = ids.shape
    tr = ref.Trace(B, T)
    with torch.no_grad():
        hs = ref.hidden_states(P, ids, c, None, tr)
    causal = not c["paperNoCausalMask"]
    worst, skipped, total = 0.0, 0, 0
    for e in range(1, c["numLayers"] + 1):
        key = f"logits.exit{e}"
        if key not in theirs:
            raise ValueError(f"{logits_path}: no tensor {key}")
        ours = ref.exit_logits(P, hs[e - 1], c).detach().numpy()
        got = theirs[key].astype(np.float64)
        if got.shape != ours.shape:
            raise ValueError(f"{logits_path}: {key} has shape {list(got.shape)}, expected {list(ours.shape)}")
        tie = tr.act_margins(layers=e) < TIE_EPS  # (B, T)
        tie = np.logical_or.accumulate(tie, axis=1) if causal else np.repeat(tie.any(axis=1, keepdims=True), T, axis=1)
        keep = ~tie
        skipped += int(tie.sum())
        total += B * T
        if keep.any():
            diff = np.abs(ours[keep] - got[keep])
            err = float(diff.max()) / max(1.0, float(np.abs(got[keep]).max()))
            worst = max(worst, err)
            if err > tol:
                i = np.unravel_index(int(np.argmax(np.where(keep[..., None], np.abs(ours - got), -1))), ours.shape)
                raise AssertionError(f"{key}: error {err:.3e} > {tol:g}; first worst at {list(map(int, i))}: reference {ours[i]:.9g}, checkpoint's {got[i]:.9g}")
    if skipped * 4 > 3 * total:
        raise AssertionError(f"{skipped} of {total} (exit, token) logits sit behind a rounding tie; too few left to compare")
    return worst, skipped, total, c


def main(argv):
    tol = 1e-4
    args = list(argv)
    if "--tol" in args:
        i = args.index("--tol")
        tol = float(args[i + 1])
        del args[i : i + 2]
    if len(args) < 2 or len(args) % 2 != 0:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    failed = 0
    for ckpt_dir, logits_path in zip(args[0::2], args[1::2]):
        try:
            worst, skipped, total, c = check(ckpt_dir, logits_path, tol)
            flags = [k for k in ("paperNoCausalMask", "paperUnshiftedExitTargets", "paperHadamard") if c[k]]
            print(f"ok {ckpt_dir}: variant {c['variant']}{' ' + ','.join(flags) if flags else ''}, {c['numLayers']} exits, "
                  f"max error {worst:.2e} (tol {tol:g}), {skipped}/{total} tokens behind a rounding tie not compared")
        except Exception as err:  # noqa: BLE001 — report every checkpoint, then fail
            failed += 1
            print(f"FAIL {ckpt_dir}: {type(err).__name__}: {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
