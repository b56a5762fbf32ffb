import { storageFor } from '../tensor/ops/storage.js';
import type { Tensor } from '../tensor/tensor.js';
import { checkRange, Optimizer, type MutableParameterState, type NamedParameters } from './optimizer.js';

export interface AdamOptions {
  readonly lr?: number;
  readonly beta1?: number;
  readonly beta2?: number;
  readonly eps?: number;
  readonly weightDecay?: number;
}

type AdamHyper = { lr: number; beta1: number; beta2: number; eps: number; weightDecay: number };

abstract class AdamBase extends Optimizer<AdamHyper> {
  protected abstract readonly decoupled: boolean;

  protected validate(h: AdamHyper): AdamHyper {
    const where = this.constructor.name;
    checkRange(where, 'lr', h.lr, 0);
    checkRange(where, 'beta1', h.beta1, 0, 1);
    checkRange(where, 'beta2', h.beta2, 0, 1);
    checkRange(where, 'eps', h.eps, 0);
    checkRange(where, 'weightDecay', h.weightDecay, 0);
    return h;
  }

  protected update(param: Tensor, grad: Tensor, state: MutableParameterState): void {
    const m = this.buffer(state, 'exp_avg', param);
    const v = this.buffer(state, 'exp_avg_sq', param);
    const settings = { ...this.hyper, decoupled: this.decoupled, step: state.step + 1 };
    const s = storageFor(this.constructor.name, param, grad, m, v);
    s.kernels.adamUpdate(s.floats(param), s.floats(grad), s.floats(m), s.floats(v), settings);
  }
}

/** torch.optim.Adam (amsgrad off): weight decay is added to the gradient (L2). Defaults as PyTorch's. */
export class Adam extends AdamBase {
  readonly kind = 'adam';
  protected readonly decoupled = false;

  constructor(params: NamedParameters, options: AdamOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    });
  }
}

/** torch.optim.AdamW: decoupled weight decay θ ← θ·(1 − lr·wd) before the Adam step; default wd 0.01. */
export class AdamW extends AdamBase {
  readonly kind = 'adamw';
  protected readonly decoupled = true;

  constructor(params: NamedParameters, options: AdamOptions = {}) {
    super(params, {
      lr: options.lr ?? 1e-3,
      beta1: options.beta1 ?? 0.9,
      beta2: options.beta2 ?? 0.999,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 1e-2,
    });
  }
}
