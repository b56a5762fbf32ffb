/**
 * VGG11 and VGG16 for CIFAR (docs/paper.md §3, Fig. 1): torchvision's conv stack (`features.<i>`,
 * optionally with BatchNorm after each conv), with the average pool and the first two FC layers
 * removed, so the flattened output of the last stage (512 values on 32×32 inputs) feeds one linear
 * `classifier`.
 */
import { BatchNorm2d, Conv2d, Linear, MaxPool2d, ReLU, Sequential } from '../nn/index.js';
import { flatten, type Tensor } from '../tensor/index.js';
import { Classifier, imageShape, initializeClassifier, resolveWidths, type ModelOptions } from './classifier.js';

/** torchvision's cfgs "A" (VGG11) and "D" (VGG16); 'M' is a 2×2 max pool. */
const VGG_LAYOUTS = {
  vgg11: [64, 'M', 128, 'M', 256, 256, 'M', 512, 512, 'M', 512, 512, 'M'],
  vgg16: [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512, 'M'],
} as const satisfies Record<string, ReadonlyArray<number | 'M'>>;

export type VggName = keyof typeof VGG_LAYOUTS;

/** Downsampling by the five pools: inputs must be at least this large. */
const MIN_SIZE = 32;

export class VGG extends Classifier {
  readonly architecture: VggName;
  readonly firstLayerPath = 'features.0';
  readonly headPath = 'classifier';
  readonly features: Sequential;
  readonly classifier: Linear;

  constructor(
    name: VggName,
    inputShape: readonly [number, number, number],
    widths: readonly number[],
    batchNorm: boolean,
    numClasses: number,
  ) {
    super();
    this.architecture = name;
    let [channels, h, w] = inputShape;
    const layers: Array<Conv2d | BatchNorm2d | ReLU | MaxPool2d> = [];
    let conv = 0;
    for (const item of VGG_LAYOUTS[name]) {
      if (item === 'M') {
        layers.push(new MaxPool2d(2, { stride: 2 }));
        h = Math.floor(h / 2);
        w = Math.floor(w / 2);
        continue;
      }
      const out = widths[conv++]!;
      layers.push(new Conv2d(channels, out, 3, { padding: 1 }));
      if (batchNorm) layers.push(new BatchNorm2d(out));
      layers.push(new ReLU());
      channels = out;
    }
    this.features = this.registerModule('features', new Sequential(...layers));
    this.classifier = this.registerModule('classifier', new Linear(channels * h * w, numClasses));
  }

  forward(x: Tensor): Tensor {
    return this.classifier.call(flatten(this.features.call(x)));
  }
}

/** BatchNorm is on unless `batchNorm: false` (the bench and the paper's Fig. 1 recipe use it). */
export function createVgg(name: VggName, options: ModelOptions): VGG {
  const shape = imageShape(name, options.inputShape, MIN_SIZE);
  const defaults = (VGG_LAYOUTS[name] as ReadonlyArray<number | 'M'>).filter((item): item is number => item !== 'M');
  const widths = resolveWidths(name, options.widths, defaults, 'output channels of each conv layer');
  return initializeClassifier(new VGG(name, shape, widths, options.batchNorm ?? true, options.numClasses), options);
}
