/**
 * What the `randlab serve` tests serve: a smoke-scale experiment folder (the synthetic Gaussian recipe, a
 * few seconds, no downloaded data) and a plain run store whose runs carry markup in their config and
 * metric names; and raw HTTP requests whose paths are sent exactly as written (fetch would normalise `..`).
 */
import { mkdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { runExperiment } from '../src/experiments/experiment.js';
import { RunStore } from '../src/runs/store.js';

export const MARKUP = '<script>alert(1)</script>';

export interface ServedFolders {
  /** Holds the experiment folder `fig20-smoke`, as experiments-out/ does. */
  readonly experiments: string;
  readonly experimentDir: string;
  /** A plain run store with the runs `plain-a` (finished) and `plain-b` (running). */
  readonly store: string;
}

export async function makeServedFolders(root: string): Promise<ServedFolders> {
  const experiments = join(root, 'experiments-out');
  const experimentDir = join(experiments, 'fig20-smoke');
  mkdirSync(experiments, { recursive: true });
  await runExperiment({
    recipe: 'fig20-gaussian-fc',
    scale: 'smoke',
    seeds: 2,
    out: experimentDir,
    dataRoot: '/nonexistent',
  });
  const storeDir = join(root, 'runs');
  const store = RunStore.open(storeDir);
  try {
    for (const [id, lr] of [
      ['plain-a', 0.1],
      ['plain-b', 0.01],
    ] as const) {
      store.createRun({
        id,
        model: 'mlp',
        dataset: 'gaussian',
        config: { name: id, note: MARKUP, schedule: { type: 'constant', lr }, model: { name: 'mlp', widths: [4, 2] } },
      });
      store.appendMetrics(
        id,
        [1, 2, 3].flatMap((step) => [
          { step, name: 'train/loss', value: 1 / step + lr },
          { step, name: MARKUP, value: step },
        ]),
      );
    }
    store.updateRun('plain-a', { status: 'finished', step: 3 });
  } finally {
    store.close();
  }
  return { experiments, experimentDir, store: storeDir };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: string;
}

/** GET (or another method) of `path` exactly as written, with the given headers. */
export function rawRequest(
  port: number,
  path: string,
  options: { headers?: Record<string, string>; method?: string } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers ?? {} },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}
