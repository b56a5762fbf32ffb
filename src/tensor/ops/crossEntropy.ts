import { formatShape, type Tensor } from '../tensor.js';
import { recordOp, type GradData } from '../autograd.js';
import { storageFor, type OpStorage } from './storage.js';
import { requireFloatRank } from './util.js';

/** Validates logits [N,K] against int32 labels [N] with every label in [0, K). */
export function requireClassLabels(op: string, logits: Tensor, labels: Tensor): { rows: number; classes: number } {
  requireFloatRank(op, logits, [2], 'logits');
  if (labels.dtype !== 'int32')
    throw new Error(`${op}: labels must be an int32 tensor (use labels()), got float32 ${formatShape(labels.shape)}`);
  const [rows, classes] = logits.shape as [number, number];
  if (labels.rank !== 1 || labels.shape[0] !== rows) {
    throw new Error(
      `${op}: labels ${formatShape(labels.shape)} do not match logits ${formatShape(logits.shape)}: expected [${rows}]`,
    );
  }
  if (rows === 0 || classes === 0) throw new Error(`${op}: logits ${formatShape(logits.shape)} are empty`);
  // Device labels are checked where they are made, on the host (the trainer's batches; tensor.to checks nothing).
  if (storageFor(op, logits, labels).device === 'webgpu') return { rows, classes };
  const values = labels.ints;
  for (let i = 0; i < rows; i++) {
    const label = values[i]!;
    if (label < 0 || label >= classes) {
      throw new Error(
        `${op}: label at index ${i} is ${label}, outside [0, ${classes}) for logits ${formatShape(logits.shape)}`,
      );
    }
  }
  return { rows, classes };
}

/**
 * Mean softmax cross-entropy of logits [N,K] against int32 labels [N], as a scalar tensor of
 * shape []. A loss that is not finite is an error (training has diverged or the input is bad): on
 * the host at once, on webgpu when it is read. Backward: dlogits = (g / N) · (softmax − onehot).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const { rows, classes } = requireClassLabels('crossEntropy', logits, labels);
  return crossEntropyOn(storageFor('crossEntropy', logits, labels), logits, labels, rows, classes);
}

function crossEntropyOn<F extends GradData, I>(
  s: OpStorage<F, I>,
  logits: Tensor,
  labels: Tensor,
  rows: number,
  classes: number,
): Tensor {
  const kernels = s.kernels;
  const probs = s.empty([rows, classes]);
  const out = s.empty([]);
  s.softmaxCrossEntropyInto(s.floats(logits), s.ints(labels), s.floats(probs), s.floats(out), rows, classes);
  return recordOp<F>('crossEntropy', out, [logits], (g) => [
    s.fromScalarGrad(g, (upstream) => {
      const dlogits = s.gradBuffer(logits.size);
      kernels.softmaxCrossEntropyBackward(s.floats(probs), s.ints(labels), dlogits, rows, classes, upstream / rows);
      return dlogits;
    }),
  ]);
}
