/** A folder's state, to check that something left it alone. */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** Every file and folder below `dir`: mtime, size and a hash of the bytes (to compare before and after). */
export function folderSnapshot(dir: string): Map<string, string> {
  const snapshot = new Map<string, string>();
  const visit = (path: string) => {
    const stat = statSync(path);
    const hash = stat.isDirectory() ? '' : createHash('sha256').update(readFileSync(path)).digest('hex');
    snapshot.set(relative(dir, path), `${stat.mtimeMs} ${stat.size} ${hash}`);
    if (stat.isDirectory()) for (const entry of readdirSync(path)) visit(join(path, entry));
  };
  visit(dir);
  return snapshot;
}
