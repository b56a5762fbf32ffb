/**
 * A map of where an effect is positive, negative or nil over a grid of settings: for each series (e.g. a
 * number of classes) a line of the effect's mean against a knob (e.g. epochs), with its 95% interval as a
 * bar, a zero line, and every point coloured by the sign its interval decides; beside it, the same
 * layout for a second quantity that explains the map (e.g. how far a pre-training fit its labels).
 */
import type { TopLevelSpec } from 'vega-lite';
import { CHART_CONFIG } from './charts.js';
import type { Summary } from './stats.js';

/** What a 95% interval says about the sign of a mean: above 0, below 0, or containing 0 (nil; so is no interval). */
export type Sign = 'positive' | 'negative' | 'nil';

export function intervalSign(summary: Summary): Sign {
  if (!summary.interval) return 'nil';
  if (summary.interval.low > 0) return 'positive';
  if (summary.interval.high < 0) return 'negative';
  return 'nil';
}

/** One point of the map: the summary over seeds of a quantity at knob value `x`, for one series and panel. */
export interface MapPoint {
  readonly panel: string;
  readonly series: string;
  readonly x: number;
  readonly summary: Summary;
}

export interface SignMapOptions {
  readonly xTitle: string;
  readonly logX?: boolean;
  readonly seriesTitle: string;
  /** y title of the effect panels (one panel per distinct `panel` of the effects). */
  readonly effectTitle: string;
  /** y title of the explaining quantity, drawn in a panel of its own on the right. */
  readonly besideTitle: string;
  readonly besideDomain?: readonly [number, number];
  /** Horizontal reference lines of the right panel, with their labels (e.g. thresholds). */
  readonly besideLines?: readonly { readonly y: number; readonly label: string }[];
}

const SIGN_COLOURS: Readonly<Record<Sign, string>> = { positive: '#1a9850', negative: '#d73027', nil: '#8c8c8c' };
const PANEL_WIDTH = 240;
const PANEL_HEIGHT = 220;

function rows(points: readonly MapPoint[]) {
  return points.map((p) => ({
    panel: p.panel,
    series: p.series,
    x: p.x,
    mean: p.summary.mean,
    // No interval (one seed): a bar of zero length, and the sign stays nil.
    low: p.summary.interval?.low ?? p.summary.mean,
    high: p.summary.interval?.high ?? p.summary.mean,
    sign: intervalSign(p.summary),
    seeds: p.summary.n,
  }));
}

/** Lines by series, interval bars and points: the layers both sides of the map share. */
function intervalLayers(
  options: SignMapOptions,
  y: { readonly title: string; readonly domain?: readonly [number, number] },
  colour: Record<string, unknown>,
) {
  const x = {
    field: 'x',
    type: 'quantitative',
    title: options.xTitle,
    scale: options.logX ? { type: 'log' } : { zero: false },
    axis: { tickMinStep: 1 },
  };
  const series = { field: 'series', type: 'nominal', title: options.seriesTitle, sort: null };
  // A fixed y range cuts wide intervals (two seeds) at the frame rather than drawing across the axis; the
  // means lie inside it, and a point on the frame's edge (the smallest x) must not be cut in half.
  const clip = y.domain !== undefined;
  return [
    {
      mark: { type: 'line', color: '#555', strokeWidth: 1.2 },
      encoding: {
        x,
        y: {
          field: 'mean',
          type: 'quantitative',
          title: y.title,
          ...(y.domain ? { scale: { domain: [...y.domain] } } : {}),
        },
        strokeDash: series,
      },
    },
    {
      mark: { type: 'rule', strokeWidth: 2, clip },
      encoding: { x, y: { field: 'low', type: 'quantitative' }, y2: { field: 'high' }, ...colour },
    },
    {
      mark: { type: 'point', filled: true, size: 70, opacity: 1 },
      encoding: { x, y: { field: 'mean', type: 'quantitative' }, shape: series, ...colour },
    },
  ];
}

/**
 * The effect panels (one per `panel` of `effects`, sharing their y axis, with a zero line) and, on the
 * right, the explaining quantity `beside` in a panel of its own. Means with 95% intervals as given.
 */
export function signMapChart(
  effects: readonly MapPoint[],
  beside: readonly MapPoint[],
  options: SignMapOptions,
): TopLevelSpec {
  const sign = {
    color: {
      field: 'sign',
      type: 'nominal',
      title: 'sign of the interval',
      scale: { domain: Object.keys(SIGN_COLOURS), range: Object.values(SIGN_COLOURS) },
    },
  };
  const zero = { mark: { type: 'rule', color: '#222', strokeDash: [4, 3] }, encoding: { y: { datum: 0 } } };
  const lines = options.besideLines ?? [];
  const reference = lines.length
    ? [
        {
          data: { values: lines.map((line) => ({ ...line })) },
          layer: [
            {
              mark: { type: 'rule', color: '#999', strokeDash: [2, 2] },
              encoding: { y: { field: 'y', type: 'quantitative' } },
            },
            {
              mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -2, fontSize: 10, color: '#666' },
              encoding: { y: { field: 'y', type: 'quantitative' }, x: { value: 0 }, text: { field: 'label' } },
            },
          ],
        },
      ]
    : [];
  return {
    config: CHART_CONFIG,
    hconcat: [
      {
        data: { values: rows(effects) },
        // Panels in the order of the effects (a facet's `sort: null` still sorts them by name).
        facet: {
          column: { field: 'panel', type: 'nominal', title: null, sort: [...new Set(effects.map((e) => e.panel))] },
        },
        spec: {
          width: PANEL_WIDTH,
          height: PANEL_HEIGHT,
          layer: [zero, ...intervalLayers(options, { title: options.effectTitle }, sign)],
        },
      },
      {
        data: { values: rows(beside) },
        width: PANEL_WIDTH,
        height: PANEL_HEIGHT,
        layer: [
          ...reference,
          ...intervalLayers(
            options,
            { title: options.besideTitle, ...(options.besideDomain ? { domain: options.besideDomain } : {}) },
            { color: { value: '#333' } },
          ),
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  } as TopLevelSpec;
}
