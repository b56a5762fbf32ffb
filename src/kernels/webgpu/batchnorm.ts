/**
 * Batch normalisation on the device over x [n, c, spatial] (src/kernels/reference/batchnorm.ts is
 * the specification: PyTorch's BatchNorm1d/2d, biased variance for normalising, unbiased for the
 * running estimate, running = (1 − momentum) · running + momentum · batch).
 *
 * Training forward and backward give each channel one workgroup: its threads stride over the
 * channel's n·spatial values, reduce in workgroup memory (two passes for the variance, as the
 * reference), then normalise the channel, so each is a single dispatch. Sums are float32.
 */
import type { BatchNormParams } from '../interface.js';
import { requireLength, requireSizes } from './checks.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { defineShader, elementShader, read, readWrite, treeSum, type Shader } from './shader.js';

const THREADS = 256;

const PARAMS: Shader['params'] = [
  ['count', 'u32'],
  ['n', 'u32'],
  ['c', 'u32'],
  ['spatial', 'u32'],
  ['eps', 'f32'],
  ['momentum', 'f32'],
];

/** Channel reductions: element e (0 ≤ e < n·spatial) of channel ch sits at channelIndex(ch, e). */
const CHANNEL = /* wgsl */ `
${treeSum(THREADS)}
fn channelIndex(ch: u32, e: u32) -> u32 {
  return ((e / p.spatial) * p.c + ch) * p.spatial + e % p.spatial;
}`;

const TRAIN_FORWARD = defineShader(
  'batchNormTrainForward',
  PARAMS,
  [
    read('x'),
    read('gamma'),
    read('beta'),
    readWrite('y'),
    readWrite('saveMean'),
    readWrite('saveInvStd'),
    readWrite('runningMean'),
    readWrite('runningVar'),
  ],
  /* wgsl */ `${CHANNEL}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let ch = wid.x;
  let m = p.n * p.spatial;
  var total = 0.0;
  for (var e = lid.x; e < m; e = e + ${THREADS}u) { total = total + x[channelIndex(ch, e)]; }
  let mean = treeSum(lid.x, total) / f32(m);
  var squares = 0.0;
  for (var e = lid.x; e < m; e = e + ${THREADS}u) {
    let d = x[channelIndex(ch, e)] - mean;
    squares = squares + d * d;
  }
  let variance = treeSum(lid.x, squares) / f32(m);
  let invStd = 1.0 / sqrt(variance + p.eps);
  let g = gamma[ch];
  let b = beta[ch];
  for (var e = lid.x; e < m; e = e + ${THREADS}u) {
    let at = channelIndex(ch, e);
    y[at] = (x[at] - mean) * invStd * g + b;
  }
  if (lid.x == 0u) {
    saveMean[ch] = mean;
    saveInvStd[ch] = invStd;
    let unbiased = select(variance, variance * f32(m) / f32(m - 1u), m > 1u);
    runningMean[ch] = (1.0 - p.momentum) * runningMean[ch] + p.momentum * mean;
    runningVar[ch] = (1.0 - p.momentum) * runningVar[ch] + p.momentum * unbiased;
  }
}`,
);

const BACKWARD = defineShader(
  'batchNormBackward',
  PARAMS,
  [
    read('x'),
    read('dy'),
    read('gamma'),
    read('saveMean'),
    read('saveInvStd'),
    readWrite('dx'),
    readWrite('dgamma'),
    readWrite('dbeta'),
  ],
  /* wgsl */ `${CHANNEL}
@compute @workgroup_size(${THREADS})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
  let ch = wid.x;
  let m = p.n * p.spatial;
  let mean = saveMean[ch];
  let invStd = saveInvStd[ch];
  var dySum = 0.0;
  var dyXhatSum = 0.0;
  for (var e = lid.x; e < m; e = e + ${THREADS}u) {
    let at = channelIndex(ch, e);
    dySum = dySum + dy[at];
    dyXhatSum = dyXhatSum + dy[at] * (x[at] - mean) * invStd;
  }
  let sumDy = treeSum(lid.x, dySum);
  let sumDyXhat = treeSum(lid.x, dyXhatSum);
  // dx = gamma · invStd / m · (m · dy − Σdy − x̂ · Σ dy·x̂)
  let factor = gamma[ch] * invStd / f32(m);
  for (var e = lid.x; e < m; e = e + ${THREADS}u) {
    let at = channelIndex(ch, e);
    let xhat = (x[at] - mean) * invStd;
    dx[at] = factor * (f32(m) * dy[at] - sumDy - xhat * sumDyXhat);
  }
  if (lid.x == 0u) {
    dbeta[ch] = sumDy;
    dgamma[ch] = sumDyXhat;
  }
}`,
);

const EVAL_FORWARD = elementShader(
  'batchNormEvalForward',
  PARAMS.slice(1),
  [read('x'), read('gamma'), read('beta'), read('runningMean'), read('runningVar'), readWrite('y')],
  /* wgsl */ `
  let ch = (i / p.spatial) % p.c;
  let invStd = 1.0 / sqrt(runningVar[ch] + p.eps);
  y[i] = (x[i] - runningMean[ch]) * invStd * gamma[ch] + beta[ch];`,
);

function checkBatchNorm(
  kernel: string,
  p: BatchNormParams,
  dense: Record<string, DeviceArray>,
  perChannel: Record<string, DeviceArray>,
): Record<string, number> {
  const { n, c, spatial } = p;
  requireSizes(kernel, { n, c, spatial });
  const shape = `x [${n}, ${c}, ${spatial}]`;
  for (const [name, array] of Object.entries(dense)) requireLength(kernel, name, array, n * c * spatial, shape);
  for (const [name, array] of Object.entries(perChannel)) requireLength(kernel, name, array, c, shape);
  return { n, c, spatial, eps: p.eps, momentum: p.momentum, count: n * c * spatial };
}

/** Training mode: batch statistics, saved mean and 1/sqrt(var + eps), running statistics updated in place. */
export function batchNormTrainForward(
  gpu: WebGpu,
  x: DeviceArray,
  gamma: DeviceArray,
  beta: DeviceArray,
  y: DeviceArray,
  saveMean: DeviceArray,
  saveInvStd: DeviceArray,
  runningMean: DeviceArray,
  runningVar: DeviceArray,
  p: BatchNormParams,
): void {
  const params = checkBatchNorm(
    'batchNormTrainForward',
    p,
    { x, y },
    { gamma, beta, saveMean, saveInvStd, runningMean, runningVar },
  );
  if (p.c === 0) return;
  if (p.n * p.spatial === 0) throw new Error(`webgpu batchNormTrainForward: no values per channel (n·spatial = 0)`);
  gpu.dispatch({
    shader: TRAIN_FORWARD,
    arrays: { x, gamma, beta, y, saveMean, saveInvStd, runningMean, runningVar },
    params,
    groups: [p.c],
  });
}

/** Eval mode: normalise with the running statistics. */
export function batchNormEvalForward(
  gpu: WebGpu,
  x: DeviceArray,
  gamma: DeviceArray,
  beta: DeviceArray,
  runningMean: DeviceArray,
  runningVar: DeviceArray,
  y: DeviceArray,
  p: BatchNormParams,
): void {
  const params = checkBatchNorm('batchNormEvalForward', p, { x, y }, { gamma, beta, runningMean, runningVar });
  if (x.length === 0) return;
  gpu.dispatch({
    shader: EVAL_FORWARD,
    arrays: { x, gamma, beta, runningMean, runningVar, y },
    params,
    groups: gpu.linearGroups(x.length),
  });
}

/** Backward of the training forward; dx, dgamma, dbeta are overwritten. */
export function batchNormBackward(
  gpu: WebGpu,
  x: DeviceArray,
  dy: DeviceArray,
  gamma: DeviceArray,
  saveMean: DeviceArray,
  saveInvStd: DeviceArray,
  dx: DeviceArray,
  dgamma: DeviceArray,
  dbeta: DeviceArray,
  p: BatchNormParams,
): void {
  const params = checkBatchNorm('batchNormBackward', p, { x, dy, dx }, { gamma, saveMean, saveInvStd, dgamma, dbeta });
  if (p.c === 0 || p.n * p.spatial === 0) return;
  gpu.dispatch({
    shader: BACKWARD,
    arrays: { x, dy, gamma, saveMean, saveInvStd, dx, dgamma, dbeta },
    params,
    groups: [p.c],
  });
}
