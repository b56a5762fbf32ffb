/**
 * The analysis of the transfer map (transfer-map.ts): over a grid of pre-training lengths × numbers of
 * random classes, how far each pre-training fit its random labels, and how much faster than scratch the
 * downstream runs train when pre-trained (rescaled, new head) or covariance-initialised, paired by seed;
 * then the grid points pooled by how far their pre-training fit (memorised / fits little), which is what
 * the claims decide on.
 */
import { formatNumber, formatSummary, MeasurementTable, operand, type Rule } from '../../report/rules.js';
import { intervalSign, signMapChart, type MapPoint } from '../../report/sign-map.js';
import { mean, pairedDifference, summarize, type Summary } from '../../report/stats.js';
import { AUC_METRIC, UPSTREAM_FIT_METRIC, withShownBeside } from '../../report/transfer.js';
import type { Figure, Measurement, RecipeCheck, Table } from '../../report/types.js';
import type { RunStore } from '../../runs/store.js';
import type { RecipeAnalysis, RunSpec } from '../recipe.js';
import { CIFAR10_CLASSES, pretrainingLearnsCheck, runsOf, scratchLearnsCheck } from './common.js';
import { analyseTransfer, isPretraining, upstreamFit } from './transfer.js';

/** One setting of the pre-training: its length in epochs and its number K of random classes. */
export interface GridPoint {
  readonly epochs: number;
  readonly classes: number;
}

/** The grid in reading order: by number of classes, then by length. */
export function transferGrid(epochs: readonly number[], classes: readonly number[]): GridPoint[] {
  return classes.flatMap((k) => epochs.map((e) => ({ epochs: e, classes: k })));
}

/** `e10-k5`: the grid point's name, the prefix of its conditions and the condition of its measurements. */
export const pointName = (point: GridPoint): string => `e${point.epochs}-k${point.classes}`;

/** The conditions of the plan: per grid point its pre-training and two downstream runs; one scratch for all. */
export const CONDITIONS = {
  scratch: 'scratch',
  upstream: (point: GridPoint) => `${pointName(point)}/upstream`,
  pretrained: (point: GridPoint) => `${pointName(point)}/pretrained`,
  covariance: (point: GridPoint) => `${pointName(point)}/covariance`,
} as const;

export const MAP_METRICS = {
  /** Final training accuracy of the pre-training on its own random labels (chance 1/K). */
  fit: 'upstream-fit',
  /** AUC(pretrained) − AUC(scratch) of the downstream training-accuracy curve, per seed. */
  gainPretrained: 'gain-pretrained',
  /** AUC(covariance) − AUC(scratch), per seed. */
  gainCovariance: 'gain-covariance',
  /** How many grid points a pooled condition averages over (the same for every seed). */
  pooledPoints: 'pooled-points',
} as const;

/**
 * How far a pre-training fit, by the mean over seeds of its final training accuracy on its random labels:
 * at least MEMORISED_FIT it memorised them, at most LITTLE_FIT it fit fewer than half of them. The
 * points in between enter no pooled claim.
 */
export const MEMORISED_FIT = 0.9;
export const LITTLE_FIT = 0.5;
export type FitRegion = 'memorised' | 'fits-little' | 'between';

export function fitRegion(meanFit: number): FitRegion {
  if (meanFit >= MEMORISED_FIT) return 'memorised';
  if (meanFit <= LITTLE_FIT) return 'fits-little';
  return 'between';
}

/** The pooled conditions the claims read: the grid points of a fit region, and the two corners of Fig. 1. */
export const POOLED = {
  memorised: 'memorised',
  fitsLittle: 'fits-little',
  /** The fewest classes with the shortest pre-training: the paper's positive setting (Fig. 1, 5 classes). */
  fig1Positive: 'fig1-positive',
  /** The most classes with the longest pre-training: the paper's negative setting (Fig. 1, 50 classes, longer). */
  fig1Negative: 'fig1-negative',
} as const;

/** A condition's AUC minus scratch's, paired by seed: the summary, and the difference of each seed. */
type PairedGain = Summary & { readonly differences: readonly number[]; readonly seeds: readonly number[] };

/** What the analysis found at one grid point: per-seed fits and the paired differences with scratch. */
interface PointResult {
  readonly point: GridPoint;
  readonly fits: readonly { seed: number; value: number }[];
  readonly fit: Summary | null;
  readonly region: FitRegion | null;
  readonly pretrained: PairedGain | null;
  readonly covariance: PairedGain | null;
}

/** `condition` − scratch in AUC, paired by seed, or null when no seed has both. */
function gainOverScratch(auc: MeasurementTable, condition: string): PairedGain | null {
  const pairs = auc.paired(operand(condition, AUC_METRIC), operand(CONDITIONS.scratch, AUC_METRIC));
  if (pairs.seeds.length === 0) return null;
  return { ...pairedDifference(pairs.a, pairs.b), seeds: pairs.seeds };
}

function pointResult(fits: readonly Measurement[], auc: MeasurementTable, point: GridPoint): PointResult {
  const own = fits.filter((m) => m.condition === pointName(point)).map(({ seed, value }) => ({ seed, value }));
  const fit = own.length > 0 ? summarize(own.map((f) => f.value)) : null;
  return {
    point,
    fits: own,
    fit,
    region: fit ? fitRegion(fit.mean) : null,
    pretrained: gainOverScratch(auc, CONDITIONS.pretrained(point)),
    covariance: gainOverScratch(auc, CONDITIONS.covariance(point)),
  };
}

/** Per grid point and seed: the fit and both gains over scratch. */
function pointMeasurements(result: PointResult): Measurement[] {
  const condition = pointName(result.point);
  const gains = (metric: string, gain: PairedGain | null) =>
    gain ? gain.seeds.map((seed, i) => ({ condition, seed, metric, value: gain.differences[i]! })) : [];
  return [
    ...result.fits.map(({ seed, value }) => ({ condition, seed, metric: MAP_METRICS.fit, value })),
    ...gains(MAP_METRICS.gainPretrained, result.pretrained),
    ...gains(MAP_METRICS.gainCovariance, result.covariance),
  ];
}

/**
 * Per seed, the mean of each gain over the given grid points, under `condition`: only seeds that have the
 * gain at every one of them (a seed missing a point would average over a different set).
 */
function pooledGains(perPoint: MeasurementTable, points: readonly GridPoint[], condition: string): Measurement[] {
  if (points.length === 0) return [];
  const averaged = [MAP_METRICS.gainPretrained, MAP_METRICS.gainCovariance, MAP_METRICS.fit].flatMap((metric) => {
    const bySeed = points.map((point) => perPoint.bySeed(operand(pointName(point), metric)));
    const seeds = [...bySeed[0]!.keys()].filter((seed) => bySeed.every((values) => values.has(seed)));
    return seeds
      .sort((a, b) => a - b)
      .map((seed) => ({ condition, seed, metric, value: mean(bySeed.map((values) => values.get(seed)!)) }));
  });
  const seeds = [...new Set(averaged.map((m) => m.seed))];
  return [
    ...averaged,
    ...seeds.map((seed) => ({ condition, seed, metric: MAP_METRICS.pooledPoints, value: points.length })),
  ];
}

/**
 * `rule` with the fit of the pre-trainings each pooled condition averages over shown beside its verdict:
 * `memorised pools 6 grid points, whose pre-trainings fit their random labels to 0.97, 0.99, 0.98 (mean per seed)`.
 */
export function withPooledFit(rule: Rule, pooled: readonly string[]): Rule {
  const names = pooled.map((name) => `'${name}'`).join(' and ');
  return withShownBeside(rule, `how far the pre-trainings that ${names} pool fit their labels`, (table) =>
    pooled.map((name) => describePooledFit(table, name)).join('; '),
  );
}

function describePooledFit(table: MeasurementTable, pooled: string): string {
  const fits = table.values(operand(pooled, MAP_METRICS.fit));
  const [points] = table.values(operand(pooled, MAP_METRICS.pooledPoints));
  if (fits.length === 0 || points === undefined) return `${pooled}: no grid point with a measured fit`;
  const count = points === 1 ? '1 grid point' : `${points} grid points`;
  const fitted = fits.map(formatNumber).join(', ');
  return `${pooled} pools ${count}, whose pre-trainings fit their random labels to ${fitted} (mean per seed)`;
}

/** The pooled measurements: the fit regions (by mean fit) and the Fig. 1 corners of the grid. */
function pooledMeasurements(results: readonly PointResult[], perPoint: readonly Measurement[]): Measurement[] {
  const table = new MeasurementTable(perPoint);
  const inRegion = (region: FitRegion) => results.filter((r) => r.region === region).map((r) => r.point);
  const points = results.map((r) => r.point);
  const fewest = Math.min(...points.map((p) => p.classes));
  const most = Math.max(...points.map((p) => p.classes));
  const shortest = Math.min(...points.map((p) => p.epochs));
  const longest = Math.max(...points.map((p) => p.epochs));
  const corner = (classes: number, epochs: number) =>
    points.filter((p) => p.classes === classes && p.epochs === epochs);
  return [
    ...pooledGains(table, inRegion('memorised'), POOLED.memorised),
    ...pooledGains(table, inRegion('fits-little'), POOLED.fitsLittle),
    ...pooledGains(table, corner(fewest, shortest), POOLED.fig1Positive),
    ...pooledGains(table, corner(most, longest), POOLED.fig1Negative),
  ];
}

const formatGain = (gain: Summary | null) => (gain ? formatSummary(gain, true) : '—');
const formatSign = (gain: Summary | null) => (gain ? intervalSign(gain) : '—');

function mapTable(results: readonly PointResult[]): Table {
  return {
    id: 'map',
    title: 'The transfer map: downstream speed-up over scratch per pre-training setting',
    caption:
      `Upstream fit: final training accuracy of the pre-training on its own random labels, mean (per seed). ` +
      `Region by the mean fit: memorised ≥ ${MEMORISED_FIT}, fits little ≤ ${LITTLE_FIT}. Differences of the ` +
      'downstream AUC with scratch, paired by seed: mean [95% t-interval], n = seeds; sign: positive / negative ' +
      'when the interval lies above / below 0, nil when it contains 0.',
    columns: [
      'point',
      'upstream epochs',
      'K',
      'chance 1/K',
      'upstream fit: mean (per seed)',
      'region',
      'AUC pretrained − scratch',
      'sign',
      'AUC covariance − scratch',
      'sign',
    ],
    rows: results.map((r) => [
      pointName(r.point),
      r.point.epochs,
      r.point.classes,
      formatNumber(1 / r.point.classes),
      r.fit ? `${formatNumber(r.fit.mean)} (${r.fits.map((f) => formatNumber(f.value)).join(', ')})` : '—',
      r.region ?? '—',
      formatGain(r.pretrained),
      formatSign(r.pretrained),
      formatGain(r.covariance),
      formatSign(r.covariance),
    ]),
  };
}

function mapFigure(results: readonly PointResult[]): Figure | null {
  const series = (point: GridPoint) => `K = ${point.classes}`;
  const effects: MapPoint[] = results.flatMap((r) => [
    ...(r.pretrained
      ? [{ panel: 'pre-trained − scratch', series: series(r.point), x: r.point.epochs, summary: r.pretrained }]
      : []),
    ...(r.covariance
      ? [{ panel: 'covariance − scratch', series: series(r.point), x: r.point.epochs, summary: r.covariance }]
      : []),
  ]);
  if (effects.length === 0) return null;
  const fits = results.flatMap((r) =>
    r.fit ? [{ panel: 'fit', series: series(r.point), x: r.point.epochs, summary: r.fit }] : [],
  );
  return {
    kind: 'chart',
    id: 'transfer-map',
    title: 'When does random-label pre-training help? AUC difference with scratch, and the upstream fit',
    caption:
      'Left: downstream AUC minus scratch’s, paired by seed, per number of random classes K against the length of ' +
      'pre-training: mean with its 95% t-interval; green: interval above 0, red: below 0, grey: contains 0 (nil). ' +
      `Right: the pre-training’s final training accuracy on its random labels (chance 1/K), mean with 95% interval; ` +
      `dotted: the memorised (${MEMORISED_FIT}) and fits-little (${LITTLE_FIT}) thresholds.`,
    spec: signMapChart(effects, fits, {
      xTitle: 'upstream epochs (log scale)',
      logX: true,
      seriesTitle: 'random classes',
      effectTitle: 'AUC difference with scratch',
      besideTitle: 'upstream fit (train accuracy, random labels)',
      besideDomain: [0, 1],
      besideLines: [
        { y: MEMORISED_FIT, label: 'memorised' },
        { y: LITTLE_FIT, label: 'fits little' },
      ],
    }),
  };
}

function regionNote(results: readonly PointResult[]): string {
  const names = (region: FitRegion) => {
    const points = results.filter((r) => r.region === region).map((r) => pointName(r.point));
    return points.length ? points.join(', ') : 'none';
  };
  return (
    `Grid points by the mean fit of their pre-training: memorised (≥ ${MEMORISED_FIT}): ${names('memorised')}; ` +
    `fits little (≤ ${LITTLE_FIT}): ${names('fits-little')}; between: ${names('between')}. ` +
    `The pooled measurements average each seed's gains over a region's points (conditions ${POOLED.memorised}, ` +
    `${POOLED.fitsLittle}); ${POOLED.fig1Positive} / ${POOLED.fig1Negative} are the grid points with the fewest ` +
    'classes and shortest pre-training / the most classes and longest pre-training.'
  );
}

/** Whether every seed of a pre-training memorised its random labels (final training accuracy ≥ MEMORISED_FIT). */
function memorisesCheck(fitTable: MeasurementTable, runs: readonly RunSpec[], point: GridPoint): RecipeCheck {
  const fits = runs.map((spec) => ({
    seed: spec.seed,
    fit: fitTable.bySeed(operand(spec.condition, UPSTREAM_FIT_METRIC)).get(spec.seed) ?? null,
  }));
  const measured = fits.filter((f) => f.fit !== null);
  const missing = runs.length - measured.length;
  return {
    name: `the longest pre-training, ${pointName(point)}, memorises its random labels (final train accuracy ≥ ${MEMORISED_FIT})`,
    passed: measured.length > 0 && missing === 0 && measured.every((f) => f.fit! >= MEMORISED_FIT),
    required: false,
    detail:
      measured.map((f) => `seed ${f.seed}: ${f.fit!.toFixed(3)}`).join('; ') +
      (missing > 0 ? `${measured.length > 0 ? '; ' : ''}${missing} run(s) not finished` : ''),
  };
}

/**
 * Sanity checks: scratch learns (required); each pre-training fit its random labels above chance, and
 * the longest ones memorised them (informative: the map is read whatever they reached).
 */
function mapChecks(
  store: RunStore,
  plan: readonly RunSpec[],
  grid: readonly GridPoint[],
  fitTable: MeasurementTable,
): RecipeCheck[] {
  const longest = Math.max(...grid.map((p) => p.epochs));
  const upstreamRuns = (point: GridPoint) => runsOf(plan, CONDITIONS.upstream(point));
  return [
    scratchLearnsCheck(store, runsOf(plan, CONDITIONS.scratch), CIFAR10_CLASSES),
    ...grid.map((point) =>
      pretrainingLearnsCheck(
        store,
        upstreamRuns(point),
        point.classes,
        `pre-training ${pointName(point)} on random labels`,
      ),
    ),
    ...grid
      .filter((point) => point.epochs === longest)
      .map((point) => memorisesCheck(fitTable, upstreamRuns(point), point)),
  ];
}

/** The map over the grid: its measurements (per point, pooled), table, figure and a note on the regions. */
export interface TransferMapResult {
  readonly measurements: Measurement[];
  readonly table: Table;
  /** Null until some grid point has a downstream difference with scratch. */
  readonly figure: Figure | null;
  readonly note: string;
}

/**
 * The map from the pre-trainings' fits (metric `upstream-fit`, condition the point's name, per seed) and
 * the downstream runs' AUCs (metric `auc`, condition as planned, per seed).
 */
export function transferMapOf(
  grid: readonly GridPoint[],
  fits: readonly Measurement[],
  aucs: readonly Measurement[],
): TransferMapResult {
  const auc = new MeasurementTable(aucs.filter((m) => m.metric === AUC_METRIC));
  const results = grid.map((point) => pointResult(fits, auc, point));
  const perPoint = results.flatMap(pointMeasurements);
  return {
    measurements: [...perPoint, ...pooledMeasurements(results, perPoint)],
    table: mapTable(results),
    figure: mapFigure(results),
    note: regionNote(results),
  };
}

/** The fit of every finished pre-training of the grid (the shared upstream-fit measurements), as measurements
 *  of its point. */
function fitsByPoint(fits: readonly Measurement[], grid: readonly GridPoint[]): Measurement[] {
  return grid.flatMap((point) =>
    fits
      .filter((m) => m.metric === UPSTREAM_FIT_METRIC && m.condition === CONDITIONS.upstream(point))
      .map((m) => ({ ...m, condition: pointName(point), metric: MAP_METRICS.fit })),
  );
}

/** Measurements, the map's table and figure, the speed tables of every downstream condition, and the checks. */
export function analyseTransferMap(
  store: RunStore,
  plan: readonly RunSpec[],
  options: { readonly grid: readonly GridPoint[]; readonly fixedIterations: readonly number[] },
): RecipeAnalysis {
  const { grid } = options;
  const upstreams = new Set(grid.map(CONDITIONS.upstream));
  // The map replaces analyseTransfer's curves figure: 1 + 2 × grid points curves are too many for one chart.
  const transfer = analyseTransfer(
    store,
    plan.filter((spec) => !upstreams.has(spec.condition)),
    {
      baseline: CONDITIONS.scratch,
      fixedIterations: options.fixedIterations,
      what: 'downstream train accuracy (real labels)',
      figureId: 'downstream-curves',
      figureTitle: 'Downstream training accuracy',
      caption: 'Every downstream condition of the grid.',
    },
  );
  // Every transfer recipe's per-run fit measurements and "Upstream fit" table, read once; the map's per-point
  // fits and its memorisation checks are taken from them.
  const fits = upstreamFit(store, plan.filter(isPretraining), CIFAR10_CLASSES);
  const map = transferMapOf(grid, fitsByPoint(fits.measurements, grid), transfer.measurements);
  return {
    measurements: [...transfer.measurements, ...map.measurements, ...fits.measurements],
    tables: [map.table, ...fits.tables, ...transfer.tables],
    figures: map.figure ? [map.figure] : [],
    checks: mapChecks(store, plan, grid, new MeasurementTable(fits.measurements)),
    notes: [map.note],
  };
}
