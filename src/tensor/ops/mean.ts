import { formatShape, type Tensor } from '../tensor.js';
import { reduceToScalar } from './sum.js';
import { requireFloat32 } from './util.js';

/** The mean of all elements as a scalar tensor of shape [] (one element; read it with item()). */
export function mean(x: Tensor): Tensor {
  requireFloat32('mean', x, 'input');
  if (x.size === 0) throw new Error(`mean: input ${formatShape(x.shape)} is empty`);
  return reduceToScalar('mean', x, 1 / x.size);
}
