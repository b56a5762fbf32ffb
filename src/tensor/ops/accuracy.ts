import type { Tensor } from '../tensor.js';
import { requireClassLabels } from './crossEntropy.js';

/** Fraction of rows whose argmax equals the label; ties go to the first maximum. Not differentiable. */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const { rows, classes } = requireClassLabels('accuracy', logits, labels);
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
