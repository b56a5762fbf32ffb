/**
 * The transfer protocol (docs/paper.md §3), shared by the recipes that compare downstream training speed
 * (Fig. 1, Fig. 5, deeper layers, specialisation, ImageNet, real vs random labels): the seeded split into
 * upstream and downstream parts, the configs and runs of the two phases, and the analysis: curves of the
 * finished downstream runs, per-seed speed measurements, the speed tables, the training-curve figure, how far
 * each pre-training fit its own labels (which every transfer verdict shows) and the checks that the runs learn.
 */
import type { LabelSpec } from '../../data/labels.js';
import { bandChart } from '../../report/charts.js';
import {
  transferMeasurements,
  transferTables,
  upstreamFitTable,
  UPSTREAM_CHANCE_METRIC,
  UPSTREAM_FIT_METRIC,
  type SeedCurve,
} from '../../report/transfer.js';
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
  trainAccuracyEnds,
} from './common.js';

/** Where the examples of a transfer experiment come from, per scale. */
export interface TransferData {
  /** Source split of CIFAR-10 cut into parts: `train` (the paper), or `test` at smoke scale (it loads 5× faster). */
  readonly source: 'train' | 'test';
  /** Size of the downstream part (docs/paper.md §3: 25 000); the upstream part's is `upstreamImages`. */
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
function cifarTransferSplit(data: TransferData, upstreamImages: number): TransferSplit {
  return {
    dataset: 'cifar10',
    trainSplit: data.source,
    upstream: upstreamImages,
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
  /**
   * SGD momentum of the downstream runs; absent: the paper's default (PAPER.momentum) as every run has. The
   * paper scale of Fig. 5 sets it so that training from scratch follows the paper's scratch curve.
   */
  readonly downstreamMomentum?: number;
}

/**
 * The pre-training of a transfer recipe, each a setting with its reason: how many images the upstream part
 * has, over how many random classes its labels are drawn and how many epochs it trains. How far it fits
 * those labels decides what a transfer verdict means (docs/experiments.md), so each scale chooses them.
 */
export interface UpstreamSettings {
  /** Images of the upstream part (docs/paper.md §3: 20 000). */
  readonly upstreamImages: number;
  readonly upstreamClasses: number;
  readonly upstreamEpochs: number;
}

/** The settings of a transfer recipe on the seeded CIFAR-10 split (its pre-training's classes and epochs apart). */
export interface CifarTransferSettings extends TransferTraining, Pick<UpstreamSettings, 'upstreamImages'> {
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
  const { lr, evalEvery, batchSize, downstreamMomentum } = training;
  const common = baseRunConfig({ seed, model, initScale, lr, evalEvery, trainEvalLimit });
  const downstreamOptimizer = downstreamMomentum === undefined ? {} : { optimizer: { momentum: downstreamMomentum } };
  return {
    seed,
    upstream: (classes, epochs, labels = 'random') => ({
      ...common,
      data: transferPartData(split, 'upstream', labels === 'real' ? REAL_LABELS : randomLabels(classes, seed), seed),
      training: { batchSize, epochs },
    }),
    downstream: (iterations, labels = REAL_LABELS) => ({
      ...common,
      ...downstreamOptimizer,
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
    split: cifarTransferSplit(s.data, s.upstreamImages),
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
export function isPretraining(spec: RunSpec): boolean {
  return spec.config?.data?.split?.use === 'upstream';
}

/** The classes of a pre-training's labels: the k of random labels, or the data's `realClasses` for real ones. */
function pretrainingClasses(spec: RunSpec, realClasses: number): { labels: UpstreamLabels; classes: number } {
  const labels = spec.config?.data?.labels;
  if (labels?.kind === 'random') return { labels: 'random', classes: labels.k };
  if (labels?.kind === 'real') return { labels: 'real', classes: realClasses };
  throw new Error(`pre-training '${spec.id}' (${spec.condition}): no classes for labels ${JSON.stringify(labels)}`);
}

/** How far each pre-training condition fit its labels: random ones over their k classes, or the `classes` real ones. */
function pretrainingChecks(store: RunStore, pretraining: readonly RunSpec[], classes: number): RecipeCheck[] {
  const conditions = [...new Set(pretraining.map((spec) => spec.condition))];
  return conditions.map((condition) => {
    const runs = runsOf(pretraining, condition);
    const { labels, classes: k } = pretrainingClasses(runs[0]!, classes);
    return labels === 'random'
      ? pretrainingLearnsCheck(store, runs, k)
      : pretrainingLearnsCheck(store, runs, k, 'pre-training on real labels');
  });
}

/**
 * How far each finished pre-training among `pretraining` fit its own labels, per seed: its final training
 * accuracy (`upstream-fit`) and chance 1/k (`upstream-chance`) as measurements of its condition, and the
 * "Upstream fit" table. `realClasses`: the classes of real labels (a pre-training on real labels).
 */
export function upstreamFit(store: RunStore, pretraining: readonly RunSpec[], realClasses: number): TransferAnalysis {
  const measurements = pretraining.flatMap((spec): Measurement[] => {
    const [end] = isFinished(store, spec.id) ? trainAccuracyEnds(store, [spec]) : [];
    if (!end) return [];
    const base = { condition: spec.condition, seed: spec.seed };
    const chance = 1 / pretrainingClasses(spec, realClasses).classes;
    return [
      { ...base, metric: UPSTREAM_FIT_METRIC, value: end.last.value },
      { ...base, metric: UPSTREAM_CHANCE_METRIC, value: chance },
    ];
  });
  const table = upstreamFitTable(measurements);
  return { measurements, tables: table ? [table] : [], figures: [] };
}

/**
 * The analysis of the recipes with one baseline (Fig. 5, deeper layers, ImageNet, real vs random labels), whose
 * runs pre-train on the upstream part or train downstream (`scratch` and other conditions): every downstream
 * condition against scratch on real labels, how far each pre-training fit its labels (measured and tabled),
 * and the checks that scratch learns its `classes` (default CIFAR-10's) and that each pre-training learns.
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
  const pretraining = plan.filter(isPretraining);
  const checks = [
    scratchLearnsCheck(store, runsOf(plan, 'scratch'), classes),
    ...pretrainingChecks(store, pretraining, classes),
  ];
  return { ...combineTransfers([transfer, upstreamFit(store, pretraining, classes)]), checks, notes: [] };
}
