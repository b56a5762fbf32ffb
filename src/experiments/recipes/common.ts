/**
 * Building blocks the recipes share: data availability, the parts of a run config, the planned runs of
 * a condition, the first layer's Σ_x for a run, and the "training from scratch learns" check.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { inputCovariance, type InputCovariance } from '../../analysis/index.js';
import { geometryFromWeightShape } from '../../analysis/patches.js';
import { findCifarFile } from '../../data/cifar.js';
import type { LabelSpec } from '../../data/labels.js';
import { resolveConfig, type RunConfigInput } from '../../runs/config.js';
import { prepareRunData, type RunData } from '../../runs/data.js';
import type { Measurement } from '../../report/types.js';
import type { RecipeCheck } from '../../report/types.js';
import type { CurvePoint } from '../../report/stats.js';
import { readCurve } from '../train.js';
import type { RunContext, RunSpec } from '../recipe.js';
import type { RunStore } from '../../runs/store.js';

export type Availability = { ok: true } | { ok: false; reason: string };

const CIFAR_FILES = ['data_batch_1', 'data_batch_2', 'data_batch_3', 'data_batch_4', 'data_batch_5', 'test_batch'];

/** CIFAR-10 is usable when every binary batch file exists under `<dataRoot>/cifar10/`. */
export function cifarAvailability(dataRoot: string): Availability {
  const dir = join(dataRoot, 'cifar10');
  const missing = CIFAR_FILES.filter((base) => findCifarFile(dir, base) === null);
  if (missing.length === 0) return { ok: true };
  return {
    ok: false,
    reason:
      `CIFAR-10 is not in ${dir} (missing ${missing.map((m) => `${m}.bin`).join(', ')}). ` +
      'Download it with `randlab data fetch cifar10`, or point --data-dir or $RANDLAB_DATA at a folder holding cifar10/.',
  };
}

/** The class folders of an image-folder dataset's train split, sorted as the loader sorts them. */
export function imageFolderClasses(dataRoot: string, folder: string): string[] {
  const dir = join(dataRoot, folder, 'train');
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Checkpoints every this many steps (and at the end), so an interrupted run resumes close to where it stopped. */
export const CHECKPOINT_EVERY = 500;

/**
 * The part of a run config that every run of a recipe shares: seed, model, init_scale, a constant
 * learning rate (docs/paper.md §3 Optimiser), evaluation and logging every `evalEvery` steps, checkpoints.
 */
export function baseRunConfig(options: {
  readonly seed: number;
  readonly model: NonNullable<RunConfigInput['model']>;
  readonly lr: number;
  readonly evalEvery: number;
  /** Score training accuracy on the first n training examples only (null or absent: all). */
  readonly trainEvalLimit?: number | null;
  /** init_scale; absent: the model's default (src/runs/config.ts). */
  readonly initScale?: number;
}): RunConfigInput {
  return {
    seed: options.seed,
    model: options.model,
    ...(options.initScale !== undefined ? { init: { scale: options.initScale } } : {}),
    schedule: { type: 'constant', lr: options.lr },
    eval: {
      every: options.evalEvery,
      ...(options.trainEvalLimit != null ? { trainLimit: options.trainEvalLimit } : {}),
    },
    log: { every: options.evalEvery },
    checkpoint: { every: CHECKPOINT_EVERY, keep: 'last' },
  };
}

/** A fully connected net on synthetic Gaussian inputs N(0, diag) with random labels (Fig. 4 left, Fig. 20). */
export interface GaussianRun {
  readonly diag: string;
  readonly samples: number;
  readonly widths: readonly number[];
  readonly epochs: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
  readonly classes: number;
}

/** Its run config: data, labels and initialisation (std 1/√fan_in, the mlp default) all from `seed`. */
export function gaussianRunConfig(run: GaussianRun, seed: number): RunConfigInput {
  return {
    ...baseRunConfig({ seed, model: { name: 'mlp', widths: [...run.widths] }, lr: run.lr, evalEvery: run.evalEvery }),
    data: {
      dataset: `gaussian:${run.diag},n=${run.samples},seed=${seed}`,
      labels: randomLabels(run.classes, seed),
      testSplit: null,
      preprocessing: 'none',
    },
    training: { batchSize: run.batchSize, epochs: run.epochs },
  };
}

export const randomLabels = (k: number, seed: number): LabelSpec => ({ kind: 'random', k, seed });
export const REAL_LABELS: LabelSpec = { kind: 'real' };

export const CIFAR10_CLASSES = 10;
/** Images in each CIFAR-10 split. */
export const CIFAR10_IMAGES = { train: 50_000, test: 10_000 } as const;

/** CIFAR-10's real labels, or random labels over its 10 classes drawn from `seed`. */
export function cifarLabels(kind: 'real' | 'random', seed: number): LabelSpec {
  return kind === 'real' ? REAL_LABELS : randomLabels(CIFAR10_CLASSES, seed);
}

/** The `data` section of a run on the first `limit` images (null: all) of a CIFAR-10 split, scored on no test set. */
export function cifarData(
  source: 'train' | 'test',
  limit: number | null,
  labels: LabelSpec,
): NonNullable<RunConfigInput['data']> {
  return { dataset: 'cifar10', trainSplit: source, limit, labels, testSplit: null };
}

/** The planned runs of one condition. */
export function runsOf(plan: readonly RunSpec[], condition: string): RunSpec[] {
  return plan.filter((spec) => spec.condition === condition);
}

/** Per-seed measurements from a record of metric → value. */
export function measurementsOf(
  condition: string,
  seed: number,
  values: Readonly<Record<string, number>>,
): Measurement[] {
  return Object.entries(values)
    .filter(([, value]) => Number.isFinite(value))
    .map(([metric, value]) => ({ condition, seed, metric, value }));
}

/** The data of a planned run, rebuilt from its config exactly as the trainer builds it. */
export async function runData(config: RunConfigInput, context: RunContext): Promise<RunData> {
  return prepareRunData(resolveConfig(config), { dataDir: context.dataRoot });
}

/** Σ_x (with eigenpairs) of a run's training data for a layer with weights of `weightShape`. */
export function firstLayerInputCovariance(data: RunData, weightShape: readonly number[]): InputCovariance {
  return inputCovariance(data.train, {
    preprocess: data.preprocessor.config,
    geometry: geometryFromWeightShape(weightShape),
  });
}

/** The first and the last point of each run's training-accuracy curve (on its own labels), for runs that logged one. */
export function trainAccuracyEnds(
  store: RunStore,
  runs: readonly { id: string; seed: number }[],
): { seed: number; first: CurvePoint; last: CurvePoint }[] {
  return runs
    .map((run) => ({ seed: run.seed, curve: readCurve(store, run.id) }))
    .filter((r) => r.curve.length > 0)
    .map((r) => ({ seed: r.seed, first: r.curve[0]!, last: r.curve[r.curve.length - 1]! }));
}

/**
 * "Training from scratch learns" (docs/paper.md §3 Init): the final training accuracy of the given
 * runs beats chance by `margin`, for every seed. Required by default; pass `required = false` for runs
 * that need not learn at every scale (a short pre-training on random labels).
 */
export function learnsCheck(
  store: RunStore,
  runs: readonly { id: string; seed: number }[],
  classes: number,
  margin: number,
  what: string,
  required = true,
): RecipeCheck {
  const chance = 1 / classes;
  const finals = trainAccuracyEnds(store, runs);
  if (finals.length === 0)
    return { name: `${what} learns`, passed: false, required, detail: 'no finished run to check' };
  const failing = finals.filter((r) => !(r.last.value > chance + margin));
  const detail = finals
    .map(
      (r) =>
        `seed ${r.seed}: ${r.first.value.toFixed(3)} at step ${r.first.iteration} → ${r.last.value.toFixed(3)} at step ${r.last.iteration}`,
    )
    .join('; ');
  return {
    name: `${what} learns (final train accuracy > chance ${chance.toFixed(3)} + ${margin})`,
    passed: failing.length === 0 && finals.length === runs.length,
    required,
    detail: finals.length < runs.length ? `${detail}; ${runs.length - finals.length} run(s) missing` : detail,
  };
}

/** Training from scratch on real labels must learn at every scale, else no comparison with it means anything. */
export function scratchLearnsCheck(
  store: RunStore,
  runs: readonly { id: string; seed: number }[],
  classes: number,
): RecipeCheck {
  return learnsCheck(store, runs, classes, 0.1, 'training from scratch on real labels');
}

/**
 * A short pre-training on random labels need not memorise them at every scale (it only has to shape
 * the layers that are transferred), so its check is reported but not required.
 */
export function pretrainingLearnsCheck(
  store: RunStore,
  runs: readonly { id: string; seed: number }[],
  classes: number,
  what = 'pre-training on random labels',
): RecipeCheck {
  return learnsCheck(store, runs, classes, 0.02, what, false);
}
