/**
 * The model registry: every architecture selectable by name in configs and flags.
 *
 *   createModel('cnn2', { numClasses: 10, inputShape: [3, 32, 32], initScale: 0.3, rng })
 *
 * A model is a `Classifier` (a Module whose state_dict keys are those of the equivalent PyTorch
 * module, see tools/check_state_dict.py) initialised with He normal × initScale unless told otherwise.
 */
import { formatShape } from '../tensor/tensor.js';
import type { Classifier, ModelOptions } from './classifier.js';
import { createCnn2 } from './cnn2.js';
import { createMlp } from './mlp.js';
import { createResnet18 } from './resnet.js';
import { createVgg } from './vgg.js';
import { createWrn28x4 } from './wrn.js';

export { Classifier, type ModelOptions, type ModelVariant } from './classifier.js';
export { MLP } from './mlp.js';
export { CNN2 } from './cnn2.js';
export { VGG } from './vgg.js';
export { ResNet18, BasicBlock } from './resnet.js';
export { WideResNet, WideBasicBlock } from './wrn.js';

export interface ModelInfo {
  readonly name: string;
  readonly description: string;
  /** What `widths` means for this model, and its default. */
  readonly widths: string;
  /** Which of batchNorm, firstKernel, variant it reads. */
  readonly options: readonly ('batchNorm' | 'firstKernel' | 'variant')[];
}

interface ModelEntry extends ModelInfo {
  readonly create: (options: ModelOptions) => Classifier;
}

const MODELS = {
  mlp: {
    description: 'fully connected: flatten, Linear+ReLU per hidden width, linear head (keys fc1…fcL)',
    widths: 'hidden layer sizes, any number (default 2048,256)',
    options: [],
    create: createMlp,
  },
  cnn2: {
    description: "the paper's 2-layer CNN: conv 3×3 valid, ReLU, linear, ReLU, linear (keys conv1, fc1, fc2)",
    widths: 'conv filters, hidden units (default 256,64)',
    options: [],
    create: createCnn2,
  },
  vgg11: {
    description: 'VGG11 conv stack (torchvision features.<i>), one linear classifier from the last stage',
    widths: 'channels of the 8 conv layers (default 64,128,256,256,512,512,512,512)',
    options: ['batchNorm'],
    create: (options: ModelOptions) => createVgg('vgg11', options),
  },
  vgg16: {
    description:
      "VGG16 conv stack (torchvision features.<i>), one linear classifier from the last stage (the paper's Fig. 1)",
    widths: 'channels of the 13 conv layers (default 64,64,128,128,256,256,256,512,…,512)',
    options: ['batchNorm'],
    create: (options: ModelOptions) => createVgg('vgg16', options),
  },
  resnet18: {
    description:
      "ResNet18 with torchvision's keys; variant cifar (3×3 stem, no max pool) or imagenet (7×7 stem + max pool)",
    widths: 'channels of the 4 stages (default 64,128,256,512)',
    options: ['variant'],
    create: createResnet18,
  },
  'wrn-28-4': {
    description:
      'Wide ResNet 28-4 (pre-activation, keys block<g>.layer.<i>.*); firstKernel sets the stem kernel (5 in Fig. 3)',
    widths: 'stem width, then the 3 group widths (default 16,64,128,256)',
    options: ['firstKernel'],
    create: createWrn28x4,
  },
} as const satisfies Record<string, Omit<ModelEntry, 'name'>>;

export type ModelName = keyof typeof MODELS;

export const MODEL_NAMES = Object.keys(MODELS) as [ModelName, ...ModelName[]];

export function isModelName(name: string): name is ModelName {
  return Object.hasOwn(MODELS, name);
}

/** Every registered model with what its options mean. */
export function listModels(): ModelInfo[] {
  return MODEL_NAMES.map((name) => {
    const { description, widths, options } = MODELS[name];
    return { name, description, widths, options };
  });
}

/** Builds and initialises a model by name; errors name the model, the option and the allowed values. */
export function createModel(name: string, options: ModelOptions): Classifier {
  if (!isModelName(name)) throw new Error(`unknown model '${name}' (available: ${MODEL_NAMES.join(', ')})`);
  if (!Number.isSafeInteger(options.numClasses) || options.numClasses < 1) {
    throw new Error(`${name}: numClasses must be a positive integer, got ${options.numClasses}`);
  }
  if (options.inputShape.length === 0 || options.inputShape.some((d) => !Number.isSafeInteger(d) || d < 1)) {
    throw new Error(`${name}: inputShape must be positive integers, got ${formatShape(options.inputShape)}`);
  }
  return MODELS[name].create(options);
}
