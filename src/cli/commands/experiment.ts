/**
 * `randlab experiment <name> --scale smoke|demo|cpu|paper [--seeds N] [--jobs N] [--out DIR] [--device D]`: runs one
 * recipe of docs/paper.md §3 (skipping finished runs, resuming interrupted ones) and writes its report.
 * `randlab experiment --list` lists the recipes and their scales. It ends non-zero when a run did not
 * finish (failed, blocked, or held by another process) or when another process runs the same folder.
 * The first SIGINT/SIGTERM stops it: the runs in progress stop at a checkpoint, no report is written, one
 * line says how to continue, and it ends by that signal; a second one ends it (and its workers) at once.
 *
 * With `--queue URL --storage DIR` the runs go to a Redis queue instead, for `randlab worker`s on any hosts
 * (src/experiments/queue/, docs/distributed.md); `--detach` enqueues and returns, `--retry-failed` puts the
 * runs that failed their attempts back in the queue. `randlab experiment status DIR` says where each run of an
 * experiment folder stands, at any time.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataRoot } from '../../data/paths.js';
import {
  defaultExperimentDir,
  ExperimentStoppedError,
  runExperiment,
  type ExperimentResult,
  type RunExperimentOptions,
} from '../../experiments/experiment.js';
import type { OutcomeStatus } from '../../experiments/pool.js';
import { defaultSeedCount, parseScale, seedList, SCALES, type Scale } from '../../experiments/recipe.js';
import { getRecipe, RECIPES } from '../../experiments/recipes/index.js';
import { parseQueueUrl, resolveQueueUrl } from '../../experiments/queue/connection.js';
import { runQueuedExperiment } from '../../experiments/queue/coordinator.js';
import { experimentStatus, formatStatus } from '../../experiments/status.js';
import { findingSentence } from '../../report/findings.js';
import type { Device } from '../../tensor/index.js';
import { deviceOption } from '../device-option.js';
import { experimentProgressBar } from '../experiment-progress.js';
import { endBySignal, stopOnSignal } from '../stop-on-signal.js';

interface ExperimentCommandOptions {
  scale: string;
  queue?: string;
  storage?: string;
  detach?: boolean;
  retryFailed?: boolean;
  attempts: string;
  interval: string;
  seeds?: string;
  jobs: string;
  out?: string;
  dataDir?: string;
  list?: boolean;
  plan?: boolean;
  quiet?: boolean;
  device?: Device;
}

export function positiveInteger(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

export function listRecipes(): string {
  return RECIPES.map((recipe) => {
    const scales = SCALES.filter((scale) => recipe.scales[scale]).join(', ');
    return `${recipe.name}  (${recipe.paperReference}; scales ${scales})\n  ${recipe.title}\n`;
  }).join('');
}

/** The runs an experiment would execute, one line each, without running anything. */
export function describePlan(name: string, scale: Scale, seeds: number | undefined, dataRoot: string): string {
  const recipe = getRecipe(name);
  const plan = recipe.plan(scale, seedList(seeds ?? defaultSeedCount(recipe, scale)), dataRoot);
  const lines = plan.map((spec) => {
    const settings = Object.entries(spec.settings)
      .map(([key, value]) => `${key}=${String(value)}`)
      .join(' ');
    return `${spec.id}  ${spec.kind}  ${spec.condition}  seed ${spec.seed}${spec.dependsOn.length ? `  after ${spec.dependsOn.length} run(s)` : ''}\n    ${settings}`;
  });
  return `${recipe.name} at scale ${scale}: ${plan.length} runs\n${lines.join('\n')}\n`;
}

const UNFINISHED: ReadonlySet<OutcomeStatus> = new Set(['failed', 'blocked', 'held']);

/** One line per run that did not finish, what was found (one sentence per claim) and the report's path. */
export function summarizeResult(result: ExperimentResult): string {
  const lines: string[] = [];
  const counts = new Map<string, number>();
  for (const outcome of result.outcomes.values()) counts.set(outcome.status, (counts.get(outcome.status) ?? 0) + 1);
  lines.push(`runs: ${[...counts].map(([status, n]) => `${n} ${status}`).join(', ')} (${result.seconds.toFixed(1)} s)`);
  for (const outcome of result.outcomes.values()) {
    if (UNFINISHED.has(outcome.status)) lines.push(`  ${outcome.status} ${outcome.id}: ${outcome.error ?? ''}`);
  }
  for (const claim of result.report.claims) lines.push(`  ${claim.id}: ${findingSentence(claim)}`);
  lines.push(`report: ${result.report.html}`);
  return `${lines.join('\n')}\n`;
}

/** `text` as one shell word. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}

/**
 * Runs an experiment that the first SIGINT/SIGTERM stops at its runs' next step: then it prints what
 * stopped and `continueWith(dir)`, the command that continues it, ends the process by that signal and
 * resolves to undefined. `randlab experiment` and `randlab demo` run through it.
 */
export async function runUntilSignal(
  options: Omit<RunExperimentOptions, 'signal'>,
  continueWith: (dir: string) => readonly string[],
): Promise<ExperimentResult | undefined> {
  const stop = stopOnSignal((signal) =>
    process.stderr.write(
      `randlab: ${signal}: stopping the runs in progress at their next step (send it again to end at once)\n`,
    ),
  );
  try {
    return await runExperiment({ ...options, signal: stop.signal });
  } catch (error) {
    if (!(error instanceof ExperimentStoppedError) || stop.received === null) throw error;
    process.stdout.write(stoppedLine(error, stop.received, continueWith(error.dir)));
  } finally {
    stop.dispose();
  }
  endBySignal(stop.received); // stopped (any other error was thrown)
  return undefined;
}

/** The line printed after a stop: what stopped, and the command that continues the experiment. */
function stoppedLine(error: ExperimentStoppedError, signal: NodeJS.Signals, command: readonly string[]): string {
  const count = (status: OutcomeStatus) => [...error.outcomes.values()].filter((o) => o.status === status).length;
  return (
    `stopped by ${signal}: ${count('stopped')} run(s) stopped at a checkpoint, ${count('pending')} not started, ` +
    `no report written; to continue, run: ${['randlab', ...command].map(shellWord).join(' ')}\n`
  );
}

/** The command line that runs the same experiment in the same folder. */
function continueCommand(name: string, options: ExperimentCommandOptions, dir: string): string[] {
  return [
    'experiment',
    name,
    '--scale',
    options.scale,
    ...(options.seeds !== undefined ? ['--seeds', options.seeds] : []),
    ...(options.jobs !== '1' ? ['--jobs', options.jobs] : []),
    ...(options.device !== undefined ? ['--device', options.device] : []),
    '--out',
    dir,
    ...(options.dataDir !== undefined ? ['--data-dir', options.dataDir] : []),
  ];
}

export function registerExperimentCommand(program: Command): void {
  program
    .command('experiment')
    .description(
      "run one of the paper's experiments (docs/experiments.md) as a set of runs, then write its HTML report",
    )
    .argument('[name]', 'recipe name (see --list), or `status` followed by an experiment folder')
    .argument('[dir]', 'with `status`: the experiment folder')
    .option('--scale <scale>', `${SCALES.join(' | ')}`, 'smoke')
    .option('--seeds <n>', 'number of seeds (0..n-1); default per recipe and scale')
    .option(
      '--jobs <n>',
      'runs at a time, each in its own process with its share of the cores (1: in this process)',
      '1',
    )
    .option('--out <dir>', 'experiment folder (default experiments-out/<name>-<scale>)')
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--list', 'list the recipes and their scales')
    .option('--plan', 'print the runs the experiment consists of, without running them')
    .option('--quiet', 'no progress lines')
    .addOption(deviceOption('train the runs on the cpu (default) or the WebGPU adapter; not part of the run ids'))
    .option('--queue <url>', 'enqueue the runs for `randlab worker`s: redis://[:password@]host[:port][/db]')
    .option('--storage <dir>', 'with --queue: the storage root every worker mounts (the folder goes in it)')
    .option('--detach', 'with --queue: enqueue and return without following')
    .option('--attempts <n>', 'with --queue: tries of a run before it counts as failed', '3')
    .option(
      '--retry-failed',
      'with --queue: put the runs that failed their attempts, and the runs they blocked, back in the queue',
    )
    .option('--interval <seconds>', 'with --queue: seconds between progress lines', '5')
    .action(async (name: string | undefined, dir: string | undefined, options: ExperimentCommandOptions) => {
      if (name === 'status') {
        if (dir === undefined) throw new Error('randlab experiment status: give the experiment folder');
        process.stdout.write(formatStatus(experimentStatus(resolve(dir))));
        return;
      }
      if (dir !== undefined) throw new Error(`randlab experiment: unexpected argument '${dir}'`);
      if (options.list || name === undefined) {
        process.stdout.write(listRecipes());
        return;
      }
      if (options.plan) {
        process.stdout.write(
          describePlan(
            name,
            parseScale(options.scale),
            options.seeds !== undefined ? positiveInteger(options.seeds, '--seeds') : undefined,
            resolveDataRoot(options.dataDir),
          ),
        );
        return;
      }
      const queueUrl = resolveQueueUrl(options.queue);
      if (queueUrl !== undefined) {
        await runOnQueue(name, queueUrl, options);
        return;
      }
      if (options.retryFailed)
        throw new Error(
          'randlab experiment --retry-failed: only with --queue (a local experiment retries its failed runs each time)',
        );
      const bar =
        options.quiet || !process.stdout.isTTY
          ? undefined
          : experimentProgressBar(
              resolve(options.out ?? defaultExperimentDir(getRecipe(name).name, parseScale(options.scale))),
            );
      const result = await runUntilSignal(
        {
          recipe: name,
          scale: parseScale(options.scale),
          ...(options.seeds !== undefined ? { seeds: positiveInteger(options.seeds, '--seeds') } : {}),
          jobs: positiveInteger(options.jobs, '--jobs'),
          ...(options.device !== undefined ? { device: options.device } : {}),
          ...(options.out !== undefined ? { out: options.out } : {}),
          dataRoot: resolveDataRoot(options.dataDir),
          log: options.quiet ? () => {} : (bar?.log ?? ((line) => process.stdout.write(`${line}\n`))),
        },
        (dir) => continueCommand(name, options, dir),
      ).finally(() => bar?.stop());
      if (result === undefined) return; // stopped by a signal: the process is ending by it
      process.stdout.write(summarizeResult(result));
      if ([...result.outcomes.values()].some((o) => UNFINISHED.has(o.status))) process.exitCode = 1;
    });
}

/** `randlab experiment NAME --queue URL --storage DIR`: enqueues, and unless --detach follows and reports. */
async function runOnQueue(name: string, url: string, options: ExperimentCommandOptions): Promise<void> {
  if (options.storage === undefined) throw new Error('randlab experiment --queue: give --storage DIR');
  if (options.device !== undefined)
    throw new Error(
      'randlab experiment --queue: each worker trains on its own device; give --device to `randlab worker`, not here',
    );
  const interval = Number(options.interval);
  if (!(interval > 0)) throw new Error(`--interval must be a positive number of seconds, got '${options.interval}'`);
  const result = await runQueuedExperiment({
    recipe: name,
    scale: parseScale(options.scale),
    ...(options.seeds !== undefined ? { seeds: positiveInteger(options.seeds, '--seeds') } : {}),
    dataRoot: resolveDataRoot(options.dataDir),
    connection: parseQueueUrl(url),
    storage: options.storage,
    attempts: positiveInteger(options.attempts, '--attempts'),
    intervalMs: interval * 1000,
    detach: options.detach ?? false,
    retryFailed: options.retryFailed ?? false,
    log: options.quiet ? () => {} : (line) => process.stdout.write(`${line}\n`),
  });
  if (!result.report || !result.counts) {
    process.stdout.write(`enqueued ${result.enqueued} run(s); follow with: randlab experiment status ${result.dir}\n`);
    return;
  }
  process.stdout.write(formatStatus(experimentStatus(result.dir)));
  process.stdout.write(`report: ${result.report.html}\n`);
  if (result.counts.failed > 0) process.exitCode = 1;
}
