/**
 * One process owns a folder: a lock file in it holds the owner's pid, host and start time. Runs use
 * it (`<run>/train.lock`: one process trains a run at a time, or a second `--resume` would train
 * alongside the first and interleave checkpoints and metrics) and so do experiment folders
 * (`<experiment>/experiment.lock`: one `randlab experiment` at a time, see src/experiments/experiment.ts).
 *
 * A lock file appears complete or not at all: its text goes to a temporary file that is hard-linked
 * to the lock's name, which fails if the name exists. A lock whose process is gone (killed, crashed;
 * on Linux also a zombie, which has exited but not been reaped) is taken over, and so is one that
 * cannot be parsed (damaged: never half written). One held on another host cannot be checked and is
 * refused, and so is one whose pid a new process reuses: the message says to delete the file then.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
}

/** The lock is held by a live process (or one on another host): `owner` and `path` say which and where. */
export class LockHeldError extends Error {
  override readonly name = 'LockHeldError';

  constructor(
    message: string,
    readonly path: string,
    readonly owner: LockOwner,
  ) {
    super(message);
  }
}

/** What the lock guards, for its messages: `subject` (say, "run 'x'") `activity` ("is being trained") by process N. */
export interface LockPurpose {
  readonly subject: string;
  readonly activity: string;
}

/** Attempts before giving up when other processes keep taking and releasing the lock meanwhile. */
const ATTEMPTS = 5;
/**
 * Signals that end the process by default; a lock held until exit is released on them too. None
 * arrives ignored: Node resets inherited dispositions at startup (even nohup's ignored SIGHUP).
 */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class FileLock {
  private released = false;

  private constructor(
    readonly path: string,
    /** The file's text as this process wrote it: release removes the file only while it still holds this. */
    private readonly text: string,
  ) {}

  /** Takes the lock file at `path`, or throws LockHeldError naming the process that holds it. */
  static acquire(path: string, purpose: LockPurpose): FileLock {
    const owner: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
    const text = JSON.stringify(owner);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // Read first: a refusal must not touch the folder, not even its mtime with a temporary file.
      const found = readText(path);
      if (found === null) {
        if (createExclusively(path, text)) return new FileLock(path, text);
        continue; // another process created it meanwhile: judge that one
      }
      const holder = parseOwner(found);
      if (holder && !isGone(holder)) throw new LockHeldError(heldMessage(purpose, holder, path), path, holder);
      removeIfUnchanged(path, found);
    }
    throw new Error(
      `${purpose.subject}: could not take the lock ${path} (other processes kept taking it meanwhile); try again`,
    );
  }

  /**
   * Releases the lock also when the process ends without releasing it: on process.exit, an uncaught
   * error, and a SIGINT, SIGTERM or SIGHUP that ends it (which it then does, by that signal, as it
   * would have without this). A signal the process handles itself (another listener for it, such as
   * `randlab train`'s: stop after the step, checkpoint) does not end it, so the lock stays held until
   * its owner releases it: another process must not take a run that is still writing its checkpoint.
   * A second such signal, once that handler is gone (`process.once`), ends the process and releases it.
   */
  releaseOnExit(): this {
    if (!this.released) holdUntilExit(this);
    return this;
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    stopHoldingUntilExit(this);
    // Only our own file: if it was deleted by hand and another process took the lock, that lock stays.
    if (readText(this.path) === this.text) rmSync(this.path, { force: true });
  }
}

/**
 * The locks held until exit. One 'exit' listener and one listener per ending signal release them all,
 * registered while there are any (an experiment with one job holds its folder's lock and a run's).
 */
const heldUntilExit = new Set<FileLock>();

function holdUntilExit(lock: FileLock): void {
  if (heldUntilExit.size === 0) {
    process.on('exit', releaseAll);
    // First in line, so it sees every listener this emission calls: a `process.once` listener is removed
    // before it is called, and once it had run the signal would look unhandled.
    for (const signal of ENDING_SIGNALS) process.prependListener(signal, onEndingSignal);
  }
  heldUntilExit.add(lock);
}

function stopHoldingUntilExit(lock: FileLock): void {
  if (!heldUntilExit.delete(lock) || heldUntilExit.size > 0) return;
  process.off('exit', releaseAll);
  for (const signal of ENDING_SIGNALS) process.off(signal, onEndingSignal);
}

function releaseAll(): void {
  for (const lock of [...heldUntilExit]) lock.release();
}

function onEndingSignal(signal: NodeJS.Signals): void {
  if (process.listenerCount(signal) > 1) return; // the process handles it and goes on; the locks' owners release them
  releaseAll(); // which removes this listener: the signal below takes its default action and ends the process
  process.kill(process.pid, signal);
}

/** The file name of a run's lock, which the store leaves in place when it clears a run's folder. */
export const RUN_LOCK_FILE = 'train.lock';

/**
 * The lock of one run: `<run>/train.lock`, held while a process creates or trains the run (see trainer.ts).
 * Creates the run's folder when it does not exist yet: a new run is locked before it is written anywhere.
 */
export type RunLock = FileLock;
export const RunLock = {
  acquire(runDir: string, runId: string): RunLock {
    const purpose = { subject: `run '${runId}'`, activity: 'is being trained' };
    mkdirSync(runDir, { recursive: true });
    try {
      return FileLock.acquire(join(runDir, RUN_LOCK_FILE), purpose);
    } catch (error) {
      // A process whose new run failed before it was written removes the empty folder again (trainer.ts);
      // if that happened between our mkdir and our lock, make the folder once more.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(runDir, { recursive: true });
      return FileLock.acquire(join(runDir, RUN_LOCK_FILE), purpose);
    }
  },
};

function heldMessage(purpose: LockPurpose, owner: LockOwner, path: string): string {
  return (
    `${purpose.subject} ${purpose.activity} by process ${owner.pid} on ${owner.host} since ${owner.since} ` +
    `(lock ${path}); wait for it to end, or delete the lock file if that process no longer exists`
  );
}

/** Creates `path` holding `text` unless it exists; whoever reads it sees all of `text` or no file. */
function createExclusively(path: string, text: string): boolean {
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: 'wx' });
    linkSync(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** The owner a lock file names, or null when it cannot be parsed (a damaged file). */
function parseOwner(text: string): LockOwner | null {
  try {
    const owner = JSON.parse(text) as Partial<LockOwner>;
    // kill(0, …) and kill(-n, …) would ask about process groups: only a positive pid names a process.
    return Number.isSafeInteger(owner.pid) && owner.pid! > 0 && typeof owner.host === 'string'
      ? { pid: owner.pid!, host: owner.host, since: String(owner.since) }
      : null;
  } catch {
    return null;
  }
}

/**
 * Removes the stale lock file at `path` if it still holds `judged`. Another process may have taken
 * the lock over since we read it: the file is moved aside first (atomic), and put back when it is
 * not the one we judged, so two processes taking over one stale lock cannot both end up owning it.
 */
function removeIfUnchanged(path: string, judged: string): void {
  const aside = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.stale`);
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // removed by another process meanwhile
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== judged) linkSync(aside, path);
  } catch (error) {
    // A third process created the lock in the instant it was aside; the owner of the file we moved
    // has lost it. Only three processes taking over one stale lock within microseconds get here.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  } finally {
    unlinkSync(aside);
  }
}

/** Whether the owner's process no longer exists; always false for another host's process. */
function isGone(owner: LockOwner): boolean {
  if (owner.host !== hostname()) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH'; // EPERM: alive, another user's
  }
  return isZombie(owner.pid);
}

/**
 * Whether a process has exited but not been reaped by its parent yet: kill(pid, 0) still finds it,
 * but it runs no code and will never release a lock. Linux (/proc/<pid>/stat, state after the
 * command name in parentheses: Z zombie, X dead); elsewhere, or if it is gone by now, false.
 */
function isZombie(pid: number): boolean {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return false;
  }
  const state = stat.charAt(stat.lastIndexOf(')') + 2);
  return state === 'Z' || state === 'X';
}
