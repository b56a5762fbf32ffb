/**
 * One process owns an experiment folder, tested with real `randlab experiment` processes (the CLI
 * from the sources, as bin/randlab.js runs it) on the fastest recipe, fig20-gaussian-fc at smoke
 * scale (no data set): two started at once, a refused one changing nothing, the owner killed with
 * SIGKILL (with and without workers) or ended by SIGINT, and a run held by another process.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { lockExperimentFolder, openExperiment } from '../src/experiments/experiment.js';
import { RunLock } from '../src/runs/lock.js';
import { makeTempDir } from './helpers/data-fixtures.js';
import { startCli, type Running } from './helpers/experiment-cli.js';
import { folderSnapshot } from './helpers/folder-snapshot.js';

const temp = makeTempDir('experiment-lock');
afterAll(() => temp.cleanup());

function experiment(out: string, ...extra: string[]): Running {
  const args = ['experiment', 'fig20-gaussian-fc', '--scale', 'smoke', '--out', out, '--data-dir', '/nonexistent'];
  return startCli([...args, ...extra], { RANDLAB_CACHE: join(temp.dir, 'cache') });
}

/** Every planned run finished (none failed, nothing else in the index), a report, and no lock left. */
function expectComplete(out: string): void {
  const opened = openExperiment(out);
  try {
    const runs = opened.context.store.listRuns();
    expect(runs.map((r) => r.id).sort()).toEqual(opened.plan.map((s) => s.id).sort());
    expect(runs.filter((r) => r.status !== 'finished')).toEqual([]);
  } finally {
    opened.close();
  }
  expect(existsSync(join(out, 'report', 'index.html'))).toBe(true);
  expect(existsSync(join(out, 'report', 'claims.json'))).toBe(true);
  expect(existsSync(join(out, 'experiment.lock'))).toBe(false);
  expect(readdirSync(out).filter((name) => name.includes('.lock.'))).toEqual([]); // no temporary lock files
}

function refusal(out: string, pid: number): RegExp {
  const lock = join(out, 'experiment.lock').replaceAll('/', '\\/');
  return new RegExp(
    `^randlab: experiment folder ${out} is in use by process ${pid} on ${hostname()} since \\S+ \\(lock ${lock}\\); wait for it to end`,
  );
}

/** The processes whose parent is `pid` (Linux: /proc/<pid>/stat, field 4 after the command name). */
function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((name) => {
      try {
        const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false; // ended meanwhile
      }
    })
    .map(Number);
}

/** Whether the process runs (a zombie, which has exited and awaits its parent, does not). */
function runs(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
  } catch {
    return false;
  }
}

describe('an experiment folder is owned by one process', () => {
  const shared = join(temp.dir, 'shared');

  it('two started at once: one runs it, the other is refused at once; a third finds everything done', async () => {
    const [a, b] = [experiment(shared, '--seeds', '2'), experiment(shared, '--seeds', '2')];
    const ended = await Promise.all([a.ended, b.ended]);
    const winner = ended.findIndex((e) => e.code === 0);
    expect(ended.map((e) => e.code).sort()).toEqual([0, 1]);
    const [owner, refused] = [ended[winner]!, ended[1 - winner]!];
    expect(refused.stderr).toMatch(refusal(shared, [a, b][winner]!.child.pid!));
    expect(refused.stdout).toBe(''); // it planned and ran nothing
    expect(refused.at).toBeLessThan(owner.at);
    expect(owner.stdout).toContain('runs: 12 finished');
    expectComplete(shared);

    const third = await experiment(shared, '--seeds', '2').ended;
    expect(third.code).toBe(0);
    expect(third.stdout).toContain('12 of 12 runs already finished; 0 to run');
    expect(third.stdout).toContain('runs: 12 skipped');
    expectComplete(shared);
  }, 120_000);

  it('a refused one leaves the folder exactly as it was', async () => {
    const before = folderSnapshot(shared);
    const lock = lockExperimentFolder(shared); // this test process owns it now
    try {
      const withLock = folderSnapshot(shared);
      // More seeds would rewrite the manifest and add runs: refused before any of that.
      const refused = await experiment(shared, '--seeds', '3', '--jobs', '2').ended;
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(refusal(shared, process.pid));
      expect(folderSnapshot(shared)).toEqual(withLock);
    } finally {
      lock.release();
    }
    expect(folderSnapshot(shared).get('')).not.toBe(before.get('')); // the lock came and went (the folder's mtime)
    const after = folderSnapshot(shared);
    after.delete('');
    before.delete('');
    expect(after).toEqual(before);
  }, 60_000);

  it('a run held by another process ends the experiment non-zero, naming it, with its record untouched', async () => {
    const opened = openExperiment(shared);
    const { store } = opened.context;
    const train = opened.plan.find((s) => s.kind === 'train')!;
    store.updateRun(train.id, { status: 'running' });
    const record = store.getRun(train.id);
    const held = RunLock.acquire(store.runDir(train.id), train.id);
    try {
      const result = await experiment(shared, '--seeds', '2').ended;
      expect(result.code).toBe(1);
      expect(result.stdout).toContain(`  held ${train.id}: held by process ${process.pid} on ${hostname()}`);
      expect(result.stdout).not.toMatch(/FAILED|failed/);
      expect(store.getRun(train.id)).toEqual(record);
    } finally {
      held.release();
      opened.close();
    }
    expect((await experiment(shared, '--seeds', '2').ended).code).toBe(0);
    expectComplete(shared);
  }, 60_000);

  it('killed with SIGKILL mid-experiment: the next one takes over its lock at once and completes', async () => {
    const out = join(temp.dir, 'killed');
    const first = experiment(out, '--seeds', '1');
    await first.printed('[3/6]');
    expect(JSON.parse(readFileSync(join(out, 'experiment.lock'), 'utf8')).pid).toBe(first.child.pid);
    first.child.kill('SIGKILL');
    const second = experiment(out, '--seeds', '1'); // at once: the lock still names the killed process
    expect((await first.ended).signal).toBe('SIGKILL');
    const resumed = await second.ended;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/[2-5] of 6 runs already finished/);
    expectComplete(out);
  }, 60_000);

  it.runIf(existsSync('/proc/self/stat'))(
    'killed with SIGKILL while its workers train: they end with it, and the next one started at once completes',
    async () => {
      const out = join(temp.dir, 'killed-jobs');
      const first = experiment(out, '--seeds', '1', '--jobs', '2');
      const store = join(out, 'store');
      const training = () =>
        existsSync(store) && readdirSync(store).some((run) => existsSync(join(store, run, 'train.lock')));
      while (!training()) await new Promise((resolve) => setTimeout(resolve, 5));
      const workers = childrenOf(first.child.pid!);
      expect(workers.length).toBeGreaterThan(0);
      first.child.kill('SIGKILL');
      // In this process (--jobs 1, quicker here than workers under tsx): it finds no run held by an orphan.
      const second = experiment(out, '--seeds', '1');
      expect((await first.ended).signal).toBe('SIGKILL');
      const resumed = await second.ended;
      expect(resumed.code, resumed.stdout + resumed.stderr).toBe(0);
      expect(resumed.stdout).not.toContain('HELD');
      expect(workers.filter(runs)).toEqual([]);
      expectComplete(out);
    },
    90_000,
  );

  it('ended by SIGINT: the lock is released, the process ends by the signal, and the next one completes', async () => {
    const out = join(temp.dir, 'interrupted');
    const first = experiment(out, '--seeds', '1');
    await first.printed('[3/6]');
    first.child.kill('SIGINT');
    const interrupted = await first.ended;
    expect(interrupted.signal).toBe('SIGINT');
    expect(existsSync(join(out, 'experiment.lock'))).toBe(false);
    const opened = openExperiment(out);
    expect(opened.context.store.listRuns({ status: 'failed' })).toEqual([]);
    opened.close();
    const resumed = await experiment(out, '--seeds', '1').ended;
    expect(resumed.code, resumed.stderr).toBe(0);
    expectComplete(out);
  }, 60_000);
});
