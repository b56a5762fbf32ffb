/**
 * A run's record kept in its own folder, beside config.json and checkpoints/:
 *
 *   <run>/run.json        status, step, model, dataset, message, times and artifacts
 *   <run>/metrics.jsonl   one metric row a line: {"step":…,"name":…,"value":…} (null for a non-finite value)
 *
 * The store's SQLite index is a cache of these files: several hosts training runs of one experiment on a
 * shared filesystem (NFS, Lustre) each write only their own runs' folders, never a shared SQLite file (its
 * locking is unreliable over a network filesystem), and the one process that owns the experiment rebuilds
 * its index from the folders (`RunStore.reindex`, `randlab runs reindex`). run.json is replaced atomically;
 * metrics.jsonl grows by appends (a run logs metrics thousands of times: rewriting the file each time would
 * cost the square of its length) and is replaced atomically only when a resumed run drops rows. A crash
 * mid-append can leave a torn last line, which readers skip; a row logged again for the same step replaces
 * the earlier one, as in the index.
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { writingFile } from '../io/write-error.js';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';

export const RECORD_FILE = 'run.json';
export const METRICS_FILE = 'metrics.jsonl';

export interface FolderArtifact {
  readonly kind: string;
  readonly path: string;
  readonly step: number;
  readonly createdAt: string;
}

export interface FolderRecord {
  readonly id: string;
  readonly status: string;
  readonly step: number;
  readonly model: string;
  readonly dataset: string;
  readonly message: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly artifacts: readonly FolderArtifact[];
}

export interface FolderMetric {
  readonly step: number;
  readonly name: string;
  readonly value: number | null;
}

export function writeFolderRecord(runDir: string, record: FolderRecord): void {
  writeFileAtomic(join(runDir, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`, 'run record');
}

/** The run's record in its folder, or undefined when it has none (a store written before records existed). */
export function readFolderRecord(runDir: string): FolderRecord | undefined {
  const path = join(runDir, RECORD_FILE);
  if (!existsSync(path)) return undefined;
  const raw = JSON.parse(readFileSync(path, 'utf8')) as Partial<FolderRecord>;
  if (
    typeof raw.id !== 'string' ||
    typeof raw.status !== 'string' ||
    typeof raw.step !== 'number' ||
    !Array.isArray(raw.artifacts)
  )
    throw new Error(`${path}: expected a run record with fields id, status, step and artifacts`);
  return raw as FolderRecord;
}

function metricLines(rows: readonly FolderMetric[]): string {
  return rows.map((row) => `${JSON.stringify({ step: row.step, name: row.name, value: row.value })}\n`).join('');
}

/** Replaces the run's metrics file by `rows`. */
export function writeFolderMetrics(runDir: string, rows: readonly FolderMetric[]): void {
  writeFileAtomic(join(runDir, METRICS_FILE), metricLines(rows), 'run metrics');
}

/** Adds `rows` at the end of the run's metrics file. */
export function appendFolderMetrics(runDir: string, rows: readonly FolderMetric[]): void {
  const path = join(runDir, METRICS_FILE);
  writingFile('run metrics', path, () => appendFileSync(path, metricLines(rows)));
}

export function readFolderMetrics(runDir: string): FolderMetric[] {
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const rows = new Map<string, FolderMetric>();
  lines.forEach((line, i) => {
    if (line.length === 0) return;
    let row: Partial<FolderMetric>;
    try {
      row = JSON.parse(line) as Partial<FolderMetric>;
    } catch (error) {
      if (i === lines.length - 1) return; // torn by a crash mid-append: the row was never complete
      throw new Error(`${path}:${i + 1}: not JSON: ${(error as Error).message}`);
    }
    if (typeof row.step !== 'number' || typeof row.name !== 'string')
      throw new Error(`${path}:${i + 1}: expected {"step":…,"name":…,"value":…}`);
    const value = typeof row.value === 'number' ? row.value : null;
    rows.set(`${row.step}\t${row.name}`, { step: row.step, name: row.name, value });
  });
  return [...rows.values()];
}
