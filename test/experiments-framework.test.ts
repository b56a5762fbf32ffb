/**
 * The experiment framework: stable run ids, plan checks, the job pool (skipping finished runs,
 * recording failures without hiding other runs, blocking dependants, resuming interrupted runs, child
 * processes, leaving runs held by another process alone) and the report command's reading of an
 * experiment folder.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { computeSpec, readResult } from '../src/experiments/compute.js';
import {
  lockExperimentFolder,
  openExperiment,
  readManifest,
  reportExperiment,
  runExperiment,
  type ExperimentResult,
} from '../src/experiments/experiment.js';
import { executeRun, runPlan, WALL_SECONDS_METRIC, workerEnvironment } from '../src/experiments/pool.js';
import {
  canonicalJson,
  checkPlan,
  parseScale,
  presetRows,
  presetValues,
  runId,
  seedList,
  slug,
  type RunContext,
  type RunSpec,
} from '../src/experiments/recipe.js';
import { getRecipe, RECIPES } from '../src/experiments/recipes/index.js';
import { fShapeMetrics, seedDeviation } from '../src/experiments/recipes/f-shape.js';
import { fig5Controls } from '../src/experiments/recipes/fig5-controls.js';
import { PAPER } from '../src/experiments/recipes/paper-defaults.js';
import { realVsRandomPretraining } from '../src/experiments/recipes/real-vs-random-pretraining.js';
import { evaluateClaims } from '../src/report/claims.js';
import { findingSentence } from '../src/report/findings.js';
import { resolveConfig } from '../src/runs/config.js';
import { describePlan, listRecipes, summarizeResult } from '../src/cli/commands/experiment.js';
import { RunLock } from '../src/runs/lock.js';
import { RunStore } from '../src/runs/store.js';
import { folderSnapshot } from './helpers/folder-snapshot.js';

const root = mkdtempSync(join(tmpdir(), 'randlab-framework-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function context(dir: string): RunContext & { lines: string[] } {
  const lines: string[] = [];
  return {
    store: RunStore.open(join(dir, 'store')),
    dataRoot: '/nonexistent',
    experimentDir: dir,
    log: (line) => lines.push(line),
    lines,
  };
}

describe('run ids and plans', () => {
  it('derives stable ids that change with any setting', () => {
    expect(canonicalJson({ b: 1, a: [1, { d: 2, c: undefined }] })).toBe('{"a":[1,{"d":2}],"b":1}');
    const id = runId('x1/pretrained', 3, { lr: 0.01, batch: 50 });
    expect(id).toMatch(/^x1-pretrained-s3-[0-9a-f]{10}$/);
    expect(runId('x1/pretrained', 3, { batch: 50, lr: 0.01 })).toBe(id);
    expect(runId('x1/pretrained', 3, { batch: 50, lr: 0.02 })).not.toBe(id);
    expect(runId('x1/pretrained', 4, { batch: 50, lr: 0.01 })).not.toBe(id);
    expect(slug('k=2')).toBe('k-2');
  });

  it('rejects bad scales, seeds and plans with a message', () => {
    expect(() => parseScale('huge')).toThrow("unknown scale 'huge' (expected smoke, demo, cpu, paper)");
    expect(() => seedList(0)).toThrow('--seeds must be a positive integer');
    expect(seedList(3, 6)).toEqual([6, 7, 8]);
    expect(() => seedList(3, -1)).toThrow('--first-seed must be a non-negative integer');
    const spec = (id: string, dependsOn: string[] = []): RunSpec => ({
      id,
      condition: 'c',
      seed: 0,
      kind: 'compute',
      dependsOn,
      settings: {},
      execute: async () => {},
    });
    expect(() => checkPlan('r', [spec('a'), spec('a')])).toThrow("run id 'a' appears twice");
    expect(() => checkPlan('r', [spec('b', ['a']), spec('a')])).toThrow(
      "depends on 'a', which is not planned before it",
    );
    expect(() => getRecipe('nope')).toThrow("unknown experiment 'nope' (available: fig1-vgg16-transfer");
  });

  it('gives every recipe commented presets at every core scale and a deterministic plan', () => {
    expect(RECIPES.map((r) => r.name)).toEqual([
      'fig1-vgg16-transfer',
      'fig2-misalignment',
      'fig3-eigenimages',
      'fig4-f-curves',
      'fig20-gaussian-fc',
      'fig5-controls',
      'deeper-layers',
      'specialisation',
      'critical-stages',
      'imagenet-transfer',
      'real-vs-random-pretraining',
      'transfer-map',
    ]);
    for (const recipe of RECIPES) {
      for (const scale of ['smoke', 'cpu', 'paper'] as const) {
        const rows = presetRows(recipe.scales[scale]);
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) expect(row.why.length, `${recipe.name}.${scale}.${row.name}`).toBeGreaterThan(3);
      }
      const first = recipe.plan('smoke', [0, 1], '/work/shared/data').map((s) => s.id);
      expect(recipe.plan('smoke', [0, 1], '/work/shared/data').map((s) => s.id)).toEqual(first);
      checkPlan(recipe.name, recipe.plan('smoke', [0, 1], '/work/shared/data'));
      // More seeds only add runs: the runs of seed 0 keep their ids.
      const seed0 = recipe.plan('smoke', [0], '/work/shared/data').map((s) => s.id);
      if (recipe.name !== 'fig3-eigenimages') for (const id of seed0) expect(first).toContain(id);
    }
    expect((presetValues(getRecipe('fig5-controls').scales.paper) as { widths: number[] }).widths).toEqual([256, 64]);
  });
});

/** Synthetic AUCs of the Fig. 5 conditions over three seeds, as measurements; `replace` swaps some out. */
function fig5Auc(replace: Record<string, number[]> = {}) {
  const auc: Record<string, number[]> = {
    scratch: [0.6, 0.61, 0.62],
    pretrained: [0.7, 0.705, 0.72],
    'no-rescale': [0.8, 0.81, 0.83],
    covariance: [0.7, 0.706, 0.719],
    'f-from-data': [0.65, 0.66, 0.675],
    'first-layer-only': [0.55, 0.56, 0.58],
    ...replace,
  };
  const alignmentRatios = [0.2, 0.25, 0.22];
  return [
    ...Object.entries(auc).flatMap(([condition, values]) =>
      values.map((value, seed) => ({ condition, seed, metric: 'auc', value })),
    ),
    ...alignmentRatios.map((value, seed) => ({ condition: 'upstream', seed, metric: 'alignment-ratio', value })),
  ];
}

describe('claims declared by the recipes', () => {
  it('gives every recipe claims with unique ids under its own prefix, a statement, a paper value and a rule', () => {
    const ids = RECIPES.flatMap((recipe) => recipe.claims.map((claim) => claim.id));
    expect(new Set(ids).size).toBe(ids.length);
    for (const recipe of RECIPES) {
      expect(recipe.claims.length, recipe.name).toBeGreaterThan(0);
      const prefixes = new Set(recipe.claims.map((claim) => claim.id.split('.')[0]));
      expect(prefixes.size, `${recipe.name}: ${[...prefixes].join(', ')}`).toBe(1);
      for (const claim of recipe.claims) {
        expect(claim.id).toMatch(/^[a-z0-9]+\.[a-z0-9-]+$/);
        expect(claim.statement.length, claim.id).toBeGreaterThan(20);
        expect(claim.paperValue.length, claim.id).toBeGreaterThan(0);
        expect(claim.source, claim.id).toMatch(/§/);
        expect(claim.rule.text, claim.id).toMatch(/reproduced/);
      }
    }
  });

  it('evaluates the Fig. 5 claims from measurements alone', () => {
    const results = evaluateClaims(fig5Controls.name, fig5Controls.claims, fig5Auc());
    expect(Object.fromEntries(results.map((r) => [r.id, r.verdict]))).toEqual({
      'fig5.upstream-aligned': 'reproduced',
      'fig5.pretrained-beats-scratch': 'reproduced',
      'fig5.no-rescale-beats-pretrained': 'reproduced',
      'fig5.covariance-beats-scratch': 'reproduced',
      'fig5.covariance-matches-pretrained': 'reproduced',
      'fig5.f-from-data-beats-scratch': 'reproduced',
      'fig5.first-layer-only-beats-scratch': 'not reproduced',
    });
    expect(results.every((r) => r.experiment === 'fig5-controls')).toBe(true);
  });
});

describe('transfer runs pre-trained on real or on random labels', () => {
  const plan = realVsRandomPretraining.plan('smoke', [0], '/work/shared/data');
  const run = (condition: string) => plan.find((spec) => spec.condition === condition)!;

  it('pre-train on the same upstream images from the same init, differing only in the labels', () => {
    const real = run('upstream-real-labels').config!;
    const random = run('upstream-random-labels').config!;
    expect(real.data?.labels).toEqual({ kind: 'real' });
    expect(random.data?.labels).toEqual({ kind: 'random', k: 10, seed: 0 });
    expect(real.data?.split?.use).toBe('upstream');
    const withoutLabels = (config: typeof real) => ({ ...config, data: { ...config.data, labels: undefined } });
    expect(withoutLabels(real)).toEqual(withoutLabels(random));
  });

  it('each transfer (rescaled, new head) to the downstream part with real labels', () => {
    for (const [condition, upstream] of [
      ['real-labels', 'upstream-real-labels'],
      ['random-labels', 'upstream-random-labels'],
    ] as const) {
      const config = run(condition).config!;
      expect(config.init?.from).toEqual({ run: run(upstream).id, rescale: true, reinitHead: true });
      expect(config.data?.split?.use).toBe('downstream');
      expect(config.data?.labels).toEqual({ kind: 'real' });
    }
  });

  it('are checked, each pre-training against its own labels', async () => {
    const ctx = context(join(root, 'real-vs-random'));
    const analysis = await realVsRandomPretraining.analyze({ scale: 'smoke', seeds: [0], plan, context: ctx });
    expect(analysis.checks.map((check) => [check.name, check.required])).toEqual([
      ['training from scratch on real labels learns', true],
      ['pre-training on random labels learns', false],
      ['pre-training on real labels learns', false],
    ]);
  });
});

describe('the paper defaults', () => {
  it('reach every planned training run at every scale through the run config (momentum, weight decay)', () => {
    for (const recipe of RECIPES) {
      for (const scale of ['smoke', 'cpu', 'paper'] as const) {
        // A transfer preset may set the downstream runs' momentum (Fig. 5's paper scale, calibrated); it says so.
        const { downstreamMomentum } = presetValues(recipe.scales[scale]) as { downstreamMomentum?: number };
        for (const spec of recipe.plan(scale, [0], '/work/shared/data').filter((s) => s.kind === 'train')) {
          const { optimizer, data } = resolveConfig(spec.config);
          const where = `${recipe.name} ${scale} ${spec.condition}`;
          const downstream = data.split?.use === 'downstream' && downstreamMomentum !== undefined;
          expect(optimizer.name, where).toBe('sgd');
          expect(optimizer.momentum, where).toBe(downstream ? downstreamMomentum : PAPER.momentum);
          if (downstream) expect(spec.settings.momentum, where).toBe(downstreamMomentum);
          expect(optimizer.weightDecay, where).toBe(PAPER.weightDecay);
        }
      }
    }
  });

  it('are what the paper-scale presets use, as docs/paper.md states them', () => {
    const paper = (name: string) => presetValues(getRecipe(name).scales.paper) as Record<string, unknown>;
    // §3 Fig. 2, §3 Init, §3 Optimiser.
    expect(paper('fig2-misalignment')).toMatchObject({
      widths: [256, 64],
      initScale: 0.3,
      epochs: 40,
      batchSize: 256,
      lr: 0.01,
    });
    // §3 Protocol for transfer; §3 Fig. 5 reads ~1000 and ~2000 iterations.
    expect(paper('fig5-controls')).toMatchObject({ batchSize: 256, lr: 0.01, fixedIterations: [1_000, 2_000] });
    expect(paper('deeper-layers')).toMatchObject({ upstreamImages: 20_000, data: { downstream: 25_000 } });
    // §3 Fig. 20 defaults; §3 ImageNet.
    expect(paper('fig20-gaussian-fc')).toMatchObject({ batchSize: 128, epochs: 200, lr: 0.01, classes: 10 });
    expect(paper('imagenet-transfer')).toMatchObject({ upstreamClasses: 1_000, batchSize: 256 });
  });
});

describe('job pool', () => {
  const ok = (id: string, dependsOn: string[] = [], value = 1): RunSpec =>
    computeSpec({ condition: id, seed: 0, dependsOn, settings: { value }, compute: () => ({ value }) });

  it('runs in dependency order, records failures and blocks only their dependants', async () => {
    const ctx = context(join(root, 'pool'));
    const a = ok('a');
    const broken = computeSpec({
      condition: 'broken',
      seed: 0,
      dependsOn: [a.id],
      settings: {},
      compute: () => {
        throw new Error('out of cheese');
      },
    });
    const afterBroken = ok('after-broken', [broken.id]);
    const independent = ok('independent', [a.id], 2);
    const outcomes = await runPlan([a, broken, afterBroken, independent], { jobs: 1, context: ctx });
    expect(outcomes.get(a.id)!.status).toBe('finished');
    expect(outcomes.get(broken.id)).toMatchObject({ status: 'failed', error: 'out of cheese' });
    expect(outcomes.get(afterBroken.id)!.status).toBe('blocked');
    expect(outcomes.get(independent.id)!.status).toBe('finished');
    expect(ctx.store.getRun(broken.id)).toMatchObject({ status: 'failed', message: 'out of cheese' });
    expect(readResult<{ value: number }>(ctx.store, independent.id)).toEqual({ value: 2 });
    expect(ctx.store.metrics(a.id, { name: WALL_SECONDS_METRIC })).toHaveLength(1);

    // A second pass skips finished runs and retries the failed one.
    const again = await runPlan([a, broken, afterBroken, independent], { jobs: 1, context: ctx });
    expect(again.get(a.id)!.status).toBe('skipped');
    expect(again.get(independent.id)!.status).toBe('skipped');
    expect(again.get(broken.id)!.status).toBe('failed');
    expect(ctx.lines.some((line) => line.includes('2 of 4 runs already finished'))).toBe(true);
    ctx.store.close();
  });

  it('starts the ready runs that others wait on first, the rest in plan order', async () => {
    const ctx = context(join(root, 'pool-order'));
    const [x, y] = [ok('x'), ok('y')];
    const upstream = ok('upstream');
    const downstream = [ok('d1', [upstream.id]), ok('d2', [upstream.id])];
    await runPlan([x, y, upstream, ...downstream], { jobs: 1, context: ctx });
    const started = ctx.lines.filter((line) => line.startsWith('[')).map((line) => line.split(' ')[1]);
    expect(started).toEqual([upstream.id, x.id, y.id, downstream[0]!.id, downstream[1]!.id]);
    ctx.store.close();
  });

  it('needs a launcher for several jobs', async () => {
    const ctx = context(join(root, 'pool-jobs'));
    await expect(runPlan([ok('a')], { jobs: 2, context: ctx })).rejects.toThrow('needs a launcher');
    ctx.store.close();
  });

  /** A training run that, like the trainer asked to stop (it aborts `stop` first), leaves its record 'stopped'. */
  const stopping = (id: string, stop: AbortController, dependsOn: string[] = []): RunSpec => ({
    id,
    condition: id,
    seed: 0,
    kind: 'train',
    dependsOn,
    settings: {},
    async execute({ store }) {
      store.createRun({ id, model: 'mlp', dataset: '-', config: {} });
      stop.abort();
      store.updateRun(id, { status: 'stopped', step: 3 });
    },
  });

  it('leaves a run that stopped on its signal stopped (resumable), with its time, not failed', async () => {
    const stop = new AbortController();
    const ctx = { ...context(join(root, 'pool-stop')), signal: stop.signal };
    expect(await executeRun(stopping('s', stop), ctx)).toBe('stopped');
    expect(ctx.store.getRun('s')).toMatchObject({ status: 'stopped', step: 3, message: null });
    expect(ctx.store.metrics('s', { name: WALL_SECONDS_METRIC })).toHaveLength(1);
    ctx.store.close();
  });

  it('starts nothing once its signal aborts: runs in progress end stopped, the others pending', async () => {
    const stop = new AbortController();
    const ctx = { ...context(join(root, 'pool-stopping')), signal: stop.signal };
    const later = ok('later');
    const outcomes = await runPlan([stopping('b', stop), later, ok('after-b', ['b'])], { jobs: 1, context: ctx });
    expect([...outcomes.values()].map((o) => o.status)).toEqual(['stopped', 'pending', 'pending']);
    expect(ctx.store.getRun('b')?.status).toBe('stopped');
    expect(ctx.store.getRun(later.id)).toBeUndefined();
    expect(ctx.lines).toContain('  stopped b after 0.0 s (resumable)');

    // In workers: one stopped before it created its run counts as not started.
    const workers = context(join(root, 'pool-stopping-jobs'));
    const x = ok('x');
    const launched = await runPlan([x], { jobs: 2, context: workers, launch: () => Promise.resolve('stopped') });
    expect(launched.get(x.id)).toEqual({
      id: x.id,
      status: 'pending',
      error: 'not started: the experiment was stopped',
    });
    ctx.store.close();
    workers.store.close();
  });

  it('gives each worker its share of the cores as RANDLAB_THREADS, unless the user chose', () => {
    expect(workerEnvironment(2, { PATH: '/bin' }, 2)).toEqual({ PATH: '/bin', RANDLAB_THREADS: '1' });
    expect(workerEnvironment(2, {}, 8).RANDLAB_THREADS).toBe('4');
    expect(workerEnvironment(3, {}, 8).RANDLAB_THREADS).toBe('2');
    expect(workerEnvironment(4, {}, 2).RANDLAB_THREADS).toBe('1');
    expect(workerEnvironment(2, { RANDLAB_THREADS: '2' }, 2).RANDLAB_THREADS).toBe('2');
  });
});

describe('shape statistics', () => {
  it('summarises f by thirds of the sorted σ', () => {
    // σ given out of order: the statistics sort by σ first.
    const m = fShapeMetrics([3, 1, 2, 4, 6, 5], [0.3, 0.1, 0.2, 0.2, 0.1, 0.15]);
    expect(m['f-low']).toBeCloseTo(0.15, 12);
    expect(m['f-mid']).toBeCloseTo(0.25, 12);
    expect(m['f-high']).toBeCloseTo(0.125, 12);
    expect(m['f-peak']).toBe(0.3);
    expect(m['f-curvature']).toBeCloseTo(0.25 - (0.15 + 0.125) / 2, 12);
    expect(() => fShapeMetrics([1, 2], [1, 2])).toThrow('≥ 3');
  });

  it('measures each seed against the mean of the others', () => {
    const deviation = seedDeviation(
      new Map([
        [0, [1, 2]],
        [1, [1, 2]],
        [2, [2, 4]],
      ]),
    );
    expect(deviation.get(2)).toBeCloseTo(1, 12);
    expect(deviation.get(0)).toBeCloseTo(1 / 3, 12);
  });
});

describe('experiments on disk (synthetic Gaussian recipe, no downloaded data)', () => {
  const dir = join(root, 'fig20');

  it('runs, skips finished runs on a second call, and resumes an interrupted run', async () => {
    const first = await runExperiment({
      recipe: 'fig20-gaussian-fc',
      scale: 'smoke',
      seeds: 2,
      out: dir,
      dataRoot: '/nonexistent',
    });
    expect([...first.outcomes.values()].every((o) => o.status === 'finished')).toBe(true);
    expect(readManifest(dir)).toMatchObject({ recipe: 'fig20-gaussian-fc', scale: 'smoke', seeds: [0, 1] });

    // Mark one training run as interrupted: the next call resumes it from its checkpoint.
    const experiment = openExperiment(dir);
    const train = experiment.plan.find((s) => s.kind === 'train')!;
    experiment.context.store.updateRun(train.id, { status: 'running' });
    experiment.close();
    const second = await runExperiment({
      recipe: 'fig20-gaussian-fc',
      scale: 'smoke',
      seeds: 2,
      out: dir,
      dataRoot: '/nonexistent',
    });
    expect(second.outcomes.get(train.id)!.status).toBe('finished');
    const others = [...second.outcomes.values()].filter((o) => o.id !== train.id);
    expect(others.every((o) => o.status === 'skipped')).toBe(true);

    await expect(
      runExperiment({ recipe: 'fig5-controls', scale: 'smoke', out: dir, dataRoot: '/work/shared/data' }),
    ).rejects.toThrow('holds experiment fig20-gaussian-fc');
  }, 120_000);

  it('starts over a run killed while the store created it (its index row without its config.json)', async () => {
    const experiment = openExperiment(dir);
    const { store } = experiment.context;
    const train = experiment.plan.find((s) => s.kind === 'train')!;
    store.deleteRun(train.id);
    store.createRun({ id: train.id, model: 'mlp', dataset: '-', config: {} });
    rmSync(join(store.runDir(train.id), 'config.json'));
    experiment.close();
    const result = await runExperiment({
      recipe: 'fig20-gaussian-fc',
      scale: 'smoke',
      seeds: 2,
      out: dir,
      dataRoot: '/nonexistent',
    });
    expect(result.outcomes.get(train.id)).toMatchObject({ status: 'finished' });
  }, 120_000);

  it('rewrites the report from the folder alone', async () => {
    const report = await reportExperiment(dir);
    expect(existsSync(report.html)).toBe(true);
    const claims = JSON.parse(readFileSync(report.claimsJson, 'utf8'));
    expect(claims.claims.map((c: { id: string }) => c.id)).toEqual([
      'fig20.left-decreasing',
      'fig20.middle-rises-then-falls',
      'fig20.right-rises-then-saturates',
      'fig20.aligned',
      'fig20.mean-zero',
    ]);
    expect(() => readManifest(join(root, 'missing'))).toThrow('is not an experiment folder');
  });

  it('counts runs an older randlab finished (no folder record), in a folder another process owns too', async () => {
    const measurements = () => readFileSync(join(dir, 'report', 'measurements.csv'), 'utf8');
    const before = measurements();
    expect(before.split('\n').length).toBeGreaterThan(3);
    const experiment = openExperiment(dir);
    const runDirs = experiment.plan.map((spec) => experiment.context.store.runDir(spec.id));
    experiment.close();
    // As an older randlab left them: index rows, no run.json or metrics.jsonl in the folders.
    for (const runDir of runDirs) for (const file of ['run.json', 'metrics.jsonl']) rmSync(join(runDir, file));

    // Another process owns the folder: the report starts from a snapshot of its index, and writes nothing there.
    const owner = lockExperimentFolder(dir);
    try {
      await reportExperiment(dir);
    } finally {
      owner.release();
    }
    expect(measurements()).toBe(before);
    expect(runDirs.some((runDir) => existsSync(join(runDir, 'run.json')))).toBe(false);

    // Owning the folder, the report writes the finished runs' records, so the folders alone suffice again.
    await reportExperiment(dir);
    expect(runDirs.every((runDir) => existsSync(join(runDir, 'run.json')))).toBe(true);
    rmSync(join(dir, 'store', 'index.sqlite'));
    await reportExperiment(dir);
    expect(measurements()).toBe(before);
  });

  it('lists recipes and plans for the command line', () => {
    expect(listRecipes()).toContain('fig5-controls  (§3 Fig. 5; scales smoke, demo, cpu, paper)');
    const plan = describePlan('fig20-gaussian-fc', 'smoke', 1, '/nonexistent');
    expect(plan.split('\n')[0]).toBe('fig20-gaussian-fc at scale smoke: 6 runs');
    expect(plan).toContain('model=mlp widths=128,32');
  });

  it('runs several jobs in child processes against one store', async () => {
    const parallel = join(root, 'fig20-jobs');
    const result = await runExperiment({
      recipe: 'fig20-gaussian-fc',
      scale: 'smoke',
      seeds: 1,
      jobs: 2,
      out: parallel,
      dataRoot: '/nonexistent',
    });
    expect([...result.outcomes.values()].map((o) => o.status)).toEqual(Array(6).fill('finished'));
    // Six runs, two processes at most: each trains run after run.
    const pids = new Set(
      [...result.outcomes.keys()].flatMap((id) =>
        [...readFileSync(join(parallel, 'logs', `${id}.log`), 'utf8').matchAll(/^run process (\d+):/gm)].map(
          (m) => m[1],
        ),
      ),
    );
    expect(pids.size).toBeGreaterThan(0);
    expect(pids.size).toBeLessThanOrEqual(2);
  }, 120_000);
});

describe('runs held by another process', () => {
  const dir = join(root, 'held');
  const options = {
    recipe: 'fig20-gaussian-fc',
    scale: 'smoke' as const,
    seeds: 1,
    out: dir,
    dataRoot: '/nonexistent',
  };

  it('are reported held, not failed, and their record, files and time are left alone (in this process and in workers)', async () => {
    await runExperiment(options);
    // As after a kill: a training run 'running', its dependant not run yet; then another process trains it.
    const experiment = openExperiment(dir);
    const train = experiment.plan.find((s) => s.kind === 'train')!;
    const dependant = experiment.plan.find((s) => s.dependsOn.includes(train.id))!;
    const { store } = experiment.context;
    store.updateRun(train.id, { status: 'running' });
    store.deleteRun(dependant.id);
    const lock = RunLock.acquire(store.runDir(train.id), train.id);
    const record = store.getRun(train.id);
    const seconds = store.metrics(train.id, { name: WALL_SECONDS_METRIC });
    const files = folderSnapshot(store.runDir(train.id));
    try {
      for (const jobs of [1, 2]) {
        const result = await runExperiment({ ...options, jobs });
        const held = result.outcomes.get(train.id)!;
        expect(held.status, `jobs ${jobs}`).toBe('held');
        expect(held.error).toMatch(
          new RegExp(
            `^held by process ${process.pid} on ${hostname()} since \\S+ \\(lock ${store.runDir(train.id)}/train\\.lock\\); not run here`,
          ),
        );
        expect(result.outcomes.get(dependant.id)).toMatchObject({ status: 'blocked' });
        expect(store.getRun(train.id), `jobs ${jobs}`).toEqual(record);
        expect(store.metrics(train.id, { name: WALL_SECONDS_METRIC })).toEqual(seconds);
        expect(folderSnapshot(store.runDir(train.id))).toEqual(files);
        expect(summarizeResult(result)).toContain(`  held ${train.id}: held by process ${process.pid}`);
      }
    } finally {
      lock.release();
    }
    const resumed = await runExperiment(options);
    expect(resumed.outcomes.get(train.id)!.status).toBe('finished');
    expect(resumed.outcomes.get(dependant.id)!.status).toBe('finished');
    experiment.close();
  }, 120_000);
});

describe('the experiment summary', () => {
  it('prints what was found, one sentence per claim, with the seeds that would settle an open one', () => {
    // f-from-data against scratch: differences +0.01, +0.02, −0.02, an interval around 0.
    const claims = evaluateClaims(
      fig5Controls.name,
      fig5Controls.claims,
      fig5Auc({ 'f-from-data': [0.61, 0.63, 0.6] }),
    );
    const report = {
      dir: '/x/report',
      html: '/x/report/index.html',
      claimsJson: '',
      measurementsCsv: '',
      pngs: [],
      claims,
    };
    const result: ExperimentResult = {
      dir: '/x',
      outcomes: new Map([['r1', { id: 'r1', status: 'finished' }]]),
      report,
      seconds: 2,
    };
    const lines = summarizeResult(result).split('\n');
    expect(lines[0]).toBe('runs: 1 finished (2.0 s)');
    expect(lines.slice(1, 1 + claims.length)).toEqual(
      claims.map((claim) => `  ${claim.id}: ${findingSentence(claim)}`),
    );
    const pretrained = lines.find((line) => line.startsWith('  fig5.pretrained-beats-scratch: '))!;
    expect(pretrained).toMatch(
      /^ {2}fig5\.pretrained-beats-scratch: Reproduced: Pre-trained on random labels and rescaled \(new head\) trains faster than from scratch \(auc difference \+0\.0983 \[0\.\d+, 0\.\d+\], 3 seeds\)\.$/,
    );
    const open = lines.find((line) => line.startsWith('  fig5.f-from-data-beats-scratch: '))!;
    expect(open).toMatch(
      /: Inconclusive: .* \(auc difference \+0\.0033 \[-0\.\d+, 0\.\d+\], 3 seeds; about \d+ seeds would settle an effect this size\)\.$/,
    );
    expect(lines[1 + claims.length]).toBe('report: /x/report/index.html');
  });
});
