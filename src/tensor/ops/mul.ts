import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireSameShape } from './util.js';
import { mulOnWebGpu } from './webgpu/elementwise.js';

/** a ⊙ b for identical shapes (no broadcasting). Backward: da = g ⊙ b, db = g ⊙ a. */
export function mul(a: Tensor, b: Tensor): Tensor {
  requireSameShape('mul', a, b);
  if (onWebGpu('mul', a, b)) return mulOnWebGpu(a, b);
  const kernels = getKernels();
  const out = empty(a.shape);
  kernels.mul(a.data, b.data, out.data);
  return recordOp('mul', out, [a, b], (g, writable) => {
    let da: Float32Array | null = null;
    let db: Float32Array | null = null;
    // db first: da may then be computed in place over g.
    if (b.requiresGrad) {
      db = gradBuffer(b.size);
      kernels.mul(g, a.data, db);
    }
    if (a.requiresGrad) {
      da = writable ? g : gradBuffer(a.size);
      kernels.mul(g, b.data, da);
    }
    return [da, db];
  });
}
