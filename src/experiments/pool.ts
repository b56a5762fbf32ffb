/**
 * Runs an experiment's plan: skips runs the store already holds as finished, retries failed ones,
 * resumes interrupted ones, and runs the rest as a local job pool, starting first among the ready
 * runs those that most others wait on (schedule.ts). With one job everything runs in
 * this process (simplest to debug); with more, the runs train in as many long-lived child processes
 * (run-process.ts), each re-planning the recipe from the experiment's manifest for each run it is given,
 * all against the same SQLite run store (which several writers share safely, see src/runs/store.ts).
 *
 * A failed run is recorded in the store with its error and does not stop the others; runs that
 * depend on it are reported as blocked. A run whose lock another process holds (say, `randlab train
 * --resume` of it in another terminal) is *held*: not run, not counted as failed, and its record and
 * files are left to that process.
 *
 * When the context's signal aborts (`randlab experiment` on its first SIGINT/SIGTERM), no run is
 * started any more and the runs in progress are asked to stop: a training run finishes its step,
 * checkpoints and is marked `stopped`, which the next call resumes (outcome *stopped*, not failed);
 * a compute run in a worker is killed and redone next time (one in this process cannot be
 * interrupted and finishes). Runs not started get the outcome *pending*.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { LockHeldError } from '../runs/lock.js';
import type { RunRecord, RunStore } from '../runs/store.js';
import type { Device } from '../tensor/index.js';
import type { RunContext, RunSpec } from './recipe.js';
import { RunProcesses, type RunEnd } from './run-process.js';
import { startOrder } from './schedule.js';

export type { RunEnd } from './run-process.js';

export type OutcomeStatus = 'finished' | 'skipped' | 'failed' | 'blocked' | 'held' | 'stopped' | 'pending';

export interface RunOutcome {
  readonly id: string;
  readonly status: OutcomeStatus;
  readonly seconds?: number;
  readonly error?: string;
}

/** Metric (step 0) in which the wall-clock seconds of all attempts of a run accumulate. */
export const WALL_SECONDS_METRIC = 'experiment/wall_seconds';

export interface PoolOptions {
  readonly jobs: number;
  readonly context: RunContext;
  /** Starts one run in a child process, to stop when `signal` aborts; given for jobs > 1 (see `workerLauncher`). */
  readonly launch?: (spec: RunSpec, signal?: AbortSignal) => Promise<RunEnd>;
}

/** Wall-clock seconds recorded for a run over all its attempts (undefined when never run). */
export function recordedSeconds(store: RunStore, id: string): number | undefined {
  const rows = store.metrics(id, { name: WALL_SECONDS_METRIC });
  return rows.length > 0 && rows[0]!.value !== null ? rows[0]!.value : undefined;
}

function addSeconds(store: RunStore, id: string, seconds: number): void {
  if (!store.getRun(id)) return;
  store.appendMetrics(id, [{ step: 0, name: WALL_SECONDS_METRIC, value: (recordedSeconds(store, id) ?? 0) + seconds }]);
}

/**
 * Executes one run here, in this process: the run's own `execute`, then its time and, on error, its
 * failure in the store (creating the record when the run failed before the trainer made one). When
 * another process holds the run's lock, the LockHeldError passes through and nothing is recorded:
 * the run's record, files and time belong to that process. A run that ends `stopped` (the context's
 * signal asked it to) is left so, to be resumed from its checkpoint: not a failure, which would be
 * deleted and started over.
 */
export async function executeRun(spec: RunSpec, context: RunContext): Promise<RunEnd> {
  const { store } = context;
  const previous = store.getRun(spec.id);
  if (previous && startsOver(previous)) store.deleteRun(spec.id);
  const started = performance.now();
  let held = false;
  try {
    await spec.execute(context);
    const record = store.getRun(spec.id);
    if (record?.status === 'stopped') return 'stopped';
    if (!record || record.status !== 'finished') {
      throw new Error(
        `run ${spec.id} returned without being marked finished in the store (status: ${record?.status ?? 'absent'})`,
      );
    }
    return 'finished';
  } catch (error) {
    held = error instanceof LockHeldError;
    if (!held) recordFailure(store, spec, error);
    throw error;
  } finally {
    if (!held) addSeconds(store, spec.id, (performance.now() - started) / 1000);
  }
}

/**
 * Whether an earlier attempt is discarded rather than resumed by the trainer: a failed or diverged
 * one, and one killed while the store created it (its index row exists, its config.json not yet:
 * it cannot be resumed and holds nothing). An interrupted one ('running', 'stopped') is resumed.
 */
function startsOver(previous: RunRecord): boolean {
  if (previous.status === 'failed' || previous.status === 'diverged') return true;
  return previous.status !== 'finished' && !existsSync(join(previous.dir, 'config.json'));
}

function recordFailure(store: RunStore, spec: RunSpec, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  if (!store.getRun(spec.id))
    store.createRun({ id: spec.id, model: '-', dataset: '-', config: { settings: spec.settings } });
  store.updateRun(spec.id, { status: 'failed', message });
}

/** What a held run's outcome says: who holds it, and that it was left alone. */
function heldOutcomeMessage(error: LockHeldError): string {
  const { pid, host, since } = error.owner;
  return `held by process ${pid} on ${host} since ${since} (lock ${error.path}); not run here, and left to that process`;
}

/** The outcome of a run not started because the experiment was stopped. */
function notStarted(id: string): RunOutcome {
  return { id, status: 'pending', error: 'not started: the experiment was stopped' };
}

/** Runs the plan with up to `jobs` runs at a time; resolves when every run has an outcome. */
export async function runPlan(plan: readonly RunSpec[], options: PoolOptions): Promise<Map<string, RunOutcome>> {
  const { context } = options;
  const { store, log, signal } = context;
  const jobs = Math.max(1, Math.floor(options.jobs));
  if (jobs > 1 && !options.launch) throw new Error('runPlan: jobs > 1 needs a launcher for child processes');
  const outcomes = new Map<string, RunOutcome>();
  const pending: RunSpec[] = [];
  for (const spec of plan) {
    if (store.getRun(spec.id)?.status === 'finished')
      outcomes.set(spec.id, { id: spec.id, status: 'skipped', seconds: recordedSeconds(store, spec.id) });
    else pending.push(spec);
  }
  pending.splice(0, pending.length, ...startOrder(pending));
  const total = pending.length;
  if (outcomes.size > 0) log(`${outcomes.size} of ${plan.length} runs already finished; ${total} to run`);
  let started = 0;
  const running = new Map<string, Promise<void>>();

  const ready = (spec: RunSpec) =>
    spec.dependsOn.every((dep) => outcomes.get(dep)?.status === 'finished' || outcomes.get(dep)?.status === 'skipped');
  const blockedBy = (spec: RunSpec) =>
    spec.dependsOn.find((dep) => {
      const status = outcomes.get(dep)?.status;
      return status === 'failed' || status === 'blocked' || status === 'held';
    });

  const start = (spec: RunSpec) => {
    started++;
    log(`[${started}/${total}] ${spec.id} (${spec.kind}, ${spec.condition}, seed ${spec.seed})`);
    const began = performance.now();
    const work = jobs === 1 ? executeRun(spec, context) : options.launch!(spec, signal);
    const promise = work.then(
      (end) => {
        const seconds = (performance.now() - began) / 1000;
        if (end === 'stopped' && !store.getRun(spec.id)) {
          // A worker stopped while it loaded, before it created anything: as if never started.
          outcomes.set(spec.id, notStarted(spec.id));
          return;
        }
        outcomes.set(spec.id, { id: spec.id, status: end, seconds });
        log(
          end === 'finished'
            ? `  done ${spec.id} in ${seconds.toFixed(1)} s`
            : `  stopped ${spec.id} after ${seconds.toFixed(1)} s (resumable)`,
        );
      },
      (error: unknown) => {
        if (error instanceof LockHeldError) {
          const message = heldOutcomeMessage(error);
          outcomes.set(spec.id, { id: spec.id, status: 'held', error: message });
          log(`  HELD ${spec.id}: ${message}`);
          return;
        }
        const message = store.getRun(spec.id)?.message ?? (error instanceof Error ? error.message : String(error));
        outcomes.set(spec.id, {
          id: spec.id,
          status: 'failed',
          seconds: (performance.now() - began) / 1000,
          error: message,
        });
        log(`  FAILED ${spec.id}: ${message}`);
      },
    );
    running.set(
      spec.id,
      promise.finally(() => running.delete(spec.id)),
    );
  };

  for (;;) {
    // Mark runs whose dependencies failed, then start whatever is ready while slots are free.
    for (let i = pending.length - 1; i >= 0; i--) {
      const spec = pending[i]!;
      const blocker = blockedBy(spec);
      if (blocker !== undefined) {
        pending.splice(i, 1);
        outcomes.set(spec.id, {
          id: spec.id,
          status: 'blocked',
          error: `not run: it needs ${blocker}, which did not finish`,
        });
      }
    }
    for (let i = 0; i < pending.length && running.size < jobs && !signal?.aborted;) {
      const spec = pending[i]!;
      if (ready(spec)) {
        pending.splice(i, 1);
        start(spec);
      } else i++;
    }
    if (running.size === 0) break;
    await Promise.race(running.values());
  }
  for (const spec of pending)
    outcomes.set(
      spec.id,
      signal?.aborted
        ? notStarted(spec.id)
        : { id: spec.id, status: 'blocked', error: 'not run: its dependencies never became ready' },
    );
  return outcomes;
}

/**
 * The environment of a worker when `jobs` run at once on `cores` cores: each gets its share of the
 * cores as RANDLAB_THREADS, unless the user set that. Left at its default, every worker's kernel pool
 * would use all cores; two MLP trainings with two threads each on two cores ran 8 800–9 000 images/s
 * each, against 11 000 each with one thread (the threads of a split GEMM wait for the slowest).
 */
export function workerEnvironment(
  jobs: number,
  env: NodeJS.ProcessEnv = process.env,
  cores = availableParallelism(),
): NodeJS.ProcessEnv {
  if (env.RANDLAB_THREADS !== undefined) return env;
  return { ...env, RANDLAB_THREADS: String(Math.max(1, Math.floor(cores / jobs))) };
}

/** Runs specs in long-lived child processes (run-process.ts); `close` ends them. */
export interface Launcher {
  readonly launch: (spec: RunSpec, signal?: AbortSignal) => Promise<RunEnd>;
  readonly close: () => Promise<void>;
}

/**
 * A launcher that trains each spec in one of up to `jobs` reused child processes (run-process.ts), each
 * with its share of the cores (see `workerEnvironment`), its log in `<experimentDir>/logs/<run-id>.log`.
 * The child records success or failure in the store itself; a run held by another process comes back as
 * its LockHeldError. When `signal` aborts, the run stops at a checkpoint (a compute run is killed).
 */
export function workerLauncher(experimentDir: string, jobs: number, device: Device = 'cpu'): Launcher {
  const processes = new RunProcesses(workerEnvironment(jobs));
  return {
    launch: (spec, signal) =>
      processes.run({ experimentDir, runId: spec.id, kind: spec.kind, device }, signal ? { signal } : {}),
    close: () => processes.close(),
  };
}
