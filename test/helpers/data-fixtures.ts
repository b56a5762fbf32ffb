/**
 * Small datasets the data tests build in temp dirs: CIFAR-layout record files, image folders.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import sharp from 'sharp';
import type { CifarLayout } from '../../src/data/cifar.js';
import { CIFAR10_LAYOUT, CIFAR100_LAYOUT } from '../../src/data/cifar.js';
import type { ImageDataset } from '../../src/data/types.js';
import { identityIndices, sharedUint8 } from '../../src/data/types.js';

export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `randlab-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** CIFAR layouts with few records per file, so tests write kilobytes instead of 180 MB. */
export function smallLayout(base: CifarLayout, recordsPerFile: number): CifarLayout {
  const shrink = (files: CifarLayout['splits']['train']) =>
    files.map((file) => ({ base: file.base, records: recordsPerFile }));
  return { ...base, splits: { train: shrink(base.splits.train), test: shrink(base.splits.test) } };
}

export const SMALL_CIFAR10 = smallLayout(CIFAR10_LAYOUT, 6);
export const SMALL_CIFAR100 = smallLayout(CIFAR100_LAYOUT, 8);

/** Deterministic pixel byte of record r, global position p (so tests can predict every byte). */
export function fixturePixel(record: number, p: number): number {
  return (record * 31 + p * 7) % 256;
}

/** Labels byte(s) of record r: CIFAR-10 → [r % 10]; CIFAR-100 → [coarse r % 20, fine r % 100]. */
export function fixtureLabels(layout: CifarLayout, record: number): number[] {
  return layout.labelBytes === 1
    ? [record % layout.fineClasses]
    : [record % layout.coarseClasses, record % layout.fineClasses];
}

/** The bytes of one record file; `record0` numbers its first record globally within the split. */
export function cifarFileBytes(layout: CifarLayout, records: number, record0: number): Buffer {
  const recordBytes = layout.labelBytes + 3072;
  const bytes = Buffer.alloc(records * recordBytes);
  for (let r = 0; r < records; r++) {
    const start = r * recordBytes;
    fixtureLabels(layout, record0 + r).forEach((label, b) => (bytes[start + b] = label));
    for (let p = 0; p < 3072; p++) bytes[start + layout.labelBytes + p] = fixturePixel(record0 + r, p);
  }
  return bytes;
}

/** Writes every record file of `layout` under `<root>/<layout.folder>/`, optionally gzip-compressed. */
export function writeCifar(
  root: string,
  layout: CifarLayout,
  options: { gzip?: boolean; classNames?: boolean } = {},
): string {
  const dir = join(root, layout.folder);
  mkdirSync(dir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    let record0 = 0;
    for (const file of layout.splits[split]) {
      const bytes = cifarFileBytes(layout, file.records, record0);
      if (options.gzip) writeFileSync(join(dir, `${file.base}.bin.gz`), gzipSync(bytes));
      else writeFileSync(join(dir, `${file.base}.bin`), bytes);
      record0 += file.records;
    }
  }
  if (options.classNames !== false) {
    writeFileSync(
      join(dir, layout.fineNamesFile),
      Array.from({ length: layout.fineClasses }, (_, i) => `class${i}`).join('\n') + '\n',
    );
    if (layout.coarseNamesFile) {
      writeFileSync(
        join(dir, layout.coarseNamesFile),
        Array.from({ length: layout.coarseClasses }, (_, i) => `super${i}`).join('\n') + '\n',
      );
    }
  }
  return dir;
}

/** A solid-colour image file (PNG or JPEG by extension) of the given size, optionally grayscale. */
export async function writeImage(
  path: string,
  width: number,
  height: number,
  rgb: [number, number, number],
  grey = false,
): Promise<void> {
  const channels = grey ? 1 : 3;
  const raw = Buffer.alloc(width * height * channels);
  for (let p = 0; p < width * height; p++) for (let c = 0; c < channels; c++) raw[p * channels + c] = rgb[c]!;
  const image = sharp(raw, { raw: { width, height, channels } });
  await (path.toLowerCase().endsWith('.png') ? image.png() : image.jpeg({ quality: 100 })).toFile(path);
}

/**
 * root/{train,val}/<class>/ with `perClass` PNG images each; class k's images are solid
 * `classColour(k)`, so decoded pixels identify the class.
 */
export async function writeImageFolder(
  root: string,
  classes: string[],
  perClass: { train: number; val: number },
  size = 8,
): Promise<void> {
  for (const split of ['train', 'val'] as const) {
    for (const [k, name] of classes.entries()) {
      const dir = join(root, split, name);
      mkdirSync(dir, { recursive: true });
      for (let i = 0; i < perClass[split]; i++) await writeImage(join(dir, `img_${i}.png`), size, size, classColour(k));
    }
  }
}

export function classColour(k: number): [number, number, number] {
  return [(40 * k) % 256, (90 * k + 10) % 256, (200 + 196 * k) % 256];
}

/** An in-memory image dataset with random-looking but deterministic bytes. */
export function syntheticImages(n: number, shape: [number, number, number] = [3, 8, 8], classes = 4): ImageDataset {
  const size = shape[0] * shape[1] * shape[2];
  const pixels = sharedUint8(n * size);
  for (let i = 0; i < pixels.length; i++) pixels[i] = Math.imul(i + 1, 2654435761) >>> 24;
  const labels = Int32Array.from({ length: n }, (_, i) => i % classes);
  return {
    kind: 'image',
    name: 'synthetic',
    spec: 'synthetic',
    split: 'train',
    n,
    shape,
    classes,
    labels,
    sourceIndices: identityIndices(n),
    pixels,
  };
}
