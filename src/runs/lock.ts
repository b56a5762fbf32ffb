/**
 * One process owns a folder for a while: a lease file in it holds the owner's pid, host, start time and the
 * time it was last renewed. Runs use it (`<run>/train.lock`: one process trains a run at a time, also
 * across hosts sharing the storage, or a second `--resume` or a second worker handed the same job would
 * train alongside the first and interleave checkpoints and metrics) and so do experiment folders
 * (`<experiment>/experiment.lock`: one `randlab experiment` at a time, see src/experiments/experiment.ts).
 *
 * The holder renews its lease every `renewMs` (an unref'd timer: it runs whenever the event loop does, and
 * the training loop yields to it once per step) by rewriting the file. A lease not renewed for its `ttlMs`
 * has expired and any process, on any host, may take it; a live one is refused, naming its holder and how
 * long ago it was renewed. On the holder's host a lease whose process is gone (killed, crashed; on Linux
 * also a zombie, which has exited but not been reaped) is taken at once, without waiting for the ttl, and
 * so is a file that cannot be parsed (damaged: never half written). A file without a renewal time (written
 * by an older randlab) held on another host cannot be judged and is refused: the message says to delete it.
 *
 * Time: the renewal time is the holder's clock (ISO text in the file), compared with the reader's clock.
 * So hosts sharing storage must have clocks that agree to well within the ttl (NTP keeps them within
 * milliseconds; the default ttl is 60 s); a holder whose clock runs ahead only looks fresher. Not the
 * file's mtime: on NFS it comes from the server's clock for writes but the client's for utimes, and
 * attribute caching serves stale mtimes for up to a minute, while the content is fetched again at each
 * open (close-to-open consistency). The ttl is the holder's, written in the file: readers judge a lease
 * by what its holder promised, whatever their own setting. RANDLAB_LEASE_TTL_MS sets the ttl of leases
 * this process takes (renewed every quarter of it), for tests; options passed to `acquire` win over it.
 *
 * Every change to the file is atomic: a new lease's text goes to a temporary file hard-linked to the
 * lease's name (fails if the name exists). Taking an expired lease and renewing one both move the file
 * aside first (a rename: of several processes doing it at once exactly one gets the file), check that it
 * is the text they judged (or wrote), and link the new text to the name; a file that is not theirs is put
 * back. So two takers never both win, and a holder never overwrites a lease taken from it. The holder
 * notices the loss (`stillHeld`, `assertHeld`) and must stop writing: the trainer checks before each write.
 * A holder stalled for longer than its ttl (its event loop blocked) loses its lease by design.
 */
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  /** When the holder last renewed the lease (its clock, ISO); absent in files of older versions. */
  readonly renewed?: string;
  /** How long after `renewed` the lease expires, as its holder promised. */
  readonly ttlMs?: number;
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

/** The holder's lease was taken by another process (it had expired) or its file removed: write nothing more. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';

  constructor(
    message: string,
    readonly path: string,
    /** Who holds it now; null when the file is gone. */
    readonly owner: LockOwner | null,
  ) {
    super(message);
  }
}

/** What the lock guards, for its messages: `subject` (say, "run 'x'") `activity` ("is being trained") by process N. */
export interface LockPurpose {
  readonly subject: string;
  readonly activity: string;
}

export interface LeaseOptions {
  /** A lease not renewed for this long has expired (default RANDLAB_LEASE_TTL_MS, else 60 s). */
  readonly ttlMs?: number;
  /** How often the holder renews it (default a quarter of the ttl). */
  readonly renewMs?: number;
}

export const DEFAULT_LEASE_TTL_MS = 60_000;
export const LEASE_TTL_ENV = 'RANDLAB_LEASE_TTL_MS';

/** Attempts before giving up when other processes keep taking and releasing the lock meanwhile. */
const ATTEMPTS = 5;
/**
 * Signals that end the process by default; a lock held until exit is released on them too. None
 * arrives ignored: Node resets inherited dispositions at startup (even nohup's ignored SIGHUP).
 */
const ENDING_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export class FileLock {
  private released = false;
  /** Set once a renewal or check found the file no longer ours. */
  private lost: LeaseLostError | null = null;
  private readonly renewal: NodeJS.Timeout;

  private constructor(
    readonly path: string,
    private readonly purpose: LockPurpose,
    private readonly owner: LockOwner,
    /** The file's text as this process last wrote it: renewal and release touch the file only while it holds this. */
    private text: string,
    renewMs: number,
  ) {
    this.renewal = setInterval(() => this.renew(), renewMs).unref();
  }

  /** Takes the lock file at `path`, or throws LockHeldError naming the process that holds it. */
  static acquire(path: string, purpose: LockPurpose, options: LeaseOptions = {}): FileLock {
    const { ttlMs, renewMs } = leaseTiming(options);
    const since = new Date().toISOString();
    const owner: LockOwner = { pid: process.pid, host: hostname(), since, renewed: since, ttlMs };
    const text = JSON.stringify(owner);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      // Read first: a refusal must not touch the folder, not even its mtime with a temporary file.
      const found = readText(path);
      if (found === null) {
        if (createExclusively(path, text)) return new FileLock(path, purpose, owner, text, renewMs);
        continue; // another process created it meanwhile: judge that one
      }
      const holder = parseOwner(found);
      if (holder && isLive(holder)) throw new LockHeldError(heldMessage(purpose, holder, path), path, holder);
      replaceIfUnchanged(path, found, null);
    }
    throw new Error(
      `${purpose.subject}: could not take the lock ${path} (other processes kept taking it meanwhile); try again`,
    );
  }

  /** Whether the file is still this process's lease (false once released, lost, taken or removed). */
  stillHeld(): boolean {
    if (this.released || this.lost) return false;
    if (readText(this.path) === this.text) return true;
    this.noteLost();
    return false;
  }

  /** Throws LeaseLostError unless the file is still this process's lease: call it before each write it guards. */
  assertHeld(): void {
    if (this.stillHeld()) return;
    if (this.lost) throw this.lost;
    throw new Error(`${this.purpose.subject}: the lock ${this.path} was released; this process writes no more`);
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
    clearInterval(this.renewal);
    stopHoldingUntilExit(this);
    // Only our own file: if another process took it (expired, or deleted by hand), that lease stays.
    if (readText(this.path) === this.text) rmSync(this.path, { force: true });
  }

  private renew(): void {
    if (this.released || this.lost) return;
    const text = JSON.stringify({ ...this.owner, renewed: new Date().toISOString() });
    let renewed: boolean;
    try {
      renewed = replaceIfUnchanged(this.path, this.text, text);
    } catch {
      // An I/O error (a network filesystem's hiccup) must not crash the holder from a timer: the next
      // renewals try again before the ttl runs out, and if the file was lost meanwhile they notice.
      return;
    }
    if (renewed) this.text = text;
    else this.noteLost();
  }

  private noteLost(): void {
    clearInterval(this.renewal);
    const found = readText(this.path);
    const owner = found === null ? null : parseOwner(found);
    const to = owner ? `host ${owner.host} pid ${owner.pid} at ${owner.since}` : 'no one (its file was removed)';
    this.lost = new LeaseLostError(
      `lost the lease of ${this.purpose.subject} to ${to} (lock ${this.path}); this process stops without writing`,
      this.path,
      owner,
    );
  }
}

/** The ttl and renewal period from the options, else RANDLAB_LEASE_TTL_MS, else the default. */
function leaseTiming(options: LeaseOptions): { ttlMs: number; renewMs: number } {
  const fromEnv = process.env[LEASE_TTL_ENV];
  let ttlMs = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  if (options.ttlMs === undefined && fromEnv !== undefined && fromEnv !== '') {
    ttlMs = Number(fromEnv);
    if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0)
      throw new Error(`${LEASE_TTL_ENV} must be a positive whole number of milliseconds, got '${fromEnv}'`);
  }
  const renewMs = options.renewMs ?? Math.max(1, Math.floor(ttlMs / 4));
  if (!(ttlMs > 0) || !(renewMs > 0) || renewMs >= ttlMs)
    throw new Error(`lease timing: need 0 < renewMs < ttlMs, got renewMs ${renewMs}, ttlMs ${ttlMs}`);
  return { ttlMs, renewMs };
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
  acquire(runDir: string, runId: string, options: LeaseOptions = {}): RunLock {
    const purpose = { subject: `run '${runId}'`, activity: 'is being trained' };
    mkdirSync(runDir, { recursive: true });
    try {
      return FileLock.acquire(join(runDir, RUN_LOCK_FILE), purpose, options);
    } catch (error) {
      // A process whose new run failed before it was written removes the empty folder again (trainer.ts);
      // if that happened between our mkdir and our lock, make the folder once more.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      mkdirSync(runDir, { recursive: true });
      return FileLock.acquire(join(runDir, RUN_LOCK_FILE), purpose, options);
    }
  },
};

function heldMessage(purpose: LockPurpose, owner: LockOwner, path: string): string {
  const age = renewalAgeMs(owner);
  const held = `${purpose.subject} ${purpose.activity} by process ${owner.pid} on ${owner.host} since ${owner.since}`;
  if (age === null)
    return `${held} (lock ${path}); wait for it to end, or delete the lock file if that process no longer exists`;
  const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return (
    `${held} (lock ${path}); wait for it to end: its lease was renewed ${seconds(Math.max(0, age))} ago ` +
    `and expires when not renewed for ${seconds(owner.ttlMs!)}`
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
      ? {
          pid: owner.pid!,
          host: owner.host,
          since: String(owner.since),
          ...(typeof owner.renewed === 'string' ? { renewed: owner.renewed } : {}),
          ...(typeof owner.ttlMs === 'number' && owner.ttlMs > 0 ? { ttlMs: owner.ttlMs } : {}),
        }
      : null;
  } catch {
    return null;
  }
}

/**
 * Replaces the file at `path` by `next` (or removes it, for null) if it still holds `expected`, and says
 * whether it did. The file is moved aside first (atomic: of several processes doing so at once one gets
 * it), and put back when it is not the one expected; `next` is linked to the name, which fails when
 * another process created a lease in the instant the name was free: then that process has it.
 */
function replaceIfUnchanged(path: string, expected: string, next: string | null): boolean {
  const aside = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.stale`);
  try {
    renameSync(path, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false; // removed by another process meanwhile
    throw error;
  }
  try {
    if (readFileSync(aside, 'utf8') !== expected) {
      linkSync(aside, path);
      return false;
    }
    return next === null || createExclusively(path, next);
  } catch (error) {
    // A third process created a lease in the instant the name was free; the owner of the file we moved
    // has lost it. Only three processes taking one lease within microseconds get here.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return false;
  } finally {
    unlinkSync(aside);
  }
}

/** Milliseconds since the owner last renewed (reader's clock minus holder's), or null when the file says not. */
function renewalAgeMs(owner: LockOwner): number | null {
  const renewed = owner.renewed === undefined ? NaN : Date.parse(owner.renewed);
  if (Number.isNaN(renewed) || owner.ttlMs === undefined) return null;
  return Date.now() - renewed;
}

/** Whether the lease binds others: renewed within its ttl, and on this host also its process alive. */
function isLive(owner: LockOwner): boolean {
  const age = renewalAgeMs(owner);
  if (age !== null && age > owner.ttlMs!) return false;
  return !isGone(owner);
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
