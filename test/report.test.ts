import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { evaluateClaims, type Claim } from '../src/report/claims.js';
import { renderChartSvg, svgForHtml, svgToPng, upscalePng } from '../src/report/figures.js';
import {
  allOf,
  meanBeyond,
  MeasurementTable,
  operand,
  pairedDirection,
  pairedEquivalence,
} from '../src/report/rules.js';
import { fasterThan } from '../src/report/transfer.js';
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

  it('rejects bad figure ids', async () => {
    await expect(writeReport({ ...data, figures: [{ ...data.figures[0]!, id: 'Bad id' }] }, dir)).rejects.toThrow(
      "figure id 'Bad id'",
    );
  });
});
