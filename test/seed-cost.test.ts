import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { findingSentence } from '../src/report/findings.js';
import { allOf, meanBeyond, operand, type RuleOutcome } from '../src/report/rules.js';
import { formatDuration, secondsPerSeed, seedCost, seedCostSentence, seedsToSettle } from '../src/report/seed-cost.js';
import { fasterThan } from '../src/report/transfer.js';
import type { Measurement, ReportData, RunRecord } from '../src/report/types.js';
import { MeasurementTable } from '../src/report/rules.js';
import { writeReport } from '../src/report/write.js';

const values = (condition: string, metric: string, list: number[]): Measurement[] =>
  list.map((value, seed) => ({ condition, seed, metric, value }));

const run = (seed: number, seconds?: number): RunRecord => ({
  id: `r${seed}-${seconds ?? 'x'}`,
  condition: 'c',
  seed,
  status: 'finished',
  ...(seconds !== undefined ? { seconds } : {}),
  settings: {},
});

/** Three seeds whose difference is small against its spread: inconclusive, with a seed count to settle it. */
const noisy = [...values('scratch', 'auc', [0.6, 0.61, 0.62]), ...values('pretrained', 'auc', [0.62, 0.6, 0.65])];
const faster = fasterThan('pretrained', 'scratch', 'upstream');

describe('what settling an inconclusive claim would cost', () => {
  it('divides the recorded run time by the seeds, ignoring runs without a time', () => {
    expect(secondsPerSeed([run(0, 100), run(1, 140), run(1), run(2, 60)], 3)).toBe(100);
    expect(secondsPerSeed([run(0)], 1)).toBeUndefined();
    expect(secondsPerSeed([], 3)).toBeUndefined();
  });

  it('asks an inconclusive outcome for its seeds, a conjunction for the most any inconclusive part needs', () => {
    const outcome = faster.evaluate(new MeasurementTable(noisy));
    expect(outcome.verdict).toBe('inconclusive');
    const needed = (outcome.evidence!.seedsNeeded as { seeds: number }).seeds;
    expect(seedsToSettle(outcome)).toBe(needed);
    const decided: RuleOutcome = { ...outcome, verdict: 'reproduced' };
    expect(seedsToSettle(decided)).toBeUndefined();
    const settled = meanBeyond(operand('scratch', 'auc'), 'above', 0.5);
    const both = allOf(faster, settled).evaluate(new MeasurementTable(noisy));
    expect(both.verdict).toBe('inconclusive');
    expect(seedsToSettle(both)).toBe(needed);
  });

  it('sets the cost against the budget and says whether --seeds N fits it', () => {
    const outcome = faster.evaluate(new MeasurementTable(noisy));
    const needed = seedsToSettle(outcome)!;
    const within = seedCost(outcome, 60, { scale: 'cpu', seconds: needed * 60 });
    expect(within).toEqual({
      seeds: needed,
      secondsPerSeed: 60,
      seconds: needed * 60,
      budget: { scale: 'cpu', seconds: needed * 60, fits: true },
    });
    expect(seedCostSentence(within!)).toBe(
      `at the 60 s of run time a seed took here, ${needed} seeds take about ${formatDuration(needed * 60)}: ` +
        `within the cpu scale's budget of ${formatDuration(needed * 60)} (--seeds ${needed})`,
    );
    const beyond = seedCost(outcome, 61, { scale: 'cpu', seconds: needed * 60 })!;
    expect(beyond.budget!.fits).toBe(false);
    expect(seedCostSentence(beyond)).toMatch(/: beyond the cpu scale's budget of .*, so a larger scale or a GPU/);
    const unbudgeted = seedCost(outcome, 61)!;
    expect(unbudgeted.budget).toBeUndefined();
    expect(seedCostSentence(unbudgeted)).toBe(
      `at the 61 s of run time a seed took here, ${needed} seeds take about ${formatDuration(needed * 61)}`,
    );
    expect(seedCost(outcome, undefined, { scale: 'cpu', seconds: 7200 })).toBeUndefined();
  });

  it('formats durations as a reader estimates them', () => {
    expect([12, 89.4, 90, 600, 5399, 5400, 7200, 36_000].map(formatDuration)).toEqual([
      '12 s',
      '89 s',
      '2 min',
      '10 min',
      '90 min',
      '1.5 h',
      '2.0 h',
      '10 h',
    ]);
  });
});

describe('the report costs its inconclusive claims', () => {
  const dir = mkdtempSync(join(tmpdir(), 'randlab-seed-cost-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const data = (budget?: ReportData['budget']): ReportData => ({
    experiment: 'fig5-controls',
    title: 'seed cost',
    paperReference: '§3 Fig. 5',
    description: 'synthetic',
    scale: 'cpu',
    seeds: [0, 1, 2],
    ...(budget ? { budget } : {}),
    settings: [],
    runs: [run(0, 300), run(1, 300), run(2, 300)],
    claims: [
      { id: 't.faster', statement: 'Pre-training is faster.', source: '§3', paperValue: 'faster', rule: faster },
      {
        id: 't.learns',
        statement: 'Scratch learns.',
        source: '§3',
        paperValue: 'above 0.5',
        rule: meanBeyond(operand('scratch', 'auc'), 'above', 0.5),
      },
    ],
    measurements: noisy,
    figures: [],
    tables: [],
    checks: [],
    notes: [],
  });

  it('writes the cost into claims.json and the finding sentences, only for inconclusive claims', async () => {
    const report = await writeReport(data({ scale: 'cpu', seconds: 7200 }), dir);
    const [inconclusive, decided] = report.claims;
    expect(decided!.verdict).toBe('reproduced');
    expect(decided!.cost).toBeUndefined();
    expect(inconclusive!.cost).toMatchObject({ secondsPerSeed: 300, budget: { scale: 'cpu', seconds: 7200 } });
    const file = JSON.parse(readFileSync(report.claimsJson, 'utf8')) as { claims: { cost?: unknown }[] };
    expect(file.claims[0]!.cost).toEqual(inconclusive!.cost);
    expect(findingSentence(inconclusive!)).toMatch(/; at the 5 min of run time a seed took here, \d+ seeds take about/);
    expect(readFileSync(report.html, 'utf8')).toContain('of run time a seed took here');
    const unbudgeted = await writeReport(data(), join(dir, 'none'));
    expect(unbudgeted.claims[0]!.cost!.budget).toBeUndefined();
  });
});
