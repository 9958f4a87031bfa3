// Session 12: the ternary weight fake-quant's per-element loop in three forms, on 32,768 random weights (as in a
// BitLinear forward: quant's fakeQuantWeightsInto), medians of 9 × 200 calls; checks that the forms agree bit for bit.
// Usage: node benchmarks/issue18/ternary-forms.mjs
const n = 32768;
const w = new Float32Array(n);
let seed = 1;
for (let i = 0; i < n; i++) { seed = (seed * 16807) % 2147483647; w[i] = (seed / 2147483647 - 0.5) * 0.1; }
const branchy = (w, s, out) => { const h = 0.5 * s; for (let i = 0; i < w.length; i++) { const x = w[i]; out[i] = x > h ? s : x < -h ? -s : 0; } };
const branchyDoubles = (w, s, out) => { const h = 0.5 * s; const ns = -s; const z = 0 * s; for (let i = 0; i < w.length; i++) { const x = w[i]; out[i] = x > h ? s : x < -h ? ns : z; } };
const branchless = (w, s, out) => { const h = 0.5 * s; for (let i = 0; i < w.length; i++) { const x = w[i]; out[i] = (Number(x > h) - Number(x < -h)) * s; } };
const time = (f, reps = 200) => { for (let i = 0; i < 50; i++) f(); const ts = []; for (let r = 0; r < 9; r++) { const t0 = performance.now(); for (let i = 0; i < reps; i++) f(); ts.push((performance.now() - t0) / reps); } ts.sort((a, b) => a - b); return ts[4]; };
const s = 0.025;
const outs = [];
for (const [name, f] of [['a ? s : b ? −s : 0 (before)', branchy], ['the same with −s and 0·s hoisted', branchyDoubles], ['(Number(a) − Number(b))·s (now)', branchless]]) {
  const out = new Float32Array(n);
  console.log(`${name}: ${(time(() => f(w, s, out)) * 1000).toFixed(1)} µs`);
  outs.push(out);
}
console.log(`same values bit for bit: ${outs.every((o) => o.every((v, i) => Object.is(v, outs[0][i])))}`);
