/**
 * An experiment on disk: one folder per (recipe, scale) holding its manifest, run store, logs and report.
 *
 *   <dir>/experiment.json   recipe, scale, seeds, data root (what a worker needs to re-plan)
 *   <dir>/experiment.lock   while `randlab experiment` runs: the pid, host and start time of its process
 *   <dir>/store/            the run store: index.sqlite and one folder per run
 *   <dir>/logs/             output of runs executed in child processes
 *   <dir>/report/           index.html, claims.json, measurements.csv, figures/*.png
 *
 * One process runs an experiment folder at a time (with its workers): it holds the folder's lock from
 * before it writes anything there until it has written the report (or its runs have stopped on its
 * `signal`), and releases it also on errors, SIGINT, SIGTERM and SIGHUP. Two processes in one folder
 * would each run the runs the other has not finished yet, see the other's runs held or half-created,
 * and each write a report from its own part.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { ReportData, RunRecord, SettingRow } from '../report/types.js';
import { writeReport, type WrittenReport } from '../report/write.js';
import { acquireDevice } from '../runs/device.js';
import { FileLock, LockHeldError } from '../runs/lock.js';
import { RunStore } from '../runs/store.js';
import type { Device } from '../tensor/index.js';
import { executeRun, runPlan, recordedSeconds, workerLauncher, type RunEnd, type RunOutcome } from './pool.js';
import {
  checkPlan,
  defaultSeedCount,
  parseScale,
  presetRows,
  SCALE_BUDGET_SECONDS,
  scalePresets,
  seedList,
  type Recipe,
  type RunContext,
  type RunSpec,
  type Scale,
} from './recipe.js';
import { getRecipe } from './recipes/index.js';

export interface Manifest {
  readonly recipe: string;
  readonly scale: Scale;
  readonly seeds: readonly number[];
  readonly dataRoot: string;
  readonly createdAt: string;
}

export interface OpenExperiment {
  readonly dir: string;
  readonly manifest: Manifest;
  readonly recipe: Recipe;
  readonly plan: RunSpec[];
  readonly context: RunContext;
  close(): void;
}

const MANIFEST = 'experiment.json';
const LOCK = 'experiment.lock';

export function defaultExperimentDir(recipe: string, scale: Scale): string {
  return resolve('experiments-out', `${recipe}-${scale}`);
}

export function readManifest(dir: string): Manifest {
  const path = join(dir, MANIFEST);
  if (!existsSync(path))
    throw new Error(
      `${dir} is not an experiment folder: ${MANIFEST} is missing (create one with \`randlab experiment <name>\`)`,
    );
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<Manifest>;
  if (
    typeof raw.recipe !== 'string' ||
    typeof raw.scale !== 'string' ||
    !Array.isArray(raw.seeds) ||
    typeof raw.dataRoot !== 'string'
  ) {
    throw new Error(`${path}: expected fields recipe, scale, seeds and dataRoot`);
  }
  return {
    recipe: raw.recipe,
    scale: parseScale(raw.scale),
    seeds: raw.seeds,
    dataRoot: raw.dataRoot,
    createdAt: raw.createdAt ?? '',
  };
}

function writeManifest(dir: string, manifest: Manifest): void {
  writeFileAtomic(join(dir, MANIFEST), [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, 'utf8')]);
}

export interface OpenOptions {
  /** The data root on this host (default the manifest's, where the experiment was created). */
  readonly dataRoot?: string;
  /** An index of the run store of this process's own (see RunStore.open), instead of the experiment's. */
  readonly indexPath?: string;
  /** Where its training runs compute (default cpu; see RunContext.device). */
  readonly device?: Device;
}

/** Opens an experiment folder (its store and plan) from its manifest. */
export function openExperiment(
  dir: string,
  log: (line: string) => void = () => {},
  options: OpenOptions = {},
): OpenExperiment {
  const absolute = resolve(dir);
  const manifest = readManifest(absolute);
  const recipe = getRecipe(manifest.recipe);
  const dataRoot = options.dataRoot ?? manifest.dataRoot;
  const store = RunStore.open(
    join(absolute, 'store'),
    options.indexPath !== undefined ? { indexPath: options.indexPath } : {},
  );
  const device = options.device ? { device: options.device } : {};
  const context: RunContext = { store, dataRoot, experimentDir: absolute, log, ...device };
  const plan = recipe.plan(manifest.scale, manifest.seeds, dataRoot);
  checkPlan(recipe.name, plan);
  return { dir: absolute, manifest, recipe, plan, context, close: () => store.close() };
}

/**
 * Executes run `id` of an open experiment here (see executeRun), stopping when `signal` aborts: what a
 * pool worker and a queue worker's child process do. With a private index (a queue worker on any host),
 * the run and the runs it needs are first imported into it from their folders.
 */
export async function executePlannedRun(
  experiment: OpenExperiment,
  id: string,
  signal: AbortSignal,
  options: { readonly importFolders?: boolean; readonly onProgress?: RunContext['onProgress'] } = {},
): Promise<RunEnd> {
  const spec = experiment.plan.find((s) => s.id === id);
  if (!spec) throw new Error(`run ${id} is not in the plan of ${experiment.manifest.recipe} (${experiment.dir})`);
  if (options.importFolders)
    for (const needed of [spec.id, ...spec.dependsOn]) experiment.context.store.importRun(needed);
  if (signal.aborted) return 'stopped'; // asked while this process loaded: nothing started
  const onProgress = options.onProgress ? { onProgress: options.onProgress } : {};
  return executeRun(spec, { ...experiment.context, signal, ...onProgress });
}

export interface RunExperimentOptions {
  readonly recipe: string;
  readonly scale: Scale;
  /** Number of seeds (first..first+n−1); default the recipe's for the scale. */
  readonly seeds?: number;
  /** The first seed (default 0): repetitions of an experiment with other seeds start further on. */
  readonly firstSeed?: number;
  readonly jobs?: number;
  /** Experiment folder; default experiments-out/<recipe>-<scale>. */
  readonly out?: string;
  readonly dataRoot: string;
  readonly log?: (line: string) => void;
  /**
   * Where the training runs compute (default cpu), acquired before anything is written: with `webgpu`
   * and no adapter, runExperiment throws and creates nothing. Not part of the runs' identity.
   */
  readonly device?: Device;
  /**
   * Stops the experiment: no run is started any more, the runs in progress stop at a checkpoint (see
   * pool.ts), and runExperiment rejects with ExperimentStoppedError without writing the report, unless
   * every run had finished by then.
   */
  readonly signal?: AbortSignal;
}

export interface ExperimentResult {
  readonly dir: string;
  readonly outcomes: ReadonlyMap<string, RunOutcome>;
  readonly report: WrittenReport;
  readonly seconds: number;
}

/** The experiment's signal stopped it before every run had finished: the runs left are resumable. */
export class ExperimentStoppedError extends Error {
  override readonly name = 'ExperimentStoppedError';

  constructor(
    readonly dir: string,
    readonly outcomes: ReadonlyMap<string, RunOutcome>,
  ) {
    const stopped = [...outcomes.values()].filter((o) => o.status === 'stopped').length;
    const pending = [...outcomes.values()].filter((o) => o.status === 'pending').length;
    super(
      `experiment in ${dir} stopped: ${stopped} run(s) stopped at a checkpoint, ${pending} not started; no report written`,
    );
  }
}

/**
 * Takes the experiment folder `dir` (created if missing) for this process until the lock is released
 * or the process ends, or throws LockHeldError naming the process that runs an experiment there.
 */
export function lockExperimentFolder(dir: string): FileLock {
  mkdirSync(dir, { recursive: true });
  return FileLock.acquire(join(dir, LOCK), {
    subject: `experiment folder ${dir}`,
    activity: 'is in use',
  }).releaseOnExit();
}

/** The recipe (checked to run at the scale on the data), folder and seeds an experiment's options name. */
export function resolveExperiment(
  options: Pick<RunExperimentOptions, 'recipe' | 'scale' | 'seeds' | 'firstSeed' | 'out' | 'dataRoot'>,
): { recipe: Recipe; dir: string; seeds: number[] } {
  const recipe = getRecipe(options.recipe);
  scalePresets(recipe, options.scale);
  const availability = recipe.available(options.dataRoot);
  if (!availability.ok) throw new Error(`${recipe.name} cannot run: ${availability.reason}`);
  const dir = resolve(options.out ?? defaultExperimentDir(recipe.name, options.scale));
  const seeds = seedList(options.seeds ?? defaultSeedCount(recipe, options.scale), options.firstSeed);
  return { recipe, dir, seeds };
}

/** Plans, runs (skipping finished runs) and reports one experiment, holding its folder's lock throughout. */
export async function runExperiment(options: RunExperimentOptions): Promise<ExperimentResult> {
  const began = performance.now();
  const { recipe, dir, seeds } = resolveExperiment(options);
  await acquireDevice(options.device ?? 'cpu');
  const lock = lockExperimentFolder(dir);
  try {
    const { outcomes, report } = await runInFolder(dir, recipe, seeds, options);
    return { dir, outcomes, report, seconds: (performance.now() - began) / 1000 };
  } finally {
    lock.release();
  }
}

/**
 * Writes the manifest of `recipe` at `scale` in folder `dir` (held by this process), or refuses a folder
 * that holds another experiment.
 */
export function writeExperimentManifest(
  dir: string,
  recipe: Recipe,
  scale: Scale,
  seeds: readonly number[],
  dataRoot: string,
): void {
  const existing = existsSync(join(dir, MANIFEST)) ? readManifest(dir) : null;
  if (existing && (existing.recipe !== recipe.name || existing.scale !== scale)) {
    throw new Error(
      `${dir} holds experiment ${existing.recipe} at scale ${existing.scale}; choose another --out for ${recipe.name} at scale ${scale}`,
    );
  }
  // The seeds may change between calls (more seeds reuse the runs of the first ones); the creation time stays.
  writeManifest(dir, {
    recipe: recipe.name,
    scale,
    seeds,
    dataRoot: resolve(dataRoot),
    createdAt: existing?.createdAt || new Date().toISOString(),
  });
}

/** The manifest, the runs and the report, in a folder this process holds the lock of. */
async function runInFolder(
  dir: string,
  recipe: Recipe,
  seeds: number[],
  options: RunExperimentOptions,
): Promise<Pick<ExperimentResult, 'outcomes' | 'report'>> {
  const log = options.log ?? (() => {});
  writeExperimentManifest(dir, recipe, options.scale, seeds, options.dataRoot);
  const device = options.device ?? 'cpu';
  const experiment = openExperiment(dir, log, { device });
  try {
    experiment.context.store.recordFinishedRunsInFolders();
    log(
      `${recipe.name} at scale ${options.scale}: ${experiment.plan.length} runs, seeds ${seeds.join(', ')}, ` +
        `training on ${device}, folder ${dir}`,
    );
    const jobs = options.jobs ?? 1;
    const { signal } = options;
    const launcher = jobs > 1 ? workerLauncher(dir, jobs, device) : undefined;
    const outcomes = await runPlan(experiment.plan, {
      jobs,
      context: signal ? { ...experiment.context, signal } : experiment.context,
      ...(launcher ? { launch: launcher.launch } : {}),
    }).finally(() => launcher?.close());
    // A report now would count the stopped runs as not finished; the next call resumes them and writes it.
    if ([...outcomes.values()].some((o) => o.status === 'stopped' || o.status === 'pending'))
      throw new ExperimentStoppedError(dir, outcomes);
    const report = await writeExperimentReport(experiment);
    return { outcomes, report };
  } finally {
    experiment.close();
  }
}

/**
 * The report of an experiment folder, from whatever runs have finished. The index is first brought up to
 * date from the run folders, which queue workers write without touching it (src/runs/folder-record.ts): a
 * report made at any time counts every run that has finished. When another process owns the folder (a
 * coordinator or a local experiment running), its index is left to it and the report reads an index of
 * its own, rebuilt from the folders in a temporary file.
 */
export async function reportExperiment(dir: string, log: (line: string) => void = () => {}): Promise<WrittenReport> {
  readManifest(resolve(dir)); // not an experiment folder: said before anything is written there
  let lock: FileLock | undefined;
  try {
    lock = lockExperimentFolder(dir);
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
  }
  const privateIndex = lock ? undefined : mkdtempSync(join(tmpdir(), 'randlab-report-'));
  try {
    const indexPath = privateIndex ? join(privateIndex, 'index.sqlite') : undefined;
    // The runs an older randlab finished have no folder record: the folders alone would leave them out.
    if (indexPath) RunStore.snapshotIndex(join(resolve(dir), 'store'), indexPath);
    const experiment = openExperiment(dir, log, indexPath ? { indexPath } : {});
    try {
      if (lock) experiment.context.store.recordFinishedRunsInFolders();
      experiment.context.store.reindex();
      return await writeExperimentReport(experiment);
    } finally {
      experiment.close();
    }
  } finally {
    lock?.release();
    if (privateIndex) rmSync(privateIndex, { recursive: true, force: true });
  }
}

export async function writeExperimentReport(experiment: OpenExperiment): Promise<WrittenReport> {
  const { recipe, manifest, plan, context } = experiment;
  const analysis = await recipe.analyze({ scale: manifest.scale, seeds: manifest.seeds, plan, context });
  const runs = plan.map((spec) => runRecord(spec, context.store));
  const failed = runs.filter((run) => run.status !== 'finished').length;
  const data: ReportData = {
    experiment: recipe.name,
    title: recipe.title,
    paperReference: recipe.paperReference,
    description: recipe.description,
    scale: manifest.scale,
    seeds: manifest.seeds,
    ...scaleBudget(manifest.scale),
    settings: [
      seedsRow(recipe, manifest.scale, manifest.seeds.length),
      ...presetRows(scalePresets(recipe, manifest.scale)),
    ],
    runs,
    claims: recipe.claims,
    measurements: analysis.measurements,
    figures: analysis.figures,
    tables: analysis.tables,
    checks: analysis.checks,
    notes: [
      ...(failed > 0
        ? [`${failed} of ${runs.length} runs did not finish; the analysis uses the finished ones only.`]
        : []),
      ...analysis.notes,
    ],
  };
  return writeReport(data, join(experiment.dir, 'report'));
}

function scaleBudget(scale: Scale): Pick<ReportData, 'budget'> {
  const seconds = SCALE_BUDGET_SECONDS[scale];
  return seconds === undefined ? {} : { budget: { scale, seconds } };
}

/** The number of seeds as a setting, with the recipe's reason when it is the scale's default. */
function seedsRow(recipe: Recipe, scale: Scale, count: number): SettingRow {
  const isDefault = count === defaultSeedCount(recipe, scale);
  const why = isDefault
    ? (recipe.seedsWhy?.[scale] ?? `the recipe's default at the ${scale} scale`)
    : `chosen with --seeds (the ${scale} scale's default is ${defaultSeedCount(recipe, scale)})`;
  return { name: 'seeds', value: String(count), why };
}

function runRecord(spec: RunSpec, store: RunStore): RunRecord {
  const record = store.getRun(spec.id);
  const seconds = recordedSeconds(store, spec.id);
  // 'running' (killed) and 'stopped' runs are resumed by the next `randlab experiment`: not failed.
  const resumable = record?.status === 'running' || record?.status === 'stopped';
  const status = record?.status === 'finished' ? 'finished' : record && !resumable ? 'failed' : 'pending';
  return {
    id: spec.id,
    condition: spec.condition,
    seed: spec.seed,
    status,
    ...(seconds !== undefined ? { seconds } : {}),
    ...(record?.message ? { error: record.message } : {}),
    settings: spec.settings,
  };
}
