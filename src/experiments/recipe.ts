/**
 * What an experiment recipe is: a named plan of independent runs per scale, an analysis that turns the
 * finished runs into report data (measurements, figures, tables), and the claims of docs/paper.md that
 * those measurements decide.
 *
 * A run's id is derived from its settings (condition, seed and a hash of everything that determines
 * its result), so re-running an experiment finds its finished runs in the store and skips them, and an
 * interrupted experiment resumes where it stopped. Changing a setting changes the id: stale results are
 * never reused for new settings.
 */
import { createHash } from 'node:crypto';
import type { RunConfigInput } from '../runs/config.js';
import type { RunStore } from '../runs/store.js';
import type { ProgressEvent } from '../runs/trainer.js';
import type { Claim } from '../report/claims.js';
import type { ReportData, SettingRow } from '../report/types.js';
import type { Device } from '../tensor/index.js';

/**
 * smoke: every recipe end to end on a few hundred images in seconds (the test suite runs it);
 * demo: between smoke and cpu, only for the recipes `npm start` runs (fig5-controls, fig20-gaussian-fc);
 * cpu: CIFAR-10 subsets sized so a recipe finishes within 2 h on 2 cores; paper: the paper's settings.
 */
export const SCALES = ['smoke', 'demo', 'cpu', 'paper'] as const;
export type Scale = (typeof SCALES)[number];
/** The scales every recipe has. */
export type CoreScale = Exclude<Scale, 'demo'>;

/**
 * The time each scale's recipes are sized to, one recipe on 2 cores: the demo's 4 minutes (`npm start`) and
 * the cpu scale's 2 hours. Smoke runs check the pipeline and the paper scale is sized by the paper, so they
 * have none. A report costs the seeds an inconclusive claim needs against its scale's budget.
 */
export const SCALE_BUDGET_SECONDS: Readonly<Partial<Record<Scale, number>>> = { demo: 4 * 60, cpu: 2 * 3600 };

export function parseScale(text: string): Scale {
  if ((SCALES as readonly string[]).includes(text)) return text as Scale;
  throw new Error(`unknown scale '${text}' (expected ${SCALES.join(', ')})`);
}

/** Everything a run needs from its surroundings. */
export interface RunContext {
  /** The experiment's run store (every run of the experiment lives here). */
  readonly store: RunStore;
  /** Root of the datasets (`--data-dir`, `$RANDLAB_DATA`, else ./data). */
  readonly dataRoot: string;
  /** The experiment's folder. */
  readonly experimentDir: string;
  /** Progress lines for the user (one per event, no trailing newline). */
  readonly log: (line: string) => void;
  /**
   * Asks the run to stop: a training run stops after its step with a checkpoint and is marked
   * `stopped`, to be resumed by the next call (see pool.ts).
   */
  readonly signal?: AbortSignal;
  /** Hears a training run's progress events (a queue worker forwards them as its job's progress). */
  readonly onProgress?: (event: ProgressEvent) => void;
  /**
   * Where training runs compute (default cpu). Not part of a run's identity: a run is the same run on
   * either device, so an experiment begun on one continues on the other. Compute runs stay on the host.
   */
  readonly device?: Device;
}

export type SettingValue = string | number | boolean;

/** One unit of work of an experiment: a training run or a computation over finished runs. */
export interface RunSpec {
  readonly id: string;
  /** Condition the run belongs to (e.g. `scratch`, `pretrained`, `upstream`). */
  readonly condition: string;
  readonly seed: number;
  readonly kind: 'train' | 'compute';
  /** Runs that must finish before this one starts. */
  readonly dependsOn: readonly string[];
  /** The settings that determine the result, flattened for the report's run table. */
  readonly settings: Readonly<Record<string, SettingValue>>;
  /** Training runs: the run config (without its name), e.g. to count steps before running. */
  readonly config?: RunConfigInput;
  /** Does the work; the run's record in the store ends `finished` or the promise rejects. */
  execute(context: RunContext): Promise<void>;
}

/** One value of a scale preset, with why it was chosen (shown in the report and docs). */
export interface Preset<T> {
  readonly value: T;
  readonly why: string;
}

export type PresetTable<S> = { readonly [K in keyof S]: Preset<S[K]> };

/** The plain settings of a preset table. */
export function presetValues<S>(table: PresetTable<S>): S {
  return Object.fromEntries(
    Object.entries(table).map(([key, preset]) => [key, (preset as Preset<unknown>).value]),
  ) as S;
}

/** The preset table as report rows. */
export function presetRows<S>(table: PresetTable<S>): SettingRow[] {
  return Object.entries(table).map(([name, preset]) => {
    const { value, why } = preset as Preset<unknown>;
    return { name, value: typeof value === 'string' ? value : JSON.stringify(value), why };
  });
}

/** What a recipe's analysis receives. */
export interface AnalysisInput {
  readonly scale: Scale;
  readonly seeds: readonly number[];
  readonly plan: readonly RunSpec[];
  readonly context: RunContext;
}

/** The report data a recipe computes, before the framework adds the run table and seeds. */
export type RecipeAnalysis = Pick<ReportData, 'measurements' | 'figures' | 'tables' | 'checks' | 'notes'>;

export interface Recipe<S = unknown> {
  readonly name: string;
  readonly title: string;
  /** Where docs/paper.md describes it, e.g. `§3 Fig. 5`. */
  readonly paperReference: string;
  readonly description: string;
  /** Seeds used when `--seeds` is not given, per scale. */
  readonly defaultSeeds: Readonly<Record<CoreScale, number>> & { readonly demo?: number };
  /** Why a scale has its default number of seeds (the report's `seeds` setting), where the recipe says. */
  readonly seedsWhy?: Readonly<Partial<Record<Scale, string>>>;
  /** The commented settings of each scale (demo only where `npm start` uses the recipe). */
  readonly scales: Readonly<Record<CoreScale, PresetTable<S>>> & { readonly demo?: PresetTable<S> };
  /** Whether the recipe can run here; a reason when it cannot (e.g. CIFAR-10 missing). */
  available(dataRoot: string): { ok: true } | { ok: false; reason: string };
  /** The runs of the experiment. Deterministic: the same scale and seeds give the same ids. */
  plan(scale: Scale, seeds: readonly number[], dataRoot: string): RunSpec[];
  analyze(input: AnalysisInput): Promise<RecipeAnalysis>;
  /** The claims its measurements decide, in report order; each rule reads conditions and metrics `analyze` produces. */
  readonly claims: readonly Claim[];
}

/** The preset table of a recipe at a scale, or an error naming the scales it has. */
export function scalePresets<S>(recipe: Pick<Recipe<S>, 'name' | 'scales'>, scale: Scale): PresetTable<S> {
  const table = recipe.scales[scale];
  if (!table)
    throw new Error(
      `${recipe.name} has no '${scale}' scale (it has ${SCALES.filter((s) => recipe.scales[s]).join(', ')})`,
    );
  return table;
}

/** The plain settings of a recipe at a scale. */
export function scaleSettings<S>(recipe: Pick<Recipe<S>, 'name' | 'scales'>, scale: Scale): S {
  return presetValues(scalePresets(recipe, scale));
}

/** Seeds of a recipe at a scale when `--seeds` is not given. */
export function defaultSeedCount(recipe: Pick<Recipe, 'name' | 'defaultSeeds' | 'scales'>, scale: Scale): number {
  scalePresets(recipe, scale);
  return recipe.defaultSeeds[scale] ?? recipe.defaultSeeds.smoke;
}

/** Canonical JSON: object keys sorted, so equal settings give equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** A store-safe slug of a condition name: `k=2` → `k2`, `x1/pretrained` → `x1-pretrained`. */
export function slug(text: string): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return cleaned || 'run';
}

/** `<condition-slug>-s<seed>-<hash8>`: stable, readable, and new whenever a setting changes. */
export function runId(condition: string, seed: number, determinants: unknown): string {
  const hash = createHash('sha256').update(canonicalJson(determinants)).digest('hex').slice(0, 10);
  return `${slug(condition).slice(0, 80)}-s${seed}-${hash}`;
}

/** Seeds 0..n−1. */
/** `count` consecutive seeds from `first` (default 0): a repetition of an experiment takes the next ones. */
export function seedList(count: number, first = 0): number[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`--seeds must be a positive integer, got ${count}`);
  if (!Number.isSafeInteger(first) || first < 0)
    throw new Error(`--first-seed must be a non-negative integer, got ${first}`);
  return Array.from({ length: count }, (_, i) => first + i);
}

/** Checks that a plan is well formed: unique ids, dependencies inside the plan and listed first. */
export function checkPlan(recipe: string, plan: readonly RunSpec[]): void {
  const seen = new Set<string>();
  for (const spec of plan) {
    if (seen.has(spec.id)) throw new Error(`${recipe}: run id '${spec.id}' appears twice in the plan`);
    for (const dep of spec.dependsOn) {
      if (!seen.has(dep))
        throw new Error(`${recipe}: run '${spec.id}' depends on '${dep}', which is not planned before it`);
    }
    seen.add(spec.id);
  }
}
