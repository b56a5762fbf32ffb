import type { GradData } from '../autograd.js';
import { formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { storageFor, type OpStorage } from './storage.js';
import { requireFloatRank } from './util.js';

/** a [m,k] · b [k,n] → [m,n]. Backward: da = g · bᵀ, db = aᵀ · g. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloatRank('matmul', a, [2], 'left operand');
  requireFloatRank('matmul', b, [2], 'right operand');
  const [m, k] = a.shape as [number, number];
  const [kb, n] = b.shape as [number, number];
  if (k !== kb) throw new Error(`matmul: inner dimensions differ: ${formatShape(a.shape)} · ${formatShape(b.shape)}`);
  return matmulOn(storageFor('matmul', a, b), a, b, m, k, n);
}

function matmulOn<F extends GradData, I>(s: OpStorage<F, I>, a: Tensor, b: Tensor, m: number, k: number, n: number) {
  const kernels = s.kernels;
  const out = s.empty([m, n]);
  kernels.gemm(s.floats(a), s.floats(b), s.floats(out), { m, n, k, transA: false, transB: false, alpha: 1, beta: 0 });
  return recordOp<F>('matmul', out, [a, b], (g) => {
    let da: F | null = null;
    let db: F | null = null;
    if (a.requiresGrad) {
      const target = s.gradDestination(a, true);
      kernels.gemm(g, s.floats(b), target.buffer, {
        m,
        n: k,
        k: n,
        transA: false,
        transB: true,
        alpha: 1,
        beta: target.beta,
      });
      da = target.buffer;
    }
    if (b.requiresGrad) {
      const target = s.gradDestination(b, true);
      kernels.gemm(s.floats(a), g, target.buffer, {
        m: k,
        n,
        k: m,
        transA: true,
        transB: false,
        alpha: 1,
        beta: target.beta,
      });
      db = target.buffer;
    }
    return [da, db];
  });
}
