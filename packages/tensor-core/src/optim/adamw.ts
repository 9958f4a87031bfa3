// AdamW (Loshchilov & Hutter, 2019) with PyTorch semantics: p -= lr*wd*p, then the bias-corrected Adam step.
// Moments are tensors on the parameter's backend; one fused `adamw` kernel call per parameter, or one `adamwMany` call
// for all of them where the backend has it (a multi-tensor step, as PyTorch's foreach/fused AdamW; the same bits).
import { getKernel, hasKernel } from '../backend.js';
import { keep, noGrad } from '../engine.js';
import { tensor, zerosLike } from '../ops/create.js';
import { fmtShape, shapesEqual } from '../shape.js';
import { newRef } from '../tensor.js';
import type { Tensor } from '../tensor.js';

export interface AdamWOptions {
  lr?: number;
  betas?: readonly [number, number];
  eps?: number;
  weightDecay?: number;
}

export interface ParamGroup {
  params: readonly Tensor[];
  /** Overrides the optimizer's weightDecay for this group (e.g. 0 for norms and biases). */
  weightDecay?: number;
}

export interface AdamWStepOptions {
  /** Multiply every gradient by this before the update (default 1): a gradient-norm clip's coefficient. */
  gradScale?: number;
}

interface State {
  m: Tensor;
  v: Tensor;
}

export class AdamW {
  /** Learning rate of the next step (schedules set it). */
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  /** Steps taken. */
  t = 0;
  readonly groups: ParamGroup[];
  private readonly state = new Map<Tensor, State>();

  constructor(params: readonly Tensor[] | readonly ParamGroup[], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    [this.beta1, this.beta2] = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.01;
    const first = params[0];
    this.groups = first === undefined || 'params' in first ? [...(params as readonly ParamGroup[])] : [{ params: params as readonly Tensor[] }];
  }

  /**
   * Update every parameter that has a gradient. `gradScale` multiplies every gradient first (an f32 product per
   * element, inside the kernel): the coefficient of `clipCoefficient`, which then stands for clipGradNormTensor's
   * rescaling of the gradients with the same bits and no pass of its own. The gradients themselves stay as they are.
   */
  step(opts: AdamWStepOptions = {}): void {
    const gradScale = opts.gradScale ?? 1;
    if (!Number.isFinite(gradScale)) throw new RangeError(`AdamW.step: gradScale must be a finite number, got ${gradScale}`);
    this.t++;
    const bc1 = 1 - Math.pow(this.beta1, this.t);
    const bc2 = 1 - Math.pow(this.beta2, this.t);
    const hyper = { lr: this.lr, beta1: this.beta1, beta2: this.beta2, eps: this.eps, bc1, bc2, ...(gradScale === 1 ? {} : { gradScale }) };
    noGrad(() => {
      // Every parameter with a gradient, checked, with its moments (created at its first step) and weight decay.
      const items: { p: Tensor; grad: Tensor; s: State; weightDecay: number }[] = [];
      for (const g of this.groups) {
        const weightDecay = g.weightDecay ?? this.weightDecay;
        for (const p of g.params) {
          const grad = p.grad;
          if (grad === null) continue;
          p.assertLive('AdamW.step');
          if (!shapesEqual(grad.shape, p.shape)) {
            throw new Error(`AdamW.step: gradient ${fmtShape(grad.shape)} does not match parameter ${fmtShape(p.shape)}`);
          }
          let s = this.state.get(p);
          if (s === undefined) {
            s = { m: keep(zerosLike(p)), v: keep(zerosLike(p)) };
            this.state.set(p, s);
          }
          items.push({ p, grad, s, weightDecay });
        }
      }
      const b = items[0]?.p.backend;
      if (b !== undefined && items.length > 1 && hasKernel(b, 'adamwMany') && items.every((it) => it.p.backend === b && it.grad.backend === b) && new Set(items.map((it) => it.p)).size === items.length) {
        // One multi-tensor call (a fused/foreach step; a parameter listed twice takes the loop): the bits of the loop.
        const rs = getKernel(b, 'adamwMany')(
          items.map(({ p, grad, s, weightDecay }) => ({ param: p, grad, m: s.m, v: s.v, weightDecay })),
          hyper,
        );
        items.forEach(({ p, s }, i) => {
          const r = rs[i]!;
          p.assignRef(newRef(b, r.param));
          s.m.assignRef(newRef(b, r.m));
          s.v.assignRef(newRef(b, r.v));
        });
        return;
      }
      for (const { p, grad, s, weightDecay } of items) {
        const pb = p.backend;
        const r = getKernel(pb, 'adamw')(p, grad, s.m, s.v, { ...hyper, weightDecay });
        p.assignRef(newRef(pb, r.param));
        s.m.assignRef(newRef(pb, r.m));
        s.v.assignRef(newRef(pb, r.v));
      }
    });
  }

  /** Free every parameter's .grad. */
  zeroGrad(): void {
    for (const g of this.groups) {
      for (const p of g.params) {
        p.grad?.dispose();
        p.grad = null;
      }
    }
  }

  /** The moment tensors of a parameter (for checkpoints), if it has been stepped. */
  getState(p: Tensor): { m: Tensor; v: Tensor } | undefined {
    return this.state.get(p);
  }

  /**
   * Restore a parameter's moments (from a checkpoint): values copied onto the parameter's backend, replacing any
   * moments it had. Resume also needs `t`, the step count, restored by assignment.
   */
  setState(p: Tensor, m: ArrayLike<number>, v: ArrayLike<number>): void {
    if (m.length !== p.size || v.length !== p.size) {
      throw new Error(`AdamW.setState: moments of ${m.length} and ${v.length} values do not match parameter ${fmtShape(p.shape)} (${p.size})`);
    }
    const old = this.state.get(p);
    old?.m.dispose();
    old?.v.dispose();
    this.state.set(p, { m: keep(tensor(m, p.shape, 'float32', p.backend)), v: keep(tensor(v, p.shape, 'float32', p.backend)) });
  }

  /** Free the moment tensors. */
  dispose(): void {
    for (const s of this.state.values()) {
      s.m.dispose();
      s.v.dispose();
    }
    this.state.clear();
  }
}
