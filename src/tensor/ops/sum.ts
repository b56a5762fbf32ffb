import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloat32 } from './util.js';
import { reduceToScalarOnWebGpu } from './webgpu/elementwise.js';

/** Σ x (accumulated in float64) as a scalar tensor of shape [] (one element; read it with item()). */
export function sum(x: Tensor): Tensor {
  requireFloat32('sum', x, 'input');
  return reduceToScalar('sum', x, 1);
}

/** Shared by sum and mean: factor · Σ x, whose gradient is factor · g everywhere. */
export function reduceToScalar(op: string, x: Tensor, factor: number): Tensor {
  if (onWebGpu(op, x)) return reduceToScalarOnWebGpu(op, x, factor);
  const kernels = getKernels();
  const out = empty([]);
  out.data[0] = kernels.sum(x.data) * factor;
  return recordOp(op, out, [x], (g) => {
    const dx = gradBuffer(x.size);
    kernels.fill(dx, g[0]! * factor);
    return [dx];
  });
}
