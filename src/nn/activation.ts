import { relu, reluInPlace, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return relu(x);
  }

  /**
   * This ReLU applied to `output` of `producer` (null: an op such as add), in place when allowed (see reluOnOutput).
   */
  callOnOutput(output: Tensor, producer: Module | null): Tensor {
    return this.hasForwardHooks ? this.call(output) : reluOnOutput(output, producer);
  }
}

/**
 * relu of `output`, a fresh tensor just returned by `producer` (a module, or null for an op such
 * as add) that nothing else reads: computed in its own buffer, as PyTorch's ReLU(inplace=True),
 * unless a forward hook on the producer may have kept it. Only for producers whose backward does
 * not read their output: convolution, linear, batch norm, add. The producer's output-ReLU hooks
 * then see the result (see Module.registerOutputReluHook).
 */
export function reluOnOutput(output: Tensor, producer: Module | null): Tensor {
  const activated = producer?.hasForwardHooks ? relu(output) : reluInPlace(output);
  producer?.runOutputReluHooks(activated);
  return activated;
}
