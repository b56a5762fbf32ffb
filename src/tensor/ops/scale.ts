import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloat32 } from './util.js';
import { scaleOnWebGpu } from './webgpu/elementwise.js';

/** alpha · x for a constant alpha. */
export function scale(x: Tensor, alpha: number): Tensor {
  requireFloat32('scale', x, 'input');
  if (typeof alpha !== 'number') throw new Error(`scale: alpha must be a number, got ${typeof alpha}`);
  if (onWebGpu('scale', x)) return scaleOnWebGpu(x, alpha);
  const kernels = getKernels();
  const out = empty(x.shape);
  kernels.scale(x.data, alpha, out.data);
  return recordOp('scale', out, [x], (g, writable) => {
    const dx = writable ? g : gradBuffer(x.size);
    kernels.scale(g, alpha, dx);
    return [dx];
  });
}
