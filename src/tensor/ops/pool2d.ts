/** Geometry shared by maxPool2d and avgPool2d. */
import type { Pool2dParams } from '../../kernels/interface.js';
import { formatShape, type Tensor } from '../tensor.js';
import { pool2dParams, requireFloatRank, requireKernelFits, spatialPair, type Pair } from './util.js';

export interface Pool2dOptions {
  readonly kernelSize: Pair;
  /** Default: the kernel size (non-overlapping windows). */
  readonly stride?: Pair;
  /** Default 0; at most half the kernel size, as in PyTorch. */
  readonly padding?: Pair;
}

export function pool2dGeometry(op: string, x: Tensor, opts: Pool2dOptions): Pool2dParams {
  requireFloatRank(op, x, [4], 'input');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [kh, kw] = spatialPair(op, 'kernelSize', opts.kernelSize, 1);
  const [strideH, strideW] = spatialPair(op, 'stride', opts.stride ?? opts.kernelSize, 1);
  const [padH, padW] = spatialPair(op, 'padding', opts.padding ?? 0, 0);
  if (2 * padH > kh || 2 * padW > kw) {
    // A window could then lie wholly in the padding and have no input to pool.
    throw new Error(
      `${op}: padding [${padH}, ${padW}] must be at most half the kernel size ${kh}×${kw} (input ${formatShape(x.shape)})`,
    );
  }
  requireKernelFits(op, x, [kh, kw], [padH, padW]);
  return pool2dParams(n, c, h, w, [kh, kw], [strideH, strideW], [padH, padW]);
}
