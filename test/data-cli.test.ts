import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { registerDataCommands } from '../src/cli/commands/data.js';
import { makeTempDir, writeImageFolder } from './helpers/data-fixtures.js';

let dir: string;
let cleanup: () => void;
let output: string;
beforeEach(() => {
  ({ dir, cleanup } = makeTempDir('cli'));
  output = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    output += String(chunk);
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  cleanup();
});

async function run(...args: string[]): Promise<void> {
  const program = new Command().exitOverride();
  registerDataCommands(program);
  await program.parseAsync(['node', 'randlab', ...args]);
}

describe('randlab data check', () => {
  it('prints a JSON report for a consistent dataset', async () => {
    await run('data', 'check', 'gaussian:diag(1,4),n=500,seed=2', '--json');
    const report = JSON.parse(output);
    expect(report.ok).toBe(true);
    expect(report.dataset).toBe('gaussian:diag(1,4),n=500,seed=2');
    expect(report.splits.map((s: { split: string; n: number }) => [s.split, s.n])).toEqual([
      ['train', 500],
      ['test', 500],
    ]);
    expect(report.splits[0].std[1]).toBeGreaterThan(1.7);
  });

  it('prints a table with counts per class, image size and channel statistics', async () => {
    const root = join(dir, 'images');
    await writeImageFolder(root, ['cat', 'dog'], { train: 3, val: 2 });
    await run('data', 'check', `imagefolder:${root},size=8`, '--cache-dir', join(dir, 'cache'));
    expect(output).toMatch(/train\s+6\s+3×8×8\s+2\s+0\.\.1\s+3\.\.3/);
    expect(output).toMatch(/val\s+4\s+3×8×8/);
    expect(output).toContain('train per class: cat 3, dog 3');
    expect(output).toContain('ok: no inconsistencies');
  });

  it('fails (non-zero exit) on an inconsistent dataset and lists the problem', async () => {
    const root = join(dir, 'images');
    await writeImageFolder(root, ['cat', 'dog'], { train: 2, val: 1 });
    rmSync(join(root, 'val', 'dog'), { recursive: true });
    await expect(
      run('data', 'check', `imagefolder:${root},size=8`, '--json', '--cache-dir', join(dir, 'cache')),
    ).rejects.toThrow(/data check: 1 inconsistencies/);
    const report = JSON.parse(output);
    expect(report.ok).toBe(false);
    expect(report.issues[0]).toMatch(/val: .*class folder dog is missing/);
  });

  it('fails when the data is missing and says how to get it', async () => {
    await expect(run('data', 'check', 'cifar10', '--data-dir', dir)).rejects.toThrow(/randlab data fetch cifar10/);
  });
});

describe('randlab data fetch', () => {
  it('keeps the official checksum for a mirror URL', async () => {
    const archive = join(dir, 'cifar-10-binary.tar.gz');
    writeFileSync(archive, 'not the official archive');
    await expect(
      run('data', 'fetch', 'cifar10', '--data-dir', join(dir, 'data'), '--url', pathToFileURL(archive).href),
    ).rejects.toThrow(/expected c32a1d4ab5d03f1284b67883e8d87530/);
  });
});
