/**
 * Softmax cross-entropy on the device (src/kernels/reference/loss.ts is the specification). One
 * thread per row computes the row's max, normaliser function, probabilities and loss in float32;
 * the mean over rows is reduced on the device (reduce.ts) into a one-element array, so a training
 * step reads nothing back unless the loss is logged.
 */
import { requireLength, requireSizes, requireType } from './checks.js';
import { reduceInto } from './reduce.js';
import type { DeviceArray, WebGpu } from './runtime.js';
import { elementShader, read, readWrite } from './shader.js';

// One thread per row (p.count rows).
const FORWARD = elementShader(
  'softmaxCrossEntropyForward',
  [['classes', 'u32']],
  [read('logits'), read('labels', 'i32'), readWrite('probs'), readWrite('rowLoss')],
  /* wgsl */ `
  let r = i;
  let base = r * p.classes;
  var top = logits[base];
  for (var j = 1u; j < p.classes; j = j + 1u) { top = max(top, logits[base + j]); }
  var normaliser = 0.0;
  for (var j = 0u; j < p.classes; j = j + 1u) { normaliser = normaliser + exp(logits[base + j] - top); }
  for (var j = 0u; j < p.classes; j = j + 1u) { probs[base + j] = exp(logits[base + j] - top) / normaliser; }
  // −log softmax[label] = log Σ exp(z − max) − (z[label] − max)
  rowLoss[r] = log(normaliser) - (logits[base + u32(labels[r])] - top);`,
);

const BACKWARD = elementShader(
  'softmaxCrossEntropyBackward',
  [
    ['classes', 'u32'],
    ['scale', 'f32'],
  ],
  [read('probs'), read('labels', 'i32'), readWrite('dlogits')],
  /* wgsl */ `
  let hit = u32(labels[i / p.classes]) == i % p.classes;
  dlogits[i] = p.scale * (probs[i] - select(0.0, 1.0, hit));`,
);

// One thread per row: 1 where the first maximum of the row is at its label (the reference's argmax), else 0.
const HITS = elementShader(
  'accuracyHits',
  [['classes', 'u32']],
  [read('logits'), read('labels', 'i32'), readWrite('rowHit')],
  /* wgsl */ `
  let base = i * p.classes;
  var best = 0u;
  for (var j = 1u; j < p.classes; j = j + 1u) { if (logits[base + j] > logits[base + best]) { best = j; } }
  rowHit[i] = select(0.0, 1.0, i32(best) == labels[i]);`,
);

const rowScratch = new WeakMap<WebGpu, Map<string, DeviceArray>>();

/** Per-row values (losses, hits), grown as needed; a smaller batch uses a prefix (the shaders bound by `rows`). */
function rowArray(gpu: WebGpu, what: string, rows: number): DeviceArray {
  let arrays = rowScratch.get(gpu);
  if (!arrays) {
    arrays = new Map();
    rowScratch.set(gpu, arrays);
  }
  const current = arrays.get(what);
  if (current && current.length >= rows) return current;
  // Dispatches already recorded may use the old array: submit them before letting it go.
  gpu.submit();
  current?.destroy();
  const array = gpu.createArray(Math.max(rows, 128), 'f32', what);
  arrays.set(what, array);
  return array;
}

function checkShapes(kernel: string, rows: number, classes: number, labels: DeviceArray, dense: DeviceArray[]): void {
  requireSizes(kernel, { rows, classes });
  if (rows > 0 && classes === 0) throw new Error(`webgpu ${kernel}: ${rows} rows of 0 classes`);
  const shape = `[${rows}, ${classes}]`;
  requireType(kernel, 'labels', labels, 'i32');
  requireLength(kernel, 'labels', labels, rows, shape);
  for (const [i, array] of dense.entries())
    requireLength(kernel, i === 0 ? 'logits' : 'probs', array, rows * classes, shape);
}

/** Row-wise softmax of logits into probs; loss[0] = mean over rows of −log softmax(logits)[label]. */
export function softmaxCrossEntropyForward(
  gpu: WebGpu,
  logits: DeviceArray,
  labels: DeviceArray,
  probs: DeviceArray,
  loss: DeviceArray,
  rows: number,
  classes: number,
): void {
  checkShapes('softmaxCrossEntropyForward', rows, classes, labels, [logits, probs]);
  if (rows === 0) throw new Error('webgpu softmaxCrossEntropyForward: the mean over 0 rows is undefined');
  const rowLoss = rowArray(gpu, 'softmax cross-entropy row losses', rows);
  gpu.dispatch({
    shader: FORWARD,
    arrays: { logits, labels, probs, rowLoss },
    params: { count: rows, classes },
    groups: gpu.linearGroups(rows),
  });
  // Only the first `rows` entries are this batch's: reduce a view of that length.
  reduceInto(gpu, 'softmaxCrossEntropyForward', rowLoss, loss, { squares: false, scale: 1 / rows, count: rows });
}

/** dlogits = scale · (probs − onehot(labels)). */
export function softmaxCrossEntropyBackward(
  gpu: WebGpu,
  probs: DeviceArray,
  labels: DeviceArray,
  dlogits: DeviceArray,
  rows: number,
  classes: number,
  scale: number,
): void {
  checkShapes('softmaxCrossEntropyBackward', rows, classes, labels, [probs, dlogits]);
  const count = rows * classes;
  if (count === 0) return;
  gpu.dispatch({
    shader: BACKWARD,
    arrays: { probs, labels, dlogits },
    params: { count, classes, scale },
    groups: gpu.linearGroups(count),
  });
}

/** out[0] = the fraction of rows whose first maximum is at the row's label (the reference accuracy). */
export function accuracy(
  gpu: WebGpu,
  logits: DeviceArray,
  labels: DeviceArray,
  out: DeviceArray,
  rows: number,
  classes: number,
): void {
  checkShapes('accuracy', rows, classes, labels, [logits]);
  if (rows === 0) throw new Error('webgpu accuracy: the fraction of 0 rows is undefined');
  const rowHit = rowArray(gpu, 'accuracy row hits', rows);
  gpu.dispatch({
    shader: HITS,
    arrays: { logits, labels, rowHit },
    params: { count: rows, classes },
    groups: gpu.linearGroups(rows),
  });
  reduceInto(gpu, 'accuracy', rowHit, out, { squares: false, scale: 1 / rows, count: rows });
}
