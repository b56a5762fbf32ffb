/**
 * A write that fails names the file it was writing and what it holds, keeping the system error as its
 * cause and its code: real failures (a full tmpfs, a file-size limit, /dev/full) through the real CLI.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileWriteError, writingFile } from '../src/io/write-error.js';
import { RunStore } from '../src/runs/store.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { gaussianMlpFlags } from './runs-fixtures.js';
import {
  fullDiskAvailable,
  runChild,
  runOnFullDisk,
  runWithFileSizeLimit,
  type ChildResult,
} from './helpers/write-failures.js';

const ENTRY = join(import.meta.dirname, 'runs-cli-entry.ts');
const FILLER = join(import.meta.dirname, 'runs-store-filler.ts');
const TSX = ['--import', 'tsx'];
/** An MLP of about 1M parameters: a 4 MiB checkpoint, far past the limits below, while config and index fit. */
const TRAIN_ARGS = [
  'train',
  '--quiet',
  ...gaussianMlpFlags('gaussian:diag(1,2,3),n=64,seed=1', '1024,1024', 2),
  '--checkpoint.every',
  '1',
];

let temp: ReturnType<typeof makeTempDir>;
beforeAll(() => {
  temp = makeTempDir('write-failures');
});
afterAll(() => temp.cleanup());

interface Failure {
  readonly name: string;
  readonly available: boolean;
  /** What Node says of the failed write(2). */
  readonly message: string;
  /** SQLite's code for the failed index write. */
  readonly indexCode: string;
  /** Runs node with `args`, writes into `dir` failing once `dir` holds a large file. */
  readonly node: (dir: string, args: readonly string[]) => ChildResult;
}

// The mount-namespace variant needs unshare and mount (root or user namespaces); the file-size limit runs anywhere.
const FAILURES: Failure[] = [
  {
    name: 'a full disk (1 MiB tmpfs)',
    available: fullDiskAvailable(),
    message: 'ENOSPC: no space left on device, write',
    indexCode: 'SQLITE_FULL',
    node: (dir, args) => runOnFullDisk(dir, '1m', process.execPath, args),
  },
  {
    name: 'a file-size limit (ulimit -f)',
    available: true,
    message: 'EFBIG: file too large, write',
    indexCode: 'SQLITE_IOERR_WRITE',
    node: (_dir, args) => runWithFileSizeLimit(2048, process.execPath, args),
  },
];

describe.each(FAILURES)('on $name', (failure) => {
  it.skipIf(!failure.available)('a checkpoint that cannot be written names its file; the run records it', () => {
    const storeDir = join(temp.dir, `store-${failure.indexCode}`);
    const runDir = join(storeDir, 'big');
    mkdirSync(runDir, { recursive: true }); // the tmpfs goes over it: the run's folder is full, its store is not
    const result = failure.node(runDir, [...TSX, ENTRY, ...TRAIN_ARGS, '--name', 'big', '--store', storeDir]);
    const expected = `writing checkpoint ${runDir}/checkpoints/step-00000001.safetensors: ${failure.message}`;
    expect(result.stderr).toBe(`randlab: ${expected}\n`);
    expect(result.code).toBe(1);
    const store = RunStore.open(storeDir);
    expect(store.getRun('big')).toMatchObject({ status: 'failed', message: expected });
    store.close();
  });

  it.skipIf(!failure.available)('a run index that cannot grow names the index, keeping SQLite’s code', () => {
    const storeDir = join(temp.dir, `filled-${failure.indexCode}`);
    mkdirSync(storeDir, { recursive: true });
    const result = failure.node(storeDir, [...TSX, FILLER, storeDir]);
    expect(result.stderr).toBe('');
    const error = JSON.parse(result.stdout) as Record<string, string>;
    expect(error).toEqual({
      name: 'FileWriteError',
      message: expect.stringMatching(new RegExp(`^writing run index ${storeDir}/index\\.sqlite: \\S`)),
      code: failure.indexCode,
      causeCode: failure.indexCode,
    });
  });
});

describe.runIf(existsSync('/dev/full'))('writes to /dev/full (ENOSPC on every write)', () => {
  it('a write names its file and keeps the system error as cause, with its code', () => {
    const link = join(temp.dir, 'full-link');
    symlinkSync('/dev/full', link);
    let caught: unknown;
    try {
      writingFile('report', link, () => writeFileSync(link, 'x'));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FileWriteError);
    const error = caught as FileWriteError;
    expect(error.message).toBe(`writing report ${link}: ENOSPC: no space left on device, write`);
    expect(error.code).toBe('ENOSPC');
    expect(error.path).toBe(link);
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ENOSPC');
  });

  it('randlab runs export --out names the file it could not write', () => {
    const storeDir = join(temp.dir, 'export-store');
    const store = RunStore.open(storeDir);
    store.createRun({ id: 'r', model: 'mlp', dataset: 'test', config: {} });
    store.appendMetrics('r', [{ step: 1, name: 'train/loss', value: 0.5 }]);
    store.close();
    const out = join(temp.dir, 'export-to-full.csv');
    symlinkSync('/dev/full', out);
    const result = runChild(process.execPath, [
      ...TSX,
      ENTRY,
      'runs',
      'export',
      '--csv',
      '--store',
      storeDir,
      '--out',
      out,
    ]);
    expect(result.stderr).toBe(`randlab: writing metrics export ${out}: ENOSPC: no space left on device, write\n`);
    expect(result.code).toBe(1);
  });
});
