/**
 * Input validation for ops, with errors that name the op and the shapes involved (buffers and
 * gradients: storage.ts). No numerics here: those go through the kernels.
 */
import type { Conv2dParams, Pool2dParams } from '../../kernels/interface.js';
import { formatShape, type Tensor } from '../tensor.js';

export function requireFloat32(op: string, t: Tensor, role: string): void {
  if (t.dtype !== 'float32')
    throw new Error(`${op}: ${role} must be float32, got an int32 tensor ${formatShape(t.shape)}`);
}

export function requireRank(op: string, t: Tensor, ranks: readonly number[], role: string): void {
  if (!ranks.includes(t.rank)) {
    const expected = ranks.map((r) => `${r}-d`).join(' or ');
    throw new Error(`${op}: ${role} must be ${expected}, got ${formatShape(t.shape)}`);
  }
}

/** A float32 tensor of exactly this rank. */
export function requireFloatRank(op: string, t: Tensor, ranks: readonly number[], role: string): void {
  requireFloat32(op, t, role);
  requireRank(op, t, ranks, role);
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Elementwise binary ops take identical shapes only: there is no broadcasting anywhere. */
export function requireSameShape(op: string, a: Tensor, b: Tensor): void {
  requireFloat32(op, a, 'first operand');
  requireFloat32(op, b, 'second operand');
  if (!sameShape(a.shape, b.shape)) {
    throw new Error(
      `${op}: operands must have identical shapes (no broadcasting), got ${formatShape(a.shape)} and ${formatShape(b.shape)}`,
    );
  }
}

/** A per-channel parameter of shape [channels]. */
export function requireVector(op: string, t: Tensor, length: number, role: string, context: string): void {
  requireFloat32(op, t, role);
  if (t.rank !== 1 || t.shape[0] !== length) {
    throw new Error(`${op}: ${role} must have shape [${length}] to match ${context}, got ${formatShape(t.shape)}`);
  }
}

export type Pair = number | readonly [number, number];

/** A (height, width) pair from a number or a pair; `minimum` is 1 for sizes and strides, 0 for padding. */
export function spatialPair(op: string, name: string, value: Pair, minimum: 0 | 1): [number, number] {
  const shown = Array.isArray(value) ? `[${value.join(', ')}]` : String(value);
  if (typeof value !== 'number' && !(Array.isArray(value) && value.length === 2)) {
    throw new Error(`${op}: ${name} must be a number or a [height, width] pair, got ${shown}`);
  }
  const pair: [number, number] = typeof value === 'number' ? [value, value] : [value[0], value[1]];
  for (const v of pair) {
    if (!Number.isInteger(v) || v < minimum) {
      throw new Error(`${op}: ${name} must be ${minimum === 0 ? 'non-negative' : 'positive'} integers, got ${shown}`);
    }
  }
  return pair;
}

/** Output size of a sliding window: floor((size + 2·pad − kernel) / stride) + 1. */
export function slidingOutputSize(size: number, kernel: number, stride: number, pad: number): number {
  return Math.floor((size + 2 * pad - kernel) / stride) + 1;
}

/** The geometry of a kh×kw window sliding over the n·c planes of h×w, with its output size (not validated). */
export function pool2dParams(
  n: number,
  c: number,
  h: number,
  w: number,
  [kh, kw]: readonly [number, number],
  [strideH, strideW]: readonly [number, number],
  [padH, padW]: readonly [number, number],
): Pool2dParams {
  const outH = slidingOutputSize(h, kh, strideH, padH);
  const outW = slidingOutputSize(w, kw, strideW, padW);
  return { n, c, h, w, kh, kw, strideH, strideW, padH, padW, outH, outW };
}

/** pool2dParams of a convolution to outC channels (not validated). */
export function conv2dParams(
  n: number,
  c: number,
  h: number,
  w: number,
  outC: number,
  kernel: readonly [number, number],
  stride: readonly [number, number],
  padding: readonly [number, number],
): Conv2dParams {
  return { ...pool2dParams(n, c, h, w, kernel, stride, padding), outC };
}

/** The window must fit in the padded input (PyTorch raises the same error). */
export function requireKernelFits(
  op: string,
  input: Tensor,
  kernel: [number, number],
  padding: [number, number],
): void {
  const h = input.shape[input.rank - 2]!;
  const w = input.shape[input.rank - 1]!;
  const paddedH = h + 2 * padding[0];
  const paddedW = w + 2 * padding[1];
  if (kernel[0] > paddedH || kernel[1] > paddedW) {
    throw new Error(
      `${op}: kernel ${kernel[0]}×${kernel[1]} is larger than the padded input ${paddedH}×${paddedW} ` +
        `(input ${formatShape(input.shape)}, padding [${padding[0]}, ${padding[1]}])`,
    );
  }
}
