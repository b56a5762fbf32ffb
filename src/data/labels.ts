/**
 * The labels a run trains on: the real ones, uniformly random ones over K classes, or real ones
 * with a fraction p replaced by random classes.
 *
 * Labels are a pure function of (dataset order, spec): a run records its LabelSpec (and the
 * fingerprint, to check), and `makeLabels` re-derives exactly the same labels later.
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
  const parsed = labelSpecSchema.safeParse(spec);
  if (!parsed.success)
    throw new Error(
      `Bad label spec ${JSON.stringify(spec)}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'spec'}: ${i.message}`).join('; ')}`,
    );
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
      if (!(spec.p >= 0 && spec.p <= 1)) throw new Error(`Label noise fraction p must be in [0, 1], got ${spec.p}`);
      const real = realLabels(dataset);
      const k = spec.k ?? dataset.classes;
      requireClassCount(k, 'noisy labels');
      if (k < dataset.classes)
        throw new Error(`Noisy labels need k ≥ the ${dataset.classes} true classes of ${dataset.name}, got k = ${k}`);
      const labels = real.slice();
      const corrupted = Math.round(spec.p * dataset.n);
      const which = new Rng(spec.seed, 'labels/noise-select').permutation(dataset.n);
      const classRng = new Rng(spec.seed, 'labels/noise-class');
      for (let i = 0; i < corrupted; i++) labels[which[i]!] = classRng.int(k);
      return labelSet({ ...spec, k }, k, labels);
    }
  }
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

function requireClassCount(k: number, what: string): void {
  if (!Number.isSafeInteger(k) || k < 2) throw new Error(`${what} need k ≥ 2 classes, got k = ${k}`);
  if (k > 2 ** 31 - 1) throw new Error(`${what}: k = ${k} does not fit an int32 label`);
}
