import type { Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { elementwiseGrad, storageFor, type OpStorage } from './storage.js';
import { requireSameShape } from './util.js';

/** a ⊙ b for identical shapes (no broadcasting). Backward: da = g ⊙ b, db = g ⊙ a. */
export function mul(a: Tensor, b: Tensor): Tensor {
  requireSameShape('mul', a, b);
  return mulOn(storageFor('mul', a, b), a, b);
}

function mulOn<F extends GradData, I>(s: OpStorage<F, I>, a: Tensor, b: Tensor): Tensor {
  const kernels = s.kernels;
  const out = s.empty(a.shape);
  kernels.mul(s.floats(a), s.floats(b), s.floats(out));
  return recordOp<F>('mul', out, [a, b], (g, writable) => {
    let da: F | null = null;
    let db: F | null = null;
    // db first: da may then be computed in place over g.
    if (b.requiresGrad) {
      db = s.gradBuffer(b.size);
      kernels.mul(g, s.floats(a), db);
    }
    if (a.requiresGrad) {
      da = elementwiseGrad(s, g, writable, a.size);
      kernels.mul(g, s.floats(b), da);
    }
    return [da, db];
  });
}
