import { avgPool2d, globalAvgPool2d, maxPool2d, type Tensor } from '../tensor/index.js';
import { pair, type Size2d } from './conv.js';
import { Module } from './module.js';

export interface Pool2dOptions {
  /** Defaults to the kernel size, as in PyTorch. */
  readonly stride?: Size2d;
  readonly padding?: Size2d;
}

abstract class Pool2dBase extends Module {
  readonly kernelSize: [number, number];
  readonly stride: [number, number];
  readonly padding: [number, number];

  constructor(kernelSize: Size2d, options: Pool2dOptions) {
    super();
    this.kernelSize = pair(kernelSize);
    this.stride = pair(options.stride ?? kernelSize);
    this.padding = pair(options.padding ?? 0);
  }

  override describe(): string {
    return `${this.constructor.name}(${this.kernelSize.join('×')}, stride=${this.stride.join('×')}, padding=${this.padding.join('×')})`;
  }

  protected poolOptions(): { kernelSize: [number, number]; stride: [number, number]; padding: [number, number] } {
    return { kernelSize: this.kernelSize, stride: this.stride, padding: this.padding };
  }
}

export class MaxPool2d extends Pool2dBase {
  constructor(kernelSize: Size2d, options: Pool2dOptions = {}) {
    super(kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.poolOptions());
  }
}

/** Average pooling; padding counts as zeros in the divisor (PyTorch's count_include_pad=True). */
export class AvgPool2d extends Pool2dBase {
  constructor(kernelSize: Size2d, options: Pool2dOptions = {}) {
    super(kernelSize, options);
  }

  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.poolOptions());
  }
}

/** [N, C, H, W] → [N, C]: PyTorch's AdaptiveAvgPool2d(1) followed by flatten. */
export class GlobalAvgPool2d extends Module {
  forward(x: Tensor): Tensor {
    return globalAvgPool2d(x);
  }
}
