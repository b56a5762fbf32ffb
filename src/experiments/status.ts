/**
 * `randlab experiment status DIR`: where each run of an experiment stands, read from its run folders (the
 * records the runs write themselves, src/runs/folder-record.ts). It writes nothing, so it works at any
 * time: while a coordinator, a local pool or queue workers run the experiment, or after they are gone.
 */
import { join } from 'node:path';
import { readFolderRecord } from '../runs/folder-record.js';
import { readManifest } from './experiment.js';
import { getRecipe } from './recipes/index.js';

export interface RunStatusLine {
  readonly id: string;
  readonly condition: string;
  readonly seed: number;
  /** The run's status in its folder, or 'not started'. */
  readonly status: string;
  readonly step: number;
  readonly message: string | null;
}

export interface ExperimentStatus {
  readonly dir: string;
  readonly recipe: string;
  readonly scale: string;
  readonly runs: readonly RunStatusLine[];
}

export function experimentStatus(dir: string): ExperimentStatus {
  const manifest = readManifest(dir);
  const plan = getRecipe(manifest.recipe).plan(manifest.scale, manifest.seeds, manifest.dataRoot);
  const runs = plan.map((spec): RunStatusLine => {
    const record = readFolderRecord(join(dir, 'store', spec.id));
    return {
      id: spec.id,
      condition: spec.condition,
      seed: spec.seed,
      status: record?.status ?? 'not started',
      step: record?.step ?? 0,
      message: record?.message ?? null,
    };
  });
  return { dir, recipe: manifest.recipe, scale: manifest.scale, runs };
}

/** The counts by status, then one line per run (with its error, for a failed one). */
export function formatStatus(status: ExperimentStatus): string {
  const counts = new Map<string, number>();
  for (const run of status.runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const lines = [
    `${status.recipe} at scale ${status.scale} (${status.dir}): ${status.runs.length} runs, ${[...counts]
      .map(([name, n]) => `${n} ${name}`)
      .join(', ')}`,
    ...status.runs.map(
      (run) =>
        `  ${run.status.padEnd(11)} ${run.id}  step ${run.step}${run.message ? `  ${run.message.split('\n')[0]}` : ''}`,
    ),
  ];
  return `${lines.join('\n')}\n`;
}
