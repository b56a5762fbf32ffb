/**
 * The device a command computes on, acquired before it writes anything: with `webgpu` and no
 * usable adapter the error says what was tried, what to install (src/kernels/webgpu/device.ts),
 * and where to look next.
 */
import { useWebGpu, type Device } from '../tensor/index.js';

export async function acquireDevice(device: Device): Promise<Device> {
  if (device === 'cpu') return device;
  try {
    await useWebGpu();
  } catch (error) {
    throw new Error(
      `device webgpu: ${(error as Error).message}. \`randlab devices\` shows what randlab finds; --device cpu computes on the CPU`,
    );
  }
  return device;
}
