/**
 * Every recipe end to end at smoke scale: all runs finish, the report and claims.json are written with
 * a verdict (from data) for every claim of the recipe, and training from scratch learns; a recipe that
 * pre-trains measures how far each pre-training fit its own labels and shows it beside every verdict.
 * CIFAR-10 and the image folder come from $RANDLAB_DATA; a recipe whose data is missing is skipped.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveDataRoot } from '../src/data/paths.js';
import { runExperiment } from '../src/experiments/experiment.js';
import { defaultSeedCount, seedList, type RunSpec } from '../src/experiments/recipe.js';
import { RECIPES } from '../src/experiments/recipes/index.js';
import { UPSTREAM_CHANCE_METRIC, UPSTREAM_FIT_METRIC } from '../src/report/transfer.js';
import type { ClaimsFile } from '../src/report/write.js';

const dataRoot = resolveDataRoot();
const root = mkdtempSync(join(tmpdir(), 'randlab-experiments-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** The pre-trainings of a plan: training runs that another training run starts after (transfer, critical stages). */
function pretrainings(plan: readonly RunSpec[]): RunSpec[] {
  const after = new Set(plan.filter((spec) => spec.kind === 'train').flatMap((spec) => spec.dependsOn));
  return plan.filter((spec) => spec.kind === 'train' && after.has(spec.id));
}

/** `condition,seed,metric` of every row of a measurements.csv. */
function measuredKeys(csv: string): Set<string> {
  return new Set(
    csv
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(',').slice(0, 3).join(',')),
  );
}

describe.each(RECIPES.map((recipe) => [recipe.name, recipe] as const))('recipe %s at smoke scale', (name, recipe) => {
  const availability = recipe.available(dataRoot);
  it.skipIf(!availability.ok)(
    'runs end to end and reports a verdict for every claim',
    async () => {
      const started = performance.now();
      const result = await runExperiment({ recipe: name, scale: 'smoke', dataRoot, out: join(root, name) });
      const seconds = (performance.now() - started) / 1000;
      console.log(`${name}: smoke scale in ${seconds.toFixed(1)} s (${result.outcomes.size} runs)`);
      const unfinished = [...result.outcomes.values()].filter((o) => o.status !== 'finished');
      expect(unfinished, JSON.stringify(unfinished)).toEqual([]);

      const html = readFileSync(result.report.html, 'utf8');
      expect(html).not.toMatch(/https?:\/\//);
      for (const png of result.report.pngs) expect(existsSync(png)).toBe(true);
      expect(result.report.pngs.length).toBeGreaterThan(0);

      const file = JSON.parse(readFileSync(result.report.claimsJson, 'utf8')) as ClaimsFile;
      const expected = recipe.claims.map((claim) => claim.id);
      expect(file.claims.map((claim) => claim.id)).toEqual(expected);
      expect(expected.length).toBeGreaterThan(0);
      for (const claim of file.claims) {
        expect(['reproduced', 'not reproduced', 'inconclusive']).toContain(claim.verdict);
        // Every claim must find the measurements it needs: a missing one is a recipe bug.
        expect(claim.hasData, `${claim.id}: ${claim.reason}`).toBe(true);
        expect(html).toContain(claim.id);
      }
      // docs/paper.md §3 Init: every recipe's smoke run must show that training from scratch learns.
      const required = file.checks.filter((check) => check.required);
      expect(required.length).toBeGreaterThan(0);
      for (const check of required) expect(check.passed, `${check.name}: ${check.detail}`).toBe(true);

      // How far each pre-training fit its labels, per seed beside chance, and shown with every verdict.
      const upstream = pretrainings(recipe.plan('smoke', seedList(defaultSeedCount(recipe, 'smoke')), dataRoot));
      const measured = measuredKeys(readFileSync(result.report.measurementsCsv, 'utf8'));
      for (const spec of upstream) {
        for (const metric of [UPSTREAM_FIT_METRIC, UPSTREAM_CHANCE_METRIC])
          expect(measured, `${spec.condition} seed ${spec.seed}`).toContain(`${spec.condition},${spec.seed},${metric}`);
      }
      if (upstream.length > 0) {
        expect(html).toContain('Upstream fit');
        // transfer-map's claims pool grid points by their fit; beside each verdict stands the mean fit of the
        // pre-trainings pooled (or that none was), the other recipes show each pre-training's own fit.
        const fitShown =
          name === 'transfer-map'
            ? / pools \d+ grid points?, whose pre-trainings fit their random labels to \d|: no grid point with a measured fit/
            : / fit its \d+ classes to \d/;
        for (const claim of file.claims) expect(claim.measured, claim.id).toMatch(fitShown);
      }
    },
    240_000,
  );
});
