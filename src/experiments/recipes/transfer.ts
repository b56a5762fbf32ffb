/**
 * The transfer protocol, shared by the recipes that compare downstream training speed (Fig. 1, Fig. 5,
 * deeper layers, specialisation, ImageNet): the configs of the upstream and downstream phases, and the
 * analysis: curves of the finished downstream runs, per-seed speed measurements, the speed tables and
 * the training-curve figure.
 */
import type { LabelSpec } from '../../data/labels.js';
import { bandChart } from '../../report/charts.js';
import { transferMeasurements, transferTables, type SeedCurve } from '../../report/transfer.js';
import type { Figure, Measurement, Table } from '../../report/types.js';
import type { RunConfigInput } from '../../runs/config.js';
import type { RunStore } from '../../runs/store.js';
import type { RunSpec } from '../recipe.js';
import { isFinished, readCurve } from '../train.js';
import { randomLabels, REAL_LABELS, transferPartData, type TransferSplit } from './common.js';

/** The training settings every transfer recipe has (the length of pre-training is per recipe: Fig. 1 has two). */
export interface TransferTraining {
  readonly downstreamIterations: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
  /** Iterations at which downstream training accuracy is compared across conditions. */
  readonly fixedIterations: readonly number[];
}

/** The two phases of one seed of a transfer experiment: alike but for the part, its labels and how long they train. */
export interface TransferPhases {
  /**
   * Pre-training on random labels over `classes` classes drawn from the seed; its length is set in epochs, as in the
   * paper.
   */
  upstream(classes: number, epochs: number): RunConfigInput;
  /**
   * Training on the downstream part for a fixed number of steps, so that training speed is compared at equal
   * iterations.
   */
  downstream(iterations: number, labels?: LabelSpec): RunConfigInput;
}

export function transferPhases(options: {
  readonly common: RunConfigInput;
  readonly split: TransferSplit;
  readonly seed: number;
  readonly batchSize: number;
}): TransferPhases {
  const { common, split, seed, batchSize } = options;
  return {
    upstream: (classes, epochs) => ({
      ...common,
      data: transferPartData(split, 'upstream', randomLabels(classes, seed), seed),
      training: { batchSize, epochs },
    }),
    downstream: (iterations, labels = REAL_LABELS) => ({
      ...common,
      data: transferPartData(split, 'downstream', labels, seed),
      training: { batchSize, iterations },
    }),
  };
}

type InitFrom = NonNullable<NonNullable<RunConfigInput['init']>['from']>;

/**
 * The downstream config started from the upstream run's weights. By default the paper's transfer:
 * rescaled to the initial norms, with a fresh head; `overrides` give the controls (no rescaling, a
 * subset of the layers). The downstream init's other settings (init_scale) are kept, since they
 * decide the norms the weights are rescaled to.
 */
export function fromUpstream(
  downstream: RunConfigInput,
  upstreamRun: string,
  overrides: Omit<InitFrom, 'run'> = {},
): RunConfigInput {
  return {
    ...downstream,
    init: { ...downstream.init, from: { run: upstreamRun, rescale: true, reinitHead: true, ...overrides } },
  };
}

export interface TransferAnalysis {
  readonly curves: SeedCurve[];
  readonly measurements: Measurement[];
  readonly tables: Table[];
  readonly figure: Figure | null;
}

/** Downstream training-accuracy curves of finished runs, keyed by their condition (renamed by `rename`). */
export function downstreamCurves(
  store: RunStore,
  specs: readonly RunSpec[],
  rename: (condition: string) => string = (c) => c,
): SeedCurve[] {
  return specs
    .filter((spec) => isFinished(store, spec.id))
    .map((spec) => ({ condition: rename(spec.condition), seed: spec.seed, points: readCurve(store, spec.id) }))
    .filter((curve) => curve.points.length >= 2);
}

export function analyseTransfer(
  curves: SeedCurve[],
  options: {
    baseline: string;
    fixedIterations: readonly number[];
    what: string;
    figureId: string;
    figureTitle: string;
    caption: string;
    tableIdPrefix?: string;
  },
): TransferAnalysis {
  if (curves.length === 0) return { curves, measurements: [], tables: [], figure: null };
  const transferOptions = {
    fixedIterations: options.fixedIterations,
    thresholds: [0.5, 0.8, 0.9],
    baseline: options.baseline,
    what: options.what,
    ...(options.tableIdPrefix ? { tableIdPrefix: options.tableIdPrefix } : {}),
  };
  const measurements = transferMeasurements(curves, transferOptions);
  const tables = transferTables(curves, measurements, transferOptions);
  const points = curves.flatMap((curve) =>
    curve.points.map((p) => ({ series: curve.condition, seed: curve.seed, x: p.iteration, y: p.value })),
  );
  const figure: Figure = {
    kind: 'chart',
    id: options.figureId,
    title: options.figureTitle,
    caption: `${options.caption} Lines: mean over seeds; bands: 95% t-interval.`,
    spec: bandChart(points, { xTitle: 'iteration', yTitle: 'train accuracy', yDomain: [0, 1] }),
  };
  return { curves, measurements, tables, figure };
}

/**
 * Every downstream condition against scratch on real labels: the analysis of the recipes with one
 * baseline (Fig. 5, deeper layers, ImageNet), whose only other condition is `upstream`.
 */
export function analyseAgainstScratch(
  store: RunStore,
  plan: readonly RunSpec[],
  options: { fixedIterations: readonly number[]; figureTitle: string; caption: string },
): TransferAnalysis {
  return analyseTransfer(
    downstreamCurves(
      store,
      plan.filter((spec) => spec.condition !== 'upstream'),
    ),
    {
      baseline: 'scratch',
      fixedIterations: options.fixedIterations,
      what: 'downstream train accuracy (real labels)',
      figureId: 'downstream-curves',
      figureTitle: options.figureTitle,
      caption: options.caption,
    },
  );
}
