import { conv2d, type Tensor } from '../tensor/index.js';
import { checkPositiveInteger, Module, persistentTensor } from './module.js';

/** A size given for both spatial dimensions or as [height, width]. */
export type Size2d = number | readonly [number, number];

export function pair(size: Size2d): [number, number] {
  return typeof size === 'number' ? [size, size] : [size[0], size[1]];
}

export interface Conv2dOptions {
  readonly stride?: Size2d;
  readonly padding?: Size2d;
  readonly bias?: boolean;
}

/** 2-d convolution, weight [outC, inC, kh, kw] (PyTorch's layout). Weights start at zero: see `initializeModule`. */
export class Conv2d extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: Size2d,
    options: Conv2dOptions = {},
  ) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? 1);
    this.padding = pair(options.padding ?? 0);
    checkPositiveInteger('Conv2d', {
      inChannels,
      outChannels,
      kernelHeight: this.kernelSize[0],
      kernelWidth: this.kernelSize[1],
      strideHeight: this.stride[0],
      strideWidth: this.stride[1],
    });
    for (const p of this.padding) {
      if (!Number.isInteger(p) || p < 0)
        throw new Error(`Conv2d: padding must be non-negative integers, got [${this.padding.join(', ')}]`);
    }
    const [kh, kw] = this.kernelSize;
    this.weight = this.registerParameter('weight', persistentTensor([outChannels, inChannels, kh, kw]));
    this.bias = (options.bias ?? true) ? this.registerParameter('bias', persistentTensor([outChannels])) : null;
  }

  override describe(): string {
    const k = this.kernelSize.join('×');
    return `Conv2d(${this.inChannels}, ${this.outChannels}, ${k}, stride=${this.stride.join('×')}, padding=${this.padding.join('×')}, bias=${this.bias !== null})`;
  }

  forward(x: Tensor): Tensor {
    if (x.rank !== 4 || x.shape[1] !== this.inChannels) {
      throw new Error(
        `${this.path || 'Conv2d'}: ${this.describe()} expects input [N, ${this.inChannels}, H, W], got [${x.shape.join(', ')}]`,
      );
    }
    return conv2d(x, this.weight, this.bias, { stride: this.stride, padding: this.padding });
  }
}
