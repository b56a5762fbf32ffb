/** Softmax cross-entropy over logits [rows, classes], computed stably in float64. */

/** probs = softmax(logits) row-wise; returns mean over rows of −log softmax(logits)[label]. */
export function softmaxCrossEntropyForward(
  logits: Float32Array,
  labels: Int32Array,
  probs: Float32Array,
  rows: number,
  classes: number,
): number {
  let totalLoss = 0;
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    let max = -Infinity;
    for (let j = 0; j < classes; j++) max = Math.max(max, logits[base + j]!);
    let partition = 0;
    for (let j = 0; j < classes; j++) partition += Math.exp(logits[base + j]! - max);
    for (let j = 0; j < classes; j++) probs[base + j] = Math.exp(logits[base + j]! - max) / partition;
    // −log softmax[label] = log Σ exp(z − max) − (z[label] − max)
    totalLoss += Math.log(partition) - (logits[base + labels[r]!]! - max);
  }
  return totalLoss / rows;
}

/** dlogits = scale · (probs − onehot(labels)). */
export function softmaxCrossEntropyBackward(
  probs: Float32Array,
  labels: Int32Array,
  dlogits: Float32Array,
  rows: number,
  classes: number,
  scale: number,
): void {
  for (let r = 0; r < rows; r++) {
    const base = r * classes;
    const label = labels[r]!;
    for (let j = 0; j < classes; j++) dlogits[base + j] = scale * (probs[base + j]! - (j === label ? 1 : 0));
  }
}
