# The learning curve of one or more runs: per periodic validation (the eval.windows subset of the validation split)
# the final exit's loss and bits per byte, the mean training objective of the 20 steps before it and the lr; then the
# final evaluation on the whole validation split. Usage: python3 curve.py RUN_DIR... (each with a result.json)
import json, os, sys
for d in sys.argv[1:]:
    r = json.load(open(os.path.join(d, 'result.json')))
    m = r['metrics']
    L = max(v['layer'] for v in m['validation'])
    tr = r['series']['train']
    print(f"## {os.path.basename(os.path.normpath(d))}: {m['steps']} steps, {m['tokens']:,} tokens, {m['params']:,} parameters, {L} layers")
    print('| step | tokens | lr | training objective (20 steps before) | valid loss, exit L (subset) | bits/byte (subset) |')
    print('|---:|---:|---:|---:|---:|---:|')
    for v in r['series']['validation']:
        if v['layer'] != L or (v['step'] == m['steps'] and v['loss'] == max(m['validation'], key=lambda x: x['layer'])['loss']):
            continue  # the final evaluation (whole split) is printed below
        s = v['step']
        before = [x for x in tr if s - 20 < x['step'] <= s and x['loss'] is not None]
        obj = sum(x['loss'] for x in before) / len(before) if before else float('nan')
        at = before[-1] if before else {'tokens': 0, 'lr': float('nan')}
        print(f"| {s} | {at['tokens']:,} | {at['lr']:.2e} | {obj:.3f} | {v['loss']:.3f} | {v['bitsPerByte']:.3f} |")
    fin = sorted(m['validation'], key=lambda x: x['layer'])
    print(f"final evaluation, whole validation split: loss {fin[-1]['loss']:.3f} nats/token at exit {L}; bits/byte " + ' / '.join(f"{x['bitsPerByte']:.3f}" for x in fin) + f" at exits {', '.join(str(x['layer']) for x in fin)}\n")
