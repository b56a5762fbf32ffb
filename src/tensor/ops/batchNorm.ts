import type { BatchNormParams } from '../../kernels/interface.js';
import { formatShape, type Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { gradFor, storageFor, type OpStorage } from './storage.js';
import { requireFloatRank, requireVector } from './util.js';

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
  const s = storageFor('batchNorm', x, gamma, beta, runningMean, runningVar);
  const inputs = { x, gamma, beta, runningMean, runningVar };
  return opts.training ? batchNormTrain(s, inputs, checkTrainingBatch(x, p)) : batchNormEval(s, inputs, p);
}

interface BatchNormInputs {
  readonly x: Tensor;
  readonly gamma: Tensor;
  readonly beta: Tensor;
  readonly runningMean: Tensor;
  readonly runningVar: Tensor;
}

function checkTrainingBatch(x: Tensor, p: BatchNormParams): BatchNormParams {
  if (p.n * p.spatial < 2) {
    throw new Error(`batchNorm: training needs more than one value per channel, got input ${formatShape(x.shape)}`);
  }
  return p;
}

function batchNormTrain<F extends GradData, I>(
  s: OpStorage<F, I>,
  inputs: BatchNormInputs,
  p: BatchNormParams,
): Tensor {
  const { x, gamma, beta, runningMean, runningVar } = inputs;
  const kernels = s.kernels;
  const out = s.empty(x.shape);
  const saveMean = s.empty([p.c]);
  const saveInvStd = s.empty([p.c]);
  kernels.batchNormTrainForward(
    s.floats(x),
    s.floats(gamma),
    s.floats(beta),
    s.floats(out),
    s.floats(saveMean),
    s.floats(saveInvStd),
    s.floats(runningMean),
    s.floats(runningVar),
    p,
  );
  return recordOp<F>('batchNorm', out, [x, gamma, beta], (g) => {
    const dx = s.gradBuffer(x.size);
    const dgamma = s.gradDestination(gamma, false).buffer;
    const dbeta = s.gradDestination(beta, false).buffer;
    kernels.batchNormBackward(
      s.floats(x),
      g,
      s.floats(gamma),
      s.floats(saveMean),
      s.floats(saveInvStd),
      dx,
      dgamma,
      dbeta,
      p,
    );
    return [gradFor(s, x, dx), gradFor(s, gamma, dgamma), gradFor(s, beta, dbeta)];
  });
}

/** A copy of t's values on its device. */
function copyOf<F extends GradData, I>(s: OpStorage<F, I>, t: Tensor): Tensor {
  const copy = s.empty(t.shape);
  s.kernels.scale(s.floats(t), 1, s.floats(copy));
  return copy;
}

/** A pooled per-channel buffer of `value`, for the eval backward's fixed statistics. */
function constant<F extends GradData, I>(s: OpStorage<F, I>, length: number, value: number): F {
  const buffer = s.gradBuffer(length);
  s.kernels.fill(buffer, value);
  return buffer;
}

function batchNormEval<F extends GradData, I>(s: OpStorage<F, I>, inputs: BatchNormInputs, p: BatchNormParams): Tensor {
  const { x, gamma, beta, runningMean, runningVar } = inputs;
  const kernels = s.kernels;
  const out = s.empty(x.shape);
  kernels.batchNormEvalForward(
    s.floats(x),
    s.floats(gamma),
    s.floats(beta),
    s.floats(runningMean),
    s.floats(runningVar),
    s.floats(out),
    p,
  );
  // The running statistics may change (a later train-mode call) before backward runs: keep copies.
  const mean = copyOf(s, runningMean);
  const variance = copyOf(s, runningVar);
  return recordOp<F>('batchNorm', out, [x, gamma, beta], (g) => {
    const zeros = constant(s, p.c, 0);
    const ones = constant(s, p.c, 1);
    // y = x̂ · gamma + beta with x̂ = (x − mean) / sqrt(var + eps) fixed, so
    // dx = g · gamma / sqrt(var + eps): the eval forward applied to g with mean 0 and beta 0.
    let dx: F | null = null;
    if (x.requiresGrad) {
      dx = s.gradBuffer(x.size);
      kernels.batchNormEvalForward(g, s.floats(gamma), zeros, zeros, s.floats(variance), dx, p);
    }
    // dgamma = Σ g · x̂ and dbeta = Σ g: the training backward evaluated at x̂ with mean 0 and
    // invStd 1 produces exactly these (its dx is not wanted).
    let dgamma: F | null = null;
    let dbeta: F | null = null;
    if (gamma.requiresGrad || beta.requiresGrad) {
      const xhat = s.gradBuffer(x.size);
      kernels.batchNormEvalForward(s.floats(x), ones, zeros, s.floats(mean), s.floats(variance), xhat, p);
      const unusedDx = s.gradBuffer(x.size);
      dgamma = s.gradBuffer(p.c);
      dbeta = s.gradBuffer(p.c);
      kernels.batchNormBackward(xhat, g, ones, zeros, ones, unusedDx, dgamma, dbeta, p);
      s.release(xhat);
      s.release(unusedDx);
    }
    s.release(zeros);
    s.release(ones);
    return [dx, gradFor(s, gamma, dgamma), gradFor(s, beta, dbeta)];
  });
}
