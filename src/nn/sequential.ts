import type { Tensor } from '../tensor/index.js';
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
    if (!module) throw new Error(`Sequential${this.path ? ` '${this.path}'` : ''}: no layer ${index} (it has ${this.layers.length})`);
    return module;
  }

  forward(x: Tensor): Tensor {
    let y = x;
    for (const layer of this.layers) y = layer.call(y);
    return y;
  }
}
