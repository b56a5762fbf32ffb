/**
 * `randlab serve`'s JSON API and event stream, against a real server on an ephemeral port serving a
 * smoke-scale experiment folder and a plain run store.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../src/runs/store.js';
import { rerunLauncher } from '../src/serve/rerun.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { makeServedFolders, MARKUP, type ServedFolders } from './serve-fixtures.js';

let temp: ReturnType<typeof makeTempDir>;
let folders: ServedFolders;
let server: RunningServer;

beforeAll(async () => {
  temp = makeTempDir('serve-api');
  folders = await makeServedFolders(temp.dir);
  server = await startServer({ dirs: [folders.store, folders.experiments], port: 0, pollMs: 200 });
});
afterAll(async () => {
  await server?.close();
  temp?.cleanup();
});

// The API's JSON, whose shape the assertions check.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function get(path: string): Promise<{ status: number; body: any }> {
  const response = await fetch(new URL(path, server.url));
  return { status: response.status, body: await response.json() };
}

describe('randlab serve: the JSON API', () => {
  it('listens on 127.0.0.1 and lists every run of the store and the experiment with status, step, metrics and config fields', async () => {
    expect(server.server.address()).toMatchObject({ address: '127.0.0.1' });
    const { status, body } = await get('/api/runs');
    expect(status).toBe(200);
    const keys = body.map((run: { key: string }) => run.key);
    expect(keys).toContain('runs/plain-a');
    expect(keys).toContain('runs/plain-b');
    expect(keys.filter((key: string) => key.startsWith('fig20-smoke/'))).toHaveLength(12);
    const plainA = body.find((run: { key: string }) => run.key === 'runs/plain-a');
    expect(plainA).toMatchObject({
      id: 'plain-a',
      status: 'finished',
      step: 3,
      experiment: null,
      metrics: { 'train/loss': 1 / 3 + 0.1 },
      fields: { 'schedule.lr': 0.1, 'schedule.type': 'constant', 'model.widths': '[4,2]', note: MARKUP },
    });
    const trained = body.find(
      (run: { key: string; fields: Record<string, unknown> }) => run.fields.condition === 'left',
    );
    expect(trained).toMatchObject({ experiment: 'fig20-smoke', status: 'finished', fields: { seed: 0 } });
  });

  it("gives a run's metrics, config and checkpoints", async () => {
    const store = RunStore.openReadOnly(join(folders.experimentDir, 'store'));
    try {
      const run = store.listRuns().find((r) => r.id.startsWith('left-s0'))!;
      const metrics = await get(`/api/runs/fig20-smoke/${run.id}/metrics`);
      expect(metrics.status).toBe(200);
      expect(metrics.body).toEqual(store.metrics(run.id));
      const details = await get(`/api/runs/fig20-smoke/${run.id}`);
      expect(details.body.config).toEqual(store.readConfig(run.id));
      expect(details.body.checkpoints.length).toBeGreaterThan(0);
      expect(details.body.checkpoints.at(-1)).toMatchObject({ step: run.step });
      expect(details.body.checkpoints.at(-1).files).toContain(`step-${String(run.step).padStart(8, '0')}.safetensors`);
    } finally {
      store.close();
    }
    expect((await get('/api/runs/runs/no-such-run')).status).toBe(404);
    expect((await get('/api/runs/no-such-store/plain-a/metrics')).status).toBe(404);
  });

  it('lists the experiment with its recipe, scale and progress, and gives the verdicts the report gives', async () => {
    const list = await get('/api/experiments');
    expect(list.body).toEqual([
      expect.objectContaining({
        name: 'fig20-smoke',
        recipe: 'fig20-gaussian-fc',
        scale: 'smoke',
        seeds: [0, 1],
        progress: expect.objectContaining({ total: 12, counts: { finished: 12 }, etaSeconds: 0 }),
      }),
    ]);
    const { body } = await get('/api/experiments/fig20-smoke');
    const report = JSON.parse(readFileSync(join(folders.experimentDir, 'report', 'claims.json'), 'utf8'));
    expect(body.claimsError).toBeNull();
    expect(body.claimsFromFinished).toBe(12);
    expect(
      body.claims.map((c: { id: string; verdict: string; measured: string }) => [c.id, c.verdict, c.measured]),
    ).toEqual(
      report.claims.map((c: { id: string; verdict: string; measured: string }) => [c.id, c.verdict, c.measured]),
    );
    expect(body.runs).toHaveLength(12);
    expect((await get('/api/experiments/nothing-here')).status).toBe(404);
  });

  it('estimates the time left from the finished runs', async () => {
    const { progressOf } = await import('../src/serve/experiments.js');
    const spec = (id: string) => ({ id }) as never;
    const progress = progressOf([
      { spec: spec('a'), status: 'finished', step: 10, seconds: 30 },
      { spec: spec('b'), status: 'finished', step: 10, seconds: 10 },
      { spec: spec('c'), status: 'running', step: 5, seconds: null },
      { spec: spec('d'), status: 'pending', step: null, seconds: null },
    ]);
    expect(progress).toEqual({
      total: 4,
      counts: { finished: 2, running: 1, pending: 1 },
      finishedSeconds: 40,
      etaSeconds: 40,
    });
  });

  it('builds curve charts with the report chart code: overlaid runs, or a band per group', async () => {
    const overlay = await get('/api/curves?runs=runs/plain-a,runs/plain-b&metric=train/loss');
    expect(overlay.status).toBe(200);
    expect(overlay.body.data.values).toHaveLength(6);
    const grouped = await get(
      '/api/curves?runs=runs/plain-a,runs/plain-b&metric=train/loss&group=model.name&smooth=0.5',
    );
    // One group (both runs are mlp): the mean of the two runs at each step, smoothed.
    expect(grouped.body.data.values).toHaveLength(3);
    expect(grouped.body.data.values[0]).toMatchObject({ series: 'model.name=mlp', x: 1, seeds: 2 });
    expect(grouped.body.data.values[0].mean).toBeCloseTo((1.1 + 1.01) / 2, 12);
    expect((await get('/api/curves?runs=runs/plain-a&metric=train/loss&smooth=2')).status).toBe(400);
  });
});

describe('randlab serve: live updates', () => {
  it('pushes metrics written to a store within 2 s, as server-sent events', async () => {
    const controller = new AbortController();
    const response = await fetch(new URL('/api/events?runs=runs/plain-b', server.url), { signal: controller.signal });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    await reader.read(); // the stream's first line: it is subscribed
    const writer = RunStore.open(folders.store);
    const written = performance.now();
    try {
      writer.appendMetrics('plain-b', [{ step: 4, name: 'train/loss', value: 0.25 }]);
      writer.appendMetrics('plain-a', [{ step: 4, name: 'train/loss', value: 0.5 }]); // not asked for
    } finally {
      writer.close();
    }
    let text = '';
    const timeout = new Promise<{ value?: string }>((resolve) =>
      setTimeout(() => resolve({ value: '(timed out)' }), 3000),
    );
    while (!text.includes('event: metrics') && !text.includes('(timed out)'))
      text += (await Promise.race([reader.read(), timeout])).value ?? '';
    const latency = performance.now() - written;
    controller.abort();
    expect(latency).toBeLessThan(2000);
    const data = JSON.parse(/data: (.*)\n/.exec(text.slice(text.indexOf('event: metrics')))![1]!);
    expect(data).toEqual({
      type: 'metrics',
      run: 'runs/plain-b',
      rows: [{ step: 4, name: 'train/loss', value: 0.25 }],
    });
    expect(text).not.toContain('plain-a');
  });
});

describe('randlab serve: re-running the failed runs of an experiment', () => {
  it('starts randlab experiment on the folder when confirmed, which runs the failed run again', async () => {
    const rerunning = await startServer({
      dirs: [folders.experiments],
      port: 0,
      rerun: rerunLauncher([process.execPath, '--import', 'tsx', join(import.meta.dirname, 'runs-cli-entry.ts')]),
    });
    try {
      const writer = RunStore.open(join(folders.experimentDir, 'store'));
      const failed = writer.listRuns().find((run) => run.id.startsWith('right-s1'))!;
      writer.updateRun(failed.id, { status: 'failed', message: 'made to fail by the test' });
      writer.close();
      const url = new URL('/api/experiments/fig20-smoke/rerun', rerunning.url);
      expect((await fetch(url, { method: 'POST' })).status).toBe(403); // not confirmed
      const response = await fetch(url, { method: 'POST', headers: { 'X-Randlab-Confirm': 'rerun' } });
      expect(response.status).toBe(202);
      const body = (await response.json()) as { started: boolean; message: string; log: string; pid: number };
      expect(body.started).toBe(true);
      expect(body.message).toMatch(/randlab experiment fig20-gaussian-fc --scale smoke --seeds 2 --out /);
      const status = async () => {
        const runs = (await (await fetch(new URL('/api/runs', rerunning.url))).json()) as {
          id: string;
          status: string;
        }[];
        return runs.find((run) => run.id === failed.id)?.status;
      };
      const deadline = Date.now() + 60_000;
      while ((await status()) !== 'finished' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      expect(await status()).toBe('finished');
      // The command goes on to write the report: wait for it to end before the folder is removed.
      const alive = () => {
        try {
          process.kill(body.pid, 0);
          return true;
        } catch {
          return false;
        }
      };
      while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(alive()).toBe(false);
      const log = readFileSync(body.log, 'utf8');
      expect(log).toContain('11 of 12 runs already finished; 1 to run');
      expect(log).toMatch(/report: .*fig20-smoke\/report\/index\.html/);
    } finally {
      await rerunning.close();
    }
  });
});
