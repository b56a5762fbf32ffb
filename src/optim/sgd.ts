import { storageFor } from '../tensor/ops/storage.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LeafSgdUpdate } from '../tensor/fusedStep.js';
import { checkRange, Optimizer, type MutableParameterState, type NamedParameters } from './optimizer.js';

export interface SgdOptions {
  readonly lr: number;
  readonly momentum?: number;
  readonly dampening?: number;
  readonly weightDecay?: number;
  readonly nesterov?: boolean;
}

type SgdHyper = { lr: number; momentum: number; dampening: number; weightDecay: number; nesterov: boolean };

/**
 * torch.optim.SGD: d = g + wd·θ; b = d on the first step, else μ·b + (1−dampening)·d; θ −= lr·(nesterov ? d + μ·b : b).
 */
export class SGD extends Optimizer<SgdHyper> {
  readonly kind = 'sgd';

  constructor(params: NamedParameters, options: SgdOptions) {
    super(params, {
      lr: options.lr,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    });
  }

  protected validate(h: SgdHyper): SgdHyper {
    checkRange('SGD', 'lr', h.lr, 0);
    checkRange('SGD', 'momentum', h.momentum, 0);
    checkRange('SGD', 'dampening', h.dampening, 0, 1, true);
    checkRange('SGD', 'weightDecay', h.weightDecay, 0);
    if (h.nesterov && (h.momentum <= 0 || h.dampening !== 0))
      throw new Error('SGD: nesterov needs momentum > 0 and dampening 0');
    return h;
  }

  protected update(param: Tensor, grad: Tensor, state: MutableParameterState): void {
    const { momentumBuffer, sgd } = this.sgdStep(param, state);
    const s = storageFor('SGD', param, grad, momentumBuffer);
    s.kernels.sgdUpdate(s.floats(param), s.floats(grad), momentumBuffer ? s.floats(momentumBuffer) : null, sgd);
  }

  protected override sgdStep(param: Tensor, state: MutableParameterState): LeafSgdUpdate {
    const h = this.hyper;
    const firstStep = !state.buffers.has('momentum_buffer');
    const momentumBuffer = h.momentum !== 0 ? this.buffer(state, 'momentum_buffer', param) : null;
    return { momentumBuffer, sgd: { ...h, firstStep } };
  }
}
