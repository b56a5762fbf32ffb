/**
 * Where data and caches live, and how files are written so a crash never leaves half a file.
 *
 * Data root: `--data-dir`, else `$RANDLAB_DATA`, else `./data`.
 * Cache dir: `--cache-dir`, else `$RANDLAB_CACHE`, else `.cache/randlab` in the working directory.
 * Caches never go beside the data: the data root may be read-only.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export function resolveDataRoot(dataDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = dataDir ?? nonEmpty(env.RANDLAB_DATA) ?? 'data';
  return resolve(chosen);
}

export function resolveCacheDir(cacheDir?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = cacheDir ?? nonEmpty(env.RANDLAB_CACHE) ?? '.cache/randlab';
  return resolve(chosen);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Writes `chunks` to `path` through a temp file, fsync and rename: readers see all or nothing. */
export function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.tmp-${process.pid}-${Date.now()}`;
  try {
    const fd = openSync(temp, 'w');
    try {
      for (const chunk of chunks) writeAll(fd, chunk);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.length) offset += writeSync(fd, chunk, offset, chunk.length - offset);
}
