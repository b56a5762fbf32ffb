import type { Rng } from '../rng.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { elementwiseGrad, storageFor, type OpStorage } from './storage.js';
import { requireFloat32 } from './util.js';

export interface DropoutOptions {
  readonly training: boolean;
  /** The stream the mask is drawn from (one uniform() per element, in row-major order). */
  readonly rng: Rng;
}

/**
 * Inverted dropout: in training each element is dropped when rng.uniform() < p and the survivors
 * are scaled by 1 / (1 − p), so evaluation is the identity. With training off or p = 0 the input
 * itself is returned and the stream is not advanced.
 */
export function dropout(x: Tensor, p: number, opts: DropoutOptions): Tensor {
  requireFloat32('dropout', x, 'input');
  if (!(p >= 0 && p <= 1)) throw new Error(`dropout: probability must be in [0, 1], got ${p}`);
  if (!opts.training || p === 0) return x;
  const s = storageFor('dropout', x);
  const keepScale = p === 1 ? 0 : 1 / (1 - p);
  // Drawn on the host on every device, so that a seed means the same mask everywhere.
  const mask = empty(x.shape);
  const maskData = mask.data;
  for (let i = 0; i < maskData.length; i++) maskData[i] = opts.rng.uniform() < p ? 0 : keepScale;
  return dropoutWith(s, x, s.fromHost(mask));
}

function dropoutWith<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, mask: Tensor): Tensor {
  const kernels = s.kernels;
  const out = s.empty(x.shape);
  kernels.mul(s.floats(x), s.floats(mask), s.floats(out));
  return recordOp<F>('dropout', out, [x], (g, writable) => {
    const dx = elementwiseGrad(s, g, writable, x.size);
    kernels.mul(g, s.floats(mask), dx);
    return [dx];
  });
}
