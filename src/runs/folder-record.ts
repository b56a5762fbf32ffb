/**
 * A run's record kept in its own folder, beside config.json and checkpoints/:
 *
 *   <run>/run.json        status, step, model, dataset, message, times and artifacts
 *   <run>/metrics.jsonl   one metric row a line: {"step":…,"name":…,"value":…} (null for a non-finite value)
 *
 * The store's SQLite index is a cache of these files: several hosts training runs of one experiment on a
 * shared filesystem (NFS, Lustre) each write only their own runs' folders, never a shared SQLite file (its
 * locking is unreliable over a network filesystem), and the one process that owns the experiment rebuilds
 * its index from the folders (`RunStore.reindex`, `randlab runs reindex`). Both files are replaced atomically.
 */
import { existsSync, readFileSync } from 'node:fs';
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

export function writeFolderMetrics(runDir: string, rows: readonly FolderMetric[]): void {
  const text = rows.map((row) => JSON.stringify({ step: row.step, name: row.name, value: row.value })).join('\n');
  writeFileAtomic(join(runDir, METRICS_FILE), rows.length > 0 ? `${text}\n` : '', 'run metrics');
}

export function readFolderMetrics(runDir: string): FolderMetric[] {
  const path = join(runDir, METRICS_FILE);
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line, i) => {
      const row = JSON.parse(line) as Partial<FolderMetric>;
      if (typeof row.step !== 'number' || typeof row.name !== 'string')
        throw new Error(`${path}:${i + 1}: expected {"step":…,"name":…,"value":…}`);
      return { step: row.step, name: row.name, value: typeof row.value === 'number' ? row.value : null };
    });
}
