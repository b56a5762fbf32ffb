import type { Conv2dParams } from '../../kernels/interface.js';
import { formatShape, type Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { gradFor, storageFor, type OpStorage } from './storage.js';
import { conv2dParams, requireFloatRank, requireKernelFits, requireVector, spatialPair, type Pair } from './util.js';

export interface Conv2dOptions {
  /** Default 1. */
  readonly stride?: Pair;
  /** Zero padding on each side; default 0. */
  readonly padding?: Pair;
}

/** The kernel geometry of conv2d(x, weight), validated. */
export function conv2dGeometry(x: Tensor, weight: Tensor, opts: Conv2dOptions = {}): Conv2dParams {
  requireFloatRank('conv2d', x, [4], 'input');
  requireFloatRank('conv2d', weight, [4], 'weight');
  const [n, c, h, w] = x.shape as [number, number, number, number];
  const [outC, weightC, kh, kw] = weight.shape as [number, number, number, number];
  if (c !== weightC)
    throw new Error(`conv2d: input has ${c} channels but weight ${formatShape(weight.shape)} expects ${weightC}`);
  const [strideH, strideW] = spatialPair('conv2d', 'stride', opts.stride ?? 1, 1);
  const [padH, padW] = spatialPair('conv2d', 'padding', opts.padding ?? 0, 0);
  if (kh < 1 || kw < 1) throw new Error(`conv2d: weight ${formatShape(weight.shape)} has an empty kernel`);
  requireKernelFits('conv2d', x, [kh, kw], [padH, padW]);
  return conv2dParams(n, c, h, w, outC, [kh, kw], [strideH, strideW], [padH, padW]);
}

/**
 * 2-d convolution as PyTorch's F.conv2d (cross-correlation, zero padding):
 * x [N,C,H,W], weight [O,C,kh,kw], bias [O] or null → [N,O,outH,outW].
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const p = conv2dGeometry(x, weight, opts);
  if (bias) requireVector('conv2d', bias, p.outC, 'bias', `weight ${formatShape(weight.shape)}`);
  return conv2dOn(storageFor('conv2d', x, weight, bias), x, weight, bias, p);
}

function conv2dOn<F extends GradData, I>(
  s: OpStorage<F, I>,
  x: Tensor,
  weight: Tensor,
  bias: Tensor | null,
  p: Conv2dParams,
): Tensor {
  const kernels = s.kernels;
  const out = s.empty([p.n, p.outC, p.outH, p.outW]);
  kernels.conv2dForward(s.floats(x), s.floats(weight), bias ? s.floats(bias) : null, s.floats(out), p);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp<F>('conv2d', out, inputs, (g) => {
    let dx: F | null = null;
    if (x.requiresGrad) {
      dx = s.gradBuffer(x.size);
      kernels.conv2dBackwardData(g, s.floats(weight), dx, p);
    }
    let dw: F | null = null;
    let db: F | null = null;
    if (weight.requiresGrad || bias?.requiresGrad) {
      // One kernel computes both (overwriting them); a buffer computed for an input that needs no
      // gradient goes back.
      dw = s.gradDestination(weight, false).buffer;
      db = bias ? s.gradDestination(bias, false).buffer : null;
      kernels.conv2dBackwardFilter(s.floats(x), g, dw, db, p);
    }
    return bias ? [dx, gradFor(s, weight, dw), gradFor(s, bias, db)] : [dx, gradFor(s, weight, dw)];
  });
}
