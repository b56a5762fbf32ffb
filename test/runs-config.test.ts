import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  applyOverrides,
  CONFIG_FIELDS,
  completeSchedule,
  parseFieldValue,
  readConfigFile,
  resolveConfig,
} from '../src/runs/config.js';

const dir = mkdtempSync(join(tmpdir(), 'randlab-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('run config defaults (docs/paper.md §3)', () => {
  const config = resolveConfig({});
  it('trains cnn2 on CIFAR-10 with SGD momentum 0.9, constant lr 0.01, batch 256, 40 epochs', () => {
    expect(config.model.name).toBe('cnn2');
    expect(config.data.dataset).toBe('cifar10');
    expect(config.optimizer).toMatchObject({ name: 'sgd', momentum: 0.9, weightDecay: 0 });
    expect(config.schedule).toEqual({ type: 'constant', lr: 0.01, warmupSteps: 0 });
    expect(config.training).toMatchObject({ batchSize: 256, epochs: 40 });
  });
  it('standardises inputs, no augmentation, He normal × 0.3 for cnn2', () => {
    expect(config.data.preprocessing).toBe('standardize');
    expect(config.data.augment).toEqual({ cropPad: 0, flip: false });
    expect(config.init).toMatchObject({ scheme: 'kaiming_normal', scale: 0.3, from: null });
  });
  it('init scale depends on the model unless given', () => {
    expect(resolveConfig({ model: { name: 'mlp' } }).init.scale).toBeCloseTo(Math.SQRT1_2, 12);
    expect(resolveConfig({ model: { name: 'vgg16' } }).init.scale).toBe(1);
    expect(resolveConfig({ model: { name: 'cnn2' }, init: { scale: 0.05 } }).init.scale).toBe(0.05);
  });
  it('the transfer split defaults to 20k upstream / 25k downstream', () => {
    expect(resolveConfig({ data: { split: { use: 'downstream' } } }).data.split).toEqual({
      seed: 0,
      parts: { upstream: 20000, downstream: 25000 },
      use: 'downstream',
    });
  });
  it('scores the test split on its real labels unless data.testLabels says as-train', () => {
    expect(config.data.testLabels).toBe('real');
    expect(resolveConfig({ data: { testLabels: 'as-train' } }).data.testLabels).toBe('as-train');
  });
  it('a cosine schedule without totalSteps anneals over the run', () => {
    const cosine = resolveConfig({ schedule: { type: 'cosine', lr: 0.1 } }).schedule;
    expect(cosine).toMatchObject({ type: 'cosine', lr: 0.1, totalSteps: undefined });
    expect(completeSchedule(cosine, 1234)).toMatchObject({ type: 'cosine', totalSteps: 1234 });
  });
});

describe('config errors name the field, what is allowed and what was given', () => {
  const fails = (raw: unknown): string => {
    try {
      resolveConfig(raw, 'run.yaml');
    } catch (error) {
      return (error as Error).message;
    }
    throw new Error('expected the config to be rejected');
  };
  it('an unknown enum value', () => {
    const message = fails({ optimizer: { name: 'sdg' } });
    expect(message).toContain('invalid run config run.yaml');
    expect(message).toMatch(/optimizer\.name: .*"sgd".*"adam".*"adamw".*got "sdg"/);
  });
  it('an unknown model lists the models', () => {
    expect(fails({ model: { name: 'vgg19' } })).toMatch(
      /model\.name: .*"mlp".*"cnn2".*"vgg11".*"vgg16".*"resnet18".*"wrn-28-4".*got "vgg19"/,
    );
  });
  it('an unknown field lists the known ones', () => {
    expect(fails({ optimiser: { lr: 1 } })).toContain(
      'optimiser: unknown field (known here: name, seed, device, data, model, init, optimizer, schedule, training, eval, log, checkpoint)',
    );
    expect(fails({ training: { batch: 3 } })).toContain(
      'training.batch: unknown field (known here: batchSize, iterations, epochs, dropLast)',
    );
  });
  it('an option the model does not read', () => {
    expect(fails({ model: { name: 'cnn2', batchNorm: true } })).toContain(
      'model.batchNorm: does not apply to cnn2 (only to vgg11, vgg16)',
    );
  });
  it('labels, schedules and datasets are checked by their owners’ rules', () => {
    expect(fails({ data: { labels: { kind: 'random' } } })).toMatch(/data\.labels\.k: /);
    expect(fails({ schedule: { type: 'step', lr: 0.1 } })).toMatch(/schedule\.gamma: /);
    expect(fails({ data: { dataset: 'cifar11' } })).toContain(
      "data.dataset: Bad dataset spec 'cifar11': unknown dataset 'cifar11'",
    );
    expect(fails({ data: { split: { use: 'middle' } } })).toContain(
      "data.split.use: 'middle' is not one of the parts (upstream, downstream)",
    );
  });
  it('data.testLabels: an unknown choice, or as-train on the training split itself', () => {
    expect(fails({ data: { testLabels: 'random' } })).toMatch(
      /data\.testLabels: Invalid option: expected one of "real"\|"as-train"; got "random"/,
    );
    const random = { kind: 'random', k: 10, seed: 0 };
    expect(fails({ data: { labels: random, testLabels: 'as-train', testSplit: 'train' } })).toContain(
      "data.testLabels: 'as-train' draws fresh labels for a held-out split, but data.testSplit 'train' is the training split",
    );
    // Real training labels make as-train the real labels, which any split may be scored on.
    expect(resolveConfig({ data: { testLabels: 'as-train', testSplit: 'train' } }).data.testSplit).toBe('train');
    expect(resolveConfig({ data: { labels: random, testLabels: 'as-train', testSplit: 'test' } }).data).toMatchObject({
      labels: random,
      testLabels: 'as-train',
    });
  });
  it('both iterations and epochs', () => {
    expect(fails({ training: { iterations: 10, epochs: 2 } })).toContain(
      'training: give iterations or epochs, not both',
    );
  });
  it('init.from needs exactly one source', () => {
    expect(fails({ init: { from: { rescale: true } } })).toContain('init.from: give exactly one of run or checkpoint');
  });
});

describe('config files and flag overrides', () => {
  it('reads YAML and JSON', () => {
    writeFileSync(
      join(dir, 'a.yaml'),
      'model:\n  name: vgg16\n  batchNorm: false\nschedule: {type: constant, lr: 0.001}\n',
    );
    writeFileSync(
      join(dir, 'a.json'),
      JSON.stringify({ model: { name: 'vgg16', batchNorm: false }, schedule: { type: 'constant', lr: 0.001 } }),
    );
    expect(readConfigFile(join(dir, 'a.yaml'))).toEqual(readConfigFile(join(dir, 'a.json')));
    writeFileSync(join(dir, 'bad.json'), '{"model": ');
    expect(() => readConfigFile(join(dir, 'bad.json'))).toThrow(/bad\.json is not valid JSON/);
  });
  it('derives a flag for every field of the schema', () => {
    const leaves = (value: unknown, path: string): string[] =>
      value !== null && typeof value === 'object' && !Array.isArray(value) && path !== 'data.split.parts'
        ? Object.entries(value).flatMap(([key, child]) => leaves(child, path ? `${path}.${key}` : key))
        : [path];
    const paths = new Set(CONFIG_FIELDS.map((f) => f.path));
    const config = resolveConfig({
      data: { split: { use: 'upstream' } },
      init: { from: { run: 'x', include: ['conv1'], step: 3 } },
      model: { name: 'vgg16', widths: [1], batchNorm: true },
    });
    expect(leaves(config, '').filter((path) => !paths.has(path))).toEqual([]);
    expect(CONFIG_FIELDS.find((f) => f.path === 'data.labels.kind')).toEqual({
      path: 'data.labels.kind',
      type: 'string',
      choices: ['real', 'random', 'noise'],
      nullable: false,
    });
    expect(CONFIG_FIELDS.find((f) => f.path === 'data.testLabels')).toEqual({
      path: 'data.testLabels',
      type: 'string',
      choices: ['real', 'as-train'],
      nullable: false,
    });
    expect(CONFIG_FIELDS.find((f) => f.path === 'init.from')).toEqual({
      path: 'init.from',
      type: 'object',
      nullable: true,
    });
    expect(CONFIG_FIELDS.find((f) => f.path === 'optimizer.betas')).toMatchObject({ type: 'number[]' });
    expect(CONFIG_FIELDS.find((f) => f.path === 'schedule.type')).toMatchObject({
      choices: ['constant', 'step', 'cosine'],
    });
  });

  it('every settable field has a flag that parses to its type', () => {
    const field = (path: string) => CONFIG_FIELDS.find((f) => f.path === path)!;
    expect(parseFieldValue(field('schedule.lr'), '0.05')).toBe(0.05);
    expect(parseFieldValue(field('model.widths'), '8,16')).toEqual([8, 16]);
    expect(parseFieldValue(field('data.augment.flip'), 'true')).toBe(true);
    expect(parseFieldValue(field('data.testSplit'), 'null')).toBeNull();
    expect(parseFieldValue(field('data.labels'), '{kind: random, k: 5, seed: 1}')).toEqual({
      kind: 'random',
      k: 5,
      seed: 1,
    });
    expect(() => parseFieldValue(field('seed'), 'abc')).toThrow("--seed: expected a number, got 'abc'");
  });
  it('flags override the file; switching the label kind drops the old kind’s fields', () => {
    const base = { data: { labels: { kind: 'noise', p: 0.5, seed: 3 } }, schedule: { type: 'constant', lr: 0.1 } };
    const raw = applyOverrides(base, [
      ['data.labels.k', 7],
      ['data.labels.seed', 1],
      ['data.labels.kind', 'random'],
      ['schedule.lr', 0.2],
    ]);
    const config = resolveConfig(raw);
    expect(config.data.labels).toEqual({ kind: 'random', k: 7, seed: 1 });
    expect(config.schedule.lr).toBe(0.2);
    expect(base.schedule.lr).toBe(0.1);
  });
});

describe('example configs', () => {
  const examples = join(import.meta.dirname, '..', 'examples');
  for (const file of readdirSync(examples).filter((name) => name.endsWith('.yaml'))) {
    it(`${file} is a valid run config`, () => {
      const config = resolveConfig(readConfigFile(join(examples, file)), file);
      // Examples name their runs, so a second launch is refused instead of starting a duplicate.
      expect(config.name).toMatch(/^[a-z0-9-]+$/);
    });
  }
});
