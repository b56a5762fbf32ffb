/**
 * Screenshots of `randlab serve` for the README, taken by playwright-core in Debian's chromium, and the
 * runs page's load time. Give it an experiment folder (a copy: nothing is written to it) and where to put
 * the images; it starts the built CLI (`npm run build` first) on a free port.
 *
 *   node tools/dashboard-screenshot.mjs <experiment-dir> <out-dir> [chromium]
 *
 * Writes <out-dir>/dashboard-experiment.png and dashboard-compare.png, and prints the time from navigation
 * until the runs page has drawn its table (median of 5 loads) with the number of runs it shows.
 */
import { spawn } from 'node:child_process';
import { basename, join } from 'node:path';
import { chromium } from 'playwright-core';

const [dir, out, executablePath = '/usr/bin/chromium'] = process.argv.slice(2);
if (!dir || !out) {
  console.error('usage: node tools/dashboard-screenshot.mjs <experiment-dir> <out-dir> [chromium]');
  process.exit(2);
}

const server = spawn(process.execPath, ['bin/randlab.js', 'serve', dir, '--port', '0'], {
  stdio: ['ignore', 'pipe', 'inherit'],
});
/** @type {string} */
const url = await new Promise((resolve, reject) => {
  let text = '';
  server.stdout.on('data', (chunk) => {
    text += String(chunk);
    const match = /randlab serve: (http:\/\/\S+)/.exec(text);
    if (match?.[1]) resolve(match[1]);
  });
  server.on('exit', (code) => reject(new Error(`randlab serve exited with ${code}`)));
});

const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 820 }, deviceScaleFactor: 1 });
  const name = basename(dir);
  const ready = () => page.waitForSelector('body[data-ready]');
  const drawn = () =>
    page.waitForFunction(() =>
      [...document.querySelectorAll('[data-chart]')].every((c) => c instanceof HTMLElement && c.dataset.rendered),
    );

  const loads = [];
  let runs = 0;
  for (let i = 0; i < 5; i++) {
    const began = Date.now();
    await page.goto(new URL('/runs?group=condition', url).href);
    await ready();
    loads.push(Date.now() - began);
    runs = await page.$$eval('#runs tr[data-run]', (rows) => rows.length);
  }
  loads.sort((a, b) => a - b);
  console.log(`runs page: ${runs} runs, loaded and drawn in ${loads[2]} ms (median of 5: ${loads.join(', ')} ms)`);

  await page.goto(new URL(`/experiments/${name}`, url).href);
  await ready();
  await page.screenshot({ path: join(out, 'dashboard-experiment.png') });

  /** @type {unknown} */
  const body = await (await fetch(new URL('/api/runs', url))).json();
  const all = /** @type {{ key: string, fields: Record<string, unknown> }[]} */ (body);
  const conditions = ['scratch', 'e10-k10/pretrained', 'e10-k10/covariance'];
  const chosen = all.filter((run) => conditions.includes(String(run.fields.condition))).map((run) => run.key);
  const query = new URLSearchParams({
    runs: chosen.join(','),
    metric: 'train/accuracy',
    group: 'condition',
    smooth: '0.3',
  });
  await page.goto(new URL(`/compare?${query}`, url).href);
  await ready();
  await drawn();
  await page.screenshot({ path: join(out, 'dashboard-compare.png') });
  console.log(`wrote ${join(out, 'dashboard-experiment.png')} and ${join(out, 'dashboard-compare.png')}`);
} finally {
  await browser.close();
  server.kill('SIGTERM');
}
