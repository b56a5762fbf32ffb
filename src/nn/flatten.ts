import { flatten, type Tensor } from '../tensor/index.js';
import { Module } from './module.js';

/** [N, …] → [N, rest] (PyTorch's Flatten with start_dim=1). */
export class Flatten extends Module {
  forward(x: Tensor): Tensor {
    return flatten(x);
  }
}
