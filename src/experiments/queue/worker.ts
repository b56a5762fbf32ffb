/**
 * `randlab worker`: takes runs from the queue (BullMQ on Redis) and trains them in child processes, the
 * local pool's (src/experiments/run-process.ts: one long-lived process per run trained at once, reused from
 * run to run), so this process's event loop stays free to renew its jobs' locks while training takes the
 * CPU. Any number of workers, on any hosts that mount the same storage, share the queue; each writes only
 * the folders of the runs it trains, its run-store index being its own (a temporary file per job) and never
 * the experiment's shared SQLite file.
 *
 * How a job ends:
 * - the run finished (also: it had finished already, in the storage): the job completes;
 * - the run failed: the job fails, and BullMQ retries it (attempts and backoff are set by the coordinator);
 * - another process holds the run's lease (BullMQ delivers at least once: a job whose lock lapsed is handed
 *   out again while its first worker may still train it): the job is delayed and tried again later, not
 *   failed, and nothing of the run is touched;
 * - a run it needs has not finished (a dependency a flow cannot express): delayed the same way;
 * - this worker was asked to stop (SIGINT/SIGTERM): the run stops at a checkpoint and its job goes back to
 *   the waiting list at once, for another worker to resume;
 * - the job was enqueued by another randlab version, or with other data than this host's: the job goes back
 *   to the queue and this worker stops with a message saying what differs.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { DelayedError, Queue, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import { acquireDevice } from '../../runs/device.js';
import { readFolderRecord } from '../../runs/folder-record.js';
import { LockHeldError } from '../../runs/lock.js';
import { checkRunId } from '../../runs/store.js';
import type { ProgressEvent } from '../../runs/trainer.js';
import type { Device } from '../../tensor/index.js';
import { workerEnvironment } from '../pool.js';
import { RunProcesses } from '../run-process.js';
import type { QueueConnection } from './connection.js';
import { dataFingerprint, jobId, QUEUE_NAME, randlabVersion, refusal, type RunJobData } from './jobs.js';

export interface QueueWorkerOptions {
  readonly connection: QueueConnection;
  /** The storage root, as mounted on this host. */
  readonly storage: string;
  /** The data root on this host. */
  readonly dataRoot: string;
  /** Runs at a time (each in its own process with its share of the cores). */
  readonly concurrency: number;
  /**
   * Where this worker's runs train (default cpu): a host's own choice, not the job's, so GPU and CPU hosts
   * share one queue. With `webgpu` and no adapter, runQueueWorker throws before it takes a job.
   */
  readonly device?: Device;
  readonly log: (line: string) => void;
  /** Aborted: the runs in progress stop at a checkpoint, their jobs go back to the queue, the worker closes. */
  readonly signal: AbortSignal;
  /** BullMQ's job lock duration (ms): a job whose worker stops renewing it is stalled after this long. */
  readonly lockDurationMs?: number;
  /** How often (ms) this worker looks for stalled jobs. */
  readonly stalledIntervalMs?: number;
}

/** How a worker ended: it was stopped, or it refused a job (the message says why). */
export type WorkerEnd = { readonly kind: 'stopped' } | { readonly kind: 'refused'; readonly message: string };

/** Delay before a run held by another process, or waiting for a dependency, is tried again. */
const RETRY_LATER_MS = 2000;

/** Environment variables that set the lock duration and stalled interval (tests make them short). */
export const LOCK_DURATION_ENV = 'RANDLAB_QUEUE_LOCK_MS';
export const STALLED_INTERVAL_ENV = 'RANDLAB_QUEUE_STALLED_MS';

function envMs(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1)
    throw new Error(`${name} must be a positive integer (ms), got '${text}'`);
  return value;
}

/** The same error (Redis unreachable: BullMQ retries and reports it each time) is logged once this often. */
const ERROR_REPEAT_MS = 10_000;

/** `log`, except for a message logged less than `ms` ago. */
function onceEvery(ms: number, log: (error: Error) => void): (error: Error) => void {
  const last = new Map<string, number>();
  return (error) => {
    const now = performance.now();
    if (now - (last.get(error.message) ?? -Infinity) < ms) return;
    last.set(error.message, now);
    log(error);
  };
}

/** What the job's progress holds while its run trains (the coordinator shows it). */
export interface RunProgress {
  readonly worker: string;
  readonly step: number;
  readonly totalSteps: number;
  readonly metrics?: Readonly<Record<string, number>>;
}

/** Runs a worker until its signal aborts or it refuses a job. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<WorkerEnd> {
  const device = await acquireDevice(options.device ?? 'cpu');
  const name = `${hostname()}:${process.pid}`;
  const version = randlabVersion();
  const fingerprints = new Map<string, string>();
  const fingerprint = (dataset: string) => {
    if (!fingerprints.has(dataset)) fingerprints.set(dataset, dataFingerprint(options.dataRoot, dataset));
    return fingerprints.get(dataset)!;
  };
  const indexDir = mkdtempSync(join(tmpdir(), 'randlab-worker-'));
  const processes = new RunProcesses(workerEnvironment(options.concurrency));
  const stopRuns = new AbortController();
  // For the state of the jobs of runs a job waits for.
  const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: options.connection.options });
  let refused: string | undefined;
  let stopWorker: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (stopWorker = resolve));

  const processJob = async (job: Job<RunJobData>, token?: string): Promise<unknown> => {
    const data = job.data;
    const why = refusal(data, { version, data: fingerprint });
    if (why !== undefined || stopRuns.signal.aborted) {
      await job.moveToWait(token);
      if (why !== undefined) {
        refused ??= why;
        stopWorker();
      }
      throw new WaitingError();
    }
    const experimentDir = jobExperimentDir(options.storage, data);
    // Delivered again after it finished (its first worker lost the job's lock before completing it).
    if (finishedInFolder(experimentDir, data.runId)) return { worker: name, seconds: 0 };
    const waitingFor = data.dependsOn.find((id) => !finishedInFolder(experimentDir, id));
    if (waitingFor !== undefined) {
      const upstream = await queue.getJob(jobId(waitingFor, data.key));
      if (upstream && (await upstream.getState()) === 'failed')
        throw new UnrecoverableError(`blocked: it needs run ${waitingFor}, which failed`);
      await job.moveToDelayed(Date.now() + RETRY_LATER_MS, token);
      throw new DelayedError();
    }
    options.log(`${name}: run ${data.runId} (${data.experiment}) on ${device}`);
    const indexPath = join(indexDir, `${data.runId}-${randomBytes(4).toString('hex')}.sqlite`);
    const began = performance.now();
    const progress = progressTracker(name);
    try {
      const end = await processes.run(
        { experimentDir, runId: data.runId, kind: data.kind, indexPath, dataRoot: options.dataRoot, device },
        {
          signal: stopRuns.signal,
          onProgress: (event) => {
            // A progress update lost (Redis away for a moment) is superseded by the next one.
            void job.updateProgress({ ...progress(event) }).catch(() => {});
          },
        },
      );
      const seconds = (performance.now() - began) / 1000;
      if (end === 'stopped') {
        options.log(`${name}: run ${data.runId} stopped at a checkpoint; its job goes back to the queue`);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      options.log(`${name}: run ${data.runId} finished in ${seconds.toFixed(1)} s`);
      return { worker: name, seconds };
    } catch (error) {
      if (!(error instanceof LockHeldError)) throw error;
      options.log(`${name}: run ${data.runId} is held by another process, trying again later: ${error.message}`);
      await job.moveToDelayed(Date.now() + RETRY_LATER_MS, token);
      throw new DelayedError();
    } finally {
      for (const suffix of ['', '-wal', '-shm']) rmSync(`${indexPath}${suffix}`, { force: true });
    }
  };

  const lockDuration = options.lockDurationMs ?? envMs(LOCK_DURATION_ENV);
  const stalledInterval = options.stalledIntervalMs ?? envMs(STALLED_INTERVAL_ENV);
  const worker = new Worker<RunJobData>(QUEUE_NAME, processJob, {
    connection: options.connection.options,
    concurrency: options.concurrency,
    name,
    ...(lockDuration !== undefined ? { lockDuration } : {}),
    ...(stalledInterval !== undefined ? { stalledInterval } : {}),
  });
  worker.on(
    'error',
    onceEvery(ERROR_REPEAT_MS, (error: Error) => options.log(`${name}: queue error: ${error.message}`)),
  );
  options.log(
    `worker ${name} on ${options.connection.display}, storage ${options.storage}, ${options.concurrency} at a time`,
  );
  const onAbort = () => stopWorker();
  options.signal.addEventListener('abort', onAbort, { once: true });
  try {
    await stopped;
    stopRuns.abort();
    await worker.close();
    await processes.close();
    await queue.close();
  } finally {
    options.signal.removeEventListener('abort', onAbort);
    rmSync(indexDir, { recursive: true, force: true });
  }
  return refused !== undefined ? { kind: 'refused', message: refused } : { kind: 'stopped' };
}

/**
 * The job's experiment folder under the storage; a job whose paths leave the storage or whose run id is not
 * one (whoever can write to Redis wrote it) fails for good rather than writing elsewhere.
 */
function jobExperimentDir(storage: string, data: RunJobData): string {
  const dir = resolve(storage, data.experiment);
  if (!dir.startsWith(`${resolve(storage)}${sep}`))
    throw new UnrecoverableError(`job of run ${data.runId}: experiment '${data.experiment}' is not inside the storage`);
  try {
    checkRunId(data.runId);
  } catch (error) {
    throw new UnrecoverableError((error as Error).message);
  }
  return dir;
}

function finishedInFolder(experimentDir: string, runId: string): boolean {
  return readFolderRecord(join(experimentDir, 'store', runId))?.status === 'finished';
}

/** The job's progress after each event of its run: the step, of how many, and the last evaluation's metrics. */
function progressTracker(worker: string): (event: ProgressEvent) => RunProgress {
  let last: RunProgress = { worker, step: 0, totalSteps: 0 };
  return (event) => {
    const totalSteps = event.type === 'start' || event.type === 'step' ? event.totalSteps : last.totalSteps;
    const metrics = event.type === 'eval' ? { metrics: event.metrics } : last.metrics ? { metrics: last.metrics } : {};
    last = { worker, step: event.step, totalSteps, ...metrics };
    return last;
  };
}
