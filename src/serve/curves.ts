/**
 * Training curves as Vega-Lite specs, built by the report's own chart functions (src/report/charts.ts) so
 * the dashboard and the static report draw alike: chosen runs overlaid one line each, or grouped by a
 * config field as the mean with a 95% t-band over the runs (seeds) of each group.
 */
import type { TopLevelSpec } from 'vega-lite';
import { bandChart, seedLinesChart, type SeriesPoint } from '../report/charts.js';
import type { MetricRow } from '../runs/store.js';
import type { FieldValue } from './runs.js';

export interface CurveRun {
  readonly key: string;
  readonly fields: Readonly<Record<string, FieldValue>>;
  readonly metrics: readonly MetricRow[];
}

export interface CurveOptions {
  readonly metric: string;
  /** Config field to group by; runs without it form the group `(none)`. */
  readonly groupBy?: string;
  /** Exponential moving average weight in [0, 1), as TensorBoard's smoothing slider. */
  readonly smoothing?: number;
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Plot size in pixels (default 640 × 260). */
  readonly width?: number;
  readonly height?: number;
}

/** TensorBoard's debiased exponential moving average: the first points are not pulled towards 0. */
export function smooth(values: readonly number[], weight: number): number[] {
  if (!(weight > 0)) return [...values];
  if (weight >= 1) throw new Error(`smoothing must be in [0, 1), got ${weight}`);
  let average = 0;
  return values.map((value, i) => {
    average = average * weight + (1 - weight) * value;
    return average / (1 - weight ** (i + 1));
  });
}

function curvePoints(run: CurveRun, options: CurveOptions, series: string, seed: number): SeriesPoint[] {
  const rows = run.metrics.filter((row) => row.name === options.metric && row.value !== null);
  const ys = smooth(
    rows.map((row) => row.value!),
    options.smoothing ?? 0,
  );
  // A log x axis cannot show step 0.
  return rows
    .map((row, i) => ({ series, seed, x: row.step, y: ys[i]! }))
    .filter((point) => !options.logX || point.x > 0);
}

export function curvesSpec(runs: readonly CurveRun[], options: CurveOptions): TopLevelSpec {
  const chart = {
    xTitle: 'step',
    yTitle: options.metric,
    logX: options.logX ?? false,
    logY: options.logY ?? false,
    width: options.width ?? 640,
    height: options.height ?? 260,
  };
  if (options.groupBy) {
    const field = options.groupBy;
    const points = runs.flatMap((run, i) => {
      const value = run.fields[field];
      return curvePoints(run, options, `${field}=${value === undefined ? '(none)' : String(value)}`, i);
    });
    return bandChart(points, chart);
  }
  return seedLinesChart(
    runs.flatMap((run) => curvePoints(run, options, run.key, 0)),
    chart,
  );
}
