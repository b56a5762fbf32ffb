import type { Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { elementwiseGrad, storageFor, type OpStorage } from './storage.js';
import { requireFloat32 } from './util.js';

/** alpha · x for a constant alpha. */
export function scale(x: Tensor, alpha: number): Tensor {
  requireFloat32('scale', x, 'input');
  if (typeof alpha !== 'number') throw new Error(`scale: alpha must be a number, got ${typeof alpha}`);
  return scaleOn(storageFor('scale', x), x, alpha);
}

function scaleOn<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, alpha: number): Tensor {
  const kernels = s.kernels;
  const out = s.empty(x.shape);
  kernels.scale(s.floats(x), alpha, s.floats(out));
  return recordOp<F>('scale', out, [x], (g, writable) => {
    const dx = elementwiseGrad(s, g, writable, x.size);
    kernels.scale(g, alpha, dx);
    return [dx];
  });
}
