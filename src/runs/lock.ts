/**
 * One training process per run: `train.lock` in the run's directory, created exclusively, holds the
 * owner's pid and host. A second `--resume` of the same run (say, in another terminal) would
 * otherwise train alongside it and interleave checkpoints and metrics. A lock whose process is gone
 * (killed, crashed) is taken over; one held on another host cannot be checked and is refused.
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

export class RunLock {
  private released = false;

  private constructor(readonly path: string) {}

  /** Takes the lock of the run in `runDir`, or throws naming the process that holds it. */
  static acquire(runDir: string, runId: string): RunLock {
    const path = join(runDir, 'train.lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
        writeSync(fd, JSON.stringify(owner));
        closeSync(fd);
        return new RunLock(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(path);
      if (owner && !isGone(owner)) {
        throw new Error(
          `run '${runId}' is being trained by process ${owner.pid} on ${owner.host} since ${owner.since} (lock ${path}); ` +
            'wait for it to end, or delete the lock file if that process no longer exists',
        );
      }
      unlinkSync(path); // its owner is gone (or the file is unreadable): take it over
    }
    throw new Error(`run '${runId}': could not take the lock ${path} (another process took it meanwhile)`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      unlinkSync(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

function readOwner(path: string): LockOwner | null {
  try {
    const owner = JSON.parse(readFileSync(path, 'utf8')) as Partial<LockOwner>;
    return typeof owner.pid === 'number' && typeof owner.host === 'string'
      ? { pid: owner.pid, host: owner.host, since: String(owner.since) }
      : null;
  } catch {
    return null; // unreadable: a lock whose writer died mid-write
  }
}

/** Whether the owner's process no longer exists; always false for another host's process. */
function isGone(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
