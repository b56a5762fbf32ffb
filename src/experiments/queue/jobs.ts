/**
 * What a queued run is: the job's data, and what a worker checks before it trains one. A job's id is its
 * run's id qualified by its experiment (`<run-id>@<experiment key>`), so enqueueing a run again while its
 * job exists adds nothing (BullMQ keeps the first), while the same recipe run in another experiment folder
 * (whose runs have the same ids) gets jobs of its own. Paths in a job are relative to the storage every
 * worker mounts (each host may mount it elsewhere).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { RunSpec, Scale } from '../recipe.js';

/** The queue every randlab worker takes runs from; its jobs name their experiments. */
export const QUEUE_NAME = 'randlab-runs';

export interface RunJobData {
  /** The experiment folder, relative to the storage root, with '/' separators. */
  readonly experiment: string;
  /** The experiment's key (see experimentKey): its jobs' ids end with it. */
  readonly key: string;
  readonly runId: string;
  readonly kind: RunSpec['kind'];
  readonly recipe: string;
  readonly scale: Scale;
  /** The runs it needs (the flow makes the first wait for them; a worker checks all of them in the storage). */
  readonly dependsOn: readonly string[];
  /** The randlab version that enqueued the run: a worker of another version refuses it. */
  readonly randlabVersion: string;
  /** Fingerprint of each data set the run reads (see dataFingerprint): a worker seeing other data refuses it. */
  readonly data: Readonly<Record<string, string>>;
}

/**
 * What tells an experiment's jobs from another's on one Redis: its folder relative to the storage and its
 * creation time (kept in its manifest across calls, so a coordinator started again finds its jobs).
 */
export function experimentKey(experimentPath: string, createdAt: string): string {
  return createHash('sha256').update(`${experimentPath}\n${createdAt}`).digest('hex').slice(0, 12);
}

export function jobId(runId: string, key: string): string {
  return `${runId}@${key}`;
}

/** The version in randlab's package.json (two folders above this file's, in src/ and in dist/). */
export function randlabVersion(): string {
  const path = fileURLToPath(new URL('../../../package.json', import.meta.url));
  return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
}

/** The data sets a run reads: its config's dataset (a compute run reads only runs). */
export function runDatasets(spec: RunSpec): string[] {
  const dataset = spec.config?.data?.dataset;
  return dataset === undefined ? [] : [dataset];
}

/**
 * What a data set is on this host: for a synthetic one (`gaussian:…`, generated from its spec) the spec
 * itself; for one in the data root, a hash of the relative path and size of every file in its folder
 * (cheap on ImageNet, and it tells apart a partial download or another version of the files); 'missing'
 * when its folder is not there.
 */
export function dataFingerprint(dataRoot: string, dataset: string): string {
  if (dataset.includes(':')) return `synthetic ${dataset}`;
  const dir = join(dataRoot, dataset);
  if (!existsSync(dir)) return 'missing';
  const hash = createHash('sha256');
  for (const file of filesUnder(dir))
    hash.update(`${relative(dir, file).split(sep).join('/')}\t${statSync(file).size}\n`);
  return `files ${hash.digest('hex').slice(0, 16)}`;
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .flatMap((entry) => {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) return filesUnder(path);
      return entry.isFile() ? [path] : [];
    });
}

/** Why this worker must not train `job` (another randlab version, other data), or undefined when it may. */
export function refusal(
  job: RunJobData,
  here: { version: string; data: (dataset: string) => string },
): string | undefined {
  if (job.randlabVersion !== here.version)
    return `run ${job.runId} was enqueued by randlab ${job.randlabVersion}, this worker runs randlab ${here.version}: install the same version on every host`;
  for (const [dataset, expected] of Object.entries(job.data)) {
    const found = here.data(dataset);
    if (found !== expected)
      return `run ${job.runId} needs data set ${dataset} as the coordinator saw it (${expected}); this worker's data root has ${found}: give the workers the same data (--data-dir)`;
  }
  return undefined;
}
