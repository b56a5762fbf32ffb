/**
 * `randlab train --device webgpu` (on SwiftShader here): a tiny cnn2 run trains on the device and
 * its metrics match the same run on the cpu; a run stopped after a webgpu checkpoint resumes on the
 * cpu and ends where the all-cpu run ends; with no adapter the command fails, says what was tried,
 * and creates no run folder.
 *
 * Tolerance: 1e-3 relative on losses and parameters after 8 steps (the per-step agreement is
 * ~1e-6, test/webgpu-models.test.ts; eight steps of SGD with momentum amplify it), and accuracies
 * within one example of the evaluated set.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/index.js';
import { benchTrainingStepOnWebGpu } from '../src/runs/bench.js';
import { latestCheckpoint } from '../src/runs/checkpoints.js';
import { RunStore } from '../src/runs/store.js';
import { resumeRun, trainRun } from '../src/runs/trainer.js';
import { releaseTensorWebGpu } from '../src/tensor/index.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { webgpuMissing } from './helpers/webgpu.js';
import { makeTinyImageFolder, type TinyData } from './runs-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('webgpu-train');
});
afterAll(async () => {
  temp.cleanup();
  data.cleanup();
  await releaseTensorWebGpu();
});

const storeDir = (): string => join(temp.dir, 'store');

function cli(
  args: string[],
  extraEnv: Record<string, string> = {},
): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, RANDLAB_RUNS: storeDir(), RANDLAB_CACHE: join(temp.dir, 'cache'), ...extraEnv };
  const result = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env, encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function configFile(): string {
  const path = join(temp.dir, 'tiny.yaml');
  writeFileSync(
    path,
    `data:\n  dataset: ${data.spec}\nmodel: {name: cnn2, widths: [8, 16]}\n` +
      `training: {batchSize: 16, iterations: 8}\neval: {every: 4}\nlog: {every: 4}\ncheckpoint: {every: 4, keep: all}\n`,
  );
  return path;
}

function expectRelative(actual: number, expected: number, tolerance: number, what: string): void {
  if (!(Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected))))
    throw new Error(`${what}: webgpu ${actual}, cpu ${expected}`);
}

function expectSameMetrics(actual: Record<string, number | null>, expected: Record<string, number | null>): void {
  for (const name of ['train/loss', 'test/loss', 'train/batch_loss'])
    expectRelative(actual[name]!, expected[name]!, 1e-3, name);
  // 64 training and 16 test examples: accuracies within one example.
  expect(Math.abs(actual['train/accuracy']! - expected['train/accuracy']!)).toBeLessThanOrEqual(1 / 64 + 1e-9);
  expect(Math.abs(actual['test/accuracy']! - expected['test/accuracy']!)).toBeLessThanOrEqual(1 / 16 + 1e-9);
}

/** The weights of a run's last checkpoint. */
function finalWeights(runId: string): Map<string, Float32Array> {
  const store = RunStore.open(storeDir());
  try {
    const checkpoint = latestCheckpoint(store.checkpointDir(runId))!;
    const state = readCheckpoint(checkpoint.prefix).modelState;
    return new Map([...state].filter(([, t]) => t.dtype === 'float32').map(([key, t]) => [key, t.data]));
  } finally {
    store.close();
  }
}

function expectSameWeights(actual: Map<string, Float32Array>, expected: Map<string, Float32Array>): void {
  for (const [key, want] of expected) {
    const got = actual.get(key)!;
    let difference = 0;
    let size = 0;
    for (let i = 0; i < want.length; i++) {
      difference += (got[i]! - want[i]!) ** 2;
      size += want[i]! ** 2;
    }
    if (!(Math.sqrt(difference) <= 1e-3 * Math.max(Math.sqrt(size), 1e-3 * Math.sqrt(want.length))))
      throw new Error(`${key}: ‖webgpu − cpu‖ = ${Math.sqrt(difference)}, ‖cpu‖ = ${Math.sqrt(size)}`);
  }
}

describe.skipIf(webgpuMissing)('randlab train --device webgpu', () => {
  it('trains a tiny cnn2 run whose metrics and weights match the same run on the cpu', () => {
    const config = configFile();
    for (const device of ['cpu', 'webgpu']) {
      const result = cli(['train', '--config', config, '--name', `tiny-${device}`, '--device', device, '--quiet']);
      if (result.code !== 0) throw new Error(`train --device ${device} exited with ${result.code}: ${result.stderr}`);
    }
    const store = RunStore.open(storeDir());
    const [cpu, gpu] = [store.latestMetrics('tiny-cpu'), store.latestMetrics('tiny-webgpu')];
    expect(store.readConfig('tiny-webgpu')).toMatchObject({ device: 'webgpu' });
    store.close();
    expectSameMetrics(gpu, cpu);
    expectSameWeights(finalWeights('tiny-webgpu'), finalWeights('tiny-cpu'));
  });

  it('a run stopped after a webgpu checkpoint resumes on the cpu and ends where the cpu run ends', async () => {
    const store = RunStore.open(storeDir());
    try {
      const stop = new AbortController();
      const config = {
        name: 'moved',
        device: 'webgpu',
        data: { dataset: data.spec },
        model: { name: 'cnn2', widths: [8, 16] },
        training: { batchSize: 16, iterations: 8 },
        eval: { every: 4 },
        log: { every: 4 },
        checkpoint: { every: 4, keep: 'all' },
      };
      const first = await trainRun(config, {
        store,
        cacheDir: join(temp.dir, 'cache'),
        signal: stop.signal,
        onProgress: (event) => {
          if (event.type === 'step' && event.step === 4) stop.abort();
        },
      });
      expect(first).toMatchObject({ status: 'stopped', step: 4 });
      const resumed = await resumeRun('moved', { store, cacheDir: join(temp.dir, 'cache'), device: 'cpu' });
      expect(resumed).toMatchObject({ status: 'finished', step: 8 });
      expectSameMetrics(store.latestMetrics('moved'), store.latestMetrics('tiny-cpu'));
    } finally {
      store.close();
    }
    expectSameWeights(finalWeights('moved'), finalWeights('tiny-cpu'));
  });

  it('randlab eval --device webgpu scores a checkpoint as the cpu does', () => {
    const store = RunStore.open(storeDir());
    const checkpoint = latestCheckpoint(store.checkpointDir('tiny-cpu'))!;
    store.close();
    const scores = ['cpu', 'webgpu'].map((device) => {
      const result = cli(['eval', '--checkpoint', checkpoint.weights, '--device', device, '--json']);
      if (result.code !== 0) throw new Error(`eval --device ${device} exited with ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as { loss: number; accuracy: number; n: number };
    });
    expect(scores[1]!.n).toBe(scores[0]!.n);
    expect(scores[1]!.accuracy).toBe(scores[0]!.accuracy);
    expectRelative(scores[1]!.loss, scores[0]!.loss, 1e-5, 'eval loss');
  });

  it('bench times training steps on the device (benchTrainingStepOnWebGpu, `randlab bench --device webgpu`)', async () => {
    // The bench's mlp on 3×4×4 inputs: SwiftShader needs ~20 s a step for its 3×32×32 shape.
    const result = await benchTrainingStepOnWebGpu('mlp', { batch: 4, steps: 2, inputShape: [3, 4, 4] });
    expect(result).toMatchObject({ model: 'mlp', batch: 4, steps: 2, backend: 'webgpu' });
    expect(result.images_per_s).toBeGreaterThan(0);
  });

  it('without an adapter: says what was tried and how to get one, exits non-zero, creates no run', () => {
    const result = cli(['train', '--config', configFile(), '--name', 'no-adapter', '--device', 'webgpu'], {
      VK_ICD_FILENAMES: '/nonexistent/no_icd.json',
    });
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('device webgpu: no WebGPU adapter');
    expect(result.stderr).toContain('VK_ICD_FILENAMES=/nonexistent/no_icd.json');
    expect(result.stderr).toContain('`randlab devices`');
    expect(existsSync(join(storeDir(), 'no-adapter'))).toBe(false);
  });
});
