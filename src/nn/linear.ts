import { linear, type Tensor } from '../tensor/index.js';
import { checkPositiveInteger, Module, persistentTensor } from './module.js';

export interface LinearOptions {
  readonly bias?: boolean;
}

/** y = x·Wᵀ + b with W [out, in] (PyTorch's layout). Weights start at zero: see `initializeModule`. */
export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: LinearOptions = {},
  ) {
    super();
    checkPositiveInteger('Linear', { inFeatures, outFeatures });
    this.weight = this.registerParameter('weight', persistentTensor([outFeatures, inFeatures]));
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', persistentTensor([outFeatures])) : null;
  }

  override describe(): string {
    return `Linear(${this.inFeatures}, ${this.outFeatures}, bias=${this.bias !== null})`;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 2 || x.shape[1] !== this.inFeatures) {
      throw new Error(
        `${this.path || this.describe()}: ${this.describe()} expects input [N, ${this.inFeatures}], got [${x.shape.join(', ')}]`,
      );
    }
    return linear(x, this.weight, this.bias);
  }
}
