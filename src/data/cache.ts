/**
 * Binary cache of decoded image datasets, so later epochs and runs never decode again.
 *
 * Layout: 8-byte magic, uint32 LE header length, JSON header, int32 LE labels (n), uint8 pixels
 * (n·c·h·w, NCHW). The header repeats the cache key; a file whose key, sizes or length do not match
 * is ignored and rebuilt. Files are written atomically (temp file, fsync, rename).
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { writeFileAtomic } from './paths.js';
import { sharedUint8 } from './types.js';

const MAGIC = Buffer.from('RLIMGC01', 'latin1');

export interface ImageCacheHeader {
  readonly key: string;
  readonly n: number;
  readonly shape: readonly [number, number, number];
  readonly classes: number;
  readonly classNames: readonly string[];
}

export interface CachedImages {
  readonly header: ImageCacheHeader;
  readonly labels: Int32Array;
  readonly pixels: Uint8Array;
}

/** Hex SHA-256 of a JSON-serialisable description (sources, sizes, mtimes, settings). */
export function cacheKey(description: unknown): string {
  return createHash('sha256').update(JSON.stringify(description)).digest('hex');
}

export function writeImageCache(path: string, header: ImageCacheHeader, labels: Int32Array, pixels: Uint8Array): void {
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length, 0);
  const labelBytes = Buffer.alloc(labels.length * 4);
  labels.forEach((label, i) => labelBytes.writeInt32LE(label, i * 4));
  writeFileAtomic(path, [MAGIC, length, headerBytes, labelBytes, pixels]);
}

/** The cached dataset at `path` if it exists and matches `key`; null otherwise (the caller rebuilds). */
export function readImageCache(path: string, key: string): CachedImages | null {
  if (!existsSync(path)) return null;
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const prefix = Buffer.alloc(12);
    if (readSync(fd, prefix, 0, 12, 0) !== 12 || !prefix.subarray(0, 8).equals(MAGIC)) return null;
    const headerLength = prefix.readUInt32LE(8);
    if (12 + headerLength > fileSize) return null;
    const headerBytes = Buffer.alloc(headerLength);
    readSync(fd, headerBytes, 0, headerLength, 12);
    const header = parseHeader(headerBytes);
    if (header === null || header.key !== key) return null;
    const [c, h, w] = header.shape;
    const pixelBytes = header.n * c * h * w;
    const labelsStart = 12 + headerLength;
    const pixelsStart = labelsStart + header.n * 4;
    if (fileSize !== pixelsStart + pixelBytes) return null;
    const labelBytes = Buffer.alloc(header.n * 4);
    readFully(fd, labelBytes, labelsStart);
    const labels = new Int32Array(header.n);
    for (let i = 0; i < header.n; i++) labels[i] = labelBytes.readInt32LE(i * 4);
    const pixels = sharedUint8(pixelBytes);
    readFully(fd, pixels, pixelsStart);
    return { header, labels, pixels };
  } finally {
    closeSync(fd);
  }
}

function parseHeader(bytes: Buffer): ImageCacheHeader | null {
  try {
    const header = JSON.parse(bytes.toString('utf8')) as ImageCacheHeader;
    const valid =
      typeof header.key === 'string' &&
      Number.isSafeInteger(header.n) &&
      Array.isArray(header.shape) &&
      header.shape.length === 3 &&
      Number.isSafeInteger(header.classes) &&
      Array.isArray(header.classNames);
    return valid ? header : null;
  } catch {
    return null;
  }
}

function readFully(fd: number, into: Uint8Array, position: number): void {
  let done = 0;
  while (done < into.length) {
    const read = readSync(fd, into, done, into.length - done, position + done);
    if (read === 0) throw new Error('cache file ended early');
    done += read;
  }
}
