/**
 * The device an op runs on, for ops written once for every device: the device's kernels
 * (`DeviceKernels` over its buffers), its tensors' buffers, and new outputs and gradients on it.
 * An op asks `storageFor` with its tensors and hands the answer to its one generic body.
 */
import type { DeviceKernels, Kernels } from '../../kernels/interface.js';
import { getKernels } from '../../kernels/index.js';
import type { DeviceArray, WebGpu } from '../../kernels/webgpu/index.js';
import { oncePerRuntime, webgpuKernels, type WebGpuKernels } from '../../kernels/webgpuKernels.js';
import type { GradData } from '../autograd.js';
import { devicePool, webgpuRuntime, type Device } from '../device.js';
import { leafGradTarget, type LeafGradTarget } from '../fusedStep.js';
import { bufferPool } from '../pool.js';
import { empty, emptyOnWebGpu, formatShape, type DType, type Shape, type Tensor } from '../tensor.js';

/** One device's view of tensors for ops: F holds float32 values there, I int32 ones. */
export interface OpStorage<F extends GradData, I> {
  readonly device: Device;
  /** The device's kernels (on the cpu the active backend: an op takes them once, forward and backward alike). */
  readonly kernels: DeviceKernels<F, I>;
  /** Whether a kernel may write an array it also reads, so that an element-wise backward rule may write
   *  ∂L/∂input over a writable ∂L/∂output (WebGPU forbids a dispatch to bind one array twice). */
  readonly writesInPlace: boolean;
  /** The float32 values of a tensor on this device. */
  floats(t: Tensor): F;
  /** The int32 values of a tensor on this device. */
  ints(t: Tensor): I;
  /** A new tensor on this device; contents unspecified. */
  empty(shape: Shape, dtype?: DType): Tensor;
  /** The values of a cpu tensor on this device: the tensor itself on the cpu, else a copy. */
  fromHost(host: Tensor): Tensor;
  /**
   * A pooled buffer for a gradient returned by a backward rule (or its scratch): the engine gives it
   * back to the pool once consumed. Contents unspecified: the kernel writing it must overwrite it all.
   */
  gradBuffer(length: number): F;
  /** Give back a gradBuffer that the rule does not hand to the engine. */
  release(buffer: F): void;
  /**
   * Where a backward rule writes input's gradient: the input's own `.grad` when the engine allows it
   * (a cpu parameter whose only gradient this is; see `leafGradTarget`), else a fresh gradBuffer with
   * beta 0. Beta 1 (add to it) is offered only when `canAccumulate` (kernels with a beta: gemm,
   * sumRows). Return the buffer as the input's gradient either way.
   */
  gradDestination(input: Tensor, canAccumulate: boolean): LeafGradTarget<F>;
  /**
   * ∂L/∂input for an op whose output has one element, from its upstream gradient g (one element)
   * and `compute(upstream)`, which writes ∂L/∂input for the upstream gradient `upstream`: on the
   * host, where g can be read, compute(g[0]); on a device compute(1), multiplied by g there, so
   * that g never leaves the device.
   */
  fromScalarGrad(g: F, compute: (upstream: number) => F): F;

  // The kernels whose result is one number: the host backends return it, a device keeps it in a
  // one-element array (nothing leaves the device unless it is read), so both write it into `out`.
  /** out[0] = factor · Σ x (float64 sums on the host, float32 pairwise sums on webgpu); `op` names the caller. */
  sumInto(op: string, x: F, out: F, factor: number): void;
  /** softmaxCrossEntropyForward with its mean loss written into loss[0]. A loss that is not finite is an
   *  error on the host; on a device it is found when the loss is read (checking would wait for the device). */
  softmaxCrossEntropyInto(logits: F, labels: I, probs: F, loss: F, rows: number, classes: number): void;
}

export interface HostStorage extends OpStorage<Float32Array, Int32Array> {
  readonly device: 'cpu';
  readonly kernels: Kernels;
}

export interface WebGpuStorage extends OpStorage<DeviceArray, DeviceArray> {
  readonly device: 'webgpu';
  readonly kernels: WebGpuKernels;
}

/** Either device's storage, told apart by `device`: for ops with a device-specific branch. */
export type AnyStorage = HostStorage | WebGpuStorage;

/** Either device's storage as one type, for an op's generic body (which is checked for every F). */
export type SomeStorage = OpStorage<GradData, unknown>;

const hostStorage: HostStorage = {
  device: 'cpu',
  get kernels() {
    return getKernels();
  },
  writesInPlace: true,
  floats: (t) => t.data,
  ints: (t) => t.ints,
  empty: (shape, dtype) => empty(shape, undefined, dtype),
  fromHost: (host) => host,
  gradBuffer: (length) => bufferPool.acquire(length),
  release: (buffer) => bufferPool.release(buffer),
  gradDestination: (input, canAccumulate) =>
    leafGradTarget(input, canAccumulate) ?? { buffer: bufferPool.acquire(input.size), beta: 0 },
  fromScalarGrad: (g, compute) => compute(g[0]!),
  sumInto: (_op, x, out, factor) => {
    out[0] = getKernels().sum(x) * factor;
  },
  softmaxCrossEntropyInto: (logits, labels, probs, loss, rows, classes) => {
    const value = getKernels().softmaxCrossEntropyForward(logits, labels, probs, rows, classes);
    if (!Number.isFinite(value)) {
      throw new Error(
        `crossEntropy: the loss is not finite (${value}) for logits ${formatShape([rows, classes])}; the logits contain NaN or ±Infinity`,
      );
    }
    loss[0] = value;
  },
};

const webgpuStorage = oncePerRuntime(makeWebGpuStorage);

function makeWebGpuStorage(gpu: WebGpu): WebGpuStorage {
  const gradBuffer = (length: number): DeviceArray => devicePool.acquire(length, 'f32', 'gradient');
  const kernels = webgpuKernels(gpu);
  return {
    device: 'webgpu',
    kernels,
    writesInPlace: false,
    floats: (t) => t.deviceArray,
    ints: (t) => t.deviceArray,
    empty: (shape, dtype) => emptyOnWebGpu(shape, undefined, dtype),
    fromHost: (host) => {
      const copy = emptyOnWebGpu(host.shape, undefined, host.dtype);
      gpu.writeArray(copy.deviceArray, host.dtype === 'int32' ? host.ints : host.data);
      return copy;
    },
    gradBuffer,
    // Device memory is not garbage-collected in time: every array goes back to the pool.
    release: (buffer) => devicePool.release(buffer),
    gradDestination: (input) => ({ buffer: gradBuffer(input.size), beta: 0 }),
    fromScalarGrad: (g, compute) => {
      const result = compute(1);
      kernels.mulByScalar(g, result);
      return result;
    },
    sumInto: kernels.sumInto,
    softmaxCrossEntropyInto: kernels.softmaxCrossEntropyForward,
  };
}

/**
 * The storage of the device an op's tensors (null ones skipped) are on: they must all be on one,
 * else the error names two that differ. Fixed arity, so that the cpu path allocates nothing here.
 */
export function storageByDevice(
  op: string,
  a: Tensor,
  b: Tensor | null = null,
  c: Tensor | null = null,
  d: Tensor | null = null,
  e: Tensor | null = null,
): AnyStorage {
  requireDeviceOf(op, a, b);
  requireDeviceOf(op, a, c);
  requireDeviceOf(op, a, d);
  requireDeviceOf(op, a, e);
  return a.device === 'cpu' ? hostStorage : webgpuStorage(webgpuRuntime(a.describe()));
}

/** `storageByDevice` as one type, for ops written once. */
export const storageFor: (...args: Parameters<typeof storageByDevice>) => SomeStorage = storageByDevice;

function requireDeviceOf(op: string, a: Tensor, t: Tensor | null): void {
  if (t !== null && t.device !== a.device)
    throw new Error(
      `${op}: ${a.describe()} is on ${a.device} but ${t.describe()} is on ${t.device}; move one with await tensor.to(device)`,
    );
}

/** The gradient for `input` if it needs one, else null (and the buffer goes back to the pool). */
export function gradFor<F extends GradData>(
  s: OpStorage<F, unknown>,
  input: Tensor | null,
  buffer: F | null,
): F | null {
  if (input?.requiresGrad) return buffer;
  if (buffer) s.release(buffer);
  return null;
}

/**
 * Where an element-wise backward rule writes ∂L/∂input: over g = ∂L/∂output itself when the engine
 * says nothing else holds it (`writable`) and the device's kernels may write what they read, which
 * saves a buffer and a pass's writes to fresh memory; else a fresh gradBuffer.
 */
export function elementwiseGrad<F extends GradData>(
  s: OpStorage<F, unknown>,
  g: F,
  writable: boolean,
  length: number,
): F {
  return writable && s.writesInPlace ? g : s.gradBuffer(length);
}
