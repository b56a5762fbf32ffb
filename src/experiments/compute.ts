/**
 * Compute runs: work of an experiment that is not training (measuring f of a trained network,
 * sampling a covariance-initialised first layer, …). They live in the run store like training runs,
 * so they are skipped once finished, and their result is a JSON file in the run's folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { RunStore } from '../runs/store.js';
import { runId, type RunContext, type RunSpec, type SettingValue } from './recipe.js';

export const RESULT_FILE = 'result.json';

export interface ComputeSpecInput<T> {
  readonly condition: string;
  readonly seed: number;
  readonly dependsOn: readonly string[];
  /** Everything that determines the result besides the dependencies (hashed into the id). */
  readonly settings: Readonly<Record<string, SettingValue>>;
  /** Computes the result; may write files into `runDir` (the run's folder). */
  readonly compute: (context: RunContext, runDir: string) => Promise<T> | T;
}

export function computeSpec<T>(input: ComputeSpecInput<T>): RunSpec {
  const id = runId(input.condition, input.seed, {
    kind: 'compute',
    settings: input.settings,
    dependsOn: input.dependsOn,
  });
  return {
    id,
    condition: input.condition,
    seed: input.seed,
    kind: 'compute',
    dependsOn: input.dependsOn,
    settings: input.settings,
    async execute(context) {
      const { store } = context;
      if (store.getRun(id)) store.deleteRun(id);
      store.createRun({
        id,
        model: '-',
        dataset: '-',
        config: {
          kind: 'compute',
          condition: input.condition,
          seed: input.seed,
          settings: input.settings,
          dependsOn: input.dependsOn,
        },
      });
      const result = await input.compute(context, store.runDir(id));
      writeFileAtomic(join(store.runDir(id), RESULT_FILE), [Buffer.from(JSON.stringify(result), 'utf8')]);
      store.updateRun(id, { status: 'finished' });
    },
  };
}

/** The result of a finished compute run, or undefined when it has not finished. */
export function readResult<T>(store: RunStore, id: string): T | undefined {
  if (store.getRun(id)?.status !== 'finished') return undefined;
  const path = join(store.runDir(id), RESULT_FILE);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}
