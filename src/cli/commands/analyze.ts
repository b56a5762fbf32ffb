/**
 * `randlab analyze alignment`: Σ_x, Σ_w, misalignment M (data and random basis), f(σ) of one layer of
 * one or more checkpoints (docs/paper.md §2), with charts and eigen-images under --out. The model,
 * dataset and preprocessing default to those of the run config the checkpoint carries.
 * `randlab analyze activity <run>`: the layer-activity metrics a run recorded.
 * See docs/analysis.md.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { Option } from 'commander';
import type { TopLevelSpec } from 'vega-lite';
import {
  alignmentJson,
  alignmentMetricNames,
  analyseAlignment,
  firstRows,
  geometryFromWeightShape,
  inputCovariance,
  inputDimension,
  parseActivityMetric,
  patchGridPng,
  requireEnoughWeightVectors,
  spreadIndices,
  topEigenvectors,
  weightStatistics,
  type AlignmentResult,
  type InputCovariance,
  type InputGeometry,
  type PatchShape,
  type WeightTensor,
} from '../../analysis/index.js';
import { readStateDict } from '../../checkpoint/index.js';
import { loadDataset } from '../../data/load.js';
import { computeChannelStats, type PreprocessConfig, type PreprocessMode } from '../../data/preprocess.js';
import { writeFileAtomic } from '../../data/paths.js';
import type { Dataset } from '../../data/types.js';
import { createModel, MODEL_NAMES } from '../../models/index.js';
import type { Device } from '../../tensor/index.js';
import { deviceOption } from '../device-option.js';
import { seedLinesChart } from '../../report/charts.js';
import { renderChartSvg, svgToPng } from '../../report/figures.js';
import type { StateDict } from '../../nn/module.js';
import { latestCheckpoint, runConfigOf } from '../../runs/checkpoints.js';
import { resolveConfig, type RunConfig } from '../../runs/config.js';
import { resolveStoreRoot, RunStore, type MetricRow } from '../../runs/store.js';

interface AlignmentCommandOptions {
  checkpoint?: string[];
  runs?: string;
  store?: string;
  model?: string;
  layer?: string;
  dataset?: string;
  split: string;
  preprocessing?: PreprocessMode;
  dataDir?: string;
  cacheDir?: string;
  basisSeed: string;
  images: string;
  out?: string;
  json?: boolean;
  device?: Device;
}

/** The options with the dataset resolved (flag, else the checkpoint's run config, else cifar10). */
interface AlignmentSettings extends AlignmentCommandOptions {
  dataset: string;
}

interface ActivityCommandOptions {
  store?: string;
  json?: boolean;
}

const PREPROCESSING_MODES: readonly PreprocessMode[] = ['standardize', 'unit', 'symmetric', 'none'];

export function registerAnalyzeCommands(program: Command): void {
  const analyze = program
    .command('analyze')
    .description('what the first layer learned (alignment with the data) and layer activity');

  analyze
    .command('alignment')
    .description(
      'Σ_w of a layer (pooled over checkpoints) against Σ_x of a dataset: misalignment M (data and random basis), M/d, f(σ)',
    )
    .option('--checkpoint <file>', 'safetensors state_dict file (repeat the flag to pool several)', collect, [])
    .option('--runs <id,id,…>', 'pool the latest checkpoints of these runs of the store')
    .option('--store <dir>', 'run store for --runs (default $RANDLAB_RUNS, else ./runs)')
    .addOption(
      new Option(
        '--model <name>',
        "architecture, to name its first layer when --layer is not given (default: the checkpoint's run config)",
      ).choices([...MODEL_NAMES]),
    )
    .option(
      '--layer <name>',
      "state_dict prefix of the layer, e.g. conv1, fc1, features.0 (default: the model's first layer)",
    )
    .option('--dataset <spec>', "dataset spec for Σ_x (default: the checkpoint's training dataset, else cifar10)")
    .option('--split <name>', 'split for Σ_x', 'train')
    .addOption(
      new Option(
        '--preprocessing <mode>',
        "inputs' preprocessing (default: the checkpoint's run config, else standardize for images, none for vectors)",
      ).choices([...PREPROCESSING_MODES]),
    )
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--cache-dir <dir>', 'cache for Σ_x and decoded images (default $RANDLAB_CACHE, else .cache/randlab)')
    .option('--basis-seed <n>', "seed of the Haar-random basis (stream 'basis')", '0')
    .option('--images <k>', 'filters and eigenvectors per eigen-image grid', '16')
    .option('--out <dir>', 'write alignment.json, charts (SVG and PNG) and eigen-images (PNG) here')
    .option('--json', 'print the result as JSON')
    .addOption(deviceOption('cpu only: the alignment is float64 linear algebra on the host'))
    .action(async (flags: AlignmentCommandOptions) => {
      refuseWebGpu(flags.device);
      const basisSeed = parseCount('--basis-seed', flags.basisSeed, 0);
      const images = parseCount('--images', flags.images, 1);
      const sources = loadSources(resolveSources(flags));
      const config = sources.find((source) => source.config)?.config ?? null;
      const options: AlignmentSettings = { ...flags, dataset: flags.dataset ?? config?.data.dataset ?? 'cifar10' };
      const location = {
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      };
      const dataset = await loadDataset(options.dataset, { ...location, split: options.split });
      const layer = options.layer ?? defaultLayer(options.model ?? config?.model.name, dataset, sources[0]!);
      const key = `${layer}.weight`;
      const tensors: WeightTensor[] = sources.map((source) => {
        const all = source.tensors;
        const tensor = all.get(key);
        if (!tensor) {
          const available = [...all.keys()].filter((k) => k.endsWith('.weight'));
          throw new Error(`${source.file} has no '${key}' (weights: ${available.join(', ')})`);
        }
        return { data: tensor.data, shape: tensor.shape, source: source.label };
      });
      const geometry = geometryFromWeightShape(tensors[0]!.shape, `${key} of ${sources[0]!.label}`);
      // Checked before Σ_x, which can take minutes for a large first layer.
      const weights = weightStatistics(tensors, layer);
      const inputDim = inputDimension(geometry, dataset.shape);
      if (weights.dim !== inputDim) {
        throw new Error(
          `${key} has rows of ${weights.dim} values but ${options.dataset} gives ${describeInput(geometry)} vectors of ${inputDim}`,
        );
      }
      requireEnoughWeightVectors(weights.count, weights.dim, layer);
      const preprocess = await preprocessingFor(dataset, options, config, location);
      const input = inputCovariance(dataset, {
        preprocess,
        geometry,
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      });
      const result = analyseAlignment(layer, weights, input.eigen, { basisSeed });
      if (options.out)
        await writeAlignmentOutputs(resolve(options.out), result, {
          weights,
          tensors,
          input,
          geometry,
          dataset,
          images,
          sources,
          options,
        });
      if (options.json) process.stdout.write(`${JSON.stringify(alignmentJson(result))}\n`);
      else process.stdout.write(formatAlignment(result, sources.length));
    });

  analyze
    .command('activity <run>')
    .description('fraction of positive activations and of never-active units per ReLU layer, as the run recorded them')
    .option('--store <dir>', 'run store (default $RANDLAB_RUNS, else ./runs)')
    .option('--json', 'print {"run", "layers": {layer: {"steps", "positive_fraction", "dead_fraction"}}} as JSON')
    .action((run: string, options: ActivityCommandOptions) => {
      const store = RunStore.open(resolveStoreRoot(options.store));
      try {
        store.requireRun(run);
        const layers = activitySeries(store.metrics(run));
        if (layers.size === 0) {
          throw new Error(
            `run '${run}' recorded no layer activity (metrics 'activity/<layer>/…'); train it with an activity probe`,
          );
        }
        if (options.json) process.stdout.write(`${JSON.stringify({ run, layers: Object.fromEntries(layers) })}\n`);
        else process.stdout.write(formatActivity(run, layers));
      } finally {
        store.close();
      }
    });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

interface WeightSource {
  readonly file: string;
  readonly label: string;
  readonly run?: string;
  /** The config in the run's folder, for checkpoints written before weights files carried it. */
  readonly runConfig?: RunConfig;
}

interface LoadedSource extends WeightSource {
  readonly tensors: StateDict;
  readonly config: RunConfig | null;
}

/** Checkpoint files named directly (a file or a checkpoint prefix) and the latest checkpoints of --runs. */
function resolveSources(options: AlignmentCommandOptions): WeightSource[] {
  const sources: WeightSource[] = (options.checkpoint ?? []).map((path) => {
    const file = existsSync(path) ? path : `${path}.safetensors`;
    if (!existsSync(file)) throw new Error(`--checkpoint ${path}: no such file (nor ${path}.safetensors)`);
    return { file, label: path };
  });
  if (options.runs) {
    const store = RunStore.open(resolveStoreRoot(options.store));
    try {
      for (const id of options.runs
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')) {
        store.requireRun(id);
        const checkpoint = latestCheckpoint(store.checkpointDir(id));
        if (!checkpoint) throw new Error(`run '${id}' has no checkpoint yet`);
        const runConfig = resolveConfig(store.readConfig(id), `run '${id}' config`);
        sources.push({ file: checkpoint.weights, label: `${id}@${checkpoint.step}`, run: id, runConfig });
      }
    } finally {
      store.close();
    }
  }
  if (sources.length === 0) throw new Error('give --checkpoint FILE (repeatable) and/or --runs id1,id2');
  return sources;
}

/** The weights of each source with the run config it carries (else the one its run folder holds). */
function loadSources(sources: readonly WeightSource[]): LoadedSource[] {
  return sources.map((source) => {
    const weights = readStateDict(source.file);
    return { ...source, tensors: weights.state, config: runConfigOf(source.file, weights) ?? source.runConfig ?? null };
  });
}

/**
 * The alignment runs no model: it reads a layer's weights from checkpoints and computes Σ_x, Σ_w and their
 * eigendecompositions in float64 on the host, which no WebGPU kernel (f32) does. `--device webgpu` would
 * change nothing but the claim, so it is refused rather than accepted and ignored.
 */
function refuseWebGpu(device: Device | undefined): void {
  if (device === 'webgpu')
    throw new Error(
      'randlab analyze alignment --device webgpu: the alignment runs no model; it computes covariances and ' +
        'eigendecompositions of checkpoint weights and data in float64 on the host, so it takes --device cpu only',
    );
}

/** The first layer of the model (named by --model or the checkpoint's run config), as the paper analyses it. */
function defaultLayer(model: string | undefined, dataset: Dataset, first: LoadedSource): string {
  if (!model) {
    const weight = [...first.tensors.keys()].find((k) => k.endsWith('.weight'));
    throw new Error(
      `${first.file} carries no run config (a PyTorch state_dict, or a checkpoint written before randlab stored one): ` +
        `give --model NAME to analyse its first layer, or --layer NAME (e.g. ${weight ? weight.slice(0, -'.weight'.length) : 'conv1'})`,
    );
  }
  return createModel(model, { numClasses: 2, inputShape: dataset.shape }).firstLayerPath;
}

/** --preprocessing, else the run config's data.preprocessing, else the paper's default for the data kind. */
async function preprocessingFor(
  dataset: Dataset,
  options: AlignmentSettings,
  config: RunConfig | null,
  location: { dataDir?: string; cacheDir?: string },
): Promise<PreprocessConfig> {
  let mode: PreprocessMode | undefined = options.preprocessing;
  if (dataset.kind === 'vector') {
    if (mode && mode !== 'none')
      throw new Error(`${options.dataset} holds vectors, which take preprocessing 'none', not '${mode}'`);
    return { mode: 'none' };
  }
  mode ??= config?.data.preprocessing ?? 'standardize';
  if (mode !== 'standardize') return { mode };
  // Standardisation always uses the training split's statistics, whatever split Σ_x is taken on.
  const train =
    options.split === 'train' ? dataset : await loadDataset(options.dataset, { ...location, split: 'train' });
  if (train.kind !== 'image') throw new Error(`${options.dataset}: the training split is not images`);
  return { mode, stats: computeChannelStats(train) };
}

function describeInput(geometry: InputGeometry): string {
  return geometry.kind === 'flat' ? 'flattened input' : `${geometry.kernel[0]}×${geometry.kernel[1]} patch`;
}

function parseCount(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min)
    throw new Error(`${flag} must be an integer ≥ ${min}, got '${text}'`);
  return value;
}

function formatAlignment(result: AlignmentResult, sources: number): string {
  const fmt = (x: number) =>
    Math.abs(x) >= 1e4 || (Math.abs(x) < 1e-3 && x !== 0) ? x.toExponential(3) : x.toFixed(4);
  const lines = [
    `layer ${result.layer}: d = ${result.d}, ${result.nVectors} weight vectors from ${sources} checkpoint(s)`,
    `misalignment M  data basis ${fmt(result.misalignmentData)} (M/d ${fmt(result.misalignmentDataPerDim)})   random basis ${fmt(result.misalignmentRandom)} (M/d ${fmt(result.misalignmentRandomPerDim)}, seed ${result.basisSeed})`,
    `mean weight vector norm ${fmt(result.weightMeanNorm)} (average vector norm ${fmt(result.weightAverageNorm)})`,
    `f(σ) at ${Math.min(8, result.d)} points of the spectrum (σ ascending):`,
    ...spreadIndices(result.d, 8).map((i) => `  σ ${fmt(result.sigma[i]!)}  f ${fmt(result.f[i]!)}`),
  ];
  return `${lines.join('\n')}\n`;
}

interface OutputContext {
  readonly weights: { covariance: Float64Array; dim: number };
  readonly tensors: readonly WeightTensor[];
  readonly input: InputCovariance;
  readonly geometry: InputGeometry;
  readonly dataset: Dataset;
  readonly images: number;
  readonly sources: readonly WeightSource[];
  readonly options: AlignmentSettings;
}

async function writeAlignmentOutputs(dir: string, result: AlignmentResult, context: OutputContext): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const write = (name: string, content: string | Uint8Array) =>
    writeFileAtomic(join(dir, name), content, 'alignment output');
  write(
    'alignment.json',
    `${JSON.stringify({ ...alignmentJson(result), sources: context.sources.map((s) => s.label), dataset: context.options.dataset, split: context.options.split }, null, 2)}\n`,
  );
  const fChart = seedLinesChart(
    Array.from(result.f, (f, i) => ({ series: result.layer, seed: 0, x: result.sigma[i]!, y: f })).filter(
      (p) => p.x > 0,
    ),
    {
      title: `f(σ) of ${result.layer}`,
      xTitle: 'σ (square root of a Σ_x eigenvalue)',
      yTitle: 'f(σ) = sqrt(vᵀ Σ_w v)',
      logX: true,
    },
  );
  await writeChart(write, 'f-vs-sigma', fChart);
  const runs = context.sources.filter((s) => s.run).map((s) => s.run!);
  if (runs.length > 0) {
    const chart = misalignmentChart(runs, result.layer, context.options.store);
    if (chart) await writeChart(write, 'misalignment-over-training', chart);
  }
  const shape = patchShape(context.geometry, context.dataset);
  if (shape) {
    const k = context.images;
    const filters = context.tensors.flatMap((t) => firstRows(t.data, context.weights.dim, k)).slice(0, k);
    write('filters.png', patchGridPng(filters, shape));
    write('sigma-w-eigenvectors.png', patchGridPng(topEigenvectors(result.weightEigen, k), shape));
    write('sigma-x-eigenvectors.png', patchGridPng(topEigenvectors(context.input.eigen, k), shape));
  }
}

async function writeChart(
  write: (name: string, content: string | Uint8Array) => void,
  name: string,
  spec: TopLevelSpec,
): Promise<void> {
  write(`${name}.vl.json`, `${JSON.stringify(spec, null, 2)}\n`);
  const svg = await renderChartSvg(spec, name);
  write(`${name}.svg`, svg);
  write(`${name}.png`, svgToPng(svg));
}

/** How a weight vector is drawn: a c×kh×kw patch, a whole c×h×w image for a flat layer on images, or not at all. */
function patchShape(geometry: InputGeometry, dataset: Dataset): PatchShape | null {
  const channels = geometry.kind === 'patches' ? geometry.channels : dataset.kind === 'image' ? dataset.shape[0] : 0;
  if (channels !== 1 && channels !== 3) return null;
  if (geometry.kind === 'patches') return { channels, height: geometry.kernel[0], width: geometry.kernel[1] };
  return dataset.kind === 'image' ? { channels, height: dataset.shape[1], width: dataset.shape[2] } : null;
}

/** M (data and random basis) against iterations, from the runs' alignment probe metrics; null if none recorded. */
function misalignmentChart(runs: readonly string[], layer: string, storeDir: string | undefined): TopLevelSpec | null {
  const names = alignmentMetricNames(layer);
  const store = RunStore.open(resolveStoreRoot(storeDir));
  try {
    const points = runs.flatMap((run, seed) =>
      [
        ['data basis', names.misalignmentData],
        ['random basis', names.misalignmentRandom],
      ].flatMap(([series, name]) =>
        store
          .metrics(run, { name: name! })
          .filter((row) => row.value !== null)
          .map((row) => ({ series: series!, seed, x: row.step, y: row.value! })),
      ),
    );
    if (points.length === 0) return null;
    return seedLinesChart(points, {
      title: `Misalignment of ${layer} during training`,
      xTitle: 'iteration',
      yTitle: 'M',
      logY: true,
    });
  } finally {
    store.close();
  }
}

type ActivitySeries = { steps: number[]; positive_fraction: (number | null)[]; dead_fraction: (number | null)[] };

function activitySeries(rows: readonly MetricRow[]): Map<string, ActivitySeries> {
  const byLayer = new Map<string, Map<number, { positive: number | null; dead: number | null }>>();
  for (const row of rows) {
    const parsed = parseActivityMetric(row.name);
    if (!parsed) continue;
    let steps = byLayer.get(parsed.layer);
    if (!steps)
      byLayer.set(parsed.layer, (steps = new Map<number, { positive: number | null; dead: number | null }>()));
    const entry = steps.get(row.step) ?? { positive: null, dead: null };
    if (parsed.quantity === 'positive_fraction') entry.positive = row.value;
    else entry.dead = row.value;
    steps.set(row.step, entry);
  }
  const result = new Map<string, ActivitySeries>();
  for (const [layer, steps] of byLayer) {
    const ordered = [...steps.entries()].sort((a, b) => a[0] - b[0]);
    result.set(layer, {
      steps: ordered.map(([s]) => s),
      positive_fraction: ordered.map(([, e]) => e.positive),
      dead_fraction: ordered.map(([, e]) => e.dead),
    });
  }
  return result;
}

function formatActivity(run: string, layers: ReadonlyMap<string, ActivitySeries>): string {
  const pct = (x: number | null | undefined) =>
    x === null || x === undefined ? '   –  ' : `${(100 * x).toFixed(1).padStart(5)}%`;
  const width = Math.max(5, ...[...layers.keys()].map((k) => k.length));
  const lines = [
    `run ${run}: ReLU activity on the probe batch (first → last recorded step)`,
    `${'layer'.padEnd(width)}  steps        positive          dead units`,
  ];
  for (const [layer, s] of layers) {
    const last = s.steps.length - 1;
    lines.push(
      `${layer.padEnd(width)}  ${`${s.steps[0]}→${s.steps[last]}`.padEnd(11)}  ${pct(s.positive_fraction[0])} → ${pct(s.positive_fraction[last])}  ${pct(s.dead_fraction[0])} → ${pct(s.dead_fraction[last])}`,
    );
  }
  return `${lines.join('\n')}\n`;
}
