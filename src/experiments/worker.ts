/**
 * Child-process entry of the job pool and of a queue worker (see run-process.ts, its parent's side): a
 * long-lived process that trains the runs its parent sends over the IPC channel, one at a time. For each it
 * re-plans the experiment from its folder's manifest, executes that one run with its log written to
 * `<experiment>/logs/<run>.log`, and answers how it ended. Success and failure are recorded in the run store;
 * a run whose lock another process holds is reported as such, and nothing is recorded.
 *
 * SIGINT and SIGTERM ask the run to stop after its step with a checkpoint; then this process reports
 * `stopped` and ends (a stopped process is not given more runs). Idle, it ends at once. The parent sends
 * SIGTERM when it stops, and a Ctrl-C in a terminal reaches this process too; the parent, not a second
 * signal here, decides when to give up waiting.
 *
 * The parent owns the experiment folder (its lock, see experiment.ts) and this process works for it: when
 * the parent is gone, even killed, the channel closes and this process stops its run the same way and ends,
 * so the next owner of the folder does not find its runs held by orphans (it resumes them from their
 * checkpoints). If the parent goes after it asked this process to stop (a second signal ended it), this
 * process ends at once, leaving the run at its last checkpoint, as a kill would.
 *
 * A queue worker gives each run an index of its own on local disk (the run and the runs it needs are
 * imported into it from their folders in the shared storage) and the data root on its host; it hears the
 * run's progress events.
 */
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { FileWriteError, writingFile } from '../io/write-error.js';
import { LockHeldError } from '../runs/lock.js';
import type { ProgressEvent } from '../runs/trainer.js';
import { executePlannedRun, openExperiment, type OpenOptions } from './experiment.js';
import {
  heldReport,
  runLogPath,
  WORKER_STOPPED_EXIT_CODE,
  type ChildMessage,
  type RunEnd,
  type RunRequest,
} from './run-process.js';

const stopRequested = new AbortController();
let busy = false;

/** Sends the parent `message`; with a callback, a channel closing meanwhile (the parent gone) is no crash. */
function tell(message: ChildMessage, then: () => void = () => {}): void {
  if (process.send && process.connected) process.send(message, undefined, {}, then);
  else then();
}

/** The run's log, appended to by this process (its lines reach the file in order, before the run's answer). */
function openRunLog(path: string): { line: (text: string) => void; close: () => void } {
  let fd: number;
  try {
    mkdirSync(dirname(path), { recursive: true });
    fd = openSync(path, 'a');
  } catch (error) {
    throw new FileWriteError('run log', path, error);
  }
  return {
    line: (text) => writingFile('run log', path, () => writeSync(fd, `${text}\n`)),
    close: () => closeSync(fd),
  };
}

async function execute(request: RunRequest): Promise<RunEnd> {
  const log = openRunLog(runLogPath(request.experimentDir, request.runId));
  try {
    // Which process trained which attempt, for whoever reads the log of a run tried more than once.
    log.line(`run process ${process.pid}: run ${request.runId}`);
    const options: OpenOptions = {
      ...(request.indexPath !== undefined ? { indexPath: request.indexPath } : {}),
      ...(request.dataRoot !== undefined ? { dataRoot: request.dataRoot } : {}),
      ...(request.device !== undefined ? { device: request.device } : {}),
    };
    const experiment = openExperiment(request.experimentDir, log.line, options);
    try {
      return await executePlannedRun(experiment, request.runId, stopRequested.signal, {
        importFolders: request.indexPath !== undefined,
        onProgress: progressReporter(),
      });
    } finally {
      experiment.close();
    }
  } catch (error) {
    if (!(error instanceof LockHeldError))
      log.line(error instanceof Error ? (error.stack ?? error.message) : String(error));
    throw error;
  } finally {
    log.close();
  }
}

/** Steps are reported at most this often; start, evaluations and the end always. */
const STEP_REPORT_MS = 1000;

/** Sends the parent the run's progress (a queue worker shows it; the pool ignores it). */
function progressReporter(): (event: ProgressEvent) => void {
  let lastStepReport = -Infinity;
  return (event) => {
    if (event.type === 'step') {
      if (performance.now() - lastStepReport < STEP_REPORT_MS) return;
      lastStepReport = performance.now();
    }
    if (event.type !== 'checkpoint') tell({ progress: event });
  };
}

/** The answer to a run request: how the run ended, the lock that held it, or its failure. */
async function answer(request: RunRequest): Promise<ChildMessage> {
  try {
    return { ended: await execute(request) };
  } catch (error) {
    if (error instanceof LockHeldError) return heldReport(error);
    return { failed: error instanceof Error ? error.message : String(error) };
  }
}

function onRequest(message: unknown): void {
  const request = (message as { run?: RunRequest } | null)?.run;
  if (request === undefined) return;
  if (busy) {
    tell({ failed: `run process ${process.pid} is training a run already: run ${request.runId} not started` });
    return;
  }
  busy = true;
  void answer(request).then((reply) =>
    tell(reply, () => {
      busy = false;
      if (stopRequested.signal.aborted || !process.connected) process.exit(WORKER_STOPPED_EXIT_CODE);
    }),
  );
}

const requestStop = (): void => {
  stopRequested.abort();
  if (!busy) process.exit(WORKER_STOPPED_EXIT_CODE);
};
process.on('SIGINT', requestStop);
process.on('SIGTERM', requestStop);
process.on('disconnect', () => {
  if (!busy) process.exit(0);
  if (stopRequested.signal.aborted) process.exit(WORKER_STOPPED_EXIT_CODE);
  stopRequested.abort();
});
process.on('message', onRequest);
// The channel may have closed already while this module loaded, when no listener could hear it.
if (!process.send || !process.connected) process.exit(1);
tell({ ready: true });
