import { recordOp, type GradData } from '../autograd.js';
import { formatShape, type Tensor } from '../tensor.js';
import { storageFor, type OpStorage } from './storage.js';
import { requireFloatRank } from './util.js';

/** Mean over the spatial dimensions: x [N,C,H,W] → [N,C]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireFloatRank('globalAvgPool2d', x, [4], 'input');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h * w === 0)
    throw new Error(`globalAvgPool2d: input ${formatShape(x.shape)} has no spatial positions to average`);
  return globalAvgPool2dOn(storageFor('globalAvgPool2d', x), x, n, c, h * w);
}

function globalAvgPool2dOn<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, n: number, c: number, hw: number) {
  const kernels = s.kernels;
  const out = s.empty([n, c]);
  kernels.globalAvgPoolForward(s.floats(x), s.floats(out), n * c, hw);
  return recordOp<F>('globalAvgPool2d', out, [x], (g) => {
    const dx = s.gradBuffer(x.size);
    kernels.globalAvgPoolBackward(g, dx, n * c, hw);
    return [dx];
  });
}
