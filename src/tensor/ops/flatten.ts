import { formatShape, shapeSize, type Tensor } from '../tensor.js';

/** [N, ...rest] → [N, product(rest)] as a view of the same buffer (a rank-1 [N] becomes [N, 1]). */
export function flatten(x: Tensor): Tensor {
  if (x.rank < 1) throw new Error(`flatten: input must have a batch dimension, got ${formatShape(x.shape)}`);
  return x.reshape([x.shape[0]!, shapeSize(x.shape.slice(1))]);
}
