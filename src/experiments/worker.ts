/**
 * Child-process entry of the job pool: `worker.js <experiment-dir> <run-id>` re-plans the experiment
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
 */
import { LockHeldError } from '../runs/lock.js';
import { openExperiment } from './experiment.js';
import { executeRun, heldReport, WORKER_STOPPED_EXIT_CODE, type RunEnd } from './pool.js';

const stopRequested = new AbortController();

async function work(dir: string, id: string): Promise<RunEnd> {
  const experiment = openExperiment(dir, (line) => process.stdout.write(`${line}\n`));
  try {
    const spec = experiment.plan.find((s) => s.id === id);
    if (!spec) throw new Error(`run ${id} is not in the plan of ${experiment.manifest.recipe} (${dir})`);
    if (stopRequested.signal.aborted) return 'stopped'; // asked while this module loaded: nothing started
    return await executeRun(spec, { ...experiment.context, signal: stopRequested.signal });
  } finally {
    experiment.close();
  }
}

const [dir, id] = process.argv.slice(2);
if (dir === undefined || id === undefined) {
  process.stderr.write('usage: worker <experiment-dir> <run-id>\n');
  process.exit(2);
}
const requestStop = (): void => stopRequested.abort();
process.on('SIGINT', requestStop);
process.on('SIGTERM', requestStop);
process.on('disconnect', () => {
  if (stopRequested.signal.aborted) process.exit(WORKER_STOPPED_EXIT_CODE);
  requestStop();
});
// The channel may have closed already while this module loaded, when no listener could hear it: nothing started.
if (process.send && !process.connected) process.exit(1);
work(dir, id).then(
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
