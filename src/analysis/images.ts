/**
 * Eigen-images (the paper's Fig. 3): sample filters, and the top eigenvectors of Σ_w and of Σ_x,
 * each shown as a c×kh×kw image (RGB for 3 channels, grey for 1) with its own contrast
 * normalisation: the vector's minimum maps to black and its maximum to white, so vectors of very
 * different scale (eigenvectors are unit, filters are not) are all visible.
 */
import { PNG } from 'pngjs';
import type { SymmetricEigen } from '../linalg/index.js';

/** How one vector is laid out as an image: (channels, height, width), the weight's flattening order. */
export interface PatchShape {
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

export interface GridOptions {
  /** Tiles per row (default 8). */
  readonly columns?: number;
  /** Screen pixels per patch pixel (default: so a tile is at least 48 px). */
  readonly scale?: number;
  /** Pixels between tiles (default 2), drawn white. */
  readonly gap?: number;
}

function checkShape(vector: ArrayLike<number>, shape: PatchShape): void {
  const { channels, height, width } = shape;
  if (channels !== 1 && channels !== 3) throw new Error(`eigen-images need 1 or 3 channels, got ${channels}`);
  if (vector.length !== channels * height * width) {
    throw new Error(`a vector of ${vector.length} values is not a ${channels}×${height}×${width} patch`);
  }
}

/** RGB bytes (height × width × 3) of one vector, contrast-normalised on its own min..max. */
export function patchRgb(vector: ArrayLike<number>, shape: PatchShape): Uint8Array {
  checkShape(vector, shape);
  const { channels, height, width } = shape;
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < vector.length; i++) {
    low = Math.min(low, vector[i]!);
    high = Math.max(high, vector[i]!);
  }
  const range = high - low;
  const level = (value: number) => (range > 0 ? Math.round((255 * (value - low)) / range) : 128);
  const rgb = new Uint8Array(height * width * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      for (let c = 0; c < 3; c++) {
        const channel = channels === 3 ? c : 0;
        rgb[(y * width + x) * 3 + c] = level(vector[(channel * height + y) * width + x]!);
      }
    }
  }
  return rgb;
}

function defaultScale(shape: PatchShape): number {
  return Math.max(1, Math.ceil(48 / Math.max(shape.height, shape.width)));
}

/** A grid of vectors as one PNG, row-major, tiles separated by white gaps. */
export function patchGridPng(
  vectors: readonly ArrayLike<number>[],
  shape: PatchShape,
  options: GridOptions = {},
): Buffer {
  if (vectors.length === 0) throw new Error('patchGridPng: no vectors to draw');
  const columns = Math.min(options.columns ?? 8, vectors.length);
  const rows = Math.ceil(vectors.length / columns);
  const scale = options.scale ?? defaultScale(shape);
  const gap = options.gap ?? 2;
  const tileW = shape.width * scale;
  const tileH = shape.height * scale;
  const png = new PNG({ width: columns * tileW + (columns + 1) * gap, height: rows * tileH + (rows + 1) * gap });
  png.data.fill(255);
  vectors.forEach((vector, index) => {
    const rgb = patchRgb(vector, shape);
    const left = gap + (index % columns) * (tileW + gap);
    const top = gap + Math.floor(index / columns) * (tileH + gap);
    for (let y = 0; y < tileH; y++) {
      for (let x = 0; x < tileW; x++) {
        const from = (Math.floor(y / scale) * shape.width + Math.floor(x / scale)) * 3;
        const to = ((top + y) * png.width + left + x) * 4;
        png.data[to] = rgb[from]!;
        png.data[to + 1] = rgb[from + 1]!;
        png.data[to + 2] = rgb[from + 2]!;
        png.data[to + 3] = 255;
      }
    }
  });
  return PNG.sync.write(png);
}

/** One vector as its own PNG (a panel of a report image figure). */
export function patchPng(vector: ArrayLike<number>, shape: PatchShape, scale = 1): Buffer {
  return patchGridPng([vector], shape, { columns: 1, scale, gap: 0 });
}

/** The k eigenvectors of largest eigenvalue, largest first. */
export function topEigenvectors(eigen: SymmetricEigen, k: number): Float64Array[] {
  const n = eigen.n;
  const count = Math.min(k, n);
  return Array.from({ length: count }, (_, i) => eigen.vectors.subarray((n - 1 - i) * n, (n - i) * n));
}

/** The first `count` rows of a [rows, dim] matrix (sample filters). */
export function firstRows(values: ArrayLike<number>, dim: number, count: number): Float64Array[] {
  const rows = Math.min(count, Math.floor(values.length / dim));
  return Array.from({ length: rows }, (_, r) => Float64Array.from({ length: dim }, (_, j) => values[r * dim + j]!));
}
