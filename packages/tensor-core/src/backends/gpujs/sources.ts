// Kernel sources for the gpu.js backend, generated per shape as JavaScript text that gpu.js transpiles (GLSL,
// WGSL, WASM or plain JS). Every tensor is a flat 1D array/texture (gpu.js lays 1D outputs out as 2D textures
// under MAX_TEXTURE_SIZE by itself); sizes, strides and offsets are baked in as literals, so one compiled kernel
// serves one shape. Index arithmetic is float-safe: q = floor((i + 0.5) / d) is exact for i < ~5e6 even where
// the device divides inexactly, and r = i - q * d is exact below 2^24.
import type { BinaryOp, UnaryOp } from '../../backend.js';

/** A number as a source literal (finite values only; ints print without a dot, which gpu.js accepts). */
export function lit(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`gpujs: non-finite literal ${x}`);
  return Number.isInteger(x) ? String(x) : x.toExponential(17).replace('e+', 'e');
}

/**
 * Code that splits the flat index `v` over `shape` (row-major) and accumulates, for each stride list, the
 * element offset sum(coord_d * strides[k][d]) into the variables `outs[k]` (declared by this code).
 */
export function decompose(
  v: string,
  shape: readonly number[],
  strides: readonly (readonly number[])[],
  outs: readonly string[],
  bases: readonly string[] = [],
  tag = '',
): string {
  const lines: string[] = [];
  outs.forEach((o, k) => lines.push(`let ${o} = ${bases[k] ?? '0'};`));
  // Dims that matter: size > 1 and some nonzero stride.
  let firstUseful = -1;
  for (let d = 0; d < shape.length; d++) {
    if (shape[d]! > 1 && strides.some((s) => s[d] !== 0)) {
      firstUseful = d;
      break;
    }
  }
  if (firstUseful < 0) return lines.join('\n');
  lines.push(`let rem${tag} = ${v};`);
  for (let d = shape.length - 1; d >= firstUseful; d--) {
    const size = shape[d]!;
    if (size === 1) continue;
    const used = strides.some((s) => s[d] !== 0);
    if (d === firstUseful && shape.slice(0, d).every((x) => x === 1)) {
      if (used) strides.forEach((s, k) => s[d] !== 0 && lines.push(`${outs[k]} += rem${tag} * ${lit(s[d]!)};`));
      break;
    }
    const q = `q${tag}_${d}`;
    lines.push(`const ${q} = Math.floor((rem${tag} + 0.5) / ${size});`);
    if (used) {
      lines.push(`const c${tag}_${d} = rem${tag} - ${q} * ${size};`);
      strides.forEach((s, k) => s[d] !== 0 && lines.push(`${outs[k]} += c${tag}_${d} * ${lit(s[d]!)};`));
    }
    if (d > firstUseful) lines.push(`rem${tag} = ${q};`);
  }
  return lines.join('\n');
}

/** Unary op body over `v`, as statements ending in returns. */
export function unaryBody(op: UnaryOp | 'copy' | 'trunc'): string {
  switch (op) {
    case 'copy':
      return 'return v;';
    case 'trunc':
      return 'if (v >= 0) { return Math.floor(v); } return -Math.floor(-v);';
    case 'neg':
      return 'return -v;';
    case 'exp':
      return 'return Math.exp(v);';
    case 'log':
      return 'return Math.log(v);';
    case 'sqrt':
      return 'return Math.sqrt(v);';
    case 'rsqrt':
      return 'return 1 / Math.sqrt(v);';
    case 'abs':
      return 'return Math.abs(v);';
    case 'sign':
      return 'if (v > 0) { return 1; } if (v < 0) { return -1; } return 0;';
    case 'relu':
      return 'if (v > 0) { return v; } return 0;';
    case 'step':
      return 'if (v > 0) { return 1; } return 0;';
    case 'sigmoid':
      return 'if (v >= 0) { return 1 / (1 + Math.exp(-v)); } const e = Math.exp(v); return e / (1 + e);';
    case 'tanh':
      // Series near 0 (no cancellation), (1 - e^-2a) / (1 + e^-2a) elsewhere; odd symmetry.
      return [
        'const a = Math.abs(v);',
        'let t = 0;',
        'if (a < 0.25) {',
        '  const a2 = a * a;',
        '  t = a * (1 + a2 * (-0.3333333333333333 + a2 * (0.13333333333333333 + a2 * (-0.05396825396825397 + a2 * (0.021869488536155203 + a2 * -0.008863235529902197)))));',
        '} else {',
        '  const e = Math.exp(-2 * a);',
        '  t = (1 - e) / (1 + e);',
        '}',
        'if (v < 0) { return -t; }',
        'return t;',
      ].join('\n');
    case 'square':
      return 'return v * v;';
    case 'reciprocal':
      return 'return 1 / v;';
  }
}

/** Binary op over `av`, `bv` as statements ending in returns. */
export function binaryBody(op: BinaryOp): string {
  switch (op) {
    case 'add':
      return 'return av + bv;';
    case 'sub':
      return 'return av - bv;';
    case 'mul':
      return 'return av * bv;';
    case 'div':
      return 'return av / bv;';
    case 'pow':
      // GLSL pow is undefined for a < 0; integer exponents of negative bases are handled here.
      return [
        'if (bv == 0) { return 1; }',
        'if (av > 0) { return Math.pow(av, bv); }',
        'if (av == 0) { if (bv > 0) { return 0; } return 1 / av; }',
        'const r = Math.pow(-av, bv);',
        'const h = bv * 0.5;',
        'if (Math.floor(bv) != bv) { return (av - av) / (av - av); }',
        'if (Math.floor(h) != h) { return -r; }',
        'return r;',
      ].join('\n');
    case 'maximum':
      return 'if (av >= bv) { return av; } return bv;';
    case 'minimum':
      return 'if (av <= bv) { return av; } return bv;';
    case 'eq':
      return 'if (av == bv) { return 1; } return 0;';
    case 'ne':
      return 'if (av != bv) { return 1; } return 0;';
    case 'lt':
      return 'if (av < bv) { return 1; } return 0;';
    case 'le':
      return 'if (av <= bv) { return 1; } return 0;';
    case 'gt':
      return 'if (av > bv) { return 1; } return 0;';
    case 'ge':
      return 'if (av >= bv) { return 1; } return 0;';
  }
}

/**
 * Kahan-compensated accumulation of `term` into `sum` (compensation `comp`). `one` names a runtime 1 (read from
 * the kernel argument `one` before the loop, `const o1 = one[0];`, which the shader compiler cannot see
 * through): written t = s + y, Mesa's inexact algebraic rules fold (t - s) - y to 0 and silently turn Kahan back
 * into a plain sum (caught by the long-reduction test on headlessgl); t = s * one + y keeps the pattern out of
 * their reach. Read once, not per iteration: `one[0]` in the loop is a texture fetch per term on GL (it halved
 * the throughput of every compensated loop).
 */
export function kahanAdd(term: string, sum = 's', comp = 'comp', tag = '', one = 'o1'): string {
  return `const ky${tag} = (${term}) - ${comp}; const kt${tag} = ${sum} * ${one} + ky${tag}; ${comp} = (kt${tag} - ${sum}) - ky${tag}; ${sum} = kt${tag};`;
}

/** A kernel function's source from parameter names and a body. */
export function kernelSource(params: readonly string[], body: string): string {
  return `function(${params.join(', ')}) {\nconst i = this.thread.x;\n${body}\n}`;
}

/** The matmul inner-product kernels: `blocked` (default) and `kahan` (the first version, kept for comparisons). */
export type MatmulKernel = 'kahan' | 'blocked';

/**
 * Statements that set `s` to sum_p a[ia + p * aP] * b[ib + p * bP] over p < k (ia, ib declared before, `one` a
 * runtime [1] argument).
 * - `kahan`: one Kahan step per product, `one[0]` read in the loop (the first version: ~0.7 GFLOP/s at 256³).
 * - `blocked`: each group of 4 products is summed pairwise in plain fp32 and added with one Kahan step (4× fewer
 *   compensation steps; a group sum's rounding error is ~1 ulp of it, so the result stays compensated at group
 *   granularity), `one[0]` is read once, the offsets advance by addition (no per-iteration multiply) and the loop
 *   bound is a literal; the k % 4 leftover products form one last group. ~2× `kahan` on webasm and headlessgl.
 *   Groups of 8 and 4 plain partial sums without Kahan were measured too: no faster (the loop is bound by the
 *   reads, not by the compensation's dependency chain, once `one[0]` leaves it).
 */
export function matmulLoop(kind: MatmulKernel, k: number, aP: number, bP: number): string {
  if (kind === 'kahan') {
    return `let s = 0;\nlet comp = 0;\nfor (let p = 0; p < ${k}; p++) { ${kahanAdd(`a[ia + p * ${aP}] * b[ib + p * ${bP}]`, 's', 'comp', '', 'one[0]')} }`;
  }
  const groups = Math.floor(k / 4);
  const rest = k - groups * 4;
  const term = (j: number): string => `a[pa${j === 0 ? '' : ` + ${j * aP}`}] * b[pb${j === 0 ? '' : ` + ${j * bP}`}]`;
  const lines = ['const o1 = one[0];', 'let s = 0;', 'let comp = 0;', 'let pa = ia;', 'let pb = ib;'];
  if (groups > 0) {
    const ts = [0, 1, 2, 3].map((j) => `const t${j} = ${term(j)};`).join(' ');
    lines.push(`for (let q = 0; q < ${groups}; q++) { ${ts} ${kahanAdd('(t0 + t1) + (t2 + t3)')} pa += ${4 * aP}; pb += ${4 * bP}; }`);
  }
  if (rest > 0) {
    lines.push(kahanAdd(Array.from({ length: rest }, (_, j) => term(j)).join(' + '), 's', 'comp', 'r'));
  }
  return lines.join('\n');
}
