/**
 * An experiment folder as the dashboard shows it: its recipe and scale, how far its plan has come (with an
 * ETA), and the claims table with verdicts from the runs finished so far, computed by the recipe's own
 * analysis and the report's rules (the same code as `randlab report`), on the store opened read-only.
 */
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { readManifest, type Manifest } from '../experiments/experiment.js';
import { recordedSeconds } from '../experiments/pool.js';
import { SCALE_BUDGET_SECONDS, type RunSpec } from '../experiments/recipe.js';
import { getRecipe } from '../experiments/recipes/index.js';
import { evaluateClaims, type ClaimResult } from '../report/claims.js';
import { seedCost, secondsPerSeed } from '../report/seed-cost.js';
import type { RecipeCheck, RunRecord as ReportRun } from '../report/types.js';
import type { RunStatus, RunStore } from '../runs/store.js';
import type { Catalog, Source } from './catalog.js';

export type PlanStatus = RunStatus | 'pending';

export interface ExperimentProgress {
  readonly total: number;
  readonly counts: Partial<Record<PlanStatus, number>>;
  /** Seconds recorded by the finished runs. */
  readonly finishedSeconds: number;
  /** The runs left (not finished) times the mean time of a finished run; null before one has finished. */
  readonly etaSeconds: number | null;
}

export interface ExperimentSummary {
  readonly name: string;
  readonly recipe: string;
  readonly title: string;
  readonly paperReference: string;
  readonly scale: string;
  readonly seeds: readonly number[];
  readonly createdAt: string;
  readonly progress: ExperimentProgress;
}

export interface ExperimentDetails extends ExperimentSummary {
  readonly description: string;
  readonly runs: readonly {
    readonly id: string;
    readonly condition: string;
    readonly seed: number;
    readonly kind: RunSpec['kind'];
    readonly status: PlanStatus;
    readonly step: number | null;
    readonly seconds: number | null;
  }[];
  /** Verdicts from the runs finished so far; `claimsError` says why there are none when analysis failed. */
  readonly claims: readonly ClaimResult[];
  readonly checks: readonly RecipeCheck[];
  readonly claimsError: string | null;
  /** How many finished runs the verdicts are computed from. */
  readonly claimsFromFinished: number;
}

const plans = new Map<string, { key: string; plan: RunSpec[] }>();

/** The experiment's plan, kept until its manifest changes (more seeds). */
export function experimentPlan(dir: string): RunSpec[] {
  const manifest = readManifest(dir);
  const key = `${statSync(join(dir, 'experiment.json')).mtimeMs}`;
  const cached = plans.get(dir);
  if (cached?.key === key) return cached.plan;
  const plan = getRecipe(manifest.recipe).plan(manifest.scale, manifest.seeds, manifest.dataRoot);
  plans.set(dir, { key, plan });
  return plan;
}

export interface PlannedRunState {
  readonly spec: RunSpec;
  readonly status: PlanStatus;
  readonly step: number | null;
  readonly seconds: number | null;
}

/** Each planned run's status in the store (pending when absent), last step and recorded seconds. */
export function planStates(store: RunStore, plan: readonly RunSpec[]): PlannedRunState[] {
  return plan.map((spec) => {
    const run = store.getRun(spec.id);
    return {
      spec,
      status: run?.status ?? 'pending',
      step: run?.step ?? null,
      seconds: run ? (recordedSeconds(store, spec.id) ?? null) : null,
    };
  });
}

export function progressOf(states: readonly PlannedRunState[]): ExperimentProgress {
  const counts: Partial<Record<PlanStatus, number>> = {};
  for (const state of states) counts[state.status] = (counts[state.status] ?? 0) + 1;
  const timed = states.filter((s) => s.status === 'finished' && s.seconds !== null);
  const finishedSeconds = timed.reduce((sum, s) => sum + (s.seconds ?? 0), 0);
  const left = states.length - (counts.finished ?? 0);
  return {
    total: states.length,
    counts,
    finishedSeconds,
    etaSeconds: timed.length === 0 ? null : (left * finishedSeconds) / timed.length,
  };
}

function summaryOf(name: string, manifest: Manifest, states: readonly PlannedRunState[]): ExperimentSummary {
  const recipe = getRecipe(manifest.recipe);
  return {
    name,
    recipe: recipe.name,
    title: recipe.title,
    paperReference: recipe.paperReference,
    scale: manifest.scale,
    seeds: manifest.seeds,
    createdAt: manifest.createdAt,
    progress: progressOf(states),
  };
}

export function listExperiments(catalog: Catalog): ExperimentSummary[] {
  return catalog
    .experiments()
    .map(({ source, dir, manifest }) =>
      summaryOf(source.name, manifest, planStates(source.store, experimentPlan(dir))),
    );
}

/** Verdicts depend only on the finished runs: they are recomputed when that set changes. */
const claimCache = new Map<
  string,
  { key: string; value: Pick<ExperimentDetails, 'claims' | 'checks' | 'claimsError'> }
>();

async function claimsOf(
  source: Source,
  dir: string,
  manifest: Manifest,
  states: readonly PlannedRunState[],
): Promise<Pick<ExperimentDetails, 'claims' | 'checks' | 'claimsError'>> {
  const key = states
    .filter((s) => s.status === 'finished')
    .map((s) => s.spec.id)
    .join(',');
  const cached = claimCache.get(dir);
  if (cached?.key === key) return cached.value;
  const recipe = getRecipe(manifest.recipe);
  const plan = states.map((s) => s.spec);
  let value: Pick<ExperimentDetails, 'claims' | 'checks' | 'claimsError'>;
  try {
    const context = { store: source.store, dataRoot: manifest.dataRoot, experimentDir: dir, log: () => {} };
    const analysis = await recipe.analyze({ scale: manifest.scale, seeds: manifest.seeds, plan, context });
    const runs: ReportRun[] = states.map((s) => ({
      id: s.spec.id,
      condition: s.spec.condition,
      seed: s.spec.seed,
      status: s.status === 'finished' ? 'finished' : 'pending',
      ...(s.seconds !== null ? { seconds: s.seconds } : {}),
      settings: s.spec.settings,
    }));
    const perSeed = secondsPerSeed(runs, manifest.seeds.length);
    const seconds = SCALE_BUDGET_SECONDS[manifest.scale];
    const budget = seconds === undefined ? undefined : { scale: manifest.scale, seconds };
    const claims = evaluateClaims(recipe.name, recipe.claims, analysis.measurements).map((claim) => {
      const cost = seedCost(claim, perSeed, budget);
      return cost ? { ...claim, cost } : claim;
    });
    value = { claims, checks: analysis.checks, claimsError: null };
  } catch (error) {
    value = { claims: [], checks: [], claimsError: error instanceof Error ? error.message : String(error) };
  }
  claimCache.set(dir, { key, value });
  return value;
}

export async function experimentDetails(catalog: Catalog, name: string): Promise<ExperimentDetails | undefined> {
  const source = catalog.get(name);
  if (!source?.experimentDir) return undefined;
  const dir = source.experimentDir;
  const manifest = readManifest(dir);
  const states = planStates(source.store, experimentPlan(dir));
  return {
    ...summaryOf(name, manifest, states),
    description: getRecipe(manifest.recipe).description,
    runs: states.map((s) => ({
      id: s.spec.id,
      condition: s.spec.condition,
      seed: s.spec.seed,
      kind: s.spec.kind,
      status: s.status,
      step: s.step,
      seconds: s.seconds,
    })),
    ...(await claimsOf(source, dir, manifest, states)),
    claimsFromFinished: states.filter((s) => s.status === 'finished').length,
  };
}
