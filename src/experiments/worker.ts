/**
 * Child-process entry of the job pool: `worker.js <experiment-dir> <run-id>` re-plans the experiment
 * from its manifest and executes that one run. Success and failure are recorded in the run store;
 * the exit code only tells the parent which happened. A run whose lock another process holds is
 * reported to the parent over the IPC channel (see `workerLauncher`), and nothing is recorded.
 *
 * The parent owns the experiment folder (its lock, see experiment.ts) and this process works for it:
 * when the parent is gone, even killed, the channel closes and this process ends too, so the next
 * owner of the folder does not find its runs held by orphans (it resumes them from their checkpoints).
 */
import { LockHeldError } from '../runs/lock.js';
import { openExperiment } from './experiment.js';
import { executeRun, heldReport } from './pool.js';

async function work(dir: string, id: string): Promise<void> {
  const experiment = openExperiment(dir, (line) => process.stdout.write(`${line}\n`));
  try {
    const spec = experiment.plan.find((s) => s.id === id);
    if (!spec) throw new Error(`run ${id} is not in the plan of ${experiment.manifest.recipe} (${dir})`);
    await executeRun(spec, experiment.context);
  } finally {
    experiment.close();
  }
}

const [dir, id] = process.argv.slice(2);
if (dir === undefined || id === undefined) {
  process.stderr.write('usage: worker <experiment-dir> <run-id>\n');
  process.exit(2);
}
// The channel may have closed already while this module loaded, when no listener could hear it.
process.on('disconnect', () => process.exit(1));
if (process.send && !process.connected) process.exit(1);
work(dir, id).then(
  () => process.exit(0),
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
