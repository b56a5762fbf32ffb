import { getKernels } from '../../kernels/index.js';
import { empty, formatShape, type Tensor } from '../tensor.js';
import { recordOp } from '../autograd.js';
import { gradBuffer, onWebGpu, requireFloatRank } from './util.js';
import { crossEntropyOnWebGpu } from './webgpu/loss.js';

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
  if (onWebGpu(op, logits, labels)) return { rows, classes };
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
 * shape []. A loss that is not finite is an error (training has diverged or the input is bad).
 */
export function crossEntropy(logits: Tensor, labels: Tensor): Tensor {
  const { rows, classes } = requireClassLabels('crossEntropy', logits, labels);
  if (logits.device === 'webgpu') return crossEntropyOnWebGpu(logits, labels, rows, classes);
  const kernels = getKernels();
  const probs = empty([rows, classes]);
  const loss = kernels.softmaxCrossEntropyForward(logits.data, labels.ints, probs.data, rows, classes);
  if (!Number.isFinite(loss)) {
    throw new Error(
      `crossEntropy: the loss is not finite (${loss}) for logits ${formatShape(logits.shape)}; the logits contain NaN or ±Infinity`,
    );
  }
  const out = empty([]);
  out.data[0] = loss;
  const labelValues = labels.ints;
  return recordOp('crossEntropy', out, [logits], (g) => {
    const dlogits = gradBuffer(logits.size);
    kernels.softmaxCrossEntropyBackward(probs.data, labelValues, dlogits, rows, classes, g[0]! / rows);
    return [dlogits];
  });
}
