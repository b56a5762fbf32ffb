import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloatRank } from './util.js';
import { globalAvgPool2dOnWebGpu } from './webgpu/window.js';

/** Mean over the spatial dimensions: x [N,C,H,W] → [N,C]. */
export function globalAvgPool2d(x: Tensor): Tensor {
  requireFloatRank('globalAvgPool2d', x, [4], 'input');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  if (h * w === 0)
    throw new Error(`globalAvgPool2d: input ${formatShape(x.shape)} has no spatial positions to average`);
  if (onWebGpu('globalAvgPool2d', x)) return globalAvgPool2dOnWebGpu(x, n, c, h * w);
  const kernels = getKernels();
  const out = empty([n, c]);
  kernels.globalAvgPoolForward(x.data, out.data, n * c, h * w);
  return recordOp('globalAvgPool2d', out, [x], (g) => {
    const dx = gradBuffer(x.size);
    kernels.globalAvgPoolBackward(g, dx, n * c, h * w);
    return [dx];
  });
}
