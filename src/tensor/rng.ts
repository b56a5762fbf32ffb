/**
 * Counter-based random numbers (Philox4x32-10, Salmon et al., SC 2011).
 *
 * Why counter-based: the numbers depend only on (seed, stream, counter), so they are the same on
 * every platform, a stream's position is one integer that a checkpoint can save, and independent
 * purposes (initialisation, data order, labels, augmentation, dropout) get independent streams
 * from one seed without drawing from each other.
 */

/** The purposes that get their own stream. Any other string is also accepted. */
export type StreamName = 'init' | 'data' | 'labels' | 'augment' | 'dropout' | 'split' | 'basis' | (string & {});

export interface RngState {
  readonly seed: number;
  readonly stream: string;
  /** Index of the next 32-bit word to be drawn. */
  readonly position: number;
}

const PHILOX_M0 = 0xd2511f53;
const PHILOX_M1 = 0xcd9e8d57;
const PHILOX_W0 = 0x9e3779b9;
const PHILOX_W1 = 0xbb67ae85;
const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product of two uint32 (JavaScript numbers only hold 53 bits exactly). */
function mulHi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const loLo = aLo * bLo;
  const hiLo = aHi * bLo;
  const loHi = aLo * bHi;
  const hiHi = aHi * bHi;
  const cross = (loLo >>> 16) + (hiLo & 0xffff) + (loHi & 0xffff);
  return (hiHi + (hiLo >>> 16) + (loHi >>> 16) + Math.floor(cross / 65536)) >>> 0;
}

/** One Philox4x32-10 block: 4 random words for counter (c0, c1) under key (k0, k1). */
export function philox4x32(c0: number, c1: number, k0: number, k1: number, out: Uint32Array): void {
  let x0 = c0 >>> 0;
  let x1 = c1 >>> 0;
  let x2 = 0;
  let x3 = 0;
  let key0 = k0 >>> 0;
  let key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    const hi0 = mulHi32(PHILOX_M0, x0);
    const lo0 = Math.imul(PHILOX_M0, x0) >>> 0;
    const hi1 = mulHi32(PHILOX_M1, x2);
    const lo1 = Math.imul(PHILOX_M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
    key0 = (key0 + PHILOX_W0) >>> 0;
    key1 = (key1 + PHILOX_W1) >>> 0;
  }
  out[0] = x0;
  out[1] = x1;
  out[2] = x2;
  out[3] = x3;
}

/** FNV-1a hash of a stream name, so names map to fixed, platform-independent keys. */
function streamKey(stream: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < stream.length; i++) {
    hash ^= stream.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash >>> 0;
}

function checkSeed(seed: number): void {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new Error(`RNG seed must be a non-negative safe integer, got ${seed}`);
  }
}

export class Rng {
  readonly seed: number;
  readonly stream: string;
  private readonly key0: number;
  private readonly key1: number;
  private position = 0;
  private readonly block = new Uint32Array(4);
  private blockIndex = -1;

  constructor(seed: number, stream: StreamName = 'default') {
    checkSeed(seed);
    this.seed = seed;
    this.stream = stream;
    this.key0 = seed >>> 0;
    this.key1 = (Math.floor(seed / TWO_POW_32) ^ streamKey(stream)) >>> 0;
  }

  /** An independent generator for another purpose, from the same seed. */
  fork(stream: StreamName): Rng {
    return new Rng(this.seed, `${this.stream}/${stream}`);
  }

  static fromState(state: RngState): Rng {
    const rng = new Rng(state.seed, state.stream);
    rng.position = state.position;
    return rng;
  }

  state(): RngState {
    return { seed: this.seed, stream: this.stream, position: this.position };
  }

  /** A uniformly random 32-bit unsigned integer. */
  nextUint32(): number {
    const blockIndex = Math.floor(this.position / 4);
    if (blockIndex !== this.blockIndex) {
      philox4x32(blockIndex >>> 0, Math.floor(blockIndex / TWO_POW_32) >>> 0, this.key0, this.key1, this.block);
      this.blockIndex = blockIndex;
    }
    const word = this.block[this.position % 4]!;
    this.position++;
    return word;
  }

  /** Uniform in [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n), without modulo bias. */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0 || n > TWO_POW_32)
      throw new Error(`Rng.int needs an integer 1 ≤ n ≤ 2^32, got ${n}`);
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    for (;;) {
      const word = this.nextUint32();
      if (word < limit) return word % n;
    }
  }

  /** Standard normal by Box–Muller (one pair of uniforms per draw, so the state stays one integer). */
  normal(): number {
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    return Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  }

  fillNormal(out: Float32Array | Float64Array, mean = 0, std = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = mean + std * this.normal();
  }

  fillUniform(out: Float32Array | Float64Array, low = 0, high = 1): void {
    for (let i = 0; i < out.length; i++) out[i] = low + (high - low) * this.uniform();
  }

  /** A uniformly random permutation of 0..n-1 (Fisher–Yates). */
  permutation(n: number): Int32Array {
    const perm = new Int32Array(n);
    for (let i = 0; i < n; i++) perm[i] = i;
    this.shuffle(perm);
    return perm;
  }

  shuffle(values: Int32Array | number[]): void {
    for (let i = values.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = values[i]!;
      values[i] = values[j]!;
      values[j] = tmp;
    }
  }
}
