import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { pool2dGeometry, type Pool2dOptions } from './pool2d.js';
import { gradBuffer, onWebGpu } from './util.js';
import { avgPool2dOnWebGpu } from './webgpu/window.js';

/** PyTorch's F.avg_pool2d with count_include_pad=True (divisor kh·kw): x [N,C,H,W] → [N,C,outH,outW]. */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const p = pool2dGeometry('avgPool2d', x, opts);
  if (onWebGpu('avgPool2d', x)) return avgPool2dOnWebGpu(x, p);
  const kernels = getKernels();
  const out = empty([p.n, p.c, p.outH, p.outW]);
  kernels.avgPool2dForward(x.data, out.data, p);
  return recordOp('avgPool2d', out, [x], (g) => {
    const dx = gradBuffer(x.size);
    kernels.avgPool2dBackward(g, dx, p);
    return [dx];
  });
}
