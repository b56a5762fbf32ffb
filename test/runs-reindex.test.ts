/**
 * Each run records itself in its folder (src/runs/folder-record.ts), and an index rebuilt from the folders
 * (`RunStore.reindex`, `importRun`), say by another host with an index of its own, equals the original.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../src/runs/store.js';
import { trainRun } from '../src/runs/trainer.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { makeTinyImageFolder, tinyRunConfig, type TinyData } from './runs-fixtures.js';

let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('reindex');
});
afterAll(() => {
  temp.cleanup();
  data.cleanup();
});

/** Everything the index holds about each run. */
function contents(store: RunStore) {
  return store.listRuns().map((run) => ({
    run: { ...run, updatedAt: run.updatedAt },
    metrics: store.metrics(run.id),
    artifacts: store.artifacts(run.id),
    config: store.readConfig(run.id),
  }));
}

describe('an index rebuilt from the run folders', () => {
  it('equals the index the runs were written through, and drops runs whose folder is gone', async () => {
    const root = join(temp.dir, 'store');
    const original = RunStore.open(root);
    try {
      for (const name of ['first', 'second'])
        expect((await trainRun(tinyRunConfig(data.spec, name), { store: original, cacheDir: null })).status).toBe(
          'finished',
        );
      original.updateRun('second', { status: 'failed', message: 'a message kept in the folder' });
      const rebuilt = RunStore.open(root, { indexPath: join(temp.dir, 'elsewhere', 'index.sqlite') });
      try {
        expect(rebuilt.listRuns()).toEqual([]);
        expect(rebuilt.reindex()).toEqual({ imported: 2, dropped: 0 });
        expect(contents(rebuilt)).toEqual(contents(original));
        expect(contents(rebuilt).flatMap((c) => c.metrics).length).toBeGreaterThan(10);
        rmSync(rebuilt.runDir('first'), { recursive: true });
        expect(rebuilt.reindex()).toEqual({ imported: 1, dropped: 1 });
        expect(rebuilt.listRuns().map((r) => r.id)).toEqual(['second']);
      } finally {
        rebuilt.close();
      }
    } finally {
      original.close();
    }
  });
});
