/** Seeded random test inputs, so every test sees the same numbers on every machine. */
import { Rng } from '../../src/tensor/rng.js';
import { shapeSize, tensor, type Shape, type Tensor } from '../../src/tensor/tensor.js';

export function randomArray(rng: Rng, length: number, low = -1, high = 1): Float32Array {
  const out = new Float32Array(length);
  rng.fillUniform(out, low, high);
  return out;
}

/** A float32 tensor with entries uniform in [low, high). */
export function randomTensor(rng: Rng, shape: Shape, low = -1, high = 1): Tensor {
  return tensor(randomArray(rng, shapeSize(shape), low, high), shape);
}

/**
 * A float32 tensor whose entries are a random permutation of 0, gap, 2·gap, … shifted to be
 * centred on 0: no two entries are closer than `gap`, so a finite-difference step below gap / 2
 * never changes which entry of a window is the largest (max-pool gradients stay well defined).
 */
export function distinctTensor(rng: Rng, shape: Shape, gap = 0.05): Tensor {
  const size = shapeSize(shape);
  const order = rng.permutation(size);
  const values = new Float32Array(size);
  for (let i = 0; i < size; i++) values[i] = (order[i]! - (size - 1) / 2) * gap;
  return tensor(values, shape);
}

/** A float32 tensor with entries in ±[margin, 1): away from 0, where relu has its kink. */
export function awayFromZeroTensor(rng: Rng, shape: Shape, margin = 0.1): Tensor {
  const t = randomTensor(rng, shape, margin, 1);
  const data = t.data;
  for (let i = 0; i < data.length; i++) if (rng.uniform() < 0.5) data[i] = -data[i]!;
  return t;
}

export function randomLabelValues(rng: Rng, count: number, classes: number): Int32Array {
  const out = new Int32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.int(classes);
  return out;
}
