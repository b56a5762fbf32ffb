/**
 * `randlab eval --checkpoint FILE.safetensors [--model NAME] [--dataset cifar10] [--split test]
 * [--test-labels real|as-train] [--json]`: loss and accuracy of any checkpoint (randlab's or PyTorch's
 * state_dict as safetensors). A randlab checkpoint carries its run config, which gives the model, its
 * options, the dataset and the preprocessing; flags override it. Without one (PyTorch) --model is
 * needed, and the inputs get the default preprocessing (per-channel standardisation with the training
 * split's statistics). The split is scored on its real labels, or with `--test-labels as-train` on
 * labels drawn like the training labels of the run config (as `data.testLabels: as-train` does in training).
 */
import { Option, type Command } from 'commander';
import { readStateDict } from '../../checkpoint/index.js';
import type { LabelSet, LabelSpec } from '../../data/labels.js';
import { loadDataset } from '../../data/load.js';
import { Preprocessor } from '../../data/preprocess.js';
import type { Dataset } from '../../data/types.js';
import { createModel, MODEL_NAMES, type ModelVariant } from '../../models/index.js';
import { runConfigOf } from '../../runs/checkpoints.js';
import { TEST_LABELS, type RunConfig, type TestLabels } from '../../runs/config.js';
import { scoredLabels } from '../../runs/data.js';
import { acquireDevice } from '../../runs/device.js';
import { evaluateOn } from '../../runs/evaluate.js';
import { DEVICES, type Device } from '../../tensor/index.js';
import { checkInputFits } from '../../runs/trainer.js';

interface EvalCommandOptions {
  model?: string;
  checkpoint: string;
  dataset?: string;
  split: string;
  testLabels: TestLabels;
  dataDir?: string;
  cacheDir?: string;
  json?: boolean;
  batchSize: string;
  limit?: string;
  widths?: string;
  batchNorm?: boolean;
  firstKernel?: string;
  variant?: ModelVariant;
  device: Device;
}

export function registerEvalCommand(program: Command): void {
  program
    .command('eval')
    .description('evaluate a checkpoint (randlab or PyTorch safetensors) on a dataset split: loss, accuracy, n')
    .addOption(
      new Option(
        '--model <name>',
        "architecture of the checkpoint (default: the checkpoint's run config; needed for PyTorch files)",
      ).choices([...MODEL_NAMES]),
    )
    .requiredOption('--checkpoint <file>', 'safetensors file with the state_dict')
    .option(
      '--dataset <spec>',
      "dataset spec (cifar10, cifar100, imagefolder:<path>,size=N, gaussian:…; default: the checkpoint's, else cifar10)",
    )
    .option('--split <name>', 'split to evaluate', 'test')
    .addOption(
      new Option(
        '--test-labels <labels>',
        "labels to score on: the split's real ones, or as-train: drawn like the training labels of the checkpoint's run config (data.labels)",
      )
        .choices([...TEST_LABELS])
        .default('real'),
    )
    .option('--data-dir <dir>', 'data root (default $RANDLAB_DATA, else ./data)')
    .option('--cache-dir <dir>', 'cache for decoded images (default $RANDLAB_CACHE, else .cache/randlab)')
    .option('--json', 'print {"accuracy", "loss", "n", "labels", "labelSpec"} as JSON (labels: real or as-train)')
    .option('--batch-size <n>', 'examples per forward pass', '500')
    .addOption(
      new Option('--device <device>', 'compute on the cpu or the WebGPU adapter (docs/webgpu.md)')
        .choices([...DEVICES])
        .default('cpu'),
    )
    .option('--limit <n>', 'evaluate the first n examples only')
    .option('--widths <a,b,…>', "model widths (default: the checkpoint's run config, else the model's default)")
    .option(
      '--batch-norm <true|false>',
      "VGG: whether the checkpoint has BatchNorm layers (default: the checkpoint's run config, else true)",
      parseBoolean,
    )
    .option('--first-kernel <k>', 'WRN: stem kernel size')
    .addOption(new Option('--variant <variant>', 'ResNet18 stem').choices(['cifar', 'imagenet']))
    .action(async (options: EvalCommandOptions) => {
      await acquireDevice(options.device);
      const file = readStateDict(options.checkpoint);
      const weights = file.state;
      const config = runConfigOf(options.checkpoint, file);
      const architecture = options.model ?? config?.model.name;
      if (!architecture)
        throw new Error(
          `${options.checkpoint} carries no run config (a PyTorch state_dict, or a checkpoint written before randlab stored one): give --model NAME`,
        );
      const datasetSpec = options.dataset ?? config?.data.dataset ?? 'cifar10';
      const location = {
        ...(options.dataDir ? { dataDir: options.dataDir } : {}),
        ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
      };
      const dataset = await loadDataset(datasetSpec, { ...location, split: options.split });
      const labels = labelsToScore(options, config, dataset);
      const preprocessor =
        dataset.kind === 'image'
          ? Preprocessor.fromTrainingSplit(
              options.split === 'train' ? dataset : await loadDataset(datasetSpec, { ...location, split: 'train' }),
              config?.data.preprocessing,
            )
          : undefined;
      // Options of the config apply only to the architecture it describes (not to one --model replaced it with).
      const saved = config?.model.name === architecture ? config.model : undefined;
      const widths = options.widths ? parseIntegers('--widths', options.widths) : saved?.widths;
      const batchNorm = options.batchNorm ?? saved?.batchNorm;
      const firstKernel = options.firstKernel
        ? parseInteger('--first-kernel', options.firstKernel)
        : saved?.firstKernel;
      const variant = options.variant ?? saved?.variant;
      const modelOptions = {
        inputShape: dataset.shape,
        ...(widths ? { widths } : {}),
        ...(batchNorm !== undefined ? { batchNorm } : {}),
        ...(firstKernel !== undefined ? { firstKernel } : {}),
        ...(variant ? { variant } : {}),
        initScheme: 'torch_default' as const,
      };
      // The head's output count comes from the checkpoint: a model trained on K random classes evaluates as is.
      const probe = createModel(architecture, { ...modelOptions, numClasses: Math.max(1, dataset.classes) });
      const head = weights.get(`${probe.headPath}.weight`);
      if (!head)
        throw new Error(
          `${options.checkpoint} has no '${probe.headPath}.weight': it is not a ${architecture} state_dict (keys: ${[...weights.keys()].slice(0, 5).join(', ')}, …)`,
        );
      const model =
        head.shape[0] === probe.head.outFeatures
          ? probe
          : createModel(architecture, { ...modelOptions, numClasses: head.shape[0]! });
      if (labels.classes > model.head.outFeatures) {
        throw new Error(
          `${options.checkpoint} has ${model.head.outFeatures} outputs but the ${describeLabels(labels.spec)} of ${datasetSpec} (${options.split}) range over ${labels.classes} classes`,
        );
      }
      checkInputFits(model, dataset.shape, datasetSpec);
      try {
        model.loadStateDict(weights);
      } catch (error) {
        throw new Error(
          `${options.checkpoint} does not fit ${architecture} on ${datasetSpec}: ${(error as Error).message}`,
        );
      }
      await model.to(options.device);
      const result = await evaluateOn(options.device, model, dataset, {
        labels: labels.labels,
        ...(preprocessor ? { preprocessor } : {}),
        batchSize: parseInteger('--batch-size', options.batchSize),
        limit: options.limit !== undefined ? parseInteger('--limit', options.limit) : null,
      });
      // Says which labels were scored: 'as-train' with a real-label run is scored on the real labels.
      const scoredOn = labels.spec.kind === 'real' ? 'real' : 'as-train';
      if (options.json)
        process.stdout.write(
          `${JSON.stringify({ accuracy: result.accuracy, loss: result.loss, n: result.n, labels: scoredOn, labelSpec: labels.spec })}\n`,
        );
      else
        process.stdout.write(
          `${architecture} ${options.checkpoint} on ${datasetSpec} (${options.split}, ${describeLabels(labels.spec)}): accuracy ${result.accuracy.toFixed(4)}, loss ${result.loss.toFixed(4)}, n ${result.n}\n`,
        );
    });
}

/**
 * The labels the split is scored on. `as-train` takes the training labels' spec from the checkpoint's run
 * config and draws fresh labels for the split, which must therefore not be the one the run trained on.
 */
function labelsToScore(options: EvalCommandOptions, config: RunConfig | null, dataset: Dataset): LabelSet {
  const flag = `--test-labels ${options.testLabels}`;
  if (options.testLabels === 'as-train' && config === null)
    throw new Error(
      `${flag} draws labels like the training labels of the checkpoint's run config, but ${options.checkpoint} carries none`,
    );
  const trainLabels: LabelSpec = config?.data.labels ?? { kind: 'real' };
  if (options.testLabels === 'as-train' && trainLabels.kind !== 'real' && options.split === config?.data.trainSplit)
    throw new Error(
      `${flag} draws fresh labels for a held-out split, but --split ${options.split} is the split the checkpoint trained on (data.trainSplit); choose another --split`,
    );
  if (options.testLabels === 'real' && dataset.labels === null)
    throw new Error(
      `${dataset.spec} (${options.split}) has no real labels to score on${trainLabels.kind === 'random' ? '; --test-labels as-train scores labels drawn like the random training labels' : ''}`,
    );
  try {
    return scoredLabels(dataset, options.split, options.testLabels, trainLabels);
  } catch (error) {
    throw new Error(`${flag} on ${dataset.spec} (${options.split}): ${(error as Error).message}`);
  }
}

/** `real labels`, or `as-train labels (random k=10 seed=0)`. */
function describeLabels(spec: LabelSpec): string {
  if (spec.kind === 'real') return 'real labels';
  const { kind, ...settings } = spec;
  return `as-train labels (${[kind, ...Object.entries(settings).map(([key, value]) => `${key}=${String(value)}`)].join(' ')})`;
}

function parseInteger(flag: string, text: string): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${flag} must be a positive integer, got '${text}'`);
  return value;
}

function parseIntegers(flag: string, text: string): number[] {
  return text.split(',').map((item) => parseInteger(flag, item.trim()));
}

function parseBoolean(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new Error(`--batch-norm must be true or false, got '${text}'`);
}
