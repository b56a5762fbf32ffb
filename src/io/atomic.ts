/**
 * Atomic file replacement: write a temp file in the target's directory, fsync it, rename it over
 * the target, fsync the directory. A reader sees the old file or the new one, never a part; a
 * write that throws half-way leaves the old file untouched and removes its temp file. Missing
 * parent directories are created. A failing system call (a full disk, a quota) throws a
 * FileWriteError naming the target and what it holds, with the system error as its cause.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join, resolve } from 'node:path';
import { writingFile } from './write-error.js';

/** File contents: bytes, text (UTF-8), or chunks produced while writing (e.g. tensor by tensor). */
export type FileContent = string | Uint8Array | Iterable<Uint8Array>;

export interface PendingFile {
  readonly path: string;
  readonly content: FileContent;
  /** What the file holds, for error messages ('checkpoint', 'run config', …); default 'file'. */
  readonly what?: string;
}

const DEFAULT_WHAT = 'file';

function* chunksOf(content: FileContent): Iterable<Uint8Array> {
  if (typeof content === 'string') yield Buffer.from(content, 'utf8');
  else if (content instanceof Uint8Array) yield content;
  else yield* content;
}

function writeAll(fd: number, chunk: Uint8Array): void {
  let offset = 0;
  while (offset < chunk.byteLength) offset += writeSync(fd, chunk, offset, chunk.byteLength - offset);
}

function tempPathFor(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/**
 * Write content to a new temp file beside `path` and fsync it; returns the temp path. Only the system
 * calls are wrapped: an error of the content itself (a tensor that cannot be encoded) stays as it is.
 */
function writeTemp(path: string, content: FileContent, what: string): string {
  const io = <T>(call: () => T): T => writingFile(what, path, call);
  const temp = tempPathFor(path);
  const fd = io(() => openSync(temp, 'wx', 0o644));
  try {
    for (const chunk of chunksOf(content)) io(() => writeAll(fd, chunk));
    io(() => fsyncSync(fd));
  } catch (error) {
    closeSync(fd);
    rmSync(temp, { force: true });
    throw error;
  }
  try {
    io(() => closeSync(fd));
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return temp;
}

/**
 * Make a rename durable. Some platforms cannot open or fsync a directory; there the rename is as durable as it gets.
 */
function fsyncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EINVAL' && code !== 'EPERM' && code !== 'EBADF') throw error;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/**
 * Replace several files together: every file is written and fsynced to its temp name first, and
 * only then renamed into place, in the given order (put the file that marks the set complete
 * last). If any write throws, no target is touched and all temp files are removed.
 */
export function writeFilesAtomic(files: readonly PendingFile[]): void {
  const targets = files.map((f) => ({ path: resolve(f.path), what: f.what ?? DEFAULT_WHAT }));
  const directories = new Map(targets.map((t) => [dirname(t.path), t]));
  for (const [dir, t] of directories) writingFile(t.what, t.path, () => mkdirSync(dir, { recursive: true }));
  const temps: string[] = [];
  try {
    files.forEach((file, i) => temps.push(writeTemp(targets[i]!.path, file.content, targets[i]!.what)));
  } catch (error) {
    for (const temp of temps) rmSync(temp, { force: true });
    throw error;
  }
  for (let i = 0; i < targets.length; i++) {
    try {
      writingFile(targets[i]!.what, targets[i]!.path, () => renameSync(temps[i]!, targets[i]!.path));
    } catch (error) {
      for (const temp of temps.slice(i)) rmSync(temp, { force: true });
      throw error;
    }
  }
  for (const [dir, t] of directories) writingFile(t.what, t.path, () => fsyncDirectory(dir));
}

/** Replace one file atomically; `what` names what it holds in errors (default 'file'). */
export function writeFileAtomic(path: string, content: FileContent, what?: string): void {
  writeFilesAtomic([{ path, content, ...(what !== undefined ? { what } : {}) }]);
}
