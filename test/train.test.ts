import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint/index.js';
import { Linear, parameterNorms } from '../src/nn/index.js';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { LockHeldError, RunLock } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { DivergenceError, METRICS, resumeRun, trainRun, type ProgressEvent } from '../src/runs/trainer.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { finalWeights as finalWeightsOf, makeTinyImageFolder, tinyRunConfig, type TinyData } from './runs-fixtures.js';

let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;
let store: RunStore;

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('train');
  store = RunStore.open(temp.dir);
});
afterAll(() => {
  store.close();
  temp.cleanup();
  data.cleanup();
});

/** cnn2 with 8 filters on 64 images of 3×8×8, 4 classes: 4 steps per epoch at batch 16. */
const tinyConfig = (name: string, extra: Record<string, unknown> = {}) => tinyRunConfig(data.spec, name, extra);

const options = () => ({ store, cacheDir: null });

const finalWeights = (runId: string) => finalWeightsOf(store, runId);

describe('trainRun', () => {
  it('trains, logs metrics at their cadence and checkpoints every N steps and at the end', async () => {
    const result = await trainRun(tinyConfig('basic'), options());
    expect(result).toMatchObject({ runId: 'basic', status: 'finished', step: 24 });
    expect(store.getRun('basic')).toMatchObject({ status: 'finished', step: 24, model: 'cnn2' });
    expect(store.metrics('basic', { name: METRICS.batchLoss }).map((m) => m.step)).toEqual([4, 8, 12, 16, 20, 24]);
    expect(store.metrics('basic', { name: METRICS.testAccuracy }).map((m) => m.step)).toEqual([8, 16, 24]);
    expect(store.metrics('basic', { name: METRICS.trainAccuracy }).map((m) => m.step)).toEqual([8, 16, 24]);
    expect(store.metrics('basic', { name: METRICS.imagesPerSecond }).every((m) => m.value! > 0)).toBe(true);
    // keep: last → only the final checkpoint remains, and it is the one the index lists.
    expect(listCheckpoints(store.checkpointDir('basic')).map((c) => c.step)).toEqual([24]);
    expect(store.artifacts('basic').map((a) => a.path)).toEqual(['checkpoints/step-00000024.safetensors']);
    const saved = JSON.parse(readFileSync(join(store.runDir('basic'), 'config.json'), 'utf8'));
    expect(saved).toMatchObject({
      name: 'basic',
      seed: 5,
      init: { scale: 0.3, scheme: 'kaiming_normal' },
      optimizer: { name: 'sgd', momentum: 0.9 },
    });
    expect(result.metrics[METRICS.trainLoss]).toBeLessThan(Math.log(4));
  });

  it('is deterministic: the same config and seed give bit-identical weights', async () => {
    await trainRun(tinyConfig('det-a'), options());
    await trainRun(tinyConfig('det-b'), options());
    expect(finalWeights('det-a')).toEqual(finalWeights('det-b'));
    await trainRun(tinyConfig('det-c', { seed: 6 }), options());
    expect(finalWeights('det-c')).not.toEqual(finalWeights('det-a'));
  });

  it.each([
    { id: 'real', labels: 'real test labels', extra: () => ({}), test: METRICS.testAccuracy },
    {
      id: 'as-train',
      labels: 'random training labels, as-train test labels',
      extra: () => ({
        data: { dataset: data.spec, labels: { kind: 'random', k: 4, seed: 9 }, testLabels: 'as-train' },
      }),
      test: METRICS.testAsTrainAccuracy,
    },
  ])(
    'stops on request with a checkpoint, and the resumed run ends bit-identical to an uninterrupted one ($labels)',
    async ({ id, extra, test }) => {
      const controller = new AbortController();
      const onProgress = (event: ProgressEvent) => {
        if (event.type === 'step' && event.step >= 8) controller.abort();
      };
      const [stop, nonstop] = [`stop-${id}`, `nonstop-${id}`];
      const stopped = await trainRun(tinyConfig(stop, { checkpoint: { every: 100 }, ...extra() }), {
        ...options(),
        signal: controller.signal,
        onProgress,
      });
      expect(stopped).toMatchObject({ status: 'stopped', step: 8 });
      expect(listCheckpoints(store.checkpointDir(stop)).map((c) => c.step)).toEqual([8]);
      const resumed = await resumeRun(stop, options());
      expect(resumed).toMatchObject({ status: 'finished', step: 24 });
      await trainRun(tinyConfig(nonstop, { checkpoint: { every: 100 }, ...extra() }), options());
      expect(finalWeights(stop)).toEqual(finalWeights(nonstop));
      for (const name of [METRICS.trainLoss, test]) {
        expect(store.metrics(stop, { name }).map((m) => m.step)).toEqual([8, 16, 24]);
        expect(store.metrics(stop, { name })).toEqual(store.metrics(nonstop, { name }));
      }
    },
  );

  it("refuses to resume a run another live process is training, and takes over a dead process's lock", async () => {
    const controller = new AbortController();
    const onProgress = (event: ProgressEvent) => {
      if (event.type === 'step' && event.step >= 4) controller.abort();
    };
    await trainRun(tinyConfig('locked', { checkpoint: { every: 100 } }), {
      ...options(),
      signal: controller.signal,
      onProgress,
    });
    const lockPath = join(store.runDir('locked'), 'train.lock');
    expect(existsSync(lockPath)).toBe(false); // released when training stopped
    const held = RunLock.acquire(store.runDir('locked'), 'locked'); // as if another trainer held it
    const refused = await resumeRun('locked', options()).catch((e: unknown) => e);
    expect((refused as Error).message).toMatch(
      new RegExp(`^run 'locked' is being trained by process ${process.pid} on .* \\(lock .*train\\.lock\\)`),
    );
    const forced = await trainRun(tinyConfig('locked', { checkpoint: { every: 100 } }), {
      ...options(),
      force: true,
    }).catch((e: unknown) => e);
    expect((forced as Error).message).toMatch(/^run 'locked' is being trained by process/);
    expect(store.getRun('locked')!.step).toBe(4); // untouched
    held.release();
    const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
    writeFileSync(lockPath, JSON.stringify({ pid: dead, host: hostname(), since: 'earlier' }));
    await expect(resumeRun('locked', options())).resolves.toMatchObject({ status: 'finished', step: 24 });
    expect(existsSync(lockPath)).toBe(false);
  });

  it('locks a new run before writing it: a second creator is refused and nothing of the run is written', async () => {
    const runDir = store.runDir('contested');
    const held = RunLock.acquire(runDir, 'contested'); // as if another process were creating this run
    const refused = await trainRun(tinyConfig('contested'), options()).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(store.getRun('contested')).toBeUndefined();
    expect(readdirSync(runDir)).toEqual(['train.lock']);
    held.release();
    await expect(trainRun(tinyConfig('contested'), options())).resolves.toMatchObject({ status: 'finished' });
  });

  it('a new run that fails before it is written leaves no folder behind', async () => {
    const broken = tinyConfig('no-data', { data: { dataset: 'imagefolder:/nonexistent/folder,size=8' } });
    await expect(trainRun(broken, options())).rejects.toThrow(/nonexistent/);
    expect(existsSync(store.runDir('no-data'))).toBe(false);
  });

  it('--force replaces a run while holding its lock, leaving nothing of the old folder', async () => {
    await trainRun(tinyConfig('replaced'), options());
    const stale = join(store.runDir('replaced'), 'left-by-the-old-run.txt');
    writeFileSync(stale, 'old');
    let lockDuringTraining = false;
    const onProgress = (event: ProgressEvent) => {
      if (event.type === 'step') lockDuringTraining ||= existsSync(join(store.runDir('replaced'), 'train.lock'));
    };
    await expect(trainRun(tinyConfig('replaced'), { ...options(), force: true, onProgress })).resolves.toMatchObject({
      status: 'finished',
    });
    expect(lockDuringTraining).toBe(true);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(join(store.runDir('replaced'), 'train.lock'))).toBe(false);
  });

  it('stops with a clear message on NaN/Inf and keeps the last good checkpoint', async () => {
    const config = tinyConfig('diverge', {
      schedule: { type: 'constant', lr: 1e6 },
      checkpoint: { every: 1, keep: 'all' },
      training: { batchSize: 16, iterations: 50 },
    });
    const error = await trainRun(config, options()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DivergenceError);
    expect((error as Error).message).toMatch(
      /^run 'diverge' diverged: .* (are|is) not finite .*; the last good checkpoint is step \d+ \(.*step-\d+\.safetensors\)$/,
    );
    const run = store.getRun('diverge')!;
    expect(run.status).toBe('diverged');
    expect(run.message).toContain('not finite');
    for (const checkpoint of listCheckpoints(store.checkpointDir('diverge'))) {
      for (const [, t] of readCheckpoint(checkpoint.prefix).modelState)
        if (t.dtype === 'float32') expect(t.data.every(Number.isFinite)).toBe(true);
    }
  });

  it('refuses to overwrite a run without force', async () => {
    await expect(trainRun(tinyConfig('basic'), options())).rejects.toThrow(
      "run 'basic' is finished (step 24); pass --force to overwrite it",
    );
    store.createRun({ id: 'half', model: 'cnn2', dataset: 'x', config: {} });
    await expect(trainRun(tinyConfig('half'), options())).rejects.toThrow(
      "run 'half' already exists (status running, step 0); continue it with --resume half, or pass --force to start it over",
    );
    const forced = await trainRun(tinyConfig('basic', { training: { batchSize: 16, iterations: 4 } }), {
      ...options(),
      force: true,
    });
    expect(forced).toMatchObject({ status: 'finished', step: 4 });
    expect(store.metrics('basic', { name: METRICS.batchLoss }).map((m) => m.step)).toEqual([4]);
  });

  it('checks that the data fits the model before creating the run', async () => {
    await expect(trainRun(tinyConfig('misfit', { model: { name: 'vgg11' } }), options())).rejects.toThrow(
      'vgg11 needs images of at least 32×32, got input shape [3, 8, 8]',
    );
    expect(store.getRun('misfit')).toBeUndefined();
    expect(existsSync(store.runDir('misfit'))).toBe(false);
  });

  it('drives probes at step 0 and every N steps, storing what they return', async () => {
    const seen: number[] = [];
    const probe = { every: 10, onStep: (step: number) => (seen.push(step), { 'probe/step': step }) };
    await trainRun(tinyConfig('probed'), { ...options(), probes: [probe] });
    expect(seen).toEqual([0, 10, 20, 24]);
    expect(store.metrics('probed', { name: 'probe/step' }).map((m) => m.value)).toEqual([0, 10, 20, 24]);
  });
});

describe('transfer: a run initialised from another run', () => {
  it('takes the pre-trained weights, rescales them to their initial norms and draws a fresh head', async () => {
    await trainRun(
      tinyConfig('upstream', { data: { dataset: data.spec, labels: { kind: 'random', k: 5, seed: 1 } } }),
      options(),
    );
    const upstreamInit = new Map(
      Object.entries(
        JSON.parse(readFileSync(join(store.runDir('upstream'), 'init-norms.json'), 'utf8')) as Record<string, number>,
      ),
    );
    const upstreamFinal = readCheckpoint(listCheckpoints(store.checkpointDir('upstream')).at(-1)!.prefix).modelState;
    let initial: Map<string, number> | null = null;
    let conv: Float32Array | null = null;
    await trainRun(
      tinyConfig('downstream', {
        seed: 9,
        init: { from: { run: 'upstream' } },
        training: { batchSize: 16, iterations: 4 },
      }),
      {
        ...options(),
        initialize: (model) => {
          initial = parameterNorms(model);
          conv = model.firstLayer.weight.data.slice();
        },
      },
    );
    for (const key of ['conv1.weight', 'conv1.bias', 'fc1.weight', 'fc1.bias'])
      expect(initial!.get(key)).toBeCloseTo(upstreamInit.get(key)!, 4);
    // Same direction as the trained upstream weights: rescaling changes only the norm.
    const trained = upstreamFinal.get('conv1.weight')!.data;
    const dot = conv!.reduce((s, v, i) => s + v * trained[i]!, 0);
    const norm = (a: Float32Array) => Math.sqrt(a.reduce((s, v) => s + v * v, 0));
    expect(dot / (norm(conv!) * norm(trained))).toBeCloseTo(1, 5);
    // The head has 4 outputs (real labels) where upstream had 5: it must be fresh.
    expect(store.getRun('downstream')!.status).toBe('finished');
  });

  it('can take the first layer only and leave the rest fresh', async () => {
    let first: Float32Array | null = null;
    let hidden: Float32Array | null = null;
    await trainRun(
      tinyConfig('first-only', {
        init: { from: { run: 'upstream', include: ['conv1'], rescale: false } },
        training: { batchSize: 16, iterations: 1 },
      }),
      {
        ...options(),
        initialize: (model) => {
          first = model.firstLayer.weight.data.slice();
          const fc1 = model.getSubmodule('fc1');
          if (!(fc1 instanceof Linear)) throw new Error('cnn2.fc1 is not Linear');
          hidden = fc1.weight.data.slice();
        },
      },
    );
    const upstream = readCheckpoint(listCheckpoints(store.checkpointDir('upstream')).at(-1)!.prefix).modelState;
    expect(first).toEqual(upstream.get('conv1.weight')!.data);
    expect(hidden).not.toEqual(upstream.get('fc1.weight')!.data);
  });

  it('names what is missing when the source does not fit', async () => {
    await expect(
      trainRun(
        tinyConfig('bad-from', { model: { name: 'cnn2', widths: [4, 16] }, init: { from: { run: 'upstream' } } }),
        options(),
      ),
    ).rejects.toThrow(
      /init\.from run 'upstream' step 24: .*'conv1\.weight': shape \[8, 3, 3, 3\] in the state dict, \[4, 3, 3, 3\] in the model/,
    );
  });
});
