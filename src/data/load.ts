/** One entry point from a spec string to an in-memory dataset. */
import { isAbsolute, join } from 'node:path';
import type { CifarLayout } from './cifar.js';
import { CIFAR10_LAYOUT, CIFAR100_LAYOUT, loadCifar } from './cifar.js';
import { makeGaussianDataset } from './gaussian.js';
import { imageFolderSplits, loadImageFolder } from './imagefolder.js';
import { resolveCacheDir, resolveDataRoot } from './paths.js';
import type { DatasetSpec } from './spec.js';
import { formatDatasetSpec, parseDatasetSpec } from './spec.js';
import type { Dataset } from './types.js';

export interface LoadOptions {
  /** `train` (default), `test`, or an image folder's sub-folder such as `val`. */
  readonly split?: string;
  /** Data root; default $RANDLAB_DATA, else ./data. */
  readonly dataDir?: string;
  /** Cache dir for decoded images; default $RANDLAB_CACHE, else .cache/randlab; null: no cache. */
  readonly cacheDir?: string | null;
  /** Decoding progress (image folders). */
  readonly onProgress?: (done: number, total: number) => void;
}

export async function loadDataset(spec: string | DatasetSpec, options: LoadOptions = {}): Promise<Dataset> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const canonical = formatDatasetSpec(parsed);
  const split = options.split ?? 'train';
  switch (parsed.kind) {
    case 'cifar10':
    case 'cifar100':
      return loadCifar(resolveDataRoot(options.dataDir), cifarLayout(parsed), {
        split: cifarSplit(split, canonical),
        ...(parsed.kind === 'cifar100' ? { labels: parsed.labels } : {}),
        spec: canonical,
      });
    case 'imagefolder':
      return loadImageFolder({
        root: imageFolderRoot(parsed.path, options.dataDir),
        split,
        size: parsed.size,
        ...(parsed.classes ? { classes: parsed.classes } : {}),
        cacheDir: options.cacheDir === null ? null : resolveCacheDir(options.cacheDir),
        spec: canonical,
        ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      });
    case 'gaussian':
      return makeGaussianDataset({
        variances: parsed.variances,
        n: parsed.n,
        seed: parsed.seed,
        split: gaussianSplit(split, canonical),
        spec: canonical,
      });
  }
}

/** The splits a dataset offers. */
export function datasetSplits(spec: string | DatasetSpec, options: Pick<LoadOptions, 'dataDir'> = {}): string[] {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  if (parsed.kind === 'imagefolder') return imageFolderSplits(imageFolderRoot(parsed.path, options.dataDir));
  return ['train', 'test'];
}

export function cifarLayout(spec: DatasetSpec): CifarLayout {
  if (spec.kind === 'cifar10') return CIFAR10_LAYOUT;
  if (spec.kind === 'cifar100') return CIFAR100_LAYOUT;
  throw new Error(`${formatDatasetSpec(spec)} is not a CIFAR dataset`);
}

/** Relative image-folder paths start at the data root. */
function imageFolderRoot(path: string, dataDir: string | undefined): string {
  return isAbsolute(path) ? path : join(resolveDataRoot(dataDir), path);
}

function cifarSplit(split: string, spec: string): 'train' | 'test' {
  if (split !== 'train' && split !== 'test') throw new Error(`${spec} has splits train and test, not '${split}'`);
  return split;
}

function gaussianSplit(split: string, spec: string): string {
  if (split !== 'train' && split !== 'test')
    throw new Error(`${spec} has splits train and test (independent draws), not '${split}'`);
  return split;
}
