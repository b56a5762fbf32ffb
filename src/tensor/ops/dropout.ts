import { getKernels } from '../../kernels/index.js';
import type { Rng } from '../rng.js';
import { empty, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloat32 } from './util.js';
import { dropoutOnWebGpu } from './webgpu/elementwise.js';

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
  const kernels = getKernels();
  const keepScale = p === 1 ? 0 : 1 / (1 - p);
  // Drawn on the host on every device, so that a seed means the same mask everywhere.
  const mask = empty(x.shape);
  const maskData = mask.data;
  for (let i = 0; i < maskData.length; i++) maskData[i] = opts.rng.uniform() < p ? 0 : keepScale;
  if (onWebGpu('dropout', x)) return dropoutOnWebGpu(x, maskData);
  const out = empty(x.shape);
  kernels.mul(x.data, maskData, out.data);
  return recordOp('dropout', out, [x], (g, writable) => {
    const dx = writable ? g : gradBuffer(x.size);
    kernels.mul(g, mask.data, dx);
    return [dx];
  });
}
