/**
 * Fully connected network: flatten, then Linear+ReLU per hidden width, then a linear head.
 * Keys fc1 … fcL (fcL is the head). The paper's FC nets (Fig. 4, Fig. 20) use widths 2048, 256.
 */
import { Linear, reluOnOutput } from '../nn/index.js';
import { flatten, type Tensor } from '../tensor/index.js';
import { Classifier, initializeClassifier, type ModelOptions } from './classifier.js';

/** docs/paper.md §3, Fig. 20: hidden widths 2048, 256. */
export const MLP_DEFAULT_WIDTHS: readonly number[] = [2048, 256];

export class MLP extends Classifier {
  readonly architecture = 'mlp';
  readonly firstLayerPath = 'fc1';
  readonly headPath: string;
  private readonly layers: Linear[] = [];

  constructor(inFeatures: number, hidden: readonly number[], numClasses: number) {
    super();
    const sizes = [inFeatures, ...hidden, numClasses];
    for (let i = 0; i + 1 < sizes.length; i++)
      this.layers.push(this.registerModule(`fc${i + 1}`, new Linear(sizes[i]!, sizes[i + 1]!)));
    this.headPath = `fc${this.layers.length}`;
  }

  forward(x: Tensor): Tensor {
    let y = x.rank === 2 ? x : flatten(x);
    this.layers.forEach((layer, i) => {
      y = layer.call(y);
      if (i < this.layers.length - 1) y = reluOnOutput(y, layer);
    });
    return y;
  }
}

export function createMlp(options: ModelOptions): MLP {
  const widths = [...(options.widths ?? MLP_DEFAULT_WIDTHS)];
  if (widths.some((w) => !Number.isSafeInteger(w) || w < 1))
    throw new Error(`mlp: widths must be positive integers (hidden layer sizes), got [${widths.join(', ')}]`);
  const inFeatures = options.inputShape.reduce((a, b) => a * b, 1);
  return initializeClassifier(new MLP(inFeatures, widths, options.numClasses), options);
}
