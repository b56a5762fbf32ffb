/**
 * The paper's 2-layer CNN (docs/paper.md §3, Fig. 2): conv 3×3 valid with 256 filters, ReLU,
 * flatten, linear 64, ReLU, linear K. Keys conv1, fc1, fc2.
 */
import { Conv2d, Linear, reluOnOutput } from '../nn/index.js';
import { flatten, type Tensor } from '../tensor/index.js';
import { Classifier, imageShape, initializeClassifier, resolveWidths, type ModelOptions } from './classifier.js';

/** docs/paper.md §3, Fig. 2: 256 filters, 64 hidden units. */
export const CNN2_DEFAULT_WIDTHS: readonly number[] = [256, 64];
const KERNEL = 3;

export class CNN2 extends Classifier {
  readonly architecture = 'cnn2';
  readonly firstLayerPath = 'conv1';
  readonly headPath = 'fc2';
  readonly conv1: Conv2d;
  readonly fc1: Linear;
  readonly fc2: Linear;

  constructor(inputShape: readonly [number, number, number], widths: readonly [number, number], numClasses: number) {
    super();
    const [c, h, w] = inputShape;
    const [filters, hidden] = widths;
    this.conv1 = this.registerModule('conv1', new Conv2d(c, filters, KERNEL));
    this.fc1 = this.registerModule('fc1', new Linear(filters * (h - KERNEL + 1) * (w - KERNEL + 1), hidden));
    this.fc2 = this.registerModule('fc2', new Linear(hidden, numClasses));
  }

  forward(x: Tensor): Tensor {
    const features = flatten(reluOnOutput(this.conv1.call(x), this.conv1));
    return this.fc2.call(reluOnOutput(this.fc1.call(features), this.fc1));
  }
}

export function createCnn2(options: ModelOptions): CNN2 {
  const shape = imageShape('cnn2', options.inputShape, KERNEL);
  const [filters, hidden] = resolveWidths('cnn2', options.widths, CNN2_DEFAULT_WIDTHS, 'conv filters, hidden units');
  return initializeClassifier(new CNN2(shape, [filters!, hidden!], options.numClasses), options);
}
