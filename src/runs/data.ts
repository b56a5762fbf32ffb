/**
 * The data of a run, rebuilt from its config alone: the training examples (split part and limit),
 * the labels it trains on, the preprocessing, and the test examples with their real labels.
 */
import { makeLabels, type LabelSet } from '../data/labels.js';
import { loadDataset } from '../data/load.js';
import { Preprocessor } from '../data/preprocess.js';
import { splitDataset, subsetDataset } from '../data/split.js';
import { identityIndices, type Dataset } from '../data/types.js';
import type { RunConfig } from './config.js';

export interface RunData {
  readonly train: Dataset;
  /** The labels the run trains on (random labels too) and the classifier's output count. */
  readonly labels: LabelSet;
  readonly preprocessor: Preprocessor;
  /** Test examples with real labels, or null when there are none to score (see `testSkipReason`). */
  readonly test: Dataset | null;
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
  const { test, reason } = await testExamples(config, labels, location);
  return { train, labels, preprocessor, test, testSkipReason: reason, inputShape: [...source.shape] };
}

function trainingExamples(source: Dataset, config: RunConfig): Dataset {
  const { split, limit } = config.data;
  const part = split ? splitDataset(source, { seed: split.seed, parts: split.parts })[split.use]! : source;
  if (limit === null || limit >= part.n) return part;
  return subsetDataset(part, identityIndices(limit), `${part.split}[:${limit}]`);
}

async function testExamples(
  config: RunConfig,
  labels: LabelSet,
  location: DataLocation,
): Promise<{ test: Dataset | null; reason: string | null }> {
  const { testSplit, testLimit, dataset } = config.data;
  if (testSplit === null) return { test: null, reason: 'data.testSplit is null' };
  const loaded = await loadDataset(dataset, { ...location, split: testSplit });
  if (loaded.labels === null) return { test: null, reason: `${dataset} (${testSplit}) has no real labels` };
  if (loaded.classes > labels.classes) {
    return {
      test: null,
      reason: `the test labels range over ${loaded.classes} classes but the model has ${labels.classes} outputs`,
    };
  }
  const test =
    testLimit !== null && testLimit < loaded.n
      ? subsetDataset(loaded, identityIndices(testLimit), `${testSplit}[:${testLimit}]`)
      : loaded;
  return { test, reason: null };
}
