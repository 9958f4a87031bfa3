// The Tensor handle: shape, dtype, a ref-counted buffer on one backend, and its place in the autograd graph.
// Tensors are dense and row-major; reshape shares the buffer (a view), other layout changes copy.
// This module imports no op and not the engine: the engine plugs its backward sweep in (setBackwardHook), as
// tfjs-core's tensor reaches its engine through a global, so the tensor sits below everything that makes tensors.
import type { Backend, DataArray, DataId, DType, TensorInfo } from './backend.js';
import { fmtShape, sizeOf } from './shape.js';

let backwardHook: ((root: Tensor, seed?: Tensor) => void) | null = null;

/** @internal The engine installs its backward sweep here when it loads (engine.ts). */
export function setBackwardHook(f: (root: Tensor, seed?: Tensor) => void): void {
  backwardHook = f;
}

/** A backend buffer shared by the tensors that view it (reshape aliases). */
export class DataRef {
  refs = 1;
  constructor(
    readonly id: DataId,
    readonly backend: Backend,
  ) {}
}

/** Where a gradient flowing out of a node goes: another node, or a leaf tensor's .grad. */
export type Parent = { readonly node: Node } | { readonly leaf: Tensor } | null;

/** One recorded op on the tape. Saved tensors are owned aliases, released after backward or when unreachable. */
export interface Node {
  readonly op: string;
  readonly parents: readonly Parent[];
  readonly inputShapes: readonly (readonly number[])[];
  /** Saved tensors (owned), then given to `backward`. */
  saved: Tensor[];
  /** Gradients with respect to each input (null = none or not needed). `needs[i]` says whether input i wants one. */
  readonly backward: (dy: Tensor, saved: readonly Tensor[], needs: readonly boolean[]) => (Tensor | null)[];
  /** Live tensors and child nodes that point here. */
  refs: number;
  released: boolean;
}

/** Scope stack for tidy(); new tensors join the innermost scope. */
export const scopeStack: Tensor[][] = [];

let nextTensorId = 0;

export class Tensor implements TensorInfo {
  readonly uid = nextTensorId++;
  /** Set on leaves whose gradient backward() should accumulate into .grad. */
  requiresGrad = false;
  /** Accumulated gradient of a leaf (owned by the tensor; zeroGrad or dispose frees it). */
  grad: Tensor | null = null;
  /** Excluded from tidy() cleanup (see keep()). */
  kept = false;
  private disposed = false;

  /** @internal Use ops to make tensors. */
  constructor(
    public ref: DataRef,
    readonly shape: readonly number[],
    readonly dtype: DType,
    public node: Node | null = null,
    track = true,
  ) {
    if (node !== null) node.refs++;
    if (track) scopeStack[scopeStack.length - 1]?.push(this);
  }

  get id(): DataId {
    return this.ref.id;
  }
  get backend(): Backend {
    return this.ref.backend;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get rank(): number {
    return this.shape.length;
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** True when gradients flow through this tensor (a requiresGrad leaf or the output of a recorded op). */
  get tracksGrad(): boolean {
    return this.requiresGrad || this.node !== null;
  }

  toString(): string {
    return `Tensor(${fmtShape(this.shape)}, ${this.dtype}${this.disposed ? ', disposed' : ''})`;
  }

  /** Throw a clear Error when this tensor was disposed. */
  assertLive(op: string): void {
    if (this.disposed) throw new Error(`${op}: tensor ${fmtShape(this.shape)} ${this.dtype} was disposed`);
  }

  /** Values, copied out (settles pending device work). */
  data(): Promise<DataArray> {
    this.assertLive('data');
    return this.backend.read(this.id);
  }

  /** Values, synchronously; throws on backends without readSync. */
  dataSync(): DataArray {
    this.assertLive('dataSync');
    const b = this.backend;
    if (b.readSync === undefined) throw new Error(`dataSync: backend '${b.name}' has no synchronous read; use data()`);
    return b.readSync(this.id);
  }

  /** Values as a plain number array. */
  async array(): Promise<number[]> {
    return Array.from(await this.data());
  }

  /** The single value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.size !== 1) throw new Error(`item: expected one element, got shape ${fmtShape(this.shape)}`);
    return (await this.data())[0]!;
  }

  itemSync(): number {
    if (this.size !== 1) throw new Error(`itemSync: expected one element, got shape ${fmtShape(this.shape)}`);
    return this.dataSync()[0]!;
  }

  /** Reverse-mode sweep from this tensor (one element, or pass a seed), accumulating into leaves' .grad. */
  backward(seed?: Tensor): void {
    if (backwardHook === null) throw new Error('backward: the engine is not loaded (import backward from @bitskip/tensor-core)');
    backwardHook(this, seed);
  }

  /** Free this handle (and its .grad); the buffer goes when its last view does. Idempotent. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    releaseRef(this.ref);
    if (this.node !== null) {
      const n = this.node;
      this.node = null;
      unrefNode(n);
    }
    if (this.grad !== null) {
      this.grad.dispose();
      this.grad = null;
    }
  }

  /** @internal Swap in a new buffer (optimizers update parameters in place this way). */
  assignRef(ref: DataRef): void {
    this.assertLive('assign');
    releaseRef(this.ref);
    this.ref = ref;
  }
}

export function newRef(backend: Backend, id: DataId): DataRef {
  return new DataRef(id, backend);
}

export function releaseRef(ref: DataRef): void {
  if (--ref.refs === 0) ref.backend.dispose(ref.id);
}

/** A new untracked handle on the same buffer, no graph (what nodes save, and what detach returns). */
export function aliasOf(t: Tensor, track: boolean, shape: readonly number[] = t.shape): Tensor {
  t.assertLive('alias');
  t.ref.refs++;
  return new Tensor(t.ref, shape, t.dtype, null, track);
}

export function unrefNode(n: Node): void {
  if (--n.refs === 0 && !n.released) releaseNode(n, true);
}

/** Drop a node's saved tensors; with `cascade`, also unreference its parent nodes. */
export function releaseNode(n: Node, cascade: boolean): void {
  if (n.released) return;
  n.released = true;
  for (const s of n.saved) s.dispose();
  n.saved = [];
  if (cascade) {
    for (const p of n.parents) if (p !== null && 'node' in p) unrefNode(p.node);
  }
}
