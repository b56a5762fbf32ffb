/**
 * Child-process entry of the job pool and of a queue worker's jobs: `worker.js <experiment-dir> <run-id>
 * [--index FILE] [--data-root DIR] [--device cpu|webgpu]` re-plans the experiment
 * from its manifest and executes that one run. Success and failure are recorded in the run store;
 * the exit code only tells the parent which happened (0, 1, or WORKER_STOPPED_EXIT_CODE for a run
 * stopped on request with a checkpoint, resumable). A run whose lock another process holds is
 * reported to the parent over the IPC channel (see `workerLauncher`), and nothing is recorded.
 *
 * SIGINT and SIGTERM, each time, ask the run to stop after its step with a checkpoint: the parent sends
 * SIGTERM when it stops, and a Ctrl-C in a terminal reaches this process too; the parent, not a second
 * signal here, decides when to give up waiting.
 *
 * The parent owns the experiment folder (its lock, see experiment.ts) and this process works for it:
 * when the parent is gone, even killed, the channel closes and this process stops its run the same way
 * and ends, so the next owner of the folder does not find its runs held by orphans (it resumes them from
 * their checkpoints). If the parent goes after it asked this process to stop (a second signal ended
 * it), this process ends at once, leaving the run at its last checkpoint, as a kill would.
 *
 * A queue worker (src/experiments/queue/) passes `--index`, an index of its own on local disk (the run and
 * the runs it needs are imported into it from their folders in the shared storage), and `--data-root`, the
 * data root on its host; it hears the run's progress events over the IPC channel.
 */
import { LockHeldError } from '../runs/lock.js';
import { parseArgs } from 'node:util';
import type { ProgressEvent } from '../runs/trainer.js';
import { DEVICES, type Device } from '../tensor/index.js';
import { executePlannedRun, openExperiment, type OpenOptions } from './experiment.js';
import { heldReport, WORKER_STOPPED_EXIT_CODE, type RunEnd } from './pool.js';

const stopRequested = new AbortController();

async function work(dir: string, id: string, options: OpenOptions): Promise<RunEnd> {
  const experiment = openExperiment(dir, (line) => process.stdout.write(`${line}\n`), options);
  try {
    return await executePlannedRun(experiment, id, stopRequested.signal, {
      importFolders: options.indexPath !== undefined,
      onProgress: reportProgress,
    });
  } finally {
    experiment.close();
  }
}

/** Steps are reported at most this often; start, evaluations and the end always. */
const STEP_REPORT_MS = 1000;
let lastStepReport = 0;

/** Sends the parent the run's progress, when it listens (a queue worker does; the pool ignores it). */
function reportProgress(event: ProgressEvent): void {
  if (!process.send || !process.connected) return;
  if (event.type === 'step') {
    if (performance.now() - lastStepReport < STEP_REPORT_MS) return;
    lastStepReport = performance.now();
  }
  // With a callback, a channel closing meanwhile (the parent gone) is an ignored error, not a crash.
  if (event.type !== 'checkpoint') process.send({ progress: event }, undefined, {}, () => {});
}

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { index: { type: 'string' }, 'data-root': { type: 'string' }, device: { type: 'string' } },
});
const [dir, id] = positionals;
if (dir === undefined || id === undefined) {
  process.stderr.write('usage: worker <experiment-dir> <run-id> [--index FILE] [--data-root DIR] [--device D]\n');
  process.exit(2);
}
if (values.device !== undefined && !DEVICES.includes(values.device as Device)) {
  process.stderr.write(`worker: --device must be one of ${DEVICES.join(', ')}, got '${values.device}'\n`);
  process.exit(2);
}
const openOptions: OpenOptions = {
  ...(values.index !== undefined ? { indexPath: values.index } : {}),
  ...(values['data-root'] !== undefined ? { dataRoot: values['data-root'] } : {}),
  ...(values.device !== undefined ? { device: values.device as Device } : {}),
};
const requestStop = (): void => stopRequested.abort();
process.on('SIGINT', requestStop);
process.on('SIGTERM', requestStop);
process.on('disconnect', () => {
  if (stopRequested.signal.aborted) process.exit(WORKER_STOPPED_EXIT_CODE);
  requestStop();
});
// The channel may have closed already while this module loaded, when no listener could hear it: nothing started.
if (process.send && !process.connected) process.exit(1);
work(dir, id, openOptions).then(
  (end) => process.exit(end === 'stopped' ? WORKER_STOPPED_EXIT_CODE : 0),
  (error: unknown) => {
    if (error instanceof LockHeldError) {
      process.stderr.write(`${error.message}\n`);
      if (process.send) process.send(heldReport(error), () => process.exit(1));
      else process.exit(1);
      return;
    }
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
