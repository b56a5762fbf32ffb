/**
 * Training-speed statistics of the transfer protocol (docs/paper.md §3): from each run's
 * training-accuracy curve, the accuracy at fixed iterations, the iterations to reach given accuracies,
 * and the area under the curve; summarised per condition over seeds and compared with a baseline
 * (scratch) seed by seed; the claim rules that compare training speed by that area; and how far each
 * pre-training fit its own labels, which every transfer verdict shows beside it (the speed-up after
 * random labels is only the paper's claim where the upstream memorised them).
 */
import { formatNumber, formatSummary, operand, pairedDirection, type MeasurementTable, type Rule } from './rules.js';
import {
  areaUnderCurve,
  iterationsToThreshold,
  pairedDifference,
  summarize,
  valueAt,
  type CurvePoint,
} from './stats.js';
import type { Measurement, Table } from './types.js';

export interface SeedCurve {
  readonly condition: string;
  readonly seed: number;
  readonly points: readonly CurvePoint[];
}

export interface TransferOptions {
  /** Iterations at which accuracy is read off (interpolated); those beyond a curve are skipped. */
  readonly fixedIterations: readonly number[];
  /** Accuracies whose first crossing is reported, e.g. 0.5, 0.8, 0.9. */
  readonly thresholds: readonly number[];
  /** Condition every other is compared with. */
  readonly baseline: string;
  /** What the curves measure, for table titles (e.g. "downstream train accuracy"). */
  readonly what: string;
  /** Prefix of the table ids (default none), to keep several transfer blocks of one report apart. */
  readonly tableIdPrefix?: string;
}

export const accuracyMetric = (iteration: number) => `acc@${iteration}`;
export const AUC_METRIC = 'auc';
export const thresholdMetric = (threshold: number) => `iters-to-${Math.round(threshold * 100)}%`;

/** The common window of all curves: from the latest first iteration to the earliest last iteration. */
export function commonWindow(curves: readonly SeedCurve[]): { start: number; end: number } {
  if (curves.length === 0) throw new Error('commonWindow: no curves');
  const start = Math.max(...curves.map((c) => c.points[0]!.iteration));
  const end = Math.min(...curves.map((c) => c.points[c.points.length - 1]!.iteration));
  if (!(end > start))
    throw new Error(`curves share no window of iterations (latest start ${start}, earliest end ${end})`);
  return { start, end };
}

/** Per-seed measurements: `auc` over the common window, `acc@N`, `iters-to-P%` (absent if never reached). */
export function transferMeasurements(curves: readonly SeedCurve[], options: TransferOptions): Measurement[] {
  if (curves.length === 0) return [];
  const window = commonWindow(curves);
  const out: Measurement[] = [];
  for (const curve of curves) {
    const base = { condition: curve.condition, seed: curve.seed };
    out.push({ ...base, metric: AUC_METRIC, value: areaUnderCurve(curve.points, window) });
    for (const iteration of options.fixedIterations) {
      const value = valueAt(curve.points, iteration);
      if (value !== null) out.push({ ...base, metric: accuracyMetric(iteration), value });
    }
    for (const threshold of options.thresholds) {
      const value = iterationsToThreshold(curve.points, threshold);
      if (value !== null) out.push({ ...base, metric: thresholdMetric(threshold), value });
    }
  }
  return out;
}

function valuesOf(measurements: readonly Measurement[], condition: string, metric: string): Map<number, number> {
  return new Map(
    measurements.filter((m) => m.condition === condition && m.metric === metric).map((m) => [m.seed, m.value]),
  );
}

/** `mean ± std [low, high]` of per-seed values, or `—`. */
export function formatSpread(values: readonly number[]): string {
  if (values.length === 0) return '—';
  const s = summarize(values);
  if (!s.interval) return `${formatNumber(s.mean)} (n=1)`;
  return `${formatNumber(s.mean)} ± ${formatNumber(s.std)} [${formatNumber(s.interval.low)}, ${formatNumber(s.interval.high)}]`;
}

/** Two tables: each condition's statistics over seeds, and each condition minus the baseline, paired by seed. */
export function transferTables(
  curves: readonly SeedCurve[],
  measurements: readonly Measurement[],
  options: TransferOptions,
): Table[] {
  if (curves.length === 0) return [];
  const tablePrefix = options.tableIdPrefix ?? '';
  const conditions = [...new Set(curves.map((c) => c.condition))];
  const seedsOf = (condition: string) => curves.filter((c) => c.condition === condition).length;
  const window = commonWindow(curves);
  const metrics = [
    { metric: AUC_METRIC, label: `AUC [${window.start}, ${window.end}]` },
    ...options.fixedIterations
      .filter((it) => it <= window.end)
      .map((it) => ({ metric: accuracyMetric(it), label: `acc @ ${it}` })),
  ];
  const thresholdMetrics = options.thresholds.map((t) => ({
    metric: thresholdMetric(t),
    label: `iterations to ${Math.round(t * 100)}%`,
  }));

  const summaryRows = conditions.map((condition) => [
    condition,
    seedsOf(condition),
    ...metrics.map(({ metric }) => formatSpread([...valuesOf(measurements, condition, metric).values()])),
    ...thresholdMetrics.map(({ metric }) => {
      const values = [...valuesOf(measurements, condition, metric).values()];
      const reached = `${values.length}/${seedsOf(condition)} reached`;
      return values.length === seedsOf(condition)
        ? formatSpread(values)
        : values.length === 0
          ? reached
          : `${formatSpread(values)}; ${reached}`;
    }),
  ]);
  const summary: Table = {
    id: `${tablePrefix}speed`,
    title: `Training speed: ${options.what}`,
    caption:
      'Mean ± sample std [95% t-interval] over seeds. AUC: trapezoid rule with iterations scaled to [0, 1] over the window all runs share. ' +
      'Iterations to a level: first crossing, interpolated; seeds that never reach it are left out and counted.',
    columns: ['condition', 'seeds', ...metrics.map((m) => m.label), ...thresholdMetrics.map((m) => m.label)],
    rows: summaryRows,
  };

  const compared = conditions.filter((c) => c !== options.baseline);
  const pairedRows = compared.map((condition) => [
    `${condition} − ${options.baseline}`,
    ...[...metrics, ...thresholdMetrics].map(({ metric }) => {
      const a = valuesOf(measurements, condition, metric);
      const b = valuesOf(measurements, options.baseline, metric);
      const seeds = [...a.keys()].filter((s) => b.has(s)).sort((x, y) => x - y);
      if (seeds.length === 0) return '—';
      return formatSummary(
        pairedDifference(
          seeds.map((s) => a.get(s)!),
          seeds.map((s) => b.get(s)!),
        ),
        true,
      );
    }),
  ]);
  const paired: Table = {
    id: `${tablePrefix}paired`,
    title: `Paired comparison with ${options.baseline}: ${options.what}`,
    caption:
      'Difference per seed (same split, labels and seed), mean [95% t-interval], n = seeds where both have a value.',
    columns: ['comparison', ...metrics.map((m) => m.label), ...thresholdMetrics.map((m) => m.label)],
    rows: pairedRows,
  };
  return compared.length > 0 && conditions.includes(options.baseline) ? [summary, paired] : [summary];
}

/** The final training accuracy of a pre-training on its own labels, per seed (measured on its upstream condition). */
export const UPSTREAM_FIT_METRIC = 'upstream-fit';
/** Chance accuracy on those labels, 1/k for k classes, beside the fit. */
export const UPSTREAM_CHANCE_METRIC = 'upstream-chance';

/** The pre-training condition(s) a compared condition started from, whose fit its verdict shows. */
export type Upstreams = string | readonly string[];

function upstreamList(upstreams: Upstreams): readonly string[] {
  const list = typeof upstreams === 'string' ? [upstreams] : upstreams;
  if (list.length === 0) throw new Error('a transfer verdict needs the upstream condition(s) whose fit it shows');
  return list;
}

/** Classes of labels whose chance accuracy is `chance`. */
const classesAt = (chance: number): number => Math.round(1 / chance);

/** `<upstream> fit its 10 classes to 0.23, 0.25, 0.31 (chance 0.100)`: per seed, in seed order. */
export function describeUpstreamFit(table: MeasurementTable, upstream: string): string {
  const fit = table.values(operand(upstream, UPSTREAM_FIT_METRIC));
  if (fit.length === 0) return `${upstream}: fit of its labels not measured`;
  const chances = [...new Set(table.values(operand(upstream, UPSTREAM_CHANCE_METRIC)))];
  const fitted = fit.map(formatNumber).join(', ');
  if (chances.length === 0) return `${upstream} fit its labels to ${fitted} (chance not measured)`;
  const classes = [...new Set(chances.map(classesAt))].join('/');
  return `${upstream} fit its ${classes} classes to ${fitted} (chance ${chances.map(formatNumber).join('/')})`;
}

/**
 * `rule` with the fit of each of `upstreams` to its own labels appended to its measured text; the verdict,
 * reason and every other field of the outcome are the rule's own.
 */
export function withUpstreamFit(rule: Rule, upstreams: Upstreams): Rule {
  const list = upstreamList(upstreams);
  return withShownBeside(
    rule,
    `how far ${list.join(' and ')} fit its own labels (final training accuracy per seed, and chance)`,
    (table) => list.map((upstream) => describeUpstreamFit(table, upstream)).join('; '),
  );
}

/**
 * `rule` with `describe(table)` appended to its measured text and `what` to its text: context a reader needs
 * beside the verdict (how far a pre-training fit); the verdict, reason and evidence are the rule's own.
 */
export function withShownBeside(rule: Rule, what: string, describe: (table: MeasurementTable) => string): Rule {
  return {
    text: `${rule.text} Shown beside it: ${what}.`,
    evaluate(table) {
      const outcome = rule.evaluate(table);
      return { ...outcome, measured: `${outcome.measured}; ${describe(table)}` };
    },
  };
}

/**
 * `condition` trains faster than `baseline`: its downstream AUC is higher, paired by seed. `upstream` names the
 * pre-training(s) `condition` (and the baseline, if it has one) started from, whose fit the verdict shows.
 */
export function fasterThan(condition: string, baseline: string, upstream: Upstreams): Rule {
  return withUpstreamFit(
    pairedDirection(operand(condition, AUC_METRIC), operand(baseline, AUC_METRIC), 'greater'),
    upstream,
  );
}

/** `condition` trains more slowly than `baseline` (negative transfer): its downstream AUC is lower, paired by seed. */
export function slowerThan(condition: string, baseline: string, upstream: Upstreams): Rule {
  return withUpstreamFit(
    pairedDirection(operand(condition, AUC_METRIC), operand(baseline, AUC_METRIC), 'less'),
    upstream,
  );
}

/** One row per pre-training and seed: its classes, its final training accuracy on its own labels, and chance. */
export function upstreamFitTable(measurements: readonly Measurement[]): Table | null {
  const fits = measurements.filter((m) => m.metric === UPSTREAM_FIT_METRIC);
  if (fits.length === 0) return null;
  const chance = (condition: string, seed: number) =>
    measurements.find((m) => m.metric === UPSTREAM_CHANCE_METRIC && m.condition === condition && m.seed === seed)
      ?.value;
  const conditions = [...new Set(fits.map((m) => m.condition))];
  const rows = conditions.flatMap((condition) =>
    fits
      .filter((m) => m.condition === condition)
      .sort((a, b) => a.seed - b.seed)
      .map((m) => {
        const p = chance(condition, m.seed);
        return [condition, m.seed, p === undefined ? '—' : classesAt(p), m.value, p ?? '—'];
      }),
  );
  return {
    id: 'upstream-fit',
    title: 'Upstream fit',
    caption:
      'Final training accuracy of each pre-training on its own labels (the random ones, unless the condition names real labels), ' +
      'scored as the run scores training accuracy; chance = 1/k. The transfer verdicts can only be read beside it: the ' +
      'paper’s pre-training memorises its random labels, and a pre-training that fit them little is not its regime.',
    columns: ['condition', 'seed', 'k', 'final train accuracy', 'chance'],
    rows,
  };
}
