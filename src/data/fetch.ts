/**
 * `randlab data fetch`: download an official archive, verify its published MD5, extract it and
 * install the files flat under `<data root>/<dataset>/`.
 *
 * Nothing half-done is left where the loader looks: the archive is downloaded and extracted into a
 * temporary folder inside the data root, checked for every expected file, and only then moved into
 * place; the temporary folder is removed whatever happens.
 */
import { createHash } from 'node:crypto';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { basename, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import cliProgress from 'cli-progress';
import { extract } from 'tar';
import { CIFAR10_LAYOUT, CIFAR100_LAYOUT, findCifarFile } from './cifar.js';
import type { CifarLayout } from './cifar.js';
import { FileWriteError } from '../io/write-error.js';
import { resolveDataRoot } from './paths.js';

export type FetchableDataset = 'cifar10' | 'cifar100';

export interface FetchSource {
  readonly url: string;
  /** Published MD5 of the archive, hex. */
  readonly md5: string;
}

export const FETCH_SOURCES: Readonly<Record<FetchableDataset, FetchSource>> = {
  cifar10: { url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz', md5: 'c32a1d4ab5d03f1284b67883e8d87530' },
  cifar100: {
    url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
    md5: '03b5dce01913d631647c71ecec9e9cb8',
  },
};

/** Receives progress: one `start` per phase, then `update`s, then `stop`. */
export interface ProgressSink {
  start(phase: 'download' | 'extract', total: number | null): void;
  update(done: number): void;
  stop(): void;
}

export interface FetchOptions {
  readonly dataDir?: string;
  /** Fetch again even if the files are already there. */
  readonly force?: boolean;
  /** Mirror or test archive; `md5` must then match it. Default: the official source. */
  readonly source?: FetchSource;
  /** Injected for tests; default the global fetch. `file:` URLs are read directly. */
  readonly fetchImpl?: (url: string) => Promise<Response>;
  /** Default: a cli-progress bar when stderr is a terminal, else nothing. */
  readonly progress?: ProgressSink | null;
}

export interface FetchResult {
  readonly dir: string;
  /** False when the files were already present (and `force` was not set). */
  readonly fetched: boolean;
  readonly files: readonly string[];
}

export async function fetchDataset(name: string, options: FetchOptions = {}): Promise<FetchResult> {
  const layout = fetchLayout(name);
  const source = options.source ?? FETCH_SOURCES[layout.name];
  const root = resolveDataRoot(options.dataDir);
  const target = join(root, layout.folder);
  const expected = expectedFiles(layout);
  if (!options.force && isInstalled(target, layout)) return { dir: target, fetched: false, files: expected };

  const work = join(root, `.${layout.folder}.fetch-${process.pid}-${Date.now()}`);
  const progress = options.progress === undefined ? terminalProgress() : options.progress;
  mkdirSync(work, { recursive: true });
  try {
    const archive = join(work, basename(new URL(source.url).pathname) || 'archive.tar.gz');
    const md5 = await download(source.url, archive, options.fetchImpl ?? fetch, progress);
    if (md5 !== source.md5.toLowerCase()) {
      throw new Error(
        `Checksum mismatch for ${source.url}: MD5 ${md5}, expected ${source.md5}. The download is corrupt or not the official archive; nothing was installed.`,
      );
    }
    const extracted = join(work, 'extracted');
    await extractArchive(archive, extracted, progress);
    const found = collectFiles(extracted, expected, source.url);
    mkdirSync(target, { recursive: true });
    for (const file of expected) {
      // A stale .bin.gz beside a fresh .bin would be shadowed anyway; remove it so the folder is unambiguous.
      if (file.endsWith('.bin')) rmSync(join(target, `${file}.gz`), { force: true });
      renameSync(found.get(file)!, join(target, file));
    }
    return { dir: target, fetched: true, files: expected };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

function fetchLayout(name: string): CifarLayout {
  if (name === 'cifar10') return CIFAR10_LAYOUT;
  if (name === 'cifar100') return CIFAR100_LAYOUT;
  throw new Error(
    `Cannot fetch '${name}': known datasets are cifar10 and cifar100 (image folders and Gaussians need no download)`,
  );
}

/** The files a complete install holds: the record files and the class-name lists. */
export function expectedFiles(layout: CifarLayout): string[] {
  const records = [...layout.splits.train, ...layout.splits.test].map((file) => `${file.base}.bin`);
  const names = [layout.fineNamesFile, ...(layout.coarseNamesFile ? [layout.coarseNamesFile] : [])];
  return [...records, ...names];
}

function isInstalled(dir: string, layout: CifarLayout): boolean {
  if (!existsSync(dir)) return false;
  const records = [...layout.splits.train, ...layout.splits.test];
  return records.every((file) => findCifarFile(dir, file.base) !== null);
}

/** Streams `url` to `path`, returning the MD5 of the bytes written. */
async function download(
  url: string,
  path: string,
  fetchImpl: (url: string) => Promise<Response>,
  progress: ProgressSink | null,
): Promise<string> {
  let body: Readable;
  let total: number | null;
  if (url.startsWith('file:')) {
    const file = fileURLToPath(url);
    if (!existsSync(file)) throw new Error(`Archive ${file} does not exist`);
    total = statSync(file).size;
    body = createReadStream(file);
  } else {
    let response: Response;
    try {
      response = await fetchImpl(url);
    } catch (error) {
      throw new Error(
        `Cannot download ${url}: ${(error as Error).message}. Without network access, copy the data into the data root by hand (see docs/data.md).`,
      );
    }
    if (!response.ok || response.body === null)
      throw new Error(`Cannot download ${url}: HTTP ${response.status} ${response.statusText}`);
    const length = Number(response.headers.get('content-length'));
    total = Number.isFinite(length) && length > 0 ? length : null;
    body = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  }
  const hash = createHash('md5');
  const file = createWriteStream(path);
  progress?.start('download', total);
  try {
    await pipeline(
      body,
      tap(progress, (chunk) => hash.update(chunk)),
      file,
    );
  } catch (error) {
    // A full disk says only "ENOSPC: …, write": name the file (a network error passes as it is).
    throw file.errored ? new FileWriteError('download', path, error) : error;
  } finally {
    progress?.stop();
  }
  return hash.digest('hex');
}

async function extractArchive(archive: string, into: string, progress: ProgressSink | null): Promise<void> {
  mkdirSync(into, { recursive: true });
  progress?.start('extract', statSync(archive).size);
  try {
    await pipeline(createReadStream(archive), tap(progress), extract({ cwd: into, strict: true }));
  } catch (error) {
    throw new Error(`Cannot extract ${archive}: ${(error as Error).message}`);
  } finally {
    progress?.stop();
  }
}

/** A pass-through stream that reports bytes seen. */
function tap(progress: ProgressSink | null, onChunk?: (chunk: Buffer) => void): Transform {
  let done = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      onChunk?.(chunk);
      done += chunk.length;
      progress?.update(done);
      callback(null, chunk);
    },
  });
}

/** Finds each expected file, at any depth (the archives nest them in one folder), exactly once. */
function collectFiles(dir: string, expected: string[], url: string): Map<string, string> {
  const wanted = new Set(expected);
  const found = new Map<string, string>();
  const walk = (current: string): void => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && wanted.has(entry.name)) {
        if (found.has(entry.name))
          throw new Error(`Archive from ${url} holds ${entry.name} twice (${found.get(entry.name)} and ${path})`);
        found.set(entry.name, path);
      }
    }
  };
  walk(dir);
  const missing = expected.filter((file) => !found.has(file));
  if (missing.length > 0) throw new Error(`Archive from ${url} lacks ${missing.join(', ')}; nothing was installed`);
  return found;
}

function terminalProgress(): ProgressSink | null {
  if (!process.stderr.isTTY) return null;
  let bar: cliProgress.SingleBar | null = null;
  return {
    start(phase, total) {
      const label = phase === 'download' ? 'downloading' : 'extracting ';
      bar = new cliProgress.SingleBar(
        {
          stream: process.stderr,
          // Without a Content-Length there is no total to show a bar against.
          format: total === null ? `${label} {value} bytes` : `${label} [{bar}] {percentage}% {value}/{total} bytes`,
          hideCursor: true,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(total ?? 0, 0);
    },
    update(done) {
      bar?.update(done);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
