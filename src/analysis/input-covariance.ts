/**
 * Σ_x of a dataset split under a run's preprocessing, for one layer geometry (docs/paper.md §2),
 * with its eigendecomposition.
 *
 * Streamed: examples are preprocessed and cut into input vectors one batch at a time and folded
 * into a float64 `CovarianceAccumulator`; all patches of CIFAR-10 (45 M × 27 values) never exist
 * at once. Cached: the result (mean, covariance, eigenpairs) is written atomically under
 * `$RANDLAB_CACHE/input-covariance/<key>.f64`, the key hashing everything the numbers depend on —
 * dataset spec, split, which examples, preprocessing (mode and channel statistics) and geometry.
 * A damaged cache file is ignored and rewritten.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCacheDir, writeFileAtomic } from '../data/paths.js';
import { Preprocessor, type PreprocessConfig } from '../data/preprocess.js';
import type { Dataset } from '../data/types.js';
import { CovarianceAccumulator, symmetricEigen, type LinalgBackend, type SymmetricEigen } from '../linalg/index.js';
import { describeGeometry, inputDimension, inputVectors, vectorsPerExample, type InputGeometry } from './patches.js';

export interface InputCovariance {
  readonly geometry: InputGeometry;
  readonly dim: number;
  /** Input vectors the statistics come from (examples × patches per example). */
  readonly count: number;
  readonly examples: number;
  readonly mean: Float64Array;
  /** Sample covariance (ddof = 1), dim×dim row-major. */
  readonly covariance: Float64Array;
  /** Eigenpairs of the covariance: values ascending, rows of `vectors` the eigenvectors. */
  readonly eigen: SymmetricEigen;
}

export interface InputCovarianceOptions {
  readonly preprocess: PreprocessConfig;
  readonly geometry: InputGeometry;
  /** Cache folder; default $RANDLAB_CACHE (else .cache/randlab). null: neither read nor write a cache. */
  readonly cacheDir?: string | null;
  /** Examples per streamed batch; default: about 2 M input values per batch. */
  readonly examplesPerBatch?: number;
  readonly backend?: LinalgBackend;
}

const CACHE_VERSION = 1;
const MAGIC = 'RLCOV001';
const BATCH_VALUES = 1 << 21;

/** Σ_x, from the cache when present, else computed (and cached). */
export function inputCovariance(dataset: Dataset, options: InputCovarianceOptions): InputCovariance {
  if (options.cacheDir === null) return computeInputCovariance(dataset, options);
  const path = inputCovarianceCachePath(dataset, options);
  const cached = existsSync(path) ? readCovarianceFile(path, options.geometry) : null;
  if (cached) return cached;
  const result = computeInputCovariance(dataset, options);
  writeCovarianceFile(path, result, cacheIdentity(dataset, options));
  return result;
}

/** Σ_x computed from the data, without the cache. */
export function computeInputCovariance(dataset: Dataset, options: InputCovarianceOptions): InputCovariance {
  const { geometry } = options;
  const dim = inputDimension(geometry, dataset.shape);
  const preprocessor = new Preprocessor(options.preprocess, dataset);
  const perExample = vectorsPerExample(geometry, dataset.shape);
  const batch = options.examplesPerBatch ?? Math.max(1, Math.floor(BATCH_VALUES / (perExample * dim)));
  if (!Number.isSafeInteger(batch) || batch < 1)
    throw new Error(`examplesPerBatch must be a positive integer, got ${batch}`);
  const accumulator = new CovarianceAccumulator(dim, options.backend ? { backend: options.backend } : {});
  const indices = new Int32Array(batch);
  for (let start = 0; start < dataset.n; start += batch) {
    const count = Math.min(batch, dataset.n - start);
    for (let i = 0; i < count; i++) indices[i] = start + i;
    const examples = preprocessor.applyToIndices(dataset, indices.subarray(0, count));
    accumulator.addRows(inputVectors(examples, count, dataset.shape, geometry));
  }
  if (accumulator.count < 2)
    throw new Error(
      `Σ_x of ${dataset.spec} (${dataset.split}) needs at least 2 input vectors, got ${accumulator.count}`,
    );
  const covariance = accumulator.covariance();
  const eigen = symmetricEigen(covariance, dim, {
    what: `Σ_x of ${dataset.spec} (${dataset.split}, ${describeGeometry(geometry)})`,
    ...(options.backend ? { backend: options.backend } : {}),
  });
  return { geometry, dim, count: accumulator.count, examples: dataset.n, mean: accumulator.mean(), covariance, eigen };
}

/** Everything the numbers depend on; its hash names the cache file. */
function cacheIdentity(dataset: Dataset, options: InputCovarianceOptions): Record<string, unknown> {
  const indices = dataset.sourceIndices;
  return {
    version: CACHE_VERSION,
    spec: dataset.spec,
    split: dataset.split,
    n: dataset.n,
    examples: createHash('sha256')
      .update(new Uint8Array(indices.buffer, indices.byteOffset, indices.byteLength))
      .digest('hex'),
    preprocess: {
      mode: options.preprocess.mode,
      mean: options.preprocess.stats?.mean ?? null,
      std: options.preprocess.stats?.std ?? null,
    },
    geometry: options.geometry,
  };
}

export function inputCovarianceCachePath(dataset: Dataset, options: InputCovarianceOptions): string {
  const key = createHash('sha256')
    .update(JSON.stringify(cacheIdentity(dataset, options)))
    .digest('hex')
    .slice(0, 32);
  return join(resolveCacheDir(options.cacheDir ?? undefined), 'input-covariance', `${key}.f64`);
}

// File: magic (8 bytes), header length (uint32 LE), JSON header, zero padding to a multiple of 8,
// then float64 LE: mean[dim], covariance[dim²], eigenvalues[dim], eigenvectors[dim²].
function writeCovarianceFile(path: string, result: InputCovariance, identity: Record<string, unknown>): void {
  const header = Buffer.from(
    JSON.stringify({ ...identity, dim: result.dim, count: result.count, examples: result.examples }),
    'utf8',
  );
  const prefixLength = 12 + header.length;
  const padding = (8 - (prefixLength % 8)) % 8;
  const prefix = Buffer.alloc(prefixLength + padding);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(header.length, 8);
  header.copy(prefix, 12);
  const bytes = (values: Float64Array) => new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  writeFileAtomic(path, [
    prefix,
    bytes(result.mean),
    bytes(result.covariance),
    bytes(result.eigen.values),
    bytes(result.eigen.vectors),
  ]);
}

/** The cached result, or null when the file is damaged (it is then recomputed and overwritten). */
function readCovarianceFile(path: string, geometry: InputGeometry): InputCovariance | null {
  const file = readFileSync(path);
  if (file.length < 12 || file.toString('latin1', 0, 8) !== MAGIC) return null;
  const headerLength = file.readUInt32LE(8);
  let header: { dim: number; count: number; examples: number };
  try {
    header = JSON.parse(file.toString('utf8', 12, 12 + headerLength)) as typeof header;
  } catch {
    return null;
  }
  const dim = header.dim;
  const start = 12 + headerLength + ((8 - ((12 + headerLength) % 8)) % 8);
  const expected = start + 8 * (2 * dim + 2 * dim * dim);
  if (!Number.isSafeInteger(dim) || file.length !== expected) return null;
  // Copy into fresh, aligned buffers (the file buffer's offset need not be a multiple of 8).
  const values = new Float64Array(file.buffer.slice(file.byteOffset + start, file.byteOffset + expected));
  const mean = values.subarray(0, dim);
  const covariance = values.subarray(dim, dim + dim * dim);
  const eigenvalues = values.subarray(dim + dim * dim, 2 * dim + dim * dim);
  const eigenvectors = values.subarray(2 * dim + dim * dim);
  return {
    geometry,
    dim,
    count: header.count,
    examples: header.examples,
    mean,
    covariance,
    eigen: { n: dim, values: eigenvalues, vectors: eigenvectors },
  };
}
