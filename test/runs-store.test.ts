import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveStoreRoot, RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';

let temp: ReturnType<typeof makeTempDir>;
let store: RunStore;
beforeEach(() => {
  temp = makeTempDir('store');
  store = RunStore.open(temp.dir);
});
afterEach(() => {
  store.close();
  temp.cleanup();
});

describe('run store', () => {
  it('creates a run folder with config.json and an index row', () => {
    const run = store.createRun({ id: 'a', model: 'cnn2', dataset: 'cifar10:train', config: { seed: 3 } });
    expect(run).toMatchObject({
      id: 'a',
      status: 'running',
      step: 0,
      model: 'cnn2',
      dataset: 'cifar10:train',
      dir: join(temp.dir, 'a'),
    });
    expect(JSON.parse(readFileSync(join(temp.dir, 'a', 'config.json'), 'utf8'))).toEqual({ seed: 3 });
    expect(existsSync(join(temp.dir, 'a', 'checkpoints'))).toBe(true);
    expect(store.readConfig('a')).toEqual({ seed: 3 });
    expect(() => store.createRun({ id: 'a', model: 'cnn2', dataset: 'x', config: {} })).toThrow(
      `run 'a' already exists in ${temp.dir}`,
    );
  });

  it('runs in WAL mode', () => {
    const db = new Database(join(temp.dir, 'index.sqlite'), { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('records status, metrics (NaN as null, re-logged steps replaced) and artifacts', () => {
    store.createRun({ id: 'b', model: 'mlp', dataset: 'gaussian', config: {} });
    store.appendMetrics('b', [
      { step: 1, name: 'train/loss', value: 2 },
      { step: 2, name: 'train/loss', value: Number.NaN },
      { step: 2, name: 'test/accuracy', value: 0.5 },
    ]);
    store.appendMetrics('b', [{ step: 1, name: 'train/loss', value: 1.5 }]);
    expect(store.metrics('b', { name: 'train/loss' })).toEqual([
      { step: 1, name: 'train/loss', value: 1.5 },
      { step: 2, name: 'train/loss', value: null },
    ]);
    expect(store.latestMetrics('b')).toEqual({ 'test/accuracy': 0.5, 'train/loss': null });
    store.deleteMetricsAfter('b', 1);
    expect(store.metrics('b')).toEqual([{ step: 1, name: 'train/loss', value: 1.5 }]);
    store.updateRun('b', { status: 'diverged', step: 7, message: 'loss NaN' });
    expect(store.getRun('b')).toMatchObject({ status: 'diverged', step: 7, message: 'loss NaN' });
    store.recordArtifact('b', { kind: 'checkpoint', path: 'checkpoints/step-00000007.safetensors', step: 7 });
    expect(store.artifacts('b')).toMatchObject([
      { kind: 'checkpoint', path: 'checkpoints/step-00000007.safetensors', step: 7 },
    ]);
    expect(store.listRuns({ status: 'diverged' }).map((r) => r.id)).toEqual(['b']);
    store.deleteRun('b');
    expect(store.getRun('b')).toBeUndefined();
    expect(existsSync(join(temp.dir, 'b'))).toBe(false);
  });

  it('rejects run ids that are not portable folder names and names unknown runs', () => {
    expect(() => store.createRun({ id: '../x', model: 'mlp', dataset: 'd', config: {} })).toThrow(
      "run id '../x' is not allowed",
    );
    store.createRun({ id: 'known', model: 'mlp', dataset: 'd', config: {} });
    expect(() => store.requireRun('nope')).toThrow(`no run 'nope' in store ${temp.dir} (known runs: known)`);
  });

  it('resolves its location from --store, then $RANDLAB_RUNS, then ./runs', () => {
    expect(resolveStoreRoot('/x/y', { RANDLAB_RUNS: '/env' })).toBe('/x/y');
    expect(resolveStoreRoot(undefined, { RANDLAB_RUNS: '/env' })).toBe('/env');
    expect(resolveStoreRoot(undefined, {})).toBe(join(process.cwd(), 'runs'));
  });

  it('two processes writing one store at once lose nothing and leave it intact', async () => {
    const steps = 400;
    const writer = (prefix: string) =>
      new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          [
            '--import',
            'tsx',
            join(import.meta.dirname, 'runs-store-writer.ts'),
            temp.dir,
            prefix,
            '3',
            String(steps),
            'p,q',
          ],
          { stdio: ['ignore', 'ignore', 'pipe'] },
        );
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('exit', (code) =>
          code === 0 ? resolve() : reject(new Error(`writer ${prefix} exited with ${code}: ${stderr}`)),
        );
      });
    await Promise.all([writer('p'), writer('q')]);
    const runs = store.listRuns();
    const span = (prefix: string) => {
      const mine = runs.filter((r) => r.id.startsWith(`${prefix}-`));
      return [
        Math.min(...mine.map((r) => Date.parse(r.createdAt))),
        Math.max(...mine.map((r) => Date.parse(r.updatedAt))),
      ] as const;
    };
    const [p, q] = [span('p'), span('q')];
    expect(p[0] < q[1] && q[0] < p[1]).toBe(true); // the writers overlapped in time
    expect(runs.map((r) => r.id).sort()).toEqual(['p-0', 'p-1', 'p-2', 'q-0', 'q-1', 'q-2']);
    for (const run of runs) {
      expect(run.status).toBe('finished');
      expect(run.step).toBe(steps);
      expect(store.metrics(run.id)).toHaveLength(3 * steps);
    }
    const db = new Database(join(temp.dir, 'index.sqlite'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
