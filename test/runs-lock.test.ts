/**
 * The lock file that gives a folder to one process (src/runs/lock.ts): refusal naming the owner,
 * takeover of locks whose process is gone (a zombie included) or whose file is damaged, many
 * processes taking over one stale lock at once, and release on exit and on ending signals.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FileLock, LockHeldError } from '../src/runs/lock.js';
import { makeTempDir } from './helpers/data-fixtures.js';

const HOLDER = join(import.meta.dirname, 'runs-lock-holder.ts');
const purpose = { subject: 'test folder', activity: 'is in use' };
const temp = makeTempDir('lock');
afterAll(() => temp.cleanup());

let folders = 0;
function folder(): string {
  const dir = join(temp.dir, `f${folders++}`);
  mkdirSync(dir);
  return dir;
}

function writeOwner(path: string, owner: { pid: number; host?: string; since?: string }): void {
  writeFileSync(path, JSON.stringify({ host: hostname(), since: 'earlier', ...owner }));
}

function deadPid(): number {
  return spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid;
}

function heldError(fn: () => unknown): LockHeldError {
  try {
    fn();
  } catch (error) {
    if (error instanceof LockHeldError) return error;
    throw error;
  }
  throw new Error('expected a LockHeldError');
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

/** The first line the child prints (its stdout as text). */
function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) resolve(text.split('\n')[0]!);
    });
    child.on('exit', () => reject(new Error(`the child ended before printing a line (printed '${text}')`)));
  });
}

/** The child's stdout lines as they come: `next()` resolves with the next one, or rejects once the child has ended. */
function lineReader(child: ChildProcess): { next: () => Promise<string> } {
  const lines: string[] = [];
  const waiting: Array<{ resolve: (line: string) => void; reject: (error: Error) => void }> = [];
  let text = '';
  let ended = false;
  const endedError = () => new Error(`the child ended without printing another line (unfinished: '${text}')`);
  child.stdout!.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
    for (let end = text.indexOf('\n'); end >= 0; end = text.indexOf('\n')) {
      lines.push(text.slice(0, end));
      text = text.slice(end + 1);
    }
    while (lines.length > 0 && waiting.length > 0) waiting.shift()!.resolve(lines.shift()!);
  });
  child.stdout!.on('end', () => {
    ended = true;
    for (const waiter of waiting.splice(0)) waiter.reject(endedError());
  });
  return {
    next: () =>
      lines.length > 0
        ? Promise.resolve(lines.shift()!)
        : ended
          ? Promise.reject(endedError())
          : new Promise((resolve, reject) => waiting.push({ resolve, reject })),
  };
}

describe('a lock file', () => {
  it('is taken whole, refused to others with the owner named, and released', () => {
    const dir = folder();
    const path = join(dir, 'x.lock');
    const lock = FileLock.acquire(path, purpose);
    const owner = JSON.parse(readFileSync(path, 'utf8'));
    expect(owner).toEqual({
      pid: process.pid,
      host: hostname(),
      since: owner.since,
      renewed: owner.since,
      ttlMs: 60_000,
    });
    expect(Number.isNaN(Date.parse(owner.since))).toBe(false);
    expect(readdirSync(dir)).toEqual(['x.lock']); // no temporary file left beside it

    const mtime = statSync(dir).mtimeMs;
    const refused = heldError(() => FileLock.acquire(path, purpose)); // this process is alive: held
    expect(statSync(dir).mtimeMs).toBe(mtime); // a refusal writes nothing there, not even a temporary file
    expect(refused.path).toBe(path);
    expect(refused.owner).toEqual(owner);
    expect(refused.message).toMatch(
      new RegExp(
        `^test folder is in use by process ${process.pid} on ${hostname()} since ${owner.since} \\(lock ${path}\\); ` +
          'wait for it to end: its lease was renewed \\d+\\.\\d s ago and expires when not renewed for 60\\.0 s$',
      ),
    );
    lock.release();
    expect(existsSync(path)).toBe(false);
    lock.release();
    FileLock.acquire(path, purpose).release();
  });

  it('is taken over when its process is gone or its file is damaged', () => {
    const path = join(folder(), 'x.lock');
    const takeOver = (text: string) => {
      writeFileSync(path, text);
      const lock = FileLock.acquire(path, purpose);
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      lock.release();
    };
    takeOver(JSON.stringify({ pid: deadPid(), host: hostname(), since: 'earlier' }));
    takeOver('{"pid": 12');
    takeOver('');
    // kill(0, 0) and kill(-1, 0) succeed (they ask about process groups): such a pid names no owner.
    takeOver(JSON.stringify({ pid: 0, host: hostname(), since: 'earlier' }));
    takeOver(JSON.stringify({ pid: -1, host: hostname(), since: 'earlier' }));
  });

  it('held on another host without a renewal time (an older version) is refused: it cannot be checked', () => {
    const path = join(folder(), 'x.lock');
    writeOwner(path, { pid: deadPid(), host: 'elsewhere.invalid' });
    expect(heldError(() => FileLock.acquire(path, purpose)).message).toMatch(
      /^test folder is in use by process \d+ on elsewhere\.invalid since earlier/,
    );
  });

  it('is not removed by a release once another process owns the file', () => {
    const path = join(folder(), 'x.lock');
    const lock = FileLock.acquire(path, purpose);
    rmSync(path); // deleted by hand, then taken by another process
    writeOwner(path, { pid: process.ppid });
    lock.release();
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.ppid);
  });

  it.runIf(existsSync('/proc/self/stat'))('is taken over from a zombie, which kill(pid, 0) still finds', async () => {
    // The shell backgrounds a short sleep and execs a long one, which never waits for its children:
    // when the short sleep ends it stays a zombie until the long one ends.
    const parent = spawn('sh', ['-c', 'sleep 0.2 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await firstLine(parent));
      const state = () =>
        readFileSync(`/proc/${zombie}/stat`, 'utf8')
          .replace(/^.*\) /s, '')
          .charAt(0);
      for (let waited = 0; state() !== 'Z'; waited += 10) {
        if (waited > 10_000) throw new Error(`process ${zombie} did not become a zombie (state ${state()})`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(() => process.kill(zombie, 0)).not.toThrow();
      const path = join(folder(), 'x.lock');
      writeOwner(path, { pid: zombie });
      const lock = FileLock.acquire(path, purpose);
      expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid);
      lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('goes to exactly one of many processes taking over a stale lock at once', async () => {
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (let round = 0; round < 2; round++) {
      const dir = folder();
      const path = join(dir, 'x.lock');
      writeOwner(path, { pid: deadPid() });
      const children = names.map((name) =>
        spawn(process.execPath, ['--import', 'tsx', HOLDER, 'contend', path, dir, name, names.join(',')], {
          stdio: ['ignore', 'pipe', 'inherit'],
        }),
      );
      const lines = await Promise.all(children.map((child) => firstLine(child)));
      const exits = await Promise.all(children.map((child) => exitOf(child)));
      expect(exits.every((e) => e.code === 0)).toBe(true);
      const winners = children.filter((_, i) => lines[i] === 'won');
      expect(winners).toHaveLength(1);
      expect(lines.filter((line) => line === `refused ${winners[0]!.pid}`)).toHaveLength(names.length - 1);
      expect(readdirSync(dir).filter((file) => !/^(ready|done)-/.test(file))).toEqual([]);
    }
  });

  it('held until exit is released on SIGINT, SIGTERM and SIGHUP, on process.exit and on an uncaught error', async () => {
    const endings: Array<[string, NodeJS.Signals | null, number | null]> = [
      ['SIGINT', 'SIGINT', null],
      ['SIGTERM', 'SIGTERM', null],
      ['SIGHUP', 'SIGHUP', null],
      ['exit', null, 3],
      ['throw', null, 1],
    ];
    for (const [ending, signal, code] of endings) {
      const path = join(folder(), 'x.lock');
      const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, 'hold', path, signal ? 'wait' : ending], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      const exited = exitOf(child);
      expect(await firstLine(child)).toBe(`held ${child.pid}`);
      if (signal) child.kill(signal);
      // The process ends as the signal (or exit code) says, as it would without the lock's handlers.
      expect(await exited, ending).toEqual({ code, signal });
      expect(existsSync(path), ending).toBe(false);
    }
  });

  it('held until exit stays held while the process stops on a signal it handles; a second signal ends it', async () => {
    const stopper = (path: string, order: string, ms: number) =>
      spawn(process.execPath, ['--import', 'tsx', HOLDER, 'stop', path, order, String(ms)], {
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    // The process's own listener, registered before the lock's (as `randlab train` does) or after it.
    for (const [order, signal] of [
      ['before', 'SIGTERM'],
      ['after', 'SIGINT'],
    ] as const) {
      const path = join(folder(), 'x.lock');
      const child = stopper(path, order, 200);
      const exited = exitOf(child);
      const lines = lineReader(child);
      expect(await lines.next()).toBe(`held ${child.pid}`);
      child.kill(signal);
      expect(await lines.next(), order).toBe('stopping');
      expect(existsSync(path), order).toBe(true);
      expect(await lines.next(), order).toBe('lock held');
      expect(await exited, order).toEqual({ code: 0, signal: null });
      expect(existsSync(path), order).toBe(false);
    }
    // A second signal while it stops: no listener of its own is left, so the lock is released and the signal ends it.
    const path = join(folder(), 'x.lock');
    const child = stopper(path, 'before', 30_000);
    const exited = exitOf(child);
    const lines = lineReader(child);
    expect(await lines.next()).toBe(`held ${child.pid}`);
    child.kill('SIGTERM');
    expect(await lines.next()).toBe('stopping');
    child.kill('SIGTERM');
    expect(await exited).toEqual({ code: null, signal: 'SIGTERM' });
    expect(existsSync(path)).toBe(false);
  });
});

describe('a lease', () => {
  const ttlMs = 300;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** A lease file as a holder on another host writes it, renewed `ago` ms ago. */
  const writeForeignLease = (path: string, ago: number) =>
    writeOwner(path, {
      pid: 4242,
      host: 'elsewhere.invalid',
      since: '2026-01-01T00:00:00.000Z',
      ...{ renewed: new Date(Date.now() - ago).toISOString(), ttlMs },
    });

  it('held on another host is refused while it is renewed, and taken once it was not renewed for its ttl', async () => {
    const path = join(folder(), 'x.lock');
    writeForeignLease(path, 0);
    const renewing = setInterval(() => writeForeignLease(path, 0), ttlMs / 4);
    try {
      for (let tries = 0; tries < 6; tries++) {
        await sleep(ttlMs / 3); // two ttls in all: only the renewals keep it
        const refused = heldError(() => FileLock.acquire(path, purpose));
        expect(refused.owner).toMatchObject({ pid: 4242, host: 'elsewhere.invalid' });
        expect(refused.message).toMatch(
          /^test folder is in use by process 4242 on elsewhere\.invalid since 2026-01-01T00:00:00\.000Z \(lock .*\); wait for it to end: its lease was renewed 0\.\d s ago and expires when not renewed for 0\.3 s$/,
        );
      }
    } finally {
      clearInterval(renewing);
    }
    await sleep(ttlMs + 50);
    const lock = FileLock.acquire(path, purpose);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: process.pid, host: hostname() });
    lock.release();
    expect(existsSync(path)).toBe(false);
  });

  it('expired, goes to exactly one of two processes taking it at once, round after round', async () => {
    const rounds = 20;
    const dir = folder();
    for (let round = 0; round < rounds; round++) writeForeignLease(join(dir, `r${round}.lock`), 10 * ttlMs);
    const names = ['a', 'b'];
    const children = names.map((name) =>
      spawn(process.execPath, ['--import', 'tsx', HOLDER, 'race', dir, name, names.join(','), String(rounds)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const readers = children.map((child) => lineReader(child));
    const exits = children.map((child) => exitOf(child));
    for (let round = 0; round < rounds; round++) {
      const lines = await Promise.all(readers.map((reader) => reader.next()));
      const winner = lines.findIndex((line) => line === `${round} won`);
      expect(winner, `round ${round}: ${lines.join(' | ')}`).toBeGreaterThanOrEqual(0);
      expect(lines[1 - winner], `round ${round}`).toBe(`${round} refused ${children[winner]!.pid}`);
    }
    expect((await Promise.all(exits)).every((e) => e.code === 0)).toBe(true);
    expect(readdirSync(dir).filter((file) => !/^(ready|done)-/.test(file))).toEqual([]);
  });

  it('taken from its holder is not renewed over: the holder leaves the new lease alone and knows it lost', async () => {
    const path = join(folder(), 'x.lock');
    const lock = FileLock.acquire(path, purpose, { ttlMs });
    writeForeignLease(path, 0); // as another host's process that judged it expired would have
    const taken = readFileSync(path, 'utf8');
    await sleep(ttlMs); // four renewal periods
    expect(readFileSync(path, 'utf8')).toBe(taken);
    expect(lock.stillHeld()).toBe(false);
    expect(() => lock.assertHeld()).toThrow(
      /^lost the lease of test folder to host elsewhere\.invalid pid 4242 at 2026-01-01T00:00:00\.000Z \(lock .*\); this process stops without writing$/,
    );
    lock.release();
    expect(readFileSync(path, 'utf8')).toBe(taken);
  });

  it('is lost by a holder that stalls past its ttl: another process takes it, and the holder then knows', async () => {
    const path = join(folder(), 'x.lock');
    const child = spawn(process.execPath, ['--import', 'tsx', HOLDER, 'stall', path, String(ttlMs), '2500'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = exitOf(child);
    const lines = lineReader(child);
    expect(await lines.next()).toBe(`held ${child.pid}`);
    heldError(() => FileLock.acquire(path, purpose)); // just taken: live, though its holder is stalled
    await sleep(2 * ttlMs);
    const lock = FileLock.acquire(path, purpose); // not renewed for its ttl: expired
    const { since } = JSON.parse(readFileSync(path, 'utf8'));
    expect(await lines.next()).toBe(
      `lost: lost the lease of test folder to host ${hostname()} pid ${process.pid} at ${since} (lock ${path}); ` +
        'this process stops without writing',
    );
    expect(await exited).toEqual({ code: 0, signal: null });
    expect(JSON.parse(readFileSync(path, 'utf8')).pid).toBe(process.pid); // its release left our lease alone
    expect(lock.stillHeld()).toBe(true);
    lock.release();
    expect(lock.stillHeld()).toBe(false);
  });
});
