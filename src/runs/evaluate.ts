/**
 * Loss and accuracy of a model over a whole dataset, in eval mode (BatchNorm running statistics),
 * without gradients, batch by batch so memory stays bounded.
 */
import type { Preprocessor } from '../data/preprocess.js';
import type { Dataset } from '../data/types.js';
import { exampleSize } from '../data/types.js';
import type { Module } from '../nn/index.js';
import { accuracy, crossEntropy, labels as labelTensor, noGrad, tensor, tidy } from '../tensor/index.js';

export interface EvalResult {
  /** Mean cross-entropy over the examples. */
  readonly loss: number;
  readonly accuracy: number;
  readonly n: number;
}

export interface EvalOptions {
  /** Labels to score against (default the dataset's own). */
  readonly labels?: Int32Array;
  /** Images need the run's preprocessor; vectors are used as stored. */
  readonly preprocessor?: Preprocessor;
  readonly batchSize?: number;
  /** Score only the first n examples. */
  readonly limit?: number | null;
}

export function evaluate(model: Module, dataset: Dataset, options: EvalOptions = {}): EvalResult {
  const targets = options.labels ?? dataset.labels;
  if (targets === null) throw new Error(`cannot evaluate on ${dataset.spec} (${dataset.split}): it has no labels`);
  const n = Math.min(dataset.n, options.limit ?? dataset.n);
  const batchSize = options.batchSize ?? 1000;
  const size = exampleSize(dataset);
  if (dataset.kind === 'image' && !options.preprocessor)
    throw new Error(`evaluating images of ${dataset.spec} needs the run's preprocessor`);
  const wasTraining = model.training;
  model.eval();
  let lossSum = 0;
  let correct = 0;
  try {
    noGrad(() => {
      for (let start = 0; start < n; start += batchSize) {
        const count = Math.min(batchSize, n - start);
        const raw =
          dataset.kind === 'image'
            ? dataset.pixels.subarray(start * size, (start + count) * size)
            : dataset.values.subarray(start * size, (start + count) * size);
        const x = dataset.kind === 'image' ? options.preprocessor!.apply(raw) : Float32Array.from(raw);
        const y = targets.subarray(start, start + count);
        tidy(() => {
          const logits = model.call(tensor(x, [count, ...dataset.shape]));
          const batchLabels = labelTensor(y);
          lossSum += crossEntropy(logits, batchLabels).item() * count;
          correct += Math.round(accuracy(logits, batchLabels) * count);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return { loss: lossSum / n, accuracy: correct / n, n };
}
