/**
 * `--device` on `randlab experiment`, `randlab worker` and `randlab analyze` (on SwiftShader here).
 *
 * fig20-gaussian-fc at smoke scale with one seed is the cheapest recipe (three small MLPs on Gaussian
 * inputs, about 20 s on SwiftShader against 1 s on the cpu): trained on webgpu with `--jobs 2` (so each
 * run trains in a pool worker, which must be told the device), it plans the same run ids as on the cpu
 * and its measurements agree within 1e-4 relative (measured: ~1e-6), but not bit for bit, which shows
 * the runs did train on the device. Without an adapter the experiment and the worker fail before they
 * create or take anything, saying what was tried.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../src/experiments/experiment.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { webgpuMissing } from './helpers/webgpu.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const NO_ADAPTER = { VK_ICD_FILENAMES: '/nonexistent/no_icd.json' };
const RECIPE = 'fig20-gaussian-fc';
let temp: ReturnType<typeof makeTempDir>;

beforeAll(() => {
  temp = makeTempDir('webgpu-experiment');
});
afterAll(() => temp.cleanup());

function cli(args: string[], extraEnv: Record<string, string> = {}): { code: number | null; stderr: string } {
  const env = { ...process.env, RANDLAB_CACHE: join(temp.dir, 'cache'), ...extraEnv };
  const result = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr };
}

/** measurements.csv of an experiment's report, by `condition,seed,metric`. */
function measurements(dir: string): Map<string, number> {
  const [, ...rows] = readFileSync(join(dir, 'report', 'measurements.csv'), 'utf8')
    .trim()
    .split('\n');
  return new Map(
    rows.map((row) => {
      const cells = row.split(',');
      return [cells.slice(0, 3).join(','), Number(cells[3])];
    }),
  );
}

/** The device each training run of an experiment's store recorded in its config, by run id. */
function trainedOn(dir: string): Map<string, unknown> {
  const store = RunStore.open(join(dir, 'store'));
  try {
    const training = store.listRuns().filter((run) => run.model !== '-');
    return new Map(training.map((run) => [run.id, (store.readConfig(run.id) as { device?: unknown }).device]));
  } finally {
    store.close();
  }
}

describe.skipIf(webgpuMissing)('randlab experiment --device webgpu', () => {
  it('trains every run on the device, with the cpu run ids, and measures what the cpu measures', async () => {
    const dataRoot = join(temp.dir, 'data');
    const cpuDir = join(temp.dir, 'cpu');
    await runExperiment({ recipe: RECIPE, scale: 'smoke', seeds: 1, dataRoot, out: cpuDir });
    const gpuDir = join(temp.dir, 'webgpu');
    const args = ['experiment', RECIPE, '--scale', 'smoke', '--seeds', '1', '--jobs', '2', '--device', 'webgpu'];
    const result = cli([...args, '--out', gpuDir, '--data-dir', dataRoot, '--quiet']);
    expect(result.code, result.stderr).toBe(0);

    const gpuRuns = trainedOn(gpuDir);
    expect([...gpuRuns.keys()].sort()).toEqual([...trainedOn(cpuDir).keys()].sort());
    expect(gpuRuns.size).toBe(3);
    for (const [id, device] of gpuRuns) expect(device, id).toBe('webgpu');

    const cpu = measurements(cpuDir);
    const gpu = measurements(gpuDir);
    expect([...gpu.keys()]).toEqual([...cpu.keys()]);
    let differing = 0;
    for (const [key, expected] of cpu) {
      const actual = gpu.get(key)!;
      if (!(Math.abs(actual - expected) <= 1e-4 * Math.max(1, Math.abs(expected))))
        throw new Error(`${key}: webgpu ${actual}, cpu ${expected}`);
      if (actual !== expected) differing++;
    }
    expect(differing, 'no measurement differs in any bit: did the runs train on the cpu?').toBeGreaterThan(0);
  }, 300_000);
});

describe('--device without a WebGPU adapter', () => {
  it('randlab experiment fails before it creates the experiment folder, saying what was tried', () => {
    const out = join(temp.dir, 'no-adapter');
    const args = ['experiment', RECIPE, '--scale', 'smoke', '--seeds', '1', '--device', 'webgpu', '--out', out];
    const result = cli([...args, '--data-dir', join(temp.dir, 'data')], NO_ADAPTER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('device webgpu: no WebGPU adapter');
    expect(result.stderr).toContain('VK_ICD_FILENAMES=/nonexistent/no_icd.json');
    expect(existsSync(out)).toBe(false);
  });

  it('randlab worker refuses to start (before it connects to the queue)', () => {
    const storage = join(temp.dir, 'storage');
    // Nothing listens on port 1: a worker that got past the device would fail on the queue instead.
    const args = ['worker', '--queue', 'redis://127.0.0.1:1', '--storage', storage, '--device', 'webgpu'];
    const result = cli(args, NO_ADAPTER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('device webgpu: no WebGPU adapter');
    expect(existsSync(storage)).toBe(false);
  });
});

describe('--device where the device is not the command’s to choose', () => {
  it('randlab experiment --queue leaves the device to each worker', () => {
    const args = ['experiment', RECIPE, '--queue', 'redis://127.0.0.1:1', '--storage', temp.dir, '--device', 'webgpu'];
    const result = cli(args);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('each worker trains on its own device; give --device to `randlab worker`');
  });

  it('randlab analyze alignment runs no model and takes --device cpu only', () => {
    const result = cli([
      'analyze',
      'alignment',
      '--checkpoint',
      join(temp.dir, 'absent.safetensors'),
      '--device',
      'webgpu',
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('the alignment runs no model');
  });
});
