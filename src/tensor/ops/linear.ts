import type { GradData } from '../autograd.js';
import { formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { leafSgdUpdate } from '../fusedStep.js';
import { storageFor, type OpStorage } from './storage.js';
import { requireFloatRank, requireVector } from './util.js';

/**
 * x [N,in] · weightᵀ + bias → [N,out], weight in PyTorch's [out,in] layout.
 * Backward: dx = g · W, dW = gᵀ · x, dbias = Σ_rows g; when backward offers an SGD step for the
 * weight (Optimizer.backwardAndStep), dW goes straight into it (kernels.gemmSgdUpdate).
 */
export function linear(x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  requireFloatRank('linear', x, [2], 'input');
  requireFloatRank('linear', weight, [2], 'weight');
  const [, inFeatures] = x.shape as [number, number];
  const [outFeatures, weightIn] = weight.shape as [number, number];
  if (inFeatures !== weightIn) {
    throw new Error(
      `linear: input ${formatShape(x.shape)} has ${inFeatures} features but weight ${formatShape(weight.shape)} expects ${weightIn}`,
    );
  }
  if (bias) requireVector('linear', bias, outFeatures, 'bias', `weight ${formatShape(weight.shape)}`);
  return linearOn(storageFor('linear', x, weight, bias), x, weight, bias);
}

function linearOn<F extends GradData, I>(s: OpStorage<F, I>, x: Tensor, weight: Tensor, bias: Tensor | null): Tensor {
  const [rows, inFeatures] = x.shape as [number, number];
  const outFeatures = weight.shape[0]!;
  const kernels = s.kernels;
  const out = s.empty([rows, outFeatures]);
  kernels.gemm(s.floats(x), s.floats(weight), s.floats(out), {
    m: rows,
    n: outFeatures,
    k: inFeatures,
    transA: false,
    transB: true,
    alpha: 1,
    beta: 0,
  });
  if (bias) kernels.addRowVector(s.floats(out), s.floats(bias), rows, outFeatures);
  const inputs = bias ? [x, weight, bias] : [x, weight];
  return recordOp<F>('linear', out, inputs, (g) => {
    let dx: F | null = null;
    let dw: F | null = null;
    let db: F | null = null;
    if (x.requiresGrad) {
      dx = s.gradBuffer(x.size);
      kernels.gemm(g, s.floats(weight), dx, {
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
      // After dx (in program order on every device), the last use of the weights: their optimiser
      // step may run as dW is computed.
      const update = leafSgdUpdate(weight);
      if (update) {
        const momentum = update.momentumBuffer ? s.floats(update.momentumBuffer) : null;
        kernels.gemmSgdUpdate(g, s.floats(x), s.floats(weight), momentum, weightGradient, update.sgd);
      } else {
        const target = s.gradDestination(weight, true);
        kernels.gemm(g, s.floats(x), target.buffer, { ...weightGradient, beta: target.beta });
        dw = target.buffer;
      }
    }
    if (bias?.requiresGrad) {
      const target = s.gradDestination(bias, true);
      kernels.sumRows(g, target.buffer, rows, outFeatures, target.beta);
      db = target.buffer;
    }
    return bias ? [dx, dw, db] : [dx, dw];
  });
}
