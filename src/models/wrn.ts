/**
 * WRN-28-4 (Zagoruyko & Komodakis 2016) for CIFAR, with the module names of the common PyTorch
 * implementation (xternalz/WideResNet-pytorch): `conv1`, `block{1,2,3}.layer.<i>.{bn1,conv1,bn2,conv2,
 * convShortcut}`, `bn1`, `fc`. Pre-activation blocks; 28 layers = 3 groups of 4 blocks.
 * The stem kernel is configurable: the paper's Fig. 3 uses 5×5 (docs/paper.md §3).
 */
import { BatchNorm2d, Conv2d, GlobalAvgPool2d, Linear, Module, reluOnOutput, Sequential } from '../nn/index.js';
import { add, type Tensor } from '../tensor/index.js';
import { Classifier, imageShape, initializeClassifier, resolveWidths, type ModelOptions } from './classifier.js';

/** Stem width 16, then 16·k for k = 4 in the three groups. */
export const WRN_28_4_DEFAULT_WIDTHS: readonly number[] = [16, 64, 128, 256];
const DEPTH = 28;
const BLOCKS_PER_GROUP = (DEPTH - 4) / 6;

/** bn-relu-conv-bn-relu-conv plus shortcut; a 1×1 `convShortcut` of the activated input when shapes change. */
export class WideBasicBlock extends Module {
  readonly bn1: BatchNorm2d;
  readonly conv1: Conv2d;
  readonly bn2: BatchNorm2d;
  readonly conv2: Conv2d;
  readonly convShortcut: Conv2d | null;

  constructor(inPlanes: number, outPlanes: number, stride: number) {
    super();
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.conv1 = this.registerModule('conv1', new Conv2d(inPlanes, outPlanes, 3, { stride, padding: 1, bias: false }));
    this.bn2 = this.registerModule('bn2', new BatchNorm2d(outPlanes));
    this.conv2 = this.registerModule('conv2', new Conv2d(outPlanes, outPlanes, 3, { padding: 1, bias: false }));
    const sameShape = inPlanes === outPlanes && stride === 1;
    this.convShortcut = sameShape
      ? null
      : this.registerModule('convShortcut', new Conv2d(inPlanes, outPlanes, 1, { stride, bias: false }));
  }

  forward(x: Tensor): Tensor {
    const activated = reluOnOutput(this.bn1.call(x), this.bn1);
    const out = this.conv2.call(reluOnOutput(this.bn2.call(this.conv1.call(activated)), this.bn2));
    return add(this.convShortcut ? this.convShortcut.call(activated) : x, out);
  }
}

/** A group of blocks, registered as `layer` (the reference implementation's NetworkBlock). */
class WideGroup extends Module {
  readonly layer: Sequential;

  constructor(inPlanes: number, outPlanes: number, stride: number) {
    super();
    const blocks = Array.from(
      { length: BLOCKS_PER_GROUP },
      (_, i) => new WideBasicBlock(i === 0 ? inPlanes : outPlanes, outPlanes, i === 0 ? stride : 1),
    );
    this.layer = this.registerModule('layer', new Sequential(...blocks));
  }

  forward(x: Tensor): Tensor {
    return this.layer.call(x);
  }
}

export class WideResNet extends Classifier {
  readonly architecture = 'wrn-28-4';
  readonly firstLayerPath = 'conv1';
  readonly headPath = 'fc';
  readonly conv1: Conv2d;
  private readonly groups: WideGroup[];
  readonly bn1: BatchNorm2d;
  private readonly pool: GlobalAvgPool2d;
  readonly fc: Linear;

  constructor(inChannels: number, widths: readonly number[], firstKernel: number, numClasses: number) {
    super();
    const [stem, ...groupWidths] = widths as [number, ...number[]];
    // 'Same' padding for odd kernels keeps the 32×32 resolution the rest of the network expects.
    this.conv1 = this.registerModule(
      'conv1',
      new Conv2d(inChannels, stem, firstKernel, { padding: Math.floor(firstKernel / 2), bias: false }),
    );
    let inPlanes = stem;
    this.groups = groupWidths.map((planes, g) => {
      const group = this.registerModule(`block${g + 1}`, new WideGroup(inPlanes, planes, g === 0 ? 1 : 2));
      inPlanes = planes;
      return group;
    });
    this.bn1 = this.registerModule('bn1', new BatchNorm2d(inPlanes));
    this.pool = this.registerModule('avgpool', new GlobalAvgPool2d());
    this.fc = this.registerModule('fc', new Linear(inPlanes, numClasses));
  }

  forward(x: Tensor): Tensor {
    let y = this.conv1.call(x);
    for (const group of this.groups) y = group.call(y);
    return this.fc.call(this.pool.call(reluOnOutput(this.bn1.call(y), this.bn1)));
  }
}

export function createWrn28x4(options: ModelOptions): WideResNet {
  const [channels] = imageShape('wrn-28-4', options.inputShape);
  const firstKernel = options.firstKernel ?? 3;
  if (!Number.isSafeInteger(firstKernel) || firstKernel < 1 || firstKernel % 2 === 0) {
    throw new Error(`wrn-28-4: firstKernel must be an odd positive integer (3, 5, …), got ${firstKernel}`);
  }
  const widths = resolveWidths(
    'wrn-28-4',
    options.widths,
    WRN_28_4_DEFAULT_WIDTHS,
    'stem width, then the widths of the three groups',
  );
  return initializeClassifier(new WideResNet(channels, widths, firstKernel, options.numClasses), options);
}
