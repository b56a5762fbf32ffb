/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The dashboard end to end in a real headless Chromium (Debian's, driven by playwright-core): the pages
 * of a smoke-scale experiment and a plain run store, filtering, grouping and comparing, every chart drawn,
 * markup from configs and metric names shown as text, and a `randlab train` run whose curve grows live.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunStore } from '../src/runs/store.js';
import { startServer, type RunningServer } from '../src/serve/server.js';
import { browserMissing, launchChromium } from './helpers/browser.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { gaussianMlpFlags } from './runs-fixtures.js';
import { makeServedFolders, MARKUP, type ServedFolders } from './serve-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');

describe.skipIf(browserMissing)('the dashboard in Chromium', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let folders: ServedFolders;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];
  /** The folders the re-run action was asked to run (the real launcher is tested in serve-api.test.ts). */
  const reruns: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    temp = makeTempDir('serve-browser');
    folders = await makeServedFolders(temp.dir);
    server = await startServer({
      dirs: [folders.store, folders.experiments],
      port: 0,
      rerun: async (dir) => {
        reruns.push(dir);
        return { started: true, message: `started randlab experiment on ${dir}` };
      },
    });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  });
  afterAll(async () => {
    await browser?.close();
    await server?.close();
    temp?.cleanup();
  });

  async function open(path: string): Promise<void> {
    await page.goto(new URL(path, server.url).href);
    await page.waitForSelector('body[data-ready]');
  }

  /** Waits for every chart of the page to be drawn; returns each one's title, data points and SVG marks. */
  async function charts(): Promise<{ title: string; points: number; marks: number }[]> {
    await page.waitForFunction(() =>
      [...document.querySelectorAll<HTMLElement>('[data-chart]')].every((chart) => chart.dataset.rendered === 'true'),
    );
    return page.$$eval('[data-chart]', (elements) =>
      elements.map((chart) => ({
        title: (chart as HTMLElement).dataset.chart ?? '',
        points: Number((chart as HTMLElement).dataset.points),
        marks: chart.querySelectorAll('svg path, svg line, svg circle').length,
      })),
    );
  }

  it('lists the experiment with its progress, and its claims with the verdicts the API gives', async () => {
    await open('/');
    await expect(page.textContent('#experiments')).resolves.toContain('12/12 finished');
    await page.click('a[href="/experiments/fig20-smoke"]');
    await page.waitForSelector('#claims');
    const api = (await (await fetch(new URL('/api/experiments/fig20-smoke', server.url))).json()) as {
      claims: { id: string; verdict: string }[];
    };
    const rows = await page.$$eval('#claims tr', (trs) =>
      trs.slice(1).map((tr) => [tr.querySelector('code')?.textContent, tr.querySelector('.verdict')?.textContent]),
    );
    expect(api.claims.length).toBeGreaterThan(0);
    expect(rows).toEqual(api.claims.map((claim) => [claim.id, claim.verdict]));
    await expect(page.textContent('#plan')).resolves.toContain('left');
  });

  it('filters and groups the runs by config fields, keeping the view in the URL', async () => {
    await open('/runs');
    expect(await page.$$eval('#runs tr[data-run]', (rows) => rows.length)).toBe(14);
    await page.selectOption('select[name=filter-field]', 'status');
    await page.fill('input[name=filter-value]', 'running');
    await page.click('#filter-form button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#runs tr[data-run]').length === 1);
    expect(await page.getAttribute('#runs tr[data-run]', 'data-run')).toBe('runs/plain-b');
    expect(new URL(page.url()).searchParams.getAll('filter')).toEqual(['status=running']);

    await open('/runs');
    await page.selectOption('select[name=group]', 'schedule.lr');
    await page.waitForFunction(() => document.querySelectorAll('#runs tr.group').length > 0);
    const groups = await page.$$eval('#runs tr.group th:first-child', (ths) => ths.map((th) => th.textContent));
    expect(groups).toEqual(expect.arrayContaining(['schedule.lr = 0.1000 (1 runs)', 'schedule.lr = 0.01000 (1 runs)']));
    // The same address shows the same view.
    const address = page.url();
    expect(new URL(address).searchParams.get('group')).toBe('schedule.lr');
    await open(address);
    expect(await page.$$eval('#runs tr.group', (rows) => rows.length)).toBe(groups.length);
  });

  it('compares two chosen runs, overlaid and as a band per group', async () => {
    await open('/runs');
    await page.check('tr[data-run="runs/plain-a"] input[type=checkbox]');
    await page.waitForSelector('tr[data-run="runs/plain-a"] input:checked');
    await page.check('tr[data-run="runs/plain-b"] input[type=checkbox]');
    await page.waitForSelector('#compare-link');
    await page.click('#compare-link');
    await page.waitForSelector('[data-chart]');
    expect(new URL(page.url()).searchParams.get('runs')).toBe('runs/plain-a,runs/plain-b');
    await page.selectOption('select[name=metric]', 'train/loss');
    await page.waitForSelector('[data-chart="train/loss"][data-rendered]');
    expect(await charts()).toEqual([{ title: 'train/loss', points: 6, marks: expect.any(Number) }]);
    expect((await charts())[0]!.marks).toBeGreaterThan(2);
    await page.selectOption('select[name=group]', 'model.name');
    await page.waitForSelector('[data-chart="train/loss, mean and 95% band by model.name"][data-rendered]');
    expect((await charts())[0]).toMatchObject({ points: 3 });
  });

  it('draws every chart of a run page', async () => {
    const store = RunStore.openReadOnly(join(folders.experimentDir, 'store'));
    const run = store.listRuns().find((r) => r.id.startsWith('left-s0'))!;
    const names = new Set(store.metrics(run.id).map((row) => row.name));
    store.close();
    await open(`/runs/fig20-smoke/${run.id}`);
    const drawn = await charts();
    expect(drawn.map((chart) => chart.title)).toEqual(expect.arrayContaining(['train/loss', 'train/accuracy']));
    expect(drawn.length).toBeGreaterThanOrEqual(
      [...names].filter((name) => !/\/(f|sigma)\/\d+$/.test(name)).length - 1,
    );
    for (const chart of drawn) {
      expect(chart.points, chart.title).toBeGreaterThan(0);
      expect(chart.marks, chart.title).toBeGreaterThan(0);
    }
    await expect(page.textContent('#checkpoints')).resolves.toContain('.safetensors');
  });

  it('shows markup from a config and a metric name as text, and runs none of it', async () => {
    await open('/runs?cols=note,schedule.lr');
    const cells = await page.$$eval('#runs td', (tds) => tds.map((td) => td.textContent));
    expect(cells).toContain(MARKUP);
    await open('/runs/runs/plain-a');
    await charts();
    await expect(page.textContent('#config')).resolves.toContain(MARKUP);
    expect(await page.$$eval('h3', (hs) => hs.map((h) => h.textContent))).toContain(MARKUP);
    expect(await page.$$eval('main script', (scripts) => scripts.length)).toBe(0);
    expect(dialogs).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it('shows a metric written to the store within 2 s, without reloading', async () => {
    await open('/runs/runs/plain-b');
    await page.waitForSelector('[data-chart="train/loss"][data-rendered]');
    const writer = RunStore.open(folders.store);
    const written = Date.now();
    try {
      writer.appendMetrics('plain-b', [{ step: 40, name: 'train/loss', value: 0.125 }]);
    } finally {
      writer.close();
    }
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('[data-chart="train/loss"]')?.dataset.maxX === '40',
      undefined,
      {
        timeout: 5000,
      },
    );
    const latency = Date.now() - written;
    console.log(`a metric written to the store was drawn in the browser after ${latency} ms`);
    expect(latency).toBeLessThan(2000);
  });

  it('grows the curve of a `randlab train` run while it trains', async () => {
    const child: ChildProcess = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        ENTRY,
        'train',
        '--store',
        folders.store,
        '--name',
        'live-run',
        ...gaussianMlpFlags('gaussian:diag(1,2,3),n=2000,seed=1', '1024,1024', 800),
        '--training.batchSize',
        '128',
        '--log.every',
        '25',
        '--eval.every',
        '100000',
        '--checkpoint.every',
        '100000',
        '--quiet',
      ],
      { env: { ...process.env, RANDLAB_THREADS: '1' }, stdio: 'ignore' },
    );
    try {
      // The run shows up on the runs page by itself.
      await open('/runs');
      await page.waitForSelector('tr[data-run="runs/live-run"]', { timeout: 30_000 });
      await page.click('tr[data-run="runs/live-run"] a');
      await page.waitForSelector('[data-chart="train/batch_loss"][data-rendered]', { timeout: 30_000 });
      const seen: number[] = [];
      const maxX = () => page.getAttribute('[data-chart="train/batch_loss"]', 'data-max-x').then(Number);
      seen.push(await maxX());
      for (let i = 0; i < 2; i++) {
        const before = seen.at(-1)!;
        await page.waitForFunction(
          (last) => Number(document.querySelector<HTMLElement>('[data-chart="train/batch_loss"]')?.dataset.maxX) > last,
          before,
          { timeout: 20_000 },
        );
        seen.push(await maxX());
      }
      expect(seen[2]).toBeGreaterThan(seen[0]!);
      expect((await charts()).every((chart) => chart.marks > 0)).toBe(true);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => (child.exitCode !== null ? resolve(null) : child.on('exit', resolve)));
    }
  });

  it('re-runs the failed runs of an experiment only after the user confirms', async () => {
    const writer = RunStore.open(join(folders.experimentDir, 'store'));
    const failed = writer.listRuns().find((run) => run.id.startsWith('middle-s0'))!;
    writer.updateRun(failed.id, { status: 'failed', message: 'made to fail by the test' });
    writer.close();
    page.removeAllListeners('dialog');
    const answers = [false, true];
    const asked: string[] = [];
    page.on('dialog', (dialog) => {
      asked.push(dialog.message());
      void (answers.shift() ? dialog.accept() : dialog.dismiss());
    });
    await open('/experiments/fig20-smoke');
    await expect(page.textContent('#rerun')).resolves.toBe('Re-run the 1 failed run(s)');
    await page.click('#rerun');
    await page.waitForTimeout(300);
    expect(asked).toHaveLength(1);
    expect(reruns).toEqual([]); // declined: nothing started
    await page.click('#rerun');
    await page.waitForFunction(() => document.getElementById('rerun-status')?.textContent?.includes('started'));
    expect(asked[1]).toMatch(/^Re-run the 1 failed run\(s\) of fig20-smoke\?/);
    expect(reruns).toEqual([folders.experimentDir]);
  });
});
