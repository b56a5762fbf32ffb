/**
 * The transfer-map recipe: its plan (grid × seeds, one scratch run per seed shared by every grid point,
 * dependencies on the right pre-training), the map built from fits and AUCs (per-point differences paired
 * by seed, pooling by fit region, the Fig. 1 corners), its figure, and its claims on synthetic measurements.
 * The recipe's smoke scale runs end to end in test/experiments.test.ts with every other recipe.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { presetValues, type RunSpec } from '../src/experiments/recipe.js';
import {
  CONDITIONS,
  fitRegion,
  MAP_METRICS,
  POOLED,
  transferGrid,
  transferMapOf,
} from '../src/experiments/recipes/transfer-map-analysis.js';
import { transferMap } from '../src/experiments/recipes/transfer-map.js';
import { evaluateClaims } from '../src/report/claims.js';
import { renderChartSvg } from '../src/report/figures.js';
import { intervalSign } from '../src/report/sign-map.js';
import { summarize } from '../src/report/stats.js';
import type { Measurement } from '../src/report/types.js';
import { RunStore } from '../src/runs/store.js';

const DATA = '/work/shared/data';

describe('transfer-map plan', () => {
  const smoke = presetValues(transferMap.scales.smoke);
  const plan = transferMap.plan('smoke', [0, 1], DATA);
  const grid = transferGrid(smoke.upstreamEpochs, smoke.upstreamClasses);
  const one = (condition: string, seed: number): RunSpec => {
    const found = plan.filter((spec) => spec.condition === condition && spec.seed === seed);
    expect(found, `${condition} seed ${seed}`).toHaveLength(1);
    return found[0]!;
  };

  it('has per seed one scratch run and, per grid point, a pre-training and two downstream runs', () => {
    expect(grid.map((p) => `e${p.epochs}-k${p.classes}`)).toEqual(['e1-k5', 'e20-k5', 'e1-k50', 'e20-k50']);
    expect(plan).toHaveLength(2 * (1 + grid.length * 3));
    expect(plan.filter((spec) => spec.seed === 0).map((spec) => spec.condition)).toEqual([
      'scratch',
      ...grid.flatMap((p) => [CONDITIONS.upstream(p), CONDITIONS.pretrained(p), CONDITIONS.covariance(p)]),
    ]);
    const cpu = presetValues(transferMap.scales.cpu);
    const cpuPoints = cpu.upstreamEpochs.length * cpu.upstreamClasses.length;
    expect(transferMap.plan('cpu', [0, 1, 2], DATA)).toHaveLength(3 * (1 + 3 * cpuPoints));
  });

  it('pre-trains each grid point for its epochs on its K random classes, from the seed’s init', () => {
    for (const seed of [0, 1]) {
      for (const point of grid) {
        const config = one(CONDITIONS.upstream(point), seed).config!;
        expect(config.data?.labels).toEqual({ kind: 'random', k: point.classes, seed });
        expect(config.data?.split?.use).toBe('upstream');
        expect(config.training).toEqual({ batchSize: smoke.batchSize, epochs: point.epochs });
        expect(config.seed).toBe(seed);
        expect(one(CONDITIONS.upstream(point), seed).dependsOn).toEqual([]);
      }
    }
  });

  it('shares one scratch run per seed: the downstream runs of every point train on its data from its seed', () => {
    for (const seed of [0, 1]) {
      const scratch = one(CONDITIONS.scratch, seed);
      expect(scratch.dependsOn).toEqual([]);
      expect(scratch.config?.data?.split?.use).toBe('downstream');
      expect(scratch.config?.data?.labels).toEqual({ kind: 'real' });
      for (const point of grid) {
        const upstream = one(CONDITIONS.upstream(point), seed);
        const pretrained = one(CONDITIONS.pretrained(point), seed);
        const covariance = one(CONDITIONS.covariance(point), seed);
        // Pre-trained: the point's upstream weights, rescaled, new head; otherwise scratch's config.
        expect(pretrained.dependsOn).toEqual([upstream.id]);
        expect(pretrained.config?.init?.from).toEqual({ run: upstream.id, rescale: true, reinitHead: true });
        const { from: _from, ...init } = pretrained.config!.init!;
        expect({ ...pretrained.config, init }).toEqual(scratch.config);
        // Covariance: scratch's config with the first layer drawn from the point's pre-trained Σ_w.
        expect(covariance.dependsOn).toEqual([upstream.id]);
        expect(covariance.config).toEqual(scratch.config);
        expect(covariance.settings['init.source']).toBe(upstream.id);
        expect(covariance.settings['init.rescale']).toBe(true);
      }
    }
    // The ids differ between seeds and between points.
    expect(new Set(plan.map((spec) => spec.id)).size).toBe(plan.length);
  });

  it('analyses an empty store without measurements or figures', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'randlab-map-'));
    try {
      const context = { store: RunStore.open(join(dir, 'store')), dataRoot: DATA, experimentDir: dir, log: () => {} };
      const analysis = await transferMap.analyze({ scale: 'smoke', seeds: [0, 1], plan, context });
      expect(analysis.measurements).toEqual([]);
      expect(analysis.figures).toEqual([]);
      expect(analysis.tables[0]!.rows).toHaveLength(grid.length);
      expect(analysis.checks.filter((check) => check.required).map((check) => check.passed)).toEqual([false]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/**
 * Synthetic fits and AUCs for a 2 × 2 grid, 3 seeds: e2 points fit little, e20 points memorise. `gainOf`
 * turns each downstream condition's gain over scratch (plus a small spread over seeds) into the one used.
 */
function synthetic(gainOf: (gain: number, condition: string, seed: number) => number = (gain) => gain) {
  const grid = transferGrid([2, 20], [5, 50]);
  const seeds = [0, 1, 2];
  const fit: Record<string, number> = { 'e2-k5': 0.3, 'e20-k5': 0.97, 'e2-k50': 0.05, 'e20-k50': 0.92 };
  // AUC(condition) − AUC(scratch) per point; seeds add a small spread.
  const gain: Record<string, number> = {
    'e2-k5/pretrained': -0.2,
    'e2-k5/covariance': 0.01,
    'e20-k5/pretrained': 0.08,
    'e20-k5/covariance': 0.03,
    'e2-k50/pretrained': -0.3,
    'e2-k50/covariance': 0.0,
    'e20-k50/pretrained': 0.06,
    'e20-k50/covariance': 0.02,
  };
  const scratch = [0.5, 0.52, 0.55];
  const fits: Measurement[] = Object.entries(fit).flatMap(([condition, value]) =>
    seeds.map((seed) => ({ condition, seed, metric: MAP_METRICS.fit, value: value + 0.01 * seed })),
  );
  const aucs: Measurement[] = [
    ...seeds.map((seed) => ({ condition: 'scratch', seed, metric: 'auc', value: scratch[seed]! })),
    ...Object.entries(gain).flatMap(([condition, value]) =>
      seeds.map((seed) => ({
        condition,
        seed,
        metric: 'auc',
        value: scratch[seed]! + gainOf(value + 0.002 * (seed - 1), condition, seed),
      })),
    ),
  ];
  return { grid, fits, aucs };
}

describe('the transfer map', () => {
  const { grid, fits, aucs } = synthetic();
  const map = transferMapOf(grid, fits, aucs);
  const value = (condition: string, metric: string, seed: number) =>
    map.measurements.find((m) => m.condition === condition && m.metric === metric && m.seed === seed)?.value;

  it('measures each point’s gains over scratch paired by seed, and pools them by fit region', () => {
    expect(value('e20-k5', MAP_METRICS.gainPretrained, 0)).toBeCloseTo(0.08 - 0.002, 12);
    expect(value('e2-k50', MAP_METRICS.gainCovariance, 2)).toBeCloseTo(0.002, 12);
    expect(value('e2-k50', MAP_METRICS.fit, 1)).toBeCloseTo(0.06, 12);
    // Memorised: e20-k5 and e20-k50; fits little: e2-k5 and e2-k50; pooled per seed by the mean.
    expect(value(POOLED.memorised, MAP_METRICS.gainPretrained, 1)).toBeCloseTo((0.08 + 0.06) / 2, 12);
    expect(value(POOLED.fitsLittle, MAP_METRICS.gainCovariance, 1)).toBeCloseTo((0.01 + 0.0) / 2, 12);
    expect(value(POOLED.fig1Positive, MAP_METRICS.gainPretrained, 1)).toBeCloseTo(-0.2, 12);
    expect(value(POOLED.fig1Negative, MAP_METRICS.gainPretrained, 1)).toBeCloseTo(0.06, 12);
  });

  it('pools only the seeds that have every point of a region', () => {
    const withoutOne = aucs.filter((m) => !(m.condition === 'e20-k50/pretrained' && m.seed === 2));
    const partial = transferMapOf(grid, fits, withoutOne);
    const pooledSeeds = partial.measurements
      .filter((m) => m.condition === POOLED.memorised && m.metric === MAP_METRICS.gainPretrained)
      .map((m) => m.seed);
    expect(pooledSeeds).toEqual([0, 1]);
  });

  it('classifies a point by the mean fit of its pre-trainings', () => {
    expect([fitRegion(0.9), fitRegion(0.89), fitRegion(0.5), fitRegion(0.51)]).toEqual([
      'memorised',
      'between',
      'fits-little',
      'between',
    ]);
  });

  it('tabulates every point with its fit, region, gains and their signs', () => {
    expect(map.table.rows.map((row) => [row[0], row[5], row[7], row[9]])).toEqual([
      ['e2-k5', 'fits-little', 'negative', 'positive'],
      ['e20-k5', 'memorised', 'positive', 'positive'],
      ['e2-k50', 'fits-little', 'negative', 'nil'],
      ['e20-k50', 'memorised', 'positive', 'positive'],
    ]);
    expect(map.table.rows[1]![4]).toBe('0.980 (0.970, 0.980, 0.990)');
    expect(map.note).toContain('memorised (≥ 0.9): e20-k5, e20-k50');
  });

  it('draws the map: differences with intervals coloured by sign, a zero line, and the fit beside', async () => {
    expect(map.figure).not.toBeNull();
    const svg = await renderChartSvg(map.figure!.kind === 'chart' ? map.figure!.spec : ({} as never));
    expect(svg).toMatch(/^<svg/);
    // The three sign colours (green positive, red negative, grey nil) and the panels' titles.
    for (const colour of ['#1a9850', '#d73027', '#8c8c8c']) expect(svg).toContain(colour);
    for (const text of ['pre-trained − scratch', 'covariance − scratch', 'memorised', 'fits little', 'K = 50'])
      expect(svg).toContain(text);
  });

  it('has no figure before any downstream difference exists', () => {
    expect(transferMapOf(grid, fits, []).figure).toBeNull();
  });

  it('calls an interval’s sign by where it lies', () => {
    expect(intervalSign(summarize([0.1, 0.11, 0.12]))).toBe('positive');
    expect(intervalSign(summarize([-0.1, -0.11, -0.12]))).toBe('negative');
    expect(intervalSign(summarize([-0.1, 0.1, 0.02]))).toBe('nil');
    expect(intervalSign(summarize([0.5]))).toBe('nil');
  });
});

describe('transfer-map claims', () => {
  const { grid, fits, aucs } = synthetic();
  const verdicts = (measurements: readonly Measurement[]) =>
    Object.fromEntries(
      evaluateClaims(transferMap.name, transferMap.claims, measurements).map((result) => [result.id, result.verdict]),
    );

  it('are reproduced when memorised pre-training helps and little-fit pre-training hurts', () => {
    // The Fig. 1 corners disagree with the paper here: e20-k50 (many classes, long) helps.
    expect(verdicts(transferMapOf(grid, fits, aucs).measurements)).toEqual({
      'map.memorised-pretrained-faster': 'reproduced',
      'map.little-fit-pretrained-slower': 'reproduced',
      'map.memorised-covariance-faster': 'reproduced',
      'map.covariance-escapes-specialisation': 'reproduced',
      'map.fig1-knob': 'not reproduced',
    });
  });

  it('show beside each verdict how far the pre-trainings they pool fit their random labels', () => {
    const results = evaluateClaims(transferMap.name, transferMap.claims, transferMapOf(grid, fits, aucs).measurements);
    const measured = Object.fromEntries(results.map((r) => [r.id, r.measured]));
    // Memorised pools e20-k5 (0.97 + 0.01·seed) and e20-k50 (0.92 + 0.01·seed): per seed 0.945, 0.955, 0.965.
    expect(measured['map.memorised-pretrained-faster']).toMatch(
      /; memorised pools 2 grid points, whose pre-trainings fit their random labels to 0\.945, 0\.955, 0\.965 \(mean per seed\)$/,
    );
    expect(measured['map.covariance-escapes-specialisation']).toMatch(/; fits-little pools 2 grid points, .* 0\.175, /);
    expect(measured['map.fig1-knob']).toMatch(
      /; fig1-positive pools 1 grid point, whose .* to 0\.300, 0\.310, 0\.320 .*; fig1-negative pools 1 grid point, .* 0\.920, 0\.930, 0\.940/,
    );
    const none = evaluateClaims(
      transferMap.name,
      transferMap.claims.slice(0, 1),
      transferMapOf(
        grid,
        fits.map((m) => ({ ...m, value: 0.7 })),
        aucs,
      ).measurements,
    );
    expect(none[0]!.measured).toMatch(/; memorised: no grid point with a measured fit$/);
  });

  it('are not reproduced when the signs are the other way round', () => {
    const flipped = synthetic((gain) => -gain).aucs;
    expect(verdicts(transferMapOf(grid, fits, flipped).measurements)).toEqual({
      'map.memorised-pretrained-faster': 'not reproduced',
      'map.little-fit-pretrained-slower': 'not reproduced',
      'map.memorised-covariance-faster': 'not reproduced',
      'map.covariance-escapes-specialisation': 'not reproduced',
      // e2-k5 now helps and e20-k50 hurts: the paper's Fig. 1.
      'map.fig1-knob': 'reproduced',
    });
  });

  it('are inconclusive when the seeds disagree, and without data when no point is in a region', () => {
    // Seed 1 far off the others, in opposite directions for the two kinds of downstream run.
    const noisy = synthetic(
      (gain, condition, seed) => gain + (condition.endsWith('/pretrained') ? 1 : -1) * (seed === 1 ? 0.5 : -0.25),
    ).aucs;
    expect(new Set(Object.values(verdicts(transferMapOf(grid, fits, noisy).measurements)))).toEqual(
      new Set(['inconclusive']),
    );
    const allBetween = fits.map((m) => ({ ...m, value: 0.7 }));
    const results = evaluateClaims(
      transferMap.name,
      transferMap.claims,
      transferMapOf(grid, allBetween, aucs).measurements,
    );
    expect(results.filter((r) => !r.hasData).map((r) => r.id)).toEqual([
      'map.memorised-pretrained-faster',
      'map.little-fit-pretrained-slower',
      'map.memorised-covariance-faster',
      'map.covariance-escapes-specialisation',
    ]);
  });
});
