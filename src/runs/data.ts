/**
 * The data of a run, rebuilt from its config alone: the training examples (split part and limit),
 * the labels it trains on, the preprocessing, and the test examples with the labels they are scored on.
 */
import { makeHeldOutLabels, makeLabels, type LabelSet, type LabelSpec } from '../data/labels.js';
import { loadDataset } from '../data/load.js';
import { Preprocessor } from '../data/preprocess.js';
import { splitDataset, subsetDataset } from '../data/split.js';
import { identityIndices, type Dataset } from '../data/types.js';
import type { RunConfig, TestLabels } from './config.js';

export interface RunData {
  readonly train: Dataset;
  /** The labels the run trains on (random labels too) and the classifier's output count. */
  readonly labels: LabelSet;
  readonly preprocessor: Preprocessor;
  /** Test examples, or null when there are none to score (see `testSkipReason`). */
  readonly test: Dataset | null;
  /**
   * The labels `test` is scored on, null exactly when `test` is: its real labels, or with
   * `data.testLabels: as-train` labels drawn like the training labels (`labels.spec` of kind random or noise).
   */
  readonly testLabels: LabelSet | null;
  readonly testSkipReason: string | null;
  /** Shape of one example ([C, H, W] or [d]). */
  readonly inputShape: readonly number[];
}

export interface DataLocation {
  readonly dataDir?: string;
  readonly cacheDir?: string | null;
}

export async function prepareRunData(config: RunConfig, location: DataLocation = {}): Promise<RunData> {
  const { data } = config;
  const source = await loadDataset(data.dataset, { ...location, split: data.trainSplit });
  const train = trainingExamples(source, config);
  const labels = makeLabels(train, data.labels);
  // Statistics of the whole source split, so every part of a transfer experiment is preprocessed alike.
  const preprocessor = Preprocessor.fromTrainingSplit(source, source.kind === 'image' ? data.preprocessing : 'none');
  const { test, testLabels, reason } = await testExamples(config, labels, location);
  return { train, labels, preprocessor, test, testLabels, testSkipReason: reason, inputShape: [...source.shape] };
}

/**
 * The labels to score `dataset`, loaded from source split `split`, on: its real ones, or for `as-train`
 * labels drawn like training labels of `trainLabels` (the real ones again when those are real).
 */
export function scoredLabels(dataset: Dataset, split: string, choice: TestLabels, trainLabels: LabelSpec): LabelSet {
  if (choice === 'real') return makeLabels(dataset, { kind: 'real' });
  return makeHeldOutLabels(dataset, trainLabels, split);
}

function trainingExamples(source: Dataset, config: RunConfig): Dataset {
  const { split, limit } = config.data;
  const part = split ? splitDataset(source, { seed: split.seed, parts: split.parts })[split.use]! : source;
  if (limit === null || limit >= part.n) return part;
  return subsetDataset(part, identityIndices(limit), `${part.split}[:${limit}]`);
}

type TestExamples =
  { test: Dataset; testLabels: LabelSet; reason: null } | { test: null; testLabels: null; reason: string };

async function testExamples(config: RunConfig, labels: LabelSet, location: DataLocation): Promise<TestExamples> {
  const { testSplit, testLimit, dataset, testLabels: choice } = config.data;
  const skip = (reason: string): TestExamples => ({ test: null, testLabels: null, reason });
  if (testSplit === null) return skip('data.testSplit is null');
  const loaded = await loadDataset(dataset, { ...location, split: testSplit });
  const real = choice === 'real' || labels.spec.kind === 'real';
  if (real && loaded.labels === null)
    return skip(`${dataset} (${testSplit}) has no real labels (data.testLabels is '${choice}')`);
  if (real && loaded.classes > labels.classes) {
    return skip(`the test labels range over ${loaded.classes} classes but the model has ${labels.classes} outputs`);
  }
  const test =
    testLimit !== null && testLimit < loaded.n
      ? subsetDataset(loaded, identityIndices(testLimit), `${testSplit}[:${testLimit}]`)
      : loaded;
  try {
    // Drawn from the training labels' resolved spec (k of noise filled in), so both range over the same classes.
    return { test, testLabels: scoredLabels(test, testSplit, choice, labels.spec), reason: null };
  } catch (error) {
    throw new Error(`data.testLabels '${choice}' on ${dataset} (${testSplit}): ${(error as Error).message}`);
  }
}
