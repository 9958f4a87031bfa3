// The checkpoint format: a directory with model.safetensors (Hugging Face Llama tensor names) and config.json (HF
// Llama keys + our "bitskip" section). A save/load round trip gives bitwise-equal logits; loading refuses every
// kind of damage with an error that names the file and what is wrong, and leaves no buffers behind.
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, WasmBackend, findBackend, getBackend, registerWasmBackend, setBackend, tensor, tidy } from '@bitskip/tensor-core';
import type { SafetensorsTensorInput } from '@bitskip/tensor-core';
import { loadSafetensors, saveSafetensors } from '@bitskip/tensor-core/node';
import { expectClose } from '@bitskip/test-utils';
import type { Tolerance } from '@bitskip/test-utils';

/** (what, ours, ref, tol): the argument order these tests were written in. */
const assertClose = (what: string, ours: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance): void => expectClose(ours, ref, what, tol);
import { BitSkipModel, CHECKPOINT_FORMAT, CHECKPOINT_VERSION, CheckpointError, hfTensorName, resolveModelConfig } from '../src/index.js';
import type { ModelConfig } from '../src/index.js';
import { CONFIG_FILE, WEIGHTS_FILE, loadModel, saveModel } from '../src/node.js';

const EXACT = { rtol: 0, atol: 0 };
let root = '';
let dirCount = 0;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bitskip-ckpt-'));
  registerWasmBackend({ warmup: false });
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
  setBackend('cpu');
  const w = findBackend('wasm');
  if (w instanceof WasmBackend) await w.destroy();
});

async function freshDir(): Promise<string> {
  const d = join(root, `c${dirCount++}`);
  await mkdir(d);
  return d;
}

const IDS = [3, 14, 15, 92, 65, 35, 8, 9, 79, 32, 38, 46];

function logits(m: BitSkipModel, exitLayer?: number): number[] {
  return tidy(() => Array.from(m.forward(tensor(IDS, [2, 6], 'int32'), exitLayer === undefined ? {} : { exitLayer }).logits!.dataSync()));
}

/** The HF Llama tensor names and shapes of a config, written out from the Llama layout (not from our code). */
function llamaTensors(c: ModelConfig): Map<string, number[]> {
  const out = new Map<string, number[]>([['model.embed_tokens.weight', [c.vocabSize, c.dim]]]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    out.set(`${p}.self_attn.q_proj.weight`, [c.numHeads * c.headDim, c.dim]);
    out.set(`${p}.self_attn.k_proj.weight`, [c.numKvHeads * c.headDim, c.dim]);
    out.set(`${p}.self_attn.v_proj.weight`, [c.numKvHeads * c.headDim, c.dim]);
    out.set(`${p}.self_attn.o_proj.weight`, [c.dim, c.numHeads * c.headDim]);
    out.set(`${p}.mlp.gate_proj.weight`, [c.ffnDim, c.dim]);
    out.set(`${p}.mlp.up_proj.weight`, [c.ffnDim, c.dim]);
    out.set(`${p}.mlp.down_proj.weight`, [c.dim, c.ffnDim]);
    out.set(`${p}.input_layernorm.weight`, [c.dim]);
    out.set(`${p}.post_attention_layernorm.weight`, [c.dim]);
  }
  out.set('model.norm.weight', [c.dim]);
  out.set('lm_head.weight', [c.vocabSize, c.dim]);
  return out;
}

describe('save and load', () => {
  for (const extra of [{ variant: 'baseline' }, { variant: 'v1' }, { variant: 'v2', lowBitScheme: 'absmean', hadamardBlock: 8 }, { variant: 'v3', paperHadamard: true, paperNoCausalMask: true }]) {
    it(`round trip gives bitwise-equal logits at every exit (${JSON.stringify(extra)})`, async () => {
      const c = resolveModelConfig({ ...extra, initStd: 0.1 }, 'tiny');
      const m = new BitSkipModel(c, new Rng(1));
      const dir = await freshDir();
      const tokenizer = { kind: 'bpe', hash: 'abc123', vocabSize: 90 };
      await saveModel(m, dir, { tokenizer, metadata: { step: '17' } });
      const live = getBackend().numLiveBuffers();
      const { model, tokenizer: tk } = await loadModel(dir);
      expect(getBackend().numLiveBuffers() - live).toBe(m.parameters().length);
      expect(tk).toEqual(tokenizer);
      expect(model.config).toEqual(c);
      for (const E of [1, 2, c.numLayers]) assertClose(`exit ${E}`, logits(model, E), logits(m, E), EXACT);
      model.parameters().forEach((p, i) => assertClose(`parameter ${i}`, p.dataSync(), m.parameters()[i]!.dataSync(), EXACT));
      const file = await loadSafetensors(join(dir, WEIGHTS_FILE));
      expect(file.metadata).toEqual({ format: 'pt', step: '17' });
      model.dispose();
      m.dispose();
    });
  }

  it('loads onto another backend (cpu checkpoint -> wasm) with the cpu logits to float32 rounding', async () => {
    const c = resolveModelConfig({ variant: 'v1', initStd: 0.1 }, 'tiny');
    const m = new BitSkipModel(c, new Rng(2));
    const dir = await freshDir();
    await saveModel(m, dir);
    const { model } = await loadModel(dir, { backend: findBackend('wasm') });
    for (const p of model.parameters()) expect(p.backend.name).toBe('wasm');
    setBackend('wasm');
    let got: number[];
    try {
      got = logits(model);
    } finally {
      setBackend('cpu');
    }
    const want = logits(m);
    assertClose('wasm logits', got, want, { rtol: 0, atol: 1e-5 * Math.max(...want.map(Math.abs)) });
    model.dispose();
    m.dispose();
  });

  it('stores exactly the Llama tensor names and shapes, as F32, with the parameter values', async () => {
    const c = resolveModelConfig({ variant: 'v1', numLayers: 3 }, 'tiny');
    const m = new BitSkipModel(c, new Rng(3));
    const dir = await freshDir();
    await saveModel(m, dir);
    const file = await loadSafetensors(join(dir, WEIGHTS_FILE));
    const want = llamaTensors(c);
    expect(Object.keys(file.tensors).sort()).toEqual([...want.keys()].sort());
    for (const [name, shape] of want) {
      expect(file.tensors[name]!.dtype, name).toBe('F32');
      expect(file.tensors[name]!.shape, name).toEqual(shape);
    }
    // The spot checks named in the Llama layout.
    for (const name of [
      'model.embed_tokens.weight',
      'model.layers.0.self_attn.q_proj.weight',
      'model.layers.0.mlp.gate_proj.weight',
      'model.layers.0.input_layernorm.weight',
      'model.layers.0.post_attention_layernorm.weight',
      'model.norm.weight',
      'lm_head.weight',
    ]) {
      expect(file.tensors[name], name).toBeDefined();
    }
    assertClose('embed_tokens', file.tensors['model.embed_tokens.weight']!.data as Float32Array, m.embed.weight.dataSync(), EXACT);
    assertClose('q_proj 2', file.tensors['model.layers.2.self_attn.q_proj.weight']!.data as Float32Array, m.layers[2]!.attn.q.weight.dataSync(), EXACT);
    assertClose('down_proj 1', file.tensors['model.layers.1.mlp.down_proj.weight']!.data as Float32Array, m.layers[1]!.mlp.down.weight.dataSync(), EXACT);
    assertClose('post_attention_layernorm 0', file.tensors['model.layers.0.post_attention_layernorm.weight']!.data as Float32Array, m.layers[0]!.mlpNorm.weight.dataSync(), EXACT);
    assertClose('lm_head', file.tensors['lm_head.weight']!.data as Float32Array, m.head.weight.dataSync(), EXACT);
    expect(() => hfTensorName('layers.0.attn.rotary.weight')).toThrow(/no Hugging Face name for parameter "layers.0.attn.rotary.weight"/);
    m.dispose();
  });

  it('config.json carries the HF Llama keys and the full resolved config under "bitskip"', async () => {
    const c = resolveModelConfig({ variant: 'v2', paperHadamard: true, ropeTheta: 5000, normEps: 1e-5 }, 'tiny');
    const m = new BitSkipModel(c, new Rng(4));
    const dir = await freshDir();
    await saveModel(m, dir, { tokenizer: { kind: 'bytes', hash: 'h', vocabSize: 64 } });
    const doc = JSON.parse(await readFile(join(dir, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    expect(doc).toMatchObject({
      architectures: ['LlamaForCausalLM'],
      model_type: 'llama',
      hidden_size: c.dim,
      intermediate_size: c.ffnDim,
      num_hidden_layers: c.numLayers,
      num_attention_heads: c.numHeads,
      num_key_value_heads: c.numKvHeads,
      head_dim: c.headDim,
      vocab_size: c.vocabSize,
      max_position_embeddings: c.maxSeqLen,
      rms_norm_eps: 1e-5,
      rope_theta: 5000,
      hidden_act: 'silu',
      tie_word_embeddings: false,
      attention_bias: false,
      mlp_bias: false,
      torch_dtype: 'float32',
    });
    const b = doc.bitskip as Record<string, unknown>;
    expect(b.format).toBe(CHECKPOINT_FORMAT);
    expect(b.version).toBe(CHECKPOINT_VERSION);
    expect(b.variant).toBe('v2');
    expect(b.config).toEqual(c);
    expect(b.paper_compat).toEqual(['paperHadamard']);
    expect(b.num_params).toBe(m.numParams());
    expect(b.tokenizer).toEqual({ kind: 'bytes', hash: 'h', vocabSize: 64 });
    expect(b.quant).toMatchObject({ weightScheme: 'ternary', activationBits: 4, hadamard: true, paperCompat: true });
    m.dispose();
  });
});

describe('loadModel errors name the file and what is wrong', () => {
  let good = '';
  let config: Record<string, unknown> = {};
  let weights: Record<string, SafetensorsTensorInput> = {};

  beforeAll(async () => {
    const m = new BitSkipModel(resolveModelConfig({ variant: 'v1' }, 'tiny'), new Rng(5));
    good = await freshDir();
    await saveModel(m, good);
    m.dispose();
    config = JSON.parse(await readFile(join(good, CONFIG_FILE), 'utf8')) as Record<string, unknown>;
    const file = await loadSafetensors(join(good, WEIGHTS_FILE), { copy: true });
    weights = file.tensors;
  });

  /** A checkpoint directory with config.json and the weights edited. */
  async function damaged(edit: { config?: (c: Record<string, unknown>) => unknown; weights?: (w: Record<string, SafetensorsTensorInput>) => void; raw?: string }): Promise<string> {
    const dir = await freshDir();
    const c = structuredClone(config);
    const text = edit.raw ?? JSON.stringify(edit.config === undefined ? c : (edit.config(c) ?? c));
    await writeFile(join(dir, CONFIG_FILE), text);
    const w = { ...weights };
    edit.weights?.(w);
    await saveSafetensors(join(dir, WEIGHTS_FILE), w);
    return dir;
  }

  async function loadError(dir: string): Promise<string> {
    const live = getBackend().numLiveBuffers();
    try {
      await loadModel(dir);
    } catch (e) {
      expect(e).toBeInstanceOf(CheckpointError);
      expect(getBackend().numLiveBuffers(), 'a failed load frees its model').toBe(live);
      return (e as Error).message;
    }
    throw new Error(`${dir} loaded`);
  }

  const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

  it('the undamaged copy loads', async () => {
    const { model } = await loadModel(await damaged({}));
    model.dispose();
  });

  it('missing config.json', async () => {
    const dir = await damaged({});
    await unlink(join(dir, CONFIG_FILE));
    expect(await loadError(dir)).toMatch(new RegExp(`^${esc(join(dir, CONFIG_FILE))}: not found \\(a checkpoint directory holds config.json and model.safetensors\\)`));
  });

  it('missing model.safetensors', async () => {
    const dir = await damaged({});
    await unlink(join(dir, WEIGHTS_FILE));
    expect(await loadError(dir)).toMatch(new RegExp(`^${esc(join(dir, WEIGHTS_FILE))}: not found`));
  });

  it('bad JSON', async () => {
    const dir = await damaged({ raw: '{"architectures": [' });
    expect(await loadError(dir)).toMatch(new RegExp(`^${esc(join(dir, CONFIG_FILE))}: not valid JSON`));
  });

  it('not a BitSkip checkpoint, wrong format, wrong version', async () => {
    const path = (d: string): string => esc(join(d, CONFIG_FILE));
    let d = await damaged({ raw: '[1, 2]' });
    expect(await loadError(d)).toMatch(new RegExp(`^${path(d)}: expected a JSON object`));
    d = await damaged({ config: (c) => ({ ...c, bitskip: undefined }) });
    expect(await loadError(d)).toMatch(new RegExp(`^${path(d)}: no "bitskip" section; not a BitSkip checkpoint`));
    d = await damaged({ config: (c) => void ((c.bitskip as Record<string, unknown>).format = 'other') });
    expect(await loadError(d)).toMatch(new RegExp(`^${path(d)}: bitskip.format is "other", expected "bitskip-checkpoint"`));
    d = await damaged({ config: (c) => void ((c.bitskip as Record<string, unknown>).version = CHECKPOINT_VERSION + 1) });
    expect(await loadError(d)).toMatch(new RegExp(`^${path(d)}: bitskip.version ${CHECKPOINT_VERSION + 1} is not supported \\(this build reads ${CHECKPOINT_VERSION}\\)`));
  });

  it('an HF key that disagrees with bitskip.config, and an invalid bitskip.config', async () => {
    for (const [key, value, ours] of [
      ['hidden_size', 64, 32],
      ['num_hidden_layers', 5, 4],
      ['num_key_value_heads', 4, 2],
      ['vocab_size', 50257, 96],
    ] as const) {
      const d = await damaged({ config: (c) => void (c[key] = value) });
      expect(await loadError(d)).toMatch(new RegExp(`^${esc(join(d, CONFIG_FILE))}: ${key} is ${value} but bitskip.config says ${ours}`));
    }
    const d = await damaged({ config: (c) => void (((c.bitskip as Record<string, unknown>).config as Record<string, unknown>).hidden = 32) });
    expect(await loadError(d)).toMatch(/config.json: bitskip.config: model config: unknown key "hidden"/);
    const t = await damaged({ config: (c) => void ((c.bitskip as Record<string, unknown>).tokenizer = { kind: 'bpe', hash: 'x', vocabSize: 4096 }) });
    expect(await loadError(t)).toMatch(/config.json: the tokenizer has 4096 tokens, more than the model's vocab_size 96/);
  });

  it('rope_theta, rms_norm_eps, max_position_embeddings and the fixed architecture keys must agree', async () => {
    const cases: [string, unknown][] = [
      ['rope_theta', 500000],
      ['rms_norm_eps', 1e-5],
      ['max_position_embeddings', 4096],
      ['model_type', 'gpt2'],
      ['tie_word_embeddings', true],
      ['hidden_act', 'gelu'],
      ['attention_bias', true],
      ['mlp_bias', true],
    ];
    for (const [k, v] of cases) {
      const d = await damaged({ config: (c) => void (c[k] = v) });
      expect(await loadError(d)).toMatch(new RegExp(`config\\.json: ${k} is`));
    }
  });

  it('a missing tensor, an extra tensor', async () => {
    let d = await damaged({ weights: (w) => delete w['model.layers.2.mlp.gate_proj.weight'] });
    expect(await loadError(d)).toMatch(new RegExp(`^${esc(join(d, WEIGHTS_FILE))}: missing tensor "model.layers.2.mlp.gate_proj.weight"`));
    d = await damaged({ weights: (w) => (w['model.layers.4.mlp.up_proj.weight'] = weights['model.layers.3.mlp.up_proj.weight']!) });
    expect(await loadError(d)).toMatch(new RegExp(`^${esc(join(d, WEIGHTS_FILE))}: unexpected tensor "model.layers.4.mlp.up_proj.weight" \\(not a parameter of this 4-layer model\\)`));
  });

  it('a wrong shape, a wrong dtype', async () => {
    let d = await damaged({ weights: (w) => (w['lm_head.weight'] = { dtype: 'F32', shape: [32, 96], data: weights['lm_head.weight']!.data as Float32Array }) });
    expect(await loadError(d)).toMatch(/model.safetensors: tensor "lm_head.weight" has shape \[32,96\], the model needs \[96,32\]/);
    d = await damaged({ weights: (w) => (w['model.norm.weight'] = { dtype: 'I32', shape: [32], data: new Int32Array(32).fill(1) }) });
    expect(await loadError(d)).toMatch(/model.safetensors: tensor "model.norm.weight" has dtype I32; allowed: F32, F64, F16, BF16/);
  });

  it('a non-finite value', async () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const d = await damaged({
        weights: (w) => {
          const data = Float32Array.from(weights['model.layers.1.self_attn.k_proj.weight']!.data as Float32Array);
          data[17] = bad;
          w['model.layers.1.self_attn.k_proj.weight'] = { dtype: 'F32', shape: [16, 32], data };
        },
      });
      expect(await loadError(d)).toMatch(new RegExp(`model.safetensors: tensor "model.layers.1.self_attn.k_proj.weight" holds a non-finite value \\(${String(bad).replace('+', '')}\\)`));
    }
  });

  it('accepts F64 weights (stored as float32, the same values)', async () => {
    const d = await damaged({
      weights: (w) => {
        for (const [k, t] of Object.entries(w)) w[k] = { dtype: 'F64', shape: t.shape, data: Float64Array.from(t.data as Float32Array) };
      },
    });
    const { model } = await loadModel(d);
    const ref = await loadModel(good);
    assertClose('F64 checkpoint', logits(model), logits(ref.model), EXACT);
    model.dispose();
    ref.model.dispose();
  });
});
