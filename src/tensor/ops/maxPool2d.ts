import type { Pool2dParams } from '../../kernels/interface.js';
import { recordOp, type GradData } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { pool2dGeometry, type Pool2dOptions } from './pool2d.js';
import { storageFor, type OpStorage } from './storage.js';

/** PyTorch's F.max_pool2d (padding is −∞, first maximum wins ties): x [N,C,H,W] → [N,C,outH,outW].
 *  Backward routes each output's gradient to the input that won its window. */
export function maxPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const p = pool2dGeometry('maxPool2d', x, opts);
  return maxPool2dOn(storageFor('maxPool2d', x), x, p);
}

function maxPool2dOn<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, p: Pool2dParams): Tensor {
  const kernels = s.kernels;
  const out = s.empty([p.n, p.c, p.outH, p.outW]);
  const winners = s.empty(out.shape, 'int32');
  kernels.maxPool2dForward(s.floats(x), s.floats(out), s.ints(winners), p);
  return recordOp<F>('maxPool2d', out, [x], (g) => {
    const dx = s.gradBuffer(x.size);
    kernels.maxPool2dBackward(g, s.ints(winners), dx, p);
    return [dx];
  });
}
