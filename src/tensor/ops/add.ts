import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { onWebGpu, requireSameShape } from './util.js';
import { addOnWebGpu } from './webgpu/elementwise.js';

/** a + b for identical shapes (no broadcasting). Both inputs receive the output's gradient buffer. */
export function add(a: Tensor, b: Tensor): Tensor {
  requireSameShape('add', a, b);
  if (onWebGpu('add', a, b)) return addOnWebGpu(a, b);
  const out = empty(a.shape);
  getKernels().add(a.data, b.data, out.data);
  return recordOp('add', out, [a, b], (g) => [a.requiresGrad ? g : null, b.requiresGrad ? g : null]);
}
