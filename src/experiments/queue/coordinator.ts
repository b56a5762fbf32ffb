/**
 * `randlab experiment … --queue URL --storage DIR`: the coordinator of an experiment run by queue workers.
 * It plans the experiment exactly as the local pool does, enqueues its unfinished runs as BullMQ flows (a
 * run waits for the run it depends on: the upstream run is a child of its downstream run), follows the
 * queue until every run has finished or failed, and then writes the report.
 *
 * The coordinator owns the experiment folder (its lease, see lockExperimentFolder) and is the only process
 * that writes the experiment's SQLite index, which it rebuilds from the run folders the workers write. A
 * job's id is its run's id: a coordinator started again (after a crash, or to re-attach after --detach)
 * enqueues nothing that is queued already, and nothing that has finished in the storage.
 */
import { relative, resolve, sep } from 'node:path';
import { FlowProducer, Queue, type FlowJob, type Job, type JobsOptions } from 'bullmq';
import type { WrittenReport } from '../../report/write.js';
import { readFolderRecord } from '../../runs/folder-record.js';
import {
  lockExperimentFolder,
  openExperiment,
  resolveExperiment,
  writeExperimentManifest,
  writeExperimentReport,
  type OpenExperiment,
  type RunExperimentOptions,
} from '../experiment.js';
import type { RunSpec } from '../recipe.js';
import type { QueueConnection } from './connection.js';
import {
  dataFingerprint,
  experimentKey,
  jobId,
  QUEUE_NAME,
  randlabVersion,
  runDatasets,
  type RunJobData,
} from './jobs.js';
import type { RunProgress } from './worker.js';

export interface QueueExperimentOptions extends Pick<
  RunExperimentOptions,
  'recipe' | 'scale' | 'seeds' | 'firstSeed' | 'dataRoot'
> {
  readonly connection: QueueConnection;
  /** The storage root every worker mounts; the experiment folder is `<storage>/<recipe>-<scale>`. */
  readonly storage: string;
  /** Tries of a run before it counts as failed (BullMQ's attempts, with exponential backoff). */
  readonly attempts?: number;
  readonly log: (line: string) => void;
  /** How often (ms) a line of progress is printed while following. */
  readonly intervalMs?: number;
  /** Enqueue and return, without following. */
  readonly detach?: boolean;
  /** Put the runs whose jobs failed (their attempts spent, or blocked by such a run) back in the queue. */
  readonly retryFailed?: boolean;
}

export interface QueueExperimentResult {
  readonly dir: string;
  /** Runs enqueued by this call (not counting those queued or finished already). */
  readonly enqueued: number;
  readonly counts?: StateCounts;
  readonly report?: WrittenReport;
}

export type RunState = 'done' | 'running' | 'waiting' | 'failed';

export interface StateCounts {
  readonly done: number;
  readonly running: number;
  readonly waiting: number;
  readonly failed: number;
}

const DEFAULT_ATTEMPTS = 3;
const BACKOFF_MS = 1000;
const DEFAULT_INTERVAL_MS = 5000;

/** Enqueues an experiment's runs and (unless detached) follows them and writes its report. */
export async function runQueuedExperiment(options: QueueExperimentOptions): Promise<QueueExperimentResult> {
  const storage = resolve(options.storage);
  const { recipe, dir, seeds } = resolveExperiment({
    ...options,
    out: resolve(storage, `${options.recipe}-${options.scale}`),
  });
  const lock = lockExperimentFolder(dir);
  const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: options.connection.options });
  try {
    writeExperimentManifest(dir, recipe, options.scale, seeds, options.dataRoot);
    const experiment = openExperiment(dir, options.log);
    try {
      experiment.context.store.reindex();
      const path = relativePath(storage, dir);
      const key = experimentKey(path, experiment.manifest.createdAt);
      if (options.retryFailed) await forgetFailedJobs(experiment, queue, key, options.log);
      const enqueued = await enqueue(experiment, queue, options, path, key);
      options.log(
        `${recipe.name} at scale ${options.scale}: ${experiment.plan.length} runs, ${enqueued} enqueued on ${options.connection.display}, folder ${dir}`,
      );
      if (options.detach) return { dir, enqueued };
      const counts = await follow(experiment, queue, key, options);
      experiment.context.store.reindex();
      await recordQueueFailures(experiment, queue, key);
      const report = await writeExperimentReport(experiment);
      return { dir, enqueued, counts, report };
    } finally {
      experiment.close();
    }
  } finally {
    await queue.close();
    lock.release();
  }
}

/** `dir` relative to `storage`, with '/' separators, or an error when it is not inside it. */
function relativePath(storage: string, dir: string): string {
  const path = relative(storage, dir);
  if (path.startsWith('..') || resolve(storage, path) !== dir)
    throw new Error(`experiment folder ${dir} is not inside the storage ${storage}`);
  return path.split(sep).join('/');
}

/**
 * Adds the unfinished runs as flows and returns how many jobs are new. A run needed by several runs can be
 * the child of only one of them (a BullMQ job has one parent): the first in the plan; the others wait for
 * it through the worker's check of their dependencies (src/experiments/queue/worker.ts).
 */
async function enqueue(
  experiment: OpenExperiment,
  queue: Queue<RunJobData>,
  options: QueueExperimentOptions,
  experimentPath: string,
  key: string,
): Promise<number> {
  const { store } = experiment.context;
  const unfinished = experiment.plan.filter((spec) => store.getRun(spec.id)?.status !== 'finished');
  const ids = new Set(unfinished.map((spec) => spec.id));
  const parentOf = new Map<string, string>();
  for (const spec of unfinished)
    for (const dep of spec.dependsOn) if (ids.has(dep) && !parentOf.has(dep)) parentOf.set(dep, spec.id);
  const version = randlabVersion();
  const jobData = (spec: RunSpec): RunJobData => ({
    experiment: experimentPath,
    key,
    runId: spec.id,
    kind: spec.kind,
    recipe: experiment.manifest.recipe,
    scale: experiment.manifest.scale,
    dependsOn: [...spec.dependsOn],
    randlabVersion: version,
    data: Object.fromEntries(runDatasets(spec).map((d) => [d, dataFingerprint(experiment.context.dataRoot, d)])),
  });
  const opts = (spec: RunSpec): JobsOptions => ({
    jobId: jobId(spec.id, key),
    attempts: options.attempts ?? DEFAULT_ATTEMPTS,
    backoff: { type: 'exponential', delay: BACKOFF_MS },
    // A failed upstream run fails its downstream run (which is then blocked: it never runs).
    failParentOnFailure: true,
  });
  const byId = new Map(unfinished.map((spec) => [spec.id, spec]));
  const tree = (spec: RunSpec): FlowJob => {
    const children = spec.dependsOn.filter((dep) => parentOf.get(dep) === spec.id).map((dep) => tree(byId.get(dep)!));
    return {
      name: spec.id,
      queueName: QUEUE_NAME,
      data: jobData(spec),
      opts: opts(spec),
      ...(children.length > 0 ? { children } : {}),
    };
  };
  const existing = new Set<string>();
  for (const spec of unfinished) if (await queue.getJob(jobId(spec.id, key))) existing.add(spec.id);
  const flows = new FlowProducer({ connection: options.connection.options });
  try {
    for (const spec of unfinished) if (!parentOf.has(spec.id)) await flows.add(tree(spec));
  } finally {
    await flows.close();
  }
  return unfinished.length - existing.size;
}

/**
 * Removes the failed jobs of the experiment's runs, so that enqueueing adds them again, with their attempts
 * anew: the runs that failed for good and the runs they blocked (whose jobs failed with them). A run's
 * folder is left as it is: its worker starts a failed run over (see executeRun). Says which it retries.
 */
async function forgetFailedJobs(
  experiment: OpenExperiment,
  queue: Queue<RunJobData>,
  key: string,
  log: (line: string) => void,
): Promise<void> {
  const failed: string[] = [];
  for (const spec of experiment.plan) {
    const job = await queue.getJob(jobId(spec.id, key));
    if (!job || (await job.getState()) !== 'failed') continue;
    failed.push(spec.id);
    // Not its children: a completed one stays so (its run finished); a failed one is in this list itself.
    await job.remove({ removeChildren: false });
  }
  log(
    failed.length === 0
      ? 'retrying failed runs: none has failed'
      : `retrying ${failed.length} failed run(s): ${failed.join(', ')}`,
  );
}

/** Each planned run's state, from the run folders (done: read, not imported) and the queue (the rest). */
export async function runStates(
  experiment: OpenExperiment,
  queue: Queue<RunJobData>,
  key: string,
): Promise<Map<string, { state: RunState; job?: Job<RunJobData> }>> {
  const states = new Map<string, { state: RunState; job?: Job<RunJobData> }>();
  for (const spec of experiment.plan) {
    if (readFolderRecord(experiment.context.store.runDir(spec.id))?.status === 'finished') {
      states.set(spec.id, { state: 'done' });
      continue;
    }
    const job = await queue.getJob(jobId(spec.id, key));
    const jobState = job ? await job.getState() : 'unknown';
    const state: RunState =
      jobState === 'active'
        ? 'running'
        : jobState === 'failed'
          ? 'failed'
          : jobState === 'completed'
            ? 'done'
            : 'waiting';
    states.set(spec.id, job ? { state, job } : { state });
  }
  return states;
}

/** Prints a line of progress every interval until no run is waiting or running; the final counts. */
async function follow(
  experiment: OpenExperiment,
  queue: Queue<RunJobData>,
  key: string,
  options: QueueExperimentOptions,
): Promise<StateCounts> {
  const began = performance.now();
  const initiallyDone = [...(await runStates(experiment, queue, key)).values()].filter(
    (s) => s.state === 'done',
  ).length;
  for (;;) {
    const states = await runStates(experiment, queue, key);
    const counts = countStates(states.values());
    const seconds = (performance.now() - began) / 1000;
    options.log(progressLine(counts, states, seconds, counts.done - initiallyDone));
    if (counts.running + counts.waiting === 0) return counts;
    await new Promise((resolveWait) => setTimeout(resolveWait, options.intervalMs ?? DEFAULT_INTERVAL_MS));
  }
}

export function countStates(states: Iterable<{ state: RunState }>): StateCounts {
  const counts = { done: 0, running: 0, waiting: 0, failed: 0 };
  for (const { state } of states) counts[state]++;
  return counts;
}

/**
 * One line: the counts, each running run's worker and step, and an ETA from the runs finished since the
 * coordinator started following (their mean time, spread over the workers now running runs).
 */
function progressLine(
  counts: StateCounts,
  states: ReadonlyMap<string, { state: RunState; job?: Job<RunJobData> }>,
  seconds: number,
  doneHere: number,
): string {
  const running = [...states]
    .filter(([, s]) => s.state === 'running')
    .map(([id, s]) => {
      const progress = s.job?.progress as Partial<RunProgress> | undefined;
      const where = progress?.worker ?? s.job?.processedBy ?? '?';
      const step = progress?.totalSteps ? ` step ${progress.step}/${progress.totalSteps}` : '';
      return `${where} ${id}${step}`;
    });
  const workers = new Set(running.map((line) => line.split(' ')[0])).size;
  const left = counts.running + counts.waiting;
  const eta =
    left === 0
      ? 'ETA 0 s'
      : doneHere > 0 && workers > 0
        ? `ETA ${Math.ceil(((seconds / doneHere) * left) / workers)} s`
        : 'ETA ?';
  return (
    `[${seconds.toFixed(0)} s] done ${counts.done}, running ${counts.running}, waiting ${counts.waiting}, failed ${counts.failed}; ${eta}` +
    (running.length > 0 ? `; ${running.join(', ')}` : '')
  );
}

/**
 * Records in the index the runs whose job failed without the run recording it (blocked by a failed upstream
 * run, refused before starting), with the queue's reason, so the report names them.
 */
async function recordQueueFailures(experiment: OpenExperiment, queue: Queue<RunJobData>, key: string): Promise<void> {
  const { store } = experiment.context;
  for (const spec of experiment.plan) {
    const record = store.getRun(spec.id);
    if (record?.status === 'finished' || record?.status === 'failed') continue;
    const job = await queue.getJob(jobId(spec.id, key));
    if (!job || (await job.getState()) !== 'failed') continue;
    if (!record) store.createRun({ id: spec.id, model: '-', dataset: '-', config: { settings: spec.settings } });
    const message = `failed on the queue after ${job.attemptsMade} attempt(s): ${job.failedReason}`;
    store.updateRun(spec.id, { status: 'failed', message });
  }
}
