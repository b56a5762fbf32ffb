/**
 * Where a tensor's values live: 'cpu' (a host Float32Array/Int32Array) or 'webgpu' (a DeviceArray
 * in the memory of the process's WebGPU device, src/kernels/webgpu/).
 *
 * Acquiring the device is asynchronous (Dawn looks for an adapter), everything after it is not:
 * `await useWebGpu()` once, and from then on ops record their dispatches synchronously into the
 * runtime's batch. Only reading values back (`await t.read()`, `await t.to('cpu')`) waits.
 *
 * Device buffers are pooled by element type and length, as bufferPool pools host arrays: a buffer
 * released by a disposed tensor may still be read by a dispatch recorded but not yet run, so it is
 * never destroyed while the runtime lives; the queue runs in program order, so handing it to the
 * next writer is safe.
 */
import { releaseWebGpu, WebGpu, type DeviceArray, type ElementType } from '../kernels/webgpu/index.js';

export type Device = 'cpu' | 'webgpu';
export const DEVICES: readonly Device[] = ['cpu', 'webgpu'];

let runtime: WebGpu | null = null;

/** The WebGPU runtime tensors on 'webgpu' use, acquired on the first call (see kernels/webgpu/device.ts). */
export async function useWebGpu(): Promise<WebGpu> {
  runtime ??= await WebGpu.acquire();
  return runtime;
}

/** The runtime for an op on a webgpu tensor; `what` names the tensor for the error when there is none. */
export function webgpuRuntime(what: string): WebGpu {
  if (!runtime) throw new Error(`${what} is on webgpu but no WebGPU device is in use: call await useWebGpu() first`);
  return runtime;
}

/** Destroy the device and every pooled buffer (tests; a later useWebGpu() starts afresh). */
export async function releaseTensorWebGpu(): Promise<void> {
  devicePool.clear();
  runtime = null;
  await releaseWebGpu();
}

/** Free the device memory of every pooled buffer (a run's end: the next run's shapes differ). */
export function clearDevicePool(): void {
  devicePool.clear();
}

/** Free device arrays by element type and length. */
class DeviceBufferPool {
  private readonly free = new Map<string, DeviceArray[]>();

  acquire(length: number, type: ElementType, label: string): DeviceArray {
    const reused = this.free.get(`${type}:${length}`)?.pop();
    return reused ?? webgpuRuntime(label).createArray(length, type, label);
  }

  release(array: DeviceArray): void {
    const key = `${array.type}:${array.length}`;
    let list = this.free.get(key);
    if (!list) {
      list = [];
      this.free.set(key, list);
    }
    list.push(array);
  }

  /** Destroys every pooled array, after submitting what was recorded (work already submitted may still use them). */
  clear(): void {
    runtime?.submit();
    for (const list of this.free.values()) for (const array of list) array.destroy();
    this.free.clear();
  }
}

export const devicePool = new DeviceBufferPool();
