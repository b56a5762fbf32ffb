import { batchNorm, tensor, untracked, type Tensor } from '../tensor/index.js';
import { checkPositiveInteger, Module, persistentTensor } from './module.js';

export interface BatchNormOptions {
  readonly eps?: number;
  /** PyTorch convention: running = (1 − momentum) · running + momentum · batch statistic. */
  readonly momentum?: number;
}

/**
 * Batch normalisation with learnable scale (`weight`) and shift (`bias`) and running statistics,
 * PyTorch's buffers included: `running_mean`, `running_var` and `num_batches_tracked` (int64 in
 * PyTorch; an int32 scalar here, written as I64 in checkpoints).
 */
abstract class BatchNormBase extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
  readonly numBatchesTracked: Tensor;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    options: BatchNormOptions,
  ) {
    super();
    checkPositiveInteger(this.constructor.name, { numFeatures });
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.eps > 0)) throw new Error(`${this.constructor.name}: eps must be positive, got ${this.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`${this.constructor.name}: momentum must be in [0, 1], got ${this.momentum}`);
    this.weight = this.registerParameter('weight', persistentTensor([numFeatures], 1));
    this.bias = this.registerParameter('bias', persistentTensor([numFeatures], 0));
    this.runningMean = this.registerBuffer('running_mean', persistentTensor([numFeatures], 0));
    this.runningVar = this.registerBuffer('running_var', persistentTensor([numFeatures], 1));
    this.numBatchesTracked = this.registerBuffer(
      'num_batches_tracked',
      untracked(() => tensor(new Int32Array(1), [])),
    );
  }

  override describe(): string {
    return `${this.constructor.name}(${this.numFeatures}, eps=${this.eps}, momentum=${this.momentum})`;
  }

  /** Running statistics back to their initial values (mean 0, variance 1, no batches seen). */
  resetRunningStats(): void {
    this.runningMean.data.fill(0);
    this.runningVar.data.fill(1);
    this.numBatchesTracked.ints[0] = 0;
  }

  protected abstract checkInput(x: Tensor): void;

  forward(x: Tensor): Tensor {
    this.checkInput(x);
    if (x.shape[1] !== this.numFeatures) {
      throw new Error(
        `${this.path || this.constructor.name}: ${this.describe()} expects ${this.numFeatures} channels in dimension 1, got [${x.shape.join(', ')}]`,
      );
    }
    // The op takes [N, C] or [N, C, H, W]; [N, C, L] is normalised as [N, C, L, 1].
    const input = x.rank === 3 ? x.reshape([...x.shape, 1]) : x;
    const y = batchNorm(input, this.weight, this.bias, this.runningMean, this.runningVar, {
      training: this.training,
      momentum: this.momentum,
      eps: this.eps,
    });
    if (this.training) this.numBatchesTracked.ints[0]! += 1;
    return x.rank === 3 ? y.reshape(x.shape) : y;
  }
}

/** Batch norm over [N, C, H, W]. */
export class BatchNorm2d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.rank !== 4)
      throw new Error(
        `${this.path || 'BatchNorm2d'}: ${this.describe()} expects input [N, C, H, W], got [${x.shape.join(', ')}]`,
      );
  }
}

/** Batch norm over [N, C] or [N, C, L]. */
export class BatchNorm1d extends BatchNormBase {
  constructor(numFeatures: number, options: BatchNormOptions = {}) {
    super(numFeatures, options);
  }

  protected checkInput(x: Tensor): void {
    if (x.rank !== 2 && x.rank !== 3)
      throw new Error(
        `${this.path || 'BatchNorm1d'}: ${this.describe()} expects input [N, C] or [N, C, L], got [${x.shape.join(', ')}]`,
      );
  }
}

export type BatchNorm = BatchNorm1d | BatchNorm2d;

export function isBatchNorm(module: Module): module is BatchNorm {
  return module instanceof BatchNormBase;
}
