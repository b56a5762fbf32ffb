/**
 * The runs as the dashboard lists them: status, step, last metrics and every config field flattened to a
 * dotted name (`schedule.lr`, `data.labels.kind`), so the runs page can filter and group by any of them.
 * A run of an experiment also carries its condition and seed from the experiment's plan.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { listCheckpoints } from '../runs/checkpoints.js';
import type { ArtifactRecord, MetricRow, RunRecord } from '../runs/store.js';
import type { Catalog, Source } from './catalog.js';
import { experimentPlan } from './experiments.js';

export type FieldValue = string | number | boolean | null;

export interface RunSummary {
  /** `<source>/<run-id>`: the run's name in URLs. */
  readonly key: string;
  readonly id: string;
  readonly source: string;
  readonly experiment: string | null;
  readonly status: RunRecord['status'];
  readonly step: number;
  readonly message: string | null;
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly metrics: Record<string, number | null>;
  /** Config fields by dotted path, plus `condition` and `seed` for a run of an experiment's plan. */
  readonly fields: Record<string, FieldValue>;
}

export interface RunDetails extends RunSummary {
  readonly config: unknown;
  readonly checkpoints: readonly { readonly step: number; readonly files: readonly string[] }[];
  readonly artifacts: readonly ArtifactRecord[];
  /** Images the run's analysis stored in its folder (eigen-images, filters), by file name. */
  readonly images: readonly string[];
  /** A compute run's result (result.json), when it has one. */
  readonly result: unknown;
}

/** Nested config objects as `a.b.c → value`; arrays stay whole, as JSON text. */
export function flattenConfig(
  value: unknown,
  prefix = '',
  into: Record<string, FieldValue> = {},
): Record<string, FieldValue> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, inner] of Object.entries(value)) flattenConfig(inner, prefix ? `${prefix}.${key}` : key, into);
  } else if (prefix) {
    into[prefix] = Array.isArray(value) ? JSON.stringify(value) : (value as FieldValue);
  }
  return into;
}

/** config.json of a run, or null when it cannot be read (a run being created, a damaged file). */
function readConfigOrNull(source: Source, id: string): unknown {
  try {
    return source.store.readConfig(id);
  } catch {
    return null;
  }
}

function summarize(source: Source, run: RunRecord, plan: ReadonlyMap<string, PlannedRun> | undefined): RunSummary {
  const planned = plan?.get(run.id);
  return {
    key: `${source.name}/${run.id}`,
    id: run.id,
    source: source.name,
    experiment: source.experimentDir ? source.name : null,
    status: run.status,
    step: run.step,
    message: run.message,
    createdAt: run.createdAt,
    updatedAt: run.updatedAt,
    metrics: source.store.latestMetrics(run.id),
    fields: {
      ...(planned ? { condition: planned.condition, seed: planned.seed } : {}),
      ...flattenConfig(readConfigOrNull(source, run.id)),
    },
  };
}

interface PlannedRun {
  readonly condition: string;
  readonly seed: number;
}

function planOf(source: Source): ReadonlyMap<string, PlannedRun> | undefined {
  if (!source.experimentDir) return undefined;
  try {
    return new Map(experimentPlan(source.experimentDir).map((spec) => [spec.id, spec]));
  } catch {
    return undefined; // a manifest this randlab cannot plan (an unknown recipe): the runs still show
  }
}

export function listRunSummaries(catalog: Catalog): RunSummary[] {
  return catalog.list().flatMap((source) => {
    const plan = planOf(source);
    return source.store.listRuns().map((run) => summarize(source, run, plan));
  });
}

/** One run's summary, or undefined when the source or the run is unknown. */
export function runSummary(catalog: Catalog, sourceName: string, id: string): RunSummary | undefined {
  const found = catalog.run(sourceName, id);
  return found && summarize(found.source, found.run, planOf(found.source));
}

/** The only files of a run folder the server hands out: PNGs directly in it. */
export const IMAGE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*\.png$/;

export function runDetails(catalog: Catalog, sourceName: string, id: string): RunDetails | undefined {
  const found = catalog.run(sourceName, id);
  if (!found) return undefined;
  const { source, run } = found;
  const dir = source.store.runDir(id);
  const resultPath = join(dir, 'result.json');
  return {
    ...summarize(source, run, planOf(source)),
    config: readConfigOrNull(source, id),
    checkpoints: checkpointFiles(source.store.checkpointDir(id)),
    artifacts: source.store.artifacts(id),
    images: existsSync(dir)
      ? readdirSync(dir)
          .filter((name) => IMAGE_NAME.test(name))
          .sort()
      : [],
    result: existsSync(resultPath) ? (JSON.parse(readFileSync(resultPath, 'utf8')) as unknown) : null,
  };
}

/** Each complete checkpoint's step and the names of its files. */
function checkpointFiles(dir: string): RunDetails['checkpoints'] {
  const checkpoints = listCheckpoints(dir);
  if (checkpoints.length === 0) return [];
  const names = readdirSync(dir);
  return checkpoints.map((c) => {
    const prefix = basename(c.prefix);
    return { step: c.step, files: names.filter((name) => name.startsWith(`${prefix}.`)) };
  });
}

export function runMetrics(catalog: Catalog, sourceName: string, id: string): MetricRow[] | undefined {
  const found = catalog.run(sourceName, id);
  return found ? found.source.store.metrics(id) : undefined;
}
