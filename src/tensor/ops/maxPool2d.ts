import { getKernels } from '../../kernels/index.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { pool2dGeometry, type Pool2dOptions } from './pool2d.js';
import { gradBuffer, onWebGpu } from './util.js';
import { maxPool2dOnWebGpu } from './webgpu/window.js';

/** PyTorch's F.max_pool2d (padding is −∞, first maximum wins ties): x [N,C,H,W] → [N,C,outH,outW].
 *  Backward routes each output's gradient to the input that won its window. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const p = pool2dGeometry('maxPool2d', x, opts);
  if (onWebGpu('maxPool2d', x)) return maxPool2dOnWebGpu(x, p);
  const kernels = getKernels();
  const out = empty([p.n, p.c, p.outH, p.outW]);
  const winners = empty(out.shape, undefined, 'int32');
  kernels.maxPool2dForward(x.data, out.data, winners.ints, p);
  return recordOp('maxPool2d', out, [x], (g) => {
    const dx = gradBuffer(x.size);
    kernels.maxPool2dBackward(g, winners.ints, dx, p);
    return [dx];
  });
}
