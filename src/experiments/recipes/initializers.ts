/**
 * Experiment-level initialisers (docs/paper.md §2 "Covariance initialisation", §3 Fig. 5, Sec. 2.5),
 * applied by the trainer after a run's standard initialisation: they replace some layers' weights
 * with draws from statistics of a pre-trained run or of the data. Each one is described by its
 * settings, which become part of the run's id.
 */
import {
  alignedCovariance,
  initialiseFromCovariance,
  initialiseLayersFromData,
  interpolatedTransfer,
  layerInputCovariance,
  rescaleToNorm,
  transferFunction,
  weightStatistics,
} from '../../analysis/index.js';
import { createModel, type Classifier } from '../../models/index.js';
import { resolveConfig } from '../../runs/config.js';
import type { RunStore } from '../../runs/store.js';
import { Conv2d } from '../../nn/conv.js';
import { Linear } from '../../nn/linear.js';
import { getKernels } from '../../kernels/index.js';
import { Rng, tensor, untracked, type Tensor } from '../../tensor/index.js';
import type { RunData } from '../../runs/data.js';
import { readWeight, readWeights, type Initializer } from '../train.js';
import { firstLayerInputCovariance } from './common.js';

const norm = (t: Tensor) => Math.sqrt(getKernels().sumSquares(t.data));

/**
 * First-layer weight vectors drawn i.i.d. from N(0, Σ_w of the source run's first layer) (Fig. 5
 * "covariance"); with `rescale`, scaled back to the fresh layer's norm so scale cannot explain speed.
 */
export function covarianceInitializer(options: { sourceRun: string; seed: number; rescale: boolean }): Initializer {
  return {
    describe: { method: 'covariance of pre-trained first layer', source: options.sourceRun, rescale: options.rescale },
    apply(model, { runContext }) {
      const layer = model.firstLayer;
      const key = `${model.firstLayerPath}.weight`;
      const source = readWeight(runContext.store, options.sourceRun, key);
      const stats = weightStatistics(
        [{ data: source.data, shape: source.shape, source: `${options.sourceRun}/${key}` }],
        key,
      );
      const freshNorm = norm(layer.weight);
      initialiseFromCovariance(layer.weight, stats.covariance, new Rng(options.seed, 'covariance-init'));
      if (options.rescale) rescaleToNorm(layer.weight, freshNorm);
    },
  };
}

/**
 * First-layer weight vectors drawn from N(0, Σ_i f(σ_i)² v_i v_iᵀ) (§2): (σ_i², v_i) the eigenpairs of
 * this run's own training data, f measured on the source run's first layer against the same eigenpairs.
 */
export function fFromDataInitializer(options: { sourceRun: string; seed: number; rescale: boolean }): Initializer {
  return {
    describe: {
      method: 'f of pre-trained first layer on data eigenbasis',
      source: options.sourceRun,
      rescale: options.rescale,
    },
    apply(model, { runContext, data }) {
      const layer = model.firstLayer;
      const key = `${model.firstLayerPath}.weight`;
      const source = readWeight(runContext.store, options.sourceRun, key);
      const input = firstLayerInputCovariance(data, source.shape);
      const stats = weightStatistics([{ data: source.data, shape: source.shape }], key);
      const { f } = transferFunction(stats.covariance, input.eigen);
      const freshNorm = norm(layer.weight);
      initialiseFromCovariance(
        layer.weight,
        alignedCovariance(input.eigen, (_sigma, i) => f[i]!),
        new Rng(options.seed, 'f-init'),
      );
      if (options.rescale) rescaleToNorm(layer.weight, freshNorm);
    },
  };
}

/** The first layer's weights redrawn i.i.d. N(0, std²) (Fig. 4: a small conv init, f ≈ 0.002 at the ends). */
export function firstLayerStdInitializer(options: { std: number; seed: number }): Initializer {
  return {
    describe: { method: 'first layer i.i.d. normal', std: options.std },
    apply(model) {
      const weight = model.firstLayer.weight;
      new Rng(options.seed, 'first-layer-init').fillNormal(weight.data, 0, options.std);
    },
  };
}

/** The weight layers (Linear or Conv2d) of a model in forward order, head excluded. */
export function hiddenWeightLayers(model: Classifier): string[] {
  return model
    .namedModules()
    .filter(
      ([path, module]) =>
        path !== '' && (module instanceof Conv2d || module instanceof Linear) && path !== model.headPath,
    )
    .map(([path]) => path);
}

/** `count` preprocessed training examples (the first ones), as batches of at most 128. */
export function exampleBatches(data: RunData, count: number): Tensor[] {
  const n = Math.min(count, data.train.n);
  const batches: Tensor[] = [];
  for (let start = 0; start < n; start += 128) {
    const size = Math.min(128, n - start);
    const indices = Int32Array.from({ length: size }, (_, i) => start + i);
    const values = data.preprocessor.applyToIndices(data.train, indices);
    batches.push(untracked(() => tensor(values, [size, ...data.inputShape])));
  }
  return batches;
}

/**
 * Sec. 2.5: layers 1..k initialised by the covariance method, lowest first, each from the statistics of
 * the inputs that the already re-initialised layers below produce on `examples` training images; the f
 * imposed on layer j is the one the source run's layer j has against its own inputs. With `rescale`,
 * each re-drawn layer is scaled back to its fresh norm.
 */
export function deepCovarianceInitializer(options: {
  sourceRun: string;
  layers: number;
  examples: number;
  seed: number;
  rescale: boolean;
}): Initializer {
  return {
    describe: {
      method: 'covariance init of layers 1..k from data',
      source: options.sourceRun,
      k: options.layers,
      examples: options.examples,
      rescale: options.rescale,
    },
    apply(model, { runContext, data, config }) {
      const paths = hiddenWeightLayers(model).slice(0, options.layers);
      if (paths.length < options.layers)
        throw new Error(`${model.architecture} has ${paths.length} hidden weight layers; k = ${options.layers} asked`);
      const batches = exampleBatches(data, options.examples);
      // The source network gives each layer's f against its own inputs.
      const source = loadSourceModel(runContext.store, options.sourceRun, data.inputShape, model.headPath);
      const transfers = paths.map((path) => {
        const input = layerInputCovariance(source, path, batches);
        const weight = (source.getSubmodule(path) as Conv2d | Linear).weight;
        const stats = weightStatistics([{ data: weight.data, shape: weight.shape }], path);
        const { sigma, f } = transferFunction(stats.covariance, input.eigen);
        return { layer: path, f: interpolatedTransfer(sigma, f) };
      });
      const freshNorms = paths.map((path) => norm((model.getSubmodule(path) as Conv2d | Linear).weight));
      initialiseLayersFromData(
        model,
        transfers,
        () => batches,
        new Rng(options.seed, `deep-covariance-init/${config.seed}`),
      );
      if (options.rescale)
        paths.forEach((path, i) => rescaleToNorm((model.getSubmodule(path) as Conv2d | Linear).weight, freshNorms[i]!));
    },
  };
}

/** The source run's network, rebuilt from its saved config and loaded with its last weights. */
function loadSourceModel(store: RunStore, runId: string, inputShape: readonly number[], headPath: string): Classifier {
  const config = resolveConfig(store.readConfig(runId), `${store.runDir(runId)}/config.json`);
  const weights = readWeights(store, runId);
  const head = weights.get(`${headPath}.weight`);
  if (!head) throw new Error(`run ${runId}: its checkpoint has no head '${headPath}.weight'`);
  const m = config.model;
  const model = createModel(m.name, {
    numClasses: head.shape[0]!,
    inputShape,
    ...(m.widths ? { widths: m.widths } : {}),
    ...(m.batchNorm !== undefined ? { batchNorm: m.batchNorm } : {}),
    ...(m.firstKernel !== undefined ? { firstKernel: m.firstKernel } : {}),
    ...(m.variant !== undefined ? { variant: m.variant } : {}),
  });
  model.loadStateDict(weights);
  return model;
}
