/**
 * What every randlab model is: a Module that maps inputs to K logits, and knows which of its
 * layers is the first (the one whose weights align with the data, docs/paper.md §2) and which is
 * the classifier head (replaced by a fresh one before fine-tuning, §3).
 */
import { Conv2d, initializeLayer, initializeModule, Linear, Module, type InitScheme } from '../nn/index.js';
import { Rng } from '../tensor/rng.js';
import { formatShape, type Shape } from '../tensor/tensor.js';

/** Options of `createModel`; each model reads those that apply to it (see `listModels()`). */
export interface ModelOptions {
  /** Number of output logits K. */
  readonly numClasses: number;
  /** Shape of one example: [C, H, W] for images, [d] for vectors. */
  readonly inputShape: Shape;
  /** Layer widths; what they mean is model-specific (see each model's `widths` description). */
  readonly widths?: readonly number[];
  /** VGG only: BatchNorm after every convolution. */
  readonly batchNorm?: boolean;
  /** WRN only: kernel size of the stem convolution (3 by default, 5 in the paper's Fig. 3). */
  readonly firstKernel?: number;
  /** ResNet only: 'cifar' (3×3 stem, no max pool) or 'imagenet' (7×7 stride-2 stem + max pool). */
  readonly variant?: ModelVariant;
  /** Initialisation scheme (default He normal: kaiming_normal, fan_in, relu gain). */
  readonly initScheme?: InitScheme;
  /** The paper's init_scale: multiplies every drawn weight (default 1). */
  readonly initScale?: number;
  /** Generator of the initial weights; default `new Rng(0, 'init')`. Each layer forks its own stream. */
  readonly rng?: Rng;
}

export type ModelVariant = 'cifar' | 'imagenet';

export abstract class Classifier extends Module {
  /** Registry name of the architecture (`cnn2`, `vgg16`, …). */
  abstract readonly architecture: string;
  /** state_dict prefix of the first layer (`conv1`, `features.0`, `fc1`). */
  abstract readonly firstLayerPath: string;
  /** state_dict prefix of the classifier head (`fc2`, `classifier`, `fc`). */
  abstract readonly headPath: string;

  get firstLayer(): Linear | Conv2d {
    return this.layerAt(this.firstLayerPath);
  }

  get head(): Linear {
    const head = this.layerAt(this.headPath);
    if (!(head instanceof Linear))
      throw new Error(`${this.architecture}: head '${this.headPath}' is ${head.describe()}, not Linear`);
    return head;
  }

  /** Draws fresh head weights (the paper's "replace the classifier head", docs/paper.md §3). */
  reinitializeHead(options: { scheme?: InitScheme; scale?: number; rng: Rng }): void {
    initializeLayer(this.head, { scheme: options.scheme ?? 'kaiming_normal', scale: options.scale, rng: options.rng });
  }

  private layerAt(path: string): Linear | Conv2d {
    const layer = this.getSubmodule(path);
    if (!(layer instanceof Linear) && !(layer instanceof Conv2d))
      throw new Error(`${this.architecture}: '${path}' is ${layer.describe()}, not Linear or Conv2d`);
    return layer;
  }
}

/** Initialises a freshly built model from the options (He normal × initScale by default). */
export function initializeClassifier<M extends Classifier>(model: M, options: ModelOptions): M {
  initializeModule(model, {
    scheme: options.initScheme ?? 'kaiming_normal',
    scale: options.initScale ?? 1,
    rng: options.rng ?? new Rng(0, 'init'),
  });
  return model;
}

/** [C, H, W] of an image model's input, or an error naming the model and the shape it got. */
export function imageShape(model: string, shape: Shape, minSize = 1): [number, number, number] {
  if (shape.length !== 3)
    throw new Error(`${model} needs image inputs [C, H, W], got input shape ${formatShape(shape)}`);
  const [c, h, w] = shape as [number, number, number];
  if (h < minSize || w < minSize)
    throw new Error(`${model} needs images of at least ${minSize}×${minSize}, got input shape ${formatShape(shape)}`);
  return [c, h, w];
}

/** The widths given, or the defaults; an error unless there are exactly `count` positive integers. */
export function resolveWidths(
  model: string,
  given: readonly number[] | undefined,
  defaults: readonly number[],
  meaning: string,
): number[] {
  const widths = [...(given ?? defaults)];
  if (widths.length !== defaults.length || widths.some((w) => !Number.isSafeInteger(w) || w < 1)) {
    throw new Error(
      `${model}: widths must be ${defaults.length} positive integers (${meaning}), got [${widths.join(', ')}]`,
    );
  }
  return widths;
}
