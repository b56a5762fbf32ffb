/**
 * Weight initialisers (PyTorch's definitions of fan, gain and bounds), each multiplied by a
 * `scale` — the paper's `init_scale` (docs/paper.md §3: He-normal × init_scale).
 *
 * `initializeModule` draws every layer's tensors from its own stream, `rng.fork(<state_dict key>)`,
 * so a layer's initial weights depend only on the seed and its name: adding or reordering other
 * layers never changes them.
 */
import type { Rng } from '../tensor/rng.js';
import { formatShape, type Shape, type Tensor } from '../tensor/tensor.js';
import { isBatchNorm } from './batchnorm.js';
import { Conv2d } from './conv.js';
import { Linear } from './linear.js';
import type { Module } from './module.js';

export type Nonlinearity = 'linear' | 'conv' | 'sigmoid' | 'tanh' | 'relu' | 'leaky_relu' | 'selu';
export type FanMode = 'fan_in' | 'fan_out';

export const INIT_SCHEMES = [
  'kaiming_normal',
  'kaiming_uniform',
  'lecun_normal',
  'xavier_normal',
  'xavier_uniform',
  'torch_default',
] as const;
export type InitScheme = (typeof INIT_SCHEMES)[number];

/** torch.nn.init.calculate_gain; `negativeSlope` is leaky_relu's slope (PyTorch's default 0.01). */
export function calculateGain(nonlinearity: Nonlinearity, negativeSlope = 0.01): number {
  switch (nonlinearity) {
    case 'linear':
    case 'conv':
    case 'sigmoid':
      return 1;
    case 'tanh':
      return 5 / 3;
    case 'relu':
      return Math.SQRT2;
    case 'leaky_relu':
      return Math.sqrt(2 / (1 + negativeSlope * negativeSlope));
    case 'selu':
      return 3 / 4;
  }
}

/** Fan-in and fan-out of a weight [out, in, …kernel] (PyTorch: in·receptive field, out·receptive field). */
export function computeFans(shape: Shape): { fanIn: number; fanOut: number } {
  if (shape.length < 2)
    throw new Error(`fan in/out needs a weight with at least 2 dimensions, got ${formatShape(shape)}`);
  const receptiveField = shape.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: shape[1]! * receptiveField, fanOut: shape[0]! * receptiveField };
}

export interface ScaleOption {
  /** Multiplies the drawn values (the paper's init_scale); 1 by default. */
  readonly scale?: number;
}

export interface KaimingOptions extends ScaleOption {
  readonly mode?: FanMode;
  /** Default 'relu' (gain √2). */
  readonly nonlinearity?: Nonlinearity;
  /** Negative slope for 'leaky_relu'. */
  readonly a?: number;
}

export interface XavierOptions extends ScaleOption {
  readonly gain?: number;
}

function fanFor(t: Tensor, mode: FanMode): number {
  const { fanIn, fanOut } = computeFans(t.shape);
  return mode === 'fan_in' ? fanIn : fanOut;
}

function checkScale(scale: number): number {
  if (!Number.isFinite(scale) || scale < 0) throw new Error(`init scale must be a finite number ≥ 0, got ${scale}`);
  return scale;
}

function fillNormal(t: Tensor, rng: Rng, std: number): void {
  rng.fillNormal(t.data, 0, std);
}

function fillUniform(t: Tensor, rng: Rng, bound: number): void {
  rng.fillUniform(t.data, -bound, bound);
}

function kaimingGain(options: KaimingOptions): number {
  return calculateGain(options.nonlinearity ?? 'relu', options.a ?? 0);
}

/** N(0, (gain/√fan)²) · scale — He et al. 2015. */
export function kaimingNormal(t: Tensor, rng: Rng, options: KaimingOptions = {}): void {
  const std = kaimingGain(options) / Math.sqrt(fanFor(t, options.mode ?? 'fan_in'));
  fillNormal(t, rng, std * checkScale(options.scale ?? 1));
}

/** U(±gain·√(3/fan)) · scale. */
export function kaimingUniform(t: Tensor, rng: Rng, options: KaimingOptions = {}): void {
  const bound = kaimingGain(options) * Math.sqrt(3 / fanFor(t, options.mode ?? 'fan_in'));
  fillUniform(t, rng, bound * checkScale(options.scale ?? 1));
}

/** N(0, 1/fan_in) · scale (plain, not truncated, normal). */
export function lecunNormal(t: Tensor, rng: Rng, options: ScaleOption = {}): void {
  fillNormal(t, rng, checkScale(options.scale ?? 1) / Math.sqrt(fanFor(t, 'fan_in')));
}

/** N(0, gain²·2/(fan_in+fan_out)) · scale — Glorot & Bengio 2010. */
export function xavierNormal(t: Tensor, rng: Rng, options: XavierOptions = {}): void {
  const { fanIn, fanOut } = computeFans(t.shape);
  fillNormal(t, rng, (options.gain ?? 1) * Math.sqrt(2 / (fanIn + fanOut)) * checkScale(options.scale ?? 1));
}

/** U(±gain·√(6/(fan_in+fan_out))) · scale. */
export function xavierUniform(t: Tensor, rng: Rng, options: XavierOptions = {}): void {
  const { fanIn, fanOut } = computeFans(t.shape);
  fillUniform(t, rng, (options.gain ?? 1) * Math.sqrt(6 / (fanIn + fanOut)) * checkScale(options.scale ?? 1));
}

/**
 * PyTorch's reset_parameters for Linear and Conv2d: kaiming_uniform with a=√5, which is
 * U(±1/√fan_in), and the bias U(±1/√fan_in); both times scale.
 */
export function torchDefaultInit(weight: Tensor, bias: Tensor | null, rng: Rng, options: ScaleOption = {}): void {
  kaimingUniform(weight, rng, { nonlinearity: 'leaky_relu', a: Math.sqrt(5), scale: options.scale });
  if (bias) fillUniform(bias, rng, checkScale(options.scale ?? 1) / Math.sqrt(fanFor(weight, 'fan_in')));
}

export interface InitializeOptions {
  readonly scheme: InitScheme;
  /** The paper's init_scale: multiplies every drawn weight (and drawn bias). */
  readonly scale?: number;
  /** Usually `new Rng(seed, 'init')`; each tensor draws from `rng.fork(<its key>)`. */
  readonly rng: Rng;
  /** Kaiming only: fan mode (default fan_in) and nonlinearity (default relu). */
  readonly mode?: FanMode;
  readonly nonlinearity?: Nonlinearity;
}

function drawWeight(weight: Tensor, rng: Rng, options: InitializeOptions): void {
  const scale = options.scale ?? 1;
  switch (options.scheme) {
    case 'kaiming_normal':
      return kaimingNormal(weight, rng, { mode: options.mode, nonlinearity: options.nonlinearity, scale });
    case 'kaiming_uniform':
      return kaimingUniform(weight, rng, { mode: options.mode, nonlinearity: options.nonlinearity, scale });
    case 'lecun_normal':
      return lecunNormal(weight, rng, { scale });
    case 'xavier_normal':
      return xavierNormal(weight, rng, { scale });
    case 'xavier_uniform':
      return xavierUniform(weight, rng, { scale });
    case 'torch_default':
      throw new Error('torch_default initialises weight and bias together');
  }
}

/** Initialise one Linear or Conv2d: the scheme's weights; bias zero (torch_default: its uniform bias). */
export function initializeLayer(layer: Linear | Conv2d, options: InitializeOptions): void {
  if (!INIT_SCHEMES.includes(options.scheme))
    throw new Error(`unknown init scheme '${options.scheme}' (known: ${INIT_SCHEMES.join(', ')})`);
  const rng = options.rng.fork(layer.weight.name ?? 'weight');
  if (options.scheme === 'torch_default') {
    torchDefaultInit(layer.weight, layer.bias, rng, { scale: options.scale });
    return;
  }
  drawWeight(layer.weight, rng, options);
  layer.bias?.data.fill(0);
}

/**
 * Initialise every Linear and Conv2d of the tree with the scheme, and reset every BatchNorm
 * (weight 1, bias 0, running statistics cleared). A module with parameters of any other kind
 * is an error rather than silently left at zero.
 */
export function initializeModule(module: Module, options: InitializeOptions): void {
  for (const [path, m] of module.namedModules()) {
    if (m instanceof Linear || m instanceof Conv2d) {
      initializeLayer(m, options);
    } else if (isBatchNorm(m)) {
      m.weight.data.fill(1);
      m.bias.data.fill(0);
      m.resetRunningStats();
    } else {
      const own = m.namedParameters().filter(([key]) => !key.includes('.'));
      if (own.length > 0)
        throw new Error(
          `initializeModule: no initialiser for ${m.describe()} at '${path}' (parameters ${own.map(([k]) => k).join(', ')})`,
        );
    }
  }
}
