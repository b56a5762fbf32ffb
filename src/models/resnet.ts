/**
 * ResNet18 with torchvision's module names (`conv1`, `bn1`, `layer1.0.conv1`, `layer2.0.downsample.0`,
 * …, `fc`), in two variants: 'imagenet' is torchvision's (7×7 stride-2 stem, 3×3 max pool);
 * 'cifar' replaces the stem by a 3×3 stride-1 conv and drops the max pool, the usual CIFAR change.
 */
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, MaxPool2d, Module, ReLU, Sequential } from '../nn/index.js';
import { add, type Tensor } from '../tensor/index.js';
import {
  Classifier,
  imageShape,
  initializeClassifier,
  resolveWidths,
  type ModelOptions,
  type ModelVariant,
} from './classifier.js';

/** torchvision's resnet18 stage widths. */
export const RESNET18_DEFAULT_WIDTHS: readonly number[] = [64, 128, 256, 512];
const BLOCKS_PER_STAGE = 2;

/** torchvision's BasicBlock: conv-bn-relu-conv-bn, plus the (possibly downsampled) input, relu. */
export class BasicBlock extends Module {
  readonly conv1: Conv2d;
  readonly bn1: BatchNorm2d;
  readonly relu: ReLU;
  readonly conv2: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly downsample: Sequential | null;

  constructor(inPlanes: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(planes));
    this.relu = this.registerModule('relu', new ReLU());
    this.conv2 = this.registerModule('conv2', new Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(planes));
    this.downsample =
      stride !== 1 || inPlanes !== planes
        ? this.registerModule(
            'downsample',
            new Sequential(new Conv2d(inPlanes, planes, 1, { stride, bias: false }), new BatchNorm2d(planes)),
          )
        : null;
  }

  forward(x: Tensor): Tensor {
    const hidden = this.relu.callOnOutput(this.bn1.call(this.conv1.call(x)), this.bn1);
    const out = this.bn2.call(this.conv2.call(hidden));
    const identity = this.downsample ? this.downsample.call(x) : x;
    return this.relu.callOnOutput(add(out, identity), null);
  }
}

export class ResNet18 extends Classifier {
  readonly architecture = 'resnet18';
  readonly firstLayerPath = 'conv1';
  readonly headPath = 'fc';
  readonly variant: ModelVariant;
  private readonly stem: Module[];
  private readonly stages: Sequential[];
  private readonly pool: GlobalAvgPool2d;
  readonly fc: Linear;

  constructor(inChannels: number, widths: readonly number[], variant: ModelVariant, numClasses: number) {
    super();
    this.variant = variant;
    const stemConv =
      variant === 'imagenet'
        ? new Conv2d(inChannels, widths[0]!, 7, { stride: 2, padding: 3, bias: false })
        : new Conv2d(inChannels, widths[0]!, 3, { stride: 1, padding: 1, bias: false });
    this.stem = [
      this.registerModule('conv1', stemConv),
      this.registerModule('bn1', new BatchNorm2d(widths[0]!)),
      this.registerModule('relu', new ReLU()),
    ];
    if (variant === 'imagenet')
      this.stem.push(this.registerModule('maxpool', new MaxPool2d(3, { stride: 2, padding: 1 })));
    let inPlanes = widths[0]!;
    this.stages = widths.map((planes, stage) => {
      const blocks: BasicBlock[] = [];
      for (let b = 0; b < BLOCKS_PER_STAGE; b++) {
        blocks.push(new BasicBlock(inPlanes, planes, b === 0 && stage > 0 ? 2 : 1));
        inPlanes = planes;
      }
      return this.registerModule(`layer${stage + 1}`, new Sequential(...blocks));
    });
    this.pool = this.registerModule('avgpool', new GlobalAvgPool2d());
    this.fc = this.registerModule('fc', new Linear(inPlanes, numClasses));
  }

  forward(x: Tensor): Tensor {
    const [conv1, bn1, relu, maxpool] = this.stem as [Module, Module, ReLU, Module | undefined];
    let y = relu.callOnOutput(bn1.call(conv1.call(x)), bn1);
    if (maxpool) y = maxpool.call(y);
    for (const stage of this.stages) y = stage.call(y);
    return this.fc.call(this.pool.call(y));
  }
}

export function createResnet18(options: ModelOptions): ResNet18 {
  const variant = options.variant ?? 'cifar';
  if (variant !== 'cifar' && variant !== 'imagenet')
    throw new Error(`resnet18: variant must be 'cifar' or 'imagenet', got '${String(variant)}'`);
  const [channels] = imageShape('resnet18', options.inputShape);
  const widths = resolveWidths('resnet18', options.widths, RESNET18_DEFAULT_WIDTHS, 'channels of the four stages');
  return initializeClassifier(new ResNet18(channels, widths, variant, options.numClasses), options);
}
