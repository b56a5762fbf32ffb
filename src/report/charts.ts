/**
 * Vega-Lite specs for the report's charts, with their data inline. Bands are 95% t-intervals over
 * seeds computed here (Vega-Lite's own `ci` extent bootstraps at random, which would make reports
 * differ from one rendering to the next).
 */
import type { TopLevelSpec } from 'vega-lite';
import { summarize } from './stats.js';

export interface SeriesPoint {
  /** Legend entry (condition). */
  readonly series: string;
  readonly seed: number;
  readonly x: number;
  readonly y: number;
  /** Panel, when the chart is split into columns. */
  readonly panel?: string;
}

export interface ChartOptions {
  readonly title?: string;
  readonly xTitle: string;
  readonly yTitle: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  readonly width?: number;
  readonly height?: number;
  /** Title of the panel field when points carry `panel`. */
  readonly panelTitle?: string;
  /** Panels get their own y scale (x scales are always per panel). */
  readonly independentY?: boolean;
  /** Fixed y range, e.g. [0, 1] for accuracies. */
  readonly yDomain?: readonly [number, number];
}

interface BandRow {
  series: string;
  panel: string;
  x: number;
  mean: number;
  low: number;
  high: number;
  seeds: number;
}

/** Mean and 95% interval over seeds at each (panel, series, x). */
export function bandRows(points: readonly SeriesPoint[]): BandRow[] {
  const groups = new Map<string, { series: string; panel: string; x: number; ys: number[] }>();
  for (const p of points) {
    if (!Number.isFinite(p.y)) continue;
    const panel = p.panel ?? '';
    const key = `${panel}\u0000${p.series}\u0000${p.x}`;
    let group = groups.get(key);
    if (!group) groups.set(key, (group = { series: p.series, panel, x: p.x, ys: [] }));
    group.ys.push(p.y);
  }
  return [...groups.values()].map(({ series, panel, x, ys }) => {
    const s = summarize(ys);
    return {
      series,
      panel,
      x,
      mean: s.mean,
      low: s.interval?.low ?? s.mean,
      high: s.interval?.high ?? s.mean,
      seeds: ys.length,
    };
  });
}

/**
 * Bands for a log axis: a lower bound at or below 0 (a t-interval over 2 seeds easily reaches it) has no
 * place on the axis, and Vega-Lite then draws no mark of the chart at all. Such bounds are cut to the
 * smallest positive value of the data, so the band runs to the bottom of the axis.
 */
export function bandsOnLogAxis(rows: readonly BandRow[]): BandRow[] {
  const positive = rows.flatMap((r) => [r.low, r.mean]).filter((v) => v > 0);
  if (positive.length === 0) return [...rows];
  const floor = Math.min(...positive);
  return rows.map((r) => (r.low > 0 ? r : { ...r, low: floor }));
}

/** Shared look: the report's font, light frames, legend symbols at full opacity (bands are pale). */
export const CHART_CONFIG = { font: 'DejaVu Sans', view: { stroke: '#ddd' }, legend: { symbolOpacity: 1 } };

function scale(log: boolean | undefined, domain?: readonly [number, number]) {
  // A log scale never includes zero; Vega-Lite warns if told not to.
  return {
    ...(log ? { type: 'log' as const } : {}),
    ...(domain ? { domain: [...domain] } : log ? {} : { zero: false }),
  };
}

function withPanels(spec: Record<string, unknown>, hasPanels: boolean, options: ChartOptions): TopLevelSpec {
  const base = { ...(options.title ? { title: options.title } : {}), config: CHART_CONFIG };
  if (!hasPanels)
    return { ...base, width: options.width ?? 420, height: options.height ?? 260, ...spec } as TopLevelSpec;
  const { data, ...inner } = spec;
  return {
    ...base,
    data,
    facet: { column: { field: 'panel', type: 'nominal', title: options.panelTitle ?? '', sort: null } },
    resolve: { scale: { x: 'independent', y: options.independentY ? 'independent' : 'shared' } },
    spec: { width: options.width ?? 260, height: options.height ?? 220, ...inner },
  } as TopLevelSpec;
}

/** Mean line per series with a shaded 95% interval over seeds. */
export function bandChart(points: readonly SeriesPoint[], options: ChartOptions): TopLevelSpec {
  const rows = options.logY ? bandsOnLogAxis(bandRows(points)) : bandRows(points);
  const hasPanels = points.some((p) => p.panel !== undefined);
  const x = { field: 'x', type: 'quantitative', title: options.xTitle, scale: scale(options.logX) };
  const color = { field: 'series', type: 'nominal', title: null, sort: null };
  return withPanels(
    {
      data: { values: rows },
      layer: [
        {
          mark: { type: 'area', opacity: 0.18, clip: true },
          encoding: {
            x,
            y: {
              field: 'low',
              type: 'quantitative',
              title: options.yTitle,
              scale: scale(options.logY, options.yDomain),
            },
            y2: { field: 'high' },
            color,
          },
        },
        {
          mark: { type: 'line', strokeWidth: 2, clip: true },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: options.yTitle }, color },
        },
      ],
    },
    hasPanels,
    options,
  );
}

/** One line per (series, seed): for curves whose x differs between seeds (f against measured σ). */
export function seedLinesChart(points: readonly SeriesPoint[], options: ChartOptions): TopLevelSpec {
  const hasPanels = points.some((p) => p.panel !== undefined);
  const values = points
    .filter((p) => Number.isFinite(p.y))
    .map((p) => ({ ...p, panel: p.panel ?? '', line: `${p.series} seed ${p.seed}` }));
  return withPanels(
    {
      data: { values },
      mark: { type: 'line', point: { size: 14 }, strokeWidth: 1.5, opacity: 0.85 },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: options.xTitle, scale: scale(options.logX) },
        y: { field: 'y', type: 'quantitative', title: options.yTitle, scale: scale(options.logY, options.yDomain) },
        color: { field: 'series', type: 'nominal', title: null, sort: null },
        detail: { field: 'line', type: 'nominal' },
      },
    },
    hasPanels,
    options,
  );
}

/** Bars of per-condition means with 95% intervals over seeds (one bar group per condition). */
export function barChart(
  points: readonly { series: string; seed: number; y: number }[],
  options: Omit<ChartOptions, 'xTitle' | 'logX'> & { xTitle?: string },
): TopLevelSpec {
  const rows = bandRows(points.map((p) => ({ ...p, x: 0 })));
  return {
    ...(options.title ? { title: options.title } : {}),
    config: CHART_CONFIG,
    width: options.width ?? 360,
    height: options.height ?? 240,
    data: { values: rows },
    layer: [
      {
        mark: 'bar',
        encoding: {
          x: { field: 'series', type: 'nominal', title: options.xTitle ?? null, sort: null },
          y: {
            field: 'mean',
            type: 'quantitative',
            title: options.yTitle,
            scale: scale(options.logY, options.yDomain),
          },
          color: { field: 'series', type: 'nominal', legend: null, sort: null },
        },
      },
      {
        mark: { type: 'rule', strokeWidth: 1.5 },
        encoding: {
          x: { field: 'series', type: 'nominal', sort: null },
          y: { field: 'low', type: 'quantitative' },
          y2: { field: 'high' },
        },
      },
    ],
  };
}
