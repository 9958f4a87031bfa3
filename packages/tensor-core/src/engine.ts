// The engine: recording ops on the tape, reverse-mode backward, grad/valueAndGrad, customGrad, noGrad,
// and scoped memory (tidy/keep). Gradients are ops too, written above this file; the engine's own few tensor
// computations (a seed of ones, zeros for an unused input, the sum of two gradients) call kernels directly, as
// tfjs-core's engine does, so that no op module is imported here (the ops import the engine).
import { getKernel } from './backend.js';
import type { Backend, DataId, DType } from './backend.js';
import { fmtShape, shapesEqual, sizeOf } from './shape.js';
import { DataRef, Tensor, aliasOf, newRef, releaseNode, scopeStack, setBackwardHook } from './tensor.js';
import type { Node, Parent } from './tensor.js';

let noGradDepth = 0;

/** Whether ops currently record onto the tape. */
export function isGradEnabled(): boolean {
  return noGradDepth === 0;
}

/** Run fn without recording gradients. */
export function noGrad<T>(fn: () => T): T {
  noGradDepth++;
  try {
    return fn();
  } finally {
    noGradDepth--;
  }
}

/** Check inputs of an op: live, one backend. Returns that backend. */
export function checkInputs(op: string, inputs: readonly Tensor[]): Backend {
  const first = inputs[0];
  if (first === undefined) throw new Error(`${op}: no inputs`);
  inputs.forEach((t, i) => {
    if (!(t instanceof Tensor)) throw new Error(`${op}: input ${i} is not a Tensor`);
    if (t.isDisposed) throw new Error(`${op}: input ${i} (${fmtShape(t.shape)} ${t.dtype}) was disposed`);
  });
  const b = first.backend;
  for (const t of inputs) {
    if (t.backend !== b) throw new Error(`${op}: inputs live on different backends ('${b.name}' and '${t.backend.name}')`);
  }
  return b;
}

/** Require float32 inputs, naming the op, the input and its shape. */
export function checkFloat(op: string, inputs: readonly Tensor[]): void {
  inputs.forEach((t, i) => {
    if (t.dtype !== 'float32') {
      throw new Error(`${op}: input ${i} ${fmtShape(t.shape)} has dtype ${t.dtype}, expected float32`);
    }
  });
}

export interface GradSpec {
  /** Tensors the backward needs (aliased, so they outlive the caller's disposal). */
  save?: readonly Tensor[];
  /** Also save the output (appended after `save`). */
  saveOutput?: boolean;
  /** Gradients for each input; `saved` is save (+ output). Written with ops, so it works on every backend. */
  backward: (dy: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) => (Tensor | null)[];
}

/** Wrap a kernel result as a tensor and, when any input carries gradient, record a tape node. */
export function record(
  op: string,
  inputs: readonly Tensor[],
  out: DataId | DataRef,
  shape: readonly number[],
  dtype: DType,
  grad?: GradSpec,
): Tensor {
  const backend = inputs[0]!.backend;
  const ref = out instanceof DataRef ? out : newRef(backend, out);
  const wants = grad !== undefined && isGradEnabled() && inputs.some((t) => t.tracksGrad);
  if (!wants) return new Tensor(ref, shape, dtype);
  const parents: Parent[] = inputs.map((t) => (t.node !== null ? { node: t.node } : t.requiresGrad ? { leaf: t } : null));
  for (const p of parents) if (p !== null && 'node' in p) p.node.refs++;
  const node: Node = {
    op,
    parents,
    inputShapes: inputs.map((t) => t.shape),
    saved: (grad.save ?? []).map((t) => aliasOf(t, false)),
    backward: grad.backward,
    refs: 0,
    released: false,
  };
  const y = new Tensor(ref, shape, dtype, node);
  if (grad.saveOutput === true) node.saved.push(aliasOf(y, false));
  return y;
}

// ---------------------------------------------------------------- scopes

/** Run fn; dispose every tensor it created except those reachable from its result and those kept. */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopeStack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopeStack.pop();
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  }
  scopeStack.pop();
  if (result instanceof Promise) throw new Error('tidy: fn must be synchronous (it returned a Promise)');
  const out = new Set<Tensor>();
  collectTensors(result, out, 0);
  const parent = scopeStack[scopeStack.length - 1];
  for (const t of scope) {
    if (out.has(t)) parent?.push(t);
    else if (!t.kept) t.dispose();
  }
  return result;
}

function collectTensors(x: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 4 || x === null || typeof x !== 'object') return;
  if (x instanceof Tensor) {
    out.add(x);
  } else if (Array.isArray(x)) {
    for (const v of x) collectTensors(v, out, depth + 1);
  } else if (Object.getPrototypeOf(x) === Object.prototype || x instanceof Map) {
    const vals = x instanceof Map ? [...x.values()] : Object.values(x);
    for (const v of vals) collectTensors(v, out, depth + 1);
  }
}

/** Exclude t from every tidy() cleanup; the caller disposes it. Returns t. */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

/** A handle on the same buffer, cut from the graph (stop-gradient). */
export function detach(t: Tensor): Tensor {
  return aliasOf(t, true);
}

// ---------------------------------------------------------------- backward

function topoOrder(root: Node): Node[] {
  const order: Node[] = [];
  const seen = new Set<Node>();
  const stack: [Node, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [n, i] = top;
    if (i < n.parents.length) {
      top[1]++;
      const p = n.parents[i];
      if (p !== null && p !== undefined && 'node' in p && !seen.has(p.node)) {
        seen.add(p.node);
        stack.push([p.node, 0]);
      }
    } else {
      stack.pop();
      order.push(n);
    }
  }
  return order; // parents before children
}

/** Roots whose graph a backward() released (their node is gone), so a second backward() can say so. */
const releasedRoots = new WeakSet<Tensor>();

/**
 * Reverse-mode sweep from `root` with seed gradient `seed` (default 1 for a one-element root).
 * Returns leaf gradients (owned, untracked); `only` restricts which leaves get one.
 * Every node on the way is released (its saved tensors disposed) right after its backward.
 */
export function backwardImpl(root: Tensor, seed: Tensor | undefined, only?: ReadonlySet<Tensor>): Map<Tensor, Tensor> {
  root.assertLive('backward');
  if (!root.tracksGrad) {
    if (releasedRoots.has(root)) {
      throw new Error(`backward: the graph of this tensor ${fmtShape(root.shape)} was already released by an earlier backward() (run the forward pass again for new gradients)`);
    }
    throw new Error(`backward: tensor ${fmtShape(root.shape)} does not require grad (no requiresGrad input on its path)`);
  }
  if (seed === undefined && root.size !== 1) {
    throw new Error(`backward: root has shape ${fmtShape(root.shape)}; pass a seed gradient for non-scalar outputs`);
  }
  if (seed !== undefined && !shapesEqual(seed.shape, root.shape)) {
    throw new Error(`backward: seed shape ${fmtShape(seed.shape)} does not match root shape ${fmtShape(root.shape)}`);
  }
  const leafGrads = new Map<Tensor, Tensor>();
  const accumulateLeaf = (leaf: Tensor, g: Tensor): void => {
    if (only !== undefined && !only.has(leaf)) return;
    const prev = leafGrads.get(leaf);
    leafGrads.set(leaf, prev === undefined ? g : keepAdd(prev, g));
  };
  noGrad(() =>
    tidy(() => {
      const s = seed !== undefined ? aliasOf(seed, true) : onesLike(root);
      if (root.node === null) {
        accumulateLeaf(root, keep(aliasOf(s, true)));
        return;
      }
      const order = topoOrder(root.node);
      for (const n of order) {
        if (n.released) throw new Error(`backward: the graph through '${n.op}' was already released by an earlier backward()`);
      }
      const grads = new Map<Node, Tensor>([[root.node, s]]);
      for (let i = order.length - 1; i >= 0; i--) {
        const n = order[i]!;
        const g = grads.get(n);
        grads.delete(n);
        if (g === undefined) {
          releaseNode(n, false);
          continue;
        }
        const needs = n.parents.map((p) => p !== null && ('node' in p || only === undefined || only.has(p.leaf)));
        const seen = new Set<Tensor>();
        // Own every returned gradient separately: a backward may return dy itself, a saved tensor, or one
        // tensor for two inputs.
        const gs = tidy(() => n.backward(g, n.saved, needs)).map((gi) => {
          if (gi === null || gi === undefined) return null;
          if (gi === g || n.saved.includes(gi) || seen.has(gi)) return aliasOf(gi, true);
          seen.add(gi);
          return gi;
        });
        releaseNode(n, false);
        g.dispose();
        n.parents.forEach((p, j) => {
          const gi = gs[j];
          if (gi === null || gi === undefined) return;
          if (p === null || !needs[j]) {
            gi.dispose();
            return;
          }
          const want = n.inputShapes[j]!;
          if (!shapesEqual(gi.shape, want)) {
            throw new Error(`backward of '${n.op}': gradient for input ${j} has shape ${fmtShape(gi.shape)}, expected ${fmtShape(want)}`);
          }
          if ('node' in p) {
            const prev = grads.get(p.node);
            grads.set(p.node, prev === undefined ? gi : addDispose(prev, gi));
          } else {
            accumulateLeaf(p.leaf, keep(aliasOf(gi, true)));
            gi.dispose();
          }
        });
      }
      for (const g of grads.values()) g.dispose();
    }),
  );
  if (root.node !== null) {
    const n = root.node;
    root.node = null;
    n.refs--;
    releasedRoots.add(root);
  }
  return leafGrads;
}

// ---- the engine's internal computations: kernels called directly (untracked results, in the current scope) ----

/** A tensor of `like`'s shape, dtype and backend filled with `value` (0 or 1: exact in every dtype). */
function filledLike(like: Tensor, value: number): Tensor {
  const b = like.backend;
  const n = sizeOf(like.shape);
  const values = like.dtype === 'int32' ? new Int32Array(n) : new Float32Array(n);
  values.fill(value);
  return new Tensor(newRef(b, b.write(values, like.dtype, like.shape)), like.shape, like.dtype);
}
const onesLike = (t: Tensor): Tensor => filledLike(t, 1);
const zerosLike = (t: Tensor): Tensor => filledLike(t, 0);

/** a + b for two gradients of one shape (float32, one backend). */
function add(a: Tensor, b: Tensor): Tensor {
  a.assertLive('backward');
  b.assertLive('backward');
  const be = a.backend;
  return new Tensor(newRef(be, getKernel(be, 'binary')(a, b, 'add', a.shape)), a.shape, 'float32');
}

function addDispose(a: Tensor, b: Tensor): Tensor {
  const s = add(a, b);
  a.dispose();
  b.dispose();
  return s;
}
function keepAdd(a: Tensor, b: Tensor): Tensor {
  const s = keep(add(a, b));
  a.dispose();
  b.dispose();
  return s;
}

/** Accumulate d(root)/d(leaf) into leaf.grad for every requiresGrad leaf on root's path. */
export function backward(root: Tensor, seed?: Tensor): void {
  const gs = backwardImpl(root, seed);
  for (const [leaf, g] of gs) {
    if (leaf.grad === null || leaf.grad.isDisposed) {
      leaf.grad = g;
    } else {
      const old = leaf.grad;
      leaf.grad = keep(noGrad(() => add(old, g)));
      old.dispose();
      g.dispose();
    }
  }
}

/** f's value and its gradients with respect to `inputs` (zeros where f does not depend on one). */
export function valueAndGrad(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[]): { value: Tensor; grads: Tensor[] } {
  const xs = inputs.map((x) => {
    const a = aliasOf(x, false);
    a.requiresGrad = true;
    return a;
  });
  try {
    const value = f(...xs);
    const gs = backwardImpl(value, undefined, new Set(xs));
    const grads = xs.map((x) => {
      const g = gs.get(x);
      const out = g ?? noGrad(() => zerosLike(x));
      out.kept = false;
      scopeStack[scopeStack.length - 1]?.push(out);
      return out;
    });
    return { value, grads };
  } finally {
    for (const x of xs) x.dispose();
  }
}

/** Gradients of the one-element f with respect to `inputs`. Does not touch any .grad. */
export function grad(f: (...xs: Tensor[]) => Tensor, inputs: readonly Tensor[]): Tensor[] {
  const { value, grads } = valueAndGrad(f, inputs);
  value.dispose();
  return grads;
}

/**
 * An op with a user-defined gradient: forward runs without recording; backward(dy, xs, y) returns one
 * gradient per input (null for none). Used by the BitNet straight-through estimator (forward quantizes,
 * backward is the identity).
 */
export function customGrad(
  forward: (...xs: Tensor[]) => Tensor,
  backwardFn: (dy: Tensor, xs: readonly Tensor[], y: Tensor) => (Tensor | null)[],
): (...xs: Tensor[]) => Tensor {
  return (...xs: Tensor[]): Tensor => {
    checkInputs('customGrad', xs);
    const y0 = noGrad(() => tidy(() => forward(...xs)));
    if (!(y0 instanceof Tensor)) throw new Error('customGrad: forward must return a Tensor');
    y0.ref.refs++;
    const y = record('customGrad', xs, y0.ref, y0.shape, y0.dtype, {
      save: xs,
      saveOutput: true,
      backward: (dy, saved) => backwardFn(dy, saved.slice(0, xs.length), saved[xs.length]!),
    });
    y0.dispose();
    return y;
  };
}

setBackwardHook(backward);
