import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateClaims, type Claim } from '../src/report/claims.js';
import { renderChartSvg, svgForHtml, svgToPng, upscalePng } from '../src/report/figures.js';
import { findingSentence } from '../src/report/findings.js';
import {
  allOf,
  formatNumber,
  meanBeyond,
  MeasurementTable,
  operand,
  pairedDirection,
  pairedEquivalence,
} from '../src/report/rules.js';
import { summarize } from '../src/report/stats.js';
import { fasterThan } from '../src/report/transfer.js';
import { Rng } from '../src/tensor/rng.js';
import type { Measurement, ReportData } from '../src/report/types.js';
import { writeReport } from '../src/report/write.js';

const a = { condition: 'A', metric: 'auc' };
const b = { condition: 'B', metric: 'auc' };

function measurements(condition: string, metric: string, values: number[]): Measurement[] {
  return values.map((value, seed) => ({ condition, seed, metric, value }));
}

function table(...groups: Measurement[][]): MeasurementTable {
  return new MeasurementTable(groups.flat());
}

describe('paired direction rule', () => {
  const rule = pairedDirection(a, b, 'greater');
  const base = [0.5, 0.6, 0.55, 0.52];

  it('is reproduced when the interval lies on the expected side', () => {
    const outcome = rule.evaluate(
      table(
        measurements(
          'A',
          'auc',
          base.map((v, i) => v + 0.05 + 0.001 * i),
        ),
        measurements('B', 'auc', base),
      ),
    );
    expect(outcome.verdict).toBe('reproduced');
    expect(outcome.measured).toMatch(/^difference \+0\.05\d+ \[/);
  });

  it('is not reproduced when the interval lies on the other side', () => {
    const outcome = rule.evaluate(
      table(
        measurements(
          'A',
          'auc',
          base.map((v, i) => v - 0.05 - 0.001 * i),
        ),
        measurements('B', 'auc', base),
      ),
    );
    expect(outcome.verdict).toBe('not reproduced');
  });

  it('is inconclusive when the interval contains 0', () => {
    const outcome = rule.evaluate(
      table(measurements('A', 'auc', [0.51, 0.59, 0.57, 0.5]), measurements('B', 'auc', base)),
    );
    expect(outcome.verdict).toBe('inconclusive');
    expect(outcome.reason).toContain('contains 0');
  });

  it('pairs by seed, ignoring seeds only one side has', () => {
    const t = new MeasurementTable([
      ...measurements('A', 'auc', [0.7, 0.71, 0.72]),
      { condition: 'B', seed: 0, metric: 'auc', value: 0.6 },
      { condition: 'B', seed: 2, metric: 'auc', value: 0.6 },
    ]);
    expect(t.paired(a, b).seeds).toEqual([0, 2]);
  });

  it('is inconclusive with one seed and reports missing data', () => {
    expect(rule.evaluate(table(measurements('A', 'auc', [0.9]), measurements('B', 'auc', [0.1]))).reason).toContain(
      'at least 2',
    );
    const missing = rule.evaluate(table(measurements('A', 'auc', [0.9, 0.8])));
    expect(missing.verdict).toBe('inconclusive');
    expect(missing.hasData).toBe(false);
  });

  it('rejects a measurement given twice', () => {
    expect(() => table(measurements('A', 'auc', [1]), measurements('A', 'auc', [2]))).toThrow(
      "condition 'A' is given twice for seed 0",
    );
  });
});

describe('equivalence, threshold and conjunction rules', () => {
  const base = [0.5, 0.6, 0.55, 0.52, 0.58];
  const equivalent = pairedEquivalence(a, b, 0.02);

  it('gives each verdict for equivalence', () => {
    const close = table(
      measurements(
        'A',
        'auc',
        base.map((v, i) => v + 0.001 * (i % 2)),
      ),
      measurements('B', 'auc', base),
    );
    expect(equivalent.evaluate(close).verdict).toBe('reproduced');
    const far = table(
      measurements(
        'A',
        'auc',
        base.map((v, i) => v + 0.1 + 0.001 * i),
      ),
      measurements('B', 'auc', base),
    );
    expect(equivalent.evaluate(far).verdict).toBe('not reproduced');
    const noisy = table(
      measurements(
        'A',
        'auc',
        base.map((v, i) => v + (i % 2 ? 0.05 : -0.04)),
      ),
      measurements('B', 'auc', base),
    );
    expect(equivalent.evaluate(noisy).verdict).toBe('inconclusive');
  });

  it('gives each verdict for a threshold with a separate fail threshold', () => {
    const rule = meanBeyond({ condition: 'S', metric: 'ratio' }, 'below', 0.5, 1);
    expect(rule.evaluate(table(measurements('S', 'ratio', [0.2, 0.25, 0.22]))).verdict).toBe('reproduced');
    expect(rule.evaluate(table(measurements('S', 'ratio', [1.3, 1.2, 1.25]))).verdict).toBe('not reproduced');
    // Entirely above 0.5 but not above 1: neither side.
    expect(rule.evaluate(table(measurements('S', 'ratio', [0.7, 0.75, 0.72]))).verdict).toBe('inconclusive');
    expect(() => meanBeyond({ condition: 'S', metric: 'r' }, 'below', 0.5, 0.1)).toThrow('must lie above');
  });

  it('combines rules: any failure fails, all successes succeed', () => {
    const up = meanBeyond({ condition: 'S', metric: 'x' }, 'above', 0);
    const down = meanBeyond({ condition: 'S', metric: 'y' }, 'below', 0);
    const data = (x: number[], y: number[]) => table(measurements('S', 'x', x), measurements('S', 'y', y));
    expect(allOf(up, down).evaluate(data([1, 1.1, 1.2], [-1, -1.1, -1.2])).verdict).toBe('reproduced');
    expect(allOf(up, down).evaluate(data([1, 1.1, 1.2], [1, 1.1, 1.2])).verdict).toBe('not reproduced');
    expect(allOf(up, down).evaluate(data([1, 1.1, 1.2], [-1, 1, 0.1])).verdict).toBe('inconclusive');
  });
});

describe('the numbers behind a verdict', () => {
  // Differences of mean 1 and sd 1 (0, 1, 2 against 0): R's power.t.test(delta = 1, sd = 1, type = "paired",
  // strict = TRUE) needs n = 9.94, so 10 seeds; mean 0.5 and sd 1 needs 33.4, so 34.
  const zeros = measurements('B', 'auc', [0, 0, 0]);

  it('says how many seeds would settle an inconclusive paired difference', () => {
    const outcome = pairedDirection(a, b, 'greater').evaluate(table(measurements('A', 'auc', [0, 1, 2]), zeros));
    expect(outcome.verdict).toBe('inconclusive');
    expect(outcome.reason).toBe(
      'the interval contains 0: inconclusive at n = 3; about 10 seeds would settle an effect this size',
    );
    expect(outcome.evidence).toMatchObject({
      quantity: 'auc difference',
      paired: true,
      mean: 1,
      sd: 1,
      n: 3,
      effect: 1,
      effectIs: 'mean difference',
      seedsNeeded: { seeds: 10 },
    });
    expect(outcome.evidence!.low).toBeCloseTo(1 - 4.302652729911275 / Math.sqrt(3), 9);
    const half = pairedDirection(a, b, 'less').evaluate(table(measurements('A', 'auc', [-0.5, 0.5, 1.5]), zeros));
    expect(half.reason).toMatch(/; about 34 seeds would settle an effect this size$/);
  });

  it('says why no number of seeds would settle it', () => {
    const none = pairedDirection(a, b, 'greater').evaluate(table(measurements('A', 'auc', [-1, 0, 1]), zeros));
    expect(none.reason).toBe(
      'the interval contains 0: inconclusive at n = 3; no number of seeds would settle it: no observed effect (the mean difference is 0)',
    );
    const tiny = pairedDirection(a, b, 'greater').evaluate(
      table(measurements('A', 'auc', [-0.999, 0.001, 1.001]), zeros),
    );
    expect(tiny.evidence!.seedsNeeded).toEqual({ moreThan: 10_000 });
    expect(tiny.reason).toMatch(/; more than 10 000 seeds would be needed to settle an effect this size$/);
  });

  it('gives settled verdicts the same numbers and an unchanged reason', () => {
    const up = pairedDirection(a, b, 'greater').evaluate(table(measurements('A', 'auc', [4, 5, 6]), zeros));
    expect(up).toMatchObject({ verdict: 'reproduced', reason: 'the interval lies above 0' });
    expect(up.evidence).toMatchObject({ mean: 5, sd: 1, n: 3, effect: 5, seedsNeeded: { seeds: 3 } });
    const flat = pairedDirection(a, b, 'greater').evaluate(table(measurements('A', 'auc', [1, 1, 1]), zeros));
    expect(flat.verdict).toBe('reproduced');
    expect(flat.evidence!.seedsNeeded).toEqual({ never: 'the seeds do not vary (sd 0), so no power is defined' });
  });

  it('sizes an equivalence by the distance from the mean to the nearer margin', () => {
    const rule = pairedEquivalence(a, b, 2);
    const inside = rule.evaluate(table(measurements('A', 'auc', [0, 1, 2]), zeros));
    expect(inside.verdict).toBe('inconclusive');
    expect(inside.evidence).toMatchObject({
      effect: 1,
      effectIs: 'distance from the mean difference to the nearer margin of ±2 (inside)',
      seedsNeeded: { seeds: 10 },
    });
    const outside = rule.evaluate(table(measurements('A', 'auc', [-4, -3, -2]), zeros));
    expect(outside.verdict).toBe('inconclusive');
    expect(outside.evidence).toMatchObject({ effect: 1, seedsNeeded: { seeds: 10 } });
    expect(outside.evidence!.effectIs).toMatch(/\(outside\)$/);
    const onMargin = rule.evaluate(table(measurements('A', 'auc', [1, 2, 3]), zeros));
    expect(onMargin.reason).toMatch(/no number of seeds would settle it: the mean difference lies on the margin ±2$/);
  });

  it('sizes a threshold by the distance from the mean to the boundary it would clear', () => {
    const s = { condition: 'S', metric: 'ratio' };
    const ratio = (values: number[]) => table(measurements('S', 'ratio', values));
    const above = meanBeyond(s, 'above', 1.5).evaluate(ratio([1.5, 2.5, 3.5]));
    expect(above.verdict).toBe('inconclusive');
    expect(above.evidence).toMatchObject({ quantity: 'ratio', paired: false, effect: 1, effectIs: 'mean − 1.5' });
    expect(above.reason).toMatch(/^the interval is not entirely above 1\.5: inconclusive at n = 3; about 10 seeds/);
    // With a separate fail threshold: past it, the effect is measured from it; between the two, never settled.
    const belowWithFail = meanBeyond(s, 'below', 0.5, 1);
    const past = belowWithFail.evaluate(ratio([1, 2, 3]));
    expect(past.evidence).toMatchObject({
      effect: 1,
      effectIs: 'mean − 1 (the fail threshold)',
      seedsNeeded: { seeds: 10 },
    });
    const between = belowWithFail.evaluate(ratio([0.7, 0.75, 0.72]));
    expect(between.verdict).toBe('inconclusive');
    expect(between.reason).toMatch(
      /no number of seeds would settle it: the mean lies between 0\.5 and 1, where no verdict is reached$/,
    );
    expect(meanBeyond(s, 'above', 2.5).evaluate(ratio([1.5, 2.5, 3.5])).reason).toMatch(
      /the mean lies at the threshold 2\.5, where no verdict is reached$/,
    );
    // A rule's own minimum number of seeds is a floor on the seeds needed.
    const atLeast20 = meanBeyond(s, 'above', 1.5, 1.5, 20).evaluate(ratio([1.5, 2.5, 3.5]));
    expect(atLeast20.reason).toBe(
      '3 seeds: this rule needs at least 20: inconclusive at n = 3; about 20 seeds would settle an effect this size',
    );
  });

  it('reports the parts of a conjunction and no numbers without an interval', () => {
    const up = meanBeyond({ condition: 'S', metric: 'x' }, 'above', 0);
    const down = meanBeyond({ condition: 'S', metric: 'y' }, 'below', 0);
    const both = allOf(up, down).evaluate(
      table(measurements('S', 'x', [0, 1, 2]), measurements('S', 'y', [-4, -5, -6])),
    );
    expect(both.verdict).toBe('inconclusive');
    expect(both.evidence).toBeUndefined();
    expect(both.parts!.map((part) => [part.verdict, part.evidence!.seedsNeeded])).toEqual([
      ['inconclusive', { seeds: 10 }],
      ['reproduced', { seeds: 3 }],
    ]);
    expect(both.reason).toContain(
      '(1) inconclusive: the interval is not entirely above 0: inconclusive at n = 3; about 10',
    );
    const one = pairedDirection(a, b, 'greater').evaluate(
      table(measurements('A', 'auc', [1]), measurements('B', 'auc', [0])),
    );
    expect(one.evidence).toBeUndefined();
    expect(pairedDirection(a, b, 'greater').evaluate(table(zeros)).evidence).toBeUndefined();
  });

  it('leaves every verdict to the interval alone', () => {
    // Seeded random samples through every rule, against the verdict each rule's text states.
    const rng = new Rng(7, 'verdicts');
    const s = { condition: 'S', metric: 'x' };
    let decided = 0;
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + rng.int(6);
      const centre = 2 * rng.uniform() - 1;
      const spread = 0.05 + rng.uniform();
      const values = Array.from({ length: n }, () => centre + spread * rng.normal());
      const data = table(
        measurements('A', 'auc', values),
        measurements('B', 'auc', new Array<number>(n).fill(0)),
        measurements('S', 'x', values),
      );
      const { low, high } = summarize(values).interval!;
      const direction = low > 0 ? 'reproduced' : high < 0 ? 'not reproduced' : 'inconclusive';
      expect(pairedDirection(a, b, 'greater').evaluate(data).verdict).toBe(direction);
      expect(meanBeyond(s, 'above', 0).evaluate(data).verdict).toBe(direction);
      const margin = 0.5;
      const equivalence =
        low >= -margin && high <= margin
          ? 'reproduced'
          : low > margin || high < -margin
            ? 'not reproduced'
            : 'inconclusive';
      expect(pairedEquivalence(a, b, margin).evaluate(data).verdict).toBe(equivalence);
      if (direction !== 'inconclusive') decided++;
    }
    // The samples reach every verdict, not only 'inconclusive'.
    expect(decided).toBeGreaterThan(50);
  });
});

describe('claims', () => {
  const claims: Claim[] = [
    {
      id: 'demo.faster',
      statement: 'Pre-training on random labels speeds up training.',
      source: '§1',
      paperValue: 'pre-trained above scratch',
      rule: fasterThan('pretrained', 'scratch', 'upstream'),
    },
    {
      id: 'demo.same',
      statement: 'Covariance initialisation is about as fast as pre-training.',
      source: '§3 Fig. 5',
      paperValue: 'covariance ≈ pre-trained',
      rule: pairedEquivalence(operand('covariance', 'auc'), operand('pretrained', 'auc'), 0.02),
    },
  ];
  const auc = (condition: string, values: number[]) => measurements(condition, 'auc', values);

  it('evaluates the given claims in their order, from measurements alone, naming the experiment', () => {
    const data = [
      ...auc('scratch', [0.6, 0.61, 0.62]),
      ...auc('pretrained', [0.7, 0.705, 0.72]),
      ...auc('covariance', [0.7, 0.706, 0.719]),
    ];
    const results = evaluateClaims('demo-experiment', claims, data);
    expect(results.map((r) => [r.id, r.experiment, r.verdict])).toEqual([
      ['demo.faster', 'demo-experiment', 'reproduced'],
      ['demo.same', 'demo-experiment', 'reproduced'],
    ]);
    expect(results[0]).toMatchObject({
      statement: claims[0]!.statement,
      source: '§1',
      paperValue: 'pre-trained above scratch',
      rule: claims[0]!.rule.text,
      hasData: true,
    });
    expect(results[0]!.measured).toMatch(/^difference \+0\.0983 \[/);
  });

  it('reports a claim whose measurements are missing as inconclusive without data', () => {
    const [result] = evaluateClaims('demo-experiment', claims.slice(0, 1), auc('scratch', [0.6, 0.61]));
    expect(result).toMatchObject({
      verdict: 'inconclusive',
      hasData: false,
      measured: 'not measured; upstream: fit of its labels not measured',
    });
  });

  it('says what was found in one sentence per claim, with the numbers and the seeds that would settle it', () => {
    const data = [
      ...auc('scratch', [0.6, 0.61, 0.62]),
      ...auc('pretrained', [0.7, 0.705, 0.72]),
      ...auc('covariance', [0.68, 0.74, 0.7]),
    ];
    const [faster, same] = evaluateClaims('demo-experiment', claims, data);
    const { low, high } = faster!.evidence!;
    expect(findingSentence(faster!)).toBe(
      `Reproduced: Pre-training on random labels speeds up training (auc difference +0.0983 [${formatNumber(low)}, ` +
        `${formatNumber(high)}], 3 seeds).`,
    );
    expect(same!.verdict).toBe('inconclusive');
    const seeds = (same!.evidence!.seedsNeeded as { seeds: number }).seeds;
    expect(seeds).toBeGreaterThan(3);
    expect(findingSentence(same!)).toMatch(
      new RegExp(
        `^Inconclusive: Covariance initialisation is about as fast as pre-training \\(auc difference -0\\.0017 ` +
          `\\[-?0\\.\\d+, 0\\.\\d+\\], 3 seeds; about ${seeds} seeds would settle an effect this size\\)\\.$`,
      ),
    );
    const [missing] = evaluateClaims('demo-experiment', claims.slice(0, 1), auc('scratch', [0.6, 0.61]));
    expect(findingSentence(missing!)).toBe(
      'Inconclusive: Pre-training on random labels speeds up training (no measurements of auc(pretrained) and ' +
        'auc(scratch) for a common seed).',
    );
    const [single] = evaluateClaims('demo-experiment', claims.slice(0, 1), [
      ...auc('scratch', [0.6]),
      ...auc('pretrained', [0.7]),
    ]);
    expect(findingSentence(single!)).toMatch(
      /\(difference \+0\.100, n=1; upstream: fit of its labels not measured: 1 seed\(s\): an interval needs at least 2/,
    );
  });

  it('rejects a claim id declared twice', () => {
    expect(() => evaluateClaims('demo-experiment', [claims[0]!, claims[0]!], [])).toThrow(
      "demo-experiment: claim id 'demo.faster' is declared twice",
    );
  });
});

describe('figures and the HTML report', () => {
  const dir = mkdtempSync(join(tmpdir(), 'randlab-report-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const tinyPng = (() => {
    const png = new PNG({ width: 3, height: 2 });
    for (let i = 0; i < 6; i++) png.data.set([i * 40, 255 - i * 40, 128, 255], i * 4);
    return new Uint8Array(PNG.sync.write(png));
  })();

  const data: ReportData = {
    experiment: 'fig5-controls',
    title: 'Fig. 5 test report',
    paperReference: '§3 Fig. 5',
    description: 'Synthetic measurements <checked> & escaped.',
    scale: 'smoke',
    seeds: [0, 1],
    settings: [{ name: 'iterations', value: '10', why: 'fast' }],
    runs: [
      { id: 'r1', condition: 'scratch', seed: 0, status: 'finished', seconds: 1.5, settings: { lr: 0.01 } },
      { id: 'r2', condition: 'pretrained', seed: 0, status: 'failed', error: 'boom', settings: { lr: 0.01 } },
    ],
    claims: [
      {
        id: 'test.pretrained-beats-scratch',
        statement: 'Pre-trained on random labels trains faster than from scratch.',
        source: '§3 Fig. 5',
        paperValue: 'pre-trained above scratch',
        rule: fasterThan('pretrained', 'scratch', 'upstream'),
      },
      {
        id: 'test.scratch-learns-something',
        statement: 'Scratch reaches an AUC above one half.',
        source: '§3 Init',
        paperValue: 'above 0.5',
        rule: meanBeyond(operand('scratch', 'auc'), 'above', 0.5),
      },
    ],
    measurements: [
      { condition: 'scratch', seed: 0, metric: 'auc', value: 0.5 },
      { condition: 'pretrained', seed: 0, metric: 'auc', value: 0.6 },
    ],
    figures: [
      {
        kind: 'chart',
        id: 'curves',
        title: 'Training accuracy',
        caption: 'Train accuracy against iterations.',
        spec: {
          data: {
            values: [
              { it: 0, acc: 0.1, c: 'scratch' },
              { it: 10, acc: 0.4, c: 'scratch' },
            ],
          },
          mark: 'line',
          encoding: {
            x: { field: 'it', type: 'quantitative' },
            y: { field: 'acc', type: 'quantitative' },
            color: { field: 'c', type: 'nominal' },
          },
        },
      },
      {
        kind: 'images',
        id: 'filters',
        title: 'Filters',
        caption: 'Two tiny images.',
        panels: [
          { label: 'a', png: tinyPng },
          { label: 'b', png: tinyPng },
        ],
      },
    ],
    tables: [{ id: 't', title: 'AUC', columns: ['condition', 'auc'], rows: [['scratch', 0.5]] }],
    checks: [{ name: 'scratch learns', passed: true, required: true, detail: '0.1 → 0.5' }],
    notes: ['a note'],
  };

  it('renders Vega-Lite to SVG and PNG without a network', async () => {
    const svg = await renderChartSvg(data.figures[0]!.kind === 'chart' ? data.figures[0]!.spec : ({} as never));
    expect(svg).toMatch(/^<svg/);
    expect(svgForHtml(svg)).not.toMatch(/https?:/);
    const png = PNG.sync.read(svgToPng(svg));
    expect(png.width).toBeGreaterThan(100);
    await expect(renderChartSvg({ data: { url: 'https://example.com/x.csv' }, mark: 'point' })).rejects.toThrow(
      'must be inline',
    );
  });

  it('upscales small images with nearest neighbour', () => {
    const up = upscalePng(tinyPng, 30);
    expect([up.width, up.height]).toEqual([30, 20]);
    const image = PNG.sync.read(up.png);
    expect([...image.data.subarray(0, 4)]).toEqual([0, 255, 128, 255]);
  });

  it('writes a self-contained page, PNGs, claims.json and measurements', async () => {
    const written = await writeReport(data, dir, new Date('2024-01-02T03:04:05Z'));
    const html = readFileSync(written.html, 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|src="(?!data:)/);
    expect((html.match(/<svg/g) ?? []).length).toBe(2);
    expect(html).toContain('data:image/png;base64,');
    expect(html).toContain('&lt;checked&gt; &amp; escaped');
    expect(html).toContain('boom');
    for (const claim of data.claims) expect(html).toContain(claim.id);
    expect(written.pngs).toHaveLength(2);
    for (const path of written.pngs) expect(existsSync(path)).toBe(true);
    const claims = JSON.parse(readFileSync(written.claimsJson, 'utf8'));
    expect(claims.generatedAt).toBe('2024-01-02T03:04:05.000Z');
    expect(claims.claims.map((claim: { id: string }) => claim.id)).toEqual(data.claims.map((claim) => claim.id));
    // One seed: every verdict must be inconclusive, and the rule text must be present.
    for (const claim of claims.claims) {
      expect(claim.verdict).toBe('inconclusive');
      expect(claim.rule.length).toBeGreaterThan(20);
    }
    expect(readFileSync(written.measurementsCsv, 'utf8')).toBe(
      'condition,seed,metric,value\nscratch,0,auc,0.5\npretrained,0,auc,0.6\n',
    );
  });

  it('opens with what was found and gives each claim its effect, sd, n and seeds needed', async () => {
    const three = join(dir, 'three-seeds');
    const claimsWithMarkup = [
      { ...data.claims[0]!, statement: 'Pre-trained <b>beats</b> scratch & more.' },
      data.claims[1]!,
    ];
    const written = await writeReport(
      {
        ...data,
        seeds: [0, 1, 2],
        claims: claimsWithMarkup,
        measurements: [
          ...measurements('scratch', 'auc', [0.6, 0.62, 0.61]),
          ...measurements('pretrained', 'auc', [0.62, 0.6, 0.66]),
        ],
      },
      three,
      new Date('2024-01-02T03:04:05Z'),
    );
    const html = readFileSync(written.html, 'utf8');
    const found = html.indexOf('<h2>What was found</h2>');
    expect(found).toBeGreaterThan(html.indexOf('<table class="meta">'));
    expect(found).toBeLessThan(html.indexOf('<h2>Claims</h2>'));
    const findings = html.slice(found, html.indexOf('<h2>Claims</h2>'));
    expect(findings).toContain(
      'Inconclusive: Pre-trained &lt;b&gt;beats&lt;/b&gt; scratch &amp; more (auc difference +0.0167',
    );
    expect(findings).toMatch(
      /3 seeds; about (\d+) seeds would settle an effect this size; at the 1 s of run time a seed took here, \1 seeds take about \d+ s\)\./,
    );
    expect(findings).toContain('Reproduced: Scratch reaches an AUC above one half (auc 0.610');
    expect(html).toContain('<th>Effect</th><th>sd</th><th>n</th><th>Seeds for 80% power</th>');
    expect(html).toContain('power.t.test');
    const file = JSON.parse(readFileSync(written.claimsJson, 'utf8'));
    const [faster, learns] = file.claims;
    expect(faster.evidence).toMatchObject({
      quantity: 'auc difference',
      paired: true,
      n: 3,
      effectIs: 'mean difference',
    });
    expect(faster.evidence.effect).toBeCloseTo(0.05 / 3, 12);
    expect(faster.evidence.seedsNeeded.seeds).toBeGreaterThan(3);
    expect(faster.reason).toContain(
      `about ${faster.evidence.seedsNeeded.seeds} seeds would settle an effect this size`,
    );
    expect(learns).toMatchObject({ verdict: 'reproduced', evidence: { n: 3, effectIs: 'mean − 0.5' } });
    expect(html).toContain(`<td class="num">${faster.evidence.seedsNeeded.seeds}</td>`);
  });

  it('rejects bad figure ids', async () => {
    await expect(writeReport({ ...data, figures: [{ ...data.figures[0]!, id: 'Bad id' }] }, dir)).rejects.toThrow(
      "figure id 'Bad id'",
    );
  });
});
