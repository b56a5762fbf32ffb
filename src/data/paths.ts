/**
 * Where data and caches live, and how files are written so a crash never leaves half a file.
 *
 * Data root: `--data-dir`, else `$RANDLAB_DATA`, else `./data`.
 * Cache dir: `--cache-dir`, else `$RANDLAB_CACHE`, else `.cache/randlab` in the working directory.
 * Caches never go beside the data: the data root may be read-only.
 */
export { writeFileAtomic } from '../io/atomic.js';
import { resolve } from 'node:path';

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
