// Module and Parameter: a registry of named parameters found by walking a module's fields (PyTorch style:
// fields holding a Parameter, a Module, or an array of them), giving dotted names like `layers.0.attn.q.weight`.
import { Tensor } from '../tensor.js';

/** A trainable leaf: requiresGrad, outside every tidy() scope, owned by its module. */
export class Parameter extends Tensor {
  /** Takes over `init`'s buffer (init is disposed). */
  constructor(init: Tensor) {
    init.assertLive('Parameter');
    init.ref.refs++;
    super(init.ref, init.shape, init.dtype, null, false);
    init.dispose();
    this.requiresGrad = true;
    this.kept = true;
  }
}

export abstract class Module {
  /** Training mode (dropout etc.); see train() / eval(). */
  training = true;

  /** [dotted name, parameter] pairs in field order. */
  namedParameters(prefix = ''): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    const visit = (name: string, v: unknown): void => {
      if (v instanceof Parameter) out.push([name, v]);
      else if (v instanceof Module) out.push(...v.namedParameters(`${name}.`));
      else if (Array.isArray(v)) v.forEach((e, i) => visit(`${name}.${i}`, e));
    };
    for (const [k, v] of Object.entries(this)) visit(`${prefix}${k}`, v);
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  /** Direct and nested submodules. */
  modules(): Module[] {
    const out: Module[] = [this];
    const visit = (v: unknown): void => {
      if (v instanceof Module) out.push(...v.modules());
      else if (Array.isArray(v)) v.forEach(visit);
    };
    for (const v of Object.values(this)) visit(v);
    return out;
  }

  numParams(): number {
    return this.parameters().reduce((a, p) => a + p.size, 0);
  }

  /** Free every parameter's .grad. */
  zeroGrad(): void {
    for (const p of this.parameters()) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  train(on = true): this {
    for (const m of this.modules()) m.training = on;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  /** Free every parameter (and its gradient). */
  dispose(): void {
    for (const p of this.parameters()) p.dispose();
  }
}
