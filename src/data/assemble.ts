/**
 * Builds one preprocessed (and optionally augmented) minibatch from stored examples.
 *
 * This is the only code that makes batches: the prefetch worker and the in-thread fallback both
 * call `assembleBatch`, so their batches are bit-identical. Augmentation randomness is counter-based:
 * the example at position q of epoch e uses words 4·(e·n + q) … of stream `augment`, so any batch
 * can be rebuilt without replaying earlier ones (exact resume).
 */
import { Rng } from '../tensor/rng.js';
import type { Batch } from './types.js';

export interface AugmentConfig {
  /** Random crop after zero-padding each side by this many pixels (0: off; the usual CIFAR value is 4). */
  readonly cropPad: number;
  /** Random horizontal flip with probability 1/2. */
  readonly flip: boolean;
}

export const NO_AUGMENT: AugmentConfig = { cropPad: 0, flip: false };

/** Everything a batch is made from; cheap to send to a worker (the big buffers are shared). */
export interface AssemblySource {
  readonly kind: 'image' | 'vector';
  /** [c, h, w] or [d] */
  readonly shape: readonly number[];
  /** Pixel bytes (images) or values (vectors), n examples. */
  readonly data: Uint8Array | Float32Array;
  readonly n: number;
  readonly labels: Int32Array;
  /** Preprocessor lookup table, [c × 256] (images). */
  readonly lut: Float32Array;
  readonly augment: AugmentConfig;
  /** Seed of the `augment` stream. */
  readonly seed: number;
}

export interface BatchRequest {
  readonly epoch: number;
  readonly position: number;
  readonly indices: Int32Array;
}

const TWO_POW_32 = 4294967296;

export function assembleBatch(source: AssemblySource, request: BatchRequest): Batch {
  const { indices } = request;
  const size = indices.length;
  const exampleLength = source.shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(size * exampleLength);
  const y = new Int32Array(size);
  for (let i = 0; i < size; i++) y[i] = source.labels[indices[i]!]!;
  if (source.kind === 'vector') {
    const values = source.data as Float32Array;
    for (let i = 0; i < size; i++) {
      const index = indices[i]!;
      x.set(values.subarray(index * exampleLength, (index + 1) * exampleLength), i * exampleLength);
    }
  } else if (source.augment.cropPad === 0 && !source.augment.flip) {
    assemblePlain(source, indices, x);
  } else {
    assembleAugmented(source, request, x);
  }
  return { x, y, size, indices: indices.slice(), epoch: request.epoch, position: request.position };
}

function assemblePlain(source: AssemblySource, indices: Int32Array, x: Float32Array): void {
  const [c, h, w] = source.shape as [number, number, number];
  const plane = h * w;
  const pixels = source.data as Uint8Array;
  const lut = source.lut;
  const channelTables = Array.from({ length: c }, (_, ch) => lut.subarray(ch * 256, (ch + 1) * 256));
  let out = 0;
  for (let i = 0; i < indices.length; i++) {
    let from = indices[i]! * c * plane;
    for (let ch = 0; ch < c; ch++) {
      const table = channelTables[ch]!;
      const end = from + plane;
      for (let p = from; p < end; p++) x[out++] = table[pixels[p]!]!;
      from = end;
    }
  }
}

function assembleAugmented(source: AssemblySource, request: BatchRequest, x: Float32Array): void {
  const [c, h, w] = source.shape as [number, number, number];
  const plane = h * w;
  const pixels = source.data as Uint8Array;
  const lut = source.lut;
  const pad = source.augment.cropPad;
  const shifts = 2 * pad + 1;
  for (let i = 0; i < request.indices.length; i++) {
    const slot = request.epoch * source.n + request.position + i;
    const rng = Rng.fromState({ seed: source.seed, stream: 'augment', position: 4 * slot });
    // Fixed words per example (not rejection sampling) keep slots independent; the bias of
    // floor(u·k/2^32) is below 1e-9 for these small k.
    const dx = Math.floor((rng.nextUint32() * shifts) / TWO_POW_32) - pad;
    const dy = Math.floor((rng.nextUint32() * shifts) / TWO_POW_32) - pad;
    const flip = source.augment.flip && rng.nextUint32() >= 2147483648;
    const from = request.indices[i]! * c * plane;
    const to = i * c * plane;
    for (let ch = 0; ch < c; ch++) {
      const offset = ch * 256;
      const zero = lut[offset]!; // padding is a 0 byte, normalised like any other pixel
      for (let r = 0; r < h; r++) {
        const sr = r + dy;
        const row = to + ch * plane + r * w;
        if (sr < 0 || sr >= h) {
          x.fill(zero, row, row + w);
          continue;
        }
        const sourceRow = from + ch * plane + sr * w;
        for (let col = 0; col < w; col++) {
          const sc = (flip ? w - 1 - col : col) + dx;
          x[row + col] = sc < 0 || sc >= w ? zero : lut[offset + pixels[sourceRow + sc]!]!;
        }
      }
    }
  }
}
