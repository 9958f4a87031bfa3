# The ceiling section's extrapolation (an estimate, not a measurement): L(N) = E + A·N^−α through the 4-layer default
# recipe's three runs (bits/byte on the whole validation split against millions of training tokens), for a range of α
# (E and A by least squares for each α; its rms miss of the points), and the tokens at which each fit reaches 1.0.
# Usage: python3 extrapolate.py
points = [(3.15392, 1.204), (3.52256, 1.1876), (14.09024, 1.0915)]  # results-2026-12-07/layers4, default run, ceiling layers4
default_tokens = 3.52256


def fit(alpha):
    xs = [n ** -alpha for n, _ in points]
    ys = [l for _, l in points]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    a = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    e = my - a * mx
    resid = sum((e + a * x - y) ** 2 for x, y in zip(xs, ys))
    return e, a, resid


best = min((fit(i / 200)[2], i / 200) for i in range(1, 400))[1]
print('| α | floor E | A | rms miss (bits/byte) | tokens for 1.0 (M) | × the default run |')
print('|---:|---:|---:|---:|---:|---:|')
for alpha in (0.3, 0.4, 0.5, 0.7, 1.0, best):
    e, a, r = fit(alpha)
    label = f'{alpha:.3g}{" (through all three)" if alpha == best else ""}'
    rms = (r / len(points)) ** 0.5
    if e < 1.0:
        n = (a / (1.0 - e)) ** (1 / alpha)
        print(f'| {label} | {e:.3f} | {a:.3f} | {rms:.4f} | {n:,.0f} | {n / default_tokens:,.0f} |')
    else:
        print(f'| {label} | {e:.3f} | {a:.3f} | {rms:.4f} | never (floor above 1.0) | – |')
