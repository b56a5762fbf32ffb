/**
 * A child process of the lock tests.
 *
 *   hold <lock> <ending>   takes the lock (released on exit), prints "held <pid>", then ends as
 *                          `ending` says: "wait" (until a signal ends it), "exit" (process.exit)
 *                          or "throw" (an uncaught error)
 *   stop <lock> <order> <ms>
 *                          stops gracefully on SIGINT and SIGTERM, as `randlab train` does: a
 *                          `process.once` listener registered before the lock is taken (order
 *                          "before", as the CLI does) or after it ("after"); on the signal it prints
 *                          "stopping", works for <ms> milliseconds (a checkpoint), prints whether
 *                          the lock file is still there ("lock held" or "lock gone"), releases the
 *                          lock and ends normally
 *   contend <lock> <dir> <name> <names>
 *                          waits until every contender named in <names> (comma-separated) has
 *                          written <dir>/ready-<name>, tries to take the lock, prints "won" or
 *                          "refused <owner pid>", and holds a lock it won until every contender
 *                          has written <dir>/done-<name>
 *   race <dir> <name> <names> <rounds>
 *                          `contend` for <dir>/r0.lock … r<rounds-1>.lock in turn (each round starts
 *                          when every contender has written <dir>/ready-<round>-<name>), printing
 *                          "<round> won" or "<round> refused <owner pid>"; holds what it won until
 *                          every contender has written <dir>/done-<name>
 *   stall <lock> <ttl ms> <stall ms>
 *                          takes the lock as a lease of that ttl, prints "held <pid>", blocks its event
 *                          loop for <stall ms> (no renewal can run), then prints "still held" or
 *                          "lost: <message of assertHeld's error>"
 */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FileLock, LeaseLostError, LockHeldError } from '../src/runs/lock.js';

const purpose = { subject: 'test folder', activity: 'is in use' };
const [mode, path, ...rest] = process.argv.slice(2);

const pause = new Int32Array(new SharedArrayBuffer(4));
function waitForAll(dir: string, prefix: string, names: string[]): void {
  while (!names.every((name) => existsSync(join(dir, `${prefix}-${name}`)))) Atomics.wait(pause, 0, 0, 2);
}

if (mode === 'hold') {
  const ending = rest[0];
  FileLock.acquire(path!, purpose).releaseOnExit();
  process.stdout.write(`held ${process.pid}\n`);
  if (ending === 'exit') process.exit(3);
  if (ending === 'throw') throw new Error('deliberately uncaught');
  setInterval(() => {}, 60_000);
} else if (mode === 'stop') {
  const [order, ms] = rest as [string, string];
  let lock: FileLock | null = null;
  const stop = (): void => {
    process.stdout.write('stopping\n');
    setTimeout(() => {
      process.stdout.write(`lock ${existsSync(path!) ? 'held' : 'gone'}\n`);
      lock!.release();
      clearInterval(working);
    }, Number(ms));
  };
  const listen = (): void => {
    for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, stop);
  };
  if (order === 'before') listen();
  lock = FileLock.acquire(path!, purpose).releaseOnExit();
  if (order === 'after') listen();
  const working = setInterval(() => {}, 60_000);
  process.stdout.write(`held ${process.pid}\n`);
} else if (mode === 'contend') {
  const [dir, name, namesText] = rest as [string, string, string];
  const names = namesText.split(',');
  writeFileSync(join(dir, `ready-${name}`), '');
  waitForAll(dir, 'ready', names);
  const lock = contend(path!, '');
  writeFileSync(join(dir, `done-${name}`), '');
  waitForAll(dir, 'done', names);
  lock?.release();
} else if (mode === 'race') {
  const dir = path!;
  const [name, namesText, rounds] = rest as [string, string, string];
  const names = namesText.split(',');
  const won: FileLock[] = [];
  for (let round = 0; round < Number(rounds); round++) {
    writeFileSync(join(dir, `ready-${round}-${name}`), '');
    waitForAll(dir, `ready-${round}`, names);
    const lock = contend(join(dir, `r${round}.lock`), `${round} `);
    if (lock) won.push(lock);
  }
  writeFileSync(join(dir, `done-${name}`), '');
  waitForAll(dir, 'done', names);
  for (const lock of won) lock.release();
} else if (mode === 'stall') {
  const [ttlMs, stallMs] = rest.map(Number) as [number, number];
  const lock = FileLock.acquire(path!, purpose, { ttlMs });
  process.stdout.write(`held ${process.pid}\n`);
  Atomics.wait(pause, 0, 0, stallMs);
  try {
    lock.assertHeld();
    process.stdout.write('still held\n');
  } catch (error) {
    if (!(error instanceof LeaseLostError)) throw error;
    process.stdout.write(`lost: ${error.message}\n`);
  }
  lock.release();
} else {
  throw new Error(`unknown mode '${mode}'`);
}

/** Tries to take the lock; prints `<prefix>won` or `<prefix>refused <owner pid>`. */
function contend(lockPath: string, prefix: string): FileLock | null {
  try {
    const lock = FileLock.acquire(lockPath, purpose);
    process.stdout.write(`${prefix}won\n`);
    return lock;
  } catch (error) {
    if (!(error instanceof LockHeldError)) throw error;
    process.stdout.write(`${prefix}refused ${error.owner.pid}\n`);
    return null;
  }
}
