/**
 * From stored bytes to network inputs.
 *
 * Default (the paper's setting): scale to [0, 1], then standardise each channel with the mean and
 * population std of the whole training split. Also available: [0, 1] only (`unit`), [-1, 1]
 * (`symmetric`) and `none` (bytes as 0..255 floats; vectors unchanged, the only mode for vectors,
 * since standardising synthetic Gaussians would change their covariance).
 *
 * Each byte value maps to one float per channel, so the mapping is a 256-entry lookup table per
 * channel: fast, and bit-identical wherever it runs.
 */
import type { Dataset, ImageDataset } from './types.js';
import { exampleSize } from './types.js';

export type PreprocessMode = 'standardize' | 'unit' | 'symmetric' | 'none';

export interface ChannelStats {
  /** Per-channel mean of pixel/255 over every pixel of the split. */
  readonly mean: readonly number[];
  /** Per-channel population standard deviation (divide by N) of pixel/255. */
  readonly std: readonly number[];
  /** Pixels per channel the statistics were computed from. */
  readonly count: number;
}

/** What a run records to rebuild its preprocessing exactly. */
export interface PreprocessConfig {
  readonly mode: PreprocessMode;
  /** Required for `standardize`: statistics of the training split. */
  readonly stats?: ChannelStats;
}

/** Exact per-channel mean and population std, from a 256-bin histogram per channel. */
export function computeChannelStats(dataset: ImageDataset): ChannelStats {
  const [c, h, w] = dataset.shape;
  const plane = h * w;
  // Float64 counts stay exact far beyond ImageNet's 6·10^10 pixels per channel.
  const histogram = new Float64Array(c * 256);
  const pixels = dataset.pixels;
  for (let i = 0; i < dataset.n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const start = (i * c + ch) * plane;
      const offset = ch * 256;
      for (let p = start; p < start + plane; p++) histogram[offset + pixels[p]!]!++;
    }
  }
  const count = dataset.n * plane;
  const mean: number[] = [];
  const std: number[] = [];
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    for (let v = 0; v < 256; v++) sum += histogram[ch * 256 + v]! * v;
    const m = sum / count;
    let squares = 0;
    for (let v = 0; v < 256; v++) squares += histogram[ch * 256 + v]! * (v - m) * (v - m);
    mean.push(m / 255);
    std.push(Math.sqrt(squares / count) / 255);
  }
  return { mean, std, count };
}

export class Preprocessor {
  readonly config: PreprocessConfig;
  /** [channels × 256]: the float each byte value becomes, per channel (images only). */
  readonly lut: Float32Array;
  private readonly dataKind: Dataset['kind'];
  private readonly shape: readonly number[];

  constructor(config: PreprocessConfig, dataset: Pick<Dataset, 'kind' | 'shape'>) {
    this.config = config;
    this.dataKind = dataset.kind;
    this.shape = dataset.shape;
    if (dataset.kind === 'vector') {
      if (config.mode !== 'none') throw new Error(`Vector data takes preprocessing mode 'none', got '${config.mode}'`);
      this.lut = new Float32Array(0);
    } else {
      this.lut = buildLookupTable(config, dataset.shape[0]);
    }
  }

  /** The default preprocessing for data whose training split is `train`: standardise images, keep vectors. */
  static fromTrainingSplit(
    train: Dataset,
    mode: PreprocessMode = train.kind === 'image' ? 'standardize' : 'none',
  ): Preprocessor {
    const stats = mode === 'standardize' && train.kind === 'image' ? computeChannelStats(train) : undefined;
    return new Preprocessor(stats ? { mode, stats } : { mode }, train);
  }

  /** Preprocesses k stored examples (k·c·h·w bytes, or k·d floats for vectors). No augmentation. */
  apply(raw: Uint8Array | Float32Array, out?: Float32Array): Float32Array {
    const size = this.shape.reduce((a, b) => a * b, 1);
    if (raw.length % size !== 0)
      throw new Error(`Preprocessor.apply: ${raw.length} values is not a whole number of ${size}-value examples`);
    const result = out ?? new Float32Array(raw.length);
    if (result.length < raw.length)
      throw new Error(`Preprocessor.apply: output holds ${result.length} values, need ${raw.length}`);
    if (this.dataKind === 'vector') {
      if (!(raw instanceof Float32Array)) throw new Error('Preprocessor.apply: vector data must be a Float32Array');
      result.set(raw);
      return result;
    }
    if (!(raw instanceof Uint8Array))
      throw new Error('Preprocessor.apply: image data must be a Uint8Array of pixel bytes');
    const [c, h, w] = this.shape as [number, number, number];
    const plane = h * w;
    const lut = this.lut;
    for (let start = 0; start < raw.length; start += plane) {
      const offset = ((start / plane) % c) * 256;
      for (let p = start; p < start + plane; p++) result[p] = lut[offset + raw[p]!]!;
    }
    return result;
  }

  /** Preprocessed examples `indices` of `dataset` (e.g. for input-covariance analysis), in that order. */
  applyToIndices(dataset: Dataset, indices: ArrayLike<number>, out?: Float32Array): Float32Array {
    if (dataset.kind !== this.dataKind || dataset.shape.join() !== this.shape.join()) {
      throw new Error(
        `Preprocessor for ${this.dataKind} [${this.shape.join(',')}] given ${dataset.kind} [${dataset.shape.join(',')}] data`,
      );
    }
    const size = exampleSize(dataset);
    const result = out ?? new Float32Array(indices.length * size);
    for (let row = 0; row < indices.length; row++) {
      const index = indices[row]!;
      if (!Number.isInteger(index) || index < 0 || index >= dataset.n)
        throw new Error(`applyToIndices: index ${index} is outside 0..${dataset.n - 1}`);
      const source = dataset.kind === 'image' ? dataset.pixels : dataset.values;
      this.apply(source.subarray(index * size, (index + 1) * size), result.subarray(row * size, (row + 1) * size));
    }
    return result;
  }
}

function buildLookupTable(config: PreprocessConfig, channels: number): Float32Array {
  const lut = new Float32Array(channels * 256);
  if (config.mode === 'standardize') {
    const stats = config.stats;
    if (!stats || stats.mean.length !== channels || stats.std.length !== channels) {
      throw new Error(
        `Standardisation needs per-channel stats for ${channels} channels (computeChannelStats of the training split)`,
      );
    }
    stats.std.forEach((s, ch) => {
      if (!(s > 0))
        throw new Error(`Standardisation: channel ${ch} has std ${s}; the training split is constant in that channel`);
    });
  }
  for (let ch = 0; ch < channels; ch++) {
    for (let v = 0; v < 256; v++) lut[ch * 256 + v] = byteToInput(config, ch, v);
  }
  return lut;
}

function byteToInput(config: PreprocessConfig, channel: number, byte: number): number {
  switch (config.mode) {
    case 'standardize':
      return (byte / 255 - config.stats!.mean[channel]!) / config.stats!.std[channel]!;
    case 'unit':
      return byte / 255;
    case 'symmetric':
      return byte / 127.5 - 1;
    case 'none':
      return byte;
  }
}
