/**
 * The README's library example must run as written: this test takes the first TypeScript block of
 * README.md, points its `from 'randlab'` import at this checkout's sources, runs it, and checks
 * that the network memorised its random labels (the premise of the paper).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');

function readmeExample(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const match = /```ts\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no ```ts block');
  return match[1]!;
}

describe('README library example', () => {
  it('is at most 18 lines and trains a model to memorise random labels', () => {
    const code = readmeExample();
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(18);
    const source = code.replace(/from 'randlab'/g, `from '${pathToFileURL(join(root, 'src', 'index.ts')).href}'`);
    const dir = mkdtempSync(join(tmpdir(), 'randlab-readme-'));
    try {
      const file = join(dir, 'example.mts');
      writeFileSync(file, source);
      const output = execFileSync(process.execPath, ['--import', 'tsx', file], {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      });
      const accuracies = [...output.matchAll(/accuracy on random labels ([\d.]+)/g)].map((m) => Number(m[1]));
      expect(accuracies.length).toBe(3);
      expect(accuracies[2]!).toBeGreaterThan(0.9);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
