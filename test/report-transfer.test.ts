import { describe, expect, it } from 'vitest';
import { bandChart, bandRows, bandsOnLogAxis, barChart, seedLinesChart } from '../src/report/charts.js';
import { renderChartSvg } from '../src/report/figures.js';
import { MeasurementTable, operand, pairedDirection, type RuleOutcome } from '../src/report/rules.js';
import {
  commonWindow,
  fasterThan,
  slowerThan,
  transferMeasurements,
  transferTables,
  upstreamFitTable,
  withUpstreamFit,
  type SeedCurve,
} from '../src/report/transfer.js';
import type { Measurement } from '../src/report/types.js';

/** A straight line from `start` at iteration 0 to `end` at iteration 100, sampled every 20. */
function line(condition: string, seed: number, start: number, end: number, last = 100): SeedCurve {
  const points = [];
  for (let it = 0; it <= last; it += 20) points.push({ iteration: it, value: start + ((end - start) * it) / 100 });
  return { condition, seed, points };
}

const options = { fixedIterations: [40, 1000], thresholds: [0.5, 0.9], baseline: 'scratch', what: 'train accuracy' };

describe('transfer statistics', () => {
  const curves = [0, 1, 2].flatMap((seed) => [
    line('scratch', seed, 0.1, 0.6 + 0.01 * seed),
    line('pretrained', seed, 0.1, 0.8 + 0.01 * seed),
  ]);

  it('measures AUC, accuracy at fixed iterations and iterations to a level, per seed', () => {
    const m = transferMeasurements(curves, options);
    const get = (condition: string, seed: number, metric: string) =>
      m.find((x) => x.condition === condition && x.seed === seed && x.metric === metric)?.value;
    // A straight line's normalised area is the mean of its ends.
    expect(get('scratch', 0, 'auc')).toBeCloseTo((0.1 + 0.6) / 2, 12);
    expect(get('pretrained', 2, 'auc')).toBeCloseTo((0.1 + 0.82) / 2, 12);
    expect(get('scratch', 0, 'acc@40')).toBeCloseTo(0.3, 12);
    // Iteration 1000 is beyond the curves: not measured rather than extrapolated.
    expect(get('scratch', 0, 'acc@1000')).toBeUndefined();
    expect(get('scratch', 0, 'iters-to-50%')).toBeCloseTo(80, 9);
    expect(get('pretrained', 0, 'iters-to-50%')).toBeCloseTo(400 / 7, 9);
    expect(get('pretrained', 0, 'iters-to-90%')).toBeUndefined();
  });

  it('uses the window all curves share', () => {
    expect(commonWindow([line('a', 0, 0, 1, 100), line('b', 0, 0, 1, 60)])).toEqual({ start: 0, end: 60 });
    expect(() =>
      commonWindow([{ condition: 'a', seed: 0, points: [{ iteration: 5, value: 0 }] }, line('b', 0, 0, 1)]),
    ).toThrow('share no window');
  });

  it('tabulates conditions and paired differences with the baseline', () => {
    const m = transferMeasurements(curves, options);
    const [summary, paired] = transferTables(curves, m, options);
    expect(summary!.columns).toEqual([
      'condition',
      'seeds',
      'AUC [0, 100]',
      'acc @ 40',
      'iterations to 50%',
      'iterations to 90%',
    ]);
    expect(summary!.rows[0]![0]).toBe('scratch');
    expect(String(summary!.rows[1]![5])).toBe('0/3 reached');
    expect(paired!.rows).toHaveLength(1);
    // AUC difference is exactly 0.1 for every seed: zero spread.
    expect(String(paired!.rows[0]![1])).toMatch(/^\+0\.100 \[0\.100, 0\.100\], n=3$/);
  });
});

describe('charts', () => {
  it('summarises seeds into bands and renders every chart kind', async () => {
    const points = [0, 1, 2].flatMap((seed) =>
      [0, 1, 2].map((x) => ({ series: 'a', seed, x, y: x + seed, panel: 'p1' })),
    );
    const rows = bandRows(points);
    expect(rows).toHaveLength(3);
    expect(rows[0]!.mean).toBe(1);
    expect(rows[0]!.high - rows[0]!.mean).toBeCloseTo(4.302652729911275 / Math.sqrt(3), 9);
    for (const spec of [
      bandChart(points, { xTitle: 'x', yTitle: 'y', panelTitle: 'panel' }),
      seedLinesChart(points, { xTitle: 'σ', yTitle: 'f', logX: true }),
      barChart(points, { yTitle: 'AUC' }),
    ]) {
      const svg = await renderChartSvg(spec);
      expect(svg).toContain('<path');
    }
  });

  it('draws a log-axis band chart whose 2-seed interval reaches below 0 (fig2 at paper scale drew nothing)', async () => {
    const points = [0, 1].flatMap((seed) =>
      [1, 2, 3].map((x) => ({ series: 'a', seed, x, y: seed === 0 ? 0.06 : 0.5 * x })),
    );
    expect(bandRows(points).some((r) => r.low <= 0)).toBe(true);
    const lows = bandsOnLogAxis(bandRows(points)).map((r) => r.low);
    expect(Math.min(...lows)).toBeGreaterThan(0);
    const svg = await renderChartSvg(bandChart(points, { xTitle: 'x', yTitle: 'y', logY: true }));
    // The mean line's y coordinates: all 0 (a collapsed axis) when a band bound is not positive.
    const line = svg.slice(svg.indexOf('line mark container')).match(/ d="M([^"]*)"/)![1]!;
    const ys = line.split('L').map((point) => Number(point.split(',')[1]));
    expect(new Set(ys).size).toBe(3);
  });
});

describe('transfer verdicts beside the upstream fit', () => {
  const auc = (condition: string, values: readonly number[]): Measurement[] =>
    values.map((value, seed) => ({ condition, seed, metric: 'auc', value }));
  /** How far `condition` fit its k classes, per seed, and chance 1/k. */
  const fit = (condition: string, values: readonly number[], k: number): Measurement[] =>
    values.flatMap((value, seed) => [
      { condition, seed, metric: 'upstream-fit', value },
      { condition, seed, metric: 'upstream-chance', value: 1 / k },
    ]);
  const faster = [...auc('pretrained', [0.7, 0.71, 0.72]), ...auc('scratch', [0.6, 0.61, 0.62])];
  const fitted = fit('upstream', [0.23, 0.25, 0.31], 10);

  it('states the upstream fit per seed and chance after the paired difference', () => {
    const outcome = fasterThan('pretrained', 'scratch', 'upstream').evaluate(
      new MeasurementTable([...faster, ...fitted]),
    );
    expect(outcome.measured).toBe(
      'difference +0.100 [0.100, 0.100], n=3; upstream fit its 10 classes to 0.230, 0.250, 0.310 (chance 0.100)',
    );
    expect(outcome.verdict).toBe('reproduced');
    expect(fasterThan('pretrained', 'scratch', 'upstream').text).toContain(
      'Shown beside it: how far upstream fit its own labels',
    );
  });

  it('names each upstream of a comparison, and says when a fit was not measured', () => {
    const table = new MeasurementTable([
      ...faster,
      ...fit('upstream-real-labels', [0.85, 0.86], 10),
      ...fit('x4/upstream', [1, 0.999, 1], 50),
    ]);
    expect(slowerThan('pretrained', 'scratch', ['upstream-real-labels', 'x4/upstream']).evaluate(table).measured).toBe(
      'difference +0.100 [0.100, 0.100], n=3; upstream-real-labels fit its 10 classes to 0.850, 0.860 (chance 0.100); ' +
        'x4/upstream fit its 50 classes to 1, 0.999, 1 (chance 0.0200)',
    );
    expect(fasterThan('pretrained', 'scratch', 'upstream').evaluate(new MeasurementTable(faster)).measured).toBe(
      'difference +0.100 [0.100, 0.100], n=3; upstream: fit of its labels not measured',
    );
    expect(() => withUpstreamFit(fasterThan('a', 'b', 'u'), [])).toThrow('upstream condition(s)');
  });

  it('leaves the verdict, its reason and whether it had data as the paired rule decides them', () => {
    const scenarios: Measurement[][] = [
      [...faster, ...fitted],
      [...auc('pretrained', [0.5, 0.52, 0.49]), ...auc('scratch', [0.6, 0.61, 0.62]), ...fitted],
      [...auc('pretrained', [0.6, 0.7, 0.5]), ...auc('scratch', [0.6, 0.61, 0.62]), ...fitted],
      [...auc('pretrained', [0.7]), ...auc('scratch', [0.6]), ...fitted],
      fitted,
    ];
    const withoutMeasured = ({ measured: _measured, ...rest }: RuleOutcome) => rest;
    for (const measurements of scenarios) {
      const table = new MeasurementTable(measurements);
      for (const expect_ of ['greater', 'less'] as const) {
        const bare = pairedDirection(operand('pretrained', 'auc'), operand('scratch', 'auc'), expect_).evaluate(table);
        const rule = expect_ === 'greater' ? fasterThan : slowerThan;
        const shown = rule('pretrained', 'scratch', 'upstream').evaluate(table);
        expect(withoutMeasured(shown)).toEqual(withoutMeasured(bare));
        expect(shown.measured.startsWith(`${bare.measured}; upstream `)).toBe(true);
      }
    }
  });

  it('tabulates each pre-training per seed with its classes, final train accuracy and chance', () => {
    const table = upstreamFitTable([...faster, ...fit('upstream-negative', [0.8, 0.3], 50), ...fitted]);
    expect(table!.columns).toEqual(['condition', 'seed', 'k', 'final train accuracy', 'chance']);
    expect(table!.rows).toEqual([
      ['upstream-negative', 0, 50, 0.8, 0.02],
      ['upstream-negative', 1, 50, 0.3, 0.02],
      ['upstream', 0, 10, 0.23, 0.1],
      ['upstream', 1, 10, 0.25, 0.1],
      ['upstream', 2, 10, 0.31, 0.1],
    ]);
    expect(upstreamFitTable(faster)).toBeNull();
  });
});
