import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { leafSgdUpdate } from '../fusedStep.js';
import { gradBuffer, gradDestination, onWebGpu, requireFloatRank, requireVector } from './util.js';
import { linearOnWebGpu } from './webgpu/dense.js';

/**
 * x [N,in] · weightᵀ + bias → [N,out], weight in PyTorch's [out,in] layout.
 * Backward: dx = g · W, dW = gᵀ · x, dbias = Σ_rows g; when backward offers an SGD step for the
 * weight (Optimizer.backwardAndStep), dW goes straight into it (kernels.gemmSgdUpdate).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  requireFloatRank('linear', x, [2], 'input');
  requireFloatRank('linear', weight, [2], 'weight');
  const [rows, inFeatures] = x.shape as [number, number];
  const [outFeatures, weightIn] = weight.shape as [number, number];
  if (inFeatures !== weightIn) {
    throw new Error(
      `linear: input ${formatShape(x.shape)} has ${inFeatures} features but weight ${formatShape(weight.shape)} expects ${weightIn}`,
    );
  }
  if (bias) requireVector('linear', bias, outFeatures, 'bias', `weight ${formatShape(weight.shape)}`);
  if (onWebGpu('linear', x, weight, bias)) return linearOnWebGpu(x, weight, bias);
  const kernels = getKernels();
  const out = empty([rows, outFeatures]);
  kernels.gemm(x.data, weight.data, out.data, {
    m: rows,
    n: outFeatures,
    k: inFeatures,
    transA: false,
    transB: true,
    alpha: 1,
    beta: 0,
  });
  if (bias) kernels.addRowVector(out.data, bias.data, rows, outFeatures);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp('linear', out, inputs, (g) => {
    let dx: Float32Array | null = null;
    let dw: Float32Array | null = null;
    let db: Float32Array | null = null;
    if (x.requiresGrad) {
      dx = gradBuffer(x.size);
      kernels.gemm(g, weight.data, dx, {
        m: rows,
        n: inFeatures,
        k: outFeatures,
        transA: false,
        transB: false,
        alpha: 1,
        beta: 0,
      });
    }
    if (weight.requiresGrad) {
      const weightGradient = { m: outFeatures, n: inFeatures, k: rows, transA: true, transB: false, alpha: 1 } as const;
      // After dx, the last use of the weights: their optimiser step may run as dW is computed.
      const update = leafSgdUpdate(weight);
      if (update) {
        const momentum = update.momentumBuffer ? update.momentumBuffer.data : null;
        kernels.gemmSgdUpdate(g, x.data, weight.data, momentum, weightGradient, update.sgd);
      } else {
        const target = gradDestination(weight, true);
        kernels.gemm(g, x.data, target.buffer, { ...weightGradient, beta: target.beta });
        dw = target.buffer;
      }
    }
    if (bias?.requiresGrad) {
      const target = gradDestination(bias, true);
      kernels.sumRows(g, target.buffer, rows, outFeatures, target.beta);
      db = target.buffer;
    }
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
