/**
 * `randlab data check`: load every split of a dataset and report what is there — counts per split
 * and class, image size, label range, per-channel mean and std — with every inconsistency found.
 */
import { computeChannelStats } from './preprocess.js';
import type { LoadOptions } from './load.js';
import { datasetSplits, loadDataset } from './load.js';
import { formatDatasetSpec, parseDatasetSpec } from './spec.js';
import type { DatasetSpec } from './spec.js';
import type { Dataset } from './types.js';

export interface SplitReport {
  readonly split: string;
  readonly n: number;
  /** [c, h, w] or [d] */
  readonly shape: readonly number[];
  readonly classes: number;
  readonly classNames?: readonly string[];
  /** Smallest and largest label, or null without labels. */
  readonly labelRange: readonly [number, number] | null;
  /** Examples per class, or null without labels. */
  readonly classCounts: readonly number[] | null;
  /** Per channel (images, on the 0..255 pixel scale) or per dimension (vectors). */
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

export interface CheckReport {
  readonly dataset: string;
  readonly splits: readonly SplitReport[];
  readonly issues: readonly string[];
  readonly ok: boolean;
}

/** Counts the official datasets must have, per split: examples and examples per class. */
const EXPECTED: Record<string, Record<string, { n: number; perClass: number }>> = {
  cifar10: { train: { n: 50_000, perClass: 5_000 }, test: { n: 10_000, perClass: 1_000 } },
  cifar100: { train: { n: 50_000, perClass: 500 }, test: { n: 10_000, perClass: 100 } },
  'cifar100,labels=coarse': { train: { n: 50_000, perClass: 2_500 }, test: { n: 10_000, perClass: 500 } },
};

export interface CheckOptions extends LoadOptions {
  /** Splits to check; default all the dataset offers. */
  readonly splits?: readonly string[];
}

export async function checkDataset(spec: string | DatasetSpec, options: CheckOptions = {}): Promise<CheckReport> {
  const parsed = typeof spec === 'string' ? parseDatasetSpec(spec) : spec;
  const name = formatDatasetSpec(parsed);
  const issues: string[] = [];
  const reports: SplitReport[] = [];
  let splits: readonly string[];
  try {
    splits = options.splits ?? datasetSplits(parsed, options);
  } catch (error) {
    return { dataset: name, splits: [], issues: [(error as Error).message], ok: false };
  }
  for (const split of splits) {
    let dataset: Dataset;
    try {
      dataset = await loadDataset(parsed, { ...options, split });
    } catch (error) {
      issues.push(`${split}: ${(error as Error).message}`);
      continue;
    }
    const report = describeSplit(dataset);
    reports.push(report);
    issues.push(...splitIssues(report, EXPECTED[name]?.[split]));
  }
  issues.push(...crossSplitIssues(reports));
  return { dataset: name, splits: reports, issues, ok: issues.length === 0 };
}

export function describeSplit(dataset: Dataset): SplitReport {
  const { mean, std } = dataset.kind === 'image' ? pixelStats(dataset) : vectorStats(dataset);
  let labelRange: [number, number] | null = null;
  let classCounts: number[] | null = null;
  if (dataset.labels !== null) {
    let min = Infinity;
    let max = -Infinity;
    const counts = new Array<number>(dataset.classes).fill(0);
    for (const label of dataset.labels) {
      min = Math.min(min, label);
      max = Math.max(max, label);
      if (label >= 0 && label < dataset.classes) counts[label]!++;
    }
    labelRange = dataset.n > 0 ? [min, max] : null;
    classCounts = counts;
  }
  return {
    split: dataset.split,
    n: dataset.n,
    shape: [...dataset.shape],
    classes: dataset.classes,
    ...(dataset.classNames ? { classNames: [...dataset.classNames] } : {}),
    labelRange,
    classCounts,
    mean,
    std,
  };
}

function pixelStats(dataset: Extract<Dataset, { kind: 'image' }>): { mean: number[]; std: number[] } {
  const stats = computeChannelStats(dataset);
  return { mean: stats.mean.map((m) => m * 255), std: stats.std.map((s) => s * 255) };
}

function vectorStats(dataset: Extract<Dataset, { kind: 'vector' }>): { mean: number[]; std: number[] } {
  const d = dataset.shape[0];
  const sum = new Float64Array(d);
  const squares = new Float64Array(d);
  for (let i = 0; i < dataset.n; i++) {
    for (let j = 0; j < d; j++) {
      const value = dataset.values[i * d + j]!;
      sum[j]! += value;
      squares[j]! += value * value;
    }
  }
  const mean = Array.from(sum, (s) => s / dataset.n);
  const std = Array.from(squares, (q, j) => Math.sqrt(Math.max(0, q / dataset.n - mean[j]! ** 2)));
  return { mean, std };
}

function splitIssues(report: SplitReport, expected: { n: number; perClass: number } | undefined): string[] {
  const issues: string[] = [];
  const where = report.split;
  if (report.n === 0) issues.push(`${where}: no examples`);
  if (report.labelRange && (report.labelRange[0] < 0 || report.labelRange[1] >= report.classes)) {
    issues.push(
      `${where}: labels span ${report.labelRange[0]}..${report.labelRange[1]}, outside 0..${report.classes - 1}`,
    );
  }
  report.classCounts?.forEach((count, label) => {
    if (count === 0)
      issues.push(
        `${where}: class ${label}${report.classNames ? ` (${report.classNames[label]})` : ''} has no examples`,
      );
    else if (expected && count !== expected.perClass)
      issues.push(`${where}: class ${label} has ${count} examples, expected ${expected.perClass}`);
  });
  if (expected && report.n !== expected.n) issues.push(`${where}: ${report.n} examples, expected ${expected.n}`);
  report.std.forEach((s, channel) => {
    if (!Number.isFinite(s) || !Number.isFinite(report.mean[channel]!))
      issues.push(`${where}: channel ${channel} has non-finite values`);
    else if (s === 0) issues.push(`${where}: channel ${channel} is constant (std 0)`);
  });
  return issues;
}

function crossSplitIssues(reports: SplitReport[]): string[] {
  const issues: string[] = [];
  const [first, ...rest] = reports;
  if (!first) return issues;
  for (const report of rest) {
    if (report.shape.join('×') !== first.shape.join('×')) {
      issues.push(
        `${report.split}: examples are ${report.shape.join('×')}, but ${first.split} has ${first.shape.join('×')}`,
      );
    }
    if (report.classes !== first.classes)
      issues.push(`${report.split}: ${report.classes} classes, but ${first.split} has ${first.classes}`);
  }
  return issues;
}

/** The report as an aligned text table (what `data check` prints without --json). */
export function formatCheckReport(report: CheckReport): string {
  const lines: string[] = [`dataset ${report.dataset}`];
  const rows = [
    ['split', 'n', 'shape', 'classes', 'labels', 'per class (min..max)', 'mean', 'std'],
    ...report.splits.map((s) => [
      s.split,
      String(s.n),
      s.shape.join('×'),
      String(s.classes),
      s.labelRange ? `${s.labelRange[0]}..${s.labelRange[1]}` : '-',
      s.classCounts && s.classCounts.length > 0 ? `${Math.min(...s.classCounts)}..${Math.max(...s.classCounts)}` : '-',
      summarise(s.mean),
      summarise(s.std),
    ]),
  ];
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  if (report.splits.length > 0)
    for (const row of rows)
      lines.push(
        row
          .map((cell, col) => cell.padEnd(widths[col]!))
          .join('  ')
          .trimEnd(),
      );
  for (const s of report.splits) {
    if (s.classCounts && s.classCounts.length > 0 && s.classCounts.length <= 20) {
      const names = s.classCounts.map((count, label) => `${s.classNames?.[label] ?? label} ${count}`);
      lines.push(`${s.split} per class: ${names.join(', ')}`);
    }
  }
  lines.push(report.ok ? 'ok: no inconsistencies' : `${report.issues.length} issue(s):`);
  for (const issue of report.issues) lines.push(`  - ${issue}`);
  return lines.join('\n');
}

/** Channel values in full, vector dimensions as a range. */
function summarise(values: readonly number[]): string {
  if (values.length <= 4) return values.map((v) => v.toFixed(3)).join(' / ');
  return `${Math.min(...values).toFixed(3)}..${Math.max(...values).toFixed(3)} (${values.length} dims)`;
}
