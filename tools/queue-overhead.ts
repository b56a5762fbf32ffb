/**
 * Where the time of a queued experiment's runs went, from the queue's job times (BullMQ keeps when each job
 * was added, started and finished) and the run folders' records (created when training starts, updated when
 * it ends): for every run, and the means over the runs.
 *
 *   npx tsx tools/queue-overhead.ts redis://127.0.0.1:6379/0 STORAGE/fig20-gaussian-fc-smoke
 *
 *   wait    job added → job started (the first job's is the queue's latency; later ones wait for a worker)
 *   setup   job started → training begins (a child process started or reused, the experiment planned, the
 *           run imported into the worker's index, the data made)
 *   train   training begins → ends (the run's record created → last updated)
 *   finish  training ends → job completed (the child's answer, the index cleaned up, BullMQ's completion)
 *   gap     job completed → the same worker's next job started
 *
 * The per-run overhead of the queue is setup + finish + gap (data generation, inside setup, is paid in
 * process too). Read it after the experiment ended: the jobs must still be in Redis.
 */
import { readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { Queue } from 'bullmq';
import { openExperiment } from '../src/experiments/experiment.js';
import { parseQueueUrl } from '../src/experiments/queue/connection.js';
import { experimentKey, jobId, QUEUE_NAME, type RunJobData } from '../src/experiments/queue/jobs.js';
import { readFolderRecord } from '../src/runs/folder-record.js';

interface RunTimes {
  readonly id: string;
  readonly worker: string;
  readonly added: number;
  readonly started: number;
  readonly trainBegan?: number;
  readonly trainEnded?: number;
  readonly completed: number;
}

const [url, dirArgument] = process.argv.slice(2);
if (url === undefined || dirArgument === undefined) {
  process.stderr.write('usage: tools/queue-overhead.ts QUEUE-URL EXPERIMENT-DIR\n');
  process.exit(2);
}
const dir = resolve(dirArgument);
const experiment = openExperiment(dir);
const manifest = JSON.parse(readFileSync(join(dir, 'experiment.json'), 'utf8')) as { createdAt: string };
// The coordinator keys jobs by the folder's path relative to the storage: its parent here.
const key = experimentKey(relative(resolve(dir, '..'), dir), manifest.createdAt);
const queue = new Queue<RunJobData>(QUEUE_NAME, { connection: parseQueueUrl(url).options });
const runs: RunTimes[] = [];
try {
  for (const spec of experiment.plan) {
    const job = await queue.getJob(jobId(spec.id, key));
    if (!job?.processedOn || !job.finishedOn) throw new Error(`run ${spec.id}: no completed job (key ${key})`);
    const record = readFolderRecord(experiment.context.store.runDir(spec.id));
    const returned = job.returnvalue as { worker?: string } | null;
    runs.push({
      id: spec.id,
      worker: returned?.worker ?? job.processedBy ?? '?',
      added: job.timestamp,
      started: job.processedOn,
      ...(record ? { trainBegan: Date.parse(record.createdAt), trainEnded: Date.parse(record.updatedAt) } : {}),
      completed: job.finishedOn,
    });
  }
} finally {
  await queue.close();
  experiment.close();
}

const seconds = (ms: number | undefined) => (ms === undefined ? '-' : (ms / 1000).toFixed(3));
const nextStart = (run: RunTimes) =>
  runs
    .filter((other) => other.worker === run.worker && other.started >= run.completed)
    .reduce<number | undefined>((first, other) => Math.min(first ?? Infinity, other.started), undefined);
const rows = runs.map((run) => {
  const next = nextStart(run);
  return {
    run,
    wait: run.started - run.added,
    setup: run.trainBegan !== undefined ? run.trainBegan - run.started : undefined,
    train: run.trainBegan !== undefined ? run.trainEnded! - run.trainBegan : undefined,
    finish: run.trainEnded !== undefined ? run.completed - run.trainEnded : undefined,
    gap: next !== undefined ? next - run.completed : undefined,
  };
});
process.stdout.write(
  'run                                       worker            wait    setup   train   finish  gap\n',
);
for (const row of rows)
  process.stdout.write(
    `${row.run.id.padEnd(42)}${row.run.worker.slice(-17).padEnd(18)}` +
      [row.wait, row.setup, row.train, row.finish, row.gap].map((ms) => seconds(ms).padStart(8)).join('') +
      '\n',
  );
const mean = (values: (number | undefined)[]) => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : known.reduce((a, b) => a + b, 0) / known.length;
};
const first = rows.reduce((a, b) => (b.run.added + b.wait < a.run.added + a.wait ? b : a));
const overhead = mean(rows.map((row) => (row.setup ?? 0) + (row.finish ?? 0) + (row.gap ?? 0)));
process.stdout.write(
  `\n${rows.length} runs; means (s): setup ${seconds(mean(rows.map((r) => r.setup)))}, train ` +
    `${seconds(mean(rows.map((r) => r.train)))}, finish ${seconds(mean(rows.map((r) => r.finish)))}, gap ` +
    `${seconds(mean(rows.map((r) => r.gap)))}; first job's wait ${seconds(first.wait)}, setup ` +
    `${seconds(first.setup)}; overhead a run (setup + finish + gap) ${seconds(overhead)}\n`,
);
