/**
 * What the webgpu versions of the ops share: the runtime, and gradient arrays from the device pool
 * (the engine gives each back to the pool once it is consumed, as it does host buffers).
 */
import type { DeviceArray, WebGpu } from '../../../kernels/webgpu/index.js';
import { devicePool, webgpuRuntime } from '../../device.js';
import type { Tensor } from '../../tensor.js';

export function gpuOf(t: Tensor): WebGpu {
  return webgpuRuntime(t.describe());
}

/** A device array for a gradient; the kernel writing it must overwrite all of it. */
export function deviceGrad(length: number): DeviceArray {
  return devicePool.acquire(length, 'f32', 'gradient');
}

/** The gradient for `input` if it needs one, else null (and the array goes back to the pool). */
export function deviceGradFor(input: Tensor | null, array: DeviceArray | null): DeviceArray | null {
  if (input?.requiresGrad) return array;
  if (array) devicePool.release(array);
  return null;
}
