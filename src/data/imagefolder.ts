/**
 * Image folders in the ImageNet / torchvision `ImageFolder` layout:
 *
 *   root/train/<class>/*.{JPEG,jpg,jpeg,png}
 *   root/val/<class>/...
 *   root/classes.txt   (optional: "<folder>\t<readable name>" per line, in label order)
 *
 * Label index = position of the class folder in byte-wise sorted order of `root/train/` (the same
 * order torchvision uses), restricted to the selected classes when a subset is asked for. Every image
 * is decoded with sharp, its shorter side resized to `size` and centre-cropped to size×size, grey or
 * alpha images converted to 3-channel RGB. Decoded tensors are cached under the cache dir, keyed by
 * the source files (path, size, mtime) and the settings.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import sharp from 'sharp';
import type { OutputInfo } from 'sharp';
import { cacheKey, readImageCache, writeImageCache } from './cache.js';
import type { ImageDataset } from './types.js';
import { identityIndices, sharedUint8 } from './types.js';

const IMAGE_EXTENSION = /\.(jpe?g|png)$/i;
const CACHE_FORMAT_VERSION = 1;
/** Images decoded at once; sharp runs them on libuv's thread pool. */
const DECODE_CONCURRENCY = 8;

export interface LoadImageFolderOptions {
  readonly root: string;
  readonly split: string;
  /** Output side length in pixels. */
  readonly size: number;
  /** Restrict to these class folders (labels then index the sorted selection). */
  readonly classes?: readonly string[];
  /** Where decoded tensors are cached; null disables the cache. */
  readonly cacheDir: string | null;
  readonly spec?: string;
  readonly onProgress?: (done: number, total: number) => void;
}

interface ImageFile {
  readonly path: string;
  readonly label: number;
}

export async function loadImageFolder(options: LoadImageFolderOptions): Promise<ImageDataset> {
  const root = resolve(options.root);
  const allClasses = listClasses(root, options.split);
  const classes = selectClasses(root, allClasses, options.classes);
  const classNames = readableClassNames(root, allClasses, classes);
  const files = listImages(root, options.split, classes);
  const { size } = options;
  const shape = [3, size, size] as const;
  const key = cacheKey({
    version: CACHE_FORMAT_VERSION,
    root,
    split: options.split,
    size,
    classes,
    files: files.map((file) => {
      const stat = statSync(file.path);
      return [file.path, stat.size, stat.mtimeMs];
    }),
  });
  const cachePath =
    options.cacheDir === null
      ? null
      : join(options.cacheDir, 'imagefolder', `${basename(root)}-${options.split}-${size}px-${key.slice(0, 16)}.bin`);

  const cached = cachePath === null ? null : readImageCache(cachePath, key);
  let labels: Int32Array;
  let pixels: Uint8Array;
  if (cached) {
    ({ labels, pixels } = cached);
  } else {
    labels = Int32Array.from(files, (file) => file.label);
    pixels = await decodeAll(files, size, options.onProgress);
    if (cachePath !== null)
      writeImageCache(cachePath, { key, n: files.length, shape, classes: classes.length, classNames }, labels, pixels);
  }
  return {
    kind: 'image',
    name: 'imagefolder',
    spec: options.spec ?? `imagefolder:${options.root},size=${size}`,
    split: options.split,
    n: files.length,
    shape,
    classes: classes.length,
    classNames,
    labels,
    sourceIndices: identityIndices(files.length),
    pixels,
  };
}

/** The splits (sub-folders such as train, val) present under an image-folder root. */
export function imageFolderSplits(root: string): string[] {
  requireDirectory(resolve(root), 'image folder root');
  return sortedEntries(resolve(root)).filter((name) => statSync(join(root, name)).isDirectory());
}

/** Class folders, sorted byte-wise. `train/` defines them; other splits must have the same ones. */
function listClasses(root: string, split: string): string[] {
  requireDirectory(root, 'image folder root');
  const splitDir = join(root, split);
  requireDirectory(splitDir, `split '${split}'`);
  const definingDir = existsSync(join(root, 'train')) ? join(root, 'train') : splitDir;
  const classes = subdirectories(definingDir);
  if (classes.length === 0)
    throw new Error(`${definingDir}: no class folders (expected ${definingDir}/<class>/<image files>)`);
  if (definingDir !== splitDir) {
    const here = new Set(subdirectories(splitDir));
    const missing = classes.filter((name) => !here.has(name));
    if (missing.length > 0)
      throw new Error(
        `${splitDir}: class folder ${missing[0]} is missing (it exists in ${definingDir}; ${missing.length} missing in all)`,
      );
    const extra = [...here].filter((name) => !classes.includes(name));
    if (extra.length > 0)
      throw new Error(`${splitDir}/${extra[0]}: class folder not present in ${definingDir}, so it has no label`);
  }
  return classes;
}

function selectClasses(root: string, allClasses: string[], wanted: readonly string[] | undefined): string[] {
  if (wanted === undefined) return allClasses;
  const known = new Set(allClasses);
  for (const name of wanted) {
    if (!known.has(name)) throw new Error(`${root}: no class folder '${name}' (asked for by classes=)`);
  }
  const chosen = new Set(wanted);
  return allClasses.filter((name) => chosen.has(name));
}

/** Names from `classes.txt` when present; it must list exactly the class folders, in label order. */
function readableClassNames(root: string, allClasses: string[], classes: string[]): string[] {
  const path = join(root, 'classes.txt');
  if (!existsSync(path)) return classes;
  const entries = readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const tab = line.indexOf('\t');
      return tab < 0
        ? { id: line.trim(), name: line.trim() }
        : { id: line.slice(0, tab).trim(), name: line.slice(tab + 1).trim() };
    });
  const ids = entries.map((entry) => entry.id);
  if (ids.length !== allClasses.length || ids.some((id, i) => id !== allClasses[i])) {
    throw new Error(
      `${path}: its ${ids.length} class ids are not the ${allClasses.length} class folders in sorted order`,
    );
  }
  const names = new Map(entries.map((entry) => [entry.id, entry.name]));
  return classes.map((id) => names.get(id)!);
}

function listImages(root: string, split: string, classes: string[]): ImageFile[] {
  const files: ImageFile[] = [];
  classes.forEach((className, label) => {
    const dir = join(root, split, className);
    const images = sortedEntries(dir).filter((name) => IMAGE_EXTENSION.test(name));
    if (images.length === 0) throw new Error(`${dir}: empty class folder (no .JPEG, .jpg, .jpeg or .png files)`);
    for (const name of images) files.push({ path: join(dir, name), label });
  });
  return files;
}

async function decodeAll(
  files: ImageFile[],
  size: number,
  onProgress?: (done: number, total: number) => void,
): Promise<Uint8Array> {
  const imageBytes = 3 * size * size;
  const pixels = sharedUint8(files.length * imageBytes);
  let next = 0;
  let done = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const index = next++;
      await decodeInto(files[index]!.path, size, pixels.subarray(index * imageBytes, (index + 1) * imageBytes));
      done++;
      onProgress?.(done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, files.length) }, worker));
  return pixels;
}

/** Decodes one image to size×size RGB and writes it planar (CHW) into `out`. */
export async function decodeInto(path: string, size: number, out: Uint8Array): Promise<void> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(path)
      .resize({ width: size, height: size, fit: 'cover', position: 'centre' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw({ depth: 'uchar' })
      .toBuffer({ resolveWithObject: true });
  } catch (error) {
    throw new Error(`Cannot decode image ${path}: ${decodeErrorSummary((error as Error).message)}`, { cause: error });
  }
  const { data, info } = decoded;
  if (info.width !== size || info.height !== size || info.channels !== 3 || data.length !== 3 * size * size) {
    throw new Error(
      `Cannot decode image ${path}: got ${info.width}×${info.height}×${info.channels}, expected ${size}×${size}×3`,
    );
  }
  const plane = size * size;
  for (let p = 0; p < plane; p++) {
    out[p] = data[3 * p]!;
    out[plane + p] = data[3 * p + 1]!;
    out[2 * plane + p] = data[3 * p + 2]!;
  }
}

/**
 * sharp's message is its own headline ("Input file has corrupt header:") followed by libvips's error
 * log, one entry a line: a JPEG truncated in its header adds "VipsJpeg: premature end of JPEG image"
 * and a varying number of repeats. That log is one buffer shared by every libvips thread, so while
 * other images decode beside this one its entries can be missing, doubled or cut short (measured: 69 of
 * 800 concurrent decodes of one truncated file kept only the headline). The summary is therefore the
 * first line without a dangling colon: the headline, with the first log entry where it survived. The
 * whole log stays in the error's `cause`. (sharp's `failOn` only chooses what fails and leaves the log
 * as it is; libvips warnings go to sharp's own log handler, not to stderr.)
 */
export function decodeErrorSummary(message: string): string {
  return message.split('\n', 1)[0]!.trim().replace(/:$/, '');
}

function requireDirectory(path: string, what: string): void {
  if (!existsSync(path) || !statSync(path).isDirectory()) {
    throw new Error(
      `${what} not found: ${path} is not a directory. An image folder needs root/train/<class>/<images> ` +
        `(and root/val/...); put one there or point the spec at it (relative paths start at --data-dir / $RANDLAB_DATA).`,
    );
  }
}

function subdirectories(dir: string): string[] {
  return sortedEntries(dir).filter((name) => statSync(join(dir, name)).isDirectory());
}

/** Directory entries in byte-wise order (Python's `sorted`, torchvision's class order). */
function sortedEntries(dir: string): string[] {
  return readdirSync(dir).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}
