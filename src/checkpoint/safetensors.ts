/**
 * The safetensors format (huggingface/safetensors), read and written by hand:
 *   8 bytes  little-endian u64 N = header length
 *   N bytes  JSON {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}},
 *            padded with spaces (here to a multiple of 8, so the data is 8-byte aligned)
 *   rest     raw little-endian tensor data; offsets are relative to its start, and the tensors
 *            cover it exactly, without gaps or overlaps.
 * Written dtypes: F32, I32, I64 (from int32 tensors). Read: those (I64 into int32, range-checked),
 * and F64, F16, BF16 into float32, for files written by PyTorch.
 */
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { formatShape, shapeSize, Tensor } from '../tensor/tensor.js';
import { untracked } from '../tensor/scope.js';
import { writeFileAtomic } from '../io/atomic.js';

export type WritableDtype = 'F32' | 'I32' | 'I64';
export type ReadableDtype = WritableDtype | 'F64' | 'F16' | 'BF16';

const ITEM_SIZE: Record<ReadableDtype, number> = { F32: 4, I32: 4, I64: 8, F64: 8, F16: 2, BF16: 2 };
const METADATA_KEY = '__metadata__';
/** Same bound as the reference implementation: a larger header is taken as corruption. */
const MAX_HEADER_BYTES = 100_000_000;

/** A tensor to write, optionally stored wider than it is held (int32 → I64 for PyTorch's int64 buffers). */
export interface SafetensorsEntry {
  readonly tensor: Tensor;
  readonly dtype?: WritableDtype;
}

export type TensorsToWrite = ReadonlyMap<string, Tensor | SafetensorsEntry>;

export interface SafetensorsFile {
  readonly tensors: Map<string, Tensor>;
  readonly metadata: Record<string, string>;
  /** The dtype each tensor had in the file. */
  readonly storedDtypes: Map<string, ReadableDtype>;
}

function assertLittleEndianHost(): void {
  if (endianness() !== 'LE') throw new Error('safetensors I/O here assumes a little-endian host');
}

function resolveEntry(name: string, value: Tensor | SafetensorsEntry): { tensor: Tensor; dtype: WritableDtype } {
  const tensor = value instanceof Tensor ? value : value.tensor;
  const natural: WritableDtype = tensor.dtype === 'int32' ? 'I32' : 'F32';
  const dtype = value instanceof Tensor ? natural : (value.dtype ?? natural);
  if (tensor.dtype === 'float32' && dtype !== 'F32')
    throw new Error(`safetensors: '${name}' is float32 and cannot be written as ${dtype}`);
  if (tensor.dtype === 'int32' && dtype === 'F32')
    throw new Error(`safetensors: '${name}' is int32 and cannot be written as F32`);
  return { tensor, dtype };
}

function tensorBytes(name: string, tensor: Tensor, dtype: WritableDtype): Uint8Array {
  if (tensor.isDisposed) throw new Error(`safetensors: '${name}' was disposed before it could be written`);
  if (dtype === 'F32') return new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const ints = tensor.ints;
  if (dtype === 'I32') return new Uint8Array(ints.buffer, ints.byteOffset, ints.byteLength);
  const wide = new Int32Array(ints.length * 2); // little-endian int64: low word, then the sign extension
  for (let i = 0; i < ints.length; i++) {
    wide[2 * i] = ints[i]!;
    wide[2 * i + 1] = ints[i]! < 0 ? -1 : 0;
  }
  return new Uint8Array(wide.buffer);
}

/** The file as chunks (header, then each tensor), so large models are never copied into one buffer. */
export function* encodeSafetensors(
  tensors: TensorsToWrite,
  metadata: Record<string, string> = {},
): Generator<Uint8Array> {
  assertLittleEndianHost();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata;
  const entries = [...tensors].map(([name, value]) => {
    if (name === METADATA_KEY) throw new Error(`safetensors: '${METADATA_KEY}' is reserved and cannot name a tensor`);
    return { name, ...resolveEntry(name, value) };
  });
  let offset = 0;
  for (const { name, tensor, dtype } of entries) {
    const bytes = tensor.size * ITEM_SIZE[dtype];
    header[name] = { dtype, shape: [...tensor.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil(json.length / 8) * 8;
  const head = Buffer.alloc(8 + padded, 0x20);
  head.writeBigUInt64LE(BigInt(padded), 0);
  json.copy(head, 8);
  yield head;
  for (const { name, tensor, dtype } of entries) yield tensorBytes(name, tensor, dtype);
}

/** The whole file in one buffer. */
export function serializeSafetensors(tensors: TensorsToWrite, metadata: Record<string, string> = {}): Buffer {
  return Buffer.concat([...encodeSafetensors(tensors, metadata)]);
}

/** Write a safetensors file atomically. */
export function writeSafetensors(path: string, tensors: TensorsToWrite, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata), 'safetensors file');
}

// --- reading -------------------------------------------------------------------------------

interface HeaderEntry {
  readonly name: string;
  readonly dtype: ReadableDtype;
  readonly shape: number[];
  readonly begin: number;
  readonly end: number;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isOffsetPair(value: unknown): value is [number, number] {
  if (!Array.isArray(value) || value.length !== 2) return false;
  const [begin, end] = value as unknown[];
  return isNonNegativeInteger(begin) && isNonNegativeInteger(end) && begin <= end;
}

function parseHeaderEntry(source: string, name: string, raw: unknown): HeaderEntry {
  const where = `${source}: tensor '${name}'`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new Error(`${where}: header entry must be an object, got ${JSON.stringify(raw)}`);
  const { dtype, shape, data_offsets: offsets } = raw as Record<string, unknown>;
  if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE)) {
    throw new Error(
      `${where}: unsupported dtype ${JSON.stringify(dtype)} (readable: ${Object.keys(ITEM_SIZE).join(', ')})`,
    );
  }
  if (!Array.isArray(shape) || !shape.every(isNonNegativeInteger))
    throw new Error(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  if (!isOffsetPair(offsets)) {
    throw new Error(`${where}: data_offsets must be [begin, end] with 0 ≤ begin ≤ end, got ${JSON.stringify(offsets)}`);
  }
  const entry: HeaderEntry = { name, dtype: dtype as ReadableDtype, shape: shape, begin: offsets[0], end: offsets[1] };
  const expected = shapeSize(entry.shape) * ITEM_SIZE[entry.dtype];
  if (entry.end - entry.begin !== expected) {
    throw new Error(
      `${where}: shape ${formatShape(entry.shape)} of ${entry.dtype} needs ${expected} bytes, but data_offsets [${entry.begin}, ${entry.end}] span ${entry.end - entry.begin}`,
    );
  }
  return entry;
}

function parseMetadata(source: string, raw: unknown): Record<string, string> {
  if (raw === undefined) return {};
  if (
    raw === null ||
    typeof raw !== 'object' ||
    Array.isArray(raw) ||
    !Object.values(raw).every((v) => typeof v === 'string')
  ) {
    throw new Error(`${source}: ${METADATA_KEY} must map strings to strings, got ${JSON.stringify(raw)}`);
  }
  return { ...(raw as Record<string, string>) };
}

/** The tensors must tile the data section exactly, as the reference implementation requires. */
function checkLayout(source: string, entries: HeaderEntry[], dataBytes: number): void {
  const sorted = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let position = 0;
  let previous: HeaderEntry | null = null;
  for (const entry of sorted) {
    if (entry.end > dataBytes) {
      throw new Error(
        `${source}: tensor '${entry.name}': data_offsets [${entry.begin}, ${entry.end}] run past the end of the data section (${dataBytes} bytes; the file is truncated or the header is wrong)`,
      );
    }
    if (entry.begin < position) {
      throw new Error(
        `${source}: tensor '${entry.name}' (bytes [${entry.begin}, ${entry.end}]) overlaps '${previous!.name}' (bytes [${previous!.begin}, ${previous!.end}])`,
      );
    }
    if (entry.begin > position) {
      throw new Error(
        `${source}: bytes [${position}, ${entry.begin}) of the data section belong to no tensor (before '${entry.name}')`,
      );
    }
    position = entry.end;
    previous = entry;
  }
  if (position !== dataBytes)
    throw new Error(
      `${source}: the data section has ${dataBytes} bytes but its tensors end at byte ${position} (${dataBytes - position} trailing bytes)`,
    );
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function decodeValues(source: string, entry: HeaderEntry, bytes: Uint8Array): Float32Array | Int32Array {
  // Copy into a fresh buffer: the data may not be aligned for a typed-array view (and a Node
  // Buffer's slice would share the file's memory).
  const copyBytes = new Uint8Array(entry.end - entry.begin);
  copyBytes.set(bytes.subarray(entry.begin, entry.end));
  const copy = copyBytes.buffer;
  const n = shapeSize(entry.shape);
  switch (entry.dtype) {
    case 'F32':
      return new Float32Array(copy);
    case 'I32':
      return new Int32Array(copy);
    case 'F64':
      return Float32Array.from(new Float64Array(copy));
    case 'F16': {
      const halves = new Uint16Array(copy);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = halfToFloat(halves[i]!);
      return out;
    }
    case 'BF16': {
      const halves = new Uint16Array(copy);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = halves[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'I64': {
      const words = new Int32Array(copy);
      const out = new Int32Array(n);
      for (let i = 0; i < n; i++) {
        const low = words[2 * i]!;
        const high = words[2 * i + 1]!;
        if (high !== low >> 31) {
          const value = (BigInt(high) << 32n) | BigInt(low >>> 0);
          throw new Error(
            `${source}: tensor '${entry.name}': int64 value ${value} at index ${i} does not fit in int32`,
          );
        }
        out[i] = low;
      }
      return out;
    }
  }
}

/** Parse a safetensors file held in memory; `source` names it in errors. */
export function parseSafetensors(bytes: Uint8Array, source = 'safetensors'): SafetensorsFile {
  assertLittleEndianHost();
  if (bytes.byteLength < 8)
    throw new Error(`${source}: file is ${bytes.byteLength} bytes, too short for the 8-byte header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLength = view.getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.byteLength - 8))) {
    throw new Error(
      `${source}: header length ${headerLength} exceeds the ${bytes.byteLength - 8} bytes after the length field${headerLength > MAX_HEADER_BYTES ? ` (limit ${MAX_HEADER_BYTES})` : ''}`,
    );
  }
  const headerEnd = 8 + Number(headerLength);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, headerEnd)));
  } catch (error) {
    throw new Error(`${source}: header (bytes 8..${headerEnd}) is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new Error(`${source}: header must be a JSON object`);
  const metadata = parseMetadata(source, (header as Record<string, unknown>)[METADATA_KEY]);
  const entries = Object.entries(header)
    .filter(([name]) => name !== METADATA_KEY)
    .map(([name, raw]) => parseHeaderEntry(source, name, raw));
  const data = bytes.subarray(headerEnd);
  checkLayout(source, entries, data.byteLength);
  const tensors = new Map<string, Tensor>();
  const storedDtypes = new Map<string, ReadableDtype>();
  untracked(() => {
    for (const entry of entries) {
      tensors.set(entry.name, new Tensor(decodeValues(source, entry, data), entry.shape, { name: entry.name }));
      storedDtypes.set(entry.name, entry.dtype);
    }
  });
  return { tensors, metadata, storedDtypes };
}

export function readSafetensors(path: string): SafetensorsFile {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new Error(`cannot read safetensors file ${path}: ${(error as Error).message}`);
  }
  return parseSafetensors(bytes, path);
}
