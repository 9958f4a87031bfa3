// The tfjs peer: the BitSkip training step in @tensorflow/tfjs-core on @tensorflow/tfjs-backend-wasm (4.22), written
// as a tfjs user would: variables, tf.variableGrads, tf.train.adam with AdamW's decoupled decay applied beside it,
// global-norm clipping, the straight-through estimator of V1 as tf.customGrad. It runs in-process: tfjs-backend-wasm
// has no threads in Node (one thread whatever the process does), so a child would add IPC and nothing else, and the
// suites' rounds await its step like any backend's. Weights are stored (in, out), the layout of tfjs layers.dense
// (tfjs-backend-wasm's transposed matmuls are several times slower, CONVENTIONS §8); attention scores need one.
// Same model, init distribution, exits and rates as ours (peer.ts); its random streams are its own.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFileAtomicSync } from '@bitskip/atomic-fs';
import type * as TfModule from '@tensorflow/tfjs-core';
import type { Scalar, Tensor as T, Variable as Var } from '@tensorflow/tfjs-core';
import type { PeerSpec, Peer, PeerUnavailable } from './spec.js';
import { stepRecipe } from './spec.js';

type Tf = typeof TfModule;

let opened = 0;
let loaded: Promise<Tf | { unavailable: string }> | null = null;

/**
 * tfjs-core's gradients. Its Node entry (the CJS bundle dist/tf-core.node.js) registers kernels' gradients nowhere: they
 * ship only as ES modules with extension-less imports (dist/register_all_gradients.js, what the @tensorflow/tfjs
 * bundle imports), which Node cannot load. esbuild bundles that entry once into the OS temp directory (written
 * atomically); its registrations land in tfjs's global gradient registry, shared by every copy of tfjs-core.
 */
async function registerGradients(tf: Tf): Promise<void> {
  const file = join(tmpdir(), `bitskip-tfjs-gradients-${tf.version_core}.mjs`);
  if (!existsSync(file)) {
    const require = createRequire(import.meta.url);
    const entry = join(dirname(require.resolve('@tensorflow/tfjs-core/package.json')), 'dist/register_all_gradients.js');
    const { build } = await import('esbuild');
    const out = await build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'node', write: false, logLevel: 'silent' });
    writeFileAtomicSync(file, out.outputFiles[0]!.contents);
  }
  await import(pathToFileURL(file).href);
}

/** tfjs-core with its gradients and the wasm backend selected (once per process), or why not. */
function loadTfjs(): Promise<Tf | { unavailable: string }> {
  loaded ??= (async () => {
    try {
      const tf = await import('@tensorflow/tfjs-core');
      await registerGradients(tf);
      await import('@tensorflow/tfjs-backend-wasm');
      if (!(await tf.setBackend('wasm'))) return { unavailable: 'tfjs-backend-wasm did not initialise' };
      await tf.ready();
      return tf;
    } catch (e) {
      return { unavailable: `tfjs: ${(e as Error).message.split('\n')[0]} (devDependencies @tensorflow/tfjs-core and @tensorflow/tfjs-backend-wasm of apps/bench)` };
    }
  })();
  return loaded;
}

const QUANT_EPS = 1e-5;

interface LayerVars {
  attnNorm: Var;
  q: Var;
  k: Var;
  v: Var;
  o: Var;
  mlpNorm: Var;
  gate: Var;
  up: Var;
  down: Var;
}

/** Open the tfjs peer (baseline and v1; v2/v3 unavailable: no Hadamard here). */
export async function openTfjsPeer(spec: PeerSpec): Promise<Peer | PeerUnavailable> {
  const name = 'tfjs';
  const c = spec.model;
  if (c.variant !== 'baseline' && c.variant !== 'v1') return { name, unavailable: `tfjs peer: variant ${c.variant} is not implemented (baseline and v1 are)` };
  if (c.paperNoCausalMask || c.paperUnshiftedExitTargets) return { name, unavailable: 'tfjs peer: the paper-compatibility switches are not implemented' };
  const tfOrWhy = await loadTfjs();
  if ('unavailable' in tfOrWhy) return { name, unavailable: tfOrWhy.unavailable };
  const tf: Tf = tfOrWhy;
  const recipe = stepRecipe(spec);
  const { dim: d, numHeads: H, numKvHeads: Hkv, headDim: D, ffnDim: F, vocabSize: V, numLayers: L } = c;
  const G = H / Hkv;
  const quant = c.variant === 'v1';
  let seed = spec.seed;
  // Variable names are global in tfjs: each peer instance prefixes its own; hfName maps back to the checkpoint's names.
  const prefix = `bitskip-peer-${opened++}/`;
  const hfName = new Map<Var, string>();
  const named = (v: Var, hf: string): Var => (hfName.set(v, hf), v);
  // (in, out) layout; N(0, std²) draws from tfjs's seeded generator (our distribution, its draws).
  const normal = (shape: number[], std: number, hf: string): Var => named(tf.variable(tf.randomNormal(shape, 0, std, 'float32', seed++), true, prefix + hf), hf);
  const ones = (n: number, hf: string): Var => named(tf.variable(tf.ones([n]), true, prefix + hf), hf);
  const std = c.initStd;
  const resid = c.initStd / Math.sqrt(2 * L);
  const embed = normal([V, d], std, 'model.embed_tokens.weight');
  const layers: LayerVars[] = Array.from({ length: L }, (_, l) => {
    const p = `model.layers.${l}.`;
    return {
      attnNorm: ones(d, `${p}input_layernorm.weight`),
      q: normal([d, H * D], std, `${p}self_attn.q_proj.weight`),
      k: normal([d, Hkv * D], std, `${p}self_attn.k_proj.weight`),
      v: normal([d, Hkv * D], std, `${p}self_attn.v_proj.weight`),
      o: normal([H * D, d], resid, `${p}self_attn.o_proj.weight`),
      mlpNorm: ones(d, `${p}post_attention_layernorm.weight`),
      gate: normal([d, F], std, `${p}mlp.gate_proj.weight`),
      up: normal([d, F], std, `${p}mlp.up_proj.weight`),
      down: normal([F, d], resid, `${p}mlp.down_proj.weight`),
    };
  });
  const norm = ones(d, 'model.norm.weight');
  const head = normal([d, V], std, 'lm_head.weight');
  const all: Var[] = [embed, ...layers.flatMap((l) => Object.values(l) as Var[]), norm, head];
  const matrices = new Set(all.filter((v) => v.rank >= 2));

  if (spec.weights !== undefined) {
    const { loadSafetensors } = await import('@bitskip/tensor-core/node');
    const file = await loadSafetensors(spec.weights);
    for (const v of all) {
      const t = file.tensors[hfName.get(v)!];
      if (t === undefined) throw new Error(`tfjs peer: ${spec.weights}: no tensor ${hfName.get(v)}`);
      const data = Float32Array.from(t.data as ArrayLike<number>);
      // Ours are (out, in) (PyTorch layout), the peer's (in, out); the embedding is (V, d) in both.
      tf.tidy(() => v.assign(v.rank === 2 && v !== embed ? tf.transpose(tf.tensor2d(data, [t.shape[0]!, t.shape[1]!])) : tf.tensor(data, v.shape)));
    }
  }

  // RoPE tables (T, D), angles in float64 as ours, stored float32.
  const T = spec.seq;
  const cosv = new Float32Array(T * D);
  const sinv = new Float32Array(T * D);
  for (let p = 0; p < T; p++) {
    for (let i = 0; i < D / 2; i++) {
      const ang = p * Math.pow(c.ropeTheta, (-2 * i) / D);
      cosv[p * D + i] = cosv[p * D + i + D / 2] = Math.cos(ang);
      sinv[p * D + i] = sinv[p * D + i + D / 2] = Math.sin(ang);
    }
  }
  const cos = tf.tensor2d(cosv, [T, D]);
  const sin = tf.tensor2d(sinv, [T, D]);
  // Additive causal mask for the G·T query rows of a kv head against T keys: −1e9 above the diagonal.
  const maskv = new Float32Array(G * T * T);
  for (let g = 0; g < G; g++) for (let t = 0; t < T; t++) for (let s = t + 1; s < T; s++) maskv[(g * T + t) * T + s] = -1e9;
  const mask = tf.tensor2d(maskv, [G * T, T]);

  // Straight-through fake quantizers (packages/quant/src/schemes.ts): forward q(x), gradient the identity.
  const steWeights = tf.customGrad<T>((w) => {
    const x = w as T;
    const g = tf.maximum(tf.mean(tf.abs(x)), QUANT_EPS);
    const half = tf.mul(g, 0.5);
    const value = tf.mul(tf.sub(tf.cast(tf.greater(x, half), 'float32'), tf.cast(tf.less(x, tf.neg(half)), 'float32')), g);
    return { value, gradFunc: (dy: T) => dy };
  });
  const steActivations = tf.customGrad<T>((a) => {
    const x = a as T;
    const s = tf.maximum(tf.max(tf.abs(x), -1, true), QUANT_EPS);
    const value = tf.div(tf.mul(tf.clipByValue(tf.round(tf.div(tf.mul(x, 127), s)), -127, 127), s), 127); // tf.round: half to even
    return { value, gradFunc: (dy: T) => dy };
  });

  // The embedding lookup: tf.gather forward; its backward scatter-adds the rows' gradients on the host (tfjs's own
  // gather gradient needs UnsortedSegmentSum, which tfjs-backend-wasm does not have).
  const embedLookup = tf.customGrad<T>((e, i) => {
    const ids = i as T;
    const idx = ids.dataSync(); // read now: the ids tensor is gone by the time the backward runs
    return {
      value: tf.gather(e as T, ids),
      gradFunc: (dy: T) => {
        const g = dy.dataSync();
        const out = new Float32Array(V * d);
        for (let n = 0; n < idx.length; n++) for (let j = 0, o = idx[n]! * d, r = n * d; j < d; j++) out[o + j]! += g[r + j]!;
        return [tf.tensor2d(out, [V, d]), tf.zeros([idx.length], 'int32')];
      },
    };
  });
  const rms = (x: T, g: Var): T => tf.mul(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), c.normEps))), g);
  const wq = (w: Var): T => (quant ? steWeights(w) : w);
  const aq = (x: T): T => (quant ? steActivations(x) : x);
  const rope = (x: T): T => {
    // (B, Hx, T, D): x·cos + rotate_half(x)·sin
    const [x1, x2] = tf.split(x, 2, -1) as [T, T];
    return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], -1), sin));
  };
  const block = (x: T, lv: LayerVars, B: number): T => {
    // x: (B·T, d)
    const n = aq(rms(x, lv.attnNorm)); // one quantizer for q, k, v (per token)
    const heads = (y: T, h: number): T => tf.transpose(tf.reshape(y, [B, T, h, D]), [0, 2, 1, 3]); // (B·T, h·D) -> (B, h, T, D)
    const q = rope(heads(tf.matMul(n, wq(lv.q)), H)); // (B, H, T, D)
    const k = rope(heads(tf.matMul(n, wq(lv.k)), Hkv));
    const v = heads(tf.matMul(n, wq(lv.v)), Hkv);
    // GQA: the G query heads of kv head j as G·T rows. (B, H, T, D) -> (B·Hkv, G·T, D)
    const qg = tf.reshape(q, [B * Hkv, G * T, D]);
    const kg = tf.reshape(k, [B * Hkv, T, D]);
    const vg = tf.reshape(v, [B * Hkv, T, D]);
    const s = tf.add(tf.mul(tf.matMul(qg, kg, false, true), 1 / Math.sqrt(D)), mask); // (B·Hkv, G·T, T)
    const a = tf.matMul(tf.softmax(s), vg); // (B·Hkv, G·T, D)
    // (B·Hkv, G·T, D) -> (B, H, T, D) -> (B, T, H, D) -> (B·T, H·D)
    const ao = tf.reshape(tf.transpose(tf.reshape(a, [B, H, T, D]), [0, 2, 1, 3]), [B * T, H * D]);
    const h = tf.add(x, tf.matMul(aq(ao), wq(lv.o)));
    const m = aq(rms(h, lv.mlpNorm));
    const g = tf.matMul(m, wq(lv.gate));
    const f = tf.mul(tf.mul(g, tf.sigmoid(g)), tf.matMul(m, wq(lv.up))); // SiLU(gate) ⊙ up
    return tf.add(h, tf.matMul(aq(f), wq(lv.down)));
  };
  const ce = (h: T, targets: T): T => tf.losses.softmaxCrossEntropy(tf.oneHot(targets, V), tf.matMul(rms(h, norm), head));

  /** The early-exit loss of ids (B, T) with optional kept rows per layer. h is (B·T, d) throughout. */
  const lossOf = (ids: T, targets: T, keep: (number[] | null)[] | null): { loss: T; final: T; exits: T[] } => {
    const B = ids.shape[0];
    let h: T = embedLookup(embed, tf.reshape(ids, [-1])); // (B·T, d)
    const exits: T[] = [];
    for (let l = 0; l < L; l++) {
      const rows = keep?.[l] ?? null;
      if (rows === null) h = block(h, layers[l]!, B);
      else if (rows.length > 0) {
        // Run the layer on the kept rows; dropped rows pass unchanged. Rows are slices of T positions (no gather:
        // its gradient, UnsortedSegmentSum, has no wasm kernel), put back in order with one concat.
        const row = (x: T, b: number): T => tf.slice(x, [b * T, 0], [T, d]);
        const y = block(tf.concat(rows.map((b) => row(h, b)), 0), layers[l]!, rows.length);
        h = tf.concat(Array.from({ length: B }, (_, b) => (rows.includes(b) ? row(y, rows.indexOf(b)) : row(h, b))), 0);
      }
      if (recipe.exits.includes(l + 1)) exits.push(ce(h, targets));
    }
    const final = ce(h, targets);
    let loss = final;
    exits.forEach((e, i) => (loss = tf.add(loss, tf.mul(e, recipe.exitScale * recipe.exitWeights[i]!))));
    return { loss, final, exits };
  };

  const o = spec.optimizer;
  const adam = tf.train.adam(o.lr, o.betas[0], o.betas[1], o.eps);
  // The peer's token and mask streams: a small seeded generator of its own (tfjs has no seeded integer sampler).
  let state = (spec.seed + 1) >>> 0 || 1;
  const rand = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
  const B = spec.batch;

  return {
    name,
    info: `tfjs-core ${tf.version_core} on tfjs-backend-wasm (${tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'SIMD' : 'no SIMD'}, 1 thread)`,
    step: () => {
      const t0 = performance.now();
      const ids = new Int32Array(B * T);
      const tg = new Int32Array(B * T);
      for (let b = 0; b < B; b++) {
        let prev = Math.floor(rand() * V);
        for (let t = 0; t < T; t++) {
          const nx = Math.floor(rand() * V);
          ids[b * T + t] = prev;
          tg[b * T + t] = nx;
          prev = nx;
        }
      }
      const keep = recipe.dropRates.map((p) => {
        const rows = Array.from({ length: B }, (_, b) => b).filter(() => !(rand() < p));
        return rows.length === B ? null : rows;
      });
      const loss = tf.tidy(() => {
        const x = tf.tensor2d(ids, [B, T], 'int32');
        const y = tf.tensor1d(tg, 'int32');
        const { value, grads } = tf.variableGrads(() => lossOf(x, y, keep).loss as Scalar, all);
        const lv = value.dataSync()[0]!;
        if (!Number.isFinite(lv)) return lv;
        const gn = Math.sqrt(Object.values(grads).reduce((s, g) => s + tf.sum(tf.square(g)).dataSync()[0]!, 0));
        const scale = Math.min(1, o.clip / (gn + 1e-6));
        // AdamW: p ← p − lr·wd·p on the matrices, then Adam on the clipped gradients.
        for (const v of matrices) v.assign(tf.mul(v, 1 - o.lr * o.weightDecay));
        adam.applyGradients(Object.entries(grads).map(([name, g]) => ({ name, tensor: scale === 1 ? g : tf.mul(g, scale) })));
        return lv;
      });
      return Promise.resolve({ ms: performance.now() - t0, loss });
    },
    evalLoss: (inputs, targets) => {
      const r = tf.tidy(() => {
        const { loss, final, exits } = lossOf(tf.tensor2d(inputs, [B, inputs.length / B], 'int32'), tf.tensor1d(targets, 'int32'), null);
        return { loss: loss.dataSync()[0]!, final: final.dataSync()[0]!, exits: exits.map((e) => e.dataSync()[0]!) };
      });
      return Promise.resolve(r);
    },
    close: () => {
      for (const v of all) v.dispose();
      for (const t of [cos, sin, mask]) t.dispose();
      adam.dispose();
      return Promise.resolve();
    },
  };
}
