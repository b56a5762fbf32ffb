import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { decodeErrorSummary, loadImageFolder } from '../src/data/imagefolder.js';
import { datasetSplits, loadDataset } from '../src/data/load.js';
import type { ImageDataset } from '../src/data/types.js';
import { classColour, makeTempDir, writeImage, writeImageFolder } from './helpers/data-fixtures.js';

const CLI_ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');

let root: string;
let cache: string;
let cleanup: () => void;
beforeEach(() => {
  const temp = makeTempDir('imagefolder');
  cleanup = temp.cleanup;
  root = join(temp.dir, 'folder');
  cache = join(temp.dir, 'cache');
});
afterEach(() => cleanup());

const CLASSES = ['b_dog', 'a_cat', 'c_eel'];
const SORTED = ['a_cat', 'b_dog', 'c_eel'];

function pixel(dataset: ImageDataset, i: number, channel: number, row: number, col: number): number {
  const [c, h, w] = dataset.shape;
  return dataset.pixels[((i * c + channel) * h + row) * w + col]!;
}

describe('image folders', () => {
  it('labels classes in sorted folder order and decodes to NCHW uint8', async () => {
    await writeImageFolder(root, CLASSES, { train: 2, val: 1 });
    const train = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    expect(train.n).toBe(6);
    expect(train.shape).toEqual([3, 8, 8]);
    expect(train.classes).toBe(3);
    expect(train.classNames).toEqual(SORTED);
    expect(Array.from(train.labels!)).toEqual([0, 0, 1, 1, 2, 2]);
    for (let i = 0; i < train.n; i++) {
      const colour = classColour(CLASSES.indexOf(SORTED[train.labels![i]!]!));
      for (let c = 0; c < 3; c++) expect(pixel(train, i, c, 3, 5)).toBe(colour[c]);
    }
    expect(datasetSplits(`imagefolder:${root},size=8`)).toEqual(['train', 'val']);
    const val = await loadDataset(`imagefolder:${root},size=8`, { split: 'val', cacheDir: cache });
    expect(Array.from(val.labels!)).toEqual([0, 1, 2]);
  });

  it('resizes the shorter side and centre-crops; expands grayscale to 3 channels', async () => {
    const dir = join(root, 'train', 'only');
    mkdirSync(dir, { recursive: true });
    // 36×4 image: left third red, middle third green, right third blue. Shorter side 4 → 8 gives
    // 72×8; the centre 8×8 crop (source columns 16..20) lies well inside the green middle.
    const width = 36;
    const raw = Buffer.alloc(width * 4 * 3);
    for (let y = 0; y < 4; y++) for (let x = 0; x < width; x++) raw[(y * width + x) * 3 + Math.floor(x / 12)] = 255;
    await sharp(raw, { raw: { width, height: 4, channels: 3 } })
      .png()
      .toFile(join(dir, 'a.png'));
    await writeImage(join(dir, 'b.JPEG'), 16, 16, [77, 0, 0], true);
    const dataset = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: null });
    expect(dataset.n).toBe(2);
    for (const [row, col] of [
      [0, 0],
      [7, 7],
      [4, 2],
    ] as const) {
      expect([0, 1, 2].map((c) => pixel(dataset, 0, c, row, col))).toEqual([0, 255, 0]);
    }
    const grey = [0, 1, 2].map((c) => pixel(dataset, 1, c, 4, 4));
    expect(grey[0]).toBe(grey[1]);
    expect(grey[1]).toBe(grey[2]);
    expect(Math.abs(grey[0]! - 77)).toBeLessThanOrEqual(2);
  });

  it('caches decoded tensors and rebuilds when a source file changes', async () => {
    await writeImageFolder(root, CLASSES, { train: 2, val: 1 });
    const victim = join(root, 'train', 'a_cat', 'img_0.png');
    const wholeSecond = new Date(1_700_000_000_000); // restorable exactly, unlike a sub-millisecond mtime
    utimesSync(victim, wholeSecond, wholeSecond);
    const first = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    const cacheFiles = readdirSync(join(cache, 'imagefolder'));
    expect(cacheFiles.length).toBe(1);
    expect(cacheFiles.some((name) => name.includes('.tmp-'))).toBe(false);
    // A cache hit must not decode: make a source undecodable but keep its size and mtime (the key)…
    writeFileSync(victim, Buffer.alloc(statSync(victim).size, 0x55));
    utimesSync(victim, wholeSecond, wholeSecond);
    const second = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    expect(second.pixels).toEqual(first.pixels);
    expect(second.labels).toEqual(first.labels);
    expect(second.pixels.buffer).toBeInstanceOf(SharedArrayBuffer);
    // …and a changed file (new mtime) is a new key.
    await writeImage(victim, 8, 8, [1, 2, 3]);
    utimesSync(victim, new Date(), new Date(Date.now() + 5000));
    const third = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    expect(pixel(third, 0, 0, 0, 0)).toBe(1);
    expect(readdirSync(join(cache, 'imagefolder')).length).toBe(2);
    // Another size is another cache entry.
    const small = await loadImageFolder({ root, split: 'train', size: 4, cacheDir: cache });
    expect(small.shape).toEqual([3, 4, 4]);
  });

  it('a corrupt cache file is ignored and rebuilt', async () => {
    await writeImageFolder(root, ['x', 'y'], { train: 1, val: 1 });
    const first = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    const [name] = readdirSync(join(cache, 'imagefolder'));
    writeFileSync(join(cache, 'imagefolder', name!), 'RLIMGC01garbage');
    const again = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache });
    expect(again.pixels).toEqual(first.pixels);
  });

  it('restricts to chosen classes, relabelled in sorted order', async () => {
    await writeImageFolder(root, CLASSES, { train: 1, val: 1 });
    const dataset = await loadDataset(`imagefolder:${root},size=8,classes=c_eel+a_cat`, { cacheDir: cache });
    expect(dataset.classNames).toEqual(['a_cat', 'c_eel']);
    expect(Array.from(dataset.labels!)).toEqual([0, 1]);
    await expect(loadDataset(`imagefolder:${root},size=8,classes=zebra`, { cacheDir: cache })).rejects.toThrow(
      /no class folder 'zebra'/,
    );
  });

  it('missing directory: says what layout is expected', async () => {
    await expect(loadImageFolder({ root, split: 'train', size: 8, cacheDir: null })).rejects.toThrow(
      /is not a directory.*root\/train\/<class>/,
    );
    await writeImageFolder(root, ['x'], { train: 1, val: 1 });
    await expect(loadImageFolder({ root, split: 'test', size: 8, cacheDir: null })).rejects.toThrow(
      /split 'test' not found/,
    );
  });

  it('unreadable image: names its path, and nothing is cached', async () => {
    await writeImageFolder(root, ['x', 'y'], { train: 2, val: 1 });
    const bad = join(root, 'train', 'y', 'img_1.png');
    writeFileSync(bad, 'not an image');
    await expect(loadImageFolder({ root, split: 'train', size: 8, cacheDir: cache })).rejects.toThrow(
      `Cannot decode image ${bad}`,
    );
    expect(existsSync(join(cache, 'imagefolder')) ? readdirSync(join(cache, 'imagefolder')) : []).toEqual([]);
  });

  it('truncated JPEG: the CLI prints one line naming the file, without libvips’s repeated log', async () => {
    await writeImageFolder(root, ['x', 'y'], { train: 2, val: 1 });
    const bad = join(root, 'train', 'y', 'photo.jpg');
    await writeImage(bad, 16, 16, [200, 30, 90]);
    const whole = readFileSync(bad);
    writeFileSync(bad, whole.subarray(0, Math.floor(whole.length / 2))); // cut inside the header's tables
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', CLI_ENTRY, 'data', 'check', `imagefolder:${root},size=8`, '--cache-dir', cache],
      { encoding: 'utf8' },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(
      new RegExp(`^randlab: .*Cannot decode image ${bad}: Input file has corrupt header(: VipsJpeg: [^\\n]+)?\\n$`),
    );
    expect((result.stderr.match(/VipsJpeg/g) ?? []).length).toBeLessThanOrEqual(1);
  });

  it('decode errors: one line from whatever of libvips’s shared log survived, never a dangling colon', () => {
    const headline = 'Input file has corrupt header';
    const entry = 'VipsJpeg: premature end of JPEG image';
    // Shapes measured from 800 concurrent decodes of one truncated JPEG: the log whole, repeated, or gone.
    expect(decodeErrorSummary(`${headline}: ${entry}\nVipsJpeg: JPEG datastream contains no image\n${entry}`)).toBe(
      `${headline}: ${entry}`,
    );
    expect(decodeErrorSummary(`${headline}: ${entry}`)).toBe(`${headline}: ${entry}`);
    expect(decodeErrorSummary(`${headline}:`)).toBe(headline);
    expect(decodeErrorSummary(`${headline}: \n`)).toBe(headline);
  });

  it('empty class folder: names it', async () => {
    await writeImageFolder(root, ['x', 'y'], { train: 1, val: 1 });
    rmSync(join(root, 'train', 'y', 'img_0.png'));
    writeFileSync(join(root, 'train', 'y', 'notes.txt'), 'no images here');
    await expect(loadImageFolder({ root, split: 'train', size: 8, cacheDir: null })).rejects.toThrow(
      `${join(root, 'train', 'y')}: empty class folder`,
    );
  });

  it('a split whose class folders differ from train is rejected', async () => {
    await writeImageFolder(root, ['x', 'y'], { train: 1, val: 1 });
    rmSync(join(root, 'val', 'y'), { recursive: true });
    await expect(loadImageFolder({ root, split: 'val', size: 8, cacheDir: null })).rejects.toThrow(
      /class folder y is missing/,
    );
    mkdirSync(join(root, 'val', 'y'));
    mkdirSync(join(root, 'val', 'z'));
    await expect(loadImageFolder({ root, split: 'val', size: 8, cacheDir: null })).rejects.toThrow(
      /val\/z: class folder not present/,
    );
  });

  it('classes.txt gives readable names and must match the folders', async () => {
    await writeImageFolder(root, ['n1', 'n2'], { train: 1, val: 1 });
    writeFileSync(join(root, 'classes.txt'), 'n1\tfirst thing\nn2\tsecond thing\n');
    const dataset = await loadImageFolder({ root, split: 'train', size: 8, cacheDir: null });
    expect(dataset.classNames).toEqual(['first thing', 'second thing']);
    writeFileSync(join(root, 'classes.txt'), 'n2\tsecond\nn1\tfirst\n');
    await expect(loadImageFolder({ root, split: 'train', size: 8, cacheDir: null })).rejects.toThrow(
      /classes\.txt: its 2 class ids are not the 2 class folders in sorted order/,
    );
  });
});

const dataRoot = process.env.RANDLAB_DATA;

describe.skipIf(!dataRoot)('real Tiny-ImageNet ($RANDLAB_DATA)', () => {
  it('decodes three classes, including a grayscale JPEG, at 64×64', async () => {
    const temp = makeTempDir('tiny-cache');
    try {
      const spec = 'imagefolder:tiny-imagenet,size=64,classes=n01443537+n03544143+n02988304';
      const train = (await loadDataset(spec, { dataDir: dataRoot!, cacheDir: temp.dir })) as ImageDataset;
      expect(train.n).toBe(180);
      expect(train.shape).toEqual([3, 64, 64]);
      expect(train.classNames?.[0]).toBe('goldfish, Carassius auratus');
      expect(Array.from(train.labels!.subarray(0, 60)).every((label) => label === 0)).toBe(true);
      // train/n03544143/n03544143_0.JPEG is a one-channel JPEG: it is the first image of class 2 (sorted).
      expect(train.classNames?.[2]).toMatch(/hourglass/);
      const grey = 120;
      const plane = 64 * 64;
      const r = train.pixels.subarray(grey * 3 * plane, grey * 3 * plane + plane);
      const g = train.pixels.subarray(grey * 3 * plane + plane, grey * 3 * plane + 2 * plane);
      const b = train.pixels.subarray(grey * 3 * plane + 2 * plane, grey * 3 * plane + 3 * plane);
      expect(g).toEqual(r);
      expect(b).toEqual(r);
      expect(new Set(r).size).toBeGreaterThan(10);
      const val = await loadDataset(spec, { dataDir: dataRoot!, cacheDir: temp.dir, split: 'val' });
      expect(val.n).toBe(150);
    } finally {
      temp.cleanup();
    }
  });
});
