import type { Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { storageFor, type OpStorage } from './storage.js';
import { requireFloat32 } from './util.js';

/** Σ x (accumulated in float64) as a scalar tensor of shape [] (one element; read it with item()). */
export function sum(x: Tensor): Tensor {
  requireFloat32('sum', x, 'input');
  return reduceToScalar('sum', x, 1);
}

/** Shared by sum and mean: factor · Σ x, whose gradient is factor · g everywhere. */
export function reduceToScalar(op: string, x: Tensor, factor: number): Tensor {
  return reduceToScalarOn(storageFor(op, x), op, x, factor);
}

function reduceToScalarOn<F extends GradData, I>(s: OpStorage<F, I>, op: string, x: Tensor, factor: number): Tensor {
  const kernels = s.kernels;
  const out = s.empty([]);
  s.sumInto(op, s.floats(x), s.floats(out), factor);
  return recordOp<F>(op, out, [x], (g) => [
    s.fromScalarGrad(g, (upstream) => {
      const dx = s.gradBuffer(x.size);
      kernels.fill(dx, upstream * factor);
      return dx;
    }),
  ]);
}
