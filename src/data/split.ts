/**
 * Named, disjoint subsets of a dataset, cut from one seeded permutation.
 *
 * The paper's transfer protocol: CIFAR-10 train → upstream 20 000, downstream 25 000 (5 000 unused).
 * Parts without an offset are laid end to end along the permutation; parts with an explicit offset
 * may be placed anywhere, and overlapping placements are rejected, so subsets never share an example.
 */
import { Rng } from '../tensor/rng.js';
import type { Dataset, ImageDataset, VectorDataset } from './types.js';
import { exampleSize, sharedFloat32, sharedUint8 } from './types.js';

export interface SplitPart {
  readonly name: string;
  readonly size: number;
  /** Start in the permutation; default: right after the previous part. */
  readonly offset?: number;
}

export interface SplitOptions {
  readonly seed: number;
  /** Parts in order, or `{ name: size }` laid end to end. */
  readonly parts: readonly SplitPart[] | Readonly<Record<string, number>>;
  /** Keep only examples of these true classes before permuting. */
  readonly classes?: readonly number[];
  /** With `classes`: relabel them 0..m−1 in the order given (default true), so a head of m outputs fits. */
  readonly remapClasses?: boolean;
}

/** Cuts `dataset` into named disjoint parts. Each part's examples keep the dataset's order. */
export function splitDataset(dataset: Dataset, options: SplitOptions): Record<string, Dataset> {
  const parts = normaliseParts(options.parts);
  const pool = options.classes === undefined ? null : classPool(dataset, options.classes);
  const poolSize = pool === null ? dataset.n : pool.length;
  placeParts(dataset, parts, poolSize, options.classes !== undefined);
  const permutation = new Rng(options.seed, 'split').permutation(poolSize);
  const remap = options.classes !== undefined && options.remapClasses !== false ? options.classes : undefined;
  const result: Record<string, Dataset> = {};
  for (const part of parts) {
    const chosen = permutation.slice(part.offset, part.offset + part.size);
    const indices = pool === null ? chosen : Int32Array.from(chosen, (i) => pool[i]!);
    indices.sort();
    result[part.name] = subsetDataset(dataset, indices, `${dataset.split}/${part.name}`, remap);
  }
  return result;
}

/**
 * The examples at `indices` as a new dataset (pixels copied into a new shared buffer).
 * `remapClasses` relabels class remapClasses[j] to j; every example must then belong to one of them.
 */
export function subsetDataset(
  dataset: Dataset,
  indices: Int32Array,
  split: string,
  remapClasses?: readonly number[],
): Dataset {
  for (const index of indices) {
    if (!Number.isInteger(index) || index < 0 || index >= dataset.n) {
      throw new Error(`Subset of ${dataset.spec} (${dataset.split}): index ${index} is outside 0..${dataset.n - 1}`);
    }
  }
  const sourceIndices = Int32Array.from(indices, (i) => dataset.sourceIndices[i]!);
  const { labels, classes, classNames } = subsetLabels(dataset, indices, remapClasses);
  const base = {
    name: dataset.name,
    spec: dataset.spec,
    split,
    n: indices.length,
    classes,
    labels,
    sourceIndices,
    ...(classNames ? { classNames } : {}),
  };
  const size = exampleSize(dataset);
  if (dataset.kind === 'image') {
    const pixels = sharedUint8(indices.length * size);
    indices.forEach((index, row) => pixels.set(dataset.pixels.subarray(index * size, (index + 1) * size), row * size));
    return { ...base, kind: 'image', shape: dataset.shape, pixels } satisfies ImageDataset;
  }
  const values = sharedFloat32(indices.length * size);
  indices.forEach((index, row) => values.set(dataset.values.subarray(index * size, (index + 1) * size), row * size));
  return {
    ...base,
    kind: 'vector',
    shape: dataset.shape,
    values,
    ...(dataset.variances ? { variances: dataset.variances } : {}),
  } satisfies VectorDataset;
}

function subsetLabels(
  dataset: Dataset,
  indices: Int32Array,
  remapClasses: readonly number[] | undefined,
): { labels: Int32Array | null; classes: number; classNames?: readonly string[] } {
  if (dataset.labels === null) return { labels: null, classes: dataset.classes };
  const labels = Int32Array.from(indices, (i) => dataset.labels![i]!);
  if (remapClasses === undefined)
    return { labels, classes: dataset.classes, ...(dataset.classNames ? { classNames: dataset.classNames } : {}) };
  const newIndex = new Map(remapClasses.map((label, j) => [label, j]));
  labels.forEach((label, i) => {
    const mapped = newIndex.get(label);
    if (mapped === undefined)
      throw new Error(
        `Subset of ${dataset.spec}: example ${indices[i]} has class ${label}, not among the kept classes`,
      );
    labels[i] = mapped;
  });
  const classNames = dataset.classNames ? remapClasses.map((label) => dataset.classNames![label]!) : undefined;
  return { labels, classes: remapClasses.length, ...(classNames ? { classNames } : {}) };
}

interface PlacedPart {
  readonly name: string;
  readonly size: number;
  offset: number;
}

function normaliseParts(parts: SplitOptions['parts']): PlacedPart[] {
  const list: SplitPart[] = Array.isArray(parts)
    ? [...(parts as readonly SplitPart[])]
    : Object.entries(parts as Record<string, number>).map(([name, size]) => ({ name, size }));
  if (list.length === 0) throw new Error('A split needs at least one part');
  const names = new Set<string>();
  let end = 0;
  return list.map((part) => {
    if (part.name === '' || names.has(part.name))
      throw new Error(`Split part names must be unique and non-empty, got '${part.name}' twice or empty`);
    names.add(part.name);
    if (!Number.isSafeInteger(part.size) || part.size < 1)
      throw new Error(`Split part '${part.name}' needs a positive integer size, got ${part.size}`);
    if (part.offset !== undefined && (!Number.isSafeInteger(part.offset) || part.offset < 0)) {
      throw new Error(`Split part '${part.name}' needs a non-negative integer offset, got ${part.offset}`);
    }
    const offset = part.offset ?? end;
    end = offset + part.size;
    return { name: part.name, size: part.size, offset };
  });
}

function placeParts(dataset: Dataset, parts: PlacedPart[], poolSize: number, classSubset: boolean): void {
  const pool = classSubset ? `the ${poolSize} examples of the chosen classes` : `${poolSize} examples`;
  for (const part of parts) {
    if (part.offset + part.size > poolSize) {
      throw new Error(
        `Split part '${part.name}' of ${dataset.spec} (${dataset.split}) needs examples ${part.offset}..${part.offset + part.size - 1} ` +
          `of the permutation, but the data has only ${pool}`,
      );
    }
  }
  const byStart = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byStart.length; i++) {
    const previous = byStart[i - 1]!;
    const current = byStart[i]!;
    if (current.offset < previous.offset + previous.size) {
      throw new Error(
        `Split parts '${previous.name}' (${previous.offset}..${previous.offset + previous.size - 1}) and '${current.name}' ` +
          `(${current.offset}..${current.offset + current.size - 1}) overlap`,
      );
    }
  }
}

function classPool(dataset: Dataset, classes: readonly number[]): Int32Array {
  if (dataset.labels === null)
    throw new Error(`Dataset ${dataset.spec} has no labels, so it cannot be restricted to classes`);
  if (classes.length === 0) throw new Error('A class subset needs at least one class');
  const wanted = new Set(classes);
  if (wanted.size !== classes.length) throw new Error(`Class subset lists a class twice: ${classes.join(', ')}`);
  for (const label of classes) {
    if (!Number.isInteger(label) || label < 0 || label >= dataset.classes) {
      throw new Error(`Class subset: class ${label} is outside 0..${dataset.classes - 1} of ${dataset.spec}`);
    }
  }
  const pool: number[] = [];
  dataset.labels.forEach((label, i) => {
    if (wanted.has(label)) pool.push(i);
  });
  return Int32Array.from(pool);
}
