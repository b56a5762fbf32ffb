import type { Conv2dParams } from '../../kernels/interface.js';
import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import {
  gradBuffer,
  gradDestination,
  gradFor,
  requireFloatRank,
  requireKernelFits,
  requireVector,
  onWebGpu,
  slidingOutputSize,
  spatialPair,
  type Pair,
} from './util.js';
import { conv2dOnWebGpu } from './webgpu/window.js';

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
  return {
    n,
    c,
    h,
    w,
    outC,
    kh,
    kw,
    strideH,
    strideW,
    padH,
    padW,
    outH: slidingOutputSize(h, kh, strideH, padH),
    outW: slidingOutputSize(w, kw, strideW, padW),
  };
}

/**
 * 2-d convolution as PyTorch's F.conv2d (cross-correlation, zero padding):
 * x [N,C,H,W], weight [O,C,kh,kw], bias [O] or null → [N,O,outH,outW].
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null, opts: Conv2dOptions = {}): Tensor {
  const p = conv2dGeometry(x, weight, opts);
  if (bias) requireVector('conv2d', bias, p.outC, 'bias', `weight ${formatShape(weight.shape)}`);
  if (onWebGpu('conv2d', x, weight, bias)) return conv2dOnWebGpu(x, weight, bias, p);
  const kernels = getKernels();
  const out = empty([p.n, p.outC, p.outH, p.outW]);
  kernels.conv2dForward(x.data, weight.data, bias ? bias.data : null, out.data, p);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp('conv2d', out, inputs, (g) => {
    let dx: Float32Array | null = null;
    if (x.requiresGrad) {
      dx = gradBuffer(x.size);
      kernels.conv2dBackwardData(g, weight.data, dx, p);
    }
    let dw: Float32Array | null = null;
    let db: Float32Array | null = null;
    if (weight.requiresGrad || bias?.requiresGrad) {
      // One kernel computes both (overwriting them); a buffer computed for an input that needs no
      // gradient goes back.
      dw = gradDestination(weight, false).buffer;
      db = bias ? gradDestination(bias, false).buffer : null;
      kernels.conv2dBackwardFilter(x.data, g, dw, db, p);
    }
    return bias ? [dx, gradFor(weight, dw), gradFor(bias, db)] : [dx, gradFor(weight, dw)];
  });
}
