/**
 * Loss and accuracy of a model over a whole dataset, in eval mode (BatchNorm running statistics),
 * without gradients, batch by batch so memory stays bounded.
 */
import type { Preprocessor } from '../data/preprocess.js';
import type { Dataset } from '../data/types.js';
import { exampleSize } from '../data/types.js';
import type { Module } from '../nn/index.js';
import type { Device } from '../tensor/index.js';
import {
  accuracy,
  accuracyTensor,
  crossEntropy,
  labels as labelTensor,
  noGrad,
  tensor,
  tidy,
} from '../tensor/index.js';

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

/** One batch of an evaluation: inputs ready for the model, labels, and how many examples. */
interface EvalBatch {
  readonly x: Float32Array;
  readonly y: Int32Array;
  readonly count: number;
}

/** The batches `evaluate` scores, in order (checks the options first). */
function* evalBatches(dataset: Dataset, options: EvalOptions): Generator<EvalBatch> {
  const targets = options.labels ?? dataset.labels;
  if (targets === null) throw new Error(`cannot evaluate on ${dataset.spec} (${dataset.split}): it has no labels`);
  const n = Math.min(dataset.n, options.limit ?? dataset.n);
  const batchSize = options.batchSize ?? 1000;
  const size = exampleSize(dataset);
  if (dataset.kind === 'image' && !options.preprocessor)
    throw new Error(`evaluating images of ${dataset.spec} needs the run's preprocessor`);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const raw =
      dataset.kind === 'image'
        ? dataset.pixels.subarray(start * size, (start + count) * size)
        : dataset.values.subarray(start * size, (start + count) * size);
    const x = dataset.kind === 'image' ? options.preprocessor!.apply(raw) : Float32Array.from(raw);
    yield { x, y: targets.subarray(start, start + count), count };
  }
}

/** Sums over batches: loss weighted by batch size, correct predictions. */
class EvalTotals {
  private lossSum = 0;
  private correct = 0;
  private n = 0;

  add(loss: number, accuracy: number, count: number): void {
    this.lossSum += loss * count;
    this.correct += Math.round(accuracy * count);
    this.n += count;
  }

  result(): EvalResult {
    return { loss: this.lossSum / this.n, accuracy: this.correct / this.n, n: this.n };
  }
}

export function evaluate(model: Module, dataset: Dataset, options: EvalOptions = {}): EvalResult {
  const totals = new EvalTotals();
  const wasTraining = model.training;
  model.eval();
  try {
    noGrad(() => {
      for (const { x, y, count } of evalBatches(dataset, options)) {
        tidy(() => {
          const logits = model.call(tensor(x, [count, ...dataset.shape]));
          const batchLabels = labelTensor(y);
          totals.add(crossEntropy(logits, batchLabels).item(), accuracy(logits, batchLabels), count);
        });
      }
    });
  } finally {
    model.train(wasTraining);
  }
  return totals.result();
}

/** `evaluate` on the device the model lives on (Module.to). */
export async function evaluateOn(
  device: Device,
  model: Module,
  dataset: Dataset,
  options: EvalOptions = {},
): Promise<EvalResult> {
  return device === 'cpu' ? evaluate(model, dataset, options) : evaluateOnWebGpu(model, dataset, options);
}

/**
 * `evaluate` for a model on the WebGPU device (Module.to): each batch is uploaded, and its loss
 * and accuracy (one-element device tensors) are downloaded once the batch has run.
 */
export async function evaluateOnWebGpu(
  model: Module,
  dataset: Dataset,
  options: EvalOptions = {},
): Promise<EvalResult> {
  const totals = new EvalTotals();
  const wasTraining = model.training;
  model.eval();
  try {
    for (const { x, y, count } of evalBatches(dataset, options)) {
      const input = await tensor(x, [count, ...dataset.shape]).to('webgpu');
      const batchLabels = await labelTensor(y).to('webgpu');
      const [loss, correct] = noGrad(() =>
        tidy(() => {
          const logits = model.call(input);
          return [crossEntropy(logits, batchLabels), accuracyTensor(logits, batchLabels)] as const;
        }),
      );
      totals.add((await loss.read())[0]!, (await correct.read())[0]!, count);
      for (const t of [input, batchLabels, loss, correct]) t.dispose();
    }
  } finally {
    model.train(wasTraining);
  }
  return totals.result();
}
