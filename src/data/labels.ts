/**
 * The labels a run trains on: the real ones, uniformly random ones over K classes, or real ones
 * with a fraction p replaced by random classes; and labels drawn the same way for a held-out split,
 * to score a model on test labels corrupted like its training labels.
 *
 * Labels are a pure function of (dataset order, spec): a run records its LabelSpec (and the
 * fingerprint, to check), and `makeLabels` re-derives exactly the same labels later. Held-out labels
 * are a pure function of (spec, split, example index), see `makeHeldOutLabels`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { Rng } from '../tensor/rng.js';
import type { Dataset } from './types.js';

export const labelSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('real') }).strict(),
  z.object({ kind: z.literal('random'), k: z.number().int(), seed: z.number().int().nonnegative() }).strict(),
  z
    .object({
      kind: z.literal('noise'),
      p: z.number(),
      seed: z.number().int().nonnegative(),
      k: z.number().int().optional(),
    })
    .strict(),
]);

export type LabelSpec = z.infer<typeof labelSpecSchema>;

export interface LabelSet {
  readonly spec: LabelSpec;
  /** Number of classes the labels range over (the classifier's output size). */
  readonly classes: number;
  readonly labels: Int32Array;
  /** Hex SHA-256 of the labels (int32 little-endian), to check a re-derivation. */
  readonly fingerprint: string;
}

/**
 * - real: the dataset's labels.
 * - random: each label i.i.d. uniform over k classes (k ≥ 2, may differ from the true class count),
 *   from stream `labels` of `seed`, one draw per example in dataset order.
 * - noise: exactly round(p·n) examples, chosen by a permutation from stream `labels/noise-select`,
 *   get a class drawn uniformly over k (default: the true class count) from stream
 *   `labels/noise-class`. As in Zhang et al. (2017) the drawn class may equal the true one, so the
 *   fraction of labels that actually change is about p·(1 − 1/k).
 */
export function makeLabels(dataset: Dataset, spec: LabelSpec): LabelSet {
  checkSpec(spec);
  switch (spec.kind) {
    case 'real':
      return labelSet(spec, dataset.classes, realLabels(dataset).slice());
    case 'random': {
      requireClassCount(spec.k, 'random labels');
      const rng = new Rng(spec.seed, 'labels');
      const labels = new Int32Array(dataset.n);
      for (let i = 0; i < dataset.n; i++) labels[i] = rng.int(spec.k);
      return labelSet(spec, spec.k, labels);
    }
    case 'noise': {
      const { real, k } = noiseSetting(dataset, spec);
      const labels = real.slice();
      const corrupted = Math.round(spec.p * dataset.n);
      const which = new Rng(spec.seed, 'labels/noise-select').permutation(dataset.n);
      const classRng = new Rng(spec.seed, 'labels/noise-class');
      for (let i = 0; i < corrupted; i++) labels[which[i]!] = classRng.int(k);
      return labelSet({ ...spec, k }, k, labels);
    }
  }
}

/**
 * Labels for the examples of a held-out split (`split`: the name of the source split they were loaded
 * from, e.g. `test`), drawn the same way as training labels of `spec`: the same kind, k, p and seed.
 *
 * - real: the dataset's labels.
 * - random: each label uniform over k.
 * - noise: each example independently keeps its real label with probability 1 − p, else gets a class
 *   uniform over k (default the true class count). The training labels corrupt exactly round(p·n)
 *   examples through a permutation of the training set; a permutation would tie each test label to the
 *   test set's size, so here each example is corrupted on its own, with the same expected fraction p.
 *
 * Example j of the source split (`dataset.sourceIndices`, so a test limit or subset keeps every label)
 * draws from word 4·j on (one Philox block; a rejected draw of `Rng.int`, probability below k/2^32,
 * reads on into the next) of stream `labels/held-out/<split>` of the spec's seed. Its label is therefore
 * a function of (seed, split, j) alone: the same on every run, after a resume and for every training set.
 *
 * Why this is independent of the training labels: those come from streams `labels`,
 * `labels/noise-select` and `labels/noise-class` of the same seed. Philox (src/tensor/rng.ts) keys each
 * stream by a hash of its name, and blocks under different keys are independent draws (Salmon et al.,
 * SC 2011), so no held-out label is a function of any training label, nor of the training set's size
 * or order, which the held-out draws never see.
 */
export function makeHeldOutLabels(dataset: Dataset, spec: LabelSpec, split: string): LabelSet {
  checkSpec(spec);
  switch (spec.kind) {
    case 'real':
      return makeLabels(dataset, spec);
    case 'random': {
      const { k } = spec;
      requireClassCount(k, 'random labels');
      return labelSet(
        spec,
        k,
        drawPerExample(dataset, spec.seed, split, (rng) => rng.int(k)),
      );
    }
    case 'noise': {
      const { real, k } = noiseSetting(dataset, spec);
      const labels = drawPerExample(dataset, spec.seed, split, (rng, row) =>
        rng.uniform() < spec.p ? rng.int(k) : real[row]!,
      );
      return labelSet({ ...spec, k }, k, labels);
    }
  }
}

/** Words of the held-out stream that each example starts apart: one Philox block. */
const HELD_OUT_WORDS_PER_EXAMPLE = 4;

function drawPerExample(
  dataset: Dataset,
  seed: number,
  split: string,
  draw: (rng: Rng, row: number) => number,
): Int32Array {
  const stream = `labels/held-out/${split}`;
  const labels = new Int32Array(dataset.n);
  for (let row = 0; row < dataset.n; row++) {
    const position = HELD_OUT_WORDS_PER_EXAMPLE * dataset.sourceIndices[row]!;
    labels[row] = draw(Rng.fromState({ seed, stream, position }), row);
  }
  return labels;
}

export function labelFingerprint(labels: Int32Array): string {
  const bytes = Buffer.alloc(labels.length * 4);
  labels.forEach((label, i) => bytes.writeInt32LE(label, i * 4));
  return createHash('sha256').update(bytes).digest('hex');
}

function labelSet(spec: LabelSpec, classes: number, labels: Int32Array): LabelSet {
  return { spec, classes, labels, fingerprint: labelFingerprint(labels) };
}

function realLabels(dataset: Dataset): Int32Array {
  if (dataset.labels === null) {
    throw new Error(
      `Dataset ${dataset.spec} (${dataset.split}) has no real labels; use random labels ({kind: 'random', k, seed})`,
    );
  }
  return dataset.labels;
}

function checkSpec(spec: LabelSpec): void {
  const parsed = labelSpecSchema.safeParse(spec);
  if (!parsed.success)
    throw new Error(
      `Bad label spec ${JSON.stringify(spec)}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ')}`,
    );
}

/** The real labels and the class count k that noisy labels of `spec` draw over, checked. */
function noiseSetting(dataset: Dataset, spec: Extract<LabelSpec, { kind: 'noise' }>): { real: Int32Array; k: number } {
  if (!(spec.p >= 0 && spec.p <= 1)) throw new Error(`Label noise fraction p must be in [0, 1], got ${spec.p}`);
  const real = realLabels(dataset);
  const k = spec.k ?? dataset.classes;
  requireClassCount(k, 'noisy labels');
  if (k < dataset.classes)
    throw new Error(`Noisy labels need k ≥ the ${dataset.classes} true classes of ${dataset.name}, got k = ${k}`);
  return { real, k };
}

function requireClassCount(k: number, what: string): void {
  if (!Number.isSafeInteger(k) || k < 2) throw new Error(`${what} need k ≥ 2 classes, got k = ${k}`);
  if (k > 2 ** 31 - 1) throw new Error(`${what}: k = ${k} does not fit an int32 label`);
}
