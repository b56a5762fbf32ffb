/**
 * The run store: one folder per run and an SQLite index over all of them.
 *
 *   <root>/index.sqlite            runs, metrics (run, step, name, value), artifacts
 *   <root>/<run-id>/config.json    the resolved config, written atomically
 *   <root>/<run-id>/checkpoints/   safetensors weights + JSON state (see checkpoints.ts)
 *
 * Several processes may train into one store at once (a sweep, or `runs list` while training):
 * the index runs in WAL mode with a busy timeout, and every write is one short IMMEDIATE
 * transaction, so writers queue instead of failing with SQLITE_BUSY or corrupting the file.
 * SQLite's own errors name no file: a write that fails (a full disk: SQLITE_FULL) throws a
 * FileWriteError naming the index.
 *
 * Every write also updates the run's own record in its folder (run.json, metrics.jsonl: folder-record.ts),
 * from which `reindex` rebuilds the index. Processes on other hosts (queue workers) open the store with an
 * index of their own (`indexPath`, on local disk), import the runs they need from the folders
 * (`importRun`), and so write to the shared storage only the folders of the runs they train.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { FileWriteError, writingFile } from '../io/write-error.js';
import {
  METRICS_FILE,
  appendFolderMetrics,
  readFolderMetrics,
  readFolderRecord,
  writeFolderMetrics,
  writeFolderRecord,
  type FolderRecord,
} from './folder-record.js';
import { RUN_LOCK_FILE } from './lock.js';

/**
 * running (or killed while running), finished, stopped (on request, resumable), failed (an error), diverged (NaN/Inf).
 */
export type RunStatus = 'running' | 'finished' | 'stopped' | 'failed' | 'diverged';

export const RUN_STATUSES: readonly RunStatus[] = ['running', 'finished', 'stopped', 'failed', 'diverged'];

export interface RunRecord {
  readonly id: string;
  readonly status: RunStatus;
  /** Last step the run reached (updated at each checkpoint and at the end). */
  readonly step: number;
  readonly model: string;
  readonly dataset: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Why the run stopped, for failed and diverged runs. */
  readonly message: string | null;
  /** Folder of the run. */
  readonly dir: string;
}

export interface MetricRow {
  readonly step: number;
  readonly name: string;
  /** null stands for a non-finite value (SQLite stores NaN as NULL). */
  readonly value: number | null;
}

export interface ArtifactRecord {
  readonly kind: string;
  /** Path relative to the run folder. */
  readonly path: string;
  readonly step: number;
  readonly createdAt: string;
}

export interface NewRun {
  readonly id: string;
  readonly model: string;
  readonly dataset: string;
  /** The resolved config, saved as config.json and in the index. */
  readonly config: unknown;
}

const SCHEMA_VERSION = 1;
const BUSY_TIMEOUT_MS = 30_000;
const INDEX_FILE = 'index.sqlite';
/** What write errors call the index. */
const INDEX = 'run index';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,
  step INTEGER NOT NULL DEFAULT 0,
  model TEXT NOT NULL,
  dataset TEXT NOT NULL,
  config TEXT NOT NULL,
  message TEXT,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  step INTEGER NOT NULL,
  value REAL,
  PRIMARY KEY (run_id, name, step)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS artifacts (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path TEXT NOT NULL,
  kind TEXT NOT NULL,
  step INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (run_id, path)
);
`;

/** Run ids become folder names: keep them portable. */
const RUN_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function checkRunId(id: string): string {
  if (!RUN_ID_PATTERN.test(id)) {
    throw new Error(
      `run id '${id}' is not allowed: use letters, digits, '.', '_' and '-' (up to 128 characters, not starting with '.', '_' or '-')`,
    );
  }
  return id;
}

/** Default store location: `--store DIR`, else `$RANDLAB_RUNS`, else `./runs`. */
export function resolveStoreRoot(store?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env.RANDLAB_RUNS === '' ? undefined : env.RANDLAB_RUNS;
  return resolve(store ?? fromEnv ?? 'runs');
}

interface RunRow {
  id: string;
  status: string;
  step: number;
  model: string;
  dataset: string;
  message: string | null;
  created_at: string;
  updated_at: string;
}

export class RunStore {
  readonly root: string;
  private readonly db: Database.Database;

  private constructor(root: string, db: Database.Database) {
    this.root = root;
    this.db = db;
  }

  /**
   * Opens (creating if needed) the store at `root`, whose index is `<root>/index.sqlite` unless `indexPath`
   * names another file (a worker's private index of runs in shared storage).
   */
  static open(root: string, options: { indexPath?: string } = {}): RunStore {
    const dir = resolve(root);
    const path = options.indexPath ?? join(dir, INDEX_FILE);
    // Opening creates the index (and its WAL) when missing and migrates it: writes that can fail.
    const db = writingFile(INDEX, path, () => {
      mkdirSync(dir, { recursive: true });
      mkdirSync(dirname(path), { recursive: true });
      const db = new Database(path, { timeout: BUSY_TIMEOUT_MS });
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      // NORMAL is durable across process crashes in WAL mode; only power loss can drop the last commits.
      db.pragma('synchronous = NORMAL');
      return db;
    });
    migrate(db);
    return new RunStore(dir, db);
  }

  /**
   * Opens an existing store for reading only (the dashboard): nothing is created or migrated, and any
   * write through it fails. Readers of a WAL index see each writer's commits as they land.
   */
  static openReadOnly(root: string): RunStore {
    const dir = resolve(root);
    const path = join(dir, INDEX_FILE);
    if (!existsSync(path)) throw new Error(`${dir} is not a run store: ${INDEX_FILE} is missing`);
    const db = new Database(path, { readonly: true, fileMustExist: true, timeout: BUSY_TIMEOUT_MS });
    try {
      checkSchemaVersion(db);
    } catch (error) {
      db.close();
      throw error;
    }
    return new RunStore(dir, db);
  }

  /** A number that changes whenever another connection commits to the index (SQLite's data_version). */
  dataVersion(): number {
    return this.db.pragma('data_version', { simple: true }) as number;
  }

  /** Every run's last metric step, for watchers that look for new metrics. */
  lastMetricSteps(): Map<string, number> {
    const rows = this.db.prepare('SELECT run_id, MAX(step) AS step FROM metrics GROUP BY run_id').all() as Array<{
      run_id: string;
      step: number;
    }>;
    return new Map(rows.map((row) => [row.run_id, row.step]));
  }

  /** A run's metrics logged after `step`, in step order. */
  metricsAfter(id: string, step: number): MetricRow[] {
    return this.db
      .prepare('SELECT step, name, value FROM metrics WHERE run_id = ? AND step > ? ORDER BY step, name')
      .all(id, step) as MetricRow[];
  }

  close(): void {
    this.db.close();
  }

  runDir(id: string): string {
    return join(this.root, checkRunId(id));
  }

  checkpointDir(id: string): string {
    return join(this.runDir(id), 'checkpoints');
  }

  /**
   * Registers a new run: its folder, config.json and index row. Refuses an id that exists
   * unless `replace` is set, in which case the old run (folder, metrics, artifacts) is deleted first.
   */
  createRun(run: NewRun, options: { replace?: boolean } = {}): RunRecord {
    const dir = this.runDir(run.id);
    if (options.replace) this.deleteRun(run.id, { keep: [RUN_LOCK_FILE] });
    else if (this.getRun(run.id)) throw new Error(`run '${run.id}' already exists in ${this.root}`);
    else if (folderEntries(dir).some((name) => name !== RUN_LOCK_FILE))
      throw new Error(
        `run folder ${dir} exists but run '${run.id}' is not in the index; remove the folder or choose another run id`,
      );
    const now = new Date().toISOString();
    const configText = JSON.stringify(run.config, null, 2);
    this.immediate(() => {
      // Checked again inside the write lock: another process may have created it meanwhile.
      const exists = this.db.prepare('SELECT 1 FROM runs WHERE id = ?').get(run.id);
      if (exists) throw new Error(`run '${run.id}' already exists in ${this.root}`);
      this.db
        .prepare(
          'INSERT INTO runs (id, status, step, model, dataset, config, message, created_at, updated_at) VALUES (?, ?, 0, ?, ?, ?, NULL, ?, ?)',
        )
        .run(run.id, 'running', run.model, run.dataset, configText, now, now);
    });
    // The record first: a process killed before config.json is written leaves a run that can be imported
    // into another host's index (and is then started over, see executeRun), never an unknown folder.
    mkdirSync(dir, { recursive: true });
    this.mirrorRecord(run.id);
    rmSync(join(dir, METRICS_FILE), { force: true }); // no metrics yet; appends start a new file
    writeFileAtomic(join(dir, 'config.json'), `${configText}\n`, 'run config');
    mkdirSync(join(dir, 'checkpoints'), { recursive: true });
    return this.getRun(run.id)!;
  }

  getRun(id: string): RunRecord | undefined {
    const row = this.db
      .prepare('SELECT id, status, step, model, dataset, message, created_at, updated_at FROM runs WHERE id = ?')
      .get(id) as RunRow | undefined;
    return row ? this.toRecord(row) : undefined;
  }

  /** The run, or an error that names the store and the runs it holds. */
  requireRun(id: string): RunRecord {
    const run = this.getRun(id);
    if (run) return run;
    const known = this.listRuns().map((r) => r.id);
    const hint =
      known.length === 0
        ? 'the store is empty'
        : `known runs: ${known.slice(-10).join(', ')}${known.length > 10 ? ', …' : ''}`;
    throw new Error(`no run '${id}' in store ${this.root} (${hint})`);
  }

  /** The config saved with the run (config.json). */
  readConfig(id: string): unknown {
    const path = join(this.runDir(id), 'config.json');
    if (!existsSync(path)) throw new Error(`run '${id}' has no config.json at ${path}`);
    return JSON.parse(readFileSync(path, 'utf8')) as unknown;
  }

  listRuns(filter: { status?: RunStatus } = {}): RunRecord[] {
    const sql = 'SELECT id, status, step, model, dataset, message, created_at, updated_at FROM runs';
    const rows = (
      filter.status
        ? this.db.prepare(`${sql} WHERE status = ? ORDER BY created_at, id`).all(filter.status)
        : this.db.prepare(`${sql} ORDER BY created_at, id`).all()
    ) as RunRow[];
    return rows.map((row) => this.toRecord(row));
  }

  updateRun(id: string, update: { status?: RunStatus; step?: number; message?: string | null }): void {
    const now = new Date().toISOString();
    this.immediate(() => {
      const result = this.db
        .prepare(
          'UPDATE runs SET status = COALESCE(?, status), step = COALESCE(?, step), message = CASE WHEN ? THEN ? ELSE message END, updated_at = ? WHERE id = ?',
        )
        .run(
          update.status ?? null,
          update.step ?? null,
          update.message !== undefined ? 1 : 0,
          update.message ?? null,
          now,
          id,
        );
      if (result.changes === 0) throw new Error(`no run '${id}' in store ${this.root}`);
    });
    this.mirrorRecord(id);
  }

  /** Writes many metric values in one transaction; a value logged again for the same step replaces the old one. */
  appendMetrics(id: string, rows: readonly MetricRow[]): void {
    if (rows.length === 0) return;
    const insert = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)');
    this.immediate(() => {
      for (const row of rows)
        insert.run(id, row.name, row.step, row.value !== null && Number.isNaN(row.value) ? null : row.value);
    });
    const dir = this.runDir(id);
    if (existsSync(dir)) appendFolderMetrics(dir, rows); // JSON writes NaN as null, as the index stores it
  }

  /** Drops metrics logged after `step` (a resumed run recomputes them). */
  deleteMetricsAfter(id: string, step: number): void {
    this.immediate(() => {
      this.db.prepare('DELETE FROM metrics WHERE run_id = ? AND step > ?').run(id, step);
    });
    this.mirrorMetrics(id);
  }

  metrics(id: string, filter: { name?: string } = {}): MetricRow[] {
    const rows = filter.name
      ? this.db
          .prepare('SELECT step, name, value FROM metrics WHERE run_id = ? AND name = ? ORDER BY step')
          .all(id, filter.name)
      : this.db.prepare('SELECT step, name, value FROM metrics WHERE run_id = ? ORDER BY step, name').all(id);
    return rows as MetricRow[];
  }

  /** The last logged value of each metric. */
  latestMetrics(id: string): Record<string, number | null> {
    const rows = this.db
      .prepare(
        'SELECT m.name, m.value FROM metrics m WHERE m.run_id = ? AND m.step = (SELECT MAX(step) FROM metrics WHERE run_id = m.run_id AND name = m.name) ORDER BY m.name',
      )
      .all(id) as Array<{ name: string; value: number | null }>;
    return Object.fromEntries(rows.map((row) => [row.name, row.value]));
  }

  recordArtifact(id: string, artifact: { kind: string; path: string; step: number }): void {
    const now = new Date().toISOString();
    this.immediate(() => {
      this.db
        .prepare('INSERT OR REPLACE INTO artifacts (run_id, path, kind, step, created_at) VALUES (?, ?, ?, ?, ?)')
        .run(id, artifact.path, artifact.kind, artifact.step, now);
    });
    this.mirrorRecord(id);
  }

  forgetArtifact(id: string, path: string): void {
    this.immediate(() => {
      this.db.prepare('DELETE FROM artifacts WHERE run_id = ? AND path = ?').run(id, path);
    });
    this.mirrorRecord(id);
  }

  artifacts(id: string): ArtifactRecord[] {
    const rows = this.db
      .prepare('SELECT kind, path, step, created_at FROM artifacts WHERE run_id = ? ORDER BY step, path')
      .all(id) as Array<{
      kind: string;
      path: string;
      step: number;
      created_at: string;
    }>;
    return rows.map((row) => ({ kind: row.kind, path: row.path, step: row.step, createdAt: row.created_at }));
  }

  /** Removes a run's row (with its metrics and artifacts) and its folder. */
  /**
   * Removes a run from the index and its folder from disk. `keep` names entries of the folder to leave in
   * place: the trainer replacing a run (--force) keeps the lock it holds on it.
   */
  deleteRun(id: string, options: { keep?: readonly string[] } = {}): void {
    this.immediate(() => {
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
    });
    const dir = this.runDir(id);
    const keep = options.keep ?? [];
    if (keep.length === 0) rmSync(dir, { recursive: true, force: true });
    else
      for (const name of folderEntries(dir)) {
        if (!keep.includes(name)) rmSync(join(dir, name), { recursive: true, force: true });
      }
  }

  /**
   * Replaces the index's entry of run `id` (row, metrics, artifacts) by what its folder records; removes
   * it when the folder is gone. A folder without a record (written before records existed) is left as
   * the index has it. Whether the run is now in the index.
   */
  importRun(id: string): boolean {
    const dir = this.runDir(id);
    if (!existsSync(dir)) {
      this.immediate(() => this.db.prepare('DELETE FROM runs WHERE id = ?').run(id));
      return false;
    }
    const record = readFolderRecord(dir);
    if (!record) return this.getRun(id) !== undefined;
    if (record.id !== id) throw new Error(`${dir}: its run record names run '${record.id}'`);
    const metrics = readFolderMetrics(dir);
    const configPath = join(dir, 'config.json');
    const config = existsSync(configPath) ? readFileSync(configPath, 'utf8') : '{}';
    this.immediate(() => {
      this.db.prepare('DELETE FROM runs WHERE id = ?').run(id);
      this.db
        .prepare(
          'INSERT INTO runs (id, status, step, model, dataset, config, message, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        )
        .run(
          id,
          record.status,
          record.step,
          record.model,
          record.dataset,
          config,
          record.message,
          record.createdAt,
          record.updatedAt,
        );
      const metric = this.db.prepare('INSERT OR REPLACE INTO metrics (run_id, name, step, value) VALUES (?, ?, ?, ?)');
      for (const row of metrics) metric.run(id, row.name, row.step, row.value);
      const artifact = this.db.prepare(
        'INSERT OR REPLACE INTO artifacts (run_id, path, kind, step, created_at) VALUES (?, ?, ?, ?, ?)',
      );
      for (const a of record.artifacts) artifact.run(id, a.path, a.kind, a.step, a.createdAt);
    });
    return true;
  }

  /** Rebuilds the index from the run folders: imports every folder, drops runs whose folder is gone. */
  reindex(): { readonly imported: number; readonly dropped: number } {
    const folders = folderEntries(this.root).filter(
      (name) => RUN_ID_PATTERN.test(name) && statSync(join(this.root, name)).isDirectory(),
    );
    let imported = 0;
    for (const id of folders) if (readFolderRecord(this.runDir(id)) && this.importRun(id)) imported++;
    let dropped = 0;
    for (const run of this.listRuns()) if (!this.importRun(run.id)) dropped++;
    return { imported, dropped };
  }

  /**
   * Copies the index of the store at `root` as it is now to `path`: one consistent snapshot, whatever
   * other connections commit meanwhile. Nothing when that store has no index yet.
   */
  static snapshotIndex(root: string, path: string): void {
    if (!existsSync(join(resolve(root), INDEX_FILE))) return;
    const live = RunStore.openReadOnly(root);
    try {
      writingFile(INDEX, path, () => live.db.prepare('VACUUM INTO ?').run(path));
    } finally {
      live.close();
    }
  }

  /**
   * Writes the folder record and metrics of every finished run whose folder has no record: runs that a
   * randlab older than folder records finished. An index rebuilt from the folders alone (a report while
   * another process owns the experiment, a queue worker's private index) would not see them otherwise.
   * Finished runs only: their rows no longer change, so this cannot race a run in progress. Returns how
   * many folders it wrote.
   */
  recordFinishedRunsInFolders(): number {
    let written = 0;
    for (const run of this.listRuns()) {
      if (run.status !== 'finished' || !existsSync(run.dir) || readFolderRecord(run.dir)) continue;
      this.mirrorMetrics(run.id);
      this.mirrorRecord(run.id);
      written++;
    }
    return written;
  }

  /** Writes the run's row and artifacts to its folder's record (nothing when the run or folder is gone). */
  private mirrorRecord(id: string): void {
    const run = this.getRun(id);
    if (!run || !existsSync(run.dir)) return;
    const record: FolderRecord = {
      id,
      status: run.status,
      step: run.step,
      model: run.model,
      dataset: run.dataset,
      message: run.message,
      createdAt: run.createdAt,
      updatedAt: run.updatedAt,
      artifacts: this.artifacts(id),
    };
    writeFolderRecord(run.dir, record);
  }

  private mirrorMetrics(id: string): void {
    const dir = this.runDir(id);
    if (!this.getRun(id) || !existsSync(dir)) return;
    writeFolderMetrics(dir, this.metrics(id));
  }

  private immediate(fn: () => void): void {
    writeTransaction(this.db, fn);
  }

  private toRecord(row: RunRow): RunRecord {
    return {
      id: row.id,
      status: row.status as RunStatus,
      step: row.step,
      model: row.model,
      dataset: row.dataset,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      message: row.message,
      dir: join(this.root, row.id),
    };
  }
}

/**
 * fn as one IMMEDIATE transaction. SQLite's errors name no file, so they are rethrown naming the index;
 * errors of fn's own checks pass as they are.
 */
function writeTransaction(db: Database.Database, fn: () => void): void {
  try {
    db.transaction(fn).immediate();
  } catch (error) {
    throw error instanceof Database.SqliteError ? new FileWriteError(INDEX, db.name, error) : error;
  }
}

/** The index's schema version, or an error when this randlab is too old to read it. */
function checkSchemaVersion(db: Database.Database): number {
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version > SCHEMA_VERSION) {
    throw new Error(
      `run store ${db.name} has schema version ${version}; this randlab understands up to ${SCHEMA_VERSION}`,
    );
  }
  return version;
}

function migrate(db: Database.Database): void {
  writeTransaction(db, () => {
    const version = checkSchemaVersion(db);
    db.exec(SCHEMA);
    if (version < SCHEMA_VERSION) db.pragma(`user_version = ${SCHEMA_VERSION}`);
  });
}

/** The names in a folder; none when it does not exist. */
function folderEntries(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}
