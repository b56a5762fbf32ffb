/**
 * Temporary device arrays a kernel needs between two of its dispatches (the convolution's split-k
 * partial sums). One buffer per runtime and purpose, grown to the largest length asked for and
 * then kept, so a training loop allocates nothing per step once it has seen each layer; the array
 * handed out is a view of exactly the length asked for (the kernels check lengths), sharing it.
 *
 * Reusing the buffer across calls is safe because the queue runs dispatches in program order: the
 * next kernel's writes come after the previous one's reads. A buffer that must grow may still be
 * used by recorded dispatches, so those are submitted first; WebGPU keeps a destroyed buffer alive
 * until the work submitted with it has run.
 */
import { DeviceArray, type WebGpu } from './runtime.js';

const buffers = new WeakMap<WebGpu, Map<string, DeviceArray>>();

/** An f32 array of `length` elements for `purpose`, whose contents are whatever the last user left. */
export function scratchArray(gpu: WebGpu, purpose: string, length: number): DeviceArray {
  let byPurpose = buffers.get(gpu);
  if (!byPurpose) {
    byPurpose = new Map();
    buffers.set(gpu, byPurpose);
  }
  let held = byPurpose.get(purpose);
  if (!held || held.length < length) {
    if (held) {
      gpu.submit();
      held.destroy();
    }
    held = gpu.createArray(length, 'f32', `scratch: ${purpose}`);
    byPurpose.set(purpose, held);
  }
  return held.length === length ? held : new DeviceArray(held.buffer, length, 'f32', held.label);
}
