import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradDestination, onWebGpu, requireFloatRank } from './util.js';
import { matmulOnWebGpu } from './webgpu/dense.js';

/** a [m,k] · b [k,n] → [m,n]. Backward: da = g · bᵀ, db = aᵀ · g. */
export function matmul(a: Tensor, b: Tensor): Tensor {
  requireFloatRank('matmul', a, [2], 'left operand');
  requireFloatRank('matmul', b, [2], 'right operand');
  const [m, k] = a.shape as [number, number];
  const [kb, n] = b.shape as [number, number];
  if (k !== kb) throw new Error(`matmul: inner dimensions differ: ${formatShape(a.shape)} · ${formatShape(b.shape)}`);
  if (onWebGpu('matmul', a, b)) return matmulOnWebGpu(a, b, m, k, n);
  const out = empty([m, n]);
  const kernels = getKernels();
  kernels.gemm(a.data, b.data, out.data, { m, n, k, transA: false, transB: false, alpha: 1, beta: 0 });
  return recordOp('matmul', out, [a, b], (g) => {
    let da: Float32Array | null = null;
    let db: Float32Array | null = null;
    if (a.requiresGrad) {
      const target = gradDestination(a, true);
      kernels.gemm(g, b.data, target.buffer, {
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
      const target = gradDestination(b, true);
      kernels.gemm(a.data, g, target.buffer, {
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
