/**
 * Datasets and the input pipeline: loading (CIFAR-10/100, image folders, synthetic Gaussians),
 * splits, labels (real, random, noisy), preprocessing and the prefetching batch loader.
 * See docs/data.md.
 */
export type { Batch, Dataset, ImageDataset, VectorDataset } from './types.js';
export { exampleSize } from './types.js';
export type { DatasetSpec } from './spec.js';
export { formatDatasetSpec, parseDatasetSpec, parseDiag } from './spec.js';
export type { LoadOptions } from './load.js';
export { datasetSplits, loadDataset } from './load.js';
export { resolveCacheDir, resolveDataRoot, writeFileAtomic } from './paths.js';
export type { CifarLayout } from './cifar.js';
export { CIFAR10_LAYOUT, CIFAR100_LAYOUT, loadCifar } from './cifar.js';
export { loadImageFolder } from './imagefolder.js';
export { makeGaussianDataset } from './gaussian.js';
export type { SplitOptions, SplitPart } from './split.js';
export { splitDataset, subsetDataset } from './split.js';
export type { LabelSet, LabelSpec } from './labels.js';
export { labelFingerprint, labelSpecSchema, makeHeldOutLabels, makeLabels } from './labels.js';
export type { ChannelStats, PreprocessConfig, PreprocessMode } from './preprocess.js';
export { computeChannelStats, Preprocessor } from './preprocess.js';
export type { AugmentConfig } from './assemble.js';
export { NO_AUGMENT } from './assemble.js';
export type { LoaderOptions, LoaderState } from './loader.js';
export { BatchLoader } from './loader.js';
export type { CheckReport, SplitReport } from './check.js';
export { checkDataset, formatCheckReport } from './check.js';
export type { FetchOptions, FetchResult, FetchSource, ProgressSink } from './fetch.js';
export { FETCH_SOURCES, fetchDataset } from './fetch.js';
export type { LoaderBenchResult } from './bench.js';
export { benchLoader } from './bench.js';
