/**
 * `--device` on `randlab experiment`, `randlab worker` and `randlab analyze` (on SwiftShader here).
 *
 * fig20-gaussian-fc at smoke scale with one seed is the cheapest recipe (three small MLPs on Gaussian
 * inputs, about 20 s on SwiftShader against 1 s on the cpu): trained on webgpu with `--jobs 2` (so each
 * run trains in a pool worker, which must be told the device), and queued for a `randlab worker
 * --device webgpu`, it plans the same run ids as on the cpu, each run's config.json says webgpu, and
 * the measurements agree within 1e-4 relative (measured: ~1e-6), but not bit for bit, which shows the
 * runs did train on the device. Without an adapter the experiment and the worker fail before they
 * create or take anything, saying what was tried.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runExperiment } from '../src/experiments/experiment.js';
import { getRecipe } from '../src/experiments/recipes/index.js';
import { trainSpec } from '../src/experiments/train.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { startCli } from './helpers/experiment-cli.js';
import { redisAvailable, startRedis } from './helpers/redis-server.js';
import { webgpuMissing } from './helpers/webgpu.js';
import { makeTinyImageFolder } from './runs-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const NO_ADAPTER = { VK_ICD_FILENAMES: '/nonexistent/no_icd.json' };
const RECIPE = 'fig20-gaussian-fc';
const SMOKE = ['experiment', RECIPE, '--scale', 'smoke', '--seeds', '1'];
const TRAINS = getRecipe(RECIPE)
  .plan('smoke', [0], '/nonexistent')
  .filter((spec) => spec.kind === 'train')
  .map((spec) => spec.id);
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

/** The device each training run of an experiment folder recorded in its config.json, by run id. */
function trainedOn(dir: string): Map<string, unknown> {
  return new Map(
    TRAINS.map((id) => {
      const config = JSON.parse(readFileSync(join(dir, 'store', id, 'config.json'), 'utf8')) as { device?: unknown };
      return [id, config.device];
    }),
  );
}

/** Every run trained on webgpu, and the measurements agree with the cpu's within 1e-4 but not in every bit. */
function expectWebGpuAgreesWithCpu(dir: string, cpuDir: string): void {
  for (const [id, device] of trainedOn(dir)) expect(device, id).toBe('webgpu');
  for (const [id, device] of trainedOn(cpuDir)) expect(device, id).toBe('cpu');
  const cpu = measurements(cpuDir);
  const gpu = measurements(dir);
  expect([...gpu.keys()]).toEqual([...cpu.keys()]);
  let differing = 0;
  for (const [key, expected] of cpu) {
    const actual = gpu.get(key)!;
    if (!(Math.abs(actual - expected) <= 1e-4 * Math.max(1, Math.abs(expected))))
      throw new Error(`${key}: webgpu ${actual}, cpu ${expected}`);
    if (actual !== expected) differing++;
  }
  expect(differing, 'no measurement differs in any bit: did the runs train on the cpu?').toBeGreaterThan(0);
}

describe.skipIf(webgpuMissing)('experiments on webgpu', () => {
  const dataRoot = '/nonexistent'; // fig20 makes its Gaussian data
  const cpuDir = () => join(temp.dir, 'cpu');

  beforeAll(async () => {
    await runExperiment({ recipe: RECIPE, scale: 'smoke', seeds: 1, dataRoot, out: cpuDir() });
  }, 120_000);

  it('randlab experiment --device webgpu --jobs 2 trains every run there, with the cpu run ids', () => {
    const out = join(temp.dir, 'webgpu');
    const result = cli([
      ...SMOKE,
      '--data-dir',
      dataRoot,
      '--jobs',
      '2',
      '--device',
      'webgpu',
      '--out',
      out,
      '--quiet',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const runs = (dir: string) => readdirSync(join(dir, 'store')).filter((name) => name !== 'index.sqlite');
    expect(runs(out).sort()).toEqual(runs(cpuDir()).sort());
    expectWebGpuAgreesWithCpu(out, cpuDir());
  }, 300_000);

  it.skipIf(!redisAvailable())(
    'randlab worker --device webgpu trains the queued runs it takes there',
    async () => {
      const redis = await startRedis();
      const storage = join(temp.dir, 'storage');
      const cwd = join(temp.dir, 'gpu-host');
      mkdirSync(cwd, { recursive: true });
      const queue = ['--queue', redis.url, '--storage', storage, '--data-dir', dataRoot];
      const worker = startCli(['worker', ...queue, '--device', 'webgpu'], {}, { cwd });
      try {
        const coordinator = await startCli([...SMOKE, ...queue, '--interval', '1']).ended;
        expect(coordinator.code, `${coordinator.stdout}\n${coordinator.stderr}`).toBe(0);
        expect(worker.stdout()).toContain(`run ${TRAINS[0]} (${RECIPE}-smoke) on webgpu`);
        expectWebGpuAgreesWithCpu(join(storage, `${RECIPE}-smoke`), cpuDir());
      } finally {
        worker.child.kill('SIGTERM');
        await worker.ended;
        await redis.stop();
      }
    },
    300_000,
  );
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
    const storage = join(temp.dir, 'no-adapter-storage');
    // Nothing listens on port 1: a worker that got past the device would fail on the queue instead.
    const args = ['worker', '--queue', 'redis://127.0.0.1:1', '--storage', storage, '--device', 'webgpu'];
    const result = cli(args, NO_ADAPTER);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('device webgpu: no WebGPU adapter');
    expect(existsSync(storage)).toBe(false);
  });
});

describe('a run with probes in an experiment on webgpu', () => {
  it('trains on the cpu (its probes read the model on the host), says so, and keeps its id', async () => {
    const data = await makeTinyImageFolder();
    const store = RunStore.open(join(temp.dir, 'probed'));
    try {
      const config = {
        data: { dataset: data.spec },
        model: { name: 'cnn2' as const, widths: [4, 8] },
        training: { batchSize: 16, iterations: 2 },
      };
      const probe = {
        describe: { kind: 'constant' },
        create: async () => ({ every: 1, onStep: () => ({ 'p/x': 1 }) }),
      };
      const spec = trainSpec({ condition: 'c', seed: 0, config, probes: [probe] });
      const lines: string[] = [];
      const log = (line: string) => lines.push(line);
      await spec.execute({ store, dataRoot: data.root, experimentDir: temp.dir, log, device: 'webgpu' });
      expect(store.getRun(spec.id)?.status).toBe('finished');
      expect((store.readConfig(spec.id) as { device: string }).device).toBe('cpu');
      expect(lines).toContain(
        `    ${spec.id}: trains on the cpu: its probes read the model on the host at every evaluation`,
      );
      expect(store.metrics(spec.id, { name: 'p/x' }).length).toBeGreaterThan(0);
      // The device is no part of the id.
      expect(trainSpec({ condition: 'c', seed: 0, config, probes: [probe] }).id).toBe(spec.id);
    } finally {
      store.close();
      data.cleanup();
    }
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
