/**
 * `data.testLabels: as-train`: the test split scored on labels drawn like the training labels
 * (src/data/labels.ts makeHeldOutLabels, docs/runs.md "Test labels"). Each check computes the expected
 * labels directly from the documented stream and the predictions directly from the model, and compares
 * exact counts with the recorded metrics.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, readStateDict } from '../src/checkpoint/index.js';
import type { Preprocessor } from '../src/data/preprocess.js';
import type { Dataset } from '../src/data/types.js';
import type { Classifier } from '../src/models/index.js';
import { listCheckpoints, runConfigOf } from '../src/runs/checkpoints.js';
import { resolveConfig } from '../src/runs/config.js';
import { prepareRunData } from '../src/runs/data.js';
import { RunStore } from '../src/runs/store.js';
import { METRICS, testMetricNames, Trainer, type RunResult } from '../src/runs/trainer.js';
import { noGrad, Rng, tensor, tidy } from '../src/tensor/index.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { finalWeights, makeTinyImageFolder, tinyRunConfig, type TinyData } from './runs-fixtures.js';

let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;
let store: RunStore;

beforeAll(async () => {
  // 200 test images (50 per class), so the accuracies below are counts out of 200.
  data = await makeTinyImageFolder({ testPerClass: 50 });
  temp = makeTempDir('test-labels');
  store = RunStore.open(temp.dir);
});
afterAll(() => {
  store.close();
  temp.cleanup();
  data.cleanup();
});

const RANDOM = { kind: 'random', k: 4, seed: 9 } as const;

/** cnn2 on the tiny folder with random labels over 4 classes, scored on as-train test labels. */
const asTrainConfig = (name: string, extra: Record<string, unknown> = {}) =>
  tinyRunConfig(data.spec, name, { data: { dataset: data.spec, labels: RANDOM, testLabels: 'as-train' }, ...extra });

const options = () => ({ store, cacheDir: null });

/** Example j's test label as docs/runs.md specifies: int(k) from word 4·j of stream labels/held-out/<split>. */
function directRandomLabels(test: Dataset, seed: number, k: number, split = 'test'): Int32Array {
  return Int32Array.from(test.sourceIndices, (j) =>
    Rng.fromState({ seed, stream: `labels/held-out/${split}`, position: 4 * j }).int(k),
  );
}

/** The model's logits for every example, in eval mode, and the class each is predicted as (their argmax). */
function scores(model: Classifier, dataset: Dataset, preprocessor: Preprocessor) {
  if (dataset.kind !== 'image') throw new Error('expected an image dataset');
  model.eval();
  const logits = noGrad(() =>
    tidy(() => model.call(tensor(preprocessor.apply(dataset.pixels), [dataset.n, ...dataset.shape])).data.slice()),
  );
  const k = logits.length / dataset.n;
  const predicted = Int32Array.from({ length: dataset.n }, (_, i) => {
    let best = 0;
    for (let c = 1; c < k; c++) if (logits[i * k + c]! > logits[i * k + best]!) best = c;
    return best;
  });
  /** Mean cross-entropy against `labels`, in float64: a check that counts of correct answers cannot fool. */
  const loss = (labels: Int32Array): number => {
    let sum = 0;
    for (let i = 0; i < dataset.n; i++) {
      const row = logits.subarray(i * k, (i + 1) * k);
      const max = Math.max(...row);
      const logSumExp = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
      sum += logSumExp - row[labels[i]!]!;
    }
    return sum / dataset.n;
  };
  return { predicted, loss };
}

function matches(a: Int32Array, b: Int32Array): number {
  return a.filter((label, i) => label === b[i]).length;
}

/** Trains a run to the end, keeping the trainer's data (the test examples and their scored labels). */
async function train(config: Record<string, unknown>, dataDir?: string) {
  const trainer = await Trainer.create(resolveConfig(config), { ...options(), ...(dataDir ? { dataDir } : {}) });
  const result: RunResult = await trainer.run();
  return { result, data: trainer.data };
}

const weightsOf = (runId: string) => finalWeights(store, runId);

describe('data.testLabels: as-train', () => {
  it('scores the test split on exactly the directly drawn labels, recorded as test_as_train/*', async () => {
    const { result, data: run } = await train(asTrainConfig('as-train'));
    const test = run.test!;
    expect(test.n).toBe(200);
    const direct = directRandomLabels(test, RANDOM.seed, RANDOM.k);
    expect(run.testLabels!.labels).toEqual(direct);
    expect(run.testLabels!.spec).toEqual(RANDOM);
    const { predicted, loss } = scores(result.model, test, run.preprocessor);
    expect(result.metrics[METRICS.testAsTrainAccuracy]).toBe(matches(predicted, direct) / 200);
    expect(result.metrics[METRICS.testAsTrainLoss]).toBeCloseTo(loss(direct), 4);
    expect(store.metrics('as-train', { name: METRICS.testAsTrainAccuracy }).map((m) => m.step)).toEqual([8, 16, 24]);
    expect(store.metrics('as-train', { name: METRICS.testAsTrainLoss }).map((m) => m.step)).toEqual([8, 16, 24]);
    expect(store.metrics('as-train', { name: METRICS.testAccuracy })).toEqual([]);

    // The same run scored on the real test labels: the switch changes the scoring, never the training.
    const { result: real } = await train(asTrainConfig('as-real', { data: { dataset: data.spec, labels: RANDOM } }));
    expect(weightsOf('as-real')).toEqual(weightsOf('as-train'));
    expect(real.metrics[METRICS.testAccuracy]).toBe(matches(predicted, test.labels!) / 200);
    expect(real.metrics[METRICS.testLoss]).toBeCloseTo(loss(test.labels!), 4);
    expect(real.metrics[METRICS.testAsTrainAccuracy]).toBeUndefined();
    // The two label sets differ where they should (1 − 1/k = 3/4 of the examples, ±5σ = ±0.15).
    expect(Math.abs(1 - matches(direct, test.labels!) / 200 - 0.75)).toBeLessThan(0.16);
  });

  it('keeps the switch in the checkpoint, whose run config round-trips', async () => {
    const last = listCheckpoints(store.checkpointDir('as-train')).at(-1)!;
    const saved = readCheckpoint(last.prefix).config;
    expect(saved).toEqual(store.readConfig('as-train'));
    const config = runConfigOf(last.weights, readStateDict(last.weights))!;
    expect(config.data).toMatchObject({ labels: RANDOM, testLabels: 'as-train', testSplit: 'test' });
    expect(resolveConfig(JSON.parse(JSON.stringify(config)))).toEqual(config);
  });

  it('the test labels depend on neither the training set (limit, part, order) nor the run seed nor testLimit', async () => {
    const base = asTrainConfig('unused').data as Record<string, unknown>;
    const testLabelsOf = async (overrides: Record<string, unknown>, seed = 5) =>
      (await prepareRunData(resolveConfig({ seed, data: { ...base, ...overrides } }), { cacheDir: null })).testLabels!;
    const whole = await testLabelsOf({});
    for (const variant of [
      await testLabelsOf({ limit: 20 }),
      await testLabelsOf({ split: { seed: 3, parts: { a: 30, b: 30 }, use: 'b' } }),
      await testLabelsOf({}, 77),
    ])
      expect(variant.fingerprint).toBe(whole.fingerprint);
    expect((await testLabelsOf({ testLimit: 50 })).labels).toEqual(whole.labels.subarray(0, 50));
    expect((await testLabelsOf({ labels: { ...RANDOM, seed: 10 } })).fingerprint).not.toBe(whole.fingerprint);
  });

  it('is the real labels (recorded as test/*) when the training labels are real', async () => {
    const { result, data: run } = await train(
      tinyRunConfig(data.spec, 'real-as-train', { data: { dataset: data.spec, testLabels: 'as-train' } }),
    );
    expect(run.testLabels!.spec).toEqual({ kind: 'real' });
    expect(run.testLabels!.labels).toEqual(run.test!.labels);
    const { predicted, loss } = scores(result.model, run.test!, run.preprocessor);
    expect(result.metrics[METRICS.testAccuracy]).toBe(matches(predicted, run.test!.labels!) / 200);
    expect(result.metrics[METRICS.testLoss]).toBeCloseTo(loss(run.test!.labels!), 4);
    expect(result.metrics[METRICS.testAsTrainAccuracy]).toBeUndefined();
    expect(testMetricNames(run.testLabels!.spec)).toEqual({ loss: 'test/loss', accuracy: 'test/accuracy' });
    expect(testMetricNames(RANDOM)).toEqual({ loss: 'test_as_train/loss', accuracy: 'test_as_train/accuracy' });
  });

  it('scores a split without real labels (Gaussians) on random as-train labels; real ones say they are missing', async () => {
    const gaussian = { dataset: 'gaussian:diag(1,2,3),n=64,seed=0', labels: { kind: 'random', k: 2, seed: 0 } };
    const real = await prepareRunData(resolveConfig({ model: { name: 'mlp' }, data: gaussian }));
    expect(real.test).toBeNull();
    expect(real.testSkipReason).toBe(
      "gaussian:diag(1,2,3),n=64,seed=0 (test) has no real labels (data.testLabels is 'real')",
    );
    const asTrain = await prepareRunData(
      resolveConfig({ model: { name: 'mlp' }, data: { ...gaussian, testLabels: 'as-train' } }),
    );
    expect(asTrain.testLabels!.labels).toEqual(directRandomLabels(asTrain.test!, 0, 2));
  });
});

const dataRoot = process.env.RANDLAB_DATA;

describe.skipIf(!dataRoot)('a short run on CIFAR-10 with random labels ($RANDLAB_DATA)', () => {
  it('scores near chance on the real test labels, and as-train on exactly the corrupted labels', async () => {
    const { result, data: run } = await train(
      {
        name: 'cifar-as-train',
        seed: 1,
        data: {
          dataset: 'cifar10',
          limit: 512,
          labels: { kind: 'random', k: 10, seed: 7 },
          testLimit: 2000,
          testLabels: 'as-train',
        },
        model: { name: 'mlp', widths: [64] },
        training: { batchSize: 64, iterations: 16 },
        eval: { every: 16 },
        checkpoint: { every: 16 },
      },
      dataRoot,
    );
    const test = run.test!;
    expect(test.n).toBe(2000);
    const { predicted, loss } = scores(result.model, test, run.preprocessor);
    // Random labels carry nothing about the classes: on the real labels chance is 1/10 (±5σ ≈ ±0.034).
    expect(Math.abs(matches(predicted, test.labels!) / 2000 - 0.1)).toBeLessThan(0.04);
    const direct = directRandomLabels(test, 7, 10);
    expect(run.testLabels!.labels).toEqual(direct);
    expect(result.metrics[METRICS.testAsTrainAccuracy]).toBe(matches(predicted, direct) / 2000);
    expect(result.metrics[METRICS.testAsTrainLoss]).toBeCloseTo(loss(direct), 4);
    expect(result.metrics[METRICS.testAccuracy]).toBeUndefined();
    // About 1 − 1/10 of the corrupted labels differ from the real ones (±5σ ≈ ±0.034).
    expect(Math.abs(1 - matches(direct, test.labels!) / 2000 - 0.9)).toBeLessThan(0.034);
  });
});
