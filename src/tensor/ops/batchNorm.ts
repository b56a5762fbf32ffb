import type { BatchNormParams } from '../../kernels/interface.js';
import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import {
  gradBuffer,
  gradDestination,
  gradFor,
  onWebGpu,
  releaseBuffer,
  requireFloatRank,
  requireVector,
} from './util.js';
import { batchNormEvalOnWebGpu, batchNormTrainOnWebGpu } from './webgpu/batchNorm.js';

export interface BatchNormOptions {
  /** Train mode normalises with batch statistics and updates the running ones; eval mode uses the running ones. */
  readonly training: boolean;
  /** PyTorch convention: running = (1 − momentum) · running + momentum · batch. Default 0.1. */
  readonly momentum?: number;
  /** Default 1e-5. */
  readonly eps?: number;
}

function batchNormParams(x: Tensor, opts: BatchNormOptions): BatchNormParams {
  const momentum = opts.momentum ?? 0.1;
  const eps = opts.eps ?? 1e-5;
  if (!Number.isFinite(momentum) || momentum < 0 || momentum > 1)
    throw new Error(`batchNorm: momentum must be in [0, 1], got ${momentum}`);
  if (!Number.isFinite(eps) || eps < 0) throw new Error(`batchNorm: eps must be a non-negative number, got ${eps}`);
  const [n, c] = x.shape as [number, number];
  const spatial = x.rank === 4 ? x.shape[2]! * x.shape[3]! : 1;
  return { n, c, spatial, eps, momentum };
}

/**
 * Batch normalisation as PyTorch's BatchNorm1d ([N,C]) / BatchNorm2d ([N,C,H,W]), per channel.
 * Train mode normalises with the batch mean and biased variance and updates runningMean /
 * runningVar in place (unbiased variance; not recorded by autograd). Eval mode normalises with the
 * running statistics, and its backward is that of the fixed affine map.
 */
export function batchNorm(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  opts: BatchNormOptions,
): Tensor {
  requireFloatRank('batchNorm', x, [2, 4], 'input');
  const p = batchNormParams(x, opts);
  const context = `input ${formatShape(x.shape)} with ${p.c} channels`;
  requireVector('batchNorm', gamma, p.c, 'gamma', context);
  requireVector('batchNorm', beta, p.c, 'beta', context);
  requireVector('batchNorm', runningMean, p.c, 'runningMean', context);
  requireVector('batchNorm', runningVar, p.c, 'runningVar', context);
  if (onWebGpu('batchNorm', x, gamma, beta, runningMean, runningVar)) {
    return opts.training
      ? batchNormTrainOnWebGpu(x, gamma, beta, runningMean, runningVar, checkTrainingBatch(x, p))
      : batchNormEvalOnWebGpu(x, gamma, beta, runningMean, runningVar, p);
  }
  return opts.training
    ? batchNormTrain(x, gamma, beta, runningMean, runningVar, p)
    : batchNormEval(x, gamma, beta, runningMean, runningVar, p);
}

function checkTrainingBatch(x: Tensor, p: BatchNormParams): BatchNormParams {
  if (p.n * p.spatial < 2) {
    throw new Error(`batchNorm: training needs more than one value per channel, got input ${formatShape(x.shape)}`);
  }
  return p;
}

function batchNormTrain(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormParams,
): Tensor {
  checkTrainingBatch(x, p);
  const kernels = getKernels();
  const out = empty(x.shape);
  const saveMean = empty([p.c]);
  const saveInvStd = empty([p.c]);
  kernels.batchNormTrainForward(
    x.data,
    gamma.data,
    beta.data,
    out.data,
    saveMean.data,
    saveInvStd.data,
    runningMean.data,
    runningVar.data,
    p,
  );
  return recordOp('batchNorm', out, [x, gamma, beta], (g) => {
    const dx = gradBuffer(x.size);
    const dgamma = gradDestination(gamma, false).buffer;
    const dbeta = gradDestination(beta, false).buffer;
    kernels.batchNormBackward(x.data, g, gamma.data, saveMean.data, saveInvStd.data, dx, dgamma, dbeta, p);
    return [gradFor(x, dx), gradFor(gamma, dgamma), gradFor(beta, dbeta)];
  });
}

function batchNormEval(
  x: Tensor,
  gamma: Tensor,
  beta: Tensor,
  runningMean: Tensor,
  runningVar: Tensor,
  p: BatchNormParams,
): Tensor {
  const kernels = getKernels();
  const out = empty(x.shape);
  kernels.batchNormEvalForward(x.data, gamma.data, beta.data, runningMean.data, runningVar.data, out.data, p);
  // The running statistics may change (a later train-mode call) before backward runs: keep copies.
  const mean = Float32Array.from(runningMean.data);
  const variance = Float32Array.from(runningVar.data);
  return recordOp('batchNorm', out, [x, gamma, beta], (g) => {
    const zeros = new Float32Array(p.c);
    const ones = new Float32Array(p.c);
    kernels.fill(ones, 1);
    // y = x̂ · gamma + beta with x̂ = (x − mean) / sqrt(var + eps) fixed, so
    // dx = g · gamma / sqrt(var + eps): the eval forward applied to g with mean 0 and beta 0.
    let dx: Float32Array | null = null;
    if (x.requiresGrad) {
      dx = gradBuffer(x.size);
      kernels.batchNormEvalForward(g, gamma.data, zeros, zeros, variance, dx, p);
    }
    // dgamma = Σ g · x̂ and dbeta = Σ g: the training backward evaluated at x̂ with mean 0 and
    // invStd 1 produces exactly these (its dx is not wanted).
    let dgamma: Float32Array | null = null;
    let dbeta: Float32Array | null = null;
    if (gamma.requiresGrad || beta.requiresGrad) {
      const xhat = gradBuffer(x.size);
      kernels.batchNormEvalForward(x.data, ones, zeros, mean, variance, xhat, p);
      const unusedDx = gradBuffer(x.size);
      dgamma = gradBuffer(p.c);
      dbeta = gradBuffer(p.c);
      kernels.batchNormBackward(xhat, g, ones, zeros, ones, unusedDx, dgamma, dbeta, p);
      releaseBuffer(xhat);
      releaseBuffer(unusedDx);
    }
    return [dx, gradFor(gamma, dgamma), gradFor(beta, dbeta)];
  });
}
