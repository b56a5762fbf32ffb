import { spawn, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint, readSafetensors } from '../src/checkpoint/index.js';
import { loadDataset } from '../src/data/load.js';
import { Preprocessor } from '../src/data/preprocess.js';
import { createModel } from '../src/models/index.js';
import { evaluate } from '../src/runs/evaluate.js';
import { listCheckpoints } from '../src/runs/checkpoints.js';
import { RunStore } from '../src/runs/store.js';
import { Rng } from '../src/tensor/rng.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { finalWeights, makeTinyImageFolder, type TinyData } from './runs-fixtures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const FIXTURES = join(import.meta.dirname, 'fixtures', 'models');
let data: TinyData;
let temp: ReturnType<typeof makeTempDir>;

beforeAll(async () => {
  data = await makeTinyImageFolder();
  temp = makeTempDir('cli');
});
afterAll(() => {
  temp.cleanup();
  data.cleanup();
});

const env = () => ({
  ...process.env,
  RANDLAB_RUNS: join(temp.dir, 'store'),
  RANDLAB_CACHE: join(temp.dir, 'cache'),
  RANDLAB_THREADS: '2',
});

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', ENTRY, ...args], { env: env(), encoding: 'utf8' });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function expectSuccess(result: { code: number | null; stderr: string }): void {
  if (result.code !== 0) throw new Error(`randlab exited with ${result.code}: ${result.stderr}`);
}

function writeConfig(name: string, text: string): string {
  const path = join(temp.dir, name);
  writeFileSync(path, text);
  return path;
}

describe('randlab train', () => {
  it('trains from a YAML config with flag overrides, logging plain lines when not on a TTY', () => {
    const config = writeConfig(
      'small.yaml',
      `data:\n  dataset: ${data.spec}\nmodel: {name: cnn2, widths: [8, 16]}\ntraining: {batchSize: 16, iterations: 8}\neval: {every: 4}\nlog: {every: 4}\n`,
    );
    const result = cli(['train', '--config', config, '--name', 'yaml-run', '--schedule.lr', '0.02', '--seed', '3']);
    expect(result.stderr).toContain('yaml-run: starting, 8 steps (4 per epoch, 64 training examples)');
    expect(result.stderr).toMatch(/yaml-run: step 4\/8 epoch 1\.00 loss \d\.\d{4} acc \d\.\d{3} \d+ img\/s ETA/);
    expect(result.stdout).toMatch(/^run yaml-run finished at step 8 .*train\/accuracy/);
    expect(result.code).toBe(0);
    const store = RunStore.open(join(temp.dir, 'store'));
    expect(store.readConfig('yaml-run')).toMatchObject({ seed: 3, schedule: { lr: 0.02 }, model: { widths: [8, 16] } });
    store.close();
  });

  it('rejects a bad config naming the field and the allowed values', () => {
    const result = cli(['train', '--data.dataset', data.spec, '--optimizer.name', 'sdg']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      "option '--optimizer.name <value>' argument 'sdg' is invalid. Allowed choices are sgd, adam, adamw.",
    );
    const file = writeConfig('bad.yaml', 'optimizer: {name: sdg}\ntraining: {batch: 4}\n');
    const fromFile = cli(['train', '--config', file]);
    expect(fromFile.code).toBe(1);
    expect(fromFile.stderr).toContain(`invalid run config (${file}):`);
    expect(fromFile.stderr).toMatch(
      /optimizer\.name: Invalid option: expected one of "sgd"\|"adam"\|"adamw"; got "sdg"/,
    );
    expect(fromFile.stderr).toContain(
      'training.batch: unknown field (known here: batchSize, iterations, epochs, dropLast)',
    );
  });

  it('prints the resolved config', () => {
    const result = cli([
      'train',
      '--print-config',
      '--model.name',
      'vgg16',
      '--data.labels.kind',
      'random',
      '--data.labels.k',
      '5',
      '--data.labels.seed',
      '2',
    ]);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      model: { name: 'vgg16' },
      init: { scale: 1 },
      data: { labels: { kind: 'random', k: 5, seed: 2 } },
    });
  });

  it('resumes a run killed with SIGKILL and ends bit-identical to an uninterrupted run', async () => {
    const args = (name: string) => [
      'train',
      '--quiet',
      '--name',
      name,
      '--data.dataset',
      data.spec,
      '--model.widths',
      '8,16',
      '--training.batchSize',
      '16',
      '--training.iterations',
      '300',
      '--checkpoint.every',
      '20',
      '--eval.every',
      '100',
      '--schedule.lr',
      '0.02',
    ];
    const store = RunStore.open(join(temp.dir, 'store'));
    const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args('killed')], {
      env: env(),
      stdio: 'ignore',
    });
    let exitedEarly = false;
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => {
        exitedEarly = signal === null;
        resolve(signal);
      }),
    );
    const firstCheckpoint = join(store.checkpointDir('killed'), 'step-00000020.state.json');
    while (!existsSync(firstCheckpoint)) {
      if (exitedEarly) throw new Error('the training process exited before its first checkpoint');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');
    const killed = store.getRun('killed')!;
    expect(killed.status).toBe('running');
    expect(killed.step).toBeLessThan(300);
    const resumed = cli(['train', '--quiet', '--resume', 'killed']);
    expectSuccess(resumed);
    expect(resumed.stdout).toMatch(/^run killed finished at step 300/);
    expectSuccess(cli(args('uninterrupted')));
    expect(finalWeights(store, 'killed')).toEqual(finalWeights(store, 'uninterrupted'));
    expect(store.metrics('killed', { name: 'test/accuracy' })).toEqual(
      store.metrics('uninterrupted', { name: 'test/accuracy' }),
    );
    // The resumed process writes the same resolved config into its checkpoints as the first one did.
    const last = listCheckpoints(store.checkpointDir('killed')).at(-1)!;
    expect(readCheckpoint(last.prefix).config).toEqual(store.readConfig('killed'));
    store.close();
  });

  it('refuses flags with --resume and reports a finished run', () => {
    expect(cli(['train', '--resume', 'killed', '--schedule.lr', '1']).stderr).toContain(
      "--resume continues run 'killed' with its saved config; it takes no --config or field flags but --device (given: --schedule.lr)",
    );
    const again = cli(['train', '--quiet', '--name', 'killed', '--data.dataset', data.spec]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain("run 'killed' is finished (step 300); pass --force to overwrite it");
  });
});

describe('randlab runs', () => {
  it('lists, shows and exports runs', () => {
    const list = cli(['runs', 'list']);
    expect(list.stdout.split('\n')[0]).toMatch(/^run\s+status\s+step\s+model\s+dataset\s+created$/);
    expect(list.stdout).toMatch(/\nkilled\s+finished\s+300\s+cnn2\s+imagefolder:/);
    const show = JSON.parse(cli(['runs', 'show', 'killed', '--json']).stdout);
    expect(show).toMatchObject({ id: 'killed', status: 'finished', step: 300, config: { name: 'killed' } });
    expect(show.artifacts).toEqual([
      expect.objectContaining({ kind: 'checkpoint', path: 'checkpoints/step-00000300.safetensors', step: 300 }),
    ]);
    const csv = cli(['runs', 'export', 'killed', '--csv', '--metric', 'test/accuracy']).stdout.trim().split('\n');
    expect(csv[0]).toBe('run,step,name,value');
    expect(csv.slice(1).map((line) => line.split(',').slice(0, 3).join(','))).toEqual([
      'killed,100,test/accuracy',
      'killed,200,test/accuracy',
      'killed,300,test/accuracy',
    ]);
    expect(cli(['runs', 'show', 'nope']).stderr).toMatch(/no run 'nope' in store .* \(known runs: .*killed/);
  });
});

describe('randlab eval', () => {
  it('evaluates a run checkpoint and a PyTorch-written state_dict, printing JSON', async () => {
    const store = RunStore.open(join(temp.dir, 'store'));
    const weights = listCheckpoints(store.checkpointDir('killed')).at(-1)!.weights;
    store.close();
    const ours = cli([
      'eval',
      '--model',
      'cnn2',
      '--widths',
      '8,16',
      '--checkpoint',
      weights,
      '--dataset',
      data.spec,
      '--split',
      'test',
      '--json',
    ]);
    expectSuccess(ours);
    const result = JSON.parse(ours.stdout);
    expect(Object.keys(result)).toEqual(['accuracy', 'loss', 'n', 'labels', 'labelSpec']);
    expect(result).toMatchObject({ n: 16, labels: 'real', labelSpec: { kind: 'real' } });
    // The checkpoint's run config names the model, its widths and the dataset.
    const fromConfig = cli(['eval', '--checkpoint', weights, '--json']);
    expectSuccess(fromConfig);
    expect(JSON.parse(fromConfig.stdout)).toEqual(result);
    // The run trained on real labels: as-train test labels are the real ones, and say so.
    expect(JSON.parse(cli(['eval', '--checkpoint', weights, '--test-labels', 'as-train', '--json']).stdout)).toEqual(
      result,
    );

    // tiny-cnn2 was written by PyTorch (tools/check_state_dict.py) for 3×8×8 inputs and 4 classes.
    const torchFile = join(FIXTURES, 'tiny-cnn2.weights.safetensors');
    const torch = JSON.parse(
      cli(['eval', '--model', 'cnn2', '--widths', '6,10', '--checkpoint', torchFile, '--dataset', data.spec, '--json'])
        .stdout,
    );
    const model = createModel('cnn2', { numClasses: 4, inputShape: [3, 8, 8], widths: [6, 10] });
    model.loadStateDict(readSafetensors(torchFile).tensors);
    const test = await loadDataset(data.spec, { split: 'test', cacheDir: null });
    const expected = evaluate(model, test, {
      preprocessor: Preprocessor.fromTrainingSplit(await loadDataset(data.spec, { split: 'train', cacheDir: null })),
    });
    expect(torch).toEqual({
      accuracy: expected.accuracy,
      loss: expected.loss,
      n: 16,
      labels: 'real',
      labelSpec: { kind: 'real' },
    });
  });

  it('says when a checkpoint does not fit the model, or carries no config to name one', () => {
    const torchFile = join(FIXTURES, 'tiny-cnn2.weights.safetensors');
    const noModel = cli(['eval', '--checkpoint', torchFile, '--dataset', data.spec, '--json']);
    expect(noModel.code).toBe(1);
    expect(noModel.stderr).toMatch(
      /tiny-cnn2\.weights\.safetensors carries no run config \(.*\): give --model NAME\n$/,
    );
    const result = cli(['eval', '--model', 'cnn2', '--checkpoint', torchFile, '--dataset', data.spec, '--json']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /tiny-cnn2\.weights\.safetensors does not fit cnn2 on imagefolder:.*'conv1\.weight': shape \[6, 3, 3, 3\] in the state dict, \[256, 3, 3, 3\] in the model/,
    );
  });
});

describe('test labels drawn like the training labels', () => {
  // Random labels over 4 classes (seed 3), scored on as-train test labels.
  const asTrainArgs = (name: string) =>
    `train --quiet --name ${name} --data.dataset ${data.spec} --model.widths 8,16 --training.batchSize 16 ` +
    '--training.iterations 8 --eval.every 4 --data.labels.kind random --data.labels.k 4 --data.labels.seed 3 ' +
    '--data.testLabels as-train';

  it('train --data.testLabels as-train records test_as_train/*; eval --test-labels as-train scores the same labels', async () => {
    const trained = cli(asTrainArgs('cli-as-train').split(' '));
    expectSuccess(trained);
    expect(trained.stdout).toMatch(/test_as_train\/accuracy \d\.\d{4}/);
    expect(trained.stdout).not.toContain('test/accuracy');
    const store = RunStore.open(join(temp.dir, 'store'));
    expect(store.readConfig('cli-as-train')).toMatchObject({ data: { testLabels: 'as-train' } });
    const recorded = store.latestMetrics('cli-as-train');
    const weights = listCheckpoints(store.checkpointDir('cli-as-train')).at(-1)!.weights;
    store.close();

    const asTrain = cli(['eval', '--checkpoint', weights, '--test-labels', 'as-train', '--json']);
    expectSuccess(asTrain);
    expect(JSON.parse(asTrain.stdout)).toEqual({
      accuracy: recorded['test_as_train/accuracy'],
      loss: recorded['test_as_train/loss'],
      n: 16,
      labels: 'as-train',
      labelSpec: { kind: 'random', k: 4, seed: 3 },
    });
    // Exactly the labels of the documented stream: word 4·j of labels/held-out/test of the labels' seed.
    const model = createModel('cnn2', { numClasses: 4, inputShape: [3, 8, 8], widths: [8, 16] });
    model.loadStateDict(readSafetensors(weights).tensors);
    const test = await loadDataset(data.spec, { split: 'test', cacheDir: null });
    const preprocessor = Preprocessor.fromTrainingSplit(
      await loadDataset(data.spec, { split: 'train', cacheDir: null }),
    );
    const direct = Int32Array.from({ length: 16 }, (_, j) =>
      Rng.fromState({ seed: 3, stream: 'labels/held-out/test', position: 4 * j }).int(4),
    );
    expect(JSON.parse(asTrain.stdout).accuracy).toBe(evaluate(model, test, { labels: direct, preprocessor }).accuracy);
    expect(cli(['eval', '--checkpoint', weights, '--test-labels', 'as-train']).stdout).toMatch(
      /^cnn2 .* on imagefolder:.* \(test, as-train labels \(random k=4 seed=3\)\): accuracy \d\.\d{4}, loss \d+\.\d{4}, n 16\n$/,
    );
  });

  it('refuses as-train on the split the run trained on, or for a file without a run config', () => {
    const store = RunStore.open(join(temp.dir, 'store'));
    const weights = listCheckpoints(store.checkpointDir('cli-as-train')).at(-1)!.weights;
    store.close();
    expect(cli(['eval', '--checkpoint', weights, '--test-labels', 'as-train', '--split', 'train']).stderr).toContain(
      '--test-labels as-train draws fresh labels for a held-out split, but --split train is the split the checkpoint trained on (data.trainSplit)',
    );
    const torchFile = join(FIXTURES, 'tiny-cnn2.weights.safetensors');
    const torch = ['eval', '--model', 'cnn2', '--widths', '6,10', '--checkpoint', torchFile, '--dataset', data.spec];
    expect(cli([...torch, '--test-labels', 'as-train']).stderr).toMatch(
      /--test-labels as-train draws labels like the training labels of the checkpoint's run config, but .*tiny-cnn2\.weights\.safetensors carries none/,
    );
  });
});
