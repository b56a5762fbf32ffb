/**
 * Write failures that say which file they were writing. Node's messages for write(2), fsync(2) and
 * close(2) carry no path ("ENOSPC: no space left on device, write"), nor do SQLite's ("database or
 * disk is full"); a full disk in the middle of a run must say what it could not save, and where.
 */

/** A failed write of a file: the message names what the file is and its path; `cause` is the original error. */
export class FileWriteError extends Error {
  /** The original error's code (ENOSPC, EDQUOT, EFBIG, SQLITE_FULL, …), so callers can still tell failures apart. */
  readonly code: string | undefined;
  readonly path: string;

  /** `what` says what the file holds, e.g. 'checkpoint', 'run config', 'run index'. */
  constructor(what: string, path: string, cause: unknown) {
    super(`writing ${what} ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'FileWriteError';
    this.path = path;
    const code = (cause as { code?: unknown } | null)?.code;
    this.code = typeof code === 'string' ? code : undefined;
  }
}

/** Runs `write`; whatever it throws is rethrown as a FileWriteError naming `what` and `path` (once). */
export function writingFile<T>(what: string, path: string, write: () => T): T {
  try {
    return write();
  } catch (error) {
    throw error instanceof FileWriteError ? error : new FileWriteError(what, path, error);
  }
}
