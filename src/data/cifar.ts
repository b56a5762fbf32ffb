/**
 * CIFAR-10 and CIFAR-100 in the official binary layouts, plain or gzip-compressed.
 *
 * CIFAR-10 record: <1 label byte><1024 R><1024 G><1024 B>, files data_batch_1..5 and test_batch.
 * CIFAR-100 record: <1 coarse byte><1 fine byte><3072 pixel bytes>, files train and test.
 * Every file must hold exactly its official number of records: a short file is rejected, never
 * read in part.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import type { ImageDataset } from './types.js';
import { identityIndices, sharedUint8 } from './types.js';

const gunzipAsync = promisify(gunzip);

export const CIFAR_IMAGE_BYTES = 3 * 32 * 32;

export interface CifarFile {
  /** File name without `.bin` / `.bin.gz`. */
  readonly base: string;
  readonly records: number;
}

export interface CifarLayout {
  readonly name: 'cifar10' | 'cifar100';
  readonly title: string;
  /** Folder under the data root. */
  readonly folder: string;
  readonly splits: { readonly train: readonly CifarFile[]; readonly test: readonly CifarFile[] };
  /** Label bytes before the pixels: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine). */
  readonly labelBytes: 1 | 2;
  readonly fineClasses: number;
  readonly coarseClasses: number;
  readonly fineNamesFile: string;
  readonly coarseNamesFile?: string;
}

const batch = (base: string, records = 10_000): CifarFile => ({ base, records });

export const CIFAR10_LAYOUT: CifarLayout = {
  name: 'cifar10',
  title: 'CIFAR-10',
  folder: 'cifar10',
  splits: {
    train: [1, 2, 3, 4, 5].map((k) => batch(`data_batch_${k}`)),
    test: [batch('test_batch')],
  },
  labelBytes: 1,
  fineClasses: 10,
  coarseClasses: 0,
  fineNamesFile: 'batches.meta.txt',
};

export const CIFAR100_LAYOUT: CifarLayout = {
  name: 'cifar100',
  title: 'CIFAR-100',
  folder: 'cifar100',
  splits: { train: [batch('train', 50_000)], test: [batch('test')] },
  labelBytes: 2,
  fineClasses: 100,
  coarseClasses: 20,
  fineNamesFile: 'fine_label_names.txt',
  coarseNamesFile: 'coarse_label_names.txt',
};

export type CifarSplit = 'train' | 'test';
export type CifarLabelKind = 'fine' | 'coarse';

export interface LoadCifarOptions {
  readonly split: CifarSplit;
  /** CIFAR-100 only: which label byte becomes `labels`. */
  readonly labels?: CifarLabelKind;
  readonly spec?: string;
}

/** Reads one split of CIFAR-10/100 from `<dataRoot>/<layout.folder>/`. */
export async function loadCifar(
  dataRoot: string,
  layout: CifarLayout,
  options: LoadCifarOptions,
): Promise<ImageDataset> {
  const dir = join(dataRoot, layout.folder);
  requireCifarDir(dir, layout);
  const files = layout.splits[options.split];
  if (!files) throw new Error(`${layout.title} has no split '${options.split}' (splits: train, test)`);
  const labelKind: CifarLabelKind = layout.labelBytes === 2 ? (options.labels ?? 'fine') : 'fine';
  if (layout.labelBytes === 1 && options.labels === 'coarse') throw new Error(`${layout.title} has no coarse labels`);
  const labelByte = labelKind === 'coarse' ? 0 : layout.labelBytes - 1;
  const classes = labelKind === 'coarse' ? layout.coarseClasses : layout.fineClasses;
  const classNames = readClassNames(
    dir,
    labelKind === 'coarse' ? layout.coarseNamesFile! : layout.fineNamesFile,
    classes,
  );

  const n = files.reduce((sum, file) => sum + file.records, 0);
  const pixels = sharedUint8(n * CIFAR_IMAGE_BYTES);
  const labels = new Int32Array(n);
  const recordBytes = layout.labelBytes + CIFAR_IMAGE_BYTES;
  let offset = 0;
  for (const file of files) {
    const { path, bytes } = await readRecordFile(dir, file, recordBytes, layout);
    for (let r = 0; r < file.records; r++) {
      const start = r * recordBytes;
      for (let b = 0; b < layout.labelBytes; b++) {
        const value = bytes[start + b]!;
        const limit = b === layout.labelBytes - 1 ? layout.fineClasses : layout.coarseClasses;
        if (value >= limit) {
          throw new Error(`${path}: record ${r} has ${labelName(layout, b)} byte ${value}, outside 0..${limit - 1}`);
        }
      }
      labels[offset + r] = bytes[start + labelByte]!;
      pixels.set(bytes.subarray(start + layout.labelBytes, start + recordBytes), (offset + r) * CIFAR_IMAGE_BYTES);
    }
    offset += file.records;
  }
  return {
    kind: 'image',
    name: layout.name,
    spec: options.spec ?? layout.name,
    split: options.split,
    n,
    shape: [3, 32, 32],
    classes,
    ...(classNames ? { classNames } : {}),
    labels,
    sourceIndices: identityIndices(n),
    pixels,
  };
}

function labelName(layout: CifarLayout, byteIndex: number): string {
  if (layout.labelBytes === 1) return 'label';
  return byteIndex === 0 ? 'coarse label' : 'fine label';
}

export function requireCifarDir(dir: string, layout: CifarLayout): void {
  if (!existsSync(dir)) {
    throw new Error(
      `${layout.title} not found: directory ${dir} does not exist. Download it with \`randlab data fetch ${layout.name}\`, ` +
        `or point --data-dir or $RANDLAB_DATA at a folder that contains ${layout.folder}/.`,
    );
  }
}

/** Path of `<base>.bin`, else `<base>.bin.gz`, or null. */
export function findCifarFile(dir: string, base: string): string | null {
  for (const name of [`${base}.bin`, `${base}.bin.gz`]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return null;
}

async function readRecordFile(
  dir: string,
  file: CifarFile,
  recordBytes: number,
  layout: CifarLayout,
): Promise<{ path: string; bytes: Uint8Array }> {
  const path = findCifarFile(dir, file.base);
  if (path === null) {
    throw new Error(
      `${layout.title}: ${join(dir, file.base)}.bin (or .bin.gz) is missing. ` +
        `Download the dataset again with \`randlab data fetch ${layout.name} --force\`.`,
    );
  }
  const expected = file.records * recordBytes;
  const what = `expected ${expected} bytes (${file.records} records × ${recordBytes})`;
  if (!path.endsWith('.gz')) {
    const actual = statSync(path).size;
    if (actual !== expected)
      throw new Error(
        `${path}: ${what}, found ${actual}: the file is ${actual < expected ? 'truncated' : 'oversized'}`,
      );
    return { path, bytes: await readFile(path) };
  }
  let bytes: Uint8Array;
  try {
    bytes = await gunzipAsync(await readFile(path), { maxOutputLength: expected + 1 });
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === 'ERR_BUFFER_TOO_LARGE')
      throw new Error(`${path}: ${what} after decompression, found more: the file is oversized`);
    throw new Error(
      `${path}: not a complete gzip stream (${(error as Error).message}); the file is corrupt or truncated`,
    );
  }
  if (bytes.length !== expected) {
    throw new Error(
      `${path}: ${what} after decompression, found ${bytes.length}: the file is ${bytes.length < expected ? 'truncated' : 'oversized'}`,
    );
  }
  return { path, bytes };
}

function readClassNames(dir: string, file: string, classes: number): string[] | undefined {
  const path = join(dir, file);
  if (!existsSync(path)) return undefined;
  const names = readTextLines(path);
  if (names.length !== classes) throw new Error(`${path}: lists ${names.length} class names, expected ${classes}`);
  return names;
}

function readTextLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}
