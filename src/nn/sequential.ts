import type { Tensor } from '../tensor/index.js';
import { ReLU } from './activation.js';
import { isBatchNorm } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';
import { Module } from './module.js';

/** Children named '0', '1', … (PyTorch's Sequential keys), each fed the previous one's output. */
export class Sequential extends Module {
  private readonly layers: Module[] = [];

  constructor(...modules: Module[]) {
    super();
    for (const m of modules) this.append(m);
  }

  append(module: Module): this {
    this.layers.push(this.registerModule(String(this.layers.length), module));
    return this;
  }

  get length(): number {
    return this.layers.length;
  }

  at(index: number): Module {
    const module = this.layers[index];
    if (!module)
      throw new Error(
        `Sequential${this.path ? ` '${this.path}'` : ''}: no layer ${index} (it has ${this.layers.length})`,
      );
    return module;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (let i = 0; i < this.layers.length; i++) {
      const layer = this.layers[i]!;
      y = layer.call(y);
      const next = this.layers[i + 1];
      if (next instanceof ReLU && readsNotItsOutput(layer)) {
        y = next.callOnOutput(y, layer);
        i++;
      }
    }
    return y;
  }
}

/** Layers whose backward does not read their output, so a ReLU after them may run in place. */
function readsNotItsOutput(layer: Module): boolean {
  return layer instanceof Conv2d || layer instanceof Linear || isBatchNorm(layer);
}
