/**
 * The native sources say what they implement: each file in native/src opens with a comment whose
 * first line names the TypeScript reference it must match (`// Implements … src/kernels/reference/pool.ts
 * …`) or says it is infrastructure, and its name is that reference's (pool.cc, pool_*.cc; for the
 * float64 routines of src/linalg/eigen.ts, linalg_eigen*.cc), so either file leads to the other.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const nativeDir = join(root, 'native', 'src');
const sources = readdirSync(nativeDir).filter((file) => /\.(cc|h)$/.test(file));

const REFERENCE = /^\/\/ Implements\b.*?\b(src\/(kernels\/reference|linalg)\/([a-z0-9]+)\.ts)\b/;
const INFRASTRUCTURE = /^\/\/ Infrastructure \(no TypeScript reference\b/;

/** The file-name stem a native file implementing this reference must start with. */
function nativeStem(folder: string, name: string): string {
  return folder === 'linalg' ? `linalg_${name}` : name;
}

/** The reference a native file names in its first line, or null for infrastructure; throws otherwise. */
function namedReference(file: string): { path: string; stem: string } | null {
  const firstLine = readFileSync(join(nativeDir, file), 'utf8').split('\n', 1)[0]!;
  const match = REFERENCE.exec(firstLine);
  if (match) return { path: match[1]!, stem: nativeStem(match[2]!, match[3]!) };
  if (INFRASTRUCTURE.test(firstLine)) return null;
  throw new Error(
    `native/src/${file}: the first line must name its TypeScript reference ("// Implements … src/kernels/reference/x.ts") or say "// Infrastructure (no TypeScript reference…", got ${JSON.stringify(firstLine)}`,
  );
}

describe('native sources', () => {
  it('each names its TypeScript reference, an existing file whose name it carries, or is infrastructure', () => {
    expect(sources.length).toBeGreaterThan(0);
    for (const file of sources) {
      const reference = namedReference(file);
      if (!reference) continue;
      expect(existsSync(join(root, reference.path)), `${file} names ${reference.path}, which does not exist`).toBe(
        true,
      );
      const stem = basename(file).replace(/\.(cc|h)$/, '');
      expect(
        stem === reference.stem || stem.startsWith(`${reference.stem}_`),
        `native/src/${file} implements ${reference.path}, so its name must be ${reference.stem}.cc or ${reference.stem}_*.cc`,
      ).toBe(true);
    }
  });

  it('every reference kernel file has a native file of its name', () => {
    const implemented = new Set(
      sources.map(namedReference).flatMap((reference) => (reference ? [reference.path] : [])),
    );
    const kernels = readdirSync(join(root, 'src', 'kernels', 'reference'))
      .filter((file) => file.endsWith('.ts') && file !== 'index.ts')
      .map((file) => `src/kernels/reference/${file}`);
    for (const reference of kernels) expect(implemented, `no native file implements ${reference}`).toContain(reference);
  });
});
