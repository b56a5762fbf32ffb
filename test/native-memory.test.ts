/**
 * Kernels.allocateFloat32 on the native backend: zero-filled buffers of the asked length, and on
 * Linux the large ones (≥ 2 MiB) in their own mapping on a 2 MiB boundary, advised for huge pages
 * (VmFlags "hg" in /proc/self/smaps). Long-lived tensor state takes its buffers from it, transient
 * tensors do not.
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Kernels } from '../src/kernels/interface.js';
import { setKernels } from '../src/kernels/index.js';
import { loadNativeKernels } from '../src/kernels/native.js';
import { referenceKernels } from '../src/kernels/reference/index.js';
import * as nn from '../src/nn/index.js';
import { SGD } from '../src/optim/index.js';
import { sum, tensor, tidy, zeros } from '../src/tensor/index.js';

const addon = loadNativeKernels().addon;
const HUGE_PAGE = 2 * 1024 * 1024;
const linux = process.platform === 'linux';
/** THP compiled in and not disabled for this process (prctl PR_SET_THP_DISABLE shows as THP_enabled: 0). */
const thpAvailable =
  existsSync('/sys/kernel/mm/transparent_hugepage/enabled') &&
  !/^THP_enabled:\s*0/m.test(readFileSync('/proc/self/status', 'utf8'));

function allocate(length: number): Float32Array {
  return (addon!.allocateFloat32 as (n: number) => Float32Array)(length);
}
function addressOf(array: Float32Array): number {
  return (addon!.bufferAddress as (a: Float32Array) => number)(array);
}

/** The /proc/self/smaps entry of the mapping that contains `address`: its bounds and VmFlags. */
function mappingOf(address: number): { start: number; end: number; flags: string[] } {
  let current: { start: number; end: number; flags: string[] } | null = null;
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (header) {
      const start = Number.parseInt(header[1]!, 16),
        end = Number.parseInt(header[2]!, 16);
      current = start <= address && address < end ? { start, end, flags: [] } : null;
    } else if (current && line.startsWith('VmFlags:')) {
      current.flags = line.slice('VmFlags:'.length).trim().split(/\s+/);
      return current;
    }
  }
  throw new Error(`no mapping in /proc/self/smaps contains 0x${address.toString(16)}`);
}

describe.skipIf(addon === null)('native allocateFloat32', () => {
  it('returns zero-filled, writable arrays of the asked length, small and large', () => {
    for (const length of [0, 1, 17, 1000, HUGE_PAGE / 4 - 1, HUGE_PAGE / 4, (3 * HUGE_PAGE) / 4 + 5]) {
      const a = allocate(length);
      expect(a).toBeInstanceOf(Float32Array);
      expect(a.length, `length ${length}`).toBe(length);
      expect(a.byteLength).toBe(length * 4);
      expect(
        a.every((v) => v === 0),
        `length ${length} zero-filled`,
      ).toBe(true);
      if (length > 0) {
        a[0] = 1;
        a[length - 1] = 2;
        expect([a[0], a[length - 1]]).toEqual([length === 1 ? 2 : 1, 2]);
      }
    }
  });

  it('gives each large array its own memory', () => {
    const a = allocate(HUGE_PAGE / 2),
      b = allocate(HUGE_PAGE / 2);
    a.fill(3);
    expect(b.every((v) => v === 0)).toBe(true);
    expect(Math.abs(addressOf(a) - addressOf(b))).toBeGreaterThanOrEqual(HUGE_PAGE * 2);
  });

  it.skipIf(!linux)('maps large arrays on a 2 MiB boundary, advised for huge pages, and small ones on the heap', () => {
    const large = allocate(HUGE_PAGE / 4 + 100);
    const address = addressOf(large);
    expect(address % HUGE_PAGE).toBe(0);
    const mapping = mappingOf(address);
    expect(mapping.start).toBe(address);
    if (thpAvailable) expect(mapping.flags).toContain('hg');
    const small = allocate(1000);
    expect(mappingOf(addressOf(small)).flags).not.toContain('hg');
  });

  describe('tensors', () => {
    let previous: Kernels;
    beforeAll(() => {
      previous = setKernels('native');
    });
    afterAll(() => {
      setKernels(previous);
    });

    it.skipIf(!linux)(
      'parameters, gradients and optimizer state take large buffers from it; transient tensors do not',
      () => {
        const layer = new nn.Linear(1024, 1024);
        const optimizer = new SGD(layer.namedParameters(), { lr: 0.1, momentum: 0.9 });
        const x = tensor(new Float32Array(4 * 1024).fill(0.5), [4, 1024]);
        tidy(() => {
          const loss = sum(layer.call(x));
          loss.backward();
          optimizer.step();
          const activation = layer.call(x);
          expect(addressOf(activation.data) % HUGE_PAGE === 0 && activation.size * 4 >= HUGE_PAGE).toBe(false);
        });
        expect(addressOf(layer.weight.data) % HUGE_PAGE).toBe(0);
        expect(addressOf(layer.weight.grad!.data) % HUGE_PAGE).toBe(0);
        // A stateDict snapshot is transient: ordinary arrays.
        const snapshot = Object.values(optimizer.stateDict().params['weight']!.buffers)[0]!;
        expect(snapshot.size).toBe(1024 * 1024);
        expect(addressOf(snapshot.data) % HUGE_PAGE).not.toBe(0);
        const transient = zeros([1024, 1024]);
        // glibc puts a header before an mmapped block, so V8's own arrays never start on 2 MiB.
        expect(addressOf(transient.data) % HUGE_PAGE).not.toBe(0);
      },
    );

    it('and from the reference backend get ordinary arrays', () => {
      setKernels(referenceKernels);
      const layer = new nn.Linear(1024, 1024);
      expect(layer.weight.data.length).toBe(1024 * 1024);
      if (linux) expect(addressOf(layer.weight.data) % HUGE_PAGE).not.toBe(0);
      setKernels('native');
    });
  });
});
