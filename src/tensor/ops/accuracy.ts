import { tensor, type Tensor } from '../tensor.js';
import { requireClassLabels } from './crossEntropy.js';
import { storageByDevice } from './storage.js';

/** Fraction of rows whose argmax equals the label; ties go to the first maximum. Not differentiable.
 *  For cpu tensors; on any device, `accuracyTensor`. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const { rows, classes } = requireClassLabels('accuracy', logits, labels);
  if (logits.device === 'webgpu')
    throw new Error(
      `accuracy: ${logits.describe()} is on webgpu, whose values cannot be read synchronously; use accuracyTensor(logits, labels) and await its read()`,
    );
  const z = logits.data;
  const y = labels.ints;
  let correct = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let best = 0;
    for (let j = 1; j < classes; j++) if (z[base + j]! > z[base + best]!) best = j;
    if (best === y[r]) correct++;
  }
  return correct / rows;
}

/** `accuracy` as a one-element tensor on the logits' device (on webgpu it stays there until read). */
export function accuracyTensor(logits: Tensor, labels: Tensor): Tensor {
  const { rows, classes } = requireClassLabels('accuracy', logits, labels);
  const s = storageByDevice('accuracy', logits, labels);
  if (s.device === 'cpu') return tensor([accuracy(logits, labels)], []);
  const out = s.empty([]);
  s.kernels.accuracy(logits.deviceArray, labels.deviceArray, out.deviceArray, rows, classes);
  return out;
}
