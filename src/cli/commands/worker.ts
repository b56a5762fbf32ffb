/**
 * `randlab worker --queue URL --storage DIR [--concurrency N] [--data-dir DIR] [--device D]`: trains the runs of queued
 * experiments (src/experiments/queue/worker.ts) until SIGINT/SIGTERM, which stops the runs in progress at a
 * checkpoint and hands their jobs back to the queue; a second signal ends it at once. It ends with status 2
 * when it refuses a job (another randlab version, other data), saying why.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { resolveDataRoot } from '../../data/paths.js';
import { parseQueueUrl, resolveQueueUrl } from '../../experiments/queue/connection.js';
import { runQueueWorker } from '../../experiments/queue/worker.js';
import type { Device } from '../../tensor/index.js';
import { deviceOption } from '../device-option.js';
import { endBySignal, stopOnSignal } from '../stop-on-signal.js';
import { positiveInteger } from './experiment.js';

interface WorkerCommandOptions {
  queue?: string;
  storage: string;
  concurrency: string;
  dataDir?: string;
  quiet?: boolean;
  device?: Device;
}

/** Exit status of a worker that refused a job. */
const REFUSED_EXIT_CODE = 2;

export function registerWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('train runs of experiments enqueued with `randlab experiment --queue` (docs/distributed.md)')
    .option('--queue <url>', 'redis://[:password@]host[:port][/db] or rediss://… (default $RANDLAB_QUEUE)')
    .requiredOption('--storage <dir>', 'the storage root every worker and the coordinator mount')
    .option('--concurrency <n>', 'runs at a time, each in its own process with its share of the cores', '1')
    .option('--data-dir <dir>', 'data root on this host (default $RANDLAB_DATA, else ./data)')
    .option('--quiet', 'no progress lines')
    .addOption(deviceOption('train the runs it takes on the cpu (default) or the WebGPU adapter; refused without one'))
    .action(async (options: WorkerCommandOptions) => {
      const url = resolveQueueUrl(options.queue);
      if (url === undefined) throw new Error('randlab worker: give --queue URL (or set RANDLAB_QUEUE)');
      const stop = stopOnSignal((signal) =>
        process.stderr.write(`randlab worker: ${signal}: stopping the runs in progress and handing them back\n`),
      );
      try {
        const end = await runQueueWorker({
          connection: parseQueueUrl(url),
          storage: resolve(options.storage),
          dataRoot: resolveDataRoot(options.dataDir),
          concurrency: positiveInteger(options.concurrency, '--concurrency'),
          ...(options.device !== undefined ? { device: options.device } : {}),
          log: options.quiet ? () => {} : (line) => process.stdout.write(`${line}\n`),
          signal: stop.signal,
        });
        if (end.kind === 'refused') {
          process.stderr.write(`randlab worker: refused a job and stopped: ${end.message}\n`);
          process.exitCode = REFUSED_EXIT_CODE;
        }
      } finally {
        stop.dispose();
      }
      if (stop.received !== null) endBySignal(stop.received);
    });
}
