import type { Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { storageFor } from './storage.js';
import { requireSameShape } from './util.js';

/** a + b for identical shapes (no broadcasting). Both inputs receive the output's gradient buffer. */
export function add(a: Tensor, b: Tensor): Tensor {
  requireSameShape('add', a, b);
  const s = storageFor('add', a, b);
  const out = s.empty(a.shape);
  s.kernels.add(s.floats(a), s.floats(b), s.floats(out));
  return recordOp<GradData>('add', out, [a, b], (g) => [a.requiresGrad ? g : null, b.requiresGrad ? g : null]);
}
