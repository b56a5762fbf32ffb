/**
 * Writes down what every experiment recipe would run and what its claims would decide, as plain files,
 * so that a refactor of the recipes, their presets or the claims can be checked with `diff -r`:
 *
 *   RANDLAB_DATA=/work/shared/data npx tsx tools/dump-recipes.ts /tmp/before [--smoke]
 *   … change the code …
 *   RANDLAB_DATA=/work/shared/data npx tsx tools/dump-recipes.ts /tmp/after [--smoke]
 *   diff -r /tmp/before /tmp/after        # must print nothing
 *
 * OUT/list.txt                            `randlab experiment --list`
 * OUT/<recipe>/recipe.json                name, title, reference, description, default seeds, scales, availability
 * OUT/<recipe>/<scale>/settings.json      the preset rows the report shows (value and why)
 * OUT/<recipe>/<scale>/plan.json          every run with the default seeds, in plan order: id (a hash of everything
 *                                         that determines its result, initialisers and probes included), condition,
 *                                         seed, kind, dependencies, the report's settings and the full run config
 * OUT/<recipe>/<scale>/report/            index.html and claims.json of the report over an empty run store (the
 *                                         settings and run tables, every claim without data); timestamps blanked
 * OUT/<recipe>/claims-synthetic.json      every claim's result on deterministic synthetic measurements of the
 *                                         operands its rule reads, in scenarios that reach each verdict
 * OUT/<recipe>/smoke-run/                 with --smoke, for a recipe whose data is here: claims.json,
 *                                         measurements.csv and index.html of a real smoke-scale run, timestamps
 *                                         and run times blanked
 *
 * Keys of JSON objects are sorted, so the files differ only when a value does.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { listRecipes } from '../src/cli/commands/experiment.js';
import { resolveDataRoot } from '../src/data/paths.js';
import { reportExperiment, runExperiment } from '../src/experiments/experiment.js';
import {
  defaultSeedCount,
  presetRows,
  SCALES,
  seedList,
  type Recipe,
  type RunSpec,
  type Scale,
} from '../src/experiments/recipe.js';
import { RECIPES } from '../src/experiments/recipes/index.js';
import { evaluateClaims, type Claim, type ClaimResult } from '../src/report/claims.js';
import { MeasurementTable, type Operand } from '../src/report/rules.js';
import type { Measurement } from '../src/report/types.js';

// The two places that know where a recipe's claims live: change these when that moves.
const claimsOf = (recipe: Recipe): readonly Claim[] => recipe.claims;
const evaluate = (recipe: Recipe, measurements: readonly Measurement[]): ClaimResult[] =>
  evaluateClaims(recipe.name, recipe.claims, measurements);

function sortKeys(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(sortKeys);
  return Object.fromEntries(
    Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => [k, sortKeys(v)]),
  );
}

function writeJson(path: string, value: unknown): void {
  writeText(path, `${JSON.stringify(sortKeys(value), null, 2)}\n`);
}

function writeText(path: string, text: string): void {
  mkdirSync(resolve(path, '..'), { recursive: true });
  writeFileSync(path, text);
}

const scalesOf = (recipe: Recipe): Scale[] => SCALES.filter((scale) => recipe.scales[scale]);

function planRecord(spec: RunSpec): unknown {
  const { id, condition, seed, kind, dependsOn, settings, config } = spec;
  return { id, condition, seed, kind, dependsOn, settings, config: config ?? null };
}

/** The report's variable parts: when it was written and how long each run took. */
function blankTimes(text: string): string {
  return text
    .replace(/"generatedAt": "[^"]*"/g, '"generatedAt": "<time>"')
    .replace(/<td>Generated<\/td><td>[^<]*<\/td>/g, '<td>Generated</td><td><time></td>')
    .replace(
      /(<td>(?:finished|failed|pending)(?:<div class="error">[^<]*<\/div>)?<\/td><td class="num">)[^<]*(<\/td>)/g,
      '$1<seconds>$2',
    );
}

function copyReport(reportDir: string, out: string, files: readonly string[]): void {
  for (const file of files) writeText(join(out, file), blankTimes(readFileSync(join(reportDir, file), 'utf8')));
}

/** The report of an experiment folder whose store holds no run: settings, run table, claims without data. */
async function emptyReport(recipe: Recipe, scale: Scale, seeds: number[], dataRoot: string, out: string) {
  const dir = mkdtempSync(join(tmpdir(), 'randlab-dump-'));
  try {
    const manifest = { recipe: recipe.name, scale, seeds, dataRoot, createdAt: '' };
    writeText(join(dir, 'experiment.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    const report = await reportExperiment(dir);
    copyReport(report.dir, out, ['index.html', 'claims.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A table that notes every operand a rule asks for. */
class RecordingTable extends MeasurementTable {
  readonly asked = new Map<string, Operand>();

  override bySeed(operand: Operand): ReadonlyMap<number, number> {
    this.asked.set(`${operand.condition}\u0000${operand.metric}`, operand);
    return super.bySeed(operand);
  }
}

/** The operands the recipe's claims read, in the order the rules first ask for them. */
function claimOperands(recipe: Recipe): Operand[] {
  const table = new RecordingTable([]);
  for (const claim of claimsOf(recipe)) claim.rule.evaluate(table);
  return [...table.asked.values()];
}

/** A deterministic number in [0, 1) from its parts. */
function uniform(...parts: (string | number)[]): number {
  return createHash('sha256').update(parts.join('\u0000')).digest().readUInt32BE(0) / 2 ** 32;
}

interface Scenario {
  readonly name: string;
  readonly seeds: readonly number[];
  /** The value of an operand for a seed, or null for none. */
  value(operand: Operand, seed: number, index: number): number | null;
}

const SEEDS_3 = [0, 1, 2];
const key = (operand: Operand) => `${operand.condition}/${operand.metric}`;

/**
 * Scenarios that between them drive every rule to each verdict: no data, one seed, two seeds, tight values
 * on either side of every threshold (salted, so directions flip between scenarios), noisy values, equal
 * values, seeds that do not pair up, and operands missing.
 */
function scenarios(): Scenario[] {
  const tight = (salt: string, seeds: readonly number[]): Scenario => ({
    name: `tight-${salt}-n${seeds.length}`,
    seeds,
    value: (operand, seed) => -1 + 5 * uniform(salt, key(operand)) + 0.002 * uniform(salt, key(operand), seed),
  });
  return [
    { name: 'none', seeds: SEEDS_3, value: () => null },
    { name: 'one-seed', seeds: [0], value: (operand) => uniform('one', key(operand)) },
    { name: 'two-seeds', seeds: [0, 1], value: (operand, seed) => uniform('two', key(operand), seed) },
    ...['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'j', 'k', 'l', 'm'].map((salt) => tight(salt, SEEDS_3)),
    tight('i', [0, 1, 2, 3, 4]),
    {
      name: 'small-positive',
      seeds: SEEDS_3,
      value: (operand, seed) => 0.05 * uniform('small', key(operand)) + 0.001 * uniform('small', key(operand), seed),
    },
    { name: 'noisy', seeds: [0, 1, 2, 3], value: (operand, seed) => 2 * uniform('noisy', key(operand), seed) - 1 },
    {
      name: 'equal',
      seeds: [0, 1, 2, 3],
      value: (operand, seed) => 0.5 + 0.001 * uniform('equal', key(operand), seed),
    },
    {
      name: 'unpaired-seeds',
      seeds: [0, 1, 2, 3, 4, 5],
      value: (operand, seed, index) => ((seed + index) % 2 === 0 ? uniform('unpaired', key(operand), seed) : null),
    },
    {
      name: 'half-missing',
      seeds: SEEDS_3,
      value: (operand, seed, index) => (index % 2 === 0 ? uniform('half', key(operand), seed) : null),
    },
  ];
}

function syntheticMeasurements(operands: readonly Operand[], scenario: Scenario): Measurement[] {
  return operands.flatMap((operand, index) =>
    scenario.seeds.flatMap((seed) => {
      const value = scenario.value(operand, seed, index);
      return value === null ? [] : [{ condition: operand.condition, seed, metric: operand.metric, value }];
    }),
  );
}

/** Every claim's results over the scenarios, and which verdicts each claim reached. */
function syntheticClaims(recipe: Recipe): { results: unknown; reached: Map<string, Set<string>> } {
  const operands = claimOperands(recipe);
  const reached = new Map<string, Set<string>>(claimsOf(recipe).map((claim) => [claim.id, new Set<string>()]));
  const results = scenarios().map((scenario) => {
    const claims = evaluate(recipe, syntheticMeasurements(operands, scenario));
    for (const claim of claims) reached.get(claim.id)!.add(claim.verdict);
    return { scenario: scenario.name, claims };
  });
  return { results: { operands, results }, reached };
}

async function smokeRun(recipe: Recipe, dataRoot: string, out: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'randlab-dump-smoke-'));
  try {
    const result = await runExperiment({ recipe: recipe.name, scale: 'smoke', dataRoot, out: dir });
    copyReport(result.report.dir, out, ['claims.json', 'measurements.csv', 'index.html']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const out = args.find((arg) => !arg.startsWith('--'));
  if (!out) throw new Error('usage: npx tsx tools/dump-recipes.ts OUT_DIR [--smoke]');
  const withSmoke = args.includes('--smoke');
  const dataRoot = resolveDataRoot();
  rmSync(out, { recursive: true, force: true });
  writeText(join(out, 'list.txt'), listRecipes());
  const missing: string[] = [];
  for (const recipe of RECIPES) {
    const base = join(out, recipe.name);
    const availability = recipe.available(dataRoot);
    writeJson(join(base, 'recipe.json'), {
      name: recipe.name,
      title: recipe.title,
      paperReference: recipe.paperReference,
      description: recipe.description,
      defaultSeeds: recipe.defaultSeeds,
      scales: scalesOf(recipe),
      available: availability.ok,
    });
    for (const scale of scalesOf(recipe)) {
      const seeds = seedList(defaultSeedCount(recipe, scale));
      writeJson(join(base, scale, 'settings.json'), presetRows(recipe.scales[scale]!));
      writeJson(join(base, scale, 'plan.json'), recipe.plan(scale, seeds, dataRoot).map(planRecord));
      await emptyReport(recipe, scale, seeds, dataRoot, join(base, scale, 'report'));
    }
    const { results, reached } = syntheticClaims(recipe);
    writeJson(join(base, 'claims-synthetic.json'), results);
    for (const [id, verdicts] of reached) {
      if (verdicts.size < 3) missing.push(`${id} reached only ${[...verdicts].join(', ')}`);
    }
    if (withSmoke && availability.ok) await smokeRun(recipe, dataRoot, join(base, 'smoke-run'));
    process.stdout.write(`${recipe.name}: ${scalesOf(recipe).join(', ')}${withSmoke ? ' + smoke run' : ''}\n`);
  }
  // Not part of the dump: whether the synthetic scenarios reached every verdict of every claim.
  process.stdout.write(
    missing.length === 0
      ? 'every claim reached all three verdicts on the synthetic measurements\n'
      : `claims that did not reach every verdict:\n  ${missing.join('\n  ')}\n`,
  );
}

await main();
