/**
 * The transfer protocol (docs/paper.md §3), shared by the recipes that compare downstream training speed
 * (Fig. 1, Fig. 5, deeper layers, specialisation, ImageNet, real vs random labels): the seeded split into
 * upstream and downstream parts, the configs and runs of the two phases, and the analysis: curves of the
 * finished downstream runs, per-seed speed measurements, the speed tables, the training-curve figure and the
 * checks that the runs learn.
 */
import type { LabelSpec } from '../../data/labels.js';
import { bandChart } from '../../report/charts.js';
import { transferMeasurements, transferTables, type SeedCurve } from '../../report/transfer.js';
import type { Figure, Measurement, RecipeCheck, Table } from '../../report/types.js';
import type { RunConfigInput } from '../../runs/config.js';
import type { RunStore } from '../../runs/store.js';
import type { RecipeAnalysis, RunSpec } from '../recipe.js';
import { isFinished, readCurve, trainSpec, type Initializer, type ProbeFactory } from '../train.js';
import {
  baseRunConfig,
  CIFAR10_CLASSES,
  pretrainingLearnsCheck,
  randomLabels,
  REAL_LABELS,
  runsOf,
  scratchLearnsCheck,
} from './common.js';

/** Where the examples of a transfer experiment come from, per scale. */
export interface TransferData {
  /** Source split of CIFAR-10 cut into parts: `train` (the paper), or `test` at smoke scale (it loads 5× faster). */
  readonly source: 'train' | 'test';
  /** Sizes of the disjoint parts (docs/paper.md §3: 20 000 upstream, 25 000 downstream). */
  readonly upstream: number;
  readonly downstream: number;
  /** Split scored as test data (always real labels), or null for none. */
  readonly testSplit: 'test' | null;
  readonly testLimit: number | null;
  /** Evaluate training accuracy on the first n training examples only; null for all. */
  readonly trainEvalLimit: number | null;
}

/** A dataset whose training split is cut into the disjoint upstream and downstream parts of the transfer protocol. */
export interface TransferSplit {
  readonly dataset: string;
  readonly trainSplit: string;
  readonly upstream: number;
  readonly downstream: number;
  readonly testSplit: string | null;
  readonly testLimit: number | null;
}

type TransferPart = 'upstream' | 'downstream';

/** The `data` section of a run config for one part of the split, cut by `seed`. */
function transferPartData(
  split: TransferSplit,
  part: TransferPart,
  labels: LabelSpec,
  seed: number,
): NonNullable<RunConfigInput['data']> {
  return {
    dataset: split.dataset,
    trainSplit: split.trainSplit,
    split: { seed, parts: { upstream: split.upstream, downstream: split.downstream }, use: part },
    labels,
    testSplit: split.testSplit,
    testLimit: split.testLimit,
  };
}

/** The seeded split of CIFAR-10's `data.source` file(s) into the parts of the protocol. */
function cifarTransferSplit(data: TransferData): TransferSplit {
  return {
    dataset: 'cifar10',
    trainSplit: data.source,
    upstream: data.upstream,
    downstream: data.downstream,
    testSplit: data.testSplit,
    testLimit: data.testLimit,
  };
}

/** The training settings every transfer recipe has (the length of pre-training is per recipe: Fig. 1 has two). */
export interface TransferTraining {
  readonly downstreamIterations: number;
  readonly batchSize: number;
  readonly lr: number;
  readonly evalEvery: number;
  /** Iterations at which downstream training accuracy is compared across conditions. */
  readonly fixedIterations: readonly number[];
}

/** The settings of a transfer recipe on the seeded CIFAR-10 split. */
export interface CifarTransferSettings extends TransferTraining {
  readonly data: TransferData;
  /** init_scale; absent: the model's default (src/runs/config.ts). */
  readonly initScale?: number;
}

type ModelInput = NonNullable<RunConfigInput['model']>;

/** The labels of pre-training: random ones (the paper's protocol) or the upstream part's real ones. */
export type UpstreamLabels = 'random' | 'real';

/** The two phases of one seed of a transfer experiment: alike but for the part, its labels and how long they train. */
export interface TransferPhases {
  readonly seed: number;
  /**
   * Pre-training on random labels over `classes` classes drawn from the seed (or, with `labels` 'real', on the
   * upstream part's real labels); its length is set in epochs, as in the paper.
   */
  upstream(classes: number, epochs: number, labels?: UpstreamLabels): RunConfigInput;
  /**
   * Training on the downstream part for a fixed number of steps, so that training speed is compared at equal
   * iterations.
   */
  downstream(iterations: number, labels?: LabelSpec): RunConfigInput;
}

export function transferPhases(options: {
  readonly seed: number;
  readonly model: ModelInput;
  readonly training: TransferTraining;
  readonly split: TransferSplit;
  readonly initScale?: number;
  /** Score training accuracy on the first n training examples only (null or absent: all). */
  readonly trainEvalLimit?: number | null;
}): TransferPhases {
  const { seed, model, training, split, initScale, trainEvalLimit } = options;
  const { lr, evalEvery, batchSize } = training;
  const common = baseRunConfig({ seed, model, initScale, lr, evalEvery, trainEvalLimit });
  return {
    seed,
    upstream: (classes, epochs, labels = 'random') => ({
      ...common,
      data: transferPartData(split, 'upstream', labels === 'real' ? REAL_LABELS : randomLabels(classes, seed), seed),
      training: { batchSize, epochs },
    }),
    downstream: (iterations, labels = REAL_LABELS) => ({
      ...common,
      data: transferPartData(split, 'downstream', labels, seed),
      training: { batchSize, iterations },
    }),
  };
}

/** The phases of one seed on the CIFAR-10 split of `s.data`. */
export function cifarTransferPhases(s: CifarTransferSettings, seed: number, model: ModelInput): TransferPhases {
  return transferPhases({
    seed,
    model,
    training: s,
    split: cifarTransferSplit(s.data),
    initScale: s.initScale,
    trainEvalLimit: s.data.trainEvalLimit,
  });
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

/** How long each phase of a transfer recipe trains, and over how many random classes it pre-trains (if it does). */
export interface TransferLengths {
  readonly upstreamClasses: number;
  readonly upstreamEpochs: number;
  readonly downstreamIterations: number;
}

/** The runs of one seed of a transfer recipe: pre-training, then downstream runs that start after it. */
export interface TransferRuns {
  /** Pre-training on the upstream part (random labels unless `options.upstream` says real). */
  readonly upstream: RunSpec;
  /** A downstream run from a fresh init (scratch), or with the layers an `initializer` draws. */
  fresh(condition: string, initializer?: Initializer): RunSpec;
  /** A downstream run from the upstream weights: rescaled, new head (the paper's transfer) unless `overrides` say. */
  transferred(condition: string, overrides?: Omit<InitFrom, 'run'>): RunSpec;
}

/**
 * The runs of one seed: `upstream` pre-trains for `upstreamEpochs` on `upstreamClasses` random classes
 * (or on the real labels), every downstream run trains `downstreamIterations` steps on the downstream
 * labels. `prefix` starts every condition name; `probes` watch every run.
 */
export function transferRuns(
  phases: TransferPhases,
  lengths: TransferLengths,
  options: {
    readonly prefix?: string;
    readonly probes?: readonly ProbeFactory[];
    /** The pre-training's labels (default random) and condition (default `upstream`), so one seed can have two. */
    readonly upstream?: { readonly labels?: UpstreamLabels; readonly condition?: string };
  } = {},
): TransferRuns {
  const { seed } = phases;
  const { prefix = '', probes = [] } = options;
  const upstream = trainSpec({
    condition: `${prefix}${options.upstream?.condition ?? 'upstream'}`,
    seed,
    config: phases.upstream(lengths.upstreamClasses, lengths.upstreamEpochs, options.upstream?.labels),
    probes,
  });
  const downstream = phases.downstream(lengths.downstreamIterations);
  const after = (condition: string, config: RunConfigInput, initializer?: Initializer) =>
    trainSpec({
      condition: `${prefix}${condition}`,
      seed,
      config,
      dependsOn: [upstream.id],
      ...(initializer ? { initializer } : {}),
      probes,
    });
  return {
    upstream,
    fresh: (condition, initializer) => after(condition, downstream, initializer),
    transferred: (condition, overrides) => after(condition, fromUpstream(downstream, upstream.id, overrides)),
  };
}

export interface TransferAnalysis {
  readonly measurements: Measurement[];
  readonly tables: Table[];
  /** The training curves, or none when no downstream run has finished. */
  readonly figures: Figure[];
}

/** Downstream training-accuracy curves of finished runs, keyed by their condition. */
function downstreamCurves(store: RunStore, specs: readonly RunSpec[]): SeedCurve[] {
  return specs
    .filter((spec) => isFinished(store, spec.id))
    .map((spec) => ({ condition: spec.condition, seed: spec.seed, points: readCurve(store, spec.id) }))
    .filter((curve) => curve.points.length >= 2);
}

/** Training speed of the finished downstream runs among `specs`, each condition against `baseline`. */
export function analyseTransfer(
  store: RunStore,
  specs: readonly RunSpec[],
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
  const curves = downstreamCurves(store, specs);
  if (curves.length === 0) return { measurements: [], tables: [], figures: [] };
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
  return { measurements, tables, figures: [figure] };
}

/** Several transfer comparisons of one experiment (e.g. one per label setting or width), in the given order. */
export function combineTransfers(analyses: readonly TransferAnalysis[]): TransferAnalysis {
  return {
    measurements: analyses.flatMap((analysis) => analysis.measurements),
    tables: analyses.flatMap((analysis) => analysis.tables),
    figures: analyses.flatMap((analysis) => analysis.figures),
  };
}

/** Whether a planned run pre-trains: it trains on the upstream part of the split. */
function isPretraining(spec: RunSpec): boolean {
  return spec.config?.data?.split?.use === 'upstream';
}

/** How far each pre-training condition fit its labels: random ones over their k classes, or the `classes` real ones. */
function pretrainingChecks(store: RunStore, pretraining: readonly RunSpec[], classes: number): RecipeCheck[] {
  const conditions = [...new Set(pretraining.map((spec) => spec.condition))];
  return conditions.map((condition) => {
    const runs = runsOf(pretraining, condition);
    const labels = runs[0]?.config?.data?.labels;
    if (labels?.kind === 'random') return pretrainingLearnsCheck(store, runs, labels.k);
    if (labels?.kind === 'real') return pretrainingLearnsCheck(store, runs, classes, 'pre-training on real labels');
    throw new Error(`pre-training condition '${condition}': no learns check for labels ${JSON.stringify(labels)}`);
  });
}

/**
 * The analysis of the recipes with one baseline (Fig. 5, deeper layers, ImageNet, real vs random labels), whose
 * runs pre-train on the upstream part or train downstream (`scratch` and other conditions): every downstream
 * condition against scratch on real labels, and the checks that scratch learns its `classes` (default
 * CIFAR-10's) and how far each pre-training fit its labels.
 */
export function analyseAgainstScratch(
  store: RunStore,
  plan: readonly RunSpec[],
  options: {
    fixedIterations: readonly number[];
    figureTitle: string;
    caption: string;
    classes?: number;
  },
): RecipeAnalysis {
  const classes = options.classes ?? CIFAR10_CLASSES;
  const transfer = analyseTransfer(
    store,
    plan.filter((spec) => !isPretraining(spec)),
    {
      baseline: 'scratch',
      fixedIterations: options.fixedIterations,
      what: 'downstream train accuracy (real labels)',
      figureId: 'downstream-curves',
      figureTitle: options.figureTitle,
      caption: options.caption,
    },
  );
  const checks = [
    scratchLearnsCheck(store, runsOf(plan, 'scratch'), classes),
    ...pretrainingChecks(store, plan.filter(isPretraining), classes),
  ];
  return { ...transfer, checks, notes: [] };
}
