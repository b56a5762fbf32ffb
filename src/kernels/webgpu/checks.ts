/**
 * Host-side checks of a kernel's arrays against its shape parameters. A GPU clamps or drops
 * out-of-bounds accesses instead of failing, so a wrong length would silently give wrong numbers:
 * each kernel checks its arrays before recording a dispatch, and says which kernel, array and shape.
 */
import type { Pool2dParams } from '../interface.js';
import type { DeviceArray, ElementType } from './runtime.js';

export function requireLength(kernel: string, name: string, array: DeviceArray, length: number, shape: string): void {
  if (array.length !== length)
    throw new Error(
      `webgpu ${kernel}: ${name} (${array.label}) has ${array.length} elements; ${shape} needs ${length}`,
    );
}

export function requireType(kernel: string, name: string, array: DeviceArray, type: ElementType): void {
  if (array.type !== type)
    throw new Error(`webgpu ${kernel}: ${name} (${array.label}) holds ${array.type}, expected ${type}`);
}

/** Sizes must be non-negative integers that fit the shaders' u32 indices. */
export function requireSizes(kernel: string, sizes: Readonly<Record<string, number>>): void {
  for (const [name, value] of Object.entries(sizes)) {
    if (!Number.isSafeInteger(value) || value < 0 || value > 0xffffffff)
      throw new Error(`webgpu ${kernel}: ${name} must be a non-negative integer below 2^32, got ${value}`);
  }
}

/** The geometry convolution and pooling share: an image, a window, strides, padding, the output size. */
export type WindowGeometry = Omit<Pool2dParams, 'n' | 'c'>;

/** Windows and strides of at least 1, and outH/outW = floor((size + 2·pad − window) / stride) + 1. */
export function requireWindowGeometry(kernel: string, g: WindowGeometry, shape: string): void {
  if (g.strideH < 1 || g.strideW < 1 || g.kh < 1 || g.kw < 1)
    throw new Error(`webgpu ${kernel}: windows and strides must be at least 1 (${shape})`);
  const expectH = Math.floor((g.h + 2 * g.padH - g.kh) / g.strideH) + 1;
  const expectW = Math.floor((g.w + 2 * g.padW - g.kw) / g.strideW) + 1;
  if (g.outH !== expectH || g.outW !== expectW)
    throw new Error(
      `webgpu ${kernel}: output ${g.outH}×${g.outW} does not match ${shape}, which gives ${expectH}×${expectW}`,
    );
}
