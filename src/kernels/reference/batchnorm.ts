/**
 * Batch normalisation over x [n, c, spatial], per channel, as PyTorch's BatchNorm1d/2d:
 * biased batch variance for normalising, unbiased variance for the running estimate, and
 * running = (1 − momentum) · running + momentum · batch. Statistics are two-pass, in float64.
 */
import type { BatchNormParams } from '../interface.js';

/** Mean and biased variance of channel ch. */
function channelStatistics(x: Float32Array, ch: number, p: BatchNormParams): { mean: number; variance: number } {
  const { n, c, spatial } = p;
  const count = n * spatial;
  let total = 0;
  for (let b = 0; b < n; b++) {
    const base = (b * c + ch) * spatial;
    for (let s = 0; s < spatial; s++) total += x[base + s]!;
  }
  const mean = total / count;
  let squares = 0;
  for (let b = 0; b < n; b++) {
    const base = (b * c + ch) * spatial;
    for (let s = 0; s < spatial; s++) {
      const d = x[base + s]! - mean;
      squares += d * d;
    }
  }
  return { mean, variance: squares / count };
}

/** y = (x − mean) · invStd · gamma + beta for channel ch. */
function normaliseChannel(
  x: Float32Array,
  y: Float32Array,
  ch: number,
  mean: number,
  invStd: number,
  gamma: number,
  beta: number,
  p: BatchNormParams,
): void {
  const { n, c, spatial } = p;
  for (let b = 0; b < n; b++) {
    const base = (b * c + ch) * spatial;
    for (let s = 0; s < spatial; s++) y[base + s] = (x[base + s]! - mean) * invStd * gamma + beta;
  }
}

export function batchNormTrainForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  y: Float32Array,
  saveMean: Float32Array,
  saveInvStd: Float32Array,
  runningMean: Float32Array,
  runningVar: Float32Array,
  p: BatchNormParams,
): void {
  const count = p.n * p.spatial;
  for (let ch = 0; ch < p.c; ch++) {
    const { mean, variance } = channelStatistics(x, ch, p);
    const invStd = 1 / Math.sqrt(variance + p.eps);
    normaliseChannel(x, y, ch, mean, invStd, gamma[ch]!, beta[ch]!, p);
    saveMean[ch] = mean;
    saveInvStd[ch] = invStd;
    const unbiased = count > 1 ? (variance * count) / (count - 1) : variance;
    runningMean[ch] = (1 - p.momentum) * runningMean[ch]! + p.momentum * mean;
    runningVar[ch] = (1 - p.momentum) * runningVar[ch]! + p.momentum * unbiased;
  }
}

export function batchNormEvalForward(
  x: Float32Array,
  gamma: Float32Array,
  beta: Float32Array,
  runningMean: Float32Array,
  runningVar: Float32Array,
  y: Float32Array,
  p: BatchNormParams,
): void {
  for (let ch = 0; ch < p.c; ch++) {
    const invStd = 1 / Math.sqrt(runningVar[ch]! + p.eps);
    normaliseChannel(x, y, ch, runningMean[ch]!, invStd, gamma[ch]!, beta[ch]!, p);
  }
}

/**
 * Backward of the training forward, with x̂ = (x − mean) · invStd and m = n · spatial:
 * dbeta = Σ dy, dgamma = Σ dy · x̂, dx = gamma · invStd / m · (m · dy − dbeta − x̂ · dgamma).
 */
export function batchNormBackward(
  x: Float32Array,
  dy: Float32Array,
  gamma: Float32Array,
  saveMean: Float32Array,
  saveInvStd: Float32Array,
  dx: Float32Array,
  dgamma: Float32Array,
  dbeta: Float32Array,
  p: BatchNormParams,
): void {
  const { n, c, spatial } = p;
  const count = n * spatial;
  for (let ch = 0; ch < c; ch++) {
    const mean = saveMean[ch]!;
    const invStd = saveInvStd[ch]!;
    let sumDy = 0;
    let sumDyXhat = 0;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * spatial;
      for (let s = 0; s < spatial; s++) {
        const g = dy[base + s]!;
        sumDy += g;
        sumDyXhat += g * (x[base + s]! - mean) * invStd;
      }
    }
    dbeta[ch] = sumDy;
    dgamma[ch] = sumDyXhat;
    const factor = (gamma[ch]! * invStd) / count;
    for (let b = 0; b < n; b++) {
      const base = (b * c + ch) * spatial;
      for (let s = 0; s < spatial; s++) {
        const xhat = (x[base + s]! - mean) * invStd;
        dx[base + s] = factor * (count * dy[base + s]! - sumDy - xhat * sumDyXhat);
      }
    }
  }
}
