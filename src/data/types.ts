/**
 * The in-memory shapes every part of randlab uses for data.
 *
 * Images stay as raw bytes (uint8, NCHW) until a batch is assembled: CIFAR-10's training split is
 * 150 MB as bytes and would be 600 MB as float32. Pixel and value buffers live in a
 * SharedArrayBuffer so the prefetch worker reads them without copying.
 */

interface DatasetBase {
  /** Source name: `cifar10`, `cifar100`, `imagefolder`, `gaussian`. */
  readonly name: string;
  /** The canonical spec string this dataset was loaded from (see `parseDatasetSpec`). */
  readonly spec: string;
  /** Split of the source (`train`, `test`, `val`), or a derived split such as `train/upstream`. */
  readonly split: string;
  /** Number of examples. */
  readonly n: number;
  /** Number of true classes; 0 for data without labels (Gaussians). */
  readonly classes: number;
  readonly classNames?: readonly string[];
  /** True labels in [0, classes), or null when the data has none. */
  readonly labels: Int32Array | null;
  /** For each example, its index in the source split it was loaded from (identity for a fresh load). */
  readonly sourceIndices: Int32Array;
}

export interface ImageDataset extends DatasetBase {
  readonly kind: 'image';
  /** [channels, height, width] */
  readonly shape: readonly [number, number, number];
  /** n·c·h·w bytes in NCHW order, backed by a SharedArrayBuffer. */
  readonly pixels: Uint8Array;
}

export interface VectorDataset extends DatasetBase {
  readonly kind: 'vector';
  /** [dimension] */
  readonly shape: readonly [number];
  /** n·d values, row-major, backed by a SharedArrayBuffer. */
  readonly values: Float32Array;
  /** The generating covariance's diagonal, for synthetic data. */
  readonly variances?: Float64Array;
}

export type Dataset = ImageDataset | VectorDataset;

/** One minibatch, ready for the engine. */
export interface Batch {
  /** NCHW (images) or [B, d] (vectors), preprocessed. */
  readonly x: Float32Array;
  readonly y: Int32Array;
  /** Number of examples in this batch (the last batch of an epoch may be smaller). */
  readonly size: number;
  /** Index of each example in the dataset the loader iterates. */
  readonly indices: Int32Array;
  /** Epoch this batch belongs to (0-based). */
  readonly epoch: number;
  /** Position in the epoch's order of the batch's first example. */
  readonly position: number;
}

/** Number of values one example occupies in `pixels` or `values`. */
export function exampleSize(dataset: Dataset): number {
  return dataset.shape.reduce((a, b) => a * b, 1);
}

export function sharedUint8(length: number): Uint8Array {
  return new Uint8Array(new SharedArrayBuffer(length));
}

export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * Float32Array.BYTES_PER_ELEMENT));
}

export function identityIndices(n: number): Int32Array {
  const indices = new Int32Array(n);
  for (let i = 0; i < n; i++) indices[i] = i;
  return indices;
}
