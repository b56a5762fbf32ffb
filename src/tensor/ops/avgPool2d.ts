import type { Pool2dParams } from '../../kernels/interface.js';
import { recordOp, type GradData } from '../autograd.js';
import type { Tensor } from '../tensor.js';
import { pool2dGeometry, type Pool2dOptions } from './pool2d.js';
import { storageFor, type OpStorage } from './storage.js';

/** PyTorch's F.avg_pool2d with count_include_pad=True (divisor kh·kw): x [N,C,H,W] → [N,C,outH,outW]. */
export function avgPool2d(x: Tensor, opts: Pool2dOptions): Tensor {
  const p = pool2dGeometry('avgPool2d', x, opts);
  return avgPool2dOn(storageFor('avgPool2d', x), x, p);
}

function avgPool2dOn<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, p: Pool2dParams): Tensor {
  const kernels = s.kernels;
  const out = s.empty([p.n, p.c, p.outH, p.outW]);
  kernels.avgPool2dForward(s.floats(x), s.floats(out), p);
  return recordOp<F>('avgPool2d', out, [x], (g) => {
    const dx = s.gradBuffer(x.size);
    kernels.avgPool2dBackward(g, dx, p);
    return [dx];
  });
}
